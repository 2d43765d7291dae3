//! `autotest._native`: the Rust job engine and formats, as the Python glue sees them.
//!
//! Only translation lives here: Python values in, core calls, Python values out. JSON text
//! carries step arguments and state values so the core never sees Python objects.

#![warn(missing_docs)]

use std::path::{Path, PathBuf};

mod harness;
mod lab;

use autotest_core::job::{ClientJob, JobError, JobOptions, JobStart, Step};
use autotest_core::status::{StatusCode, StatusLineKind};
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    _native,
    JobEngineError,
    PyRuntimeError,
    "An error of the native job engine."
);
create_exception!(
    _native,
    DuplicateSubdirError,
    JobEngineError,
    "A test's results subdirectory is already used in this job."
);

fn engine_err(e: JobError) -> PyErr {
    match e {
        JobError::DuplicateSubdir { .. } => DuplicateSubdirError::new_err(e.to_string()),
        other => JobEngineError::new_err(other.to_string()),
    }
}

fn parse_code(code: &str) -> PyResult<StatusCode> {
    code.parse::<StatusCode>()
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Parses `START`, `INFO`, `GOOD`, `END FAIL`, ... into a line kind.
fn parse_kind(code: &str) -> PyResult<StatusLineKind> {
    match code {
        "START" => Ok(StatusLineKind::Start),
        "INFO" => Ok(StatusLineKind::Info),
        c => match c.strip_prefix("END ") {
            Some(rest) => Ok(StatusLineKind::End(parse_code(rest.trim())?)),
            None => Ok(StatusLineKind::Status(parse_code(c)?)),
        },
    }
}

fn json_err(e: serde_json::Error) -> PyErr {
    PyValueError::new_err(format!("not JSON-serialisable state: {e}"))
}

/// A step as Python sees it: `(ancestry, function, args_json, kwargs_json)`.
type StepTuple = (Vec<String>, String, String, String);

/// One client job (see `autotest_core::job::ClientJob`).
#[pyclass(name = "Job", unsendable, module = "autotest._native")]
struct PyJob {
    inner: ClientJob,
}

#[pymethods]
impl PyJob {
    /// Opens or resumes the job in `resultsdir`. Returns `(job, kind, detail)`, where kind is
    /// "fresh" (detail: where older results were moved, or None) or "resumed" (detail: the run
    /// number as text).
    #[staticmethod]
    #[pyo3(signature = (resultsdir, control, tag, continue_job, user, hostname, status_file=None, control_copy=None, reuse_dir=false))]
    #[allow(clippy::too_many_arguments)]
    fn open(
        resultsdir: PathBuf,
        control: PathBuf,
        tag: Option<String>,
        continue_job: bool,
        user: String,
        hostname: String,
        status_file: Option<String>,
        control_copy: Option<String>,
        reuse_dir: bool,
    ) -> PyResult<(PyJob, &'static str, Option<String>)> {
        let opts = JobOptions {
            resultsdir,
            control,
            tag,
            continue_job,
            user,
            hostname,
            status_file,
            control_copy,
            reuse_dir,
        };
        let (inner, start) = ClientJob::open(&opts).map_err(engine_err)?;
        let (kind, detail) = match start {
            JobStart::Fresh { moved_aside } => (
                "fresh",
                moved_aside.map(|p| p.to_string_lossy().into_owned()),
            ),
            JobStart::Resumed { run } => ("resumed", Some(run.to_string())),
        };
        Ok((PyJob { inner }, kind, detail))
    }

    /// Records a status line (`START`, `INFO`, a code, or `END <code>`); returns its text.
    #[pyo3(signature = (code, subdir=None, operation=None, message="", fields=None))]
    fn record(
        &mut self,
        code: &str,
        subdir: Option<&str>,
        operation: Option<&str>,
        message: &str,
        fields: Option<Vec<(String, String)>>,
    ) -> PyResult<String> {
        let fields = fields.unwrap_or_default();
        match parse_kind(code)? {
            StatusLineKind::Start => self
                .inner
                .start_group(subdir, operation, &fields)
                .map_err(engine_err),
            StatusLineKind::End(c) => self
                .inner
                .end_group(Some(c), message, &fields)
                .map(|(_, t)| t)
                .map_err(engine_err),
            kind => self
                .inner
                .record(kind, subdir, operation, message, &fields)
                .map_err(engine_err),
        }
    }

    /// Closes the innermost group with its roll-up (or `code`); returns `(code, text)`.
    #[pyo3(signature = (code=None, message="", fields=None))]
    fn end_group(
        &mut self,
        code: Option<&str>,
        message: &str,
        fields: Option<Vec<(String, String)>>,
    ) -> PyResult<(String, String)> {
        let code = code.map(parse_code).transpose()?;
        let (c, text) = self
            .inner
            .end_group(code, message, &fields.unwrap_or_default())
            .map_err(engine_err)?;
        Ok((c.to_string(), text))
    }

    /// Folds a status (from a forked child) into the innermost group's roll-up.
    fn fold_status(&mut self, code: &str) -> PyResult<()> {
        self.inner.fold_status(parse_code(code)?);
        Ok(())
    }

    /// The worst status recorded in the innermost open group, or None.
    fn current_worst(&self) -> Option<String> {
        self.inner.current_worst().map(|c| c.to_string())
    }

    /// Number of open groups.
    #[getter]
    fn depth(&self) -> usize {
        self.inner.depth()
    }

    /// The open groups, outermost first, as `(subdir, operation)`.
    fn open_groups(&self) -> Vec<(Option<String>, Option<String>)> {
        self.inner
            .open_groups()
            .iter()
            .map(|g| (g.subdir.clone(), g.operation.clone()))
            .collect()
    }

    /// True while a reboot is waiting for verification.
    #[getter]
    fn reboot_pending(&self) -> bool {
        self.inner.reboot_pending()
    }

    /// Claims and creates a test's results subdirectory; returns its path.
    fn claim_subdir(&mut self, subdir: &str) -> PyResult<String> {
        let p = self.inner.claim_subdir(subdir).map_err(engine_err)?;
        Ok(p.to_string_lossy().into_owned())
    }

    /// Subdirectories used so far.
    fn subdirs(&self) -> Vec<String> {
        self.inner.state().subdirs.iter().cloned().collect()
    }

    /// Records subdirectories claimed by a forked child.
    fn adopt_subdirs(&mut self, subdirs: Vec<String>) -> PyResult<()> {
        self.inner.adopt_subdirs(subdirs).map_err(engine_err)
    }

    /// Queues a step: `args_json` a JSON list, `kwargs_json` a JSON object.
    #[pyo3(signature = (ancestry, function, args_json, kwargs_json, front=false))]
    fn queue_step(
        &mut self,
        ancestry: Vec<String>,
        function: String,
        args_json: &str,
        kwargs_json: &str,
        front: bool,
    ) -> PyResult<()> {
        let step = Step {
            ancestry,
            function,
            args: serde_json::from_str(args_json).map_err(json_err)?,
            kwargs: serde_json::from_str(kwargs_json).map_err(json_err)?,
        };
        self.inner.queue_step(step, front).map_err(engine_err)
    }

    /// Takes the next step: `(ancestry, function, args_json, kwargs_json)` or None.
    fn pop_step(&mut self) -> PyResult<Option<StepTuple>> {
        let Some(s) = self.inner.pop_step().map_err(engine_err)? else {
            return Ok(None);
        };
        let args = serde_json::to_string(&s.args).map_err(json_err)?;
        let kwargs = serde_json::to_string(&s.kwargs).map_err(json_err)?;
        Ok(Some((s.ancestry, s.function, args, kwargs)))
    }

    /// Number of steps still queued.
    fn steps_left(&self) -> usize {
        self.inner.steps().len()
    }

    /// A state value as JSON text, or None.
    fn get_state(&self, key: &str) -> Option<String> {
        self.inner.get_state(key).map(|v| v.to_string())
    }

    /// Sets a state value from JSON text (persisted at once).
    fn set_state(&mut self, key: &str, value_json: &str) -> PyResult<()> {
        let v = serde_json::from_str(value_json).map_err(json_err)?;
        self.inner.set_state(key, v).map_err(engine_err)
    }

    /// A config value as JSON text, or None.
    fn config_get(&self, key: &str) -> Option<String> {
        self.inner.config_get(key).map(|v| v.to_string())
    }

    /// Sets a config value from JSON text (persisted at once).
    fn config_set(&mut self, key: &str, value_json: &str) -> PyResult<()> {
        let v = serde_json::from_str(value_json).map_err(json_err)?;
        self.inner.config_set(key, v).map_err(engine_err)
    }

    /// Starts a reboot (reboot group, `reboot.start`, verification queued, state saved).
    #[pyo3(signature = (expected_kernel=None))]
    fn begin_reboot(&mut self, expected_kernel: Option<&str>) -> PyResult<()> {
        self.inner.begin_reboot(expected_kernel).map_err(engine_err)
    }

    /// Verifies a finished reboot; returns the reboot group's code.
    fn end_reboot(&mut self, running_kernel: &str) -> PyResult<String> {
        self.inner
            .end_reboot(running_kernel)
            .map(|c| c.to_string())
            .map_err(engine_err)
    }

    /// Ends the job normally; returns its rolled-up status.
    fn complete(&mut self) -> PyResult<String> {
        self.inner
            .complete()
            .map(|c| c.to_string())
            .map_err(engine_err)
    }

    /// Ends the job abnormally with `code` (ABORT or FAIL) and `reason`.
    fn abort(&mut self, code: &str, reason: &str) -> PyResult<String> {
        let c = parse_code(code)?;
        self.inner
            .abort(c, reason)
            .map(|c| c.to_string())
            .map_err(engine_err)
    }

    /// Stops (False) or resumes (True) writing the state file (forked children use False).
    fn set_persist(&mut self, persist: bool) {
        self.inner.set_persist(persist);
    }

    /// Sends status lines to another file (a parallel task's log).
    fn redirect_status(&mut self, path: PathBuf) {
        self.inner.redirect_status(path);
    }

    /// Appends a parallel task's status log to the job's log and removes it.
    fn merge_status(&mut self, path: PathBuf) -> PyResult<()> {
        self.inner.merge_status(&path).map_err(engine_err)
    }

    /// The status log path.
    #[getter]
    fn status_path(&self) -> String {
        self.inner.status_path().to_string_lossy().into_owned()
    }

    /// The results directory.
    #[getter]
    fn resultsdir(&self) -> String {
        self.inner.resultsdir().to_string_lossy().into_owned()
    }
}

/// Appends `key=value` lines to a keyval file; `type_tag` is None, "perf" or "attr".
#[pyfunction]
#[pyo3(signature = (path, pairs, type_tag=None))]
fn write_keyval(
    path: PathBuf,
    pairs: Vec<(String, String)>,
    type_tag: Option<&str>,
) -> PyResult<()> {
    let kind = match type_tag {
        None => None,
        Some("perf") => Some(autotest_core::keyval::KeyvalType::Perf),
        Some("attr") => Some(autotest_core::keyval::KeyvalType::Attr),
        Some(other) => {
            return Err(PyValueError::new_err(format!(
                "unknown keyval type tag {other:?}: use 'perf' or 'attr'"
            )));
        }
    };
    autotest_core::keyval::append_keyvals(&path, &pairs, kind)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Appends one iteration (attr keys, perf keys, blank line) to `<test>/results/keyval`.
#[pyfunction]
fn write_iteration_keyval(
    path: PathBuf,
    attr: Vec<(String, String)>,
    perf: Vec<(String, String)>,
) -> PyResult<()> {
    autotest_core::keyval::append_iteration(&path, &attr, &perf)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Reads a keyval file into a list of `(key, value)` pairs.
#[pyfunction]
fn read_keyval(path: PathBuf) -> PyResult<Vec<(String, String)>> {
    autotest_core::keyval::read_keyvals(Path::new(&path))
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

fn kernel_err(e: autotest_core::kernel::KernelError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A source file of a release: `(kind, names, dirs)`, kind "tarball" or "patch".
type SourceTuple = (&'static str, Vec<String>, Vec<String>);

/// The ways to make the source of a release version, preferred first: each a list of
/// `(kind, names, mirror_dirs)`, the tarball first, then the patches to apply in order.
#[pyfunction]
fn kernel_source_plans(version: &str) -> PyResult<Vec<Vec<SourceTuple>>> {
    let plans = autotest_core::kernel::source_plans(version).map_err(kernel_err)?;
    Ok(plans
        .into_iter()
        .map(|plan| {
            plan.into_iter()
                .map(|f| {
                    let kind = match f.kind {
                        autotest_core::kernel::SourceKind::Tarball => "tarball",
                        autotest_core::kernel::SourceKind::Patch => "patch",
                    };
                    (kind, f.names, f.dirs)
                })
                .collect()
        })
        .collect())
}

/// `base` (a .config text) with the `config_list` entries merged in; ValueError names a bad
/// entry.
#[pyfunction]
fn kernel_merge_config(base: &str, entries: Vec<String>) -> PyResult<String> {
    let opts = autotest_core::kernel::parse_config_list(&entries).map_err(kernel_err)?;
    Ok(autotest_core::kernel::merge_config(base, &opts))
}

/// The `config_list` entries that `config` (after olddefconfig) does not have as asked.
#[pyfunction]
fn kernel_config_mismatches(config: &str, entries: Vec<String>) -> PyResult<Vec<String>> {
    let opts = autotest_core::kernel::parse_config_list(&entries).map_err(kernel_err)?;
    Ok(autotest_core::kernel::config_mismatches(config, &opts))
}

/// The command line for a new kernel: `proc_cmdline` without loader words, then `extra`.
#[pyfunction]
fn kernel_boot_cmdline(proc_cmdline: &str, extra: &str) -> String {
    autotest_core::kernel::boot_cmdline(proc_cmdline, extra)
}

/// `existing` custom.cfg text with the GRUB 2 entry of one kernel added or replaced.
#[pyfunction]
#[pyo3(signature = (existing, id, title, modules, fs_uuid, image, initrd, cmdline))]
#[allow(clippy::too_many_arguments)]
fn kernel_grub_custom_cfg(
    existing: &str,
    id: String,
    title: String,
    modules: Vec<String>,
    fs_uuid: Option<String>,
    image: String,
    initrd: Option<String>,
    cmdline: String,
) -> String {
    let entry = autotest_core::kernel::BootEntry {
        id,
        title,
        modules,
        fs_uuid,
        image,
        initrd,
        cmdline,
    };
    autotest_core::kernel::grub_custom_cfg(existing, &entry)
}

/// The running kernel's release as `/proc/sys/kernel/osrelease` says, or None.
#[pyfunction]
fn running_kernel() -> Option<String> {
    autotest_core::kernel::running_kernel()
}

/// A value of `<config_dir>/global_config.ini` (shadow_config.ini merged over it); None when
/// the option or the file is absent. A malformed file is a ValueError naming file and line.
#[pyfunction]
fn config_get(config_dir: PathBuf, section: &str, key: &str) -> PyResult<Option<String>> {
    let global = config_dir.join("global_config.ini");
    if !global.exists() {
        return Ok(None);
    }
    let config = autotest_core::config::GlobalConfig::load(
        &global,
        Some(&config_dir.join("shadow_config.ini")),
    )
    .map_err(|e| PyValueError::new_err(e.to_string()))?;
    config
        .get_str(section, key)
        .map(|v| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// `text` with its terminal control characters escaped (see `autotest_core::visible`): what
/// `--verbose` shows of a test's output.
#[pyfunction]
fn visible(text: &str) -> String {
    autotest_core::visible(text).into_owned()
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyJob>()?;
    m.add_function(wrap_pyfunction!(write_keyval, m)?)?;
    m.add_function(wrap_pyfunction!(write_iteration_keyval, m)?)?;
    m.add_function(wrap_pyfunction!(read_keyval, m)?)?;
    m.add_function(wrap_pyfunction!(kernel_source_plans, m)?)?;
    m.add_function(wrap_pyfunction!(kernel_merge_config, m)?)?;
    m.add_function(wrap_pyfunction!(kernel_config_mismatches, m)?)?;
    m.add_function(wrap_pyfunction!(kernel_boot_cmdline, m)?)?;
    m.add_function(wrap_pyfunction!(kernel_grub_custom_cfg, m)?)?;
    m.add_function(wrap_pyfunction!(running_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(config_get, m)?)?;
    m.add_function(wrap_pyfunction!(visible, m)?)?;
    m.add("JobEngineError", m.py().get_type::<JobEngineError>())?;
    m.add(
        "DuplicateSubdirError",
        m.py().get_type::<DuplicateSubdirError>(),
    )?;
    harness::register(m)?;
    lab::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
