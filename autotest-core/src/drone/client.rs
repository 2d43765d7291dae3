//! The scheduler's end of one drone connection: an `autotest drone` agent started through a
//! [`Transport`] (one long-lived SSH exec channel, or a local process), requests matched to
//! replies by id, pushed events handed on as they come. The connection counts as down when it
//! closes or says nothing (not even a heartbeat) for `down_after`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

use super::DroneError;
use super::protocol::{Message, Op, PROTOCOL_VERSION, Reply, Request, parse_message, to_line};
use crate::transport::{CommandSpec, OutputStream, Spawned, Transport};

/// What a drone connection reports besides replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DroneEvent {
    /// A pushed `pidfile` or `exited` message.
    Message(Message),
    /// The connection is gone (closed, or silent for too long); nothing more comes.
    Down {
        /// Why, for the log and the entries it ends.
        reason: String,
    },
}

type Waiter = oneshot::Sender<Result<Reply, String>>;

/// A connected drone agent.
#[derive(Debug)]
pub struct DroneClient {
    name: String,
    build_id: String,
    requests: mpsc::UnboundedSender<(Op, Waiter)>,
}

impl DroneClient {
    /// Starts `command` (an `autotest drone`) on `transport`, says hello and returns the client
    /// with the receiver of its events.
    pub async fn connect(
        transport: Arc<dyn Transport>,
        command: CommandSpec,
        down_after: Duration,
    ) -> Result<(DroneClient, mpsc::UnboundedReceiver<DroneEvent>), DroneError> {
        let name = transport.machine().to_owned();
        let spawned = transport.spawn(command);
        let (req_tx, req_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        tokio::spawn(drive(name.clone(), spawned, req_rx, ev_tx, down_after));
        let mut client = DroneClient {
            name,
            build_id: String::new(),
            requests: req_tx,
        };
        match client
            .request(Op::Hello {
                version: PROTOCOL_VERSION,
            })
            .await?
        {
            Reply::Hello { build_id, .. } => client.build_id = build_id,
            other => {
                return Err(DroneError::Protocol {
                    drone: client.name,
                    message: format!("hello answered with {other:?}"),
                });
            }
        }
        Ok((client, ev_rx))
    }

    /// The drone's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The agent's build id (from `hello`).
    pub fn build_id(&self) -> &str {
        &self.build_id
    }

    /// Sends one request and waits for its reply; an `error` reply is
    /// [`DroneError::Refused`].
    pub async fn request(&self, op: Op) -> Result<Reply, DroneError> {
        let (tx, rx) = oneshot::channel();
        let gone = || DroneError::Disconnected {
            drone: self.name.clone(),
        };
        self.requests.send((op, tx)).map_err(|_| gone())?;
        match rx.await.map_err(|_| gone())? {
            Ok(reply) => Ok(reply),
            Err(message) => Err(DroneError::Refused {
                drone: self.name.clone(),
                message,
            }),
        }
    }
}

async fn drive(
    name: String,
    mut spawned: Spawned,
    mut requests: mpsc::UnboundedReceiver<(Op, Waiter)>,
    events: mpsc::UnboundedSender<DroneEvent>,
    down_after: Duration,
) {
    let mut pending: HashMap<u64, Waiter> = HashMap::new();
    let mut next_id = 1u64;
    let mut buf: Vec<u8> = Vec::new();
    let mut stderr_tail = String::new();
    let reason = loop {
        tokio::select! {
            req = requests.recv() => {
                // Every client handle dropped: close the connection.
                let Some((op, waiter)) = req else { break "the scheduler closed it".to_owned() };
                let id = next_id;
                next_id += 1;
                let mut line = to_line(&Request { id, op });
                line.push('\n');
                let Some(stdin) = spawned.stdin() else {
                    let _ = waiter.send(Err("the agent's input is closed".into()));
                    continue;
                };
                if let Err(e) = stdin.write_all(line.as_bytes()).await {
                    let _ = waiter.send(Err(format!("cannot write to the agent: {e}")));
                    break format!("cannot write to the agent: {e}");
                }
                let _ = stdin.flush().await;
                pending.insert(id, waiter);
            }
            chunk = tokio::time::timeout(down_after, spawned.recv()) => match chunk {
                Err(_) => break format!("no word from the agent for {} s", down_after.as_secs()),
                Ok(None) => break if stderr_tail.trim().is_empty() {
                    "the connection to the agent closed".to_owned()
                } else {
                    format!("the connection to the agent closed: {}", stderr_tail.trim())
                },
                Ok(Some((OutputStream::Stderr, bytes))) => {
                    stderr_tail.push_str(&String::from_utf8_lossy(&bytes));
                    if stderr_tail.len() > 2000 {
                        let cut = stderr_tail.len() - 2000;
                        let cut = (cut..stderr_tail.len()).find(|i| stderr_tail.is_char_boundary(*i)).unwrap_or(0);
                        stderr_tail.drain(..cut);
                    }
                }
                Ok(Some((OutputStream::Stdout, bytes))) => {
                    buf.extend_from_slice(&bytes);
                    while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=nl).collect();
                        let line = String::from_utf8_lossy(&line);
                        match parse_message(line.trim_end()) {
                            Ok(Message::Reply { id, result }) => {
                                if let Some(w) = pending.remove(&id) { let _ = w.send(Ok(result)); }
                            }
                            Ok(Message::Error { id: Some(id), message }) if pending.contains_key(&id) => {
                                if let Some(w) = pending.remove(&id) { let _ = w.send(Err(message)); }
                            }
                            Ok(Message::Heartbeat { .. }) => {}
                            Ok(m) => { let _ = events.send(DroneEvent::Message(m)); }
                            Err(e) => tracing::warn!(drone = %name, "not a protocol line from the agent ({e}): {}", line.trim_end()),
                        }
                    }
                }
            }
        }
    };
    for (_, w) in pending.drain() {
        let _ = w.send(Err(reason.clone()));
    }
    tracing::warn!(drone = %name, "drone down: {reason}");
    let _ = events.send(DroneEvent::Down { reason });
    // Dropping `spawned` abandons the agent (its autoservs run in their own process groups).
}
