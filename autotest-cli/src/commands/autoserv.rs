//! `autotest autoserv`: runs one job on its machines; writes `.autoserv_execute`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use autotest_core::{
    AutoservOptions, GlobalConfig, MachineOutcome, Pidfile, ProcessExit,
    ExitOutcome, run_client_job, run_server_job,
    unique_sorted_machines,
};
use clap::Args;

/// Exit code of an aborted job (128 + SIGTERM).
const ABORTED: i32 = 143;

/// Arguments of `autotest autoserv` (legacy autoserv's flags).
#[derive(Args, Debug)]
pub struct AutoservArgs {
    /// Machines, comma separated (`[user@]host[:port]`; `localhost` runs without SSH).
    #[arg(short = 'm', long = "machines", value_delimiter = ',', required = true)]
    machines: Vec<String>,
    /// The job's results directory.
    #[arg(short = 'r', long = "results")]
    results: PathBuf,
    /// The control file is a client control file (without -c it is a server control file).
    #[arg(short = 'c', long = "client")]
    client: bool,
    /// Console server (conmux) for the machines' consoles.
    #[arg(long)]
    conmux: Option<String>,
    /// Directory holding global_config.ini (and shadow_config.ini).
    #[arg(long, env = "AUTOTEST_CONFIG_DIR")]
    config_dir: Option<PathBuf>,
    /// The client runtime to install on the machines (default: the installed Python package).
    #[arg(long, env = "AUTOTEST_CLIENT_PACKAGE")]
    client_package: Option<PathBuf>,
    /// Record the host keys of machines not yet in known_hosts (default: refuse them).
    #[arg(long)]
    ssh_accept_new: bool,
    /// A kernel.org-layout mirror directory: the kernel sources a client control file names
    /// (`kernel = '6.1.5'`, `job.kernel('...')`, `patches = [...]`) are copied from it into the
    /// machine's `<autodir>/kernels/` (overrides `[AUTOSERV] kernel_mirror_dir`).
    #[arg(long, value_name = "DIR")]
    kernel_mirror: Option<PathBuf>,
    /// Arguments given to the control file as `args` (split on whitespace).
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    args: String,
    /// The control file.
    control: PathBuf,
}

enum Ran {
    Client(autotest_core::JobOutcome),
    Server(autotest_core::ServerOutcome),
}

/// The directory of the `autotest` package that `python3` imports.
fn installed_client_package(python: &str) -> anyhow::Result<PathBuf> {
    let out = std::process::Command::new(python)
        .args(["-c", "import autotest, os; print(os.path.dirname(os.path.abspath(autotest.__file__)))"])
        .output()
        .with_context(|| format!("cannot run {python} to find the client runtime"))?;
    anyhow::ensure!(
        out.status.success(),
        "the autotest Python package is not importable by {python}: run ./dev.sh setup or pass --client-package"
    );
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn write_cmd(results: &Path) -> anyhow::Result<()> {
    let cmd = results.join("debug/autoserv.cmd");
    if !cmd.exists() {
        std::fs::create_dir_all(results.join("debug"))?;
        let line = std::env::args().collect::<Vec<_>>();
        std::fs::write(&cmd, autotest_core::quote_argv(&line) + "\n")?;
    }
    Ok(())
}

pub fn run(a: AutoservArgs) -> anyhow::Result<i32> {
    // Its own process group, so the whole job can be signalled at once.
    // SAFETY: setpgid(0, 0) only changes this process's group; no memory is involved.
    unsafe { libc::setpgid(0, 0) };
    std::fs::create_dir_all(&a.results)
        .with_context(|| format!("cannot create the results directory {}", a.results.display()))?;
    let pidfile = Pidfile::autoserv(&a.results);
    pidfile.write_started(std::process::id())?;
    write_cmd(&a.results)?;
    let result = run_job(&a);
    let (code, failed) = match &result {
        Ok((code, failed)) => (*code, *failed),
        Err(e) => {
            eprintln!("autoserv: {}", super::report(e));
            (1, 0)
        }
    };
    // An aborted job is recorded as ended by SIGTERM, as a killed legacy autoserv was.
    let exit = if code == ABORTED { ProcessExit::Signal(libc::SIGTERM) } else { ProcessExit::Code(code) };
    pidfile.write_finished(exit, failed)?;
    Ok(code)
}

fn run_job(a: &AutoservArgs) -> anyhow::Result<(i32, u32)> {
    let python = crate::commands::run::python();
    let package = match &a.client_package {
        Some(p) => p.clone(),
        None => installed_client_package(&python)?,
    };
    let machines = unique_sorted_machines(a.machines.iter().map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()));
    let mut opts = AutoservOptions::new(machines, a.results.clone(), a.control.clone(), package);
    opts.python = python;
    let mut ssh = crate::ssh::SshConfig::default();
    if let Some(dir) = &a.config_dir {
        let config = GlobalConfig::load(dir.join("global_config.ini"), Some(&dir.join("shadow_config.ini")))?;
        let autoserv = config.autoserv()?;
        opts.autodir_paths = autoserv.client_autodir_paths;
        opts.kernel_mirror_dir = autoserv.kernel_mirror_dir.map(PathBuf::from);
        let hosts = config.hosts()?;
        opts.wait_down = Duration::from_secs(hosts.wait_down_reboot_timeout);
        opts.wait_up = Duration::from_secs(hosts.default_reboot_timeout);
        ssh = crate::ssh::SshConfig::from_config(&config)?;
        // `[HOSTS] hardreset_command`: argv with `{machine}`, run when a machine does not come
        // back from a reboot (a PDU script, or `conmux-attach <registry>/{machine} hardreset`).
        if let Some(cmd) = config.get_str("HOSTS", "hardreset_command")?.filter(|c| !c.trim().is_empty()) {
            opts.console = Some(autotest_core::CommandConsole::shared(
                cmd.split_whitespace().map(str::to_owned).collect(),
            ));
        }
    }
    if let Some(dir) = &a.kernel_mirror {
        opts.kernel_mirror_dir = Some(dir.clone());
    }
    // A conmux registry gives every machine its console `<registry>/<host>` (logged into the
    // results, and its `hardreset` command); it takes precedence over a hardreset command.
    if let Some(registry) = a.conmux.as_deref().filter(|c| !c.trim().is_empty()) {
        opts.console = Some(std::sync::Arc::new(crate::conmux_console::ConmuxConsole::new(registry.trim())));
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (abort_tx, abort_rx) = tokio::sync::watch::channel(None);
    let outcome = rt.block_on(async {
        // SIGTERM/SIGINT: stop the clients on every machine, close their logs with ABORT.
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
                return;
            };
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            let _ = abort_tx.send(Some(format!("Job aborted: autoserv received {name}")));
        });
        if a.client {
            run_client_job(&opts, crate::ssh::factory(&ssh, a.ssh_accept_new), abort_rx).await.map(Ran::Client)
        } else {
            run_server_job(&opts, crate::ssh::factory(&ssh, a.ssh_accept_new), abort_rx, &a.args).await.map(Ran::Server)
        }
    })?;
    let outcome = match outcome {
        Ran::Client(o) => o,
        Ran::Server(o) => {
            let code = if o.aborted {
                ABORTED
            } else {
                match o.exit {
                    ExitOutcome::Code(c) => c,
                    _ => 1,
                }
            };
            println!("server job: {} (failed tests: {})", o.exit, o.failed_tests);
            return Ok((code, o.failed_tests));
        }
    };
    for (m, o) in &outcome.machines {
        match o {
            MachineOutcome::Completed { reboots } => println!("{m}: completed ({reboots} reboot(s))"),
            MachineOutcome::Failed { reason } => println!("{m}: failed: {}", autotest_core::visible(reason)),
            MachineOutcome::Lost { reason } => println!("{m}: lost: {}", autotest_core::visible(reason)),
            MachineOutcome::Aborted { reason } => println!("{m}: aborted: {}", autotest_core::visible(reason)),
        }
    }
    if outcome.machines.iter().any(|(_, o)| matches!(o, MachineOutcome::Aborted { .. })) {
        return Ok((ABORTED, outcome.failed_tests));
    }
    let code = if outcome.all_completed() { 0 } else { 1 };
    Ok((code, outcome.failed_tests))
}
