//! One machine's part of a client job.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use super::status_sink::StatusSink;
use super::{
    AbortSignal, AutoservOptions, STATUS_PREFIX, console_log, install, kernel_files, reboot,
    status_stream, transport_reason,
};
use crate::results::JobResults;
use crate::status::{StatusCode, StatusEntry, StatusLineKind, StatusLog};
use crate::transport::{CommandSpec, ExitOutcome, Transport, TransportError, is_local_machine};

/// How one machine's client job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MachineOutcome {
    /// The control file ran to its end (its tests may have failed: the status log says).
    Completed {
        /// Reboots the job went through.
        reboots: u32,
    },
    /// The client job ended with an error of its own (the control file raised, the job aborted).
    Failed {
        /// Why, as the client's exit said.
        reason: String,
    },
    /// The job was aborted (autoserv was told to stop); the client was stopped and its open
    /// groups closed with `END ABORT`.
    Aborted {
        /// Why.
        reason: String,
    },
    /// The machine or its client process was lost (unreachable, did not come back from a
    /// reboot, connection dropped, killed); open groups were closed with `END ABORT`.
    Lost {
        /// Why.
        reason: String,
    },
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Closes the status log's open groups with `END ABORT <reason>`, or, when the client never
/// wrote anything, records the whole job as aborted for that reason.
fn record_lost(dir: &Path, reason: &str) -> MachineOutcome {
    let path = JobResults::new(dir).status_log();
    let _ = std::fs::create_dir_all(dir);
    let text = match StatusLog::parse_file(&path) {
        Ok(mut log) if !log.entries.is_empty() => log.close_open_groups(Some(reason)),
        _ => {
            let t = now();
            let mut s = StatusEntry::new(StatusLineKind::Start, None, None, "")
                .stamped(t)
                .render(0);
            s.push_str(
                &StatusEntry::new(
                    StatusLineKind::Status(StatusCode::Abort),
                    None,
                    None,
                    reason,
                )
                .stamped(t)
                .render(1),
            );
            s.push_str(
                &StatusEntry::new(StatusLineKind::End(StatusCode::Abort), None, None, "")
                    .stamped(t)
                    .render(0),
            );
            s
        }
    };
    if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(&path) {
        let _ = f.write_all(text.as_bytes());
    }
    MachineOutcome::Lost {
        reason: reason.to_owned(),
    }
}

/// Closes whatever the stopped client left open and reports the abort.
fn record_aborted(dir: &Path, reason: &str) -> MachineOutcome {
    let path = JobResults::new(dir).status_log();
    if let Ok(mut log) = StatusLog::parse_file(&path) {
        let text = log.close_open_groups(Some(reason));
        if !text.is_empty() {
            if let Ok(mut f) = OpenOptions::new().append(true).open(&path) {
                let _ = f.write_all(text.as_bytes());
            }
        }
    }
    MachineOutcome::Aborted {
        reason: reason.to_owned(),
    }
}

/// How long a client may take to close its log after being told to stop.
const CLIENT_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// Resolves when an abort is signalled (never, if the sender is gone without one).
async fn wait_abort(abort: &mut AbortSignal) {
    loop {
        if abort.borrow().is_some() {
            return;
        }
        if abort.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Tells the client runtime on the machine to stop (SIGTERM to the pid it recorded): it kills
/// its tests and closes its status groups with ABORT.
async fn stop_client(t: &dyn Transport, remote_results: &str) {
    let cmd = CommandSpec::new([
        "sh",
        "-c",
        "pid=$(cat \"$1/.client_pid\" 2>/dev/null) && kill -TERM \"$pid\"",
        "sh",
        remote_results,
    ])
    .timeout(std::time::Duration::from_secs(30));
    if let Err(e) = t.exec(&cmd, None).await {
        tracing::warn!(machine = t.machine(), error = %e, "could not signal the client to stop");
    }
}

/// The outcome for a machine that was lost before its client started.
pub(crate) fn lost(dir: &Path, why: &str) -> MachineOutcome {
    record_lost(dir, why)
}

/// The outcome for a machine whose job was aborted before its client started.
pub(crate) fn aborted(dir: &Path, why: &str) -> MachineOutcome {
    let _ = std::fs::create_dir_all(dir);
    let path = JobResults::new(dir).status_log();
    if !path.exists() {
        // Aborted before anything ran: the job-level group says so, as for a lost machine.
        let _ = record_lost(dir, why);
        return MachineOutcome::Aborted {
            reason: why.to_owned(),
        };
    }
    record_aborted(dir, why)
}

/// The outcome for a machine whose transport could not even be opened.
pub(crate) fn unreachable(dir: &Path, e: &TransportError) -> MachineOutcome {
    record_lost(
        dir,
        &format!("machine unreachable: {}", transport_reason(e)),
    )
}

/// Runs the client job on one machine; never returns an error: every failure is an outcome
/// recorded in the machine's status log.
pub(crate) async fn run_on_machine(
    opts: &AutoservOptions,
    t: Arc<dyn Transport>,
    dir: &Path,
    build: &str,
    abort: AbortSignal,
    status_indent: usize,
    kernel_files: &(Vec<std::path::PathBuf>, Vec<String>),
) -> MachineOutcome {
    let results = JobResults::new(dir);
    let _ = std::fs::create_dir_all(results.debug_dir());
    let sink = match StatusSink::open(&results.status_log(), status_indent) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            return MachineOutcome::Lost {
                reason: format!("cannot write {}: {e}", results.status_log().display()),
            };
        }
    };
    // The console is logged for the whole job, reboots included (that is when kernels panic).
    let _console_log = opts.console.as_ref().map(|c| {
        console_log::ConsoleLogger::start(Arc::clone(c), t.machine(), dir, Arc::clone(&sink))
    });
    if let Err(e) = t.ping().await {
        return record_lost(dir, &format!("machine unreachable: {e}"));
    }
    let autodir = match install::choose_autodir(t.as_ref(), &opts.autodir_paths).await {
        Ok(d) => d,
        Err(why) => return record_lost(dir, &why),
    };
    match install::install_client(t.as_ref(), &opts.client_package, &autodir, build).await {
        Ok(copied) => tracing::info!(
            machine = t.machine(),
            autodir,
            copied,
            "client runtime ready"
        ),
        Err(e) => return record_lost(dir, &format!("cannot install the client runtime: {e}")),
    }
    let (control, remote_results) = match &opts.client_tag {
        Some(tag) => (
            format!("{autodir}/control.{tag}"),
            format!("{autodir}/results/{tag}"),
        ),
        None => (
            format!("{autodir}/control"),
            format!("{autodir}/results/default"),
        ),
    };
    if let Err(e) = t.put_file(&opts.control, &control).await {
        return record_lost(dir, &format!("cannot copy the control file: {e}"));
    }
    // Never delete: an older job's results on the machine are moved aside.
    let aside = CommandSpec::new([
        "sh",
        "-c",
        "if [ -e \"$1\" ]; then mv \"$1\" \"$1.$(date +%s).$$\"; fi",
        "sh",
        remote_results.as_str(),
    ]);
    if let Err(e) = t.exec(&aside, None).await {
        return record_lost(dir, &format!("cannot prepare {remote_results}: {e}"));
    }
    let (files, notes) = kernel_files;
    if !files.is_empty() || !notes.is_empty() {
        let staged = kernel_files::stage(t.as_ref(), &autodir, files, notes).await;
        for n in &staged.notes {
            tracing::warn!(
                machine = t.machine(),
                note = n.as_str(),
                "kernel source not staged"
            );
        }
        let _ = std::fs::write(results.debug_file("kernel-files.log"), staged.report());
    }
    let outcome = run_client_loop(
        opts,
        t.as_ref(),
        dir,
        &sink,
        &autodir,
        &control,
        &remote_results,
        abort,
        status_indent,
    )
    .await;
    copy_results_back(t.as_ref(), &remote_results, dir, &results).await;
    outcome
}

/// Copies the client's results from the machine into `dir`, as progress events (the copy
/// itself is one transfer: its start, then the files and bytes that arrived); a failure is
/// noted in `debug/results-copy.error`, the job's verdict stays the client's.
async fn copy_results_back(t: &dyn Transport, remote: &str, dir: &Path, results: &JobResults) {
    use crate::progress::{PROGRESS_TARGET, tree_size};
    let machine = t.machine();
    let (before_files, before_bytes) = tree_size(dir);
    tracing::info!(target: PROGRESS_TARGET, task = "results copy", "{machine}:{remote}");
    let copied = t.get_tree(remote, dir).await;
    let (files, bytes) = tree_size(dir);
    let (files, bytes) = (
        files.saturating_sub(before_files),
        bytes.saturating_sub(before_bytes),
    );
    match copied {
        Ok(()) => {
            tracing::info!(target: PROGRESS_TARGET, task = "results copy", files, bytes, finished = true, "{machine}:{remote} copied");
        }
        Err(e) => {
            tracing::info!(target: PROGRESS_TARGET, task = "results copy", files, bytes, finished = true, "{machine}:{remote} failed");
            tracing::warn!(machine, error = %e, "could not copy the results back");
            let note = format!("could not copy the client's results back: {e}");
            let _ = std::fs::write(results.debug_file("results-copy.error"), note);
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_client_loop(
    opts: &AutoservOptions,
    t: &dyn Transport,
    dir: &Path,
    sink: &Arc<StatusSink>,
    autodir: &str,
    control: &str,
    remote_results: &str,
    mut abort: AbortSignal,
    status_indent: usize,
) -> MachineOutcome {
    let mut reboots = 0u32;
    loop {
        if let Some(reason) = abort.borrow().clone() {
            return record_aborted(dir, &reason);
        }
        let mut argv = vec![
            opts.python.clone(),
            "-m".into(),
            "autotest.client.runner".into(),
            "--results".into(),
            remote_results.to_owned(),
            format!("--status-prefix={STATUS_PREFIX}"),
            format!("--control-name={}", opts.control.display()),
        ];
        if reboots > 0 {
            argv.push("--continue".into());
        }
        argv.push("--".into());
        argv.push(control.to_owned());
        // AUTODIR, as legacy autotest set it: where the client finds staged kernel sources.
        let cmd = CommandSpec::new(argv)
            .env("PYTHONPATH", autodir)
            .env("AUTODIR", autodir)
            .cwd(autodir);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let status = Arc::clone(sink);
        let debug = JobResults::new(dir).debug_dir();
        let consumer =
            tokio::spawn(
                async move { status_stream::consume(rx, status, &debug, status_indent).await },
            );
        let exec = t.exec(&cmd, Some(tx));
        tokio::pin!(exec);
        let mut aborted = None;
        let result = tokio::select! {
            r = &mut exec => r,
            _ = wait_abort(&mut abort) => {
                let reason = abort.borrow().clone().unwrap_or_else(|| "aborted".into());
                stop_client(t, remote_results).await;
                aborted = Some(reason);
                match tokio::time::timeout(CLIENT_STOP_GRACE, &mut exec).await {
                    Ok(r) => r,
                    Err(_) => Ok(crate::transport::ExecResult {
                        outcome: ExitOutcome::Unknown("the client did not stop in time".into()),
                        stdout: Vec::new(),
                        stderr: Vec::new(),
                    }),
                }
            }
        };
        match consumer.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "writing the status log failed"),
            Err(e) => tracing::warn!(error = %e, "status log writer panicked"),
        }
        if let Some(reason) = aborted {
            return record_aborted(dir, &reason);
        }
        let outcome = match result {
            Ok(r) => r.outcome,
            Err(e) => {
                return record_lost(
                    dir,
                    &format!("Autotest client terminated unexpectedly: {e}"),
                );
            }
        };
        match outcome {
            ExitOutcome::Code(0) => return MachineOutcome::Completed { reboots },
            ExitOutcome::Code(5) => {
                reboots += 1;
                if reboots > opts.max_reboots {
                    return record_lost(
                        dir,
                        &format!("the job asked for more than {} reboots", opts.max_reboots),
                    );
                }
                if is_local_machine(t.machine()) {
                    // The server itself cannot be rebooted under a running autoserv: resume at once.
                    continue;
                }
                let before = reboot::boot_id(t).await;
                if let Err(why) =
                    reboot::reboot_and_wait(t, &opts.reboot_command, opts.wait_down, opts.wait_up)
                        .await
                {
                    let Some(console) = &opts.console else {
                        return record_lost(
                            dir,
                            &format!(
                                "machine unreachable after a reboot: {why} (no console is configured to hard-reset it)"
                            ),
                        );
                    };
                    // FORMATS §11: a machine that does not come back is hard-reset through its
                    // console, recorded inside the open reboot group.
                    if let Err(e) = console.hardreset(t.machine()).await {
                        return record_lost(dir, &format!("{why}; hard reset failed: {e}"));
                    }
                    sink.record(StatusCode::Good, "reboot.start", "hard reset");
                    if !reboot::wait_new_boot(t, before.as_deref(), opts.wait_up).await {
                        return record_lost(
                            dir,
                            &format!(
                                "{why}; still not back {} s after a hard reset",
                                opts.wait_up.as_secs()
                            ),
                        );
                    }
                }
            }
            ExitOutcome::Code(c) => {
                return MachineOutcome::Failed {
                    reason: format!(
                        "the client job ended with exit code {c} (see status.log and debug/client.stderr)"
                    ),
                };
            }
            other => {
                return record_lost(
                    dir,
                    &format!("Autotest client terminated unexpectedly: {other}"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::copy_results_back;
    use crate::progress::capture::progress_of;
    use crate::results::JobResults;
    use crate::transport::LocalTransport;

    #[test]
    fn copying_results_back_reports_the_files_and_bytes_that_arrived() {
        let tmp = tempfile::tempdir().unwrap();
        let remote = tmp.path().join("remote");
        std::fs::create_dir_all(remote.join("sleeptest/results")).unwrap();
        std::fs::write(remote.join("status"), "0123456789").unwrap();
        std::fs::write(remote.join("sleeptest/results/keyval"), "a=1\n").unwrap();
        let dir = tmp.path().join("results");
        std::fs::create_dir_all(dir.join("debug")).unwrap();
        std::fs::write(dir.join("debug/autoserv.stdout"), "already here").unwrap();
        let t = LocalTransport::new("m1");
        let remote = remote.to_str().unwrap().to_owned();
        let results = JobResults::new(&dir);
        let ((), events) = progress_of(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(copy_results_back(&t, &remote, &dir, &results))
        });
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(
            events.iter().all(|e| e.task == "results copy"),
            "{events:?}"
        );
        assert_eq!(events[0].message, format!("m1:{remote}"));
        let last = &events[1];
        assert!(last.finished, "{events:?}");
        assert_eq!(last.message, format!("m1:{remote} copied"));
        // Only what came from the machine is counted, not what the directory held before.
        assert_eq!(last.counter("files"), Some(2), "{events:?}");
        assert_eq!(last.counter("bytes"), Some(14), "{events:?}");

        let missing = tmp.path().join("nothing").to_str().unwrap().to_owned();
        let ((), events) = progress_of(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(copy_results_back(&t, &missing, &dir, &results))
        });
        assert_eq!(
            events.last().unwrap().message,
            format!("m1:{missing} failed")
        );
        assert!(results.debug_file("results-copy.error").exists());
    }
}
