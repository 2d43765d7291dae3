use std::path::{Path, PathBuf};

/// Errors of the client job engine.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A file of the job could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The state file exists but cannot be understood.
    #[error("state file {path} is corrupt ({reason}): remove it to start the job afresh")]
    CorruptState {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Two tests would write into the same results subdirectory.
    #[error(
        "results subdirectory {subdir:?} is already used by an earlier test of this job: give this run_test a distinct tag= "
    )]
    DuplicateSubdir {
        /// The subdirectory.
        subdir: String,
    },
    /// A subdirectory name that would escape the results directory.
    #[error(
        "invalid results subdirectory {subdir:?}: it must be a relative name without '..' or '/'-leading parts"
    )]
    InvalidSubdir {
        /// The subdirectory.
        subdir: String,
    },
    /// `end_group` with no group open.
    #[error("END {operation} recorded with no group open: every END needs an earlier START")]
    NoOpenGroup {
        /// The operation of the stray END.
        operation: String,
    },
    /// The results directory holds a job that is still going (steps left) and `--continue` was not
    /// what the caller asked for.
    #[error("{0}")]
    Usage(String),
    /// A keyval could not be written.
    #[error(transparent)]
    Keyval(#[from] crate::keyval::KeyvalError),
}

impl JobError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> JobError {
        JobError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
