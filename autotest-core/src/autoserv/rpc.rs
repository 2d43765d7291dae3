//! The server control file's line to the core: JSON requests over a Unix socket.
//!
//! `autoserv` runs a `.srv` file in Python (`autotest.server.runner`); every host operation the
//! file makes (`host.run`, `send_file`, `reboot`, `Autotest(host).run`, ...) arrives here as one
//! JSON line `{"id", "method", "params"}` and is carried out through the core's transports. The
//! answer is one line `{"id", "ok", "result"}` or `{"id", "ok": false, "error"}`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Mutex;

use super::{AbortSignal, AutoservOptions, MachineOutcome, client_job, reboot};
use crate::transport::{CommandSpec, ExitOutcome, Transport, TransportFactory};

/// Shared state of the RPC server: options, open transports, the client build id.
pub(crate) struct RpcServer {
    pub opts: AutoservOptions,
    pub factory: Arc<dyn TransportFactory>,
    pub build: String,
    pub abort: AbortSignal,
    transports: Mutex<HashMap<String, Arc<dyn Transport>>>,
}

impl RpcServer {
    pub(crate) fn new(
        opts: AutoservOptions,
        factory: Arc<dyn TransportFactory>,
        build: String,
        abort: AbortSignal,
    ) -> Arc<Self> {
        Arc::new(RpcServer {
            opts,
            factory,
            build,
            abort,
            transports: Mutex::new(HashMap::new()),
        })
    }

    /// Accepts connections until the listener is dropped (the task is aborted).
    pub(crate) async fn serve(self: Arc<Self>, listener: UnixListener) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let me = self.clone();
                    tokio::spawn(async move { me.connection(stream).await });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "server control socket accept failed");
                    return;
                }
            }
        }
    }

    async fn connection(self: Arc<Self>, stream: UnixStream) {
        let (r, mut w) = stream.into_split();
        let mut lines = BufReader::new(r).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let reply = match serde_json::from_str::<Value>(&line) {
                Ok(req) => {
                    let id = req.get("id").cloned().unwrap_or(Value::Null);
                    let method = req
                        .get("method")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    let params = req.get("params").cloned().unwrap_or(Value::Null);
                    match self.call(&method, &params).await {
                        Ok(result) => json!({"id": id, "ok": true, "result": result}),
                        Err(error) => json!({"id": id, "ok": false, "error": error}),
                    }
                }
                Err(e) => {
                    json!({"id": null, "ok": false, "error": format!("request is not JSON: {e}")})
                }
            };
            let mut text = reply.to_string();
            text.push('\n');
            if w.write_all(text.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    async fn transport(&self, machine: &str) -> Result<Arc<dyn Transport>, String> {
        let mut map = self.transports.lock().await;
        if let Some(t) = map.get(machine) {
            return Ok(t.clone());
        }
        let t = self.factory.open(machine).map_err(|e| e.to_string())?;
        map.insert(machine.to_owned(), t.clone());
        Ok(t)
    }

    async fn call(&self, method: &str, p: &Value) -> Result<Value, String> {
        let s = |k: &str| -> Result<String, String> {
            p.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("{method}: parameter {k} (a string) is missing"))
        };
        let secs = |k: &str, default: f64| -> Duration {
            Duration::from_secs_f64(p.get(k).and_then(Value::as_f64).unwrap_or(default).max(0.0))
        };
        let machine = s("machine")?;
        let t = self.transport(&machine).await?;
        match method {
            "run" => {
                let mut cmd = CommandSpec::new(["sh", "-c", s("command")?.as_str()]);
                if let Some(x) = p.get("timeout").and_then(Value::as_f64) {
                    cmd = cmd.timeout(Duration::from_secs_f64(x));
                }
                if let Some(input) = p.get("stdin").and_then(Value::as_str) {
                    cmd = cmd.stdin(input.as_bytes().to_vec());
                }
                let r = t.exec(&cmd, None).await.map_err(|e| e.to_string())?;
                let (code, signal, unknown) = match &r.outcome {
                    ExitOutcome::Code(c) => (json!(c), Value::Null, Value::Null),
                    ExitOutcome::Signal(sig) => (Value::Null, json!(sig), Value::Null),
                    ExitOutcome::Unknown(why) => (Value::Null, Value::Null, json!(why)),
                };
                Ok(
                    json!({"exit_status": code, "signal": signal, "unknown": unknown,
                          "stdout": r.stdout_text(), "stderr": r.stderr_text()}),
                )
            }
            "send_file" => {
                let local = PathBuf::from(s("local")?);
                let remote = s("remote")?;
                let r = if local.is_dir() {
                    t.put_tree(&local, &remote).await
                } else {
                    t.put_file(&local, &remote).await
                };
                r.map(|_| Value::Null).map_err(|e| e.to_string())
            }
            "get_file" => {
                let local = PathBuf::from(s("local")?);
                let remote = s("remote")?;
                let tree = p.get("tree").and_then(Value::as_bool).unwrap_or(false);
                let r = if tree {
                    t.get_tree(&remote, &local).await
                } else {
                    t.get_file(&remote, &local).await
                };
                r.map(|_| Value::Null).map_err(|e| e.to_string())
            }
            "boot_id" => Ok(json!(reboot::boot_id(t.as_ref()).await)),
            "wait_up" => Ok(json!(
                reboot::wait_up(t.as_ref(), secs("timeout", self.opts.wait_up.as_secs_f64())).await
            )),
            "wait_down" => {
                let old = p.get("old_boot_id").and_then(Value::as_str);
                Ok(json!(
                    reboot::wait_down(
                        t.as_ref(),
                        old,
                        secs("timeout", self.opts.wait_down.as_secs_f64())
                    )
                    .await
                ))
            }
            "reboot" => reboot::reboot_and_wait(
                t.as_ref(),
                &self.opts.reboot_command,
                self.opts.wait_down,
                self.opts.wait_up,
            )
            .await
            .map(|id| json!({"boot_id": id})),
            "run_client" => {
                let control = PathBuf::from(s("control")?);
                let dir = PathBuf::from(s("resultsdir")?);
                let mut opts = self.opts.clone();
                opts.control = control;
                if let Some(tag) = p.get("tag").and_then(Value::as_str) {
                    // The tag names a file and a directory on the machine.
                    if tag.is_empty()
                        || tag.starts_with('.')
                        || !tag
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                    {
                        return Err(format!(
                            "Autotest.run tag={tag:?} cannot name the client's results \
                             directory: use letters, digits, '.', '_' and '-' only"
                        ));
                    }
                    opts.client_tag = Some(tag.to_owned());
                }
                let indent = p.get("status_indent").and_then(Value::as_u64).unwrap_or(0) as usize;
                // A server job's client control files get their kernel sources staged too.
                let kernel_files = match &opts.kernel_mirror_dir {
                    Some(mirror) => super::kernel_files::files_for_control(&opts.control, mirror),
                    None => (Vec::new(), Vec::new()),
                };
                let outcome = client_job::run_on_machine(
                    &opts,
                    t,
                    Path::new(&dir),
                    &self.build,
                    self.abort.clone(),
                    indent,
                    &kernel_files,
                )
                .await;
                Ok(match outcome {
                    MachineOutcome::Completed { reboots } => {
                        json!({"outcome": "completed", "reboots": reboots})
                    }
                    MachineOutcome::Failed { reason } => {
                        json!({"outcome": "failed", "reason": reason})
                    }
                    MachineOutcome::Lost { reason } => json!({"outcome": "lost", "reason": reason}),
                    MachineOutcome::Aborted { reason } => {
                        json!({"outcome": "aborted", "reason": reason})
                    }
                })
            }
            "hardreset" => match &self.opts.console {
                Some(console) => console
                    .hardreset(&machine)
                    .await
                    .map(|_| Value::Null)
                    .map_err(|e| format!("{machine}: hard reset failed: {e}")),
                None => Err(format!(
                    "{machine}: no console is configured for this machine, so it cannot be \
                     hard-reset: set [HOSTS] hardreset_command"
                )),
            },
            other => Err(format!("unknown method {other:?}")),
        }
    }
}
