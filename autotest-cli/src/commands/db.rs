//! `autotest db migrate` and `autotest parse`: the lab database's front end. Finding the
//! database, migrating and parsing are autotest-core's (`autotest_core::store`).

use std::path::PathBuf;

use anyhow::Context;
use autotest_core::GlobalConfig;
use autotest_core::store::{self, Store};
use clap::{Args, Subcommand};

/// Where the database is: `--db`, else `AUTOTEST_DB`, else `[AUTOTEST_WEB]` of the config, else
/// the default SQLite file.
#[derive(Args, Debug)]
pub struct DbLocation {
    /// The lab database: sqlite:<file> or postgres://user@host[:port]/db (default: $AUTOTEST_DB,
    /// else [AUTOTEST_WEB] of global_config.ini, else ~/.local/share/autotest/lab.db).
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// Directory holding global_config.ini (and shadow_config.ini).
    #[arg(long, env = "AUTOTEST_CONFIG_DIR")]
    config_dir: Option<PathBuf>,
}

impl DbLocation {
    fn resolve(&self) -> anyhow::Result<store::DbUrl> {
        let config = match &self.config_dir {
            Some(dir) => Some(GlobalConfig::load(
                dir.join("global_config.ini"),
                Some(&dir.join("shadow_config.ini")),
            )?),
            None => None,
        };
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
