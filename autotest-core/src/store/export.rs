//! `autotest results export`: a job's parsed results as JUnit XML (for CI systems) or as KCIDB
//! JSON (the kernel community's results database, schema v4). [`Store::job_export`] reads what
//! is exported; [`junit_xml`] and [`kcidb_json`] only format it, so every front end (the CLI,
//! the web) writes the same document.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::Store;
use super::error::StoreError;
use super::tko::{TkoIteration, TkoJob, TkoTest};

/// The KCIDB origin of everything exported (`origin` and the prefix of every id).
pub const KCIDB_ORIGIN: &str = "autotest";

/// The KCIDB schema version written (`version.major`, `version.minor`).
pub const KCIDB_VERSION: (u64, u64) = (4, 3);

/// What is exported of one frontend job: its parsed results, one part per machine.
#[derive(Debug, Clone, PartialEq)]
pub struct JobExport {
    /// The frontend job id (`<jobid>` of `<jobid>-<owner>/`).
    pub job: i64,
    /// The job's name: the frontend job's, else the results' `label` keyval.
    pub name: String,
    /// Its owner: the frontend job's, else the results' `user` keyval.
    pub owner: String,
    /// One part per machine (a multi-machine job has one per machine subdirectory).
    pub machines: Vec<MachineExport>,
    /// The patches (name, url, hash) of each kernel the tests ran on, by kernel version.
    pub patches: BTreeMap<String, Vec<(String, String, String)>>,
}

/// One machine's parsed results.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineExport {
    /// The parsed job row.
    pub job: TkoJob,
    /// Its job keyvals, in file order.
    pub keyvals: Vec<(String, String)>,
    /// Its tests, in log order.
    pub tests: Vec<TestExport>,
}

/// One parsed test with its keyvals.
#[derive(Debug, Clone, PartialEq)]
pub struct TestExport {
    /// The test row.
    pub test: TkoTest,
    /// Its test keyvals, by name.
    pub attributes: Vec<(String, String)>,
    /// Its iterations with their perf keyvals.
    pub iterations: Vec<TkoIteration>,
}

impl TestExport {
    /// The kernel the test ran on: the status log's `kernel=`, else the release in the
    /// test's `sysinfo-uname` keyval (what the client records when no kernel was built).
    pub fn kernel(&self) -> Option<&str> {
        self.test.kernel.as_deref().or_else(|| {
            self.attributes
                .iter()
                .find(|(k, _)| k == "sysinfo-uname")
                .and_then(|(_, v)| v.split_whitespace().next())
        })
    }

    /// Seconds from start to end, when both are known (never negative).
    pub fn duration(&self) -> Option<i64> {
        match (self.test.started, self.test.finished) {
            (Some(s), Some(f)) => Some((f - s).max(0)),
            _ => None,
        }
    }
}

impl Store {
    /// The parsed results of frontend job `job` with every test's keyvals and iterations.
    /// [`StoreError::NoResults`] when nothing of it was parsed.
    pub async fn job_export(&self, job: i64) -> Result<JobExport, StoreError> {
        let frontend = match self.job(job).await {
            Ok(j) => Some(j),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        let parts = self.tko_jobs_of_afe_job(job).await?;
        if parts.is_empty() {
            return Err(StoreError::NoResults {
                job,
                owner: frontend.map(|j| j.owner),
            });
        }
        let mut machines = Vec::with_capacity(parts.len());
        for part in parts {
            let keyvals = self.tko_job_keyvals(part.job_idx).await?;
            let mut tests = Vec::new();
            // One job's tests: a few queries per test is bounded by what one job ran.
            for test in self.tko_tests(part.job_idx).await? {
                let attributes = self.tko_test_attributes(test.test_idx).await?;
                let iterations = self.tko_iterations(test.test_idx).await?;
                tests.push(TestExport {
                    test,
                    attributes,
                    iterations,
                });
            }
            machines.push(MachineExport {
                job: part,
                keyvals,
                tests,
            });
        }
        let mut patches = BTreeMap::new();
        for m in &machines {
            for t in &m.tests {
                if let Some(k) = t.kernel()
                    && !patches.contains_key(k)
                    && let Some(kernel) = self.tko_kernel(k).await?
                {
                    patches.insert(k.to_owned(), kernel.patches);
                }
            }
        }
        let (name, owner) = match frontend {
            Some(j) => (j.name, j.owner),
            None => (
                machines[0].job.label.clone(),
                machines[0].job.username.clone(),
            ),
        };
        // Results without keyvals (a status log alone) are still named by their directory.
        let tag = std::path::Path::new(&machines[0].job.tag);
        // A multi-machine job's parts are `<dir>/<machine>`.
        let top = if machines.len() > 1 {
            tag.parent()
        } else {
            Some(tag)
        };
        let dir = top
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = if name.is_empty() { dir.clone() } else { name };
        let owner = if owner.is_empty() {
            dir.split_once('-')
                .map(|(_, o)| o.to_owned())
                .unwrap_or_default()
        } else {
            owner
        };
        Ok(JobExport {
            job,
            name,
            owner,
            machines,
            patches,
        })
    }
}

/// How a test's status reads in JUnit: passed, or the element that says otherwise.
enum JunitOutcome {
    Passed,
    Failure,
    Error,
    Skipped,
}

fn junit_outcome(status: &str) -> JunitOutcome {
    match status {
        "GOOD" | "WARN" => JunitOutcome::Passed,
        "FAIL" => JunitOutcome::Failure,
        "TEST_NA" => JunitOutcome::Skipped,
        // ERROR, ABORT, and what never finished (RUNNING, NOSTATUS, ALERT, ...): not a verdict
        // on the code under test, so an error rather than a failure.
        _ => JunitOutcome::Error,
    }
}

/// Text made safe for XML 1.0 character data and attribute values: the five specials as
/// entities, tab/newline/CR as character references (attribute values would otherwise be
/// normalised to spaces), and the characters XML 1.0 cannot carry at all (other C0 controls,
/// U+FFFE, U+FFFF) shown as `\xNN` / `\u{FFFE}` text.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\0'..='\x1f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `2026-12-02T06:13:36Z`: the UTC time of an epoch second (KCIDB's and JUnit's timestamps).
pub fn rfc3339_utc(epoch: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(epoch, 0).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// A perf keyval's property name: `perf.<name>` for a single iteration, `perf.<name>.<n>`
/// when the test ran several.
fn perf_properties(t: &TestExport) -> Vec<(String, f64)> {
    let several = t.iterations.len() > 1;
    let mut out = Vec::new();
    for it in &t.iterations {
        for (name, value) in &it.perf {
            let key = if several {
                format!("perf.{name}.{}", it.iteration)
            } else {
                format!("perf.{name}")
            };
            out.push((key, *value));
        }
    }
    out
}

/// The kernels a machine's tests ran on, in first-seen order.
fn kernels_of(m: &MachineExport) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for t in &m.tests {
        if let Some(k) = t.kernel()
            && !out.contains(&k)
        {
            out.push(k);
        }
    }
    out
}

fn property(out: &mut String, indent: &str, name: &str, value: &str) {
    let _ = writeln!(
        out,
        "{indent}<property name=\"{}\" value=\"{}\"/>",
        xml_escape(name),
        xml_escape(value)
    );
}

/// The job as JUnit XML: `<testsuites>` with a `<testsuite>` per machine and a `<testcase>`
/// per test (`time` in seconds; FAIL is `<failure>`, ERROR and ABORT `<error>`, TEST_NA
/// `<skipped>`, each with the reason as message); properties give the kernel, the job keyvals
/// (`keyval.<key>`) and each test's perf keyvals (`perf.<name>[.<iteration>]`).
pub fn junit_xml(e: &JobExport) -> String {
    let mut totals = [0usize; 4];
    let mut total_time = 0i64;
    let mut suites = String::new();
    for (i, m) in e.machines.iter().enumerate() {
        let mut counts = [0usize; 4]; // tests, failures, errors, skipped
        let mut time = 0i64;
        let mut cases = String::new();
        for t in &m.tests {
            counts[0] += 1;
            let secs = t.duration().unwrap_or(0);
            time += secs;
            let _ = write!(
                cases,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{secs}\"",
                xml_escape(&t.test.test),
                xml_escape(&format!("{}.{}", m.job.machine, t.test.test)),
            );
            let _ = writeln!(cases, ">");
            let reason = xml_escape(&t.test.reason);
            let status = xml_escape(&t.test.status);
            match junit_outcome(&t.test.status) {
                JunitOutcome::Passed => {}
                JunitOutcome::Failure => {
                    counts[1] += 1;
                    let _ = writeln!(
                        cases,
                        "      <failure message=\"{reason}\" type=\"{status}\">{reason}</failure>"
                    );
                }
                JunitOutcome::Error => {
                    counts[2] += 1;
                    let _ = writeln!(
                        cases,
                        "      <error message=\"{reason}\" type=\"{status}\">{reason}</error>"
                    );
                }
                JunitOutcome::Skipped => {
                    counts[3] += 1;
                    let _ = writeln!(cases, "      <skipped message=\"{reason}\"/>");
                }
            }
            let _ = writeln!(cases, "      <properties>");
            property(&mut cases, "        ", "status", &t.test.status);
            if let Some(k) = t.kernel() {
                property(&mut cases, "        ", "kernel", k);
            }
            if !t.test.subdir.is_empty() {
                property(&mut cases, "        ", "subdir", &t.test.subdir);
            }
            for (name, value) in perf_properties(t) {
                property(&mut cases, "        ", &name, &value.to_string());
            }
            let _ = writeln!(cases, "      </properties>");
            let _ = writeln!(cases, "    </testcase>");
        }
        for (total, n) in totals.iter_mut().zip(counts) {
            *total += n;
        }
        total_time += time;
        let timestamp = m
            .job
            .started
            .and_then(rfc3339_utc)
            .map(|t| format!(" timestamp=\"{}\"", t.trim_end_matches('Z')))
            .unwrap_or_default();
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" id=\"{i}\" hostname=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{time}\"{timestamp}>",
            xml_escape(&m.job.machine),
            xml_escape(&m.job.machine),
            counts[0],
            counts[1],
            counts[2],
            counts[3],
        );
        let _ = writeln!(suites, "    <properties>");
        property(&mut suites, "      ", "job", &e.job.to_string());
        property(&mut suites, "      ", "status", &m.job.status);
        property(&mut suites, "      ", "results", &m.job.tag);
        for k in kernels_of(m) {
            property(&mut suites, "      ", "kernel", k);
        }
        for (k, v) in &m.keyvals {
            property(&mut suites, "      ", &format!("keyval.{k}"), v);
        }
        let _ = writeln!(suites, "    </properties>");
        suites.push_str(&cases);
        let _ = writeln!(suites, "  </testsuite>");
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{total_time}\">",
        xml_escape(&format!("autotest job {} ({})", e.job, e.name)),
        totals[0],
        totals[1],
        totals[2],
        totals[3],
    );
    out.push_str(&suites);
    out.push_str("</testsuites>\n");
    out
}

/// A test status in KCIDB v4: PASS, FAIL, ERROR, SKIP, or MISS for a test that never finished.
pub fn kcidb_status(status: &str) -> &'static str {
    match status {
        "GOOD" | "WARN" => "PASS",
        "FAIL" => "FAIL",
        "ERROR" | "ABORT" | "ALERT" => "ERROR",
        "TEST_NA" => "SKIP",
        _ => "MISS",
    }
}

/// A KCIDB id part: what identifies an object, kept readable, without the characters that
/// would make ids awkward in URLs and shells.
fn id_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A KCIDB test path: dot-separated, so a test's own dots (`sleeptest.bad`, a tag) stay
/// and nothing else that KCIDB reserves is kept.
fn test_path(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect()
}

/// The job as KCIDB v4 JSON: a checkout and a build per kernel the tests ran on (the kernel
/// version as `git_commit_name`, its patches in `misc`), and a test per test (`path`, `status`
/// mapped by [`kcidb_status`], `start_time`, `duration`, the machine as `environment`, the
/// perf keyvals and the autotest status in `misc`). Ids are `autotest:<...>`; a test's is its
/// stable test id (`autotest:test-<test_idx>`), which a reparse keeps.
pub fn kcidb_json(e: &JobExport) -> Value {
    const NO_KERNEL: &str = "unknown";
    let mut kernels: Vec<&str> = Vec::new();
    for m in &e.machines {
        for t in &m.tests {
            let k = t.kernel().unwrap_or(NO_KERNEL);
            if !kernels.contains(&k) {
                kernels.push(k);
            }
        }
    }
    let started = e.machines.iter().filter_map(|m| m.job.started).min();
    let build_id = |k: &str| format!("{KCIDB_ORIGIN}:job-{}-{}", e.job, id_part(k));
    let mut checkouts = Vec::new();
    let mut builds = Vec::new();
    for k in &kernels {
        let id = build_id(k);
        let mut checkout = json!({
            "id": id,
            "origin": KCIDB_ORIGIN,
            "comment": format!("autotest job {} ({}) by {}", e.job, e.name, e.owner),
            "misc": {
                "job": e.job,
                "job_name": e.name,
                "owner": e.owner,
                "kernel": k,
                "patches": e.patches.get(*k).map(|p| p.iter().map(|(name, url, hash)| json!({"name": name, "url": url, "hash": hash})).collect::<Vec<_>>()).unwrap_or_default(),
            },
        });
        let mut build = json!({
            "id": id,
            "origin": KCIDB_ORIGIN,
            "checkout_id": id,
            "comment": format!("kernel {k}"),
            "misc": {"kernel": k},
        });
        if *k != NO_KERNEL {
            checkout["git_commit_name"] = json!(k);
        }
        if let Some(t) = started.and_then(rfc3339_utc) {
            checkout["start_time"] = json!(t);
            build["start_time"] = json!(t);
        }
        checkouts.push(checkout);
        builds.push(build);
    }
    let mut tests = Vec::new();
    for m in &e.machines {
        for t in &m.tests {
            let k = t.kernel().unwrap_or(NO_KERNEL);
            let perf: serde_json::Map<String, Value> = perf_properties(t)
                .into_iter()
                .map(|(name, v)| (name.trim_start_matches("perf.").to_owned(), json!(v)))
                .collect();
            let mut test = json!({
                "id": format!("{KCIDB_ORIGIN}:test-{}", t.test.test_idx),
                "origin": KCIDB_ORIGIN,
                "build_id": build_id(k),
                "path": test_path(&t.test.test),
                "status": kcidb_status(&t.test.status),
                "environment": {
                    "comment": m.job.machine,
                    "misc": {"machine": m.job.machine},
                },
                "misc": {
                    "autotest_status": t.test.status,
                    "job": e.job,
                    "results": m.job.tag,
                    "subdir": t.test.subdir,
                    "perf": perf,
                },
            });
            if !t.test.reason.is_empty() {
                test["comment"] = json!(t.test.reason);
            }
            if let Some(s) = t.test.started.and_then(rfc3339_utc) {
                test["start_time"] = json!(s);
            }
            if let Some(d) = t.duration() {
                test["duration"] = json!(d as f64);
            }
            tests.push(test);
        }
    }
    json!({
        "version": {"major": KCIDB_VERSION.0, "minor": KCIDB_VERSION.1},
        "checkouts": checkouts,
        "builds": builds,
        "tests": tests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escape_keeps_text_parseable() {
        assert_eq!(
            xml_escape("a<b>&\"c'\t\n\x01\x1b\u{fffe}é"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#9;&#10;\\x01\\x1b\\u{FFFE}é"
        );
    }

    #[test]
    fn statuses_map_onto_both_formats() {
        for (s, k) in [
            ("GOOD", "PASS"),
            ("WARN", "PASS"),
            ("FAIL", "FAIL"),
            ("ERROR", "ERROR"),
            ("ABORT", "ERROR"),
            ("TEST_NA", "SKIP"),
            ("RUNNING", "MISS"),
            ("NOSTATUS", "MISS"),
        ] {
            assert_eq!(kcidb_status(s), k, "{s}");
        }
        assert!(matches!(junit_outcome("ABORT"), JunitOutcome::Error));
        assert!(matches!(junit_outcome("TEST_NA"), JunitOutcome::Skipped));
        assert!(matches!(junit_outcome("FAIL"), JunitOutcome::Failure));
        assert!(matches!(junit_outcome("WARN"), JunitOutcome::Passed));
    }
}
