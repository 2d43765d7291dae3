//! `autotest autoserv`: legacy autoserv's flags onto `autotest_server::run_autoserv`.

use std::path::PathBuf;

use autotest_core::autoserv::{AutoservRequest, HostTask};
use clap::Args;

/// Arguments of `autotest autoserv` (legacy autoserv's flags).
#[derive(Args, Debug)]
#[command(after_help = "\
Exit status:
  0    the job completed on every machine (--verify/--cleanup/--repair: the host passed)
  1    it did not complete on some machine, or could not start (the error says why);
       --verify/--cleanup/--repair: the host failed (status.log says which check)
  2    bad usage
  143  aborted by SIGTERM or SIGINT
  A server control file's job exits with that job's own code.")]
pub struct AutoservArgs {
    /// Machines, comma separated (`[user@]host[:port]`; `localhost` runs without SSH).
    #[arg(
        short = 'm',
        long = "machines",
        value_delimiter = ',',
        required_unless_present = "machines_file"
    )]
    machines: Vec<String>,
    /// A file of machines, one per line (for lists too long for a command line).
    #[arg(short = 'M', long = "machines-file", value_name = "FILE")]
    machines_file: Option<PathBuf>,
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
    /// Verify the one machine of -m (it answers, /tmp and an autodir are writable, the autodir
    /// has `[SERVER] gb_diskspace_required` GB free, 20 by default) instead of running a job.
    #[arg(long, group = "host_task")]
    verify: bool,
    /// Reboot the one machine of -m and wait for it to come back (`localhost` is not rebooted).
    #[arg(long, group = "host_task")]
    cleanup: bool,
    /// Repair the one machine of -m: a hard reset through its console (--conmux or
    /// `[HOSTS] hardreset_command`) or else a reboot, then a verify.
    #[arg(long, group = "host_task")]
    repair: bool,
    /// The control file (not with --verify, --cleanup or --repair).
    #[arg(required_unless_present_any = ["verify", "cleanup", "repair"], conflicts_with = "host_task")]
    control: Option<PathBuf>,
}

pub fn run(a: AutoservArgs) -> anyhow::Result<i32> {
    let host_task = match (a.verify, a.cleanup, a.repair) {
        (true, _, _) => Some(HostTask::Verify),
        (_, true, _) => Some(HostTask::Cleanup),
        (_, _, true) => Some(HostTask::Repair),
        _ => None,
    };
    let req = AutoservRequest {
        machines: a.machines,
        machines_file: a.machines_file,
        results: a.results,
        client: a.client,
        control: a.control.unwrap_or_default(),
        args: a.args,
        conmux: a.conmux,
        config_dir: a.config_dir,
        client_package: a.client_package,
        python: crate::commands::run::python(),
        ssh_accept_new: a.ssh_accept_new,
        kernel_mirror: a.kernel_mirror,
        command_line: std::env::args().collect(),
        host_task,
    };
    let exit = autotest_server::run_autoserv(&req);
    // Reasons quote test output and file names: shown with control characters escaped.
    for line in &exit.report {
        println!("{}", autotest_core::visible(line));
    }
    if let Some(e) = exit.error {
        eprintln!("autoserv: {}", super::report(&anyhow::Error::new(e)));
    }
    Ok(exit.code)
}
