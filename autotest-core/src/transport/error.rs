//! The errors of talking to machines.

use super::ExitOutcome;

/// Errors talking to a machine. Every variant names the machine.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The machine could not be reached.
    #[error("{machine}: cannot connect: {reason}")]
    Connect {
        /// The machine.
        machine: String,
        /// Why.
        reason: String,
    },
    /// The machine refused our credentials.
    #[error("{machine}: authentication failed: {reason}")]
    Auth {
        /// The machine.
        machine: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The machine's host key is unknown or changed.
    #[error("{machine}: host key refused: {reason}")]
    HostKey {
        /// The machine.
        machine: String,
        /// Why, and what to do.
        reason: String,
    },
    /// A command or transfer did not finish in time (it was stopped).
    #[error("{machine}: {what} timed out after {secs} s")]
    Timeout {
        /// The machine.
        machine: String,
        /// What timed out.
        what: String,
        /// The limit.
        secs: u64,
    },
    /// A transfer or helper command failed on the machine.
    #[error("{machine}: {what} failed ({outcome}): {stderr}")]
    Remote {
        /// The machine.
        machine: String,
        /// What was being done.
        what: String,
        /// How the command ended.
        outcome: ExitOutcome,
        /// The end of its stderr.
        stderr: String,
    },
    /// A local or channel I/O error.
    #[error("{machine}: {what}: {reason}")]
    Io {
        /// The machine.
        machine: String,
        /// What was being done.
        what: String,
        /// The cause.
        reason: String,
    },
}
