//! The mirror's errors: [`MirrorError`] stops a run; [`MirrorProblem`] is one queue, control
//! file or line that could not be used while the rest of the run went on.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Errors that stop a mirror run.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// A file or directory could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The clients file is missing (nothing could be queued, so the run does not record releases).
    #[error(
        "clients file {path} does not exist: create it with lines '<queue> <control file> [<control file>...]' or name another with -c"
    )]
    ClientsFileMissing {
        /// The file.
        path: PathBuf,
    },
    /// The state file is not what this program writes.
    #[error(
        "{path}:{line}: the mirror state file is damaged ({message}); fix it, or move it aside to start again (every release then in the mirror directory counts as handled)"
    )]
    CorruptState {
        /// The state file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// Another mirror run holds the lock.
    #[error(
        "another mirror run is working (it holds {lock}); wait for it to finish, or give this run its own --state"
    )]
    Locked {
        /// The lock file.
        lock: PathBuf,
    },
    /// A release pattern that does not compile or has no version group.
    #[error("release pattern '{pattern}' is not usable: {message}")]
    BadPattern {
        /// The pattern as given.
        pattern: String,
        /// Why.
        message: String,
    },
    /// A local source directory that does not exist.
    #[error(
        "source {origin} is neither an rsync URL (rsync://host/module/...) nor an existing directory; fix --source or [MIRROR] source"
    )]
    SourceMissing {
        /// The source as given.
        origin: String,
    },
    /// rsync is not installed.
    #[error("rsync is not installed (or not on PATH): install it, e.g. apt-get install rsync")]
    RsyncMissing,
    /// rsync failed.
    #[error("rsync from {origin} failed ({status}): {output}")]
    Rsync {
        /// The source.
        origin: String,
        /// Its exit status.
        status: String,
        /// The last lines it printed.
        output: String,
    },
    /// The run was stopped (SIGTERM) while syncing; nothing was queued by it.
    #[error("stopped while syncing; nothing was queued by this run")]
    Stopped,
    /// A mail address that does not parse.
    #[error("'{address}' is not a mail address ({message}); write -e a@example.org,b@example.org")]
    BadAddress {
        /// The address as given.
        address: String,
        /// Why.
        message: String,
    },
    /// The release mail could not be sent (the jobs were queued all the same).
    #[error(
        "cannot send the release mail through SMTP server {server}: {message}; check [MIRROR] smtp_server in global_config.ini (default localhost:25). The releases were queued all the same"
    )]
    Mail {
        /// `host:port`.
        server: String,
        /// Why.
        message: String,
    },
}

impl MirrorError {
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> MirrorError {
        MirrorError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// Something a run could not do for one queue, one control file or one line, reported while
/// the other queues still get their jobs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MirrorProblem {
    /// The file at fault (the clients file, the config mapping, a control file, a queue file).
    pub file: PathBuf,
    /// 1-based line in `file`, when the problem is one line.
    pub line: Option<usize>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl MirrorProblem {
    pub(crate) fn at(file: &Path, line: usize, message: String) -> MirrorProblem {
        MirrorProblem {
            file: file.to_owned(),
            line: Some(line),
            message,
        }
    }

    pub(crate) fn file(file: &Path, message: String) -> MirrorProblem {
        MirrorProblem {
            file: file.to_owned(),
            line: None,
            message,
        }
    }
}

impl fmt::Display for MirrorProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}
