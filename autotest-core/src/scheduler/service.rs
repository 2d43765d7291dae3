//! The scheduler as a service: the lock, then [`run_scheduler`], again and again until told to
//! stop. A lost lock (the database restarted under it) or a store that fails at start stops
//! scheduling, not the process: it retries with backoff, takes the lock again (or waits as a
//! standby if another scheduler got it meanwhile), and re-attaches to what is running.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::daemon::{SchedulerConfig, SchedulerError, run_scheduler};
use super::lock::{WhenHeld, acquire_scheduler_lock};
use crate::store::Store;

/// The longest pause before starting again after the store failed.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Runs the scheduler on `store` under its database's scheduler lock until `stop` turns true.
/// `when_held` decides what a first start does when another scheduler holds the lock; after a
/// lost lock this one always waits for it. Errors only for what retrying cannot mend (the
/// results directory, a refused lock); database failures are logged and retried.
pub async fn serve_scheduler(
    store: &Store,
    config: &SchedulerConfig,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    when_held: WhenHeld,
) -> Result<(), SchedulerError> {
    let mut when_held = when_held;
    let mut backoff = Duration::from_millis(500);
    loop {
        let Some(lock) = acquire_scheduler_lock(store.url(), when_held, &mut stop).await? else {
            return Ok(());
        };
        when_held = WhenHeld::Wait;
        // This run ends on a stop or when the lock is gone, whichever comes first.
        let (run_stop_tx, run_stop) = watch::channel(false);
        let mut lost = lock.lost();
        let mut outer = stop.clone();
        let relay = tokio::spawn(async move {
            tokio::select! {
                _ = outer.wait_for(|s| *s) => {}
                _ = lost.wait_for(|l| *l) => {}
            }
            let _ = run_stop_tx.send(true);
        });
        let result = run_scheduler(store, config, wake.clone(), run_stop).await;
        relay.abort();
        let lock_lost = *lock.lost().borrow();
        drop(lock);
        if *stop.borrow() {
            return result;
        }
        match result {
            Ok(()) if lock_lost => {
                tracing::warn!(
                    "lost the scheduler lock (its database session ended): scheduling stops until it is held again; running jobs are re-attached then"
                );
                backoff = Duration::from_millis(500);
            }
            Ok(()) => return Ok(()),
            Err(SchedulerError::Store(e)) => {
                tracing::warn!(
                    "the scheduler cannot read the database: {e}; starting again in {:.1}s",
                    backoff.as_secs_f64()
                );
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(e) => return Err(e),
        }
    }
}
