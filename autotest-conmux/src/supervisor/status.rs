//! The supervisor's status file `<config-dir>/conmux.status`: a header naming the supervisor's
//! pid, then one tab-separated line per console. Replaced atomically each time it is written,
//! so a reader never sees half of it.
//!
//! ```text
//! # conmux supervisor pid=<pid> registry=<host:port> updated=<UTC time>
//! <name>\t<running|failed>\t<address|->\t<channel state|->\t<clients>\t<writer|->\t<detail>
//! ```

use std::path::{Path, PathBuf};

use super::SupervisorError;

/// The status file's name inside the config directory.
pub const STATUS_FILE: &str = "conmux.status";

/// One console's line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConsoleLine {
    /// The console (the `.cf` file's stem).
    pub name: String,
    /// `running` or `failed`.
    pub state: String,
    /// Where clients connect (`-` when not running).
    pub address: String,
    /// `connected`, `transition`, `disconnected` (`-` when not running).
    pub channel: String,
    /// Attached clients.
    pub clients: usize,
    /// Who writes (`-`: nobody).
    pub writer: String,
    /// Why it failed, or its title.
    pub detail: String,
}

/// What [`read`] found (the shape of `autotest conmux status --json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusReport {
    /// The supervisor's pid.
    pub pid: u32,
    /// Whether that process is alive now.
    pub alive: bool,
    /// The registry it serves.
    pub registry: String,
    /// When the file was written (UTC).
    pub updated: String,
    /// One entry per console, by name.
    pub consoles: Vec<ConsoleLine>,
}

fn clean(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

pub(crate) fn write(
    dir: &Path,
    registry: &str,
    consoles: &[ConsoleLine],
) -> Result<(), SupervisorError> {
    let path = dir.join(STATUS_FILE);
    let mut text = format!(
        "# conmux supervisor pid={} registry={registry} updated={}\n",
        std::process::id(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    for c in consoles {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            clean(&c.name),
            c.state,
            c.address,
            c.channel,
            c.clients,
            clean(&c.writer),
            clean(&c.detail)
        ));
    }
    let tmp = dir.join(format!(".{STATUS_FILE}.new"));
    let io = |source| SupervisorError::StatusFile {
        path: path.clone(),
        source,
    };
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)
}

/// Reads the status file of `dir`.
pub fn read(dir: &Path) -> Result<StatusReport, SupervisorError> {
    let path = dir.join(STATUS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| SupervisorError::StatusFile {
        path: path.clone(),
        source,
    })?;
    let bad = |line: usize, why: &str| SupervisorError::BadStatus {
        path: path.clone(),
        line,
        why: why.to_owned(),
    };
    let mut lines = text.lines();
    let header = lines.next().ok_or_else(|| bad(1, "empty file"))?;
    let field = |key: &str| {
        header
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let pid: u32 = field("pid")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| bad(1, "no pid= in the header"))?;
    // SAFETY: kill with signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    let mut consoles = Vec::new();
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, state, address, channel, clients, writer, detail] = f[..] else {
            return Err(bad(i + 2, "expected 7 tab-separated fields"));
        };
        consoles.push(ConsoleLine {
            name: name.into(),
            state: state.into(),
            address: address.into(),
            channel: channel.into(),
            clients: clients
                .parse()
                .map_err(|_| bad(i + 2, "clients is not a number"))?,
            writer: writer.into(),
            detail: detail.into(),
        });
    }
    Ok(StatusReport {
        pid,
        alive,
        registry: field("registry").unwrap_or_default(),
        updated: field("updated").unwrap_or_default(),
        consoles,
    })
}

/// The path of `dir`'s status file.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(STATUS_FILE)
}
