//! `autotest conmux registry|server|start|status` and `autotest conmux-attach`.

use super::{init_logging, runtime};
use std::net::SocketAddr;
use std::path::PathBuf;

use autotest_conmux::supervisor::{self, Supervisor};
use autotest_conmux::{ConsoleConfig, ConsoleServer, Registration, RegistryServer};
use clap::{Args, Subcommand};

/// Arguments of `autotest conmux`.
#[derive(Args, Debug)]
pub struct ConmuxArgs {
    #[command(subcommand)]
    command: ConmuxCommand,
}

const SERVE_EXIT: &str = "\
Exit status:
  0  stopped by SIGTERM or SIGINT
  1  could not start (the error says why)
  2  bad usage";

#[derive(Subcommand, Debug)]
enum ConmuxCommand {
    /// Serve the console registry (LOOKUP/ADD/LIST), persisted in <store>.
    #[command(after_help = SERVE_EXIT)]
    Registry {
        /// TCP port.
        #[arg(long, default_value_t = autotest_conmux::REGISTRY_PORT)]
        port: u16,
        /// Address to bind (loopback unless told otherwise).
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// The store file (`name host:port` lines; created when missing).
        store: PathBuf,
    },
    /// Serve one console described by a .cf file.
    #[command(after_help = "\
Exit status:
  0  stopped by SIGTERM or SIGINT
  1  could not start, or the registry refused the console's name (the error says why)
  2  bad usage")]
    Server {
        /// The console's config file.
        config: PathBuf,
    },
    /// Run a registry and one console server per <name>.cf in a directory, following changes.
    #[command(after_help = SERVE_EXIT)]
    Start {
        /// Registry port.
        #[arg(long, default_value_t = autotest_conmux::REGISTRY_PORT)]
        port: u16,
        /// Address the registry binds.
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Registry store file [default: <config-dir>/registry.store].
        #[arg(long)]
        store: Option<PathBuf>,
        /// Directory of .cf files.
        config_dir: PathBuf,
    },
    /// Show the state of each console run by `autotest conmux start`.
    #[command(after_help = "\
Exit status:
  0  the supervisor is running and so is every console
  1  the supervisor is not running (stale status), a console failed, or the status file
     could not be read
  2  bad usage

--json prints one object (autotest_conmux::supervisor::status::StatusReport):
  {\"pid\", \"alive\", \"registry\", \"updated\", \"consoles\": [{\"name\", \"state\", \"address\",
  \"channel\", \"clients\", \"writer\", \"detail\"}]}")]
    Status {
        /// The directory given to `conmux start`.
        config_dir: PathBuf,
        /// Print the report as one JSON object on stdout (shape below).
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `autotest conmux-attach`.
#[derive(Args, Debug)]
#[command(after_help = "\
Exit status:
  the program's own exit code (1 when it was killed by a signal);
  1  the console could not be reached (the error says why)
  2  bad usage")]
pub struct AttachArgs {
    /// The console: [<registry>/]<name> or host:port.
    console: String,
    /// The program whose stdin/stdout go to the console.
    program: String,
    /// Its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

async fn until_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        r = tokio::signal::ctrl_c() => r?,
    }
    Ok(())
}

pub fn run(a: ConmuxArgs) -> anyhow::Result<i32> {
    init_logging();
    let rt = runtime()?;
    match a.command {
        ConmuxCommand::Registry { port, bind, store } => rt.block_on(async {
            let registry = RegistryServer::start(SocketAddr::new(bind, port), &store).await?;
            tracing::info!(
                "registry on {} (store {})",
                registry.local_addr(),
                store.display()
            );
            until_signal().await?;
            Ok(0)
        }),
        ConmuxCommand::Server { config } => rt.block_on(async {
            let cfg = ConsoleConfig::load(&config)?;
            let server = ConsoleServer::start(cfg).await?;
            tracing::info!("console {} on {}", config.display(), server.local_addr());
            // A refused registration ends the server, as in legacy conmux: nobody could find it.
            let refused = async {
                match server.settled().await {
                    Registration::Refused(why) => why,
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                why = refused => {
                    anyhow::bail!("{}: {why}", config.display())
                }
                r = until_signal() => r?,
            }
            Ok(0)
        }),
        ConmuxCommand::Start {
            port,
            bind,
            store,
            config_dir,
        } => rt.block_on(async {
            for e in supervisor::check_dir(&config_dir)? {
                tracing::error!("{e}");
            }
            let store = store.unwrap_or_else(|| config_dir.join("registry.store"));
            let sup = Supervisor::start(&config_dir, SocketAddr::new(bind, port), &store).await?;
            tracing::info!(
                "registry on {}; consoles from {}",
                sup.registry_addr(),
                config_dir.display()
            );
            tokio::select! {
                r = sup.run() => r?,
                r = until_signal() => r?,
            }
            Ok(0)
        }),
        ConmuxCommand::Status { config_dir, json } => {
            let report = supervisor::status::read(&config_dir)?;
            let failed = report
                .consoles
                .iter()
                .filter(|c| c.state != "running")
                .count();
            let code = if report.alive && failed == 0 { 0 } else { 1 };
            if json {
                crate::output::print_json(&report)?;
                return Ok(code);
            }
            let liveness = if report.alive {
                "running"
            } else {
                "NOT running (stale status)"
            };
            println!(
                "supervisor pid {} {liveness}; registry {}; updated {}",
                report.pid, report.registry, report.updated
            );
            let width = report
                .consoles
                .iter()
                .map(|c| c.name.len())
                .max()
                .unwrap_or(4)
                .max(4);
            for c in &report.consoles {
                println!(
                    "{:<width$}  {:<7}  {:<21}  {:<12}  clients={}  writer={}  {}",
                    c.name, c.state, c.address, c.channel, c.clients, c.writer, c.detail
                );
            }
            Ok(code)
        }
    }
}

pub fn attach(a: AttachArgs) -> anyhow::Result<i32> {
    let rt = runtime()?;
    let result = rt.block_on(autotest_conmux::client::attach_program(
        &a.console, &a.program, &a.args,
    ));
    rt.shutdown_background();
    Ok(result?)
}
