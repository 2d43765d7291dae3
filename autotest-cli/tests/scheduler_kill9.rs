//! The kill -9 campaign (issue 12 §4): jobs run by `autotest scheduler`, which is killed with
//! SIGKILL at at least 20 pseudo-random points of the jobs' lifecycle (before a launch, just
//! after the entries were started, while autoserv runs, while results are parsed, after the
//! end) and started again each time. At the end every job is accounted for: each entry ended
//! once, in its final state, with its results parsed once; no job ran twice (each control file
//! appends a line to a marker file); none was lost. On SQLite and on PostgreSQL.
//!
//! The seed is printed; `AUTOTEST_KILL9_SEED=<n>` replays a campaign.
#![allow(clippy::print_stderr)] // the seed and where the kills landed

mod sched_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use autotest_core::store::{EntryStatus, HostStatus};
use sched_support::{Lab, Sched, marking_control};

const KILLS: usize = 22;
const JOBS: usize = 8;

/// splitmix64: a small, well-mixed generator, reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed() -> u64 {
    match std::env::var("AUTOTEST_KILL9_SEED") {
        Ok(s) => s.trim().parse().unwrap_or_else(|_| {
            panic!("AUTOTEST_KILL9_SEED={s:?} is not a number: give an unsigned integer")
        }),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    }
}

/// Where a kill is aimed: a moment the test waits for, then SIGKILL at once.
#[derive(Debug, Clone, Copy)]
enum Aim {
    /// A pseudo-random delay after the start (ms).
    After(u64),
    /// As soon as an entry is in this state.
    Status(EntryStatus),
    /// As soon as this scheduler logged a job's end.
    JobEnded,
}

fn campaign(lab: &Lab, backend: &str) {
    let seed = seed();
    eprintln!("kill -9 campaign on {backend}: seed {seed} (AUTOTEST_KILL9_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let marker = lab.path().join("runs");
    let mut jobs = Vec::new();
    let create = |rng: &mut Rng, jobs: &mut Vec<i64>| {
        let n = jobs.len();
        let seconds = [0.1, 0.5, 1.0][rng.below(3) as usize];
        let id = lab.create_job(
            &format!("j{n}"),
            &marking_control(&marker, &format!("j{n}"), seconds),
        );
        jobs.push(id);
    };
    // Half the jobs queued before the first start, the rest created between kills.
    for _ in 0..JOBS / 2 {
        create(&mut rng, &mut jobs);
    }
    let aims = [
        EntryStatus::Starting,
        EntryStatus::Running,
        EntryStatus::Parsing,
    ];
    // What the store said just after each kill: the states of the jobs' entries.
    let mut landed: BTreeMap<String, usize> = BTreeMap::new();
    let mut logs = Vec::new();
    for k in 0..KILLS {
        if jobs.len() < JOBS && rng.below(3) == 0 {
            create(&mut rng, &mut jobs);
        }
        let aim = match rng.below(5) {
            0 | 1 => Aim::After(rng.below(1500)),
            2 => Aim::JobEnded,
            _ => Aim::Status(aims[rng.below(aims.len() as u64) as usize]),
        };
        let mut sched = lab.scheduler(&format!("sched{k:02}"), &["--safety-pass", "2"]);
        let started = Instant::now();
        // Give up on an aim after 3 s (the state may never come: everything already ran).
        let give_up = Duration::from_secs(3);
        loop {
            let hit = match aim {
                Aim::After(ms) => started.elapsed() >= Duration::from_millis(ms),
                Aim::JobEnded => sched.logged("job ended"),
                Aim::Status(s) => jobs.iter().any(|&j| lab.statuses(j).contains(&s)),
            };
            if hit || started.elapsed() > give_up {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        sched.kill9();
        let mut states: Vec<String> = jobs
            .iter()
            .flat_map(|&j| lab.statuses(j))
            .filter(|s| !s.is_complete())
            .map(|s| s.to_string())
            .collect();
        states.sort();
        states.dedup();
        let key = if states.is_empty() {
            "all complete".to_owned()
        } else {
            states.join("+")
        };
        eprintln!("kill {k:02} aimed {aim:?}: open entries {key}");
        *landed.entry(key).or_default() += 1;
        logs.push(sched);
    }
    while jobs.len() < JOBS {
        create(&mut rng, &mut jobs);
    }
    let mut last = lab.scheduler("sched-final", &["--safety-pass", "2"]);
    let all: Vec<&Sched> = logs.iter().chain(std::iter::once(&last)).collect();
    for &job in &jobs {
        assert_eq!(
            lab.wait_complete(job, &all),
            vec![EntryStatus::Completed],
            "job {job} (seed {seed})"
        );
    }
    eprintln!("kills landed with open entries in: {landed:?}");

    // None ran twice, none was lost: one marker line per job.
    let runs = std::fs::read_to_string(&marker).unwrap();
    let mut lines: Vec<&str> = runs.lines().collect();
    lines.sort();
    let mut want: Vec<String> = (0..JOBS).map(|n| format!("j{n}")).collect();
    want.sort();
    assert_eq!(lines, want, "runs per job (seed {seed}): {runs}");

    lab.with_store(|s| {
        let jobs = jobs.clone();
        async move {
            // Each job's results parsed once, each entry ended once with its times in order.
            let tags = s.tko_job_tags().await.unwrap();
            assert_eq!(tags.len(), JOBS, "parsed jobs (seed {seed}): {tags:?}");
            for &job in &jobs {
                let parsed = s.tko_jobs_of_afe_job(job).await.unwrap();
                assert_eq!(
                    parsed.len(),
                    1,
                    "job {job} parsed {} times (seed {seed})",
                    parsed.len()
                );
                let entries = s.queue_entries(job).await.unwrap();
                assert_eq!(entries.len(), 1);
                let e = &entries[0];
                assert!(e.complete && !e.active, "{e:?} (seed {seed})");
                assert!(e.finished_on >= e.started_on, "{e:?} (seed {seed})");
            }
            assert!(s.active_entries().await.unwrap().is_empty());
            let host = s.host_named("localhost").await.unwrap();
            assert_eq!(host.status, HostStatus::Ready, "(seed {seed})");
        }
    });
    assert_eq!(last.terminate(), Some(0), "{}", last.log());
    // The campaign reached the lifecycle's main phases (kills right after a start and at a
    // job's end are aimed at too, but are too brief to be certain of on a loaded machine).
    assert!(
        landed.keys().any(|k| k.contains("Running")),
        "no kill landed while a job ran (seed {seed}): {landed:?}"
    );
    assert!(
        landed.keys().any(|k| k.contains("Queued")),
        "no kill landed before a launch (seed {seed}): {landed:?}"
    );
}

#[test]
fn kill_9_campaign_on_sqlite_loses_nothing_and_runs_nothing_twice() {
    campaign(&Lab::sqlite(), "SQLite");
}

#[test]
fn kill_9_campaign_on_postgres_loses_nothing_and_runs_nothing_twice() {
    let Some(lab) = Lab::postgres() else { return };
    campaign(&lab, "PostgreSQL");
}
