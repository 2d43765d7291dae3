//! One command on one session channel: exec, stdin then EOF, stdout/stderr streamed or
//! captured, the exit status (code, signal, or unknown), a timeout that kills the remote process
//! group.
//!
//! Killing: the command line is prefixed by a marker that prints the login shell's pid on stderr
//! (see [`marker`]); that shell `exec`s the command, and sshd made it the leader of a new
//! session and process group. On a timeout, or when the caller drops the future before the
//! command ended, a second short command on the same connection runs
//! `kill -9 -<pgid>; pkill -9 -s <sid>`, which takes the whole tree the command started
//! (background jobs included; only a process that made itself a new session escapes the first
//! and is caught by the second where `pkill` exists).

mod guard;
mod kill;
mod marker;

use std::time::Duration;

use autotest_core::transport::{ExitOutcome, OutputSender, OutputStream, TransportError};
use russh::client::Msg;
use russh::{ChannelMsg, ChannelWriteHalf, Sig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::connection::OpenChannel;

/// What the command reads.
pub(crate) enum Stdin {
    /// Nothing: stdin is closed at once.
    Empty,
    /// These bytes, then end of file.
    Bytes(Vec<u8>),
    /// Everything this reader yields, then end of file. A read error aborts the command.
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

/// Where the output goes.
pub(crate) enum Output {
    /// Both streams captured into the result.
    Capture,
    /// Both streams sent as chunks to the sender.
    Stream(OutputSender),
    /// Stdout written to this writer (flushed and shut down at the end); stderr captured.
    StdoutTo(Box<dyn AsyncWrite + Send + Unpin>),
}

/// A command to run.
pub(crate) struct Run {
    /// The remote command line (already quoted).
    pub(crate) command: String,
    /// A short description for errors.
    pub(crate) what: String,
    /// Its stdin.
    pub(crate) stdin: Stdin,
    /// Its output.
    pub(crate) output: Output,
    /// Kill it and fail with [`TransportError::Timeout`] after this long.
    pub(crate) timeout: Option<Duration>,
}

/// A command that ended.
pub(crate) struct Finished {
    /// How.
    pub(crate) outcome: ExitOutcome,
    /// Captured stdout (empty unless [`Output::Capture`]).
    pub(crate) stdout: Vec<u8>,
    /// Captured stderr (empty with [`Output::Stream`]).
    pub(crate) stderr: Vec<u8>,
}

/// How the read loop ended.
enum End {
    Closed,
    Lost,
    TimedOut,
    Refused,
    Local(String),
}

/// Runs `run` on the opened channel. `machine` names the machine in errors.
pub(crate) async fn run(
    open: OpenChannel,
    run: Run,
    machine: &str,
) -> Result<Finished, TransportError> {
    let OpenChannel {
        conn,
        channel,
        permit,
    } = open;
    let io_err = |what: &str, reason: String| TransportError::Io {
        machine: machine.to_owned(),
        what: what.to_owned(),
        reason,
    };
    let (rd, wr) = channel.split();
    wr.exec(true, marker::wrap(&run.command).into_bytes())
        .await
        .map_err(|e| io_err(&run.what, format!("cannot start the command: {e}")))?;
    let mut reader = guard::Reader::new(conn, machine, rd);
    let mut sink = Sink::new(run.output);
    let stdin_is_reader = matches!(run.stdin, Stdin::Reader(_));
    let feed = feed_stdin(&wr, run.stdin);
    tokio::pin!(feed);
    let mut feeding = true;
    let deadline = run.timeout.map(|t| tokio::time::Instant::now() + t);
    let expiry = async move {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expiry);
    let mut status: Option<ExitOutcome> = None;
    let mut saw_eof = false;
    let end = loop {
        tokio::select! {
            msg = reader.wait() => match msg {
                Some(ChannelMsg::Data { data }) => {
                    if let Err(e) = sink.stdout(&data).await {
                        break End::Local(e);
                    }
                }
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                    let pass = reader.stderr(&data);
                    sink.stderr(&pass);
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    status = Some(ExitOutcome::Code(exit_status as i32));
                }
                Some(ChannelMsg::ExitSignal { signal_name, core_dumped, error_message, .. }) => {
                    tracing::debug!(machine, signal = ?signal_name, core_dumped, %error_message, "remote command killed");
                    status = Some(ExitOutcome::Signal(sig_name(&signal_name)));
                }
                Some(ChannelMsg::Eof) => saw_eof = true,
                Some(ChannelMsg::Close) => break End::Closed,
                Some(ChannelMsg::Failure) => break End::Refused,
                Some(_) => {}
                None => break End::Lost,
            },
            fed = &mut feed, if feeding => {
                feeding = false;
                if let Err(e) = fed {
                    if stdin_is_reader && e.local {
                        break End::Local(e.reason);
                    }
                    tracing::debug!(machine, reason = %e.reason, "remote stdin closed early");
                }
            }
            () = &mut expiry => break End::TimedOut,
        }
    };
    sink.stderr(&reader.finish_stderr());
    if matches!(end, End::Closed | End::Lost | End::Refused) {
        // The command is over (or never ran): its pid must not be killed later.
        reader.disarm();
    }
    let (stdout, stderr) = match &end {
        End::Local(_) | End::TimedOut | End::Refused => (Vec::new(), Vec::new()),
        _ => sink.finish().await.map_err(|e| io_err(&run.what, e))?,
    };
    match end {
        End::Closed => {
            let outcome = status.unwrap_or_else(|| {
                ExitOutcome::Unknown("the channel closed without an exit status".to_owned())
            });
            Ok(Finished {
                outcome,
                stdout,
                stderr,
            })
        }
        End::Lost => {
            let outcome = match status {
                Some(s) if saw_eof => s,
                Some(s) => ExitOutcome::Unknown(format!(
                    "connection lost before all output arrived (the command ended with {s})"
                )),
                None => ExitOutcome::Unknown("connection lost".to_owned()),
            };
            Ok(Finished {
                outcome,
                stdout,
                stderr,
            })
        }
        End::Refused => Err(io_err(
            &run.what,
            "the server refused to run the command".to_owned(),
        )),
        End::TimedOut | End::Local(_) => {
            // Stop the channel, then kill what runs under it; the permit is held until then.
            let _ = wr.close().await;
            reader.kill(&run.what).await;
            drop(permit);
            Err(match end {
                End::Local(reason) => io_err(&run.what, reason),
                _ => TransportError::Timeout {
                    machine: machine.to_owned(),
                    what: run.what,
                    secs: run.timeout.map(|t| t.as_secs()).unwrap_or_default(),
                },
            })
        }
    }
}

/// A failed stdin feed: `local` when our side (the reader) failed.
struct FeedError {
    local: bool,
    reason: String,
}

/// Writes stdin, then EOF.
async fn feed_stdin(wr: &ChannelWriteHalf<Msg>, stdin: Stdin) -> Result<(), FeedError> {
    let remote = |e: russh::Error| FeedError {
        local: false,
        reason: e.to_string(),
    };
    match stdin {
        Stdin::Empty => {}
        Stdin::Bytes(b) => {
            if !b.is_empty() {
                wr.data_bytes(b).await.map_err(remote)?;
            }
        }
        Stdin::Reader(mut r) => {
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = r.read(&mut buf).await.map_err(|e| FeedError {
                    local: true,
                    reason: format!("reading the data to send failed: {e}"),
                })?;
                if n == 0 {
                    break;
                }
                wr.data_bytes(buf[..n].to_vec()).await.map_err(remote)?;
            }
        }
    }
    wr.eof().await.map_err(remote)
}

/// Where output goes, with the captured bytes.
struct Sink {
    output: Output,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Sink {
    fn new(output: Output) -> Self {
        Sink {
            output,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    async fn stdout(&mut self, data: &[u8]) -> Result<(), String> {
        match &mut self.output {
            Output::Capture => self.stdout.extend_from_slice(data),
            Output::Stream(tx) => {
                let _ = tx.send((OutputStream::Stdout, data.to_vec()));
            }
            Output::StdoutTo(w) => w
                .write_all(data)
                .await
                .map_err(|e| format!("writing the received data failed: {e}"))?,
        }
        Ok(())
    }

    fn stderr(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        match &self.output {
            Output::Stream(tx) => {
                let _ = tx.send((OutputStream::Stderr, data.to_vec()));
            }
            Output::Capture | Output::StdoutTo(_) => self.stderr.extend_from_slice(data),
        }
    }

    async fn finish(self) -> Result<(Vec<u8>, Vec<u8>), String> {
        if let Output::StdoutTo(mut w) = self.output {
            w.flush()
                .await
                .map_err(|e| format!("writing the received data failed: {e}"))?;
            w.shutdown()
                .await
                .map_err(|e| format!("closing the received data failed: {e}"))?;
        }
        Ok((self.stdout, self.stderr))
    }
}

/// A signal's name without `SIG` (`KILL`, `TERM`, ...).
fn sig_name(sig: &Sig) -> String {
    match sig {
        Sig::Custom(name) => name.clone(),
        other => format!("{other:?}"),
    }
}
