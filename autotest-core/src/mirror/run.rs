//! One mirror run, and the long-running loop.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::clients::{ClientsEntry, parse_clients};
use super::configs::ConfigMap;
use super::error::{MirrorError, MirrorProblem};
use super::mail::{DEFAULT_SMTP_SERVER, parse_recipients, send_release_mail};
use super::release::ReleasePatterns;
use super::state::{
    FileStage, MIRROR_STATE_FILE, MirrorState, PendingRelease, PlannedFile, StateLock, sync_dir,
};
use super::sync::{DEFAULT_FILTERS, DEFAULT_SOURCE, sync_releases};
use super::wrap::{KernelJob, wrap_client_control, wrap_server_control};
use crate::config::{ConfigError, GlobalConfig};
use crate::kernel::KernelVersion;
use crate::queue::is_server_control;

/// Environment variable naming a point at which a run aborts the process, for crash tests:
/// `synced` (after rsync, before anything is planned), `planned` (releases recorded as pending),
/// `written` (queue files complete under temporary names), `renamed` (after the first rename).
pub const CRASH_ENV: &str = "AUTOTEST_MIRROR_CRASH_AT";

/// Everything a run needs. [`MirrorOptions::new`] gives the defaults; front ends override.
#[derive(Debug, Clone)]
pub struct MirrorOptions {
    /// Where the release files are mirrored.
    pub mirror_dir: PathBuf,
    /// The directory holding one directory per queue.
    pub queue_dir: PathBuf,
    /// The clients file (default `~/.autotest_mirror_clients`).
    pub clients_file: PathBuf,
    /// The kernel-config mapping, if any.
    pub configs_file: Option<PathBuf>,
    /// An `rsync://` URL or a local directory (default the kernel.org module).
    pub source: String,
    /// rsync filter rules choosing the files to sync.
    pub filters: Vec<String>,
    /// Which file names are releases.
    pub patterns: ReleasePatterns,
    /// The state file (default `<mirror_dir>/.autotest-mirror-state`).
    pub state_file: PathBuf,
    /// Mail recipients (none: no mail).
    pub mail_to: Vec<String>,
    /// SMTP server, `host[:port]` (default `localhost:25`).
    pub smtp_server: String,
    /// The sender (default `autotest@<this host's name>`).
    pub mail_from: String,
}

impl MirrorOptions {
    /// The defaults for mirroring into `mirror_dir` and queueing into `queue_dir`.
    pub fn new(mirror_dir: impl Into<PathBuf>, queue_dir: impl Into<PathBuf>) -> MirrorOptions {
        let mirror_dir = mirror_dir.into();
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root"));
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        MirrorOptions {
            state_file: mirror_dir.join(MIRROR_STATE_FILE),
            mirror_dir,
            queue_dir: queue_dir.into(),
            clients_file: home.join(".autotest_mirror_clients"),
            configs_file: None,
            source: DEFAULT_SOURCE.to_owned(),
            filters: DEFAULT_FILTERS.iter().map(|s| (*s).to_owned()).collect(),
            patterns: ReleasePatterns::default(),
            mail_to: Vec::new(),
            smtp_server: DEFAULT_SMTP_SERVER.to_owned(),
            mail_from: format!(
                "autotest@{}",
                if host.is_empty() { "localhost" } else { &host }
            ),
        }
    }

    /// Takes `[MIRROR]` settings of the global config when set: `source`, `smtp_server`,
    /// `mail_from`, and `rsync_filters` / `release_patterns` (one per line, as continuation
    /// lines; they replace the defaults).
    pub fn apply_config(&mut self, config: &GlobalConfig) -> Result<(), ConfigError> {
        let get = |key: &str| -> Result<Option<String>, ConfigError> {
            Ok(config
                .get_str("MIRROR", key)?
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()))
        };
        if let Some(v) = get("source")? {
            self.source = v;
        }
        if let Some(v) = get("smtp_server")? {
            self.smtp_server = v;
        }
        if let Some(v) = get("mail_from")? {
            self.mail_from = v;
        }
        let lines = |v: String| -> Vec<String> {
            v.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        };
        if let Some(v) = get("rsync_filters")? {
            self.filters = lines(v);
        }
        if let Some(v) = get("release_patterns")? {
            let patterns = lines(v.clone());
            self.patterns = ReleasePatterns::new(&patterns).map_err(|e| {
                config.bad_value(
                    "MIRROR",
                    "release_patterns",
                    "regular expressions with the version in group 1",
                    &e.to_string(),
                )
            })?;
        }
        Ok(())
    }
}

/// What one run did (the shape of `autotest mirror --json`; errors as their messages).
#[derive(Debug, Default, serde::Serialize)]
pub struct MirrorReport {
    /// On the first run (no state file yet): how many releases already in the mirror directory
    /// were recorded as handled without queueing.
    pub baseline: Option<usize>,
    /// Releases a previous, interrupted run had started to queue, finished by this run.
    pub recovered: Vec<String>,
    /// Releases handled by this run (new and recovered), in version order.
    pub new_releases: Vec<String>,
    /// New releases left for the next run because no queue could take a job (every queue
    /// directory or control file missing).
    pub deferred: Vec<String>,
    /// Files dropped into queues by this run.
    pub queued: Vec<PathBuf>,
    /// Lines, queues and control files that could not be used (the others were).
    pub problems: Vec<MirrorProblem>,
    /// rsync's failure, when it failed; releases that arrived completely were still queued.
    #[serde(serialize_with = "crate::serde_display::opt_text")]
    pub sync_error: Option<MirrorError>,
    /// The mail's failure, when it could not be sent.
    #[serde(serialize_with = "crate::serde_display::opt_text")]
    pub mail_error: Option<MirrorError>,
    /// True when the release mail was sent.
    pub mailed: bool,
}

impl MirrorReport {
    /// True when nothing went wrong (no problem, sync and mail fine).
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
            && self.deferred.is_empty()
            && self.sync_error.is_none()
            && self.mail_error.is_none()
    }
}

fn crash_point(name: &str) {
    if std::env::var_os(CRASH_ENV).is_some_and(|v| v == name) {
        tracing::error!("{CRASH_ENV}={name}: aborting the process here, as a crash would");
        std::process::abort();
    }
}

/// One run: sync, detect, queue, mail. `stop` interrupts the sync (then nothing is queued).
pub fn run_mirror_once(
    opts: &MirrorOptions,
    stop: &AtomicBool,
) -> Result<MirrorReport, MirrorError> {
    let recipients = parse_recipients(&opts.mail_to.join(","))?;
    let mut report = MirrorReport::default();

    // The mapping first: a run that cannot know where jobs go must not mark releases handled.
    let clients_text = std::fs::read_to_string(&opts.clients_file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => MirrorError::ClientsFileMissing {
            path: opts.clients_file.clone(),
        },
        _ => MirrorError::io("read the clients file", &opts.clients_file, e),
    })?;
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let (entries, problems) = parse_clients(&clients_text, &opts.clients_file, home.as_deref());
    report.problems.extend(problems);
    let config_map = match &opts.configs_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| MirrorError::io("read the config mapping", path, e))?;
            let (map, problems) = ConfigMap::parse(&text, path);
            report.problems.extend(problems);
            map
        }
        None => ConfigMap::default(),
    };
    let targets = usable_targets(&entries, opts, &mut report.problems);
    // Taken after the mapping was read, so a run refused for a missing clients file creates
    // nothing (the lock file's directory included).
    let _lock = StateLock::acquire(&opts.state_file)?;

    let mut state = match MirrorState::load(&opts.state_file)? {
        Some(state) => state,
        None => {
            // What is already mirrored before the first sync is not new (as in legacy: only what
            // this run pulls is). Recorded before syncing, so a crash after the sync still knows.
            let present = opts.patterns.scan(&opts.mirror_dir)?;
            let state = MirrorState {
                version: 1,
                handled: present.into_keys().collect(),
                pending: Vec::new(),
            };
            state.save(&opts.state_file)?;
            report.baseline = Some(state.handled.len());
            state
        }
    };

    match sync_releases(&opts.source, &opts.filters, &opts.mirror_dir, stop) {
        Ok(()) => {}
        Err(MirrorError::Stopped) => return Err(MirrorError::Stopped),
        Err(e) => report.sync_error = Some(e),
    }
    crash_point("synced");

    let present = opts.patterns.scan(&opts.mirror_dir)?;
    let mut new: Vec<String> = present.into_keys().filter(|k| !state.knows(k)).collect();
    new.sort_by(|a, b| version_order(a, b));
    report.recovered = state.pending.iter().map(|p| p.kernel.clone()).collect();
    if targets.is_empty() && !new.is_empty() {
        // No queue can take anything (the queue directory not mounted, every line broken):
        // recording the releases now would lose them; the next run sees them as new again.
        report.deferred = std::mem::take(&mut new);
    }
    if !new.is_empty() {
        let epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        for kernel in &new {
            state.pending.push(plan_release(kernel, &targets, epoch));
        }
        state.save(&opts.state_file)?;
    }
    crash_point("planned");

    // Each phase covers every pending release, so a run saves the state three times however
    // many releases arrived (a first run against a full upstream may see thousands).
    if !state.pending.is_empty() {
        for release in &mut state.pending {
            write_planned(release, &config_map, &mut report.problems);
        }
        make_durable(&mut state.pending, &mut report.problems);
        state.save(&opts.state_file)?;
        crash_point("written");
        let mut renamed_once = false;
        // Queue directory -> one file renamed into it (sync_dir syncs a path's directory).
        let mut dirs = BTreeMap::new();
        for file in state
            .pending
            .iter_mut()
            .flat_map(|r| r.files.iter_mut())
            .filter(|f| f.stage == FileStage::Written)
        {
            // A written file whose temporary name is gone was renamed by an interrupted run.
            if file.temp.exists() {
                if let Err(e) = std::fs::rename(&file.temp, &file.path) {
                    report.problems.push(MirrorProblem::file(
                        &file.path,
                        format!("cannot drop the queue file: {e}"),
                    ));
                    let _ = std::fs::remove_file(&file.temp);
                    file.stage = FileStage::Skipped;
                    continue;
                }
                report.queued.push(file.path.clone());
                dirs.entry(file.path.parent().map(PathBuf::from))
                    .or_insert_with(|| file.path.clone());
                if !renamed_once {
                    renamed_once = true;
                    crash_point("renamed");
                }
            }
            file.stage = FileStage::Done;
        }
        for path in dirs.values() {
            let _ = sync_dir(path);
        }
        for release in std::mem::take(&mut state.pending) {
            report.new_releases.push(release.kernel.clone());
            state.handled.insert(release.kernel);
        }
        state.save(&opts.state_file)?;
    }
    report.new_releases.sort_by(|a, b| version_order(a, b));

    if !recipients.is_empty() && !report.new_releases.is_empty() {
        match send_release_mail(
            &opts.smtp_server,
            &opts.mail_from,
            &recipients,
            &report.new_releases,
        ) {
            Ok(()) => report.mailed = true,
            Err(e) => report.mail_error = Some(e),
        }
    }
    Ok(report)
}

/// Runs every `interval` (measured from the start of one run to the start of the next) until
/// `stop` is set; `on_run` gets each run's outcome. A stop during a sync ends the current run
/// without queueing; a stop during queueing lets the (short) queueing finish.
pub fn run_mirror_every(
    opts: &MirrorOptions,
    interval: Duration,
    stop: &AtomicBool,
    mut on_run: impl FnMut(Result<MirrorReport, MirrorError>),
) {
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let outcome = run_mirror_once(opts, stop);
        on_run(outcome);
        while !stop.load(Ordering::Relaxed) && started.elapsed() < interval {
            std::thread::sleep(Duration::from_millis(50).min(interval));
        }
    }
}

fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (KernelVersion::parse(a), KernelVersion::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// One control file for one queue: (queue, control, queue directory).
type Target = (String, PathBuf, PathBuf);

/// The (queue, control file) pairs that can be queued; missing queue directories and control
/// files are reported against their line of the clients file.
fn usable_targets(
    entries: &[ClientsEntry],
    opts: &MirrorOptions,
    problems: &mut Vec<MirrorProblem>,
) -> Vec<Target> {
    let mut targets = Vec::new();
    for entry in entries {
        let dir = opts.queue_dir.join(&entry.queue);
        if !dir.is_dir() {
            problems.push(MirrorProblem::at(
                &opts.clients_file,
                entry.line,
                format!(
                    "queue directory {} does not exist; create it (named after its machine, or with a .machines file) — the other queues still get their jobs",
                    dir.display()
                ),
            ));
            continue;
        }
        for control in &entry.controls {
            if !control.is_file() {
                problems.push(MirrorProblem::at(
                    &opts.clients_file,
                    entry.line,
                    format!(
                        "control file {} does not exist; fix the path on this line",
                        control.display()
                    ),
                ));
                continue;
            }
            targets.push((entry.queue.clone(), control.clone(), dir.clone()));
        }
    }
    targets
}

/// Names every queue file of a release: `<kernel>-<epoch><NNN>[.srv]`, NNN counting the files
/// of this release in one queue.
fn plan_release(kernel: &str, targets: &[Target], epoch: u64) -> PendingRelease {
    let mut counters: BTreeMap<&str, u32> = BTreeMap::new();
    let files = targets
        .iter()
        .map(|(queue, control, dir)| {
            let n = counters.entry(queue).or_insert(0);
            let srv = control
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_server_control);
            let name = format!("{kernel}-{epoch}{n:03}{}", if srv { ".srv" } else { "" });
            *n += 1;
            PlannedFile {
                queue: queue.clone(),
                control: control.clone(),
                temp: dir.join(format!(".{name}.mirror-tmp")),
                path: dir.join(name),
                stage: FileStage::Planned,
            }
        })
        .collect();
    PendingRelease {
        kernel: kernel.to_owned(),
        files,
    }
}

/// Writes every planned file of `release` under its temporary name (complete and fsynced).
fn write_planned(
    release: &mut PendingRelease,
    config_map: &ConfigMap,
    problems: &mut Vec<MirrorProblem>,
) {
    for file in release
        .files
        .iter_mut()
        .filter(|f| f.stage == FileStage::Planned)
    {
        let body = match std::fs::read_to_string(&file.control) {
            Ok(body) => body,
            Err(e) => {
                problems.push(MirrorProblem::file(
                    &file.control,
                    format!(
                        "cannot read the control file: {e}; {} was not queued for {}",
                        file.queue, release.kernel
                    ),
                ));
                file.stage = FileStage::Skipped;
                continue;
            }
        };
        let job = KernelJob {
            kernel: release.kernel.clone(),
            config: config_map.config_for(&file.queue, &release.kernel),
            patches: Vec::new(),
        };
        let source = file.control.to_string_lossy();
        let text = if file.path.extension().is_some_and(|e| e == "srv") {
            wrap_server_control(&job, &source, &body)
        } else {
            wrap_client_control(&job, &source, &body)
        };
        // Made durable by `make_durable` before the state says "written".
        let written = std::fs::File::create(&file.temp).and_then(|mut f| {
            use std::io::Write;
            f.write_all(text.as_bytes())
        });
        match written {
            Ok(()) => file.stage = FileStage::Written,
            Err(e) => {
                problems.push(MirrorProblem::file(
                    &file.temp,
                    format!(
                        "cannot write the queue file: {e}; {} was not queued for {}",
                        file.queue, release.kernel
                    ),
                ));
                let _ = std::fs::remove_file(&file.temp);
                file.stage = FileStage::Skipped;
            }
        }
    }
}

/// Puts every written temporary file on disk: one `syncfs` per queue directory rather than an
/// fsync per file (a first run may write thousands), falling back to fsync per file when
/// `syncfs` fails. A file that cannot be made durable is dropped and reported.
fn make_durable(pending: &mut [PendingRelease], problems: &mut Vec<MirrorProblem>) {
    let mut by_dir: BTreeMap<PathBuf, Vec<&mut PlannedFile>> = BTreeMap::new();
    for file in pending
        .iter_mut()
        .flat_map(|r| r.files.iter_mut())
        .filter(|f| f.stage == FileStage::Written)
    {
        by_dir
            .entry(file.temp.parent().map(PathBuf::from).unwrap_or_default())
            .or_default()
            .push(file);
    }
    for (dir, files) in by_dir {
        if syncfs(&dir).is_ok() {
            continue;
        }
        for file in files {
            if let Err(e) = std::fs::File::open(&file.temp).and_then(|f| f.sync_all()) {
                problems.push(MirrorProblem::file(
                    &file.temp,
                    format!(
                        "cannot write the queue file to disk: {e}; {} was not queued",
                        file.queue
                    ),
                ));
                let _ = std::fs::remove_file(&file.temp);
                file.stage = FileStage::Skipped;
            }
        }
    }
}

/// Flushes the whole filesystem holding `dir` (Linux `syncfs(2)`).
fn syncfs(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(dir)?;
    // SAFETY: syncfs on a descriptor we own for the duration of the call.
    if unsafe { libc::syncfs(f.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_section_of_the_global_config() {
        let text = "[MIRROR]\nsource: rsync://mirror.lab/kernel/\nsmtp_server: mail.lab:2525\nmail_from: lab@example.org\nrsync_filters:\n    + */\n    + linux-*.tar.xz\n    - *\nrelease_patterns:\n    linux-(\\d+\\.\\d+)\\.tar\\.xz\n";
        let config = GlobalConfig::parse(text, "global_config.ini").unwrap();
        let mut opts = MirrorOptions::new("/m", "/q");
        opts.apply_config(&config).unwrap();
        assert_eq!(opts.source, "rsync://mirror.lab/kernel/");
        assert_eq!(opts.smtp_server, "mail.lab:2525");
        assert_eq!(opts.mail_from, "lab@example.org");
        assert_eq!(opts.filters, ["+ */", "+ linux-*.tar.xz", "- *"]);
        assert_eq!(
            opts.patterns.version_of("linux-6.1.tar.xz").as_deref(),
            Some("6.1")
        );
        assert_eq!(opts.patterns.version_of("linux-6.1.5.tar.xz"), None);

        let bad = GlobalConfig::parse("[MIRROR]\nrelease_patterns: linux-\\d+\n", "g.ini").unwrap();
        let e = MirrorOptions::new("/m", "/q")
            .apply_config(&bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("g.ini:2: [MIRROR] release_patterns"), "{e}");
    }
}
