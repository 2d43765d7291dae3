//! The drone line protocol (version [`PROTOCOL_VERSION`]): one JSON object per line, requests
//! from the scheduler on the agent's stdin, replies and pushed events on its stdout. Every
//! request carries an `id` that its one reply repeats; events (`pidfile`, `exited`,
//! `heartbeat`) come whenever they happen, between replies. A line that is not a request gets an
//! `error` reply with `id: null`: the agent never dies of bad input.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::pidfile::{PidfileState, ProcessExit};

/// Bumped whenever a message changes shape; `hello` refuses any other.
pub const PROTOCOL_VERSION: u32 = 1;

/// A request line: `{"id": 7, "op": "launch", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Echoed in the reply.
    pub id: u64,
    /// What to do.
    #[serde(flatten)]
    pub op: Op,
}

/// The operations of the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// The first request: the agent answers with its build id, or an error for another version.
    Hello {
        /// The scheduler's protocol version.
        version: u32,
    },
    /// Starts `autotest autoserv` for one job: the control file is written into `results_dir`
    /// (created) as `control` (client) or `control.srv` (server).
    Launch {
        /// The absolute results directory on the drone.
        results_dir: PathBuf,
        /// The control file's contents.
        control: String,
        /// The job's machines.
        machines: Vec<String>,
        /// A server control file.
        #[serde(default)]
        server: bool,
        /// Console server (`--conmux`).
        #[serde(default)]
        conmux: Option<String>,
    },
    /// Signals the process group led by `pid` (`TERM` unless `signal` says `KILL`).
    Kill {
        /// The group leader (autoserv's pid).
        pid: u32,
        /// `TERM` (default) or `KILL`.
        #[serde(default)]
        signal: Option<String>,
    },
    /// Watches a results directory's pidfile (re-attach after a reconnect); the reply gives
    /// its state now and the autoserv pids running for it.
    Watch {
        /// The results directory.
        results_dir: PathBuf,
    },
    /// Every watched results directory with its last pidfile state.
    List,
    /// Free space of the file system holding `path`.
    FreeDisk {
        /// Any path on the file system.
        path: PathBuf,
    },
    /// Every file of a results tree with its size (what a copy is verified against).
    Manifest {
        /// The results directory.
        results_dir: PathBuf,
    },
    /// Removes a results tree (after its copy was verified) and stops watching it.
    Remove {
        /// The results directory.
        results_dir: PathBuf,
    },
    /// Answered at once (liveness).
    Ping,
}

/// What the agent writes: `{"type": "reply", ...}`, `{"type": "error", ...}` or an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// A request succeeded.
    Reply {
        /// The request's id.
        id: u64,
        /// Its result.
        result: Reply,
    },
    /// A request failed (or a line was not a request: `id` is null).
    Error {
        /// The request's id, when it could be read.
        id: Option<u64>,
        /// What failed and what to do.
        message: String,
    },
    /// A watched pidfile changed.
    Pidfile {
        /// The results directory.
        results_dir: PathBuf,
        /// Its new state (`None`: no pidfile yet).
        state: Option<PidfileState>,
    },
    /// An autoserv the agent started exited.
    Exited {
        /// The results directory.
        results_dir: PathBuf,
        /// Its pid.
        pid: u32,
        /// How it ended, when known.
        exit: Option<ProcessExit>,
    },
    /// The agent is alive (sent on its timer, whether or not anything happened).
    Heartbeat {
        /// Counts up from 1.
        seq: u64,
    },
}

/// The result of a successful request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    /// `hello`.
    Hello {
        /// The agent's protocol version.
        version: u32,
        /// The agent binary's build id (the scheduler reinstalls a different one).
        build_id: String,
    },
    /// `launch`.
    Launched {
        /// autoserv's pid (its process group).
        pid: u32,
        /// The command line it runs (also in `debug/autoserv.cmd`).
        command_line: String,
    },
    /// `watch`.
    Watched {
        /// The pidfile's state now.
        state: Option<PidfileState>,
        /// autoserv processes running for the directory.
        pids: Vec<u32>,
    },
    /// `list`.
    Listed {
        /// The watched directories.
        watched: Vec<WatchedDir>,
    },
    /// `free_disk`.
    Disk {
        /// Bytes available to unprivileged users.
        free_bytes: u64,
        /// Size of the file system.
        total_bytes: u64,
    },
    /// `manifest`.
    Manifest {
        /// Relative path and size of every regular file, sorted by path.
        files: Vec<(String, u64)>,
    },
    /// `kill`, `remove`, `ping`.
    Done {},
}

/// One watched results directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedDir {
    /// The directory.
    pub results_dir: PathBuf,
    /// Its last pidfile state.
    pub state: Option<PidfileState>,
}

/// Parses one request line; the error names the line and what a request looks like.
pub fn parse_request(line_no: u64, line: &str) -> Result<Request, Message> {
    serde_json::from_str::<Request>(line).map_err(|e| {
        // The id, when the line is JSON with one, so that the scheduler's waiter gets its error.
        let id = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("id").and_then(serde_json::Value::as_u64));
        Message::Error {
            id,
            message: format!(
                "request line {line_no}: {e}; a request is one JSON object per line like \
                 {{\"id\": 1, \"op\": \"ping\"}} (protocol version {PROTOCOL_VERSION})"
            ),
        }
    })
}

/// Parses one line of the agent's output.
pub fn parse_message(line: &str) -> Result<Message, serde_json::Error> {
    serde_json::from_str(line)
}

/// One message as a line (no newline).
pub fn to_line<T: Serialize>(value: &T) -> String {
    // Serializing these types cannot fail: no maps with non-string keys, no foreign types.
    serde_json::to_string(value).unwrap_or_else(|e| {
        format!("{{\"type\":\"error\",\"id\":null,\"message\":\"cannot encode a message: {e}\"}}")
    })
}
