//! conmux against a machine of the network-namespace lab: its console is a shell inside the
//! machine's network namespace, served by the real `autotest conmux server`; the machine hangs (everything in it is
//! killed), the console is lost, `~$hardreset` (the configured command) has the stand-in power
//! switch power-cycle it, and the console comes back by itself. Needs root and namespaces: panics
//! when they are missing, never skips.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use autotest_testlab::Lab;
use autotest_testlab::process::Daemon;

const WAIT: Duration = Duration::from_secs(30);

/// Reads from `s` until the text read contains `needle`; returns all of it.
fn read_until(s: &mut TcpStream, needle: &str) -> String {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {needle:?}; got {:?}",
            String::from_utf8_lossy(&got)
        );
        match s.read(&mut buf) {
            Ok(0) => panic!("closed; got {:?}", String::from_utf8_lossy(&got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn a_hung_machine_is_hard_reset_through_its_console() {
    let lab = Lab::new(1);
    let m = lab.machine(0).clone();
    let dir = tempfile::tempdir().unwrap();
    let request = dir.path().join("power-request");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cf = dir.path().join("m1.cf");
    std::fs::write(
        &cf,
        format!(
            "listener {port}\n\
             application console '{name} serial' 'ip netns exec {name} sh'\n\
             command hardreset 'initiated a hard reset' 'touch {req}'\n",
            name = m.name(),
            req = request.display()
        ),
    )
    .unwrap();
    let _server = Daemon(
        Command::new(env!("CARGO_BIN_EXE_autotest"))
            .args(["conmux", "server", cf.to_str().unwrap()])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    let mut s = loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(start.elapsed() < WAIT, "conmux server never listened");
        std::thread::sleep(Duration::from_millis(100));
    };
    s.write_all(b"CONNECT id=bot%3Alab to=console type=client\n")
        .unwrap();
    assert!(read_until(&mut s, "\n").contains("status=OK"));
    // The shell is in the machine's network namespace: it sees the machine's address.
    let address = m.address().to_string();
    s.write_all(b"ip -4 -o addr show\n").unwrap();
    read_until(&mut s, &address);

    // The machine hangs: everything in it dies, the console with it.
    let switch = autotest_testlab::power_switch(m.clone(), request.clone(), WAIT);
    m.kill();
    assert!(!m.port_open(Duration::from_secs(1)));
    read_until(&mut s, "<<<PAYLOAD LOST");

    // ~$hardreset runs the configured command; the power switch power-cycles the machine.
    s.write_all(b"~$hardreset\r").unwrap();
    let seen = read_until(&mut s, "(bot:lab) hardreset exited with status 0");
    assert!(
        seen.contains("(bot:lab) initiated a hard reset\n"),
        "{seen}"
    );
    assert!(switch.join().unwrap(), "the power switch never acted");
    assert!(m.wait_boot_count(2, WAIT), "machine did not boot again");

    // The console comes back by itself (retried every second) and is the new boot's.
    read_until(&mut s, "<<<PAYLOAD RESTART>>>");
    std::thread::sleep(Duration::from_millis(500));
    s.write_all(b"echo back-after-reset; ip -4 -o addr show\n")
        .unwrap();
    let after = read_until(&mut s, &address);
    assert!(after.contains("back-after-reset\n"), "{after}");
    // The log is written by its own task, fed through a queue: it may be a moment behind what
    // the client saw.
    let wanted = [
        "<<<PAYLOAD LOST",
        "(bot:lab) initiated a hard reset",
        "[-- command hardreset by bot:lab: exited with status 0 --]",
        "back-after-reset",
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut log = String::new();
    while std::time::Instant::now() < deadline {
        log = std::fs::read_to_string(dir.path().join("m1.log")).unwrap_or_default();
        if wanted.iter().all(|w| log.contains(w)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for want in wanted {
        assert!(log.contains(want), "console log lacks {want:?}:\n{log}");
    }
}
