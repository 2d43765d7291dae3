//! Claiming a job: its results directory, the record of the claim, and moving the control file
//! out of the spool without ever losing it.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{QUEUE_JOB_FILE, QueueError};
use crate::keyval;

/// How many `.<epoch>.<n>` names [`create_results_dir`] tries before giving up.
const MAX_SUFFIXES: u32 = 10_000;

/// `<results_root>/<queue>-<control>`: the results directory a job gets when that name is free.
pub fn results_dir_base(results_root: impl AsRef<Path>, queue: &str, control: &str) -> PathBuf {
    results_root.as_ref().join(format!("{queue}-{control}"))
}

/// Creates a job's results directory and returns it: `<results_root>/<queue>-<control>`, or,
/// when that exists, `<...>.<epoch>`, then `<...>.<epoch>.1`, `<...>.<epoch>.2`, ... (FORMATS §1:
/// "append `.<unix-epoch-seconds>`, and more if that exists too"). Each name is taken with an
/// atomic `mkdir`, so two claimants never share a directory. `epoch` is the current time in
/// seconds (a parameter so callers and tests can fix it).
pub fn create_results_dir(
    results_root: impl AsRef<Path>,
    queue: &str,
    control: &str,
    epoch: u64,
) -> Result<PathBuf, QueueError> {
    let base = results_dir_base(results_root, queue, control);
    let stamped = |n: u32| {
        let mut s = base.clone().into_os_string();
        s.push(format!(".{epoch}"));
        if n > 0 {
            s.push(format!(".{n}"));
        }
        PathBuf::from(s)
    };
    let candidates = std::iter::once(base.clone()).chain((0..MAX_SUFFIXES).map(stamped));
    for dir in candidates {
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(QueueError::io("create the results directory", dir, e)),
        }
    }
    Err(QueueError::ResultsNameExhausted {
        base,
        tries: MAX_SUFFIXES + 1,
    })
}

/// Syncs a directory, so that a rename or a new entry in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Moves the control file `src` into `dest_dir` under its own name and returns its new path.
///
/// Never loses it: where both are on one filesystem this is one `rename` (the file is in exactly
/// one of the two places at every instant); otherwise (or for a symbolic link, whose target's
/// contents are what the job needs) the contents are copied to a temporary name in `dest_dir`,
/// synced, renamed into place, the directory synced, and only then is `src` removed from the
/// spool. A file of that name already in `dest_dir` is an error (nothing is overwritten).
pub fn move_control_file(
    src: impl AsRef<Path>,
    dest_dir: impl AsRef<Path>,
) -> Result<PathBuf, QueueError> {
    move_file(src.as_ref(), dest_dir.as_ref(), false)
}

fn move_file(src: &Path, dest_dir: &Path, force_copy: bool) -> Result<PathBuf, QueueError> {
    let name = src.file_name().ok_or_else(|| {
        QueueError::io(
            "move the control file",
            src,
            io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
        )
    })?;
    let dest = dest_dir.join(name);
    let meta = fs::symlink_metadata(src).map_err(|e| gone_or(src, "read the control file", e))?;
    if fs::symlink_metadata(&dest).is_ok() {
        return Err(QueueError::io(
            "move the control file to",
            &dest,
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a file of that name is already there",
            ),
        ));
    }
    let spool = src.parent().unwrap_or(Path::new("."));
    if !force_copy && !meta.file_type().is_symlink() {
        match fs::rename(src, &dest) {
            Ok(()) => {
                // The move is done; a failed sync only weakens crash safety.
                if let Err(e) = sync_dir(dest_dir).and_then(|()| sync_dir(spool)) {
                    tracing::warn!(path = %dest.display(), error = %e, "cannot sync the directories after moving a control file");
                }
                return Ok(dest);
            }
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
            Err(e) => return Err(gone_or(src, "move the control file", e)),
        }
    }
    // Copy, sync, rename into place, sync; then remove from the spool.
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".partial");
    let tmp = dest_dir.join(tmp_name);
    let copied = (|| -> io::Result<()> {
        fs::copy(src, &tmp)?;
        File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, &dest)
    })();
    if let Err(e) = copied {
        let _ = fs::remove_file(&tmp);
        return Err(gone_or(
            src,
            "copy the control file into the results directory",
            e,
        ));
    }
    if let Err(e) = sync_dir(dest_dir) {
        tracing::warn!(path = %dest.display(), error = %e, "cannot sync the results directory after copying a control file");
    }
    match fs::remove_file(src).and_then(|()| sync_dir(spool)) {
        Ok(()) => Ok(dest),
        // Someone else removed it meanwhile: the copy is safe, which is what counts.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(dest),
        Err(e) => {
            // Keep exactly one copy where the job will look for it: undo the copy.
            let _ = fs::remove_file(&dest);
            Err(QueueError::io(
                "remove the claimed control file from the spool",
                src,
                e,
            ))
        }
    }
}

fn gone_or(path: &Path, action: &'static str, e: io::Error) -> QueueError {
    if e.kind() == io::ErrorKind::NotFound && fs::symlink_metadata(path).is_err() {
        QueueError::ControlFileGone {
            path: path.to_owned(),
        }
    } else {
        QueueError::io(action, path, e)
    }
}

/// A job taken out of its spool: its results directory and its control file there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The job's results directory.
    pub results_dir: PathBuf,
    /// The control file, now inside `results_dir`.
    pub control: PathBuf,
}

/// Claims the control file `src` of queue `queue_dir` (whose name is `queue`): creates its results
/// directory under `results_root` ([`create_results_dir`] with the current time), records the
/// claim in `<resultsdir>/.queue_job` (synced), then moves the file in ([`move_control_file`]).
///
/// When the move fails, the record and the empty directory are removed again and the control
/// file stays in the spool.
pub fn claim_control_file(
    src: impl AsRef<Path>,
    queue_dir: impl AsRef<Path>,
    queue: &str,
    results_root: impl AsRef<Path>,
) -> Result<ClaimedJob, QueueError> {
    let src = src.as_ref();
    let control = src
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| QueueError::NotUtf8 {
            path: src.to_owned(),
        })?;
    if fs::symlink_metadata(src).is_err() {
        return Err(QueueError::ControlFileGone {
            path: src.to_owned(),
        });
    }
    let now = epoch_now();
    let results_dir = create_results_dir(results_root.as_ref(), queue, control, now)?;
    let record = results_dir.join(QUEUE_JOB_FILE);
    let queue_dir = queue_dir.as_ref().to_string_lossy().into_owned();
    let written = write_record(
        &record,
        &[
            ("queue", queue_dir.as_str()),
            ("control", control),
            ("claimed", &now.to_string()),
        ],
    )
    .and_then(|()| {
        sync_dir(results_root.as_ref())
            .map_err(|e| QueueError::io("sync", results_root.as_ref(), e))
    });
    let moved = written.and_then(|()| move_control_file(src, &results_dir));
    match moved {
        Ok(control) => Ok(ClaimedJob {
            results_dir,
            control,
        }),
        Err(e) => {
            let _ = fs::remove_file(&record);
            let _ = fs::remove_dir(&results_dir);
            Err(e)
        }
    }
}

/// Appends keyval lines to a job record and syncs them.
pub(crate) fn write_record(path: &Path, pairs: &[(&str, &str)]) -> Result<(), QueueError> {
    let text = keyval::render_keyvals(path, pairs, None).map_err(|e| {
        QueueError::io(
            "write the job record",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, e.to_string()),
        )
    })?;
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| QueueError::io("write the job record", path, e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| QueueError::io("write the job record", path, e))
}

/// Reads a job record; the last value of each key wins. `None` when there is none.
pub(crate) fn read_record(path: &Path) -> Option<std::collections::HashMap<String, String>> {
    let text = fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// Seconds since the epoch, now.
pub(crate) fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_path_keeps_the_file_until_it_is_safe() {
        let spool = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let src = spool.path().join("job");
        fs::write(&src, "job.run_test('sleeptest')\n").unwrap();
        let moved = move_file(&src, dest.path(), true).unwrap();
        assert_eq!(moved, dest.path().join("job"));
        assert_eq!(
            fs::read_to_string(&moved).unwrap(),
            "job.run_test('sleeptest')\n"
        );
        assert!(!src.exists());
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dest.path()).unwrap().count(), 1);
    }

    #[test]
    fn never_overwrites_and_reports_a_vanished_file() {
        let spool = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let src = spool.path().join("job");
        fs::write(&src, "new").unwrap();
        fs::write(dest.path().join("job"), "old").unwrap();
        assert!(move_control_file(&src, dest.path()).is_err());
        assert_eq!(fs::read_to_string(&src).unwrap(), "new");
        assert_eq!(fs::read_to_string(dest.path().join("job")).unwrap(), "old");
        let err = move_control_file(spool.path().join("nope"), dest.path()).unwrap_err();
        assert!(matches!(err, QueueError::ControlFileGone { .. }), "{err}");
    }

    #[test]
    fn symlink_is_replaced_by_its_contents() {
        let spool = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let target = spool.path().join(".target");
        fs::write(&target, "contents").unwrap();
        let link = spool.path().join("job");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let moved = move_control_file(&link, dest.path()).unwrap();
        assert!(
            !fs::symlink_metadata(&moved)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&moved).unwrap(), "contents");
        assert!(fs::symlink_metadata(&link).is_err());
        assert!(target.exists());
    }
}
