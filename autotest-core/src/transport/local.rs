//! The local transport: `localhost` runs commands as child processes, no SSH.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::{
    CommandSpec, ExecResult, ExitOutcome, OutputSender, OutputStream, StdinStream, Transport,
    TransportError,
};

/// Runs commands on this machine. Each command gets its own process group, so a timeout kills
/// everything it started.
#[derive(Debug, Clone)]
pub struct LocalTransport {
    name: String,
}

impl LocalTransport {
    /// A local transport answering to `name` (usually `localhost`).
    pub fn new(name: &str) -> Self {
        LocalTransport {
            name: name.to_owned(),
        }
    }

    fn io(&self, what: &str, e: impl std::fmt::Display) -> TransportError {
        TransportError::Io {
            machine: self.name.clone(),
            what: what.to_owned(),
            reason: e.to_string(),
        }
    }
}

async fn pump<R: AsyncRead + Unpin>(
    mut r: R,
    stream: OutputStream,
    sink: Option<OutputSender>,
) -> std::io::Result<Vec<u8>> {
    let mut captured = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(captured);
        }
        match &sink {
            Some(tx) => {
                let _ = tx.send((stream, buf[..n].to_vec()));
            }
            None => captured.extend_from_slice(&buf[..n]),
        }
    }
}

fn outcome(status: std::process::ExitStatus) -> ExitOutcome {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => ExitOutcome::Code(c),
        (None, Some(s)) => ExitOutcome::from_signal_number(s),
        (None, None) => ExitOutcome::Unknown("no exit code and no signal".into()),
    }
}

/// What a local command reads.
enum Input {
    Closed,
    Bytes(Vec<u8>),
    Stream(StdinStream),
}

/// Kills a command's process group when the command is abandoned (its future dropped) before
/// it was reaped, so nothing it started outlives it.
struct GroupGuard(Option<u32>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pid) = self.0.take() {
            // SAFETY: kill(2) on the process group we created; no memory is touched.
            unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
        }
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

impl LocalTransport {
    async fn run(
        &self,
        cmd: &CommandSpec,
        input: Input,
        output: Option<OutputSender>,
    ) -> Result<ExecResult, TransportError> {
        let Some((prog, args)) = cmd.argv.split_first() else {
            return Err(self.io("exec", "empty command"));
        };
        let mut c = Command::new(prog);
        c.args(args)
            .stdin(if matches!(input, Input::Closed) {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        for (k, v) in &cmd.env {
            c.env(k, v);
        }
        if let Some(d) = &cmd.cwd {
            c.current_dir(d);
        }
        let mut child = c
            .spawn()
            .map_err(|e| self.io(&format!("start {prog}"), e))?;
        let mut group = GroupGuard(child.id());
        // A stdin reader that fails stops the command (as over SSH); the feeder says so here.
        let (feed_failed_tx, mut feed_failed) = tokio::sync::oneshot::channel::<String>();
        let feeder = child.stdin.take().map(|mut stdin| {
            tokio::spawn(async move {
                match input {
                    Input::Closed => {}
                    Input::Bytes(data) => {
                        let _ = stdin.write_all(&data).await;
                    }
                    Input::Stream(mut r) => {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            match r.read(&mut buf).await {
                                Ok(0) => break,
                                Ok(n) => {
                                    if stdin.write_all(&buf[..n]).await.is_err() {
                                        break; // the command stopped reading
                                    }
                                }
                                Err(e) => {
                                    let _ = feed_failed_tx
                                        .send(format!("reading the data to send failed: {e}"));
                                    return;
                                }
                            }
                        }
                    }
                }
            })
        });
        let out = tokio::spawn(pump(
            child.stdout.take().expect("piped"),
            OutputStream::Stdout,
            output.clone(),
        ));
        let err = tokio::spawn(pump(
            child.stderr.take().expect("piped"),
            OutputStream::Stderr,
            output,
        ));
        let expiry = async {
            match cmd.timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(expiry);
        let waited = tokio::select! {
            r = child.wait() => r,
            () = &mut expiry => {
                group.kill();
                let _ = child.wait().await;
                return Err(TransportError::Timeout {
                    machine: self.name.clone(),
                    what: prog.clone(),
                    secs: cmd.timeout.map(|t| t.as_secs()).unwrap_or_default(),
                });
            }
            Ok(reason) = &mut feed_failed => {
                group.kill();
                let _ = child.wait().await;
                return Err(self.io(&format!("stdin of {prog}"), reason));
            }
        };
        let status = waited.map_err(|e| self.io(&format!("wait for {prog}"), e))?;
        group.disarm();
        if let Some(f) = feeder {
            f.abort();
        }
        let stdout = out
            .await
            .map_err(|e| self.io("read stdout", e))?
            .map_err(|e| self.io("read stdout", e))?;
        let stderr = err
            .await
            .map_err(|e| self.io("read stderr", e))?
            .map_err(|e| self.io("read stderr", e))?;
        Ok(ExecResult {
            outcome: outcome(status),
            stdout,
            stderr,
        })
    }
}

#[async_trait]
impl Transport for LocalTransport {
    fn machine(&self) -> &str {
        &self.name
    }

    async fn exec(
        &self,
        cmd: &CommandSpec,
        output: Option<OutputSender>,
    ) -> Result<ExecResult, TransportError> {
        let input = cmd.stdin.clone().map_or(Input::Closed, Input::Bytes);
        self.run(cmd, input, output).await
    }

    async fn exec_stdin_stream(
        &self,
        cmd: &CommandSpec,
        stdin: StdinStream,
        output: Option<OutputSender>,
    ) -> Result<ExecResult, TransportError> {
        self.run(cmd, Input::Stream(stdin), output).await
    }

    async fn put_file(&self, local: &Path, remote: &str) -> Result<(), TransportError> {
        copy_file(local, Path::new(remote))
            .await
            .map_err(|e| self.io(&format!("copy {} to {remote}", local.display()), e))
    }

    async fn get_file(&self, remote: &str, local: &Path) -> Result<(), TransportError> {
        copy_file(Path::new(remote), local)
            .await
            .map_err(|e| self.io(&format!("copy {remote} to {}", local.display()), e))
    }

    async fn put_tree(&self, local: &Path, remote: &str) -> Result<(), TransportError> {
        copy_tree(local.to_owned(), PathBuf::from(remote))
            .await
            .map_err(|e| self.io(&format!("copy tree {} to {remote}", local.display()), e))
    }

    async fn get_tree(&self, remote: &str, local: &Path) -> Result<(), TransportError> {
        copy_tree(PathBuf::from(remote), local.to_owned())
            .await
            .map_err(|e| self.io(&format!("copy tree {remote} to {}", local.display()), e))
    }
}

async fn copy_file(from: &Path, to: &Path) -> std::io::Result<()> {
    if let Some(dir) = to.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    if from == to {
        return Ok(());
    }
    tokio::fs::copy(from, to).await.map(|_| ())
}

async fn copy_tree(from: PathBuf, to: PathBuf) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || copy_tree_blocking(&from, &to))
        .await
        .map_err(std::io::Error::other)?
}

/// Copies a directory's contents (files, directories, symlinks as links, modes kept).
fn copy_tree_blocking(from: &Path, to: &Path) -> std::io::Result<()> {
    if from == to {
        return Ok(());
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if ty.is_dir() {
            copy_tree_blocking(&entry.path(), &dest)?;
        } else if ty.is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            let _ = std::fs::remove_file(&dest);
            std::os::unix::fs::symlink(target, &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn exit_codes_signals_and_timeouts_are_distinct() {
        rt().block_on(async {
            let t = LocalTransport::new("localhost");
            let r = t
                .exec(
                    &CommandSpec::new(["sh", "-c", "echo out; echo err >&2; exit 3"]),
                    None,
                )
                .await
                .unwrap();
            assert_eq!(r.outcome, ExitOutcome::Code(3));
            assert_eq!(r.stdout_text(), "out\n");
            assert_eq!(r.stderr_text(), "err\n");
            let r = t
                .exec(&CommandSpec::new(["sh", "-c", "kill -TERM $$"]), None)
                .await
                .unwrap();
            assert_eq!(r.outcome, ExitOutcome::Signal("TERM".into()));
            let e = t
                .exec(
                    &CommandSpec::new(["sh", "-c", "sleep 30 & sleep 30"])
                        .timeout(Duration::from_millis(200)),
                    None,
                )
                .await
                .unwrap_err();
            assert!(matches!(e, TransportError::Timeout { .. }), "{e}");
            let r = t
                .exec(&CommandSpec::new(["cat"]).stdin(b"fed".to_vec()), None)
                .await
                .unwrap();
            assert_eq!(r.stdout_text(), "fed");
        });
    }

    #[test]
    fn streams_output_and_copies_trees() {
        rt().block_on(async {
            let t = LocalTransport::new("localhost");
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let r = t
                .exec(&CommandSpec::new(["sh", "-c", "echo a; echo b"]), Some(tx))
                .await
                .unwrap();
            assert!(r.stdout.is_empty() && r.outcome.success());
            let mut got = Vec::new();
            while let Ok((_, chunk)) = rx.try_recv() {
                got.extend(chunk);
            }
            assert_eq!(got, b"a\nb\n");
            let src = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(src.path().join("d/e")).unwrap();
            std::fs::write(src.path().join("d/e/f"), "x").unwrap();
            let dst = tempfile::tempdir().unwrap();
            let dst_s = dst.path().join("copy").to_string_lossy().into_owned();
            t.put_tree(src.path(), &dst_s).await.unwrap();
            assert_eq!(
                std::fs::read_to_string(dst.path().join("copy/d/e/f")).unwrap(),
                "x"
            );
        });
    }

    #[test]
    fn spawned_command_reads_live_stdin_and_dies_with_its_handle() {
        rt().block_on(async {
            let t: std::sync::Arc<dyn Transport> =
                std::sync::Arc::new(LocalTransport::new("localhost"));
            let script =
                "while read line; do echo \"got $line\"; [ \"$line\" = bye ] && exit 4; done";
            let mut p = t.clone().spawn(CommandSpec::new(["sh", "-c", script]));
            for word in ["one", "two"] {
                p.stdin()
                    .unwrap()
                    .write_all(format!("{word}\n").as_bytes())
                    .await
                    .unwrap();
                // The answer to each line arrives before the next line is written: stdin is live.
                let (stream, chunk) = p.recv().await.unwrap();
                assert_eq!(
                    (stream, String::from_utf8(chunk).unwrap()),
                    (OutputStream::Stdout, format!("got {word}\n"))
                );
            }
            p.stdin().unwrap().write_all(b"bye\n").await.unwrap();
            assert_eq!(p.wait().await.unwrap().outcome, ExitOutcome::Code(4));

            // Closing stdin is end of file.
            let mut p = t.clone().spawn(CommandSpec::new(["wc", "-c"]));
            p.stdin().unwrap().write_all(b"12345").await.unwrap();
            p.close_stdin();
            assert_eq!(p.recv().await.unwrap().1, b"5\n");
            assert!(p.wait().await.unwrap().outcome.success());

            // Dropping the handle kills the whole process group, background jobs included.
            let mut p = t
                .clone()
                .spawn(CommandSpec::new(["sh", "-c", "sleep 60 & echo $!; wait"]));
            let pid: i32 = String::from_utf8(p.recv().await.unwrap().1)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            drop(p);
            let gone = async {
                // SAFETY: kill(pid, 0) only probes whether the process exists.
                while unsafe { libc::kill(pid, 0) } == 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            tokio::time::timeout(Duration::from_secs(10), gone)
                .await
                .expect("background sleep killed");
        });
    }
}
