//! [`SshTransport`]: autotest-core's `Transport` for one machine over one shared SSH connection.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use autotest_core::transport::{
    CommandSpec, ExecResult, OutputSender, StdinStream, Transport, TransportError,
};
use tokio::sync::Mutex;

use crate::connection::{self, Connection, OpenChannel, OpenError};
use crate::errors::{self, clone_error};
use crate::exec::{self, Finished, Output, Run, Stdin};
use crate::options::{SshOptions, SshTarget};
use crate::transfer::{self, Runner};

/// A machine reached over SSH. Cheap to create (nothing happens on the network until the first
/// command); share it (`Arc`) so that concurrent users share its one connection, as
/// [`SshPool`](crate::SshPool) does.
///
/// - The connection opens on first use and is re-opened by the next command after it dropped;
///   a command running when it dropped ends as `ExitOutcome::Unknown("connection lost")`.
/// - At most [`SshOptions::max_sessions`] commands run at once; the others wait their turn.
/// - A command's timeout kills its whole remote process group (see the crate docs).
pub struct SshTransport {
    machine: String,
    target: SshTarget,
    options: SshOptions,
    state: Mutex<State>,
    /// Connect attempts that failed so far (lets callers queued behind a failing attempt share
    /// its error instead of each waiting out its own timeout).
    failures: AtomicU64,
}

#[derive(Default)]
struct State {
    conn: Option<Arc<Connection>>,
    connects: u64,
    opened: u64,
    last_failure: Option<TransportError>,
}

impl fmt::Debug for SshTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshTransport")
            .field("machine", &self.machine)
            .field("target", &self.target.to_string())
            .finish_non_exhaustive()
    }
}

impl SshTransport {
    /// A transport for `machine` (`[user@]host[:port]`); no connection is made yet. Fails only
    /// on a malformed machine name.
    pub fn new(machine: &str, options: SshOptions) -> Result<SshTransport, TransportError> {
        let target =
            SshTarget::parse(machine, &options).map_err(|why| TransportError::Connect {
                machine: machine.to_owned(),
                reason: format!("bad machine name: {why}; write it as [user@]host[:port]"),
            })?;
        Ok(SshTransport {
            machine: machine.to_owned(),
            target,
            options,
            state: Mutex::new(State::default()),
            failures: AtomicU64::new(0),
        })
    }

    /// Where this transport connects, and as whom.
    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    /// The options it was made with.
    pub fn options(&self) -> &SshOptions {
        &self.options
    }

    /// Connects now (if not connected yet), to report an unreachable machine, a refused host key
    /// or failed authentication before any command.
    pub async fn connect(&self) -> Result<(), TransportError> {
        self.connection().await.map(drop)
    }

    /// True while a connection is open (it may still turn out dead at the next command).
    pub async fn is_connected(&self) -> bool {
        matches!(&self.state.lock().await.conn, Some(c) if !c.is_closed())
    }

    /// How many connections were opened so far (1 unless it had to reconnect).
    pub async fn connections_opened(&self) -> u64 {
        self.state.lock().await.opened
    }

    /// Closes the connection politely; commands still running on it end as unknown. The next
    /// command connects again.
    pub async fn disconnect(&self) {
        let conn = self.state.lock().await.conn.take();
        if let Some(c) = conn {
            c.disconnect().await;
        }
    }

    /// The open connection, or a new one.
    async fn connection(&self) -> Result<Arc<Connection>, TransportError> {
        let failures_seen = self.failures.load(Ordering::Acquire);
        let mut st = self.state.lock().await;
        if let Some(c) = &st.conn {
            if !c.is_closed() {
                return Ok(Arc::clone(c));
            }
            tracing::info!(machine = %self.machine, "ssh connection dropped; reconnecting");
            st.conn = None;
        }
        if self.failures.load(Ordering::Acquire) != failures_seen {
            if let Some(e) = &st.last_failure {
                return Err(clone_error(e));
            }
        }
        st.connects += 1;
        let id = st.connects;
        match connection::connect(&self.machine, &self.target, &self.options, id).await {
            Ok(c) => {
                let c = Arc::new(c);
                st.conn = Some(Arc::clone(&c));
                st.opened += 1;
                st.last_failure = None;
                Ok(c)
            }
            Err(e) => {
                st.last_failure = Some(clone_error(&e));
                self.failures.fetch_add(1, Ordering::AcqRel);
                Err(e)
            }
        }
    }

    /// Drops `conn` if it is still the current connection.
    async fn forget(&self, conn: &Arc<Connection>) {
        let mut st = self.state.lock().await;
        if st.conn.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            st.conn = None;
        }
    }

    /// A session channel; a dead connection is replaced once (nothing ran on it yet).
    async fn open_channel(&self) -> Result<OpenChannel, TransportError> {
        let mut last = String::new();
        for _ in 0..2 {
            let conn = self.connection().await?;
            match conn.open_channel().await {
                Ok(ch) => return Ok(ch),
                Err(OpenError::Dead(why)) => {
                    tracing::info!(machine = %self.machine, conn = conn.id, %why, "ssh connection unusable; reconnecting");
                    self.forget(&conn).await;
                    last = why;
                }
                Err(OpenError::Refused(why)) => {
                    return Err(TransportError::Io {
                        machine: self.machine.clone(),
                        what: "open a session channel".to_owned(),
                        reason: why,
                    });
                }
            }
        }
        Err(TransportError::Connect {
            machine: self.machine.clone(),
            reason: format!(
                "the connection dropped again right after reconnecting ({last}); check the \
                 network and sshd's log on the machine"
            ),
        })
    }

    /// Runs a command line (already quoted) on a new channel.
    async fn run_command(&self, run: Run) -> Result<Finished, TransportError> {
        let open = self.open_channel().await?;
        exec::run(open, run, &self.machine).await
    }

    /// Runs `cmd` (its argument vector quoted into one command line) with this stdin.
    async fn exec_spec(
        &self,
        cmd: &CommandSpec,
        stdin: Stdin,
        output: Option<OutputSender>,
    ) -> Result<ExecResult, TransportError> {
        if cmd.argv.is_empty() {
            return Err(errors::io_error(&self.machine, "exec", "empty command"));
        }
        let what = errors::short(&autotest_core::transport::quote_argv(&cmd.argv));
        let output = output.map_or(Output::Capture, Output::Stream);
        let done = self
            .run_command(Run {
                command: cmd.to_shell(),
                what,
                stdin,
                output,
                timeout: cmd.timeout,
            })
            .await?;
        Ok(ExecResult {
            outcome: done.outcome,
            stdout: done.stdout,
            stderr: done.stderr,
        })
    }
}

/// The transfers (`put_file` and the others) run their helper commands through this.
#[async_trait]
impl Runner for SshTransport {
    fn machine_name(&self) -> &str {
        &self.machine
    }

    async fn run(&self, run: Run) -> Result<Finished, TransportError> {
        self.run_command(run).await
    }
}

#[async_trait]
impl Transport for SshTransport {
    fn machine(&self) -> &str {
        &self.machine
    }

    async fn exec(
        &self,
        cmd: &CommandSpec,
        output: Option<OutputSender>,
    ) -> Result<ExecResult, TransportError> {
        let stdin = cmd.stdin.clone().map_or(Stdin::Empty, Stdin::Bytes);
        self.exec_spec(cmd, stdin, output).await
    }

    async fn exec_stdin_stream(
        &self,
        cmd: &CommandSpec,
        stdin: StdinStream,
        output: Option<OutputSender>,
    ) -> Result<ExecResult, TransportError> {
        self.exec_spec(cmd, Stdin::Reader(stdin), output).await
    }

    async fn put_file(&self, local: &Path, remote: &str) -> Result<(), TransportError> {
        transfer::put_file(self, local, remote).await
    }

    async fn get_file(&self, remote: &str, local: &Path) -> Result<(), TransportError> {
        transfer::get_file(self, remote, local).await
    }

    async fn put_tree(&self, local: &Path, remote: &str) -> Result<(), TransportError> {
        transfer::put_tree(self, local, remote).await
    }

    async fn get_tree(&self, remote: &str, local: &Path) -> Result<(), TransportError> {
        transfer::get_tree(self, remote, local).await
    }
}
