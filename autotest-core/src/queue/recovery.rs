//! A monitor's restart: the results directories of its queue that an earlier monitor left
//! unfinished, and what becomes of each (re-attached, recorded, or run now; never neither).

use std::fs;
use std::future::Future;
use std::path::{Path, PathBuf};

use tokio::time::Instant;

use super::QUEUE_JOB_FILE;
use super::QueueError;
use super::claim::read_record;
use super::launch::read_autoserv_pidfile;
use super::monitor::{Flow, Monitor, Stop, Wake};
use crate::machines::machines_for_queue;
use crate::pidfile::PidfileState;
use crate::results::JobResults;

/// What the monitor finds in a results directory of its queue when it starts.
#[derive(Debug)]
pub(super) enum Found {
    /// autoserv still runs: wait for it.
    Running {
        dir: PathBuf,
        label: String,
        pid: u32,
    },
    /// autoserv ended (finished, lost or corrupt) while no monitor watched: record it.
    Ended { dir: PathBuf, label: String },
    /// Claimed, never started: run it now.
    Unstarted { dir: PathBuf, control: String },
    /// The claim was interrupted before the control file moved (it is still in the spool).
    EmptyClaim { dir: PathBuf, control: String },
    /// autoserv was started (`debug/autoserv.cmd` is there) but wrote no pidfile: it is starting
    /// now, or it died (or the monitor did) before autoserv began the job.
    NoPidfile {
        dir: PathBuf,
        label: String,
        control: String,
    },
    /// A `<queue>-...` directory whose `.queue_job` is empty or names no queue: a claim
    /// interrupted by a crash while the record was being written.
    OrphanRecord { dir: PathBuf },
}

impl Monitor {
    /// A claim across filesystems copies the control file into the results directory before it
    /// removes it from the spool; when the last monitor stopped between the two, the spool still
    /// holds the same file: remove it, or the job would run twice.
    pub(super) fn finish_interrupted_copy(&mut self, dir: &Path, control: &str) {
        let spooled = self.queue_dir.join(control);
        let (Ok(a), Ok(b)) = (fs::read(&spooled), fs::read(dir.join(control))) else {
            return;
        };
        if a == b {
            match fs::remove_file(&spooled) {
                Ok(()) => {
                    self.tracker.forget(control);
                    self.log.info(format!(
                        "removed {control} from the queue: the same file was already claimed into {}",
                        dir.display()
                    ));
                }
                Err(e) => self.log.error(format!(
                    "cannot remove {} (already claimed into {}): {e}; remove it by hand or it runs twice",
                    spooled.display(),
                    dir.display()
                )),
            }
        }
    }

    /// Finds this queue's results directories left unfinished by an earlier monitor, records the
    /// ended ones, waits for running ones, and runs claimed ones that never started.
    pub(super) async fn recover<F: Future<Output = ()>>(
        &mut self,
        stop: &mut Stop<'_, F>,
    ) -> Result<Flow, QueueError> {
        let (results, queue, queue_dir) = (
            self.results_dir.clone(),
            self.queue.clone(),
            self.queue_dir.clone(),
        );
        let found =
            tokio::task::spawn_blocking(move || find_unfinished(&results, &queue, &queue_dir))
                .await
                .map_err(|e| {
                    QueueError::io(
                        "look for unfinished jobs in",
                        &self.results_dir,
                        std::io::Error::other(e.to_string()),
                    )
                })??;
        let mut running = Vec::new();
        let mut unstarted = Vec::new();
        for f in found {
            match f {
                Found::Ended { dir, label } => self.record_end(&dir, &label, None),
                Found::EmptyClaim { dir, control } => {
                    self.log.warn(format!(
                        "the claim of {control} into {} was interrupted before the control file moved; it stays in the queue and gets a new results directory",
                        dir.display()
                    ));
                    self.record_finished(&dir, "claim interrupted");
                }
                Found::OrphanRecord { dir } => {
                    self.log.warn(format!(
                        "{} has an empty {QUEUE_JOB_FILE}: a claim was interrupted by a crash before it was recorded; its control file never left the queue (it runs from there), and the directory is recorded as finished",
                        dir.display()
                    ));
                    self.record_finished(&dir, "claim interrupted before it was recorded");
                }
                Found::NoPidfile {
                    dir,
                    label,
                    control,
                } => {
                    // autoserv writes its pidfile before it touches a machine: one that runs is
                    // waited for; one that is gone never began the job, which then runs now.
                    let pids = self
                        .options
                        .launcher
                        .running_for(&JobResults::new(&dir))
                        .await;
                    if let Some(&pid) = pids.first() {
                        running.push(Found::Running { dir, label, pid });
                    } else if !control.is_empty() && dir.join(&control).exists() {
                        self.log.warn(format!(
                            "{label}: autoserv was started in {} but wrote no pidfile and no longer runs, so it never began the job; running it again",
                            dir.display()
                        ));
                        unstarted.push(Found::Unstarted { dir, control });
                    } else {
                        self.log.error(format!(
                            "{label}: autoserv was started in {} but wrote no pidfile, and the control file is not there to run again; move it back into the queue to run it",
                            dir.display()
                        ));
                        self.record_finished(&dir, "no pidfile");
                    }
                }
                r @ Found::Running { .. } => running.push(r),
                u @ Found::Unstarted { .. } => unstarted.push(u),
            }
        }
        for r in running {
            let Found::Running { dir, label, pid } = r else {
                continue;
            };
            self.log.info(format!(
                "re-attached to autoserv pid {pid} running {label} in {} (started before this monitor); waiting for it",
                dir.display()
            ));
            loop {
                let deadline = Instant::now() + self.options.poll_interval;
                match self
                    .wait(stop, deadline, std::future::pending::<()>())
                    .await
                {
                    Wake::Stop => {
                        self.log.info(format!(
                            "stopping while autoserv pid {pid} runs {label}: it is left running, and the next monitor start on this queue re-attaches to it"
                        ));
                        return Ok(Flow::Stop);
                    }
                    Wake::Event(ev) => self.on_event(ev),
                    Wake::Timer | Wake::Done(()) => {}
                }
                match read_autoserv_pidfile(&dir) {
                    Ok(Some(PidfileState::Running { .. } | PidfileState::BeingWritten { .. })) => {}
                    // Started but not yet at its pidfile: wait while it runs.
                    Ok(None)
                        if !self
                            .options
                            .launcher
                            .running_for(&JobResults::new(&dir))
                            .await
                            .is_empty() => {}
                    _ => break,
                }
            }
            self.record_end(&dir, &label, None);
        }
        for u in unstarted {
            let Found::Unstarted { dir, control } = u else {
                continue;
            };
            self.log.info(format!(
                "resuming {control}: it was claimed into {} before the last monitor stopped, and autoserv never started",
                dir.display()
            ));
            self.finish_interrupted_copy(&dir, &control);
            let machines = match machines_for_queue(&self.queue_dir) {
                Ok(m) => self.unique_machines(&control, m),
                Err(e) => {
                    self.log.error(format!(
                        "{control} not run: {e}; the control file is kept in {} (fix the machine list and move it back into the queue to run it)",
                        dir.display()
                    ));
                    self.record_finished(&dir, &format!("not started: {e}"));
                    continue;
                }
            };
            if let Flow::Stop = self
                .start_and_wait(&dir, &dir.join(&control), &control, &machines, stop)
                .await
            {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }
}

/// The results directories of queue `queue` under `results` that no monitor recorded as
/// finished, in claim order (oldest first).
pub(super) fn find_unfinished(
    results: &Path,
    queue: &str,
    queue_dir: &Path,
) -> Result<Vec<Found>, QueueError> {
    let prefix = format!("{queue}-");
    let queue_dir = queue_dir.to_string_lossy();
    let mut found: Vec<(u64, String, Found)> = Vec::new();
    let entries = fs::read_dir(results)
        .map_err(|e| QueueError::io("read the results directory", results, e))?;
    for item in entries.flatten() {
        let Ok(name) = item.file_name().into_string() else {
            continue;
        };
        if !name.starts_with(&prefix) || !item.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let dir = item.path();
        let record = read_record(&JobResults::new(&dir).queue_job());
        let has_pidfile = JobResults::new(&dir).autoserv_pidfile().path().exists();
        let (claimed, label, control) = match &record {
            // Written before anything else of a claim; empty only after a crash while writing.
            Some(r) if !r.contains_key("queue") && !r.contains_key("finished") => {
                found.push((0, name.clone(), Found::OrphanRecord { dir }));
                continue;
            }
            Some(r) => {
                if r.get("queue").map(String::as_str) != Some(&*queue_dir)
                    || r.contains_key("finished")
                {
                    continue;
                }
                let control = r.get("control").cloned().unwrap_or_default();
                let claimed = r.get("claimed").and_then(|c| c.parse().ok()).unwrap_or(0);
                let label = if control.is_empty() {
                    name.clone()
                } else {
                    control.clone()
                };
                (claimed, label, control)
            }
            // Not claimed by a monitor: only an autoserv pidfile makes it a job of this queue.
            None if has_pidfile => (0, name.clone(), String::new()),
            None => continue,
        };
        let state = if has_pidfile {
            // An unreadable pidfile is reported by record_end.
            read_autoserv_pidfile(&dir).unwrap_or(Some(PidfileState::Corrupt {
                reason: "unreadable".to_owned(),
            }))
        } else {
            None
        };
        let f = match state {
            Some(PidfileState::Running { pid } | PidfileState::BeingWritten { pid, .. }) => {
                Found::Running { dir, label, pid }
            }
            // Results of another tool that ended: not this monitor's to report.
            Some(PidfileState::Finished { .. } | PidfileState::Corrupt { .. })
                if record.is_none() =>
            {
                continue;
            }
            Some(_) => Found::Ended { dir, label },
            None if JobResults::new(&dir).autoserv_cmd().exists() => Found::NoPidfile {
                dir,
                label,
                control,
            },
            None if !control.is_empty() && dir.join(&control).exists() => {
                Found::Unstarted { dir, control }
            }
            None => Found::EmptyClaim {
                dir,
                control: label,
            },
        };
        found.push((claimed, name, f));
    }
    found.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok(found.into_iter().map(|(_, _, f)| f).collect())
}
