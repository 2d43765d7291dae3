//! autotest-core: the engine of autotest-rs.
//!
//! Legacy formats (status log, keyvals, pidfiles, `.machines`, control-file metadata,
//! `global_config.ini`), the client job engine, autoserv, the queue server and the mirror.
//! Front ends (the CLI, the Python module) only translate to and from these calls. This crate
//! never prints and never exits.
//!
//! # Map of the modules
//!
//! | module        | what it is                                                              |
//! |---------------|-------------------------------------------------------------------------|
//! | [`status`]    | the status log: codes, lines, the parser, the per-test summary          |
//! | [`keyval`]    | keyval files and `{perf}`/`{attr}` iteration keyvals                    |
//! | [`pidfile`]   | autoserv's pidfile and its states (running, finished, lost)             |
//! | [`machines`]  | `.machines` files and machine names                                     |
//! | [`control`]   | control-file metadata, read without running the file                    |
//! | [`config`]    | `global_config.ini` with `shadow_config.ini` merged over it             |
//! | [`results`]   | where a job's files are in its results directory                        |
//! | [`job`]       | the client job engine (`autotest run`'s bookkeeping)                    |
//! | [`kernel`]    | kernel versions, sources, `.config` merging, the GRUB entry             |
//! | [`transport`] | the [`Transport`] trait, the local transport, argument quoting          |
//! | [`autoserv`]  | one job on its machines: client and server control files, reboots      |
//! | [`queue`]     | the queue server: `monitor-queue` and `start-all-queues`                |
//! | [`mirror`]    | new kernel releases become queued jobs                                  |
//! | [`store`]     | the lab database (SQLite or PostgreSQL): hosts, jobs, parsed results   |
//! | [`scheduler`] | the distributed scheduler: assignment of entries and tasks to hosts    |
//!
//! # The facade
//!
//! The names a newcomer needs first are also here at the root; everything else is reached
//! through its module (`autotest_core::status::StatusEntry`, `autotest_core::queue::scan_spool`).
//!
//! - Reading results: [`StatusLog`], [`StatusCode`], [`summarize`], [`JobResults`].
//! - Machines: [`Transport`], [`TransportFactory`], [`LocalTransport`],
//!   [`LocalTransportFactory`], [`CommandSpec`], [`ExitOutcome`].
//! - Configuration: [`GlobalConfig`].
//! - Running one job: [`AutoservOptions`] with [`run_client_job`] or [`run_server_job`] inside
//!   a process, or [`AutoservRequest`] with [`run_autoserv_process`] for the whole `autoserv`
//!   process contract (pidfile, signals, exit code).
//! - Serving queues: [`QueueMonitorConfig`] with [`monitor_queue`], [`start_all_queues`].
//! - The mirror: [`MirrorOptions`] with [`run_mirror_once`].
//! - Showing foreign text (test output, file names) on a terminal: [`visible`].

#![warn(missing_docs)]

pub mod autoserv;
pub mod config;
pub mod control;
pub mod drone;
pub mod job;
pub mod kernel;
pub mod keyval;
pub mod machines;
pub mod mirror;
pub mod pidfile;
mod process;
pub mod progress;
mod pyliteral;
pub mod queue;
pub mod results;
pub mod scheduler;
mod serde_display;
pub mod status;
pub mod store;
pub mod transport;
mod visible;

pub use autoserv::{
    AutoservOptions, AutoservRequest, run_autoserv_process, run_client_job, run_server_job,
};
pub use config::GlobalConfig;
pub use mirror::{MirrorOptions, run_mirror_once};
pub use queue::{QueueMonitorConfig, monitor_queue, start_all_queues};
pub use results::JobResults;
pub use status::{StatusCode, StatusLog, summarize};
pub use transport::{
    CommandSpec, ExitOutcome, LocalTransport, LocalTransportFactory, Transport, TransportFactory,
};
pub use visible::visible;
