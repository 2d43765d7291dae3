//! The lab database for Python (`autotest.lab`): the store's calls (`autotest_core::store`) on
//! one tokio runtime per open lab, every one of them with the GIL released.
//!
//! Rows come back as plain dicts (their keys typed in `_native.pyi`); `autotest/lab.py` turns
//! them into the public objects. Timestamps stay UTC epoch seconds here.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};

use autotest_core::GlobalConfig;
use autotest_core::config::ConfigError;
use autotest_core::store::{
    self, ControlType, EntryStatus, Host, HostStatus, Label, NewJob, NewLabel, QueueEntry,
    RebootAfter, RebootBefore, Store, StoreError,
};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use tokio::runtime::Runtime;

create_exception!(
    _native,
    LabError,
    PyException,
    "The lab database refused or failed a request; the message says what and how to fix it."
);
create_exception!(
    _native,
    NotFoundError,
    LabError,
    "A host, label or job that was named does not exist in the lab database."
);
create_exception!(
    _native,
    RefusedError,
    LabError,
    "The lab database refused a request as given (a bad value, a host locked already, ...)."
);
create_exception!(
    _native,
    SchemaError,
    LabError,
    "The lab database's schema is not this build's (migrate it, or use a newer autotest)."
);

/// Why a lab request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LabFailure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("cannot read control file {}: {source}: give the path of a readable control file, or its text as control=", path.display())]
    ControlFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} {value:?} is not one of {expected}")]
    BadChoice {
        what: &'static str,
        value: String,
        expected: String,
    },
    #[error("cannot start the lab's tokio runtime: {0}")]
    Runtime(std::io::Error),
}

impl From<LabFailure> for PyErr {
    fn from(e: LabFailure) -> PyErr {
        let msg = e.to_string();
        match e {
            LabFailure::Store(StoreError::NotFound { .. } | StoreError::UnknownNames { .. }) => {
                NotFoundError::new_err(msg)
            }
            LabFailure::Store(StoreError::NewerSchema { .. } | StoreError::OlderSchema { .. }) => {
                SchemaError::new_err(msg)
            }
            LabFailure::Store(
                StoreError::Invalid(_) | StoreError::BadValue { .. } | StoreError::BadUrl { .. },
            )
            | LabFailure::BadChoice { .. }
            | LabFailure::ControlFile { .. } => RefusedError::new_err(msg),
            _ => LabError::new_err(msg),
        }
    }
}

type LabResult<T> = Result<T, LabFailure>;

/// `text` as one of an enum's stored values, also written the CLI's way (`if_dirty` for
/// "If dirty").
fn choice<T: Copy>(
    what: &'static str,
    text: &str,
    all: &[T],
    as_str: fn(T) -> &'static str,
) -> LabResult<T> {
    let cli = |s: &str| s.to_ascii_lowercase().replace([' ', '-'], "_");
    all.iter()
        .copied()
        .find(|v| as_str(*v) == text || cli(as_str(*v)) == cli(text))
        .ok_or_else(|| LabFailure::BadChoice {
            what,
            value: text.to_owned(),
            expected: all
                .iter()
                .map(|v| cli(as_str(*v)))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Builds a dict from `key => value` pairs.
macro_rules! pydict {
    ($py:expr, { $($k:literal => $v:expr),* $(,)? }) => {{
        let d = PyDict::new($py);
        $(d.set_item($k, $v)?;)*
        d
    }};
}

/// A host with its labels and attributes.
struct HostRow {
    host: Host,
    labels: Vec<String>,
    attributes: Vec<(String, String)>,
}

impl HostRow {
    async fn read(store: &Store, host: Host) -> LabResult<HostRow> {
        let labels = store
            .host_labels(&host.hostname)
            .await?
            .into_iter()
            .map(|l| l.name)
            .collect();
        let attributes = store.host_attributes(&host.hostname).await?;
        Ok(HostRow {
            host,
            labels,
            attributes,
        })
    }

    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let h = &self.host;
        Ok(pydict!(py, {
            "id" => h.id,
            "hostname" => h.hostname.as_str(),
            "status" => h.status.as_str(),
            "locked" => h.locked,
            "locked_by" => h.locked_by.as_deref(),
            "lock_time" => h.lock_time,
            "dirty" => h.dirty,
            "protection" => h.protection.as_str(),
            "created_on" => h.created_on,
            "labels" => self.labels.clone(),
            "attributes" => self.attributes.clone(),
        }))
    }
}

fn label_to_py<'py>(py: Python<'py>, l: &Label) -> PyResult<Bound<'py, PyDict>> {
    Ok(pydict!(py, {
        "id" => l.id,
        "name" => l.name.as_str(),
        "platform" => l.platform,
        "only_if_needed" => l.only_if_needed,
    }))
}

fn job_to_py<'py>(py: Python<'py>, j: &store::Job) -> PyResult<Bound<'py, PyDict>> {
    Ok(pydict!(py, {
        "id" => j.id,
        "owner" => j.owner.as_str(),
        "name" => j.name.as_str(),
        "priority" => j.priority,
        "control_file" => j.control_file.as_str(),
        "control_type" => j.control_type.as_str(),
        "synch_count" => j.synch_count,
        "timeout_hrs" => j.timeout_hrs,
        "max_runtime_hrs" => j.max_runtime_hrs,
        "run_verify" => j.run_verify,
        "reboot_before" => j.reboot_before.as_str(),
        "reboot_after" => j.reboot_after.as_str(),
        "email_list" => j.email_list.as_str(),
        "dependencies" => j.dependencies.clone(),
        "keyvals" => j.keyvals.clone(),
        "created_on" => j.created_on,
    }))
}

/// A queue entry with its host and metahost label by name and its abort.
struct EntryRow {
    entry: QueueEntry,
    host: Option<String>,
    meta_host: Option<String>,
    abort: Option<(String, i64)>,
}

impl EntryRow {
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let e = &self.entry;
        Ok(pydict!(py, {
            "id" => e.id,
            "job_id" => e.job_id,
            "host" => self.host.as_deref(),
            "meta_host" => self.meta_host.as_deref(),
            "status" => e.status.as_str(),
            "active" => e.active,
            "complete" => e.complete,
            "aborted" => e.aborted,
            "aborted_by" => self.abort.as_ref().map(|a| a.0.as_str()),
            "aborted_on" => self.abort.as_ref().map(|a| a.1),
            "execution_subdir" => e.execution_subdir.as_str(),
            "started_on" => e.started_on,
            "finished_on" => e.finished_on,
        }))
    }
}

async fn read_entries(store: &Store, job_id: i64) -> LabResult<Vec<EntryRow>> {
    store.job(job_id).await?;
    let entries = store.queue_entries(job_id).await?;
    let mut hosts: HashMap<i64, String> = HashMap::new();
    let mut labels: Option<HashMap<i64, String>> = None;
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let host = match entry.host_id {
            Some(id) => {
                if let Some(name) = hosts.get(&id) {
                    Some(name.clone())
                } else {
                    // By id: a deleted host still names the entries that ran on it.
                    let name = store.host_by_id(id).await?.hostname;
                    hosts.insert(id, name.clone());
                    Some(name)
                }
            }
            None => None,
        };
        let meta_host = match entry.meta_host {
            Some(id) => {
                if labels.is_none() {
                    let all = store.labels().await?;
                    labels = Some(all.into_iter().map(|l| (l.id, l.name)).collect());
                }
                let name = labels.as_ref().and_then(|m| m.get(&id)).cloned();
                // A label deleted since: still say which one it was.
                Some(name.unwrap_or_else(|| format!("(deleted label {id})")))
            }
            None => None,
        };
        let abort = if entry.aborted {
            store.entry_abort(entry.id).await?
        } else {
            None
        };
        out.push(EntryRow {
            entry,
            host,
            meta_host,
            abort,
        });
    }
    Ok(out)
}

/// One parsed test with its attributes and iterations.
struct TestRow {
    job_tag: String,
    test: store::TkoTest,
    attributes: Vec<(String, String)>,
    iterations: Vec<store::TkoIteration>,
}

impl TestRow {
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = &self.test;
        let iterations = PyList::empty(py);
        for it in &self.iterations {
            iterations.append(pydict!(py, {
                "iteration" => it.iteration,
                "perf" => it.perf.clone(),
                "attr" => it.attr.clone(),
            }))?;
        }
        Ok(pydict!(py, {
            "id" => t.test_idx,
            "job_tag" => self.job_tag.as_str(),
            "name" => t.test.as_str(),
            "subdir" => t.subdir.as_str(),
            "status" => t.status.as_str(),
            "reason" => t.reason.as_str(),
            "kernel" => t.kernel.as_deref(),
            "machine" => t.machine.as_str(),
            "started" => t.started,
            "finished" => t.finished,
            "attributes" => self.attributes.clone(),
            "iterations" => iterations,
        }))
    }
}

async fn read_tests(store: &Store, job_id: i64) -> LabResult<Vec<TestRow>> {
    store.job(job_id).await?;
    let mut out = Vec::new();
    for tko in store.tko_jobs_of_afe_job(job_id).await? {
        for test in store.tko_tests(tko.job_idx).await? {
            let attributes = store.tko_test_attributes(test.test_idx).await?;
            let iterations = store.tko_iterations(test.test_idx).await?;
            out.push(TestRow {
                job_tag: tko.tag.clone(),
                test,
                attributes,
                iterations,
            });
        }
    }
    Ok(out)
}

/// An open lab database (native part of `autotest.lab.Lab`).
#[pyclass(name = "LabStore", module = "autotest._native", frozen)]
pub(crate) struct PyLabStore {
    // Fields drop in order: the pool goes while its runtime still runs.
    store: Store,
    rt: Runtime,
}

impl PyLabStore {
    /// Runs a store call on the lab's runtime with the GIL released.
    fn call<T, F, Fut>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(Store) -> Fut + Send,
        Fut: Future<Output = LabResult<T>>,
    {
        let store = self.store.clone();
        let rt = &self.rt;
        Ok(py.detach(move || rt.block_on(f(store)))?)
    }
}

fn config_of(dir: Option<&Path>) -> LabResult<Option<GlobalConfig>> {
    let Some(dir) = dir else { return Ok(None) };
    Ok(Some(GlobalConfig::load(
        dir.join("global_config.ini"),
        Some(&dir.join("shadow_config.ini")),
    )?))
}

#[pymethods]
impl PyLabStore {
    /// Opens the lab database: `url`, else `AUTOTEST_DB`, else `[AUTOTEST_WEB]` of
    /// `<config_dir>/global_config.ini`, else the default SQLite file (the CLI's resolution).
    /// `migrate` creates or upgrades the schema first.
    #[staticmethod]
    #[pyo3(signature = (url=None, config_dir=None, migrate=false))]
    fn open(
        py: Python<'_>,
        url: Option<String>,
        config_dir: Option<PathBuf>,
        migrate: bool,
    ) -> PyResult<PyLabStore> {
        let opened = py.detach(move || -> LabResult<(Runtime, Store)> {
            let config = config_of(config_dir.as_deref())?;
            let url = store::resolve_db(url.as_deref(), config.as_ref())?;
            // One worker drives the pool's connections; calls run on the calling thread.
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("autotest-lab")
                .enable_all()
                .build()
                .map_err(LabFailure::Runtime)?;
            let store = rt.block_on(async {
                if migrate {
                    Store::migrate(&url).await.map(|(s, _)| s)
                } else {
                    Store::open(&url).await
                }
            })?;
            Ok((rt, store))
        })?;
        Ok(PyLabStore {
            store: opened.1,
            rt: opened.0,
        })
    }

    /// Where the database is (passwords hidden).
    #[getter]
    fn url(&self) -> String {
        self.store.url().to_string()
    }

    /// "sqlite" or "postgresql".
    #[getter]
    fn backend(&self) -> &'static str {
        match self.store.url().backend() {
            store::Backend::Sqlite => "sqlite",
            store::Backend::Postgres => "postgresql",
        }
    }

    /// The schema version recorded in the database.
    fn schema_version(&self, py: Python<'_>) -> PyResult<i64> {
        self.call(py, |s| async move { Ok(s.schema_version().await?) })
    }

    /// Closes every connection (later calls fail).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, |s| async move {
            s.close().await;
            Ok(())
        })
    }

    // ---- hosts ----

    /// Adds a host with labels (which must exist), locked by `by` when `locked`.
    #[pyo3(signature = (hostname, labels, locked, by))]
    fn create_host<'py>(
        &self,
        py: Python<'py>,
        hostname: String,
        labels: Vec<String>,
        locked: bool,
        by: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let row = self.call(py, |s| async move {
            // Unknown labels are refused before the host exists.
            for l in &labels {
                s.label_named(l).await?;
            }
            let host = s.create_host(&hostname).await?;
            for l in &labels {
                s.add_host_label(&host.hostname, l).await?;
            }
            let host = if locked {
                s.lock_host(&host.hostname, &by, now()).await?
            } else {
                host
            };
            HostRow::read(&s, host).await
        })?;
        row.to_py(py)
    }

    /// A host by name (NotFoundError when there is none).
    fn host<'py>(&self, py: Python<'py>, hostname: String) -> PyResult<Bound<'py, PyDict>> {
        let row = self.call(py, |s| async move {
            let host = s.host_named(&hostname).await?;
            HostRow::read(&s, host).await
        })?;
        row.to_py(py)
    }

    /// The hosts, by name: with `label`, in `status`, locked or unlocked.
    #[pyo3(signature = (label=None, status=None, locked=None))]
    fn hosts<'py>(
        &self,
        py: Python<'py>,
        label: Option<String>,
        status: Option<String>,
        locked: Option<bool>,
    ) -> PyResult<Bound<'py, PyList>> {
        let rows = self.call(py, |s| async move {
            let status = status
                .map(|t| choice("host status", &t, HostStatus::ALL, HostStatus::as_str))
                .transpose()?;
            let hosts = match &label {
                Some(l) => s.hosts_with_label(l).await?,
                None => s.hosts().await?,
            };
            let mut out = Vec::new();
            for h in hosts {
                if status.is_some_and(|st| st != h.status) || locked.is_some_and(|l| l != h.locked)
                {
                    continue;
                }
                out.push(HostRow::read(&s, h).await?);
            }
            Ok(out)
        })?;
        let list = PyList::empty(py);
        for r in &rows {
            list.append(r.to_py(py)?)?;
        }
        Ok(list)
    }

    /// Locks a host for `by` (RefusedError when it is locked already, naming who holds it).
    fn lock_host<'py>(
        &self,
        py: Python<'py>,
        hostname: String,
        by: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let row = self.call(py, |s| async move {
            let host = s.lock_host(&hostname, &by, now()).await?;
            HostRow::read(&s, host).await
        })?;
        row.to_py(py)
    }

    /// Unlocks a host.
    fn unlock_host<'py>(&self, py: Python<'py>, hostname: String) -> PyResult<Bound<'py, PyDict>> {
        let row = self.call(py, |s| async move {
            let host = s.unlock_host(&hostname).await?;
            HostRow::read(&s, host).await
        })?;
        row.to_py(py)
    }

    /// Deletes a host (its jobs' history keeps naming it).
    fn delete_host(&self, py: Python<'_>, hostname: String) -> PyResult<()> {
        self.call(py, |s| async move { Ok(s.delete_host(&hostname).await?) })
    }

    // ---- labels ----

    /// Creates a label.
    fn create_label<'py>(
        &self,
        py: Python<'py>,
        name: String,
        platform: bool,
        only_if_needed: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let label = self.call(py, |s| async move {
            let mut new = NewLabel::new(name);
            new.platform = platform;
            new.only_if_needed = only_if_needed;
            Ok(s.create_label(&new).await?)
        })?;
        label_to_py(py, &label)
    }

    /// A label by name.
    fn label<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyDict>> {
        let label = self.call(py, |s| async move { Ok(s.label_named(&name).await?) })?;
        label_to_py(py, &label)
    }

    /// Every label, by name.
    fn labels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let labels = self.call(py, |s| async move { Ok(s.labels().await?) })?;
        let list = PyList::empty(py);
        for l in &labels {
            list.append(label_to_py(py, l)?)?;
        }
        Ok(list)
    }

    /// Gives `hosts` the label; every host and the label must exist (checked first).
    fn add_label(&self, py: Python<'_>, label: String, hosts: Vec<String>) -> PyResult<()> {
        self.call(py, |s| async move {
            s.label_named(&label).await?;
            for h in &hosts {
                s.host_named(h).await?;
            }
            for h in &hosts {
                s.add_host_label(h, &label).await?;
            }
            Ok(())
        })
    }

    /// Takes the label off `hosts`.
    fn remove_label(&self, py: Python<'_>, label: String, hosts: Vec<String>) -> PyResult<()> {
        self.call(py, |s| async move {
            s.label_named(&label).await?;
            for h in &hosts {
                s.host_named(h).await?;
            }
            for h in &hosts {
                s.remove_host_label(h, &label).await?;
            }
            Ok(())
        })
    }

    /// Deletes a label (taken off every host).
    fn delete_label(&self, py: Python<'_>, name: String) -> PyResult<()> {
        self.call(py, |s| async move { Ok(s.delete_label(&name).await?) })
    }

    // ---- jobs ----

    /// Creates a job through the core's `Store::create_job` (and its checks). The control
    /// file is `control` (text) or read from `control_path`.
    #[pyo3(signature = (name, owner, control, control_path, server, hosts, meta_hosts, dependencies, synch_count, priority, timeout_hrs, max_runtime_hrs, run_verify, reboot_before, reboot_after, email_list, keyvals))]
    #[allow(clippy::too_many_arguments)]
    fn create_job<'py>(
        &self,
        py: Python<'py>,
        name: String,
        owner: String,
        control: Option<String>,
        control_path: Option<PathBuf>,
        server: bool,
        hosts: Vec<String>,
        meta_hosts: Vec<String>,
        dependencies: Vec<String>,
        synch_count: i64,
        priority: i64,
        timeout_hrs: Option<i64>,
        max_runtime_hrs: Option<i64>,
        run_verify: Option<bool>,
        reboot_before: Option<String>,
        reboot_after: Option<String>,
        email_list: Option<String>,
        keyvals: Vec<(String, String)>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let job = self.call(py, |s| async move {
            let text = match (control, &control_path) {
                (Some(text), _) => text,
                (None, Some(path)) => tokio::fs::read_to_string(path).await.map_err(|source| {
                    LabFailure::ControlFile {
                        path: path.clone(),
                        source,
                    }
                })?,
                (None, None) => String::new(),
            };
            let kind = if server {
                ControlType::Server
            } else {
                ControlType::Client
            };
            // `new` then fields: what `new` adds later keeps its default here.
            let mut new = NewJob::new(owner, name, text, kind);
            new.hosts = hosts;
            new.meta_hosts = meta_hosts;
            new.dependencies = dependencies;
            new.synch_count = synch_count;
            new.priority = priority;
            new.keyvals = keyvals;
            if let Some(t) = timeout_hrs {
                new.timeout_hrs = t;
            }
            if let Some(t) = max_runtime_hrs {
                new.max_runtime_hrs = t;
            }
            if let Some(v) = run_verify {
                new.run_verify = v;
            }
            if let Some(r) = reboot_before {
                new.reboot_before =
                    choice("reboot_before", &r, RebootBefore::ALL, RebootBefore::as_str)?;
            }
            if let Some(r) = reboot_after {
                new.reboot_after =
                    choice("reboot_after", &r, RebootAfter::ALL, RebootAfter::as_str)?;
            }
            if let Some(e) = email_list {
                new.email_list = e;
            }
            Ok(s.create_job(&new).await?)
        })?;
        job_to_py(py, &job)
    }

    /// A job by id.
    fn job<'py>(&self, py: Python<'py>, id: i64) -> PyResult<Bound<'py, PyDict>> {
        let job = self.call(py, |s| async move { Ok(s.job(id).await?) })?;
        job_to_py(py, &job)
    }

    /// The jobs, oldest first: of `owner` only, and only those with entries not complete
    /// when `running`.
    #[pyo3(signature = (owner=None, running=false))]
    fn jobs<'py>(
        &self,
        py: Python<'py>,
        owner: Option<String>,
        running: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let jobs = self.call(py, |s| async move {
            let mut out = Vec::new();
            for id in s.job_ids().await? {
                let job = s.job(id).await?;
                if owner.as_ref().is_some_and(|o| *o != job.owner) {
                    continue;
                }
                if running && s.queue_entries(id).await?.iter().all(|e| e.complete) {
                    continue;
                }
                out.push(job);
            }
            Ok(out)
        })?;
        let list = PyList::empty(py);
        for j in &jobs {
            list.append(job_to_py(py, j)?)?;
        }
        Ok(list)
    }

    /// A job's host queue entries, in creation order.
    fn entries<'py>(&self, py: Python<'py>, job_id: i64) -> PyResult<Bound<'py, PyList>> {
        let rows = self.call(py, |s| async move { read_entries(&s, job_id).await })?;
        let list = PyList::empty(py);
        for r in &rows {
            list.append(r.to_py(py)?)?;
        }
        Ok(list)
    }

    /// Aborts every entry of a job not complete yet, as `by`; returns how many.
    fn abort_job(&self, py: Python<'_>, job_id: i64, by: String) -> PyResult<u64> {
        self.call(
            py,
            |s| async move { Ok(s.abort_job(job_id, &by, now()).await?) },
        )
    }

    /// The parsed tests of a job (every machine's), in log order.
    fn tests<'py>(&self, py: Python<'py>, job_id: i64) -> PyResult<Bound<'py, PyList>> {
        let rows = self.call(py, |s| async move { read_tests(&s, job_id).await })?;
        let list = PyList::empty(py);
        for r in &rows {
            list.append(r.to_py(py)?)?;
        }
        Ok(list)
    }

    /// Parses a job's results directory into the results tables (`autotest parse`): returns
    /// `(jobs, problems)`, jobs as dicts, problems as "file:line: message" texts.
    fn parse<'py>(
        &self,
        py: Python<'py>,
        results_dir: PathBuf,
    ) -> PyResult<(Bound<'py, PyList>, Vec<String>)> {
        let report = self.call(
            py,
            |s| async move { Ok(s.parse_results(&results_dir).await?) },
        )?;
        let jobs = PyList::empty(py);
        for j in &report.jobs {
            jobs.append(pydict!(py, {
                "tag" => j.tag.as_str(),
                "job_idx" => j.job_idx,
                "machine" => j.machine.as_str(),
                "status" => j.status.as_str(),
                "tests" => j.tests,
            }))?;
        }
        let problems = report.problems.iter().map(|p| p.to_string()).collect();
        Ok((jobs, problems))
    }

    /// The host queue entry states, in order (for `Job.status()` counts).
    #[staticmethod]
    fn entry_states() -> Vec<(&'static str, bool)> {
        EntryStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.is_complete()))
            .collect()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Adds the lab classes and exceptions to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PyLabStore>()?;
    m.add("LabError", py.get_type::<LabError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("RefusedError", py.get_type::<RefusedError>())?;
    m.add("SchemaError", py.get_type::<SchemaError>())?;
    Ok(())
}
