//! `autotest scheduler <results>`: the legacy `monitor_db`. The loop, the rules and the lock
//! are autotest-core's (`autotest_core::scheduler`); this front end reads `[SCHEDULER]`, wires
//! the wake-up and SIGTERM, and starts autoserv as this same binary.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use autotest_core::GlobalConfig;
use autotest_core::autoserv::LocalProcessLauncher;
use autotest_core::scheduler::{
    SchedulerConfig, WhenHeld, serve_scheduler, wake_on_postgres_notify, wake_on_sqlite_writes,
};
use autotest_core::store::Store;
use clap::Args;

use super::db::DbLocation;

/// Arguments of `autotest scheduler`.
#[derive(Args, Debug)]
#[command(after_help = "\
Exit status:
  0  stopped by SIGTERM or SIGINT (running jobs keep running and are re-attached at the next
     start)
  1  could not start (database, results directory, or another scheduler holds an SQLite
     database and --standby was not given)
  2  bad usage

One scheduler per database. On PostgreSQL a second scheduler waits as a standby and takes over
within seconds of the first stopping or dying (an advisory lock on its own connection); on
SQLite it is refused unless --standby is given (a flock on <db>.scheduler.lock).

Wake-ups: the scheduler acts when the database changes, with no fixed tick. PostgreSQL: every
write to jobs, entries, aborts, hosts, host labels, special tasks and drones NOTIFYs channel
autotest_scheduler, whoever writes. SQLite: any process's write to the database file wakes it
(inotify on its directory). Any process may also wake it with SIGUSR1. A database that goes
away is retried with backoff; the scheduler does not exit on it.")]
pub struct SchedulerArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Where jobs' results go: <results>/<jobid>-<owner>/<host|groupN>/.
    #[arg(value_name = "RESULTS_DIR")]
    results: PathBuf,
    /// Seconds between safety passes (the scheduler also wakes on every database write).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    safety_pass: u64,
    /// When another scheduler holds the database, wait and take over when it stops instead of
    /// refusing to start (always so on PostgreSQL).
    #[arg(long)]
    standby: bool,
}

pub fn run(a: SchedulerArgs) -> anyhow::Result<i32> {
    super::init_logging();
    let url = a.location.resolve()?;
    let exe = std::env::current_exe().context("cannot find the autotest binary to run autoserv")?;
    let mut config =
        SchedulerConfig::new(&a.results, Arc::new(LocalProcessLauncher::autotest(exe)));
    config.safety_pass = Duration::from_secs(a.safety_pass.max(1));
    if let Some(dir) = &a.location.config_dir {
        let gc = GlobalConfig::load(
            dir.join("global_config.ini"),
            Some(&dir.join("shadow_config.ini")),
        )?;
        if let Some(n) = gc.get_int_in(
            "SCHEDULER",
            "max_jobs_started_per_cycle",
            1,
            100_000,
            "a number of jobs from 1 to 100000",
        )? {
            config.max_jobs_started_per_cycle = n as usize;
        }
        if let Some(m) = gc.get_int_in(
            "SCHEDULER",
            "pidfile_timeout_mins",
            1,
            10_000,
            "minutes from 1 to 10000",
        )? {
            config.pidfile_timeout = Duration::from_secs(m as u64 * 60);
        }
    }
    let rt = super::runtime()?;
    rt.block_on(async {
        let store = Store::open(&url).await?;
        let wake = Arc::new(tokio::sync::Notify::new());
        // The wake-ups other processes give by writing to the database.
        let (_watcher, _listener) = match url.sqlite_file() {
            Some(file) => (
                Some(
                    wake_on_sqlite_writes(file, wake.clone())
                        .with_context(|| format!("cannot watch {} for changes", file.display()))?,
                ),
                None,
            ),
            None => (
                None,
                Some(wake_on_postgres_notify(&url, wake.clone()).await?),
            ),
        };
        let when_held = if a.standby || url.sqlite_file().is_none() {
            WhenHeld::Wait
        } else {
            WhenHeld::Refuse
        };
        // Installed before anyone can be told this scheduler runs (SIGUSR1 kills by default).
        let mut usr1 =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
                .context("cannot handle SIGUSR1")?;
        let usr1_wake = wake.clone();
        tokio::spawn(async move {
            while usr1.recv().await.is_some() {
                usr1_wake.notify_one();
            }
        });
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            let _ = stop_tx.send(true);
        });
        serve_scheduler(&store, &config, wake, stop_rx, when_held).await?;
        store.close().await;
        Ok::<_, anyhow::Error>(0)
    })
    .context("autotest scheduler")
}
