//! Server control files (`.srv`): run by Python with the server API, every host operation
//! carried out here through the RPC socket (see `rpc.rs`).

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use super::rpc::RpcServer;
use super::{AbortSignal, AutoservError, AutoservOptions, install};
use crate::results::JobResults;
use crate::status::{StatusLog, summarize};
use crate::transport::{ExitOutcome, TransportFactory};

/// How a server job ended.
#[derive(Debug, Clone)]
pub struct ServerOutcome {
    /// How the Python server runtime exited.
    pub exit: ExitOutcome,
    /// True when it was stopped by an abort.
    pub aborted: bool,
    /// Tests that did not pass, from every status log of the job.
    pub failed_tests: u32,
}

/// Runs a server control file: `machines` is the de-duplicated, sorted machine list.
///
/// One job at a time on a machine: the job holds all of its machines while it runs (those that
/// cannot be reached are left to the control file, which decides what to do about them).
pub async fn run_server_job(
    opts: &AutoservOptions,
    factory: Arc<dyn TransportFactory>,
    abort: AbortSignal,
    args: &str,
) -> Result<ServerOutcome, AutoservError> {
    use super::machine_lock::NotHeld;
    let held = super::machine_lock::hold_machines(opts, factory.as_ref(), &abort).await;
    let mut aborted = None;
    for (m, h) in &held.machines {
        match h {
            Ok(_) => {}
            Err(NotHeld::Aborted(r)) => aborted = Some(r.clone()),
            Err(e) => {
                tracing::warn!(machine = m.as_str(), reason = ?e, "machine not held for the server job")
            }
        }
    }
    let outcome = match aborted {
        Some(r) => Ok(ServerOutcome {
            exit: ExitOutcome::Unknown(format!("aborted before it started: {r}")),
            aborted: true,
            failed_tests: 0,
        }),
        None => run_held(opts, factory, abort, args).await,
    };
    held.release().await;
    outcome
}

async fn run_held(
    opts: &AutoservOptions,
    factory: Arc<dyn TransportFactory>,
    mut abort: AbortSignal,
    args: &str,
) -> Result<ServerOutcome, AutoservError> {
    std::fs::create_dir_all(JobResults::new(&opts.resultsdir).debug_dir())
        .map_err(|e| AutoservError::io(&opts.resultsdir, e))?;
    let build = install::client_build_id(&opts.client_package)
        .map_err(|e| AutoservError::io(&opts.client_package, e))?;
    let sock = std::env::temp_dir().join(format!("autoserv-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let listener =
        tokio::net::UnixListener::bind(&sock).map_err(|e| AutoservError::io(&sock, e))?;
    let server = RpcServer::new(opts.clone(), factory, build, abort.clone());
    let serving = tokio::spawn(server.serve(listener));
    let package_parent = opts
        .client_package
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut cmd = tokio::process::Command::new(&opts.python);
    cmd.args(["-m", "autotest.server.runner", "--results"])
        .arg(&opts.resultsdir)
        .arg(format!("--machines={}", opts.machines.join(",")))
        .arg(format!("--args={args}"))
        .arg("--")
        .arg(&opts.control)
        .env("AUTOTEST_SERVER_SOCKET", &sock)
        .env("PYTHONPATH", &package_parent)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| AutoservError::Usage(format!("cannot start {}: {e}", opts.python)))?;
    let mut aborted = false;
    let status = tokio::select! {
        s = child.wait() => s,
        _ = async {
            loop {
                if abort.borrow().is_some() { return; }
                if abort.changed().await.is_err() { std::future::pending::<()>().await; }
            }
        } => {
            aborted = true;
            if let Some(pid) = child.id() {
                // SAFETY: kill(2) on our own child; no memory is involved.
                unsafe { libc::kill(pid as i32, libc::SIGTERM) };
            }
            match tokio::time::timeout(std::time::Duration::from_secs(90), child.wait()).await {
                Ok(s) => s,
                Err(_) => { let _ = child.kill().await; child.wait().await }
            }
        }
    };
    serving.abort();
    let _ = std::fs::remove_file(&sock);
    let status =
        status.map_err(|e| AutoservError::Usage(format!("waiting for the server runtime: {e}")))?;
    let exit = {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(c), _) => ExitOutcome::Code(c),
            (None, Some(s)) => ExitOutcome::from_signal_number(s),
            _ => ExitOutcome::Unknown("no exit status".into()),
        }
    };
    Ok(ServerOutcome {
        exit,
        aborted,
        failed_tests: count_failed(&opts.resultsdir),
    })
}

/// Failed tests over the job's status log and every machine's.
fn count_failed(dir: &Path) -> u32 {
    let mut logs = vec![JobResults::new(dir).status_log()];
    if let Ok(rd) = std::fs::read_dir(dir) {
        logs.extend(rd.flatten().map(|e| JobResults::new(e.path()).status_log()));
    }
    logs.iter()
        .filter_map(|p| StatusLog::parse_file(p).ok())
        .map(|l| summarize(&l).failed() as u32)
        .sum()
}
