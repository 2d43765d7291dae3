//! One inotify watcher shared by every monitor of a process, routing events by directory.
//!
//! Each inotify instance costs one of the user's `max_user_instances` (128 by default), so
//! start-all-queues uses one watcher (and one thread) for all its queues: each directory
//! subscribes, and an event goes to the subscriber of the directory it happened in (and of the
//! path itself, for events on a watched directory). An overflow reaches every subscriber as
//! [`HubEvent::Rescan`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use notify::{Event, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// What a subscriber receives.
#[derive(Debug)]
pub(crate) enum HubEvent {
    /// Something happened in (or to) the subscribed directory.
    Fs(Event),
    /// Events may have been lost: list the directory again.
    Rescan,
}

type Routes = Arc<Mutex<HashMap<PathBuf, UnboundedSender<HubEvent>>>>;

/// The shared watcher.
pub(crate) struct WatchHub {
    watcher: Mutex<RecommendedWatcher>,
    routes: Routes,
}

impl std::fmt::Debug for WatchHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchHub").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl WatchHub {
    /// Starts the watcher (an inotify instance and its thread).
    pub fn new() -> notify::Result<Arc<WatchHub>> {
        let routes: Routes = Arc::default();
        let r = routes.clone();
        let watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
            let routes = lock(&r);
            match res {
                Ok(event) if event.need_rescan() || event.paths.is_empty() => {
                    if event.need_rescan() {
                        for tx in routes.values() {
                            let _ = tx.send(HubEvent::Rescan);
                        }
                    }
                }
                Ok(event) => {
                    // Drop the noise of dot-files (our own .log and lock) before it wakes anyone;
                    // .machines is kept: it lifts holds.
                    let noise = event.paths.iter().all(|p| {
                        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                            n.starts_with('.') && n != crate::machines::MACHINES_FILE
                        })
                    });
                    if noise {
                        return;
                    }
                    let mut sent: Vec<&PathBuf> = Vec::new();
                    for path in &event.paths {
                        for key in [Some(path.as_path()), path.parent()].into_iter().flatten() {
                            if let Some((k, tx)) = routes.get_key_value(key) {
                                if !sent.contains(&k) {
                                    sent.push(k);
                                    let _ = tx.send(HubEvent::Fs(event.clone()));
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "inotify watcher error; rescanning every watched directory");
                    for tx in routes.values() {
                        let _ = tx.send(HubEvent::Rescan);
                    }
                }
            }
        })?;
        Ok(Arc::new(WatchHub {
            watcher: Mutex::new(watcher),
            routes,
        }))
    }

    /// Watches `dir` (not recursively); events arrive on the returned receiver until the
    /// subscription is dropped.
    pub fn subscribe(
        self: &Arc<Self>,
        dir: &Path,
    ) -> notify::Result<(Subscription, UnboundedReceiver<HubEvent>)> {
        let (tx, rx) = unbounded_channel();
        lock(&self.routes).insert(dir.to_owned(), tx);
        let watched = lock(&self.watcher).watch(dir, RecursiveMode::NonRecursive);
        if let Err(e) = watched {
            lock(&self.routes).remove(dir);
            return Err(e);
        }
        Ok((
            Subscription {
                hub: self.clone(),
                dir: dir.to_owned(),
            },
            rx,
        ))
    }
}

/// A watched directory; dropping it stops the watch.
pub(crate) struct Subscription {
    hub: Arc<WatchHub>,
    dir: PathBuf,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("dir", &self.dir)
            .finish()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        lock(&self.hub.routes).remove(&self.dir);
        // The directory may be gone already; nothing to do then.
        let _ = lock(&self.hub.watcher).unwatch(&self.dir);
    }
}
