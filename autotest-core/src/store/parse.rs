//! `autotest parse` (legacy `tko-parse -r -o`): a job's results directory into the results
//! tables.
//!
//! A directory with a status log (`status.log`, else `status`) is one job; a directory without
//! one whose machine subdirectories have one (a multi-machine job) is one job per machine,
//! tagged `<dir>/<machine>`. A `.parse.lock` flock in the job's directory keeps two parsers of
//! the same job apart. A bad line is reported with its file and line, and the rest is stored.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::Store;
use super::error::StoreError;
use super::tko::{ParsedIteration, ParsedJob, ParsedTest};
use crate::keyval::{parse_iterations, parse_keyvals};
use crate::results::JobResults;
use crate::status::{StatusLog, summarize};

/// The lock file of a job's results directory.
pub const PARSE_LOCK_FILE: &str = ".parse.lock";

/// Something in a results directory that could not be used (the rest was stored).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParseProblem {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line, when the problem is a line.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// One job stored by a parse.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParsedJobReport {
    /// Its tag (results directory).
    pub tag: String,
    /// Its row id.
    pub job_idx: i64,
    /// The machine.
    pub machine: String,
    /// Its status.
    pub status: String,
    /// How many tests.
    pub tests: usize,
}

/// What a parse stored, and what it could not use (the shape of `autotest parse --json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ParseReport {
    /// The jobs stored.
    pub jobs: Vec<ParsedJobReport>,
    /// The problems, by file and line.
    pub problems: Vec<ParseProblem>,
}

/// Holds the `.parse.lock` flock of a results directory while alive.
struct ParseLock {
    _file: File,
}

impl ParseLock {
    /// Waits for the lock (another parser of the same job finishes first).
    fn acquire(dir: &Path) -> Result<ParseLock, StoreError> {
        use std::os::fd::AsRawFd;
        let path = dir.join(PARSE_LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StoreError::Io {
                path: path.clone(),
                what: "cannot open the parse lock",
                source,
            })?;
        loop {
            // SAFETY: flock(2) on a descriptor this File owns; the lock goes with the File.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(ParseLock { _file: file });
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(StoreError::Io {
                    path,
                    what: "cannot take the parse lock",
                    source: e,
                });
            }
        }
    }
}

/// Reads a job's results directory into the jobs to store (one per machine for a
/// multi-machine job), with the problems found. Reads files only.
pub fn read_results_dir(dir: &Path) -> Result<(Vec<ParsedJob>, Vec<ParseProblem>), StoreError> {
    let dir = dir.canonicalize().map_err(|source| StoreError::Io {
        path: dir.to_owned(),
        what: "cannot read the results directory",
        source,
    })?;
    let mut problems = Vec::new();
    let top = JobResults::new(&dir);
    if top.status_log().exists() || top.client_status().exists() {
        let job = read_one(&top, None, &mut problems)?;
        return Ok((vec![job], problems));
    }
    let mut machines = Vec::new();
    let entries = std::fs::read_dir(&dir).map_err(|source| StoreError::Io {
        path: dir.clone(),
        what: "cannot list the results directory",
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let m = JobResults::new(&path);
        if path.is_dir() && (m.status_log().exists() || m.client_status().exists()) {
            machines.push(path);
        }
    }
    if machines.is_empty() {
        return Err(StoreError::NoStatusLog { path: dir });
    }
    machines.sort();
    let mut jobs = Vec::new();
    for path in machines {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        jobs.push(read_one(
            &JobResults::new(&path),
            Some((&top, name)),
            &mut problems,
        )?);
    }
    Ok((jobs, problems))
}

fn read_keyval_file(path: &Path, problems: &mut Vec<ParseProblem>) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    // A bad line is reported and skipped; the good lines are kept.
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parse_keyvals(path, line) {
            Ok(kv) => out.extend(kv),
            Err(_) => problems.push(ParseProblem {
                path: path.to_owned(),
                line: Some(i + 1),
                message: format!(
                    "not a key=value line: {line:?}: fix or remove the line (it was not stored)"
                ),
            }),
        }
    }
    out
}

fn epoch(keyvals: &[(String, String)], key: &str) -> Option<i64> {
    keyvals
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.trim().parse().ok())
}

fn value(keyvals: &[(String, String)], key: &str) -> Option<String> {
    keyvals
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim().to_owned())
}

/// One job (or one machine's part): `multi` is the job's directory and the machine's name.
fn read_one(
    dir: &JobResults,
    multi: Option<(&JobResults, String)>,
    problems: &mut Vec<ParseProblem>,
) -> Result<ParsedJob, StoreError> {
    let log_path = dir.any_status_log();
    let log = StatusLog::parse_file(&log_path).map_err(|e| StoreError::Io {
        path: log_path.clone(),
        what: "cannot read the status log",
        source: match e {
            crate::status::StatusLogError::Read { source, .. } => source,
            other => std::io::Error::other(other.to_string()),
        },
    })?;
    let summary = summarize(&log);
    for p in &summary.problems {
        problems.push(ParseProblem {
            path: log_path.clone(),
            line: Some(p.line),
            message: format!("{} (the line is {:?})", p.reason, p.text),
        });
    }
    // Job keyvals: the machine's own, over the job's for a multi-machine job.
    let mut keyvals = Vec::new();
    if let Some((top, _)) = &multi {
        keyvals.extend(read_keyval_file(&top.keyval(), problems));
    }
    keyvals.extend(read_keyval_file(&dir.keyval(), problems));
    let machine = match &multi {
        Some((_, name)) => name.clone(),
        None => value(&keyvals, "hostname")
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string(dir.machines_file())
                    .ok()
                    .and_then(|t| {
                        t.lines()
                            .map(str::trim)
                            .find(|l| !l.is_empty())
                            .map(str::to_owned)
                    })
            })
            .unwrap_or_else(|| "localhost".to_owned()),
    };
    // Patches by kernel version, from the lines that name a kernel.
    let mut patches: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    for pe in &log.entries {
        if let Some(k) = pe.entry.field("kernel") {
            let list = patches.entry(k.to_owned()).or_default();
            for (key, v) in &pe.entry.fields {
                if key.starts_with("patch")
                    && key[5..].chars().all(|c| c.is_ascii_digit())
                    && !key[5..].is_empty()
                {
                    let mut parts = v.split_whitespace().map(str::to_owned);
                    let p = (
                        parts.next().unwrap_or_default(),
                        parts.next().unwrap_or_default(),
                        parts.next().unwrap_or_default(),
                    );
                    if !list.contains(&p) {
                        list.push(p);
                    }
                }
            }
        }
    }
    let mut tests = Vec::new();
    for t in &summary.tests {
        let subdir = t.subdir.clone().unwrap_or_default();
        let (attributes, iterations) = if subdir.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let tdir = dir.file(&subdir);
            let attrs = read_keyval_file(&tdir.join("keyval"), problems);
            let ipath = tdir.join("results").join("keyval");
            let iterations = match std::fs::read_to_string(&ipath) {
                Ok(text) => match parse_iterations(&ipath, &text) {
                    Ok(its) => its
                        .into_iter()
                        .map(|it| ParsedIteration {
                            perf: it.perf,
                            attr: it.attr.into_iter().chain(it.plain).collect(),
                        })
                        .collect(),
                    Err(e) => {
                        problems.push(ParseProblem {
                            path: ipath.clone(),
                            line: None,
                            message: format!("{e}: the iterations of {} were not stored", t.name),
                        });
                        Vec::new()
                    }
                },
                Err(_) => Vec::new(),
            };
            (attrs, iterations)
        };
        tests.push(ParsedTest {
            name: t.name.clone(),
            subdir,
            status: t.status.as_str().to_owned(),
            reason: t.reason.clone(),
            kernel: t.kernel.clone().map(|k| {
                let p = patches.get(&k).cloned().unwrap_or_default();
                (k, p)
            }),
            started: t.started,
            finished: t.finished,
            line: t.line as i64,
            attributes,
            iterations,
        });
    }
    // `<jobid>-<owner>` directories belong to the frontend's job <jobid>.
    let job_dir = multi
        .as_ref()
        .map(|(top, _)| top.root())
        .unwrap_or(dir.root());
    // The scheduler parses `<jobid>-<owner>/<host|groupN>` one machine at a time: then the
    // job is the parent's.
    let afe_of = |d: &std::path::Path| -> Option<i64> {
        d.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split_once('-'))
            .and_then(|(id, _)| id.parse().ok())
    };
    let afe_job_id = afe_of(job_dir).or_else(|| job_dir.parent().and_then(afe_of));
    Ok(ParsedJob {
        tag: dir.root().to_string_lossy().into_owned(),
        label: value(&keyvals, "label").unwrap_or_default(),
        username: value(&keyvals, "user").unwrap_or_default(),
        machine,
        status: summary.status.as_str().to_owned(),
        queued: epoch(&keyvals, "job_queued"),
        started: epoch(&keyvals, "job_started"),
        finished: epoch(&keyvals, "job_finished"),
        afe_job_id,
        keyvals,
        tests,
    })
}

impl Store {
    /// Parses a job's results directory into the results tables, each job in one transaction,
    /// under the directory's `.parse.lock`. A reparse replaces the job's rows.
    pub async fn parse_results(&self, dir: &Path) -> Result<ParseReport, StoreError> {
        let owned = dir.to_owned();
        let (lock, jobs, problems) = tokio::task::spawn_blocking(move || {
            // Say the directory is missing rather than that its lock cannot be made.
            std::fs::read_dir(&owned).map_err(|source| StoreError::Io {
                path: owned.clone(),
                what: "cannot read the results directory",
                source,
            })?;
            let lock = ParseLock::acquire(&owned)?;
            let (jobs, problems) = read_results_dir(&owned)?;
            Ok::<_, StoreError>((lock, jobs, problems))
        })
        .await
        .map_err(|e| StoreError::Io {
            path: dir.to_owned(),
            what: "the parse was interrupted",
            source: std::io::Error::other(e),
        })??;
        let mut report = ParseReport {
            jobs: Vec::new(),
            problems,
        };
        for job in &jobs {
            let job_idx = self.store_parsed_job(job).await?;
            report.jobs.push(ParsedJobReport {
                tag: job.tag.clone(),
                job_idx,
                machine: job.machine.clone(),
                status: job.status.clone(),
                tests: job.tests.len(),
            });
        }
        drop(lock);
        Ok(report)
    }
}
