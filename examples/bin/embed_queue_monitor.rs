//! Embeds a queue monitor in a program of one's own: watches one spool directory, runs each
//! control file dropped into it through `autotest autoserv`, and prints each line the monitor
//! writes to the queue's log (`<spool>/.log`). Stops on SIGTERM or Ctrl-C.
//!
//! ```text
//! embed-queue-monitor [--autotest <path>] <spool dir> <results dir>
//! ```
//!
//! The spool directory's name is the machine the jobs run on (`localhost` runs them here)
//! unless it holds a `.machines` file. Jobs run through the `autotest` binary given by
//! `--autotest`, else `$AUTOTEST_BIN`, else `autotest` on `PATH`; it inherits this program's
//! environment, so `AUTOTEST_CONFIG_DIR` reaches its `global_config.ini`.
#![allow(clippy::print_stdout)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use autotest_core::autoserv::LocalProcessLauncher;
use autotest_core::queue::{
    MonitorOptions, QUEUE_LOG_FILE, QueueMonitorConfig, TerminationSignal, monitor_queue,
};
use autotest_examples::FollowFile;

struct Args {
    autotest: PathBuf,
    spool: PathBuf,
    results: PathBuf,
}

fn parse_args() -> anyhow::Result<Args> {
    const USAGE: &str = "usage: embed-queue-monitor [--autotest <path>] <spool dir> <results dir>";
    let mut autotest = std::env::var_os("AUTOTEST_BIN").map(PathBuf::from);
    let mut positional: Vec<OsString> = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--autotest" {
            autotest = Some(args.next().context(USAGE)?.into());
        } else {
            positional.push(arg);
        }
    }
    let [spool, results]: [OsString; 2] =
        positional.try_into().map_err(|_| anyhow::anyhow!(USAGE))?;
    // Absolute paths: autoserv is started with these and runs its client elsewhere.
    let absolute = |p: OsString| {
        std::path::absolute(&p).with_context(|| format!("resolve {}", p.to_string_lossy()))
    };
    Ok(Args {
        autotest: autotest.unwrap_or_else(|| "autotest".into()),
        spool: absolute(spool)?,
        results: absolute(results)?,
    })
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if !args.spool.is_dir() {
        bail!(
            "spool directory {} does not exist: create it (its name is the machine)",
            args.spool.display()
        );
    }

    // Everything but the launcher keeps the monitor's defaults (settle 1 s, rescan 30 s).
    let config = QueueMonitorConfig {
        options: MonitorOptions {
            launcher: Arc::new(LocalProcessLauncher::autotest(&args.autotest)),
            ..MonitorOptions::default()
        },
        ..QueueMonitorConfig::new(&args.spool, &args.results)
    };
    println!(
        "watching {} with {}",
        args.spool.display(),
        args.autotest.display()
    );

    let rt = tokio::runtime::Runtime::new().context("start the tokio runtime")?;
    rt.block_on(async {
        // Installed before the monitor starts, so a SIGTERM from now on is a stop request.
        let mut signal = TerminationSignal::new()?;

        // The monitor runs until its shutdown future completes: here, at SIGTERM or SIGINT.
        let monitor = monitor_queue(config, async move {
            let name = signal.recv().await;
            println!("{name} received: stopping");
        });
        tokio::pin!(monitor);

        // The monitor writes its log itself; between its steps, this loop only shows it.
        let mut log = FollowFile::new(args.spool.join(QUEUE_LOG_FILE));
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let result = loop {
            tokio::select! {
                result = &mut monitor => break result,
                _ = tick.tick() => print_log_lines(&mut log),
            }
        };
        // The last lines (`monitor stopped`) were written after the loop's last look.
        print_log_lines(&mut log);
        result.context("the queue monitor stopped with an error")
    })
}

fn print_log_lines(log: &mut FollowFile) {
    match log.new_lines() {
        Ok(lines) => lines.iter().for_each(|l| println!("log: {l}")),
        Err(e) => println!("cannot read {}: {e}", log.path().display()),
    }
}
