//! What the host and label front ends list and show: hosts with their labels (one query for
//! every listed host), a host's details, labels with their host counts, and creating a host with
//! its labels and lock in one transaction.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::StoreError;
use super::hosts::{host_from_row, label_from_row, read_err};
use super::jobs::task_from_row;
use super::{Host, HostStatus, Label, SpecialTask, Store, bit, flag, now};

/// How many of a host's special tasks [`Store::host_details`] returns (the newest).
pub const RECENT_TASKS: i64 = 10;

/// A UTC epoch time as people read it: `2026-12-02 06:13:36 UTC`.
pub fn utc_text(secs: i64) -> String {
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => format!("{secs} (epoch seconds)"),
    }
}

/// Which hosts [`Store::host_list`] returns; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFilter {
    /// Only hosts carrying this label.
    pub label: Option<String>,
    /// Only hosts in this state.
    pub status: Option<HostStatus>,
    /// Only locked (`Some(true)`) or unlocked (`Some(false)`) hosts.
    pub locked: Option<bool>,
}

/// A listed host with its labels.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostListing {
    /// The host.
    #[serde(flatten)]
    pub host: Host,
    /// Its platform label, if it has one.
    pub platform: Option<String>,
    /// Every label it carries (the platform too), by name.
    pub labels: Vec<String>,
}

/// An attribute of a host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostAttribute {
    /// Name.
    pub attribute: String,
    /// Value.
    pub value: String,
}

/// Everything `host stat` shows of a host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostDetails {
    /// The host.
    #[serde(flatten)]
    pub host: Host,
    /// Its platform label, if it has one.
    pub platform: Option<String>,
    /// Its labels (the platform too), by name.
    pub labels: Vec<Label>,
    /// Its attributes, by name.
    pub attributes: Vec<HostAttribute>,
    /// Its newest special tasks (at most [`RECENT_TASKS`]), newest first.
    pub recent_tasks: Vec<SpecialTask>,
}

/// A listed label with how many hosts carry it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LabelListing {
    /// The label.
    #[serde(flatten)]
    pub label: Label,
    /// Hosts (not deleted) carrying it.
    pub hosts: i64,
}

/// A host to create, with its labels and, if asked, a lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewHost {
    /// The name the lab reaches it by.
    pub hostname: String,
    /// Labels to give it (they must exist).
    pub labels: Vec<String>,
    /// Its platform: a platform label that exists.
    pub platform: Option<String>,
    /// Lock it at once for this user.
    pub locked_by: Option<String>,
}

impl NewHost {
    /// A host with no labels, unlocked.
    pub fn new(hostname: impl Into<String>) -> NewHost {
        NewHost {
            hostname: hostname.into(),
            ..NewHost::default()
        }
    }
}

enum Bind {
    Int(i64),
    Text(String),
}

/// At most `n` names, then how many more.
fn some_names(names: &[String], n: usize) -> String {
    let mut text = names.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > n {
        text.push_str(&format!(" and {} more", names.len() - n));
    }
    text
}

impl Store {
    /// Creates a host with its labels, platform and lock in one transaction: refused whole
    /// when the host exists or a label does not. A deleted host of that name comes back, reset.
    pub async fn add_host(&self, new: &NewHost) -> Result<Host, StoreError> {
        let hostname = new.hostname.trim();
        if hostname.is_empty() || hostname.chars().any(char::is_whitespace) {
            return Err(StoreError::Invalid(format!(
                "host name {hostname:?} is empty or has spaces: give the name the lab reaches it by"
            )));
        }
        let mut labels = Vec::new();
        for name in &new.labels {
            labels.push(self.label_named(name).await?);
        }
        if let Some(p) = &new.platform {
            let label = self.label_named(p).await?;
            if !label.platform {
                return Err(StoreError::Invalid(format!(
                    "label {p} is not a platform label: give a platform (see `autotest label list`), or pass {p} with -b"
                )));
            }
            labels.push(label);
        }
        labels.sort_by_key(|l| l.id);
        labels.dedup_by_key(|l| l.id);
        let platforms: Vec<&str> = labels
            .iter()
            .filter(|l| l.platform)
            .map(|l| l.name.as_str())
            .collect();
        if platforms.len() > 1 {
            return Err(StoreError::Invalid(format!(
                "host {hostname} would get {} platforms ({}): a host has at most one, give one of them",
                platforms.len(),
                platforms.join(", ")
            )));
        }

        let what = || StoreError::query(format!("adding host {hostname}"));
        let mut tx = self
            .begin_write()
            .await
            .map_err(StoreError::query("starting a transaction"))?;
        let old = sqlx::query("SELECT id, invalid FROM hosts WHERE hostname = $1")
            .bind(hostname)
            .fetch_optional(&mut *tx)
            .await
            .map_err(what())?;
        let id: i64 = match old {
            Some(r) => {
                let id: i64 = r.try_get(0).map_err(read_err("a host"))?;
                if !flag(r.try_get(1).map_err(read_err("a host"))?) {
                    return Err(StoreError::Invalid(format!(
                        "host {hostname} already exists (id {id}): pick another name, or change it with `autotest host mod`"
                    )));
                }
                sqlx::query(
                    "UPDATE hosts SET invalid = 0, status = 'Ready', locked = 0, locked_by = NULL, lock_time = NULL, dirty = 0, protection = 'No protection' WHERE id = $1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(format!("restoring host {hostname}")))?;
                id
            }
            None => {
                sqlx::query("INSERT INTO hosts (hostname, created_on) VALUES ($1, $2) RETURNING id")
                    .bind(hostname)
                    .bind(now())
                    .fetch_one(&mut *tx)
                    .await
                    .and_then(|r| r.try_get(0))
                    .map_err(what())?
            }
        };
        for label in &labels {
            sqlx::query(
                "INSERT INTO host_labels (host_id, label_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(label.id)
            .execute(&mut *tx)
            .await
            .map_err(what())?;
        }
        if let Some(by) = &new.locked_by {
            sqlx::query(
                "UPDATE hosts SET locked = 1, locked_by = $1, lock_time = $2 WHERE id = $3",
            )
            .bind(by.as_str())
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(what())?;
        }
        tx.commit().await.map_err(what())?;
        self.host_named(hostname).await
    }

    /// The hosts (not deleted) a filter picks, by name, each with its labels. Three queries
    /// whatever the number of hosts: the hosts, the (host, label) pairs of those hosts as
    /// integers, and the labels themselves (a few hundred at most) — decoding ids rather than a
    /// join's repeated host and label columns keeps a 10,000-host list cheap. An unknown label
    /// is refused.
    pub async fn host_list(&self, filter: &HostFilter) -> Result<Vec<HostListing>, StoreError> {
        let mut filter_sql = String::from("h.invalid = 0");
        let mut binds = Vec::new();
        if let Some(name) = &filter.label {
            let label = self.label_named(name).await?;
            binds.push(Bind::Int(label.id));
            filter_sql.push_str(&format!(
                " AND h.id IN (SELECT host_id FROM host_labels WHERE label_id = ${})",
                binds.len()
            ));
        }
        if let Some(status) = filter.status {
            binds.push(Bind::Text(status.as_str().to_owned()));
            filter_sql.push_str(&format!(" AND h.status = ${}", binds.len()));
        }
        if let Some(locked) = filter.locked {
            binds.push(Bind::Int(bit(locked)));
            filter_sql.push_str(&format!(" AND h.locked = ${}", binds.len()));
        }
        let hosts_sql = format!(
            "SELECT h.id, h.hostname, h.status, h.locked, h.locked_by, h.lock_time, h.dirty, h.invalid, h.protection, h.created_on FROM hosts h WHERE {filter_sql} ORDER BY h.hostname"
        );
        let pairs_sql = format!(
            "SELECT hl.host_id, hl.label_id FROM host_labels hl JOIN hosts h ON h.id = hl.host_id WHERE {filter_sql}"
        );
        let bound = |sql: String| {
            // Built from literals and numbered placeholders only: every value is bound.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for b in &binds {
                q = match b {
                    Bind::Int(v) => q.bind(*v),
                    Bind::Text(v) => q.bind(v.clone()),
                };
            }
            q
        };
        let hosts = bound(hosts_sql)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query("listing hosts"))?;
        let pairs = bound(pairs_sql)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query("listing the labels of hosts"))?;
        let labels: std::collections::HashMap<i64, Label> = sqlx::query(
            "SELECT id, name, platform, only_if_needed, invalid FROM labels WHERE invalid = 0",
        )
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query("listing labels"))?
        .iter()
        .map(|r| label_from_row(r).map(|l| (l.id, l)))
        .collect::<Result<_, _>>()?;

        let mut out = Vec::with_capacity(hosts.len());
        let mut index = std::collections::HashMap::with_capacity(hosts.len());
        for r in &hosts {
            let host = host_from_row(r)?;
            index.insert(host.id, out.len());
            out.push(HostListing {
                host,
                platform: None,
                labels: Vec::new(),
            });
        }
        let e = read_err("a host's label");
        for r in &pairs {
            let host_id: i64 = r.try_get(0).map_err(&e)?;
            let label_id: i64 = r.try_get(1).map_err(&e)?;
            if let (Some(&i), Some(label)) = (index.get(&host_id), labels.get(&label_id)) {
                let listing = &mut out[i];
                if label.platform {
                    listing.platform = Some(label.name.clone());
                }
                listing.labels.push(label.name.clone());
            }
        }
        for listing in &mut out {
            listing.labels.sort_unstable();
        }
        Ok(out)
    }

    /// A host's details: labels, attributes, and its newest special tasks.
    pub async fn host_details(&self, hostname: &str) -> Result<HostDetails, StoreError> {
        let host = self.host_named(hostname).await?;
        let labels = sqlx::query(
            "SELECT l.id, l.name, l.platform, l.only_if_needed, l.invalid FROM labels l JOIN host_labels hl ON hl.label_id = l.id WHERE hl.host_id = $1 AND l.invalid = 0 ORDER BY l.name",
        )
        .bind(host.id)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(format!("reading labels of host {hostname}")))?
        .iter()
        .map(label_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        let e = read_err("a host attribute");
        let attributes = sqlx::query(
            "SELECT attribute, value FROM host_attributes WHERE host_id = $1 ORDER BY attribute",
        )
        .bind(host.id)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(format!(
            "reading attributes of host {hostname}"
        )))?
        .iter()
        .map(|r: &AnyRow| {
            Ok(HostAttribute {
                attribute: r.try_get(0).map_err(&e)?,
                value: r.try_get(1).map_err(&e)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let recent_tasks = sqlx::query(
            "SELECT id, host_id, task, requested_by, time_requested, queue_entry_id, is_active, is_complete, success, time_started, time_finished FROM special_tasks WHERE host_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(host.id)
        .bind(RECENT_TASKS)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(format!(
            "reading the special tasks of host {hostname}"
        )))?
        .iter()
        .map(task_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(HostDetails {
            platform: labels.iter().find(|l| l.platform).map(|l| l.name.clone()),
            host,
            labels,
            attributes,
            recent_tasks,
        })
    }

    /// Every label not deleted, by name, with how many hosts carry it: one query.
    pub async fn label_list(&self) -> Result<Vec<LabelListing>, StoreError> {
        let rows = sqlx::query(
            "SELECT l.id, l.name, l.platform, l.only_if_needed, l.invalid, COUNT(h.id) AS hosts FROM labels l LEFT JOIN host_labels hl ON hl.label_id = l.id LEFT JOIN hosts h ON h.id = hl.host_id AND h.invalid = 0 WHERE l.invalid = 0 GROUP BY l.id, l.name, l.platform, l.only_if_needed, l.invalid ORDER BY l.name",
        )
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query("listing labels"))?;
        let e = read_err("a label's host count");
        rows.iter()
            .map(|r| {
                Ok(LabelListing {
                    label: label_from_row(r)?,
                    hosts: r.try_get("hosts").map_err(&e)?,
                })
            })
            .collect()
    }

    /// Refuses to delete a label that hosts carry or unfinished jobs need, naming them.
    pub(crate) async fn check_label_unused(&self, label: &Label) -> Result<(), StoreError> {
        let name = &label.name;
        let hosts: Vec<String> = sqlx::query(
            "SELECT h.hostname FROM hosts h JOIN host_labels hl ON hl.host_id = h.id WHERE hl.label_id = $1 AND h.invalid = 0 ORDER BY h.hostname",
        )
        .bind(label.id)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(format!("finding the hosts with label {name}")))?
        .iter()
        .map(|r| r.try_get(0).map_err(read_err("a host name")))
        .collect::<Result<_, _>>()?;
        // Dependencies and metahost entries of jobs with work left; finished jobs keep their
        // history pointing at the deleted label.
        let jobs: Vec<String> = sqlx::query(
            "SELECT j.id, j.name FROM jobs j WHERE (j.id IN (SELECT job_id FROM job_dependency_labels WHERE label_id = $1) OR j.id IN (SELECT job_id FROM host_queue_entries WHERE meta_host = $2)) AND EXISTS (SELECT 1 FROM host_queue_entries e WHERE e.job_id = j.id AND e.complete = 0) ORDER BY j.id",
        )
        .bind(label.id)
        .bind(label.id)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(format!("finding the jobs needing label {name}")))?
        .iter()
        .map(|r| {
            let e = read_err("a job");
            Ok(format!(
                "{} ({})",
                r.try_get::<i64, _>(0).map_err(&e)?,
                r.try_get::<String, _>(1).map_err(&e)?
            ))
        })
        .collect::<Result<_, StoreError>>()?;
        let mut why = Vec::new();
        if !hosts.is_empty() {
            // A command to copy for a few hosts; for many, how to list them.
            let fix = if hosts.len() <= 5 {
                format!("`autotest label remove {name} -m {}`", hosts.join(","))
            } else {
                format!(
                    "`autotest label remove {name} -m <hosts>` (`autotest host list -b {name}` lists them)"
                )
            };
            why.push(format!(
                "{} host(s) carry it ({}): take it off them first with {fix}",
                hosts.len(),
                some_names(&hosts, 5),
            ));
        }
        if !jobs.is_empty() {
            why.push(format!(
                "{} unfinished job(s) need it ({}): abort them with `autotest job abort` or let them finish",
                jobs.len(),
                some_names(&jobs, 5)
            ));
        }
        if why.is_empty() {
            return Ok(());
        }
        Err(StoreError::Invalid(format!(
            "label {name} is in use: {}",
            why.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::{some_names, utc_text};

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(utc_text(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn long_name_lists_are_cut() {
        let names: Vec<String> = (1..=7).map(|i| format!("m{i}")).collect();
        assert_eq!(some_names(&names, 5), "m1, m2, m3, m4, m5 and 2 more");
        assert_eq!(some_names(&names[..2], 5), "m1, m2");
    }
}
