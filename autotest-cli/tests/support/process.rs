//! Processes and waiting, for tests that start daemons: a child killed when dropped, a free
//! loopback port, polling with a deadline, and the `autotest` binary under test.

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A background process, killed (and reaped) when dropped, however the test ends.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `f` every 50 ms until it gives a value; panics naming `what` after `timeout`.
pub fn wait_some<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `f` every 50 ms until it holds; panics naming `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    wait_some(what, timeout, || f().then_some(()))
}

/// The `autotest` binary under test, logging warnings only. (`option_env!`: the benches include
/// this module too; outside cargo's tests of autotest-cli it is the `autotest` on `PATH`.)
pub fn autotest() -> Command {
    let mut c = Command::new(option_env!("CARGO_BIN_EXE_autotest").unwrap_or("autotest"));
    c.env("RUST_LOG", "warn");
    c
}
