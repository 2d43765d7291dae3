//! A command started with a live stdin: the caller writes to it while the command runs (an
//! interactive program, a console attached to a command) and reads its output as it comes.
//!
//! Built once on top of [`Transport::exec_stdin_stream`], so both transports behave the same:
//! closing stdin sends end of file; dropping the handle (or [`Spawned::kill`]) abandons the
//! command, which kills its whole process group on the machine.

use std::sync::Arc;

use tokio::io::{AsyncWrite, DuplexStream};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

use super::{CommandSpec, ExecResult, OutputStream, Transport, TransportError};

/// How much written stdin may wait unread before writes wait for the command.
const STDIN_BUFFER: usize = 64 * 1024;

/// A running command; see the module docs.
#[derive(Debug)]
pub struct Spawned {
    stdin: Option<DuplexStream>,
    output: UnboundedReceiver<(OutputStream, Vec<u8>)>,
    task: Option<JoinHandle<Result<ExecResult, TransportError>>>,
    machine: String,
}

impl Spawned {
    /// Starts `cmd` on `transport` (the [`Transport::spawn`] default). Must be called inside a
    /// tokio runtime.
    pub(super) fn start<T: Transport + ?Sized>(transport: Arc<T>, cmd: CommandSpec) -> Spawned {
        let (writer, reader) = tokio::io::duplex(STDIN_BUFFER);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let machine = transport.machine().to_owned();
        let task = tokio::spawn(async move {
            transport
                .exec_stdin_stream(&cmd, Box::new(reader), Some(tx))
                .await
        });
        Spawned {
            stdin: Some(writer),
            output: rx,
            task: Some(task),
            machine,
        }
    }

    /// The command's stdin, until it is closed. Writes wait while the command is not reading.
    pub fn stdin(&mut self) -> Option<&mut (dyn AsyncWrite + Send + Unpin)> {
        self.stdin
            .as_mut()
            .map(|s| s as &mut (dyn AsyncWrite + Send + Unpin))
    }

    /// Closes stdin: the command reads end of file once it has read what was written.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next chunk of output (stdout or stderr, in arrival order per stream); `None` once
    /// the command has ended and everything was read.
    pub async fn recv(&mut self) -> Option<(OutputStream, Vec<u8>)> {
        self.output.recv().await
    }

    /// Closes stdin, waits for the command to end and returns how it ended. Output not read
    /// with [`recv`](Spawned::recv) yet is dropped.
    pub async fn wait(mut self) -> Result<ExecResult, TransportError> {
        self.stdin = None;
        let task = self.task.take().expect("task present until wait or drop");
        // Keep draining so an unread backlog never holds memory while we wait.
        let mut output =
            std::mem::replace(&mut self.output, tokio::sync::mpsc::unbounded_channel().1);
        let drain = tokio::spawn(async move { while output.recv().await.is_some() {} });
        let r = task.await.unwrap_or_else(|e| {
            Err(TransportError::Io {
                machine: self.machine.clone(),
                what: "spawned command".into(),
                reason: format!("the task running it failed: {e}"),
            })
        });
        drain.abort();
        r
    }

    /// Stops the command now: its process group on the machine is killed.
    pub fn kill(&mut self) {
        self.stdin = None;
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}
