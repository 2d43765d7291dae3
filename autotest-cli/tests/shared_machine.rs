//! One machine named by several queues (issue: jobs overwrote each other's control file and
//! results in the machine's shared autodir). Real `start-all-queues`, real `autotest autoserv`
//! processes, real client jobs on `localhost`: a machine runs one job at a time, whoever asks,
//! and a job that waits for it says so in its queue's `.log`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Supervisor(Child);

impl Drop for Supervisor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < timeout,
            "timed out waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn finished(pidfile: &Path) -> bool {
    std::fs::read_to_string(pidfile)
        .map(|t| t.lines().count() == 3)
        .unwrap_or(false)
}

/// `<top>` with `queue/<q>/.machines` = localhost for each queue, and a config whose autodir
/// every job on localhost shares.
fn lab(queues: &[String]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let top = tmp.path().to_owned();
    for q in queues {
        std::fs::create_dir_all(top.join("queue").join(q)).unwrap();
        std::fs::write(top.join("queue").join(q).join(".machines"), "localhost\n").unwrap();
    }
    std::fs::create_dir_all(top.join("results")).unwrap();
    std::fs::create_dir_all(top.join("control_files")).unwrap();
    std::fs::write(
        top.join("global_config.ini"),
        format!(
            "[AUTOSERV]\nclient_autodir_paths: {}\n",
            top.join("autodir").display()
        ),
    )
    .unwrap();
    (tmp, top)
}

fn start_all(top: &Path) -> Supervisor {
    Supervisor(
        Command::new(env!("CARGO_BIN_EXE_autotest"))
            .arg("start-all-queues")
            .arg(top)
            .env("AUTOTEST_CONFIG_DIR", top)
            .spawn()
            .unwrap(),
    )
}

/// Written elsewhere, renamed in, as a person or the mirror would.
fn drop_job(top: &Path, queue: &str, name: &str, body: &str) {
    let tmp = top.join("control_files").join(format!("{queue}-{name}"));
    std::fs::write(&tmp, body).unwrap();
    std::fs::rename(&tmp, top.join("queue").join(queue).join(name)).unwrap();
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn two_queues_on_one_machine_run_their_own_jobs_one_after_the_other() {
    let (_tmp, top) = lab(&["qa".into(), "qb".into()]);
    let _sup = start_all(&top);
    let gate = top.join("gate");
    // qa's job holds the machine until the test opens the gate.
    drop_job(
        &top,
        "qa",
        "job",
        &format!(
            "import os, time\nwhile not os.path.exists({:?}):\n    time.sleep(0.05)\njob.run_test('sleeptest', seconds=0.1, tag='qa')\n",
            gate.display().to_string()
        ),
    );
    let qa = top.join("results/qa-job");
    let qb = top.join("results/qb-job");
    let logs = || {
        format!(
            "qa:\n{}\nqb:\n{}",
            read(&top.join("queue/qa/.log")),
            read(&top.join("queue/qb/.log"))
        )
    };
    wait_for(
        "qa's job to start",
        Duration::from_secs(60),
        || top.join("autodir/.machine-lock/owner").exists(),
        logs,
    );
    drop_job(
        &top,
        "qb",
        "job",
        "job.run_test('sleeptest', seconds=0.1, tag='qb')\n",
    );
    wait_for(
        "qb to say it waits for the machine",
        Duration::from_secs(60),
        || read(&top.join("queue/qb/.log")).contains("waiting for machine localhost"),
        logs,
    );
    let qb_log = read(&top.join("queue/qb/.log"));
    assert!(
        qb_log.contains(&qa.display().to_string()),
        "names the job holding it: {qb_log}"
    );
    assert!(!finished(&qb.join(".autoserv_execute")));
    std::fs::write(&gate, "").unwrap();
    wait_for(
        "both jobs",
        Duration::from_secs(120),
        || finished(&qa.join(".autoserv_execute")) && finished(&qb.join(".autoserv_execute")),
        logs,
    );
    for (dir, tag, other) in [(&qa, "qa", "qb"), (&qb, "qb", "qa")] {
        let pid = read(&dir.join(".autoserv_execute"));
        assert_eq!(
            pid.lines().skip(1).collect::<Vec<_>>(),
            ["0", "0"],
            "{}",
            dir.display()
        );
        let log = read(&dir.join("status.log"));
        assert!(
            log.contains(&format!("\tEND GOOD\tsleeptest.{tag}\tsleeptest.{tag}\t")),
            "{log}"
        );
        assert!(!log.contains(&format!("sleeptest.{other}")), "{log}");
        assert!(log.lines().last().unwrap().starts_with("END GOOD"), "{log}");
        assert!(read(&dir.join("job")).contains(&format!("tag='{tag}'")));
        assert!(
            dir.join(format!("sleeptest.{tag}")).is_dir(),
            "{}",
            dir.display()
        );
        assert!(
            !dir.join(format!("sleeptest.{other}")).exists(),
            "{}",
            dir.display()
        );
    }
    // The machine is free again.
    assert!(!top.join("autodir/.machine-lock").exists());
}

#[test]
fn many_queues_on_one_machine_every_job_accounted_for_with_its_own_results() {
    const QUEUES: usize = 12;
    const JOBS: usize = 3;
    let queues: Vec<String> = (0..QUEUES).map(|i| format!("q{i:02}")).collect();
    let (_tmp, top) = lab(&queues);
    let _sup = start_all(&top);
    for j in 0..JOBS {
        for q in &queues {
            drop_job(
                &top,
                q,
                &format!("job{j}"),
                &format!("job.run_test('sleeptest', seconds=0, tag='{q}_{j}')\n"),
            );
        }
    }
    let dirs: Vec<(String, PathBuf)> = queues
        .iter()
        .flat_map(|q| (0..JOBS).map(move |j| (format!("{q}_{j}"), format!("{q}-job{j}"))))
        .map(|(tag, d)| (tag, top.join("results").join(d)))
        .collect();
    wait_for(
        "every job",
        Duration::from_secs(600),
        || {
            dirs.iter()
                .all(|(_, d)| finished(&d.join(".autoserv_execute")))
        },
        || {
            let done = dirs
                .iter()
                .filter(|(_, d)| finished(&d.join(".autoserv_execute")))
                .count();
            format!("{done} of {} finished", dirs.len())
        },
    );
    for (tag, dir) in &dirs {
        let pid = read(&dir.join(".autoserv_execute"));
        assert_eq!(
            pid.lines().skip(1).collect::<Vec<_>>(),
            ["0", "0"],
            "{}",
            dir.display()
        );
        let log = read(&dir.join("status.log"));
        assert!(
            log.contains(&format!("\tEND GOOD\tsleeptest.{tag}\tsleeptest.{tag}\t")),
            "{}: {log}",
            dir.display()
        );
        assert_eq!(
            log.matches("\tEND GOOD\tsleeptest.").count(),
            1,
            "only its own test: {log}"
        );
        assert!(log.lines().last().unwrap().starts_with("END GOOD"), "{log}");
        let control = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("job"))
            .map(|e| read(&e.path()))
            .unwrap();
        assert!(
            control.contains(&format!("tag='{tag}'")),
            "{}: {control}",
            dir.display()
        );
    }
    // Nothing left in any spool, nothing run twice.
    for q in &queues {
        let spool: Vec<_> = std::fs::read_dir(top.join("queue").join(q))
            .unwrap()
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(spool.is_empty(), "{q}: {spool:?}");
    }
    let all = std::fs::read_dir(top.join("results")).unwrap().count();
    assert_eq!(all, QUEUES * JOBS);
}
