//! Compatibility with the legacy Perl conmux (Debian's `conmux` package: `conmux`,
//! `conmux-registry`, `conmux-console`), both ways, over loopback: the legacy console client on
//! our server and our registry; our server registering with the legacy registry; our clients on
//! the legacy daemon. Needs the package: panics (never skips) when it is missing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use autotest_testlab::process::{Daemon, autotest, free_port, wait_some};
use autotest_testlab::tcp_console::TcpConsole;

const WAIT: Duration = Duration::from_secs(30);
const LEGACY: [&str; 3] = [
    "/usr/sbin/conmux",
    "/usr/sbin/conmux-registry",
    "/usr/bin/conmux-console",
];

fn need_legacy() {
    for p in LEGACY {
        assert!(
            Path::new(p).exists(),
            "{p} is missing: install the legacy conmux (apt-get install conmux, or ./dev.sh setup)"
        );
    }
}

fn wait_for<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    wait_some(what, WAIT, f)
}

fn daemon(cmd: &mut Command) -> Daemon {
    Daemon(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn output(cmd: &mut Command) -> String {
    let o = cmd.stdin(Stdio::null()).output().unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Collects a child's stdout in the background.
fn collect(child: &mut Child) -> Arc<Mutex<Vec<u8>>> {
    let mut out = child.stdout.take().unwrap();
    let shown = Arc::new(Mutex::new(Vec::new()));
    let sink = shown.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    shown
}

fn wait_shown(shown: &Mutex<Vec<u8>>, needle: &str) {
    wait_for(&format!("{needle:?} on the client"), || {
        String::from_utf8_lossy(&shown.lock().unwrap())
            .contains(needle)
            .then_some(())
    });
}

#[test]
fn the_legacy_console_client_on_our_server_and_registry() {
    need_legacy();
    let dir = tempfile::tempdir().unwrap();
    let console = TcpConsole::start();
    let reg_port = free_port();
    let reg = format!("127.0.0.1:{reg_port}");
    let _registry = daemon(autotest().args([
        "conmux",
        "registry",
        "--port",
        &reg_port.to_string(),
        dir.path().join("store").to_str().unwrap(),
    ]));
    let cf = dir.path().join("box.cf");
    std::fs::write(
        &cf,
        format!(
            "listener {reg}/box\nsocket console 'box one' {}\n\
             command hardreset 'initiated a hard reset' 'echo cycling'\n",
            console.addr
        ),
    )
    .unwrap();
    let _server = daemon(autotest().args(["conmux", "server", cf.to_str().unwrap()]));

    // The legacy client lists our registry (its registry is `host`; `host:port` works too).
    let listed = wait_for("box in the registry, as the legacy client lists it", || {
        let o = output(Command::new("conmux-console").args(["--list", &reg]));
        o.starts_with("box 127.0.0.1:").then_some(o)
    });
    let addr = listed.split_whitespace().nth(1).unwrap().to_owned();
    let status = output(Command::new("conmux-console").args(["--status", &addr]));
    assert_eq!(status.trim(), "transition");

    // An interactive legacy session: input reaches the console, ~$ commands run on our side.
    let mut session = Command::new("conmux-console")
        .arg(&addr)
        .env("LOGNAME", "legacyuser")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let shown = collect(&mut session);
    let mut stdin = session.stdin.take().unwrap();
    wait_shown(
        &shown,
        "Connected to box one [channel transition] (~$quit to exit)\n",
    );
    stdin.write_all(b"hello\r").unwrap();
    console.wait_received("hello\r");
    console.send(b"login: ");
    wait_shown(&shown, "login: ");
    stdin.write_all(b"~$hardreset\r").unwrap();
    wait_shown(
        &shown,
        "(user:legacyuser) initiated a hard reset\ncycling\n",
    );
    wait_shown(&shown, "(user:legacyuser) hardreset exited with status 0\n");
    stdin.write_all(b"~$quit\r").unwrap();
    let start = Instant::now();
    while session.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < WAIT,
            "legacy console did not end on ~$quit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn our_server_and_clients_with_the_legacy_registry_and_daemon() {
    need_legacy();
    let dir = tempfile::tempdir().unwrap();
    let console = TcpConsole::start();
    let reg_port = free_port();
    let reg = format!("127.0.0.1:{reg_port}");
    let store = dir.path().join("legacy.store");
    std::fs::write(&store, "").unwrap();
    let _registry = daemon(
        Command::new("conmux-registry").args([&reg_port.to_string(), store.to_str().unwrap()]),
    );

    // Our server registers with the legacy registry; our client lists it there.
    let cf = dir.path().join("ours.cf");
    std::fs::write(
        &cf,
        format!(
            "listener {reg}/ours\nsocket console 'ours' {}\n",
            console.addr
        ),
    )
    .unwrap();
    let _ours = daemon(autotest().args(["conmux", "server", cf.to_str().unwrap()]));
    let listed = wait_for("ours in the legacy registry", || {
        let o = output(autotest().args(["console", "--list", &reg]));
        o.starts_with("ours 127.0.0.1:").then_some(o)
    });
    assert_eq!(std::fs::read_to_string(&store).unwrap(), listed);

    // The legacy daemon serves a console; our clients attach to it.
    let legacy_port = free_port();
    let legacy_cf = dir.path().join("legacy.cf");
    std::fs::write(
        &legacy_cf,
        format!(
            "listener {legacy_port}\nsocket console 'legacy box' {}\n",
            console.addr
        ),
    )
    .unwrap();
    let _legacy = daemon(Command::new("/usr/sbin/conmux").arg(&legacy_cf));
    let legacy_addr = format!("127.0.0.1:{legacy_port}");
    wait_for("legacy daemon listening", || {
        TcpStream::connect(&legacy_addr).ok()
    });
    let state = output(autotest().args(["console", "--status", &legacy_addr]));
    assert_eq!(state.trim(), "transition");
    let attach = autotest()
        .args([
            "conmux-attach",
            &legacy_addr,
            "sh",
            "-c",
            "echo via-legacy; read line; echo \"got:$line\"",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    console.wait_received("via-legacy\n");
    console.send(b"pong\n");
    console.wait_received("got:pong\n");
    let out = attach.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn legacy_daemons_on_our_registry_one_live_daemon_per_name() {
    need_legacy();
    let dir = tempfile::tempdir().unwrap();
    let console = TcpConsole::start();
    let reg_port = free_port();
    let reg = format!("127.0.0.1:{reg_port}");
    let store = dir.path().join("store");
    let _registry = daemon(autotest().args([
        "conmux",
        "registry",
        "--port",
        &reg_port.to_string(),
        store.to_str().unwrap(),
    ]));
    let cf = dir.path().join("lb.cf");
    std::fs::write(
        &cf,
        format!("listener {reg}/lb\nsocket console 'lb' {}\n", console.addr),
    )
    .unwrap();
    let listed = || output(autotest().args(["console", "--list", &reg]));
    let first = daemon(Command::new("/usr/sbin/conmux").arg(&cf));
    // The legacy daemon registers `<its fqdn>:<port>`.
    let held = wait_for("the legacy daemon registered", || {
        listed().strip_prefix("lb ").map(|a| a.trim().to_owned())
    });

    // A second legacy daemon under the live name is refused; legacy conmux dies on that.
    let mut second = Daemon(
        Command::new("/usr/sbin/conmux")
            .arg(&cf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let code = wait_for("the second legacy daemon to exit", || {
        second.0.try_wait().unwrap()
    });
    let mut err = String::new();
    second
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!code.success(), "{err}");
    assert!(
        err.contains(&format!(
            "lb: error - EEXIST lb is registered at {held}, which is live"
        )),
        "{err}"
    );
    assert_eq!(listed(), format!("lb {held}\n"));

    // The first dies; a restarted legacy daemon (another port) takes its name back.
    drop(first);
    let _third = daemon(Command::new("/usr/sbin/conmux").arg(&cf));
    let now = wait_for("the restarted daemon registered", || {
        let o = listed();
        let at = o.strip_prefix("lb ")?.trim().to_owned();
        (at != held).then_some(at)
    });
    assert_eq!(
        std::fs::read_to_string(&store).unwrap(),
        format!("lb {now}\n")
    );
}
