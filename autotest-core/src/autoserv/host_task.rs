//! Legacy autoserv's host-protection modes (`--verify`, `--cleanup`, `--repair`): what the
//! scheduler runs on a host before and after jobs, each into its own results directory
//! (`<results>/hosts/<host>/<id>-<task>/`) with a status log in the usual format:
//!
//! ```text
//! (fields separated by tabs)
//! START    ----    verify    timestamp=...
//!     GOOD    ----    verify.ssh    the machine answers (boot id ...)
//!     GOOD    ----    verify.autodir    /usr/local/autotest is writable
//!     FAIL    ----    verify.diskspace    ...
//! END FAIL    ----    verify    ...
//! ```
//!
//! - verify: the machine answers over its transport, /tmp and one of the autodir paths are
//!   writable, and the autodir's filesystem has `min_free_gb` free (legacy
//!   `[SERVER] gb_diskspace_required`, 20 GB);
//! - cleanup: a reboot, waited for (the reboot code jobs use); `localhost` is the server itself
//!   and is never rebooted;
//! - repair: a hard reset through the console when one is configured, else a reboot over the
//!   transport; then a verify.

use std::path::Path;
use std::sync::Arc;

use super::reboot;
use super::status_sink::StatusSink;
use super::{AutoservError, AutoservOptions};
use crate::results::JobResults;
use crate::status::StatusCode;
use crate::transport::{CommandSpec, Transport, TransportFactory, is_local_machine};

/// Legacy default of `[SERVER] gb_diskspace_required`.
pub const DEFAULT_MIN_FREE_GB: f64 = 20.0;

/// Which host-protection mode autoserv runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostTask {
    /// Check the host works.
    Verify,
    /// Reboot it and wait for it.
    Cleanup,
    /// Bring a broken host back: reset or reboot, then verify.
    Repair,
}

impl HostTask {
    /// The legacy name (`verify`, `cleanup`, `repair`): the flag, the status-log operation and
    /// the suffix of the task's results directory.
    pub fn name(self) -> &'static str {
        match self {
            HostTask::Verify => "verify",
            HostTask::Cleanup => "cleanup",
            HostTask::Repair => "repair",
        }
    }
}

/// How a host task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTaskOutcome {
    /// The host passed.
    pub ok: bool,
    /// What happened, one line.
    pub reason: String,
}

/// Runs `task` on the one machine of `opts`, writing `status.log` in `opts.resultsdir`.
pub async fn run_host_task(
    task: HostTask,
    opts: &AutoservOptions,
    factory: Arc<dyn TransportFactory>,
    min_free_gb: f64,
) -> Result<HostTaskOutcome, AutoservError> {
    let [machine] = opts.machines.as_slice() else {
        return Err(AutoservError::Usage(format!(
            "--{} runs on exactly one machine (-m host), not {}",
            task.name(),
            opts.machines.len()
        )));
    };
    let results = JobResults::new(&opts.resultsdir);
    std::fs::create_dir_all(results.debug_dir())
        .map_err(|e| AutoservError::io(&opts.resultsdir, e))?;
    let name = task.name();
    start_group(&results.status_log(), name)?;
    // Its own lines go one tab in, inside the task's group.
    let sink = StatusSink::open(&results.status_log(), 1)
        .map_err(|e| AutoservError::io(&results.status_log(), e))?;
    let t = match factory.open(machine) {
        Ok(t) => t,
        Err(e) => {
            let why = format!("cannot reach {machine}: {e}");
            sink.record(StatusCode::Fail, &format!("{name}.ssh"), &why);
            end_group(&results.status_log(), name, false, &why)?;
            return Ok(HostTaskOutcome {
                ok: false,
                reason: why,
            });
        }
    };
    let outcome = match task {
        HostTask::Verify => verify(t.as_ref(), opts, &sink, name, min_free_gb).await,
        HostTask::Cleanup => cleanup(t.as_ref(), machine, opts, &sink).await,
        HostTask::Repair => repair(t.as_ref(), machine, opts, &sink, min_free_gb).await,
    };
    end_group(&results.status_log(), name, outcome.ok, &outcome.reason)?;
    Ok(outcome)
}

fn start_group(log: &Path, name: &str) -> Result<(), AutoservError> {
    append(log, &group_line("START", name, ""))
}

fn end_group(log: &Path, name: &str, ok: bool, reason: &str) -> Result<(), AutoservError> {
    let code = if ok { "END GOOD" } else { "END FAIL" };
    append(log, &group_line(code, name, reason))
}

fn group_line(kind: &str, name: &str, reason: &str) -> String {
    let now = crate::store::now();
    format!(
        "{kind}\t----\t{name}\ttimestamp={now}\tlocaltime={}\t{}\n",
        crate::status::format_localtime(now),
        reason.replace(['\t', '\n'], " ")
    )
}

fn append(log: &Path, line: &str) -> Result<(), AutoservError> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| AutoservError::io(log, e))
}

fn check(sink: &StatusSink, op: &str, ok: bool, message: &str) -> bool {
    let code = if ok {
        StatusCode::Good
    } else {
        StatusCode::Fail
    };
    sink.record(code, op, message);
    ok
}

/// The checks, every one recorded; the first failure is the reason.
async fn verify(
    t: &dyn Transport,
    opts: &AutoservOptions,
    sink: &StatusSink,
    name: &str,
    min_free_gb: f64,
) -> HostTaskOutcome {
    let fail = |reason: String| HostTaskOutcome { ok: false, reason };
    let Some(boot) = reboot::boot_id(t).await else {
        let why = "the machine does not answer".to_owned();
        check(sink, &format!("{name}.ssh"), false, &why);
        return fail(why);
    };
    check(
        sink,
        &format!("{name}.ssh"),
        true,
        &format!("the machine answers (boot id {boot})"),
    );
    // One round trip: /tmp writable, the first autodir path that is (or can be made) writable,
    // and the free kilobytes of its filesystem.
    let script = "t=$(mktemp -d /tmp/autotest-verify.XXXXXX) || { echo 'tmp: /tmp is not writable'; exit 1; }; rmdir \"$t\"; \
         for d in \"$@\"; do if mkdir -p \"$d\" 2>/dev/null && touch \"$d/.verify\" 2>/dev/null; then rm -f \"$d/.verify\"; \
         echo \"autodir: $d\"; df -Pk \"$d\" | awk 'NR==2 {print \"free_kb: \" $4}'; exit 0; fi; done; \
         echo 'autodir: none of the autodir paths is writable'; exit 1";
    let mut argv = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        script.to_owned(),
        "sh".to_owned(),
    ];
    argv.extend(opts.autodir_paths.iter().cloned());
    let out = match t
        .exec(
            &CommandSpec::new(argv).timeout(std::time::Duration::from_secs(60)),
            None,
        )
        .await
    {
        Ok(o) => o,
        Err(e) => {
            let why = format!("the checks could not run: {e}");
            check(sink, &format!("{name}.autodir"), false, &why);
            return fail(why);
        }
    };
    let text = out.stdout_text();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
    };
    if let Some(why) = field("tmp:") {
        check(sink, &format!("{name}.tmp"), false, &why);
        return fail(why);
    }
    check(sink, &format!("{name}.tmp"), true, "/tmp is writable");
    let autodir = field("autodir:").unwrap_or_default();
    if !out.outcome.success() || autodir.starts_with("none") || autodir.is_empty() {
        let why = if autodir.is_empty() {
            format!(
                "the autodir check failed: {}",
                out.stderr_text().trim().replace('\n', " ")
            )
        } else {
            format!("{autodir} ({})", opts.autodir_paths.join(", "))
        };
        check(sink, &format!("{name}.autodir"), false, &why);
        return fail(why);
    }
    check(
        sink,
        &format!("{name}.autodir"),
        true,
        &format!("{autodir} is writable"),
    );
    let free_kb: Option<f64> = field("free_kb:").and_then(|v| v.parse().ok());
    let need_kb = min_free_gb * 1024.0 * 1024.0;
    match free_kb {
        Some(kb) if kb >= need_kb => {
            check(
                sink,
                &format!("{name}.diskspace"),
                true,
                &format!(
                    "{:.2} GB free in {autodir} (at least {min_free_gb} GB wanted)",
                    kb / 1048576.0
                ),
            );
            HostTaskOutcome {
                ok: true,
                reason: "the host verified".to_owned(),
            }
        }
        Some(kb) => {
            let why = format!(
                "only {:.2} GB free in {autodir}, at least {min_free_gb} GB wanted ([SERVER] gb_diskspace_required)",
                kb / 1048576.0
            );
            check(sink, &format!("{name}.diskspace"), false, &why);
            fail(why)
        }
        None => {
            let why = format!("cannot read the free space of {autodir} (df gave nothing)");
            check(sink, &format!("{name}.diskspace"), false, &why);
            fail(why)
        }
    }
}

async fn cleanup(
    t: &dyn Transport,
    machine: &str,
    opts: &AutoservOptions,
    sink: &StatusSink,
) -> HostTaskOutcome {
    if is_local_machine(machine) {
        let why = "localhost is the server itself: not rebooted".to_owned();
        check(sink, "cleanup.reboot", true, &why);
        return HostTaskOutcome {
            ok: true,
            reason: why,
        };
    }
    match reboot::reboot_and_wait(t, &opts.reboot_command, opts.wait_down, opts.wait_up).await {
        Ok(id) => {
            let why = format!("rebooted (boot id {id})");
            check(sink, "cleanup.reboot", true, &why);
            HostTaskOutcome {
                ok: true,
                reason: why,
            }
        }
        Err(why) => {
            check(sink, "cleanup.reboot", false, &why);
            HostTaskOutcome {
                ok: false,
                reason: why,
            }
        }
    }
}

async fn repair(
    t: &dyn Transport,
    machine: &str,
    opts: &AutoservOptions,
    sink: &StatusSink,
    min_free_gb: f64,
) -> HostTaskOutcome {
    if is_local_machine(machine) {
        check(
            sink,
            "repair.reboot",
            true,
            "localhost is the server itself: not rebooted",
        );
    } else if let Some(console) = &opts.console {
        let before = reboot::boot_id(t).await;
        match console.hardreset(super::machine_host(machine)).await {
            Ok(()) => {
                let back = reboot::wait_new_boot(t, before.as_deref(), opts.wait_up).await;
                let why = if back {
                    "hard reset through the console; the machine came back".to_owned()
                } else {
                    format!(
                        "hard reset through the console; the machine did not come back within {} s",
                        opts.wait_up.as_secs()
                    )
                };
                check(sink, "repair.hardreset", back, &why);
            }
            Err(e) => {
                check(
                    sink,
                    "repair.hardreset",
                    false,
                    &format!("hard reset failed: {e}"),
                );
            }
        }
    } else {
        match reboot::reboot_and_wait(t, &opts.reboot_command, opts.wait_down, opts.wait_up).await {
            Ok(id) => check(
                sink,
                "repair.reboot",
                true,
                &format!("rebooted (boot id {id})"),
            ),
            Err(why) => check(sink, "repair.reboot", false, &why),
        };
    }
    // Whatever the reset did, the verify decides.
    let v = verify(t, opts, sink, "repair.verify", min_free_gb).await;
    HostTaskOutcome {
        ok: v.ok,
        reason: if v.ok {
            "repaired: the host verified".to_owned()
        } else {
            format!("repair failed: {}", v.reason)
        },
    }
}
