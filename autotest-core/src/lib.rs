//! autotest-core: the engine of autotest-rs.
//!
//! Legacy formats (status log, keyvals, pidfiles, `.machines`, control-file metadata,
//! `global_config.ini`) and the client job engine. Front ends (the CLI, the Python module) only
//! translate to and from these calls. This crate never prints and never exits.

mod config;
mod control_meta;
mod job;
pub mod keyval;
mod machines;
mod pidfile;
mod status;

pub use config::*;
pub use control_meta::*;
pub use job::{
    ClientJob, JobError, JobOptions, JobStart, JobState, OpenGroup, PendingReboot, Step,
    current_boot_id,
};
pub use machines::*;
pub use pidfile::*;
pub use status::*;
