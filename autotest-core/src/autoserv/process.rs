//! autoserv as a process: everything `autotest autoserv` does around one job, so that any
//! program (the CLI, a drone agent, a test) runs a job with the same contract.
//!
//! The contract the queue monitor and the scheduler rely on: the process is its own process
//! group (the whole job can be signalled at once); `.autoserv_execute` gets the pid first and the
//! exit status and failed-test count last (FORMATS §2); `debug/autoserv.cmd` holds the command
//! line; SIGTERM or SIGINT aborts the job (its clients stopped, their groups closed with ABORT)
//! and the pidfile then records the job as ended by SIGTERM, as a killed legacy autoserv was.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{
    AutoservError, AutoservOptions, CommandConsole, Console, HostTask, JobOutcome, MachineOutcome,
    ServerOutcome, run_client_job, run_server_job,
};
use crate::config::GlobalConfig;
use crate::pidfile::ProcessExit;
use crate::results::JobResults;
use crate::transport::{ExitOutcome, LocalTransportFactory, TransportFactory, quote_argv};

/// Exit code of an aborted job (128 + SIGTERM).
pub const ABORTED_EXIT: i32 = 143;

/// One autoserv run, as legacy autoserv's flags describe it.
#[derive(Debug, Clone, Default)]
pub struct AutoservRequest {
    /// Machines (`-m`, `[user@]host[:port]`; `localhost` runs without SSH).
    pub machines: Vec<String>,
    /// A file listing more machines, one per line (`-M`).
    pub machines_file: Option<PathBuf>,
    /// The job's results directory (`-r`).
    pub results: PathBuf,
    /// A client control file (`-c`); otherwise a server control file.
    pub client: bool,
    /// The control file.
    pub control: PathBuf,
    /// Arguments given to the control file as `args`.
    pub args: String,
    /// A conmux registry giving every machine its console `<registry>/<host>` (`--conmux`).
    pub conmux: Option<String>,
    /// Directory of `global_config.ini` and `shadow_config.ini`.
    pub config_dir: Option<PathBuf>,
    /// The client runtime to install (default: the `autotest` package `python` imports).
    pub client_package: Option<PathBuf>,
    /// The Python interpreter (server side, and on the machines).
    pub python: String,
    /// Record the host keys of machines not yet known (default: refuse them).
    pub ssh_accept_new: bool,
    /// A kernel.org-layout mirror directory (overrides `[AUTOSERV] kernel_mirror_dir`).
    pub kernel_mirror: Option<PathBuf>,
    /// The command line, written to `debug/autoserv.cmd` when that file is not there yet.
    pub command_line: Vec<String>,
    /// A host-protection mode (`--verify`, `--cleanup`, `--repair`) instead of a control file.
    pub host_task: Option<HostTask>,
}

/// How autoserv reaches machines and their consoles. Core's own, [`LocalMachineAccess`], knows
/// only `localhost` and console commands; autotest-server's adds SSH and conmux.
pub trait MachineAccess: Send + Sync {
    /// The transports for the job's machines, from the config when there is one.
    fn transports(
        &self,
        config: Option<&GlobalConfig>,
        accept_new_host_keys: bool,
    ) -> Result<Arc<dyn TransportFactory>, AutoservError>;

    /// The consoles of the conmux registry `registry`.
    fn conmux_consoles(&self, registry: &str) -> Result<Arc<dyn Console>, AutoservError>;
}

/// `localhost` only, no conmux.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalMachineAccess;

impl MachineAccess for LocalMachineAccess {
    fn transports(
        &self,
        _config: Option<&GlobalConfig>,
        _accept_new: bool,
    ) -> Result<Arc<dyn TransportFactory>, AutoservError> {
        Ok(Arc::new(LocalTransportFactory))
    }

    fn conmux_consoles(&self, registry: &str) -> Result<Arc<dyn Console>, AutoservError> {
        Err(AutoservError::Usage(format!(
            "--conmux {registry}: this program cannot reach conmux consoles (run it through autotest-server's machine access)"
        )))
    }
}

/// How the process ends, and what a front end may show.
#[derive(Debug)]
pub struct AutoservExit {
    /// The process exit code: 0 all machines completed, 1 otherwise, [`ABORTED_EXIT`] aborted;
    /// a server job's own exit code.
    pub code: i32,
    /// Tests that did not pass (as in the pidfile).
    pub failed_tests: u32,
    /// One line per machine (or one for a server job) saying how it ended.
    pub report: Vec<String>,
    /// Why the job could not be run at all.
    pub error: Option<AutoservError>,
}

/// Runs one job as this process's work: its own process group, the pidfile life cycle,
/// `debug/autoserv.cmd`, SIGTERM/SIGINT as an abort, the exit code. Blocks; builds its own
/// tokio runtime (call it from a plain thread, not from inside a runtime).
pub fn run_autoserv_process(req: &AutoservRequest, access: &dyn MachineAccess) -> AutoservExit {
    // SAFETY: setpgid(0, 0) only changes this process's group; no memory is involved.
    unsafe { libc::setpgid(0, 0) };
    let failed = |error: AutoservError| AutoservExit {
        code: 1,
        failed_tests: 0,
        report: Vec::new(),
        error: Some(error),
    };
    let results = JobResults::new(&req.results);
    if let Err(e) = std::fs::create_dir_all(results.root()) {
        return failed(AutoservError::io(
            results.root(),
            format!("cannot create the results directory: {e}"),
        ));
    }
    let pidfile = results.autoserv_pidfile();
    if let Err(e) = pidfile.write_started(std::process::id()) {
        return failed(e.into());
    }
    if let Err(e) = write_command_line(&results, &req.command_line) {
        tracing::warn!(error = %e, "cannot record the command line");
    }
    let mut exit = match run_job(req, access) {
        Ok(e) => e,
        Err(e) => failed(e),
    };
    let status = if exit.code == ABORTED_EXIT {
        ProcessExit::Signal(libc::SIGTERM)
    } else {
        ProcessExit::Code(exit.code)
    };
    if let Err(e) = pidfile.write_finished(status, exit.failed_tests) {
        exit.error.get_or_insert(e.into());
        exit.code = 1;
    }
    exit
}

fn write_command_line(results: &JobResults, argv: &[String]) -> std::io::Result<()> {
    let cmd = results.autoserv_cmd();
    if cmd.exists() || argv.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(results.debug_dir())?;
    std::fs::write(&cmd, quote_argv(argv) + "\n")
}

/// The directory of the `autotest` package that `python` imports.
fn installed_client_package(python: &str) -> Result<PathBuf, AutoservError> {
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import autotest, os; print(os.path.dirname(os.path.abspath(autotest.__file__)))",
        ])
        .output()
        .map_err(|e| {
            AutoservError::Usage(format!(
                "cannot run {python} to find the client runtime: {e}"
            ))
        })?;
    if !out.status.success() {
        return Err(AutoservError::Usage(format!(
            "the autotest Python package is not importable by {python}: run ./dev.sh setup or pass --client-package"
        )));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The job's machines: `-m` and the lines of `-M`, de-duplicated and sorted.
fn machines(req: &AutoservRequest) -> Result<Vec<String>, AutoservError> {
    let mut all: Vec<String> = req.machines.iter().map(|m| m.trim().to_owned()).collect();
    if let Some(file) = &req.machines_file {
        all.extend(crate::machines::read_machines(file)?);
    }
    Ok(crate::machines::unique_sorted_machines(
        all.into_iter().filter(|m| !m.is_empty()),
    ))
}

/// `global_config.ini` to options: `[AUTOSERV]` autodirs and kernel mirror, `[HOSTS]` reboot
/// timeouts and `hardreset_command`.
fn apply_config(opts: &mut AutoservOptions, config: &GlobalConfig) -> Result<(), AutoservError> {
    let autoserv = config.autoserv()?;
    opts.autodir_paths = autoserv.client_autodir_paths;
    opts.kernel_mirror_dir = autoserv.kernel_mirror_dir.map(PathBuf::from);
    let hosts = config.hosts()?;
    opts.wait_down = Duration::from_secs(hosts.wait_down_reboot_timeout);
    opts.wait_up = Duration::from_secs(hosts.default_reboot_timeout);
    // `[HOSTS] hardreset_command`: argv with `{machine}`, run when a machine does not come
    // back from a reboot (a PDU script, or `conmux-attach <registry>/{machine} hardreset`).
    if let Some(cmd) = config
        .get_str("HOSTS", "hardreset_command")?
        .filter(|c| !c.trim().is_empty())
    {
        opts.console = Some(CommandConsole::shared(
            cmd.split_whitespace().map(str::to_owned).collect(),
        ));
    }
    Ok(())
}

enum Ran {
    Host(super::HostTaskOutcome),
    Client(JobOutcome),
    Server(ServerOutcome),
}

fn run_job(
    req: &AutoservRequest,
    access: &dyn MachineAccess,
) -> Result<AutoservExit, AutoservError> {
    let python = if req.python.is_empty() {
        "python3".to_owned()
    } else {
        req.python.clone()
    };
    // A host task installs nothing: no client runtime is needed.
    let package = match (&req.client_package, req.host_task) {
        (Some(p), _) => p.clone(),
        (None, Some(_)) => PathBuf::new(),
        (None, None) => installed_client_package(&python)?,
    };
    let mut opts = AutoservOptions::new(
        machines(req)?,
        req.results.clone(),
        req.control.clone(),
        package,
    );
    opts.python = python;
    let config = match &req.config_dir {
        Some(dir) => Some(GlobalConfig::load(
            dir.join("global_config.ini"),
            Some(&dir.join("shadow_config.ini")),
        )?),
        None => None,
    };
    if let Some(config) = &config {
        apply_config(&mut opts, config)?;
    }
    // Legacy `[SERVER] gb_diskspace_required`: the free space a verify wants in the autodir.
    let min_free_gb = match &config {
        Some(c) => c
            .get_float("SERVER", "gb_diskspace_required")?
            .unwrap_or(super::DEFAULT_MIN_FREE_GB),
        None => super::DEFAULT_MIN_FREE_GB,
    };
    let factory = access.transports(config.as_ref(), req.ssh_accept_new)?;
    if let Some(dir) = &req.kernel_mirror {
        opts.kernel_mirror_dir = Some(dir.clone());
    }
    // A conmux registry gives every machine its console (logged into the results, and its
    // `hardreset` command); it takes precedence over a hardreset command.
    if let Some(registry) = req
        .conmux
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        opts.console = Some(access.conmux_consoles(registry)?);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| AutoservError::Usage(format!("cannot start the async runtime: {e}")))?;
    let (abort_tx, abort_rx) = tokio::sync::watch::channel(None);
    let ran = rt.block_on(async {
        // SIGTERM/SIGINT: stop the clients on every machine, close their logs with ABORT.
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            let _ = abort_tx.send(Some(format!("Job aborted: autoserv received {name}")));
        });
        if let Some(task) = req.host_task {
            // An abort ends the task where it is (the scheduler cleans the host after).
            let mut abort_rx = abort_rx;
            tokio::select! {
                r = super::run_host_task(task, &opts, factory, min_free_gb) => r.map(Ran::Host),
                _ = abort_rx.wait_for(Option::is_some) => Ok(Ran::Host(super::HostTaskOutcome {
                    ok: false,
                    reason: format!("{} aborted", task.name()),
                })),
            }
        } else if req.client {
            run_client_job(&opts, factory, abort_rx)
                .await
                .map(Ran::Client)
        } else {
            run_server_job(&opts, factory, abort_rx, &req.args)
                .await
                .map(Ran::Server)
        }
    });
    rt.shutdown_background();
    Ok(match ran? {
        Ran::Host(o) => AutoservExit {
            code: if o.ok { 0 } else { 1 },
            failed_tests: 0,
            report: vec![format!(
                "{}: {}: {}",
                opts.machines.join(","),
                req.host_task.map(HostTask::name).unwrap_or_default(),
                o.reason
            )],
            error: None,
        },
        Ran::Server(o) => AutoservExit {
            code: if o.aborted {
                ABORTED_EXIT
            } else {
                match o.exit {
                    ExitOutcome::Code(c) => c,
                    _ => 1,
                }
            },
            failed_tests: o.failed_tests,
            report: vec![format!(
                "server job: {} (failed tests: {})",
                o.exit, o.failed_tests
            )],
            error: None,
        },
        Ran::Client(o) => {
            let report = o
                .machines
                .iter()
                .map(|(m, o)| match o {
                    MachineOutcome::Completed { reboots } => {
                        format!("{m}: completed ({reboots} reboot(s))")
                    }
                    MachineOutcome::Failed { reason } => format!("{m}: failed: {reason}"),
                    MachineOutcome::Lost { reason } => format!("{m}: lost: {reason}"),
                    MachineOutcome::Aborted { reason } => format!("{m}: aborted: {reason}"),
                })
                .collect();
            let code = if o
                .machines
                .iter()
                .any(|(_, o)| matches!(o, MachineOutcome::Aborted { .. }))
            {
                ABORTED_EXIT
            } else if o.all_completed() {
                0
            } else {
                1
            };
            AutoservExit {
                code,
                failed_tests: o.failed_tests,
                report,
                error: None,
            }
        }
    })
}
