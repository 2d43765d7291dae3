//! The drone agent (`autotest drone`): serves the line protocol on one reader and one writer
//! (the SSH exec channel's stdin and stdout). It starts autoservs in their own process groups,
//! so they outlive the agent and its connection; a new agent re-attaches to them with `watch`.
//! One timer drives everything periodic: each tick reads the watched pidfiles that have not
//! finished and pushes the ones that changed, and every `heartbeat` a heartbeat.

use std::collections::BTreeMap;
use std::hash::Hasher;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::DroneError;
use super::protocol::{
    Message, Op, PROTOCOL_VERSION, Reply, Request, WatchedDir, parse_request, to_line,
};
use crate::autoserv::{AutoservLauncher, LaunchRequest, LocalProcessLauncher};
use crate::pidfile::PidfileState;
use crate::results::JobResults;

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The `autotest` binary autoserv is started as (`<autotest> autoserv ...`).
    pub autotest: PathBuf,
    /// This build's id, given in `hello`.
    pub build_id: String,
    /// How often watched pidfiles are read.
    pub tick: Duration,
    /// How often a heartbeat is pushed.
    pub heartbeat: Duration,
}

impl AgentConfig {
    /// The agent of the binary at `autotest`: pidfiles read every 250 ms, a heartbeat every 5 s
    /// (the scheduler marks a drone down after missing them for far longer).
    pub fn new(autotest: impl Into<PathBuf>) -> Result<AgentConfig, DroneError> {
        let autotest = autotest.into();
        let build_id = build_id(&autotest)?;
        Ok(AgentConfig {
            autotest,
            build_id,
            tick: Duration::from_millis(250),
            heartbeat: Duration::from_secs(5),
        })
    }
}

/// The build id of a binary: a hash of its bytes and its length. The scheduler compares its
/// own with the agent's `hello` and reinstalls a drone's binary when they differ.
pub fn build_id(binary: &Path) -> Result<String, DroneError> {
    let io = |source| DroneError::Io {
        what: format!("read the binary {}", binary.display()),
        source,
    };
    let mut file = std::fs::File::open(binary).map_err(io)?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.write(&buf[..n]);
        len += n as u64;
    }
    Ok(format!("{:016x}-{len}", h.finish()))
}

struct Agent {
    config: AgentConfig,
    launcher: LocalProcessLauncher,
    /// Watched results directories and the last state pushed; finished ones are not re-read.
    watched: BTreeMap<PathBuf, Option<PidfileState>>,
    exited: mpsc::UnboundedSender<Message>,
}

/// Serves requests from `input` until it ends (the connection closed); autoservs it started keep
/// running. Fails only when `output` cannot be written.
pub async fn run_agent<R, W>(config: AgentConfig, input: R, mut output: W) -> Result<(), DroneError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (exited_tx, mut exited_rx) = mpsc::unbounded_channel();
    let mut agent = Agent {
        launcher: LocalProcessLauncher::autotest(&config.autotest),
        config,
        watched: BTreeMap::new(),
        exited: exited_tx,
    };
    let mut lines = input.lines();
    let mut line_no = 0u64;
    let mut tick = tokio::time::interval(agent.config.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_beat = Instant::now();
    let mut seq = 0u64;
    loop {
        let out: Vec<Message> = tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => {
                    line_no += 1;
                    if line.trim().is_empty() {
                        continue;
                    }
                    vec![match parse_request(line_no, &line) {
                        Ok(req) => agent.handle(req).await,
                        Err(e) => e,
                    }]
                }
                // End of input, or input that is not text: the connection is gone.
                Ok(None) | Err(_) => break,
            },
            Some(m) = exited_rx.recv() => vec![m],
            _ = tick.tick() => {
                let mut out = agent.poll_pidfiles();
                if last_beat.elapsed() >= agent.config.heartbeat {
                    last_beat = Instant::now();
                    seq += 1;
                    out.push(Message::Heartbeat { seq });
                }
                out
            }
        };
        for m in out {
            let mut line = to_line(&m);
            line.push('\n');
            output
                .write_all(line.as_bytes())
                .await
                .map_err(|source| DroneError::Io {
                    what: "write to the scheduler".into(),
                    source,
                })?;
        }
        output.flush().await.map_err(|source| DroneError::Io {
            what: "write to the scheduler".into(),
            source,
        })?;
    }
    Ok(())
}

fn is_final(state: &Option<PidfileState>) -> bool {
    matches!(
        state,
        Some(
            PidfileState::Finished { .. }
                | PidfileState::Lost { .. }
                | PidfileState::Corrupt { .. }
        )
    )
}

fn read_state(dir: &Path) -> Option<PidfileState> {
    JobResults::new(dir)
        .autoserv_pidfile()
        .read_checked()
        .unwrap_or_else(|e| {
            Some(PidfileState::Corrupt {
                reason: e.to_string(),
            })
        })
}

impl Agent {
    fn poll_pidfiles(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        for (dir, last) in self.watched.iter_mut() {
            if is_final(last) {
                continue;
            }
            let now = read_state(dir);
            // A pidfile being written is read again next tick rather than pushed half done.
            if now != *last && !matches!(now, Some(PidfileState::BeingWritten { .. })) {
                *last = now.clone();
                out.push(Message::Pidfile {
                    results_dir: dir.clone(),
                    state: now,
                });
            }
        }
        out
    }

    async fn handle(&mut self, req: Request) -> Message {
        let id = req.id;
        match self.run(req.op).await {
            Ok(result) => Message::Reply { id, result },
            Err(message) => Message::Error {
                id: Some(id),
                message,
            },
        }
    }

    async fn run(&mut self, op: Op) -> Result<Reply, String> {
        match op {
            Op::Hello { version } if version == PROTOCOL_VERSION => Ok(Reply::Hello {
                version: PROTOCOL_VERSION,
                build_id: self.config.build_id.clone(),
            }),
            Op::Hello { version } => Err(format!(
                "protocol version {version} is not this agent's {PROTOCOL_VERSION}: install the \
                 scheduler's build of autotest on the drone"
            )),
            Op::Ping => Ok(Reply::Done {}),
            Op::Launch {
                results_dir,
                control,
                machines,
                server,
                conmux,
            } => {
                absolute(&results_dir)?;
                std::fs::create_dir_all(&results_dir)
                    .map_err(|e| format!("cannot create {}: {e}", results_dir.display()))?;
                let control_path = results_dir.join(if server { "control.srv" } else { "control" });
                std::fs::write(&control_path, control)
                    .map_err(|e| format!("cannot write {}: {e}", control_path.display()))?;
                let request = LaunchRequest {
                    machines,
                    results: JobResults::new(&results_dir),
                    control: control_path,
                    server,
                    conmux,
                    task: None,
                };
                let command_line = self.launcher.command_line(&request);
                let mut child = self
                    .launcher
                    .start(&request)
                    .await
                    .map_err(|e| e.to_string())?;
                let pid = child.pid().ok_or_else(|| {
                    format!("autoserv for {} ended at once", results_dir.display())
                })?;
                self.watched.insert(results_dir.clone(), None);
                let exited = self.exited.clone();
                tokio::spawn(async move {
                    let exit = child.wait().await;
                    let _ = exited.send(Message::Exited {
                        results_dir,
                        pid,
                        exit,
                    });
                });
                Ok(Reply::Launched { pid, command_line })
            }
            Op::Kill { pid, signal } => {
                let sig = match signal.as_deref() {
                    None | Some("TERM") => libc::SIGTERM,
                    Some("KILL") => libc::SIGKILL,
                    Some(other) => {
                        return Err(format!("signal {other:?} is not TERM or KILL"));
                    }
                };
                let group = libc::pid_t::try_from(pid)
                    .ok()
                    .filter(|p| *p > 1)
                    .ok_or_else(|| format!("pid {pid} cannot lead an autoserv process group"))?;
                // SAFETY: kill with a negative pid signals that process group only.
                if unsafe { libc::kill(-group, sig) } != 0 {
                    let e = std::io::Error::last_os_error();
                    return Err(format!("cannot signal process group {pid}: {e}"));
                }
                Ok(Reply::Done {})
            }
            Op::Watch { results_dir } => {
                absolute(&results_dir)?;
                let state = read_state(&results_dir);
                let pids = self
                    .launcher
                    .running_for(&JobResults::new(&results_dir))
                    .await;
                self.watched.insert(results_dir, state.clone());
                Ok(Reply::Watched { state, pids })
            }
            Op::List => Ok(Reply::Listed {
                watched: self
                    .watched
                    .iter()
                    .map(|(d, s)| WatchedDir {
                        results_dir: d.clone(),
                        state: s.clone(),
                    })
                    .collect(),
            }),
            Op::FreeDisk { path } => free_disk(&path),
            Op::Manifest { results_dir } => {
                absolute(&results_dir)?;
                tokio::task::spawn_blocking(move || manifest(&results_dir))
                    .await
                    .map_err(|e| format!("manifest: {e}"))?
                    .map(|files| Reply::Manifest { files })
            }
            Op::Remove { results_dir } => {
                absolute(&results_dir)?;
                // Only a results tree whose autoserv has ended: never a running job's, never a
                // directory that is not a results tree.
                match read_state(&results_dir) {
                    Some(PidfileState::Finished { .. } | PidfileState::Lost { .. }) => {}
                    other => {
                        return Err(format!(
                            "{} is not the results of an ended autoserv (pidfile: {other:?}); \
                             not removed",
                            results_dir.display()
                        ));
                    }
                }
                std::fs::remove_dir_all(&results_dir)
                    .map_err(|e| format!("cannot remove {}: {e}", results_dir.display()))?;
                self.watched.remove(&results_dir);
                Ok(Reply::Done {})
            }
        }
    }
}

fn absolute(dir: &Path) -> Result<(), String> {
    if dir.is_absolute() {
        Ok(())
    } else {
        Err(format!(
            "{} is not an absolute path: give results directories from /",
            dir.display()
        ))
    }
}

fn free_disk(path: &Path) -> Result<Reply, String> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("{} holds a NUL byte", path.display()))?;
    // SAFETY: statvfs fills the zeroed struct from a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "cannot read the free space of {}: {e}",
            path.display()
        ));
    }
    let frsize = st.f_frsize as u64;
    Ok(Reply::Disk {
        free_bytes: st.f_bavail as u64 * frsize,
        total_bytes: st.f_blocks as u64 * frsize,
    })
}

/// Every regular file under `root` with its size, relative paths sorted.
pub fn manifest(root: &Path) -> Result<Vec<(String, u64)>, String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u64)>) -> Result<(), String> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for e in entries {
            let e = e.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
            let path = e.path();
            let meta = std::fs::symlink_metadata(&path)
                .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
            if meta.is_dir() {
                walk(root, &path, out)?;
            } else if meta.is_file()
                && let Ok(rel) = path.strip_prefix(root)
            {
                out.push((rel.to_string_lossy().into_owned(), meta.len()));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort();
    Ok(out)
}
