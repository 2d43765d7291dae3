//! `.machines` files of the queue spool (FORMATS §1) and the server-side `machines` list.
//!
//! One machine per line; blank lines are ignored and surrounding whitespace is trimmed. As an
//! extension, a line whose first non-blank character is `#` is a comment. A machine is
//! `[user@]host[:port]`, where `host` is a host name (letters, digits, `-`, `_`, dot-separated
//! labels), an IPv4 address, or an IPv6 address in brackets (`[::1]`, `root@[fe80::1]:2222`).
//! Without a `.machines` file the queue directory's own name is the single machine.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// File name of the machine list in a queue directory.
pub const MACHINES_FILE: &str = ".machines";

/// Errors reading a `.machines` file or naming a queue's machines.
#[derive(Debug, thiserror::Error)]
pub enum MachinesError {
    /// The file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A line that is not a machine.
    #[error(
        "{path}:{line}: {text:?} is not a machine: {reason}; write one machine per line as host, user@host or host:port (e.g. 'client1.example.com' or 'root@10.0.0.5:22'), '#' starts a comment"
    )]
    InvalidLine {
        /// The `.machines` file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line, trimmed.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `.machines` file that lists no machine.
    #[error(
        "{path} lists no machines: add one machine per line, or delete the file to use the queue directory's name as the machine"
    )]
    NoMachines {
        /// The `.machines` file.
        path: PathBuf,
    },
    /// A queue directory without `.machines` whose name is not a machine.
    #[error(
        "queue directory {path} has no {MACHINES_FILE} and its name is not a machine ({reason}): create {MACHINES_FILE} in it listing the machines, one per line"
    )]
    BadQueueName {
        /// The queue directory.
        path: PathBuf,
        /// What is wrong with the name as a machine.
        reason: String,
    },
}

/// Checks that `machine` is `[user@]host[:port]`; the error says what is wrong.
pub fn validate_machine(machine: &str) -> Result<(), String> {
    if machine.is_empty() {
        return Err("it is empty".to_owned());
    }
    if let Some(c) = machine.chars().find(|c| c.is_whitespace()) {
        return Err(format!(
            "it contains whitespace ({c:?}); only one machine fits on a line"
        ));
    }
    let host_port = match machine.rsplit_once('@') {
        Some((user, rest)) => {
            validate_user(user)?;
            rest
        }
        None => machine,
    };
    let (host, port) = if let Some(inner) = host_port.strip_prefix('[') {
        let Some((addr, after)) = inner.split_once(']') else {
            return Err("an IPv6 address opened with '[' has no closing ']'".to_owned());
        };
        validate_ipv6(addr)?;
        match after {
            "" => return Ok(()),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return Err(format!("unexpected {after:?} after ']'")),
            },
        }
    } else if host_port.matches(':').count() > 1 {
        return Err(
            "it has more than one ':'; write an IPv6 address in brackets, e.g. [fe80::1]:22"
                .to_owned(),
        );
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(host_port), None),
        }
    };
    if let Some(host) = host {
        validate_host(host)?;
    }
    if let Some(port) = port {
        validate_port(port)?;
    }
    Ok(())
}

fn validate_user(user: &str) -> Result<(), String> {
    if user.is_empty() {
        return Err("the user name before '@' is empty".to_owned());
    }
    if let Some(c) = user
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!(
            "the user name {user:?} contains {c:?}; user names hold letters, digits, '_', '-' and '.'"
        ));
    }
    Ok(())
}

fn validate_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host name is empty".to_owned());
    }
    if host.len() > 253 {
        return Err("the host name is longer than 253 characters".to_owned());
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "the host name {host:?} contains {c:?}; host names hold letters, digits, '-', '_' and '.'"
        ));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err(format!(
                "the host name {host:?} has an empty part between dots"
            ));
        }
        if label.len() > 63 {
            return Err(format!(
                "the host name part {label:?} is longer than 63 characters"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "the host name part {label:?} starts or ends with '-'"
            ));
        }
    }
    Ok(())
}

fn validate_ipv6(addr: &str) -> Result<(), String> {
    addr.parse::<std::net::Ipv6Addr>()
        .map(|_| ())
        .map_err(|_| format!("[{addr}] is not an IPv6 address"))
}

fn validate_port(port: &str) -> Result<(), String> {
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err(format!(
            "the port {port:?} is not a number between 1 and 65535"
        )),
    }
}

/// Parses the text of a `.machines` file; `path` is used in error messages only.
/// Returns the machines in file order, as written (trimmed).
pub fn parse_machines(text: &str, path: impl AsRef<Path>) -> Result<Vec<String>, MachinesError> {
    let mut machines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        validate_machine(line).map_err(|reason| MachinesError::InvalidLine {
            path: path.as_ref().to_owned(),
            line: index + 1,
            text: line.to_owned(),
            reason,
        })?;
        machines.push(line.to_owned());
    }
    Ok(machines)
}

/// Reads a `.machines` file (see [`parse_machines`]). An empty list is not an error here.
pub fn read_machines(path: impl AsRef<Path>) -> Result<Vec<String>, MachinesError> {
    let path = path.as_ref();
    let text = fs::read_to_string(path).map_err(|source| MachinesError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_machines(&text, path)
}

/// The machines of a queue directory: its `.machines` list, or, when that file does not exist,
/// the directory's own name as the single machine. A `.machines` that lists nothing is an error.
pub fn machines_for_queue(queue_dir: impl AsRef<Path>) -> Result<Vec<String>, MachinesError> {
    let queue_dir = queue_dir.as_ref();
    let file = queue_dir.join(MACHINES_FILE);
    match fs::read_to_string(&file) {
        Ok(text) => {
            let machines = parse_machines(&text, &file)?;
            if machines.is_empty() {
                return Err(MachinesError::NoMachines { path: file });
            }
            Ok(machines)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if !queue_dir.is_dir() {
                return Err(MachinesError::Io {
                    path: queue_dir.to_owned(),
                    source: io::Error::new(
                        io::ErrorKind::NotFound,
                        "queue directory does not exist",
                    ),
                });
            }
            let name = match queue_dir.file_name() {
                Some(name) => name.to_owned(),
                None => fs::canonicalize(queue_dir)
                    .map_err(|source| MachinesError::Io {
                        path: queue_dir.to_owned(),
                        source,
                    })?
                    .file_name()
                    .map(|n| n.to_owned())
                    .unwrap_or_default(),
            };
            let bad = |reason: String| MachinesError::BadQueueName {
                path: queue_dir.to_owned(),
                reason,
            };
            let name = name
                .into_string()
                .map_err(|_| bad("the name is not valid UTF-8".to_owned()))?;
            validate_machine(&name).map_err(bad)?;
            Ok(vec![name])
        }
        Err(source) => Err(MachinesError::Io { path: file, source }),
    }
}

/// The server-side `machines` list: de-duplicated and sorted, like legacy autoserv's
/// `list(set(machines))` followed by `sort()`. Comparison is exact (case-sensitive).
pub fn unique_sorted_machines<I, S>(machines: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let set: std::collections::BTreeSet<String> = machines.into_iter().map(Into::into).collect();
    set.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_machine_forms() {
        for ok in [
            "host1",
            "client1.example.com",
            "x86_64",
            "10.0.0.5",
            "root@host1",
            "host1:2222",
            "autotest@client-2.lab:22",
            "[::1]",
            "[fe80::1]:2222",
            "root@[2001:db8::5]:22",
        ] {
            assert_eq!(validate_machine(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_machines() {
        for bad in [
            "",
            "host one",
            "host\tone",
            "@host",
            "root@",
            "ho$t",
            "host:",
            "host:0",
            "host:99999",
            "host:ssh",
            "::1",
            "[::1",
            "[nothex]:22",
            "[::1]x",
            "a..b",
            "-host",
            "host.",
            "us er@host",
            "host/dir",
        ] {
            assert!(validate_machine(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parse_skips_blanks_and_comments() {
        let text = "\n  host1  \n# lab rack 3\n\nroot@host2:22\n   # indented comment\n";
        assert_eq!(
            parse_machines(text, ".machines").unwrap(),
            vec!["host1", "root@host2:22"]
        );
    }

    #[test]
    fn parse_error_names_file_and_line() {
        let err = parse_machines("host1\nhost2 host3\n", "/q/x/.machines").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("/q/x/.machines:2:"), "{msg}");
        assert!(msg.contains("one machine per line"), "{msg}");
    }

    #[test]
    fn unique_sorted() {
        assert_eq!(
            unique_sorted_machines(["b", "a", "b", "c", "a"]),
            vec!["a", "b", "c"]
        );
    }
}
