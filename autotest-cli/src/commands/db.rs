//! `autotest db migrate`, `autotest db prune` and `autotest parse`: the lab database's front end. Finding the
//! database, migrating and parsing are autotest-core's (`autotest_core::store`).

use std::path::PathBuf;

use anyhow::Context;
use autotest_core::GlobalConfig;
use autotest_core::store::{self, Store};
use clap::{Args, Subcommand};

/// Where the database is: `--db`, else `AUTOTEST_DB`, else `[AUTOTEST_WEB]` of the config, else
/// the default SQLite file.
#[derive(Args, Debug)]
pub(crate) struct DbLocation {
    /// The lab database: sqlite:<file> or postgres://user@host[:port]/db (default: $AUTOTEST_DB,
    /// else [AUTOTEST_WEB] of global_config.ini, else ~/.local/share/autotest/lab.db).
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// Directory holding global_config.ini (and shadow_config.ini).
    #[arg(long, env = "AUTOTEST_CONFIG_DIR")]
    pub(crate) config_dir: Option<PathBuf>,
}

impl DbLocation {
    pub(crate) fn resolve(&self) -> anyhow::Result<store::DbUrl> {
        let config = self.config()?;
        Ok(store::resolve_db(self.db.as_deref(), config.as_ref())?)
    }
}

/// Arguments of `autotest db`.
#[derive(Args, Debug)]
pub struct DbArgs {
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Subcommand, Debug)]
enum DbCommand {
    /// Create the lab database's tables, or bring them to this build's schema version.
    #[command(after_help = "\
Exit status:
  0  the database is at this build's schema version
  1  it could not be opened or migrated (the error says why)
  2  bad usage

--json prints one object (autotest_core::store::Migrated): {\"from\", \"to\"}, the schema
versions before and after (from is 0 for a new database).")]
    Migrate {
        #[command(flatten)]
        location: DbLocation,
        /// Print what was done as one JSON object on stdout (shape below).
        #[arg(long)]
        json: bool,
    },
    /// Delete finished jobs older than an age, with their entries and parsed results, in
    /// batches (results trees are kept unless --results is given).
    #[command(after_help = "\
Exit status:
  0  the jobs were deleted (or, with --dry-run, counted)
  1  the database could not be opened or a batch failed (batches before it stay deleted)
  2  bad usage, or an age that is not understood

--json prints one object (autotest_core::store::PruneReport): cutoff (UTC epoch seconds),
dry_run, the rows deleted per kind (jobs, entries, aborts, ineligible_hosts, dependency_labels,
keyvals, results_locations, tko_jobs, tests, iterations), trees removed, batches, and trees_kept
[{\"job_id\", \"path\", \"reason\"}] for results trees left in place.")]
    Prune(PruneArgs),
}

/// Arguments of `autotest db prune`.
#[derive(Args, Debug)]
struct PruneArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Jobs whose last entry finished longer ago than this go: a whole number and a unit, m
    /// (minutes), h (hours), d (days) or w (weeks): 30m, 12h, 90d, 2w.
    #[arg(long, value_name = "AGE", value_parser = age)]
    older_than: i64,
    /// Say what would be deleted, delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also remove the pruned jobs' results directories, those recorded in the database that
    /// lie inside the results root (never a path outside it).
    #[arg(long)]
    results: bool,
    /// The results root for --results (default: the results directory below [SCHEDULER]
    /// drone_installation_directory of global_config.ini, /usr/local/autotest/results).
    #[arg(long, value_name = "DIR", requires = "results")]
    results_root: Option<PathBuf>,
    /// Jobs deleted per transaction.
    #[arg(long, value_name = "N", default_value_t = store::PRUNE_BATCH as u32, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn age(text: &str) -> Result<i64, String> {
    store::parse_age(text).map_err(|e| e.to_string())
}

impl DbLocation {
    pub(crate) fn config(&self) -> anyhow::Result<Option<GlobalConfig>> {
        Ok(match &self.config_dir {
            Some(dir) => Some(GlobalConfig::load(
                dir.join("global_config.ini"),
                Some(&dir.join("shadow_config.ini")),
            )?),
            None => None,
        })
    }
}

/// "1 job" / "2 jobs".
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn prune(a: PruneArgs) -> anyhow::Result<i32> {
    let url = a.location.resolve()?;
    let results_root = if a.results {
        Some(match a.results_root {
            Some(root) => root,
            None => {
                let install = match a.location.config()? {
                    Some(c) => c.scheduler()?.drone_installation_directory,
                    None => "/usr/local/autotest".to_owned(),
                };
                PathBuf::from(install).join("results")
            }
        })
    } else {
        None
    };
    let mut opts = store::PruneOptions::older_than(a.older_than);
    opts.dry_run = a.dry_run;
    opts.results_root = results_root;
    opts.batch = a.batch as usize;
    let rt = super::runtime()?;
    let report = rt.block_on(async {
        let store = Store::open(&url).await?;
        let report = store.prune(&opts).await;
        store.close().await;
        report
    })?;
    if a.json {
        crate::output::print_json(&report)?;
    } else {
        let r = &report;
        let mut line = format!(
            "{}: {}, {}, {}, {}, {}",
            if r.dry_run {
                "would delete (dry run, nothing changed)"
            } else {
                "deleted"
            },
            count(r.jobs, "job", "jobs"),
            count(r.entries, "queue entry", "queue entries"),
            count(r.tko_jobs, "parsed job", "parsed jobs"),
            count(r.tests, "test", "tests"),
            count(r.iterations, "iteration", "iterations"),
        );
        if opts.results_root.is_some() {
            line.push_str(&format!(
                ", {}",
                count(r.trees, "results tree", "results trees")
            ));
        }
        println!(
            "{line} ({} in {})",
            url,
            count(r.batches, "batch", "batches")
        );
        for k in &r.trees_kept {
            eprintln!(
                "autotest db prune: warning: kept the results of job {} ({}): {}",
                k.job_id,
                autotest_core::visible(&k.path),
                k.reason
            );
        }
    }
    Ok(0)
}

/// Arguments of `autotest parse`.
#[derive(Args, Debug)]
#[command(after_help = "\
Exit status:
  0  every directory was stored (problems are warnings on stderr)
  1  a directory could not be stored (the others were)
  2  bad usage

--json prints one object (autotest_core::store::ParseReport) for all the directories:
  {\"jobs\": [{\"tag\", \"job_idx\", \"machine\", \"status\", \"tests\"}],
   \"problems\": [{\"path\", \"line\", \"message\"}]}
A directory that could not be stored is reported on stderr only.")]
pub struct ParseArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Print what was stored as one JSON object on stdout (shape below).
    #[arg(long)]
    json: bool,
    /// Jobs' results directories (a multi-machine job's directory holds one per machine).
    #[arg(required = true, value_name = "RESULTS_DIR")]
    dirs: Vec<PathBuf>,
}

pub fn db(a: DbArgs) -> anyhow::Result<i32> {
    match a.command {
        DbCommand::Migrate { location, json } => {
            let url = location.resolve()?;
            let rt = super::runtime()?;
            let m = rt.block_on(async {
                let (store, m) = Store::migrate(&url).await?;
                store.close().await;
                Ok::<_, store::StoreError>(m)
            })?;
            if json {
                crate::output::print_json(&m)?;
            } else if m.from == m.to {
                println!("{url}: schema version {} (up to date)", m.to);
            } else {
                println!("{url}: schema version {} -> {}", m.from, m.to);
            }
            Ok(0)
        }
        DbCommand::Prune(args) => prune(args),
    }
}

/// Exit 0 when every directory was stored (problems are warnings), 1 when one could not be.
pub fn parse(a: ParseArgs) -> anyhow::Result<i32> {
    let url = a.location.resolve()?;
    let rt = super::runtime()?;
    rt.block_on(async {
        let store = Store::open(&url).await?;
        let mut code = 0;
        let mut all = store::ParseReport::default();
        for dir in &a.dirs {
            match store.parse_results(dir).await {
                Ok(report) if a.json => {
                    all.jobs.extend(report.jobs);
                    all.problems.extend(report.problems);
                }
                Ok(report) => {
                    for p in &report.problems {
                        eprintln!("autotest parse: warning: {p}");
                    }
                    for j in &report.jobs {
                        println!(
                            "{}: {} on {}, {} test(s)",
                            j.tag, j.status, j.machine, j.tests
                        );
                    }
                }
                Err(e) => {
                    eprintln!("autotest parse: {e}");
                    code = 1;
                }
            }
        }
        store.close().await;
        if a.json {
            crate::output::print_json(&all)?;
        }
        Ok::<_, anyhow::Error>(code)
    })
    .context("autotest parse")
}
