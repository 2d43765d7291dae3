//! How autoserv is started: one trait for every starter (the queue monitor today, the scheduler
//! and the drone agent next), so each only says *what* job to run and gets back a process to
//! wait for; *where* it runs (a local process, a drone) is the implementation's business.

use std::ffi::OsString;
use std::fmt::Debug;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use async_trait::async_trait;

use crate::pidfile::ProcessExit;
use crate::results::JobResults;
use crate::transport::quote_argv;

/// Longest machine list given on the command line (`-m a,b,...`); a longer one is given as a
/// file (`-M <results>/.machines`), so that any number of machines works.
const MAX_MACHINES_ARG: usize = 16 * 1024;

/// One autoserv to start.
#[derive(Debug, Clone)]
pub struct LaunchRequest {
    /// The job's machines, de-duplicated.
    pub machines: Vec<String>,
    /// The job's results directory.
    pub results: JobResults,
    /// The control file (inside the results directory).
    pub control: PathBuf,
    /// A server control file (`.srv`): autoserv runs it without `-c`.
    pub server: bool,
    /// Console server (`--conmux`).
    pub conmux: Option<String>,
    /// A host task (`--verify`, `--cleanup`, `--repair`) instead of the control file.
    pub task: Option<super::HostTask>,
}

/// Why autoserv could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// A file of the results directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The program could not be started.
    #[error("cannot start autoserv ({program}): {source}; {hint}")]
    Start {
        /// The program.
        program: PathBuf,
        /// The cause.
        source: std::io::Error,
        /// What to check.
        hint: &'static str,
    },
}

/// A started autoserv.
#[async_trait]
pub trait RunningAutoserv: Send {
    /// Its process id where it runs, when known.
    fn pid(&self) -> Option<u32>;
    /// Waits for it to end; `None` when its exit status cannot be known.
    async fn wait(&mut self) -> Option<ProcessExit>;
}

/// Starts autoserv processes and finds those that run without a waiter.
#[async_trait]
pub trait AutoservLauncher: Send + Sync + Debug {
    /// Starts autoserv on `job`: `debug/autoserv.cmd` holds the command line, its output goes to
    /// `debug/autoserv.stdout` and `.stderr`, and autoserv itself writes `.autoserv_execute`.
    async fn start(&self, job: &LaunchRequest) -> Result<Box<dyn RunningAutoserv>, LaunchError>;

    /// The pids of autoserv processes running the job of `results` (started by a starter that
    /// crashed before it saw their pidfile).
    async fn running_for(&self, results: &JobResults) -> Vec<u32>;

    /// What is started, for logs.
    fn describe(&self) -> String;
}

/// Autoserv as a local process: `<program> <leading args> -m <m1,...> -r <results> [-c]
/// [--conmux <server>] <control>`, in its own process group, standard input from `/dev/null`.
#[derive(Debug, Clone)]
pub struct LocalProcessLauncher {
    /// The program (`autotest`).
    pub program: PathBuf,
    /// Arguments before autoserv's own (`autoserv`).
    pub leading_args: Vec<OsString>,
}

impl LocalProcessLauncher {
    /// `<program> autoserv ...`: the `autotest` binary at `program`.
    pub fn autotest(program: impl Into<PathBuf>) -> LocalProcessLauncher {
        LocalProcessLauncher {
            program: program.into(),
            leading_args: vec!["autoserv".into()],
        }
    }

    /// The arguments for `job` (after the program).
    pub fn args(&self, job: &LaunchRequest) -> Vec<OsString> {
        let mut args = self.leading_args.clone();
        let list = job.machines.join(",");
        if list.len() <= MAX_MACHINES_ARG {
            args.push("-m".into());
            args.push(list.into());
        } else {
            args.push("-M".into());
            args.push(job.results.machines_file().into());
        }
        args.push("-r".into());
        args.push(job.results.root().into());
        if let Some(task) = job.task {
            args.push(format!("--{}", task.name()).into());
        } else if !job.server {
            args.push("-c".into());
        }
        if let Some(c) = &job.conmux {
            args.push("--conmux".into());
            args.push(c.into());
        }
        if job.task.is_none() {
            args.push(job.control.clone().into());
        }
        args
    }

    /// The command line as a shell would take it back (every argument quoted).
    pub fn command_line(&self, job: &LaunchRequest) -> String {
        let mut argv = vec![self.program.to_string_lossy().into_owned()];
        argv.extend(
            self.args(job)
                .iter()
                .map(|a| a.to_string_lossy().into_owned()),
        );
        quote_argv(&argv)
    }
}

struct LocalChild(tokio::process::Child);

#[async_trait]
impl RunningAutoserv for LocalChild {
    fn pid(&self) -> Option<u32> {
        self.0.id()
    }

    async fn wait(&mut self) -> Option<ProcessExit> {
        self.0.wait().await.ok().map(ProcessExit::from)
    }
}

fn write(path: &Path, text: &str) -> Result<(), LaunchError> {
    fs::write(path, text).map_err(|source| LaunchError::Io {
        path: path.to_owned(),
        source,
    })
}

#[async_trait]
impl AutoservLauncher for LocalProcessLauncher {
    async fn start(&self, job: &LaunchRequest) -> Result<Box<dyn RunningAutoserv>, LaunchError> {
        let results = &job.results;
        let debug = results.debug_dir();
        fs::create_dir_all(&debug).map_err(|source| LaunchError::Io {
            path: debug.clone(),
            source,
        })?;
        let mut machines = job.machines.join("\n");
        machines.push('\n');
        write(&results.machines_file(), &machines)?;
        write(
            &results.autoserv_cmd(),
            &format!("{}\n", self.command_line(job)),
        )?;
        let create =
            |p: PathBuf| File::create(&p).map_err(|source| LaunchError::Io { path: p, source });
        let stdout = create(results.autoserv_stdout())?;
        let stderr = create(results.autoserv_stderr())?;
        let child = tokio::process::Command::new(&self.program)
            .args(self.args(job))
            .current_dir(results.root())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(false)
            .spawn()
            .map_err(|source| LaunchError::Start {
                program: self.program.clone(),
                hint: match source.raw_os_error() {
                    Some(libc::E2BIG) => "the command line is too long for this system",
                    Some(libc::ENOENT) => "check that the program exists (the monitor runs its own executable unless configured otherwise)",
                    Some(libc::EACCES) => "check that the program is executable",
                    _ => "check the program and the system's process limits",
                },
                source,
            })?;
        Ok(Box::new(LocalChild(child)))
    }

    async fn running_for(&self, results: &JobResults) -> Vec<u32> {
        let root = results.root().as_os_str().to_owned();
        tokio::task::spawn_blocking(move || crate::process::pids_with_arg(&root))
            .await
            .unwrap_or_default()
    }

    fn describe(&self) -> String {
        let mut argv = vec![self.program.to_string_lossy().into_owned()];
        argv.extend(
            self.leading_args
                .iter()
                .map(|a| a.to_string_lossy().into_owned()),
        );
        quote_argv(&argv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(
        machines: &[&str],
        results: &str,
        control: &str,
        server: bool,
        conmux: Option<&str>,
    ) -> LaunchRequest {
        LaunchRequest {
            machines: machines.iter().map(|m| m.to_string()).collect(),
            results: JobResults::new(results),
            control: control.into(),
            server,
            conmux: conmux.map(str::to_owned),
            task: None,
        }
    }

    #[test]
    fn command_line_has_the_legacy_shape() {
        let l = LocalProcessLauncher::autotest("/usr/bin/autotest");
        assert_eq!(
            l.command_line(&job(
                &["m1", "root@m2:22"],
                "/r/q-job",
                "/r/q-job/job",
                false,
                Some("localhost")
            )),
            "/usr/bin/autotest autoserv -m m1,root@m2:22 -r /r/q-job -c --conmux localhost /r/q-job/job"
        );
        let bare = LocalProcessLauncher {
            program: "/a".into(),
            leading_args: vec![],
        };
        assert_eq!(
            bare.command_line(&job(&["m"], "/r/x y", "/r/x y/j.srv", true, None)),
            "/a -m m -r '/r/x y' '/r/x y/j.srv'"
        );
    }

    #[test]
    fn a_long_machine_list_goes_in_a_file() {
        let names: Vec<String> = (0..10_000)
            .map(|i| format!("machine{i:05}.lab.example"))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let l = LocalProcessLauncher::autotest("autotest");
        let line = l.command_line(&job(&refs, "/r/q-j", "/r/q-j/j", false, None));
        assert_eq!(
            line,
            "autotest autoserv -M /r/q-j/.machines -r /r/q-j -c /r/q-j/j"
        );
    }
}
