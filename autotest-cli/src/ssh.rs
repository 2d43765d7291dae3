//! The transport factory of the front end: `localhost` locally, every other machine over SSH.
//!
//! Settings, each overriding the one before: the defaults (root, port 22, `~/.ssh/id_*` and
//! ssh-agent, `~/.ssh/known_hosts`); `ssh_user`, `ssh_port`, `ssh_key`, `ssh_known_hosts` of
//! `[SERVER]` and then of `[AUTOSERV]` in global_config.ini/shadow_config.ini; the environment:
//! `AUTOTEST_SSH_USER`, `AUTOTEST_SSH_KEY`, `AUTOTEST_SSH_KNOWN_HOSTS`,
//! `AUTOTEST_SSH_KEEPALIVE_SECS` (keepalive interval; a dead machine is noticed after three).

use std::sync::Arc;

use autotest_core::{ConfigError, GlobalConfig, TransportFactory};
use autotest_ssh::{HostKeyPolicy, SshOptions, SshTransportFactory};

/// SSH settings read from global_config.ini.
#[derive(Debug, Default, Clone)]
pub struct SshConfig {
    user: Option<String>,
    port: Option<u16>,
    key: Option<String>,
    known_hosts: Option<String>,
}

impl SshConfig {
    /// `[SERVER]` then `[AUTOSERV]` (the later wins) `ssh_user`, `ssh_port`, `ssh_key`,
    /// `ssh_known_hosts`.
    pub fn from_config(c: &GlobalConfig) -> Result<SshConfig, ConfigError> {
        let mut out = SshConfig::default();
        for section in ["SERVER", "AUTOSERV"] {
            if let Some(u) = c.get_str(section, "ssh_user")?.filter(|s| !s.is_empty()) {
                out.user = Some(u);
            }
            if let Some(p) = c.get_int(section, "ssh_port")? {
                out.port = Some(u16::try_from(p).unwrap_or(22));
            }
            if let Some(k) = c.get_str(section, "ssh_key")?.filter(|s| !s.is_empty()) {
                out.key = Some(k);
            }
            if let Some(k) = c.get_str(section, "ssh_known_hosts")?.filter(|s| !s.is_empty()) {
                out.known_hosts = Some(k);
            }
        }
        Ok(out)
    }
}

/// SSH options from the defaults, the config and the environment.
pub fn options(config: &SshConfig, accept_new: bool) -> SshOptions {
    let mut o = SshOptions::default();
    if let Some(u) = &config.user {
        o.user = u.clone();
    }
    if let Some(p) = config.port {
        o.port = p;
    }
    if let Some(k) = &config.key {
        o.identity_files = vec![k.into()];
    }
    if let Some(k) = &config.known_hosts {
        o.known_hosts = k.into();
    }
    if let Ok(key) = std::env::var("AUTOTEST_SSH_KEY") {
        o.identity_files = vec![key.into()];
    }
    if let Ok(kh) = std::env::var("AUTOTEST_SSH_KNOWN_HOSTS") {
        o.known_hosts = kh.into();
    }
    if let Ok(user) = std::env::var("AUTOTEST_SSH_USER") {
        o.user = user;
    }
    if let Some(secs) = std::env::var("AUTOTEST_SSH_KEEPALIVE_SECS").ok().and_then(|s| s.parse::<u64>().ok()) {
        o.keepalive_interval = std::time::Duration::from_secs(secs.max(1));
    }
    if accept_new {
        o.host_key_policy = HostKeyPolicy::AcceptNew;
    }
    o
}

/// The factory autoserv runs its machines through.
pub fn factory(config: &SshConfig, accept_new: bool) -> Arc<dyn TransportFactory> {
    Arc::new(SshTransportFactory::new(options(config, accept_new)))
}
