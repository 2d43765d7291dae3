//! start-all-queues: one monitor per queue directory, all in one process.

use std::collections::HashMap;
use std::fs;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::EventKind;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::QueueError;
use super::monitor::{MonitorOptions, QueueMonitorConfig, run_monitor};
use super::watch::{HubEvent, WatchHub};

/// What start-all-queues runs (`start-all-queues <top_level_dir>`).
#[derive(Debug, Clone)]
pub struct StartAllQueuesConfig {
    /// The top-level directory: queues in `<top>/queue/`, results to `<top>/results/`, console
    /// configs in `<top>/conmux/`.
    pub top_dir: PathBuf,
    /// The console server given to the monitor of a queue that has a console config
    /// ([`conmux_config_path`]). Default `localhost`.
    pub conmux_server: String,
    /// Options of every monitor.
    pub options: MonitorOptions,
    /// First pause before a monitor that stopped with an error is started again (doubled after
    /// each further failure, up to 5 minutes). Default 10 s.
    pub restart_delay: Duration,
}

impl StartAllQueuesConfig {
    /// Queues under `top_dir`, default options.
    pub fn new(top_dir: impl Into<PathBuf>) -> Self {
        StartAllQueuesConfig {
            top_dir: top_dir.into(),
            conmux_server: "localhost".to_owned(),
            options: MonitorOptions::default(),
            restart_delay: Duration::from_secs(10),
        }
    }
}

/// `<top>/conmux/<queue>.cf`: when this conmux console config exists, the queue's monitor gets
/// the console server argument.
pub fn conmux_config_path(top_dir: impl AsRef<Path>, queue: &str) -> PathBuf {
    top_dir.as_ref().join("conmux").join(format!("{queue}.cf"))
}

/// The longest pause between restarts of a failing monitor.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(300);
/// A monitor that ran this long before failing starts over from the first delay.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Slot {
    running: bool,
    started: Instant,
    /// Not started again before this.
    not_before: Instant,
    delay: Duration,
}

/// Runs one queue monitor per directory under `<top>/queue` (names starting with `.` excepted),
/// results into `<top>/results` (created if missing), until `shutdown` completes; then stops
/// every monitor (running autoservs are left running, see [`monitor_queue`]) and returns.
///
/// Directories created later get a monitor too (inotify on `<top>/queue`, and a listing every
/// [`MonitorOptions::rescan_interval`]); a monitor that stops with an error (its directory was
/// removed, another monitor holds the queue, ...) is reported through `tracing` and in its
/// queue's `.log`, and started again after [`StartAllQueuesConfig::restart_delay`] while its
/// directory exists. All monitors share one inotify watcher (one inotify instance, whatever the
/// number of queues).
///
/// A queue gets the console server [`StartAllQueuesConfig::conmux_server`] (autoserv's
/// `--conmux`) when its conmux console config `<top>/conmux/<queue>.cf`
/// ([`conmux_config_path`]) exists when its monitor starts.
///
/// [`monitor_queue`]: crate::monitor_queue
pub async fn start_all_queues<F>(
    config: StartAllQueuesConfig,
    shutdown: F,
) -> Result<(), QueueError>
where
    F: Future<Output = ()> + Send,
{
    let queue_root = config.top_dir.join("queue");
    if !queue_root.is_dir() {
        return Err(QueueError::TopQueueDirMissing { path: queue_root });
    }
    let queue_root =
        fs::canonicalize(&queue_root).map_err(|e| QueueError::io("resolve", &queue_root, e))?;
    let results = config.top_dir.join("results");
    fs::create_dir_all(&results)
        .map_err(|e| QueueError::io("create the results directory", &results, e))?;
    let hub: Result<Arc<WatchHub>, String> = WatchHub::new().map_err(|e| e.to_string());
    let (_subscription, mut rx) = match hub
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|h| h.subscribe(&queue_root).map_err(|e| e.to_string()))
    {
        Ok((s, rx)) => (Some(s), Some(rx)),
        Err(e) => {
            tracing::warn!(dir = %queue_root.display(), error = %e, "cannot watch the queue directory with inotify; listing it periodically instead");
            (None, None)
        }
    };
    let rescan_every = if rx.is_some() {
        config.options.rescan_interval
    } else {
        config.options.poll_interval
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks: JoinSet<Result<(), QueueError>> = JoinSet::new();
    let mut names: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut slots: HashMap<String, Slot> = HashMap::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut next_scan = Instant::now();
    let mut need_scan = true;
    tracing::info!(top = %config.top_dir.display(), "start-all-queues: watching {}", queue_root.display());
    loop {
        if need_scan || Instant::now() >= next_scan {
            need_scan = false;
            next_scan = Instant::now() + rescan_every;
            let queues = match list_queues(&queue_root) {
                Ok(q) => q,
                Err(e) => {
                    tracing::error!(error = %e, "cannot list the queues");
                    Vec::new()
                }
            };
            slots.retain(|name, slot| slot.running || queues.contains(name));
            for name in queues {
                let now = Instant::now();
                if let Some(slot) = slots.get(&name) {
                    if slot.running {
                        continue;
                    }
                    if slot.not_before > now {
                        next_scan = next_scan.min(slot.not_before);
                        continue;
                    }
                }
                let conmux = conmux_config_path(&config.top_dir, &name)
                    .exists()
                    .then(|| config.conmux_server.clone());
                let monitor = QueueMonitorConfig {
                    queue_dir: queue_root.join(&name),
                    results_dir: results.clone(),
                    conmux_server: conmux,
                    options: config.options.clone(),
                };
                let mut stop = stop_rx.clone();
                let hub = hub.clone();
                let handle = tasks.spawn(async move {
                    run_monitor(monitor, hub, async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await
                });
                tracing::info!(queue = %name, "started the queue monitor");
                names.insert(handle.id(), name.clone());
                let delay = slots.get(&name).map_or(config.restart_delay, |s| s.delay);
                slots.insert(
                    name,
                    Slot {
                        running: true,
                        started: now,
                        not_before: now,
                        delay,
                    },
                );
            }
        }
        tokio::select! {
            biased;
            _ = shutdown.as_mut() => break,
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let (id, result) = match joined {
                    Ok((id, r)) => (id, r.map_err(|e| e.to_string())),
                    Err(e) => (e.id(), Err(format!("the monitor task failed: {e}"))),
                };
                let name = names.remove(&id).unwrap_or_default();
                if let Some(slot) = slots.get_mut(&name) {
                    slot.running = false;
                    let now = Instant::now();
                    if now.duration_since(slot.started) >= HEALTHY_RUN {
                        slot.delay = config.restart_delay;
                    }
                    slot.not_before = now + slot.delay;
                    next_scan = next_scan.min(slot.not_before);
                    match &result {
                        Ok(()) => tracing::warn!(queue = %name, "queue monitor stopped; restarted in {:?} if its directory still exists", slot.delay),
                        Err(e) => tracing::warn!(queue = %name, error = %e, "queue monitor stopped; restarted in {:?} if its directory still exists", slot.delay),
                    }
                    slot.delay = (slot.delay * 2).min(MAX_RESTART_DELAY);
                }
            }
            ev = async {
                match rx.as_mut() {
                    Some(r) => r.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                match ev {
                    Some(HubEvent::Rescan) => need_scan = true,
                    Some(HubEvent::Fs(ev)) => {
                        if ev.need_rescan()
                            || matches!(ev.kind, EventKind::Create(_) | EventKind::Remove(_) | EventKind::Modify(notify::event::ModifyKind::Name(_)))
                        {
                            need_scan = true;
                        }
                    }
                    None => {
                        rx = None;
                        need_scan = true;
                    }
                }
            }
            _ = tokio::time::sleep_until(next_scan) => {}
        }
    }
    tracing::info!("start-all-queues: stopping every queue monitor");
    let _ = stop_tx.send(true);
    while let Some(joined) = tasks.join_next_with_id().await {
        if let Ok((id, Err(e))) = joined {
            let name = names.remove(&id).unwrap_or_default();
            tracing::warn!(queue = %name, error = %e, "queue monitor ended with an error while stopping");
        }
    }
    Ok(())
}

/// The queue names under `<top>/queue`: directories whose names are UTF-8 and do not start
/// with `.`.
fn list_queues(queue_root: &Path) -> Result<Vec<String>, QueueError> {
    let mut names = Vec::new();
    let entries = fs::read_dir(queue_root)
        .map_err(|e| QueueError::io("list the queues in", queue_root, e))?;
    for item in entries.flatten() {
        let Ok(name) = item.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') || !item.path().is_dir() {
            continue;
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}
