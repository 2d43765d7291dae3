//! Small helpers for error messages, shared by the transport and the transfers (so neither
//! needs the other for them).

use std::fmt;

use autotest_core::transport::TransportError;

use crate::exec::Finished;

/// A local or channel I/O error on `machine`.
pub(crate) fn io_error(machine: &str, what: &str, reason: impl fmt::Display) -> TransportError {
    TransportError::Io {
        machine: machine.to_owned(),
        what: what.to_owned(),
        reason: reason.to_string(),
    }
}

/// The error for a helper command on `machine` that did not succeed.
pub(crate) fn remote_error(machine: &str, what: &str, done: &Finished) -> TransportError {
    TransportError::Remote {
        machine: machine.to_owned(),
        what: what.to_owned(),
        outcome: done.outcome.clone(),
        stderr: tail(&done.stderr),
    }
}

/// A copy of `e` (the type is not `Clone`), for callers that share one failed connect.
pub(crate) fn clone_error(e: &TransportError) -> TransportError {
    match e {
        TransportError::Connect { machine, reason } => TransportError::Connect {
            machine: machine.clone(),
            reason: reason.clone(),
        },
        TransportError::Auth { machine, reason } => TransportError::Auth {
            machine: machine.clone(),
            reason: reason.clone(),
        },
        TransportError::HostKey { machine, reason } => TransportError::HostKey {
            machine: machine.clone(),
            reason: reason.clone(),
        },
        TransportError::Timeout {
            machine,
            what,
            secs,
        } => TransportError::Timeout {
            machine: machine.clone(),
            what: what.clone(),
            secs: *secs,
        },
        TransportError::Remote {
            machine,
            what,
            outcome,
            stderr,
        } => TransportError::Remote {
            machine: machine.clone(),
            what: what.clone(),
            outcome: outcome.clone(),
            stderr: stderr.clone(),
        },
        TransportError::Io {
            machine,
            what,
            reason,
        } => TransportError::Io {
            machine: machine.clone(),
            what: what.clone(),
            reason: reason.clone(),
        },
    }
}

/// The end of a stderr capture as text (the last 2000 bytes, trimmed).
pub(crate) fn tail(stderr: &[u8]) -> String {
    const KEEP: usize = 2000;
    let start = stderr.len().saturating_sub(KEEP);
    let text = String::from_utf8_lossy(&stderr[start..]);
    let text = text.trim();
    if start > 0 {
        format!("...{text}")
    } else {
        text.to_owned()
    }
}

/// A command line shortened for messages.
pub(crate) fn short(command: &str) -> String {
    const MAX: usize = 200;
    if command.len() <= MAX {
        return command.to_owned();
    }
    let mut end = MAX;
    while !command.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &command[..end])
}
