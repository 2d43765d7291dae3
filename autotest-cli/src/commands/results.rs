//! `autotest results`: the parsed tests of the lab database (what `autotest parse` stored) with
//! their perf keyvals. The query is autotest-core's (`Store::test_results`). `autotest results
//! export` writes one job's results as JUnit XML or KCIDB JSON, formatted by autotest-core
//! (`store::junit_xml`, `store::kcidb_json`).

use std::path::PathBuf;

use anyhow::Context as _;
use autotest_core::store::{self, ResultFilter, Store};
use clap::{Args, Subcommand, ValueEnum};

use super::db::DbLocation;
use crate::output::{Table, print_json};

/// Arguments of `autotest results`.
#[derive(Args, Debug)]
#[command(after_help = "\
Exit status:
  0  printed (also when nothing matches)
  1  failed (the message names the database and the fix)
  2  bad usage")]
#[command(args_conflicts_with_subcommands = true)]
pub struct ResultsArgs {
    #[command(subcommand)]
    command: Option<ResultsCommand>,
    #[command(flatten)]
    location: DbLocation,
    /// Only the tests of this frontend job (results directory <jobid>-<owner>).
    #[arg(long, value_name = "N")]
    job: Option<i64>,
    /// Only tests of this name.
    #[arg(long, value_name = "TEST")]
    test: Option<String>,
    /// Only tests run on this kernel version.
    #[arg(long, value_name = "KERNEL")]
    kernel: Option<String>,
    /// Only tests with this status (GOOD, FAIL, ERROR, ...).
    #[arg(long, value_name = "STATUS")]
    status: Option<String>,
    /// Only tests run on this machine.
    #[arg(long, value_name = "MACHINE")]
    machine: Option<String>,
    /// Show at most this many tests, newest jobs first; 0 shows all.
    #[arg(long, value_name = "N", default_value_t = store::DEFAULT_LIST_LIMIT)]
    limit: i64,
    /// Print JSON (the store's TestResult list) instead of a table.
    #[arg(long)]
    json: bool,
}

/// What `autotest results` does besides listing.
#[derive(Subcommand, Debug)]
pub enum ResultsCommand {
    /// Write one job's parsed results as JUnit XML or KCIDB JSON.
    Export(ExportArgs),
}

/// The formats of `autotest results export`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    /// JUnit XML: a testsuite per machine, a testcase per test (for CI systems).
    Junit,
    /// KCIDB JSON, schema v4: checkouts and builds per kernel, the tests (the kernel
    /// community's results database).
    Kcidb,
}

/// Arguments of `autotest results export`.
#[derive(Args, Debug)]
#[command(after_help = "\
A job is a job of the lab database: its id is the <jobid> of its results directory
<jobid>-<owner>/ (what `autotest job list` shows), and its results are what `autotest parse`
stored of that directory (one part per machine of a multi-machine job).

Exit status:
  0  written
  1  failed (no such job or nothing parsed of it, the database, or the output file; the
     message says which and the fix)
  2  bad usage")]
pub struct ExportArgs {
    #[command(flatten)]
    location: DbLocation,
    /// The format to write.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// Write to this file instead of stdout (replaced whole, never left half-written).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The job's id in the lab database.
    #[arg(value_name = "JOB")]
    job: i64,
}

fn export(a: ExportArgs) -> anyhow::Result<i32> {
    let url = a.location.resolve()?;
    let job = super::runtime()?.block_on(async {
        let store = Store::open(&url).await?;
        let r = store.job_export(a.job).await;
        store.close().await;
        r
    })?;
    let mut text = match a.format {
        ExportFormat::Junit => store::junit_xml(&job),
        ExportFormat::Kcidb => serde_json::to_string_pretty(&store::kcidb_json(&job))?,
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match &a.output {
        None => crate::output::print_text(&text)?,
        Some(path) => write_atomically(path, &text)?,
    }
    Ok(0)
}

/// Writes beside the file and renames over it, so a reader never sees half a document.
fn write_atomically(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{}: -o needs a file name, not a directory", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, text).with_context(|| {
        format!(
            "cannot write {}: check that its directory exists and is writable",
            tmp.display()
        )
    })?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

pub fn run(a: ResultsArgs) -> anyhow::Result<i32> {
    if let Some(ResultsCommand::Export(e)) = a.command {
        return export(e);
    }
    let filter = ResultFilter {
        job: a.job,
        test: a.test,
        kernel: a.kernel,
        status: a.status,
        machine: a.machine,
        limit: a.limit.max(0),
    };
    let url = a.location.resolve()?;
    let tests = super::runtime()?.block_on(async {
        let store = Store::open(&url).await?;
        let r = store.test_results(&filter).await;
        store.close().await;
        r
    })?;
    if a.json {
        print_json(&tests)?;
        return Ok(0);
    }
    let mut t = Table::new(&[
        "Job", "Test", "Status", "Machine", "Kernel", "Reason", "Perf",
    ]);
    for r in &tests {
        let perf = r
            .perf
            .iter()
            .map(|p| format!("{}[{}]={}", p.attribute, p.iteration, p.value))
            .collect::<Vec<_>>()
            .join(" ");
        t.row([
            r.afe_job_id
                .map_or_else(|| r.job_tag.clone(), |id| id.to_string()),
            r.test.test.clone(),
            r.test.status.clone(),
            r.test.machine.clone(),
            r.test.kernel.clone().unwrap_or_default(),
            r.test.reason.clone(),
            perf,
        ]);
    }
    t.print()?;
    Ok(0)
}
