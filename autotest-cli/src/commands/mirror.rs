//! `autotest mirror`: sync new kernel releases and queue a build-boot-test job for each on the
//! mapped queues (FORMATS §8). `--once` (the default) for cron; `--interval SECS` keeps running
//! until SIGTERM or SIGINT.
//!
//! Exit codes: 0 everything queued (and mailed); 1 a run failed, or some line, queue, control
//! file, the sync or the mail had a problem (printed; the other queues still got their jobs).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use autotest_core::config::GlobalConfig;
use autotest_core::mirror::{
    MirrorError, MirrorOptions, MirrorReport, ReleasePatterns, run_mirror_every, run_mirror_once,
};
use autotest_core::queue::TerminationSignal;
use clap::Args;

/// Arguments of `autotest mirror`.
#[derive(Args, Debug)]
#[command(after_help = "\
Exit status:
  0  every new release was queued (and mailed)
  1  a run failed, or a line, queue, control file, the sync or the mail had a problem (each
     printed; the other queues still got their jobs)
  2  bad usage

--json prints one object per run on stdout (autotest_core::mirror::MirrorReport):
  {\"baseline\", \"recovered\", \"new_releases\", \"deferred\", \"queued\" (the queue files
  written), \"problems\": [{\"file\", \"line\", \"message\"}], \"sync_error\", \"mail_error\",
  \"mailed\"}; a run that failed as a whole prints nothing there (its error is on stderr).")]
pub struct MirrorArgs {
    /// Clients file: lines '<queue> <control file>...' (default ~/.autotest_mirror_clients).
    #[arg(short = 'c', long = "clients")]
    clients: Option<PathBuf>,
    /// Kernel-config mapping: lines '<queue> [<kernel-version>] <config path on the machine | defconfig>'.
    #[arg(short = 'f', long = "configs")]
    configs: Option<PathBuf>,
    /// Mail the list of new releases to these addresses (comma-separated).
    #[arg(short = 'e', long = "email")]
    email: Option<String>,
    /// Where releases come from: an rsync URL or a local directory (default [MIRROR] source,
    /// else the kernel.org rsync module).
    #[arg(long)]
    source: Option<String>,
    /// An rsync filter rule choosing the files to sync, e.g. '+ linux-*.tar.xz' (repeat; replaces
    /// the default rules, which take v2.6 to v9.x tarballs and patches).
    #[arg(long = "filter", value_name = "RULE")]
    filters: Vec<String>,
    /// A regular expression a release file's name must match whole, the version in group 1
    /// (repeat; replaces the defaults, which cover v2.6 to v6.x tarballs, stable, rc, git and mm patches).
    #[arg(long = "release-pattern", value_name = "REGEX")]
    release_patterns: Vec<String>,
    /// Run once and exit (the default; for cron).
    #[arg(long, conflicts_with = "interval")]
    once: bool,
    /// Keep running, starting a run every SECS seconds, until SIGTERM or SIGINT.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    interval: Option<u64>,
    /// The state file remembering handled releases (default <mirrordir>/.autotest-mirror-state).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Directory holding global_config.ini (and shadow_config.ini): [MIRROR] source, smtp_server,
    /// mail_from, rsync_filters, release_patterns.
    #[arg(long, env = "AUTOTEST_CONFIG_DIR")]
    config_dir: Option<PathBuf>,
    /// Print what each run did as one JSON object on stdout (shape below) instead of lines.
    #[arg(long)]
    json: bool,
    /// Where the release files are mirrored.
    mirrordir: PathBuf,
    /// The directory holding one directory per queue.
    queuedir: PathBuf,
}

fn options(a: &MirrorArgs) -> anyhow::Result<MirrorOptions> {
    let mut opts = MirrorOptions::new(&a.mirrordir, &a.queuedir);
    if let Some(dir) = &a.config_dir {
        let config = GlobalConfig::load(
            dir.join("global_config.ini"),
            Some(&dir.join("shadow_config.ini")),
        )?;
        opts.apply_config(&config)?;
    }
    if let Some(c) = &a.clients {
        opts.clients_file = c.clone();
    }
    opts.configs_file = a.configs.clone();
    if let Some(e) = &a.email {
        opts.mail_to = vec![e.clone()];
        autotest_core::mirror::parse_recipients(e)?;
    }
    if let Some(s) = &a.source {
        opts.source = s.clone();
    }
    if !a.filters.is_empty() {
        opts.filters = a.filters.clone();
    }
    if !a.release_patterns.is_empty() {
        opts.patterns = ReleasePatterns::new(&a.release_patterns)?;
    }
    if let Some(s) = &a.state {
        opts.state_file = s.clone();
    }
    Ok(opts)
}

/// Prints what a run did (as JSON with `json`); returns true when it was clean.
fn print_report(outcome: Result<MirrorReport, MirrorError>, json: bool) -> bool {
    let report = match outcome {
        Ok(report) => report,
        Err(e) => {
            eprintln!("autotest mirror: {e}");
            return false;
        }
    };
    if json {
        if let Err(e) = crate::output::print_json(&report) {
            eprintln!("autotest mirror: {}", super::report(&e));
            return false;
        }
        return report.is_clean();
    }
    if let Some(n) = report.baseline {
        println!("first run: {n} release(s) already in the mirror directory recorded as handled");
    }
    for kernel in &report.recovered {
        println!("finishing release {kernel} left half-queued by an interrupted run");
    }
    if let Some(e) = &report.sync_error {
        eprintln!("autotest mirror: {e}");
    }
    for problem in &report.problems {
        eprintln!("autotest mirror: {problem}");
    }
    if !report.deferred.is_empty() {
        eprintln!(
            "autotest mirror: new releases {} left for the next run: no queue in the clients file can take a job (see above)",
            report.deferred.join(" ")
        );
    }
    if report.new_releases.is_empty() {
        println!("no new releases");
    } else {
        println!("new releases: {}", report.new_releases.join(" "));
    }
    for path in &report.queued {
        println!("queued {}", path.display());
    }
    if report.mailed {
        println!("mailed the list of new releases");
    }
    if let Some(e) = &report.mail_error {
        eprintln!("autotest mirror: {e}");
    }
    report.is_clean()
}

pub fn run(a: MirrorArgs) -> anyhow::Result<i32> {
    super::init_logging();
    let opts = options(&a)?;
    let Some(interval) = a.interval else {
        let clean = print_report(run_mirror_once(&opts, &AtomicBool::new(false)), a.json);
        return Ok(if clean { 0 } else { 1 });
    };
    let json = a.json;
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut sig = TerminationSignal::new()?;
        let flag = stop.clone();
        tokio::spawn(async move {
            let name = sig.recv().await;
            tracing::info!("{name} received: stopping after the current step");
            flag.store(true, Ordering::Relaxed);
        });
        let worker = tokio::task::spawn_blocking(move || {
            run_mirror_every(&opts, Duration::from_secs(interval), &stop, |outcome| {
                print_report(outcome, json);
            });
        });
        worker.await?;
        Ok(0)
    })
}
