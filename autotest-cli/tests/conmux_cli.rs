//! conmux through the real `autotest` binary: the supervisor following its directory, the
//! standalone registry and server, `console` (--list, --status, a piped session) and
//! `conmux-attach`, against a real TCP console on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use autotest_testlab::process::{Daemon, autotest, free_port, wait_some};
use autotest_testlab::tcp_console::TcpConsole;

const WAIT: Duration = Duration::from_secs(30);

fn wait_for<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    wait_some(what, WAIT, f)
}

fn daemon(args: &[&str]) -> Daemon {
    Daemon(autotest().args(args).stdin(Stdio::null()).spawn().unwrap())
}

fn run(args: &[&str]) -> Output {
    autotest().args(args).stdin(Stdio::null()).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A legacy `CONNECT` over raw TCP; the reply line.
fn legacy_connect(addr: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"CONNECT id=user%3Atest to=console type=watch hide=1\n")
        .ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    Some(line.trim_end().to_owned())
}

fn status_of(dir: &Path) -> String {
    stdout(&run(&["conmux", "status", dir.to_str().unwrap()]))
}

#[test]
fn supervisor_starts_restarts_on_change_and_stops_on_removal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let console = TcpConsole::start();
    let port = free_port();
    let reg = format!("127.0.0.1:{port}");
    let cf = |title: &str| {
        format!(
            "listener {reg}/alpha\nsocket console '{title}' {}\n",
            console.addr
        )
    };
    std::fs::write(d.join("alpha.cf"), cf("Alpha one")).unwrap();
    std::fs::write(
        d.join("beta.cf"),
        "listener x/beta\nsocket console 'unterminated\n",
    )
    .unwrap();
    let _sup = daemon(&[
        "conmux",
        "start",
        "--port",
        &port.to_string(),
        d.to_str().unwrap(),
    ]);

    let status = wait_for("both consoles in the status", || {
        let s = status_of(d);
        (s.contains("alpha") && s.contains("beta")).then_some(s)
    });
    assert!(
        status.contains("supervisor pid") && status.contains(" running;"),
        "{status}"
    );
    let alpha_line = status
        .lines()
        .find(|l| l.starts_with("alpha"))
        .unwrap()
        .to_owned();
    assert!(
        alpha_line.contains("running") && alpha_line.contains("Alpha one"),
        "{status}"
    );
    let beta_line = status.lines().find(|l| l.starts_with("beta")).unwrap();
    assert!(
        beta_line.contains("failed") && beta_line.contains("beta.cf:2: unterminated"),
        "{status}"
    );
    assert_eq!(
        run(&["conmux", "status", d.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );

    // The registry knows alpha; console --list and --status use it.
    let listed = wait_for("alpha registered", || {
        let o = stdout(&run(&["console", "--list", &reg]));
        o.starts_with("alpha 127.0.0.1:").then_some(o)
    });
    let first_addr = listed.split_whitespace().nth(1).unwrap().to_owned();
    assert!(alpha_line.contains(&first_addr), "{alpha_line} vs {listed}");
    let st = stdout(&run(&["console", "--status", &format!("{reg}/alpha")]));
    assert_eq!(st.trim(), "transition");
    assert_eq!(
        stdout(&run(&["console", "--status", &format!("{reg}/nosuch")])).trim(),
        "unavailable"
    );
    assert!(
        legacy_connect(&first_addr)
            .unwrap()
            .contains("title=Alpha%20one%20")
    );

    // Changed config: restarted with the new title, registered anew.
    std::fs::write(d.join("alpha.cf"), cf("Alpha two")).unwrap();
    let new_addr = wait_for("alpha restarted", || {
        let o = stdout(&run(&["console", "--list", &reg]));
        let addr = o.split_whitespace().nth(1)?.to_owned();
        (addr != first_addr).then_some(addr)
    });
    assert!(
        legacy_connect(&new_addr)
            .unwrap()
            .contains("title=Alpha%20two%20")
    );
    assert!(
        legacy_connect(&first_addr).is_none(),
        "the old server still answers"
    );

    // Fixed config: started. Removed config: stopped.
    std::fs::write(
        d.join("beta.cf"),
        format!(
            "listener {reg}/beta\nsocket console 'Beta' {}\n",
            console.addr
        ),
    )
    .unwrap();
    std::fs::remove_file(d.join("alpha.cf")).unwrap();
    let status = wait_for("beta running, alpha gone", || {
        let s = status_of(d);
        (!s.contains("alpha")
            && s.lines()
                .any(|l| l.starts_with("beta") && l.contains("running")))
        .then_some(s)
    });
    assert_eq!(
        run(&["conmux", "status", d.to_str().unwrap()])
            .status
            .code(),
        Some(0),
        "{status}"
    );
    wait_for("alpha's server stopped", || {
        legacy_connect(&new_addr).is_none().then_some(())
    });
}

#[test]
fn registry_and_server_commands_with_attach_and_console() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let console = TcpConsole::start();
    let port = free_port();
    let reg = format!("127.0.0.1:{port}");
    let store = d.join("registry");
    let registry = daemon(&[
        "conmux",
        "registry",
        "--port",
        &port.to_string(),
        store.to_str().unwrap(),
    ]);
    let cf = d.join("box.cf");
    std::fs::write(
        &cf,
        format!(
            "listener {reg}/box\nsocket console 'box one' {}\n",
            console.addr
        ),
    )
    .unwrap();
    let _server = daemon(&["conmux", "server", cf.to_str().unwrap()]);
    let target = format!("{reg}/box");
    wait_for("box registered", || {
        stdout(&run(&["console", "--list", &reg]))
            .starts_with("box ")
            .then_some(())
    });

    // conmux-attach: the program's stdout goes to the console, the console's output to its stdin.
    let attach = autotest()
        .args([
            "conmux-attach",
            &target,
            "sh",
            "-c",
            "echo hello-from-attach; read line; echo \"got:$line\"",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    console.wait_received("hello-from-attach\n");
    console.send(b"ping\n");
    console.wait_received("got:ping\n");
    let out = attach.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");

    // An interactive session with piped stdin: typed bytes reach the console, ~$quit ends it.
    let mut session = autotest()
        .args(["console", &target])
        .env("LOGNAME", "tester")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = session.stdin.take().unwrap();
    wait_for("the session attached", || {
        String::from_utf8_lossy(&console.received.lock().unwrap())
            .contains("got:ping")
            .then_some(())
    });
    stdin.write_all(b"uname -a\r").unwrap();
    console.wait_received("uname -a\r");
    console.send(b"Linux box 6.1\n");
    stdin.write_all(b"~$quit\r").unwrap();
    let pid = session.id();
    let out = std::thread::scope(|s| {
        let waiter = s.spawn(move || session.wait_with_output().unwrap());
        let start = Instant::now();
        while !waiter.is_finished() {
            if start.elapsed() > WAIT {
                // SAFETY: kill(2) of the child this test started.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                panic!("console did not exit after ~$quit");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        waiter.join().unwrap()
    });
    let text = stdout(&out);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.starts_with("Connected to box one [channel transition] (~$quit to exit)\r\n"),
        "{text:?}"
    );
    assert!(text.contains("Command(box one)> quit"), "{text:?}");

    // The registry keeps its entries across a restart of the process.
    drop(registry);
    let _registry = daemon(&[
        "conmux",
        "registry",
        "--port",
        &port.to_string(),
        store.to_str().unwrap(),
    ]);
    let listed = wait_for("registry back", || {
        let o = run(&["console", "--list", &reg]);
        o.status.success().then(|| stdout(&o))
    });
    assert!(listed.starts_with("box 127.0.0.1:"), "{listed}");
}

#[test]
fn a_bad_cf_is_a_clear_error_from_conmux_server() {
    let dir = tempfile::tempdir().unwrap();
    let cf = dir.path().join("bad.cf");
    std::fs::write(
        &cf,
        "listener box\nsocket console 'x' 1.2.3.4:5\ncommand hardreset 'x'\n",
    )
    .unwrap();
    let out = run(&["conmux", "server", cf.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains(
            "bad.cf:3: `command` takes 3 argument(s), found 2; fix: write `command <name>"
        ),
        "{err}"
    );
}

/// A pseudo-terminal pair for a child's stdin/stdout: (master, slave).
fn pty() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors; the other arguments may be null.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    }
}

#[test]
fn console_on_a_terminal_is_raw_and_restores_the_terminal() {
    use std::os::fd::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let console = TcpConsole::start();
    let cf = dir.path().join("box.cf");
    let port = free_port();
    std::fs::write(
        &cf,
        format!(
            "listener {port}\nsocket console 'box one' {}\n",
            console.addr
        ),
    )
    .unwrap();
    let _server = daemon(&["conmux", "server", cf.to_str().unwrap()]);
    let target = format!("127.0.0.1:{port}");
    wait_for("server up", || TcpStream::connect(&target).ok());
    let (mut master, slave) = pty();
    let cooked = |fd: i32| {
        // SAFETY: termios is plain data filled by tcgetattr for a descriptor we hold.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0);
        t.c_lflag & libc::ICANON != 0
    };
    assert!(
        cooked(slave.as_raw_fd()),
        "a new pty starts in canonical mode"
    );
    let mut session = autotest()
        .args(["console", &target])
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Drain what the client prints so it never blocks on a full pty.
    let mut reader = master.try_clone().unwrap();
    let shown = Arc::new(Mutex::new(Vec::new()));
    let sink = shown.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    wait_for("Connected banner", || {
        String::from_utf8_lossy(&shown.lock().unwrap())
            .contains("Connected to box one")
            .then_some(())
    });
    wait_for("raw mode", || (!cooked(slave.as_raw_fd())).then_some(()));
    // Raw: keys reach the console one by one, with no line end, and ^C is a byte, not a signal.
    master.write_all(b"ab\x03").unwrap();
    console.wait_received("ab\x03");
    master.write_all(b"~$quit\r").unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = session.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < WAIT, "console did not exit after ~$quit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    assert!(cooked(slave.as_raw_fd()), "terminal settings restored");
}

fn line_of(status: &str, name: &str) -> Option<String> {
    status
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .map(str::to_owned)
}

fn listed(reg: &str) -> String {
    stdout(&run(&["console", "--list", reg]))
}

#[test]
fn two_cf_files_with_one_listener_name_the_first_runs_the_second_fails() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("conf");
    std::fs::create_dir(&d).unwrap();
    let console = TcpConsole::start();
    let port = free_port();
    let reg = format!("127.0.0.1:{port}");
    let cf = |title: &str| {
        format!(
            "listener {reg}/dup\nsocket console '{title}' {}\n",
            console.addr
        )
    };
    std::fs::write(d.join("one.cf"), cf("Dup one")).unwrap();
    std::fs::write(d.join("two.cf"), cf("Dup two")).unwrap();
    let log = dir.path().join("supervisor.log");
    let _sup = Daemon(
        autotest()
            .args([
                "conmux",
                "start",
                "--port",
                &port.to_string(),
                d.to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );

    let status = wait_for("one running and two failed", || {
        let s = status_of(&d);
        let (one, two) = (line_of(&s, "one")?, line_of(&s, "two")?);
        (one.contains(" running ") && two.contains(" failed ")).then_some(s)
    });
    let one = line_of(&status, "one").unwrap();
    let one_addr = one.split_whitespace().nth(2).unwrap().to_owned();
    let two = line_of(&status, "two").unwrap();
    let why =
        format!("listener {reg}/dup is already served by one.cf (running at {one_addr}); fix:");
    assert!(two.contains(&why), "{status}");
    assert_eq!(
        run(&["conmux", "status", d.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    let reg_line = wait_for("dup registered", || {
        let o = listed(&reg);
        (!o.is_empty()).then_some(o)
    });
    assert_eq!(reg_line, format!("dup {one_addr}\n"));
    assert!(
        legacy_connect(&one_addr)
            .unwrap()
            .contains("title=Dup%20one%20")
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains(&format!("two: {why}")), "{logged}");
    // Stays so on the supervisor's next passes (the header's time changes with each).
    let later = wait_for("another status pass", || {
        let s = status_of(&d);
        (s.lines().next() != status.lines().next()).then_some(s)
    });
    let (one, two) = (
        line_of(&later, "one").unwrap(),
        line_of(&later, "two").unwrap(),
    );
    assert!(
        one.contains(" running ") && one.contains(&one_addr),
        "{later}"
    );
    assert!(two.contains(" failed ") && two.contains(&why), "{later}");
    assert_eq!(listed(&reg), format!("dup {one_addr}\n"));

    // The holder goes away: two takes the name.
    std::fs::remove_file(d.join("one.cf")).unwrap();
    let two_addr = wait_for("two running", || {
        let s = status_of(&d);
        let two = line_of(&s, "two")?;
        (line_of(&s, "one").is_none() && two.contains(" running "))
            .then(|| two.split_whitespace().nth(2).unwrap().to_owned())
    });
    wait_for("dup registered at two", || {
        (listed(&reg) == format!("dup {two_addr}\n")).then_some(())
    });
    assert!(
        legacy_connect(&two_addr)
            .unwrap()
            .contains("title=Dup%20two%20")
    );
}

#[test]
fn a_name_held_by_a_live_server_elsewhere_is_refused_to_servers_and_the_supervisor() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("conf");
    std::fs::create_dir(&d).unwrap();
    let console = TcpConsole::start();
    let port = free_port();
    let reg = format!("127.0.0.1:{port}");
    let _sup = daemon(&[
        "conmux",
        "start",
        "--port",
        &port.to_string(),
        d.to_str().unwrap(),
    ]);
    wait_for("the registry up", || {
        run(&["console", "--list", &reg])
            .status
            .success()
            .then_some(())
    });
    let cf = |file: &str, title: &str| {
        let p = dir.path().join(file);
        std::fs::write(
            &p,
            format!(
                "listener {reg}/ext\nsocket console '{title}' {}\n",
                console.addr
            ),
        )
        .unwrap();
        p
    };
    let first = cf("first.cf", "Ext first");
    let _first = daemon(&["conmux", "server", first.to_str().unwrap()]);
    let held = wait_for("ext registered", || {
        let o = listed(&reg);
        o.strip_prefix("ext ").map(|a| a.trim().to_owned())
    });

    // A second standalone server under the live name exits with the registry's reason.
    let second = cf("second.cf", "Ext second");
    // A Daemon, so it is killed should the test fail while it still runs.
    let mut child = Daemon(
        autotest()
            .args(["conmux", "server", second.to_str().unwrap()])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let code = wait_some("the second server to exit", WAIT, || {
        child.0.try_wait().unwrap()
    });
    let mut err = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(code.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("second.cf: registering ext: {reg}: ADD refused: EEXIST ext is registered at {held}, which is live")),
        "{err}"
    );

    // A .cf of the supervisor under that name: started, refused, stopped, shown failed.
    std::fs::write(
        d.join("third.cf"),
        format!(
            "listener {reg}/ext\nsocket console 'Ext third' {}\n",
            console.addr
        ),
    )
    .unwrap();
    let status = wait_for("third failed", || {
        let s = status_of(&d);
        line_of(&s, "third")?.contains(" failed ").then_some(s)
    });
    assert!(
        line_of(&status, "third").unwrap().contains(&format!(
            "EEXIST ext is registered at {held}, which is live"
        )),
        "{status}"
    );
    assert_eq!(listed(&reg), format!("ext {held}\n"));
    assert!(
        legacy_connect(&held)
            .unwrap()
            .contains("title=Ext%20first%20")
    );
}
