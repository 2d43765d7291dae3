//! `autotest mirror` through the real binary, against a real `rsync --daemon` on 127.0.0.1
//! serving a small kernel.org-layout tree (tiny stand-in tarballs and patches: the mirror only
//! looks at names and copies bytes), real queue directories, and a real SMTP server (Python's
//! aiosmtpd) for the mail.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use autotest_testlab::process::{Daemon, free_port, wait_for};
use autotest_testlab::upstream::rsync_daemon;

/// The seed's basic-tests control file, as a lab would map it.
const BASIC_TESTS: &str = include_str!("../../examples/control/basic-tests");

/// aiosmtpd on 127.0.0.1:<free port>, delivering into the Maildir `maildir`.
fn smtp_server(maildir: &Path) -> (Daemon, u16) {
    let port = free_port();
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let mut daemon = Daemon(child);
    wait_for(
        "aiosmtpd (pip install aiosmtpd)",
        Duration::from_secs(20),
        || {
            if let Ok(Some(status)) = daemon.0.try_wait() {
                panic!("aiosmtpd exited at once ({status}): install it with pip install aiosmtpd");
            }
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        },
    );
    (daemon, port)
}

/// A lab: the upstream tree behind an rsync daemon, a mirror directory, queues, control files,
/// a clients file and a config mapping.
struct Lab {
    dir: tempfile::TempDir,
    source: String,
    _rsyncd: Daemon,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for q in [
            "queue/x86",
            "queue/sparc",
            "queue/idle",
            "ctl",
            "upstream",
            "results",
        ] {
            std::fs::create_dir_all(d.join(q)).unwrap();
        }
        std::fs::write(d.join("ctl/basic-tests"), BASIC_TESTS).unwrap();
        std::fs::write(
            d.join("ctl/kernel-tests.srv"),
            "def run(machine):\n\tpass\nparallel_simple(run, machines)\n",
        )
        .unwrap();
        std::fs::write(
            d.join("clients"),
            format!(
                "# queue  control files\nx86 {ctl}/basic-tests {ctl}/kernel-tests.srv\nsparc {ctl}/basic-tests\n",
                ctl = d.join("ctl").display()
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("configs"),
            "x86 2.6.20 /boot/config-x86-old\nx86 6.1 /boot/config-x86\nx86 6.2-rc1 defconfig\n",
        )
        .unwrap();
        let lab_upstream = d.join("upstream");
        let (rsyncd, source) = rsync_daemon(d, &lab_upstream);
        let lab = Lab {
            dir,
            source,
            _rsyncd: rsyncd,
        };
        // What upstream has before the lab's first run; and what must never be synced or queued.
        lab.publish(&["v2.6/linux-2.6.39.tar.bz2", "v6.x/linux-6.0.tar.xz"]);
        lab.publish(&[
            "v1.0/linux-1.0.tar.gz",
            "v6.x/linux-6.0.tar.sign",
            "v6.x/sha256sums.asc",
            "v6.x/incr/patch-6.0.1-2.xz",
        ]);
        lab
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Puts files into the upstream tree (each holds its own name: distinct, tiny stand-ins).
    fn publish(&self, files: &[&str]) {
        for f in files {
            let p = self.path("upstream").join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, f.as_bytes()).unwrap();
        }
    }

    fn command(&self) -> Command {
        self.command_with(&self.source, &self.path("clients"))
    }

    /// `autotest mirror --once` with another source or clients file.
    fn command_with(&self, source: &str, clients: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
        cmd.arg("mirror")
            .arg("-c")
            .arg(clients)
            .arg("-f")
            .arg(self.path("configs"))
            .arg("--source")
            .arg(source)
            .arg("--once")
            .arg(self.path("mirror"))
            .arg(self.path("queue"))
            .env_remove("AUTOTEST_CONFIG_DIR")
            .env_remove("AUTOTEST_MIRROR_CRASH_AT");
        cmd
    }

    fn mirror(&self) -> Output {
        self.command().output().unwrap()
    }

    /// Names of the files in a queue (hidden ones included), sorted.
    fn queue(&self, q: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path("queue").join(q))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `<kernel>-<epoch><NNN>[.srv]`.
fn assert_queue_name(name: &str, kernel: &str, srv: bool) {
    let rest = name
        .strip_prefix(&format!("{kernel}-"))
        .unwrap_or_else(|| panic!("{name} is not for {kernel}"));
    let digits = if srv {
        rest.strip_suffix(".srv")
            .unwrap_or_else(|| panic!("{name} lacks .srv"))
    } else {
        rest
    };
    assert!(
        digits.len() >= 13 && digits.bytes().all(|b| b.is_ascii_digit()),
        "{name}: not <epoch><NNN>"
    );
}

fn for_kernel<'a>(names: &'a [String], kernel: &str) -> Vec<&'a String> {
    names
        .iter()
        .filter(|n| {
            n.starts_with(&format!("{kernel}-"))
                && n[kernel.len() + 1..].starts_with(|c: char| c.is_ascii_digit())
        })
        .collect()
}

#[test]
fn nothing_new_queues_nothing_and_two_new_releases_give_two_files_per_mapped_queue() {
    let lab = Lab::new();
    // First run: the mirror directory is empty, so everything this sync pulls is new (legacy).
    let o = lab.mirror();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("new releases: 2.6.39 6.0"),
        "{}",
        text(&o)
    );
    assert_eq!(lab.queue("x86").len(), 4, "{:?}", lab.queue("x86"));
    assert_eq!(lab.queue("sparc").len(), 2, "{:?}", lab.queue("sparc"));
    assert!(
        !lab.path("mirror/v1.0").exists(),
        "filtered directories are not synced"
    );
    assert!(
        !lab.path("mirror/v6.x/linux-6.0.tar.sign").exists()
            && !lab.path("mirror/v6.x/incr").exists()
    );

    // Nothing new upstream (and a transfer in progress in the mirror, under rsync's hidden
    // temporary name): nothing queued.
    std::fs::write(lab.path("mirror/v6.x/.linux-6.3.tar.xz.Ab12Cd"), "half").unwrap();
    let (x86_before, sparc_before) = (lab.queue("x86"), lab.queue("sparc"));
    let o = lab.mirror();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("no new releases"), "{}", text(&o));
    assert_eq!(lab.queue("x86"), x86_before);
    assert_eq!(lab.queue("sparc"), sparc_before);

    // Two new releases (a tarball and an rc patch) plus files that are not releases.
    lab.publish(&[
        "v6.x/linux-6.1.tar.xz",
        "v6.x/testing/patch-6.2-rc1.xz",
        "v6.x/linux-6.1.tar.sign",
        "v6.x/incr/patch-6.1-2.xz",
    ]);
    let o = lab.mirror();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("new releases: 6.1 6.2-rc1"),
        "{}",
        text(&o)
    );
    assert!(lab.path("mirror/v6.x/testing/patch-6.2-rc1.xz").is_file());
    let x86 = lab.queue("x86");
    let sparc = lab.queue("sparc");
    assert_eq!(x86.len(), 8, "{x86:?}");
    assert_eq!(sparc.len(), 4, "{sparc:?}");
    assert!(
        lab.queue("idle").is_empty(),
        "an unmapped queue gets nothing"
    );
    for kernel in ["6.1", "6.2-rc1"] {
        let x = for_kernel(&x86, kernel);
        assert_eq!(x.len(), 2, "{x86:?}");
        assert_queue_name(x[0], kernel, false);
        assert_queue_name(x[1], kernel, true);
        let s = for_kernel(&sparc, kernel);
        assert_eq!(s.len(), 1, "{sparc:?}");
        assert_queue_name(s[0], kernel, false);
    }

    // The files: the preamble, the config from the mapping by kernel version, the wrapper.
    let read = |q: &str, name: &str| {
        std::fs::read_to_string(lab.path("queue").join(q).join(name)).unwrap()
    };
    let x86_61 = read("x86", for_kernel(&x86, "6.1")[0]);
    assert!(
        x86_61.contains("\nkernel = '6.1'\nconfig = '/boot/config-x86'\npatches = None\n"),
        "{x86_61}"
    );
    assert!(
        x86_61.contains(
            "    k = job.kernel(kernel)\n    k.config(config)\n    k.build()\n    k.boot()\n"
        ),
        "{x86_61}"
    );
    assert!(
        x86_61.contains("def step_test():\n    job.run_test('kernbench', 2)\n"),
        "{x86_61}"
    );
    let x86_rc = read("x86", for_kernel(&x86, "6.2-rc1")[0]);
    assert!(
        x86_rc.contains("\nconfig = None\n") && x86_rc.contains("k.config('', None, True)"),
        "{x86_rc}"
    );
    let sparc_61 = read("sparc", for_kernel(&sparc, "6.1")[0]);
    assert!(
        sparc_61.contains("\nconfig = '/boot/config'\n"),
        "{sparc_61}"
    );
    let srv = read("x86", for_kernel(&x86, "6.1")[1]);
    assert!(
        srv.ends_with(
            "patches = None\n\ndef run(machine):\n\tpass\nparallel_simple(run, machines)\n"
        ),
        "{srv}"
    );
    // Every queued client file compiles under Python 3 (compile(), as py_compile does, without
    // writing __pycache__ into the queue).
    let queues = lab.path("queue");
    let clients: Vec<PathBuf> = ["x86", "sparc"]
        .iter()
        .flat_map(|q| {
            lab.queue(q)
                .into_iter()
                .filter(|n| !n.ends_with(".srv"))
                .map(|n| queues.join(q).join(n))
                .collect::<Vec<_>>()
        })
        .collect();
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys\nfor f in sys.argv[1:]: compile(open(f).read(), f, 'exec')",
        ])
        .args(&clients)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // And again nothing.
    let o = lab.mirror();
    assert!(text(&o).contains("no new releases"), "{}", text(&o));
    assert_eq!(lab.queue("x86"), x86);
}

/// A run killed at each point between the sync and the last rename: the next run queues every
/// file of the release exactly once, even when the queue's monitor already took the files the
/// killed run had dropped.
#[test]
fn a_crash_between_sync_and_queueing_is_recovered_by_the_next_run() {
    for point in ["synced", "planned", "written", "renamed"] {
        let lab = Lab::new();
        let o = lab.mirror();
        assert!(o.status.success(), "{point}: {}", text(&o));
        lab.publish(&["v6.x/linux-6.1.tar.gz"]);

        let o = lab
            .command()
            .env("AUTOTEST_MIRROR_CRASH_AT", point)
            .output()
            .unwrap();
        assert!(
            !o.status.success() && o.status.code().is_none(),
            "{point}: the run must die by a signal: {}",
            text(&o)
        );
        let x86 = lab.queue("x86");
        let visible: Vec<&String> = for_kernel(&x86, "6.1");
        let hidden = x86.iter().filter(|n| n.starts_with(".6.1-")).count();
        let (want_visible, want_hidden) = match point {
            "synced" | "planned" => (0, 0),
            "written" => (0, 2),
            _ => (1, 1),
        };
        assert_eq!(
            (visible.len(), hidden),
            (want_visible, want_hidden),
            "{point}: {x86:?}"
        );
        // The queue's monitor takes what was dropped before the crash.
        let mut taken = 0;
        for name in visible {
            std::fs::rename(
                lab.path("queue/x86").join(name),
                lab.path("results").join(name),
            )
            .unwrap();
            taken += 1;
        }

        let o = lab.mirror();
        assert!(o.status.success(), "{point}: {}", text(&o));
        assert!(
            text(&o).contains("new releases: 6.1"),
            "{point}: {}",
            text(&o)
        );
        if point != "synced" {
            assert!(
                text(&o).contains("finishing release 6.1 left half-queued"),
                "{point}: {}",
                text(&o)
            );
        }
        let x86 = lab.queue("x86");
        assert_eq!(
            for_kernel(&x86, "6.1").len() + taken,
            2,
            "{point}: x86 {x86:?}, {taken} taken"
        );
        assert!(
            !x86.iter().any(|n| n.starts_with('.')),
            "{point}: temporary files left: {x86:?}"
        );
        assert_eq!(for_kernel(&lab.queue("sparc"), "6.1").len(), 1, "{point}");

        let o = lab.mirror();
        assert!(
            text(&o).contains("no new releases"),
            "{point}: {}",
            text(&o)
        );
        assert_eq!(lab.queue("x86"), x86, "{point}");
    }
}

#[test]
fn bad_mapping_lines_are_reported_with_file_and_line_and_other_queues_still_get_jobs() {
    let lab = Lab::new();
    let ctl = lab.path("ctl");
    std::fs::write(
        lab.path("clients"),
        format!(
            "sparc {c}/basic-tests\nlonely\nx86 {c}/missing-tests {c}/basic-tests\nnowhere {c}/basic-tests\n",
            c = ctl.display()
        ),
    )
    .unwrap();
    std::fs::write(
        lab.path("configs"),
        "x86 6.x /boot/config-x86\nsparc /boot/config-sparc\n",
    )
    .unwrap();
    let o = lab.mirror();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let clients = lab.path("clients");
    let configs = lab.path("configs");
    for want in [
        format!(
            "{}:2: 'lonely' names a queue but no control file",
            clients.display()
        ),
        format!(
            "{}:3: control file {}/missing-tests does not exist",
            clients.display(),
            ctl.display()
        ),
        format!(
            "{}:4: queue directory {} does not exist",
            clients.display(),
            lab.path("queue/nowhere").display()
        ),
        format!("{}:1: '6.x' is not a kernel version", configs.display()),
    ] {
        assert!(stderr.contains(&want), "missing {want:?} in {}", text(&o));
    }
    // The good parts of the same lines still count.
    let sparc = lab.queue("sparc");
    assert_eq!(sparc.len(), 2, "{sparc:?}");
    let body = std::fs::read_to_string(lab.path("queue/sparc").join(&sparc[0])).unwrap();
    assert!(body.contains("config = '/boot/config-sparc'"), "{body}");
    assert_eq!(lab.queue("x86").len(), 2, "{:?}", lab.queue("x86"));

    // When no queue can take a job at all (the queue directory is not there), new releases are
    // not recorded: the next run, once the queues are back, queues them.
    lab.publish(&["v6.x/linux-6.1.tar.xz"]);
    std::fs::rename(lab.path("queue"), lab.path("queue-away")).unwrap();
    let o = lab.mirror();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("new releases 6.1 left for the next run"),
        "{}",
        text(&o)
    );
    std::fs::rename(lab.path("queue-away"), lab.path("queue")).unwrap();
    let o = lab.mirror();
    assert!(text(&o).contains("new releases: 6.1"), "{}", text(&o));
    assert_eq!(
        for_kernel(&lab.queue("sparc"), "6.1").len(),
        1,
        "{:?}",
        lab.queue("sparc")
    );

    // A missing clients file stops the run before anything is recorded.
    let o = lab
        .command_with(&lab.source, &lab.path("no-such-clients"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("no-such-clients does not exist: create it"),
        "{}",
        text(&o)
    );
    let fresh = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_autotest"))
        .args(["mirror", "--once", "-c"])
        .arg(lab.path("no-such-clients"))
        .arg("--source")
        .arg(&lab.source)
        .arg(fresh.path().join("mirror"))
        .arg(lab.path("queue"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        !fresh.path().join("mirror").exists(),
        "a refused run creates nothing"
    );
}

/// Lines with too many fields, a version that is not one, and repeated keys are refused with
/// file:line (the first line counts); every queue still gets its jobs and the run exits 1.
#[test]
fn too_many_fields_bad_versions_and_repeats_are_refused_and_the_queues_still_get_jobs() {
    let lab = Lab::new();
    let ctl = lab.path("ctl");
    std::fs::write(
        lab.path("clients"),
        format!(
            "x86 {c}/basic-tests {c}/kernel-tests.srv\nsparc {c}/basic-tests\nidle {c}/basic-tests {c}/basic-tests\nx86 {c}/basic-tests\n",
            c = ctl.display()
        ),
    )
    .unwrap();
    std::fs::write(
        lab.path("configs"),
        "x86 6.0 /boot/config-x86\nsparc /boot/config-sparc /boot/extra\nsparc 6.0 /boot/config-sparc6 # comment\nbox2 notaversion defconfig\nx86 6.0 /boot/config-second\nidle defconfig\n",
    )
    .unwrap();
    let o = lab.mirror();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let clients = lab.path("clients");
    let configs = lab.path("configs");
    for want in [
        format!(
            "{}:3: control file {}/basic-tests is listed twice for queue 'idle'",
            clients.display(),
            ctl.display()
        ),
        format!(
            "{}:4: queue 'x86' is already listed on line 1",
            clients.display()
        ),
        format!(
            "{}:2: '/boot/config-sparc' is not a kernel version; write it like 6.1",
            configs.display()
        ),
        format!(
            "{}:3: this line has 5 fields, but a line is '<queue> [<kernel-version>] <config path on the machine | defconfig>'",
            configs.display()
        ),
        format!(
            "{}:4: 'notaversion' is not a kernel version",
            configs.display()
        ),
        format!(
            "{}:5: queue 'x86' version 6.0 is already mapped on line 1",
            configs.display()
        ),
    ] {
        assert!(stderr.contains(&want), "missing {want:?} in {}", text(&o));
    }
    assert_eq!(
        stderr.matches("autotest mirror: ").count(),
        6,
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("new releases: 2.6.39 6.0"),
        "{}",
        text(&o)
    );
    // Every queue got its jobs: x86 from its first line only, idle its control file once.
    let (x86, sparc, idle) = (lab.queue("x86"), lab.queue("sparc"), lab.queue("idle"));
    assert_eq!(
        (x86.len(), sparc.len(), idle.len()),
        (4, 2, 2),
        "{x86:?} {sparc:?} {idle:?}"
    );
    let read = |q: &str, name: &str| {
        std::fs::read_to_string(lab.path("queue").join(q).join(name)).unwrap()
    };
    // The first line for x86 6.0 counts; sparc's refused lines leave it the default config.
    let x86_60 = read("x86", for_kernel(&x86, "6.0")[0]);
    assert!(
        x86_60.contains("\nconfig = '/boot/config-x86'\n"),
        "{x86_60}"
    );
    let sparc_60 = read("sparc", for_kernel(&sparc, "6.0")[0]);
    assert!(
        sparc_60.contains("\nconfig = '/boot/config'\n"),
        "{sparc_60}"
    );
    let idle_60 = read("idle", for_kernel(&idle, "6.0")[0]);
    assert!(idle_60.contains("\nconfig = None\n"), "{idle_60}");
}

#[test]
fn the_release_mail_arrives_at_a_real_smtp_server_and_a_dead_one_is_a_clear_error() {
    let lab = Lab::new();
    let maildir = lab.path("maildir");
    let (smtpd, port) = smtp_server(&maildir);
    std::fs::write(
        lab.path("global_config.ini"),
        format!("[MIRROR]\nsmtp_server: 127.0.0.1:{port}\nmail_from: lab@example.org\n"),
    )
    .unwrap();
    let with_mail = || {
        let mut cmd = lab.command();
        cmd.args(["-e", "a@example.org,b@example.net"])
            .env("AUTOTEST_CONFIG_DIR", lab.dir.path());
        cmd
    };
    let o = with_mail().output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("mailed the list of new releases"),
        "{}",
        text(&o)
    );
    let mails: Vec<PathBuf> = std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(mails.len(), 1, "one mail per run");
    let mail = std::fs::read_to_string(&mails[0]).unwrap();
    assert!(
        mail.contains("Testing new kernel releases:\r\n2.6.39\r\n6.0\r\n")
            || mail.contains("Testing new kernel releases:\n2.6.39\n6.0\n"),
        "{mail}"
    );
    assert!(
        mail.contains("a@example.org")
            && mail.contains("b@example.net")
            && mail.contains("lab@example.org"),
        "{mail}"
    );

    // Nothing new: no mail.
    let o = with_mail().output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_dir(maildir.join("new")).unwrap().count(), 1);

    // The server is gone: the release is queued all the same, and the error says what to check.
    drop(smtpd);
    lab.publish(&["v6.x/patch-6.0.1.xz"]);
    let o = with_mail().output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let want = format!("cannot send the release mail through SMTP server 127.0.0.1:{port}");
    assert!(
        text(&o).contains(&want) && text(&o).contains("[MIRROR] smtp_server"),
        "{}",
        text(&o)
    );
    assert_eq!(
        for_kernel(&lab.queue("x86"), "6.0.1").len(),
        2,
        "{:?}",
        lab.queue("x86")
    );

    // A malformed address is refused before anything runs.
    let o = lab
        .command()
        .args(["-e", "not an address"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("'not an address' is not a mail address"),
        "{}",
        text(&o)
    );
}

#[test]
fn interval_mode_picks_up_new_releases_and_stops_on_sigterm() {
    let lab = Lab::new();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    cmd.arg("mirror")
        .arg("-c")
        .arg(lab.path("clients"))
        .arg("--source")
        .arg(&lab.source)
        .args(["--interval", "1"])
        .arg(lab.path("mirror"))
        .arg(lab.path("queue"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_remove("AUTOTEST_CONFIG_DIR");
    let mut daemon = Daemon(cmd.spawn().unwrap());
    wait_for("the first run's jobs", Duration::from_secs(30), || {
        lab.queue("sparc").len() == 2
    });
    lab.publish(&["v6.x/linux-6.1.tar.xz"]);
    wait_for(
        "the release published later",
        Duration::from_secs(30),
        || for_kernel(&lab.queue("sparc"), "6.1").len() == 1,
    );
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(daemon.0.id() as i32, libc::SIGTERM) };
    let start = Instant::now();
    let status = loop {
        if let Some(status) = daemon.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "mirror did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    assert_eq!(lab.queue("sparc").len(), 3, "{:?}", lab.queue("sparc"));
}

#[test]
fn an_unreachable_source_is_reported_and_nothing_is_forgotten() {
    let lab = Lab::new();
    let port = free_port();
    let o = lab
        .command_with(
            &format!("rsync://127.0.0.1:{port}/kernel/"),
            &lab.path("clients"),
        )
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "rsync from rsync://127.0.0.1:{port}/kernel/ failed"
        )),
        "{}",
        text(&o)
    );
    let o = lab
        .command_with(
            lab.path("no-such-dir").to_str().unwrap(),
            &lab.path("clients"),
        )
        .output()
        .unwrap();
    assert!(text(&o).contains("is neither an rsync URL"), "{}", text(&o));
    // The working source afterwards: its releases are new.
    let o = lab.mirror();
    assert!(
        o.status.success() && text(&o).contains("new releases: 2.6.39 6.0"),
        "{}",
        text(&o)
    );
}
