//! Two schedulers on one database: the second waits as a standby and, when the first is
//! killed with -9 mid-job, takes over, re-attaches to the running autoserv, and the job ends
//! once. On PostgreSQL (an advisory lock; waiting is the default) and on SQLite (`--standby`).
#![allow(clippy::print_stderr)] // the takeover time, for the report

mod sched_support;

use std::time::Instant;

use autotest_core::store::EntryStatus;
use sched_support::{Lab, marking_control};

fn failover(lab: &Lab, standby_args: &[&str]) {
    let marker = lab.path().join("runs");
    let mut a = lab.scheduler("a", &[]);
    lab.wait_for(
        "A to hold the lock",
        || a.logged("scheduler started").then_some(()),
        &[&a],
    );
    let mut b = lab.scheduler("b", standby_args);
    lab.wait_for(
        "B to wait as a standby",
        || b.logged("standby").then_some(()),
        &[&a, &b],
    );
    assert!(b.alive(), "{}", b.log());
    assert!(!b.logged("scheduler started"), "{}", b.log());

    let job = lab.create_job("slow", &marking_control(&marker, "slow", 3.0));
    lab.wait_for(
        "the job to run",
        || (lab.statuses(job) == vec![EntryStatus::Running]).then_some(()),
        &[&a, &b],
    );
    a.kill9();
    let killed = Instant::now();
    lab.wait_for(
        "B to take over",
        || b.logged("scheduler started").then_some(()),
        &[&a, &b],
    );
    eprintln!(
        "standby took over {:.2}s after the kill -9",
        killed.elapsed().as_secs_f64()
    );
    assert_eq!(
        lab.wait_complete(job, &[&a, &b]),
        vec![EntryStatus::Completed]
    );
    assert!(b.logged("re-attached"), "{}", b.log());
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "slow\n",
        "the job ran more than once"
    );
    assert_eq!(b.terminate(), Some(0), "{}", b.log());
}

#[test]
fn postgres_standby_takes_over_from_a_killed_scheduler_and_the_job_ends_once() {
    let Some(lab) = Lab::postgres() else { return };
    // No flag: on PostgreSQL a second scheduler waits.
    failover(&lab, &[]);
}

#[test]
fn sqlite_standby_takes_over_from_a_killed_scheduler_and_the_job_ends_once() {
    let lab = Lab::sqlite();
    failover(&lab, &["--standby"]);
}
