//! The per-queue loop: watch, pick the oldest complete job, claim it, run autoserv, record.

use std::fs::{self, File};
use std::future::Future;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use super::claim::{self, epoch_now, write_record};
use super::launch::{read_autoserv_pidfile, record_abort};
use super::log::{Level, QueueLog};
use super::spool::{self, Hold, Pick, Tracker, fingerprint};
use super::watch::{HubEvent, Subscription, WatchHub};
use super::{QUEUE_JOB_FILE, QUEUE_LOCK_FILE, QueueError, is_server_control};
use crate::autoserv::{AutoservLauncher, LaunchRequest, LocalProcessLauncher};
use crate::machines::{MACHINES_FILE, machines_for_queue};
use crate::pidfile::{Pidfile, PidfileState, ProcessExit};
use crate::results::JobResults;

/// Settings of queue monitors that do not depend on the queue.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    /// Starts autoserv for each job. Default: `autotest autoserv` as a local process, `autotest`
    /// found on `PATH` (a front end gives its own executable).
    pub launcher: Arc<dyn AutoservLauncher>,
    /// How old (or how long unchanged) a file found by a rescan must be before it is taken as
    /// complete. Default 1 s.
    pub settle: Duration,
    /// Safety rescan of the spool while inotify watches it. Default 30 s.
    pub rescan_interval: Duration,
    /// How often a re-attached autoserv's pidfile is read, and how often the spool is listed when
    /// inotify is not available. Default 1 s.
    pub poll_interval: Duration,
}

impl Default for MonitorOptions {
    fn default() -> MonitorOptions {
        MonitorOptions {
            launcher: Arc::new(LocalProcessLauncher::autotest("autotest")),
            settle: Duration::from_secs(1),
            rescan_interval: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// What one queue monitor watches and where it puts results
/// (`monitor-queue <spool_directory> <resultsdir> [conmux_server]`).
#[derive(Debug, Clone)]
pub struct QueueMonitorConfig {
    /// The spool directory; its name is the queue's name (and its machine when it has no
    /// `.machines`).
    pub queue_dir: PathBuf,
    /// Where results directories are created (created itself if missing).
    pub results_dir: PathBuf,
    /// Console server given to autoserv as `--conmux <server>`.
    pub conmux_server: Option<String>,
    /// The rest.
    pub options: MonitorOptions,
}

impl QueueMonitorConfig {
    /// A monitor of `queue_dir` with results in `results_dir`, no console server and default
    /// options.
    pub fn new(queue_dir: impl Into<PathBuf>, results_dir: impl Into<PathBuf>) -> Self {
        QueueMonitorConfig {
            queue_dir: queue_dir.into(),
            results_dir: results_dir.into(),
            conmux_server: None,
            options: MonitorOptions::default(),
        }
    }
}

/// Runs the monitor of one queue until `shutdown` completes, and returns `Ok(())` then.
///
/// Errors: the queue directory is missing (at start, or removed while watched), another monitor
/// holds the queue, the results directory cannot be created. Everything that goes wrong with
/// one job is logged in `<queue>/.log` and the monitor goes on.
///
/// # Pickup
/// The monitor watches the spool with inotify (through `notify`); it rescans the whole directory
/// when it starts, when the watch reports an overflow (`Rescan`), and every
/// [`MonitorOptions::rescan_interval`] as a safety net. Where inotify cannot be had (no instance
/// or watch left) it falls back to rescanning every [`MonitorOptions::poll_interval`] and says so
/// in its log. A file is only picked up when complete:
/// - names starting with `.` are never jobs (`.machines`, `.log`, editors' and tools' temporary
///   files);
/// - a file seen being written (created, opened, modified) is picked up only after it is closed
///   after writing (`IN_CLOSE_WRITE`) or renamed into the spool (`IN_MOVED_TO`) — so a file held
///   open by its writer is never run half-written, however long the writer pauses;
/// - a file found by a rescan (or created without being opened, such as a hard link) is picked up
///   once its modification time is [`MonitorOptions::settle`] old, or once its size and
///   modification time have not changed for that long (for a clock that runs behind the file's).
///
/// Only regular files and symbolic links to regular files are jobs; directories and other files
/// are left alone.
///
/// # Claiming a job
/// For each job, `.machines` is read afresh ([`machines_for_queue`](crate::machines::machines_for_queue);
/// none: the queue directory's name is the single machine). **A bad `.machines` (or a queue name
/// that is no machine) leaves the job in the spool**, with the file, line and reason in
/// `<queue>/.log`; the job is not lost and not retried until `.machines` or the control file
/// changes, and the queue goes on with its other files (and runs the held ones once `.machines`
/// is fixed).
///
/// The claim ([`claim_control_file`](crate::queue::claim_control_file)) creates the results directory
/// `<results>/<queue>-<control>` (if taken: `.<epoch>`, then `.<epoch>.1`, `.<epoch>.2`, ...; see
/// [`create_results_dir`](crate::queue::create_results_dir)), records the claim in
/// `<resultsdir>/.queue_job` ([`QUEUE_JOB_FILE`]), and moves the control file into it under its
/// own name ([`move_control_file`](crate::queue::move_control_file)): a `rename` where spool and results
/// share a filesystem, else copy + fsync + rename, and only then is it removed from the spool. A
/// control file is therefore always in the spool or in its results directory, never lost, even
/// when autoserv cannot be started afterwards.
///
/// # Running a job
/// The monitor starts `<autotest> autoserv -m <m1,m2,...> -r <resultsdir> [-c] [--conmux <server>]
/// <resultsdir>/<control>` (`-c` unless the name ends in `.srv`; `--conmux` when the monitor was
/// given a console server) as its own process in its own process group, standard input from
/// `/dev/null`, output to `<resultsdir>/debug/autoserv.stdout` and `.stderr`, the command line in
/// `<resultsdir>/debug/autoserv.cmd`. Autoserv writes `<resultsdir>/.autoserv_execute`
/// (FORMATS §2); when it exits the monitor reads that pidfile and logs the status and the number
/// of failed tests. An autoserv that ends without writing its exit status is a lost job, never a
/// success: it is logged as such, and the open groups of its `status.log` are closed with
/// `END ABORT` and an `INFO ---- ---- Job aborted` line.
///
/// # The log
/// Everything the monitor does is appended to `<queue>/.log`
/// ([`QUEUE_LOG_FILE`](crate::queue::QUEUE_LOG_FILE)), one timestamped line per event (`YYYY-MM-DD
/// HH:MM:SS message`): monitor start and stop, `picked up X`, `results in Y`, `autoserv pid N`,
/// `finished with status S (failed tests F)`, re-attached and lost jobs, and every error with its
/// file and reason. Each line is also a `tracing` event.
///
/// # Restart, stop
/// The results directories of a queue are those named `<queue>-...` whose `.queue_job` names this
/// queue (directories without `.queue_job` but with an `.autoserv_execute` count too, for results
/// made by other tools). When a monitor starts it looks at each of them that is not yet recorded
/// as finished:
/// - autoserv still running (pidfile running, process alive and started before its pidfile was
///   written): the monitor **re-attaches**: it waits for it to finish before running anything
///   else, and logs its end as for a job it started itself; nothing runs twice;
/// - pidfile finished: the end is logged;
/// - pidfile running but the process is gone (or the pid now belongs to a younger process): a
///   lost job, logged as aborted, with `END ABORT` / `INFO ... Job aborted` appended to its
///   `status.log` when it has one;
/// - claimed but autoserv never started (no `debug/autoserv.cmd`): the job runs now, first;
/// - started but no pidfile at all: logged, not run again.
///
/// On SIGTERM or SIGINT ([`TerminationSignal`](crate::queue::TerminationSignal)) both commands stop
/// cleanly: they stop watching and return. **A running autoserv is left running** (it is in its own
/// process group, so a terminal's Ctrl-C does not reach it either); the next monitor start on that
/// queue re-attaches to it through its pidfile. Only one monitor at a time may watch a queue: it
/// holds an exclusive lock on `<queue>/.monitor.lock`.
pub async fn monitor_queue<F>(config: QueueMonitorConfig, shutdown: F) -> Result<(), QueueError>
where
    F: Future<Output = ()> + Send,
{
    let hub = WatchHub::new().map_err(|e| e.to_string());
    run_monitor(config, hub, shutdown).await
}

/// [`monitor_queue`] with a given watcher (shared by start-all-queues), or the reason there is
/// none.
pub(crate) async fn run_monitor<F>(
    config: QueueMonitorConfig,
    hub: Result<Arc<WatchHub>, String>,
    shutdown: F,
) -> Result<(), QueueError>
where
    F: Future<Output = ()> + Send,
{
    let shutdown = std::pin::pin!(shutdown);
    let mut stop = Stop {
        fut: shutdown,
        done: false,
    };
    let mut monitor = Monitor::open(config, hub)?;
    let result = monitor.run(&mut stop).await;
    match &result {
        Ok(()) => monitor.log.info("monitor stopped"),
        Err(e) => monitor.log.error(format!("monitor stopped: {e}")),
    }
    result
}

/// The shutdown future, polled from several places until it fires once.
pub(super) struct Stop<'a, F: Future<Output = ()>> {
    fut: Pin<&'a mut F>,
    done: bool,
}

impl<F: Future<Output = ()>> Stop<'_, F> {
    async fn wait(&mut self) {
        if !self.done {
            self.fut.as_mut().await;
            self.done = true;
        }
    }
}

/// Whether the loop goes on.
pub(super) enum Flow {
    Continue,
    Stop,
}

/// What woke a wait.
pub(super) enum Wake<T> {
    Stop,
    Event(Option<HubEvent>),
    Timer,
    Done(T),
}

pub(super) struct Monitor {
    pub(super) queue_dir: PathBuf,
    pub(super) queue: String,
    pub(super) results_dir: PathBuf,
    pub(super) conmux: Option<String>,
    pub(super) options: MonitorOptions,
    pub(super) log: QueueLog,
    pub(super) tracker: Tracker,
    pub(super) rx: Option<UnboundedReceiver<HubEvent>>,
    pub(super) need_rescan: bool,
    pub(super) _subscription: Option<Subscription>,
    /// Where the spool's symbolic links may point.
    pub(super) spool_top: PathBuf,
    /// Spool entries that are not jobs, already said in the log, with the reason said.
    pub(super) skipped: std::collections::HashMap<std::ffi::OsString, String>,
    pub(super) _lock: File,
}

impl Monitor {
    fn open(
        config: QueueMonitorConfig,
        hub: Result<Arc<WatchHub>, String>,
    ) -> Result<Monitor, QueueError> {
        let missing = || QueueError::QueueDirMissing {
            path: config.queue_dir.clone(),
        };
        let queue_dir = fs::canonicalize(&config.queue_dir).map_err(|_| missing())?;
        if !queue_dir.is_dir() {
            return Err(missing());
        }
        let queue = queue_dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| QueueError::NotUtf8 {
                path: queue_dir.clone(),
            })?
            .to_owned();
        fs::create_dir_all(&config.results_dir)
            .map_err(|e| QueueError::io("create the results directory", &config.results_dir, e))?;
        let results_dir = fs::canonicalize(&config.results_dir)
            .map_err(|e| QueueError::io("resolve the results directory", &config.results_dir, e))?;
        let lock = lock_queue(&queue_dir)?;
        let log = QueueLog::new(&queue_dir, &queue);
        let mut info = format!(
            "monitor started (pid {}): queue {}, results in {}, autoserv {}",
            std::process::id(),
            queue_dir.display(),
            results_dir.display(),
            config.options.launcher.describe()
        );
        if let Some(c) = &config.conmux_server {
            info.push_str(&format!(", console server {c}"));
        }
        // Watch first, then say "started": a file dropped after that line is seen being written.
        let watched = hub.and_then(|h| h.subscribe(&queue_dir).map_err(|e| e.to_string()));
        log.info(info);
        let (subscription, rx) = match watched {
            Ok((s, rx)) => (Some(s), Some(rx)),
            Err(e) => {
                log.warn(format!(
                    "cannot watch {} with inotify ({e}); listing it every {:?} instead (raise fs.inotify.max_user_instances or max_user_watches to get immediate pickup)",
                    queue_dir.display(),
                    config.options.poll_interval
                ));
                (None, None)
            }
        };
        Ok(Monitor {
            spool_top: spool::spool_top(&queue_dir),
            skipped: std::collections::HashMap::new(),
            tracker: Tracker::new(queue_dir.clone(), config.options.settle),
            queue_dir,
            queue,
            results_dir,
            conmux: config.conmux_server,
            options: config.options,
            log,
            rx,
            need_rescan: true,
            _subscription: subscription,
            _lock: lock,
        })
    }

    async fn run<F: Future<Output = ()>>(
        &mut self,
        stop: &mut Stop<'_, F>,
    ) -> Result<(), QueueError> {
        if let Flow::Stop = self.recover(stop).await? {
            return Ok(());
        }
        let mut next_rescan = Instant::now();
        let mut scan_error: Option<String> = None;
        loop {
            if self.need_rescan || Instant::now() >= next_rescan {
                let every = match self.rescan() {
                    Ok(()) => {
                        scan_error = None;
                        if self.rx.is_some() {
                            self.options.rescan_interval
                        } else {
                            self.options.poll_interval
                        }
                    }
                    Err(e @ QueueError::QueueDirMissing { .. }) => return Err(e),
                    Err(e) => {
                        // Log a failing listing once, and try again soon.
                        let text = e.to_string();
                        if scan_error.as_deref() != Some(text.as_str()) {
                            self.log.error(format!("{text}; trying again"));
                            scan_error = Some(text);
                        }
                        self.options.poll_interval.max(Duration::from_secs(1))
                    }
                };
                next_rescan = Instant::now() + every;
            }
            // What the watch already said counts before deciding.
            if let Some(ev) = self.rx.as_mut().and_then(|rx| rx.try_recv().ok()) {
                self.on_event(Some(ev));
                continue;
            }
            let machines = fingerprint(&self.queue_dir.join(MACHINES_FILE));
            match self.tracker.pick(machines) {
                Pick::Ready(entry) => {
                    if let Flow::Stop = self.run_job(entry, machines, stop).await {
                        return Ok(());
                    }
                }
                Pick::Wait(at) => {
                    let deadline =
                        at.map_or(next_rescan, |a| Instant::from_std(a).min(next_rescan));
                    let never = std::future::pending::<()>();
                    match self.wait(stop, deadline, never).await {
                        Wake::Stop => return Ok(()),
                        Wake::Event(ev) => self.on_event(ev),
                        Wake::Timer | Wake::Done(()) => {}
                    }
                }
            }
        }
    }

    /// Waits for the stop request, a watch event, the deadline or `work`, whichever comes first.
    pub(super) async fn wait<F: Future<Output = ()>, T>(
        &mut self,
        stop: &mut Stop<'_, F>,
        deadline: Instant,
        work: impl Future<Output = T>,
    ) -> Wake<T> {
        let rx = &mut self.rx;
        tokio::select! {
            biased;
            _ = stop.wait() => Wake::Stop,
            out = work => Wake::Done(out),
            ev = async {
                match rx {
                    Some(r) => r.recv().await,
                    None => std::future::pending().await,
                }
            } => Wake::Event(ev),
            _ = tokio::time::sleep_until(deadline) => Wake::Timer,
        }
    }

    /// Takes a watch event, and every other one already waiting.
    pub(super) fn on_event(&mut self, first: Option<HubEvent>) {
        let mut next = Some(first);
        while let Some(ev) = next.take() {
            match ev {
                None => {
                    self.log.warn(format!(
                        "the inotify watch ended; listing the queue every {:?} instead",
                        self.options.poll_interval
                    ));
                    self.rx = None;
                    self.need_rescan = true;
                    return;
                }
                Some(HubEvent::Rescan) => {
                    self.tracker.reset();
                    self.need_rescan = true;
                }
                Some(HubEvent::Fs(ev)) => {
                    if ev.need_rescan() {
                        self.tracker.reset();
                        self.need_rescan = true;
                    }
                    for path in &ev.paths {
                        if path == &self.queue_dir {
                            // The queue directory itself was removed or renamed.
                            if matches!(
                                ev.kind,
                                notify::EventKind::Remove(_)
                                    | notify::EventKind::Modify(notify::event::ModifyKind::Name(_))
                            ) {
                                self.need_rescan = true;
                            }
                            continue;
                        }
                        if path.parent() != Some(self.queue_dir.as_path()) {
                            continue;
                        }
                        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                            continue;
                        };
                        if !name.starts_with('.') {
                            self.tracker.on_event(name, &ev.kind);
                        }
                    }
                }
            }
            if let Some(rx) = &mut self.rx {
                if let Ok(ev) = rx.try_recv() {
                    next = Some(Some(ev));
                }
            }
        }
    }

    fn rescan(&mut self) -> Result<(), QueueError> {
        self.need_rescan = false;
        let (entries, skipped) = spool::scan_spool_full(&self.queue_dir, &self.spool_top)?;
        self.tracker.rescan(&entries);
        // Each entry that is not run is said once (again if it comes back after going away).
        let mut now = std::collections::HashMap::new();
        for s in skipped {
            if self.skipped.get(&s.key) != Some(&s.reason) {
                self.log
                    .warn(format!("{} is not run: {}", s.shown, s.reason));
            }
            now.insert(s.key, s.reason);
        }
        self.skipped = now;
        Ok(())
    }

    /// Reads `.machines`, claims the job, runs it.
    async fn run_job<F: Future<Output = ()>>(
        &mut self,
        entry: spool::SpoolEntry,
        machines_fp: Option<spool::Fingerprint>,
        stop: &mut Stop<'_, F>,
    ) -> Flow {
        let name = entry.name.clone();
        let file_fp = (entry.modified, entry.len);
        let machines = match machines_for_queue(&self.queue_dir) {
            Ok(m) => self.unique_machines(&name, m),
            Err(e) => {
                self.log.error(format!(
                    "{name} left in the queue, not run: {e} (it runs once the machine list is fixed)"
                ));
                self.tracker.hold(
                    &name,
                    Hold {
                        file: file_fp,
                        machines: Some(machines_fp),
                    },
                );
                return Flow::Continue;
            }
        };
        let (src, queue_dir, queue, results) = (
            entry.path.clone(),
            self.queue_dir.clone(),
            self.queue.clone(),
            self.results_dir.clone(),
        );
        let claimed = tokio::task::spawn_blocking(move || {
            claim::claim_control_file(&src, &queue_dir, &queue, &results)
        })
        .await
        .unwrap_or_else(|e| {
            Err(QueueError::io(
                "claim",
                &entry.path,
                std::io::Error::other(e.to_string()),
            ))
        });
        let job = match claimed {
            Ok(job) => job,
            Err(QueueError::ControlFileGone { .. }) => {
                self.log.warn(format!(
                    "{name} disappeared from the queue before it could be claimed"
                ));
                self.tracker.forget(&name);
                return Flow::Continue;
            }
            Err(e) => {
                self.log.error(format!(
                    "{name} left in the queue, not run: {e} (it is tried again when it changes)"
                ));
                self.tracker.hold(
                    &name,
                    Hold {
                        file: file_fp,
                        machines: None,
                    },
                );
                return Flow::Continue;
            }
        };
        self.tracker.forget(&name);
        if stop_requested(stop).await {
            self.log.info(format!(
                "stopping: {name} was claimed into {} and runs when the monitor starts again",
                job.results_dir.display()
            ));
            return Flow::Stop;
        }
        self.log.info(format!(
            "picked up {name} ({} control file, machines {})",
            if is_server_control(&name) {
                "server"
            } else {
                "client"
            },
            machines.join(",")
        ));
        self.log
            .info(format!("results in {}", job.results_dir.display()));
        self.start_and_wait(&job.results_dir, &job.control, &name, &machines, stop)
            .await
    }

    /// The machine list with each machine once; repeats are said in the log.
    pub(super) fn unique_machines(&self, name: &str, machines: Vec<String>) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let mut repeated = Vec::new();
        let mut out = Vec::with_capacity(machines.len());
        for m in machines {
            if seen.insert(m.clone()) {
                out.push(m);
            } else if !repeated.contains(&m) {
                repeated.push(m);
            }
        }
        if !repeated.is_empty() {
            self.log.warn(format!(
                "{name}: {} listed more than once in {}; each machine runs the job once",
                repeated.join(", "),
                self.queue_dir.join(MACHINES_FILE).display()
            ));
        }
        out
    }

    /// Starts autoserv on a claimed job and waits for it.
    pub(super) async fn start_and_wait<F: Future<Output = ()>>(
        &mut self,
        dir: &Path,
        control: &Path,
        name: &str,
        machines: &[String],
        stop: &mut Stop<'_, F>,
    ) -> Flow {
        let job = LaunchRequest {
            machines: machines.to_vec(),
            results: JobResults::new(dir),
            control: control.to_owned(),
            server: is_server_control(name),
            conmux: self.conmux.clone(),
            task: None,
        };
        let mut child = match self.options.launcher.start(&job).await {
            Ok(c) => c,
            Err(e) => {
                self.log.error(format!(
                    "{name} not run: {e}; the control file is kept in {}",
                    control.display()
                ));
                self.record_finished(dir, &format!("not started: {e}"));
                return Flow::Continue;
            }
        };
        let pid = child.pid().unwrap_or(0);
        if let Err(e) = write_record(
            &job.results.queue_job(),
            &[
                ("autoserv_pid", &pid.to_string()),
                ("started", &epoch_now().to_string()),
            ],
        ) {
            self.log.warn(e.to_string());
        }
        let command = fs::read_to_string(job.results.autoserv_cmd()).unwrap_or_default();
        self.log.info(format!(
            "autoserv pid {pid} started for {name}: {}",
            command.trim_end()
        ));
        let mut notices = NoticeReader::new(job.results.machine_wait());
        let exit = loop {
            let soon = Instant::now() + self.options.poll_interval.max(Duration::from_millis(100));
            let wait = self.wait(stop, soon, child.wait()).await;
            // A job waiting for a machine another job holds says so in the queue's log.
            for line in notices.new_lines() {
                self.log.info(format!("{name}: {line}"));
            }
            match wait {
                Wake::Stop => {
                    self.log.info(format!(
                        "stopping while autoserv pid {pid} runs {name}: it is left running, and the next monitor start on this queue re-attaches to it"
                    ));
                    return Flow::Stop;
                }
                Wake::Event(ev) => self.on_event(ev),
                Wake::Timer => {}
                Wake::Done(status) => break status,
            }
        };
        self.record_end(dir, name, exit);
        Flow::Continue
    }

    /// Logs how the autoserv of `dir` ended, from its pidfile (and, for a child of this monitor,
    /// its exit status), and records it in `.queue_job`.
    pub(super) fn record_end(&self, dir: &Path, label: &str, child_exit: Option<ProcessExit>) {
        let pidfile = Pidfile::autoserv(dir);
        let exited = child_exit.map_or_else(String::new, |e| format!(" ({e})"));
        let (level, message, outcome) = match read_autoserv_pidfile(dir) {
            Ok(Some(PidfileState::Finished {
                exit_status,
                failed_tests,
                ..
            })) => (
                if exit_status.success() && failed_tests == 0 {
                    Level::Info
                } else {
                    Level::Warn
                },
                format!(
                    "{label} finished with status {} ({exit_status}) (failed tests {failed_tests}); results in {}",
                    exit_status.wait_status(),
                    dir.display()
                ),
                format!(
                    "status {} failed tests {failed_tests}",
                    exit_status.wait_status()
                ),
            ),
            Ok(Some(PidfileState::Lost { pid } | PidfileState::Running { pid })) => {
                let reason = format!(
                    "autoserv pid {pid} ended{exited} without writing its exit status to {}",
                    pidfile.path().display()
                );
                let status_log = match record_abort(dir, &reason) {
                    Ok(true) => " (END ABORT and Job aborted added to its status.log)".to_owned(),
                    Ok(false) => String::new(),
                    Err(e) => format!(" (and its status.log could not be closed: {e})"),
                };
                (
                    Level::Error,
                    format!(
                        "{label} lost: {reason}; recorded as aborted{status_log}; results in {}",
                        dir.display()
                    ),
                    format!("lost: {reason}"),
                )
            }
            Ok(Some(PidfileState::BeingWritten { pid, status })) => (
                Level::Error,
                format!(
                    "{label}: autoserv pid {pid}{exited} left an unfinished pidfile {} (status {status}, no failed-test count); results in {}",
                    pidfile.path().display(),
                    dir.display()
                ),
                "corrupt pidfile".to_owned(),
            ),
            Ok(Some(PidfileState::Corrupt { reason })) => (
                Level::Error,
                format!(
                    "{label}: autoserv{exited} left a corrupt pidfile {}: {reason}; results in {}",
                    pidfile.path().display(),
                    dir.display()
                ),
                format!("corrupt pidfile: {reason}"),
            ),
            Ok(None) => (
                Level::Error,
                format!(
                    "{label}: autoserv ended{exited} without writing its pidfile {} (see {}/debug/autoserv.stderr)",
                    pidfile.path().display(),
                    dir.display()
                ),
                "no pidfile".to_owned(),
            ),
            Err(e) => (
                Level::Error,
                format!("{label}: {e}"),
                format!("unreadable pidfile: {e}"),
            ),
        };
        self.log.write(level, &message);
        self.record_finished(dir, &outcome);
    }

    pub(super) fn record_finished(&self, dir: &Path, outcome: &str) {
        let record = dir.join(QUEUE_JOB_FILE);
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let queue_dir = self.queue_dir.to_string_lossy();
        if !record.exists() {
            pairs.push(("queue", &queue_dir));
        }
        let now = epoch_now().to_string();
        pairs.push(("finished", &now));
        pairs.push(("outcome", outcome));
        if let Err(e) = write_record(&record, &pairs) {
            self.log.warn(e.to_string());
        }
    }
}

/// Reads the lines a running job appends to a file (its `debug/machine-wait`), each once.
struct NoticeReader {
    path: PathBuf,
    seen: u64,
}

impl NoticeReader {
    fn new(path: PathBuf) -> NoticeReader {
        NoticeReader { path, seen: 0 }
    }

    fn new_lines(&mut self) -> Vec<String> {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut f) = File::open(&self.path) else {
            return Vec::new();
        };
        let mut text = String::new();
        if f.seek(SeekFrom::Start(self.seen)).is_err() || f.read_to_string(&mut text).is_err() {
            return Vec::new();
        }
        // Only whole lines: a line being written is read next time.
        let whole = text.rfind('\n').map_or(0, |i| i + 1);
        self.seen += whole as u64;
        text[..whole].lines().map(str::to_owned).collect()
    }
}

/// True when the stop was requested (without waiting for it).
async fn stop_requested<F: Future<Output = ()>>(stop: &mut Stop<'_, F>) -> bool {
    tokio::select! {
        biased;
        _ = stop.wait() => true,
        _ = std::future::ready(()) => false,
    }
}

/// Takes the exclusive lock of a queue; fails when another monitor has it.
fn lock_queue(queue_dir: &Path) -> Result<File, QueueError> {
    let path = queue_dir.join(QUEUE_LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| QueueError::io("open the queue lock", &path, e))?;
    // SAFETY: flock on a descriptor we own; it only sets an advisory lock.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(QueueError::AlreadyMonitored {
                queue: queue_dir.to_owned(),
                lock: path,
            });
        }
        return Err(QueueError::io("lock", &path, e));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_inotify_the_spool_is_polled() {
        let tmp = tempfile::tempdir().unwrap();
        let queue = tmp.path().join("host1");
        fs::create_dir(&queue).unwrap();
        let script = "while [ $# -gt 1 ]; do case \"$1\" in -r) r=\"$2\"; shift;; esac; shift; done\n\
                      printf '%s\\n0\\n0\\n' $$ > \"$r/.autoserv_execute\"\n";
        let config = QueueMonitorConfig {
            options: MonitorOptions {
                launcher: Arc::new(LocalProcessLauncher {
                    program: "/bin/sh".into(),
                    leading_args: vec!["-c".into(), script.into(), "autoserv".into()],
                }),
                settle: Duration::from_millis(100),
                rescan_interval: Duration::from_secs(30),
                poll_interval: Duration::from_millis(50),
            },
            ..QueueMonitorConfig::new(&queue, tmp.path().join("results"))
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run_monitor(config, Err("no inotify here".into()), async {
            let _ = rx.await;
        }));
        fs::write(queue.join("job"), "x").unwrap();
        let log = queue.join(".log");
        let end = std::time::Instant::now() + Duration::from_secs(20);
        while !fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("job finished with status 0")
        {
            assert!(
                std::time::Instant::now() < end,
                "{:?}",
                fs::read_to_string(&log)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tx.send(()).unwrap();
        task.await.unwrap().unwrap();
        let text = fs::read_to_string(&log).unwrap();
        assert!(text.contains("cannot watch"), "{text}");
        assert!(text.contains("no inotify here"), "{text}");
    }
}
