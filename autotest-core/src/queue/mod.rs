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
mod error;
mod launch;
mod log;
mod monitor;
mod recovery;
mod signal;
mod spool;
mod supervisor;
mod watch;

pub use error::QueueError;

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
pub const QUEUE_JOB_FILE: &str = crate::results::JobResults::QUEUE_JOB;

/// File name of the lock a monitor holds in its queue directory.
pub const QUEUE_LOCK_FILE: &str = ".monitor.lock";
