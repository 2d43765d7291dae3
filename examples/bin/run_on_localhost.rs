//! Runs one client control file on `localhost` through the library, printing its own progress:
//! each status line as autoserv writes it, then each machine's outcome.
//!
//! ```text
//! run-on-localhost <control file> <results dir> [<autodir>]
//! ```
//!
//! This is what `autotest autoserv -m localhost -c` does, minus its pidfile and signals: build
//! the job's options, hand `run_client_job` a transport factory (here only local machines), and
//! wait. The client runtime installed on the machine is the `autotest` Python package that
//! `python3` imports; `<autodir>` is where it is installed (default: the first usable of
//! `/usr/local/autotest` and `/home/autotest`, as in `global_config.ini`).
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use autotest_core::autoserv::{AutoservOptions, MachineOutcome, run_client_job};
use autotest_core::status::StatusLog;
use autotest_core::transport::LocalTransportFactory;
use autotest_examples::FollowFile;

fn main() -> anyhow::Result<ExitCode> {
    // Absolute paths: the client runs in its autodir, not in this program's directory.
    let args: Vec<PathBuf> = std::env::args_os()
        .skip(1)
        .map(|a| {
            std::path::absolute(&a).with_context(|| format!("resolve {}", a.to_string_lossy()))
        })
        .collect::<anyhow::Result<_>>()?;
    let (control, results, autodir) = match args.as_slice() {
        [c, r] => (c.clone(), r.clone(), None),
        [c, r, a] => (c.clone(), r.clone(), Some(a.clone())),
        _ => bail!("usage: run-on-localhost <control file> <results dir> [<autodir>]"),
    };
    if !control.is_file() {
        bail!(
            "control file {} does not exist: give the path of a client control file",
            control.display()
        );
    }

    let mut opts = AutoservOptions::new(
        vec!["localhost".into()],
        results.clone(),
        control,
        client_package()?,
    );
    if let Some(autodir) = autodir {
        opts.autodir_paths = vec![autodir.to_string_lossy().into_owned()];
    }

    let rt = tokio::runtime::Runtime::new().context("start the tokio runtime")?;
    let outcome = rt.block_on(async {
        // Nobody aborts this job; a front end would send `Some(reason)` on SIGTERM.
        let (_abort, abort_rx) = tokio::sync::watch::channel(None);
        let job = run_client_job(&opts, Arc::new(LocalTransportFactory), abort_rx);
        tokio::pin!(job);

        // One machine: its status log is `<results>/status.log` (several: `<results>/<machine>/`).
        let mut status = FollowFile::new(results.join("status.log"));
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let outcome = loop {
            tokio::select! {
                outcome = &mut job => break outcome,
                _ = tick.tick() => print_status_lines(&mut status),
            }
        };
        print_status_lines(&mut status);
        outcome
    })?;

    for (machine, result) in &outcome.machines {
        match result {
            MachineOutcome::Completed { reboots } => {
                println!("{machine}: completed ({reboots} reboot(s))")
            }
            MachineOutcome::Failed { reason } => println!("{machine}: failed: {reason}"),
            MachineOutcome::Aborted { reason } => println!("{machine}: aborted: {reason}"),
            MachineOutcome::Lost { reason } => println!("{machine}: lost: {reason}"),
        }
    }
    println!(
        "{} test(s) not passed; results in {}",
        outcome.failed_tests,
        results.display()
    );
    Ok(if outcome.all_completed() && outcome.failed_tests == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints the status lines written since the last call, indented by their nesting.
fn print_status_lines(status: &mut FollowFile) {
    let lines = match status.new_lines() {
        Ok(lines) => lines,
        Err(e) => {
            println!("cannot read {}: {e}", status.path().display());
            return;
        }
    };
    for line in lines {
        // Each line is parsed on its own with the core's parser; the depth is its leading tabs.
        // Continuation lines of a multi-line message parse to no entry and are skipped.
        let depth = line.chars().take_while(|&c| c == '\t').count();
        let Some(parsed) = StatusLog::parse(&line).entries.into_iter().next() else {
            continue;
        };
        let e = parsed.entry;
        let what = e.operation.as_deref().unwrap_or("----");
        let text = format!(
            "status: {}{} {what} {}",
            "  ".repeat(depth),
            e.kind,
            e.message
        );
        println!("{}", text.trim_end());
    }
}

/// The directory of the `autotest` package that `python3` imports (the client runtime).
fn client_package() -> anyhow::Result<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import autotest, os; print(os.path.dirname(os.path.abspath(autotest.__file__)))",
        ])
        .output()
        .context("run python3 to find the autotest client package")?;
    if !out.status.success() {
        bail!(
            "python3 cannot import the autotest package ({}): run ./dev.sh setup, or activate the venv it is installed in",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}
