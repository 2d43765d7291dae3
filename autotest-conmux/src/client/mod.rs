//! The client side: the registry's `LOOKUP`/`ADD`/`LIST`, resolving a console name, opening a
//! console session, and running a named console command.
//!
//! ```no_run
//! use autotest_conmux::client::{self, Session};
//! use autotest_conmux::{ClientId, ConnectType};
//! use tokio::io::AsyncReadExt;
//!
//! # async fn demo() -> Result<(), autotest_conmux::ClientError> {
//! let me = ClientId::Bot("autoserv".into());
//! // `<registry>/<name>` (registry `host` or `host:port`), a bare `<name>` (default registry)
//! // or a direct `host:port`.
//! let mut session = Session::open("localhost/box1", &me, ConnectType::Watch).await?;
//! println!("attached to {}", session.title());
//! let mut buf = [0u8; 4096];
//! let n = session.stream().read(&mut buf).await.map_err(|e| client::ClientError::io("box1", e))?;
//! // Power-cycle the machine through its console's configured `hardreset` command.
//! let outcome = client::run_command("localhost/box1", &me, "hardreset", "").await?;
//! assert!(outcome.success(), "{}", outcome.output);
//! # let _ = n; Ok(()) }
//! ```

mod attach;

use std::net::SocketAddr;
use std::time::Duration;

pub use attach::attach_program;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::protocol::{
    ClientId, ConnectType, MAX_LINE_LEN, ProtocolError, REGISTRY_PORT, Reply, Request,
};

/// Environment variable naming the default registry (`host` or `host:port`; else `localhost`).
pub const REGISTRY_ENV: &str = "AUTOTEST_CONMUX_REGISTRY";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a conmux client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No TCP connection could be made.
    #[error("cannot connect to {to}: {source}")]
    Connect {
        /// The address tried.
        to: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The connection failed midway.
    #[error("{to}: {source}")]
    Io {
        /// The peer.
        to: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The peer sent a line that is not conmux protocol.
    #[error("{to}: bad reply: {source}")]
    Protocol {
        /// The peer.
        to: String,
        /// The cause.
        source: ProtocolError,
    },
    /// The peer answered with an error status.
    #[error("{to}: {what} refused: {status}")]
    Refused {
        /// The peer.
        to: String,
        /// The request.
        what: String,
        /// The `status` it gave.
        status: String,
    },
    /// The peer closed the connection before answering.
    #[error("{to}: connection closed before the answer")]
    Closed {
        /// The peer.
        to: String,
    },
    /// A console command is not configured for the console.
    #[error("{to}: the console has no command `{command}` (see `~$help`)")]
    UnknownCommand {
        /// The console.
        to: String,
        /// The command.
        command: String,
    },
}

impl ClientError {
    /// An I/O error on the connection to `to`.
    pub fn io(to: &str, source: std::io::Error) -> Self {
        Self::Io {
            to: to.to_owned(),
            source,
        }
    }
}

/// The registry's `host:port`: `registry` (`host` means port 63000), else the
/// [`REGISTRY_ENV`] variable, else `localhost:63000`.
pub fn registry_address(registry: Option<&str>) -> String {
    let env = std::env::var(REGISTRY_ENV).ok().filter(|s| !s.is_empty());
    let spec = registry
        .filter(|r| !r.is_empty() && *r != "-")
        .map(str::to_owned)
        .or(env);
    let spec = spec.unwrap_or_else(|| "localhost".to_owned());
    if spec.contains(':') && !spec.starts_with('[') || spec.contains("]:") {
        spec
    } else {
        format!("{spec}:{REGISTRY_PORT}")
    }
}

async fn connect(to: &str) -> Result<TcpStream, ClientError> {
    let err = |source| ClientError::Connect {
        to: to.to_owned(),
        source,
    };
    let sock = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(to))
        .await
        .map_err(|_| {
            err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out",
            ))
        })?
        .map_err(err)?;
    let _ = sock.set_nodelay(true);
    Ok(sock)
}

/// Reads one reply line byte by byte, so nothing after it (console bytes) is consumed.
async fn read_reply(sock: &mut TcpStream, to: &str) -> Result<Reply, ClientError> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        let n = sock
            .read(&mut byte)
            .await
            .map_err(|e| ClientError::io(to, e))?;
        if n == 0 {
            return Err(ClientError::Closed { to: to.to_owned() });
        }
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
        if line.len() > MAX_LINE_LEN {
            let source = ProtocolError::LineTooLong { len: line.len() };
            return Err(ClientError::Protocol {
                to: to.to_owned(),
                source,
            });
        }
    }
    Reply::parse(&String::from_utf8_lossy(&line)).map_err(|source| ClientError::Protocol {
        to: to.to_owned(),
        source,
    })
}

async fn request(sock: &mut TcpStream, to: &str, req: &Request) -> Result<Reply, ClientError> {
    sock.write_all(format!("{req}\n").as_bytes())
        .await
        .map_err(|e| ClientError::io(to, e))?;
    let reply = read_reply(sock, to).await?;
    if !reply.is_ok() {
        return Err(ClientError::Refused {
            to: to.to_owned(),
            what: req.verb.clone(),
            status: reply.status().unwrap_or("(none)").to_owned(),
        });
    }
    Ok(reply)
}

/// Where the registry (see [`registry_address`]) says `name` is.
pub async fn lookup(registry: Option<&str>, name: &str) -> Result<String, ClientError> {
    let to = registry_address(registry);
    let mut sock = connect(&to).await?;
    let reply = request(&mut sock, &to, &Request::lookup(name)).await?;
    Ok(reply.get("result").unwrap_or_default().to_owned())
}

/// One registry entry (`autotest console --list --json` prints a list of them).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegistryEntry {
    /// The console's name.
    pub name: String,
    /// Where its server listens (`host:port`).
    pub location: String,
}

impl From<(String, String)> for RegistryEntry {
    fn from((name, location): (String, String)) -> Self {
        RegistryEntry { name, location }
    }
}

/// A console's state as `autotest console --status --json` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConsoleState {
    /// The console asked about, as given.
    pub console: String,
    /// `connected`, `transition`, `disconnected`, or `unavailable` when it cannot be reached.
    pub state: String,
}

/// Every registry entry as (name, location), in the registry's (name) order.
pub async fn list(registry: Option<&str>) -> Result<Vec<(String, String)>, ClientError> {
    let to = registry_address(registry);
    let mut sock = connect(&to).await?;
    let reply = request(&mut sock, &to, &Request::list()).await?;
    Ok(reply
        .get("result")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, l)| (n.to_owned(), l.to_owned()))
        .collect())
}

/// Registers `name` at `location` with the registry.
pub async fn add(registry: Option<&str>, name: &str, location: &str) -> Result<(), ClientError> {
    let to = registry_address(registry);
    let mut sock = connect(&to).await?;
    request(&mut sock, &to, &Request::add(name, location)).await?;
    Ok(())
}

/// Registers a server listening on `address`; an unspecified address (`0.0.0.0`) is
/// replaced by this host's address as the registry sees it. Returns the location registered.
pub(crate) async fn register(
    registry: Option<&str>,
    name: &str,
    address: SocketAddr,
) -> Result<String, ClientError> {
    let to = registry_address(registry);
    let mut sock = connect(&to).await?;
    let ip = if address.ip().is_unspecified() {
        sock.local_addr().map_err(|e| ClientError::io(&to, e))?.ip()
    } else {
        address.ip()
    };
    let location = SocketAddr::new(ip, address.port()).to_string();
    request(&mut sock, &to, &Request::add(name, &location)).await?;
    Ok(location)
}

/// The `host:port` of a console: `host:port` as is, `<registry>/<name>` or `<name>` looked up
/// in the registry.
pub async fn resolve(target: &str) -> Result<String, ClientError> {
    match target.rsplit_once('/') {
        Some((registry, name)) => lookup(Some(registry), name).await,
        None if target.contains(':') => Ok(target.to_owned()),
        None => lookup(None, target).await,
    }
}

/// An open console session: the `CONNECT` reply, then the console's byte stream.
pub struct Session {
    stream: TcpStream,
    reply: Reply,
    to: String,
}

impl Session {
    /// Resolves `target` and attaches to its console (`to=console`) as `id`.
    pub async fn open(target: &str, id: &ClientId, kind: ConnectType) -> Result<Self, ClientError> {
        Self::open_with(target, Request::connect(id, kind)).await
    }

    /// Like [`Session::open`] with a hand-made `CONNECT` (e.g. with `hide=1`).
    pub async fn open_with(target: &str, connect_request: Request) -> Result<Self, ClientError> {
        let to = resolve(target).await?;
        let mut stream = connect(&to).await?;
        let reply = request(&mut stream, &to, &connect_request).await?;
        Ok(Self { stream, reply, to })
    }

    /// The console's title as the server reports it (`<title> [channel <state>]`).
    pub fn title(&self) -> &str {
        self.reply.get("title").unwrap_or_default()
    }

    /// The channel state: `connected`, `transition` or `disconnected`.
    pub fn state(&self) -> &str {
        self.reply.get("state").unwrap_or("unknown")
    }

    /// Who else was attached (`(<id>) is already connected` lines).
    pub fn motd(&self) -> &str {
        self.reply.get("motd").unwrap_or_default()
    }

    /// The whole `CONNECT` reply.
    pub fn reply(&self) -> &Reply {
        &self.reply
    }

    /// The console server's `host:port`.
    pub fn address(&self) -> &str {
        &self.to
    }

    /// The byte stream: console output to read, console input to write (`~$` starts a command).
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// The byte stream, owned.
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }
}

/// How a console command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandStatus {
    /// It exited with this status.
    Exited(i32),
    /// A signal ended it.
    Signal(i32),
    /// It could not be started (the server's reason).
    NotStarted(String),
}

/// The outcome of [`run_command`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// How it ended.
    pub status: CommandStatus,
    /// What the session showed meanwhile (the announcement, the command's output, console
    /// output), lines joined with `\n`.
    pub output: String,
}

impl CommandOutcome {
    /// Exited with status 0.
    pub fn success(&self) -> bool {
        self.status == CommandStatus::Exited(0)
    }
}

/// Runs the console command `command` (e.g. `hardreset`) with `args` on `target`'s console as
/// `id`, and waits for it to end. The command's announcement and exit status are shown to
/// every attached client and logged by the server. Wrap in a timeout for a bound on the wait.
pub async fn run_command(
    target: &str,
    id: &ClientId,
    command: &str,
    args: &str,
) -> Result<CommandOutcome, ClientError> {
    let connect_request = Request::connect(id, ConnectType::Client).with("hide", "1");
    let mut session = Session::open_with(target, connect_request).await?;
    let to = session.to.clone();
    let line = if args.is_empty() {
        format!("~${command}\r")
    } else {
        format!("~${command} {args}\r")
    };
    session
        .stream
        .write_all(line.as_bytes())
        .await
        .map_err(|e| ClientError::io(&to, e))?;
    let finished = format!("({id}) {command} ");
    let mut pending = Vec::new();
    let mut output = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = session
            .stream
            .read(&mut buf)
            .await
            .map_err(|e| ClientError::io(&to, e))?;
        if n == 0 {
            return Err(ClientError::Closed { to });
        }
        pending.extend_from_slice(&buf[..n]);
        while let Some(i) = pending.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = pending.drain(..=i).collect();
            let text = String::from_utf8_lossy(&raw);
            let text = text.trim_end_matches(['\r', '\n']).to_owned();
            if text.ends_with("Command not recognised") {
                return Err(ClientError::UnknownCommand {
                    to,
                    command: command.to_owned(),
                });
            }
            if let Some(rest) = text.strip_prefix(&finished) {
                let status = if let Some(code) = rest.strip_prefix("exited with status ") {
                    code.trim().parse().ok().map(CommandStatus::Exited)
                } else if let Some(sig) = rest.strip_prefix("killed by signal ") {
                    sig.trim().parse().ok().map(CommandStatus::Signal)
                } else {
                    rest.strip_prefix("could not start: ")
                        .map(|r| CommandStatus::NotStarted(r.to_owned()))
                };
                if let Some(status) = status {
                    return Ok(CommandOutcome {
                        status,
                        output: output.join("\n"),
                    });
                }
            }
            output.push(text);
        }
    }
}
