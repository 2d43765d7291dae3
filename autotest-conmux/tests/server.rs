//! The console server over real loopback TCP, with a real TCP console (what ser2net exports)
//! or a real program as the console.

use std::path::Path;
use std::time::Duration;

use autotest_conmux::client::{self, CommandStatus, Session};
use autotest_conmux::{
    ClientId, ConnectType, ConsoleConfig, ConsoleServer, Registration, RegistryServer,
};
use autotest_testlab::process::eventually;
use autotest_testlab::tcp_console::{FakeConsole, legacy, read_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn serve(dir: &Path, body: &str) -> ConsoleServer {
    let cf = autotest_testlab::write(dir, "box.cf", &format!("listener 0\n{body}"));
    ConsoleServer::start(ConsoleConfig::load(&cf).unwrap())
        .await
        .unwrap()
}

async fn socket_server(dir: &Path, console: &FakeConsole, extra: &str) -> ConsoleServer {
    serve(
        dir,
        &format!("socket console 'box one' {}\n{extra}", console.addr),
    )
    .await
}

async fn attach(server: &ConsoleServer, who: &str, kind: ConnectType) -> tokio::net::TcpStream {
    let addr = server.local_addr().to_string();
    Session::open(&addr, &ClientId::User(who.into()), kind)
        .await
        .unwrap()
        .into_stream()
}

fn log_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("box.log")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_clients_see_the_same_bytes_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let console = FakeConsole::start().await;
    let server = socket_server(dir.path(), &console, "").await;
    console.wait_connections(1).await;
    let mut clients = Vec::new();
    for (i, kind) in [
        ConnectType::Client,
        ConnectType::Client,
        ConnectType::Watch,
        ConnectType::Watch,
    ]
    .into_iter()
    .enumerate()
    {
        clients.push(attach(&server, &format!("u{i}"), kind).await);
    }
    eventually("4 clients attached", || {
        (server.status().clients == 4).then_some(())
    })
    .await;
    let payload: String = (0..5000).map(|i| format!("line {i:05}\n")).collect();
    for chunk in payload.as_bytes().chunks(777) {
        console.send(chunk);
    }
    for c in &mut clients {
        let got = read_until(c, "line 04999\n").await;
        assert!(got.contains(&payload), "a client missed or reordered bytes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_writer_watchers_cannot_write_and_write_can_be_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let console = FakeConsole::start().await;
    let server = socket_server(dir.path(), &console, "").await;
    let mut first = attach(&server, "alice", ConnectType::Client).await;
    let mut watcher = attach(&server, "wendy", ConnectType::Watch).await;
    let mut second = attach(&server, "bob", ConnectType::Client).await;
    read_until(
        &mut second,
        "(user:alice is writing; you are watching; ~$write takes over)",
    )
    .await;
    assert_eq!(server.status().writer.as_deref(), Some("user:alice"));

    watcher.write_all(b"from-watcher\r").await.unwrap();
    read_until(&mut watcher, "<<<READ-ONLY: this session watches only>>>").await;
    second.write_all(b"from-bob\r").await.unwrap();
    read_until(
        &mut second,
        "<<<READ-ONLY: user:alice is writing; ~$write takes over>>>",
    )
    .await;
    first.write_all(b"from-alice\r").await.unwrap();
    console.wait_received("from-alice\r").await;

    // A watcher may not take the write; bob may.
    watcher.write_all(b"~$write\r").await.unwrap();
    read_until(
        &mut watcher,
        "write: not allowed, this session is read-only",
    )
    .await;
    second.write_all(b"~$write\r").await.unwrap();
    read_until(&mut first, "(user:bob) took over writing from user:alice").await;
    second.write_all(b"bob-now\r").await.unwrap();
    first.write_all(b"alice-now\r").await.unwrap();
    read_until(&mut first, "<<<READ-ONLY: user:bob is writing").await;
    let got = console.wait_received("bob-now\r").await;
    assert!(
        !got.contains("from-watcher") && !got.contains("from-bob") && !got.contains("alice-now"),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_dropped_without_stalling_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let console = FakeConsole::start().await;
    let server = socket_server(dir.path(), &console, "log box.log 1000000000\n").await;
    // A small receive buffer, so the kernel cannot hide the backlog from the server.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut slow = sock.connect(server.local_addr()).await.unwrap();
    slow.write_all(b"CONNECT id=user%3Aslow to=console type=watch\n")
        .await
        .unwrap();
    assert!(
        autotest_testlab::tcp_console::read_line(&mut slow)
            .await
            .contains("status=OK")
    );
    let mut fast = attach(&server, "fast", ConnectType::Watch).await;
    eventually("2 clients", || (server.status().clients == 2).then_some(())).await;
    // Far more than the slow client's queue plus its socket buffers.
    let block = vec![b'x'; 64 * 1024];
    let total = 24 * 1024 * 1024;
    let reader = tokio::spawn(async move {
        let mut n = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        while n < total {
            let r = tokio::time::timeout(autotest_testlab::process::WAIT, fast.read(&mut buf))
                .await
                .expect("fast client stalled")
                .unwrap();
            assert!(r > 0, "fast client closed after {n} bytes");
            n += r;
        }
        (n, fast)
    });
    // Paced, so the fast client keeps up however slow this (debug) build is.
    for _ in 0..total / block.len() {
        console.send(&block);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (received, _fast) = reader.await.unwrap();
    assert_eq!(received, total);
    eventually("slow client dropped", || {
        (server.status().clients == 1).then_some(())
    })
    .await;
    // The slow client gets what was queued for it, then the notice, then end of stream.
    let mut rest = Vec::new();
    tokio::time::timeout(autotest_testlab::process::WAIT, slow.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&rest).ends_with(autotest_conmux::server::DROPPED_NOTICE));
    assert!(log_text(dir.path()).contains("[-- detach user:slow (too slow) --]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_that_goes_away_is_reconnected() {
    let dir = tempfile::tempdir().unwrap();
    let console = FakeConsole::start().await;
    let server = socket_server(dir.path(), &console, "").await;
    let mut c = attach(&server, "u", ConnectType::Client).await;
    console.send(b"before\n");
    read_until(&mut c, "before\n").await;
    console.hang_up();
    read_until(&mut c, "<<<PAYLOAD LOST ... retrying in 1 secs>>>\n").await;
    read_until(&mut c, "<<<PAYLOAD RESTART>>>\n").await;
    console.wait_connections(2).await;
    console.send(b"after\n");
    read_until(&mut c, "after\n").await;
    c.write_all(b"typed\r").await.unwrap();
    console.wait_received("typed\r").await;
    assert!(server.status().connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_holds_everything_with_marks_and_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let console = FakeConsole::start().await;
    let server = socket_server(dir.path(), &console, "log box.log 4096 2\n").await;
    console.wait_connections(1).await;
    // Nobody attached: still logged.
    console.send(b"boot: nobody watching\n");
    eventually("unattended output logged", || {
        log_text(dir.path())
            .contains("boot: nobody watching")
            .then_some(())
    })
    .await;
    let mut c = attach(&server, "carol", ConnectType::Client).await;
    console.send(b"partial line ");
    console.send(b"ends here\n");
    read_until(&mut c, "ends here\n").await;
    drop(c);
    eventually("detach marked", || {
        log_text(dir.path())
            .contains("[-- detach user:carol --]")
            .then_some(())
    })
    .await;
    let log = log_text(dir.path());
    let line = log
        .lines()
        .find(|l| l.contains("partial line ends here"))
        .unwrap();
    // `YYYY-mm-dd HH:MM:SS.mmm ` then the console's line, whole.
    assert_eq!(line.len(), 24 + "partial line ends here".len(), "{line:?}");
    assert!(
        line.as_bytes()[4] == b'-' && line.as_bytes()[10] == b' ',
        "{line:?}"
    );
    assert!(log.contains("[-- attach user:carol (client) --]"), "{log}");
    assert!(log.contains("(user:carol) connected"), "{log}");
    // Rotation: 3 files of at most ~4 KiB + one line, the oldest beyond `keep` deleted.
    for i in 0..200 {
        console.send(format!("filler {i:03} {}\n", "z".repeat(60)).as_bytes());
    }
    eventually("rotated", || {
        log_text(dir.path()).contains("filler 199").then_some(())
    })
    .await;
    let rotated1 = std::fs::read_to_string(dir.path().join("box.log.1")).unwrap();
    assert!(dir.path().join("box.log.2").exists() && !dir.path().join("box.log.3").exists());
    assert!(
        rotated1.len() < 4096 + 200 && rotated1.contains("filler"),
        "{}",
        rotated1.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardreset_runs_is_announced_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let console = FakeConsole::start().await;
    let marker = dir.path().join("power-cycled");
    let extra = format!(
        "command hardreset 'initiated a hard reset' 'sh -c \"echo cycling outlet $0; echo pdu-warning >&2; touch {}\"'\n\
         help hardreset 'power-cycle the machine'\n\
         command fail 'tries to fail' 'sh -c \"exit 3\"'\n",
        marker.display()
    );
    let server = socket_server(dir.path(), &console, &extra).await;
    let target = server.local_addr().to_string();
    let mut watcher = attach(&server, "wendy", ConnectType::Watch).await;
    let bot = ClientId::Bot("autoserv".into());
    let outcome = client::run_command(&target, &bot, "hardreset", "4")
        .await
        .unwrap();
    assert_eq!(outcome.status, CommandStatus::Exited(0));
    assert!(
        outcome.output.contains("cycling outlet 4"),
        "{}",
        outcome.output
    );
    assert!(
        outcome.output.contains("pdu-warning"),
        "stderr goes to the requester: {}",
        outcome.output
    );
    assert!(marker.exists());
    let seen = read_until(
        &mut watcher,
        "(bot:autoserv) hardreset exited with status 0",
    )
    .await;
    assert!(
        seen.contains("(bot:autoserv) initiated a hard reset\n"),
        "{seen}"
    );
    assert!(
        seen.contains("cycling outlet 4\n") && !seen.contains("pdu-warning"),
        "{seen}"
    );
    let failed = client::run_command(&target, &bot, "fail", "")
        .await
        .unwrap();
    assert_eq!(failed.status, CommandStatus::Exited(3));
    let unknown = client::run_command(&target, &bot, "nosuch", "")
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("no command `nosuch`"),
        "{unknown}"
    );
    // Watchers may not run commands.
    watcher.write_all(b"~$hardreset\r").await.unwrap();
    read_until(
        &mut watcher,
        "hardreset: not allowed, this session is read-only",
    )
    .await;
    eventually("logged", || {
        let log = log_text(dir.path());
        (log.contains("[-- command fail by bot:autoserv: exited with status 3 --]")).then_some(())
    })
    .await;
    let log = log_text(dir.path());
    for want in [
        "(bot:autoserv) initiated a hard reset",
        "cycling outlet 4",
        "pdu-warning",
        "[-- command hardreset by bot:autoserv: exited with status 0 --]",
    ] {
        assert!(log.contains(want), "log lacks {want:?}:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_protocol_lines_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let console = FakeConsole::start().await;
    let server = socket_server(dir.path(), &console, "help hardreset 'power-cycle it'\n").await;
    let addr = server.local_addr().to_string();
    let cases = [
        (
            "CONNECT to=console",
            "status=EACCES%20identifier%20required",
        ),
        (
            "LOOKUP id=user%3Ax service=y",
            "status=ENOSYS%20unknown%20command",
        ),
        (
            "CONNECT id=user%3Ax",
            "status=EINVAL%20CONNECT%20%20requires%20%27to%27%20specifier",
        ),
        (
            "CONNECT id=user%3Ax to=serial",
            "status=EINVAL%20%27serial%27%20not%20a%20%20valid%20destination%20specifier",
        ),
        (
            "CONNECT id=user%3Ax to=console type=bogus",
            "status=EINVAL%20%27bogus%27%20not%20a%20valid%20destination%20type",
        ),
    ];
    for (line, want) in cases {
        assert_eq!(legacy(&addr, line).await.0, want, "{line}");
    }
    // Within the first minute the channel is in transition, as legacy reports it.
    let (reply, mut root) = legacy(&addr, "CONNECT id=user%3Aroot to=console type=client").await;
    assert_eq!(
        reply,
        "state=transition status=OK title=box%20one%20%5Bchannel%20transition%5D"
    );
    let (reply, mut bot) = legacy(&addr, "CONNECT id=bot%3Aauto to=console").await;
    assert_eq!(
        reply,
        "motd=%28user%3Aroot%29%20is%20already%20connected%0A state=transition status=OK title=box%20one%20%5Bchannel%20transition%5D"
    );
    read_until(&mut root, "(bot:auto) connected\n").await;
    // A legacy `type=status` connection receives nothing; what it sends is shown to everyone.
    let (_, mut status) = legacy(&addr, "CONNECT id=bot%3Amon to=console type=status").await;
    status.write_all(b"note from status\n").await.unwrap();
    read_until(&mut root, "note from status\n").await;
    // Command mode as legacy: prompt with the title, echo, help, msg, quit.
    root.write_all(b"~$help\r").await.unwrap();
    let help = read_until(&mut root, "quit").await;
    assert!(help.contains("\r\nCommand(box one)> help\nConmux commands:\n  break                send a break sequence\n  hardreset            power-cycle it\n  msg "), "{help:?}");
    root.write_all(b"~$msg going down\r").await.unwrap();
    read_until(&mut bot, "(user:root) going down\n").await;
    root.write_all(b"~$bogus\r").await.unwrap();
    read_until(&mut root, "Command not recognised\n").await;
    root.write_all(b"~$break\r").await.unwrap();
    console.wait_received("\u{fffd}\u{fffd}").await; // IAC BREAK (0xff 0xf3) reached the console
    assert!(console.received().ends_with(&[255, 243]));
    root.write_all(b"ls\r~$quit\r").await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(autotest_testlab::process::WAIT, root.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    read_until(&mut bot, "(user:root) disconnected\n").await;
    console.wait_received("ls\r").await;
    let mut none = [0u8; 64];
    let quiet = tokio::time::timeout(Duration::from_millis(300), status.read(&mut none)).await;
    assert!(quiet.is_err(), "a status connection received bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telnet_negotiation_from_a_terminal_server_is_answered_and_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let console = FakeConsole::start().await;
    let server = socket_server(dir.path(), &console, "").await;
    let mut c = attach(&server, "u", ConnectType::Client).await;
    console.send(&[255, 251, 1, b'o', b'k', 255, 253, 24, b'\n']);
    let got = read_until(&mut c, "ok\n").await;
    assert!(!got.contains('\u{fffd}'), "{got:?}");
    eventually("replies", || {
        (console.received() == [255, 253, 1, 255, 252, 24]).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_console_on_a_pty_and_on_pipes() {
    let dir = tempfile::tempdir().unwrap();
    // On a pty: the program sees a terminal.
    let server = serve(
        dir.path(),
        "application console 'shell' 'sh -c \"tty; exec cat\"'\n",
    )
    .await;
    let mut c = attach(&server, "u", ConnectType::Client).await;
    read_until(&mut c, "/dev/pts/").await;
    c.write_all(b"round trip\n").await.unwrap();
    read_until(&mut c, "round trip").await;
    drop(c);
    drop(server);
    // Without: pipes, as legacy; stderr shows too. The program ending is a lost console.
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), "application console 'p' 'sh -c \"tty || echo not-a-tty >&2; read x; echo got-\\$x\"'\npty off\n").await;
    let mut c = attach(&server, "u", ConnectType::Client).await;
    read_until(&mut c, "not-a-tty").await;
    c.write_all(b"one\n").await.unwrap();
    read_until(
        &mut c,
        "got-one\n<<<PAYLOAD LOST ... retrying in 1 secs>>>\n",
    )
    .await;
    read_until(&mut c, "<<<PAYLOAD RESTART>>>\n").await;
    read_until(&mut c, "not-a-tty").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_list_refuses_other_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let console = FakeConsole::start().await;
    let server = socket_server(dir.path(), &console, "allow 10.1.2.3 192.168.0.0/16\n").await;
    let (reply, _) = legacy(
        &server.local_addr().to_string(),
        "CONNECT id=user%3Ax to=console",
    )
    .await;
    assert_eq!(reply, "status=EACCES%20address%20not%20allowed");
    let server2 = socket_server(dir.path(), &console, "allow 127.0.0.0/8\n").await;
    let (reply, _) = legacy(
        &server2.local_addr().to_string(),
        "CONNECT id=user%3Ax to=console",
    )
    .await;
    assert!(reply.contains("status=OK"), "{reply}");
    assert!(server.local_addr().ip().is_loopback());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_listener_registers_and_clients_resolve_it() {
    let dir = tempfile::tempdir().unwrap();
    let registry = RegistryServer::start("127.0.0.1:0".parse().unwrap(), &dir.path().join("store"))
        .await
        .unwrap();
    let reg = registry.local_addr().to_string();
    let console = FakeConsole::start().await;
    let cf = autotest_testlab::write(
        dir.path(),
        "box.cf",
        &format!(
            "listener {reg}/box1\nsocket console 'box one' {}\n",
            console.addr
        ),
    );
    let server = ConsoleServer::start(ConsoleConfig::load(&cf).unwrap())
        .await
        .unwrap();
    let target = format!("{reg}/box1");
    let at = eventually("registered", || {
        std::fs::read_to_string(dir.path().join("store"))
            .ok()
            .filter(|s| s.starts_with("box1 "))
    })
    .await;
    assert_eq!(at, format!("box1 {}\n", server.local_addr()));
    let mut s = Session::open(&target, &ClientId::Bot("t".into()), ConnectType::Client)
        .await
        .unwrap();
    assert_eq!(s.title(), "box one [channel transition]");
    console.send(b"via registry\n");
    read_until(s.stream(), "via registry\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_under_a_live_name_is_refused_and_the_first_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let registry = RegistryServer::start("127.0.0.1:0".parse().unwrap(), &store)
        .await
        .unwrap();
    let reg = registry.local_addr().to_string();
    let console = FakeConsole::start().await;
    let start = |file: &str, title: &str| {
        let cf = autotest_testlab::write(
            dir.path(),
            file,
            &format!(
                "listener {reg}/dup\nsocket console '{title}' {}\n",
                console.addr
            ),
        );
        ConsoleServer::start(ConsoleConfig::load(&cf).unwrap())
    };
    let first = start("first.cf", "first").await.unwrap();
    let at = first.local_addr().to_string();
    assert_eq!(first.settled().await, Registration::Registered(at.clone()));
    let second = start("second.cf", "second").await.unwrap();
    let Registration::Refused(why) = second.settled().await else {
        panic!("second registration: {:?}", second.registration());
    };
    assert!(
        why.contains(&format!(
            "ADD refused: EEXIST dup is registered at {at}, which is live"
        )),
        "{why}"
    );
    assert_eq!(
        std::fs::read_to_string(&store).unwrap(),
        format!("dup {at}\n")
    );
    let s = Session::open(
        &format!("{reg}/dup"),
        &ClientId::Bot("t".into()),
        ConnectType::Watch,
    )
    .await
    .unwrap();
    assert_eq!(s.title(), "first [channel transition]");

    // Once the first has stopped, its entry is dead and a new server takes the name.
    drop(second);
    first.stop().await;
    let third = start("third.cf", "third").await.unwrap();
    let at = third.local_addr().to_string();
    assert_eq!(third.settled().await, Registration::Registered(at.clone()));
    assert_eq!(
        std::fs::read_to_string(&store).unwrap(),
        format!("dup {at}\n")
    );
}
