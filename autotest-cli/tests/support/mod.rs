//! Fixtures shared by the integration tests of this crate (`mod support;` in a test file).
//!
//! [`netns::Lab`]: several real "machines" on this one host, each a network namespace running a
//! real OpenSSH sshd with its own hostname, boot id, autodir and a fenced `reboot`. Needs root,
//! `ip`, `unshare` and `/usr/sbin/sshd`; panics (never skips) when one is missing.
#![allow(dead_code)]

mod bootloader;
pub mod netns;
pub mod process;
mod sshd;
pub mod tcp_console;
pub mod upstream;

#[allow(unused_imports)]
pub use netns::{Lab, Machine};

/// A client control file that reboots the machine, then runs a short sleeptest.
pub const REBOOT_THEN_SLEEPTEST: &str =
    "def step_init():\n    job.next_step(after)\n    job.reboot()\ndef after():\n    job.run_test('sleeptest', seconds=0.1)\n";

/// A status log's entry lines, without `timestamp=`/`localtime=` fields (they change every run)
/// and without extra message lines: what tests compare exactly.
pub fn status_entries(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim_start_matches('\t').starts_with("  "))
        .map(|l| {
            l.split('\t')
                .filter(|f| !f.starts_with("timestamp=") && !f.starts_with("localtime="))
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect()
}

/// A stand-in power switch (a PDU cannot be made real here): when `request` appears (the
/// configured hardreset command creates it), power-cycles `machine`. Joins to true if it acted
/// within `timeout`.
pub fn power_switch(
    machine: netns::Machine,
    request: std::path::PathBuf,
    timeout: std::time::Duration,
) -> std::thread::JoinHandle<bool> {
    std::thread::spawn(move || {
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if request.exists() {
                machine.restart();
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    })
}
