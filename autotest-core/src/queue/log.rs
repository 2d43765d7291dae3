//! `<queue>/.log`: the monitor's log, appended one timestamped line at a time.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::QUEUE_LOG_FILE;

/// How serious a log line is (it is also the level of its `tracing` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Info,
    Warn,
    Error,
}

/// Appends lines `YYYY-MM-DD HH:MM:SS <message>` to `<queue>/.log`; each line is one `write` on
/// a file opened for appending, so lines of several writers never interleave. A log that cannot
/// be written is reported through `tracing` and does not stop the monitor.
#[derive(Debug, Clone)]
pub(crate) struct QueueLog {
    path: PathBuf,
    queue: String,
}

impl QueueLog {
    pub fn new(queue_dir: &Path, queue: &str) -> QueueLog {
        QueueLog {
            path: queue_dir.join(QUEUE_LOG_FILE),
            queue: queue.to_owned(),
        }
    }

    pub fn info(&self, message: impl AsRef<str>) {
        self.write(Level::Info, message.as_ref());
    }

    pub fn warn(&self, message: impl AsRef<str>) {
        self.write(Level::Warn, message.as_ref());
    }

    pub fn error(&self, message: impl AsRef<str>) {
        self.write(Level::Error, message.as_ref());
    }

    pub fn write(&self, level: Level, message: &str) {
        match level {
            Level::Info => tracing::info!(queue = %self.queue, "{message}"),
            Level::Warn => tracing::warn!(queue = %self.queue, "{message}"),
            Level::Error => tracing::error!(queue = %self.queue, "{message}"),
        }
        let prefix = match level {
            Level::Info => "",
            Level::Warn => "warning: ",
            Level::Error => "error: ",
        };
        let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
        // One line per event: newlines inside a message become "; ".
        let message = message.trim_end().replace('\n', "; ");
        let line = format!("{now} {prefix}{message}\n");
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            tracing::error!(queue = %self.queue, log = %self.path.display(), error = %e, "cannot append to the queue log");
        }
    }
}
