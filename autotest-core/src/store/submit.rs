//! What a job must pass to be created, in the one path every front end takes
//! ([`Store::create_job`]): the control file compiles (checked by the client runner's own Python
//! code, so the message is the one `autotest run` gives), every host and label it names exists,
//! and its synch_count can be met. Also atest's host spec (`-m`, `-M`, `-b`) and priorities.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use sqlx::Row;
use tokio::io::AsyncWriteExt;

use super::Store;
use super::error::StoreError;
use super::jobs::NewJob;
use super::jobs::read_err;

/// The Python module that checks a control file (`python3 -m <module> <name> < control`).
pub const CHECK_CONTROL_MODULE: &str = "autotest.client.check_control";

/// The interpreter the client job runner uses: `$AUTOTEST_PYTHON`, else `python3`.
pub fn client_python() -> String {
    std::env::var("AUTOTEST_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".to_owned())
}

/// Who is asking, as Python's `getpass.getuser()` (atest's owner): `LOGNAME`, `USER`, `LNAME`,
/// `USERNAME`, else the password entry of the real uid, else the uid.
pub fn current_user() -> String {
    for var in ["LOGNAME", "USER", "LNAME", "USERNAME"] {
        if let Ok(v) = std::env::var(var)
            && !v.is_empty()
        {
            return v;
        }
    }
    // SAFETY: getpwuid returns a pointer into static storage or null; the name is copied out
    // at once.
    unsafe {
        let uid = libc::getuid();
        let pw = libc::getpwuid(uid);
        if !pw.is_null() && !(*pw).pw_name.is_null() {
            return std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned();
        }
        uid.to_string()
    }
}

/// Reads a control file for a job, refusing what is not a readable regular UTF-8 file (a FIFO
/// would hang, a device never ends).
pub fn read_control_file(path: &Path) -> Result<String, StoreError> {
    let err = |problem: String| StoreError::ControlFile {
        path: path.to_owned(),
        problem,
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| err(format!("{e}: give the path of a control file")))?;
    if !meta.is_file() {
        return Err(err(format!(
            "it is a {}, not a regular file: give the path of a control file",
            crate::status::file_kind(&meta.file_type())
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| err(format!("{e}: check its permissions")))?;
    String::from_utf8(bytes).map_err(|e| {
        err(format!(
            "byte {} is not UTF-8: save the control file as UTF-8 text",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// A job's priority by its legacy name (atest's `-p`), stored as the legacy number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// 0.
    Low,
    /// 1 (atest's default).
    Medium,
    /// 2.
    High,
    /// 3.
    Urgent,
}

impl Priority {
    /// The names, in order.
    pub const NAMES: &'static str = "low, medium, high, urgent";

    /// The value of a name (any case).
    pub fn parse(name: &str) -> Result<Priority, StoreError> {
        match name.to_ascii_lowercase().as_str() {
            "low" => Ok(Priority::Low),
            "medium" => Ok(Priority::Medium),
            "high" => Ok(Priority::High),
            "urgent" => Ok(Priority::Urgent),
            _ => Err(StoreError::BadValue {
                column: "priority",
                value: name.to_owned(),
                expected: Priority::NAMES,
            }),
        }
    }

    /// The stored (legacy) number.
    pub fn number(self) -> i64 {
        match self {
            Priority::Low => 0,
            Priority::Medium => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }
}

/// The hosts of a job as atest gives them: `-m host1,host2,2*label`, `-M file`, `-b labels`.
/// Specific hosts are kept once each, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSpec {
    /// Specific hosts.
    pub hosts: Vec<String>,
    /// One metahost entry per item (`2*x86` gives two).
    pub meta_hosts: Vec<String>,
    /// Labels whose every host becomes a specific host.
    pub label_hosts: Vec<String>,
}

impl HostSpec {
    /// Adds a `-m` list: comma-separated hosts and `N*label` items; `origin` is named in errors.
    pub fn add_list(&mut self, text: &str, origin: &str) -> Result<(), StoreError> {
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            self.add_item(item, origin)?;
        }
        Ok(())
    }

    fn add_item(&mut self, item: &str, origin: &str) -> Result<(), StoreError> {
        let bad = |problem: &str| StoreError::HostSpec {
            origin: origin.to_owned(),
            item: item.to_owned(),
            problem: problem.to_owned(),
        };
        if let Some((count, label)) = item.split_once('*') {
            let n: usize = count.trim().parse().map_err(|_| {
                bad("N*label needs a whole number N of metahost entries (e.g. 2*x86)")
            })?;
            let label = label.trim();
            if n == 0 {
                return Err(bad("N*label needs N of at least 1 (e.g. 1*x86)"));
            }
            if label.is_empty() || label.contains('*') {
                return Err(bad("N*label needs one label name after the * (e.g. 2*x86)"));
            }
            self.meta_hosts
                .extend(std::iter::repeat_n(label.to_owned(), n));
            return Ok(());
        }
        if item.chars().any(char::is_whitespace) {
            return Err(bad(
                "a host name has no spaces: separate hosts with commas (-m h1,h2)",
            ));
        }
        if !self.hosts.iter().any(|h| h == item) {
            self.hosts.push(item.to_owned());
        }
        Ok(())
    }

    /// Adds the hosts of a `-M` file: one a line (or a `-m` list), `#` starting a comment.
    pub fn add_file(&mut self, path: &Path) -> Result<(), StoreError> {
        let text = std::fs::read_to_string(path).map_err(|source| StoreError::Io {
            path: path.to_owned(),
            what: "reading the hosts file (-M)",
            source,
        })?;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("");
            self.add_list(line, &format!("{}:{}", path.display(), n + 1))?;
        }
        Ok(())
    }

    /// Adds `-b` labels (comma-separated): each of their hosts becomes a specific host.
    pub fn add_labels(&mut self, text: &str) -> Result<(), StoreError> {
        for label in text.split(',').map(str::trim).filter(|l| !l.is_empty()) {
            if label.contains('*') || label.chars().any(char::is_whitespace) {
                return Err(StoreError::HostSpec {
                    origin: "-b".to_owned(),
                    item: label.to_owned(),
                    problem: "-b takes label names separated by commas (for N metahosts of a label use -m N*label)".to_owned(),
                });
            }
            if !self.label_hosts.iter().any(|l| l == label) {
                self.label_hosts.push(label.to_owned());
            }
        }
        Ok(())
    }

    /// Puts the hosts into a job.
    pub fn apply_to(self, job: &mut NewJob) {
        job.hosts.extend(self.hosts);
        job.meta_hosts.extend(self.meta_hosts);
        job.label_hosts.extend(self.label_hosts);
    }
}

/// A job's names resolved to row ids.
pub(crate) struct CheckedJob {
    pub(crate) host_ids: Vec<i64>,
    pub(crate) meta_ids: Vec<i64>,
    pub(crate) dep_ids: Vec<i64>,
}

impl Store {
    /// The checks of [`Store::create_job`], writing nothing: the control file compiles, every
    /// host, label and dependency label exists (all unknown ones named in one error), `-b`
    /// labels have hosts, and synch_count is at most the hosts the job can ever get.
    pub(crate) async fn check_new_job(&self, new: &NewJob) -> Result<CheckedJob, StoreError> {
        if new.hosts.is_empty() && new.meta_hosts.is_empty() && new.label_hosts.is_empty() {
            return Err(StoreError::Invalid(format!(
                "job {:?} has no hosts: give hosts or a metahost label (-m, -M or -b)",
                new.name
            )));
        }
        if new.synch_count < 1 || new.timeout_hrs < 1 || new.max_runtime_hrs < 1 {
            return Err(StoreError::Invalid(format!(
                "job {:?}: synch_count, timeout and max_runtime_hrs must be at least 1",
                new.name
            )));
        }
        check_control(new).await?;

        let mut unknown_hosts = Vec::new();
        let mut host_ids = Vec::new();
        for h in &new.hosts {
            match self.host(h).await? {
                Some(host) => host_ids.push(host.id),
                None => unknown_hosts.push(h.clone()),
            }
        }
        let mut unknown_labels = Vec::new();
        let mut meta_ids = Vec::new();
        for l in &new.meta_hosts {
            match self.label(l).await? {
                Some(label) => meta_ids.push(label.id),
                None if !unknown_labels.contains(l) => unknown_labels.push(l.clone()),
                None => {}
            }
        }
        let mut empty_labels = Vec::new();
        for l in &new.label_hosts {
            if self.label(l).await?.is_none() {
                if !unknown_labels.contains(l) {
                    unknown_labels.push(l.clone());
                }
                continue;
            }
            let hosts = self.hosts_with_label(l).await?;
            if hosts.is_empty() {
                empty_labels.push(l.clone());
            }
            for h in hosts {
                if !host_ids.contains(&h.id) {
                    host_ids.push(h.id);
                }
            }
        }
        let mut unknown_deps = Vec::new();
        let mut dep_ids = Vec::new();
        for l in &new.dependencies {
            match self.label(l).await? {
                Some(label) => dep_ids.push(label.id),
                None => unknown_deps.push(l.clone()),
            }
        }
        if !(unknown_hosts.is_empty() && unknown_labels.is_empty() && unknown_deps.is_empty()) {
            return Err(StoreError::UnknownNames {
                job: new.name.clone(),
                hosts: unknown_hosts,
                labels: unknown_labels,
                dependencies: unknown_deps,
            });
        }
        if !empty_labels.is_empty() {
            return Err(StoreError::Invalid(format!(
                "job {:?}: label(s) {} of -b have no hosts: add hosts with `autotest label add <label> -m <hosts>`",
                new.name,
                empty_labels.join(", ")
            )));
        }

        let entries = i64::try_from(host_ids.len() + meta_ids.len()).unwrap_or(i64::MAX);
        if new.synch_count > 1 {
            let distinct = self.distinct_hosts(&host_ids, &meta_ids).await?;
            let most = entries.min(distinct);
            if new.synch_count > most {
                return Err(StoreError::SynchCount {
                    job: new.name.clone(),
                    synch_count: new.synch_count,
                    most,
                    entries,
                    hosts: distinct,
                });
            }
        }
        Ok(CheckedJob {
            host_ids,
            meta_ids,
            dep_ids,
        })
    }

    /// How many distinct hosts could serve entries for these hosts and metahost labels.
    async fn distinct_hosts(&self, host_ids: &[i64], meta_ids: &[i64]) -> Result<i64, StoreError> {
        let mut hosts: BTreeSet<i64> = host_ids.iter().copied().collect();
        let labels: BTreeSet<i64> = meta_ids.iter().copied().collect();
        for label in labels {
            let rows = sqlx::query("SELECT host_id FROM host_labels WHERE label_id = $1")
                .bind(label)
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::query(format!(
                    "reading the hosts of label {label}"
                )))?;
            for r in rows {
                hosts.insert(r.try_get(0).map_err(read_err("a host id"))?);
            }
        }
        Ok(i64::try_from(hosts.len()).unwrap_or(i64::MAX))
    }
}

/// Runs the client runner's check of the control file under [`client_python`].
async fn check_control(new: &NewJob) -> Result<(), StoreError> {
    let python = client_python();
    let name = new
        .control_origin
        .as_deref()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("<control file>"));
    let fail = |detail: String| StoreError::ControlCheck {
        job: new.name.clone(),
        python: python.clone(),
        detail,
    };
    let mut child = tokio::process::Command::new(&python)
        .arg("-m")
        .arg(CHECK_CONTROL_MODULE)
        .arg(&name)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("cannot start it: {e}")))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| fail("no stdin".to_owned()))?;
    let text = new.control_file.clone().into_bytes();
    // Written beside the wait: a large file must not fill the pipe before Python reads it.
    let writer = tokio::spawn(async move {
        let r = stdin.write_all(&text).await;
        drop(stdin);
        r
    });
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| fail(format!("waiting for it failed: {e}")))?;
    let _ = writer.await;
    let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_owned();
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(StoreError::ControlRefused {
            job: new.name.clone(),
            message: stderr,
        }),
        code => Err(fail(format!(
            "{CHECK_CONTROL_MODULE} ended with {}: {}",
            code.map_or_else(|| "a signal".to_owned(), |c| format!("exit code {c}")),
            stderr.lines().last().unwrap_or("no message")
        ))),
    }
}
