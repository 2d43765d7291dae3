//! `autotest status`: one line per test of a status log, then the job's status.

use std::path::{Path, PathBuf};

use autotest_core::status::summarize_file;
use autotest_core::visible;
use clap::Args;

/// Arguments of `autotest status`.
#[derive(Args, Debug)]
#[command(after_help = "\
Exit status:
  0  every test passed
  1  a test did not pass, or the log could not be read (the error says why)
  2  bad usage

--json prints one object (autotest_core::status::JobSummary):
  {\"tests\": [{\"name\", \"subdir\", \"status\", \"reason\", \"started\", \"finished\", \"kernel\",
  \"line\"}], \"status\", \"kernel\", \"problems\": [{\"line\", \"text\", \"reason\"}], \"open_groups\"}
  (times are epoch seconds or null; status is a status code such as GOOD or FAIL)")]
pub struct StatusArgs {
    /// A status log (`status` or `status.log`), or a results directory holding one.
    path: PathBuf,
    /// Print the summary as one JSON object on stdout (shape below) instead of lines.
    #[arg(long)]
    json: bool,
}

pub fn run(a: StatusArgs) -> anyhow::Result<i32> {
    let mut path = a.path;
    if path.is_dir() {
        let log = autotest_core::JobResults::new(&path).any_status_log();
        anyhow::ensure!(
            log.exists(),
            "{} holds no status.log or status file",
            path.display()
        );
        path = log;
    }
    let failed = if a.json {
        let summary = summarize_file(&path)?;
        crate::output::print_json(&summary)?;
        summary.failed()
    } else {
        print_summary(&path)?
    };
    Ok(if failed > 0 { 1 } else { 0 })
}

/// Prints the summary of a status log, read as a stream (memory does not grow with the log);
/// returns the number of tests that did not pass. Names and reasons come from the tests, so
/// their control characters are shown escaped.
pub fn print_summary(path: &Path) -> anyhow::Result<usize> {
    let summary = summarize_file(path)?;
    let shown = path.display().to_string();
    let shown = visible(&shown);
    for p in &summary.problems {
        eprintln!(
            "{shown}:{}: skipped a malformed line: {}",
            p.line,
            visible(&p.reason.to_string())
        );
    }
    if summary.tests.is_empty() {
        println!("no tests in {shown}");
    }
    let width = summary
        .tests
        .iter()
        .map(|t| visible(&t.name).chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    for t in &summary.tests {
        let reason = t.reason.lines().next().unwrap_or("");
        println!(
            "{:<width$}  {:<7}  {}",
            visible(&t.name),
            t.status.as_str(),
            visible(reason)
        );
    }
    let failed = summary.failed();
    println!(
        "job {}: {} test(s), {} not passed; status log {shown}",
        summary.status,
        summary.tests.len(),
        failed,
    );
    Ok(failed)
}
