//! One machine's server-side status log, written by two parties at once: the client runtime's
//! status stream and autoserv itself (console warnings, hard resets). Lines are whole and in
//! order, and autoserv's own lines land at the depth of the group open at that moment (inside
//! the test that was running when the kernel oopsed, inside the reboot group for a hard reset).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use crate::status::{StatusCode, StatusEntry, StatusLineKind};

/// Appends to a status log and tracks the nesting depth of what was written.
#[derive(Debug)]
pub(crate) struct StatusSink {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    file: File,
    /// Depth (tabs) at which the next line inside the innermost open group goes.
    depth: usize,
}

impl StatusSink {
    /// Opens `path` for appending; lines autoserv adds before any group opened go at `base`.
    pub(crate) fn open(path: &Path, base: usize) -> std::io::Result<StatusSink> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(StatusSink {
            state: Mutex::new(State { file, depth: base }),
        })
    }

    /// Writes a complete status line as the client produced it (already indented, ending in a
    /// newline) and follows its START/END to know the current depth.
    pub(crate) fn client_line(&self, line: &[u8]) -> std::io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let tabs = line.iter().take_while(|b| **b == b'\t').count();
        let rest = &line[tabs..];
        if rest.starts_with(b"START\t") {
            st.depth = tabs + 1;
        } else if rest.starts_with(b"END ") || rest.starts_with(b"END\t") {
            st.depth = tabs;
        }
        st.file.write_all(line)
    }

    /// Writes one of autoserv's own status lines inside the group open now.
    pub(crate) fn record(&self, code: StatusCode, operation: &str, message: &str) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let line = StatusEntry::new(StatusLineKind::Status(code), None, Some(operation), message)
            .stamped(epoch)
            .render(st.depth);
        if let Err(e) = st.file.write_all(line.as_bytes()) {
            tracing::warn!(error = %e, operation, "could not write to the status log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_lines_follow_the_clients_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.log");
        let sink = StatusSink::open(&path, 0).unwrap();
        sink.client_line(b"START\t----\t----\ttimestamp=1\n")
            .unwrap();
        sink.client_line(b"\tSTART\t----\treboot\ttimestamp=1\n")
            .unwrap();
        sink.record(StatusCode::Good, "reboot.start", "hard reset");
        sink.client_line(b"\tEND GOOD\t----\treboot\ttimestamp=2\n")
            .unwrap();
        sink.record(StatusCode::Warn, "console", "Oops");
        sink.client_line(b"END GOOD\t----\t----\ttimestamp=3\n")
            .unwrap();
        sink.record(StatusCode::Warn, "console", "late");
        let depths: Vec<(usize, String)> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| {
                let t = l.chars().take_while(|c| *c == '\t').count();
                (
                    t,
                    l.trim_start()
                        .split('\t')
                        .take(3)
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            })
            .collect();
        assert_eq!(
            depths[2..]
                .iter()
                .map(|(d, s)| (*d, s.as_str()))
                .collect::<Vec<_>>(),
            [
                (2, "GOOD ---- reboot.start"),
                (1, "END GOOD ---- reboot"),
                (1, "WARN ---- console"),
                (0, "END GOOD ---- ----"),
                (0, "WARN ---- console")
            ]
        );
    }
}
