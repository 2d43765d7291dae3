//! The results side (legacy TKO): a parsed job written in one transaction, and read back.
//!
//! A reparse replaces the job's rows; a test keeps its id when the same (test, subdir) comes
//! again (the n-th occurrence takes the n-th old id), so links to a test survive a reparse.

use std::collections::{HashMap, VecDeque};

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::Store;
use super::error::StoreError;

/// A kernel version with its patches (name, url, hash).
pub type KernelPatches = (String, Vec<(String, String, String)>);

/// A job read from a results directory, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedJob {
    /// Unique name of the job's results: its directory (`<dir>` or `<dir>/<machine>`).
    pub tag: String,
    /// `label` keyval.
    pub label: String,
    /// `user` keyval.
    pub username: String,
    /// The machine it ran on.
    pub machine: String,
    /// The job's rolled-up status.
    pub status: String,
    /// `job_queued` keyval.
    pub queued: Option<i64>,
    /// `job_started` keyval.
    pub started: Option<i64>,
    /// `job_finished` keyval.
    pub finished: Option<i64>,
    /// The frontend job, for `<jobid>-<owner>` directories.
    pub afe_job_id: Option<i64>,
    /// Job keyvals, in file order.
    pub keyvals: Vec<(String, String)>,
    /// Tests, in log order.
    pub tests: Vec<ParsedTest>,
}

/// A test of a parsed job.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedTest {
    /// Name.
    pub name: String,
    /// Results subdirectory ("" for none).
    pub subdir: String,
    /// Status.
    pub status: String,
    /// Why.
    pub reason: String,
    /// The kernel it ran on, with its patches (name, url, hash).
    pub kernel: Option<KernelPatches>,
    /// Start (UTC epoch seconds).
    pub started: Option<i64>,
    /// End.
    pub finished: Option<i64>,
    /// Line of the status log it starts at.
    pub line: i64,
    /// Test keyvals (`<subdir>/keyval`).
    pub attributes: Vec<(String, String)>,
    /// Iterations (`<subdir>/results/keyval`).
    pub iterations: Vec<ParsedIteration>,
}

/// One iteration's keyvals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedIteration {
    /// `{perf}` values.
    pub perf: Vec<(String, f64)>,
    /// `{attr}` (and untyped) values.
    pub attr: Vec<(String, String)>,
}

/// A stored TKO job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TkoJob {
    /// Row id.
    pub job_idx: i64,
    /// Results directory.
    pub tag: String,
    /// Label.
    pub label: String,
    /// User.
    pub username: String,
    /// Machine host name.
    pub machine: String,
    /// Status.
    pub status: String,
    /// Queued.
    pub queued: Option<i64>,
    /// Started.
    pub started: Option<i64>,
    /// Finished.
    pub finished: Option<i64>,
    /// The frontend job.
    pub afe_job_id: Option<i64>,
}

/// A stored kernel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TkoKernel {
    /// Version as printed.
    pub printable: String,
    /// Patches: (name, url, hash).
    pub patches: Vec<(String, String, String)>,
}

/// A stored test.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TkoTest {
    /// Row id (kept across reparses).
    pub test_idx: i64,
    /// Name.
    pub test: String,
    /// Subdirectory ("" for none).
    pub subdir: String,
    /// Status.
    pub status: String,
    /// Why.
    pub reason: String,
    /// Kernel version.
    pub kernel: Option<String>,
    /// Machine.
    pub machine: String,
    /// Started.
    pub started: Option<i64>,
    /// Finished.
    pub finished: Option<i64>,
}

/// A stored iteration.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TkoIteration {
    /// 1-based number.
    pub iteration: i64,
    /// Perf values by name.
    pub perf: Vec<(String, f64)>,
    /// Attributes by name.
    pub attr: Vec<(String, String)>,
}

/// Row counts of the results tables (to see that a reparse adds nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// tko_jobs.
    pub jobs: i64,
    /// tko_job_keyvals.
    pub job_keyvals: i64,
    /// tko_tests.
    pub tests: i64,
    /// tko_test_attributes.
    pub test_attributes: i64,
    /// tko_iteration_result.
    pub iteration_results: i64,
    /// tko_iteration_attributes.
    pub iteration_attributes: i64,
    /// tko_machines.
    pub machines: i64,
    /// tko_kernels.
    pub kernels: i64,
}

fn q(what: String) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::Query {
        what: what.clone(),
        source,
    }
}

async fn machine_idx(
    tx: &mut Transaction<'_, Any>,
    hostname: &str,
    what: &impl Fn(sqlx::Error) -> StoreError,
) -> Result<i64, StoreError> {
    sqlx::query(
        "INSERT INTO tko_machines (hostname) VALUES ($1) ON CONFLICT (hostname) DO NOTHING",
    )
    .bind(hostname)
    .execute(&mut **tx)
    .await
    .map_err(what)?;
    sqlx::query("SELECT machine_idx FROM tko_machines WHERE hostname = $1")
        .bind(hostname)
        .fetch_one(&mut **tx)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(what)
}

async fn kernel_idx(
    tx: &mut Transaction<'_, Any>,
    version: &str,
    patches: &[(String, String, String)],
    what: &impl Fn(sqlx::Error) -> StoreError,
) -> Result<i64, StoreError> {
    // The same version with other patches is another kernel.
    let hash = std::iter::once(version.to_owned())
        .chain(patches.iter().map(|(n, _, h)| format!("{n}:{h}")))
        .collect::<Vec<_>>()
        .join(" ");
    sqlx::query("INSERT INTO tko_kernels (kernel_hash, base, printable) VALUES ($1, $2, $3) ON CONFLICT (kernel_hash) DO NOTHING")
        .bind(hash.as_str())
        .bind(version)
        .bind(version)
        .execute(&mut **tx)
        .await
        .map_err(what)?;
    let idx: i64 = sqlx::query("SELECT kernel_idx FROM tko_kernels WHERE kernel_hash = $1")
        .bind(hash.as_str())
        .fetch_one(&mut **tx)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(what)?;
    for (name, url, phash) in patches {
        sqlx::query("INSERT INTO tko_patches (kernel_idx, name, url, hash) VALUES ($1, $2, $3, $4) ON CONFLICT (kernel_idx, name) DO NOTHING")
            .bind(idx)
            .bind(name.as_str())
            .bind(url.as_str())
            .bind(phash.as_str())
            .execute(&mut **tx)
            .await
            .map_err(what)?;
    }
    Ok(idx)
}

impl Store {
    /// Writes a parsed job in one transaction, replacing an earlier parse of the same tag.
    /// Returns the job's row id.
    pub async fn store_parsed_job(&self, job: &ParsedJob) -> Result<i64, StoreError> {
        let what = q(format!("storing the results of {}", job.tag));
        let mut tx = self.begin_write().await.map_err(&what)?;
        let machine = machine_idx(&mut tx, &job.machine, &what).await?;
        let old: Option<i64> = sqlx::query("SELECT job_idx FROM tko_jobs WHERE tag = $1")
            .bind(job.tag.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(&what)?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(&what)?;
        let job_idx = match old {
            Some(idx) => {
                sqlx::query(
                    "UPDATE tko_jobs SET label = $1, username = $2, machine_idx = $3, status = $4, queued_time = $5, started_time = $6, finished_time = $7, afe_job_id = $8 WHERE job_idx = $9",
                )
                .bind(job.label.as_str())
                .bind(job.username.as_str())
                .bind(machine)
                .bind(job.status.as_str())
                .bind(job.queued)
                .bind(job.started)
                .bind(job.finished)
                .bind(job.afe_job_id)
                .bind(idx)
                .execute(&mut *tx)
                .await
                .map_err(&what)?;
                sqlx::query("DELETE FROM tko_job_keyvals WHERE job_idx = $1").bind(idx).execute(&mut *tx).await.map_err(&what)?;
                idx
            }
            None => sqlx::query(
                "INSERT INTO tko_jobs (tag, label, username, machine_idx, status, queued_time, started_time, finished_time, afe_job_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING job_idx",
            )
            .bind(job.tag.as_str())
            .bind(job.label.as_str())
            .bind(job.username.as_str())
            .bind(machine)
            .bind(job.status.as_str())
            .bind(job.queued)
            .bind(job.started)
            .bind(job.finished)
            .bind(job.afe_job_id)
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(&what)?,
        };
        for (k, v) in &job.keyvals {
            sqlx::query("INSERT INTO tko_job_keyvals (job_idx, key, value) VALUES ($1, $2, $3)")
                .bind(job_idx)
                .bind(k.as_str())
                .bind(v.as_str())
                .execute(&mut *tx)
                .await
                .map_err(&what)?;
        }
        // Old test ids by (test, subdir), oldest first.
        let mut old_tests: HashMap<(String, String), VecDeque<i64>> = HashMap::new();
        for r in sqlx::query(
            "SELECT test_idx, test, subdir FROM tko_tests WHERE job_idx = $1 ORDER BY test_idx",
        )
        .bind(job_idx)
        .fetch_all(&mut *tx)
        .await
        .map_err(&what)?
        {
            let (idx, test, subdir): (i64, String, String) = (
                r.try_get(0).map_err(&what)?,
                r.try_get(1).map_err(&what)?,
                r.try_get(2).map_err(&what)?,
            );
            old_tests.entry((test, subdir)).or_default().push_back(idx);
        }
        for t in &job.tests {
            let kernel = match &t.kernel {
                Some((v, patches)) => Some(kernel_idx(&mut tx, v, patches, &what).await?),
                None => None,
            };
            let reuse = old_tests
                .get_mut(&(t.name.clone(), t.subdir.clone()))
                .and_then(VecDeque::pop_front);
            let test_idx = match reuse {
                Some(idx) => {
                    sqlx::query(
                        "UPDATE tko_tests SET kernel_idx = $1, status = $2, reason = $3, machine_idx = $4, started_time = $5, finished_time = $6, log_line = $7 WHERE test_idx = $8",
                    )
                    .bind(kernel)
                    .bind(t.status.as_str())
                    .bind(t.reason.as_str())
                    .bind(machine)
                    .bind(t.started)
                    .bind(t.finished)
                    .bind(t.line)
                    .bind(idx)
                    .execute(&mut *tx)
                    .await
                    .map_err(&what)?;
                    for table in [
                        "DELETE FROM tko_test_attributes WHERE test_idx = $1",
                        "DELETE FROM tko_iteration_result WHERE test_idx = $1",
                        "DELETE FROM tko_iteration_attributes WHERE test_idx = $1",
                    ] {
                        sqlx::query(table).bind(idx).execute(&mut *tx).await.map_err(&what)?;
                    }
                    idx
                }
                None => sqlx::query(
                    "INSERT INTO tko_tests (job_idx, test, subdir, kernel_idx, status, reason, machine_idx, started_time, finished_time, log_line) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING test_idx",
                )
                .bind(job_idx)
                .bind(t.name.as_str())
                .bind(t.subdir.as_str())
                .bind(kernel)
                .bind(t.status.as_str())
                .bind(t.reason.as_str())
                .bind(machine)
                .bind(t.started)
                .bind(t.finished)
                .bind(t.line)
                .fetch_one(&mut *tx)
                .await
                .and_then(|r| r.try_get(0))
                .map_err(&what)?,
            };
            for (k, v) in &t.attributes {
                sqlx::query("INSERT INTO tko_test_attributes (test_idx, attribute, value) VALUES ($1, $2, $3)")
                    .bind(test_idx)
                    .bind(k.as_str())
                    .bind(v.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(&what)?;
            }
            for (n, it) in t.iterations.iter().enumerate() {
                let n = n as i64 + 1;
                for (k, v) in &it.perf {
                    sqlx::query("INSERT INTO tko_iteration_result (test_idx, iteration, attribute, value) VALUES ($1, $2, $3, $4)")
                        .bind(test_idx)
                        .bind(n)
                        .bind(k.as_str())
                        .bind(*v)
                        .execute(&mut *tx)
                        .await
                        .map_err(&what)?;
                }
                for (k, v) in &it.attr {
                    sqlx::query("INSERT INTO tko_iteration_attributes (test_idx, iteration, attribute, value) VALUES ($1, $2, $3, $4)")
                        .bind(test_idx)
                        .bind(n)
                        .bind(k.as_str())
                        .bind(v.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(&what)?;
                }
            }
        }
        // Tests the new parse no longer has.
        for idx in old_tests.into_values().flatten() {
            for sql in [
                "DELETE FROM tko_test_attributes WHERE test_idx = $1",
                "DELETE FROM tko_iteration_result WHERE test_idx = $1",
                "DELETE FROM tko_iteration_attributes WHERE test_idx = $1",
                "DELETE FROM tko_tests WHERE test_idx = $1",
            ] {
                sqlx::query(sql)
                    .bind(idx)
                    .execute(&mut *tx)
                    .await
                    .map_err(&what)?;
            }
        }
        tx.commit().await.map_err(&what)?;
        Ok(job_idx)
    }

    /// A parsed job by tag (its results directory).
    pub async fn tko_job(&self, tag: &str) -> Result<Option<TkoJob>, StoreError> {
        let row = sqlx::query(
            "SELECT j.job_idx, j.tag, j.label, j.username, m.hostname, j.status, j.queued_time, j.started_time, j.finished_time, j.afe_job_id \
             FROM tko_jobs j JOIN tko_machines m ON m.machine_idx = j.machine_idx WHERE j.tag = $1",
        )
        .bind(tag)
        .fetch_optional(self.pool())
        .await
        .map_err(q(format!("reading the results of {tag}")))?;
        let e = q(format!("reading the results of {tag}"));
        row.map(|r: AnyRow| {
            Ok(TkoJob {
                job_idx: r.try_get(0).map_err(&e)?,
                tag: r.try_get(1).map_err(&e)?,
                label: r.try_get(2).map_err(&e)?,
                username: r.try_get(3).map_err(&e)?,
                machine: r.try_get(4).map_err(&e)?,
                status: r.try_get(5).map_err(&e)?,
                queued: r.try_get(6).map_err(&e)?,
                started: r.try_get(7).map_err(&e)?,
                finished: r.try_get(8).map_err(&e)?,
                afe_job_id: r.try_get(9).map_err(&e)?,
            })
        })
        .transpose()
    }

    /// Every parsed job's tag, in the order first parsed.
    pub async fn tko_job_tags(&self) -> Result<Vec<String>, StoreError> {
        let e = q("listing parsed jobs".into());
        let rows = sqlx::query("SELECT tag FROM tko_jobs ORDER BY job_idx")
            .fetch_all(self.pool())
            .await
            .map_err(&e)?;
        rows.iter().map(|r| r.try_get(0).map_err(&e)).collect()
    }

    /// The parsed results of a frontend job (one per machine of a multi-machine job), in the
    /// order first parsed: what a front end shows as the tests of job N.
    pub async fn tko_jobs_of_afe_job(&self, afe_job_id: i64) -> Result<Vec<TkoJob>, StoreError> {
        let e = q(format!("listing the parsed results of job {afe_job_id}"));
        let rows = sqlx::query("SELECT tag FROM tko_jobs WHERE afe_job_id = $1 ORDER BY job_idx")
            .bind(afe_job_id)
            .fetch_all(self.pool())
            .await
            .map_err(&e)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let tag: String = r.try_get(0).map_err(&e)?;
            // A concurrent reparse or prune may remove the row between the two reads.
            out.extend(self.tko_job(&tag).await?);
        }
        Ok(out)
    }

    /// A parsed job's keyvals, in file order.
    pub async fn tko_job_keyvals(&self, job_idx: i64) -> Result<Vec<(String, String)>, StoreError> {
        let e = q(format!("reading the keyvals of parsed job {job_idx}"));
        let rows = sqlx::query("SELECT key, value FROM tko_job_keyvals WHERE job_idx = $1")
            .bind(job_idx)
            .fetch_all(self.pool())
            .await
            .map_err(&e)?;
        rows.iter()
            .map(|r| Ok((r.try_get(0).map_err(&e)?, r.try_get(1).map_err(&e)?)))
            .collect()
    }

    /// A parsed job's tests, in log order.
    pub async fn tko_tests(&self, job_idx: i64) -> Result<Vec<TkoTest>, StoreError> {
        let e = q(format!("reading the tests of parsed job {job_idx}"));
        let rows = sqlx::query(
            "SELECT t.test_idx, t.test, t.subdir, t.status, t.reason, k.printable, m.hostname, t.started_time, t.finished_time \
             FROM tko_tests t JOIN tko_machines m ON m.machine_idx = t.machine_idx LEFT JOIN tko_kernels k ON k.kernel_idx = t.kernel_idx \
             WHERE t.job_idx = $1 ORDER BY t.log_line, t.test_idx",
        )
        .bind(job_idx)
        .fetch_all(self.pool())
        .await
        .map_err(&e)?;
        rows.iter()
            .map(|r| {
                Ok(TkoTest {
                    test_idx: r.try_get(0).map_err(&e)?,
                    test: r.try_get(1).map_err(&e)?,
                    subdir: r.try_get(2).map_err(&e)?,
                    status: r.try_get(3).map_err(&e)?,
                    reason: r.try_get(4).map_err(&e)?,
                    kernel: r.try_get(5).map_err(&e)?,
                    machine: r.try_get(6).map_err(&e)?,
                    started: r.try_get(7).map_err(&e)?,
                    finished: r.try_get(8).map_err(&e)?,
                })
            })
            .collect()
    }

    /// A test's attributes, by name.
    pub async fn tko_test_attributes(
        &self,
        test_idx: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let e = q(format!("reading the attributes of test {test_idx}"));
        let rows = sqlx::query("SELECT attribute, value FROM tko_test_attributes WHERE test_idx = $1 ORDER BY attribute")
            .bind(test_idx)
            .fetch_all(self.pool())
            .await
            .map_err(&e)?;
        rows.iter()
            .map(|r| Ok((r.try_get(0).map_err(&e)?, r.try_get(1).map_err(&e)?)))
            .collect()
    }

    /// A test's iterations, in order.
    pub async fn tko_iterations(&self, test_idx: i64) -> Result<Vec<TkoIteration>, StoreError> {
        let e = q(format!("reading the iterations of test {test_idx}"));
        let mut out: Vec<TkoIteration> = Vec::new();
        let perf = sqlx::query("SELECT iteration, attribute, value FROM tko_iteration_result WHERE test_idx = $1 ORDER BY iteration, attribute")
            .bind(test_idx)
            .fetch_all(self.pool())
            .await
            .map_err(&e)?;
        let attr = sqlx::query("SELECT iteration, attribute, value FROM tko_iteration_attributes WHERE test_idx = $1 ORDER BY iteration, attribute")
            .bind(test_idx)
            .fetch_all(self.pool())
            .await
            .map_err(&e)?;
        fn slot(out: &mut Vec<TkoIteration>, n: i64) -> &mut TkoIteration {
            let at = match out.iter().position(|i| i.iteration == n) {
                Some(at) => at,
                None => {
                    out.push(TkoIteration {
                        iteration: n,
                        perf: Vec::new(),
                        attr: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            &mut out[at]
        }
        for r in &perf {
            let n: i64 = r.try_get(0).map_err(&e)?;
            let kv = (
                r.try_get(1).map_err(&e)?,
                r.try_get::<f64, _>(2).map_err(&e)?,
            );
            slot(&mut out, n).perf.push(kv);
        }
        for r in &attr {
            let n: i64 = r.try_get(0).map_err(&e)?;
            let kv = (r.try_get(1).map_err(&e)?, r.try_get(2).map_err(&e)?);
            slot(&mut out, n).attr.push(kv);
        }
        out.sort_by_key(|i| i.iteration);
        Ok(out)
    }

    /// A kernel with its patches.
    pub async fn tko_kernel(&self, printable: &str) -> Result<Option<TkoKernel>, StoreError> {
        let e = q(format!("reading kernel {printable}"));
        let Some(row) = sqlx::query(
            "SELECT kernel_idx FROM tko_kernels WHERE printable = $1 ORDER BY kernel_idx",
        )
        .bind(printable)
        .fetch_optional(self.pool())
        .await
        .map_err(&e)?
        else {
            return Ok(None);
        };
        let idx: i64 = row.try_get(0).map_err(&e)?;
        let rows = sqlx::query(
            "SELECT name, url, hash FROM tko_patches WHERE kernel_idx = $1 ORDER BY name",
        )
        .bind(idx)
        .fetch_all(self.pool())
        .await
        .map_err(&e)?;
        let patches = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(&e)?,
                    r.try_get(1).map_err(&e)?,
                    r.try_get(2).map_err(&e)?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(TkoKernel {
            printable: printable.to_owned(),
            patches,
        }))
    }

    /// Row counts of the results tables.
    pub async fn tko_row_counts(&self) -> Result<RowCounts, StoreError> {
        let e = q("counting results rows".into());
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM tko_jobs), (SELECT COUNT(*) FROM tko_job_keyvals), (SELECT COUNT(*) FROM tko_tests), \
             (SELECT COUNT(*) FROM tko_test_attributes), (SELECT COUNT(*) FROM tko_iteration_result), \
             (SELECT COUNT(*) FROM tko_iteration_attributes), (SELECT COUNT(*) FROM tko_machines), (SELECT COUNT(*) FROM tko_kernels)",
        )
        .fetch_one(self.pool())
        .await
        .map_err(&e)?;
        Ok(RowCounts {
            jobs: row.try_get(0).map_err(&e)?,
            job_keyvals: row.try_get(1).map_err(&e)?,
            tests: row.try_get(2).map_err(&e)?,
            test_attributes: row.try_get(3).map_err(&e)?,
            iteration_results: row.try_get(4).map_err(&e)?,
            iteration_attributes: row.try_get(5).map_err(&e)?,
            machines: row.try_get(6).map_err(&e)?,
            kernels: row.try_get(7).map_err(&e)?,
        })
    }
}
