//! The legacy assignment rules, one case each, and properties over random labs.

use proptest::prelude::*;

use super::*;
use crate::store::HostStatus;

fn host(id: i64, labels: &[i64]) -> SnapshotHost {
    SnapshotHost {
        id,
        status: HostStatus::Ready,
        locked: false,
        invalid: false,
        busy: false,
        labels: labels.to_vec(),
    }
}

fn job(id: i64, priority: i64, created_on: i64) -> SnapshotJob {
    SnapshotJob {
        id,
        priority,
        created_on,
        synch_count: 1,
        dependencies: Vec::new(),
        ineligible_hosts: Vec::new(),
        used_hosts: Vec::new(),
    }
}

fn on_host(id: i64, job_id: i64, host_id: i64) -> SnapshotEntry {
    SnapshotEntry {
        id,
        job_id,
        host_id: Some(host_id),
        meta_host: None,
    }
}

fn on_label(id: i64, job_id: i64, label: i64) -> SnapshotEntry {
    SnapshotEntry {
        id,
        job_id,
        host_id: None,
        meta_host: Some(label),
    }
}

/// (entry, host) pairs decided.
fn pairs(s: &Snapshot) -> Vec<(i64, i64)> {
    assign(s)
        .assignments()
        .map(|a| (a.entry_id, a.host_id))
        .collect()
}

const L: i64 = 100;
const DEP: i64 = 101;
const ONLY: i64 = 102;

#[test]
fn higher_priority_first_even_when_younger() {
    let s = Snapshot {
        hosts: vec![host(1, &[L])],
        jobs: vec![job(10, 0, 1), job(11, 2, 5)],
        entries: vec![on_label(1, 10, L), on_label(2, 11, L)],
        ..Snapshot::default()
    };
    assert_eq!(pairs(&s), vec![(2, 1)]);
}

#[test]
fn a_named_host_before_a_label_at_the_same_priority() {
    let s = Snapshot {
        hosts: vec![host(1, &[L])],
        jobs: vec![job(10, 1, 1), job(11, 1, 5)],
        entries: vec![on_label(1, 10, L), on_host(2, 11, 1)],
        ..Snapshot::default()
    };
    assert_eq!(pairs(&s), vec![(2, 1)]);
}

#[test]
fn the_oldest_job_first_otherwise() {
    let s = Snapshot {
        hosts: vec![host(1, &[L])],
        jobs: vec![job(10, 1, 9), job(11, 1, 5)],
        entries: vec![on_label(1, 10, L), on_label(2, 11, L)],
        ..Snapshot::default()
    };
    assert_eq!(pairs(&s), vec![(2, 1)]);
}

#[test]
fn every_dependency_label_must_be_on_the_host() {
    let mut j = job(10, 0, 1);
    j.dependencies = vec![DEP];
    let s = Snapshot {
        hosts: vec![host(1, &[L]), host(2, &[L, DEP])],
        jobs: vec![j.clone(), job(11, 0, 2)],
        entries: vec![on_label(1, 10, L), on_host(2, 10, 1), on_label(3, 11, L)],
        ..Snapshot::default()
    };
    // The named host 1 lacks DEP: that entry waits; the metahost entry gets host 2; job 11 gets 1.
    assert_eq!(pairs(&s), vec![(1, 2), (3, 1)]);
}

#[test]
fn only_if_needed_hosts_serve_only_jobs_that_ask_for_the_label() {
    let labels = vec![SnapshotLabel {
        id: ONLY,
        only_if_needed: true,
    }];
    let mut asks = job(11, 0, 2);
    asks.dependencies = vec![ONLY];
    let s = Snapshot {
        hosts: vec![host(1, &[L, ONLY])],
        labels: labels.clone(),
        jobs: vec![job(10, 0, 1), asks],
        entries: vec![on_label(1, 10, L), on_label(2, 11, L)],
        ..Snapshot::default()
    };
    assert_eq!(
        pairs(&s),
        vec![(2, 1)],
        "the job without ONLY is passed over"
    );

    let s = Snapshot {
        hosts: vec![host(1, &[ONLY])],
        labels: labels.clone(),
        jobs: vec![job(10, 0, 1)],
        entries: vec![on_label(1, 10, ONLY)],
        ..Snapshot::default()
    };
    assert_eq!(pairs(&s), vec![(1, 1)], "asking for it as the metahost");

    let s = Snapshot {
        hosts: vec![host(1, &[L, ONLY])],
        labels,
        jobs: vec![job(10, 0, 1)],
        entries: vec![on_host(1, 10, 1)],
        ..Snapshot::default()
    };
    assert_eq!(
        pairs(&s),
        vec![(1, 1)],
        "a host named by the job is taken as asked"
    );
}

#[test]
fn a_jobs_metahost_entries_never_share_a_host() {
    let mut j = job(10, 0, 1);
    j.used_hosts = vec![2];
    let s = Snapshot {
        hosts: vec![host(1, &[L]), host(2, &[L]), host(3, &[L])],
        jobs: vec![j],
        entries: vec![on_label(1, 10, L), on_label(2, 10, L), on_label(3, 10, L)],
        ..Snapshot::default()
    };
    // Host 2 already runs one of the job's entries; hosts 1 and 3 serve two, the third waits.
    assert_eq!(pairs(&s), vec![(1, 1), (2, 3)]);
}

#[test]
fn locked_invalid_busy_and_not_ready_hosts_get_nothing() {
    let mut hosts = vec![host(1, &[L]), host(2, &[L]), host(3, &[L]), host(4, &[L])];
    hosts[0].locked = true;
    hosts[1].invalid = true;
    hosts[2].busy = true;
    hosts[3].status = HostStatus::RepairFailed;
    let s = Snapshot {
        hosts,
        jobs: vec![job(10, 0, 1)],
        entries: vec![
            on_label(1, 10, L),
            on_host(2, 10, 1),
            on_host(3, 10, 2),
            on_host(4, 10, 3),
            on_host(5, 10, 4),
        ],
        ..Snapshot::default()
    };
    assert_eq!(pairs(&s), vec![]);
}

#[test]
fn hosts_blocked_for_the_job_are_skipped() {
    let mut j = job(10, 0, 1);
    j.ineligible_hosts = vec![1];
    let s = Snapshot {
        hosts: vec![host(1, &[L]), host(2, &[L])],
        jobs: vec![j],
        entries: vec![on_label(1, 10, L), on_host(2, 10, 1)],
        ..Snapshot::default()
    };
    assert_eq!(pairs(&s), vec![(1, 2)]);
}

#[test]
fn a_host_runs_one_thing_at_a_time() {
    let s = Snapshot {
        hosts: vec![host(1, &[L])],
        jobs: vec![job(10, 0, 1), job(11, 0, 2)],
        entries: vec![on_host(1, 10, 1), on_host(2, 11, 1), on_label(3, 11, L)],
        ..Snapshot::default()
    };
    assert_eq!(pairs(&s), vec![(1, 1)]);
}

#[test]
fn a_group_starts_whole_or_not_at_all_and_gives_back_what_it_held() {
    let mut g = job(10, 5, 1);
    g.synch_count = 2;
    let s = Snapshot {
        hosts: vec![host(1, &[L])],
        jobs: vec![g.clone(), job(11, 0, 2)],
        entries: vec![on_label(1, 10, L), on_label(2, 10, L), on_label(3, 11, L)],
        ..Snapshot::default()
    };
    // One host for a group of two: the group waits and the host serves job 11.
    assert_eq!(pairs(&s), vec![(3, 1)]);

    let s = Snapshot {
        hosts: vec![host(1, &[L]), host(2, &[L]), host(3, &[L])],
        jobs: vec![g, job(11, 0, 2)],
        entries: vec![
            on_label(1, 10, L),
            on_label(2, 10, L),
            on_label(3, 10, L),
            on_label(4, 10, L),
            on_label(5, 11, L),
        ],
        ..Snapshot::default()
    };
    let d = assign(&s);
    assert_eq!(d.starts.len(), 2);
    assert_eq!(d.starts[0].job_id, 10);
    assert_eq!(
        d.starts[0].entries,
        vec![
            Assignment {
                entry_id: 1,
                host_id: 1
            },
            Assignment {
                entry_id: 2,
                host_id: 2
            }
        ]
    );
    // The third host, held by the half group, went back and served job 11.
    assert_eq!(
        d.starts[1].entries,
        vec![Assignment {
            entry_id: 5,
            host_id: 3
        }]
    );
}

#[test]
fn special_tasks_go_first_and_keep_their_host_from_entries() {
    let mut hosts = vec![host(1, &[L]), host(2, &[L]), host(3, &[L])];
    hosts[1].status = HostStatus::RepairFailed;
    hosts[2].busy = true;
    let s = Snapshot {
        hosts,
        jobs: vec![job(10, 0, 1)],
        entries: vec![on_label(1, 10, L)],
        tasks: vec![
            SnapshotTask {
                id: 7,
                host_id: 1,
                time_requested: 5,
            },
            SnapshotTask {
                id: 6,
                host_id: 1,
                time_requested: 3,
            },
            SnapshotTask {
                id: 8,
                host_id: 2,
                time_requested: 9,
            },
            SnapshotTask {
                id: 9,
                host_id: 3,
                time_requested: 1,
            },
        ],
        ..Snapshot::default()
    };
    let d = assign(&s);
    // The oldest task of host 1; a reverify on the quarantined host 2; host 3 is busy.
    assert_eq!(
        d.tasks,
        vec![
            TaskStart {
                task_id: 6,
                host_id: 1
            },
            TaskStart {
                task_id: 8,
                host_id: 2
            }
        ]
    );
    assert_eq!(d.starts, vec![]);
}

#[test]
fn an_exhausted_label_frees_up_again_when_a_group_gives_hosts_back() {
    let mut g = job(10, 5, 1);
    g.synch_count = 3;
    let s = Snapshot {
        hosts: vec![host(1, &[L]), host(2, &[L])],
        jobs: vec![g, job(11, 0, 2), job(12, 0, 3)],
        entries: vec![
            on_label(1, 10, L),
            on_label(2, 10, L),
            on_label(3, 10, L),
            on_label(4, 11, L),
            on_label(5, 12, L),
        ],
        ..Snapshot::default()
    };
    assert_eq!(pairs(&s), vec![(4, 1), (5, 2)]);
}

fn lab() -> impl Strategy<Value = Snapshot> {
    let hosts = prop::collection::vec(
        (
            prop::collection::vec(0i64..6, 0..4),
            any::<bool>(),
            any::<bool>(),
            0u8..4,
        ),
        0..12,
    );
    let jobs = prop::collection::vec(
        (
            0i64..3,
            0i64..5,
            1i64..3,
            prop::collection::vec(0i64..6, 0..2),
            prop::collection::vec(0i64..12, 0..2),
        ),
        1..6,
    );
    let entries = prop::collection::vec((0usize..6, prop::option::of(0i64..12), 0i64..6), 0..20);
    (hosts, jobs, entries, prop::collection::vec(0i64..6, 0..3)).prop_map(
        |(hosts, jobs, entries, only)| {
            let hosts: Vec<SnapshotHost> = hosts
                .into_iter()
                .enumerate()
                .map(|(i, (labels, locked, busy, status))| SnapshotHost {
                    id: i as i64,
                    status: [
                        HostStatus::Ready,
                        HostStatus::Ready,
                        HostStatus::Running,
                        HostStatus::RepairFailed,
                    ][status as usize],
                    locked,
                    invalid: false,
                    busy,
                    labels,
                })
                .collect();
            let jobs: Vec<SnapshotJob> = jobs
                .into_iter()
                .enumerate()
                .map(
                    |(i, (priority, created_on, synch_count, dependencies, ineligible))| {
                        SnapshotJob {
                            id: i as i64,
                            priority,
                            created_on,
                            synch_count,
                            dependencies,
                            ineligible_hosts: ineligible,
                            used_hosts: Vec::new(),
                        }
                    },
                )
                .collect();
            let njobs = jobs.len();
            let entries = entries
                .into_iter()
                .enumerate()
                .map(|(i, (j, h, l))| SnapshotEntry {
                    id: i as i64,
                    job_id: (j % njobs) as i64,
                    host_id: h,
                    meta_host: if h.is_none() { Some(l) } else { None },
                })
                .collect();
            Snapshot {
                hosts,
                labels: only
                    .into_iter()
                    .map(|id| SnapshotLabel {
                        id,
                        only_if_needed: true,
                    })
                    .collect(),
                jobs,
                entries,
                tasks: Vec::new(),
            }
        },
    )
}

proptest! {
    #[test]
    fn decisions_keep_every_rule(s in lab()) {
        let d = assign(&s);
        let host = |id: i64| s.hosts.iter().find(|h| h.id == id).unwrap();
        let job = |id: i64| s.jobs.iter().find(|j| j.id == id).unwrap();
        let mut used = std::collections::HashSet::new();
        let mut entries = std::collections::HashSet::new();
        for start in &d.starts {
            let j = job(start.job_id);
            prop_assert_eq!(start.entries.len() as i64, j.synch_count.max(1));
            for a in &start.entries {
                prop_assert!(used.insert(a.host_id), "host {} given twice", a.host_id);
                prop_assert!(entries.insert(a.entry_id), "entry {} started twice", a.entry_id);
                let e = s.entries.iter().find(|e| e.id == a.entry_id).unwrap();
                prop_assert_eq!(e.job_id, start.job_id);
                let h = host(a.host_id);
                prop_assert!(h.status == HostStatus::Ready && !h.locked && !h.busy && !h.invalid);
                prop_assert!(!j.ineligible_hosts.contains(&a.host_id));
                prop_assert!(j.dependencies.iter().all(|l| h.labels.contains(l)));
                match (e.host_id, e.meta_host) {
                    (Some(named), _) => prop_assert_eq!(named, a.host_id),
                    (None, Some(label)) => {
                        prop_assert!(h.labels.contains(&label));
                        for only in s.labels.iter().filter(|l| l.only_if_needed) {
                            if h.labels.contains(&only.id) {
                                prop_assert!(only.id == label || j.dependencies.contains(&only.id));
                            }
                        }
                    }
                    (None, None) => prop_assert!(false, "an entry without host or label"),
                }
            }
        }
        // Same snapshot, same decisions.
        prop_assert_eq!(assign(&s), d);
    }
}
