//! Logging a machine's console into the job's results: every byte into `console.log`, and the
//! kernel's distress signals (panic, oops, BUG, soft lockup, ...) as WARN lines in the status log
//! at the moment they appear, so a test that "passed" while the kernel oopsed says so.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::task::JoinHandle;

use super::console::Console;
use super::status_sink::StatusSink;
use crate::status::StatusCode;

/// How long to wait before opening a console again after it failed or dropped.
const REOPEN_AFTER: Duration = Duration::from_secs(2);
/// Most WARN lines one job's console adds (a panic prints dozens of matching lines; the log
/// keeps all of them).
const MAX_WARNINGS: u32 = 20;
/// Longest console line quoted in a WARN line.
const MAX_QUOTE: usize = 200;

/// What the kernel prints when something went wrong, the first match naming the problem.
/// Order matters: the more specific pattern first.
const PATTERNS: &[(&str, &str)] = &[
    ("Kernel panic - not syncing", "kernel panic"),
    ("BUG: soft lockup", "soft lockup"),
    ("kernel BUG at", "kernel BUG"),
    ("BUG: ", "kernel BUG"),
    ("Oops: ", "oops"),
    ("general protection fault", "general protection fault"),
    ("detected stall", "RCU stall"),
    ("blocked for more than", "hung task"),
    ("WARNING: CPU: ", "kernel warning"),
];

/// The problem a console line reports, if any (`"Kernel panic - not syncing: ..."` → `kernel
/// panic`).
pub(crate) fn console_warning(line: &str) -> Option<&'static str> {
    PATTERNS
        .iter()
        .find(|(p, _)| line.contains(p))
        .map(|(_, what)| *what)
}

/// Logs one machine's console until dropped.
#[derive(Debug)]
pub(crate) struct ConsoleLogger {
    task: JoinHandle<()>,
}

impl ConsoleLogger {
    /// Starts logging `machine`'s console into `<dir>/console.log` and WARN lines into `sink`.
    pub(crate) fn start(
        console: Arc<dyn Console>,
        machine: &str,
        dir: &Path,
        sink: Arc<StatusSink>,
    ) -> Self {
        let machine = machine.to_owned();
        let path = dir.join("console.log");
        ConsoleLogger {
            task: tokio::spawn(async move { follow(console, machine, path, sink).await }),
        }
    }
}

impl Drop for ConsoleLogger {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn stamp() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

async fn follow(console: Arc<dyn Console>, machine: String, path: PathBuf, sink: Arc<StatusSink>) {
    let mut log = match OpenOptions::new().create(true).append(true).open(&path) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(%machine, path = %path.display(), error = %e, "cannot write the console log");
            return;
        }
    };
    let mut warnings = 0u32;
    let mut last_error = String::new();
    loop {
        match console.open_log(&machine).await {
            Ok(None) => return,
            Ok(Some(mut stream)) => {
                last_error.clear();
                let _ = writeln!(
                    log,
                    "\n--- {} autoserv: console of {machine} attached ---",
                    stamp()
                );
                let mut line = Vec::new();
                let mut buf = vec![0u8; 16 * 1024];
                let why = loop {
                    match stream.read(&mut buf).await {
                        Ok(0) => break "the console closed".to_owned(),
                        Ok(n) => {
                            let _ = log.write_all(&buf[..n]);
                            for &b in &buf[..n] {
                                if b != b'\n' {
                                    line.push(b);
                                    continue;
                                }
                                scan(&line, &machine, &sink, &mut warnings);
                                line.clear();
                            }
                        }
                        Err(e) => break format!("reading the console failed: {e}"),
                    }
                };
                scan(&line, &machine, &sink, &mut warnings);
                let _ = writeln!(
                    log,
                    "\n--- {} autoserv: {why}; opening it again ---",
                    stamp()
                );
            }
            Err(why) => {
                if why != last_error {
                    tracing::warn!(%machine, %why, "cannot open the console");
                    let _ = writeln!(
                        log,
                        "--- {} autoserv: cannot open the console: {why} ---",
                        stamp()
                    );
                    last_error = why;
                }
            }
        }
        tokio::time::sleep(REOPEN_AFTER).await;
    }
}

fn scan(line: &[u8], machine: &str, sink: &StatusSink, warnings: &mut u32) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    let Some(what) = console_warning(text) else {
        return;
    };
    *warnings += 1;
    if *warnings > MAX_WARNINGS {
        return;
    }
    let quote: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_QUOTE)
        .collect();
    let mut msg = format!("{what} on {machine}'s console: {quote}");
    if *warnings == MAX_WARNINGS {
        msg.push_str(" (further console warnings only in console.log)");
    }
    sink.record(StatusCode::Warn, "console", &msg);
}

#[cfg(test)]
mod tests {
    use super::console_warning;

    #[test]
    fn kernel_distress_lines_are_named() {
        let cases = [
            (
                "[   12.3] Kernel panic - not syncing: VFS: Unable to mount root fs",
                Some("kernel panic"),
            ),
            (
                "[  88.1] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [kworker/1:1:42]",
                Some("soft lockup"),
            ),
            ("[   5.0] kernel BUG at mm/slub.c:4321!", Some("kernel BUG")),
            (
                "[   5.0] BUG: unable to handle page fault for address: 0000000000001000",
                Some("kernel BUG"),
            ),
            ("[   5.1] Oops: 0002 [#1] PREEMPT SMP NOPTI", Some("oops")),
            (
                "[   7.7] general protection fault, probably for non-canonical address",
                Some("general protection fault"),
            ),
            (
                "[  60.0] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:",
                Some("RCU stall"),
            ),
            (
                "[ 243.0] INFO: task kworker/0:1:12 blocked for more than 120 seconds.",
                Some("hung task"),
            ),
            (
                "[   3.3] WARNING: CPU: 0 PID: 1 at kernel/foo.c:10 bar+0x10/0x20",
                Some("kernel warning"),
            ),
            ("[   1.0] Booting the kernel.", None),
            ("login: ", None),
            ("BUGS: none", None),
        ];
        for (line, want) in cases {
            assert_eq!(console_warning(line), want, "{line}");
        }
    }
}
