//! What the scheduler reads and writes: the snapshot that assignment decides on, and the
//! start of a decision, applied so that two schedulers (or a lock taken meanwhile) can never
//! start one entry twice or put two things on one host.

use std::collections::HashMap;

use sqlx::Row;

use super::error::StoreError;
use super::hosts::HostStatus;
use super::jobs::{EntryStatus, QueueEntry};
use super::{Store, flag};
use crate::scheduler::{
    Snapshot, SnapshotEntry, SnapshotHost, SnapshotJob, SnapshotLabel, SnapshotTask, Start,
};

/// The entries assignment considers: neither started, finished nor aborted.
macro_rules! queued {
    () => {
        "complete = 0 AND active = 0 AND aborted = 0"
    };
}

/// The jobs that have such entries.
macro_rules! of_queued_jobs {
    () => {
        concat!(
            "job_id IN (SELECT DISTINCT job_id FROM host_queue_entries WHERE ",
            queued!(),
            ")"
        )
    };
}

/// How a start was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// The entries are Starting on their hosts, in this results subdirectory.
    Started {
        /// `<host>` for a single entry, `groupN` for a group.
        execution_subdir: String,
    },
    /// The store changed since the snapshot (an entry started or aborted elsewhere, a host
    /// locked or busy): nothing was written; the next pass decides again.
    Stale,
}

fn read_err(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::Query {
        what: format!("reading {what}"),
        source,
    }
}

impl Store {
    /// The lab as assignment sees it: valid hosts (busy when an entry or task is active on
    /// them) with their labels, the only_if_needed labels, queued entries and their jobs
    /// (dependencies, blocked hosts, hosts the job already has), and queued special tasks.
    pub async fn scheduler_snapshot(&self) -> Result<Snapshot, StoreError> {
        let pool = self.pool();
        let q = |what: &'static str| StoreError::query(format!("reading the scheduler's {what}"));
        let host_rows = sqlx::query(
            "SELECT h.id, h.status, h.locked, CAST(CASE WHEN EXISTS (SELECT 1 FROM host_queue_entries e WHERE e.host_id = h.id AND e.active = 1) \
             OR EXISTS (SELECT 1 FROM special_tasks t WHERE t.host_id = h.id AND t.is_active = 1) THEN 1 ELSE 0 END AS BIGINT) AS busy \
             FROM hosts h WHERE h.invalid = 0 ORDER BY h.id",
        )
        .fetch_all(pool)
        .await
        .map_err(q("hosts"))?;
        let e = read_err("a host");
        let mut hosts = Vec::with_capacity(host_rows.len());
        let mut index = HashMap::with_capacity(host_rows.len());
        for r in &host_rows {
            let id: i64 = r.try_get(0).map_err(&e)?;
            index.insert(id, hosts.len());
            hosts.push(SnapshotHost {
                id,
                status: HostStatus::parse(&r.try_get::<String, _>(1).map_err(&e)?)?,
                locked: flag(r.try_get(2).map_err(&e)?),
                invalid: false,
                busy: flag(r.try_get(3).map_err(&e)?),
                labels: Vec::new(),
            });
        }
        let rows = sqlx::query(
            "SELECT hl.host_id, hl.label_id FROM host_labels hl JOIN labels l ON l.id = hl.label_id WHERE l.invalid = 0",
        )
        .fetch_all(pool)
        .await
        .map_err(q("host labels"))?;
        for r in &rows {
            let host: i64 = r.try_get(0).map_err(read_err("a host label"))?;
            if let Some(&i) = index.get(&host) {
                hosts[i]
                    .labels
                    .push(r.try_get(1).map_err(read_err("a host label"))?);
            }
        }
        let labels = sqlx::query("SELECT id FROM labels WHERE only_if_needed = 1 AND invalid = 0")
            .fetch_all(pool)
            .await
            .map_err(q("labels"))?
            .iter()
            .map(|r| {
                Ok(SnapshotLabel {
                    id: r.try_get(0).map_err(read_err("a label"))?,
                    only_if_needed: true,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;

        let rows = sqlx::query(concat!(
            "SELECT id, job_id, host_id, meta_host FROM host_queue_entries WHERE ",
            queued!(),
            " ORDER BY id"
        ))
        .fetch_all(pool)
        .await
        .map_err(q("queued entries"))?;
        let e = read_err("a queued entry");
        let mut entries = Vec::with_capacity(rows.len());
        for r in &rows {
            let meta_host: Option<i64> = r.try_get(3).map_err(&e)?;
            let host_id: Option<i64> = r.try_get(2).map_err(&e)?;
            entries.push(SnapshotEntry {
                id: r.try_get(0).map_err(&e)?,
                job_id: r.try_get(1).map_err(&e)?,
                // A requeued metahost entry may still name its last host: the label decides.
                host_id: if meta_host.is_some() { None } else { host_id },
                meta_host,
            });
        }
        let rows = sqlx::query(concat!(
            "SELECT id, priority, created_on, synch_count FROM jobs WHERE id IN (SELECT DISTINCT job_id FROM host_queue_entries WHERE ",
            queued!(),
            ") ORDER BY id"
        ))
        .fetch_all(pool)
        .await
        .map_err(q("jobs"))?;
        let e = read_err("a job");
        let mut jobs = Vec::with_capacity(rows.len());
        let mut job_index = HashMap::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get(0).map_err(&e)?;
            job_index.insert(id, jobs.len());
            jobs.push(SnapshotJob {
                id,
                priority: r.try_get(1).map_err(&e)?,
                created_on: r.try_get(2).map_err(&e)?,
                synch_count: r.try_get(3).map_err(&e)?,
                dependencies: Vec::new(),
                ineligible_hosts: Vec::new(),
                used_hosts: Vec::new(),
            });
        }
        let pairs: [(&'static str, &'static str); 3] = [
            (
                "dependencies",
                concat!(
                    "SELECT job_id, label_id FROM job_dependency_labels WHERE ",
                    of_queued_jobs!()
                ),
            ),
            (
                "blocked hosts",
                concat!(
                    "SELECT job_id, host_id FROM ineligible_host_queues WHERE ",
                    of_queued_jobs!()
                ),
            ),
            (
                "hosts jobs have",
                concat!(
                    "SELECT job_id, host_id FROM host_queue_entries WHERE host_id IS NOT NULL AND NOT (meta_host IS NOT NULL AND ",
                    queued!(),
                    ") AND ",
                    of_queued_jobs!()
                ),
            ),
        ];
        for (n, (what, sql)) in pairs.iter().enumerate() {
            let rows = sqlx::query(*sql).fetch_all(pool).await.map_err(q(what))?;
            for r in &rows {
                let job: i64 = r.try_get(0).map_err(read_err(what))?;
                let id: i64 = r.try_get(1).map_err(read_err(what))?;
                if let Some(&j) = job_index.get(&job) {
                    let list = match n {
                        0 => &mut jobs[j].dependencies,
                        1 => &mut jobs[j].ineligible_hosts,
                        _ => &mut jobs[j].used_hosts,
                    };
                    list.push(id);
                }
            }
        }
        let tasks = sqlx::query(
            "SELECT id, host_id, time_requested FROM special_tasks WHERE is_active = 0 AND is_complete = 0 ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .map_err(q("special tasks"))?
        .iter()
        .map(|r| {
            let e = read_err("a special task");
            Ok(SnapshotTask {
                id: r.try_get(0).map_err(&e)?,
                host_id: r.try_get(1).map_err(&e)?,
                time_requested: r.try_get(2).map_err(&e)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Snapshot {
            hosts,
            labels,
            jobs,
            entries,
            tasks,
        })
    }

    /// Applies one decided start in one transaction: each entry gets its host, the results
    /// subdirectory (`<host>` alone, `groupN` for a group) and Starting; each host becomes
    /// Running, and a metahost entry's host is blocked for the job should the entry come back. Guarded: when an entry is no longer queued or a host no longer Ready,
    /// unlocked and idle, nothing is written and [`StartOutcome::Stale`] is returned.
    pub async fn start_entries(&self, start: &Start, at: i64) -> Result<StartOutcome, StoreError> {
        let what = || StoreError::query(format!("starting entries of job {}", start.job_id));
        let mut tx = self.begin_write().await.map_err(what())?;
        let group = start.entries.len() > 1;
        let execution_subdir = if group {
            let rows = sqlx::query(
                "SELECT DISTINCT execution_subdir FROM host_queue_entries WHERE job_id = $1 AND execution_subdir LIKE 'group%'",
            )
            .bind(start.job_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(what())?;
            format!("group{}", rows.len())
        } else {
            let a = &start.entries[0];
            let row = sqlx::query("SELECT hostname FROM hosts WHERE id = $1")
                .bind(a.host_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(what())?;
            match row {
                Some(r) => r.try_get(0).map_err(what())?,
                None => return Ok(StartOutcome::Stale),
            }
        };
        let host_status = HostStatus::Running;
        for a in &start.entries {
            let host = sqlx::query(
                "UPDATE hosts SET status = $1 WHERE id = $2 AND status = 'Ready' AND locked = 0 AND invalid = 0 \
                 AND NOT EXISTS (SELECT 1 FROM host_queue_entries e WHERE e.host_id = $2 AND e.active = 1) \
                 AND NOT EXISTS (SELECT 1 FROM special_tasks t WHERE t.host_id = $2 AND t.is_active = 1)",
            )
            .bind(host_status.as_str())
            .bind(a.host_id)
            .execute(&mut *tx)
            .await
            .map_err(what())?;
            let entry = sqlx::query(concat!(
                "UPDATE host_queue_entries SET host_id = $1, execution_subdir = $2, status = $3, active = 1, started_on = $4 WHERE id = $5 AND job_id = $6 AND ",
                queued!()
            ))
            .bind(a.host_id)
            .bind(execution_subdir.as_str())
            .bind(EntryStatus::Starting.as_str())
            .bind(at)
            .bind(a.entry_id)
            .bind(start.job_id)
            .execute(&mut *tx)
            .await
            .map_err(what())?;
            if host.rows_affected() != 1 || entry.rows_affected() != 1 {
                tx.rollback().await.map_err(what())?;
                return Ok(StartOutcome::Stale);
            }
            // A metahost entry that comes back to the queue (its verify failed) must find
            // another host; a named host stays the job's.
            sqlx::query("INSERT INTO ineligible_host_queues (job_id, host_id) SELECT job_id, host_id FROM host_queue_entries WHERE id = $1 AND meta_host IS NOT NULL ON CONFLICT DO NOTHING")
                .bind(a.entry_id)
                .execute(&mut *tx)
                .await
                .map_err(what())?;
        }
        tx.commit().await.map_err(what())?;
        Ok(StartOutcome::Started { execution_subdir })
    }
}

/// The columns `jobs::entry_from_row` reads.
macro_rules! entry_cols {
    () => {
        "id, job_id, host_id, meta_host, status, active, complete, aborted, execution_subdir, started_on, finished_on"
    };
}

impl Store {
    /// Every active entry (started, not complete), by job and results subdirectory: what a
    /// scheduler re-attaches to after a restart.
    pub async fn active_entries(&self) -> Result<Vec<QueueEntry>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            entry_cols!(),
            " FROM host_queue_entries WHERE active = 1 ORDER BY job_id, execution_subdir, id"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query("listing active entries"))?;
        rows.iter().map(super::jobs::entry_from_row).collect()
    }

    /// Entries asked to abort that have not ended.
    pub async fn entries_to_abort(&self) -> Result<Vec<QueueEntry>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            entry_cols!(),
            " FROM host_queue_entries WHERE aborted = 1 AND complete = 0 ORDER BY id"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query("listing entries to abort"))?;
        rows.iter().map(super::jobs::entry_from_row).collect()
    }

    /// Moves every entry of one started group (`job_id`, `execution_subdir`) to `status` at
    /// `at`; when the status is final, their hosts become Ready and dirty (a job ran there) in
    /// the same transaction, so a host is never left Running for an ended entry.
    pub async fn set_group_status(
        &self,
        job_id: i64,
        execution_subdir: &str,
        status: EntryStatus,
        at: i64,
    ) -> Result<u64, StoreError> {
        let what = || {
            StoreError::query(format!(
                "setting the entries of job {job_id} ({execution_subdir}) to {status}"
            ))
        };
        let mut tx = self.begin_write().await.map_err(what())?;
        if status.is_complete() {
            sqlx::query(
                "UPDATE hosts SET status = 'Ready', dirty = 1 WHERE id IN \
                 (SELECT host_id FROM host_queue_entries WHERE job_id = $1 AND execution_subdir = $2 AND active = 1)",
            )
            .bind(job_id)
            .bind(execution_subdir)
            .execute(&mut *tx)
            .await
            .map_err(what())?;
        }
        let n = sqlx::query(
            "UPDATE host_queue_entries SET status = $1, active = $2, complete = $3, \
             finished_on = CASE WHEN $3 = 1 THEN $4 ELSE finished_on END \
             WHERE job_id = $5 AND execution_subdir = $6 AND active = 1",
        )
        .bind(status.as_str())
        .bind(super::bit(status.is_active()))
        .bind(super::bit(status.is_complete()))
        .bind(at)
        .bind(job_id)
        .bind(execution_subdir)
        .execute(&mut *tx)
        .await
        .map_err(what())?;
        tx.commit().await.map_err(what())?;
        Ok(n.rows_affected())
    }
}
