//! Assignment: a pure function from a snapshot (hosts with their labels, queued entries and
//! their jobs, queued special tasks) to decisions (task -> host, entries -> hosts), following
//! the legacy scheduler's rules:
//!
//! - special tasks first, oldest first, one per host; a host with a queued task gets no entry;
//! - entries by job priority (higher first), then specific hosts before metahosts (labels),
//!   then the oldest job, then the entry;
//! - a host must be Ready, unlocked, valid and idle, and runs one thing at a time;
//! - every dependency label of the job on the host; a host's `only_if_needed` labels only for
//!   metahost entries of jobs that ask for them (as the metahost or a dependency) — a host named
//!   by the job is taken as asked;
//! - hosts blocked for the job (ineligible after a failed verify) never, and a job's metahost
//!   entries never get a host the job already has;
//! - a job with `synch_count` N starts in whole groups of N entries or not at all (no host is
//!   held half-assigned across passes, so two group jobs cannot deadlock each other).
//!
//! Cost: one ordering of the entries, then per metahost entry a scan of its label's hosts that
//! skips the taken prefix; a (label, dependencies) pair that found no host is remembered for the
//! rest of the pass, so a deep queue for a full label costs one lookup per entry.

use std::collections::{HashMap, HashSet};

use crate::store::HostStatus;

/// A host as assignment sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHost {
    /// Row id.
    pub id: i64,
    /// Scheduler state.
    pub status: HostStatus,
    /// Locked hosts get nothing new.
    pub locked: bool,
    /// Deleted hosts get nothing.
    pub invalid: bool,
    /// Something (an entry or a special task) is active on it.
    pub busy: bool,
    /// Its label ids.
    pub labels: Vec<i64>,
}

/// A label as assignment sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotLabel {
    /// Row id.
    pub id: i64,
    /// Hosts with it serve only jobs that ask for it.
    pub only_if_needed: bool,
}

/// A job with queued entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotJob {
    /// Row id.
    pub id: i64,
    /// Higher first.
    pub priority: i64,
    /// UTC epoch seconds; older first.
    pub created_on: i64,
    /// Entries that must start together.
    pub synch_count: i64,
    /// Label ids every host needs.
    pub dependencies: Vec<i64>,
    /// Hosts blocked for this job.
    pub ineligible_hosts: Vec<i64>,
    /// Hosts its other (already started) entries have.
    pub used_hosts: Vec<i64>,
}

/// A queued host queue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotEntry {
    /// Row id.
    pub id: i64,
    /// Its job.
    pub job_id: i64,
    /// The host it names, for a specific-host entry.
    pub host_id: Option<i64>,
    /// The label any host may serve it from, for a metahost entry.
    pub meta_host: Option<i64>,
}

/// A queued special task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotTask {
    /// Row id.
    pub id: i64,
    /// The host it runs on.
    pub host_id: i64,
    /// UTC epoch seconds; older first.
    pub time_requested: i64,
}

/// What the scheduler knows of the lab at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every valid host (invalid ones may be left out).
    pub hosts: Vec<SnapshotHost>,
    /// Labels whose `only_if_needed` is set (others may be left out).
    pub labels: Vec<SnapshotLabel>,
    /// The jobs of the queued entries.
    pub jobs: Vec<SnapshotJob>,
    /// Queued entries.
    pub entries: Vec<SnapshotEntry>,
    /// Queued special tasks.
    pub tasks: Vec<SnapshotTask>,
}

/// One entry given one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    /// The entry.
    pub entry_id: i64,
    /// The host.
    pub host_id: i64,
}

/// Entries of one job that start together: one for an ordinary job, `synch_count` for a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// The job.
    pub job_id: i64,
    /// Its entries and their hosts, in decision order.
    pub entries: Vec<Assignment>,
}

/// A special task given its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskStart {
    /// The task.
    pub task_id: i64,
    /// Its host.
    pub host_id: i64,
}

/// What one pass decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decisions {
    /// Special tasks to start.
    pub tasks: Vec<TaskStart>,
    /// Entries to start, in order.
    pub starts: Vec<Start>,
}

impl Decisions {
    /// Every entry assignment, in order.
    pub fn assignments(&self) -> impl Iterator<Item = &Assignment> {
        self.starts.iter().flat_map(|s| s.entries.iter())
    }
}

/// Decides one pass. Deterministic: the same snapshot gives the same decisions.
pub fn assign(snapshot: &Snapshot) -> Decisions {
    let mut pass = Pass::new(snapshot);
    let mut decisions = Decisions::default();
    pass.start_tasks(&mut decisions);
    pass.start_entries(&mut decisions);
    decisions
}

/// The working state of one pass: hosts by index, which are taken, labels' host lists.
struct Pass<'a> {
    snapshot: &'a Snapshot,
    host_index: HashMap<i64, usize>,
    /// Per host: its labels, sorted.
    host_labels: Vec<Vec<i64>>,
    /// Per host: its only_if_needed labels.
    host_needed_only: Vec<Vec<i64>>,
    /// Per host: free for an entry now.
    free: Vec<bool>,
    /// Per label: its hosts' indices, ascending, and the start of the part not known taken.
    label_hosts: HashMap<i64, (Vec<usize>, usize)>,
    jobs: HashMap<i64, &'a SnapshotJob>,
    /// (label, dependencies) pairs that found no host, valid while `generation` is unchanged.
    exhausted: HashSet<(i64, Vec<i64>)>,
}

impl<'a> Pass<'a> {
    fn new(snapshot: &'a Snapshot) -> Pass<'a> {
        let needed_only: HashSet<i64> = snapshot
            .labels
            .iter()
            .filter(|l| l.only_if_needed)
            .map(|l| l.id)
            .collect();
        let mut host_index = HashMap::with_capacity(snapshot.hosts.len());
        let mut host_labels = Vec::with_capacity(snapshot.hosts.len());
        let mut host_needed_only = Vec::with_capacity(snapshot.hosts.len());
        let mut free = Vec::with_capacity(snapshot.hosts.len());
        let mut label_hosts: HashMap<i64, (Vec<usize>, usize)> = HashMap::new();
        for (i, h) in snapshot.hosts.iter().enumerate() {
            host_index.insert(h.id, i);
            let mut labels = h.labels.clone();
            labels.sort_unstable();
            labels.dedup();
            for &l in &labels {
                label_hosts.entry(l).or_default().0.push(i);
            }
            host_needed_only.push(
                labels
                    .iter()
                    .copied()
                    .filter(|l| needed_only.contains(l))
                    .collect(),
            );
            host_labels.push(labels);
            free.push(takes_entries(h));
        }
        Pass {
            snapshot,
            host_index,
            host_labels,
            host_needed_only,
            free,
            label_hosts,
            jobs: snapshot.jobs.iter().map(|j| (j.id, j)).collect(),
            exhausted: HashSet::new(),
        }
    }

    /// Oldest task first, one per host; every host with a queued task is then kept from
    /// entries, whether its task starts now or waits.
    fn start_tasks(&mut self, decisions: &mut Decisions) {
        let mut tasks: Vec<&SnapshotTask> = self.snapshot.tasks.iter().collect();
        tasks.sort_by_key(|t| (t.time_requested, t.id));
        let mut started: HashSet<usize> = HashSet::new();
        for t in tasks {
            let Some(&i) = self.host_index.get(&t.host_id) else {
                continue;
            };
            let h = &self.snapshot.hosts[i];
            if takes_tasks(h) && started.insert(i) {
                decisions.tasks.push(TaskStart {
                    task_id: t.id,
                    host_id: h.id,
                });
            }
            self.free[i] = false;
        }
    }

    fn start_entries(&mut self, decisions: &mut Decisions) {
        // Entries grouped by job, the jobs in legacy order: priority, then whether the job's
        // first entry names a host, then age.
        let mut by_job: HashMap<i64, Vec<&SnapshotEntry>> = HashMap::new();
        for e in &self.snapshot.entries {
            if self.jobs.contains_key(&e.job_id) && (e.host_id.is_some() || e.meta_host.is_some()) {
                by_job.entry(e.job_id).or_default().push(e);
            }
        }
        let mut order: Vec<(i64, Vec<&SnapshotEntry>)> = by_job.into_iter().collect();
        for (_, entries) in &mut order {
            entries.sort_by_key(|e| (e.host_id.is_none(), e.id));
        }
        let jobs = &self.jobs;
        order.sort_by_key(|(job_id, entries)| {
            let j = jobs[job_id];
            (
                std::cmp::Reverse(j.priority),
                entries[0].host_id.is_none(),
                j.created_on,
                j.id,
            )
        });
        for (job_id, entries) in order {
            let job = self.jobs[&job_id];
            if job.synch_count <= 1 {
                self.start_singles(job, &entries, decisions);
            } else {
                self.start_groups(job, &entries, decisions);
            }
        }
    }

    fn start_singles(
        &mut self,
        job: &SnapshotJob,
        entries: &[&SnapshotEntry],
        decisions: &mut Decisions,
    ) {
        let mut has: HashSet<i64> = job.used_hosts.iter().copied().collect();
        for e in entries {
            if let Some(i) = self.pick(job, e, &has) {
                self.take(i);
                let host_id = self.snapshot.hosts[i].id;
                has.insert(host_id);
                decisions.starts.push(Start {
                    job_id: job.id,
                    entries: vec![Assignment {
                        entry_id: e.id,
                        host_id,
                    }],
                });
            }
        }
    }

    /// Whole groups of `synch_count`, tried entry by entry; a group that cannot be completed
    /// gives its hosts back.
    fn start_groups(
        &mut self,
        job: &SnapshotJob,
        entries: &[&SnapshotEntry],
        decisions: &mut Decisions,
    ) {
        let size = usize::try_from(job.synch_count).unwrap_or(usize::MAX);
        let mut has: HashSet<i64> = job.used_hosts.iter().copied().collect();
        let mut group: Vec<(Assignment, usize)> = Vec::new();
        for e in entries {
            if let Some(i) = self.pick(job, e, &has) {
                self.take(i);
                let host_id = self.snapshot.hosts[i].id;
                has.insert(host_id);
                group.push((
                    Assignment {
                        entry_id: e.id,
                        host_id,
                    },
                    i,
                ));
                if group.len() == size {
                    decisions.starts.push(Start {
                        job_id: job.id,
                        entries: group.drain(..).map(|(a, _)| a).collect(),
                    });
                }
            }
        }
        for (_, i) in group {
            self.give_back(i);
        }
    }

    /// The host this entry may take now, if any.
    fn pick(&mut self, job: &SnapshotJob, e: &SnapshotEntry, has: &HashSet<i64>) -> Option<usize> {
        if let Some(host_id) = e.host_id {
            let &i = self.host_index.get(&host_id)?;
            let ok = self.free[i]
                && !job.ineligible_hosts.contains(&host_id)
                && has_all(&self.host_labels[i], &job.dependencies);
            return ok.then_some(i);
        }
        let label = e.meta_host?;
        let key_is_plain = job.ineligible_hosts.is_empty() && has.is_empty();
        let mut deps = job.dependencies.clone();
        deps.sort_unstable();
        let key = (label, deps);
        if self.exhausted.contains(&key) {
            return None;
        }
        let Pass {
            snapshot,
            host_labels,
            host_needed_only,
            free,
            label_hosts,
            ..
        } = self;
        let (list, start) = label_hosts.get_mut(&label)?;
        // Skip the prefix that is taken for good in this pass.
        while *start < list.len() && !free[list[*start]] {
            *start += 1;
        }
        let deps = &key.1;
        let found = list[*start..].iter().copied().find(|&i| {
            let host_id = snapshot.hosts[i].id;
            free[i]
                && !has.contains(&host_id)
                && !job.ineligible_hosts.contains(&host_id)
                && has_all(&host_labels[i], deps)
                && host_needed_only[i]
                    .iter()
                    .all(|l| *l == label || deps.binary_search(l).is_ok())
        });
        if found.is_none() && key_is_plain {
            self.exhausted.insert(key);
        }
        found
    }

    fn take(&mut self, i: usize) {
        self.free[i] = false;
    }

    /// Frees a host a group could not use: labels' taken prefixes move back to it, and what
    /// was remembered as exhausted may no longer be.
    fn give_back(&mut self, i: usize) {
        self.free[i] = true;
        for l in &self.host_labels[i] {
            if let Some((list, start)) = self.label_hosts.get_mut(l)
                && let Ok(pos) = list.binary_search(&i)
            {
                *start = (*start).min(pos);
            }
        }
        self.exhausted.clear();
    }
}

fn takes_entries(h: &SnapshotHost) -> bool {
    h.status == HostStatus::Ready && !h.locked && !h.invalid && !h.busy
}

/// A task may also run on a host whose repair failed: a reverify is how it comes back.
fn takes_tasks(h: &SnapshotHost) -> bool {
    matches!(h.status, HostStatus::Ready | HostStatus::RepairFailed)
        && !h.locked
        && !h.invalid
        && !h.busy
}

/// `sorted` holds every item of `wanted`.
fn has_all(sorted: &[i64], wanted: &[i64]) -> bool {
    wanted.iter().all(|w| sorted.binary_search(w).is_ok())
}
