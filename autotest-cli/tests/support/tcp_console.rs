//! A TCP console as ser2net or a terminal server exports a serial port, for the conmux tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::process::wait_some;

const WAIT: Duration = Duration::from_secs(30);

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
        wait_some("a console connection", WAIT, || {
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
        wait_some(&format!("console to receive {needle:?}"), WAIT, || {
            String::from_utf8_lossy(&self.received.lock().unwrap())
                .contains(needle)
                .then_some(())
        });
    }
}

