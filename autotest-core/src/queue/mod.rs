//! The queue server (seed 1, FORMATS §1): `monitor-queue` and `start-all-queues`.
//!
//! A queue is a spool directory `<top>/queue/<queue>/`. Every file in it whose name does not
//! start with `.` is a control file waiting to run (`*.srv`: a server control file; anything else:
//! a client control file). A queue monitor runs them one at a time, oldest first (modification
//! time, then name), each through its own `autotest autoserv` process; many queues run at once
//! under [`start_all_queues`], which supervises one monitor per queue directory in one process.
//!
//! [`monitor_queue`] documents how a monitor picks up, claims, runs and records jobs, its log,
//! restart and stop; [`start_all_queues`] how queues are supervised together.

mod claim;
mod launch;
mod log;
mod monitor;
mod signal;
mod spool;
mod supervisor;
mod watch;

use std::io;
use std::path::PathBuf;

pub use claim::{
    ClaimedJob, claim_control_file, create_results_dir, move_control_file, results_dir_base,
};
pub use monitor::{MonitorOptions, QueueMonitorConfig, monitor_queue};
pub use signal::TerminationSignal;
pub use spool::{SpoolEntry, is_server_control, scan_spool};
pub use supervisor::{StartAllQueuesConfig, conmux_config_path, start_all_queues};

/// File name of a queue's log, in the queue directory.
pub const QUEUE_LOG_FILE: &str = ".log";

/// File name, in a job's results directory, of the monitor's record of the job (keyval lines:
/// `queue=`, `control=`, `claimed=`, then `autoserv_pid=`, `started=`, and at the end
/// `finished=`, `outcome=`).
pub const QUEUE_JOB_FILE: &str = ".queue_job";

/// File name of the lock a monitor holds in its queue directory.
pub const QUEUE_LOCK_FILE: &str = ".monitor.lock";

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
    /// The autoserv program could not be started.
    #[error(
        "cannot start autoserv ({program}): {source}; check that the program exists and is executable (the monitor runs its own executable unless configured otherwise)"
    )]
    AutoservStart {
        /// The program.
        program: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The signal handlers for SIGTERM/SIGINT could not be installed.
    #[error("cannot install the SIGTERM/SIGINT handlers: {0}")]
    Signal(#[source] io::Error),
    /// A pidfile could not be read.
    #[error(transparent)]
    Pidfile(#[from] crate::PidfileError),
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
