//! Telling whether a recorded autoserv still runs, and recording a lost one in its status log.
//! (Starting it is the launcher's job: `crate::autoserv::AutoservLauncher`.)

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use super::QueueError;
use crate::pidfile::{Pidfile, PidfileState};
use crate::status::{StatusEntry, StatusLineKind, StatusLog};

/// Reads autoserv's pidfile and decides whether its process still runs: like
/// [`Pidfile::read_checked`], and a "running" pid whose process started after the pidfile was
/// written is another process that got the same pid: the autoserv is lost.
pub(crate) fn read_autoserv_pidfile(
    results_dir: &Path,
) -> Result<Option<PidfileState>, QueueError> {
    let pidfile = Pidfile::autoserv(results_dir);
    let state = pidfile.read_checked()?;
    if let Some(PidfileState::Running { pid }) = state {
        let written = fs::metadata(pidfile.path()).and_then(|m| m.modified()).ok();
        if let (Some(written), Some(started)) = (written, crate::process::start_time(pid)) {
            // /proc's boot time has a resolution of one second.
            if started > written + Duration::from_secs(2) {
                return Ok(Some(PidfileState::Lost { pid }));
            }
        }
    }
    Ok(state)
}

/// Closes the open groups of `<results_dir>/status.log` with `END ABORT` lines (message
/// `reason`) and adds `INFO ---- ---- Job aborted by the queue monitor on <when>: <reason>`.
/// Returns false when the job has no status log (nothing is written then).
pub(crate) fn record_abort(results_dir: &Path, reason: &str) -> Result<bool, QueueError> {
    let path = crate::results::JobResults::new(results_dir).status_log();
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(QueueError::io("read", &path, e)),
    };
    let mut log = StatusLog::parse_bytes(&bytes);
    let mut text = String::new();
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        text.push('\n');
    }
    text.push_str(&log.close_open_groups(Some(reason)));
    let now = chrono::Local::now();
    let info = StatusEntry::new(
        StatusLineKind::Info,
        None,
        None,
        &format!(
            "Job aborted by the queue monitor on {}: {reason}",
            now.format("%Y-%m-%d %H:%M:%S")
        ),
    )
    .stamped(now.timestamp());
    text.push_str(&info.render(0));
    OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .map_err(|e| QueueError::io("append the abort to", &path, e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abort_closes_open_groups() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!record_abort(dir.path(), "lost").unwrap());
        fs::write(
            dir.path().join("status.log"),
            "START\t----\t----\ttimestamp=5\t\n\tSTART\tsleeptest\tsleeptest\ttimestamp=6\t",
        )
        .unwrap();
        assert!(record_abort(dir.path(), "autoserv died").unwrap());
        let log = StatusLog::parse_file(dir.path().join("status.log")).unwrap();
        assert!(log.problems.is_empty(), "{:?}", log.problems);
        let tree = log.tree();
        assert!(tree.open.is_empty());
        assert_eq!(tree.status(), crate::status::StatusCode::Abort);
        let last = &log.entries.last().unwrap().entry;
        assert_eq!(last.kind, StatusLineKind::Info);
        assert!(last.message.starts_with("Job aborted by the queue monitor"));
    }
}
