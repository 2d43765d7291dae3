//! Pidfiles (`<resultsdir>/.autoserv_execute`, `.parser_execute`, `.archiver_execute`):
//! FORMATS §2.
//!
//! Line 1 is the pid, written when the process starts. When it exits, two more lines are
//! appended: the wait-style status `(exit_code << 8) | signal` and the number of failed tests.
//! One line means running, two mean the exit is being written (read again), three mean finished;
//! anything else is corrupt. A pidfile that says "running" while its process is gone belongs to a
//! process that died without writing its exit code: that is [`PidfileState::Lost`], never a
//! success.
//!
//! The pid is only meaningful on the machine that wrote the file; [`Pidfile::read_checked`] looks
//! the process up locally.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Errors reading or writing a pidfile. A pidfile with bad contents is not an error: it reads as
/// [`PidfileState::Corrupt`].
#[derive(Debug, thiserror::Error)]
pub enum PidfileError {
    /// The pidfile or its directory could not be read or written.
    #[error("pidfile {path}: {source}; check that the results directory exists and is writable")]
    Io {
        /// The pidfile.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// `write_finished` on a pidfile that does not exist.
    #[error(
        "pidfile {path} does not exist: write_started must record the pid before write_finished records the exit"
    )]
    NotStarted {
        /// The pidfile.
        path: PathBuf,
    },
    /// `write_finished` on a pidfile that is not exactly one pid line.
    #[error(
        "pidfile {path} cannot take an exit status because it is {found}: only a pidfile holding just the pid line can be finished; remove it if it is left over from an earlier run"
    )]
    NotRunning {
        /// The pidfile.
        path: PathBuf,
        /// What the file holds instead (e.g. "already finished").
        found: String,
    },
    /// A pid of 0 or above `i32::MAX`.
    #[error("cannot write pid {pid} to pidfile {path}: a pid must be between 1 and {max}", max = i32::MAX)]
    InvalidPid {
        /// The pidfile.
        path: PathBuf,
        /// The pid given.
        pid: u32,
    },
}

/// How a process ended, decoded from a wait-style status `(exit_code << 8) | signal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ProcessExit {
    /// The process exited with this code (0-255).
    Code(i32),
    /// The process was killed by this signal.
    Signal(i32),
}

impl ProcessExit {
    /// Decodes a wait-style status: the low 7 bits are the signal (0 = none), bits 8-15 the exit
    /// code. The core-dump bit (0x80) is ignored.
    pub fn from_wait_status(status: i32) -> ProcessExit {
        let signal = status & 0x7f;
        if signal != 0 {
            ProcessExit::Signal(signal)
        } else {
            ProcessExit::Code((status >> 8) & 0xff)
        }
    }

    /// The wait-style status written to line 2 of a pidfile.
    pub fn wait_status(self) -> i32 {
        match self {
            ProcessExit::Code(code) => (code & 0xff) << 8,
            ProcessExit::Signal(signal) => signal & 0x7f,
        }
    }

    /// True for exit code 0.
    pub fn success(self) -> bool {
        self == ProcessExit::Code(0)
    }
}

impl From<std::process::ExitStatus> for ProcessExit {
    fn from(status: std::process::ExitStatus) -> ProcessExit {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => ProcessExit::Code(code),
            (None, Some(signal)) => ProcessExit::Signal(signal),
            (None, None) => ProcessExit::from_wait_status(status.into_raw()),
        }
    }
}

impl fmt::Display for ProcessExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessExit::Code(code) => write!(f, "exit code {code}"),
            ProcessExit::Signal(signal) => write!(f, "killed by signal {signal}"),
        }
    }
}

/// What a pidfile says about its process.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PidfileState {
    /// One line: the process started and has not finished.
    Running {
        /// The process id.
        pid: u32,
    },
    /// Two lines: the exit is being written; read the file again.
    BeingWritten {
        /// The process id.
        pid: u32,
        /// The wait-style status already written.
        status: i32,
    },
    /// Three lines: the process finished.
    Finished {
        /// The process id.
        pid: u32,
        /// How it ended.
        exit_status: ProcessExit,
        /// Number of failed tests it reported.
        failed_tests: u32,
    },
    /// The pidfile said "running" but the process is gone: it died without writing its exit code.
    /// Only [`Pidfile::read_checked`] and [`PidfileState::check_process`] produce this.
    Lost {
        /// The process id that is gone.
        pid: u32,
    },
    /// The contents fit none of the above.
    Corrupt {
        /// What is wrong, with the line number.
        reason: String,
    },
}

impl PidfileState {
    /// Parses pidfile contents. Never fails: bad contents give [`PidfileState::Corrupt`].
    ///
    /// Lines may carry surrounding whitespace (and `\r`); a final newline is optional.
    pub fn parse(contents: &str) -> PidfileState {
        let lines: Vec<&str> = contents.lines().collect();
        let corrupt = |reason: String| PidfileState::Corrupt { reason };
        if lines.is_empty() {
            return corrupt("the file is empty; line 1 should hold the pid".to_owned());
        }
        if lines.len() > 3 {
            return corrupt(format!(
                "{} lines; a pidfile has at most 3 (pid, exit status, failed-test count)",
                lines.len()
            ));
        }
        let pid = match lines[0].trim().parse::<u32>() {
            Ok(pid) if pid >= 1 && pid <= i32::MAX as u32 => pid,
            _ => {
                return corrupt(format!(
                    "line 1: {:?} is not a pid (expected a positive integer)",
                    lines[0]
                ));
            }
        };
        if lines.len() == 1 {
            return PidfileState::Running { pid };
        }
        let Ok(status) = lines[1].trim().parse::<i32>() else {
            return corrupt(format!(
                "line 2: {:?} is not an exit status (expected an integer, (exit_code << 8) | signal)",
                lines[1]
            ));
        };
        if lines.len() == 2 {
            return PidfileState::BeingWritten { pid, status };
        }
        let Ok(failed_tests) = lines[2].trim().parse::<u32>() else {
            return corrupt(format!(
                "line 3: {:?} is not a failed-test count (expected a non-negative integer)",
                lines[2]
            ));
        };
        PidfileState::Finished {
            pid,
            exit_status: ProcessExit::from_wait_status(status),
            failed_tests,
        }
    }

    /// Classifies a [`PidfileState::Running`] state whose process no longer exists (on this
    /// machine) as [`PidfileState::Lost`]; every other state is returned unchanged.
    ///
    /// Beware the race with a process that writes its exit and ends between the read and this
    /// check: [`Pidfile::read_checked`] reads the file again before deciding.
    pub fn check_process(self) -> PidfileState {
        match self {
            PidfileState::Running { pid } if !process_exists(pid) => PidfileState::Lost { pid },
            other => other,
        }
    }

    /// The pid, for every state but [`PidfileState::Corrupt`].
    pub fn pid(&self) -> Option<u32> {
        match self {
            PidfileState::Running { pid }
            | PidfileState::BeingWritten { pid, .. }
            | PidfileState::Finished { pid, .. }
            | PidfileState::Lost { pid } => Some(*pid),
            PidfileState::Corrupt { .. } => None,
        }
    }
}

/// True when a process with this pid exists on this machine (`kill(pid, 0)` does not fail with
/// `ESRCH`). A process owned by another user (`EPERM`) exists.
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        // kill(0 or negative, ..) addresses process groups, never a single process.
        return false;
    }
    // SAFETY: kill with signal 0 sends nothing; it only checks that the pid exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// A pidfile on disk: where it is, and how to read and write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pidfile {
    path: PathBuf,
}

impl Pidfile {
    /// File name of autoserv's pidfile in a results directory.
    pub const AUTOSERV: &'static str = ".autoserv_execute";
    /// File name of the parser's pidfile in a results directory.
    pub const PARSER: &'static str = ".parser_execute";
    /// File name of the archiver's pidfile in a results directory.
    pub const ARCHIVER: &'static str = ".archiver_execute";

    /// A pidfile at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Pidfile {
        Pidfile { path: path.into() }
    }

    /// `<results_dir>/.autoserv_execute`.
    pub fn autoserv(results_dir: impl AsRef<Path>) -> Pidfile {
        Pidfile::new(results_dir.as_ref().join(Self::AUTOSERV))
    }

    /// `<results_dir>/.parser_execute`.
    pub fn parser(results_dir: impl AsRef<Path>) -> Pidfile {
        Pidfile::new(results_dir.as_ref().join(Self::PARSER))
    }

    /// `<results_dir>/.archiver_execute`.
    pub fn archiver(results_dir: impl AsRef<Path>) -> Pidfile {
        Pidfile::new(results_dir.as_ref().join(Self::ARCHIVER))
    }

    /// Where the pidfile is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the pidfile. `Ok(None)` when it does not exist (the process has not started).
    pub fn read(&self) -> Result<Option<PidfileState>, PidfileError> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(match String::from_utf8(bytes) {
                Ok(text) => PidfileState::parse(&text),
                Err(_) => PidfileState::Corrupt {
                    reason: "the file is not text (invalid UTF-8)".to_owned(),
                },
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Reads the pidfile and, when it says "running" but the process is gone, reads it once more
    /// (the process may have written its exit just before ending) and then reports
    /// [`PidfileState::Lost`]. A two-line pidfile whose process is gone stays two lines forever,
    /// so it is reported as [`PidfileState::Corrupt`] instead of "read again".
    pub fn read_checked(&self) -> Result<Option<PidfileState>, PidfileError> {
        let Some(state) = self.read()? else {
            return Ok(None);
        };
        let pid = match state {
            PidfileState::Running { pid } | PidfileState::BeingWritten { pid, .. } => pid,
            other => return Ok(Some(other)),
        };
        if process_exists(pid) {
            return Ok(Some(state));
        }
        Ok(match self.read()? {
            None => None,
            Some(PidfileState::Running { pid }) => Some(PidfileState::Lost { pid }),
            Some(PidfileState::BeingWritten { pid, status }) => Some(PidfileState::Corrupt {
                reason: format!(
                    "process {pid} is gone after writing its exit status ({}) but before the failed-test count (line 3)",
                    ProcessExit::from_wait_status(status)
                ),
            }),
            Some(other) => Some(other),
        })
    }

    /// Records that process `pid` started: writes `<pid>\n` to a temporary file next to the
    /// pidfile, syncs it and renames it into place, so a reader never sees a half-written pid.
    /// Replaces a pidfile left from an earlier run.
    pub fn write_started(&self, pid: u32) -> Result<(), PidfileError> {
        if pid == 0 || pid > i32::MAX as u32 {
            return Err(PidfileError::InvalidPid {
                path: self.path.clone(),
                pid,
            });
        }
        let mut tmp_name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        tmp_name.push(format!(".tmp.{}", std::process::id()));
        let tmp = self.path.with_file_name(tmp_name);
        let result = (|| {
            let mut file = File::create(&tmp)?;
            file.write_all(format!("{pid}\n").as_bytes())?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            sync_parent(&self.path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| self.io(e))
    }

    /// Records how the process ended and how many tests failed: appends
    /// `<wait status>\n<failed tests>\n` in one write and syncs it. The pidfile must hold exactly
    /// the pid line.
    pub fn write_finished(&self, exit: ProcessExit, failed_tests: u32) -> Result<(), PidfileError> {
        match self.read()? {
            None => {
                return Err(PidfileError::NotStarted {
                    path: self.path.clone(),
                });
            }
            Some(PidfileState::Running { .. }) => {}
            Some(other) => {
                let found = match other {
                    PidfileState::BeingWritten { .. } => "already being finished".to_owned(),
                    PidfileState::Finished { .. } => "already finished".to_owned(),
                    PidfileState::Corrupt { reason } => format!("corrupt ({reason})"),
                    PidfileState::Running { .. } | PidfileState::Lost { .. } => {
                        "not running".to_owned()
                    }
                };
                return Err(PidfileError::NotRunning {
                    path: self.path.clone(),
                    found,
                });
            }
        }
        let mut file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        // A pid line written by another tool may lack its newline.
        let needs_newline = fs::read(&self.path)
            .map(|b| !b.ends_with(b"\n"))
            .unwrap_or(false);
        let text = format!(
            "{}{}\n{}\n",
            if needs_newline { "\n" } else { "" },
            exit.wait_status(),
            failed_tests
        );
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io(e))
    }

    fn io(&self, source: io::Error) -> PidfileError {
        PidfileError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// Syncs the directory holding `path` so a rename into it survives a crash.
fn sync_parent(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corrupt(s: &str) -> bool {
        matches!(PidfileState::parse(s), PidfileState::Corrupt { .. })
    }

    #[test]
    fn running() {
        assert_eq!(
            PidfileState::parse("1234\n"),
            PidfileState::Running { pid: 1234 }
        );
        assert_eq!(
            PidfileState::parse("  1234 \r\n"),
            PidfileState::Running { pid: 1234 }
        );
        assert_eq!(
            PidfileState::parse("1234"),
            PidfileState::Running { pid: 1234 }
        );
    }

    #[test]
    fn being_written() {
        assert_eq!(
            PidfileState::parse("1234\n256\n"),
            PidfileState::BeingWritten {
                pid: 1234,
                status: 256
            }
        );
    }

    #[test]
    fn finished_with_code_and_signal() {
        assert_eq!(
            PidfileState::parse("1234\n0\n0\n"),
            PidfileState::Finished {
                pid: 1234,
                exit_status: ProcessExit::Code(0),
                failed_tests: 0
            }
        );
        assert_eq!(
            PidfileState::parse("1234\n256\n3\n"),
            PidfileState::Finished {
                pid: 1234,
                exit_status: ProcessExit::Code(1),
                failed_tests: 3
            }
        );
        assert_eq!(
            PidfileState::parse("1234\n9\n0\n"),
            PidfileState::Finished {
                pid: 1234,
                exit_status: ProcessExit::Signal(9),
                failed_tests: 0
            }
        );
        // Core dump bit set with SIGSEGV.
        assert_eq!(
            PidfileState::parse("77\n139\n1"),
            PidfileState::Finished {
                pid: 77,
                exit_status: ProcessExit::Signal(11),
                failed_tests: 1
            }
        );
    }

    #[test]
    fn corrupt_inputs() {
        assert!(corrupt(""));
        assert!(corrupt("\n"));
        assert!(corrupt("abc\n"));
        assert!(corrupt("0\n"));
        assert!(corrupt("-5\n"));
        assert!(corrupt("99999999999\n"));
        assert!(corrupt("12 34\n"));
        assert!(corrupt("1234\nexit\n"));
        assert!(corrupt("1234\n0\nmany\n"));
        assert!(corrupt("1234\n0\n-1\n"));
        assert!(corrupt("1234\n0\n0\n0\n"));
        assert!(corrupt("1234\n\n"));
        match PidfileState::parse("1234\n0\n0\nextra\n") {
            PidfileState::Corrupt { reason } => assert!(reason.contains("4 lines"), "{reason}"),
            other => panic!("{other:?}"),
        }
        match PidfileState::parse("1234\nx\n") {
            PidfileState::Corrupt { reason } => assert!(reason.contains("line 2"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wait_status_round_trip() {
        for exit in [
            ProcessExit::Code(0),
            ProcessExit::Code(1),
            ProcessExit::Code(5),
            ProcessExit::Code(255),
            ProcessExit::Signal(9),
            ProcessExit::Signal(15),
        ] {
            assert_eq!(ProcessExit::from_wait_status(exit.wait_status()), exit);
        }
        assert!(ProcessExit::Code(0).success());
        assert!(!ProcessExit::Signal(9).success());
    }

    #[test]
    fn std_exit_status_converts() {
        use std::os::unix::process::ExitStatusExt;
        let s = std::process::ExitStatus::from_raw(3 << 8);
        assert_eq!(ProcessExit::from(s), ProcessExit::Code(3));
        let s = std::process::ExitStatus::from_raw(9);
        assert_eq!(ProcessExit::from(s), ProcessExit::Signal(9));
    }

    #[test]
    fn lost_when_process_is_gone() {
        // Our own process exists.
        let me = std::process::id();
        assert_eq!(
            PidfileState::Running { pid: me }.check_process(),
            PidfileState::Running { pid: me }
        );
        // A child that has exited and been reaped no longer exists.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert_eq!(
            PidfileState::Running { pid }.check_process(),
            PidfileState::Lost { pid }
        );
        // Other states are left alone.
        let fin = PidfileState::Finished {
            pid,
            exit_status: ProcessExit::Code(0),
            failed_tests: 0,
        };
        assert_eq!(fin.clone().check_process(), fin);
    }

    #[test]
    fn write_and_read_cycle() {
        let dir = tempfile::tempdir().unwrap();
        let pf = Pidfile::autoserv(dir.path());
        assert_eq!(pf.read().unwrap(), None);
        assert!(matches!(
            pf.write_finished(ProcessExit::Code(0), 0),
            Err(PidfileError::NotStarted { .. })
        ));
        let me = std::process::id();
        pf.write_started(me).unwrap();
        assert_eq!(
            pf.read_checked().unwrap(),
            Some(PidfileState::Running { pid: me })
        );
        pf.write_finished(ProcessExit::Code(1), 2).unwrap();
        assert_eq!(
            fs::read_to_string(pf.path()).unwrap(),
            format!("{me}\n256\n2\n")
        );
        assert_eq!(
            pf.read().unwrap(),
            Some(PidfileState::Finished {
                pid: me,
                exit_status: ProcessExit::Code(1),
                failed_tests: 2
            })
        );
        let err = pf.write_finished(ProcessExit::Code(0), 0).unwrap_err();
        assert!(err.to_string().contains("already finished"), "{err}");
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn read_checked_reports_lost_and_dead_half_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let pf = Pidfile::parser(dir.path());
        pf.write_started(pid).unwrap();
        assert_eq!(pf.read_checked().unwrap(), Some(PidfileState::Lost { pid }));
        fs::write(pf.path(), format!("{pid}\n0\n")).unwrap();
        assert!(matches!(
            pf.read_checked().unwrap(),
            Some(PidfileState::Corrupt { .. })
        ));
    }

    #[test]
    fn write_started_rejects_bad_pid_and_missing_dir() {
        let dir = tempfile::tempdir().unwrap();
        let pf = Pidfile::archiver(dir.path());
        assert!(matches!(
            pf.write_started(0),
            Err(PidfileError::InvalidPid { .. })
        ));
        let pf = Pidfile::autoserv(dir.path().join("missing"));
        let err = pf.write_started(1).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn write_finished_adds_missing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let pf = Pidfile::autoserv(dir.path());
        fs::write(pf.path(), "42").unwrap();
        pf.write_finished(ProcessExit::Signal(9), 0).unwrap();
        assert_eq!(fs::read_to_string(pf.path()).unwrap(), "42\n9\n0\n");
    }
}
