//! The console connection the server owns: opened, pumped both ways, and reopened when it goes
//! away (legacy timing and `<<<PAYLOAD ...>>>` notices). A TCP console speaks telnet to us when
//! it is a terminal server: negotiation is answered (we do nothing but let the far end echo) and
//! never shown to clients.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::hub::Hub;
use super::pty;
use super::telnet::Telnet;
use crate::cf::ConsoleSource;

/// Telnet IAC BREAK: what `~$break` sends.
pub(crate) const BREAK: &[u8] = &[255, 243];

/// Input for the console from one session.
pub(crate) struct ToConsole {
    pub from: u64,
    pub bytes: Vec<u8>,
}

struct Connection {
    reader: Box<dyn AsyncRead + Send + Unpin>,
    writer: Box<dyn AsyncWrite + Send + Unpin>,
    telnet: Option<Telnet>,
    _child: Option<pty::ChildGroup>,
}

async fn open(source: &ConsoleSource) -> std::io::Result<Connection> {
    match source {
        ConsoleSource::Socket(addr) => {
            let sock = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::net::TcpStream::connect(addr),
            )
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            })??;
            sock.set_nodelay(true)?;
            let (r, w) = sock.into_split();
            Ok(Connection {
                reader: Box::new(r),
                writer: Box::new(w),
                telnet: Some(Telnet::default()),
                _child: None,
            })
        }
        ConsoleSource::Application { command, pty } => {
            let app = pty::spawn(command, *pty)?;
            Ok(Connection {
                reader: Box::new(app.output),
                writer: Box::new(app.input),
                telnet: None,
                _child: Some(app.child),
            })
        }
    }
}

/// Owns the console for the server's lifetime.
pub(crate) async fn run(
    source: ConsoleSource,
    hub: Arc<Hub>,
    mut input: mpsc::Receiver<ToConsole>,
) {
    loop {
        let retry = match open(&source).await {
            Ok(conn) => {
                hub.set_connected(true);
                pump(conn, &hub, &mut input).await;
                hub.set_connected(false);
                let t = hub.retry_secs();
                hub.announce(&format!("<<<PAYLOAD LOST ... retrying in {t} secs>>>"));
                t
            }
            Err(e) => {
                hub.set_connected(false);
                let t = hub.retry_secs();
                hub.announce(&format!(
                    "<<<PAYLOAD ERROR ({e}) ... retrying in {t} secs>>>"
                ));
                t
            }
        };
        let wait = tokio::time::sleep(Duration::from_secs(retry));
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = &mut wait => break,
                msg = input.recv() => match msg {
                    Some(m) => hub.send_to(m.from, b"<<<NOT CONNECTED>>>\n"),
                    None => return,
                },
            }
        }
        hub.announce("<<<PAYLOAD RESTART>>>");
    }
}

async fn pump(mut conn: Connection, hub: &Hub, input: &mut mpsc::Receiver<ToConsole>) {
    let mut buf = vec![0u8; super::READ_CHUNK];
    loop {
        tokio::select! {
            n = conn.reader.read(&mut buf) => {
                let n = match n {
                    Ok(0) | Err(_) => return, // EOF, or EIO from a pty whose program ended
                    Ok(n) => n,
                };
                let shown: Arc<[u8]> = match &mut conn.telnet {
                    Some(t) if t.involved(&buf[..n]) => {
                        let (shown, reply) = t.filter(&buf[..n]);
                        if !reply.is_empty() && conn.writer.write_all(&reply).await.is_err() {
                            return;
                        }
                        Arc::from(shown)
                    }
                    _ => Arc::from(&buf[..n]),
                };
                if !shown.is_empty() {
                    hub.broadcast(shown);
                }
            }
            msg = input.recv() => {
                let Some(m) = msg else { return };
                if conn.writer.write_all(&m.bytes).await.is_err() {
                    return;
                }
            }
        }
    }
}
