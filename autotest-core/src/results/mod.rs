//! Where a job's files are (FORMATS §1–§4): one type names every path of a results directory,
//! and the functions below name the results directories themselves, so that no other module
//! spells a results path.
//!
//! ```text
//! <results>/<queue>-<control>[.<epoch>[.<n>]]/   a job of the queue server (seed 1)
//! <results>/<jobid>-<owner>/<host|groupN>/       a job of the scheduler (seed 2)
//! <results>/hosts/<host>/<id>-<task>/            a special task (verify, cleanup, repair)
//!   status.log           the server's status log (per machine for multi-machine jobs)
//!   status               the client's own status log (a client job's results directory)
//!   keyval               job keyvals
//!   .autoserv_execute    autoserv's pidfile
//!   .queue_job           the queue monitor's record of the job
//!   .machines            the job's machines, one per line
//!   debug/               autoserv.cmd, autoserv.stdout, autoserv.stderr, client.stderr, ...
//!   <machine>/           a machine's part of a multi-machine client job
//! ```

use std::path::{Path, PathBuf};

use crate::pidfile::Pidfile;

/// The results directory of one job (or of one machine's part of it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobResults {
    root: PathBuf,
}

impl JobResults {
    /// File name of the server's status log.
    pub const STATUS_LOG: &'static str = "status.log";
    /// File name of the client's own status log.
    pub const CLIENT_STATUS: &'static str = "status";
    /// File name of the job keyvals.
    pub const KEYVAL: &'static str = "keyval";
    /// File name of the queue monitor's record of a job.
    pub const QUEUE_JOB: &'static str = ".queue_job";
    /// File name of the job's machine list (one per line, as legacy autoserv wrote it).
    pub const MACHINES: &'static str = ".machines";
    /// Name of the debug directory.
    pub const DEBUG: &'static str = "debug";

    /// The results directory `root`.
    pub fn new(root: impl Into<PathBuf>) -> JobResults {
        JobResults { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `status.log`, the status log autoserv writes.
    pub fn status_log(&self) -> PathBuf {
        self.root.join(Self::STATUS_LOG)
    }

    /// `status`, the status log a client job writes on its machine.
    pub fn client_status(&self) -> PathBuf {
        self.root.join(Self::CLIENT_STATUS)
    }

    /// The status log a reader should take: `status.log` where there is one, else `status`.
    pub fn any_status_log(&self) -> PathBuf {
        let server = self.status_log();
        if server.exists() {
            server
        } else {
            self.client_status()
        }
    }

    /// `keyval`, the job keyvals.
    pub fn keyval(&self) -> PathBuf {
        self.root.join(Self::KEYVAL)
    }

    /// `debug/`.
    pub fn debug_dir(&self) -> PathBuf {
        self.root.join(Self::DEBUG)
    }

    /// A file in `debug/`.
    pub fn debug_file(&self, name: &str) -> PathBuf {
        self.debug_dir().join(name)
    }

    /// `debug/autoserv.cmd`: the command line autoserv was started with.
    pub fn autoserv_cmd(&self) -> PathBuf {
        self.debug_file("autoserv.cmd")
    }

    /// `debug/autoserv.stdout`.
    pub fn autoserv_stdout(&self) -> PathBuf {
        self.debug_file("autoserv.stdout")
    }

    /// `debug/autoserv.stderr`.
    pub fn autoserv_stderr(&self) -> PathBuf {
        self.debug_file("autoserv.stderr")
    }

    /// `debug/machine-wait`: which machine a job waits for, while another job holds it.
    pub fn machine_wait(&self) -> PathBuf {
        self.debug_file("machine-wait")
    }

    /// `.autoserv_execute`, autoserv's pidfile.
    pub fn autoserv_pidfile(&self) -> Pidfile {
        Pidfile::autoserv(&self.root)
    }

    /// `.queue_job`, the queue monitor's record of the job.
    pub fn queue_job(&self) -> PathBuf {
        self.root.join(Self::QUEUE_JOB)
    }

    /// `.machines`, the job's machine list.
    pub fn machines_file(&self) -> PathBuf {
        self.root.join(Self::MACHINES)
    }

    /// A file or directory of the job by name (its control file, a test's subdirectory).
    pub fn file(&self, name: impl AsRef<Path>) -> PathBuf {
        self.root.join(name)
    }

    /// The results of `machine`'s part of the job: its own subdirectory when the job has
    /// `several` machines, else the job's directory itself (legacy single-machine layout).
    pub fn machine(&self, machine: &str, several: bool) -> JobResults {
        if several {
            JobResults::new(self.root.join(machine))
        } else {
            self.clone()
        }
    }
}

impl AsRef<Path> for JobResults {
    fn as_ref(&self) -> &Path {
        &self.root
    }
}

/// `<queue>-<control>`: the name of a queue job's results directory when that name is free.
pub fn queue_job_dir_name(queue: &str, control: &str) -> String {
    format!("{queue}-{control}")
}

/// `<results_root>/<jobid>-<owner>`: a scheduler job's results directory.
pub fn scheduler_job_dir(results_root: impl AsRef<Path>, job_id: u64, owner: &str) -> PathBuf {
    results_root.as_ref().join(format!("{job_id}-{owner}"))
}

/// `groupN`: the execution subdirectory of the N-th synchronous group of a scheduler job.
pub fn group_subdir(n: u32) -> String {
    format!("group{n}")
}

/// `<results_root>/hosts/<host>/<id>-<task>`: a special task's results directory.
pub fn special_task_dir(
    results_root: impl AsRef<Path>,
    host: &str,
    task_id: u64,
    task: &str,
) -> PathBuf {
    results_root
        .as_ref()
        .join("hosts")
        .join(host)
        .join(format!("{task_id}-{task}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_file_of_the_layout() {
        let job = JobResults::new("/r/q-job");
        assert_eq!(job.status_log(), Path::new("/r/q-job/status.log"));
        assert_eq!(job.client_status(), Path::new("/r/q-job/status"));
        assert_eq!(job.autoserv_cmd(), Path::new("/r/q-job/debug/autoserv.cmd"));
        assert_eq!(
            job.autoserv_pidfile().path(),
            Path::new("/r/q-job/.autoserv_execute")
        );
        assert_eq!(job.queue_job(), Path::new("/r/q-job/.queue_job"));
        assert_eq!(
            job.machine("m1", true).status_log(),
            Path::new("/r/q-job/m1/status.log")
        );
        assert_eq!(job.machine("m1", false), job);
        assert_eq!(queue_job_dir_name("q", "c.srv"), "q-c.srv");
        assert_eq!(
            scheduler_job_dir("/r", 12, "alice"),
            Path::new("/r/12-alice")
        );
        assert_eq!(group_subdir(0), "group0");
        assert_eq!(
            special_task_dir("/r", "h1", 7, "verify"),
            Path::new("/r/hosts/h1/7-verify")
        );
    }
}
