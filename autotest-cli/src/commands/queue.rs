//! `autotest monitor-queue` and `autotest start-all-queues`: the queue server (seed 1).
//!
//! Both run until SIGTERM or SIGINT, then stop watching and exit 0; a running autoserv is left
//! running and the next start re-attaches to it. Each queue logs to `<queue>/.log`; the same
//! lines go to standard error (filter with `RUST_LOG`).

use super::{init_logging, runtime};
use std::path::PathBuf;

use std::sync::Arc;

use autotest_core::autoserv::LocalProcessLauncher;
use autotest_core::queue::{
    MonitorOptions, QueueMonitorConfig, StartAllQueuesConfig, TerminationSignal, monitor_queue,
    start_all_queues,
};
use clap::Args;

const QUEUE_EXIT: &str = "\
Exit status:
  0  stopped by SIGTERM or SIGINT (a running autoserv is left running)
  1  could not start or watch the queues (the error says why)
  2  bad usage";

/// Arguments of `autotest monitor-queue`.
#[derive(Args, Debug)]
#[command(after_help = QUEUE_EXIT)]
pub struct MonitorQueueArgs {
    /// The queue's spool directory; its name is the machine unless it holds a .machines file.
    spool_directory: PathBuf,
    /// Where each job's results directory (<queue>-<control file>) is created.
    resultsdir: PathBuf,
    /// Console (conmux) server, passed to autoserv as --conmux.
    conmux_server: Option<String>,
}

/// Arguments of `autotest start-all-queues`.
#[derive(Args, Debug)]
#[command(after_help = QUEUE_EXIT)]
pub struct StartAllQueuesArgs {
    /// Top-level directory: one monitor per directory in <top>/queue, results to <top>/results.
    top_level_dir: PathBuf,
    /// Console server given to the queues that have a console config <top>/conmux/<queue>.cf.
    #[arg(long, default_value = "localhost")]
    conmux_server: String,
}

/// Jobs run through this very binary's `autoserv`.
fn options() -> MonitorOptions {
    let me = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("autotest"));
    MonitorOptions {
        launcher: Arc::new(LocalProcessLauncher::autotest(me)),
        ..MonitorOptions::default()
    }
}

pub fn monitor(a: MonitorQueueArgs) -> anyhow::Result<i32> {
    init_logging();
    let config = QueueMonitorConfig {
        conmux_server: a.conmux_server,
        options: options(),
        ..QueueMonitorConfig::new(a.spool_directory, a.resultsdir)
    };
    runtime()?.block_on(async {
        let mut sig = TerminationSignal::new()?;
        monitor_queue(config, async move {
            let name = sig.recv().await;
            tracing::info!("{name} received: stopping");
        })
        .await?;
        Ok(0)
    })
}

pub fn start_all(a: StartAllQueuesArgs) -> anyhow::Result<i32> {
    init_logging();
    let config = StartAllQueuesConfig {
        conmux_server: a.conmux_server,
        options: options(),
        ..StartAllQueuesConfig::new(a.top_level_dir)
    };
    runtime()?.block_on(async {
        let mut sig = TerminationSignal::new()?;
        start_all_queues(config, async move {
            let name = sig.recv().await;
            tracing::info!("{name} received: stopping");
        })
        .await?;
        Ok(0)
    })
}
