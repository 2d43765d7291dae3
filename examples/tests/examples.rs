//! The example programs run for real: `run-on-localhost` runs a sleeptest on this machine, and
//! `embed-queue-monitor` runs a control file dropped into its spool through the workspace's
//! `autotest` binary and stops on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A `global_config.ini` in `dir` whose autodir is inside `dir` (not `/usr/local/autotest`).
fn config_dir(dir: &Path) -> PathBuf {
    let autodir = dir.join("autodir");
    std::fs::write(
        dir.join("global_config.ini"),
        format!("[AUTOSERV]\nclient_autodir_paths: {}\n", autodir.display()),
    )
    .unwrap();
    dir.to_owned()
}

#[test]
fn run_on_localhost_prints_progress_and_leaves_a_results_tree() {
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("control");
    std::fs::write(&control, "job.run_test('sleeptest', seconds=0.1)\n").unwrap();
    let results = dir.path().join("results");
    let out = Command::new(env!("CARGO_BIN_EXE_run-on-localhost"))
        .arg(&control)
        .arg(&results)
        .arg(dir.path().join("autodir"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "status: START ----",
            "status:   START sleeptest",
            "status:     GOOD sleeptest completed successfully",
            "status:   END GOOD sleeptest",
            "status: END GOOD ----",
            "localhost: completed (0 reboot(s))",
            &format!("0 test(s) not passed; results in {}", results.display()),
        ]
    );
    // The results tree: the streamed log, the client's own copy, the test's results.
    let log = std::fs::read_to_string(results.join("status.log")).unwrap();
    assert!(log.contains("\tEND GOOD\tsleeptest\tsleeptest\t"), "{log}");
    assert!(results.join("status").is_file());
    assert!(results.join("sleeptest/results/keyval").is_file());
    assert!(
        dir.path().join("autodir/.autotest-build").is_file(),
        "the client was installed in the given autodir"
    );
}

#[test]
fn run_on_localhost_refuses_a_missing_control_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_run-on-localhost"))
        .arg(dir.path().join("nope"))
        .arg(dir.path().join("results"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nope does not exist"), "{stderr}");
    assert!(!dir.path().join("results").exists());
}

/// The workspace's `autotest` binary: built into the same directory as the example programs.
fn autotest_binary() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_embed-queue-monitor")).with_file_name("autotest");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p autotest-cli` first (dev.sh builds the workspace before the tests)",
        bin.display()
    );
    bin
}

/// The program's standard output, collected by a thread as it is written.
struct Running {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Running {
    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `f`; the deadline only keeps a broken build from hanging the test run.
fn wait_for(what: &str, running: &Running, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}; output:\n{}",
            running.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn embed_queue_monitor_runs_a_dropped_control_file_and_stops_on_sigterm() {
    let autotest = autotest_binary();
    let dir = tempfile::tempdir().unwrap();
    // The spool's name is the machine the jobs run on.
    let spool = dir.path().join("localhost");
    let results = dir.path().join("results");
    std::fs::create_dir_all(&spool).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_embed-queue-monitor"))
        .arg("--autotest")
        .arg(&autotest)
        .arg(&spool)
        .arg(&results)
        .env("AUTOTEST_CONFIG_DIR", config_dir(dir.path()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Arc::new(Mutex::new(String::new()));
    let stdout = child.stdout.take().unwrap();
    let sink = Arc::clone(&out);
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let mut all = sink.lock().unwrap();
            all.push_str(&line.unwrap());
            all.push('\n');
        }
    });
    let mut running = Running { child, out };
    wait_for("the monitor to start", &running, || {
        running.output().contains("monitor started")
    });

    // Dropped the way a person or the mirror would: written elsewhere, renamed in.
    let written = dir.path().join("first");
    std::fs::write(&written, "job.run_test('sleeptest', seconds=0.1)\n").unwrap();
    std::fs::rename(&written, spool.join("first")).unwrap();
    let job = results.join("localhost-first");
    wait_for("the job to finish", &running, || {
        running.output().contains("first finished with status 0")
    });

    // The job really ran: autoserv's pidfile says it exited 0 with no failed test.
    let pidfile = std::fs::read_to_string(job.join(".autoserv_execute")).unwrap();
    assert_eq!(
        pidfile.lines().skip(1).collect::<Vec<_>>(),
        ["0", "0"],
        "{pidfile}"
    );
    let log = std::fs::read_to_string(job.join("status.log")).unwrap();
    assert!(log.contains("\tEND GOOD\tsleeptest\tsleeptest\t"), "{log}");

    // SIGTERM: the program stops the monitor, shows its last log line and exits 0.
    let pid = running.child.id() as libc::pid_t;
    // SAFETY: kill(2) on our own child's pid, which has not been waited for yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = running.child.wait().unwrap();
    reader.join().unwrap();
    let output = running.output();
    assert!(status.success(), "{status:?}\n{output}");
    let shown: Vec<&str> = output.lines().collect();
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("log: ") && l.contains("picked up first")),
        "{output}"
    );
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("log: ") && l.contains("autoserv pid")),
        "{output}"
    );
    let stop = shown
        .iter()
        .position(|l| *l == "SIGTERM received: stopping")
        .expect(&output);
    assert!(
        shown[stop + 1..]
            .iter()
            .any(|l| l.starts_with("log: ") && l.ends_with("monitor stopped")),
        "{output}"
    );
    // Every line shown is in the queue's log, in the same order.
    let queue_log = std::fs::read_to_string(spool.join(".log")).unwrap();
    let shown_log: Vec<&str> = shown
        .iter()
        .filter_map(|l| l.strip_prefix("log: "))
        .collect();
    assert_eq!(shown_log, queue_log.lines().collect::<Vec<_>>());
}
