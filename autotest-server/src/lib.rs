//! autotest-server: the server side of autotest wired to real machines.
//!
//! autotest-core runs jobs through its `Transport` and `Console` traits and knows neither SSH
//! nor conmux; autotest-ssh and autotest-conmux know nothing of jobs. This crate is where they
//! meet, so that every program that runs jobs (the `autotest` binary, a drone agent, a test, a
//! lab's own tool) gets the same wiring from the same `global_config.ini`:
//!
//! - [`SshSettings`]: the SSH options from `[SERVER]`/`[AUTOSERV]` and `AUTOTEST_SSH_*`;
//! - [`ConmuxConsole`]: core's `Console` over a conmux registry;
//! - [`LabAccess`]: core's `MachineAccess` with both, which [`run_autoserv`] hands to
//!   `autotest_core::autoserv::run_autoserv_process`.
#![warn(missing_docs)]

mod access;
mod conmux_console;
mod ssh_settings;

pub use access::{LabAccess, run_autoserv};
pub use conmux_console::ConmuxConsole;
pub use ssh_settings::SshSettings;
