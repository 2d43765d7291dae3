//! The harness API of `autotest.harness`: status logs and results trees (FORMATS §3, §4) read
//! through the core's parsers, as immutable Python objects.
//!
//! Reading happens in plain Rust with the GIL released ([`read_tree`], [`read_log_file`]); the
//! result is turned into Python objects once, so every attribute access afterwards is cheap.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use autotest_core::JobResults;
use autotest_core::keyval::{self, Iteration, KeyvalError};
use autotest_core::status::{
    JobSummary, ParseProblem, ParsedEntry, StatusCode, StatusLineKind, StatusLog,
    StatusLogError as CoreLogError, TestResult, summarize,
};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(
    _native,
    ResultsError,
    PyException,
    "A status log or results tree could not be read; the message names the file and the fix."
);
create_exception!(
    _native,
    ResultsNotFoundError,
    ResultsError,
    "A results directory, status log or keyval file that was asked for does not exist."
);
create_exception!(
    _native,
    StatusLogError,
    ResultsError,
    "A status log has malformed lines (raised only by `StatusLog.strict()`)."
);

/// The status log names a results directory may hold, preferred first: autoserv writes
/// `status.log`, a client job (`autotest run`) writes `status`.
const STATUS_NAMES: [&str; 2] = [JobResults::STATUS_LOG, JobResults::CLIENT_STATUS];

/// Why a status log or results tree could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HarnessError {
    #[error(
        "results directory {} does not exist: pass the directory a job wrote (`autotest run --results DIR`, or autoserv's results directory)",
        .0.display()
    )]
    NoDir(PathBuf),
    #[error(
        "{} is a file, not a results directory: pass the directory that holds it, or read the file alone with parse_status_log()",
        .0.display()
    )]
    NotADir(PathBuf),
    #[error(
        "no status log in {dir}: expected {dir}/status.log or {dir}/status, or machine subdirectories holding one; is this a results directory?",
        dir = .0.display()
    )]
    NoStatusLog(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Log(#[from] CoreLogError),
    #[error("{0}: fix or remove that line, or move the file aside to read the rest of the tree")]
    Keyval(#[from] KeyvalError),
}

impl HarnessError {
    fn is_not_found(&self) -> bool {
        let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
        match self {
            HarnessError::NoDir(_) | HarnessError::NoStatusLog(_) => true,
            HarnessError::Io { source, .. } => gone(source),
            HarnessError::Log(CoreLogError::Read { source, .. }) => gone(source),
            HarnessError::Keyval(KeyvalError::Io { source, .. }) => gone(source),
            _ => false,
        }
    }
}

impl From<HarnessError> for PyErr {
    fn from(e: HarnessError) -> PyErr {
        if e.is_not_found() {
            ResultsNotFoundError::new_err(e.to_string())
        } else {
            ResultsError::new_err(e.to_string())
        }
    }
}

// ---- reading, without Python ----

/// A parsed status log and its summary.
pub(crate) struct LogData {
    path: Option<PathBuf>,
    log: StatusLog,
    summary: JobSummary,
}

impl LogData {
    fn new(path: Option<PathBuf>, log: StatusLog) -> LogData {
        let summary = summarize(&log);
        LogData { path, log, summary }
    }
}

/// One test of a results tree with what its directory holds.
struct TestData {
    result: TestResult,
    dir: Option<PathBuf>,
    keyvals: Vec<(String, String)>,
    iterations: Vec<Iteration>,
}

/// One results directory (a job's, or one machine's of a multi-machine job).
pub(crate) struct ResultsData {
    dir: PathBuf,
    log: Option<LogData>,
    job_keyvals: Vec<(String, String)>,
    tests: Vec<TestData>,
    machines: Vec<(String, ResultsData)>,
}

/// The status log file of a results directory, if it has one.
fn status_log_in(dir: &Path) -> Option<PathBuf> {
    STATUS_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Parses a status log file; a directory stands for the status log inside it.
pub(crate) fn read_log_file(path: &Path) -> Result<LogData, HarnessError> {
    let file = if path.is_dir() {
        status_log_in(path).ok_or_else(|| HarnessError::NoStatusLog(path.to_owned()))?
    } else {
        path.to_owned()
    };
    let log = StatusLog::parse_file(&file)?;
    Ok(LogData::new(Some(file), log))
}

pub(crate) fn parse_log_text(text: &str) -> LogData {
    LogData::new(None, StatusLog::parse(text))
}

/// A keyval file read with [`keyval::read_keyvals`]; an absent file has no keyvals.
fn read_keyvals_if_present(path: &Path) -> Result<Vec<(String, String)>, HarnessError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    Ok(keyval::read_keyvals(path)?)
}

fn read_iterations_if_present(path: &Path) -> Result<Vec<Iteration>, HarnessError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).map_err(|source| HarnessError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(keyval::parse_iterations(path, &text)?)
}

/// A test's subdir as a path inside the results directory, or None when it would leave it
/// (absolute, `..`): a hostile status log must not make the reader open files elsewhere.
fn contained_subdir(subdir: &str) -> Option<&Path> {
    let p = Path::new(subdir);
    p.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(p)
}

/// Reads a results directory: its status log, job keyvals, each test's keyvals and iterations,
/// and the machine subdirectories of a multi-machine job.
pub(crate) fn read_tree(dir: &Path) -> Result<ResultsData, HarnessError> {
    read_dir_of(dir, true)
}

/// One results directory; machine subdirectories are looked for only at the top (FORMATS §1
/// has no machines inside machines), so a symlink loop cannot make the walk endless.
fn read_dir_of(dir: &Path, with_machines: bool) -> Result<ResultsData, HarnessError> {
    if !dir.exists() {
        return Err(HarnessError::NoDir(dir.to_owned()));
    }
    if !dir.is_dir() {
        return Err(HarnessError::NotADir(dir.to_owned()));
    }
    let log = match status_log_in(dir) {
        Some(p) => Some(read_log_file(&p)?),
        None => None,
    };
    let mut tests = Vec::new();
    let mut test_dirs = HashSet::new();
    if let Some(log) = &log {
        for t in &log.summary.tests {
            let tdir = t
                .subdir
                .as_deref()
                .and_then(contained_subdir)
                .map(|s| dir.join(s));
            if let Some(first) = t
                .subdir
                .as_deref()
                .and_then(contained_subdir)
                .and_then(|s| s.components().next())
            {
                test_dirs.insert(first.as_os_str().to_owned());
            }
            let (keyvals, iterations) = match &tdir {
                Some(d) => (
                    read_keyvals_if_present(&d.join("keyval"))?,
                    read_iterations_if_present(&d.join("results").join("keyval"))?,
                ),
                None => (Vec::new(), Vec::new()),
            };
            tests.push(TestData {
                result: t.clone(),
                dir: tdir.filter(|d| d.is_dir()),
                keyvals,
                iterations,
            });
        }
    }
    let machines = if with_machines {
        read_machines(dir, &test_dirs)?
    } else {
        Vec::new()
    };
    if log.is_none() && machines.is_empty() {
        return Err(HarnessError::NoStatusLog(dir.to_owned()));
    }
    Ok(ResultsData {
        dir: dir.to_owned(),
        job_keyvals: read_keyvals_if_present(&dir.join("keyval"))?,
        log,
        tests,
        machines,
    })
}

/// The machine subdirectories: those holding a status log that are not a test's directory
/// (FORMATS §1: several machines each get `<results>/<hostname>/`). Sorted by name.
fn read_machines(
    dir: &Path,
    test_dirs: &HashSet<std::ffi::OsString>,
) -> Result<Vec<(String, ResultsData)>, HarnessError> {
    let io = |source| HarnessError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let hidden = name.to_string_lossy().starts_with('.');
        if hidden || test_dirs.contains(&name) || !entry.path().is_dir() {
            continue;
        }
        if status_log_in(&entry.path()).is_some() {
            names.push(name);
        }
    }
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let machine = read_dir_of(&dir.join(&name), false)?;
            Ok((name.to_string_lossy().into_owned(), machine))
        })
        .collect()
}

impl ResultsData {
    /// The worst status of this directory's log and every machine's.
    fn status(&self) -> StatusCode {
        let own = self
            .log
            .as_ref()
            .map_or(StatusCode::NoStatus, |l| l.summary.status);
        self.machines
            .iter()
            .fold(own, |acc, (_, m)| acc.worst(m.status()))
    }
}

// ---- the Python objects ----

fn dict<'py, V: IntoPyObject<'py> + Clone>(
    py: Python<'py>,
    pairs: &[(String, V)],
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in pairs {
        d.set_item(k, v.clone())?;
    }
    Ok(d)
}

fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// One line of a status log.
#[pyclass(name = "StatusEntry", frozen, module = "autotest._native")]
pub(crate) struct PyStatusEntry {
    /// 1-based line number in the log.
    #[pyo3(get)]
    line: usize,
    /// Indentation (number of leading TABs).
    #[pyo3(get)]
    depth: usize,
    /// The line's code as written: `START`, `INFO`, `GOOD`, `END FAIL`, ...
    #[pyo3(get)]
    code: String,
    /// `start`, `info`, `status` or `end`.
    #[pyo3(get)]
    kind: &'static str,
    /// The status the line carries (`GOOD`, `FAIL`, ...), or None for START and INFO.
    #[pyo3(get)]
    status: Option<String>,
    #[pyo3(get)]
    subdir: Option<String>,
    #[pyo3(get)]
    operation: Option<String>,
    /// The first line of the message.
    #[pyo3(get)]
    message: String,
    /// Further message lines (written indented by two spaces).
    #[pyo3(get)]
    extra_lines: Vec<String>,
    /// The `timestamp=` field as epoch seconds, if present and numeric.
    #[pyo3(get)]
    timestamp: Option<i64>,
    fields: Vec<(String, String)>,
}

impl PyStatusEntry {
    fn new(pe: &ParsedEntry) -> PyStatusEntry {
        let e = &pe.entry;
        let kind = match e.kind {
            StatusLineKind::Start => "start",
            StatusLineKind::Info => "info",
            StatusLineKind::Status(_) => "status",
            StatusLineKind::End(_) => "end",
        };
        PyStatusEntry {
            line: pe.line,
            depth: pe.depth,
            code: e.kind.to_string(),
            kind,
            status: e.kind.code().map(|c| c.to_string()),
            subdir: e.subdir.clone(),
            operation: e.operation.clone(),
            message: e.message.clone(),
            extra_lines: e.extra_lines.clone(),
            timestamp: e.timestamp(),
            fields: e.fields.clone(),
        }
    }
}

#[pymethods]
impl PyStatusEntry {
    /// The `key=value` fields, in the order written (a new dict each time).
    #[getter]
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict(py, &self.fields)
    }

    /// The whole message: the first line and the extra lines joined by newlines.
    #[getter]
    fn full_message(&self) -> String {
        let mut m = self.message.clone();
        for l in &self.extra_lines {
            m.push('\n');
            m.push_str(l);
        }
        m
    }

    fn __repr__(&self) -> String {
        format!(
            "StatusEntry(line={}, code={:?}, subdir={:?}, operation={:?}, message={:?})",
            self.line, self.code, self.subdir, self.operation, self.message
        )
    }
}

/// A line of a status log that could not be read, or a nesting problem.
#[pyclass(name = "Problem", frozen, module = "autotest._native")]
pub(crate) struct PyProblem {
    /// 1-based line number.
    #[pyo3(get)]
    line: usize,
    /// The line as written.
    #[pyo3(get)]
    text: String,
    /// What is wrong with it.
    #[pyo3(get)]
    reason: String,
    /// The full message: file, line, reason, the line, and the fix.
    #[pyo3(get)]
    message: String,
}

impl PyProblem {
    fn new(p: &ParseProblem, path: Option<&Path>) -> PyProblem {
        let label = path.map_or_else(|| PathBuf::from("<status text>"), Path::to_owned);
        PyProblem {
            line: p.line,
            text: p.text.clone(),
            reason: p.reason.to_string(),
            message: p.clone().into_error(label).to_string(),
        }
    }
}

#[pymethods]
impl PyProblem {
    fn __str__(&self) -> String {
        self.message.clone()
    }

    fn __repr__(&self) -> String {
        format!("Problem(line={}, reason={:?})", self.line, self.reason)
    }
}

/// One iteration of a test: a blank-line separated block of `<test>/results/keyval`.
#[pyclass(name = "Iteration", frozen, module = "autotest._native")]
pub(crate) struct PyIteration {
    /// 1-based iteration number.
    #[pyo3(get)]
    index: usize,
    perf: Vec<(String, f64)>,
    attr: Vec<(String, String)>,
    plain: Vec<(String, String)>,
}

#[pymethods]
impl PyIteration {
    /// `name{perf}=<number>` keyvals as `{name: float}`.
    #[getter]
    fn perf<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict(py, &self.perf)
    }

    /// `name{attr}=<text>` keyvals as `{name: str}`.
    #[getter]
    fn attr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict(py, &self.attr)
    }

    /// Keys without a `{perf}`/`{attr}` tag.
    #[getter]
    fn keyvals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict(py, &self.plain)
    }

    fn __repr__(&self) -> String {
        format!("Iteration(index={}, perf={:?})", self.index, self.perf)
    }
}

/// One test: its result from the status log and, when read from a results tree, its keyvals.
#[pyclass(name = "TestResult", frozen, module = "autotest._native")]
pub(crate) struct PyTestResult {
    /// The test's name (the operation of its START line).
    #[pyo3(get)]
    name: String,
    /// Its results subdirectory, if any.
    #[pyo3(get)]
    subdir: Option<String>,
    /// The rolled-up status: the worst of everything inside the test.
    #[pyo3(get)]
    status: String,
    /// Why: the first message with the test's status (for GOOD usually "completed successfully").
    #[pyo3(get)]
    reason: String,
    /// Epoch seconds of the START line.
    #[pyo3(get)]
    started: Option<i64>,
    /// Epoch seconds of the END line.
    #[pyo3(get)]
    finished: Option<i64>,
    /// The kernel the test ran on, if the log says.
    #[pyo3(get)]
    kernel: Option<String>,
    /// 1-based line of the test's START (or result) line.
    #[pyo3(get)]
    line: usize,
    /// True when the status counts as a failure (anything worse than WARN).
    #[pyo3(get)]
    failed: bool,
    /// The test's directory in the results tree, when it exists (None for a bare status log).
    #[pyo3(get)]
    path: Option<String>,
    keyvals: Vec<(String, String)>,
    iterations: Vec<Py<PyIteration>>,
}

impl PyTestResult {
    fn new(py: Python<'_>, t: &TestResult, data: Option<TestData>) -> PyResult<PyTestResult> {
        let (path, keyvals, iterations) = match data {
            Some(d) => {
                let its = d
                    .iterations
                    .into_iter()
                    .enumerate()
                    .map(|(i, it)| {
                        Py::new(
                            py,
                            PyIteration {
                                index: i + 1,
                                perf: it.perf,
                                attr: it.attr,
                                plain: it.plain,
                            },
                        )
                    })
                    .collect::<PyResult<_>>()?;
                (d.dir.as_deref().map(path_string), d.keyvals, its)
            }
            None => (None, Vec::new(), Vec::new()),
        };
        Ok(PyTestResult {
            name: t.name.clone(),
            subdir: t.subdir.clone(),
            status: t.status.to_string(),
            reason: t.reason.clone(),
            started: t.started,
            finished: t.finished,
            kernel: t.kernel.clone(),
            line: t.line,
            failed: t.status.is_failure(),
            path,
            keyvals,
            iterations,
        })
    }
}

#[pymethods]
impl PyTestResult {
    /// `<subdir>/keyval` (the test's own keyvals, such as `version`).
    #[getter]
    fn keyvals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict(py, &self.keyvals)
    }

    /// The iterations of `<subdir>/results/keyval`, in order.
    #[getter]
    fn iterations(&self, py: Python<'_>) -> Vec<Py<PyIteration>> {
        self.iterations.iter().map(|i| i.clone_ref(py)).collect()
    }

    /// Seconds from START to END, when both carry timestamps.
    #[getter]
    fn duration(&self) -> Option<i64> {
        Some(self.finished? - self.started?)
    }

    fn __repr__(&self) -> String {
        format!(
            "TestResult(name={:?}, status={:?}, reason={:?})",
            self.name, self.status, self.reason
        )
    }
}

/// A parsed status log: every entry with its line, the problems found, and the per-test summary.
#[pyclass(name = "StatusLog", frozen, module = "autotest._native")]
pub(crate) struct PyStatusLog {
    /// The file read, or None for text.
    #[pyo3(get)]
    path: Option<String>,
    /// The job's status: the worst of everything in the log (NOSTATUS when empty).
    #[pyo3(get)]
    status: String,
    /// The kernel of the last successful reboot, if any.
    #[pyo3(get)]
    kernel: Option<String>,
    /// Groups still open at the end (each counts as ABORT).
    #[pyo3(get)]
    open_groups: usize,
    /// Number of lines in the log.
    #[pyo3(get)]
    lines: usize,
    entries: Vec<Py<PyStatusEntry>>,
    problems: Vec<Py<PyProblem>>,
    tests: Vec<Py<PyTestResult>>,
}

impl PyStatusLog {
    fn new(py: Python<'_>, data: &LogData, tests: Vec<Py<PyTestResult>>) -> PyResult<Self> {
        let path = data.path.as_deref();
        Ok(PyStatusLog {
            path: path.map(path_string),
            status: data.summary.status.to_string(),
            kernel: data.summary.kernel.clone(),
            open_groups: data.summary.open_groups,
            lines: data.log.lines,
            entries: data
                .log
                .entries
                .iter()
                .map(|e| Py::new(py, PyStatusEntry::new(e)))
                .collect::<PyResult<_>>()?,
            problems: data
                .summary
                .problems
                .iter()
                .map(|p| Py::new(py, PyProblem::new(p, path)))
                .collect::<PyResult<_>>()?,
            tests,
        })
    }

    /// A log alone: its tests carry no keyvals.
    pub(crate) fn from_data(py: Python<'_>, data: &LogData) -> PyResult<Self> {
        let tests = data
            .summary
            .tests
            .iter()
            .map(|t| Py::new(py, PyTestResult::new(py, t, None)?))
            .collect::<PyResult<_>>()?;
        PyStatusLog::new(py, data, tests)
    }
}

#[pymethods]
impl PyStatusLog {
    /// Every entry, in log order.
    #[getter]
    fn entries(&self, py: Python<'_>) -> Vec<Py<PyStatusEntry>> {
        self.entries.iter().map(|e| e.clone_ref(py)).collect()
    }

    /// Lines that could not be read and nesting problems, by line. Never raised: see strict().
    #[getter]
    fn problems(&self, py: Python<'_>) -> Vec<Py<PyProblem>> {
        self.problems.iter().map(|e| e.clone_ref(py)).collect()
    }

    /// The tests, in the order they started.
    #[getter]
    fn tests(&self, py: Python<'_>) -> Vec<Py<PyTestResult>> {
        self.tests.iter().map(|e| e.clone_ref(py)).collect()
    }

    /// How many tests did not pass.
    #[getter]
    fn failed(&self, py: Python<'_>) -> usize {
        self.tests
            .iter()
            .filter(|t| t.bind(py).get().failed)
            .count()
    }

    /// Returns the log itself when it has no problems; raises StatusLogError naming the file
    /// and line of the first problem otherwise.
    fn strict(slf: Py<Self>, py: Python<'_>) -> PyResult<Py<Self>> {
        let me = slf.bind(py).get();
        let Some(first) = me.problems.first() else {
            return Ok(slf);
        };
        let mut msg = first.bind(py).get().message.clone();
        if me.problems.len() > 1 {
            msg.push_str(&format!(" (and {} more problems)", me.problems.len() - 1));
        }
        Err(StatusLogError::new_err(msg))
    }

    fn __repr__(&self) -> String {
        format!(
            "StatusLog(path={:?}, status={:?}, tests={}, problems={})",
            self.path,
            self.status,
            self.tests.len(),
            self.problems.len()
        )
    }
}

/// A results directory: its status log, job keyvals, tests with their keyvals, and machines.
#[pyclass(name = "Results", frozen, module = "autotest._native")]
pub(crate) struct PyResults {
    /// The results directory.
    #[pyo3(get)]
    path: String,
    /// The worst status of this directory's log and every machine's.
    #[pyo3(get)]
    status: String,
    log: Option<Py<PyStatusLog>>,
    job_keyvals: Vec<(String, String)>,
    tests: Vec<Py<PyTestResult>>,
    machines: Vec<(String, Py<PyResults>)>,
}

impl PyResults {
    pub(crate) fn from_data(py: Python<'_>, data: ResultsData) -> PyResult<PyResults> {
        let status = data.status().to_string();
        let mut tests = Vec::with_capacity(data.tests.len());
        let mut test_data = data.tests;
        // Each summary test has exactly one TestData, built in the same order.
        for d in test_data.drain(..) {
            let result = d.result.clone();
            tests.push(Py::new(py, PyTestResult::new(py, &result, Some(d))?)?);
        }
        let log = match &data.log {
            Some(l) => {
                let shared = tests.iter().map(|t| t.clone_ref(py)).collect();
                Some(Py::new(py, PyStatusLog::new(py, l, shared)?)?)
            }
            None => None,
        };
        let machines = data
            .machines
            .into_iter()
            .map(|(name, m)| Ok((name, Py::new(py, PyResults::from_data(py, m)?)?)))
            .collect::<PyResult<_>>()?;
        Ok(PyResults {
            path: path_string(&data.dir),
            status,
            log,
            job_keyvals: data.job_keyvals,
            tests,
            machines,
        })
    }
}

#[pymethods]
impl PyResults {
    /// The directory's status log (None for a multi-machine job whose logs are per machine).
    #[getter]
    fn log(&self, py: Python<'_>) -> Option<Py<PyStatusLog>> {
        self.log.as_ref().map(|l| l.clone_ref(py))
    }

    /// `<results>/keyval`: job keyvals such as `job_started`, `user`, `status_version`.
    #[getter]
    fn job_keyvals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict(py, &self.job_keyvals)
    }

    /// The tests of this directory's status log (a machine's tests are in `machines`).
    #[getter]
    fn tests(&self, py: Python<'_>) -> Vec<Py<PyTestResult>> {
        self.tests.iter().map(|e| e.clone_ref(py)).collect()
    }

    /// Machine subdirectories by hostname, sorted (empty for a single-machine job).
    #[getter]
    fn machines<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, m) in &self.machines {
            d.set_item(name, m.clone_ref(py))?;
        }
        Ok(d)
    }

    /// The kernel of the last successful reboot in this directory's log, if any.
    #[getter]
    fn kernel(&self, py: Python<'_>) -> Option<String> {
        self.log
            .as_ref()
            .and_then(|l| l.bind(py).get().kernel.clone())
    }

    /// The status log's problems (a machine's are in its own Results).
    #[getter]
    fn problems(&self, py: Python<'_>) -> Vec<Py<PyProblem>> {
        self.log
            .as_ref()
            .map(|l| l.bind(py).get().problems(py))
            .unwrap_or_default()
    }

    /// Tests that did not pass, here and on every machine.
    #[getter]
    fn failed(&self, py: Python<'_>) -> usize {
        let own = self
            .tests
            .iter()
            .filter(|t| t.bind(py).get().failed)
            .count();
        own + self
            .machines
            .iter()
            .map(|(_, m)| m.bind(py).get().failed(py))
            .sum::<usize>()
    }

    fn __repr__(&self) -> String {
        format!(
            "Results(path={:?}, status={:?}, tests={}, machines={})",
            self.path,
            self.status,
            self.tests.len(),
            self.machines.len()
        )
    }
}

/// Parses a status log file (or the status log of a results directory).
#[pyfunction]
pub(crate) fn parse_status_file(py: Python<'_>, path: PathBuf) -> PyResult<PyStatusLog> {
    let data = py.detach(|| read_log_file(&path))?;
    PyStatusLog::from_data(py, &data)
}

/// Parses status log text.
#[pyfunction]
pub(crate) fn parse_status_text(py: Python<'_>, text: &str) -> PyResult<PyStatusLog> {
    let data = parse_log_text(text);
    PyStatusLog::from_data(py, &data)
}

/// Reads a results directory.
#[pyfunction]
pub(crate) fn read_results(py: Python<'_>, path: PathBuf) -> PyResult<PyResults> {
    let data = py.detach(|| read_tree(&path))?;
    PyResults::from_data(py, data)
}

/// The status codes, worst first (the order a job's status is rolled up in).
#[pyfunction]
pub(crate) fn status_codes() -> Vec<&'static str> {
    StatusCode::ALL.iter().map(|c| c.as_str()).collect()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyStatusEntry>()?;
    m.add_class::<PyProblem>()?;
    m.add_class::<PyIteration>()?;
    m.add_class::<PyTestResult>()?;
    m.add_class::<PyStatusLog>()?;
    m.add_class::<PyResults>()?;
    m.add_function(wrap_pyfunction!(parse_status_file, m)?)?;
    m.add_function(wrap_pyfunction!(parse_status_text, m)?)?;
    m.add_function(wrap_pyfunction!(read_results, m)?)?;
    m.add_function(wrap_pyfunction!(status_codes, m)?)?;
    m.add("ResultsError", m.py().get_type::<ResultsError>())?;
    m.add(
        "ResultsNotFoundError",
        m.py().get_type::<ResultsNotFoundError>(),
    )?;
    m.add("StatusLogError", m.py().get_type::<StatusLogError>())?;
    Ok(())
}
