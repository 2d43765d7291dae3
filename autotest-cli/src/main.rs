//! `autotest`: the command-line front end. Each subcommand translates its arguments into calls
//! of autotest-core (or starts the Python runtime for control files) and maps results to exit
//! codes; nothing here is worth testing on its own.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

mod commands;
#[cfg(test)]
mod help_snapshots;
mod output;
mod progress;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};

/// Autotest in Rust: run Autotest control files and read their results.
#[derive(Parser, Debug)]
#[command(
    name = "autotest",
    version,
    about,
    propagate_version = true,
    after_help = commands::GLOBAL_AFTER_HELP
)]
struct Cli {
    /// Less on stderr: -q warnings and errors only, no progress; -qq errors only.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    quiet: u8,
    /// More on stderr: each -v one log level more (warn, info, debug, trace), and tests' output
    /// with `run`. RUST_LOG, when set, chooses instead.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a client control file on this machine (the legacy autotest-local).
    Run(commands::run::RunArgs),
    /// Summarise a status log: one line per test with its status and reason.
    Status(commands::status::StatusArgs),
    /// Run one job on its machines (client control files with -c), writing .autoserv_execute.
    Autoserv(commands::autoserv::AutoservArgs),
    /// Watch a queue's spool directory and run each control file dropped into it, oldest first.
    MonitorQueue(commands::queue::MonitorQueueArgs),
    /// Run one queue monitor per directory under <top>/queue, results to <top>/results.
    StartAllQueues(commands::queue::StartAllQueuesArgs),
    /// The conmux console multiplexer: registry, console servers and their supervisor.
    Conmux(commands::conmux::ConmuxArgs),
    /// Attach to a console interactively (raw terminal, ~$ commands), or --list / --status.
    Console(commands::console::ConsoleArgs),
    /// Run a program with its stdin/stdout on a console.
    ConmuxAttach(commands::conmux::AttachArgs),
    /// Mirror new kernel releases with rsync and queue a build, boot and test job for each on
    /// the mapped queues.
    Mirror(commands::mirror::MirrorArgs),
    /// The lab database: `autotest db migrate` creates it or brings it to this build's schema.
    Db(commands::db::DbArgs),
    /// Parse jobs' results directories into the lab database (the legacy tko-parse -r -o).
    Parse(commands::db::ParseArgs),
    /// The lab's jobs (atest job): create, list, stat, abort.
    Job(commands::job::JobArgs),
    /// Parsed test results in the lab database, with their perf keyvals.
    Results(commands::results::ResultsArgs),
    /// Run the lab database's jobs on their hosts (the legacy monitor_db): results under
    /// <RESULTS_DIR>/<jobid>-<owner>/.
    Scheduler(commands::scheduler::SchedulerArgs),
    /// The drone agent: serve the scheduler's line protocol on stdin/stdout (run over SSH).
    Drone(commands::drone::DroneArgs),
    /// The lab's hosts: create, list, stat, mod (lock, unlock, protection), delete.
    Host(commands::host::HostArgs),
    /// The lab's labels: create, list, delete, and add to or remove from hosts.
    Label(commands::label::LabelArgs),
    /// The lab on the web: results files (retrieve_logs), pages, REST API, /metrics; and
    /// `autotest web token create <user>`.
    Web(commands::web::WebArgs),
    /// Write a shell completion script on stdout: `autotest completions bash > ~/.local/share/bash-completion/completions/autotest`.
    Completions(commands::docs::CompletionsArgs),
    /// Write the manual pages: autotest.1 on stdout, or one page per command with --dir.
    Man(commands::docs::ManArgs),
}

fn main() {
    // Colour only on terminals (clap checks each stream) and never under NO_COLOR.
    let color = if commands::no_color() {
        clap::ColorChoice::Never
    } else {
        clap::ColorChoice::Auto
    };
    let matches = Cli::command().color(color).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    commands::init_logging_for(
        matches.subcommand_name(),
        commands::Verbosity {
            quiet: cli.quiet,
            verbose: cli.verbose,
        },
    );
    let code = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Status(args) => commands::status::run(args),
        Command::Autoserv(args) => commands::autoserv::run(args),
        Command::MonitorQueue(args) => commands::queue::monitor(args),
        Command::StartAllQueues(args) => commands::queue::start_all(args),
        Command::Conmux(args) => commands::conmux::run(args),
        Command::Console(args) => commands::console::run(args),
        Command::ConmuxAttach(args) => commands::conmux::attach(args),
        Command::Mirror(args) => commands::mirror::run(args),
        Command::Db(args) => commands::db::db(args),
        Command::Parse(args) => commands::db::parse(args),
        Command::Job(args) => commands::job::run(args),
        Command::Results(args) => commands::results::run(args),
        Command::Scheduler(args) => commands::scheduler::run(args),
        Command::Drone(args) => commands::drone::run(args),
        Command::Host(args) => commands::host::run(args),
        Command::Label(args) => commands::label::run(args),
        Command::Web(args) => commands::web::run(args),
        Command::Completions(args) => commands::docs::completions(args, Cli::command()),
        Command::Man(args) => commands::docs::man(args, Cli::command()),
    };
    match code {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("autotest: {}", commands::report(&e));
            std::process::exit(1);
        }
    }
}
