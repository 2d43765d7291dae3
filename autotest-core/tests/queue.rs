//! The queue monitor and start-all-queues on real directories, real files, real inotify and real
//! processes. autoserv is stood in for by `/bin/sh -c <script>`: a real process that gets
//! autoserv's arguments and writes its pidfile (FORMATS §2) itself.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use std::sync::Arc;

use autotest_core::autoserv::LocalProcessLauncher;
use autotest_core::pidfile::{Pidfile, PidfileState};
use autotest_core::queue::{
    MonitorOptions, QueueError, QueueMonitorConfig, StartAllQueuesConfig, TerminationSignal,
    create_results_dir, monitor_queue, scan_spool, start_all_queues,
};
use autotest_core::status::StatusLog;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Reads `-r <dir>`, leaves the control file in `$1`, writes the pid line.
const PRELUDE: &str = r#"
while [ $# -gt 1 ]; do case "$1" in -r) r="$2"; shift;; esac; shift; done
echo $$ > "$r/.autoserv_execute"
"#;

/// A job that succeeds at once.
fn ok_script() -> String {
    format!("{PRELUDE}printf '0\\n0\\n' >> \"$r/.autoserv_execute\"\n")
}

fn options(script: &str) -> MonitorOptions {
    MonitorOptions {
        launcher: Arc::new(LocalProcessLauncher {
            program: "/bin/sh".into(),
            leading_args: vec!["-c".into(), script.into(), "autoserv".into()],
        }),
        settle: Duration::from_millis(200),
        rescan_interval: Duration::from_secs(30),
        poll_interval: Duration::from_millis(100),
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    top: PathBuf,
    queue: PathBuf,
    results: PathBuf,
}

impl Fixture {
    /// `<tmp>/queue/host1` and `<tmp>/results`.
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let top = fs::canonicalize(tmp.path()).unwrap();
        let queue = top.join("queue").join("host1");
        fs::create_dir_all(&queue).unwrap();
        let results = top.join("results");
        Fixture {
            _tmp: tmp,
            top,
            queue,
            results,
        }
    }

    fn config(&self, script: &str) -> QueueMonitorConfig {
        QueueMonitorConfig {
            options: options(script),
            ..QueueMonitorConfig::new(&self.queue, &self.results)
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(self.queue.join(".log")).unwrap_or_default()
    }

    fn spool_names(&self) -> Vec<String> {
        scan_spool(&self.queue)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect()
    }

    fn result_dirs(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.results)
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().into_string().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Waits until the log holds `n` lines containing `needle`.
    async fn wait_log(&self, needle: &str, n: usize) {
        wait_for(
            &format!("{n} x {needle:?} in .log"),
            || self.log().matches(needle).count() >= n,
            || self.log(),
        )
        .await;
    }
}

/// Polls `cond` for up to 20 s; fails the test with `context()` when it never holds.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool, context: impl Fn() -> String) {
    let end = std::time::Instant::now() + Duration::from_secs(20);
    while !cond() {
        if std::time::Instant::now() > end {
            panic!("timed out waiting for {what}; log:\n{}", context());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), QueueError>>,
}

impl Running {
    async fn stop(self) -> Result<(), QueueError> {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the monitor did not stop")
            .unwrap()
    }
}

fn start(config: QueueMonitorConfig) -> Running {
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(monitor_queue(config, async move {
        let _ = rx.await;
    }));
    Running { stop: tx, task }
}

fn set_age(path: &Path, secs: u64) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

/// Writes a control file with a modification time `age` seconds ago, as a queueing tool should:
/// under a dot-name, then renamed in.
fn write_aged(path: &Path, text: &str, age: u64) {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap().to_string_lossy()
    ));
    fs::write(&tmp, text).unwrap();
    set_age(&tmp, age);
    fs::rename(&tmp, path).unwrap();
}

fn record(dir: &Path) -> String {
    fs::read_to_string(dir.join(".queue_job")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_oldest_first_ignores_dot_files_and_builds_the_command() {
    let f = Fixture::new();
    write_aged(&f.queue.join("c"), "c", 30);
    // Same modification time: the name decides.
    let t = SystemTime::now() - Duration::from_secs(60);
    for name in ["b", "a"] {
        fs::write(f.queue.join(name), name).unwrap();
        fs::File::options()
            .write(true)
            .open(f.queue.join(name))
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    write_aged(&f.queue.join("d.srv"), "d", 10);
    write_aged(&f.queue.join(".hidden"), "never a job", 100);
    let m = start(f.config(&ok_script()));
    f.wait_log("finished with status 0", 4).await;
    m.stop().await.unwrap();

    let log = f.log();
    let picked: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split("picked up ").nth(1))
        .filter_map(|rest| rest.split(' ').next())
        .collect();
    assert_eq!(picked, ["a", "b", "c", "d.srv"], "{log}");
    assert_eq!(f.spool_names(), Vec::<String>::new());
    assert!(f.queue.join(".hidden").exists());
    assert_eq!(
        f.result_dirs(),
        ["host1-a", "host1-b", "host1-c", "host1-d.srv"]
    );
    for name in ["a", "b", "c"] {
        let dir = f.results.join(format!("host1-{name}"));
        assert_eq!(fs::read_to_string(dir.join(name)).unwrap(), name);
        let cmd = fs::read_to_string(dir.join("debug/autoserv.cmd")).unwrap();
        assert!(
            cmd.ends_with(&format!(
                "autoserv -m host1 -r {d} -c {d}/{name}\n",
                d = dir.display()
            )),
            "{cmd}"
        );
        assert!(record(&dir).contains("outcome=status 0 failed tests 0"));
    }
    let srv = f.results.join("host1-d.srv");
    let cmd = fs::read_to_string(srv.join("debug/autoserv.cmd")).unwrap();
    // No -c for a server control file.
    assert!(
        cmd.ends_with(&format!(
            "autoserv -m host1 -r {d} {d}/d.srv\n",
            d = srv.display()
        )),
        "{cmd}"
    );
    assert!(srv.join("debug/autoserv.stdout").exists());
    assert!(srv.join("debug/autoserv.stderr").exists());
    assert!(log.contains("autoserv pid "), "{log}");
    assert!(log.contains("results in "), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_held_open_by_its_writer_is_not_picked_up_early() {
    use std::io::Write;
    let f = Fixture::new();
    let m = start(f.config(&ok_script()));
    f.wait_log("monitor started", 1).await;
    let path = f.queue.join("job");
    let mut w = fs::File::create(&path).unwrap();
    w.write_all(b"job.run_test('sleeptest')\n").unwrap();
    w.flush().unwrap();
    // Well past the settle time: the writer still has it open.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(f.spool_names(), ["job"], "{}", f.log());
    assert!(f.result_dirs().is_empty());
    w.write_all(b"job.run_test('dbench')\n").unwrap();
    drop(w);
    f.wait_log("finished with status 0", 1).await;
    m.stop().await.unwrap();
    assert_eq!(
        fs::read_to_string(f.results.join("host1-job/job")).unwrap(),
        "job.run_test('sleeptest')\njob.run_test('dbench')\n"
    );
}

#[test]
fn results_dir_names_get_an_epoch_suffix_when_taken() {
    let tmp = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..4)
        .map(|_| {
            create_results_dir(tmp.path(), "q", "job", 1_700_000_000)
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "q-job",
            "q-job.1700000000",
            "q-job.1700000000.1",
            "q-job.1700000000.2"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_results_name_gets_the_epoch_suffix() {
    let f = Fixture::new();
    fs::create_dir_all(f.results.join("host1-job")).unwrap();
    let before = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    write_aged(&f.queue.join("job"), "x", 5);
    let m = start(f.config(&ok_script()));
    f.wait_log("finished with status 0", 1).await;
    m.stop().await.unwrap();
    let dirs = f.result_dirs();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    let epoch: u64 = dirs[1].strip_prefix("host1-job.").unwrap().parse().unwrap();
    assert!(epoch >= before && epoch < before + 60, "{dirs:?}");
    assert!(f.results.join(&dirs[1]).join("job").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_files_are_kept_when_autoserv_cannot_start_and_the_queue_goes_on() {
    let f = Fixture::new();
    write_aged(&f.queue.join("first"), "first contents", 20);
    write_aged(&f.queue.join("second"), "second contents", 10);
    let mut config = f.config("");
    config.options.launcher = Arc::new(LocalProcessLauncher {
        program: f.top.join("no-such-autotest"),
        leading_args: Vec::new(),
    });
    let m = start(config);
    f.wait_log("cannot start autoserv", 2).await;
    m.stop().await.unwrap();
    assert_eq!(f.spool_names(), Vec::<String>::new());
    for name in ["first", "second"] {
        let dir = f.results.join(format!("host1-{name}"));
        assert_eq!(
            fs::read_to_string(dir.join(name)).unwrap(),
            format!("{name} contents")
        );
        assert!(
            record(&dir).contains("outcome=not started"),
            "{}",
            record(&dir)
        );
    }
    assert!(
        f.log().contains("the control file is kept in"),
        "{}",
        f.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_machines_file_is_logged_and_its_jobs_wait_until_it_is_fixed() {
    let f = Fixture::new();
    fs::write(f.queue.join(".machines"), "good1\nbad host\n").unwrap();
    write_aged(&f.queue.join("job"), "x", 5);
    let m = start(f.config(&ok_script()));
    f.wait_log("left in the queue", 1).await;
    let log = f.log();
    assert!(
        log.contains(&format!("{}:2:", f.queue.join(".machines").display())),
        "{log}"
    );
    assert!(log.contains("\"bad host\""), "{log}");
    // Left in place, not lost, not retried in a loop.
    write_aged(&f.queue.join("other"), "y", 1);
    f.wait_log("left in the queue", 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(f.log().matches("left in the queue").count(), 2);
    assert_eq!(f.spool_names(), ["job", "other"]);
    assert!(f.result_dirs().is_empty());
    // Fixed: both run, on both machines.
    fs::write(f.queue.join(".machines"), "good1\ngood2\n").unwrap();
    f.wait_log("finished with status 0", 2).await;
    m.stop().await.unwrap();
    let cmd = fs::read_to_string(f.results.join("host1-job/debug/autoserv.cmd")).unwrap();
    assert!(cmd.contains(" -m good1,good2 "), "{cmd}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_monitor_reattaches_to_a_running_autoserv() {
    let f = Fixture::new();
    let dir = f.results.join("host1-job");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("job"), "x").unwrap();
    // An autoserv started by an earlier monitor: a real process writing its own pidfile.
    let pidfile = Pidfile::autoserv(&dir);
    let mut child = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("echo $$ > \"$1\"; sleep 2; printf '0\\n2\\n' >> \"$1\"")
        .arg("sh")
        .arg(pidfile.path())
        .spawn()
        .unwrap();
    let pid = child.id();
    std::thread::spawn(move || child.wait());
    wait_for(
        "the pidfile",
        || pidfile.read().unwrap().is_some(),
        String::new,
    )
    .await;
    write_aged(&f.queue.join("next"), "next", 5);
    let m = start(f.config(&ok_script()));
    f.wait_log("finished with status 0", 2).await;
    m.stop().await.unwrap();
    let log = f.log();
    let reattached = log
        .find(&format!("re-attached to autoserv pid {pid}"))
        .expect(&log);
    let first_end = log
        .find("finished with status 0 (exit code 0) (failed tests 2)")
        .expect(&log);
    let next = log.find("picked up next").expect(&log);
    assert!(reattached < first_end && first_end < next, "{log}");
    // Nothing was run twice.
    assert!(!dir.join("debug").exists());
    assert_eq!(f.result_dirs(), ["host1-job", "host1-next"]);
    assert!(record(&dir).contains("finished="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_autoserv_is_recorded_once_and_its_status_log_closed() {
    let f = Fixture::new();
    let dir = f.results.join("host1-lost");
    fs::create_dir_all(dir.join("debug")).unwrap();
    fs::write(dir.join("lost"), "x").unwrap();
    fs::write(dir.join("debug/autoserv.cmd"), "autotest autoserv ...\n").unwrap();
    fs::write(
        dir.join(".queue_job"),
        format!("queue={}\ncontrol=lost\nclaimed=1\n", f.queue.display()),
    )
    .unwrap();
    fs::write(
        dir.join("status.log"),
        "START\t----\t----\ttimestamp=5\tlocaltime=Jan 01 00:00:05\t\n\tSTART\tsleeptest\tsleeptest\ttimestamp=6\tlocaltime=Jan 01 00:00:06\t\n",
    )
    .unwrap();
    // A process that died without writing its exit status.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    Pidfile::autoserv(&dir).write_started(pid).unwrap();

    let m = start(f.config(&ok_script()));
    f.wait_log("lost:", 1).await;
    m.stop().await.unwrap();
    let log = f.log();
    assert!(
        log.contains(&format!(
            "autoserv pid {pid} ended without writing its exit status"
        )),
        "{log}"
    );
    let status = StatusLog::parse_file(dir.join("status.log")).unwrap();
    let tree = status.tree();
    assert!(tree.open.is_empty(), "{status:?}");
    assert_eq!(tree.status(), autotest_core::status::StatusCode::Abort);
    assert!(
        status
            .entries
            .last()
            .unwrap()
            .entry
            .message
            .contains("Job aborted"),
        "{status:?}"
    );
    assert!(record(&dir).contains("outcome=lost"));
    // Not run again and not recorded twice on the next start.
    let m = start(f.config(&ok_script()));
    f.wait_log("monitor started", 2).await;
    m.stop().await.unwrap();
    assert_eq!(f.log().matches("lost:").count(), 1, "{}", f.log());
    assert_eq!(
        Pidfile::autoserv(&dir).read_checked().unwrap(),
        Some(PidfileState::Lost { pid })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_leaves_autoserv_running_and_the_next_start_reattaches() {
    let f = Fixture::new();
    let release = f.top.join("release");
    let script = format!(
        "{PRELUDE}while [ ! -e {rel} ]; do sleep 0.05; done\nprintf '256\\n1\\n' >> \"$r/.autoserv_execute\"\nexit 1\n",
        rel = release.display()
    );
    write_aged(&f.queue.join("job"), "x", 5);
    let m = start(f.config(&script));
    let dir = f.results.join("host1-job");
    let pidfile = Pidfile::autoserv(&dir);
    wait_for(
        "autoserv to start",
        || matches!(pidfile.read(), Ok(Some(PidfileState::Running { .. }))),
        || f.log(),
    )
    .await;
    m.stop().await.unwrap();
    assert!(f.log().contains("it is left running"), "{}", f.log());
    let Some(PidfileState::Running { pid }) = pidfile.read_checked().unwrap() else {
        panic!("autoserv did not survive the monitor's stop");
    };

    let m = start(f.config(&script));
    f.wait_log(&format!("re-attached to autoserv pid {pid}"), 1)
        .await;
    fs::write(&release, "").unwrap();
    f.wait_log("finished with status 256 (exit code 1) (failed tests 1)", 1)
        .await;
    m.stop().await.unwrap();
    assert_eq!(f.result_dirs(), ["host1-job"]);
    // Started once, never again.
    assert_eq!(f.log().matches("started for job").count(), 1, "{}", f.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_monitor() {
    let f = Fixture::new();
    let mut sig = TerminationSignal::new().unwrap();
    let task = tokio::spawn(monitor_queue(f.config(&ok_script()), async move {
        sig.recv().await;
    }));
    f.wait_log("monitor started", 1).await;
    // SAFETY: sends SIGTERM to this process, whose handler the TerminationSignal installed.
    assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGTERM) }, 0);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("SIGTERM did not stop the monitor")
        .unwrap()
        .unwrap();
    assert!(f.log().contains("monitor stopped"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_monitor_per_queue() {
    let f = Fixture::new();
    let m = start(f.config(&ok_script()));
    f.wait_log("monitor started", 1).await;
    let (_tx, rx) = oneshot::channel::<()>();
    let err = monitor_queue(f.config(&ok_script()), async move {
        let _ = rx.await;
    })
    .await
    .unwrap_err();
    assert!(matches!(err, QueueError::AlreadyMonitored { .. }), "{err}");
    m.stop().await.unwrap();
    let missing = monitor_queue(
        QueueMonitorConfig::new(f.top.join("queue/nope"), &f.results),
        async {},
    )
    .await
    .unwrap_err();
    assert!(missing.to_string().contains("queue/nope"), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_all_queues_runs_queues_at_once_and_picks_up_new_ones() {
    let f = Fixture::new();
    let queues = f.top.join("queue");
    fs::remove_dir(&f.queue).unwrap();
    for q in ["alpha", "beta", ".hidden"] {
        fs::create_dir_all(queues.join(q)).unwrap();
    }
    fs::create_dir_all(f.top.join("conmux")).unwrap();
    fs::write(f.top.join("conmux/beta.cf"), "listener beta\n").unwrap();
    // "first" (queue alpha) only succeeds when "second" (queue beta) runs meanwhile.
    let script = format!(
        "{PRELUDE}top=$(dirname \"$(dirname \"$r\")\")\nname=$(basename \"$1\")\ntouch \"$top/ran-$name\"\n\
         if [ \"$name\" = first ]; then i=0; while [ ! -e \"$top/ran-second\" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done; \
         [ -e \"$top/ran-second\" ] || {{ printf '256\\n0\\n' >> \"$r/.autoserv_execute\"; exit 1; }}; fi\n\
         printf '0\\n0\\n' >> \"$r/.autoserv_execute\"\n"
    );
    write_aged(&queues.join("alpha/first"), "1", 5);
    write_aged(&queues.join("beta/second"), "2", 5);
    let mut config = StartAllQueuesConfig::new(&f.top);
    config.options = options(&script);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(start_all_queues(config, async move {
        let _ = rx.await;
    }));
    let log_of = |q: &str| fs::read_to_string(queues.join(q).join(".log")).unwrap_or_default();
    wait_for(
        "both jobs",
        || {
            log_of("alpha").contains("finished with status")
                && log_of("beta").contains("finished with status")
        },
        || log_of("alpha") + &log_of("beta"),
    )
    .await;
    assert!(
        log_of("alpha").contains("first finished with status 0"),
        "{}",
        log_of("alpha")
    );
    let cmd = |d: &str| fs::read_to_string(f.results.join(d).join("debug/autoserv.cmd")).unwrap();
    assert!(
        cmd("beta-second").contains(" --conmux localhost "),
        "{}",
        cmd("beta-second")
    );
    assert!(!cmd("alpha-first").contains("--conmux"));
    assert!(!queues.join(".hidden/.log").exists());

    // A queue created later.
    fs::create_dir(queues.join("gamma")).unwrap();
    write_aged(&queues.join("gamma/third"), "3", 5);
    wait_for(
        "the new queue's job",
        || log_of("gamma").contains("third finished with status 0"),
        || log_of("gamma"),
    )
    .await;
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("start-all-queues did not stop")
        .unwrap()
        .unwrap();
    for q in ["alpha", "beta", "gamma"] {
        assert!(log_of(q).contains("monitor stopped"), "{q}: {}", log_of(q));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_claimed_but_never_started_runs_at_the_next_start() {
    let f = Fixture::new();
    // A monitor that stopped between the claim and starting autoserv left this behind.
    let dir = f.results.join("host1-job");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("job"), "x").unwrap();
    fs::write(
        dir.join(".queue_job"),
        format!("queue={}\ncontrol=job\nclaimed=1\n", f.queue.display()),
    )
    .unwrap();
    // And a claim interrupted before the control file moved: it is still in the spool.
    let empty = f.results.join("host1-other");
    fs::create_dir_all(&empty).unwrap();
    fs::write(
        empty.join(".queue_job"),
        format!("queue={}\ncontrol=other\nclaimed=2\n", f.queue.display()),
    )
    .unwrap();
    write_aged(&f.queue.join("other"), "y", 5);
    let m = start(f.config(&ok_script()));
    f.wait_log("finished with status 0", 2).await;
    m.stop().await.unwrap();
    let log = f.log();
    assert!(log.contains("resuming job"), "{log}");
    assert!(log.contains("claim of other"), "{log}");
    assert!(dir.join("debug/autoserv.cmd").exists());
    assert!(record(&empty).contains("outcome=claim interrupted"));
    let dirs = f.result_dirs();
    assert_eq!(dirs.len(), 3, "{dirs:?}");
    assert!(dirs[2].starts_with("host1-other."), "{dirs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_autoserv_died_before_its_pidfile_runs_again() {
    let f = Fixture::new();
    // A monitor killed after writing debug/autoserv.cmd, before autoserv wrote its pidfile:
    // autoserv never began the job (it writes the pidfile before touching a machine).
    let dir = f.results.join("host1-job");
    fs::create_dir_all(dir.join("debug")).unwrap();
    fs::write(dir.join("job"), "x").unwrap();
    fs::write(dir.join("debug/autoserv.cmd"), "autotest autoserv ...\n").unwrap();
    fs::write(
        dir.join(".queue_job"),
        format!("queue={}\ncontrol=job\nclaimed=1\n", f.queue.display()),
    )
    .unwrap();
    let m = start(f.config(&ok_script()));
    f.wait_log("finished with status 0", 1).await;
    m.stop().await.unwrap();
    let log = f.log();
    assert!(
        log.contains("never began the job; running it again"),
        "{log}"
    );
    assert!(!log.contains("not run again"), "{log}");
    assert!(matches!(
        Pidfile::autoserv(&dir).read_checked().unwrap(),
        Some(PidfileState::Finished { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_autoserv_without_its_pidfile_yet_is_waited_for_not_run_twice() {
    let f = Fixture::new();
    let dir = f.results.join("host1-job");
    fs::create_dir_all(dir.join("debug")).unwrap();
    fs::write(dir.join("job"), "x").unwrap();
    fs::write(dir.join("debug/autoserv.cmd"), "autotest autoserv ...\n").unwrap();
    fs::write(
        dir.join(".queue_job"),
        format!("queue={}\ncontrol=job\nclaimed=1\n", f.queue.display()),
    )
    .unwrap();
    // An autoserv that is still starting: no pidfile until the test opens the gate.
    let gate = f.top.join("gate");
    let mut slow = std::process::Command::new("/bin/sh")
        .args([
            "-c",
            "while [ ! -e \"$2\" ]; do sleep 0.05; done; printf '%s\\n0\\n0\\n' $$ > \"$1/.autoserv_execute\"",
            "autoserv",
        ])
        .arg(&dir)
        .arg(&gate)
        .spawn()
        .unwrap();
    let m = start(f.config(&ok_script()));
    f.wait_log("re-attached", 1).await;
    fs::write(&gate, "").unwrap();
    f.wait_log("finished with status 0", 1).await;
    m.stop().await.unwrap();
    slow.wait().unwrap();
    let log = f.log();
    assert!(!log.contains("running it again"), "{log}");
    // Ran once: the stand-in monitor script never started (it would rewrite autoserv.cmd).
    assert_eq!(
        fs::read_to_string(dir.join("debug/autoserv.cmd")).unwrap(),
        "autotest autoserv ...\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_job_record_left_by_a_crash_is_logged_and_closed() {
    let f = Fixture::new();
    let dir = f.results.join("host1-job");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(".queue_job"), "").unwrap();
    let m = start(f.config(&ok_script()));
    f.wait_log("empty .queue_job", 1).await;
    m.stop().await.unwrap();
    assert!(record(&dir).contains("finished="), "{}", record(&dir));
    // Said once: the next start finds it finished.
    let m = start(f.config(&ok_script()));
    f.wait_log("monitor started", 2).await;
    m.stop().await.unwrap();
    assert_eq!(
        f.log().matches("empty .queue_job").count(),
        1,
        "{}",
        f.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spool_entries_that_are_not_jobs_are_each_said_once_and_links_out_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(f.queue.join("fifo"))
            .status()
            .unwrap()
            .success()
    );
    fs::create_dir(f.queue.join("adir")).unwrap();
    std::os::unix::fs::symlink(f.top.join("nowhere"), f.queue.join("dangling")).unwrap();
    fs::write(
        f.queue.join(std::ffi::OsStr::from_bytes(b"bad\xffname")),
        "x",
    )
    .unwrap();
    std::os::unix::fs::symlink("/etc/passwd", f.queue.join("passwd")).unwrap();
    // A link to a file under the spool's top directory is a job like any other.
    fs::create_dir_all(f.top.join("control_files")).unwrap();
    fs::write(f.top.join("control_files/inside"), "x").unwrap();
    set_age(&f.top.join("control_files/inside"), 5);
    std::os::unix::fs::symlink(f.top.join("control_files/inside"), f.queue.join("inside")).unwrap();
    let mut config = f.config(&ok_script());
    config.options.rescan_interval = Duration::from_millis(100);
    let m = start(config);
    f.wait_log("inside finished with status 0", 1).await;
    // Several rescans later, each reason is still said once.
    tokio::time::sleep(Duration::from_millis(600)).await;
    m.stop().await.unwrap();
    let log = f.log();
    for (what, why) in [
        ("fifo is not run", "FIFO"),
        ("adir is not run", "directory"),
        ("dangling is not run", "target does not exist"),
        ("bad\\xffname is not run", "not valid UTF-8"),
        ("passwd is not run", "outside"),
    ] {
        assert_eq!(log.matches(what).count(), 1, "{what}: {log}");
        let line = log.lines().find(|l| l.contains(what)).unwrap();
        assert!(line.contains(why), "{line}");
    }
    assert!(!f.results.join("host1-passwd").exists());
    assert!(
        fs::symlink_metadata(f.queue.join("passwd")).is_ok(),
        "a refused entry stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_machines_go_to_autoserv_in_a_file_and_repeats_run_once() {
    let f = Fixture::new();
    let mut list: String = (0..10_000)
        .map(|i| format!("machine{i:05}.lab.example\n"))
        .collect();
    list.push_str("machine00007.lab.example\n");
    fs::write(f.queue.join(".machines"), list).unwrap();
    write_aged(&f.queue.join("job"), "x", 5);
    // The stand-in counts the machines it was given, from -m or -M.
    let script = r#"
while [ $# -gt 1 ]; do case "$1" in -r) r="$2"; shift;; -M) mf="$2"; shift;; -m) m="$2"; shift;; esac; shift; done
echo $$ > "$r/.autoserv_execute"
if [ -n "$mf" ]; then wc -l < "$mf" > "$r/count"; else echo "$m" | tr , '\n' | wc -l > "$r/count"; fi
printf '0\n0\n' >> "$r/.autoserv_execute"
"#;
    let m = start(f.config(script));
    f.wait_log("finished with status 0", 1).await;
    m.stop().await.unwrap();
    let dir = f.results.join("host1-job");
    assert_eq!(
        fs::read_to_string(dir.join("count")).unwrap().trim(),
        "10000"
    );
    let cmd = fs::read_to_string(dir.join("debug/autoserv.cmd")).unwrap();
    assert!(cmd.contains(" -M ") && cmd.len() < 1000, "{cmd}");
    let log = f.log();
    assert!(
        log.contains("machine00007.lab.example listed more than once"),
        "{log}"
    );
}
