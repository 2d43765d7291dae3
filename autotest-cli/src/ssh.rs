//! The transport factory of the front end: `localhost` locally, every other machine over SSH.
//!
//! Environment: `AUTOTEST_SSH_KEY` (a private key to use instead of `~/.ssh/id_*`),
//! `AUTOTEST_SSH_KNOWN_HOSTS` (instead of `~/.ssh/known_hosts`), `AUTOTEST_SSH_USER`,
//! `AUTOTEST_SSH_KEEPALIVE_SECS` (keepalive interval; a dead machine is noticed after three).

use std::sync::Arc;

use autotest_core::TransportFactory;
use autotest_ssh::{HostKeyPolicy, SshOptions, SshTransportFactory};

/// SSH options from the defaults and the environment.
pub fn options(accept_new: bool) -> SshOptions {
    let mut o = SshOptions::default();
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
pub fn factory(accept_new: bool) -> Arc<dyn TransportFactory> {
    Arc::new(SshTransportFactory::new(options(accept_new)))
}
