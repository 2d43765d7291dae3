//! The scheduler's loop on one machine (`autotest scheduler <results>`): it wakes when the
//! database changes (or on a slow safety pass), decides with [`assign`], starts each decision
//! through an [`AutoservLauncher`] into `<results>/<jobid>-<owner>/<host|groupN>/`, and when an
//! autoserv ends parses its results and ends the entries. It keeps no state that is not in the
//! store or in the pidfiles: at start it re-attaches to every active entry through its
//! pidfile, so a scheduler killed anywhere loses nothing and starts nothing twice.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc, watch};

use super::assign::{Start, assign};
use crate::autoserv::{AutoservLauncher, LaunchRequest};
use crate::pidfile::PidfileState;
use crate::results::{JobResults, scheduler_job_dir};
use crate::store::{ControlType, EntryStatus, QueueEntry, StartOutcome, Store, StoreError};

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// The results directory jobs' results go under.
    pub results_dir: PathBuf,
    /// Starts autoserv (on this machine, the in-process drone).
    pub launcher: Arc<dyn AutoservLauncher>,
    /// The slow pass that runs even when nothing woke the scheduler.
    pub safety_pass: Duration,
    /// At most this many starts per pass (legacy `max_jobs_started_per_cycle`).
    pub max_jobs_started_per_cycle: usize,
    /// How long a started autoserv may go without writing its pidfile before its entries are
    /// ended as lost (legacy `pidfile_timeout_mins`).
    pub pidfile_timeout: Duration,
}

impl SchedulerConfig {
    /// Legacy defaults: 100 starts per pass, a pidfile within 5 minutes; a safety pass every
    /// 30 s.
    pub fn new(results_dir: impl Into<PathBuf>, launcher: Arc<dyn AutoservLauncher>) -> Self {
        SchedulerConfig {
            results_dir: results_dir.into(),
            launcher,
            safety_pass: Duration::from_secs(30),
            max_jobs_started_per_cycle: 100,
            pidfile_timeout: Duration::from_secs(300),
        }
    }
}

/// Why the scheduler stopped.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The results directory (or the lock file) cannot be used.
    #[error("cannot use {}: {source}: check that it exists and is writable", path.display())]
    ResultsDir {
        /// The directory or file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store failed at start (later failures are logged and retried).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another scheduler serves this database.
    #[error(
        "another scheduler holds {} (pid {holder}): one scheduler per database; stop it first",
        path.display()
    )]
    Held {
        /// The lock file.
        path: PathBuf,
        /// The pid written in it.
        holder: String,
    },
    /// Another scheduler holds this PostgreSQL database's advisory lock.
    #[error(
        "another scheduler holds the scheduler lock of {url} ({holder}): one scheduler per database: stop it first, or run this one as a standby that takes over when it stops"
    )]
    HeldDatabase {
        /// The database (without password).
        url: String,
        /// The holding session, as it named itself.
        holder: String,
    },
}

/// Holds the one-scheduler-per-database lock of an SQLite database (`<db>.scheduler.lock`,
/// flock'd with the holder's pid inside) for as long as the file is kept open.
pub fn lock_sqlite_scheduler(db_file: &Path) -> Result<std::fs::File, SchedulerError> {
    use std::io::{Read, Seek, Write};
    use std::os::fd::AsRawFd;
    let mut path = db_file.as_os_str().to_owned();
    path.push(".scheduler.lock");
    let path = PathBuf::from(path);
    let io = |source| SchedulerError::ResultsDir {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    // SAFETY: flock on a descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        return Err(SchedulerError::Held {
            path,
            holder: holder.trim().to_owned(),
        });
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    Ok(file)
}

/// One started group: the entries of a job that share a results subdirectory and an autoserv.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct GroupKey {
    job_id: i64,
    subdir: String,
}

#[derive(Debug)]
struct Running {
    dir: PathBuf,
    aborting: bool,
}

/// Runs until `stop` turns true; running autoservs are left running for the next start to
/// re-attach to. `wake` is notified by whoever knows the database changed.
pub async fn run_scheduler(
    store: &Store,
    config: &SchedulerConfig,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), SchedulerError> {
    std::fs::create_dir_all(&config.results_dir).map_err(|source| SchedulerError::ResultsDir {
        path: config.results_dir.clone(),
        source,
    })?;
    // Absolute: autoserv runs inside its results directory and is given paths to it.
    let results_dir = std::fs::canonicalize(&config.results_dir).map_err(|source| {
        SchedulerError::ResultsDir {
            path: config.results_dir.clone(),
            source,
        }
    })?;
    let (ended_tx, mut ended_rx) = mpsc::unbounded_channel();
    let mut s = Scheduler {
        store,
        config,
        results_dir,
        running: HashMap::new(),
        ended: ended_tx,
    };
    s.reattach().await?;
    tracing::info!(
        results = %s.results_dir.display(),
        running = s.running.len(),
        "scheduler started"
    );
    loop {
        // A pass waiting on an unreachable database must not hold up a stop (or a lost lock):
        // dropping it midway is no worse than a kill -9, which a restart recovers from.
        tokio::select! {
            result = s.pass() => if let Err(e) = result {
                tracing::warn!("scheduler pass failed, retrying on the next wake-up: {e}");
            },
            _ = stop.wait_for(|stop| *stop) => break,
        }
        tokio::select! {
            _ = wake.notified() => {}
            Some(key) = ended_rx.recv() => s.finish(key).await,
            _ = tokio::time::sleep(config.safety_pass) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
    // The stop as progress too: a front end shows what is left running (autoservs are not
    // waited for, the next start re-attaches to them).
    tracing::info!(
        target: crate::progress::PROGRESS_TARGET,
        task = "scheduler stop",
        running = s.running.len() as u64,
        finished = true,
        "left running for the next start"
    );
    tracing::info!(
        running = s.running.len(),
        "scheduler stopped; running jobs are left for the next start"
    );
    Ok(())
}

struct Scheduler<'a> {
    store: &'a Store,
    config: &'a SchedulerConfig,
    results_dir: PathBuf,
    running: HashMap<GroupKey, Running>,
    ended: mpsc::UnboundedSender<GroupKey>,
}

impl Scheduler<'_> {
    fn job_dir(&self, job_id: i64, owner: &str) -> PathBuf {
        scheduler_job_dir(
            &self.results_dir,
            u64::try_from(job_id).unwrap_or(0),
            &path_safe(owner),
        )
    }

    /// Every active group found again: finished ones are ended, running ones watched, and
    /// ones whose autoserv never started are started now.
    async fn reattach(&mut self) -> Result<(), StoreError> {
        let mut groups: BTreeMap<GroupKey, Vec<QueueEntry>> = BTreeMap::new();
        for e in self.store.active_entries().await? {
            groups
                .entry(GroupKey {
                    job_id: e.job_id,
                    subdir: e.execution_subdir.clone(),
                })
                .or_default()
                .push(e);
        }
        for (key, entries) in groups {
            let job = self.store.job(key.job_id).await?;
            let dir = self.job_dir(job.id, &job.owner).join(&key.subdir);
            let results = JobResults::new(&dir);
            let state = results.autoserv_pidfile().read_checked().ok().flatten();
            let alive = !self.config.launcher.running_for(&results).await.is_empty();
            let never_launched = state.is_none()
                && !alive
                && entries.iter().all(|e| e.status == EntryStatus::Starting);
            if never_launched {
                tracing::info!(job = key.job_id, subdir = %key.subdir, "starting a job whose autoserv never started");
                let hosts = entries.iter().filter_map(|e| e.host_id).collect();
                self.launch(&key, hosts).await;
                continue;
            }
            tracing::info!(job = key.job_id, subdir = %key.subdir, ?state, "re-attached");
            self.watch(key, dir, None);
        }
        Ok(())
    }

    async fn pass(&mut self) -> Result<(), StoreError> {
        self.aborts().await?;
        let snapshot = self.store.scheduler_snapshot().await?;
        let decisions = assign(&snapshot);
        let now = crate::store::now();
        for start in decisions
            .starts
            .iter()
            .take(self.config.max_jobs_started_per_cycle)
        {
            match self.store.start_entries(start, now).await? {
                StartOutcome::Started { execution_subdir } => {
                    let key = GroupKey {
                        job_id: start.job_id,
                        subdir: execution_subdir,
                    };
                    self.launch(&key, hosts_of(start)).await;
                }
                StartOutcome::Stale => {
                    tracing::debug!(
                        job = start.job_id,
                        "decision stale, deciding again next pass"
                    )
                }
            }
        }
        Ok(())
    }

    /// Aborted entries: queued ones end at once; running ones get their autoserv's process
    /// group signalled (autoserv aborts its machines) and end when it exits.
    async fn aborts(&mut self) -> Result<(), StoreError> {
        let now = crate::store::now();
        for e in self.store.entries_to_abort().await? {
            if !e.active {
                self.store
                    .set_entry_status(e.id, EntryStatus::Aborted, now)
                    .await?;
                continue;
            }
            let key = GroupKey {
                job_id: e.job_id,
                subdir: e.execution_subdir.clone(),
            };
            if let Some(r) = self.running.get_mut(&key)
                && !r.aborting
            {
                r.aborting = true;
                let pid = JobResults::new(&r.dir)
                    .autoserv_pidfile()
                    .read()
                    .ok()
                    .flatten()
                    .and_then(|s| s.pid());
                match pid {
                    Some(pid) => {
                        tracing::info!(job = key.job_id, subdir = %key.subdir, pid, "aborting");
                        signal_group(pid);
                    }
                    None => tracing::warn!(
                        job = key.job_id,
                        "abort: no autoserv pid yet, retried next pass"
                    ),
                }
            }
        }
        Ok(())
    }

    /// Writes the control file and starts autoserv for a started group.
    async fn launch(&mut self, key: &GroupKey, host_ids: Vec<i64>) {
        let now = crate::store::now();
        let result: Result<PathBuf, String> = async {
            let job = self
                .store
                .job(key.job_id)
                .await
                .map_err(|e| e.to_string())?;
            let mut machines = Vec::new();
            for id in host_ids {
                machines.push(
                    self.store
                        .host_by_id(id)
                        .await
                        .map_err(|e| e.to_string())?
                        .hostname,
                );
            }
            let job_dir = self.job_dir(job.id, &job.owner);
            let dir = job_dir.join(&key.subdir);
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let server = job.control_type == ControlType::Server;
            let control = dir.join(if server { "control.srv" } else { "control" });
            std::fs::write(&control, &job.control_file)
                .map_err(|e| format!("{}: {e}", control.display()))?;
            let request = LaunchRequest {
                machines,
                results: JobResults::new(&dir),
                control,
                server,
                conmux: None,
                task: None,
            };
            self.config
                .launcher
                .start(&request)
                .await
                .map_err(|e| e.to_string())?;
            if let Err(e) = self
                .store
                .set_results_location(job.id, "localhost", &job_dir.to_string_lossy())
                .await
            {
                tracing::warn!(job = job.id, "cannot record where the results are: {e}");
            }
            Ok(dir)
        }
        .await;
        match result {
            Ok(dir) => {
                if let Err(e) = self
                    .store
                    .set_group_status(key.job_id, &key.subdir, EntryStatus::Running, now)
                    .await
                {
                    tracing::warn!(job = key.job_id, "cannot mark the entries Running: {e}");
                }
                tracing::info!(job = key.job_id, subdir = %key.subdir, "autoserv started");
                self.watch(key.clone(), dir, Some(Instant::now()));
            }
            Err(why) => {
                tracing::error!(job = key.job_id, subdir = %key.subdir, "cannot start autoserv: {why}");
                if let Err(e) = self
                    .store
                    .set_group_status(key.job_id, &key.subdir, EntryStatus::Failed, now)
                    .await
                {
                    tracing::warn!(job = key.job_id, "cannot end the entries: {e}");
                }
            }
        }
    }

    /// Watches a group's pidfile until its autoserv has ended, then reports it.
    fn watch(&mut self, key: GroupKey, dir: PathBuf, launched: Option<Instant>) {
        self.running.insert(
            key.clone(),
            Running {
                dir: dir.clone(),
                aborting: false,
            },
        );
        let ended = self.ended.clone();
        let timeout = self.config.pidfile_timeout;
        let launched = launched.unwrap_or_else(Instant::now);
        tokio::spawn(async move {
            let pidfile = JobResults::new(&dir).autoserv_pidfile();
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                match pidfile.read_checked() {
                    Ok(Some(PidfileState::Running { .. } | PidfileState::BeingWritten { .. })) => {}
                    Ok(Some(_)) => break,
                    Ok(None) | Err(_) if launched.elapsed() > timeout => break,
                    Ok(None) | Err(_) => {}
                }
            }
            let _ = ended.send(key);
        });
    }

    /// An autoserv ended: Parsing, its results into the store, then Completed (exit 0, no
    /// failed test), Failed, or Aborted.
    async fn finish(&mut self, key: GroupKey) {
        let Some(r) = self.running.remove(&key) else {
            return;
        };
        let now = crate::store::now();
        let state = JobResults::new(&r.dir)
            .autoserv_pidfile()
            .read_checked()
            .ok()
            .flatten();
        self.step(&key, EntryStatus::Parsing).await;
        match self.store.parse_results(&r.dir).await {
            Ok(report) => {
                for p in &report.problems {
                    tracing::warn!(job = key.job_id, "parse: {p}");
                }
            }
            Err(e) => tracing::warn!(job = key.job_id, "cannot parse {}: {e}", r.dir.display()),
        }
        let aborted = r.aborting
            || self
                .store
                .queue_entries(key.job_id)
                .await
                .map(|es| {
                    es.iter()
                        .any(|e| e.execution_subdir == key.subdir && e.aborted)
                })
                .unwrap_or(false);
        let status = match &state {
            _ if aborted => EntryStatus::Aborted,
            Some(PidfileState::Finished {
                exit_status,
                failed_tests: 0,
                ..
            }) if exit_status.success() => EntryStatus::Completed,
            _ => EntryStatus::Failed,
        };
        tracing::info!(job = key.job_id, subdir = %key.subdir, ?state, %status, at = now, "job ended");
        self.step(&key, status).await;
    }

    /// Moves a group's entries on; a store failure is logged (the safety pass and a restart
    /// find the entries again).
    async fn step(&self, key: &GroupKey, status: EntryStatus) {
        if let Err(e) = self
            .store
            .set_group_status(key.job_id, &key.subdir, status, crate::store::now())
            .await
        {
            tracing::warn!(job = key.job_id, "cannot set the entries {status}: {e}");
        }
    }
}

fn hosts_of(start: &Start) -> Vec<i64> {
    start.entries.iter().map(|a| a.host_id).collect()
}

/// An owner name as one path component: no separators, no `.`/`..`, no NUL.
fn path_safe(owner: &str) -> String {
    let s: String = owner
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    match s.as_str() {
        "" | "." | ".." => format!("_{s}"),
        _ => s,
    }
}

/// SIGTERM to the process group autoserv leads (it runs in its own group).
fn signal_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid)
        && pid > 1
    {
        // SAFETY: kill on a negative pid signals that process group only.
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
    }
}

/// Wakes the scheduler whenever the SQLite database file (or its WAL) is written by any
/// process: the local wake-up for the embedded backend. The watcher must be kept alive.
pub fn wake_on_sqlite_writes(
    db_file: &Path,
    wake: Arc<Notify>,
) -> Result<notify::RecommendedWatcher, notify::Error> {
    use notify::{RecursiveMode, Watcher};
    let dir = db_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    let name = db_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && ev.kind.is_modify()
            && ev.paths.iter().any(|p| {
                p.file_name()
                    .is_some_and(|f| f.to_string_lossy().starts_with(&name))
            })
        {
            wake.notify_one();
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}
