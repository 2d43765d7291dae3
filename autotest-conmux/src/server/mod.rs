//! The console server: owns one console (a TCP console or a program), fans its output out to
//! every attached client, takes input from the one client that writes, logs everything, runs
//! `~$` commands, and registers itself with the registry when its listener is named.
//!
//! Protocol extensions (legacy clients see none of them unless they use them):
//! - `CONNECT ... type=watch`: a read-only watcher; its input other than `~$` commands is
//!   discarded with a notice.
//! - Among `type=client` sessions one writes at a time: the first to attach (or to type while
//!   nobody writes). The others watch and are told who writes; `~$write` takes the write over,
//!   announced to everyone. A lone legacy client therefore gets exactly what legacy gave it.
//! - Slow clients: a client may fall behind the console by `client-buffer` bytes (`.cf`,
//!   default [`DEFAULT_CLIENT_BUFFER`], 1 MiB: over a minute of a 115200-baud console). One that
//!   falls further is detached, is sent `<<<DROPPED: ...>>>` after what it had queued, and is
//!   disconnected. The console and the other clients never wait for it.

mod command;
mod escape;
mod hub;
mod log;
mod payload;
mod pty;
mod session;
mod telnet;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

pub use crate::cf::DEFAULT_CLIENT_BUFFER;
use crate::cf::{AddressRange, ConsoleCommand, ConsoleConfig, Listener};
pub use hub::ChannelState;
pub use session::DROPPED_NOTICE;

/// Largest read from the console or a client.
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// Why a console server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The client listener could not be opened.
    #[error("console {name}: cannot listen on {addr}: {source}")]
    Bind {
        /// The console.
        name: String,
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The console log could not be opened.
    #[error("console {name}: cannot open log {}: {source}", path.display())]
    Log {
        /// The console.
        name: String,
        /// The log file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// What sessions share.
pub(crate) struct Shared {
    pub name: String,
    pub title: String,
    pub commands: Vec<ConsoleCommand>,
    pub help: Vec<(String, String)>,
    pub allow: Vec<AddressRange>,
    pub hub: Arc<hub::Hub>,
    pub to_console: mpsc::Sender<payload::ToConsole>,
}

impl Shared {
    fn allowed(&self, ip: IpAddr) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|r| r.contains(ip))
    }
}

/// A console's state at one moment, for status reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleStatus {
    /// Where clients connect.
    pub address: SocketAddr,
    /// The legacy channel state.
    pub state: ChannelState,
    /// Whether the console connection is open now.
    pub connected: bool,
    /// Attached clients that see the console.
    pub clients: usize,
    /// Who holds the write.
    pub writer: Option<String>,
}

/// Where a console server stands with its registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// A fixed port: registered nowhere.
    Unnamed,
    /// No answer yet: the registry is unreachable (retried every 2 s).
    Pending,
    /// Registered at this `host:port`.
    Registered(String),
    /// The registry refused, e.g. because another live console has the name: its reason. Not
    /// retried; clients cannot find this console by name.
    Refused(String),
}

/// A running console server; dropping it stops the server and its console program.
pub struct ConsoleServer {
    address: SocketAddr,
    hub: Arc<hub::Hub>,
    tasks: tokio::task::JoinSet<()>,
    registration: watch::Receiver<Registration>,
}

impl ConsoleServer {
    /// Opens the log and the listener, starts owning the console, and (for a named listener)
    /// registers with the registry in the background, retrying until it answers.
    pub async fn start(config: ConsoleConfig) -> Result<Self, ServerError> {
        let port = match config.listener {
            Listener::Port(p) => p,
            Listener::Registered { .. } => 0,
        };
        let addr = SocketAddr::new(config.bind, port);
        let bind_err = |source| ServerError::Bind {
            name: config.name.clone(),
            addr,
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
        let address = listener.local_addr().map_err(bind_err)?;
        let (log_tx, _log_task) =
            log::start(config.log.clone()).map_err(|source| ServerError::Log {
                name: config.name.clone(),
                path: config.log.path.clone(),
                source,
            })?;
        let hub = Arc::new(hub::Hub::new(log_tx, config.client_buffer));
        hub.log(log::LogEvent::Mark(format!(
            "console server {} listening on {address}",
            config.name
        )));
        let (to_console, from_clients) = mpsc::channel(64);
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(payload::run(
            config.source.clone(),
            hub.clone(),
            from_clients,
        ));
        let shared = Arc::new(Shared {
            name: config.name.clone(),
            title: config.title.clone(),
            commands: config.commands.clone(),
            help: config.help.clone(),
            allow: config.allow.clone(),
            hub: hub.clone(),
            to_console,
        });
        tasks.spawn(accept_loop(listener, shared));
        let registration = match &config.listener {
            Listener::Registered { registry, name } => {
                let (tx, rx) = watch::channel(Registration::Pending);
                tasks.spawn(register(registry.clone(), name.clone(), address, tx));
                rx
            }
            Listener::Port(_) => watch::channel(Registration::Unnamed).1,
        };
        Ok(Self {
            address,
            hub,
            tasks,
            registration,
        })
    }

    /// Where it stands with its registry now.
    pub fn registration(&self) -> Registration {
        self.registration.borrow().clone()
    }

    /// Waits until the registry has answered (registered or refused); at once for a fixed port.
    pub async fn settled(&self) -> Registration {
        let mut rx = self.registration.clone();
        let settled = rx.wait_for(|r| *r != Registration::Pending).await;
        match settled {
            Ok(r) => r.clone(),
            // The registering task is gone only when the server is stopping.
            Err(_) => self.registration(),
        }
    }

    /// Stops it and waits until its tasks have ended, so its listener is closed (a registry
    /// probing the old address finds it dead) and its console connection released.
    pub async fn stop(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }

    /// Where clients connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// The console's state now.
    pub fn status(&self) -> ConsoleStatus {
        ConsoleStatus {
            address: self.address,
            state: self.hub.state(),
            connected: self.hub.is_connected(),
            clients: self.hub.viewers(),
            writer: self.hub.writer(),
        }
    }

    /// Serves until dropped (the server's tasks never end by themselves).
    pub async fn wait(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((sock, peer)) => {
                    sessions.spawn(session::serve(sock, peer, shared.clone()));
                }
                Err(e) => {
                    tracing::warn!("{}: accept failed: {e}", shared.name);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = sessions.join_next() => {}
        }
    }
}

async fn register(
    registry: Option<String>,
    name: String,
    address: SocketAddr,
    state: watch::Sender<Registration>,
) {
    let mut warned = false;
    loop {
        match crate::client::register(registry.as_deref(), &name, address).await {
            Ok(location) => {
                tracing::info!("registered {name} at {location}");
                state.send_replace(Registration::Registered(location));
                return;
            }
            // An answer, not an outage: retrying would not change it (legacy conmux exits).
            Err(e @ crate::client::ClientError::Refused { .. }) => {
                tracing::error!("registering {name}: {e}");
                state.send_replace(Registration::Refused(format!("registering {name}: {e}")));
                return;
            }
            Err(e) => {
                if !warned {
                    tracing::warn!("registering {name}: {e}; retrying every 2 s");
                    warned = true;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}
