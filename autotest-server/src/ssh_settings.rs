//! The SSH options of a server: the defaults, then `global_config.ini`, then the environment.
//!
//! Each overrides the one before: the defaults (root, port 22, `~/.ssh/id_*` and ssh-agent,
//! `~/.ssh/known_hosts`); `ssh_user`, `ssh_port`, `ssh_key`, `ssh_known_hosts` of `[SERVER]` and
//! then of `[AUTOSERV]` in global_config.ini/shadow_config.ini; the environment:
//! `AUTOTEST_SSH_USER`, `AUTOTEST_SSH_KEY`, `AUTOTEST_SSH_KNOWN_HOSTS`,
//! `AUTOTEST_SSH_KEEPALIVE_SECS` (keepalive interval; a dead machine is noticed after three).

use autotest_core::config::{ConfigError, GlobalConfig};
use autotest_ssh::{HostKeyPolicy, SshOptions};

/// SSH settings read from global_config.ini.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SshSettings {
    /// `ssh_user`.
    pub user: Option<String>,
    /// `ssh_port` (1 to 65535).
    pub port: Option<u16>,
    /// `ssh_key`: the identity file.
    pub key: Option<String>,
    /// `ssh_known_hosts`.
    pub known_hosts: Option<String>,
}

impl SshSettings {
    /// `[SERVER]` then `[AUTOSERV]` (the later wins) `ssh_user`, `ssh_port`, `ssh_key`,
    /// `ssh_known_hosts`. A port outside 1..=65535 is refused with its file and line.
    pub fn from_config(c: &GlobalConfig) -> Result<SshSettings, ConfigError> {
        let mut out = SshSettings::default();
        for section in ["SERVER", "AUTOSERV"] {
            if let Some(u) = c.get_str(section, "ssh_user")?.filter(|s| !s.is_empty()) {
                out.user = Some(u);
            }
            if let Some(p) = c.get_int_in(
                section,
                "ssh_port",
                1,
                65535,
                "a TCP port number from 1 to 65535",
            )? {
                out.port = u16::try_from(p).ok();
            }
            if let Some(k) = c.get_str(section, "ssh_key")?.filter(|s| !s.is_empty()) {
                out.key = Some(k);
            }
            if let Some(k) = c
                .get_str(section, "ssh_known_hosts")?
                .filter(|s| !s.is_empty())
            {
                out.known_hosts = Some(k);
            }
        }
        Ok(out)
    }

    /// The options: these settings over the defaults, the environment (read through `env`) over
    /// them, and `accept_new` for host keys not yet known.
    pub fn options(&self, accept_new: bool, env: impl Fn(&str) -> Option<String>) -> SshOptions {
        let mut o = SshOptions::default();
        if let Some(u) = &self.user {
            o.user = u.clone();
        }
        if let Some(p) = self.port {
            o.port = p;
        }
        if let Some(k) = &self.key {
            o.identity_files = vec![k.into()];
        }
        if let Some(k) = &self.known_hosts {
            o.known_hosts = k.into();
        }
        if let Some(key) = env("AUTOTEST_SSH_KEY") {
            o.identity_files = vec![key.into()];
        }
        if let Some(kh) = env("AUTOTEST_SSH_KNOWN_HOSTS") {
            o.known_hosts = kh.into();
        }
        if let Some(user) = env("AUTOTEST_SSH_USER") {
            o.user = user;
        }
        if let Some(secs) = env("AUTOTEST_SSH_KEEPALIVE_SECS").and_then(|s| s.parse::<u64>().ok()) {
            o.keepalive_interval = std::time::Duration::from_secs(secs.max(1));
        }
        if accept_new {
            o.host_key_policy = HostKeyPolicy::AcceptNew;
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> (tempfile::TempDir, Result<SshSettings, ConfigError>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("global_config.ini");
        std::fs::write(&path, text).unwrap();
        let c = GlobalConfig::load(&path, None).unwrap();
        let s = SshSettings::from_config(&c);
        (dir, s)
    }

    #[test]
    fn ports_outside_the_tcp_range_are_refused_with_file_and_line() {
        for bad in ["99999", "-1", "0", "22x"] {
            let (_d, r) = config(&format!(
                "[SERVER]\nssh_user = lab\n[AUTOSERV]\nssh_port = {bad}\n"
            ));
            let e = r.unwrap_err().to_string();
            assert!(
                e.contains("global_config.ini:4:")
                    && e.contains("ssh_port")
                    && e.contains("1 to 65535"),
                "{bad}: {e}"
            );
        }
        let (_d, r) = config("[SERVER]\nssh_port = 2222\n[AUTOSERV]\nssh_port = 65535\n");
        assert_eq!(r.unwrap().port, Some(65535));
    }

    #[test]
    fn the_environment_overrides_the_config() {
        let (_d, r) = config("[SERVER]\nssh_user = lab\nssh_port = 2200\nssh_key = /k\n");
        let s = r.unwrap();
        let o = s.options(true, |k| {
            (k == "AUTOTEST_SSH_USER").then(|| "env".to_owned())
        });
        assert_eq!((o.user.as_str(), o.port), ("env", 2200));
        assert_eq!(o.identity_files, vec![std::path::PathBuf::from("/k")]);
        assert_eq!(o.host_key_policy, HostKeyPolicy::AcceptNew);
    }
}
