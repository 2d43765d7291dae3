//! `autotest db migrate` from an older schema and `autotest db prune` end to end: a real SQLite
//! file, jobs written through the store API, the binary run as a user would, the rows and the
//! results trees on disk checked afterwards.

use std::path::Path;
use std::process::{Command, Output};

use autotest_core::store::{
    ControlType, DbUrl, EntryStatus, NewJob, ParsedJob, ParsedTest, SCHEMA_VERSION, Store,
};

const DAY: i64 = 86_400;

fn autotest(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autotest"))
        .args(args)
        .current_dir(cwd)
        .env_remove("AUTOTEST_DB")
        .env_remove("AUTOTEST_CONFIG_DIR")
        .output()
        .expect("run the autotest binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A migrated database in `dir` with host m1.
fn database(dir: &Path) -> (String, DbUrl) {
    let db = format!("sqlite:{}", dir.join("lab.db").display());
    let url = DbUrl::parse(&db, "test").unwrap();
    rt().block_on(async {
        let (s, _) = Store::migrate(&url).await.unwrap();
        s.create_host("m1").await.unwrap();
        s.close().await;
    });
    (db, url)
}

/// A job on m1 created `days_ago`, its entry completed then, its results recorded at `path`
/// and parsed (one test).
fn finished_job(url: &DbUrl, name: &str, days_ago: i64, path: Option<&str>) -> i64 {
    rt().block_on(async {
        let s = Store::open(url).await.unwrap();
        let at = now() - days_ago * DAY;
        let mut new = NewJob::new("alice", name, "pass\n", ControlType::Client);
        new.hosts = vec!["m1".into()];
        new.created_on = Some(at);
        let job = s.create_job(&new).await.unwrap();
        let entry = s.queue_entries(job.id).await.unwrap()[0].id;
        s.set_entry_status(entry, EntryStatus::Completed, at + 60)
            .await
            .unwrap();
        if let Some(path) = path {
            s.set_results_location(job.id, "localhost", path)
                .await
                .unwrap();
        }
        s.store_parsed_job(&ParsedJob {
            tag: format!("/r/{}-alice", job.id),
            label: name.into(),
            username: "alice".into(),
            machine: "m1".into(),
            status: "GOOD".into(),
            queued: None,
            started: Some(at),
            finished: Some(at + 60),
            afe_job_id: Some(job.id),
            keyvals: vec![],
            tests: vec![ParsedTest {
                name: "sleeptest".into(),
                subdir: "sleeptest".into(),
                status: "GOOD".into(),
                reason: String::new(),
                kernel: None,
                started: Some(at),
                finished: Some(at + 1),
                line: 2,
                attributes: vec![],
                iterations: vec![],
            }],
        })
        .await
        .unwrap();
        s.close().await;
        job.id
    })
}

fn job_ids(url: &DbUrl) -> Vec<i64> {
    rt().block_on(async {
        let s = Store::open(url).await.unwrap();
        let ids = s.job_ids().await.unwrap();
        s.close().await;
        ids
    })
}

#[test]
fn db_migrate_brings_a_version_1_database_to_this_version_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("lab.db").display());
    let url = DbUrl::parse(&db, "test").unwrap();
    rt().block_on(async {
        Store::migrate_to(&url, 1).await.unwrap();
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&format!("sqlite://{}", dir.path().join("lab.db").display()))
            .await
            .unwrap();
        for sql in [
            "INSERT INTO hosts (hostname, created_on) VALUES ('m1', 1700000000)",
            "INSERT INTO jobs (owner, name, control_file, control_type, timeout_hrs, max_runtime_hrs, created_on) VALUES ('alice', 'v1 job', 'pass', 'Client', 72, 72, 1700000000)",
            "INSERT INTO host_queue_entries (job_id, host_id) VALUES (1, 1)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    });
    // Commands other than `db migrate` refuse a version-1 database.
    let out = autotest(
        &["db", "prune", "--older-than", "1d", "--db", &db],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "schema version 1, this build needs {SCHEMA_VERSION}: run `autotest db migrate`"
        )),
        "{}",
        text(&out.stderr)
    );
    let stdout = ok(&autotest(&["db", "migrate", "--db", &db], dir.path()));
    assert!(
        stdout.contains(&format!("schema version 1 -> {SCHEMA_VERSION}")),
        "{stdout}"
    );
    rt().block_on(async {
        let s = Store::open(&url).await.unwrap();
        assert_eq!(s.host_named("m1").await.unwrap().hostname, "m1");
        assert_eq!(s.job(1).await.unwrap().name, "v1 job");
        assert_eq!(s.queue_entries(1).await.unwrap().len(), 1);
        s.close().await;
    });
    let stdout = ok(&autotest(&["db", "migrate", "--db", &db], dir.path()));
    assert!(stdout.contains("(up to date)"), "{stdout}");
}

#[test]
fn prune_deletes_old_finished_jobs_and_a_dry_run_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, url) = database(dir.path());
    let old = finished_job(&url, "old", 100, None);
    let young = finished_job(&url, "young", 10, None);

    let out = autotest(
        &[
            "db",
            "prune",
            "--db",
            &db,
            "--older-than",
            "90d",
            "--dry-run",
            "--json",
        ],
        dir.path(),
    );
    let report: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(
        (
            &report["jobs"],
            &report["entries"],
            &report["tko_jobs"],
            &report["tests"]
        ),
        (&1.into(), &1.into(), &1.into(), &1.into()),
        "{report}"
    );
    assert!(report["cutoff"].as_i64().unwrap() <= now() - 90 * DAY);
    assert_eq!(job_ids(&url), [old, young], "a dry run deletes nothing");

    let out = ok(&autotest(
        &[
            "db",
            "prune",
            "--db",
            &db,
            "--older-than",
            "90d",
            "--dry-run",
        ],
        dir.path(),
    ));
    assert!(
        out.starts_with("would delete (dry run, nothing changed): 1 job, 1 queue entry, 1 parsed job, 1 test, 0 iterations"),
        "{out}"
    );
    let out = ok(&autotest(
        &["db", "prune", "--db", &db, "--older-than", "90d"],
        dir.path(),
    ));
    assert!(
        out.starts_with(
            "deleted: 1 job, 1 queue entry, 1 parsed job, 1 test, 0 iterations (sqlite:"
        ),
        "{out}"
    );
    assert_eq!(job_ids(&url), [young]);
    // 2w reaches the young one too, in hours as well.
    let out = ok(&autotest(
        &["db", "prune", "--db", &db, "--older-than", "168h"],
        dir.path(),
    ));
    assert!(out.starts_with("deleted: 1 job,"), "{out}");
    assert!(job_ids(&url).is_empty());
}

#[test]
fn a_bad_age_is_refused_naming_the_text_and_the_forms() {
    let dir = tempfile::tempdir().unwrap();
    let (db, url) = database(dir.path());
    finished_job(&url, "old", 100, None);
    for bad in ["3y", "90", "-1d", "1.5d", "d"] {
        let arg = format!("--older-than={bad}"); // "=": "-1d" would read as a flag
        let out = autotest(&["db", "prune", "--db", &db, &arg], dir.path());
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out.stdout));
        let e = text(&out.stderr);
        assert!(
            e.contains(&format!("{bad:?}"))
                && e.contains("30m, 12h, 90d, 2w")
                && e.contains("--older-than"),
            "{bad}: {e}"
        );
    }
    assert_eq!(job_ids(&url).len(), 1, "nothing was deleted");
}

#[test]
fn results_trees_go_only_with_results_and_only_inside_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let (db, url) = database(dir.path());
    // The results root from [SCHEDULER] drone_installation_directory, as a lab configures it.
    let install = dir.path().join("install");
    let root = install.join("results");
    let outside = dir.path().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("precious"), "keep me").unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(
        conf.join("global_config.ini"),
        format!(
            "[SCHEDULER]\ndrone_installation_directory: {}\n",
            install.display()
        ),
    )
    .unwrap();
    let tree = |name: &str| {
        let d = root.join(name);
        std::fs::create_dir_all(d.join("m1/debug")).unwrap();
        std::fs::write(d.join("m1/status.log"), "END GOOD\t----\t----\t\n").unwrap();
        d
    };
    let conf_dir = conf.to_str().unwrap();

    // Without --results a pruned job's tree stays.
    let t0 = tree("1-alice");
    finished_job(&url, "no-results-flag", 100, Some(t0.to_str().unwrap()));
    let out = ok(&autotest(
        &[
            "db",
            "prune",
            "--db",
            &db,
            "--config-dir",
            conf_dir,
            "--older-than",
            "90d",
        ],
        dir.path(),
    ));
    assert!(!out.contains("results tree"), "{out}");
    assert!(t0.join("m1/status.log").exists());

    let inside_abs = tree("2-alice");
    let inside_rel = tree("3-alice");
    std::os::unix::fs::symlink(&outside, root.join("4-link")).unwrap();
    let a = finished_job(&url, "abs", 100, Some(inside_abs.to_str().unwrap()));
    let b = finished_job(&url, "rel", 100, Some("3-alice"));
    let c = finished_job(&url, "outside", 100, Some(outside.to_str().unwrap()));
    let d = finished_job(&url, "dotdot", 100, Some("../../elsewhere"));
    let e = finished_job(&url, "link", 100, Some("4-link"));
    let f = finished_job(&url, "root", 100, Some(root.to_str().unwrap()));
    let young = tree("9-alice");
    finished_job(&url, "young", 1, Some(young.to_str().unwrap()));

    let args = |extra: &[&'static str]| {
        let mut v = vec![
            "db",
            "prune",
            "--db",
            &db,
            "--config-dir",
            conf_dir,
            "--older-than",
            "90d",
            "--results",
        ];
        v.extend_from_slice(extra);
        v
    };
    let dry: serde_json::Value =
        serde_json::from_str(&ok(&autotest(&args(&["--dry-run", "--json"]), dir.path()))).unwrap();
    assert_eq!(
        (&dry["jobs"], &dry["trees"]),
        (&6.into(), &2.into()),
        "{dry}"
    );
    assert!(
        inside_abs.exists() && inside_rel.exists(),
        "a dry run removes no tree"
    );

    let out = autotest(&args(&["--json"]), dir.path());
    let report: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(
        (&report["jobs"], &report["trees"]),
        (&6.into(), &2.into()),
        "{report}"
    );
    assert!(!inside_abs.exists() && !inside_rel.exists());
    let kept: Vec<(i64, String)> = report["trees_kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["job_id"].as_i64().unwrap(),
                k["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kept.iter().map(|(j, _)| *j).collect::<Vec<_>>(),
        [c, d, e, f],
        "{kept:?}"
    );
    assert!(
        kept.iter()
            .all(|(_, why)| why.starts_with("outside the results root")),
        "{kept:?}"
    );
    assert_eq!(
        std::fs::read_to_string(outside.join("precious")).unwrap(),
        "keep me"
    );
    assert!(root.join("4-link").exists() && young.exists() && t0.exists());
    let _ = (a, b);

    // The people's form names what stayed, and --results-root overrides the config.
    let other = dir.path().join("other-root");
    std::fs::create_dir(&other).unwrap();
    finished_job(&url, "outside-again", 100, Some(outside.to_str().unwrap()));
    let out = autotest(
        &[
            "db",
            "prune",
            "--db",
            &db,
            "--older-than",
            "90d",
            "--results",
            "--results-root",
            other.to_str().unwrap(),
        ],
        dir.path(),
    );
    let stdout = ok(&out);
    assert!(
        stdout.contains("1 job,") && stdout.contains("0 results trees"),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: kept the results of job")
            && stderr.contains(&format!(
                "outside the results root {}",
                other.canonicalize().unwrap().display()
            )),
        "{stderr}"
    );
    assert!(outside.join("precious").exists());

    // A results root that does not exist is an error naming it.
    finished_job(&url, "more", 100, None);
    let out = autotest(
        &[
            "db",
            "prune",
            "--db",
            &db,
            "--older-than",
            "90d",
            "--results",
            "--results-root",
            "/nonexistent/results",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("/nonexistent/results: cannot read the results root"),
        "{}",
        text(&out.stderr)
    );
}
