//! The errors of the queue monitor and of start-all-queues.

use std::io;
use std::path::PathBuf;

/// Errors of the queue monitor and of start-all-queues.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// A file or directory could not be read, written, moved or created.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done ("read the spool directory", "create the results directory", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The queue (spool) directory does not exist or is not a directory.
    #[error(
        "queue directory {path} does not exist or is not a directory: create it (its name is the machine, or list the machines in its .machines file)"
    )]
    QueueDirMissing {
        /// The queue directory.
        path: PathBuf,
    },
    /// `<top>/queue` does not exist.
    #[error(
        "{path} does not exist: start-all-queues expects <top>/queue/<queue>/ directories (create {path} and one directory per queue in it)"
    )]
    TopQueueDirMissing {
        /// `<top>/queue`.
        path: PathBuf,
    },
    /// Another monitor already watches this queue.
    #[error(
        "queue {queue} is already being watched by another monitor (it holds {lock}): stop that monitor first; two monitors on one queue would run jobs twice"
    )]
    AlreadyMonitored {
        /// The queue directory.
        queue: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The control file left the spool before it could be claimed (someone removed it).
    #[error("control file {path} disappeared from the spool before it could be claimed")]
    ControlFileGone {
        /// The control file.
        path: PathBuf,
    },
    /// No free results directory name (every `.<epoch>.<n>` suffix tried was taken).
    #[error(
        "no free results directory name for {base} (tried {tries} suffixes): clean up old results directories under its parent"
    )]
    ResultsNameExhausted {
        /// `<results>/<queue>-<control>`.
        base: PathBuf,
        /// How many names were tried.
        tries: u32,
    },
    /// A control file or queue name that is not valid UTF-8.
    #[error("{path}: the name is not valid UTF-8; rename it")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// autoserv could not be started.
    #[error(transparent)]
    Launch(#[from] crate::autoserv::LaunchError),
    /// The signal handlers for SIGTERM/SIGINT could not be installed.
    #[error("cannot install the SIGTERM/SIGINT handlers: {0}")]
    Signal(#[source] io::Error),
    /// A pidfile could not be read.
    #[error(transparent)]
    Pidfile(#[from] crate::pidfile::PidfileError),
}

impl QueueError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        QueueError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
