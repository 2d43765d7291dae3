//! The one error type of the lab database.

use std::path::PathBuf;

/// Errors of the lab database: finding it, connecting, migrating, reading and writing it, and
/// parsing results into it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A `--db` / `AUTOTEST_DB` URL that names no supported backend.
    #[error(
        "database URL {url:?} ({from}) is not supported: use sqlite:<file> (e.g. sqlite:/var/lib/autotest/lab.db) or postgres://<user>@<host>[:<port>]/<database>"
    )]
    BadUrl {
        /// The URL as given (passwords are not in it: see [`crate::store::DbUrl`]).
        url: String,
        /// Where it came from (`--db`, `AUTOTEST_DB`, a config file).
        from: String,
    },
    /// `[AUTOTEST_WEB]` of a config file does not describe a usable database.
    #[error("{}: [AUTOTEST_WEB] {problem}", path.display())]
    BadConfig {
        /// The config file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The database could not be reached or opened.
    #[error(
        "cannot open the lab database {url}: {source}: check that it exists and is reachable (for SQLite, that its directory is writable)"
    )]
    Connect {
        /// The database (without password).
        url: String,
        /// The cause.
        source: sqlx::Error,
    },
    /// The database was written by a newer build; it is left untouched.
    #[error(
        "the lab database {url} has schema version {database}, newer than this build's {build}: use a newer autotest (the database was not changed)"
    )]
    NewerSchema {
        /// The database (without password).
        url: String,
        /// The version found in the database.
        database: i64,
        /// The newest version this build knows.
        build: i64,
    },
    /// The database has not been migrated to this build's schema.
    #[error(
        "the lab database {url} has schema version {database}, this build needs {build}: run `autotest db migrate`"
    )]
    OlderSchema {
        /// The database (without password).
        url: String,
        /// The version found (0: an empty database).
        database: i64,
        /// The version this build needs.
        build: i64,
    },
    /// Applying a migration failed.
    #[error("migrating the lab database {url} failed: {source}")]
    Migrate {
        /// The database (without password).
        url: String,
        /// The cause.
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("lab database: {what} failed: {source}")]
    Query {
        /// What was being done.
        what: String,
        /// The cause.
        source: sqlx::Error,
    },
    /// A row that should exist does not.
    #[error("lab database: no {kind} {name:?}: create it first")]
    NotFound {
        /// The kind of row (host, label, job, ...).
        kind: &'static str,
        /// Its name or id.
        name: String,
    },
    /// A value that is not one of a column's known values.
    #[error("lab database: {column} holds {value:?}, which is not one of {expected}")]
    BadValue {
        /// The column.
        column: &'static str,
        /// The value found or given.
        value: String,
        /// The values allowed.
        expected: &'static str,
    },
    /// An export of a job that has no parsed results (never parsed, or not a job at all).
    #[error("lab database: job {job} has no parsed results to export: {}", no_results_fix(*job, owner.as_deref()))]
    NoResults {
        /// The frontend job id asked for.
        job: i64,
        /// Its owner, when the job exists (its results are `<jobid>-<owner>/`).
        owner: Option<String>,
    },
    /// A request the store refuses (a job with no hosts, a lock of a locked host, ...).
    #[error("lab database: {0}")]
    Invalid(String),
    /// A results directory could not be read or locked.
    #[error("{}: {what}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// A control file that cannot be read (missing, unreadable, not a regular file, not UTF-8).
    #[error("cannot read control file {}: {problem}", path.display())]
    ControlFile {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
    /// A control file that does not compile (Python 2 above all): the client runner's message,
    /// naming the file and line.
    #[error("job {job:?} refused, nothing was queued: {message}")]
    ControlRefused {
        /// The job's name.
        job: String,
        /// `<file>, line <n>: <what> ... <the line>`.
        message: String,
    },
    /// The control file could not be checked (no Python, or no autotest package in it).
    #[error(
        "cannot check the control file of job {job:?} with {python}: {detail}: set AUTOTEST_PYTHON to a Python with the autotest package installed (./dev.sh setup)"
    )]
    ControlCheck {
        /// The job's name.
        job: String,
        /// The interpreter tried.
        python: String,
        /// What went wrong.
        detail: String,
    },
    /// Hosts, labels or dependency labels a job names that the database does not have.
    #[error("job {job:?} refused: {}", unknown_names(hosts, labels, dependencies))]
    UnknownNames {
        /// The job's name.
        job: String,
        /// Unknown hosts (`-m`, `-M`).
        hosts: Vec<String>,
        /// Unknown labels (metahosts `N*label`, `-b`).
        labels: Vec<String>,
        /// Unknown dependency labels.
        dependencies: Vec<String>,
    },
    /// A synch_count no set of the job's hosts can meet.
    #[error(
        "job {job:?} refused: synch_count {synch_count} is more than the {most} host(s) it can ever get ({entries} entries, {hosts} distinct host(s) that could serve them): lower -y or give more hosts"
    )]
    SynchCount {
        /// The job's name.
        job: String,
        /// Asked for.
        synch_count: i64,
        /// The smaller of `entries` and `hosts`.
        most: i64,
        /// Its queue entries.
        entries: i64,
        /// The distinct hosts that could run them.
        hosts: i64,
    },
    /// A host spec item (`-m`, a line of `-M`, `-b`) that is not a host, `N*label` or label.
    #[error("{origin}: {item:?}: {problem}")]
    HostSpec {
        /// Where: `-m`, `<file>:<line>`, `-b`.
        origin: String,
        /// The item as given.
        item: String,
        /// What is wrong and what to write instead.
        problem: String,
    },
    /// An age (`--older-than`) that is not a number and a unit.
    #[error(
        "age {text:?} is not understood: use a whole number and a unit, m (minutes), h (hours), d (days) or w (weeks), e.g. 30m, 12h, 90d, 2w"
    )]
    BadAge {
        /// The text given.
        text: String,
    },
    /// A results directory without a status log.
    #[error("{}: no status.log or status file: is this a job's results directory?", path.display())]
    NoStatusLog {
        /// The directory.
        path: PathBuf,
    },
}

/// "unknown host(s) a, b: create them with `autotest host create a b`; ..." for each kind.
fn unknown_names(hosts: &[String], labels: &[String], deps: &[String]) -> String {
    let mut parts = Vec::new();
    if !hosts.is_empty() {
        parts.push(format!(
            "unknown host(s) {}: create them with `autotest host create {}`",
            hosts.join(", "),
            hosts.join(" ")
        ));
    }
    if !labels.is_empty() {
        parts.push(format!(
            "unknown label(s) {}: create them with {} (and give them hosts with `autotest label add <label> -m <hosts>`)",
            labels.join(", "),
            create_labels(labels)
        ));
    }
    if !deps.is_empty() {
        parts.push(format!(
            "unknown dependency label(s) {}: create them with {}",
            deps.join(", "),
            create_labels(deps)
        ));
    }
    parts.join("; ")
}

fn create_labels(labels: &[String]) -> String {
    labels
        .iter()
        .map(|l| format!("`autotest label create {l}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl StoreError {
    /// A query error, saying what was being done.
    pub(crate) fn query(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
        let what = what.into();
        move |source| StoreError::Query { what, source }
    }
}

fn no_results_fix(job: i64, owner: Option<&str>) -> String {
    match owner {
        Some(owner) => format!(
            "parse its results directory first with `autotest parse <results>/{job}-{owner}`"
        ),
        None => format!(
            "there is no job {job} either; a results directory named {job}-<owner> is job {job} once `autotest parse` has read it (see `autotest job list` and `autotest results`)"
        ),
    }
}
