//! One machine's address: `[user@]host[:port]`, IPv6 addresses in brackets.

use std::fmt;

use super::SshOptions;

/// Where one machine's SSH server is, and as whom to log in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SshTarget {
    /// Login user (from `user@`, else [`SshOptions::user`]).
    pub user: String,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port (from `:port`, else [`SshOptions::port`]).
    pub port: u16,
}

impl SshTarget {
    /// Parses a machine name `[user@]host[:port]` (`[v6addr]` or `[v6addr]:port` for IPv6);
    /// what the name leaves out comes from `options`. The error says what is wrong.
    pub fn parse(machine: &str, options: &SshOptions) -> Result<SshTarget, String> {
        autotest_core::machines::validate_machine(machine)?;
        let (user, rest) = match machine.rsplit_once('@') {
            Some((u, r)) => (u.to_owned(), r),
            None => (options.user.clone(), machine),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (addr, after) = inner
                .split_once(']')
                .ok_or_else(|| "an IPv6 address opened with '[' has no closing ']'".to_owned())?;
            (addr, after.strip_prefix(':'))
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("the port {p:?} is not a number from 1 to 65535"))?,
            None => options.port,
        };
        Ok(SshTarget {
            user,
            host: host.to_owned(),
            port,
        })
    }

    /// The host as written in a socket address or a command line: IPv6 in brackets.
    pub fn host_for_display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

impl fmt::Display for SshTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}", self.user, self.host_for_display(), self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(m: &str) -> Result<SshTarget, String> {
        SshTarget::parse(m, &SshOptions::default())
    }

    #[test]
    fn parses_every_form() {
        let t = parse("host1").unwrap();
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port),
            ("root", "host1", 22)
        );
        let t = parse("bob@10.0.0.1:2222").unwrap();
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port),
            ("bob", "10.0.0.1", 2222)
        );
        let t = parse("[fe80::1]:2200").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("fe80::1", 2200));
        assert_eq!(t.to_string(), "root@[fe80::1]:2200");
        let t = parse("me@[::1]").unwrap();
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port),
            ("me", "::1", 22)
        );
        let opts = SshOptions::default().user("autotest").port(2022);
        let t = SshTarget::parse("h", &opts).unwrap();
        assert_eq!((t.user.as_str(), t.port), ("autotest", 2022));
    }

    #[test]
    fn rejects_bad_names_with_a_reason() {
        for bad in ["", "a b", "h:99999", "h:x", "fe80::1", "[fe80::1", "@h"] {
            let e = parse(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
    }
}
