//! `ClientJob`: the bookkeeping of one client job on the machine it runs on.
//!
//! The Python glue executes the control file and the test modules; everything that must survive a
//! reboot or be read by other tools (steps, status groups, keyvals, subdirs) is kept here.

use std::collections::{BTreeMap, VecDeque};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::JobError;
use super::state::{JobState, OpenGroup, PendingReboot, Step};
use crate::keyval;
use crate::results::JobResults;
use crate::status::{StatusCode, StatusEntry, StatusLineKind};

const STATE_VERSION: u32 = 1;

/// How to open a client job.
#[derive(Debug, Clone)]
pub struct JobOptions {
    /// The job's results directory (`--results`).
    pub resultsdir: PathBuf,
    /// The control file given by the user.
    pub control: PathBuf,
    /// `--tag`, recorded as the job's `label`.
    pub tag: Option<String>,
    /// True for `--continue`: there must be an unfinished job to resume.
    pub continue_job: bool,
    /// The user recorded in the job keyval.
    pub user: String,
    /// This machine's hostname, recorded in the job keyval.
    pub hostname: String,
    /// The status log's file name (default `status`; a server job writes `status.log`).
    pub status_file: Option<String>,
    /// The name of the control file's copy in the results directory (default `control`; a
    /// server job keeps `control.srv`).
    pub control_copy: Option<String>,
    /// Use the results directory as it is, even when it holds files (autoserv made it and
    /// wrote its pidfile there), instead of moving older contents aside.
    pub reuse_dir: bool,
}

/// Whether `open` started a new job or resumed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStart {
    /// A new job; `moved_aside` names where an earlier finished job's results were moved.
    Fresh {
        /// Where an older results directory at the same path was moved, if any.
        moved_aside: Option<PathBuf>,
    },
    /// An unfinished job resumed at its next step; `run` counts the starts (2 after one reboot).
    Resumed {
        /// The number of this start.
        run: u32,
    },
}

/// A client job: status log, step queue, keyvals and subdirectories of one results directory.
#[derive(Debug)]
pub struct ClientJob {
    resultsdir: PathBuf,
    state_path: PathBuf,
    status_path: PathBuf,
    state: JobState,
    persist: bool,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The id of the running boot (`/proc/sys/kernel/random/boot_id`), if the kernel has one.
pub fn current_boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
}

impl ClientJob {
    /// The name of the state file inside the results directory.
    pub const STATE_FILE: &'static str = "control.state";
    /// The name of the client status log inside the results directory.
    pub const STATUS_FILE: &'static str = "status";

    /// Opens the job in `opts.resultsdir`: resumes an unfinished job found there, or starts a
    /// new one (moving an older finished job's results aside, never deleting them).
    pub fn open(opts: &JobOptions) -> Result<(ClientJob, JobStart), JobError> {
        let dir = &opts.resultsdir;
        // The state file sits next to the control file's copy (`control.state`, legacy style).
        let state_path = match &opts.control_copy {
            Some(name) => dir.join(format!("{name}.state")),
            None => dir.join(Self::STATE_FILE),
        };
        let status_path = dir.join(opts.status_file.as_deref().unwrap_or(Self::STATUS_FILE));
        let mut moved_aside = None;
        if state_path.exists() {
            let mut state = JobState::load(&state_path)?;
            if !state.finished && (!state.steps.is_empty() || state.reboot.is_some()) {
                state.runs += 1;
                let run = state.runs;
                let job = ClientJob {
                    resultsdir: dir.clone(),
                    state_path,
                    status_path,
                    state,
                    persist: true,
                };
                job.save()?;
                return Ok((job, JobStart::Resumed { run }));
            }
        }
        if opts.continue_job {
            return Err(JobError::Usage(format!(
                "--continue: {} holds no unfinished job (no {} with steps left); run without --continue to start a new job",
                dir.display(),
                Self::STATE_FILE
            )));
        }
        if !opts.reuse_dir
            && dir.exists()
            && std::fs::read_dir(dir)
                .map_err(|e| JobError::io(dir, e))?
                .next()
                .is_some()
        {
            moved_aside = Some(move_aside(dir)?);
        }
        std::fs::create_dir_all(JobResults::new(dir).debug_dir())
            .map_err(|e| JobError::io(dir, e))?;
        let control_copy = dir.join(opts.control_copy.as_deref().unwrap_or("control"));
        if opts.control != control_copy {
            std::fs::copy(&opts.control, &control_copy)
                .map_err(|e| JobError::io(&opts.control, e))?;
        }
        let started = now();
        let state = JobState {
            version: STATE_VERSION,
            started,
            runs: 1,
            ..JobState::default()
        };
        let mut job = ClientJob {
            resultsdir: dir.clone(),
            state_path,
            status_path,
            state,
            persist: true,
        };
        let label = opts.tag.clone().unwrap_or_else(|| {
            opts.control
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        keyval::append_keyvals(
            &JobResults::new(dir).keyval(),
            &[
                ("job_queued", started.to_string()),
                ("job_started", started.to_string()),
                ("user", opts.user.clone()),
                ("label", label),
                ("hostname", opts.hostname.clone()),
                ("status_version", "1".to_owned()),
            ],
            None,
        )?;
        job.start_group(None, None, &[])?;
        Ok((job, JobStart::Fresh { moved_aside }))
    }

    /// The results directory.
    pub fn resultsdir(&self) -> &Path {
        &self.resultsdir
    }

    /// The status log this job writes to.
    pub fn status_path(&self) -> &Path {
        &self.status_path
    }

    /// The current nesting depth (number of open groups).
    pub fn depth(&self) -> usize {
        self.state.groups.len()
    }

    /// The whole persisted state (read only).
    pub fn state(&self) -> &JobState {
        &self.state
    }

    /// Turns persistence of the state file off (in forked children, whose changes the parent
    /// merges) or on.
    pub fn set_persist(&mut self, persist: bool) {
        self.persist = persist;
    }

    /// Sends status lines to another file (a parallel task's own log, merged later).
    pub fn redirect_status(&mut self, path: PathBuf) {
        self.status_path = path;
    }

    fn save(&self) -> Result<(), JobError> {
        if self.persist {
            self.state.save(&self.state_path)?;
        }
        Ok(())
    }

    fn write_status(&self, text: &str) -> Result<(), JobError> {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.status_path)
            .map_err(|e| JobError::io(&self.status_path, e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| JobError::io(&self.status_path, e))
    }

    fn entry(
        kind: StatusLineKind,
        subdir: Option<&str>,
        operation: Option<&str>,
        message: &str,
        fields: &[(String, String)],
    ) -> StatusEntry {
        let mut e = StatusEntry::new(kind, subdir, operation, message);
        for (k, v) in fields {
            e.set_field(k, v);
        }
        e.stamped(now())
    }

    /// Folds a status into the innermost open group's roll-up.
    pub fn fold_status(&mut self, code: StatusCode) {
        if let Some(g) = self.state.groups.last_mut() {
            g.worst = Some(g.worst.map_or(code, |w| w.worst(code)));
        }
    }

    /// The worst status recorded in the innermost open group so far.
    pub fn current_worst(&self) -> Option<StatusCode> {
        self.state.groups.last().and_then(|g| g.worst)
    }

    /// Records a `INFO` or result line at the current depth; returns the text written.
    pub fn record(
        &mut self,
        kind: StatusLineKind,
        subdir: Option<&str>,
        operation: Option<&str>,
        message: &str,
        fields: &[(String, String)],
    ) -> Result<String, JobError> {
        let text = Self::entry(kind, subdir, operation, message, fields).render(self.depth());
        self.write_status(&text)?;
        if let Some(code) = kind.code() {
            self.fold_status(code);
        }
        Ok(text)
    }

    /// Writes `START` at the current depth and opens a group.
    pub fn start_group(
        &mut self,
        subdir: Option<&str>,
        operation: Option<&str>,
        fields: &[(String, String)],
    ) -> Result<String, JobError> {
        let text =
            Self::entry(StatusLineKind::Start, subdir, operation, "", fields).render(self.depth());
        self.write_status(&text)?;
        self.state.groups.push(OpenGroup {
            subdir: subdir.map(str::to_owned),
            operation: operation.map(str::to_owned),
            worst: None,
        });
        self.save()?;
        Ok(text)
    }

    /// Closes the innermost group with `END <code>`: `code` when given (written as is, like a
    /// legacy `record('END X')`), else the roll-up, the worst of everything recorded inside
    /// (GOOD when nothing was). Returns the code written and the text.
    pub fn end_group(
        &mut self,
        code: Option<StatusCode>,
        message: &str,
        fields: &[(String, String)],
    ) -> Result<(StatusCode, String), JobError> {
        let Some(group) = self.state.groups.pop() else {
            return Err(JobError::NoOpenGroup {
                operation: code.map(|c| c.to_string()).unwrap_or_default(),
            });
        };
        let final_code = code.unwrap_or(group.worst.unwrap_or(StatusCode::Good));
        let text = Self::entry(
            StatusLineKind::End(final_code),
            group.subdir.as_deref(),
            group.operation.as_deref(),
            message,
            fields,
        )
        .render(self.depth());
        self.write_status(&text)?;
        self.fold_status(final_code);
        self.save()?;
        Ok((final_code, text))
    }

    /// Claims a results subdirectory for a test and creates it; a second claim of the same name
    /// is an error (the legacy duplicate-subdir rule).
    pub fn claim_subdir(&mut self, subdir: &str) -> Result<PathBuf, JobError> {
        let rel = Path::new(subdir);
        let valid =
            !subdir.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !valid {
            return Err(JobError::InvalidSubdir {
                subdir: subdir.to_owned(),
            });
        }
        if !self.state.subdirs.insert(subdir.to_owned()) {
            return Err(JobError::DuplicateSubdir {
                subdir: subdir.to_owned(),
            });
        }
        let path = self.resultsdir.join(rel);
        for d in ["", "debug", "results", "profiling"] {
            let p = path.join(d);
            std::fs::create_dir_all(&p).map_err(|e| JobError::io(&p, e))?;
        }
        self.save()?;
        Ok(path)
    }

    /// Adds subdirectories claimed elsewhere (by a forked child) to this job's record.
    pub fn adopt_subdirs<I: IntoIterator<Item = String>>(
        &mut self,
        subdirs: I,
    ) -> Result<(), JobError> {
        self.state.subdirs.extend(subdirs);
        self.save()
    }

    /// Queues a step at the back (`next_step`, `next_step_append`) or the front
    /// (`next_step_prepend`).
    pub fn queue_step(&mut self, step: Step, front: bool) -> Result<(), JobError> {
        if front {
            self.state.steps.push_front(step);
        } else {
            self.state.steps.push_back(step);
        }
        self.save()
    }

    /// Takes the next step off the queue (and persists that it is taken).
    pub fn pop_step(&mut self) -> Result<Option<Step>, JobError> {
        let s = self.state.steps.pop_front();
        if s.is_some() {
            self.save()?;
        }
        Ok(s)
    }

    /// The steps still queued.
    pub fn steps(&self) -> &VecDeque<Step> {
        &self.state.steps
    }

    /// `job.get_state(key, default)`.
    pub fn get_state(&self, key: &str) -> Option<&Value> {
        self.state.user.get(key)
    }

    /// `job.set_state(key, value)`: persisted at once.
    pub fn set_state(&mut self, key: &str, value: Value) -> Result<(), JobError> {
        self.state.user.insert(key.to_owned(), value);
        self.save()
    }

    /// `job.config_get(key)`.
    pub fn config_get(&self, key: &str) -> Option<&Value> {
        self.state.config.get(key)
    }

    /// `job.config_set(key, value)`: persisted at once.
    pub fn config_set(&mut self, key: &str, value: Value) -> Result<(), JobError> {
        self.state.config.insert(key.to_owned(), value);
        self.save()
    }

    /// All config values.
    pub fn config(&self) -> &BTreeMap<String, Value> {
        &self.state.config
    }

    /// Starts a reboot: writes `START ---- reboot` and `GOOD ---- reboot.start`, queues the
    /// verification (`job.end_reboot`) as the next step and saves the state. The caller then
    /// exits with code 5 and whoever runs the job reboots the machine and resumes it.
    pub fn begin_reboot(&mut self, expected_kernel: Option<&str>) -> Result<(), JobError> {
        self.start_group(None, Some("reboot"), &[])?;
        self.record(
            StatusLineKind::Status(StatusCode::Good),
            None,
            Some("reboot.start"),
            "",
            &[],
        )?;
        self.state.reboot = Some(PendingReboot {
            boot_id: current_boot_id(),
            expected_kernel: expected_kernel.map(str::to_owned),
        });
        self.queue_step(
            Step {
                ancestry: Vec::new(),
                function: "job.end_reboot".into(),
                args: Vec::new(),
                kwargs: BTreeMap::new(),
            },
            true,
        )
    }

    /// Verifies a reboot after the job resumed: `GOOD ---- reboot.verify <running kernel>`, or
    /// `FAIL ---- reboot.verify` naming the kernel that came up when another one was expected,
    /// then `END <code> ---- reboot kernel=<running kernel>`. Notes with an `INFO` line when the
    /// boot id did not change.
    pub fn end_reboot(&mut self, running_kernel: &str) -> Result<StatusCode, JobError> {
        let pending = self.state.reboot.take();
        let same_boot = pending
            .as_ref()
            .and_then(|p| p.boot_id.as_ref())
            .is_some_and(|b| Some(b) == current_boot_id().as_ref());
        if same_boot {
            self.record(
                StatusLineKind::Info,
                None,
                Some("reboot.verify"),
                "boot id unchanged: the job was resumed without a reboot",
                &[],
            )?;
        }
        let expected = pending.and_then(|p| p.expected_kernel);
        let verify = match &expected {
            Some(k) if k != running_kernel => {
                let msg = format!(
                    "expected kernel {k} after the reboot, but kernel {running_kernel} came up instead"
                );
                self.record(
                    StatusLineKind::Status(StatusCode::Fail),
                    None,
                    Some("reboot.verify"),
                    &msg,
                    &[],
                )?;
                StatusCode::Fail
            }
            _ => {
                self.record(
                    StatusLineKind::Status(StatusCode::Good),
                    None,
                    Some("reboot.verify"),
                    running_kernel,
                    &[],
                )?;
                StatusCode::Good
            }
        };
        let (code, _) = self.end_group(
            Some(verify),
            "",
            &[("kernel".to_owned(), running_kernel.to_owned())],
        )?;
        Ok(code)
    }

    /// Ends the job normally: closes every open group (the job group last) with its roll-up,
    /// writes `job_finished`, and marks the state finished. Returns the job's status.
    pub fn complete(&mut self) -> Result<StatusCode, JobError> {
        let mut code = StatusCode::Good;
        while !self.state.groups.is_empty() {
            code = self.end_group(None, "", &[])?.0;
        }
        self.finish()?;
        Ok(code)
    }

    /// Ends the job abnormally: records `<code> ---- ---- <reason>` and closes every open
    /// group with `END <code>` (ABORT for an abort, FAIL for an exception in the control file).
    pub fn abort(&mut self, code: StatusCode, reason: &str) -> Result<StatusCode, JobError> {
        self.record(StatusLineKind::Status(code), None, None, reason, &[])?;
        let mut last = code;
        while !self.state.groups.is_empty() {
            last = self.end_group(Some(code), "", &[])?.0;
        }
        self.finish()?;
        Ok(last)
    }

    fn finish(&mut self) -> Result<(), JobError> {
        self.state.finished = true;
        self.state.steps.clear();
        keyval::append_keyvals(
            &JobResults::new(&self.resultsdir).keyval(),
            &[("job_finished", now().to_string())],
            None,
        )?;
        self.save()
    }

    /// The open groups, outermost first.
    pub fn open_groups(&self) -> &[OpenGroup] {
        &self.state.groups
    }

    /// True when a reboot was started and not yet verified.
    pub fn reboot_pending(&self) -> bool {
        self.state.reboot.is_some()
    }

    /// Appends a parallel task's own status log (written by a forked child at this depth) to
    /// the job's log, and removes the task's file.
    pub fn merge_status(&mut self, task_log: &Path) -> Result<(), JobError> {
        let text = match std::fs::read_to_string(task_log) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(JobError::io(task_log, e)),
        };
        self.write_status(&text)?;
        std::fs::remove_file(task_log).map_err(|e| JobError::io(task_log, e))
    }
}

/// Moves an existing results directory to `<dir>.<epoch>` (or `.<epoch>.N`), never deleting it.
fn move_aside(dir: &Path) -> Result<PathBuf, JobError> {
    let stamp = std::fs::metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or_else(now);
    let base = dir
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches('/')
        .to_owned();
    let mut target = PathBuf::from(format!("{base}.{stamp}"));
    let mut n = 1;
    while target.exists() {
        target = PathBuf::from(format!("{base}.{stamp}.{n}"));
        n += 1;
    }
    std::fs::rename(dir, &target).map_err(|e| JobError::io(dir, e))?;
    Ok(target)
}
