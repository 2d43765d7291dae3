//! One authenticated SSH connection to a machine, shared by many commands: channels are opened
//! on it within a per-connection limit (a semaphore of [`SshOptions::max_sessions`] permits).

mod auth;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use autotest_core::transport::TransportError;
use russh::client::{self, Handle, Msg};
use russh::keys::PublicKeyOrCertificate;
use russh::{Channel, ChannelOpenFailure, Preferred};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::known_hosts;
use crate::options::{HostKeyPolicy, SshOptions, SshTarget};

/// The russh event handler: checks the host key; everything else is russh's default.
pub(crate) struct Client {
    host: String,
    port: u16,
    known_hosts: std::path::PathBuf,
    policy: HostKeyPolicy,
}

/// Why the connection attempt failed inside russh.
#[derive(Debug)]
pub(crate) enum ClientError {
    /// A protocol or I/O error.
    Ssh(russh::Error),
    /// The host key was refused (reason and fix).
    HostKey(String),
}

impl From<russh::Error> for ClientError {
    fn from(e: russh::Error) -> Self {
        ClientError::Ssh(e)
    }
}

impl client::Handler for Client {
    type Error = ClientError;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, ClientError> {
        let key = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(_) => {
                return Err(ClientError::HostKey(
                    "the server offered a host certificate, which this client does not check; \
                     record the machine's plain host key in known_hosts"
                        .to_owned(),
                ));
            }
        };
        let (host, port, path, policy) = (
            self.host.clone(),
            self.port,
            self.known_hosts.clone(),
            self.policy,
        );
        let verdict = tokio::task::spawn_blocking(move || {
            known_hosts::verify(&host, port, &key, &path, policy)
        })
        .await
        .map_err(|e| ClientError::HostKey(format!("host key check did not finish: {e}")))?;
        verdict.map(|()| true).map_err(ClientError::HostKey)
    }
}

/// An authenticated connection.
pub(crate) struct Connection {
    handle: Handle<Client>,
    sessions: Arc<Semaphore>,
    open_timeout: Duration,
    /// Which connection of its transport this is (1, 2, ... after reconnects).
    pub(crate) id: u64,
}

/// A session channel and the permit that counts it against the connection's limit.
pub(crate) struct OpenChannel {
    /// The connection the channel lives on (a timeout kill runs on the same one).
    pub(crate) conn: Arc<Connection>,
    /// The channel.
    pub(crate) channel: Channel<Msg>,
    /// Released when the channel is done.
    pub(crate) permit: OwnedSemaphorePermit,
}

/// Why no channel could be opened.
pub(crate) enum OpenError {
    /// The connection is gone (or does not answer): reconnect and try again.
    Dead(String),
    /// The server refused the channel.
    Refused(String),
}

impl Connection {
    /// True once the connection has ended (closed by either side, keepalive timeout, I/O error).
    pub(crate) fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Opens a session channel, waiting for a free permit first.
    pub(crate) async fn open_channel(self: &Arc<Self>) -> Result<OpenChannel, OpenError> {
        let permit = Arc::clone(&self.sessions)
            .acquire_owned()
            .await
            .map_err(|_| OpenError::Dead("connection closed".to_owned()))?;
        let channel = self.open_raw().await?;
        Ok(OpenChannel {
            conn: Arc::clone(self),
            channel,
            permit,
        })
    }

    /// Opens a channel outside the permit count, for the short kill command that cleans up after
    /// a timed-out command (it uses the headroom between `max_sessions` and the server's limit,
    /// and cannot wait behind the commands it is cleaning up after).
    pub(crate) async fn open_extra(&self) -> Result<Channel<Msg>, OpenError> {
        self.open_raw().await
    }

    /// Refusals for lack of resources (another client using the server's sessions, a session
    /// whose process is still being reaped) are retried a few times with backoff.
    async fn open_raw(&self) -> Result<Channel<Msg>, OpenError> {
        let mut delay = Duration::from_millis(50);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let opened =
                tokio::time::timeout(self.open_timeout, self.handle.channel_open_session()).await;
            match opened {
                Err(_) => {
                    return Err(OpenError::Dead(format!(
                        "no answer to a channel open within {}",
                        secs(self.open_timeout)
                    )));
                }
                Ok(Ok(channel)) => return Ok(channel),
                // OpenSSH answers "connect failed" when MaxSessions is reached.
                Ok(Err(russh::Error::ChannelOpenFailure(
                    ChannelOpenFailure::ResourceShortage
                    | ChannelOpenFailure::ConnectFailed
                    | ChannelOpenFailure::AdministrativelyProhibited,
                ))) if attempt < 7 => {
                    tracing::debug!(
                        attempt,
                        "channel open refused for lack of sessions; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Ok(Err(e)) if self.is_closed() => return Err(OpenError::Dead(e.to_string())),
                Ok(Err(russh::Error::ChannelOpenFailure(f))) => {
                    return Err(OpenError::Refused(format!(
                        "the server refused a session channel ({f:?}, {attempt} attempts); lower \
                         max_sessions below the server's MaxSessions (OpenSSH: 10, counting other \
                         clients' sessions on this connection) or raise MaxSessions in sshd_config"
                    )));
                }
                Ok(Err(e)) => return Err(OpenError::Dead(e.to_string())),
            }
        }
    }

    /// Says goodbye to the server (best effort).
    pub(crate) async fn disconnect(&self) {
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "bye", "en")
            .await;
    }
}

/// Connects to `target`, checks its host key and authenticates, each step within
/// [`SshOptions::connect_timeout`].
pub(crate) async fn connect(
    machine: &str,
    target: &SshTarget,
    opts: &SshOptions,
    id: u64,
) -> Result<Connection, TransportError> {
    let limit = opts.connect_timeout;
    let connect_err = |reason: String| TransportError::Connect {
        machine: machine.to_owned(),
        reason,
    };
    let defaults = Preferred::DEFAULT.key.to_vec();
    let (host, port, path) = (target.host.clone(), target.port, opts.known_hosts.clone());
    let keys = tokio::task::spawn_blocking(move || {
        known_hosts::preferred_algorithms(&host, port, &path, &defaults)
    })
    .await
    .map_err(|e| connect_err(format!("reading known_hosts failed: {e}")))?;
    let config = client::Config {
        keepalive_interval: Some(opts.keepalive_interval),
        keepalive_max: opts.keepalive_max,
        inactivity_timeout: None,
        nodelay: true,
        preferred: Preferred {
            key: Cow::Owned(keys),
            ..Preferred::DEFAULT
        },
        ..client::Config::default()
    };
    let handler = Client {
        host: target.host.clone(),
        port: target.port,
        known_hosts: opts.known_hosts.clone(),
        policy: opts.host_key_policy,
    };
    let started = std::time::Instant::now();
    let connecting = client::connect(
        Arc::new(config),
        (target.host.as_str(), target.port),
        handler,
    );
    let mut handle = match tokio::time::timeout(limit, connecting).await {
        Err(_) => {
            return Err(connect_err(format!(
                "no SSH answer from {target} within {}; check that the machine is up and sshd \
                 listens on port {}, or raise the connect timeout",
                secs(limit),
                target.port
            )));
        }
        Ok(Err(ClientError::HostKey(reason))) => {
            return Err(TransportError::HostKey {
                machine: machine.to_owned(),
                reason,
            });
        }
        Ok(Err(ClientError::Ssh(e))) => return Err(connect_err(describe(&e, target))),
        Ok(Ok(h)) => h,
    };
    match tokio::time::timeout(limit, auth::authenticate(&mut handle, target, opts)).await {
        Err(_) => {
            return Err(TransportError::Auth {
                machine: machine.to_owned(),
                reason: format!(
                    "authentication as {} did not finish within {}; check the machine's load \
                     and sshd (UseDNS, PAM), or raise the connect timeout",
                    target.user,
                    secs(limit)
                ),
            });
        }
        Ok(Err(reason)) if handle.is_closed() => {
            return Err(connect_err(format!(
                "the server closed the connection during authentication ({reason}); check sshd's \
                 MaxStartups and MaxAuthTries and its log"
            )));
        }
        Ok(Err(reason)) => {
            return Err(TransportError::Auth {
                machine: machine.to_owned(),
                reason,
            });
        }
        Ok(Ok(())) => {}
    }
    tracing::debug!(%target, id, elapsed_ms = started.elapsed().as_millis() as u64, "ssh connected");
    Ok(Connection {
        handle,
        sessions: Arc::new(Semaphore::new(opts.max_sessions.max(1))),
        open_timeout: limit,
        id,
    })
}

/// A duration for messages: `10 s`, `1.5 s`.
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A connect failure in words, with the likely fix.
fn describe(e: &russh::Error, target: &SshTarget) -> String {
    match e {
        russh::Error::IO(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => format!(
                "connection refused by {}:{}: sshd is not listening there; start it or fix the port",
                target.host_for_display(),
                target.port
            ),
            std::io::ErrorKind::NotFound => format!(
                "cannot resolve {}: check the machine name and DNS",
                target.host
            ),
            _ => format!("{io} (connecting to {target})"),
        },
        russh::Error::Disconnect | russh::Error::HUP => format!(
            "the server at {target} closed the connection during the handshake; check sshd's \
             log (MaxStartups, ListenAddress, a firewall)"
        ),
        russh::Error::NoCommonAlgo { .. } => format!(
            "no common algorithm with {target} ({e}); the server's sshd is too old or restricted"
        ),
        other => format!("{other} (connecting to {target})"),
    }
}
