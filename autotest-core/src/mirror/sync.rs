//! Fetching releases with the real `rsync`: an `rsync://` URL or a local directory, through
//! filter rules that choose the files. rsync writes each file under a hidden temporary name and
//! renames it when complete, so a scan never sees half a file under a release name.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::error::MirrorError;

/// The kernel.org rsync module, the source when none is configured.
pub const DEFAULT_SOURCE: &str = "rsync://rsync.kernel.org/pub/linux/kernel/";

/// rsync filter rules used when none are configured: the v2.6 and v3.x–v9.x directories, full
/// tarballs and patches in any compression, nothing else (no signatures, no incremental
/// patches, no other trees).
pub const DEFAULT_FILTERS: &[&str] = &[
    "+ /v2.6/",
    "+ /v[3-9].x/",
    "- /*/",
    "- incr/",
    "+ */",
    "+ linux-*.tar.xz",
    "+ linux-*.tar.gz",
    "+ linux-*.tar.bz2",
    "+ patch-*.xz",
    "+ patch-*.gz",
    "+ patch-*.bz2",
    "- *",
];

/// Brings `mirror_dir` up to date with `source` through the `filters`. Returns early with
/// [`MirrorError::Stopped`] (rsync terminated, its temporary files removed by itself) when
/// `stop` is set.
pub fn sync_releases(
    source: &str,
    filters: &[String],
    mirror_dir: &Path,
    stop: &AtomicBool,
) -> Result<(), MirrorError> {
    let is_url = source.starts_with("rsync://") || source.contains("::");
    if !is_url && !Path::new(source).is_dir() {
        return Err(MirrorError::SourceMissing {
            origin: source.to_owned(),
        });
    }
    std::fs::create_dir_all(mirror_dir)
        .map_err(|e| MirrorError::io("create the mirror directory", mirror_dir, e))?;
    let mut cmd = Command::new("rsync");
    // -t keeps times so the next run skips what it has; no --delete: releases are kept.
    cmd.args(["-rt", "--prune-empty-dirs", "--timeout=300"]);
    // One `<size> <name>` line per file transferred: the progress reported as it goes.
    cmd.arg("--out-format=%l %n");
    for rule in filters {
        cmd.arg(format!("--filter={rule}"));
    }
    cmd.arg(with_slash(source))
        .arg(with_slash(&mirror_dir.to_string_lossy()));
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => MirrorError::RsyncMissing,
        _ => MirrorError::io("start rsync for", Path::new(source), e),
    })?;
    let stdout = child.stdout.take().expect("piped");
    let progress = std::thread::spawn(move || report_progress(stdout));
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| MirrorError::io("wait for rsync from", Path::new(source), e))?
        {
            break status;
        }
        if stop.load(Ordering::Relaxed) {
            // SAFETY: kill(2) on our own child, which has not been reaped yet.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let _ = child.wait();
            return Err(MirrorError::Stopped);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = reader.join().unwrap_or_default();
    let _ = progress.join();
    if status.success() {
        return Ok(());
    }
    let tail: Vec<&str> = output
        .lines()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(MirrorError::Rsync {
        origin: source.to_owned(),
        status: status.to_string(),
        output: tail.join("\n"),
    })
}

fn with_slash(s: &str) -> String {
    if s.ends_with('/') {
        s.to_owned()
    } else {
        format!("{s}/")
    }
}

/// Reports each file rsync names on `out` (`--out-format=%l %n`) as a progress event with the
/// files and bytes so far; directories are not counted.
fn report_progress(out: impl std::io::Read) {
    use std::io::BufRead;
    let (mut files, mut bytes) = (0u64, 0u64);
    for line in std::io::BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        let Some((size, name)) = line.split_once(' ') else {
            continue;
        };
        if name.ends_with('/') {
            continue;
        }
        files += 1;
        bytes += size.parse::<u64>().unwrap_or(0);
        tracing::info!(target: crate::progress::PROGRESS_TARGET, task = "mirror sync", files, bytes, "{name}");
    }
    tracing::info!(target: crate::progress::PROGRESS_TARGET, task = "mirror sync", files, bytes, finished = true, "done");
}
