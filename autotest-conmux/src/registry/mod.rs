//! The conmux registry: `LOOKUP`, `ADD` and `LIST` over TCP (FORMATS.md section 11), persisted
//! in a store file. Every connection is served on its own task; a bad line is answered with an
//! error reply and the connection (and every other one) keeps being served.
//!
//! What it trusts: any client that can reach it may `ADD` (there is no authentication, as in
//! legacy; it binds loopback unless told otherwise). What it protects: a live console's entry.
//! An `ADD` of a name at the address it already has is a refresh (legacy servers re-register on
//! restart). An `ADD` of a registered name at another address is accepted only when the
//! registered address is dead: the registry connects to it (TCP, [`PROBE_TIMEOUT`]) and, if
//! something accepts, refuses with `status=EEXIST ...` naming the live entry; a refused,
//! unreachable or unparsable address is replaced.

mod store;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::protocol::{MAX_LINE_LEN, Reply, Request};
pub use store::Store;

/// How long the liveness probe of a registered address may take before it counts as dead.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the registry could not start or keep its store.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The store file could not be read or written.
    #[error("{}: registry store: {source}", path.display())]
    Store {
        /// The store file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line of the store file is not `name host:port`.
    #[error("{}:{line}: `{text}` is not `<name> <host:port>`; fix: correct or delete the line", path.display())]
    BadStoreLine {
        /// The store file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// The listening socket could not be opened.
    #[error("registry: cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// A running registry; dropping it stops serving.
pub struct RegistryServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl RegistryServer {
    /// Opens `store` and serves it on `addr` (port 0 picks a free port).
    pub async fn start(addr: SocketAddr, store: &Path) -> Result<Self, RegistryError> {
        let store = Arc::new(Mutex::new(Store::open(store)?));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| RegistryError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| RegistryError::Bind { addr, source })?;
        let task = tokio::spawn(accept_loop(listener, store));
        Ok(Self { addr, task })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the task ends (it only ends when aborted).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, store: Arc<Mutex<Store>>) {
    let mut clients = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((sock, peer)) => {
                    let store = store.clone();
                    clients.spawn(async move {
                        if let Err(e) = serve(sock, &store).await {
                            tracing::debug!("registry client {peer}: {e}");
                        }
                    });
                }
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!("registry: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            Some(_) = clients.join_next() => {}
        }
    }
}

async fn serve(sock: TcpStream, store: &Mutex<Store>) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut r)
            .take(MAX_LINE_LEN as u64 + 2)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        let reply = answer(&String::from_utf8_lossy(&line), store).await;
        w.write_all(format!("{reply}\n").as_bytes()).await?;
        if !line.ends_with(b"\n") && n as u64 > MAX_LINE_LEN as u64 {
            return Ok(()); // An endless line: answered once, then the connection is closed.
        }
    }
}

async fn answer(line: &str, store: &Mutex<Store>) -> Reply {
    let request = match Request::parse(line) {
        Ok(r) => r,
        Err(e) => return Reply::registry_ok().with("status", format!("EINVAL {e}")),
    };
    let lock = || store.lock().unwrap_or_else(|p| p.into_inner());
    match request.verb.as_str() {
        "LOOKUP" => match request.get("service") {
            Some(name) => Reply::registry_lookup(lock().lookup(name)),
            None => Reply::registry_ok().with("status", "EINVAL LOOKUP requires service="),
        },
        "ADD" => match (request.get("service"), request.get("location")) {
            (Some(name), Some(location)) => add(store, name, location).await,
            _ => Reply::registry_ok().with("status", "EINVAL ADD requires service= and location="),
        },
        "LIST" => Reply::registry_list(lock().entries()),
        _ => Reply::registry_ok().with("status", "ENOSYS"),
    }
}

/// `ADD`: new names and refreshes are recorded at once; a different address for a registered
/// name only once the registered address is found dead. The lock is not held while probing (a
/// probe may take [`PROBE_TIMEOUT`]), so the entry is looked at again afterwards and probed
/// anew if it changed meanwhile.
async fn add(store: &Mutex<Store>, name: &str, location: &str) -> Reply {
    // The address probed last and whether it answered.
    let mut probed: Option<(String, bool)> = None;
    loop {
        let to_probe = {
            let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
            let held = store
                .lookup(name)
                .filter(|h| *h != location)
                .map(str::to_owned);
            match (held, &probed) {
                (Some(held), Some((was, true))) if held == *was => {
                    let refusal = format!(
                        "EEXIST {name} is registered at {held}, which is live (it accepts \
                         connections); fix: stop the console server at {held}, or give this \
                         console another listener name"
                    );
                    tracing::warn!("registry: refused ADD {name} at {location}: {refusal}");
                    return Reply::registry_ok().with("status", refusal);
                }
                (Some(held), Some((was, false))) if held == *was => {
                    return record(&mut store, name, location, Some(&held));
                }
                (Some(held), _) => held,
                (None, _) => return record(&mut store, name, location, None),
            }
        };
        let alive = is_alive(&to_probe).await;
        probed = Some((to_probe, alive));
    }
}

fn record(store: &mut Store, name: &str, location: &str, dead: Option<&str>) -> Reply {
    match store.add(name, location) {
        Ok(()) => {
            match dead {
                Some(old) => {
                    tracing::info!("registry: {name} at {location} (replaces {old}: dead)")
                }
                None => tracing::info!("registry: {name} at {location}"),
            }
            Reply::registry_ok()
        }
        Err(e) => Reply::registry_ok().with("status", format!("EIO {e}")),
    }
}

/// Whether something accepts TCP connections at `location` now.
async fn is_alive(location: &str) -> bool {
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, TcpStream::connect(location)).await,
        Ok(Ok(_))
    )
}
