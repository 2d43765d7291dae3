//! Killing a remote command's process group and session after a timeout or abandonment.

use std::time::Duration;

use autotest_core::transport::CommandSpec;
use russh::ChannelMsg;

use crate::connection::Connection;

/// The kill command: the process group first (portable), then the session where `pkill` exists.
const KILL_SCRIPT: &str = "kill -9 -\"$1\" 2>/dev/null; if command -v pkill >/dev/null 2>&1; then pkill -9 -s \"$1\"; fi; exit 0";

/// How long the kill command may take.
const KILL_LIMIT: Duration = Duration::from_secs(10);

/// Runs the kill command for process group / session `pid` on `conn`; failures are logged.
pub(super) async fn kill_group(conn: &Connection, pid: u32, machine: &str) {
    let cmd = CommandSpec::new(["sh", "-c", KILL_SCRIPT, "sh", &pid.to_string()]).to_shell();
    let attempt = async {
        let channel = match conn.open_extra().await {
            Ok(c) => c,
            Err(
                crate::connection::OpenError::Dead(why)
                | crate::connection::OpenError::Refused(why),
            ) => {
                return Err(why);
            }
        };
        let (mut rd, wr) = channel.split();
        wr.exec(true, cmd.into_bytes())
            .await
            .map_err(|e| e.to_string())?;
        wr.eof().await.map_err(|e| e.to_string())?;
        let mut status = None;
        while let Some(msg) = rd.wait().await {
            match msg {
                ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        match status {
            Some(0) => Ok(()),
            other => Err(format!("the kill command ended with {other:?}")),
        }
    };
    match tokio::time::timeout(KILL_LIMIT, attempt).await {
        Ok(Ok(())) => tracing::debug!(machine, pid, "killed remote process group"),
        Ok(Err(why)) => tracing::warn!(machine, pid, %why, "could not kill the remote command"),
        Err(_) => tracing::warn!(machine, pid, "the kill command did not finish in time"),
    }
}
