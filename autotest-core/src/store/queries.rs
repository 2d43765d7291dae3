//! The list and stat queries of the front ends (`autotest job list|stat`, `autotest results`,
//! the SDK, the web later): each a bounded query on the listed rows, with what it shows of
//! other tables fetched by one grouped query over the listed ids, never one query per row.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use super::error::StoreError;
use super::jobs::{Job, QueueEntry, entry_from_row, read_err};
use super::tko::TkoTest;

/// The rows a list shows unless told otherwise (atest's pages are about this long).
pub const DEFAULT_LIST_LIMIT: i64 = 100;

/// Ids are inlined (they are integers) in chunks this long: no bind-parameter limit applies.
const ID_CHUNK: usize = 1000;

/// Which jobs `job list` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFilter {
    /// Only this owner's (`None`: everyone's, `--all`).
    pub owner: Option<String>,
    /// Only jobs that started and have not finished (legacy AFE's "running": an entry active
    /// or complete, and one not complete).
    pub running: bool,
    /// At most this many, newest first (0: all).
    pub limit: i64,
}

impl JobFilter {
    /// One owner's jobs, the default limit.
    pub fn owner(owner: impl Into<String>) -> JobFilter {
        JobFilter {
            owner: Some(owner.into()),
            running: false,
            limit: DEFAULT_LIST_LIMIT,
        }
    }
}

/// A row of `job list`: the job and how many of its entries are in each status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobRow {
    /// Job id.
    pub id: i64,
    /// Owner.
    pub owner: String,
    /// Name.
    pub name: String,
    /// Legacy priority number.
    pub priority: i64,
    /// Client or Server.
    pub control_type: String,
    /// Hosts needed at once.
    pub synch_count: i64,
    /// UTC epoch seconds.
    pub created_on: i64,
    /// Entries by status (`{"Queued": 2, "Completed": 1}`).
    pub status_counts: BTreeMap<String, i64>,
}

/// One queue entry of `job stat`, with the names behind its ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryDetail {
    /// The entry.
    #[serde(flatten)]
    pub entry: QueueEntry,
    /// Its host's name, once it has one.
    pub host: Option<String>,
    /// The metahost label's name.
    pub meta_host_label: Option<String>,
    /// Who aborted it.
    pub aborted_by: Option<String>,
    /// When (UTC epoch seconds).
    pub aborted_on: Option<i64>,
}

/// `job stat`: the job and its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobStat {
    /// The job.
    pub job: Job,
    /// Its entries, in creation order.
    pub entries: Vec<EntryDetail>,
}

/// Which parsed tests `autotest results` shows; every filter is an exact match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultFilter {
    /// The frontend job id (results of `<jobid>-<owner>/`).
    pub job: Option<i64>,
    /// Test name.
    pub test: Option<String>,
    /// Kernel version as printed.
    pub kernel: Option<String>,
    /// Test status (GOOD, FAIL, ...).
    pub status: Option<String>,
    /// Machine host name.
    pub machine: Option<String>,
    /// At most this many tests, newest jobs first (0: all).
    pub limit: i64,
}

/// One perf keyval of an iteration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultPerf {
    /// 1-based iteration.
    pub iteration: i64,
    /// Name.
    pub attribute: String,
    /// Value.
    pub value: f64,
}

/// A parsed test with its job and perf keyvals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    /// The test.
    #[serde(flatten)]
    pub test: TkoTest,
    /// The results job row.
    pub job_idx: i64,
    /// Its results directory.
    pub job_tag: String,
    /// The frontend job, if the directory was `<jobid>-<owner>`.
    pub afe_job_id: Option<i64>,
    /// Perf keyvals, by iteration then name.
    pub perf: Vec<ResultPerf>,
}

fn limit_sql(limit: i64) -> String {
    if limit > 0 {
        format!(" LIMIT {limit}")
    } else {
        String::new()
    }
}

fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

impl Store {
    /// `job list`: jobs newest first (by id), filtered, with their entries' status counts.
    pub async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRow>, StoreError> {
        let mut sql = String::from(
            "SELECT id, owner, name, priority, control_type, synch_count, created_on FROM jobs WHERE 1 = 1",
        );
        if filter.owner.is_some() {
            sql.push_str(" AND owner = $1");
        }
        if filter.running {
            // Driven by the open entries (few), then checked per candidate job.
            sql.push_str(
                " AND id IN (SELECT job_id FROM host_queue_entries WHERE complete = 0) \
                 AND EXISTS (SELECT 1 FROM host_queue_entries e WHERE e.job_id = jobs.id AND (e.active = 1 OR e.complete = 1))",
            );
        }
        sql.push_str(" ORDER BY id DESC");
        sql.push_str(&limit_sql(filter.limit));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(owner) = &filter.owner {
            q = q.bind(owner.as_str());
        }
        let rows = q
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query("listing jobs"))?;
        let e = read_err("a job");
        let mut jobs = rows
            .iter()
            .map(|r| {
                Ok(JobRow {
                    id: r.try_get("id")?,
                    owner: r.try_get("owner")?,
                    name: r.try_get("name")?,
                    priority: r.try_get("priority")?,
                    control_type: r.try_get("control_type")?,
                    synch_count: r.try_get("synch_count")?,
                    created_on: r.try_get("created_on")?,
                    status_counts: BTreeMap::new(),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(&e)?;
        let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
        let mut counts: BTreeMap<i64, BTreeMap<String, i64>> = BTreeMap::new();
        for chunk in ids.chunks(ID_CHUNK) {
            let sql = format!(
                "SELECT job_id, status, COUNT(*) FROM host_queue_entries WHERE job_id IN ({}) GROUP BY job_id, status",
                id_list(chunk)
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::query("counting the listed jobs' entries"))?;
            for r in rows {
                let job: i64 = r.try_get(0).map_err(&e)?;
                let status: String = r.try_get(1).map_err(&e)?;
                let n: i64 = r.try_get(2).map_err(&e)?;
                counts.entry(job).or_default().insert(status, n);
            }
        }
        for j in &mut jobs {
            j.status_counts = counts.remove(&j.id).unwrap_or_default();
        }
        Ok(jobs)
    }

    /// The ids of the jobs with this name, newest first (names are not unique).
    pub async fn jobs_named(&self, name: &str) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query("SELECT id FROM jobs WHERE name = $1 ORDER BY id DESC")
            .bind(name)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query(format!("finding jobs named {name:?}")))?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(read_err("a job id")))
            .collect()
    }

    /// `job stat`: a job and its entries with host, metahost label and abort.
    pub async fn job_stat(&self, id: i64) -> Result<JobStat, StoreError> {
        let job = self.job(id).await?;
        let rows = sqlx::query(
            "SELECT q.id, q.job_id, q.host_id, q.meta_host, q.status, q.active, q.complete, q.aborted, \
             q.execution_subdir, q.started_on, q.finished_on, h.hostname AS host, l.name AS label, \
             a.aborted_by, a.aborted_on \
             FROM host_queue_entries q LEFT JOIN hosts h ON h.id = q.host_id \
             LEFT JOIN labels l ON l.id = q.meta_host \
             LEFT JOIN aborted_host_queue_entries a ON a.queue_entry_id = q.id \
             WHERE q.job_id = $1 ORDER BY q.id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(format!("reading the entries of job {id}")))?;
        let e = read_err("a host queue entry");
        let entries = rows
            .iter()
            .map(|r: &AnyRow| {
                Ok(EntryDetail {
                    entry: entry_from_row(r)?,
                    host: r.try_get("host").map_err(&e)?,
                    meta_host_label: r.try_get("label").map_err(&e)?,
                    aborted_by: r.try_get("aborted_by").map_err(&e)?,
                    aborted_on: r.try_get("aborted_on").map_err(&e)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(JobStat { job, entries })
    }

    /// `autotest results`: parsed tests matching every filter given, the newest jobs first and
    /// each job's tests in log order, with their perf keyvals.
    pub async fn test_results(&self, f: &ResultFilter) -> Result<Vec<TestResult>, StoreError> {
        let mut sql = String::from(
            "SELECT t.test_idx, t.test, t.subdir, t.status, t.reason, k.printable, m.hostname, \
             t.started_time, t.finished_time, j.job_idx, j.tag, j.afe_job_id \
             FROM tko_tests t JOIN tko_jobs j ON j.job_idx = t.job_idx \
             JOIN tko_machines m ON m.machine_idx = t.machine_idx \
             LEFT JOIN tko_kernels k ON k.kernel_idx = t.kernel_idx WHERE 1 = 1",
        );
        let mut binds: Vec<String> = Vec::new();
        let mut n = 0;
        let mut cond = |col: &str, sql: &mut String| {
            n += 1;
            sql.push_str(&format!(" AND {col} = ${n}"));
        };
        if f.job.is_some() {
            cond("j.afe_job_id", &mut sql);
        }
        for (col, v) in [
            ("t.test", &f.test),
            ("k.printable", &f.kernel),
            ("t.status", &f.status),
            ("m.hostname", &f.machine),
        ] {
            if let Some(v) = v {
                cond(col, &mut sql);
                binds.push(v.clone());
            }
        }
        sql.push_str(" ORDER BY t.job_idx DESC, t.test_idx");
        sql.push_str(&limit_sql(f.limit));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(job) = f.job {
            q = q.bind(job);
        }
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let rows = q
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query("listing parsed tests"))?;
        let e = read_err("a parsed test");
        let mut tests = rows
            .iter()
            .map(|r| {
                Ok(TestResult {
                    test: TkoTest {
                        test_idx: r.try_get(0)?,
                        test: r.try_get(1)?,
                        subdir: r.try_get(2)?,
                        status: r.try_get(3)?,
                        reason: r.try_get(4)?,
                        kernel: r.try_get(5)?,
                        machine: r.try_get(6)?,
                        started: r.try_get(7)?,
                        finished: r.try_get(8)?,
                    },
                    job_idx: r.try_get(9)?,
                    job_tag: r.try_get(10)?,
                    afe_job_id: r.try_get(11)?,
                    perf: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(&e)?;
        let ids: Vec<i64> = tests.iter().map(|t| t.test.test_idx).collect();
        let mut perf: BTreeMap<i64, Vec<ResultPerf>> = BTreeMap::new();
        for chunk in ids.chunks(ID_CHUNK) {
            let sql = format!(
                "SELECT test_idx, iteration, attribute, value FROM tko_iteration_result WHERE test_idx IN ({}) ORDER BY test_idx, iteration, attribute",
                id_list(chunk)
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::query("reading the listed tests' perf keyvals"))?;
            for r in rows {
                perf.entry(r.try_get(0).map_err(&e)?)
                    .or_default()
                    .push(ResultPerf {
                        iteration: r.try_get(1).map_err(&e)?,
                        attribute: r.try_get(2).map_err(&e)?,
                        value: r.try_get(3).map_err(&e)?,
                    });
            }
        }
        for t in &mut tests {
            t.perf = perf.remove(&t.test.test_idx).unwrap_or_default();
        }
        Ok(tests)
    }
}

/// A stored timestamp for people: `2026-12-02 06:13:36 UTC` (the raw number when out of range).
pub fn format_utc(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| epoch.to_string())
}
