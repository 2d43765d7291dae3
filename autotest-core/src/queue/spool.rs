//! The spool directory: which files are jobs, in which order, and when a file is complete.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use notify::EventKind;
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};

use super::QueueError;

/// A control file waiting in a spool directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolEntry {
    /// The file name (never starts with `.`).
    pub name: String,
    /// The file's path.
    pub path: PathBuf,
    /// Its modification time (of the link itself, for a symbolic link).
    pub modified: SystemTime,
    /// Its size in bytes (of the link's target, for a symbolic link).
    pub len: u64,
    /// True for a symbolic link (to a regular file).
    pub symlink: bool,
}

impl SpoolEntry {
    /// True for a server control file (`*.srv`).
    pub fn is_server(&self) -> bool {
        is_server_control(&self.name)
    }
}

/// True when `name` is a server control file: it ends in `.srv`.
pub fn is_server_control(name: &str) -> bool {
    name.ends_with(".srv")
}

/// Why a spool entry is not a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotAJob {
    /// A directory, FIFO, socket or device: not a file.
    Kind(&'static str),
    /// A symbolic link whose target does not exist.
    Dangling,
    /// A symbolic link to something that is not a regular file.
    LinkTo(&'static str),
    /// A symbolic link that points outside the spool's top directory.
    Outside { target: PathBuf, top: PathBuf },
}

impl std::fmt::Display for NotAJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotAJob::Kind(k) => write!(f, "it is a {k}, not a regular file"),
            NotAJob::Dangling => write!(f, "it is a symbolic link whose target does not exist"),
            NotAJob::LinkTo(k) => {
                write!(f, "it is a symbolic link to a {k}, not to a regular file")
            }
            NotAJob::Outside { target, top } => write!(
                f,
                "it is a symbolic link to {}, outside {}; only links inside it are run (copy the file into the queue instead)",
                target.display(),
                top.display()
            ),
        }
    }
}

fn kind_of(t: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_block_device() || t.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

/// The directory a spool's symbolic links may point into: `<top>` for a spool
/// `<top>/queue/<queue>` (the layout of start-all-queues), else the spool directory itself.
pub(crate) fn spool_top(spool: &Path) -> PathBuf {
    let spool = fs::canonicalize(spool).unwrap_or_else(|_| spool.to_owned());
    match spool.parent() {
        Some(parent) if parent.file_name().is_some_and(|n| n == "queue") => {
            parent.parent().unwrap_or(parent).to_owned()
        }
        _ => spool,
    }
}

/// What a spool file is: a job (regular file, or symbolic link to one inside `top`), with its
/// metadata, target size and whether it is a link; or why it is not.
pub(crate) fn classify(
    path: &Path,
    top: &Path,
) -> io::Result<Result<(Metadata, u64, bool), NotAJob>> {
    let meta = fs::symlink_metadata(path)?;
    let t = meta.file_type();
    if t.is_file() {
        let len = meta.len();
        return Ok(Ok((meta, len, false)));
    }
    if !t.is_symlink() {
        return Ok(Err(NotAJob::Kind(kind_of(&t))));
    }
    let target = match fs::canonicalize(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Err(NotAJob::Dangling)),
        Err(e) => return Err(e),
    };
    if !target.starts_with(top) {
        return Ok(Err(NotAJob::Outside {
            target,
            top: top.to_owned(),
        }));
    }
    Ok(match fs::metadata(&target) {
        Ok(m) if m.is_file() => Ok((meta, m.len(), true)),
        Ok(m) => Err(NotAJob::LinkTo(kind_of(&m.file_type()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(NotAJob::Dangling),
        Err(e) => return Err(e),
    })
}

/// A spool entry that is not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// The name as it is on disk.
    pub key: std::ffi::OsString,
    /// The name for a log line (bytes that are not UTF-8 shown as `\xNN`).
    pub shown: String,
    /// Why it is not run.
    pub reason: String,
}

/// A file name for a log line: UTF-8 as it is (control characters escaped), other bytes `\xNN`.
pub(crate) fn shown_name(name: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in name.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Lists the jobs waiting in a spool directory, oldest first: by modification time, then by name.
///
/// Names starting with `.` are skipped (they are never jobs: that is how writers stage files),
/// and so are directories, files that are neither regular files nor symbolic links to regular
/// files, symbolic links that point outside the spool's top directory (`<top>` of
/// `<top>/queue/<queue>`, else the spool itself), and names that are not valid UTF-8. This is a
/// plain listing: it does not know whether a file is still being written (the monitor does).
pub fn scan_spool(dir: impl AsRef<Path>) -> Result<Vec<SpoolEntry>, QueueError> {
    let dir = dir.as_ref();
    scan_spool_full(dir, &spool_top(dir)).map(|(entries, _)| entries)
}

/// [`scan_spool`], with the entries it skipped (but dot files) and why.
pub(crate) fn scan_spool_full(
    dir: &Path,
    top: &Path,
) -> Result<(Vec<SpoolEntry>, Vec<Skipped>), QueueError> {
    let read = fs::read_dir(dir).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            QueueError::QueueDirMissing {
                path: dir.to_owned(),
            }
        } else {
            QueueError::io("read the spool directory", dir, e)
        }
    })?;
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for item in read {
        let item = item.map_err(|e| QueueError::io("read the spool directory", dir, e))?;
        let raw = item.file_name();
        if raw.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let Some(name) = raw.to_str().map(str::to_owned) else {
            skipped.push(Skipped {
                shown: shown_name(&raw),
                key: raw,
                reason: "its name is not valid UTF-8; rename it".to_owned(),
            });
            continue;
        };
        let path = item.path();
        match classify(&path, top) {
            Ok(Ok((meta, len, symlink))) => entries.push(SpoolEntry {
                name,
                modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                len,
                symlink,
                path,
            }),
            Ok(Err(why)) => skipped.push(Skipped {
                shown: shown_name(&raw),
                key: raw,
                reason: why.to_string(),
            }),
            // Removed between the listing and the stat.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(QueueError::io("read the metadata of", path, e)),
        }
    }
    entries.sort_by(|a, b| (a.modified, &a.name).cmp(&(b.modified, &b.name)));
    Ok((entries, skipped))
}

/// Identity of a file's contents as far as pickup cares: modification time and size.
pub(crate) type Fingerprint = (SystemTime, u64);

/// What the watch has told about one spool file.
#[derive(Debug, Clone, Default)]
struct FileState {
    /// Written to (created, modified) since the last close-after-write.
    dirty: bool,
    /// Opened and not yet closed.
    open: bool,
    /// Closed after writing, or renamed in: complete.
    closed: bool,
    /// First time this fingerprint was seen, for the "size stable" rule.
    observed: Option<(Fingerprint, Instant)>,
}

/// Why a file is not picked up although it is complete.
#[derive(Debug, Clone)]
pub(crate) struct Hold {
    /// The control file as it was when held.
    pub file: Fingerprint,
    /// `.machines` as it was when held (`Some(None)`: no `.machines`), when the reason was the
    /// machine list; `None` when the reason was the file itself.
    pub machines: Option<Option<Fingerprint>>,
}

/// The pickup decision.
#[derive(Debug)]
pub(crate) enum Pick {
    /// This job is ready.
    Ready(SpoolEntry),
    /// Nothing ready; look again at this instant at the latest (a file is settling).
    Wait(Option<Instant>),
}

/// The monitor's knowledge of its spool: candidates, their write state, and holds.
#[derive(Debug)]
pub(crate) struct Tracker {
    dir: PathBuf,
    top: PathBuf,
    settle: Duration,
    files: BTreeMap<String, FileState>,
    holds: HashMap<String, Hold>,
}

impl Tracker {
    pub fn new(dir: PathBuf, settle: Duration) -> Tracker {
        Tracker {
            top: spool_top(&dir),
            dir,
            settle,
            files: BTreeMap::new(),
            holds: HashMap::new(),
        }
    }

    /// Forgets what the watch said (after an overflow) and takes the listing as it is: every file
    /// goes by the settle rule.
    pub fn reset(&mut self) {
        self.files.clear();
    }

    /// Merges a full listing: new files are added (settle rule), vanished ones dropped.
    pub fn rescan(&mut self, entries: &[SpoolEntry]) {
        let names: std::collections::HashSet<&str> =
            entries.iter().map(|e| e.name.as_str()).collect();
        self.files.retain(|name, _| names.contains(name.as_str()));
        self.holds.retain(|name, _| names.contains(name.as_str()));
        for e in entries {
            self.files.entry(e.name.clone()).or_default();
        }
    }

    /// Takes one filesystem event for `name` (a file directly in the spool, not starting with
    /// `.`).
    pub fn on_event(&mut self, name: &str, kind: &EventKind) {
        match kind {
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                self.files.remove(name);
                self.holds.remove(name);
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                let st = self.files.entry(name.to_owned()).or_default();
                *st = FileState {
                    closed: true,
                    ..FileState::default()
                };
            }
            EventKind::Create(CreateKind::Folder) => {}
            EventKind::Create(_) => {
                let st = self.files.entry(name.to_owned()).or_default();
                *st = FileState::default();
            }
            EventKind::Modify(ModifyKind::Data(_)) | EventKind::Modify(ModifyKind::Any) => {
                let st = self.files.entry(name.to_owned()).or_default();
                st.dirty = true;
                st.closed = false;
            }
            EventKind::Access(AccessKind::Open(_)) => {
                self.files.entry(name.to_owned()).or_default().open = true;
            }
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
                let st = self.files.entry(name.to_owned()).or_default();
                st.dirty = false;
                st.open = false;
                st.closed = true;
            }
            EventKind::Access(AccessKind::Close(_)) => {
                if let Some(st) = self.files.get_mut(name) {
                    st.open = false;
                }
            }
            _ => {}
        }
    }

    /// Holds `name` (not picked up again until it or, for a machines hold, `.machines` changes).
    pub fn hold(&mut self, name: &str, hold: Hold) {
        self.holds.insert(name.to_owned(), hold);
    }

    /// Drops `name` (claimed, or gone).
    pub fn forget(&mut self, name: &str) {
        self.files.remove(name);
        self.holds.remove(name);
    }

    /// The oldest complete, unheld job, or when to look again.
    pub fn pick(&mut self, machines: Option<Fingerprint>) -> Pick {
        let now_sys = SystemTime::now();
        let now = Instant::now();
        let mut best: Option<SpoolEntry> = None;
        let mut wake: Option<Instant> = None;
        let mut gone = Vec::new();
        for (name, st) in self.files.iter_mut() {
            if st.dirty || st.open {
                continue;
            }
            let path = self.dir.join(name);
            let (meta, len, symlink) = match classify(&path, &self.top) {
                Ok(Ok(m)) => m,
                Ok(Err(_)) => continue,
                Err(_) => {
                    gone.push(name.clone());
                    continue;
                }
            };
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let fp = (modified, len);
            if let Some(hold) = self.holds.get(name) {
                let same_machines = match hold.machines {
                    Some(held) => held == machines,
                    None => true,
                };
                if hold.file == fp && same_machines {
                    continue;
                }
                self.holds.remove(name);
            }
            if !st.closed {
                // Settle rule: old enough, or unchanged for long enough.
                let age = now_sys.duration_since(modified).unwrap_or(Duration::ZERO);
                let since = match st.observed {
                    Some((seen, at)) if seen == fp => now.duration_since(at),
                    _ => {
                        st.observed = Some((fp, now));
                        Duration::ZERO
                    }
                };
                if age < self.settle && since < self.settle {
                    let left = (self.settle - age).min(self.settle - since);
                    let at = now + left + Duration::from_millis(10);
                    wake = Some(wake.map_or(at, |w| w.min(at)));
                    continue;
                }
            }
            let entry = SpoolEntry {
                name: name.clone(),
                path,
                modified,
                len,
                symlink,
            };
            let better = match &best {
                None => true,
                Some(b) => (entry.modified, &entry.name) < (b.modified, &b.name),
            };
            if better {
                best = Some(entry);
            }
        }
        for name in gone {
            self.forget(&name);
        }
        match best {
            Some(e) => Pick::Ready(e),
            None => Pick::Wait(wake),
        }
    }
}

/// Modification time and size of a file; `None` when it does not exist or cannot be read.
pub(crate) fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{DataChange, RemoveKind};

    fn set_mtime(path: &Path, t: SystemTime) {
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    #[test]
    fn tracker_waits_for_close_after_write() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("job"), "x").unwrap();
        let mut t = Tracker::new(dir.path().to_owned(), Duration::from_secs(3600));
        t.on_event("job", &EventKind::Create(CreateKind::File));
        t.on_event(
            "job",
            &EventKind::Access(AccessKind::Open(notify::event::AccessMode::Any)),
        );
        t.on_event("job", &EventKind::Modify(ModifyKind::Data(DataChange::Any)));
        assert!(matches!(t.pick(None), Pick::Wait(None)));
        t.on_event(
            "job",
            &EventKind::Access(AccessKind::Close(AccessMode::Write)),
        );
        match t.pick(None) {
            Pick::Ready(e) => assert_eq!(e.name, "job"),
            other => panic!("{other:?}"),
        }
        t.on_event("job", &EventKind::Remove(RemoveKind::File));
        assert!(matches!(t.pick(None), Pick::Wait(None)));
    }

    #[test]
    fn tracker_settles_rescanned_files_and_honours_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job");
        fs::write(&path, "x").unwrap();
        let mut t = Tracker::new(dir.path().to_owned(), Duration::from_secs(5));
        t.rescan(&scan_spool(dir.path()).unwrap());
        // Fresh file: not ready, a wake-up is asked for.
        assert!(matches!(t.pick(None), Pick::Wait(Some(_))));
        set_mtime(&path, SystemTime::now() - Duration::from_secs(60));
        let Pick::Ready(e) = t.pick(None) else {
            panic!("old file not ready")
        };
        let fp = (e.modified, e.len);
        let machines = Some((SystemTime::UNIX_EPOCH, 3));
        t.hold(
            "job",
            Hold {
                file: fp,
                machines: Some(machines),
            },
        );
        assert!(matches!(t.pick(machines), Pick::Wait(None)));
        // .machines changed: the hold is lifted.
        assert!(matches!(t.pick(None), Pick::Ready(_)));
    }

    #[test]
    fn scan_orders_by_mtime_then_name_and_skips_dot_files() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = SystemTime::now() - Duration::from_secs(100);
        for (name, age) in [
            ("b", 10),
            ("a", 10),
            ("c", 50),
            (".hidden", 90),
            ("x.srv", 5),
        ] {
            let p = dir.path().join(name);
            fs::write(&p, name).unwrap();
            set_mtime(&p, t0 + Duration::from_secs(100 - age));
        }
        fs::create_dir(dir.path().join("subdir")).unwrap();
        let names: Vec<String> = scan_spool(dir.path())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["c", "a", "b", "x.srv"]);
        assert!(is_server_control("x.srv"));
        assert!(!is_server_control("srv"));
    }
}
