//! `--json` of every reporting command: one JSON document on stdout and nothing else, in the
//! documented shape (snapshot-tested; paths, pids and times redacted), on real files, a real
//! SQLite database and a real rsync.

use std::path::Path;
use std::process::{Command, Output};

fn autotest(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autotest"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .expect("run the autotest binary")
}

/// The whole of stdout as one JSON document (fails on any other text there).
fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

const STATUS_LOG: &str = "START\t----\t----\ttimestamp=100\t\n\
\tSTART\tsleeptest\tsleeptest\ttimestamp=101\t\n\
\t\tGOOD\tsleeptest\tsleeptest\ttimestamp=102\tcompleted successfully\n\
\tEND GOOD\tsleeptest\tsleeptest\ttimestamp=102\tkernel=6.1.5\t\n\
\tSTART\tdbench\tdbench\ttimestamp=103\t\n\
\t\tFAIL\tdbench\tdbench\ttimestamp=104\tthroughput too low\n\
\tEND FAIL\tdbench\tdbench\ttimestamp=104\t\n\
garbage line\n\
END FAIL\t----\t----\ttimestamp=105\t\n";

#[test]
fn status_json_is_the_job_summary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("status.log"), STATUS_LOG).unwrap();
    let out = autotest(&["status", "--json", "status.log"], dir.path());
    assert_eq!(out.status.code(), Some(1), "a test failed: {out:?}");
    insta::assert_json_snapshot!("status", json(&out));
}

#[test]
fn db_migrate_and_parse_json_are_the_migration_and_the_parse_report() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("r");
    std::fs::create_dir(&results).unwrap();
    std::fs::write(results.join("status.log"), STATUS_LOG).unwrap();
    let db = format!("sqlite:{}", dir.path().join("lab.db").display());
    let out = autotest(&["db", "migrate", "--json", "--db", &db], dir.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    insta::assert_json_snapshot!("db-migrate", json(&out));
    let out = autotest(&["parse", "--json", "--db", &db, "r"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report = json(&out);
    assert!(
        report["jobs"][0]["tag"].as_str().unwrap().ends_with("/r"),
        "{report}"
    );
    insta::assert_json_snapshot!("parse", report, {
        ".jobs[].tag" => "[results dir]",
        ".problems[].path" => "[status log]",
    });
}

#[test]
fn conmux_status_json_is_the_status_report() {
    let dir = tempfile::tempdir().unwrap();
    // A status file as the supervisor writes it; this test's pid is alive.
    std::fs::write(
        dir.path().join("conmux.status"),
        format!(
            "# conmux supervisor pid={} registry=127.0.0.1:63000 updated=2026-01-01T00:00:00Z\n\
             m1\trunning\t127.0.0.1:63001\tconnected\t1\tuser:root\tm1 console\n\
             m2\tfailed\t-\t-\t0\t-\tcannot open /dev/ttyS9: fix m2.cf\n",
            std::process::id()
        ),
    )
    .unwrap();
    let out = autotest(&["conmux", "status", "--json", "."], dir.path());
    assert_eq!(out.status.code(), Some(1), "m2 failed: {out:?}");
    let report = json(&out);
    assert_eq!(report["pid"], std::process::id());
    insta::assert_json_snapshot!("conmux-status", report, { ".pid" => "[pid]" });
}

/// A queue, a clients file and an upstream directory holding one release of 21 bytes.
fn mirror_lab() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["up/v6.x", "mirror", "queue/x86", "ctl"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    std::fs::write(d.join("ctl/basic"), "job.run_test('sleeptest')\n").unwrap();
    std::fs::write(
        d.join("clients"),
        format!("x86 {}\n", d.join("ctl/basic").display()),
    )
    .unwrap();
    std::fs::write(d.join("up/v6.x/linux-6.1.tar.xz"), "not really a tarball\n").unwrap();
    dir
}

fn mirror(d: &Path, extra: &[&str]) -> Output {
    let source = format!("{}/", d.join("up").display());
    let mut args = vec!["mirror", "-c", "clients", "--source", &source];
    args.extend(extra);
    args.extend(["mirror", "queue"]);
    autotest(&args, d)
}

#[test]
fn mirror_json_is_what_the_run_queued() {
    let dir = mirror_lab();
    let d = dir.path();
    let out = mirror(d, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report = json(&out);
    let queued = report["queued"][0].as_str().expect("one queued file");
    assert!(d.join(queued).is_file(), "{queued} was not written");
    insta::assert_json_snapshot!("mirror", report, { ".queued[]" => "[queue file]" });
}

#[test]
fn mirror_sync_progress_is_plain_lines_on_stderr_when_not_a_terminal() {
    let dir = mirror_lab();
    let out = mirror(dir.path(), &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    json(&out);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("mirror sync"))
        .collect();
    assert_eq!(
        lines,
        [
            "autotest: mirror sync: 1 files, 21 B: v6.x/linux-6.1.tar.xz",
            "autotest: mirror sync: 1 files, 21 B: done",
        ],
        "{stderr}"
    );
    // Nothing new the second time; -q: no progress at all.
    let again = mirror(dir.path(), &[]);
    let stderr = String::from_utf8(again.stderr).unwrap();
    assert!(
        stderr.contains("autotest: mirror sync: 0 files, 0 B: done"),
        "{stderr}"
    );
    let quiet = mirror(dir.path(), &["-q"]);
    assert!(
        !String::from_utf8(quiet.stderr)
            .unwrap()
            .contains("mirror sync")
    );
}
