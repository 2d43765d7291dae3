//! One scheduler per database. SQLite: `<db>.scheduler.lock`, flock'd (see
//! [`lock_sqlite_scheduler`]). PostgreSQL: a session advisory lock on a dedicated connection
//! kept for as long as the lock is held, so a scheduler killed with -9 loses it the moment its
//! socket closes and a standby takes over. A lock can be lost (the database restarted, the
//! session terminated): [`SchedulerLock::lost`] says so, and the holder stops scheduling
//! until it holds the lock again.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Row};
use tokio::sync::watch;

use super::daemon::{SchedulerError, lock_sqlite_scheduler};
use crate::store::DbUrl;

/// The advisory lock's key: "autotest" in ASCII, one per database.
const PG_LOCK_KEY: i64 = 0x6175_746f_7465_7374;

/// How often a standby tries for the lock, and how often the holder checks it still has it.
const LOCK_POLL: Duration = Duration::from_secs(1);

/// The longest wait between attempts to reach an unreachable database.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The one-scheduler-per-database lock, held until dropped.
#[derive(Debug)]
pub struct SchedulerLock {
    _held: Held,
    lost: watch::Receiver<bool>,
    // An SQLite lock's `lost` sender, kept so that the channel stays open (and false).
    _never_lost: Option<watch::Sender<bool>>,
}

#[derive(Debug)]
enum Held {
    Sqlite(#[allow(dead_code)] std::fs::File),
    // The task owns the connection: aborting it drops the session, which releases the lock.
    Postgres(tokio::task::JoinHandle<()>),
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Held::Postgres(task) = self {
            task.abort();
        }
    }
}

impl SchedulerLock {
    /// Turns true when the lock is no longer held (PostgreSQL: the lock's session ended). An
    /// SQLite lock is never lost.
    pub fn lost(&self) -> watch::Receiver<bool> {
        self.lost.clone()
    }
}

/// Whether a scheduler that finds the lock held refuses to start or waits as a standby.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenHeld {
    /// Fail with [`SchedulerError::Held`] / [`SchedulerError::HeldDatabase`].
    Refuse,
    /// Retry every second until the holder is gone (or `stop` turns true).
    Wait,
}

/// Takes the scheduler lock of `url`'s database. With [`WhenHeld::Wait`], waits (logging that
/// this scheduler is a standby) until the holder is gone; an unreachable database is retried
/// with backoff, also when refusing. `None` when `stop` turned true while waiting.
pub async fn acquire_scheduler_lock(
    url: &DbUrl,
    when_held: WhenHeld,
    stop: &mut watch::Receiver<bool>,
) -> Result<Option<SchedulerLock>, SchedulerError> {
    let mut standby_logged = false;
    let mut backoff = LOCK_POLL;
    loop {
        if *stop.borrow() {
            return Ok(None);
        }
        let attempt = match url.postgres_url() {
            None => {
                let file = url.sqlite_file().unwrap_or(std::path::Path::new(""));
                match lock_sqlite_scheduler(file) {
                    Ok(f) => {
                        let (tx, lost) = watch::channel(false);
                        return Ok(Some(SchedulerLock {
                            _held: Held::Sqlite(f),
                            lost,
                            _never_lost: Some(tx),
                        }));
                    }
                    Err(e @ SchedulerError::Held { .. }) => Attempt::Held(e),
                    Err(e) => return Err(e),
                }
            }
            Some(pg) => match try_pg_lock(pg, url).await {
                Ok(Some(conn)) => {
                    let (tx, lost) = watch::channel(false);
                    let task = tokio::spawn(hold_pg_lock(conn, tx, url.to_string()));
                    tracing::info!(db = %url, "holding the scheduler lock (PostgreSQL advisory lock)");
                    return Ok(Some(SchedulerLock {
                        _held: Held::Postgres(task),
                        lost,
                        _never_lost: None,
                    }));
                }
                Ok(None) => Attempt::Held(SchedulerError::HeldDatabase {
                    url: url.to_string(),
                    holder: pg_lock_holder(pg).await,
                }),
                Err(e) => Attempt::Unreachable(e),
            },
        };
        let pause = match attempt {
            Attempt::Held(e) => {
                if when_held == WhenHeld::Refuse {
                    return Err(e);
                }
                if !standby_logged {
                    tracing::info!("standby: {e}; retrying every {}s", LOCK_POLL.as_secs());
                    standby_logged = true;
                }
                backoff = LOCK_POLL;
                LOCK_POLL
            }
            Attempt::Unreachable(e) => {
                tracing::warn!(
                    "cannot reach the database {url} for the scheduler lock: {e}; retrying in {}s",
                    backoff.as_secs()
                );
                let b = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                b
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
    }
}

enum Attempt {
    Held(SchedulerError),
    Unreachable(sqlx::Error),
}

fn pg_options(pg: &str, role: &str) -> Result<PgConnectOptions, sqlx::Error> {
    Ok(PgConnectOptions::from_str(pg)?.application_name(&format!(
        "autotest scheduler {role} (pid {} on {})",
        std::process::id(),
        hostname()
    )))
}

/// A connection holding the lock, or `None` when another session holds it.
async fn try_pg_lock(pg: &str, url: &DbUrl) -> Result<Option<PgConnection>, sqlx::Error> {
    let options = pg_options(pg, "lock")?;
    let mut conn = tokio::time::timeout(
        Duration::from_secs(10),
        PgConnection::connect_with(&options),
    )
    .await
    .map_err(|_| sqlx::Error::PoolTimedOut)??;
    let got: bool = sqlx::query("SELECT pg_try_advisory_lock($1)")
        .bind(PG_LOCK_KEY)
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    if got {
        return Ok(Some(conn));
    }
    tracing::debug!(db = %url, "scheduler lock held by another session");
    let _ = conn.close().await;
    Ok(None)
}

/// Who holds the lock, as its session named itself (best effort: for messages only).
async fn pg_lock_holder(pg: &str) -> String {
    let found = async {
        let mut conn = PgConnection::connect_with(&pg_options(pg, "standby")?).await?;
        let row = sqlx::query(
            "SELECT a.application_name, COALESCE(host(a.client_addr), 'local') FROM pg_locks l \
             JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted \
             AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1",
        )
        .bind(i64::from((PG_LOCK_KEY >> 32) as u32))
        .bind(i64::from(PG_LOCK_KEY as u32))
        .fetch_optional(&mut conn)
        .await?;
        let _ = conn.close().await;
        let row = row.ok_or(sqlx::Error::RowNotFound)?;
        Ok::<_, sqlx::Error>(format!(
            "{}, from {}",
            row.try_get::<String, _>(0)?,
            row.try_get::<String, _>(1)?
        ))
    }
    .await;
    found.unwrap_or_else(|_| "unknown session".into())
}

/// Keeps the lock's session and checks it every second; a failed check means the session
/// (and with it the lock) is gone.
async fn hold_pg_lock(mut conn: PgConnection, lost: watch::Sender<bool>, url: String) {
    loop {
        tokio::time::sleep(LOCK_POLL).await;
        let check = tokio::time::timeout(
            Duration::from_secs(10),
            sqlx::query("SELECT 1").execute(&mut conn),
        )
        .await;
        match check {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(db = %url, "the scheduler lock's connection failed ({e}): the lock is lost");
                break;
            }
            Err(_) => {
                tracing::warn!(db = %url, "the scheduler lock's connection stopped answering: the lock is given up");
                break;
            }
        }
    }
    let _ = lost.send(true);
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if ok {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "unknown host".into()
    }
}
