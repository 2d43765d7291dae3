//! `autotest db prune`: finished jobs older than a cutoff leave the database, with their queue
//! entries, aborts, ineligible-host blocks, dependency labels, keyvals, results locations and
//! parsed (TKO) results; so do parsed jobs that have no frontend job.
//!
//! Work goes in batches of whole jobs, one transaction each, so that a lab's database is never
//! locked for long and a kill part-way leaves every job either entirely deleted or entirely
//! kept. A dry run reads the same rows with the same conditions and changes nothing. Results
//! trees on disk are removed only when a results root is given, and only a job's recorded
//! directory strictly inside that root.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use super::error::StoreError;
use super::{Store, now};

/// Jobs per transaction.
pub const PRUNE_BATCH: usize = 500;

/// What to prune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneOptions {
    /// UTC epoch seconds: jobs whose last entry finished before this go.
    pub cutoff: i64,
    /// Count what would go, change nothing.
    pub dry_run: bool,
    /// Remove the pruned jobs' results directories too, when they lie inside this directory.
    pub results_root: Option<PathBuf>,
    /// Jobs per transaction ([`PRUNE_BATCH`]).
    pub batch: usize,
}

impl PruneOptions {
    /// Prune what finished more than `age_secs` ago, in batches of [`PRUNE_BATCH`], trees kept.
    pub fn older_than(age_secs: i64) -> PruneOptions {
        PruneOptions {
            cutoff: now() - age_secs,
            dry_run: false,
            results_root: None,
            batch: PRUNE_BATCH,
        }
    }
}

/// A recorded results directory that was not removed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptTree {
    /// The frontend job.
    pub job_id: i64,
    /// The directory as recorded.
    pub path: String,
    /// Why it stays (outside the results root, missing, not removable).
    pub reason: String,
}

/// What a prune removed (or, for a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// The cutoff, UTC epoch seconds.
    pub cutoff: i64,
    /// Nothing was changed.
    pub dry_run: bool,
    /// Frontend jobs.
    pub jobs: u64,
    /// Their host queue entries.
    pub entries: u64,
    /// Abort records of those entries.
    pub aborts: u64,
    /// Ineligible-host blocks.
    pub ineligible_hosts: u64,
    /// Dependency label links.
    pub dependency_labels: u64,
    /// Job keyvals.
    pub keyvals: u64,
    /// Recorded results locations.
    pub results_locations: u64,
    /// Parsed (TKO) jobs: those of the pruned jobs and those without a frontend job.
    pub tko_jobs: u64,
    /// Their tests.
    pub tests: u64,
    /// Their iterations (distinct test and iteration number).
    pub iterations: u64,
    /// Results directories removed.
    pub trees: u64,
    /// Recorded results directories kept, with the reason.
    pub trees_kept: Vec<KeptTree>,
    /// Transactions (batches) that removed something.
    pub batches: u64,
}

/// `$1, $2, ... $n`.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deletes the rows of `table` matching `cond` (whose `$1..$n` are `ids`), or counts them in a
/// dry run: one condition text for both, so a dry run counts exactly what a prune removes.
async fn remove(
    tx: &mut Transaction<'_, Any>,
    table: &str,
    cond: &str,
    ids: &[i64],
    dry_run: bool,
) -> Result<u64, StoreError> {
    let what = format!("pruning {table}");
    let sql = if dry_run {
        format!("SELECT COUNT(*) FROM {table} WHERE {cond}")
    } else {
        format!("DELETE FROM {table} WHERE {cond}")
    };
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id);
    }
    if dry_run {
        let n: i64 = q
            .fetch_one(&mut **tx)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(StoreError::query(what))?;
        Ok(n as u64)
    } else {
        Ok(q.execute(&mut **tx)
            .await
            .map_err(StoreError::query(what))?
            .rows_affected())
    }
}

/// The ids a query with `$1..$n` = `ids` returns.
async fn ids_of(
    tx: &mut Transaction<'_, Any>,
    sql: String,
    ids: &[i64],
    what: &str,
) -> Result<Vec<i64>, StoreError> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id);
    }
    let rows = q
        .fetch_all(&mut **tx)
        .await
        .map_err(StoreError::query(what))?;
    rows.iter()
        .map(|r| r.try_get(0).map_err(StoreError::query(what)))
        .collect()
}

/// Removes (counts) parsed jobs `tko` with their tests, attributes and iterations.
async fn prune_tko(
    tx: &mut Transaction<'_, Any>,
    tko: &[i64],
    dry_run: bool,
    report: &mut PruneReport,
) -> Result<(), StoreError> {
    if tko.is_empty() {
        return Ok(());
    }
    let p = placeholders(tko.len());
    let tests = format!("test_idx IN (SELECT test_idx FROM tko_tests WHERE job_idx IN ({p}))");
    // Counted before anything goes: an iteration may have perf values, attributes or both.
    let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM (SELECT test_idx, iteration FROM tko_iteration_result WHERE {tests} \
         UNION SELECT test_idx, iteration FROM tko_iteration_attributes WHERE {tests}) u"
    )));
    for id in tko {
        q = q.bind(*id);
    }
    let iterations: i64 = q
        .fetch_one(&mut **tx)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(StoreError::query("counting the iterations to prune"))?;
    report.iterations += iterations as u64;
    remove(tx, "tko_iteration_result", &tests, tko, dry_run).await?;
    remove(tx, "tko_iteration_attributes", &tests, tko, dry_run).await?;
    remove(tx, "tko_test_attributes", &tests, tko, dry_run).await?;
    let by_job = format!("job_idx IN ({p})");
    report.tests += remove(tx, "tko_tests", &by_job, tko, dry_run).await?;
    remove(tx, "tko_job_keyvals", &by_job, tko, dry_run).await?;
    report.tko_jobs += remove(tx, "tko_jobs", &by_job, tko, dry_run).await?;
    Ok(())
}

/// Removes (counts) frontend jobs `jobs` with everything that hangs off them.
async fn prune_jobs(
    tx: &mut Transaction<'_, Any>,
    jobs: &[i64],
    dry_run: bool,
    report: &mut PruneReport,
) -> Result<(), StoreError> {
    let p = placeholders(jobs.len());
    let tko = ids_of(
        tx,
        format!("SELECT job_idx FROM tko_jobs WHERE afe_job_id IN ({p})"),
        jobs,
        "finding the parsed results of the jobs to prune",
    )
    .await?;
    prune_tko(tx, &tko, dry_run, report).await?;
    let entries = format!("job_id IN ({p})");
    let of_entries =
        format!("queue_entry_id IN (SELECT id FROM host_queue_entries WHERE {entries})");
    if !dry_run {
        // Special tasks are the host's history: they stay, without the entry.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE special_tasks SET queue_entry_id = NULL WHERE {of_entries}"
        )));
        for id in jobs {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await.map_err(StoreError::query(
            "unlinking special tasks from pruned entries",
        ))?;
    }
    report.aborts += remove(tx, "aborted_host_queue_entries", &of_entries, jobs, dry_run).await?;
    report.entries += remove(tx, "host_queue_entries", &entries, jobs, dry_run).await?;
    report.ineligible_hosts +=
        remove(tx, "ineligible_host_queues", &entries, jobs, dry_run).await?;
    report.dependency_labels +=
        remove(tx, "job_dependency_labels", &entries, jobs, dry_run).await?;
    report.keyvals += remove(tx, "job_keyvals", &entries, jobs, dry_run).await?;
    report.results_locations +=
        remove(tx, "job_results_locations", &entries, jobs, dry_run).await?;
    report.jobs += remove(tx, "jobs", &format!("id IN ({p})"), jobs, dry_run).await?;
    Ok(())
}

/// The directory to remove for a recorded results path, or why there is none: it must exist,
/// be a directory, and resolve (symlinks followed) strictly inside `root` (canonical).
fn confined(root: &Path, recorded: &str) -> Result<PathBuf, String> {
    let path = root.join(recorded); // an absolute recorded path replaces the root
    let real = match path.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err("missing".into()),
        Err(e) => return Err(format!("cannot resolve: {e}")),
    };
    if real == root || !real.starts_with(root) {
        return Err(format!("outside the results root {}", root.display()));
    }
    if !real.is_dir() {
        return Err("not a directory".into());
    }
    Ok(real)
}

impl Store {
    /// One batch's transaction: a dry run only reads, so it does not take SQLite's write lock.
    async fn begin_batch(&self, dry_run: bool) -> Result<Transaction<'static, Any>, StoreError> {
        if dry_run {
            self.pool().begin().await
        } else {
            self.begin_write().await
        }
        .map_err(StoreError::query("starting a prune transaction"))
    }

    /// Removes finished jobs older than `opts.cutoff`: a job goes when every entry is complete
    /// and none finished at or after the cutoff, and it was created before it (a job without
    /// entries goes by its creation time alone). Parsed jobs with no frontend job go when their
    /// finish (else start, else queue) time is before the cutoff; those without any time stay.
    pub async fn prune(&self, opts: &PruneOptions) -> Result<PruneReport, StoreError> {
        let batch = opts.batch.max(1);
        let mut report = PruneReport {
            cutoff: opts.cutoff,
            dry_run: opts.dry_run,
            ..PruneReport::default()
        };
        let root = match &opts.results_root {
            Some(r) => Some(r.canonicalize().map_err(|source| StoreError::Io {
                path: r.clone(),
                what: "cannot read the results root",
                source,
            })?),
            None => None,
        };

        let mut last = 0i64;
        loop {
            let mut tx = self.begin_batch(opts.dry_run).await?;
            let jobs = ids_of(
                &mut tx,
                "SELECT j.id FROM jobs j WHERE j.id > $1 AND j.created_on < $2 AND NOT EXISTS \
                 (SELECT 1 FROM host_queue_entries e WHERE e.job_id = j.id AND (e.complete = 0 OR e.finished_on >= $2)) \
                 ORDER BY j.id LIMIT $3"
                    .to_owned(),
                &[last, opts.cutoff, batch as i64],
                "finding finished jobs to prune",
            )
            .await?;
            let Some(&end) = jobs.last() else { break };
            last = end;
            let trees = match &root {
                Some(_) => self.locations(&mut tx, &jobs).await?,
                None => Vec::new(),
            };
            prune_jobs(&mut tx, &jobs, opts.dry_run, &mut report).await?;
            let what = StoreError::query("committing a prune batch");
            if opts.dry_run {
                tx.rollback().await.map_err(what)?;
            } else {
                tx.commit().await.map_err(what)?;
            }
            report.batches += 1;
            if let Some(root) = &root {
                // After the commit: a kill now leaves a tree without rows, never rows
                // without their tree.
                for (job_id, path) in trees {
                    match confined(root, &path) {
                        Ok(_) if opts.dry_run => report.trees += 1,
                        Ok(dir) => match std::fs::remove_dir_all(&dir) {
                            Ok(()) => report.trees += 1,
                            Err(e) => report.trees_kept.push(KeptTree {
                                job_id,
                                path,
                                reason: format!("cannot remove: {e}"),
                            }),
                        },
                        Err(reason) => report.trees_kept.push(KeptTree {
                            job_id,
                            path,
                            reason,
                        }),
                    }
                }
            }
            if jobs.len() < batch {
                break;
            }
        }

        let mut last = 0i64;
        loop {
            let mut tx = self.begin_batch(opts.dry_run).await?;
            let tko = ids_of(
                &mut tx,
                "SELECT t.job_idx FROM tko_jobs t WHERE t.job_idx > $1 \
                 AND COALESCE(t.finished_time, t.started_time, t.queued_time) < $2 \
                 AND (t.afe_job_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = t.afe_job_id)) \
                 ORDER BY t.job_idx LIMIT $3"
                    .to_owned(),
                &[last, opts.cutoff, batch as i64],
                "finding parsed jobs without a frontend job to prune",
            )
            .await?;
            let Some(&end) = tko.last() else { break };
            last = end;
            prune_tko(&mut tx, &tko, opts.dry_run, &mut report).await?;
            let what = StoreError::query("committing a prune batch");
            if opts.dry_run {
                tx.rollback().await.map_err(what)?;
            } else {
                tx.commit().await.map_err(what)?;
            }
            report.batches += 1;
            if tko.len() < batch {
                break;
            }
        }
        Ok(report)
    }

    /// The recorded results directories of `jobs`: (job id, path).
    async fn locations(
        &self,
        tx: &mut Transaction<'_, Any>,
        jobs: &[i64],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let what = "reading the results locations of the jobs to prune";
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT job_id, path FROM job_results_locations WHERE job_id IN ({}) ORDER BY job_id",
            placeholders(jobs.len())
        )));
        for id in jobs {
            q = q.bind(*id);
        }
        let rows = q
            .fetch_all(&mut **tx)
            .await
            .map_err(StoreError::query(what))?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(StoreError::query(what))?,
                    r.try_get(1).map_err(StoreError::query(what))?,
                ))
            })
            .collect()
    }
}

/// Parses an age: a whole number and a unit, `30m`, `12h`, `90d`, `2w`. Returns seconds.
pub fn parse_age(text: &str) -> Result<i64, StoreError> {
    let bad = || StoreError::BadAge {
        text: text.to_owned(),
    };
    let t = text.trim();
    let unit = t.chars().last().ok_or_else(bad)?;
    let scale: i64 = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(bad()),
    };
    let digits = &t[..t.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(scale).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(parse_age("90d").unwrap(), 90 * 86_400);
        assert_eq!(parse_age("12h").unwrap(), 12 * 3600);
        assert_eq!(parse_age("2w").unwrap(), 14 * 86_400);
        assert_eq!(parse_age("30m").unwrap(), 1800);
        assert_eq!(parse_age("0d").unwrap(), 0);
        for bad in [
            "",
            "90",
            "d",
            "-1d",
            "1.5d",
            "90 d",
            "3y",
            "9999999999999999999w",
        ] {
            let e = parse_age(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")) && e.contains("90d"), "{e}");
        }
    }

    #[test]
    fn trees_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("results");
        std::fs::create_dir_all(root.join("1-alice/m1")).unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), root.join("2-link")).unwrap();
        let root = root.canonicalize().unwrap();
        assert_eq!(confined(&root, "1-alice").unwrap(), root.join("1-alice"));
        let abs = root.join("1-alice/m1");
        assert_eq!(confined(&root, abs.to_str().unwrap()).unwrap(), abs);
        for (p, why) in [
            ("../elsewhere", "outside"),
            ("2-link", "outside"),
            ("/", "outside"),
            (".", "outside"),
            ("", "outside"),
            ("9-nobody", "missing"),
        ] {
            let e = confined(&root, p).unwrap_err();
            assert!(e.contains(why), "{p}: {e}");
        }
    }
}
