//! The seed's queue server end to end on this machine: `start-all-queues <top>` with a queue named
//! after `localhost`, real `autotest autoserv` processes, real control files dropped in.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Supervisor(Child);

impl Drop for Supervisor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn finished(pidfile: &Path) -> bool {
    std::fs::read_to_string(pidfile)
        .map(|t| t.lines().count() == 3)
        .unwrap_or(false)
}

#[test]
fn start_all_queues_runs_dropped_control_files_with_autoserv() {
    let top = tempfile::tempdir().unwrap();
    let top = top.path();
    let autodir = top.join("autodir");
    std::fs::create_dir_all(top.join("queue/localhost")).unwrap();
    std::fs::create_dir_all(top.join("results")).unwrap();
    std::fs::create_dir_all(top.join("control_files")).unwrap();
    std::fs::write(
        top.join("global_config.ini"),
        format!("[AUTOSERV]\nclient_autodir_paths: {}\n", autodir.display()),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_autotest"))
        .args(["start-all-queues"])
        .arg(top)
        .env("AUTOTEST_CONFIG_DIR", top)
        .spawn()
        .unwrap();
    let mut sup = Supervisor(child);
    // Drop two control files the way a person or mirror would: written elsewhere, renamed in.
    for (name, body) in [
        ("first", "job.run_test('sleeptest', seconds=0.1)\n"),
        (
            "second",
            "job.run_test('sleeptest', seconds=0.1, tag='b')\n",
        ),
    ] {
        let tmp = top.join("control_files").join(name);
        std::fs::write(&tmp, body).unwrap();
        std::fs::rename(&tmp, top.join("queue/localhost").join(name)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = top.join("results/localhost-first");
    let second = top.join("results/localhost-second");
    wait_for("both jobs", Duration::from_secs(120), || {
        finished(&first.join(".autoserv_execute")) && finished(&second.join(".autoserv_execute"))
    });
    for (dir, test) in [(&first, "sleeptest"), (&second, "sleeptest.b")] {
        let pid = std::fs::read_to_string(dir.join(".autoserv_execute")).unwrap();
        assert_eq!(
            pid.lines().skip(1).collect::<Vec<_>>(),
            ["0", "0"],
            "{}",
            dir.display()
        );
        let log = std::fs::read_to_string(dir.join("status.log")).unwrap();
        assert!(
            log.contains(&format!("\tEND GOOD\t{test}\t{test}\t")),
            "{log}"
        );
        // The control file left the spool only into its results directory.
        assert!(
            dir.join(
                dir.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .trim_start_matches("localhost-")
            )
            .exists()
        );
        let cmd = std::fs::read_to_string(dir.join("debug/autoserv.cmd")).unwrap();
        assert!(
            cmd.contains("autoserv") && cmd.contains("-m localhost") && cmd.contains(" -c "),
            "{cmd}"
        );
    }
    assert!(!top.join("queue/localhost/first").exists());
    let qlog = std::fs::read_to_string(top.join("queue/localhost/.log")).unwrap();
    assert!(qlog.contains("first") && qlog.contains("second"), "{qlog}");
    // SIGTERM stops the supervisor cleanly.
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(sup.0.id() as i32, libc::SIGTERM) };
    let status = sup.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}
