//! The local transport: `localhost` runs commands as child processes, no SSH.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::{
    CommandSpec, ExecResult, ExitOutcome, OutputSender, OutputStream, Transport, TransportError,
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
        (None, Some(s)) => ExitOutcome::Signal(s.to_string()),
        (None, None) => ExitOutcome::Unknown("no exit code and no signal".into()),
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
        let Some((prog, args)) = cmd.argv.split_first() else {
            return Err(self.io("exec", "empty command"));
        };
        let mut c = Command::new(prog);
        c.args(args)
            .stdin(if cmd.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
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
        let pid = child.id();
        if let (Some(data), Some(mut stdin)) = (cmd.stdin.clone(), child.stdin.take()) {
            tokio::spawn(async move {
                let _ = stdin.write_all(&data).await;
            });
        }
        let out = tokio::spawn(pump(child.stdout.take().expect("piped"), OutputStream::Stdout, output.clone()));
        let err = tokio::spawn(pump(child.stderr.take().expect("piped"), OutputStream::Stderr, output));
        let waited = match cmd.timeout {
            Some(t) => match tokio::time::timeout(t, child.wait()).await {
                Ok(r) => r,
                Err(_) => {
                    if let Some(pid) = pid {
                        // SAFETY: kill(2) on the process group we created; no memory is touched.
                        unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
                    }
                    let _ = child.wait().await;
                    return Err(TransportError::Timeout {
                        machine: self.name.clone(),
                        what: prog.clone(),
                        secs: t.as_secs(),
                    });
                }
            },
            None => child.wait().await,
        };
        let status = waited.map_err(|e| self.io(&format!("wait for {prog}"), e))?;
        let stdout = out.await.map_err(|e| self.io("read stdout", e))?.map_err(|e| self.io("read stdout", e))?;
        let stderr = err.await.map_err(|e| self.io("read stderr", e))?.map_err(|e| self.io("read stderr", e))?;
        Ok(ExecResult {
            outcome: outcome(status),
            stdout,
            stderr,
        })
    }

    async fn put_file(&self, local: &Path, remote: &str) -> Result<(), TransportError> {
        copy_file(local, Path::new(remote)).await.map_err(|e| self.io(&format!("copy {} to {remote}", local.display()), e))
    }

    async fn get_file(&self, remote: &str, local: &Path) -> Result<(), TransportError> {
        copy_file(Path::new(remote), local).await.map_err(|e| self.io(&format!("copy {remote} to {}", local.display()), e))
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
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn exit_codes_signals_and_timeouts_are_distinct() {
        rt().block_on(async {
            let t = LocalTransport::new("localhost");
            let r = t.exec(&CommandSpec::new(["sh", "-c", "echo out; echo err >&2; exit 3"]), None).await.unwrap();
            assert_eq!(r.outcome, ExitOutcome::Code(3));
            assert_eq!(r.stdout_text(), "out\n");
            assert_eq!(r.stderr_text(), "err\n");
            let r = t.exec(&CommandSpec::new(["sh", "-c", "kill -TERM $$"]), None).await.unwrap();
            assert_eq!(r.outcome, ExitOutcome::Signal("15".into()));
            let e = t
                .exec(&CommandSpec::new(["sh", "-c", "sleep 30 & sleep 30"]).timeout(Duration::from_millis(200)), None)
                .await
                .unwrap_err();
            assert!(matches!(e, TransportError::Timeout { .. }), "{e}");
            let r = t.exec(&CommandSpec::new(["cat"]).stdin(b"fed".to_vec()), None).await.unwrap();
            assert_eq!(r.stdout_text(), "fed");
        });
    }

    #[test]
    fn streams_output_and_copies_trees() {
        rt().block_on(async {
            let t = LocalTransport::new("localhost");
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let r = t.exec(&CommandSpec::new(["sh", "-c", "echo a; echo b"]), Some(tx)).await.unwrap();
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
            assert_eq!(std::fs::read_to_string(dst.path().join("copy/d/e/f")).unwrap(), "x");
        });
    }
}
