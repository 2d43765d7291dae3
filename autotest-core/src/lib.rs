//! autotest-core: the engine of autotest-rs.
//!
//! Legacy formats (status log, keyvals, pidfiles, `.machines`, control-file metadata,
//! `global_config.ini`) and the client job engine. Front ends (the CLI, the Python module) only
//! translate to and from these calls. This crate never prints and never exits.

mod autoserv;
mod config;
mod control_meta;
mod job;
mod kernel;
pub mod keyval;
mod machines;
mod mirror;
mod pidfile;
mod process;
mod pyliteral;
mod queue;
pub mod results;
mod status;
pub mod store;
mod transport;

pub use config::{
    AutoservConfig, AutotestWebConfig, ConfigError, GlobalConfig, HostsConfig, SchedulerConfig,
};
pub use control_meta::{ControlMeta, ControlMetaError, MetaProblem};
pub use job::{
    ClientJob, JobError, JobOptions, JobStart, JobState, OpenGroup, PendingReboot, Step,
    current_boot_id,
};
pub use kernel::{
    BootEntry, ConfigOption, KernelError, KernelRefs, KernelVersion, MirrorIndex, SourceFile,
    SourceKind, boot_cmdline, config_mismatches, find_kernel_files, grub_custom_cfg, kernel_refs,
    merge_config, parse_config_list, running_kernel, source_plans,
};
pub use machines::{
    MACHINES_FILE, MachinesError, machines_for_queue, parse_machines, read_machines,
    unique_sorted_machines, validate_machine,
};
pub use mirror::{
    ClientsEntry, ConfigMap, CRASH_ENV, DEFAULT_FILTERS, DEFAULT_KERNEL_CONFIG, DEFAULT_RELEASE_PATTERNS,
    DEFAULT_SMTP_SERVER, DEFAULT_SOURCE, FileStage, KernelConfig, KernelJob,
    MIRROR_STATE_FILE, MirrorError, MirrorOptions, MirrorProblem, MirrorReport, MirrorState,
    PendingRelease, PlannedFile, ReleasePatterns, parse_clients, parse_recipients, preamble,
    release_mail_body, run_mirror_every, run_mirror_once, send_release_mail, sync_releases,
    wrap_client_control, wrap_server_control,
};
pub use pidfile::{Pidfile, PidfileError, PidfileState, ProcessExit};
pub use queue::{
    ClaimedJob, MonitorOptions, QUEUE_JOB_FILE, QUEUE_LOCK_FILE, QUEUE_LOG_FILE, QueueError,
    QueueMonitorConfig, SpoolEntry, StartAllQueuesConfig, TerminationSignal, claim_control_file,
    conmux_config_path, create_results_dir, is_server_control, monitor_queue, move_control_file,
    results_dir_base, scan_spool, start_all_queues,
};
pub use status::*;
pub use transport::{
    CommandSpec, ExecResult, ExitOutcome, LocalTransport, LocalTransportFactory, OutputSender, OutputStream, Spawned,
    StdinStream, Transport, TransportError, TransportFactory, is_local_machine, quote_arg,
    quote_argv, signal_name,
};
pub use autoserv::{
    ABORTED_EXIT, AutoservExit, AutoservLauncher, AutoservRequest, LaunchError, LaunchRequest,
    LocalMachineAccess, LocalProcessLauncher, MachineAccess, RunningAutoserv, run_autoserv_process,
    AbortSignal, AutoservError, AutoservOptions, CommandConsole, Console, ConsoleStream, JobOutcome, machine_host, MachineOutcome, STATUS_PREFIX, client_build_id,
    ServerOutcome, run_client_job, run_server_job,
};
