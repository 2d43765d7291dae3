//! How to reach machines: [`SshOptions`] (user, port, keys, `known_hosts`, timeouts, session
//! limit) and [`SshTarget`] (one machine's `[user@]host[:port]` resolved against them).

mod target;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use target::SshTarget;

/// What to do with a host key that `known_hosts` does not list yet. A key that differs from a
/// recorded one is refused under every policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostKeyPolicy {
    /// Refuse machines whose key is not recorded (OpenSSH `StrictHostKeyChecking yes`).
    #[default]
    Strict,
    /// Record an unknown key in `known_hosts` and connect (OpenSSH
    /// `StrictHostKeyChecking accept-new`).
    AcceptNew,
}

/// Settings shared by every SSH connection a transport or pool opens.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// User when the machine name has no `user@` (default `root`, as Autotest did).
    pub user: String,
    /// Port when the machine name has no `:port` (default 22).
    pub port: u16,
    /// Private keys to offer, in order (default: those of `~/.ssh/id_ed25519`, `id_ecdsa`,
    /// `id_rsa` that exist). Keys protected by a passphrase are skipped: load them into ssh-agent.
    pub identity_files: Vec<PathBuf>,
    /// Also offer the keys of the ssh-agent (default true), after the identity files.
    pub use_agent: bool,
    /// The agent's socket; `None` (the default) means `$SSH_AUTH_SOCK`.
    pub agent_socket: Option<PathBuf>,
    /// The `known_hosts` file checked (and, under [`HostKeyPolicy::AcceptNew`], appended to);
    /// default `~/.ssh/known_hosts`.
    pub known_hosts: PathBuf,
    /// Unknown host keys: refuse (default) or record.
    pub host_key_policy: HostKeyPolicy,
    /// Limit for the TCP connect plus key exchange, and again for authentication and for
    /// opening a channel (default 10 s).
    pub connect_timeout: Duration,
    /// Send a keepalive after this long without hearing from the server (default 15 s).
    pub keepalive_interval: Duration,
    /// Drop the connection after this many unanswered keepalives (default 3).
    pub keepalive_max: usize,
    /// Channels open at once on one connection (default 8, below OpenSSH's `MaxSessions 10`);
    /// further commands wait for a free one.
    pub max_sessions: usize,
}

impl Default for SshOptions {
    fn default() -> Self {
        let ssh_dir = home_dir().join(".ssh");
        SshOptions {
            user: "root".to_owned(),
            port: 22,
            identity_files: default_identity_files(&ssh_dir),
            use_agent: true,
            agent_socket: None,
            known_hosts: ssh_dir.join("known_hosts"),
            host_key_policy: HostKeyPolicy::Strict,
            connect_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(15),
            keepalive_max: 3,
            max_sessions: 8,
        }
    }
}

impl SshOptions {
    /// Sets the default user.
    pub fn user(mut self, user: &str) -> Self {
        user.clone_into(&mut self.user);
        self
    }

    /// Sets the default port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Replaces the identity files with this one key.
    pub fn identity_file(mut self, key: impl Into<PathBuf>) -> Self {
        self.identity_files = vec![key.into()];
        self
    }

    /// Turns the ssh-agent on or off.
    pub fn use_agent(mut self, on: bool) -> Self {
        self.use_agent = on;
        self
    }

    /// Uses the agent listening on `socket` (instead of `$SSH_AUTH_SOCK`) and turns the agent on.
    pub fn agent_socket(mut self, socket: impl Into<PathBuf>) -> Self {
        self.agent_socket = Some(socket.into());
        self.use_agent = true;
        self
    }

    /// Sets the `known_hosts` file.
    pub fn known_hosts(mut self, path: impl Into<PathBuf>) -> Self {
        self.known_hosts = path.into();
        self
    }

    /// Sets the policy for unknown host keys.
    pub fn host_key_policy(mut self, policy: HostKeyPolicy) -> Self {
        self.host_key_policy = policy;
        self
    }

    /// Sets the connect (and authentication) timeout.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Sets the keepalive interval and how many unanswered keepalives drop the connection.
    pub fn keepalive(mut self, interval: Duration, max: usize) -> Self {
        self.keepalive_interval = interval;
        self.keepalive_max = max;
        self
    }

    /// Sets how many channels may be open at once on one connection (at least 1).
    pub fn max_sessions(mut self, n: usize) -> Self {
        self.max_sessions = n.max(1);
        self
    }
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// The default keys of `ssh_dir` that exist, in OpenSSH's order.
fn default_identity_files(ssh_dir: &Path) -> Vec<PathBuf> {
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|name| ssh_dir.join(name))
        .filter(|p| p.is_file())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_openssh_and_autotest() {
        let o = SshOptions::default();
        assert_eq!(o.user, "root");
        assert_eq!(o.port, 22);
        assert_eq!(o.max_sessions, 8);
        assert_eq!(o.host_key_policy, HostKeyPolicy::Strict);
        assert!(o.known_hosts.ends_with(".ssh/known_hosts"));
        assert!(o.identity_files.iter().all(|p| p.is_file()));
        assert_eq!(SshOptions::default().max_sessions(0).max_sessions, 1);
    }
}
