//! The queries of the web front end (`autotest web`): the job list page by id cursor, the API's
//! tokens, and the counts `/metrics` exports. The web crate only translates these to HTTP.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::error::StoreError;
use super::jobs::read_err;
use super::queries::JobRow;
use super::{Store, now};

/// One page of the job list: filters (exact matches) and the id cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobPage {
    /// Only this owner's.
    pub owner: Option<String>,
    /// Only jobs with this name.
    pub name: Option<String>,
    /// Only jobs with an entry in this status (`Queued`, `Running`, `Completed`, ...).
    pub status: Option<String>,
    /// Only jobs with an id below this (the previous page's last id): a cursor, so a page deep
    /// in a million jobs costs what the first does (no OFFSET).
    pub before: Option<i64>,
    /// At most this many, newest first (clamped to 1..=1000).
    pub limit: i64,
}

/// An API token's owner, as [`Store::token_user`] finds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// Row id.
    pub id: i64,
    /// Who writes with it.
    pub user: String,
    /// UTC epoch seconds.
    pub created_on: i64,
}

/// What `/metrics` exports, counted by the database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LabMetrics {
    /// Entries not complete, by status (`Queued`, `Running`, ...).
    pub open_entries: BTreeMap<String, i64>,
    /// Active entries by the host their job's results are recorded on (the drone running them).
    pub active_entries_per_drone: BTreeMap<String, i64>,
    /// Hosts by status.
    pub hosts: BTreeMap<String, i64>,
    /// Locked hosts.
    pub locked_hosts: i64,
    /// Complete entries by final status (`Completed`, `Failed`, `Aborted`).
    pub finished_entries: BTreeMap<String, i64>,
}

/// The SHA-256 of a token, in hex: what the database keeps.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn counts(rows: &[sqlx::any::AnyRow]) -> Result<BTreeMap<String, i64>, StoreError> {
    let e = read_err("a count");
    rows.iter()
        .map(|r| Ok((r.try_get(0).map_err(&e)?, r.try_get(1).map_err(&e)?)))
        .collect()
}

impl Store {
    /// The job list page: the newest jobs matching every filter, below the cursor, with their
    /// entries' status counts (one grouped query over the page's ids).
    pub async fn job_page(&self, page: &JobPage) -> Result<Vec<JobRow>, StoreError> {
        let mut sql = String::from(
            "SELECT id, owner, name, priority, control_type, synch_count, created_on FROM jobs WHERE 1 = 1",
        );
        let mut binds: Vec<&str> = Vec::new();
        for (cond, v) in [
            ("owner = $", &page.owner),
            ("name = $", &page.name),
            (
                "EXISTS (SELECT 1 FROM host_queue_entries e WHERE e.job_id = jobs.id AND e.status = $",
                &page.status,
            ),
        ] {
            if let Some(v) = v {
                binds.push(v);
                sql.push_str(&format!(" AND {cond}{}", binds.len()));
                if cond.starts_with("EXISTS") {
                    sql.push(')');
                }
            }
        }
        if let Some(before) = page.before {
            sql.push_str(&format!(" AND id < {before}"));
        }
        let limit = page.limit.clamp(1, 1000);
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        let rows = q
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query("listing a page of jobs"))?;
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
        if jobs.is_empty() {
            return Ok(jobs);
        }
        let ids: Vec<String> = jobs.iter().map(|j| j.id.to_string()).collect();
        let sql = format!(
            "SELECT job_id, status, COUNT(*) FROM host_queue_entries WHERE job_id IN ({}) GROUP BY job_id, status",
            ids.join(",")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query("counting the page's entries"))?;
        let mut by_job: BTreeMap<i64, BTreeMap<String, i64>> = BTreeMap::new();
        for r in rows {
            let job: i64 = r.try_get(0).map_err(&e)?;
            by_job
                .entry(job)
                .or_default()
                .insert(r.try_get(1).map_err(&e)?, r.try_get(2).map_err(&e)?);
        }
        for j in &mut jobs {
            j.status_counts = by_job.remove(&j.id).unwrap_or_default();
        }
        Ok(jobs)
    }

    /// Makes a new API token for `user` and returns it: the only time it is seen, since only
    /// its hash is stored.
    pub async fn create_api_token(&self, user: &str) -> Result<String, StoreError> {
        if user.trim().is_empty() {
            return Err(StoreError::Invalid(
                "an API token needs a user name: autotest web token create <user>".into(),
            ));
        }
        let mut raw = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut raw))
            .map_err(|source| StoreError::Io {
                path: "/dev/urandom".into(),
                what: "reading random bytes for a token",
                source,
            })?;
        let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        sqlx::query(
            "INSERT INTO api_tokens (user_name, token_sha256, created_on) VALUES ($1, $2, $3)",
        )
        .bind(user)
        .bind(hash_token(&token))
        .bind(now())
        .execute(self.pool())
        .await
        .map_err(StoreError::query(format!(
            "storing an API token for {user}"
        )))?;
        Ok(token)
    }

    /// Who a token belongs to, if it is one of ours.
    pub async fn token_user(&self, token: &str) -> Result<Option<ApiToken>, StoreError> {
        let row =
            sqlx::query("SELECT id, user_name, created_on FROM api_tokens WHERE token_sha256 = $1")
                .bind(hash_token(token))
                .fetch_optional(self.pool())
                .await
                .map_err(StoreError::query("checking an API token"))?;
        let e = read_err("an API token");
        row.map(|r| {
            Ok(ApiToken {
                id: r.try_get(0).map_err(&e)?,
                user: r.try_get(1).map_err(&e)?,
                created_on: r.try_get(2).map_err(&e)?,
            })
        })
        .transpose()
    }

    /// The counts `/metrics` exports (a handful of grouped queries, on indexed columns).
    pub async fn lab_metrics(&self) -> Result<LabMetrics, StoreError> {
        let q = |sql: &'static str, what: &'static str| async move {
            let rows = sqlx::query(sql)
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::query(what))?;
            counts(&rows)
        };
        let open_entries = q(
            "SELECT status, COUNT(*) FROM host_queue_entries WHERE complete = 0 GROUP BY status",
            "counting open entries",
        )
        .await?;
        let active_entries_per_drone = q(
            "SELECT l.host, COUNT(*) FROM host_queue_entries e JOIN job_results_locations l ON l.job_id = e.job_id \
             WHERE e.complete = 0 AND e.active = 1 GROUP BY l.host",
            "counting active entries per drone",
        )
        .await?;
        let hosts = q(
            "SELECT status, COUNT(*) FROM hosts WHERE invalid = 0 GROUP BY status",
            "counting hosts by status",
        )
        .await?;
        let finished_entries = q(
            "SELECT status, COUNT(*) FROM host_queue_entries WHERE complete = 1 GROUP BY status",
            "counting finished entries",
        )
        .await?;
        let locked: i64 =
            sqlx::query("SELECT COUNT(*) FROM hosts WHERE locked = 1 AND invalid = 0")
                .fetch_one(self.pool())
                .await
                .map_err(StoreError::query("counting locked hosts"))?
                .try_get(0)
                .map_err(read_err("a count"))?;
        Ok(LabMetrics {
            open_entries,
            active_entries_per_drone,
            hosts,
            locked_hosts: locked,
            finished_entries,
        })
    }
}
