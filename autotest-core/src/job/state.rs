//! The persisted state of a client job (`<resultsdir>/control.state`), written atomically.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::JobError;
use crate::status::StatusCode;

/// One queued step: a function of the control file (or a job-internal step such as
/// `job.end_reboot`) with JSON arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Names of the enclosing steps whose returned `locals()` define this function (empty for a
    /// top-level function of the control file).
    #[serde(default)]
    pub ancestry: Vec<String>,
    /// The function's name.
    pub function: String,
    /// Positional arguments.
    #[serde(default)]
    pub args: Vec<Value>,
    /// Keyword arguments.
    #[serde(default)]
    pub kwargs: BTreeMap<String, Value>,
}

/// A status group that has been started and not yet ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenGroup {
    /// Subdir of the `START` line.
    pub subdir: Option<String>,
    /// Operation of the `START` line.
    pub operation: Option<String>,
    /// The worst status recorded inside so far.
    pub worst: Option<StatusCode>,
}

/// A reboot the job asked for and has not yet verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingReboot {
    /// The boot id before the reboot, to tell whether the machine really rebooted.
    pub boot_id: Option<String>,
    /// The kernel the machine should come back with, when a kernel was booted.
    pub expected_kernel: Option<String>,
}

/// Everything the job must remember across a reboot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    /// Format version of this file.
    pub version: u32,
    /// Epoch seconds the job started.
    pub started: i64,
    /// Steps still to run, next first.
    pub steps: VecDeque<Step>,
    /// The open status groups, outermost first.
    pub groups: Vec<OpenGroup>,
    /// Result subdirectories already used.
    pub subdirs: BTreeSet<String>,
    /// `job.get_state/set_state` values.
    pub user: BTreeMap<String, Value>,
    /// `job.config_get/config_set` values.
    pub config: BTreeMap<String, Value>,
    /// A reboot in progress.
    pub reboot: Option<PendingReboot>,
    /// How many times the job has been started (1 on the first run).
    pub runs: u32,
    /// True once the job has ended (completed or aborted).
    pub finished: bool,
}

impl JobState {
    /// Reads a state file.
    pub fn load(path: &Path) -> Result<JobState, JobError> {
        let text = std::fs::read_to_string(path).map_err(|e| JobError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| JobError::CorruptState {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Writes the state file atomically (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), JobError> {
        use std::io::Write;
        let tmp = path.with_extension("state.tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|e| JobError::CorruptState {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let mut f = std::fs::File::create(&tmp).map_err(|e| JobError::io(&tmp, e))?;
        f.write_all(&text).map_err(|e| JobError::io(&tmp, e))?;
        f.sync_all().map_err(|e| JobError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| JobError::io(path, e))
    }
}
