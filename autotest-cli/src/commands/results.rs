//! `autotest results`: the parsed tests of the lab database (what `autotest parse` stored) with
//! their perf keyvals. The query is autotest-core's (`Store::test_results`).

use autotest_core::store::{self, ResultFilter, Store};
use clap::Args;

use super::db::DbLocation;
use crate::output::{Table, print_json};

/// Arguments of `autotest results`.
#[derive(Args, Debug)]
#[command(after_help = "\
Exit status:
  0  printed (also when nothing matches)
  1  failed (the message names the database and the fix)
  2  bad usage")]
pub struct ResultsArgs {
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

pub fn run(a: ResultsArgs) -> anyhow::Result<i32> {
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
