//! Shared test fixtures: a real TCP console (what ser2net exports) and stream helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub const WAIT: Duration = Duration::from_secs(20);

/// A TCP console on loopback: records what the server writes to it, sends what a test says,
/// and can hang up to simulate a console that goes away.
pub struct FakeConsole {
    pub addr: std::net::SocketAddr,
    received: Arc<Mutex<Vec<u8>>>,
    connections: Arc<Mutex<usize>>,
    to_send: mpsc::UnboundedSender<Command>,
}

enum Command {
    Send(Vec<u8>),
    HangUp,
}

impl FakeConsole {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (tx, mut rx) = mpsc::unbounded_channel::<Command>();
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
                        Command::Send(b) => {
                            if w.write_all(&b).await.is_err() {
                                break;
                            }
                        }
                        Command::HangUp => break,
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

    pub fn send(&self, bytes: &[u8]) {
        self.to_send.send(Command::Send(bytes.to_vec())).unwrap();
    }

    pub fn hang_up(&self) {
        self.to_send.send(Command::HangUp).unwrap();
    }

    pub fn received(&self) -> Vec<u8> {
        self.received.lock().unwrap().clone()
    }

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
pub async fn read_until(s: &mut TcpStream, needle: &str) -> String {
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
pub async fn read_line(s: &mut TcpStream) -> String {
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
pub async fn legacy(addr: &str, line: &str) -> (String, TcpStream) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("{line}\n").as_bytes()).await.unwrap();
    let reply = read_line(&mut s).await;
    (reply, s)
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A port free right now on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `f` returns Some.
pub async fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
