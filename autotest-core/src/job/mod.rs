//! The client job engine: what `autotest run` keeps on disk while a control file runs.

mod client;
mod error;
mod state;

pub use client::{ClientJob, JobOptions, JobStart, current_boot_id};
pub use error::JobError;
pub use state::{JobState, OpenGroup, PendingReboot, Step};
