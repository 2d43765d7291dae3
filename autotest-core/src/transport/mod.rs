//! `Transport`: the only way the core does I/O to a machine (DESIGN invariant 1).
//!
//! Two implementations: [`LocalTransport`] here (the machine `localhost`, no SSH) and the SSH one
//! in the `autotest-ssh` crate. Commands are argument vectors, quoted by the transport where a
//! shell is involved (invariant 4); an exit status is never assumed (invariant 3).

mod error;
mod local;
mod quote;
mod signal;
mod spawn;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncRead;
use tokio::sync::mpsc::UnboundedSender;

pub use error::TransportError;
pub use local::LocalTransport;
pub use quote::{quote_arg, quote_argv};
pub use signal::signal_name;
pub use spawn::Spawned;

/// How a command ended. Each outcome is its own case: a vanished process is not a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitOutcome {
    /// The command exited with this code.
    Code(i32),
    /// The command was killed by this signal: its name without `SIG` (`TERM`, `KILL`), as
    /// OpenSSH reports it; a signal without a name as its number.
    Signal(String),
    /// The channel or process ended without telling how (the reason says what was seen).
    Unknown(String),
}

impl ExitOutcome {
    /// The outcome for a process killed by signal number `n` (named as [`signal_name`]).
    pub fn from_signal_number(n: i32) -> Self {
        ExitOutcome::Signal(signal_name(n))
    }

    /// True only for `Code(0)`.
    pub fn success(&self) -> bool {
        matches!(self, ExitOutcome::Code(0))
    }
}

impl fmt::Display for ExitOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitOutcome::Code(c) => write!(f, "exit code {c}"),
            ExitOutcome::Signal(s) => write!(f, "killed by signal {s}"),
            ExitOutcome::Unknown(why) => write!(f, "unknown exit status ({why})"),
        }
    }
}

/// Which stream a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Where streamed output goes: chunks as they arrive (not split into lines).
pub type OutputSender = UnboundedSender<(OutputStream, Vec<u8>)>;

/// A live stdin: everything it yields goes to the command, then end of file.
pub type StdinStream = Box<dyn AsyncRead + Send + Unpin>;

/// A command to run on a machine.
#[derive(Debug, Clone, Default)]
pub struct CommandSpec {
    /// Program and arguments (never a shell string: the transport quotes).
    pub argv: Vec<String>,
    /// Bytes written to the command's stdin (then stdin is closed). None: empty stdin.
    pub stdin: Option<Vec<u8>>,
    /// Kill the command and return [`TransportError::Timeout`] after this long.
    pub timeout: Option<Duration>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Working directory on the machine.
    pub cwd: Option<String>,
}

impl CommandSpec {
    /// A command from its arguments.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CommandSpec {
            argv: argv.into_iter().map(Into::into).collect(),
            ..CommandSpec::default()
        }
    }

    /// Sets a timeout.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// Sets stdin.
    pub fn stdin(mut self, data: Vec<u8>) -> Self {
        self.stdin = Some(data);
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, dir: &str) -> Self {
        self.cwd = Some(dir.to_owned());
        self
    }

    /// The command as one POSIX shell string (`cd`, `env` and the quoted argv), for transports
    /// that carry a single command string such as SSH.
    pub fn to_shell(&self) -> String {
        let mut s = String::new();
        if let Some(dir) = &self.cwd {
            s.push_str("cd -- ");
            s.push_str(&quote_arg(dir));
            s.push_str(" && ");
        }
        s.push_str("exec ");
        if !self.env.is_empty() {
            s.push_str("env ");
            for (k, v) in &self.env {
                s.push_str(&quote_arg(&format!("{k}={v}")));
                s.push(' ');
            }
        }
        s.push_str(&quote_argv(&self.argv));
        s
    }
}

/// What a finished command left (output captured only when it was not streamed).
#[derive(Debug, Clone)]
pub struct ExecResult {
    /// How it ended.
    pub outcome: ExitOutcome,
    /// Captured stdout (empty when streamed).
    pub stdout: Vec<u8>,
    /// Captured stderr (empty when streamed).
    pub stderr: Vec<u8>,
}

impl ExecResult {
    /// Stdout as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr as text (lossy).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A machine the core can run commands on and move files to and from.
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug + 'static {
    /// The machine's name as given (`host`, `user@host:port`, `localhost`).
    fn machine(&self) -> &str;

    /// Runs a command. With `output`, stdout/stderr chunks are sent there as they arrive and the
    /// result holds no captured output; without, both are captured.
    async fn exec(
        &self,
        cmd: &CommandSpec,
        output: Option<OutputSender>,
    ) -> Result<ExecResult, TransportError>;

    /// Runs a command whose stdin is read from `stdin` while it runs (`cmd.stdin` is ignored);
    /// otherwise as [`exec`](Transport::exec). A read error on `stdin` stops the command.
    async fn exec_stdin_stream(
        &self,
        cmd: &CommandSpec,
        stdin: StdinStream,
        output: Option<OutputSender>,
    ) -> Result<ExecResult, TransportError>;

    /// Starts a command with a live stdin and returns at once; see [`Spawned`]. Needs a tokio
    /// runtime; a failure to start arrives from [`Spawned::wait`].
    fn spawn(self: Arc<Self>, cmd: CommandSpec) -> Spawned {
        Spawned::start(self, cmd)
    }

    /// Copies a local file to a path on the machine (parent directories are created).
    async fn put_file(&self, local: &Path, remote: &str) -> Result<(), TransportError>;

    /// Copies a file from the machine to a local path (parent directories are created).
    async fn get_file(&self, remote: &str, local: &Path) -> Result<(), TransportError>;

    /// Copies the contents of a local directory into a directory on the machine (created).
    async fn put_tree(&self, local: &Path, remote: &str) -> Result<(), TransportError>;

    /// Copies the contents of a directory on the machine into a local directory (created).
    async fn get_tree(&self, remote: &str, local: &Path) -> Result<(), TransportError>;

    /// Checks that the machine answers (a trivial command).
    async fn ping(&self) -> Result<(), TransportError> {
        let r = self.exec(&CommandSpec::new(["true"]), None).await?;
        if r.outcome.success() {
            Ok(())
        } else {
            Err(TransportError::Remote {
                machine: self.machine().to_owned(),
                what: "ping (true)".into(),
                stderr: r.stderr_text(),
                outcome: r.outcome,
            })
        }
    }
}

/// Opens transports by machine name (the CLI supplies one that knows SSH).
pub trait TransportFactory: Send + Sync {
    /// The transport for `machine`.
    fn open(&self, machine: &str) -> Result<Arc<dyn Transport>, TransportError>;
}

/// The factory for a server that reaches only itself: `localhost` (and `127.0.0.1`, `::1`) run
/// as local processes; any other machine is refused, naming the crate that reaches it.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalTransportFactory;

impl TransportFactory for LocalTransportFactory {
    fn open(&self, machine: &str) -> Result<Arc<dyn Transport>, TransportError> {
        if is_local_machine(machine) {
            return Ok(Arc::new(LocalTransport::new(machine)));
        }
        Err(TransportError::Connect {
            machine: machine.to_owned(),
            reason: "this transport factory runs only on localhost; reach other machines over SSH (autotest-ssh's SshTransportFactory, which autotest-server wires from global_config.ini)".to_owned(),
        })
    }
}

/// True for the names that mean "this machine, no SSH".
pub fn is_local_machine(machine: &str) -> bool {
    matches!(machine, "localhost" | "127.0.0.1" | "::1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_form_runs_with_env_and_cwd() {
        let cmd = CommandSpec::new(["sh", "-c", "echo \"$GREETING\" $(pwd)"])
            .env("GREETING", "hello world")
            .cwd("/");
        assert_eq!(
            cmd.to_shell(),
            "cd -- / && exec env 'GREETING=hello world' sh -c 'echo \"$GREETING\" $(pwd)'"
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd.to_shell())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello world /\n");
    }

    #[test]
    fn cwd_env_and_argv_reach_the_program_intact() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join("-odd dir 'x'");
        std::fs::create_dir(&cwd).unwrap();
        let cmd = CommandSpec::new([
            "sh",
            "-c",
            "pwd; printf '%s|' \"$A\" \"$B\" \"$1\"",
            "sh",
            "$x y",
        ])
        .cwd(cwd.to_str().unwrap())
        .env("A", "1 2")
        .env("B", "$(echo no)");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd.to_shell())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("{}\n1 2|$(echo no)|$x y|", cwd.display())
        );
    }
}
