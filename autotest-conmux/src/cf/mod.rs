//! Console configuration files (`<name>.cf`), as the legacy daemon reads them, plus a few
//! directives of ours (`bind`, `allow`, `log`, `pty`).
//!
//! ```text
//! # comment
//! listener [<registry>/]<name>  |  listener <port>
//! socket <name> '<title>' <host:port>          (a TCP console, e.g. ser2net)
//! application <name> '<title>' '<command>'     (a program's stdin/stdout)
//! command <name> '<announcement>' '<command>'  (e.g. hardreset)
//! help <name> '<text>'
//! bind <address>            allow <address>[/<prefix>] ...
//! log <path> [<max-bytes> [<keep>]]            pty on|off
//! client-buffer <bytes>
//! ```
//! A line ending in `\` continues on the next one.

mod parser;
mod words;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub(crate) use words::split_words;

/// Default size at which the console log is rotated.
pub const DEFAULT_LOG_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Default of how far (bytes) a client may fall behind the console before it is dropped.
pub const DEFAULT_CLIENT_BUFFER: usize = 1024 * 1024;
/// Default number of rotated logs kept (`.1` .. `.N`).
pub const DEFAULT_LOG_KEEP: u32 = 5;

/// Why a `.cf` file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum CfError {
    /// The file could not be read.
    #[error("{}: cannot read console config: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is wrong.
    #[error("{}:{line}: {message}; fix: {fix}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number (of the first line of a continued line).
        line: usize,
        /// What is wrong.
        message: String,
        /// How to fix it.
        fix: String,
    },
    /// Something required is missing from the whole file.
    #[error("{}: {message}; fix: {fix}", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// What is missing.
        message: String,
        /// How to fix it.
        fix: String,
    },
}

/// Where the console server listens and how clients find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listener {
    /// A fixed TCP port; not registered anywhere.
    Port(u16),
    /// Any free port, registered as `name` with a registry (`None`: the default registry).
    Registered {
        /// `host` (port 63000) or `host:port` of the registry.
        registry: Option<String>,
        /// The console's name in the registry.
        name: String,
    },
}

/// What the server owns: the console connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleSource {
    /// A TCP console as a terminal server or ser2net exports it (`host:port`).
    Socket(String),
    /// A program whose stdin/stdout is the console.
    Application {
        /// The command line (split into words as the `.cf` quoting rules say).
        command: String,
        /// Run it on a pseudo-terminal (default) rather than pipes.
        pty: bool,
    },
}

/// A named console command such as `hardreset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleCommand {
    /// What a client types after `~$`.
    pub name: String,
    /// Shown to every attached client as `(<who>) <announcement>` when it runs (may be empty).
    pub announcement: String,
    /// The program and its arguments (quoted words; the client's arguments are appended).
    pub command: String,
}

/// An allow-list entry: one address or a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    /// The network address.
    pub address: IpAddr,
    /// Prefix length in bits.
    pub prefix: u8,
}

impl AddressRange {
    /// Whether `addr` lies in this range.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
            v4 => v4,
        };
        match (self.address, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Where and how the console is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// The log file (rotated to `<path>.1` .. `<path>.<keep>`).
    pub path: PathBuf,
    /// Rotate when the file reaches this size.
    pub max_bytes: u64,
    /// How many rotated files to keep.
    pub keep: u32,
}

/// One parsed `.cf` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// How clients reach the server.
    pub listener: Listener,
    /// The console's name (the `to=` of a `CONNECT`).
    pub name: String,
    /// Its title, shown to clients.
    pub title: String,
    /// The console connection.
    pub source: ConsoleSource,
    /// Configured commands, in file order.
    pub commands: Vec<ConsoleCommand>,
    /// `help` lines: (command, text).
    pub help: Vec<(String, String)>,
    /// Address the listener binds to (loopback unless configured).
    pub bind: IpAddr,
    /// Client addresses allowed to connect; empty means everyone who can reach `bind`.
    pub allow: Vec<AddressRange>,
    /// The console log.
    pub log: LogSettings,
    /// How far (bytes) a client may fall behind before it is dropped.
    pub client_buffer: usize,
}

impl ConsoleConfig {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, CfError> {
        let text = std::fs::read_to_string(path).map_err(|source| CfError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses `text` (the content of `path`; the path names errors and places the default log
    /// beside the file as `<stem>.log`).
    pub fn parse(path: &Path, text: &str) -> Result<Self, CfError> {
        parser::Parser::new(path).run(text)
    }

    /// The name the config file gives this console outside the file: its file stem.
    pub fn file_stem(path: &Path) -> String {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "console".into())
    }
}
