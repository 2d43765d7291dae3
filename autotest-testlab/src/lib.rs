//! The test lab of autotest-rs: the fixtures every crate's integration tests and the benches
//! share, as one dev-only library (take it as a `[dev-dependencies]` entry).
//!
//! - [`netns`]: [`Lab`], several real "machines" on this one host, each a network namespace
//!   running a real OpenSSH sshd with its own hostname, boot id, autodir and a fenced `reboot`.
//!   Needs root, `ip`, `unshare` and `/usr/sbin/sshd`; panics (never skips) when one is missing.
//! - [`sshd`]: the one sshd fixture: keys, its config, and [`sshd::Sshd`], a real sshd on
//!   loopback for tests of SSH clients (the lab's machines run the same config).
//! - [`bootloader`]: the machines' stand-in firmware and GRUB 2.
//! - [`process`]: daemons killed on drop, free ports, waits with a deadline, the workspace's
//!   built binaries (`autotest`).
//! - [`tcp_console`]: consoles as ser2net exports them, and line clients of console servers.
//! - [`upstream`]: an rsync daemon serving a kernel.org-layout tree of the stand-in kernel.
//!
//! It knows no project crate (only std, libc, tempfile, tokio): every crate can use it without
//! a dependency cycle. What needs a project type (say autotest-ssh's options for the loopback
//! sshd) is built by the caller from the fixture's paths. Being test support, it panics with a
//! message naming what failed and how to fix it, rather than returning errors.

#![warn(missing_docs)]

pub mod bootloader;
pub mod netns;
pub mod postgres;
pub mod process;
pub mod sshd;
pub mod tcp_console;
pub mod upstream;

use std::path::{Path, PathBuf};

pub use netns::{Lab, Machine, power_switch};

/// A client control file that reboots the machine, then runs a short sleeptest.
pub const REBOOT_THEN_SLEEPTEST: &str = "def step_init():\n    job.next_step(after)\n    job.reboot()\ndef after():\n    job.run_test('sleeptest', seconds=0.1)\n";

/// A status log's entry lines, without `timestamp=`/`localtime=` fields (they change every run)
/// and without extra message lines: what tests compare exactly.
pub fn status_entries(path: &Path) -> Vec<String> {
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

/// Writes `text` to `<dir>/<name>` and returns that path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    p
}
