//! Host-key checking against a `known_hosts` file (OpenSSH format, hashed names included).
//!
//! A recorded key that matches: connect. A key of an algorithm already recorded for the host that
//! differs: refuse, always (a man in the middle, or a reinstalled machine). No key recorded for
//! the host in the offered algorithm: refuse under [`HostKeyPolicy::Strict`], append it under
//! [`HostKeyPolicy::AcceptNew`].

use std::path::Path;
use std::sync::Mutex;

use russh::keys::Algorithm;
use russh::keys::ssh_key::{HashAlg, PublicKey};

use crate::options::HostKeyPolicy;

/// Serialises appends to `known_hosts` within this process (several machines may be new at once).
static LEARN_LOCK: Mutex<()> = Mutex::new(());

/// The name a `known_hosts` line uses for `host` on `port` (`host`, or `[host]:port`).
pub(crate) fn host_pattern(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Checks `key` offered by `host:port` against `path` under `policy`. `Err` holds the reason
/// and the fix, for [`autotest_core::transport::TransportError::HostKey`].
pub(crate) fn verify(
    host: &str,
    port: u16,
    key: &PublicKey,
    path: &Path,
    policy: HostKeyPolicy,
) -> Result<(), String> {
    let name = host_pattern(host, port);
    let fingerprint = key.fingerprint(HashAlg::Sha256);
    let algo = key.algorithm();
    let check = |path: &Path| russh::keys::check_known_hosts_path(host, port, key, path);
    match check(path) {
        Ok(true) => Ok(()),
        Ok(false) => match policy {
            HostKeyPolicy::Strict => Err(format!(
                "{name} is not in {path} (it offered {algo} key {fingerprint}); check the \
                 fingerprint with the machine's owner, then add it with `ssh-keyscan {keyscan_port}{host} >> {path}`, \
                 or use the accept-new host key policy to record new machines on first connect",
                algo = algo.as_str(),
                path = path.display(),
                keyscan_port = if port == 22 {
                    String::new()
                } else {
                    format!("-p {port} ")
                },
            )),
            HostKeyPolicy::AcceptNew => learn(host, port, key, path),
        },
        Err(russh::keys::Error::KeyChanged { line }) => {
            Err(changed(&name, path, line, &fingerprint.to_string()))
        }
        Err(e) => Err(format!(
            "cannot check {name} against {path}: {e}; fix or remove the unreadable entry",
            path = path.display()
        )),
    }
}

fn changed(name: &str, path: &Path, line: usize, fingerprint: &str) -> String {
    format!(
        "the key offered by {name} ({fingerprint}) DIFFERS from the one recorded at {path}:{line}: \
         someone may be intercepting the connection, or the machine was reinstalled; if the \
         change is expected, remove the old key with `ssh-keygen -R '{name}' -f {path}` and \
         connect again",
        path = path.display()
    )
}

/// Records a new key (AcceptNew), re-checking under the lock so a key is written once.
fn learn(host: &str, port: u16, key: &PublicKey, path: &Path) -> Result<(), String> {
    let _guard = LEARN_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let name = host_pattern(host, port);
    match russh::keys::check_known_hosts_path(host, port, key, path) {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(russh::keys::Error::KeyChanged { line }) => {
            return Err(changed(
                &name,
                path,
                line,
                &key.fingerprint(HashAlg::Sha256).to_string(),
            ));
        }
        Err(e) => {
            return Err(format!(
                "cannot check {name} against {}: {e}",
                path.display()
            ));
        }
    }
    append(&name, key, path).map_err(|e| {
        format!(
            "cannot record the new key of {name} in {}: {e}; make the file writable or add the key by hand",
            path.display()
        )
    })?;
    tracing::info!(
        host = %name,
        key = %key.fingerprint(HashAlg::Sha256),
        file = %path.display(),
        "recorded a new host key (accept-new)"
    );
    Ok(())
}

/// Appends `name key` as one line (creating the file and its directory), after a newline if the
/// file does not end with one.
fn append(name: &str, key: &PublicKey, path: &Path) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let mut line = String::new();
    if f.seek(SeekFrom::End(-1)).is_ok() {
        let mut last = [0u8; 1];
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.push('\n');
        }
    }
    let openssh = key.to_openssh().map_err(std::io::Error::other)?;
    line.push_str(&format!("{name} {openssh}\n"));
    f.write_all(line.as_bytes())?;
    f.sync_all()
}

/// Host-key algorithms in the order to offer them: those recorded for this host first (so a
/// machine known by its ECDSA or RSA key is not asked for an unrecorded Ed25519 one, as OpenSSH
/// does), then the rest of `defaults`.
pub(crate) fn preferred_algorithms(
    host: &str,
    port: u16,
    path: &Path,
    defaults: &[Algorithm],
) -> Vec<Algorithm> {
    let recorded =
        russh::keys::known_hosts::known_host_keys_path(host, port, path).unwrap_or_default();
    let mut first: Vec<Algorithm> = Vec::new();
    for (_, key) in &recorded {
        let algos = match key.algorithm() {
            Algorithm::Rsa { .. } => vec![
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512),
                },
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha256),
                },
                Algorithm::Rsa { hash: None },
            ],
            a => vec![a],
        };
        for a in algos {
            if defaults.contains(&a) && !first.contains(&a) {
                first.push(a);
            }
        }
    }
    let rest = defaults
        .iter()
        .filter(|a| !first.contains(a))
        .cloned()
        .collect::<Vec<_>>();
    first.extend(rest);
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b64: &str) -> PublicKey {
        russh::keys::parse_public_key_base64(b64).unwrap()
    }

    const K1: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const K2: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIPBe7WXy68CZPxbf9aDbdUKnKgBq7md8vXa2jmTOUXLr";

    #[test]
    fn strict_refuses_unknown_accept_new_records_changed_always_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_hosts");
        let e = verify("h", 2222, &key(K1), &path, HostKeyPolicy::Strict).unwrap_err();
        assert!(e.contains("ssh-keyscan -p 2222 h >>"), "{e}");
        verify("h", 2222, &key(K1), &path, HostKeyPolicy::AcceptNew).unwrap();
        verify("h", 2222, &key(K1), &path, HostKeyPolicy::AcceptNew).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("[h]:2222 ssh-ed25519 "), "{text}");
        verify("h", 2222, &key(K1), &path, HostKeyPolicy::Strict).unwrap();
        for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
            let e = verify("h", 2222, &key(K2), &path, policy).unwrap_err();
            assert!(
                e.contains("DIFFERS") && e.contains("ssh-keygen -R '[h]:2222'"),
                "{e}"
            );
        }
        // Another port is another machine.
        assert!(verify("h", 22, &key(K2), &path, HostKeyPolicy::Strict).is_err());
    }

    #[test]
    fn recorded_algorithms_come_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let defaults = russh::Preferred::DEFAULT.key.to_vec();
        assert_eq!(preferred_algorithms("h", 22, &path, &defaults), defaults);
        let rsa = "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDciaduAEaw0Zw+trwmr5uRJ+ak8IkSRev4oHMAZ24tcV2MO+GfzjvyQu0croeZIJB0JxllpDANjKLNDnbBUjIL6pd3I7DRSMZzrGmxNFJgITGaIgCXLq/Yiui2BPmU7sg61QVKTDg7BpK4Qa0V92A82Cu/bA0CNmQqSRBjBZgP8w==";
        std::fs::write(&path, format!("h ssh-rsa {rsa}\n")).unwrap();
        let got = preferred_algorithms("h", 22, &path, &defaults);
        assert_eq!(
            got[0],
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512)
            }
        );
        assert_eq!(got.len(), defaults.len());
    }
}
