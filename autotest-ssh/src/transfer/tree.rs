//! Whole directory trees as one tar stream over one channel: the local `tar` program on one
//! side, the machine's `tar` on the other. Modes, symlinks and times are kept (`-p`).

use std::path::Path;
use std::process::Stdio;

use autotest_core::transport::{CommandSpec, TransportError};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use super::{Runner, helper};
use crate::exec::{Output, Stdin};

/// Unpacks stdin into `$1` (created).
const REMOTE_UNPACK: &str = r#"mkdir -p -- "$1" && cd -- "$1" && exec tar -xpf -"#;

/// Packs the contents of `$1` to stdout.
const REMOTE_PACK: &str = r#"cd -- "$1" && exec tar -cf - ."#;

/// Starts the local tar with `args`; the error says to install it.
fn spawn_tar(
    t: &impl Runner,
    what: &str,
    args: &[&std::ffi::OsStr],
    stdin: Stdio,
    stdout: Stdio,
) -> Result<Child, TransportError> {
    Command::new("tar")
        .args(args)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            t.io_error(
                what,
                format!("cannot start the local tar program ({e}); install tar"),
            )
        })
}

/// Collects the local tar's stderr in the background.
fn collect_stderr(child: &mut Child) -> tokio::task::JoinHandle<Vec<u8>> {
    let err = child.stderr.take();
    tokio::spawn(async move {
        let mut buf = Vec::new();
        if let Some(mut e) = err {
            let _ = e.read_to_end(&mut buf).await;
        }
        buf
    })
}

/// Copies the contents of local directory `local` into `remote` (created).
pub(crate) async fn put_tree(
    t: &impl Runner,
    local: &Path,
    remote: &str,
) -> Result<(), TransportError> {
    let what = format!("copy tree {} to {remote}", local.display());
    if !tokio::fs::metadata(local).await.is_ok_and(|m| m.is_dir()) {
        return Err(t.io_error(
            &what,
            format!("{} is not a readable directory", local.display()),
        ));
    }
    let args = [
        "-C".as_ref(),
        local.as_os_str(),
        "-cf".as_ref(),
        "-".as_ref(),
        ".".as_ref(),
    ];
    let mut tar = spawn_tar(t, &what, &args, Stdio::null(), Stdio::piped())?;
    let stderr = collect_stderr(&mut tar);
    let stream = tar
        .stdout
        .take()
        .ok_or_else(|| t.io_error(&what, "local tar has no stdout"))?;
    let done = t
        .run(helper(
            CommandSpec::new(["sh", "-c", REMOTE_UNPACK, "sh", remote]).to_shell(),
            &what,
            Stdin::Reader(Box::new(stream)),
            Output::Capture,
        ))
        .await;
    if !matches!(&done, Ok(d) if d.outcome.success()) {
        // The machine stopped reading: do not leave the local tar blocked on a full pipe.
        let _ = tar.start_kill();
    }
    let status = tar.wait().await;
    let tar_err = stderr.await.unwrap_or_default();
    let done = done?;
    if !done.outcome.success() {
        return Err(t.remote_error(&what, &done));
    }
    local_status(t, &what, status, &tar_err)
}

/// Copies the contents of `remote` into local directory `local` (created).
pub(crate) async fn get_tree(
    t: &impl Runner,
    remote: &str,
    local: &Path,
) -> Result<(), TransportError> {
    let what = format!("copy tree {remote} to {}", local.display());
    tokio::fs::create_dir_all(local)
        .await
        .map_err(|e| t.io_error(&what, format!("cannot create {}: {e}", local.display())))?;
    let args = [
        "-C".as_ref(),
        local.as_os_str(),
        "-xpf".as_ref(),
        "-".as_ref(),
    ];
    let mut tar = spawn_tar(t, &what, &args, Stdio::piped(), Stdio::null())?;
    let stderr = collect_stderr(&mut tar);
    let sink = tar
        .stdin
        .take()
        .ok_or_else(|| t.io_error(&what, "local tar has no stdin"))?;
    let done = t
        .run(helper(
            CommandSpec::new(["sh", "-c", REMOTE_PACK, "sh", remote]).to_shell(),
            &what,
            Stdin::Empty,
            Output::StdoutTo(Box::new(sink)),
        ))
        .await;
    let status = tar.wait().await;
    let tar_err = stderr.await.unwrap_or_default();
    match done {
        Ok(d) if !d.outcome.success() => Err(t.remote_error(&what, &d)),
        Ok(_) => local_status(t, &what, status, &tar_err),
        Err(e) if tar_err.is_empty() => Err(e),
        Err(e) => Err(t.io_error(
            &what,
            format!(
                "{e}; the local tar said: {}",
                String::from_utf8_lossy(&tar_err).trim()
            ),
        )),
    }
}

/// The local tar's exit as a result.
fn local_status(
    t: &impl Runner,
    what: &str,
    status: std::io::Result<std::process::ExitStatus>,
    stderr: &[u8],
) -> Result<(), TransportError> {
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(t.io_error(
            what,
            format!(
                "the local tar failed ({s}): {}",
                String::from_utf8_lossy(stderr).trim()
            ),
        )),
        Err(e) => Err(t.io_error(what, format!("waiting for the local tar failed: {e}"))),
    }
}
