//! autoserv: one job on its machines (FORMATS §1, DESIGN "How a job flows").
//!
//! For a client control file, every machine at the same time: install the client runtime into
//! the machine's autodir, copy the control file, run it, stream its status lines into the
//! server's status log, follow its reboots, and copy its results back.

mod client_job;
mod console;
mod console_log;
mod error;
mod host_task;
mod install;
mod kernel_files;
mod launcher;
mod machine_lock;
mod process;
mod reboot;
mod rpc;
mod server_job;
mod status_sink;
mod status_stream;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use client_job::MachineOutcome;
pub use console::{CommandConsole, Console, ConsoleStream, host_part as machine_host};
pub use error::AutoservError;
pub use host_task::{DEFAULT_MIN_FREE_GB, HostTask, HostTaskOutcome, run_host_task};
pub use install::client_build_id;
pub use launcher::{
    AutoservLauncher, LaunchError, LaunchRequest, LocalProcessLauncher, RunningAutoserv,
};
pub use process::{
    ABORTED_EXIT, AutoservExit, AutoservRequest, LocalMachineAccess, MachineAccess,
    run_autoserv_process,
};
pub use server_job::{ServerOutcome, run_server_job};

use crate::status::{StatusLog, summarize};
use crate::transport::{TransportError, TransportFactory};

/// Tells running jobs to stop: `Some(reason)` once an abort is asked for.
pub type AbortSignal = tokio::sync::watch::Receiver<Option<String>>;

/// Prefix of status lines in the client runtime's stdout when run by autoserv.
pub const STATUS_PREFIX: &str = "AUTOTEST_STATUS:";

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
    /// A server control file's `Autotest.run(..., tag=)`: the client's control file and results
    /// on the machine are `<autodir>/control.<tag>` and `<autodir>/results/<tag>`, so several
    /// clients can run on one machine at once (None: `control` and `results/default`).
    pub client_tag: Option<String>,
}

impl AutoservOptions {
    /// Options with the FORMATS §9 defaults for everything but machines, results and control.
    pub fn new(
        machines: Vec<String>,
        resultsdir: PathBuf,
        control: PathBuf,
        client_package: PathBuf,
    ) -> Self {
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
            client_tag: None,
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
        self.machines
            .iter()
            .all(|(_, o)| matches!(o, MachineOutcome::Completed { .. }))
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
    std::fs::create_dir_all(crate::results::JobResults::new(&opts.resultsdir).debug_dir())
        .map_err(|e| AutoservError::io(&opts.resultsdir, e))?;
    let build = install::client_build_id(&opts.client_package)
        .map_err(|e| AutoservError::io(&opts.client_package, e))?;
    let several = opts.machines.len() > 1;
    let kernel_files = Arc::new(match &opts.kernel_mirror_dir {
        Some(mirror) => kernel_files::files_for_control(&opts.control, mirror),
        None => (Vec::new(), Vec::new()),
    });
    // One job at a time on a machine: every machine is held for the whole job.
    let mut held = machine_lock::hold_machines(opts, factory.as_ref(), &abort).await;
    let mut tasks = Vec::new();
    for m in &opts.machines {
        let dir = if several {
            opts.resultsdir.join(m)
        } else {
            opts.resultsdir.clone()
        };
        let opts = opts.clone();
        let m = m.clone();
        let build = build.clone();
        let abort = abort.clone();
        let kernel_files = Arc::clone(&kernel_files);
        let reached = held.machines.remove(&m);
        tasks.push(tokio::spawn(async move {
            use machine_lock::NotHeld;
            let outcome = match reached {
                Some(Ok(t)) => {
                    client_job::run_on_machine(&opts, t, &dir, &build, abort, 0, &kernel_files)
                        .await
                }
                Some(Err(NotHeld::Unreachable(e))) => client_job::unreachable(&dir, &e),
                Some(Err(NotHeld::Lost(why))) => client_job::lost(&dir, &why),
                Some(Err(NotHeld::Aborted(why))) => client_job::aborted(&dir, &why),
                None => client_job::lost(&dir, "the machine was not held for the job"),
            };
            (m, dir, outcome)
        }));
    }
    let mut machines = Vec::new();
    let mut failed = 0u32;
    for t in tasks {
        let (m, dir, outcome) = t
            .await
            .map_err(|e| AutoservError::Usage(format!("machine task panicked: {e}")))?;
        if let Ok(log) = StatusLog::parse_file(crate::results::JobResults::new(&dir).status_log()) {
            failed += summarize(&log).failed() as u32;
        }
        machines.push((m, outcome));
    }
    held.release().await;
    Ok(JobOutcome {
        machines,
        failed_tests: failed,
    })
}

pub(crate) fn transport_reason(e: &TransportError) -> String {
    e.to_string()
}
