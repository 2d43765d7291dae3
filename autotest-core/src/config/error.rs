//! The errors of the configuration files.

use std::io;
use std::path::PathBuf;

/// Errors loading `global_config.ini` / `shadow_config.ini` or reading a value from them.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A config file could not be read.
    #[error("cannot read config file {path}: {source}; check the path and its permissions")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A line that is not INI.
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A value that does not convert to the type asked for.
    #[error(
        "{path}:{line}: [{section}] {key}: expected {expected}, got '{value}'; fix the value in that file"
    )]
    BadValue {
        /// The file the value came from (the global or the shadow config).
        path: PathBuf,
        /// 1-based line of the key.
        line: usize,
        /// The section.
        section: String,
        /// The option name (lower case).
        key: String,
        /// What was expected, e.g. "an integer".
        expected: &'static str,
        /// The value found (after interpolation).
        value: String,
    },
    /// A `%(name)s` reference that cannot be expanded.
    #[error("{path}:{line}: [{section}] {key}: {message}")]
    Interpolation {
        /// The file the value came from.
        path: PathBuf,
        /// 1-based line of the key.
        line: usize,
        /// The section.
        section: String,
        /// The option name (lower case).
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}
