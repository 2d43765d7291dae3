//! `autotest scheduler` on a real PostgreSQL: woken by LISTEN/NOTIFY (no safety pass in
//! sight), listening again after its LISTEN connection is cut, and carrying on through the
//! database server being stopped and started under it.

mod sched_support;

use std::time::Duration;

use autotest_core::store::EntryStatus;
use sched_support::{Lab, marking_control};

/// An hour: a job that runs did so because the scheduler was woken, not by a safety pass.
const NO_SAFETY_PASS: &[&str] = &["--safety-pass", "3600"];

#[test]
fn notify_wakes_the_scheduler_and_it_listens_again_after_losing_the_connection() {
    let Some(lab) = Lab::postgres() else { return };
    let pg = lab.pg.as_ref().unwrap();
    // Schema version 3's triggers are there, on PostgreSQL only.
    let triggers = pg.psql(
        "lab",
        "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%_notify' AND NOT tgisinternal",
    );
    assert_eq!(triggers.trim(), "7", "{triggers}");

    let sched = lab.scheduler("sched", NO_SAFETY_PASS);
    lab.wait_for(
        "the first pass",
        || sched.logged("scheduler started").then_some(()),
        &[&sched],
    );
    let marker = lab.path().join("runs");
    let one = lab.create_job("one", &marking_control(&marker, "one", 0.1));
    assert_eq!(
        lab.wait_complete(one, &[&sched]),
        vec![EntryStatus::Completed]
    );

    // Cut the LISTEN connection from the server side: the scheduler must listen again.
    let killed = pg.psql(
        "lab",
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'autotest scheduler wake-up%'",
    );
    assert_eq!(killed.trim(), "1", "{killed}");
    lab.wait_for(
        "the scheduler to listen again",
        || sched.logged("listening for wake-ups again").then_some(()),
        &[&sched],
    );
    let two = lab.create_job("two", &marking_control(&marker, "two", 0.1));
    assert_eq!(
        lab.wait_complete(two, &[&sched]),
        vec![EntryStatus::Completed]
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "one\ntwo\n");
}

#[test]
fn the_scheduler_carries_on_when_postgres_is_stopped_and_started_under_it() {
    let Some(lab) = Lab::postgres() else { return };
    let pg = lab.pg.as_ref().unwrap();
    let marker = lab.path().join("runs");
    let mut sched = lab.scheduler("sched", NO_SAFETY_PASS);
    let job = lab.create_job("long", &marking_control(&marker, "long", 4.0));
    lab.wait_for(
        "the job to run",
        || (lab.statuses(job) == vec![EntryStatus::Running]).then_some(()),
        &[&sched],
    );

    pg.stop();
    // The scheduler notices (its lock's connection fails) while the server is down.
    lab.wait_for(
        "the scheduler to notice the database is gone",
        || sched.logged("the lock is lost").then_some(()),
        &[&sched],
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(sched.alive(), "the scheduler exited: {}", sched.log());
    pg.start_again();

    // It takes its lock again, re-attaches to the running job, and the job ends once.
    assert_eq!(
        lab.wait_complete(job, &[&sched]),
        vec![EntryStatus::Completed]
    );
    assert!(sched.logged("re-attached"), "{}", sched.log());
    assert!(
        sched.logged("retrying"),
        "no retry was logged: {}",
        sched.log()
    );
    // Wake-ups work again: a new job runs with no safety pass to pick it up.
    let after = lab.create_job("after", &marking_control(&marker, "after", 0.1));
    assert_eq!(
        lab.wait_complete(after, &[&sched]),
        vec![EntryStatus::Completed]
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "long\nafter\n");
    assert_eq!(sched.terminate(), Some(0), "{}", sched.log());
}

#[test]
fn sigusr1_wakes_the_scheduler_when_no_notification_comes() {
    let Some(lab) = Lab::postgres() else { return };
    let pg = lab.pg.as_ref().unwrap();
    let mut sched = lab.scheduler("sched", NO_SAFETY_PASS);
    lab.wait_for(
        "the first pass",
        || sched.logged("scheduler started").then_some(()),
        &[&sched],
    );
    // A writer that NOTIFYs nothing (here: triggers disabled) leaves the scheduler asleep;
    // SIGUSR1 is the wake-up any process can give it by hand.
    for table in ["jobs", "host_queue_entries"] {
        pg.psql("lab", &format!("ALTER TABLE {table} DISABLE TRIGGER USER"));
    }
    let marker = lab.path().join("runs");
    let job = lab.create_job("quiet", &marking_control(&marker, "quiet", 0.1));
    // SAFETY: signalling a child this test started.
    unsafe { libc::kill(sched.child.id() as i32, libc::SIGUSR1) };
    assert_eq!(
        lab.wait_complete(job, &[&sched]),
        vec![EntryStatus::Completed]
    );
    assert!(sched.alive(), "{}", sched.log());
    assert_eq!(sched.terminate(), Some(0), "{}", sched.log());
}
