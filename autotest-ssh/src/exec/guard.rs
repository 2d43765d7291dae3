//! The read side of a running command, which also kills the remote process group when the
//! command is abandoned (its future dropped) before it ended.

use std::sync::Arc;
use std::time::Duration;

use russh::{ChannelMsg, ChannelReadHalf};

use super::{kill, marker};
use crate::connection::Connection;

/// How long an abandoned command's channel is watched for the pid marker it has not shown yet.
const MARKER_WAIT: Duration = Duration::from_secs(10);

/// Owns the channel's read half and the pid marker finder; armed until the command is over.
pub(super) struct Reader {
    conn: Arc<Connection>,
    machine: String,
    rd: Option<ChannelReadHalf>,
    marker: marker::PidMarker,
    pid: Option<u32>,
    armed: bool,
}

impl Reader {
    /// Watches `rd` for the command started on `conn`.
    pub(super) fn new(conn: Arc<Connection>, machine: &str, rd: ChannelReadHalf) -> Self {
        Reader {
            conn,
            machine: machine.to_owned(),
            rd: Some(rd),
            marker: marker::PidMarker::new(true),
            pid: None,
            armed: true,
        }
    }

    /// The next message; `None` when the channel or the connection is gone.
    pub(super) async fn wait(&mut self) -> Option<ChannelMsg> {
        match self.rd.as_mut() {
            Some(rd) => rd.wait().await,
            None => None,
        }
    }

    /// Takes a chunk of stderr: notes the pid if the marker is in it; returns the real stderr.
    pub(super) fn stderr(&mut self, chunk: &[u8]) -> Vec<u8> {
        let (pid, pass) = self.marker.feed(chunk);
        if pid.is_some() {
            self.pid = pid;
        }
        pass
    }

    /// The end of stderr: whatever the marker finder still holds.
    pub(super) fn finish_stderr(&mut self) -> Vec<u8> {
        self.marker.finish()
    }

    /// The command is over: nothing to kill, ever.
    pub(super) fn disarm(&mut self) {
        self.armed = false;
    }

    /// Stops reading the channel and kills the command's process group now (timeout, local
    /// failure). Stays armed until the kill is done, so a caller giving up meanwhile still
    /// gets it.
    pub(super) async fn kill(&mut self, what: &str) {
        self.rd = None;
        match self.pid {
            Some(pid) => kill::kill_group(&self.conn, pid, &self.machine).await,
            None => tracing::warn!(
                machine = %self.machine,
                what,
                "no process id seen; cannot kill the remote command"
            ),
        }
        self.armed = false;
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let conn = Arc::clone(&self.conn);
        let machine = std::mem::take(&mut self.machine);
        let known = self.pid;
        let rd = self.rd.take();
        let mut marker = std::mem::replace(&mut self.marker, marker::PidMarker::new(false));
        tracing::debug!(%machine, pid = ?known, "command abandoned; killing its process group");
        rt.spawn(async move {
            let pid = match (known, rd) {
                (Some(pid), _) => Some(pid),
                // Abandoned before the marker arrived: keep reading for it a little longer.
                (None, Some(mut rd)) => tokio::time::timeout(MARKER_WAIT, async {
                    while let Some(msg) = rd.wait().await {
                        match msg {
                            ChannelMsg::ExtendedData { data, ext: 1 } => {
                                if let (Some(pid), _) = marker.feed(&data) {
                                    return Some(pid);
                                }
                            }
                            ChannelMsg::Close => return None,
                            _ => {}
                        }
                    }
                    None
                })
                .await
                .ok()
                .flatten(),
                (None, None) => None,
            };
            if let Some(pid) = pid {
                kill::kill_group(&conn, pid, &machine).await;
            }
        });
    }
}
