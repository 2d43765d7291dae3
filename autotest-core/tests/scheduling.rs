//! The scheduler's reads and writes of the lab database, on both backends: the snapshot that
//! assignment decides on, and starts applied so that nothing starts twice.

mod support;

use autotest_core::scheduler::{Start, assign};
use autotest_core::store::{
    EntryStatus, HostStatus, NewJob, NewLabel, NewSpecialTask, SpecialTaskKind, StartOutcome, Store,
};
use support::lab_db::TestDb;

both_backends!(
    a_pass_over_the_store_follows_the_rules_and_starts_each_entry_once,
    a_group_starts_in_its_own_subdirectory,
    a_host_locked_after_the_snapshot_is_not_started,
);

async fn lab(store: &Store, hosts: &[(&str, &[&str])]) {
    for (name, labels) in hosts {
        store.create_host(name).await.unwrap();
        for l in *labels {
            if store.label(l).await.unwrap().is_none() {
                store.create_label(&NewLabel::new(*l)).await.unwrap();
            }
            store.add_host_label(name, l).await.unwrap();
        }
    }
}

fn job(name: &str, hosts: &[&str], meta: &[&str]) -> NewJob {
    let mut j = NewJob::new(
        "alice",
        name,
        "job.run_test('sleeptest')\n",
        autotest_core::store::ControlType::Client,
    );
    j.hosts = hosts.iter().map(|s| s.to_string()).collect();
    j.meta_hosts = meta.iter().map(|s| s.to_string()).collect();
    j
}

async fn host_status(store: &Store, name: &str) -> HostStatus {
    store.host_named(name).await.unwrap().status
}

async fn a_pass_over_the_store_follows_the_rules_and_starts_each_entry_once(db: TestDb) {
    let store = db.migrated().await;
    lab(
        &store,
        &[("h1", &["x86"]), ("h2", &["x86"]), ("h3", &["x86"])],
    )
    .await;
    store.lock_host("h3", "bob", 100).await.unwrap();
    let mut a = job("a", &[], &["x86", "x86"]);
    a.created_on = Some(10);
    let a = store.create_job(&a).await.unwrap();
    let mut b = job("b", &["h1"], &[]);
    b.priority = 2;
    b.created_on = Some(20);
    let b = store.create_job(&b).await.unwrap();

    let snapshot = store.scheduler_snapshot().await.unwrap();
    assert_eq!(snapshot.hosts.len(), 3);
    assert_eq!(snapshot.entries.len(), 3);
    let decisions = assign(&snapshot);
    let starts: Vec<&Start> = decisions.starts.iter().collect();
    // The urgent job's named host first, then the older job's two metahost entries: one on
    // h2, none on the locked h3, so one waits.
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert_eq!(starts[0].job_id, b.id);
    assert_eq!(starts[1].job_id, a.id);
    let h1 = store.host_named("h1").await.unwrap().id;
    let h2 = store.host_named("h2").await.unwrap().id;
    assert_eq!(starts[0].entries[0].host_id, h1);
    assert_eq!(starts[1].entries[0].host_id, h2);

    for s in &starts {
        let out = store.start_entries(s, 1000).await.unwrap();
        assert!(matches!(out, StartOutcome::Started { .. }), "{out:?}");
    }
    // The same decision again (a second scheduler, a replayed pass) changes nothing.
    assert_eq!(
        store.start_entries(starts[0], 1001).await.unwrap(),
        StartOutcome::Stale
    );
    let entries = store.queue_entries(b.id).await.unwrap();
    assert_eq!(entries[0].status, EntryStatus::Starting);
    assert_eq!(entries[0].execution_subdir, "h1");
    assert_eq!(entries[0].started_on, Some(1000));
    assert_eq!(host_status(&store, "h1").await, HostStatus::Running);
    assert_eq!(host_status(&store, "h2").await, HostStatus::Running);
    assert_eq!(host_status(&store, "h3").await, HostStatus::Ready);

    // Now every host is busy or locked: the waiting entry stays queued; the job has h2, and the
    // metahost entry that started there is blocked from coming back to it.
    let snapshot = store.scheduler_snapshot().await.unwrap();
    assert_eq!(snapshot.entries.len(), 1);
    let ja = snapshot.jobs.iter().find(|j| j.id == a.id).unwrap();
    assert_eq!(ja.used_hosts, vec![h2]);
    assert_eq!(ja.ineligible_hosts, vec![h2]);
    let h3 = store.host_named("h3").await.unwrap().id;
    assert!(snapshot.hosts.iter().filter(|h| h.id != h3).all(|h| h.busy));
    assert_eq!(assign(&snapshot).starts, vec![]);

    // A queued verify on h3 shows in the snapshot; h3 is locked, so it waits too.
    store
        .create_special_task(&NewSpecialTask {
            hostname: "h3".into(),
            task: SpecialTaskKind::Verify,
            requested_by: "bob".into(),
            queue_entry_id: None,
        })
        .await
        .unwrap();
    let snapshot = store.scheduler_snapshot().await.unwrap();
    assert_eq!(snapshot.tasks.len(), 1);
    assert_eq!(assign(&snapshot).tasks, vec![]);
    store.unlock_host("h3").await.unwrap();
    let d = assign(&store.scheduler_snapshot().await.unwrap());
    assert_eq!(
        d.tasks.len(),
        1,
        "the verify goes first once h3 is unlocked"
    );
    assert_eq!(d.starts, vec![], "and keeps h3 from the waiting entry");
    store.close().await;
}

async fn a_group_starts_in_its_own_subdirectory(db: TestDb) {
    let store = db.migrated().await;
    lab(
        &store,
        &[("n1", &["net"]), ("n2", &["net"]), ("n3", &["net"])],
    )
    .await;
    let mut g = job("pair", &[], &["net", "net", "net", "net"]);
    g.synch_count = 2;
    let g = store.create_job(&g).await.unwrap();
    let d = assign(&store.scheduler_snapshot().await.unwrap());
    assert_eq!(d.starts.len(), 1, "three hosts make one group of two");
    assert_eq!(d.starts[0].entries.len(), 2);
    assert_eq!(
        store.start_entries(&d.starts[0], 5).await.unwrap(),
        StartOutcome::Started {
            execution_subdir: "group0".into()
        }
    );
    let started: Vec<_> = store
        .queue_entries(g.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.active)
        .collect();
    assert_eq!(started.len(), 2);
    assert!(started.iter().all(|e| e.execution_subdir == "group0"));
    store.close().await;
}

async fn a_host_locked_after_the_snapshot_is_not_started(db: TestDb) {
    let store = db.migrated().await;
    lab(&store, &[("h1", &[])]).await;
    let j = store.create_job(&job("a", &["h1"], &[])).await.unwrap();
    let d = assign(&store.scheduler_snapshot().await.unwrap());
    assert_eq!(d.starts.len(), 1);
    store.lock_host("h1", "bob", 7).await.unwrap();
    assert_eq!(
        store.start_entries(&d.starts[0], 8).await.unwrap(),
        StartOutcome::Stale
    );
    let e = &store.queue_entries(j.id).await.unwrap()[0];
    assert_eq!(e.status, EntryStatus::Queued);
    assert!(!e.active);
    assert_eq!(host_status(&store, "h1").await, HostStatus::Ready);
    store.close().await;
}
