//! autoserv: one job on its machines (FORMATS §1, DESIGN "How a job flows").
//!
//! For a client control file, every machine at the same time: install the client runtime into
//! the machine's autodir, copy the control file, run it, stream its status lines into the
//! server's status log, follow its reboots, and copy its results back.

mod client_job;
mod console;
mod console_log;
mod install;
mod kernel_files;
mod reboot;
mod rpc;
mod server_job;
mod status_sink;
mod status_stream;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use client_job::MachineOutcome;
pub use console::{CommandConsole, Console, ConsoleStream, host_part as machine_host};
pub use install::client_build_id;
pub use server_job::{ServerOutcome, run_server_job};

use crate::status::{StatusLog, summarize};
use crate::transport::{TransportError, TransportFactory};

/// Tells running jobs to stop: `Some(reason)` once an abort is asked for.
pub type AbortSignal = tokio::sync::watch::Receiver<Option<String>>;

/// Prefix of status lines in the client runtime's stdout when run by autoserv.
pub const STATUS_PREFIX: &str = "AUTOTEST_STATUS:";

/// Errors of autoserv (per machine problems are outcomes, not errors).
#[derive(Debug, thiserror::Error)]
pub enum AutoservError {
    /// A results-side file could not be written.
    #[error("{path}: {reason}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        reason: String,
    },
    /// The job cannot be run as asked.
    #[error("{0}")]
    Usage(String),
}

impl AutoservError {
    pub(crate) fn io(path: &Path, e: impl std::fmt::Display) -> Self {
        AutoservError::Io {
            path: path.to_owned(),
            reason: e.to_string(),
        }
    }
}

/// How to run one job.
#[derive(Debug, Clone)]
pub struct AutoservOptions {
    /// The machines (de-duplicated, in order).
    pub machines: Vec<String>,
    /// The job's results directory on this server.
    pub resultsdir: PathBuf,
    /// The control file.
    pub control: PathBuf,
    /// The local directory of the client runtime (the installed `autotest` Python package).
    pub client_package: PathBuf,
    /// Candidate autodirs on the machines, first usable wins (`[AUTOSERV] client_autodir_paths`).
    pub autodir_paths: Vec<String>,
    /// The Python interpreter on the machines.
    pub python: String,
    /// How long a rebooting machine may take to go down (`[HOSTS] wait_down_reboot_timeout`).
    pub wait_down: Duration,
    /// How long it may take to come back (`[HOSTS] default_reboot_timeout`).
    pub wait_up: Duration,
    /// The command that reboots a machine.
    pub reboot_command: Vec<String>,
    /// Power-cycles a machine that does not come back from a reboot (None: it is lost).
    pub console: Option<Arc<dyn Console>>,
    /// Most reboots one job may ask for (a guard against a control file that reboots forever).
    pub max_reboots: u32,
    /// A kernel.org-layout directory (`--kernel-mirror`, `[AUTOSERV] kernel_mirror_dir`) from
    /// which the kernel sources a client control file names are copied to its machines.
    pub kernel_mirror_dir: Option<PathBuf>,
}

impl AutoservOptions {
    /// Options with the FORMATS §9 defaults for everything but machines, results and control.
    pub fn new(machines: Vec<String>, resultsdir: PathBuf, control: PathBuf, client_package: PathBuf) -> Self {
        AutoservOptions {
            machines,
            resultsdir,
            control,
            client_package,
            autodir_paths: vec!["/usr/local/autotest".into(), "/home/autotest".into()],
            python: "python3".into(),
            wait_down: Duration::from_secs(840),
            wait_up: Duration::from_secs(1800),
            reboot_command: vec!["reboot".into()],
            max_reboots: 20,
            console: None,
            kernel_mirror_dir: None,
        }
    }
}

/// What a job left: per machine outcomes and the failed-test count for the pidfile.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    /// One outcome per machine, in the order given.
    pub machines: Vec<(String, MachineOutcome)>,
    /// Tests that did not pass, over all machines (from the status logs).
    pub failed_tests: u32,
}

impl JobOutcome {
    /// True when every machine's client job completed.
    pub fn all_completed(&self) -> bool {
        self.machines.iter().all(|(_, o)| matches!(o, MachineOutcome::Completed { .. }))
    }
}

/// Runs a client control file on every machine at the same time. One machine's failure never
/// stops the others; each machine's result says why it ended.
pub async fn run_client_job(
    opts: &AutoservOptions,
    factory: Arc<dyn TransportFactory>,
    abort: AbortSignal,
) -> Result<JobOutcome, AutoservError> {
    if opts.machines.is_empty() {
        return Err(AutoservError::Usage(
            "no machines: give -m host[,host...] (or a .machines file in the queue)".into(),
        ));
    }
    std::fs::create_dir_all(opts.resultsdir.join("debug"))
        .map_err(|e| AutoservError::io(&opts.resultsdir, e))?;
    let build = install::client_build_id(&opts.client_package)
        .map_err(|e| AutoservError::io(&opts.client_package, e))?;
    let several = opts.machines.len() > 1;
    let kernel_files = Arc::new(match &opts.kernel_mirror_dir {
        Some(mirror) => kernel_files::files_for_control(&opts.control, mirror),
        None => (Vec::new(), Vec::new()),
    });
    let mut tasks = Vec::new();
    for m in &opts.machines {
        let dir = if several { opts.resultsdir.join(m) } else { opts.resultsdir.clone() };
        let opts = opts.clone();
        let factory = factory.clone();
        let m = m.clone();
        let build = build.clone();
        let abort = abort.clone();
        let kernel_files = Arc::clone(&kernel_files);
        tasks.push(tokio::spawn(async move {
            let outcome = match factory.open(&m) {
                Ok(t) => client_job::run_on_machine(&opts, t, &dir, &build, abort, 0, &kernel_files).await,
                Err(e) => client_job::unreachable(&dir, &e),
            };
            (m, dir, outcome)
        }));
    }
    let mut machines = Vec::new();
    let mut failed = 0u32;
    for t in tasks {
        let (m, dir, outcome) = t.await.map_err(|e| AutoservError::Usage(format!("machine task panicked: {e}")))?;
        if let Ok(log) = StatusLog::parse_file(dir.join("status.log")) {
            failed += summarize(&log).failed() as u32;
        }
        machines.push((m, outcome));
    }
    Ok(JobOutcome {
        machines,
        failed_tests: failed,
    })
}

pub(crate) fn transport_reason(e: &TransportError) -> String {
    e.to_string()
}
