//! Wake-ups from the database: on PostgreSQL the scheduler LISTENs on
//! [`NOTIFY_CHANNEL`](crate::store::NOTIFY_CHANNEL), which schema version 3's triggers NOTIFY
//! on every write to the tables scheduling depends on, whoever the writer is. (SQLite has no
//! NOTIFY: see [`wake_on_sqlite_writes`](super::wake_on_sqlite_writes).)

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::Notify;

use super::daemon::SchedulerError;
use crate::store::{DbUrl, NOTIFY_CHANNEL, StoreError};

/// The longest wait between attempts to LISTEN again on an unreachable database.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Keeps the LISTEN alive (re-connecting and re-LISTENing after a lost connection) until
/// dropped.
#[derive(Debug)]
pub struct PgWake {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PgWake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// LISTENs on `url`'s database (a dedicated connection, not the store's pool) and notifies
/// `wake` on every notification, and after every reconnection (notifications sent while the
/// connection was down are lost, so a pass must look). The first LISTEN is made before this
/// returns, so nothing written after it is missed; later failures are retried with backoff and
/// logged. `url` must be a PostgreSQL database.
pub async fn wake_on_postgres_notify(
    url: &DbUrl,
    wake: Arc<Notify>,
) -> Result<PgWake, SchedulerError> {
    let Some(pg) = url.postgres_url() else {
        return Err(SchedulerError::Store(StoreError::Invalid(format!(
            "{url} is not a PostgreSQL database: LISTEN/NOTIFY wake-ups need PostgreSQL (SQLite's come from its file)"
        ))));
    };
    let connect_err = |source| {
        SchedulerError::Store(StoreError::Connect {
            url: url.to_string(),
            source,
        })
    };
    let listener = listen(pg).await.map_err(connect_err)?;
    let task = tokio::spawn(keep_listening(
        listener,
        pg.to_owned(),
        url.to_string(),
        wake,
    ));
    Ok(PgWake { task })
}

async fn listen(pg: &str) -> Result<PgListener, sqlx::Error> {
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(pg)?.application_name(&format!(
        "autotest scheduler wake-up (pid {})",
        std::process::id()
    ));
    // One connection; the listener's own reconnection goes through this pool.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options)
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.ignore_pool_close_event(true);
    listener.listen(NOTIFY_CHANNEL).await?;
    Ok(listener)
}

async fn keep_listening(mut listener: PgListener, pg: String, url: String, wake: Arc<Notify>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => {
                tracing::trace!(table = n.payload(), "database change");
                wake.notify_one();
                continue;
            }
            // The connection was lost; the listener re-LISTENs on the next call.
            Ok(None) => {
                tracing::warn!(db = %url, "the LISTEN connection was lost; listening again")
            }
            Err(e) => {
                tracing::warn!(db = %url, "the LISTEN connection failed: {e}; listening again")
            }
        }
        // Whatever happened meanwhile was not notified: look.
        wake.notify_one();
        // Start from a fresh connection: after an error the old one may be unusable.
        let mut backoff = Duration::from_millis(500);
        listener = loop {
            match listen(&pg).await {
                Ok(l) => break l,
                Err(e) => {
                    tracing::warn!(
                        db = %url,
                        "cannot LISTEN for wake-ups: {e}; retrying in {:.1}s (the safety pass still runs)",
                        backoff.as_secs_f64()
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        };
        tracing::info!(db = %url, "listening for wake-ups again");
        wake.notify_one();
    }
}
