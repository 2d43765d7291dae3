//! `autotest run`: starts the Python runtime on a control file, then summarises its status log.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use clap::Args;

/// Arguments of `autotest run`.
#[derive(Args, Debug)]
#[command(after_help = "\
Exit status:
  0      every test passed
  1      a test did not pass, or the job could not start (the error says why)
  2      the control file was refused (nothing ran), or bad usage
  3      the autotest Python package is not importable: run ./dev.sh setup
  5      the job rebooted the machine: resume it with --continue
  128+N  the runner was killed by signal N

-v also shows tests' output on the terminal as well as in their debug/ files.")]
pub struct RunArgs {
    /// The client control file.
    control: PathBuf,
    /// Results directory.
    #[arg(long, default_value = "results/default")]
    results: PathBuf,
    /// Tag (label) of the job.
    #[arg(long)]
    tag: Option<String>,
    /// Directory of test modules, searched before the built-in tests (repeatable).
    #[arg(long = "tests-dir")]
    tests_dir: Vec<PathBuf>,
    /// Arguments given to the control file as `args` (split on whitespace).
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    args: String,
    /// Resume the job whose state file in the results directory has steps left.
    #[arg(long = "continue")]
    cont: bool,
}

/// Runs the `autotest.client.runner` module under the Python the package is installed in.
/// Exits 3 with a clear message when the package cannot be imported.
const BOOTSTRAP: &str = r#"
import sys
try:
    from autotest.client import runner
except ImportError as e:
    sys.stderr.write("autotest: the autotest Python package is not importable by %s (%s): "
                     "run ./dev.sh setup, or pip install the wheel built from autotest-py\n"
                     % (sys.executable, e))
    sys.exit(3)
sys.exit(runner.main(sys.argv[1:]))
"#;

/// The Python interpreter to use: `$AUTOTEST_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("AUTOTEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

pub fn run(a: RunArgs) -> anyhow::Result<i32> {
    // Before anything starts: a FIFO would hang the runner, a device would never end.
    let meta = std::fs::metadata(&a.control)
        .with_context(|| format!("cannot read control file {}", a.control.display()))?;
    if !meta.is_file() {
        anyhow::bail!(
            "control file {} is a {}, not a regular file: give the path of a control file",
            a.control.display(),
            autotest_core::status::file_kind(&meta.file_type())
        );
    }
    let py = python();
    let mut cmd = Command::new(&py);
    cmd.arg("-c").arg(BOOTSTRAP);
    cmd.arg("--results").arg(&a.results);
    if let Some(t) = &a.tag {
        cmd.arg("--tag").arg(t);
    }
    for d in &a.tests_dir {
        cmd.arg("--tests-dir").arg(d);
    }
    cmd.arg(format!("--args={}", a.args));
    if a.cont {
        cmd.arg("--continue");
    }
    // The global -v (`autotest run --verbose` as before) shows tests' output.
    if super::verbosity().verbose > 0 {
        cmd.arg("--verbose");
    }
    cmd.arg("--").arg(&a.control);
    tracing::debug!(?cmd, "starting the client runtime");
    let status = cmd.status().with_context(|| {
        format!("cannot start {py} (set AUTOTEST_PYTHON to another interpreter)")
    })?;
    let code = match status.code() {
        Some(c) => c,
        None => {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }
    };
    if code == 0 || code == 1 || code == 5 {
        let log = autotest_core::JobResults::new(&a.results).client_status();
        if log.exists() {
            super::status::print_summary(&log)?;
        }
    }
    Ok(code)
}
