//! Starting autoserv for a job, telling whether a recorded autoserv still runs, and recording a
//! lost one in its status log.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::QueueError;
use crate::{Pidfile, PidfileState, StatusEntry, StatusLineKind, StatusLog, quote_argv};

/// The full autoserv command line of a job: program and arguments.
#[derive(Debug, Clone)]
pub(crate) struct AutoservCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

impl AutoservCommand {
    /// `<program> <leading args> -m <m1,...> -r <resultsdir> [-c] [--conmux <server>] <control>`.
    pub fn new(
        program: &Path,
        leading: &[OsString],
        machines: &[String],
        results_dir: &Path,
        control: &Path,
        server: bool,
        conmux: Option<&str>,
    ) -> AutoservCommand {
        let mut args: Vec<OsString> = leading.to_vec();
        args.push("-m".into());
        args.push(machines.join(",").into());
        args.push("-r".into());
        args.push(results_dir.into());
        if !server {
            args.push("-c".into());
        }
        if let Some(c) = conmux {
            args.push("--conmux".into());
            args.push(c.into());
        }
        args.push(control.into());
        AutoservCommand {
            program: program.to_owned(),
            args,
        }
    }

    /// The command line as a shell would take it back (every argument quoted).
    pub fn display(&self) -> String {
        let mut argv = vec![self.program.to_string_lossy().into_owned()];
        argv.extend(self.args.iter().map(|a| a.to_string_lossy().into_owned()));
        quote_argv(&argv)
    }

    /// Writes `debug/autoserv.cmd` and starts the command in its own process group, standard
    /// input from `/dev/null`, output into `debug/autoserv.stdout` and `debug/autoserv.stderr`
    /// of `results_dir`.
    pub fn spawn(&self, results_dir: &Path) -> Result<tokio::process::Child, QueueError> {
        let debug = results_dir.join("debug");
        fs::create_dir_all(&debug)
            .map_err(|e| QueueError::io("create the debug directory", &debug, e))?;
        let cmd_file = debug.join("autoserv.cmd");
        fs::write(&cmd_file, format!("{}\n", self.display()))
            .map_err(|e| QueueError::io("write", &cmd_file, e))?;
        let out_path = debug.join("autoserv.stdout");
        let err_path = debug.join("autoserv.stderr");
        let stdout = File::create(&out_path).map_err(|e| QueueError::io("create", &out_path, e))?;
        let stderr = File::create(&err_path).map_err(|e| QueueError::io("create", &err_path, e))?;
        tokio::process::Command::new(&self.program)
            .args(&self.args)
            .current_dir(results_dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(false)
            .spawn()
            .map_err(|source| QueueError::AutoservStart {
                program: self.program.clone(),
                source,
            })
    }
}

/// Reads autoserv's pidfile and decides whether its process still runs: like
/// [`Pidfile::read_checked`], and a "running" pid whose process started after the pidfile was
/// written is another process that got the same pid: the autoserv is lost.
pub(crate) fn read_autoserv_pidfile(
    results_dir: &Path,
) -> Result<Option<PidfileState>, QueueError> {
    let pidfile = Pidfile::autoserv(results_dir);
    let state = pidfile.read_checked()?;
    if let Some(PidfileState::Running { pid }) = state {
        let written = fs::metadata(pidfile.path()).and_then(|m| m.modified()).ok();
        if let (Some(written), Some(started)) = (written, process_start_time(pid)) {
            // /proc's boot time has a resolution of one second.
            if started > written + Duration::from_secs(2) {
                return Ok(Some(PidfileState::Lost { pid }));
            }
        }
    }
    Ok(state)
}

/// When process `pid` started (from `/proc`), if it can be told.
fn process_start_time(pid: u32) -> Option<SystemTime> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything; fields after it start
    // at field 3, and the start time is field 22, in clock ticks since boot.
    let rest = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 = fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz <= 0 {
        return None;
    }
    let hz = hz as u64;
    Some(
        UNIX_EPOCH
            + Duration::from_secs(boot)
            + Duration::from_secs(ticks / hz)
            + Duration::from_millis((ticks % hz) * 1000 / hz),
    )
}

/// Closes the open groups of `<results_dir>/status.log` with `END ABORT` lines (message
/// `reason`) and adds `INFO ---- ---- Job aborted by the queue monitor on <when>: <reason>`.
/// Returns false when the job has no status log (nothing is written then).
pub(crate) fn record_abort(results_dir: &Path, reason: &str) -> Result<bool, QueueError> {
    let path = results_dir.join("status.log");
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(QueueError::io("read", &path, e)),
    };
    let mut log = StatusLog::parse_bytes(&bytes);
    let mut text = String::new();
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        text.push('\n');
    }
    text.push_str(&log.close_open_groups(Some(reason)));
    let now = chrono::Local::now();
    let info = StatusEntry::new(
        StatusLineKind::Info,
        None,
        None,
        &format!(
            "Job aborted by the queue monitor on {}: {reason}",
            now.format("%Y-%m-%d %H:%M:%S")
        ),
    )
    .stamped(now.timestamp());
    text.push_str(&info.render(0));
    OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .map_err(|e| QueueError::io("append the abort to", &path, e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_has_the_legacy_shape() {
        let cmd = AutoservCommand::new(
            Path::new("/usr/bin/autotest"),
            &["autoserv".into()],
            &["m1".to_owned(), "root@m2:22".to_owned()],
            Path::new("/r/q-job"),
            Path::new("/r/q-job/job"),
            false,
            Some("localhost"),
        );
        assert_eq!(
            cmd.display(),
            "/usr/bin/autotest autoserv -m m1,root@m2:22 -r /r/q-job -c --conmux localhost /r/q-job/job"
        );
        let srv = AutoservCommand::new(
            Path::new("/a"),
            &[],
            &["m".to_owned()],
            Path::new("/r/x y"),
            Path::new("/r/x y/j.srv"),
            true,
            None,
        );
        assert_eq!(srv.display(), "/a -m m -r '/r/x y' '/r/x y/j.srv'");
    }

    #[test]
    fn own_process_started_before_now() {
        let started = process_start_time(std::process::id()).unwrap();
        assert!(started <= SystemTime::now() + Duration::from_secs(2));
    }

    #[test]
    fn abort_closes_open_groups() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!record_abort(dir.path(), "lost").unwrap());
        fs::write(
            dir.path().join("status.log"),
            "START\t----\t----\ttimestamp=5\t\n\tSTART\tsleeptest\tsleeptest\ttimestamp=6\t",
        )
        .unwrap();
        assert!(record_abort(dir.path(), "autoserv died").unwrap());
        let log = StatusLog::parse_file(dir.path().join("status.log")).unwrap();
        assert!(log.problems.is_empty(), "{:?}", log.problems);
        let tree = log.tree();
        assert!(tree.open.is_empty());
        assert_eq!(tree.status(), crate::StatusCode::Abort);
        let last = &log.entries.last().unwrap().entry;
        assert_eq!(last.kind, StatusLineKind::Info);
        assert!(last.message.starts_with("Job aborted by the queue monitor"));
    }
}
