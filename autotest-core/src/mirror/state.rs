//! The mirror's memory (`<mirrordir>/.autotest-mirror-state` unless `--state` says otherwise):
//! which releases were handled, and which are half way through queueing. Written atomically
//! (temporary file, fsync, rename, fsync of the directory), so a crash leaves the old or the new
//! state, never a mix.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::MirrorError;

/// Default file name of the state, inside the mirror directory.
pub const MIRROR_STATE_FILE: &str = ".autotest-mirror-state";

/// How far one queue file has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStage {
    /// Named, not yet written.
    Planned,
    /// Complete under its temporary name (fsynced); the rename may or may not have happened:
    /// if the temporary file is gone, it has.
    Written,
    /// In the queue (or already taken by the queue's monitor).
    Done,
    /// Could not be made (reported); not retried.
    Skipped,
}

/// One file to drop into a queue for a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedFile {
    /// The queue's name.
    pub queue: String,
    /// The control file it is made from.
    pub control: PathBuf,
    /// Its final path in the queue.
    pub path: PathBuf,
    /// The temporary name it is written under, in the same directory (hidden from monitors).
    pub temp: PathBuf,
    /// How far it got.
    pub stage: FileStage,
}

/// A release whose queue files are being dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRelease {
    /// The kernel version.
    pub kernel: String,
    /// Its queue files.
    pub files: Vec<PlannedFile>,
}

/// The whole state file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorState {
    /// Format version (1).
    pub version: u32,
    /// Releases whose queue files are all in place (or were seen at the first run).
    pub handled: BTreeSet<String>,
    /// Releases detected but not yet completely queued, oldest first.
    #[serde(default)]
    pub pending: Vec<PendingRelease>,
}

impl MirrorState {
    /// Reads the state; `None` when the file does not exist yet (a first run).
    pub fn load(path: &Path) -> Result<Option<MirrorState>, MirrorError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(MirrorError::io("read the state file", path, source)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| MirrorError::CorruptState {
                path: path.to_owned(),
                line: e.line(),
                message: e.to_string(),
            })
    }

    /// Replaces the state file atomically.
    pub fn save(&self, path: &Path) -> Result<(), MirrorError> {
        let text = serde_json::to_string_pretty(self).expect("state serializes");
        write_atomically(path, text.as_bytes())
            .map_err(|source| MirrorError::io("write the state file", path, source))
    }

    /// Is `kernel` handled or pending?
    pub fn knows(&self, kernel: &str) -> bool {
        self.handled.contains(kernel) || self.pending.iter().any(|p| p.kernel == kernel)
    }
}

/// Writes `bytes` to `<path>.tmp`, fsyncs it, renames it over `path` and fsyncs the directory.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    sync_dir(path)
}

/// Makes a rename or creation in `path`'s directory durable.
pub(super) fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// An exclusive lock on `<state>.lock`, held while a run works: two mirror runs at once (a slow
/// cron run overlapping the next) would queue the same release twice.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Takes the lock, or fails at once when another run holds it.
    pub fn acquire(state: &Path) -> Result<StateLock, MirrorError> {
        let mut lock = state.as_os_str().to_owned();
        lock.push(".lock");
        let lock = PathBuf::from(lock);
        if let Some(parent) = lock.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|source| MirrorError::io("create the state directory", parent, source))?;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(|source| MirrorError::io("open the lock file", &lock, source))?;
        // SAFETY: flock on a descriptor we own; it only sets an advisory lock.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(MirrorError::Locked { lock });
        }
        Ok(StateLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corrupt_file() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("state");
        assert_eq!(MirrorState::load(&path).unwrap(), None);
        let mut s = MirrorState {
            version: 1,
            ..MirrorState::default()
        };
        s.handled.insert("6.1".into());
        s.pending.push(PendingRelease {
            kernel: "6.2".into(),
            files: vec![PlannedFile {
                queue: "q".into(),
                control: "/c".into(),
                path: "/q/6.2-1000".into(),
                temp: "/q/.6.2-1000.mirror-tmp".into(),
                stage: FileStage::Written,
            }],
        });
        s.save(&path).unwrap();
        assert_eq!(MirrorState::load(&path).unwrap(), Some(s.clone()));
        assert!(s.knows("6.1") && s.knows("6.2") && !s.knows("6.3"));
        std::fs::write(&path, "{\n\"version\": 1,\n\"handled\": [1,\n").unwrap();
        let e = MirrorState::load(&path).unwrap_err().to_string();
        assert!(e.contains(&format!("{}:3", path.display())), "{e}");
    }

    #[test]
    fn second_lock_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("sub/state");
        let _held = StateLock::acquire(&path).unwrap();
        let e = StateLock::acquire(&path).unwrap_err().to_string();
        assert!(e.contains("another"), "{e}");
    }
}
