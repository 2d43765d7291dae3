//! `autotest results export --format junit|kcidb` end to end: a real job run by `autotest run`
//! (a test that passes with perf keyvals, fails, errors and does not apply) and a hand-written
//! status log (a kernel with a patch, an ABORT whose reason has control characters), parsed
//! into a real SQLite file, then exported. The JUnit is read back by python3's XML parser, the
//! KCIDB checked against the required fields of the v4 schema; the shapes are snapshots.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn autotest(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autotest"))
        .args(args)
        .current_dir(cwd)
        .env_remove("AUTOTEST_DB")
        .env_remove("AUTOTEST_CONFIG_DIR")
        .env_remove("RUST_LOG")
        .output()
        .expect("run the autotest binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

const EXPORTER: &str = "\
from autotest.client import test
from autotest.client.shared import error

class exporter(test.test):
    version = 1

    def run_once(self, mode='pass'):
        if mode == 'pass':
            self.write_perf_keyval({'throughput': 12.5, 'latency_ms': 3})
        elif mode == 'fail':
            raise error.TestFail('throughput <10 & \"low\" on \\'m1\\'')
        elif mode == 'error':
            raise error.TestError('setup broke: <missing>')
        elif mode == 'na':
            raise error.TestNAError('needs a GPU')
";

const CONTROL: &str = "\
job.run_test('exporter', tag='pass', mode='pass')
job.run_test('exporter', tag='fail', mode='fail')
job.run_test('exporter', tag='error', mode='error')
job.run_test('exporter', tag='na', mode='na')
";

/// A kernel with a patch, and an ABORT whose reason carries an escape sequence and \x01 (which
/// XML 1.0 cannot carry at all, not even as a character reference).
const STATUS_LOG: &str = "START\t----\t----\ttimestamp=100\t\n\
\tSTART\tboot\tboot\ttimestamp=101\t\n\
\t\tGOOD\tboot\tboot\ttimestamp=102\tkernel=6.1.5\tpatch0=fix.patch http://x/fix.patch abc123\tcompleted\n\
\tEND GOOD\tboot\tboot\ttimestamp=102\tkernel=6.1.5\tpatch0=fix.patch http://x/fix.patch abc123\t\n\
\tSTART\tstress\tstress\ttimestamp=103\t\n\
\t\tABORT\tstress\tstress\ttimestamp=110\tkilled: \x1b[31mtimeout\x1b[0m & <gone>\x01\n\
\tEND ABORT\tstress\tstress\ttimestamp=110\tkernel=6.1.5\t\n\
END ABORT\t----\t----\ttimestamp=111\t\n";

/// Runs the job as 42-tester/, writes 43-tester/, parses both; returns the database URL.
fn lab(dir: &Path) -> String {
    std::fs::create_dir_all(dir.join("exporter")).unwrap();
    std::fs::write(dir.join("exporter/exporter.py"), EXPORTER).unwrap();
    std::fs::write(dir.join("control"), CONTROL).unwrap();
    let out = autotest(&["run", "control", "--results", "42-tester"], dir);
    assert!(
        dir.join("42-tester/status").exists(),
        "{}",
        text(&out.stderr)
    );
    std::fs::create_dir(dir.join("43-tester")).unwrap();
    std::fs::write(dir.join("43-tester/status.log"), STATUS_LOG).unwrap();
    let db = format!("sqlite:{}", dir.join("lab.db").display());
    ok(&autotest(&["db", "migrate", "--db", &db], dir));
    ok(&autotest(
        &["parse", "--db", &db, "42-tester", "43-tester"],
        dir,
    ));
    db
}

/// Reads a JUnit file with python3's XML parser and gives back what it saw, checking that each
/// suite's counts are the number of its cases of each kind.
fn python_reads_junit(path: &Path) -> Value {
    const SCRIPT: &str = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == 'testsuites', root.tag
kinds = {'failure': 'failures', 'error': 'errors', 'skipped': 'skipped'}
total = dict(tests=0, failures=0, errors=0, skipped=0)
suites = []
for s in root.findall('testsuite'):
    n = dict(tests=0, failures=0, errors=0, skipped=0)
    cases = []
    for c in s.findall('testcase'):
        n['tests'] += 1
        verdicts = [e for e in c if e.tag in kinds]
        assert len(verdicts) <= 1, c.get('name')
        for e in verdicts:
            n[kinds[e.tag]] += 1
        cases.append(dict(
            name=c.get('name'), classname=c.get('classname'), time=float(c.get('time')),
            outcome=verdicts[0].tag if verdicts else 'passed',
            message=verdicts[0].get('message') if verdicts else None,
            text=verdicts[0].text if verdicts else None,
            properties={p.get('name'): p.get('value') for p in c.find('properties')}))
    for k, v in n.items():
        assert int(s.get(k)) == v, (s.get('name'), k, s.get(k), v)
        total[k] += v
    suites.append(dict(name=s.get('name'), cases=cases,
        properties=[[p.get('name'), p.get('value')] for p in s.find('properties')]))
for k, v in total.items():
    assert int(root.get(k)) == v, (k, root.get(k), v)
print(json.dumps(dict(name=root.get('name'), suites=suites)))
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(path)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3 rejects {}:\n{}\n{}",
        path.display(),
        text(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The KCIDB v4 schema's required fields and formats, checked by hand (no network): version
/// 4.x; every object an `id` of the form `<origin>:<...>` and an `origin` of `[a-z0-9_]+`;
/// builds name a checkout and tests a build that the document has; statuses and times as the
/// schema allows them.
fn check_kcidb(doc: &Value) {
    assert_eq!(doc["version"]["major"], 4, "{doc}");
    assert!(doc["version"]["minor"].is_u64(), "{doc}");
    let allowed = ["checkouts", "builds", "tests", "version"];
    for key in doc.as_object().unwrap().keys() {
        assert!(allowed.contains(&key.as_str()), "unknown top-level {key}");
    }
    let ids = |kind: &str| -> Vec<String> {
        doc[kind]
            .as_array()
            .unwrap_or_else(|| panic!("{kind} is not an array"))
            .iter()
            .map(|o| {
                let origin = o["origin"].as_str().expect("origin");
                assert!(
                    !origin.is_empty()
                        && origin
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "origin {origin:?}"
                );
                let id = o["id"].as_str().expect("id");
                assert!(id.starts_with(&format!("{origin}:")), "id {id:?}");
                if let Some(t) = o.get("start_time") {
                    chrono::DateTime::parse_from_rfc3339(t.as_str().unwrap())
                        .unwrap_or_else(|e| panic!("start_time {t}: {e}"));
                }
                id.to_owned()
            })
            .collect()
    };
    let checkouts = ids("checkouts");
    let builds = ids("builds");
    ids("tests");
    for b in doc["builds"].as_array().unwrap() {
        assert!(
            checkouts.contains(&b["checkout_id"].as_str().unwrap().to_owned()),
            "{b}"
        );
    }
    for t in doc["tests"].as_array().unwrap() {
        assert!(
            builds.contains(&t["build_id"].as_str().unwrap().to_owned()),
            "{t}"
        );
        let status = t["status"].as_str().unwrap();
        assert!(
            ["FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP"].contains(&status),
            "{t}"
        );
        assert!(t["duration"].as_f64().is_some_and(|d| d >= 0.0), "{t}");
        let path = t["path"].as_str().unwrap();
        assert!(
            !path.is_empty() && !path.contains(char::is_whitespace),
            "{t}"
        );
    }
}

/// What differs from machine to machine and run to run, replaced for the snapshots.
fn redact(text: &str, dir: &Path, kernel: &str) -> String {
    let host = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap();
    let re_time = regex::Regex::new(r#"(timestamp|time)="[^"]*""#).unwrap();
    let re_epoch = regex::Regex::new(r#"(keyval\.job_[a-z]+" value=)"\d+""#).unwrap();
    let re_user = regex::Regex::new(r#"(<property name="keyval\.user" value=)"[^"]*""#).unwrap();
    let t = text.replace(&dir.display().to_string(), "[dir]");
    let t = t.replace(kernel, "[kernel]");
    let t = t.replace(&format!("\"{}\"", host.trim()), "\"[host]\"");
    let t = t.replace(&format!("\"{}.", host.trim()), "\"[host].");
    let t = re_time.replace_all(&t, "$1=\"[t]\"");
    let t = re_epoch.replace_all(&t, "$1\"[epoch]\"");
    re_user.replace_all(&t, "$1\"[user]\"").into_owned()
}

#[test]
fn a_run_job_exports_as_junit_that_python_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let db = lab(&dir);
    let out = autotest(
        &["results", "export", "--db", &db, "--format", "junit", "42"],
        &dir,
    );
    ok(&out);
    let to_file = autotest(
        &[
            "results", "export", "--db", &db, "--format", "junit", "-o", "42.xml", "42",
        ],
        &dir,
    );
    ok(&to_file);
    assert!(to_file.stdout.is_empty(), "-o writes nothing on stdout");
    let xml = std::fs::read_to_string(dir.join("42.xml")).unwrap();
    assert_eq!(
        xml,
        text(&out.stdout),
        "stdout and -o write the same document"
    );
    let seen = python_reads_junit(&dir.join("42.xml"));
    let cases = seen["suites"][0]["cases"].as_array().unwrap();
    let outcomes: Vec<(&str, &str)> = cases
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("exporter.pass", "passed"),
            ("exporter.fail", "failure"),
            ("exporter.error", "error"),
            ("exporter.na", "skipped"),
        ]
    );
    // The escaped reason comes back as it was written.
    assert_eq!(cases[1]["message"], "throughput <10 & \"low\" on 'm1'");
    assert_eq!(cases[1]["text"], "throughput <10 & \"low\" on 'm1'");
    assert_eq!(cases[3]["message"], "needs a GPU");
    assert_eq!(cases[0]["properties"]["perf.throughput"], "12.5");
    assert_eq!(cases[0]["properties"]["perf.latency_ms"], "3");
    let kernel = cases[0]["properties"]["kernel"]
        .as_str()
        .expect("the kernel (from sysinfo-uname)")
        .to_owned();
    let running = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(kernel, running.trim(), "the machine's kernel");
    insta::assert_snapshot!("junit-run", redact(&xml, &dir, &kernel));
}

#[test]
fn a_kernel_job_with_control_characters_exports_as_junit_and_kcidb() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let db = lab(&dir);
    let out = autotest(
        &[
            "results", "export", "--db", &db, "--format", "junit", "-o", "43.xml", "43",
        ],
        &dir,
    );
    ok(&out);
    let seen = python_reads_junit(&dir.join("43.xml"));
    let stress = &seen["suites"][0]["cases"][1];
    assert_eq!(stress["outcome"], "error", "ABORT is an error: {seen}");
    assert_eq!(
        stress["message"], "killed: \\x1b[31mtimeout\\x1b[0m & <gone>\\x01",
        "control characters are shown, the rest kept"
    );
    assert_eq!(stress["time"], 7.0);
    assert_eq!(seen["name"], "autotest job 43 (43-tester)");
    let xml = std::fs::read_to_string(dir.join("43.xml")).unwrap();
    insta::assert_snapshot!("junit-kernel", redact(&xml, &dir, "[no kernel]"));

    let out = autotest(
        &["results", "export", "--db", &db, "--format", "kcidb", "43"],
        &dir,
    );
    ok(&out);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {}", text(&out.stdout)));
    check_kcidb(&doc);
    assert_eq!(doc["checkouts"][0]["git_commit_name"], "6.1.5");
    assert_eq!(
        doc["checkouts"][0]["misc"]["patches"][0]["name"],
        "fix.patch"
    );
    let statuses: Vec<&str> = doc["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["PASS", "ERROR"]);
    assert_eq!(doc["tests"][1]["start_time"], "1970-01-01T00:01:43Z");
    assert_eq!(doc["tests"][1]["duration"], 7.0);
    insta::assert_json_snapshot!("kcidb-kernel", doc, {
        ".tests[].misc.results" => "[dir]",
    });

    let out = autotest(
        &["results", "export", "--db", &db, "--format", "kcidb", "42"],
        &dir,
    );
    ok(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    check_kcidb(&doc);
    let tests = doc["tests"].as_array().unwrap();
    let statuses: Vec<&str> = tests
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["PASS", "FAIL", "ERROR", "SKIP"]);
    assert_eq!(tests[0]["misc"]["perf"]["throughput"], 12.5);
    assert_eq!(tests[0]["path"], "exporter.pass");
    insta::assert_json_snapshot!("kcidb-run", doc, {
        ".checkouts[].id" => "[id]",
        ".checkouts[].git_commit_name" => "[kernel]",
        ".checkouts[].misc.kernel" => "[kernel]",
        ".checkouts[].start_time" => "[time]",
        ".checkouts[].comment" => "[job and user]",
        ".checkouts[].misc.owner" => "[user]",
        ".builds[].id" => "[id]",
        ".builds[].checkout_id" => "[id]",
        ".builds[].comment" => "[kernel]",
        ".builds[].misc.kernel" => "[kernel]",
        ".builds[].start_time" => "[time]",
        ".tests[].build_id" => "[id]",
        ".tests[].start_time" => "[time]",
        ".tests[].duration" => "[secs]",
        ".tests[].environment" => "[machine]",
        ".tests[].misc.results" => "[dir]",
    });
}

#[test]
fn a_job_without_parsed_results_is_refused_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = format!("sqlite:{}", dir.join("lab.db").display());
    ok(&autotest(&["db", "migrate", "--db", &db], dir));
    let out = autotest(
        &["results", "export", "--db", &db, "--format", "kcidb", "7"],
        dir,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains("job 7 has no parsed results")
            && err.contains("7-<owner>")
            && err.contains("autotest parse"),
        "{err}"
    );
    let out = autotest(
        &["results", "export", "--db", &db, "--format", "xml", "7"],
        dir,
    );
    assert_eq!(out.status.code(), Some(2), "bad usage: {out:?}");
}
