//! Jobs, their host queue entries, aborts, ineligible hosts, special tasks, and where each job's
//! results are.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::StoreError;
use super::{Store, bit, flag, now};

text_enum!(
    /// Where a job's control file runs.
    ControlType, "jobs.control_type" {
        /// On the machine under test.
        Client => "Client",
        /// On the server (`.srv`).
        Server => "Server",
    }
);

text_enum!(
    /// When to reboot a host before a job.
    RebootBefore, "jobs.reboot_before" {
        /// Never.
        Never => "Never",
        /// When a job ran since its last cleanup.
        IfDirty => "If dirty",
        /// Always.
        Always => "Always",
    }
);

text_enum!(
    /// When to reboot a host after a job.
    RebootAfter, "jobs.reboot_after" {
        /// Never.
        Never => "Never",
        /// When every test passed.
        IfAllTestsPassed => "If all tests passed",
        /// Always.
        Always => "Always",
    }
);

text_enum!(
    /// A host queue entry's state (FORMATS §12).
    EntryStatus, "host_queue_entries.status" {
        /// Waiting for a host.
        Queued => "Queued",
        /// Its autoserv is starting.
        Starting => "Starting",
        /// Its host is being verified.
        Verifying => "Verifying",
        /// Waiting for the other hosts of a synchronous job.
        Pending => "Pending",
        /// Waiting to start with the others.
        Waiting => "Waiting",
        /// Running.
        Running => "Running",
        /// Results being gathered.
        Gathering => "Gathering",
        /// Results being parsed.
        Parsing => "Parsing",
        /// Results being archived.
        Archiving => "Archiving",
        /// Done, every test passed.
        Completed => "Completed",
        /// Done, something failed.
        Failed => "Failed",
        /// Aborted.
        Aborted => "Aborted",
        /// Stopped (a synchronous job whose other hosts failed).
        Stopped => "Stopped",
    }
);

impl EntryStatus {
    /// A final state: the entry is complete.
    pub fn is_complete(self) -> bool {
        matches!(
            self,
            EntryStatus::Completed
                | EntryStatus::Failed
                | EntryStatus::Aborted
                | EntryStatus::Stopped
        )
    }

    /// Work is under way on a host.
    pub fn is_active(self) -> bool {
        !self.is_complete() && self != EntryStatus::Queued
    }
}

text_enum!(
    /// The kind of a special task.
    SpecialTaskKind, "special_tasks.task" {
        /// Check the host works.
        Verify => "Verify",
        /// Clean the host up (reboot) after a job.
        Cleanup => "Cleanup",
        /// Repair a host that failed verify.
        Repair => "Repair",
    }
);

/// A job to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Who asked for it.
    pub owner: String,
    /// Its name.
    pub name: String,
    /// Higher runs first.
    pub priority: i64,
    /// The control file's text.
    pub control_file: String,
    /// Client or server.
    pub control_type: ControlType,
    /// How many hosts must run it at once.
    pub synch_count: i64,
    /// Hours before a queued job times out.
    pub timeout_hrs: i64,
    /// Hours a job may run.
    pub max_runtime_hrs: i64,
    /// Verify hosts first.
    pub run_verify: bool,
    /// Reboot before.
    pub reboot_before: RebootBefore,
    /// Reboot after.
    pub reboot_after: RebootAfter,
    /// Who is mailed the results (comma list).
    pub email_list: String,
    /// Labels every host must have.
    pub dependencies: Vec<String>,
    /// Job keyvals.
    pub keyvals: Vec<(String, String)>,
    /// Specific hosts: one entry each.
    pub hosts: Vec<String>,
    /// Metahosts: one entry per label given, for any host with it.
    pub meta_hosts: Vec<String>,
    /// Labels whose every host becomes a specific host of the job (atest's `-b`), resolved when
    /// the job is created.
    pub label_hosts: Vec<String>,
    /// When it was created (UTC epoch seconds); now when not given.
    pub created_on: Option<i64>,
    /// The control file's path, named in the refusal of a control file that does not compile
    /// (`<control file>` when not given).
    pub control_origin: Option<std::path::PathBuf>,
}

impl NewJob {
    /// A job with the legacy defaults (72 h timeouts, verify, reboot before if dirty).
    pub fn new(
        owner: impl Into<String>,
        name: impl Into<String>,
        control_file: impl Into<String>,
        control_type: ControlType,
    ) -> NewJob {
        NewJob {
            owner: owner.into(),
            name: name.into(),
            priority: 0,
            control_file: control_file.into(),
            control_type,
            synch_count: 1,
            timeout_hrs: 72,
            max_runtime_hrs: 72,
            run_verify: true,
            reboot_before: RebootBefore::IfDirty,
            reboot_after: RebootAfter::Never,
            email_list: String::new(),
            dependencies: Vec::new(),
            keyvals: Vec::new(),
            hosts: Vec::new(),
            meta_hosts: Vec::new(),
            label_hosts: Vec::new(),
            created_on: None,
            control_origin: None,
        }
    }
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Job {
    /// Row id (the `<jobid>` of `results/<jobid>-<owner>/`).
    pub id: i64,
    /// Who asked for it.
    pub owner: String,
    /// Its name.
    pub name: String,
    /// Higher runs first.
    pub priority: i64,
    /// The control file's text.
    pub control_file: String,
    /// Client or server.
    pub control_type: ControlType,
    /// Hosts at once.
    pub synch_count: i64,
    /// Hours before a queued job times out.
    pub timeout_hrs: i64,
    /// Hours a job may run.
    pub max_runtime_hrs: i64,
    /// Verify hosts first.
    pub run_verify: bool,
    /// Reboot before.
    pub reboot_before: RebootBefore,
    /// Reboot after.
    pub reboot_after: RebootAfter,
    /// Who is mailed.
    pub email_list: String,
    /// Dependency label names, sorted.
    pub dependencies: Vec<String>,
    /// Keyvals, by key.
    pub keyvals: Vec<(String, String)>,
    /// When it was created (UTC epoch seconds).
    pub created_on: i64,
}

/// One host's (or one metahost's) part of a job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueEntry {
    /// Row id.
    pub id: i64,
    /// The job.
    pub job_id: i64,
    /// The host, once known.
    pub host_id: Option<i64>,
    /// The label any host may be picked by (a metahost entry).
    pub meta_host: Option<i64>,
    /// State.
    pub status: EntryStatus,
    /// Work under way.
    pub active: bool,
    /// Finished.
    pub complete: bool,
    /// Abort requested.
    pub aborted: bool,
    /// The results subdirectory (`<host>` or `groupN`).
    pub execution_subdir: String,
    /// When it became active.
    pub started_on: Option<i64>,
    /// When it completed.
    pub finished_on: Option<i64>,
}

/// A verify, cleanup or repair to run on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSpecialTask {
    /// The host.
    pub hostname: String,
    /// What to run.
    pub task: SpecialTaskKind,
    /// Who asked.
    pub requested_by: String,
    /// The queue entry it runs for, if any.
    pub queue_entry_id: Option<i64>,
}

/// A stored special task.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpecialTask {
    /// Row id (the `<taskid>` of `results/hosts/<host>/<taskid>-<task>/`).
    pub id: i64,
    /// The host.
    pub host_id: i64,
    /// What it runs.
    pub task: SpecialTaskKind,
    /// Who asked.
    pub requested_by: String,
    /// When (UTC epoch seconds).
    pub time_requested: i64,
    /// The queue entry it runs for.
    pub queue_entry_id: Option<i64>,
    /// Running.
    pub is_active: bool,
    /// Finished.
    pub is_complete: bool,
    /// Finished well.
    pub success: bool,
    /// Started.
    pub time_started: Option<i64>,
    /// Finished.
    pub time_finished: Option<i64>,
}

/// Where a job's results are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResultsLocation {
    /// The machine holding them (`localhost`, a drone, the results host).
    pub host: String,
    /// The directory on it.
    pub path: String,
}

pub(crate) fn read_err(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::Query {
        what: format!("reading {what}"),
        source,
    }
}

macro_rules! entry_cols {
    () => {
        "id, job_id, host_id, meta_host, status, active, complete, aborted, execution_subdir, started_on, finished_on"
    };
}

pub(crate) fn entry_from_row(r: &AnyRow) -> Result<QueueEntry, StoreError> {
    let e = read_err("a host queue entry");
    Ok(QueueEntry {
        id: r.try_get("id").map_err(&e)?,
        job_id: r.try_get("job_id").map_err(&e)?,
        host_id: r.try_get("host_id").map_err(&e)?,
        meta_host: r.try_get("meta_host").map_err(&e)?,
        status: EntryStatus::parse(&r.try_get::<String, _>("status").map_err(&e)?)?,
        active: flag(r.try_get("active").map_err(&e)?),
        complete: flag(r.try_get("complete").map_err(&e)?),
        aborted: flag(r.try_get("aborted").map_err(&e)?),
        execution_subdir: r.try_get("execution_subdir").map_err(&e)?,
        started_on: r.try_get("started_on").map_err(&e)?,
        finished_on: r.try_get("finished_on").map_err(&e)?,
    })
}

macro_rules! task_cols {
    () => {
        "id, host_id, task, requested_by, time_requested, queue_entry_id, is_active, is_complete, success, time_started, time_finished"
    };
}

pub(crate) fn task_from_row(r: &AnyRow) -> Result<SpecialTask, StoreError> {
    let e = read_err("a special task");
    Ok(SpecialTask {
        id: r.try_get("id").map_err(&e)?,
        host_id: r.try_get("host_id").map_err(&e)?,
        task: SpecialTaskKind::parse(&r.try_get::<String, _>("task").map_err(&e)?)?,
        requested_by: r.try_get("requested_by").map_err(&e)?,
        time_requested: r.try_get("time_requested").map_err(&e)?,
        queue_entry_id: r.try_get("queue_entry_id").map_err(&e)?,
        is_active: flag(r.try_get("is_active").map_err(&e)?),
        is_complete: flag(r.try_get("is_complete").map_err(&e)?),
        success: flag(r.try_get("success").map_err(&e)?),
        time_started: r.try_get("time_started").map_err(&e)?,
        time_finished: r.try_get("time_finished").map_err(&e)?,
    })
}

impl Store {
    /// Creates a job with one queue entry per host and per metahost label, its dependency
    /// labels and keyvals, in one transaction, after the checks every front end gets (see
    /// [`Store::check_new_job`]): a control file that does not compile, unknown names and an
    /// impossible synch_count are refused and nothing is written.
    pub async fn create_job(&self, new: &NewJob) -> Result<Job, StoreError> {
        let checked = self.check_new_job(new).await?;
        let (host_ids, meta_ids, dep_ids) = (checked.host_ids, checked.meta_ids, checked.dep_ids);
        let what = || StoreError::query(format!("creating job {:?}", new.name));
        let mut tx = self.begin_write().await.map_err(what())?;
        let id: i64 = sqlx::query(
            "INSERT INTO jobs (owner, name, priority, control_file, control_type, synch_count, timeout_hrs, max_runtime_hrs, run_verify, reboot_before, reboot_after, email_list, created_on) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(new.owner.as_str())
        .bind(new.name.as_str())
        .bind(new.priority)
        .bind(new.control_file.as_str())
        .bind(new.control_type.as_str())
        .bind(new.synch_count)
        .bind(new.timeout_hrs)
        .bind(new.max_runtime_hrs)
        .bind(bit(new.run_verify))
        .bind(new.reboot_before.as_str())
        .bind(new.reboot_after.as_str())
        .bind(new.email_list.as_str())
        .bind(new.created_on.unwrap_or_else(now))
        .fetch_one(&mut *tx)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(what())?;
        for dep in dep_ids {
            sqlx::query("INSERT INTO job_dependency_labels (job_id, label_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(dep)
                .execute(&mut *tx)
                .await
                .map_err(what())?;
        }
        for (k, v) in &new.keyvals {
            sqlx::query("INSERT INTO job_keyvals (job_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (job_id, key) DO UPDATE SET value = excluded.value")
                .bind(id)
                .bind(k.as_str())
                .bind(v.as_str())
                .execute(&mut *tx)
                .await
                .map_err(what())?;
        }
        for host in host_ids {
            sqlx::query("INSERT INTO host_queue_entries (job_id, host_id) VALUES ($1, $2)")
                .bind(id)
                .bind(host)
                .execute(&mut *tx)
                .await
                .map_err(what())?;
        }
        for label in meta_ids {
            sqlx::query("INSERT INTO host_queue_entries (job_id, meta_host) VALUES ($1, $2)")
                .bind(id)
                .bind(label)
                .execute(&mut *tx)
                .await
                .map_err(what())?;
        }
        tx.commit().await.map_err(what())?;
        self.job(id).await
    }

    /// A job by id.
    pub async fn job(&self, id: i64) -> Result<Job, StoreError> {
        let row = sqlx::query(
            "SELECT id, owner, name, priority, control_file, control_type, synch_count, timeout_hrs, max_runtime_hrs, run_verify, reboot_before, reboot_after, email_list, created_on FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::query(format!("reading job {id}")))?
        .ok_or_else(|| StoreError::NotFound { kind: "job", name: id.to_string() })?;
        let e = read_err("a job");
        let deps = sqlx::query("SELECT l.name FROM labels l JOIN job_dependency_labels d ON d.label_id = l.id WHERE d.job_id = $1 ORDER BY l.name")
            .bind(id)
            .fetch_all(self.pool())
            .await
            .map_err(&e)?;
        let keyvals =
            sqlx::query("SELECT key, value FROM job_keyvals WHERE job_id = $1 ORDER BY key")
                .bind(id)
                .fetch_all(self.pool())
                .await
                .map_err(&e)?;
        Ok(Job {
            id,
            owner: row.try_get("owner").map_err(&e)?,
            name: row.try_get("name").map_err(&e)?,
            priority: row.try_get("priority").map_err(&e)?,
            control_file: row.try_get("control_file").map_err(&e)?,
            control_type: ControlType::parse(
                &row.try_get::<String, _>("control_type").map_err(&e)?,
            )?,
            synch_count: row.try_get("synch_count").map_err(&e)?,
            timeout_hrs: row.try_get("timeout_hrs").map_err(&e)?,
            max_runtime_hrs: row.try_get("max_runtime_hrs").map_err(&e)?,
            run_verify: flag(row.try_get("run_verify").map_err(&e)?),
            reboot_before: RebootBefore::parse(
                &row.try_get::<String, _>("reboot_before").map_err(&e)?,
            )?,
            reboot_after: RebootAfter::parse(
                &row.try_get::<String, _>("reboot_after").map_err(&e)?,
            )?,
            email_list: row.try_get("email_list").map_err(&e)?,
            dependencies: deps
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()
                .map_err(&e)?,
            keyvals: keyvals
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()
                .map_err(&e)?,
            created_on: row.try_get("created_on").map_err(&e)?,
        })
    }

    /// Every job's id, oldest first.
    pub async fn job_ids(&self) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query("SELECT id FROM jobs ORDER BY id")
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query("listing jobs"))?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(read_err("a job id")))
            .collect()
    }

    /// A job's queue entries, in creation order.
    pub async fn queue_entries(&self, job_id: i64) -> Result<Vec<QueueEntry>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            entry_cols!(),
            " FROM host_queue_entries WHERE job_id = $1 ORDER BY id"
        ))
        .bind(job_id)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(format!(
            "reading the queue entries of job {job_id}"
        )))?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Every entry neither complete nor active (what the scheduler assigns), oldest first.
    pub async fn queued_entries(&self) -> Result<Vec<QueueEntry>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            entry_cols!(),
            " FROM host_queue_entries WHERE complete = 0 AND active = 0 ORDER BY id"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query("listing queued entries"))?;
        rows.iter().map(entry_from_row).collect()
    }

    /// One entry.
    pub async fn queue_entry(&self, id: i64) -> Result<QueueEntry, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            entry_cols!(),
            " FROM host_queue_entries WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::query(format!("reading queue entry {id}")))?;
        match row {
            Some(r) => entry_from_row(&r),
            None => Err(StoreError::NotFound {
                kind: "host queue entry",
                name: id.to_string(),
            }),
        }
    }

    /// Gives a (metahost) entry its host and results subdirectory.
    pub async fn assign_entry(
        &self,
        id: i64,
        host_id: i64,
        execution_subdir: &str,
    ) -> Result<QueueEntry, StoreError> {
        self.host_by_id(host_id).await?;
        let n = sqlx::query(
            "UPDATE host_queue_entries SET host_id = $1, execution_subdir = $2 WHERE id = $3",
        )
        .bind(host_id)
        .bind(execution_subdir)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(StoreError::query(format!("assigning queue entry {id}")))?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                kind: "host queue entry",
                name: id.to_string(),
            });
        }
        self.queue_entry(id).await
    }

    /// Moves an entry to `status` at `at` (UTC epoch seconds): active and complete follow the
    /// status; the first active state sets started_on, a final one finished_on.
    pub async fn set_entry_status(
        &self,
        id: i64,
        status: EntryStatus,
        at: i64,
    ) -> Result<QueueEntry, StoreError> {
        let n = sqlx::query(
            "UPDATE host_queue_entries SET status = $1, active = $2, complete = $3, \
             started_on = CASE WHEN $2 = 1 AND started_on IS NULL THEN $4 ELSE started_on END, \
             finished_on = CASE WHEN $3 = 1 THEN $4 ELSE finished_on END WHERE id = $5",
        )
        .bind(status.as_str())
        .bind(bit(status.is_active()))
        .bind(bit(status.is_complete()))
        .bind(at)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(StoreError::query(format!(
            "setting queue entry {id} to {status}"
        )))?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                kind: "host queue entry",
                name: id.to_string(),
            });
        }
        self.queue_entry(id).await
    }

    /// Asks for a job to be aborted: every entry not complete is marked aborted, and who and
    /// when are recorded once per entry. Returns how many entries were newly aborted.
    pub async fn abort_job(&self, job_id: i64, by: &str, at: i64) -> Result<u64, StoreError> {
        self.job(job_id).await?;
        let what = || StoreError::query(format!("aborting job {job_id}"));
        let mut tx = self.begin_write().await.map_err(what())?;
        sqlx::query(
            "INSERT INTO aborted_host_queue_entries (queue_entry_id, aborted_by, aborted_on) \
             SELECT id, $1, $2 FROM host_queue_entries WHERE job_id = $3 AND complete = 0 AND aborted = 0",
        )
        .bind(by)
        .bind(at)
        .bind(job_id)
        .execute(&mut *tx)
        .await
        .map_err(what())?;
        let n = sqlx::query("UPDATE host_queue_entries SET aborted = 1 WHERE job_id = $1 AND complete = 0 AND aborted = 0")
            .bind(job_id)
            .execute(&mut *tx)
            .await
            .map_err(what())?;
        tx.commit().await.map_err(what())?;
        Ok(n.rows_affected())
    }

    /// Who aborted an entry and when, if it was.
    pub async fn entry_abort(&self, entry_id: i64) -> Result<Option<(String, i64)>, StoreError> {
        let row = sqlx::query("SELECT aborted_by, aborted_on FROM aborted_host_queue_entries WHERE queue_entry_id = $1")
            .bind(entry_id)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query(format!("reading the abort of entry {entry_id}")))?;
        let e = read_err("an abort");
        row.map(|r| Ok((r.try_get(0).map_err(&e)?, r.try_get(1).map_err(&e)?)))
            .transpose()
    }

    /// Keeps a host from being picked for a job (it ran there, or failed there).
    pub async fn block_host(&self, job_id: i64, host_id: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO ineligible_host_queues (job_id, host_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(job_id)
            .bind(host_id)
            .execute(self.pool())
            .await
            .map_err(StoreError::query(format!("blocking host {host_id} for job {job_id}")))?;
        Ok(())
    }

    /// The hosts a job may not be given, by id.
    pub async fn ineligible_hosts(&self, job_id: i64) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT host_id FROM ineligible_host_queues WHERE job_id = $1 ORDER BY host_id",
        )
        .bind(job_id)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(format!(
            "reading the blocked hosts of job {job_id}"
        )))?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(read_err("a blocked host")))
            .collect()
    }

    /// Asks for a verify, cleanup or repair on a host.
    pub async fn create_special_task(
        &self,
        new: &NewSpecialTask,
    ) -> Result<SpecialTask, StoreError> {
        let host = self.host_named(&new.hostname).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO special_tasks (host_id, task, requested_by, time_requested, queue_entry_id) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(host.id)
        .bind(new.task.as_str())
        .bind(new.requested_by.as_str())
        .bind(now())
        .bind(new.queue_entry_id)
        .fetch_one(self.pool())
        .await
        .and_then(|r| r.try_get(0))
        .map_err(StoreError::query(format!("adding a {} task for host {}", new.task, new.hostname)))?;
        self.special_task(id).await
    }

    /// One special task.
    pub async fn special_task(&self, id: i64) -> Result<SpecialTask, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            task_cols!(),
            " FROM special_tasks WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::query(format!("reading special task {id}")))?;
        match row {
            Some(r) => task_from_row(&r),
            None => Err(StoreError::NotFound {
                kind: "special task",
                name: id.to_string(),
            }),
        }
    }

    /// A host's special tasks, oldest first.
    pub async fn special_tasks(&self, hostname: &str) -> Result<Vec<SpecialTask>, StoreError> {
        let host = self.host_named(hostname).await?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            task_cols!(),
            " FROM special_tasks WHERE host_id = $1 ORDER BY id"
        ))
        .bind(host.id)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(format!(
            "reading the special tasks of host {hostname}"
        )))?;
        rows.iter().map(task_from_row).collect()
    }

    /// Marks a special task started at `at`.
    pub async fn start_special_task(&self, id: i64, at: i64) -> Result<SpecialTask, StoreError> {
        sqlx::query("UPDATE special_tasks SET is_active = 1, time_started = $1 WHERE id = $2 AND is_complete = 0")
            .bind(at)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(StoreError::query(format!("starting special task {id}")))?;
        self.special_task(id).await
    }

    /// Marks a special task finished at `at`, well or not.
    pub async fn finish_special_task(
        &self,
        id: i64,
        success: bool,
        at: i64,
    ) -> Result<SpecialTask, StoreError> {
        sqlx::query("UPDATE special_tasks SET is_active = 0, is_complete = 1, success = $1, time_finished = $2 WHERE id = $3")
            .bind(bit(success))
            .bind(at)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(StoreError::query(format!("finishing special task {id}")))?;
        self.special_task(id).await
    }

    /// Records where a job's results are (replacing what was recorded).
    pub async fn set_results_location(
        &self,
        job_id: i64,
        host: &str,
        path: &str,
    ) -> Result<(), StoreError> {
        self.job(job_id).await?;
        sqlx::query(
            "INSERT INTO job_results_locations (job_id, host, path) VALUES ($1, $2, $3) ON CONFLICT (job_id) DO UPDATE SET host = excluded.host, path = excluded.path",
        )
        .bind(job_id)
        .bind(host)
        .bind(path)
        .execute(self.pool())
        .await
        .map_err(StoreError::query(format!("recording where the results of job {job_id} are")))?;
        Ok(())
    }

    /// Where a job's results are, if recorded.
    pub async fn results_location(
        &self,
        job_id: i64,
    ) -> Result<Option<ResultsLocation>, StoreError> {
        let row = sqlx::query("SELECT host, path FROM job_results_locations WHERE job_id = $1")
            .bind(job_id)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query(format!(
                "reading where the results of job {job_id} are"
            )))?;
        let e = read_err("a results location");
        row.map(|r| {
            Ok(ResultsLocation {
                host: r.try_get(0).map_err(&e)?,
                path: r.try_get(1).map_err(&e)?,
            })
        })
        .transpose()
    }
}
