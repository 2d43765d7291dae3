//! TCP consoles as ser2net or a terminal server exports a serial port, for the conmux tests:
//! [`TcpConsole`] (threads, for tests that drive the `autotest` binary) and [`FakeConsole`]
//! (tokio, for in-process tests of the conmux server, which can also hang up); and raw line
//! clients of a console server ([`read_until`], [`read_line`], [`legacy`]).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::process::{WAIT, wait_some};

/// The deadline of [`TcpConsole`]'s waits (the binary under test starts processes first).
const SYNC_WAIT: Duration = Duration::from_secs(30);

/// A console as ser2net exports it: records what it is sent; `send` writes to the newest
/// connection.
pub struct TcpConsole {
    /// Where it listens (`127.0.0.1:<port>`).
    pub addr: String,
    /// Everything it was sent.
    pub received: Arc<Mutex<Vec<u8>>>,
    current: Arc<Mutex<Option<TcpStream>>>,
}

impl TcpConsole {
    /// Listens on a free loopback port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let received = Arc::new(Mutex::new(Vec::new()));
        let current = Arc::new(Mutex::new(None));
        let (rec, cur) = (received.clone(), current.clone());
        std::thread::spawn(move || {
            for sock in listener.incoming().flatten() {
                *cur.lock().unwrap() = Some(sock.try_clone().unwrap());
                let rec = rec.clone();
                std::thread::spawn(move || {
                    let mut sock = sock;
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = sock.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        rec.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                });
            }
        });
        Self {
            addr,
            received,
            current,
        }
    }

    /// Writes to the newest connection (waiting for one).
    pub fn send(&self, bytes: &[u8]) {
        wait_some("a console connection", SYNC_WAIT, || {
            self.current.lock().unwrap().is_some().then_some(())
        });
        self.current
            .lock()
            .unwrap()
            .as_mut()
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }

    /// Waits until what it was sent contains `needle`.
    pub fn wait_received(&self, needle: &str) {
        wait_some(&format!("console to receive {needle:?}"), SYNC_WAIT, || {
            String::from_utf8_lossy(&self.received.lock().unwrap())
                .contains(needle)
                .then_some(())
        });
    }
}

/// A TCP console on loopback: records what the server writes to it, sends what a test says,
/// and can hang up to simulate a console that goes away.
pub struct FakeConsole {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    received: Arc<Mutex<Vec<u8>>>,
    connections: Arc<Mutex<usize>>,
    to_send: mpsc::UnboundedSender<ConsoleCmd>,
}

enum ConsoleCmd {
    Send(Vec<u8>),
    HangUp,
}

impl FakeConsole {
    /// Listens on a free loopback port; serves one connection at a time.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (tx, mut rx) = mpsc::unbounded_channel::<ConsoleCmd>();
        let (rec, conns) = (received.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                *conns.lock().unwrap() += 1;
                let (mut r, mut w) = sock.into_split();
                let rec = rec.clone();
                let reader = tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = r.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        rec.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                });
                while let Some(cmd) = rx.recv().await {
                    match cmd {
                        ConsoleCmd::Send(b) => {
                            if w.write_all(&b).await.is_err() {
                                break;
                            }
                        }
                        ConsoleCmd::HangUp => break,
                    }
                }
                reader.abort();
            }
        });
        Self {
            addr,
            received,
            connections,
            to_send: tx,
        }
    }

    /// Sends bytes to the connected client, as console output.
    pub fn send(&self, bytes: &[u8]) {
        self.to_send.send(ConsoleCmd::Send(bytes.to_vec())).unwrap();
    }

    /// Drops the current connection, as a console that goes away.
    pub fn hang_up(&self) {
        self.to_send.send(ConsoleCmd::HangUp).unwrap();
    }

    /// Everything clients have written to the console so far.
    pub fn received(&self) -> Vec<u8> {
        self.received.lock().unwrap().clone()
    }

    /// How many connections it has accepted.
    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }

    /// Waits until the console has received bytes containing `needle`.
    pub async fn wait_received(&self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = String::from_utf8_lossy(&self.received()).into_owned();
            if got.contains(needle) {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "console never received {needle:?}; got {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `n` connections were accepted.
    pub async fn wait_connections(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.connections() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "console never got connection {n}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Reads from `s` until what was read contains `needle`; returns all of it.
pub async fn read_until(s: &mut tokio::net::TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if String::from_utf8_lossy(&got).contains(needle) {
            return String::from_utf8_lossy(&got).into_owned();
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) => panic!(
                "closed before {needle:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => panic!("read error before {needle:?}: {e}"),
            Err(_) => panic!(
                "timed out waiting for {needle:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
}

/// Reads one line (the reply of the command phase) byte by byte.
pub async fn read_line(s: &mut tokio::net::TcpStream) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        let n = tokio::time::timeout(WAIT, s.read(&mut b))
            .await
            .expect("reply in time")
            .unwrap();
        assert!(
            n == 1,
            "closed before a full line: {:?}",
            String::from_utf8_lossy(&line)
        );
        if b[0] == b'\n' {
            return String::from_utf8_lossy(&line).into_owned();
        }
        line.push(b[0]);
    }
}

/// A raw legacy client: sends `line`, returns the reply line and the connection.
pub async fn legacy(addr: &str, line: &str) -> (String, tokio::net::TcpStream) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("{line}\n").as_bytes()).await.unwrap();
    let reply = read_line(&mut s).await;
    (reply, s)
}
