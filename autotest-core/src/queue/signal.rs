//! SIGTERM and SIGINT as a stop request for the front ends.

use tokio::signal::unix::{Signal, SignalKind, signal};

use super::QueueError;

/// SIGTERM and SIGINT, caught: once created (inside a tokio runtime), these signals no longer end
/// the process; [`TerminationSignal::recv`] waits for the next one. Front ends pass
/// `async move { sig.recv().await; }` as the `shutdown` future of [`monitor_queue`] or
/// [`start_all_queues`].
///
/// [`monitor_queue`]: crate::monitor_queue
/// [`start_all_queues`]: crate::start_all_queues
#[derive(Debug)]
pub struct TerminationSignal {
    term: Signal,
    int: Signal,
}

impl TerminationSignal {
    /// Installs the handlers. Must be called within a tokio runtime.
    pub fn new() -> Result<TerminationSignal, QueueError> {
        Ok(TerminationSignal {
            term: signal(SignalKind::terminate()).map_err(QueueError::Signal)?,
            int: signal(SignalKind::interrupt()).map_err(QueueError::Signal)?,
        })
    }

    /// Waits for SIGTERM or SIGINT and returns its name (`"SIGTERM"` or `"SIGINT"`).
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
