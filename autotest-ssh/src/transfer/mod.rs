//! Files and trees over exec channels: a file is `cat` on one channel (written to a temporary
//! name, size-checked, then renamed into place, so a cut transfer never leaves a partial file);
//! a tree is one tar stream on one channel, never a round trip per file.

mod tree;

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use autotest_core::transport::{CommandSpec, TransportError};
use tokio::io::AsyncReadExt;

use crate::errors;
use crate::exec::{Finished, Output, Run, Stdin};

pub(crate) use tree::{get_tree, put_tree};

/// What a transfer needs from a machine: one helper command run to its end on a channel of its
/// own. `SshTransport` provides it (with its shared connection, reconnects and session limit),
/// so the transfers depend only on `exec` and the transport on them, not both ways.
#[async_trait]
pub(crate) trait Runner: Sync {
    /// The machine, named in errors.
    fn machine_name(&self) -> &str;

    /// Runs `run` on a new channel.
    async fn run(&self, run: Run) -> Result<Finished, TransportError>;

    /// A local or channel I/O error.
    fn io_error(&self, what: &str, reason: impl fmt::Display) -> TransportError
    where
        Self: Sized,
    {
        errors::io_error(self.machine_name(), what, reason)
    }

    /// The error for a helper command that did not succeed.
    fn remote_error(&self, what: &str, done: &Finished) -> TransportError {
        errors::remote_error(self.machine_name(), what, done)
    }
}

/// A helper command line with no timeout.
fn helper(command: String, what: &str, stdin: Stdin, output: Output) -> Run {
    Run {
        command,
        what: what.to_owned(),
        stdin,
        output,
        timeout: None,
    }
}

/// Receives a file on the machine: `$1` path, `$2` its directory, `$3` octal mode, `$4` size.
const PUT_FILE: &str = r#"set -e
mkdir -p -- "$2"
t="$1.autotest-tmp.$$"
trap 'rm -f -- "$t"' EXIT
cat > "$t"
n=$(wc -c < "$t"); n=${n##* }
if [ "$n" != "$4" ]; then echo "received $n of $4 bytes; the copy was cut short" >&2; exit 1; fi
chmod "$3" "$t"
mv -f -- "$t" "$1"
trap - EXIT"#;

/// Temporary local names must not collide between concurrent transfers.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// The directory part of a remote POSIX path (`.` for a bare name).
pub(crate) fn remote_parent(path: &str) -> &str {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) => "/",
        Some((dir, _)) => dir,
        None => ".",
    }
}

/// A sibling of `path` to write first and rename over it.
pub(crate) fn local_temp(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let seq = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.autotest-tmp.{}.{seq}", std::process::id()))
}

/// Copies a local file to `remote` (parents created, mode kept).
pub(crate) async fn put_file(
    t: &impl Runner,
    local: &Path,
    remote: &str,
) -> Result<(), TransportError> {
    let what = format!("copy {} to {remote}", local.display());
    let file = tokio::fs::File::open(local)
        .await
        .map_err(|e| t.io_error(&what, format!("cannot read {}: {e}", local.display())))?;
    let meta = file
        .metadata()
        .await
        .map_err(|e| t.io_error(&what, format!("cannot stat {}: {e}", local.display())))?;
    if !meta.is_file() {
        return Err(t.io_error(&what, format!("{} is not a regular file", local.display())));
    }
    let mode = format!("{:o}", meta.permissions().mode() & 0o7777);
    let size = meta.len().to_string();
    let argv = [
        "sh",
        "-c",
        PUT_FILE,
        "sh",
        remote,
        remote_parent(remote),
        &mode,
        &size,
    ];
    let done = t
        .run(helper(
            CommandSpec::new(argv).to_shell(),
            &what,
            Stdin::Reader(Box::new(file.take(meta.len()))),
            Output::Capture,
        ))
        .await?;
    if done.outcome.success() {
        Ok(())
    } else {
        Err(t.remote_error(&what, &done))
    }
}

/// Copies `remote` to a local file (parents created; written to a temporary name first).
pub(crate) async fn get_file(
    t: &impl Runner,
    remote: &str,
    local: &Path,
) -> Result<(), TransportError> {
    let what = format!("copy {remote} to {}", local.display());
    if let Some(dir) = local.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| t.io_error(&what, format!("cannot create {}: {e}", dir.display())))?;
    }
    let tmp = local_temp(local);
    let file = tokio::fs::File::create(&tmp)
        .await
        .map_err(|e| t.io_error(&what, format!("cannot create {}: {e}", tmp.display())))?;
    let result = t
        .run(helper(
            CommandSpec::new(["cat", "--", remote]).to_shell(),
            &what,
            Stdin::Empty,
            Output::StdoutTo(Box::new(file)),
        ))
        .await;
    let outcome = match result {
        Ok(done) if done.outcome.success() => tokio::fs::rename(&tmp, local).await.map_err(|e| {
            t.io_error(
                &what,
                format!(
                    "cannot rename {} to {}: {e}",
                    tmp.display(),
                    local.display()
                ),
            )
        }),
        Ok(done) => Err(t.remote_error(&what, &done)),
        Err(e) => Err(e),
    };
    if outcome.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_parents() {
        assert_eq!(remote_parent("/a/b/c"), "/a/b");
        assert_eq!(remote_parent("/c"), "/");
        assert_eq!(remote_parent("c"), ".");
        assert_eq!(remote_parent("d/c"), "d");
        assert_eq!(remote_parent("/a b/c/"), "/a b");
    }

    #[test]
    fn put_script_refuses_a_short_copy_and_keeps_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("new dir/f'1");
        let dest_s = dest.to_str().unwrap();
        let run = |data: &[u8], size: &str| {
            use std::io::Write;
            let mut child = std::process::Command::new("sh")
                .args([
                    "-c",
                    PUT_FILE,
                    "sh",
                    dest_s,
                    remote_parent(dest_s),
                    "750",
                    size,
                ])
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(data).unwrap();
            child.wait_with_output().unwrap()
        };
        let out = run(b"abc", "4");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("received 3 of 4"));
        assert!(!dest.exists());
        assert_eq!(
            std::fs::read_dir(dest.parent().unwrap()).unwrap().count(),
            0,
            "temp file left"
        );
        assert!(run(b"abcd", "4").status.success());
        assert_eq!(std::fs::read(&dest).unwrap(), b"abcd");
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
            0o750
        );
    }
}
