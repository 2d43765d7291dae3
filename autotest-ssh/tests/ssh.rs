//! The SSH transport against real OpenSSH sshd processes (one per test).

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use autotest_core::transport::{CommandSpec, ExitOutcome, OutputStream, Transport, TransportError};
use autotest_ssh::{HostKeyPolicy, SshOptions, SshPool, SshTransport};
use autotest_testlab::sshd::Sshd;

/// What the transport needs to reach the lab's loopback sshd (the lab knows no project crate,
/// so these options are built here from its paths).
trait SshdOptions {
    /// Options that trust this sshd and use the generated client key (no agent).
    fn options(&self) -> SshOptions;
}

impl SshdOptions for Sshd {
    fn options(&self) -> SshOptions {
        SshOptions::default()
            .identity_file(&self.client_key)
            .use_agent(false)
            .known_hosts(&self.known_hosts)
            .connect_timeout(Duration::from_secs(5))
    }
}

fn transport(sshd: &Sshd) -> SshTransport {
    SshTransport::new(&sshd.machine(), sshd.options()).unwrap()
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::new(["sh", "-c", script])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_signals_output_stdin_env_and_cwd() {
    let sshd = Sshd::start();
    let t = transport(&sshd);

    let r = t
        .exec(&sh("echo out; echo err >&2; exit 3"), None)
        .await
        .unwrap();
    assert_eq!(r.outcome, ExitOutcome::Code(3));
    assert_eq!(r.stdout_text(), "out\n");
    assert_eq!(
        r.stderr_text(),
        "err\n",
        "the pid marker must not leak into stderr"
    );

    let r = t.exec(&sh("kill -KILL $$"), None).await.unwrap();
    assert_eq!(r.outcome, ExitOutcome::Signal("KILL".into()));
    assert!(!r.outcome.success());

    // Streaming: chunks arrive as they are produced, tagged by stream; nothing is captured. The
    // command waits for a file the test creates only after the first chunk arrived, so output
    // held back until the end would hang here (and fail at the timeout).
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let gate = sshd.path("streaming-gate");
    let streamed = CommandSpec::new([
        "sh",
        "-c",
        "echo first; while [ ! -e \"$1\" ]; do sleep 0.05; done; echo second >&2",
        "sh",
        gate.to_str().unwrap(),
    ])
    .timeout(Duration::from_secs(60));
    let run = t.exec(&streamed, Some(tx));
    let (first, result) = tokio::join!(
        async {
            let first = rx.recv().await;
            std::fs::write(&gate, "").unwrap();
            first
        },
        run
    );
    let (stream, chunk) = first.unwrap();
    assert_eq!(
        (stream, chunk.as_slice()),
        (OutputStream::Stdout, &b"first\n"[..])
    );
    let result = result.unwrap();
    assert!(result.outcome.success() && result.stdout.is_empty() && result.stderr.is_empty());
    let mut rest = Vec::new();
    while let Ok((s, c)) = rx.try_recv() {
        rest.push((s, c));
    }
    assert_eq!(rest, vec![(OutputStream::Stderr, b"second\n".to_vec())]);

    // Stdin, small and large (both directions at once: flow control must not deadlock).
    let r = t
        .exec(&CommandSpec::new(["cat"]).stdin(b"fed\n".to_vec()), None)
        .await
        .unwrap();
    assert_eq!(r.stdout_text(), "fed\n");
    let big: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let r = t
        .exec(&CommandSpec::new(["cat"]).stdin(big.clone()), None)
        .await
        .unwrap();
    assert!(r.outcome.success());
    assert!(
        r.stdout == big,
        "4 MiB through cat came back different ({} bytes)",
        r.stdout.len()
    );
    // No stdin: the command sees end of file at once instead of hanging.
    let r = t
        .exec(
            &CommandSpec::new(["cat"]).timeout(Duration::from_secs(5)),
            None,
        )
        .await
        .unwrap();
    assert_eq!((r.outcome, r.stdout.len()), (ExitOutcome::Code(0), 0));

    let dir = sshd.path("work dir");
    std::fs::create_dir(&dir).unwrap();
    let r = t
        .exec(
            &sh("pwd; echo \"$GREETING\"")
                .cwd(dir.to_str().unwrap())
                .env("GREETING", "hi there $USER"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        r.stdout_text(),
        format!("{}\nhi there $USER\n", dir.display())
    );
    t.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nasty_arguments_round_trip_exactly() {
    let sshd = Sshd::start();
    let t = transport(&sshd);
    let nasty = [
        "a b",
        "it's",
        "\"double\"",
        "$HOME",
        "${PATH}",
        "`id`",
        "$(id)",
        "semi;colon",
        "pipe|x",
        "amp&",
        "back\\slash",
        "*",
        "?",
        "[a]",
        "~",
        "#hash",
        "new\nline",
        "tab\there",
        "-n",
        "--",
        "",
        "é ü 日本",
        "'",
        "''",
        "!bang",
        "{a,b}",
        "<in",
        ">out",
    ];
    let mut argv = vec!["printf".to_owned(), "%s\\0".to_owned()];
    argv.extend(nasty.iter().map(|s| s.to_string()));
    let r = t.exec(&CommandSpec::new(argv), None).await.unwrap();
    assert!(r.outcome.success(), "{}", r.stderr_text());
    let got: Vec<&[u8]> = r.stdout.split(|b| *b == 0).collect();
    let want: Vec<&[u8]> = nasty
        .iter()
        .map(|s| s.as_bytes())
        .chain([&b""[..]])
        .collect();
    assert_eq!(got, want);
    assert!(
        !sshd.path("out").exists(),
        "a '>' argument was taken as a redirection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_concurrent_commands_share_one_connection_within_max_sessions() {
    // The fixture's sshd keeps OpenSSH's default MaxSessions 10.
    let sshd = Sshd::start();
    let pool = SshPool::new(sshd.options());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..30 {
        let t = pool.get(&sshd.machine()).unwrap();
        tasks.push(tokio::spawn(async move {
            t.exec(&sh(&format!("sleep 0.3; echo {i}")), None).await
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let r = task
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("command {i}: {e}"));
        assert_eq!(
            (r.stdout_text(), r.outcome),
            (format!("{i}\n"), ExitOutcome::Code(0))
        );
    }
    let t = pool.get(&sshd.machine()).unwrap();
    assert_eq!(
        t.connections_opened().await,
        1,
        "all 30 commands must share one connection"
    );
    // 8 at a time: 30 commands of 0.3 s need at least 4 rounds.
    assert!(
        started.elapsed() >= Duration::from_millis(1150),
        "{:?}",
        started.elapsed()
    );
    assert!(
        sshd.log_text()
            .lines()
            .filter(|l| l.contains("Accepted publickey"))
            .count()
            == 1
    );
}

/// Lists processes from a pid file that are still running (not gone, not zombies).
const ALIVE: &str = r#"for p in $(cat "$1"); do
  if [ -e /proc/$p ] && [ "$(sed 's/.*) //' /proc/$p/stat | cut -c1)" != Z ]; then echo "alive $p"; fi
done"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_and_abandonment_kill_the_remote_process_group() {
    let sshd = Sshd::start();
    let t = transport(&sshd);
    let pids = sshd.path("pids");
    let pids_s = pids.to_str().unwrap();
    // A shell with a background job and a foreground one; both must die.
    let script = r#"sleep 300 & echo $! > "$1"; echo $$ >> "$1"; sleep 300; echo never"#;
    t.ping().await.unwrap();
    let check = CommandSpec::new(["sh", "-c", ALIVE, "sh", pids_s]);
    let recorded = |what: &str| {
        let text = std::fs::read_to_string(&pids).unwrap_or_default();
        assert_eq!(
            text.lines().count(),
            2,
            "{what}: the command did not record its pids in time (machine too slow?): {text:?}"
        );
    };

    let cmd = CommandSpec::new(["sh", "-c", script, "sh", pids_s]).timeout(Duration::from_secs(3));
    let started = Instant::now();
    let e = t.exec(&cmd, None).await.unwrap_err();
    assert!(matches!(&e, TransportError::Timeout { secs: 3, .. }), "{e}");
    assert!(e.to_string().contains(&sshd.machine()), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    recorded("timeout");
    let r = t.exec(&check, None).await.unwrap();
    assert_eq!(r.stdout_text(), "", "processes survived the timeout");

    // A caller that gives up (drops the future) as soon as the command runs leaves nothing
    // running either.
    std::fs::remove_file(&pids).unwrap();
    let cmd = CommandSpec::new(["sh", "-c", script, "sh", pids_s]);
    let started_up = async {
        while std::fs::read_to_string(&pids)
            .unwrap_or_default()
            .lines()
            .count()
            < 2
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        r = t.exec(&cmd, None) => panic!("the command ended on its own: {r:?}"),
        () = started_up => {}
    }
    recorded("abandoned");
    let mut survivors = String::from("?");
    for _ in 0..100 {
        survivors = t.exec(&check, None).await.unwrap().stdout_text();
        if survivors.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(survivors, "", "processes survived an abandoned command");
    assert_eq!(t.connections_opened().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_loss_is_unknown_and_the_next_command_reconnects() {
    let mut sshd = Sshd::start();
    let t = Arc::new(transport(&sshd));
    t.ping().await.unwrap();
    let runner = Arc::clone(&t);
    let in_flight =
        tokio::spawn(async move { runner.exec(&sh("sleep 30; echo done"), None).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    sshd.kill_all();
    let r = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .expect("a command on a dead connection must end")
        .unwrap()
        .unwrap();
    assert_eq!(r.outcome, ExitOutcome::Unknown("connection lost".into()));
    assert!(!r.outcome.success());

    // While the machine is down: a clear connect error naming the machine.
    let e = t.exec(&sh("true"), None).await.unwrap_err();
    assert!(matches!(e, TransportError::Connect { .. }), "{e}");
    assert!(
        e.to_string().contains("connection refused") && e.to_string().contains(&sshd.machine()),
        "{e}"
    );

    sshd.restart();
    let r = t.exec(&sh("echo back"), None).await.unwrap();
    assert_eq!(
        (r.stdout_text(), r.outcome),
        ("back\n".to_owned(), ExitOutcome::Code(0))
    );
    assert_eq!(t.connections_opened().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_notices_a_silent_peer_and_connect_times_out() {
    let sshd = Sshd::start();
    let opts = sshd.options().keepalive(Duration::from_millis(500), 2);
    let t = Arc::new(SshTransport::new(&sshd.machine(), opts).unwrap());
    t.ping().await.unwrap();
    let runner = Arc::clone(&t);
    let in_flight = tokio::spawn(async move { runner.exec(&sh("sleep 30"), None).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    sshd.signal_sshd("STOP");
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .expect("keepalive must notice the silent peer")
        .unwrap()
        .unwrap();
    assert_eq!(r.outcome, ExitOutcome::Unknown("connection lost".into()));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!t.is_connected().await);
    sshd.signal_sshd("CONT");

    // A server that accepts TCP but never speaks SSH: the connect timeout fires.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let machine = format!("127.0.0.1:{}", silent.local_addr().unwrap().port());
    let opts = sshd.options().connect_timeout(Duration::from_millis(800));
    let started = Instant::now();
    let e = SshTransport::new(&machine, opts)
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert!(matches!(e, TransportError::Connect { .. }), "{e}");
    assert!(e.to_string().contains("within 0.8 s"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_keys_unknown_new_and_changed() {
    let sshd = Sshd::start();
    let kh = sshd.path("kh/known_hosts");
    let opts = |policy| sshd.options().known_hosts(&kh).host_key_policy(policy);

    // Unknown under Strict: refused, with the way to add it.
    let t = SshTransport::new(&sshd.machine(), opts(HostKeyPolicy::Strict)).unwrap();
    let e = t.ping().await.unwrap_err();
    assert!(matches!(e, TransportError::HostKey { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!("ssh-keyscan -p {} 127.0.0.1 >>", sshd.port))
            && text.contains("accept-new"),
        "{text}"
    );
    assert!(!kh.exists());

    // AcceptNew: connects and records it; Strict then accepts it.
    let t = SshTransport::new(&sshd.machine(), opts(HostKeyPolicy::AcceptNew)).unwrap();
    t.ping().await.unwrap();
    let recorded = std::fs::read_to_string(&kh).unwrap();
    assert!(
        recorded.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", sshd.port)),
        "{recorded}"
    );
    let t = SshTransport::new(&sshd.machine(), opts(HostKeyPolicy::Strict)).unwrap();
    t.ping().await.unwrap();

    // Changed: refused under both policies, and known_hosts is left alone.
    let other = sshd.path("other_host_key");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(status.success());
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let fake: Vec<&str> = other_pub.split_whitespace().take(2).collect();
    std::fs::write(
        &kh,
        format!("[127.0.0.1]:{} {}\n", sshd.port, fake.join(" ")),
    )
    .unwrap();
    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
        let t = SshTransport::new(&sshd.machine(), opts(policy)).unwrap();
        let e = t.ping().await.unwrap_err();
        assert!(matches!(e, TransportError::HostKey { .. }), "{e}");
        assert!(
            e.to_string().contains("DIFFERS") && e.to_string().contains("ssh-keygen -R"),
            "{e}"
        );
    }
    assert_eq!(std::fs::read_to_string(&kh).unwrap().lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_keys_and_missing_keys_say_how_to_fix_them() {
    let sshd = Sshd::start();
    let stranger = sshd.path("stranger");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .unwrap();
    assert!(status.success());
    let t = SshTransport::new(&sshd.machine(), sshd.options().identity_file(&stranger)).unwrap();
    let e = t.ping().await.unwrap_err();
    assert!(matches!(e, TransportError::Auth { .. }), "{e}");
    assert!(
        e.to_string().contains("authorized_keys") && e.to_string().contains("refused"),
        "{e}"
    );

    let mut none = sshd.options();
    none.identity_files.clear();
    let e = SshTransport::new(&sshd.machine(), none)
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no key to offer"), "{e}");

    let e = SshTransport::new("h:bad", SshOptions::default()).unwrap_err();
    assert!(e.to_string().contains("[user@]host[:port]"), "{e}");
}

/// An ssh-agent child process, killed on drop.
struct Agent(std::process::Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_agent_keys_authenticate() {
    let sshd = Sshd::start();
    let sock = sshd.path("agent.sock");
    let _agent = Agent(
        std::process::Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start ssh-agent (openssh-client)"),
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sock.exists() {
        assert!(
            Instant::now() < deadline,
            "ssh-agent did not create {}",
            sock.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let added = std::process::Command::new("ssh-add")
        .arg(&sshd.client_key)
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let mut opts = sshd.options().agent_socket(&sock);
    opts.identity_files.clear();
    let t = SshTransport::new(&sshd.machine(), opts).unwrap();
    t.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_and_come_back_exactly() {
    let sshd = Sshd::start();
    let t = transport(&sshd);
    let local = sshd.path("local file");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&local, &data).unwrap();
    std::fs::set_permissions(&local, std::fs::Permissions::from_mode(0o751)).unwrap();
    let remote = sshd.path("remote/new dir/it's here");
    let remote_s = remote.to_str().unwrap();
    t.put_file(&local, remote_s).await.unwrap();
    assert!(std::fs::read(&remote).unwrap() == data);
    assert_eq!(
        std::fs::metadata(&remote).unwrap().permissions().mode() & 0o7777,
        0o751
    );
    // Overwrite in place, with an empty file.
    let empty = sshd.path("empty");
    std::fs::write(&empty, b"").unwrap();
    t.put_file(&empty, remote_s).await.unwrap();
    assert_eq!(std::fs::read(&remote).unwrap().len(), 0);
    t.put_file(&local, remote_s).await.unwrap();

    let back = sshd.path("back/deeper/copy");
    t.get_file(remote_s, &back).await.unwrap();
    assert!(std::fs::read(&back).unwrap() == data);
    let leftovers: Vec<_> = std::fs::read_dir(sshd.path("back/deeper"))
        .unwrap()
        .collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind");

    let e = t
        .get_file(sshd.path("missing").to_str().unwrap(), &sshd.path("m"))
        .await
        .unwrap_err();
    match &e {
        TransportError::Remote {
            outcome, stderr, ..
        } => {
            assert_eq!(outcome, &ExitOutcome::Code(1));
            assert!(stderr.contains("No such file"), "{stderr}");
        }
        other => panic!("{other}"),
    }
    assert!(!sshd.path("m").exists());
    let e = t.put_file(&sshd.path("nope"), "/tmp/x").await.unwrap_err();
    assert!(matches!(e, TransportError::Io { .. }), "{e}");
}

/// What a tree holds: relative path → kind, mode and content or link target.
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let what = if meta.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                walk(root, &path, out);
                format!("dir {mode:o}")
            } else {
                format!(
                    "file {mode:o} {}",
                    String::from_utf8_lossy(&std::fs::read(&path).unwrap())
                )
            };
            out.insert(rel, what);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trees_of_a_thousand_files_keep_modes_and_symlinks() {
    let sshd = Sshd::start();
    let t = transport(&sshd);
    let src = sshd.path("src");
    for i in 0..1000 {
        let dir = src.join(format!("d{}/sub {}", i % 10, i % 3));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join(format!("f{i}.txt"));
        std::fs::write(&f, format!("file {i}\n")).unwrap();
        let mode = [0o644, 0o755, 0o600, 0o640][i % 4];
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::create_dir_all(src.join("empty dir")).unwrap();
    std::fs::set_permissions(src.join("d1"), std::fs::Permissions::from_mode(0o750)).unwrap();
    symlink("d0/sub 0/f0.txt", src.join("link to file")).unwrap();
    symlink("d2", src.join("link to dir")).unwrap();
    symlink("/nowhere/at all", src.join("dangling")).unwrap();
    let want = snapshot(&src);
    assert_eq!(want.len(), 1000 + 10 + 30 + 4);

    let remote = sshd.path("remote tree/inside");
    let started = Instant::now();
    t.put_tree(&src, remote.to_str().unwrap()).await.unwrap();
    let put_took = started.elapsed();
    assert_eq!(snapshot(&remote), want);

    let back = sshd.path("back");
    let started = Instant::now();
    t.get_tree(remote.to_str().unwrap(), &back).await.unwrap();
    let get_took = started.elapsed();
    assert_eq!(snapshot(&back), want);
    // One channel each way: far below a round trip per file.
    assert!(
        put_took < Duration::from_secs(10) && get_took < Duration::from_secs(10),
        "{put_took:?} {get_took:?}"
    );

    let e = t
        .get_tree(sshd.path("no such dir").to_str().unwrap(), &sshd.path("x"))
        .await
        .unwrap_err();
    assert!(matches!(e, TransportError::Remote { .. }), "{e}");
    let e = t
        .put_tree(&sshd.path("no such dir"), "/tmp/y")
        .await
        .unwrap_err();
    assert!(matches!(e, TransportError::Io { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_command_has_a_live_stdin_and_is_killed_when_dropped() {
    use tokio::io::AsyncWriteExt;
    let sshd = Sshd::start();
    let t: Arc<dyn Transport> = Arc::new(transport(&sshd));

    let script = "while read line; do echo \"got $line\"; [ \"$line\" = bye ] && exit 4; done";
    let mut p = Arc::clone(&t).spawn(sh(script));
    for word in ["one", "two"] {
        p.stdin()
            .unwrap()
            .write_all(format!("{word}\n").as_bytes())
            .await
            .unwrap();
        // Each answer comes back before the next line is written: stdin is live, not buffered
        // until end of file.
        let (stream, chunk) = p.recv().await.unwrap();
        assert_eq!(
            (stream, String::from_utf8(chunk).unwrap()),
            (OutputStream::Stdout, format!("got {word}\n"))
        );
    }
    p.stdin().unwrap().write_all(b"bye\n").await.unwrap();
    assert_eq!(p.wait().await.unwrap().outcome, ExitOutcome::Code(4));

    let mut p = Arc::clone(&t).spawn(CommandSpec::new(["wc", "-c"]));
    p.stdin().unwrap().write_all(b"12345").await.unwrap();
    p.close_stdin();
    assert_eq!(p.recv().await.unwrap().1, b"5\n");
    assert!(p.wait().await.unwrap().outcome.success());

    // Dropping the handle kills the remote process group, background jobs included (the
    // fixture's sshd runs on this host, so the remote pid is visible here).
    let mut p = Arc::clone(&t).spawn(sh("sleep 60 & echo $!; wait"));
    let pid: i32 = String::from_utf8(p.recv().await.unwrap().1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    drop(p);
    let gone = async {
        while Path::new(&format!("/proc/{pid}")).exists() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), gone)
        .await
        .expect("the remote background job is killed");

    // Both transports name a signal the same way.
    let local: Arc<dyn Transport> =
        Arc::new(autotest_core::transport::LocalTransport::new("localhost"));
    for tr in [&t, &local] {
        let r = tr.exec(&sh("kill -TERM $$"), None).await.unwrap();
        assert_eq!(
            r.outcome,
            ExitOutcome::Signal("TERM".into()),
            "{}",
            tr.machine()
        );
    }
}
