//! The errors of autoserv (a machine's problems are its outcome, not an error).

use std::path::{Path, PathBuf};

/// Errors of autoserv: the job could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum AutoservError {
    /// A results-side file could not be written.
    #[error("{path}: {reason}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        reason: String,
    },
    /// The job cannot be run as asked.
    #[error("{0}")]
    Usage(String),
    /// `global_config.ini` (or `shadow_config.ini`) has a bad value.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The pidfile could not be written.
    #[error(transparent)]
    Pidfile(#[from] crate::pidfile::PidfileError),
    /// A machine list file (`-M`) could not be read or has a bad line.
    #[error(transparent)]
    Machines(#[from] crate::machines::MachinesError),
}

impl AutoservError {
    pub(crate) fn io(path: &Path, e: impl std::fmt::Display) -> Self {
        AutoservError::Io {
            path: path.to_owned(),
            reason: e.to_string(),
        }
    }
}
