//! One scheduler assignment pass (the pure core, `autotest_core::scheduler::assign`) over a
//! large lab: 10,000 hosts with platform and feature labels (some only_if_needed, 30% busy),
//! and 100,000 queued entries of 60,000 jobs (70% metahosts, 20% with a dependency label, 5%
//! groups of two). Goal (issue 12): under 100 ms per pass.
//!
//! Run: `cargo bench -p autotest-benches --bench assign`.

#![allow(clippy::print_stderr)]
use std::hint::black_box;
use std::time::Duration;

use autotest_core::scheduler::{
    Snapshot, SnapshotEntry, SnapshotHost, SnapshotJob, SnapshotLabel, SnapshotTask, assign,
};
use autotest_core::store::HostStatus;
use criterion::{Criterion, criterion_group, criterion_main};

const HOSTS: i64 = 10_000;
const ENTRIES: i64 = 100_000;
const PLATFORMS: i64 = 50;
const FEATURES: i64 = 20;
/// Label ids: platforms 0..50, features 1000..1020, two only_if_needed labels 2000, 2001.
const FEATURE_BASE: i64 = 1000;
const ONLY_BASE: i64 = 2000;

/// A small deterministic generator (xorshift), so every run decides on the same lab.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: i64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as i64
    }
}

fn lab() -> Snapshot {
    let mut rng = Rng(0x5eed_1ab5);
    let hosts = (0..HOSTS)
        .map(|id| {
            let mut labels = vec![id % PLATFORMS];
            for _ in 0..rng.below(4) {
                labels.push(FEATURE_BASE + rng.below(FEATURES));
            }
            if rng.below(20) == 0 {
                labels.push(ONLY_BASE + rng.below(2));
            }
            SnapshotHost {
                id,
                status: HostStatus::Ready,
                locked: rng.below(50) == 0,
                invalid: false,
                busy: rng.below(10) < 3,
                labels,
            }
        })
        .collect();
    let mut jobs = Vec::new();
    let mut entries = Vec::new();
    let mut job_id = 0;
    while (entries.len() as i64) < ENTRIES {
        let group = rng.below(20) == 0;
        let synch_count = if group { 2 } else { 1 };
        let dependencies = if rng.below(5) == 0 {
            vec![FEATURE_BASE + rng.below(FEATURES)]
        } else {
            Vec::new()
        };
        jobs.push(SnapshotJob {
            id: job_id,
            priority: rng.below(4),
            created_on: job_id,
            synch_count,
            dependencies,
            ineligible_hosts: Vec::new(),
            used_hosts: Vec::new(),
        });
        let n = if group { 2 } else { 1 + rng.below(2) };
        for _ in 0..n {
            let id = entries.len() as i64;
            let (host_id, meta_host) = if rng.below(10) < 3 {
                (Some(rng.below(HOSTS)), None)
            } else {
                (None, Some(rng.below(PLATFORMS)))
            };
            entries.push(SnapshotEntry {
                id,
                job_id,
                host_id,
                meta_host,
            });
        }
        job_id += 1;
    }
    let tasks = (0..200)
        .map(|id| SnapshotTask {
            id,
            host_id: rng.below(HOSTS),
            time_requested: id,
        })
        .collect();
    Snapshot {
        hosts,
        labels: (0..2)
            .map(|i| SnapshotLabel {
                id: ONLY_BASE + i,
                only_if_needed: true,
            })
            .collect(),
        jobs,
        entries,
        tasks,
    }
}

fn bench(c: &mut Criterion) {
    let snapshot = lab();
    let decisions = assign(&snapshot);
    eprintln!(
        "lab: {} hosts, {} jobs, {} queued entries -> {} tasks and {} entries started",
        snapshot.hosts.len(),
        snapshot.jobs.len(),
        snapshot.entries.len(),
        decisions.tasks.len(),
        decisions.assignments().count()
    );
    let mut g = c.benchmark_group("assignment");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("100k entries, 10k hosts", |b| {
        b.iter(|| assign(black_box(&snapshot)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
