//! The lab database, on both backends from one suite: an SQLite file in a temporary directory,
//! and a real PostgreSQL started by the test (see autotest_testlab::postgres).

use std::path::Path;

use autotest_core::GlobalConfig;
use autotest_core::store::{
    ControlType, DbUrl, EntryStatus, HostFilter, HostSpec, HostStatus, JobFilter, NewHost, NewJob,
    NewLabel, NewSpecialTask, ParsedIteration, ParsedJob, ParsedTest, Protection, PruneOptions,
    PruneReport, RECENT_TASKS, ResultFilter, SCHEMA_VERSION, SpecialTaskKind, Store, StoreError,
    resolve_db_with, utc_text,
};
use autotest_testlab::postgres::PgServer;

/// A database for one test, with what keeps it alive.
struct TestDb {
    url: DbUrl,
    _dir: tempfile::TempDir,
    _pg: Option<PgServer>,
}

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = DbUrl::sqlite(dir.path().join("lab.db"), "test");
        TestDb {
            url,
            _dir: dir,
            _pg: None,
        }
    }

    fn postgres(name: &str) -> Option<TestDb> {
        let pg = PgServer::start()?;
        let url = DbUrl::parse(&pg.create_database(name), "test").unwrap();
        Some(TestDb {
            url,
            _dir: tempfile::tempdir().unwrap(),
            _pg: Some(pg),
        })
    }

    async fn migrated(&self) -> Store {
        Store::migrate(&self.url).await.unwrap().0
    }
}

/// Each case runs on SQLite and on PostgreSQL.
macro_rules! both_backends {
    ($($case:ident),+ $(,)?) => {
        $(
            mod $case {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$case(super::TestDb::sqlite()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = super::TestDb::postgres(stringify!($case)) {
                        super::$case(db).await;
                    }
                }
            }
        )+
    };
}

both_backends!(
    migrate_is_needed_then_idempotent,
    a_newer_database_is_refused_and_left_alone,
    hosts_labels_and_drones,
    hosts_are_created_with_labels_and_lock_or_not_at_all,
    host_lists_filter_and_carry_labels,
    host_details_and_label_counts,
    locks_and_label_refusals_name_who_and_the_fix,
    jobs_entries_aborts_and_tasks,
    a_reparse_replaces_rows_and_keeps_test_ids,
    parse_reports_bad_lines_and_stores_the_rest,
    two_parsers_of_one_job_do_not_duplicate_rows,
    job_creation_checks_names_control_and_synch_count,
    job_list_stat_and_results_queries,
    a_version_1_database_is_migrated_with_its_rows,
    every_list_query_uses_an_index,
    prune_removes_old_finished_jobs_and_their_results_only,
    prune_works_in_bounded_batches,
);

async fn migrate_is_needed_then_idempotent(db: TestDb) {
    let e = Store::open(&db.url).await.unwrap_err();
    assert!(
        matches!(e, StoreError::OlderSchema { database: 0, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("run `autotest db migrate`"), "{e}");
    let (store, m) = Store::migrate(&db.url).await.unwrap();
    assert_eq!((m.from, m.to), (0, SCHEMA_VERSION));
    store.close().await;
    let (store, m) = Store::migrate(&db.url).await.unwrap();
    assert_eq!((m.from, m.to), (SCHEMA_VERSION, SCHEMA_VERSION));
    store.close().await;
    let store = Store::open(&db.url).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    if let Some(file) = db.url.sqlite_file() {
        // WAL mode: readers and the writer do not block each other.
        store.create_host("wal").await.unwrap();
        let wal = file.with_file_name(format!(
            "{}-wal",
            file.file_name().unwrap().to_str().unwrap()
        ));
        assert!(
            wal.exists(),
            "{} missing: the database is not in WAL mode",
            wal.display()
        );
    }
}

async fn a_newer_database_is_refused_and_left_alone(db: TestDb) {
    let store = db.migrated().await;
    store.create_host("m1").await.unwrap();
    store.close().await;
    // What a newer build would have recorded.
    sqlx::any::install_default_drivers();
    let raw_url = match db.url.sqlite_file() {
        Some(f) => format!("sqlite://{}", f.display()),
        None => db.url.to_string(),
    };
    let pool = sqlx::AnyPool::connect(&raw_url).await.unwrap();
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99, 'from the future', TRUE, $1, 0)")
        .bind(vec![0u8; 4])
        .execute(&pool)
        .await
        .unwrap();
    let count = |pool: sqlx::AnyPool| async move {
        use sqlx::Row;
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM _sqlx_migrations), (SELECT COUNT(*) FROM hosts)",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        (r.get::<i64, _>(0), r.get::<i64, _>(1))
    };
    let before = count(pool.clone()).await;
    for e in [
        Store::open(&db.url).await.unwrap_err(),
        Store::migrate(&db.url).await.unwrap_err(),
    ] {
        assert!(
            matches!(
                e,
                StoreError::NewerSchema {
                    database: 99,
                    build: SCHEMA_VERSION,
                    ..
                }
            ),
            "{e}"
        );
        let text = e.to_string();
        assert!(
            text.contains("schema version 99")
                && text.contains(&format!("this build's {SCHEMA_VERSION}")),
            "{text}"
        );
        assert!(text.contains("not changed"), "{text}");
    }
    assert_eq!(
        count(pool.clone()).await,
        before,
        "a newer database is never changed"
    );
    pool.close().await;
}

async fn hosts_labels_and_drones(db: TestDb) {
    let s = db.migrated().await;
    let h = s.create_host("m1").await.unwrap();
    assert_eq!(
        (h.status, h.locked, h.dirty, h.protection),
        (HostStatus::Ready, false, false, Protection::NoProtection)
    );
    assert!(h.created_on > 1_700_000_000);
    s.create_host("m2").await.unwrap();
    assert!(
        s.create_host("m1")
            .await
            .unwrap_err()
            .to_string()
            .contains("already exists")
    );
    assert!(s.create_host("bad name").await.is_err());
    assert_eq!(
        s.hosts()
            .await
            .unwrap()
            .iter()
            .map(|h| h.hostname.as_str())
            .collect::<Vec<_>>(),
        ["m1", "m2"]
    );

    let h = s
        .set_host_status("m1", HostStatus::RepairFailed)
        .await
        .unwrap();
    assert_eq!(h.status, HostStatus::RepairFailed);
    assert!(s.set_host_dirty("m1", true).await.unwrap().dirty);
    assert_eq!(
        s.set_host_protection("m1", Protection::DoNotRepair)
            .await
            .unwrap()
            .protection,
        Protection::DoNotRepair
    );
    let h = s.lock_host("m1", "alice", 1_700_000_000).await.unwrap();
    assert_eq!(
        (h.locked, h.locked_by.as_deref(), h.lock_time),
        (true, Some("alice"), Some(1_700_000_000))
    );
    let e = s
        .lock_host("m1", "bob", 1_700_000_001)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("locked already by alice"), "{e}");
    let h = s.unlock_host("m1").await.unwrap();
    assert_eq!((h.locked, h.locked_by), (false, None));
    assert!(matches!(
        s.set_host_status("nope", HostStatus::Ready).await,
        Err(StoreError::NotFound { kind: "host", .. })
    ));

    s.set_host_attribute("m1", "serial", "ttyS0").await.unwrap();
    s.set_host_attribute("m1", "serial", "ttyS1").await.unwrap();
    s.set_host_attribute("m1", "arch", "x86_64").await.unwrap();
    assert_eq!(
        s.host_attributes("m1").await.unwrap(),
        [
            ("arch".to_owned(), "x86_64".to_owned()),
            ("serial".to_owned(), "ttyS1".to_owned())
        ]
    );

    let p = s
        .create_label(&NewLabel {
            name: "x86".into(),
            platform: true,
            only_if_needed: false,
        })
        .await
        .unwrap();
    assert!(p.platform);
    s.create_label(&NewLabel {
        name: "arm".into(),
        platform: true,
        only_if_needed: false,
    })
    .await
    .unwrap();
    let gpu = s
        .create_label(&NewLabel {
            name: "gpu".into(),
            platform: false,
            only_if_needed: true,
        })
        .await
        .unwrap();
    assert!(gpu.only_if_needed);
    assert!(s.create_label(&NewLabel::new("gpu")).await.is_err());
    s.add_host_label("m1", "x86").await.unwrap();
    s.add_host_label("m1", "x86").await.unwrap();
    s.add_host_label("m1", "gpu").await.unwrap();
    let e = s.add_host_label("m1", "arm").await.unwrap_err().to_string();
    assert!(e.contains("has platform x86 already"), "{e}");
    assert_eq!(
        s.host_labels("m1")
            .await
            .unwrap()
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>(),
        ["gpu", "x86"]
    );
    assert_eq!(s.hosts_with_label("gpu").await.unwrap().len(), 1);
    s.remove_host_label("m1", "gpu").await.unwrap();
    assert!(s.hosts_with_label("gpu").await.unwrap().is_empty());
    s.delete_label("arm").await.unwrap();
    assert_eq!(
        s.labels()
            .await
            .unwrap()
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>(),
        ["gpu", "x86"]
    );
    // A deleted label can be made again.
    s.create_label(&NewLabel::new("arm")).await.unwrap();

    // A deleted host keeps its row (jobs point at it), leaves the list, and can come back.
    let id = s.host_named("m2").await.unwrap().id;
    s.delete_host("m2").await.unwrap();
    assert!(s.host("m2").await.unwrap().is_none());
    assert!(s.host_by_id(id).await.unwrap().invalid);
    assert_eq!(s.create_host("m2").await.unwrap().id, id);

    s.add_drone("localhost").await.unwrap();
    s.add_drone("d1").await.unwrap();
    s.set_drone_enabled("d1", false).await.unwrap();
    let drones = s.drones().await.unwrap();
    assert_eq!(
        drones
            .iter()
            .map(|d| (d.hostname.as_str(), d.enabled))
            .collect::<Vec<_>>(),
        [("d1", false), ("localhost", true)]
    );
    assert!(s.set_drone_enabled("d9", true).await.is_err());
}

/// Labels x86 and arm (platforms), gpu (only if needed), net.
async fn lab_labels(s: &Store) {
    for (name, platform, only_if_needed) in [
        ("x86", true, false),
        ("arm", true, false),
        ("gpu", false, true),
        ("net", false, false),
    ] {
        s.create_label(&NewLabel {
            name: name.into(),
            platform,
            only_if_needed,
        })
        .await
        .unwrap();
    }
}

fn names<'a>(it: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    it.into_iter().collect()
}

async fn hosts_are_created_with_labels_and_lock_or_not_at_all(db: TestDb) {
    let s = db.migrated().await;
    lab_labels(&s).await;
    let h = s
        .add_host(&NewHost {
            hostname: "m1".into(),
            labels: vec!["net".into(), "gpu".into()],
            platform: Some("x86".into()),
            locked_by: Some("alice".into()),
        })
        .await
        .unwrap();
    assert_eq!((h.locked, h.locked_by.as_deref()), (true, Some("alice")));
    assert!(h.lock_time.unwrap() >= h.created_on);
    assert_eq!(
        names(
            s.host_labels("m1")
                .await
                .unwrap()
                .iter()
                .map(|l| l.name.as_str())
        ),
        ["gpu", "net", "x86"]
    );

    // Each refusal writes nothing: no host, no labels.
    let refused = [
        (
            NewHost {
                labels: vec!["gpu".into(), "nope".into()],
                ..NewHost::new("m2")
            },
            "no label \"nope\"",
        ),
        (
            NewHost {
                platform: Some("gpu".into()),
                ..NewHost::new("m2")
            },
            "label gpu is not a platform label",
        ),
        (
            NewHost {
                labels: vec!["arm".into()],
                platform: Some("x86".into()),
                ..NewHost::new("m2")
            },
            "would get 2 platforms (x86, arm)",
        ),
        (NewHost::new("m1"), "host m1 already exists"),
        (NewHost::new("two words"), "empty or has spaces"),
    ];
    for (new, want) in refused {
        let e = s.add_host(&new).await.unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
    assert!(s.host("m2").await.unwrap().is_none());
    assert_eq!(s.hosts().await.unwrap().len(), 1);

    // A deleted host comes back with only the labels asked for now, unlocked.
    s.delete_host("m1").await.unwrap();
    let h = s
        .add_host(&NewHost {
            labels: vec!["net".into()],
            ..NewHost::new("m1")
        })
        .await
        .unwrap();
    assert!(!h.locked);
    assert_eq!(
        names(
            s.host_labels("m1")
                .await
                .unwrap()
                .iter()
                .map(|l| l.name.as_str())
        ),
        ["net"]
    );
}

async fn host_lists_filter_and_carry_labels(db: TestDb) {
    let s = db.migrated().await;
    lab_labels(&s).await;
    for (host, labels, platform, lock) in [
        ("b1", vec!["gpu", "net"], Some("x86"), None),
        ("a1", vec![], None, Some("alice")),
        ("c1", vec!["gpu"], Some("arm"), Some("bob")),
        ("d1", vec!["net"], None, None),
    ] {
        s.add_host(&NewHost {
            hostname: host.into(),
            labels: labels.into_iter().map(String::from).collect(),
            platform: platform.map(String::from),
            locked_by: lock.map(String::from),
        })
        .await
        .unwrap();
    }
    s.set_host_status("d1", HostStatus::RepairFailed)
        .await
        .unwrap();
    s.create_host("gone").await.unwrap();
    s.delete_host("gone").await.unwrap();

    let all = s.host_list(&HostFilter::default()).await.unwrap();
    assert_eq!(
        names(all.iter().map(|h| h.host.hostname.as_str())),
        ["a1", "b1", "c1", "d1"]
    );
    let b1 = &all[1];
    assert_eq!(b1.platform.as_deref(), Some("x86"));
    assert_eq!(b1.labels, ["gpu", "net", "x86"]);
    assert!(all[0].labels.is_empty() && all[0].platform.is_none());
    assert_eq!(all[2].host.locked_by.as_deref(), Some("bob"));

    let list = |f: HostFilter| {
        let s = s.clone();
        async move {
            s.host_list(&f)
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.host.hostname)
                .collect::<Vec<_>>()
        }
    };
    let by_label = |l: &str| HostFilter {
        label: Some(l.into()),
        ..HostFilter::default()
    };
    assert_eq!(list(by_label("gpu")).await, ["b1", "c1"]);
    // A listed host keeps all its labels, not only the one filtered on.
    let gpu = s.host_list(&by_label("gpu")).await.unwrap();
    assert_eq!(gpu[0].labels, ["gpu", "net", "x86"]);
    assert_eq!(list(by_label("x86")).await, ["b1"]);
    assert_eq!(
        list(HostFilter {
            locked: Some(true),
            ..HostFilter::default()
        })
        .await,
        ["a1", "c1"]
    );
    assert_eq!(
        list(HostFilter {
            locked: Some(false),
            ..HostFilter::default()
        })
        .await,
        ["b1", "d1"]
    );
    assert_eq!(
        list(HostFilter {
            status: Some(HostStatus::RepairFailed),
            ..HostFilter::default()
        })
        .await,
        ["d1"]
    );
    assert_eq!(
        list(HostFilter {
            label: Some("gpu".into()),
            locked: Some(true),
            status: Some(HostStatus::Ready),
        })
        .await,
        ["c1"]
    );
    assert!(
        list(HostFilter {
            label: Some("net".into()),
            status: Some(HostStatus::Running),
            ..HostFilter::default()
        })
        .await
        .is_empty()
    );
    let e = s.host_list(&by_label("nope")).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::NotFound { kind: "label", name } if name == "nope"),
        "{e}"
    );

    // The JSON shape is the host's fields with its labels beside them.
    let v = serde_json::to_value(b1).unwrap();
    assert_eq!(v["hostname"], "b1");
    assert_eq!(v["status"], "Ready");
    assert_eq!(v["protection"], "No protection");
    assert_eq!(v["platform"], "x86");
    assert_eq!(v["labels"], serde_json::json!(["gpu", "net", "x86"]));
    assert_eq!(v["locked"], false);
}

async fn host_details_and_label_counts(db: TestDb) {
    let s = db.migrated().await;
    lab_labels(&s).await;
    s.add_host(&NewHost {
        labels: vec!["gpu".into()],
        platform: Some("arm".into()),
        ..NewHost::new("m1")
    })
    .await
    .unwrap();
    s.add_host(&NewHost {
        labels: vec!["gpu".into()],
        ..NewHost::new("m2")
    })
    .await
    .unwrap();
    s.add_host(&NewHost {
        labels: vec!["gpu".into()],
        ..NewHost::new("m3")
    })
    .await
    .unwrap();
    s.delete_host("m3").await.unwrap();
    s.set_host_attribute("m1", "serial", "ttyS0").await.unwrap();
    s.set_host_attribute("m1", "arch", "aarch64").await.unwrap();
    let mut ids = Vec::new();
    for i in 0..RECENT_TASKS + 2 {
        let task = if i % 2 == 0 {
            SpecialTaskKind::Verify
        } else {
            SpecialTaskKind::Cleanup
        };
        let t = s
            .create_special_task(&NewSpecialTask {
                hostname: "m1".into(),
                task,
                requested_by: "sched".into(),
                queue_entry_id: None,
            })
            .await
            .unwrap();
        ids.push(t.id);
    }
    let d = s.host_details("m1").await.unwrap();
    assert_eq!(d.host.hostname, "m1");
    assert_eq!(d.platform.as_deref(), Some("arm"));
    assert_eq!(
        names(d.labels.iter().map(|l| l.name.as_str())),
        ["arm", "gpu"]
    );
    assert_eq!(
        d.attributes
            .iter()
            .map(|a| (a.attribute.as_str(), a.value.as_str()))
            .collect::<Vec<_>>(),
        [("arch", "aarch64"), ("serial", "ttyS0")]
    );
    // The newest tasks, newest first, at most RECENT_TASKS.
    let newest: Vec<i64> = ids
        .iter()
        .rev()
        .take(RECENT_TASKS as usize)
        .copied()
        .collect();
    assert_eq!(
        d.recent_tasks.iter().map(|t| t.id).collect::<Vec<_>>(),
        newest
    );
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["recent_tasks"][0]["task"], "Cleanup");
    assert_eq!(v["labels"][0]["platform"], true);
    assert_eq!(v["attributes"][1]["attribute"], "serial");
    let d2 = s.host_details("m2").await.unwrap();
    assert!(d2.platform.is_none() && d2.attributes.is_empty() && d2.recent_tasks.is_empty());
    assert!(matches!(
        s.host_details("m3").await,
        Err(StoreError::NotFound { kind: "host", .. })
    ));

    let labels = s.label_list().await.unwrap();
    assert_eq!(
        labels
            .iter()
            .map(|l| (
                l.label.name.as_str(),
                l.hosts,
                l.label.platform,
                l.label.only_if_needed
            ))
            .collect::<Vec<_>>(),
        [
            ("arm", 1, true, false),
            ("gpu", 2, false, true),
            ("net", 0, false, false),
            ("x86", 0, true, false)
        ]
    );
    let v = serde_json::to_value(&labels[1]).unwrap();
    assert_eq!(
        (v["name"].as_str(), v["hosts"].as_i64()),
        (Some("gpu"), Some(2))
    );
}

async fn locks_and_label_refusals_name_who_and_the_fix(db: TestDb) {
    let s = db.migrated().await;
    lab_labels(&s).await;
    for h in ["m1", "m2"] {
        s.add_host(&NewHost {
            labels: vec!["gpu".into()],
            ..NewHost::new(h)
        })
        .await
        .unwrap();
    }
    s.lock_host("m1", "alice", 1_700_000_000).await.unwrap();
    // Locking one's own lock again keeps it as it was.
    let h = s.lock_host("m1", "alice", 1_700_000_500).await.unwrap();
    assert_eq!(h.lock_time, Some(1_700_000_000));
    let e = s
        .lock_host("m1", "bob", 1_700_000_900)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("locked already by alice since 2023-11-14 22:13:20 UTC")
            && e.contains("autotest host mod m1 --unlock"),
        "{e}"
    );
    assert_eq!(utc_text(1_700_000_000), "2023-11-14 22:13:20 UTC");
    assert!(matches!(
        s.lock_host("nope", "bob", 1).await,
        Err(StoreError::NotFound { kind: "host", .. })
    ));

    // Carried by hosts: refused, naming them and the command that frees it.
    let e = s.delete_label("gpu").await.unwrap_err().to_string();
    assert!(
        e.contains("2 host(s) carry it (m1, m2)")
            && e.contains("`autotest label remove gpu -m m1,m2`"),
        "{e}"
    );
    assert!(s.label("gpu").await.unwrap().is_some());
    let e = s
        .remove_host_label("m1", "net")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("host m1 does not carry label net"), "{e}");
    s.remove_host_label("m1", "gpu").await.unwrap();
    s.remove_host_label("m2", "gpu").await.unwrap();

    // Needed by an unfinished job (dependency, or metahost): refused, naming the job.
    let mut new = NewJob::new(
        "alice",
        "gpujob",
        "job.run_test('sleeptest')\n",
        ControlType::Client,
    );
    new.hosts = vec!["m1".into()];
    new.dependencies = vec!["net".into()];
    s.add_host_label("m1", "net").await.unwrap();
    let job = s.create_job(&new).await.unwrap();
    s.remove_host_label("m1", "net").await.unwrap();
    let e = s.delete_label("net").await.unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "1 unfinished job(s) need it ({} (gpujob))",
            job.id
        )) && e.contains("autotest job abort"),
        "{e}"
    );
    s.add_host_label("m2", "gpu").await.unwrap();
    let mut meta = NewJob::new(
        "bob",
        "anygpu",
        "job.run_test('sleeptest')\n",
        ControlType::Client,
    );
    meta.meta_hosts = vec!["gpu".into()];
    let mjob = s.create_job(&meta).await.unwrap();
    s.remove_host_label("m2", "gpu").await.unwrap();
    let e = s.delete_label("gpu").await.unwrap_err().to_string();
    assert!(e.contains(&format!("({} (anygpu))", mjob.id)), "{e}");
    // Once the jobs are finished the labels can go.
    for j in [job.id, mjob.id] {
        for entry in s.queue_entries(j).await.unwrap() {
            s.set_entry_status(entry.id, EntryStatus::Completed, 1_700_000_000)
                .await
                .unwrap();
        }
    }
    s.delete_label("net").await.unwrap();
    s.delete_label("gpu").await.unwrap();
    assert_eq!(
        names(
            s.label_list()
                .await
                .unwrap()
                .iter()
                .map(|l| l.label.name.as_str())
        ),
        ["arm", "x86"]
    );
    assert!(matches!(
        s.delete_label("gpu").await,
        Err(StoreError::NotFound { kind: "label", .. })
    ));
}

async fn jobs_entries_aborts_and_tasks(db: TestDb) {
    let s = db.migrated().await;
    for h in ["m1", "m2", "m3"] {
        s.create_host(h).await.unwrap();
    }
    s.create_label(&NewLabel::new("x86")).await.unwrap();
    s.add_host_label("m3", "x86").await.unwrap();

    let mut new = NewJob::new(
        "alice",
        "sleep",
        "job.run_test('sleeptest')\n",
        ControlType::Client,
    );
    new.hosts = vec!["m1".into(), "m2".into()];
    new.meta_hosts = vec!["x86".into()];
    new.dependencies = vec!["x86".into()];
    new.keyvals = vec![("suite".into(), "smoke".into())];
    new.priority = 5;
    new.email_list = "a@example.invalid".into();
    new.created_on = Some(1_700_000_000);
    let job = s.create_job(&new).await.unwrap();
    assert_eq!(
        (
            job.owner.as_str(),
            job.priority,
            job.created_on,
            job.timeout_hrs
        ),
        ("alice", 5, 1_700_000_000, 72)
    );
    assert_eq!(job.dependencies, ["x86"]);
    assert_eq!(job.keyvals, [("suite".to_owned(), "smoke".to_owned())]);
    assert_eq!(s.job(job.id).await.unwrap(), job);
    assert_eq!(s.job_ids().await.unwrap(), [job.id]);

    let entries = s.queue_entries(job.id).await.unwrap();
    assert_eq!(entries.len(), 3);
    assert!(
        entries
            .iter()
            .all(|e| e.status == EntryStatus::Queued && !e.active && !e.complete)
    );
    assert_eq!(entries[2].host_id, None);
    assert!(entries[2].meta_host.is_some());
    assert_eq!(s.queued_entries().await.unwrap().len(), 3);

    // Unknown hosts and labels are refused and nothing is written.
    let mut bad = new.clone();
    bad.hosts.push("nope".into());
    assert!(matches!(
        s.create_job(&bad).await,
        Err(StoreError::UnknownNames { ref hosts, .. }) if hosts == &["nope"]
    ));
    bad.hosts.clear();
    bad.meta_hosts.clear();
    assert!(
        s.create_job(&bad)
            .await
            .unwrap_err()
            .to_string()
            .contains("has no hosts")
    );
    assert_eq!(s.job_ids().await.unwrap(), [job.id]);

    let m3 = s.host_named("m3").await.unwrap();
    let e = s.assign_entry(entries[2].id, m3.id, "m3").await.unwrap();
    assert_eq!(
        (e.host_id, e.execution_subdir.as_str()),
        (Some(m3.id), "m3")
    );
    let e = s
        .set_entry_status(entries[0].id, EntryStatus::Running, 1_700_000_100)
        .await
        .unwrap();
    assert_eq!(
        (e.active, e.complete, e.started_on),
        (true, false, Some(1_700_000_100))
    );
    let e = s
        .set_entry_status(entries[0].id, EntryStatus::Parsing, 1_700_000_200)
        .await
        .unwrap();
    assert_eq!(
        e.started_on,
        Some(1_700_000_100),
        "started_on is the first active moment"
    );
    let e = s
        .set_entry_status(entries[0].id, EntryStatus::Completed, 1_700_000_300)
        .await
        .unwrap();
    assert_eq!(
        (e.active, e.complete, e.finished_on),
        (false, true, Some(1_700_000_300))
    );
    assert_eq!(s.queued_entries().await.unwrap().len(), 2);

    // Abort: entries not complete, once each, with who and when.
    assert_eq!(s.abort_job(job.id, "bob", 1_700_000_400).await.unwrap(), 2);
    assert_eq!(
        s.abort_job(job.id, "carol", 1_700_000_500).await.unwrap(),
        0
    );
    let entries = s.queue_entries(job.id).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.aborted).collect::<Vec<_>>(),
        [false, true, true]
    );
    assert_eq!(
        s.entry_abort(entries[1].id).await.unwrap(),
        Some(("bob".to_owned(), 1_700_000_400))
    );
    assert_eq!(s.entry_abort(entries[0].id).await.unwrap(), None);

    s.block_host(job.id, m3.id).await.unwrap();
    s.block_host(job.id, m3.id).await.unwrap();
    assert_eq!(s.ineligible_hosts(job.id).await.unwrap(), [m3.id]);

    let t = s
        .create_special_task(&NewSpecialTask {
            hostname: "m1".into(),
            task: SpecialTaskKind::Verify,
            requested_by: "scheduler".into(),
            queue_entry_id: Some(entries[0].id),
        })
        .await
        .unwrap();
    assert_eq!(
        (t.task, t.is_active, t.is_complete),
        (SpecialTaskKind::Verify, false, false)
    );
    let t = s.start_special_task(t.id, 10).await.unwrap();
    assert_eq!((t.is_active, t.time_started), (true, Some(10)));
    let t = s.finish_special_task(t.id, true, 20).await.unwrap();
    assert_eq!(
        (t.is_active, t.is_complete, t.success, t.time_finished),
        (false, true, true, Some(20))
    );
    assert_eq!(s.special_tasks("m1").await.unwrap(), [t]);

    assert_eq!(s.results_location(job.id).await.unwrap(), None);
    s.set_results_location(job.id, "localhost", "/results/1-alice")
        .await
        .unwrap();
    s.set_results_location(job.id, "archive", "/archive/1-alice")
        .await
        .unwrap();
    let loc = s.results_location(job.id).await.unwrap().unwrap();
    assert_eq!(
        (loc.host.as_str(), loc.path.as_str()),
        ("archive", "/archive/1-alice")
    );
    assert!(
        s.set_results_location(job.id + 100, "h", "/p")
            .await
            .is_err()
    );
}

fn parsed_job(tag: &str, tests: &[(&str, &str, &str)]) -> ParsedJob {
    ParsedJob {
        tag: tag.into(),
        label: "lbl".into(),
        username: "alice".into(),
        machine: "m1".into(),
        status: "GOOD".into(),
        queued: Some(1),
        started: Some(2),
        finished: Some(3),
        afe_job_id: None,
        keyvals: vec![
            ("user".into(), "alice".into()),
            ("label".into(), "lbl".into()),
        ],
        tests: tests
            .iter()
            .enumerate()
            .map(|(i, (name, subdir, status))| ParsedTest {
                name: (*name).into(),
                subdir: (*subdir).into(),
                status: (*status).into(),
                reason: String::new(),
                kernel: Some((
                    "6.6.1".into(),
                    vec![(
                        "fix.patch".into(),
                        "http://p.invalid/fix.patch".into(),
                        "abc".into(),
                    )],
                )),
                started: Some(10),
                finished: Some(11),
                line: i as i64 + 1,
                attributes: vec![("version".into(), "1".into())],
                iterations: vec![ParsedIteration {
                    perf: vec![("ops".into(), 1.5)],
                    attr: vec![("mode".into(), "fast".into())],
                }],
            })
            .collect(),
    }
}

async fn a_reparse_replaces_rows_and_keeps_test_ids(db: TestDb) {
    let s = db.migrated().await;
    let first = parsed_job(
        "/r/job1",
        &[
            ("sleeptest", "sleeptest", "GOOD"),
            ("dbench", "dbench", "FAIL"),
            ("gone", "gone", "GOOD"),
        ],
    );
    let idx = s.store_parsed_job(&first).await.unwrap();
    let counts = s.tko_row_counts().await.unwrap();
    assert_eq!(
        (
            counts.jobs,
            counts.tests,
            counts.test_attributes,
            counts.iteration_results,
            counts.kernels
        ),
        (1, 3, 3, 3, 1)
    );
    let before = s.tko_tests(idx).await.unwrap();
    let kernel = s.tko_kernel("6.6.1").await.unwrap().unwrap();
    assert_eq!(
        kernel.patches,
        [(
            "fix.patch".to_owned(),
            "http://p.invalid/fix.patch".to_owned(),
            "abc".to_owned()
        )]
    );

    // Same job again, one test gone, one status changed, one test new.
    let second = parsed_job(
        "/r/job1",
        &[
            ("sleeptest", "sleeptest", "GOOD"),
            ("dbench", "dbench", "GOOD"),
            ("new", "new", "WARN"),
        ],
    );
    assert_eq!(s.store_parsed_job(&second).await.unwrap(), idx);
    let after = s.tko_tests(idx).await.unwrap();
    assert_eq!(after.len(), 3);
    assert_eq!(after[0].test_idx, before[0].test_idx);
    assert_eq!(
        (after[1].test_idx, after[1].status.as_str()),
        (before[1].test_idx, "GOOD")
    );
    assert_eq!(after[2].test, "new");
    assert_ne!(after[2].test_idx, before[2].test_idx);
    assert_eq!(after[0].kernel.as_deref(), Some("6.6.1"));
    assert_eq!(after[0].machine, "m1");
    let counts = s.tko_row_counts().await.unwrap();
    assert_eq!(
        (
            counts.jobs,
            counts.job_keyvals,
            counts.tests,
            counts.test_attributes,
            counts.iteration_results,
            counts.iteration_attributes
        ),
        (1, 2, 3, 3, 3, 3)
    );
    assert_eq!(
        s.tko_test_attributes(after[0].test_idx).await.unwrap(),
        [("version".to_owned(), "1".to_owned())]
    );
    let its = s.tko_iterations(after[0].test_idx).await.unwrap();
    assert_eq!(its.len(), 1);
    assert_eq!(
        (its[0].iteration, its[0].perf.clone(), its[0].attr.clone()),
        (
            1,
            vec![("ops".to_owned(), 1.5)],
            vec![("mode".to_owned(), "fast".to_owned())]
        )
    );
    let job = s.tko_job("/r/job1").await.unwrap().unwrap();
    assert_eq!(
        (
            job.username.as_str(),
            job.label.as_str(),
            job.machine.as_str(),
            job.started
        ),
        ("alice", "lbl", "m1", Some(2))
    );
}

/// A results directory as a client job leaves it, with a truncated last line.
fn write_results(dir: &Path, truncated: bool) {
    std::fs::create_dir_all(dir.join("sleeptest/results")).unwrap();
    let mut log = String::from(
        "START\t----\t----\ttimestamp=1700000000\tlocaltime=Nov 14 22:13:20\t\n\
         \tSTART\tsleeptest\tsleeptest\ttimestamp=1700000000\tlocaltime=Nov 14 22:13:20\t\n\
         \t\tGOOD\tsleeptest\tsleeptest\ttimestamp=1700000001\tkernel=6.6.1\tpatch0=fix.patch http://p.invalid/fix 12ab\tlocaltime=Nov 14 22:13:21\tcompleted successfully\n\
         \tEND GOOD\tsleeptest\tsleeptest\ttimestamp=1700000001\tlocaltime=Nov 14 22:13:21\t\n\
         \tSTART\tdbench\tdbench\ttimestamp=1700000002\tlocaltime=Nov 14 22:13:22\t\n",
    );
    if truncated {
        log.push_str("\t\tGOOD\tdbe");
    } else {
        log.push_str("\tEND FAIL\tdbench\tdbench\ttimestamp=1700000003\tlocaltime=Nov 14 22:13:23\tno disk\nEND FAIL\t----\t----\t\n");
    }
    std::fs::write(dir.join("status.log"), log).unwrap();
    std::fs::write(
        dir.join("keyval"),
        "user=alice\nlabel=smoke\nhostname=m9\njob_started=1700000000\nthis line is bad\n",
    )
    .unwrap();
    std::fs::write(dir.join("sleeptest/keyval"), "version=1\n").unwrap();
    std::fs::write(
        dir.join("sleeptest/results/keyval"),
        "ops{perf}=10.5\nmode{attr}=fast\n\nops{perf}=11\n\n",
    )
    .unwrap();
}

async fn parse_reports_bad_lines_and_stores_the_rest(db: TestDb) {
    let s = db.migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("7-alice");
    write_results(&r, true);
    let report = s.parse_results(&r).await.unwrap();
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    let keyval = r.canonicalize().unwrap().join("keyval");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(&format!("{}:5: not a key=value line", keyval.display()))),
        "{problems:#?}"
    );
    let log = r.canonicalize().unwrap().join("status.log");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(&format!("{}:6: ", log.display()))),
        "{problems:#?}"
    );
    assert_eq!(report.jobs.len(), 1);
    let job = s.tko_job(&report.jobs[0].tag).await.unwrap().unwrap();
    assert_eq!(
        (
            job.machine.as_str(),
            job.username.as_str(),
            job.afe_job_id,
            job.started
        ),
        ("m9", "alice", Some(7), Some(1_700_000_000))
    );
    // The front ends find a job's results by its frontend id.
    assert_eq!(
        s.tko_jobs_of_afe_job(7).await.unwrap(),
        std::slice::from_ref(&job)
    );
    assert_eq!(s.tko_jobs_of_afe_job(8).await.unwrap(), []);
    let tests = s.tko_tests(job.job_idx).await.unwrap();
    assert_eq!(
        tests
            .iter()
            .map(|t| (t.test.as_str(), t.status.as_str()))
            .collect::<Vec<_>>(),
        [("sleeptest", "GOOD"), ("dbench", "ABORT")]
    );
    assert_eq!(tests[0].kernel.as_deref(), Some("6.6.1"));
    assert_eq!(
        s.tko_kernel("6.6.1").await.unwrap().unwrap().patches,
        [(
            "fix.patch".to_owned(),
            "http://p.invalid/fix".to_owned(),
            "12ab".to_owned()
        )]
    );
    assert_eq!(
        s.tko_test_attributes(tests[0].test_idx).await.unwrap(),
        [("version".to_owned(), "1".to_owned())]
    );
    let its = s.tko_iterations(tests[0].test_idx).await.unwrap();
    assert_eq!(
        its.iter().map(|i| i.perf.clone()).collect::<Vec<_>>(),
        [
            vec![("ops".to_owned(), 10.5)],
            vec![("ops".to_owned(), 11.0)]
        ]
    );

    // The job finishes; the reparse replaces the rows and keeps the ids.
    write_results(&r, false);
    let report = s.parse_results(&r).await.unwrap();
    let again = s.tko_tests(report.jobs[0].job_idx).await.unwrap();
    assert_eq!(
        again
            .iter()
            .map(|t| (t.test_idx, t.status.as_str()))
            .collect::<Vec<_>>(),
        [(tests[0].test_idx, "GOOD"), (tests[1].test_idx, "FAIL")]
    );
    assert_eq!(again[1].reason, "no disk");
    assert_eq!(s.tko_row_counts().await.unwrap().tests, 2);

    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let e = s
        .parse_results(&dir.path().join("empty"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("no status.log or status file"), "{e}");
    let e = s
        .parse_results(&dir.path().join("missing"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("missing: cannot read the results directory"),
        "{e}"
    );
}

async fn two_parsers_of_one_job_do_not_duplicate_rows(db: TestDb) {
    let s = db.migrated().await;
    let dir = tempfile::tempdir().unwrap();
    write_results(dir.path(), false);
    let (a, b) = tokio::join!(s.parse_results(dir.path()), s.parse_results(dir.path()));
    a.unwrap();
    b.unwrap();
    let counts = s.tko_row_counts().await.unwrap();
    assert_eq!(
        (counts.jobs, counts.tests, counts.iteration_results),
        (1, 2, 2)
    );
}

fn config(text: &str) -> (tempfile::TempDir, GlobalConfig) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("global_config.ini");
    std::fs::write(&path, text).unwrap();
    let c = GlobalConfig::load(&path, None).unwrap();
    (dir, c)
}

#[test]
fn the_database_is_found_in_one_order() {
    let default = Path::new("/data/autotest/lab.db");
    let (dir, c) = config("[AUTOTEST_WEB]\ndb_type: sqlite\ndatabase: lab.db\n");
    let from_cfg = resolve_db_with(None, None, Some(&c), default).unwrap();
    assert_eq!(
        from_cfg.sqlite_file().unwrap(),
        dir.path().join("lab.db"),
        "relative to the config file"
    );
    assert!(from_cfg.origin().contains("global_config.ini"));
    let env = resolve_db_with(None, Some("sqlite:/e.db"), Some(&c), default).unwrap();
    assert_eq!(
        (env.sqlite_file().unwrap(), env.origin()),
        (Path::new("/e.db"), "AUTOTEST_DB")
    );
    let cli = resolve_db_with(
        Some("postgres://u@h/d"),
        Some("sqlite:/e.db"),
        Some(&c),
        default,
    )
    .unwrap();
    assert_eq!(
        (cli.to_string().as_str(), cli.origin()),
        ("postgres://u@h/d", "--db")
    );
    let none = resolve_db_with(None, None, None, default).unwrap();
    assert_eq!(none.sqlite_file().unwrap(), default);
    let (_d, empty) = config("[AUTOSERV]\nclient_autodir_paths: /x\n");
    assert_eq!(
        resolve_db_with(None, None, Some(&empty), default)
            .unwrap()
            .sqlite_file()
            .unwrap(),
        default
    );

    let (_d, pg) = config(
        "[AUTOTEST_WEB]\ndb_type: postgresql\nhost: db.lab:5433\ndatabase: tko\nuser: lab\npassword: p@ss\n",
    );
    let url = resolve_db_with(None, None, Some(&pg), default).unwrap();
    assert_eq!(url.to_string(), "postgres://lab:***@db.lab:5433/tko");

    for (text, wants) in [
        (
            "[AUTOTEST_WEB]\ndb_type: mysql\nhost: h\ndatabase: d\n",
            "db_type \"mysql\" is not supported",
        ),
        ("[AUTOTEST_WEB]\ndatabase: d\n", "no db_type"),
        (
            "[AUTOTEST_WEB]\ndb_type: postgresql\ndatabase: d\n",
            "host or database is not set",
        ),
        ("[AUTOTEST_WEB]\ndb_type: sqlite\n", "database is not set"),
    ] {
        let (d, c) = config(text);
        let e = resolve_db_with(None, None, Some(&c), default)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(wants)
                && e.contains(&d.path().join("global_config.ini").display().to_string()),
            "{e}"
        );
    }
    let e = resolve_db_with(Some("mysql://h/d"), None, None, default)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--db") && e.contains("use sqlite:"), "{e}");
}

async fn job_creation_checks_names_control_and_synch_count(db: TestDb) {
    let s = db.migrated().await;
    for h in ["m1", "m2", "m3"] {
        s.create_host(h).await.unwrap();
    }
    s.create_label(&NewLabel::new("x86")).await.unwrap();
    s.add_host_label("m2", "x86").await.unwrap();
    s.add_host_label("m3", "x86").await.unwrap();
    let job = |control: &str| {
        let mut j = NewJob::new("alice", "j", control, ControlType::Client);
        j.control_origin = Some("/srv/ctl/smoke".into());
        j
    };

    // The client runner's message: file, line, what, the fix.
    let mut py2 = job("job.run_test('sleeptest')\nprint 'done'\n");
    py2.hosts = vec!["m1".into()];
    let e = s.create_job(&py2).await.unwrap_err().to_string();
    assert!(
        e.contains("/srv/ctl/smoke, line 2: Python 2 syntax is not accepted: print statement"),
        "{e}"
    );
    let mut nul = job("job.run_test('x')\0\n");
    nul.hosts = vec!["m1".into()];
    let e = s.create_job(&nul).await.unwrap_err().to_string();
    assert!(e.contains("line 1, column 18: a NUL byte"), "{e}");

    // Every unknown name at once, each kind with its fix.
    let mut names = job("job.run_test('sleeptest')\n");
    names.hosts = vec!["m1".into(), "ghost1".into(), "ghost2".into()];
    names.meta_hosts = vec!["arm".into()];
    names.label_hosts = vec!["mips".into()];
    names.dependencies = vec!["x86".into(), "gpu".into()];
    let e = s.create_job(&names).await.unwrap_err();
    match &e {
        StoreError::UnknownNames {
            hosts,
            labels,
            dependencies,
            ..
        } => {
            assert_eq!(hosts, &["ghost1", "ghost2"]);
            assert_eq!(labels, &["arm", "mips"]);
            assert_eq!(dependencies, &["gpu"]);
        }
        other => panic!("{other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.contains("autotest host create ghost1 ghost2"),
        "{text}"
    );
    assert!(text.contains("autotest label create"), "{text}");

    // synch_count: 3 entries (m1 and 2*x86) but only 3 distinct hosts; 4 is too many, and
    // 2*x86 alone can get 2 hosts however many entries.
    let mut sync = job("job.run_test('sleeptest')\n");
    sync.hosts = vec!["m1".into()];
    sync.meta_hosts = vec!["x86".into(), "x86".into(), "x86".into()];
    sync.synch_count = 4;
    let e = s.create_job(&sync).await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::SynchCount {
                synch_count: 4,
                most: 3,
                entries: 4,
                hosts: 3,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("synch_count 4 is more than the 3 host(s)"),
        "{e}"
    );
    sync.synch_count = 3;
    s.create_job(&sync).await.unwrap();

    // -b: every host of the label becomes a specific host, once.
    let mut spec = HostSpec::default();
    spec.add_list("m2, 2*x86,m2", "-m").unwrap();
    spec.add_labels("x86").unwrap();
    assert_eq!(spec.hosts, ["m2"]);
    assert_eq!(spec.meta_hosts, ["x86", "x86"]);
    let mut by_label = job("job.run_test('sleeptest')\n");
    spec.apply_to(&mut by_label);
    let created = s.create_job(&by_label).await.unwrap();
    let stat = s.job_stat(created.id).await.unwrap();
    let hosts: Vec<_> = stat.entries.iter().map(|e| e.host.as_deref()).collect();
    assert_eq!(hosts, [Some("m2"), Some("m3"), None, None]);
    assert_eq!(stat.entries[2].meta_host_label.as_deref(), Some("x86"));

    // Host spec errors name the item and where it came from.
    let e = HostSpec::default().add_list("m1,0*x86", "-m").unwrap_err();
    assert_eq!(
        e.to_string(),
        "-m: \"0*x86\": N*label needs N of at least 1 (e.g. 1*x86)"
    );
    let e = HostSpec::default().add_list("two*x86", "-m").unwrap_err();
    assert!(e.to_string().contains("whole number"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hosts");
    std::fs::write(&file, "# lab\nm1\nm2  # rack 2\n\nbad host\n").unwrap();
    let e = HostSpec::default().add_file(&file).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}:5: \"bad host\"", file.display())),
        "{e}"
    );
    std::fs::write(&file, "# lab\nm1\nm2  # rack 2\n2*x86\n").unwrap();
    let mut spec = HostSpec::default();
    spec.add_file(&file).unwrap();
    assert_eq!((spec.hosts.len(), spec.meta_hosts.len()), (2, 2));
}

async fn job_list_stat_and_results_queries(db: TestDb) {
    let s = db.migrated().await;
    s.create_host("m1").await.unwrap();
    s.create_host("m2").await.unwrap();
    let mut ids = Vec::new();
    for (owner, name) in [
        ("alice", "a1"),
        ("bob", "b1"),
        ("alice", "a2"),
        ("alice", "a3"),
    ] {
        let mut j = NewJob::new(
            owner,
            name,
            "job.run_test('sleeptest')\n",
            ControlType::Client,
        );
        j.hosts = vec!["m1".into(), "m2".into()];
        j.created_on = Some(1_700_000_000 + ids.len() as i64);
        ids.push(s.create_job(&j).await.unwrap().id);
    }
    // a2 runs (one entry running), a3 is half done (one complete, one queued: still running),
    // a1 is done.
    let entries = |id| {
        let s = s.clone();
        async move { s.queue_entries(id).await.unwrap() }
    };
    let a1 = entries(ids[0]).await;
    for e in &a1 {
        s.set_entry_status(e.id, EntryStatus::Completed, 10)
            .await
            .unwrap();
    }
    let a2 = entries(ids[2]).await;
    s.set_entry_status(a2[0].id, EntryStatus::Running, 10)
        .await
        .unwrap();
    let a3 = entries(ids[3]).await;
    s.set_entry_status(a3[0].id, EntryStatus::Failed, 10)
        .await
        .unwrap();

    let alice = s.list_jobs(&JobFilter::owner("alice")).await.unwrap();
    assert_eq!(
        alice.iter().map(|j| j.name.as_str()).collect::<Vec<_>>(),
        ["a3", "a2", "a1"],
        "newest first, alice's only"
    );
    assert_eq!(
        alice[0]
            .status_counts
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        [("Failed", 1), ("Queued", 1)]
    );
    assert_eq!(alice[2].status_counts.get("Completed"), Some(&2));
    let all = s
        .list_jobs(&JobFilter {
            owner: None,
            running: false,
            limit: 0,
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    let two = s
        .list_jobs(&JobFilter {
            owner: None,
            running: false,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(
        two.iter().map(|j| j.id).collect::<Vec<_>>(),
        [ids[3], ids[2]]
    );
    let running = s
        .list_jobs(&JobFilter {
            owner: None,
            running: true,
            limit: 0,
        })
        .await
        .unwrap();
    assert_eq!(
        running.iter().map(|j| j.name.as_str()).collect::<Vec<_>>(),
        ["a3", "a2"],
        "b1 has not started, a1 has finished"
    );
    let json = serde_json::to_value(&alice[0]).unwrap();
    assert_eq!(json["status_counts"]["Queued"], 1);

    // stat: host names, and who aborted when.
    s.abort_job(ids[1], "carol", 1_700_000_500).await.unwrap();
    let stat = s.job_stat(ids[1]).await.unwrap();
    assert_eq!(stat.job.name, "b1");
    assert_eq!(
        stat.entries
            .iter()
            .map(|e| (e.host.as_deref(), e.aborted_by.as_deref(), e.aborted_on))
            .collect::<Vec<_>>(),
        [
            (Some("m1"), Some("carol"), Some(1_700_000_500)),
            (Some("m2"), Some("carol"), Some(1_700_000_500))
        ]
    );
    assert_eq!(s.jobs_named("a2").await.unwrap(), [ids[2]]);
    assert!(s.jobs_named("zz").await.unwrap().is_empty());
    assert!(matches!(
        s.job_stat(9999).await,
        Err(StoreError::NotFound { kind: "job", .. })
    ));

    // Parsed results with perf keyvals, filtered.
    let mut pj = parsed_job(
        "/results/7-alice",
        &[
            ("dbench", "dbench", "GOOD"),
            ("sleeptest", "sleeptest", "FAIL"),
        ],
    );
    pj.afe_job_id = Some(7);
    pj.tests[0].iterations = vec![ParsedIteration {
        perf: vec![("throughput".into(), 321.5), ("procs".into(), 4.0)],
        attr: vec![],
    }];
    s.store_parsed_job(&pj).await.unwrap();
    s.store_parsed_job(&parsed_job(
        "/results/other",
        &[("dbench", "dbench", "GOOD")],
    ))
    .await
    .unwrap();
    let mine = s
        .test_results(&ResultFilter {
            job: Some(7),
            ..ResultFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        mine.iter()
            .map(|t| (t.test.test.as_str(), t.test.status.as_str()))
            .collect::<Vec<_>>(),
        [("dbench", "GOOD"), ("sleeptest", "FAIL")]
    );
    assert_eq!(
        mine[0]
            .perf
            .iter()
            .map(|p| (p.iteration, p.attribute.as_str(), p.value))
            .collect::<Vec<_>>(),
        [(1, "procs", 4.0), (1, "throughput", 321.5)]
    );
    let dbench = s
        .test_results(&ResultFilter {
            test: Some("dbench".into()),
            ..ResultFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(dbench.len(), 2);
    let failed = s
        .test_results(&ResultFilter {
            status: Some("FAIL".into()),
            machine: Some(pj.machine.clone()),
            ..ResultFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    let none = s
        .test_results(&ResultFilter {
            kernel: Some("no-such-kernel".into()),
            ..ResultFilter::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let json = serde_json::to_value(&mine[0]).unwrap();
    assert_eq!(json["test"], "dbench");
    assert_eq!(json["perf"][1]["value"], 321.5);
}

/// A plain pool on the test's database, for what the store API does not do (an old schema,
/// query plans, rows without an entry).
async fn raw_pool(db: &TestDb) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let raw_url = match db.url.sqlite_file() {
        Some(f) => format!("sqlite://{}?mode=rwc", f.display()),
        None => db.url.to_string(),
    };
    sqlx::AnyPool::connect(&raw_url).await.unwrap()
}

async fn exec(pool: &sqlx::AnyPool, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn a_version_1_database_is_migrated_with_its_rows(db: TestDb) {
    let m = Store::migrate_to(&db.url, 1).await.unwrap();
    assert_eq!((m.from, m.to), (0, 1));
    let e = Store::open(&db.url).await.unwrap_err();
    assert!(
        matches!(e, StoreError::OlderSchema { database: 1, .. }),
        "{e}"
    );
    // Rows as a version-1 build wrote them.
    let pool = raw_pool(&db).await;
    for sql in [
        "INSERT INTO hosts (hostname, created_on) VALUES ('m1', 1700000000)",
        "INSERT INTO jobs (owner, name, control_file, control_type, timeout_hrs, max_runtime_hrs, created_on) VALUES ('alice', 'old', 'pass', 'Client', 72, 72, 1700000000)",
        "INSERT INTO host_queue_entries (job_id, host_id, status, complete, finished_on) VALUES (1, 1, 'Completed', 1, 1700000100)",
        "INSERT INTO tko_machines (hostname) VALUES ('m1')",
        "INSERT INTO tko_jobs (tag, machine_idx, status, afe_job_id) VALUES ('/r/1-alice', 1, 'GOOD', 1)",
        "INSERT INTO tko_tests (job_idx, test, status, machine_idx, log_line) VALUES (1, 'sleeptest', 'GOOD', 1, 2)",
        "INSERT INTO tko_iteration_result (test_idx, iteration, attribute, value) VALUES (1, 1, 'ops', 2.5)",
    ] {
        exec(&pool, sql).await;
    }
    pool.close().await;
    assert!(
        Store::migrate_to(&db.url, SCHEMA_VERSION + 1)
            .await
            .unwrap_err()
            .to_string()
            .contains("does not exist")
    );

    let (s, m) = Store::migrate(&db.url).await.unwrap();
    assert_eq!((m.from, m.to), (1, SCHEMA_VERSION));
    assert_eq!(s.schema_version().await.unwrap(), 3);
    assert_eq!(s.host_named("m1").await.unwrap().hostname, "m1");
    let job = s.job(1).await.unwrap();
    assert_eq!((job.owner.as_str(), job.name.as_str()), ("alice", "old"));
    let entries = s.queue_entries(1).await.unwrap();
    assert_eq!(
        (entries.len(), entries[0].status, entries[0].finished_on),
        (1, EntryStatus::Completed, Some(1_700_000_100))
    );
    let tko = s.tko_job("/r/1-alice").await.unwrap().unwrap();
    let tests = s.tko_tests(tko.job_idx).await.unwrap();
    assert_eq!(tests[0].test, "sleeptest");
    assert_eq!(
        s.tko_iterations(tests[0].test_idx).await.unwrap()[0].perf,
        [("ops".to_owned(), 2.5)]
    );
    s.close().await;
    // Going back is refused, and changes nothing.
    let e = Store::migrate_to(&db.url, 1).await.unwrap_err().to_string();
    assert!(e.contains("never taken back"), "{e}");
    assert!(Store::open(&db.url).await.is_ok());
}

/// The list queries of the front ends, written as the commands ask for them (job list
/// -u/--all/--running, job stat, host list -b/--status/--locked, host stat, results
/// --job/--test/--kernel/--status/--machine with perf keyvals, and prune's own), with the
/// aliases whose full walk is allowed: an ordered primary-key walk under a LIMIT stops early.
const LIST_QUERIES: &[(&str, &str, &[&str])] = &[
    (
        "job list -u alice",
        "SELECT id, owner, name, priority, created_on FROM jobs WHERE owner = 'alice' ORDER BY id DESC LIMIT 100",
        &[],
    ),
    (
        "job list --all",
        "SELECT id, owner, name, priority, created_on FROM jobs ORDER BY id DESC LIMIT 100",
        &["jobs"],
    ),
    (
        "job list -u alice --running",
        "SELECT id, owner, name FROM jobs WHERE owner = 'alice' AND id IN (SELECT job_id FROM host_queue_entries WHERE complete = 0 AND active = 1) ORDER BY id DESC LIMIT 100",
        &[],
    ),
    (
        "job list --all --running",
        "SELECT id, owner, name FROM jobs WHERE id IN (SELECT job_id FROM host_queue_entries WHERE complete = 0 AND active = 1) ORDER BY id DESC LIMIT 100",
        &[],
    ),
    (
        "job list: jobs created since",
        "SELECT id, owner, name FROM jobs WHERE created_on >= 1700000000 ORDER BY created_on DESC LIMIT 100",
        &[],
    ),
    (
        "job stat: entries",
        "SELECT id, host_id, meta_host, status FROM host_queue_entries WHERE job_id = 5 ORDER BY id",
        &[],
    ),
    (
        "job stat: dependencies",
        "SELECT l.name FROM labels l JOIN job_dependency_labels d ON d.label_id = l.id WHERE d.job_id = 5",
        &[],
    ),
    (
        "label delete: jobs that depend on it",
        "SELECT job_id FROM job_dependency_labels WHERE label_id = 3",
        &[],
    ),
    (
        "scheduler: queued entries of a metahost label",
        "SELECT id, job_id FROM host_queue_entries WHERE meta_host = 3 AND complete = 0 AND active = 0",
        &[],
    ),
    (
        "host list -b gpu",
        "SELECT h.id, h.hostname, h.status FROM hosts h JOIN host_labels hl ON hl.host_id = h.id JOIN labels l ON l.id = hl.label_id WHERE l.name = 'gpu' AND h.invalid = 0 ORDER BY h.hostname",
        &[],
    ),
    (
        "host list --status Ready",
        "SELECT id, hostname, status, locked FROM hosts WHERE status = 'Ready' AND invalid = 0 ORDER BY hostname",
        &[],
    ),
    (
        "host list --locked",
        "SELECT id, hostname, status, locked_by FROM hosts WHERE locked = 1 AND invalid = 0 ORDER BY hostname",
        &[],
    ),
    (
        "host stat: labels",
        "SELECT l.name FROM labels l JOIN host_labels hl ON hl.label_id = l.id WHERE hl.host_id = 3",
        &[],
    ),
    (
        "host stat: recent entries",
        "SELECT id, job_id, status FROM host_queue_entries WHERE host_id = 3 ORDER BY id DESC LIMIT 20",
        &[],
    ),
    (
        "host stat: special tasks",
        "SELECT id, task, is_complete FROM special_tasks WHERE host_id = 3 ORDER BY id DESC LIMIT 20",
        &[],
    ),
    (
        "results --job 7",
        "SELECT t.test_idx, t.test, t.status FROM tko_tests t JOIN tko_jobs j ON j.job_idx = t.job_idx WHERE j.afe_job_id = 7 ORDER BY t.test_idx",
        &[],
    ),
    (
        "results --test dbench",
        "SELECT t.test_idx, t.test, t.status FROM tko_tests t WHERE t.test = 'dbench' ORDER BY t.test_idx DESC LIMIT 100",
        &[],
    ),
    (
        "results --kernel 6.6.1",
        "SELECT t.test_idx, t.test, t.status FROM tko_tests t JOIN tko_kernels k ON k.kernel_idx = t.kernel_idx WHERE k.printable = '6.6.1' ORDER BY t.test_idx DESC LIMIT 100",
        &[],
    ),
    (
        "results --status FAIL",
        "SELECT t.test_idx, t.test, t.status FROM tko_tests t WHERE t.status = 'FAIL' ORDER BY t.test_idx DESC LIMIT 100",
        &[],
    ),
    (
        "results --machine m1",
        "SELECT t.test_idx, t.test, t.status FROM tko_tests t JOIN tko_machines m ON m.machine_idx = t.machine_idx WHERE m.hostname = 'm1' ORDER BY t.test_idx DESC LIMIT 100",
        &[],
    ),
    (
        "results: perf keyvals of the tests shown",
        "SELECT test_idx, iteration, attribute, value FROM tko_iteration_result WHERE test_idx IN (1, 2, 3) ORDER BY test_idx, iteration",
        &[],
    ),
    (
        "results: attributes of the tests shown",
        "SELECT test_idx, attribute, value FROM tko_test_attributes WHERE test_idx IN (1, 2, 3)",
        &[],
    ),
    (
        "prune: is a job finished?",
        "SELECT 1 FROM host_queue_entries e WHERE e.job_id = 5 AND (e.complete = 0 OR e.finished_on >= 1700000000)",
        &[],
    ),
    (
        "prune: the parsed jobs of a job",
        "SELECT job_idx FROM tko_jobs WHERE afe_job_id IN (1, 2, 3)",
        &[],
    ),
    (
        "prune: special tasks of pruned entries",
        "SELECT id FROM special_tasks WHERE queue_entry_id IN (1, 2, 3)",
        &[],
    ),
];

/// The full scans in a query's plan: SQLite's `SCAN <table>` lines; PostgreSQL's (with
/// sequential scans priced out) `Seq Scan` nodes and index scans without an index condition.
/// Each as the table's alias, or its name.
async fn full_scans(db: &TestDb, pool: &sqlx::AnyPool, sql: &str) -> Vec<String> {
    use sqlx::Row;
    let mut conn = pool.acquire().await.unwrap();
    if db.url.sqlite_file().is_some() {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.iter()
            .filter_map(|r| {
                let detail: String = r.get(3);
                let table = detail.strip_prefix("SCAN ")?.split(' ').next()?.to_owned();
                Some(table)
            })
            .collect()
    } else {
        sqlx::query("SET enable_seqscan = off")
            .execute(&mut *conn)
            .await
            .unwrap();
        // Text format: sqlx's Any driver cannot decode PostgreSQL's json type.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")))
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        // Node lines hold "  (cost="; an index scan's "Index Cond:" follows its node line.
        let mut out = Vec::new();
        let mut open_index_scan: Option<String> = None;
        for r in &rows {
            let line: String = r.get(0);
            let body = line.trim_start();
            let body = body.strip_prefix("->  ").unwrap_or(body);
            if let Some((node, _)) = body.split_once("  (cost=") {
                out.extend(open_index_scan.take());
                let alias = node.rsplit(' ').next().unwrap_or("?").to_owned();
                if node.starts_with("Seq Scan") {
                    out.push(alias);
                } else if node.starts_with("Index Scan") || node.starts_with("Index Only Scan") {
                    open_index_scan = Some(alias);
                }
            } else if body.starts_with("Index Cond:") {
                open_index_scan = None;
            }
        }
        out.extend(open_index_scan);
        out
    }
}

async fn every_list_query_uses_an_index(db: TestDb) {
    db.migrated().await.close().await;
    let pool = raw_pool(&db).await;
    let mut problems = Vec::new();
    for (what, sql, allowed) in LIST_QUERIES {
        for table in full_scans(&db, &pool, sql).await {
            if !allowed.contains(&table.as_str()) {
                problems.push(format!("{what}: reads all of {table}: {sql}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // And the check sees a missing index (on a new connection: no plan cached).
    exec(&pool, "DROP INDEX tko_tests_status").await;
    pool.close().await;
    let pool = raw_pool(&db).await;
    let (_, sql, _) = LIST_QUERIES
        .iter()
        .find(|(w, _, _)| *w == "results --status FAIL")
        .unwrap();
    assert_eq!(full_scans(&db, &pool, sql).await, ["t"]);
    pool.close().await;
}

const DAY: i64 = 86_400;

/// A job of `owner` created `age_days` ago on host m1, with the given entry states
/// (status, finished how many days ago).
async fn aged_job(
    s: &Store,
    name: &str,
    created_days_ago: i64,
    entries: &[(EntryStatus, i64)],
) -> i64 {
    let now = chrono_now();
    let mut new = NewJob::new("alice", name, "pass\n", ControlType::Client);
    new.hosts = vec!["m1".into(); entries.len().max(1)];
    new.created_on = Some(now - created_days_ago * DAY);
    let job = s.create_job(&new).await.unwrap();
    let ids: Vec<i64> = s
        .queue_entries(job.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    for (id, (status, finished_days_ago)) in ids.iter().zip(entries) {
        s.set_entry_status(*id, *status, now - finished_days_ago * DAY)
            .await
            .unwrap();
    }
    job.id
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A parsed job with two tests of two iterations each.
fn tko_of(tag: &str, afe_job_id: Option<i64>, finished: Option<i64>) -> ParsedJob {
    let mut p = parsed_job(tag, &[("a", "a", "GOOD"), ("b", "b", "FAIL")]);
    p.afe_job_id = afe_job_id;
    p.queued = None;
    p.started = None;
    p.finished = finished;
    for t in &mut p.tests {
        t.iterations.push(ParsedIteration {
            perf: vec![("ops".into(), 2.0)],
            attr: vec![],
        });
    }
    p
}

async fn prune_removes_old_finished_jobs_and_their_results_only(db: TestDb) {
    use EntryStatus::{Completed, Failed, Queued, Running};
    let s = db.migrated().await;
    s.create_host("m1").await.unwrap();
    s.create_host("m2").await.unwrap();
    s.create_label(&NewLabel::new("x86")).await.unwrap();
    let now = chrono_now();
    let old = now - 100 * DAY;

    // Goes: old, every entry finished long ago; with everything that hangs off a job.
    let gone = {
        let mut new = NewJob::new("alice", "gone", "pass\n", ControlType::Client);
        new.hosts = vec!["m1".into(), "m2".into()];
        new.dependencies = vec!["x86".into()];
        new.keyvals = vec![("suite".into(), "smoke".into())];
        new.created_on = Some(old);
        s.create_job(&new).await.unwrap().id
    };
    let e = s.queue_entries(gone).await.unwrap();
    s.set_entry_status(e[0].id, Completed, old + 60)
        .await
        .unwrap();
    s.abort_job(gone, "bob", old + 70).await.unwrap();
    s.set_entry_status(e[1].id, EntryStatus::Aborted, old + 80)
        .await
        .unwrap();
    let m2 = s.host_named("m2").await.unwrap().id;
    s.block_host(gone, m2).await.unwrap();
    s.set_results_location(gone, "localhost", "/results/1-alice")
        .await
        .unwrap();
    let task = s
        .create_special_task(&NewSpecialTask {
            hostname: "m1".into(),
            task: SpecialTaskKind::Cleanup,
            requested_by: "scheduler".into(),
            queue_entry_id: Some(e[0].id),
        })
        .await
        .unwrap();
    s.store_parsed_job(&tko_of("/r/gone", Some(gone), Some(old)))
        .await
        .unwrap();
    // Goes: old, no entries at all (by its creation).
    let bare = aged_job(&s, "bare", 95, &[]).await;
    let pool = raw_pool(&db).await;
    exec(
        &pool,
        &format!("DELETE FROM host_queue_entries WHERE job_id = {bare}"),
    )
    .await;
    // Stay: one entry still running; one finished recently; created recently, no entries;
    // still queued.
    let running = aged_job(&s, "running", 100, &[(Completed, 99), (Running, 99)]).await;
    let recent = aged_job(&s, "recent", 100, &[(Failed, 10)]).await;
    let young = aged_job(&s, "young", 1, &[]).await;
    exec(
        &pool,
        &format!("DELETE FROM host_queue_entries WHERE job_id = {young}"),
    )
    .await;
    let queued = aged_job(&s, "queued", 100, &[(Queued, 100)]).await;
    pool.close().await;
    s.store_parsed_job(&tko_of("/r/running", Some(running), Some(old)))
        .await
        .unwrap();
    // Parsed jobs without a frontend job: an old one goes, a young one and one with no time
    // stay.
    s.store_parsed_job(&tko_of("/r/orphan-old", None, Some(old)))
        .await
        .unwrap();
    s.store_parsed_job(&tko_of("/r/orphan-gone-afe", Some(9999), Some(old)))
        .await
        .unwrap();
    s.store_parsed_job(&tko_of("/r/orphan-young", None, Some(now - DAY)))
        .await
        .unwrap();
    s.store_parsed_job(&tko_of("/r/orphan-timeless", None, None))
        .await
        .unwrap();

    let before = s.tko_row_counts().await.unwrap();
    let jobs_before = s.job_ids().await.unwrap();
    let mut opts = PruneOptions::older_than(90 * DAY);
    opts.dry_run = true;
    let dry = s.prune(&opts).await.unwrap();
    let expected = PruneReport {
        cutoff: opts.cutoff,
        dry_run: true,
        jobs: 2,
        entries: 2,
        aborts: 1,
        ineligible_hosts: 1,
        dependency_labels: 1,
        keyvals: 1,
        results_locations: 1,
        tko_jobs: 3,
        tests: 6,
        iterations: 12,
        trees: 0,
        trees_kept: vec![],
        batches: 2,
    };
    assert_eq!(dry, expected);
    assert_eq!(
        s.tko_row_counts().await.unwrap(),
        before,
        "a dry run removes nothing"
    );
    assert_eq!(s.job_ids().await.unwrap(), jobs_before);

    opts.dry_run = false;
    let report = s.prune(&opts).await.unwrap();
    assert_eq!(
        report,
        PruneReport {
            dry_run: false,
            ..expected
        }
    );
    assert_eq!(s.job_ids().await.unwrap(), [running, recent, young, queued]);
    assert!(matches!(
        s.job(gone).await,
        Err(StoreError::NotFound { kind: "job", .. })
    ));
    assert!(s.queue_entries(gone).await.unwrap().is_empty());
    assert_eq!(s.entry_abort(e[1].id).await.unwrap(), None);
    assert!(s.ineligible_hosts(gone).await.unwrap().is_empty());
    // The host's history stays, without the entry.
    let task = s.special_task(task.id).await.unwrap();
    assert_eq!(task.queue_entry_id, None);
    let mut tags = s.tko_job_tags().await.unwrap();
    tags.sort();
    assert_eq!(
        tags,
        ["/r/orphan-timeless", "/r/orphan-young", "/r/running"]
    );
    let after = s.tko_row_counts().await.unwrap();
    assert_eq!(
        (
            after.jobs,
            after.job_keyvals,
            after.tests,
            after.test_attributes,
            after.iteration_results,
            after.iteration_attributes
        ),
        (
            before.jobs - 3,
            before.job_keyvals - 6,
            before.tests - 6,
            before.test_attributes - 6,
            before.iteration_results - 12,
            before.iteration_attributes - 6
        )
    );
    // Nothing is left to prune.
    let again = s.prune(&opts).await.unwrap();
    assert_eq!((again.jobs, again.tko_jobs, again.batches), (0, 0, 0));
}

async fn prune_works_in_bounded_batches(db: TestDb) {
    let s = db.migrated().await;
    s.create_host("m1").await.unwrap();
    let mut old = Vec::new();
    for i in 0..7 {
        old.push(aged_job(&s, &format!("old{i}"), 30, &[(EntryStatus::Completed, 20)]).await);
        s.store_parsed_job(&tko_of(&format!("/r/old{i}"), old.last().copied(), None))
            .await
            .unwrap();
    }
    let kept = aged_job(&s, "kept", 30, &[(EntryStatus::Completed, 5)]).await;
    let mut opts = PruneOptions::older_than(10 * DAY);
    opts.batch = 3;
    opts.dry_run = true;
    let dry = s.prune(&opts).await.unwrap();
    assert_eq!(
        (dry.jobs, dry.tko_jobs, dry.tests, dry.batches),
        (7, 7, 14, 3)
    );
    assert_eq!(s.job_ids().await.unwrap().len(), 8);
    opts.dry_run = false;
    let report = s.prune(&opts).await.unwrap();
    assert_eq!(
        (report.jobs, report.entries, report.tko_jobs, report.batches),
        (7, 7, 7, 3)
    );
    assert_eq!(s.job_ids().await.unwrap(), [kept]);
    assert_eq!(s.tko_row_counts().await.unwrap().jobs, 0);
    // Exactly a batch's worth: the last, empty look ends it.
    for i in 0..3 {
        aged_job(
            &s,
            &format!("again{i}"),
            30,
            &[(EntryStatus::Completed, 20)],
        )
        .await;
    }
    let report = s.prune(&opts).await.unwrap();
    assert_eq!((report.jobs, report.batches), (3, 1));
}
