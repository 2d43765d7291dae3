//! `autotest db migrate` and `autotest parse` end to end: real jobs run by `autotest run` and
//! `autotest autoserv` (localhost, and two netns machines over SSH), parsed twice into a real
//! SQLite file or a real PostgreSQL, the rows checked through the store API.

use std::path::Path;
use std::process::{Command, Output};

use autotest_core::store::{DbUrl, RowCounts, SCHEMA_VERSION, Store};

fn autotest(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("AUTOTEST_DB")
        .env_remove("AUTOTEST_CONFIG_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run the autotest binary")
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

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The parsed tests of a results directory: (name, status), in log order.
fn tests_of(url: &DbUrl, tag: &Path) -> Vec<(i64, String, String)> {
    rt().block_on(async {
        let s = Store::open(url).await.unwrap();
        let tag = tag.canonicalize().unwrap();
        let job = s
            .tko_job(tag.to_str().unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} not parsed", tag.display()));
        let tests = s.tko_tests(job.job_idx).await.unwrap();
        s.close().await;
        tests
            .into_iter()
            .map(|t| (t.test_idx, t.test, t.status))
            .collect()
    })
}

fn counts(url: &DbUrl) -> RowCounts {
    rt().block_on(async {
        let s = Store::open(url).await.unwrap();
        let c = s.tko_row_counts().await.unwrap();
        s.close().await;
        c
    })
}

const CONTROL: &str =
    "job.run_test('sleeptest', seconds=0.1)\njob.run_test('sleeptest', tag='bad', bogus=1)\n";

#[test]
fn results_of_autotest_run_parsed_twice_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("control"), CONTROL).unwrap();
    let out = autotest(&["run", "control", "--results", "r"], dir.path(), &[]);
    assert!(
        dir.path().join("r/status").exists(),
        "{}",
        text(&out.stderr)
    );
    let db = format!("sqlite:{}", dir.path().join("lab.db").display());
    ok(&autotest(&["db", "migrate", "--db", &db], dir.path(), &[]));
    let out = autotest(&["parse", "--db", &db, "r"], dir.path(), &[]);
    ok(&out);
    assert!(
        text(&out.stdout).contains("ERROR on "),
        "{}",
        text(&out.stdout)
    );
    let url = DbUrl::parse(&db, "test").unwrap();
    let first = tests_of(&url, &dir.path().join("r"));
    assert_eq!(
        first
            .iter()
            .map(|(_, n, s)| (n.as_str(), s.as_str()))
            .collect::<Vec<_>>(),
        [("sleeptest", "GOOD"), ("sleeptest.bad", "ERROR")]
    );
    let before = counts(&url);
    ok(&autotest(&["parse", "--db", &db, "r"], dir.path(), &[]));
    assert_eq!(counts(&url), before, "a reparse adds no rows");
    assert_eq!(
        tests_of(&url, &dir.path().join("r")),
        first,
        "and keeps the test ids"
    );
    assert!(
        before.iteration_results >= 1 || before.test_attributes >= 1,
        "{before:?}"
    );
}

#[test]
fn results_of_autoserv_on_localhost_with_the_database_from_global_config() {
    let dir = tempfile::tempdir().unwrap();
    let autodir = dir.path().join("autodir");
    std::fs::write(
        dir.path().join("global_config.ini"),
        format!("[AUTOSERV]\nclient_autodir_paths: {}\n\n[AUTOTEST_WEB]\ndb_type: sqlite\ndatabase: lab.db\n", autodir.display()),
    )
    .unwrap();
    std::fs::write(dir.path().join("control"), CONTROL).unwrap();
    let out = autotest(
        &[
            "autoserv",
            "-m",
            "localhost",
            "-r",
            "r",
            "-c",
            "--config-dir",
            ".",
            "control",
        ],
        dir.path(),
        &[],
    );
    ok(&out);
    let out = autotest(&["db", "migrate", "--config-dir", "."], dir.path(), &[]);
    ok(&out);
    assert!(
        text(&out.stdout).contains(&format!("schema version 0 -> {SCHEMA_VERSION}")),
        "{}",
        text(&out.stdout)
    );
    let out = autotest(
        &["db", "migrate"],
        dir.path(),
        &[("AUTOTEST_CONFIG_DIR", ".")],
    );
    ok(&out);
    assert!(
        text(&out.stdout).contains("up to date"),
        "{}",
        text(&out.stdout)
    );
    ok(&autotest(
        &["parse", "--config-dir", ".", "r"],
        dir.path(),
        &[],
    ));
    let url = DbUrl::sqlite(dir.path().join("lab.db"), "test");
    let first = tests_of(&url, &dir.path().join("r"));
    assert_eq!(
        first
            .iter()
            .map(|(_, n, s)| (n.as_str(), s.as_str()))
            .collect::<Vec<_>>(),
        [("sleeptest", "GOOD"), ("sleeptest.bad", "ERROR")]
    );
    let before = counts(&url);
    ok(&autotest(
        &["parse", "--config-dir", ".", "r"],
        dir.path(),
        &[],
    ));
    assert_eq!(counts(&url), before);
    assert_eq!(tests_of(&url, &dir.path().join("r")), first);
    // The job's machine and keyvals came from its results.
    rt().block_on(async {
        let s = Store::open(&url).await.unwrap();
        let tag = dir.path().join("r").canonicalize().unwrap();
        let job = s.tko_job(tag.to_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(job.status, "ERROR");
        assert!(job.started.is_some());
        assert!(
            s.tko_job_keyvals(job.job_idx)
                .await
                .unwrap()
                .iter()
                .any(|(k, _)| k == "hostname")
        );
        s.close().await;
    });
}

#[test]
fn a_truncated_status_log_is_reported_by_line_and_the_rest_stored() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("control"), CONTROL).unwrap();
    autotest(&["run", "control", "--results", "r"], dir.path(), &[]);
    let status = dir.path().join("r/status");
    let log = std::fs::read_to_string(&status).unwrap();
    // Cut the log in the middle of the second test's result line.
    let at = log
        .find("\t\tERROR\tsleeptest.bad")
        .expect("the bad test's result line")
        + 7;
    std::fs::write(&status, &log[..at]).unwrap();
    let lines = log[..at].lines().count();
    let db = format!("sqlite:{}", dir.path().join("lab.db").display());
    ok(&autotest(&["db", "migrate", "--db", &db], dir.path(), &[]));
    let out = autotest(&["parse", "--db", &db, "r"], dir.path(), &[]);
    ok(&out);
    let want = format!(
        "warning: {}:{lines}: ",
        status.canonicalize().unwrap().display()
    );
    assert!(
        text(&out.stderr).contains(&want),
        "{want}\n{}",
        text(&out.stderr)
    );
    let url = DbUrl::parse(&db, "test").unwrap();
    assert_eq!(
        tests_of(&url, &dir.path().join("r"))
            .iter()
            .map(|(_, n, s)| (n.clone(), s.clone()))
            .collect::<Vec<_>>(),
        [
            ("sleeptest".to_owned(), "GOOD".to_owned()),
            ("sleeptest.bad".to_owned(), "ABORT".to_owned())
        ]
    );
}

#[test]
fn errors_name_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("lab.db").display());
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    // Not migrated yet.
    let out = autotest(&["parse", "--db", &db, "empty"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("run `autotest db migrate`"),
        "{}",
        text(&out.stderr)
    );
    ok(&autotest(&["db", "migrate", "--db", &db], dir.path(), &[]));
    // Not a results directory; missing directory; the others are still parsed.
    let out = autotest(&["parse", "--db", &db, "empty", "missing"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("empty: no status.log or status file"), "{err}");
    assert!(
        err.contains("missing: cannot read the results directory"),
        "{err}"
    );
    // Bad locations.
    let out = autotest(&["db", "migrate", "--db", "mysql://h/d"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("(--db) is not supported: use sqlite:"),
        "{}",
        text(&out.stderr)
    );
    let out = autotest(&["db", "migrate"], dir.path(), &[("AUTOTEST_DB", "lab.db")]);
    assert!(
        text(&out.stderr).contains("(AUTOTEST_DB) is not supported"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(
        dir.path().join("global_config.ini"),
        "[AUTOTEST_WEB]\ndb_type: mysql\nhost: h\ndatabase: d\n",
    )
    .unwrap();
    let out = autotest(&["db", "migrate", "--config-dir", "."], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("global_config.ini: [AUTOTEST_WEB] db_type \"mysql\" is not supported"),
        "{err}"
    );
    let out = autotest(&["parse", "--db", &db], dir.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap: a results directory is required"
    );
}

#[test]
fn postgres_database_named_by_autotest_db() {
    let Some(pg) = autotest_testlab::postgres::PgServer::start() else {
        return;
    };
    let url = pg.create_database("cli");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("control"), CONTROL).unwrap();
    autotest(&["run", "control", "--results", "r"], dir.path(), &[]);
    let env = [("AUTOTEST_DB", url.as_str())];
    ok(&autotest(&["db", "migrate"], dir.path(), &env));
    ok(&autotest(&["parse", "r"], dir.path(), &env));
    let db = DbUrl::parse(&url, "test").unwrap();
    let first = tests_of(&db, &dir.path().join("r"));
    assert_eq!(first.len(), 2);
    let before = counts(&db);
    ok(&autotest(&["parse", "r"], dir.path(), &env));
    assert_eq!(counts(&db), before);
    assert_eq!(tests_of(&db, &dir.path().join("r")), first);
}

#[test]
fn a_multi_machine_job_is_one_parsed_job_per_machine() {
    let lab = autotest_testlab::netns::Lab::new(2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("control"),
        "job.run_test('sleeptest', seconds=0.1)\n",
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    cmd.current_dir(dir.path()).args([
        "autoserv",
        "-m",
        &lab.machine_list(),
        "-r",
        "r",
        "-c",
        "control",
    ]);
    for (k, v) in lab.ssh_env() {
        cmd.env(k, v);
    }
    lab.run_in_server(&mut cmd);
    ok(&cmd.output().unwrap());
    let db = format!("sqlite:{}", dir.path().join("lab.db").display());
    ok(&autotest(&["db", "migrate", "--db", &db], dir.path(), &[]));
    for _ in 0..2 {
        ok(&autotest(&["parse", "--db", &db, "r"], dir.path(), &[]));
    }
    let url = DbUrl::parse(&db, "test").unwrap();
    let c = counts(&url);
    assert_eq!((c.jobs, c.tests, c.machines), (2, 2, 2), "{c:?}");
    for m in lab.machines() {
        let addr = m.address().to_string();
        let tests = tests_of(&url, &dir.path().join("r").join(&addr));
        assert_eq!(
            tests
                .iter()
                .map(|(_, n, s)| (n.as_str(), s.as_str()))
                .collect::<Vec<_>>(),
            [("sleeptest", "GOOD")]
        );
        rt().block_on(async {
            let s = Store::open(&url).await.unwrap();
            let tag = dir.path().join("r").join(&addr).canonicalize().unwrap();
            let job = s.tko_job(tag.to_str().unwrap()).await.unwrap().unwrap();
            assert_eq!(job.machine, addr);
            s.close().await;
        });
    }
}
