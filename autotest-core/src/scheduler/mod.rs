//! The distributed scheduler's pure core: which queued entries and special tasks start on
//! which hosts, decided from a [`Snapshot`] of the lab database with no I/O, so that the rules
//! are tested and measured alone. The loop that reads the store, starts autoserv on drones and
//! moves entries through their states is built on top of it.

mod assign;
mod daemon;
mod lock;
mod service;
mod wake;

pub use assign::{
    Assignment, Decisions, Snapshot, SnapshotEntry, SnapshotHost, SnapshotJob, SnapshotLabel,
    SnapshotTask, Start, TaskStart, assign,
};
pub use daemon::{
    SchedulerConfig, SchedulerError, lock_sqlite_scheduler, run_scheduler, wake_on_sqlite_writes,
};
pub use lock::{SchedulerLock, WhenHeld, acquire_scheduler_lock};
pub use service::serve_scheduler;
pub use wake::{PgWake, wake_on_postgres_notify};

#[cfg(test)]
mod tests;
