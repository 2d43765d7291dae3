//! Summarizes a status log: each test's name, status and reason, then the lines that could not
//! be read and the groups left open.
//!
//! `cargo run -p autotest-examples --example status_summary -- <status-log>`
#![allow(clippy::print_stdout)]

use anyhow::bail;
use autotest_core::status::{StatusLog, summarize};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        bail!("usage: status_summary <status-log>");
    };
    let log = StatusLog::parse_file(&path)?;
    let summary = summarize(&log);

    for test in &summary.tests {
        let kernel = test.kernel.as_deref().unwrap_or("-");
        println!(
            "{:<8} {:<24} kernel={kernel} {}",
            test.status.as_str(),
            test.name,
            test.reason
        );
    }
    println!(
        "job: {} ({} tests, {} not passed)",
        summary.status,
        summary.tests.len(),
        summary.failed()
    );
    for problem in &summary.problems {
        println!(
            "problem: {}:{}: {}: {:?}",
            path.to_string_lossy(),
            problem.line,
            problem.reason,
            problem.text
        );
    }
    let ends = log.synthesize_aborts(None);
    if !ends.is_empty() {
        println!("{} group(s) left open; closing lines would be:", ends.len());
        for end in ends {
            print!("{}", end.render());
        }
    }
    Ok(())
}
