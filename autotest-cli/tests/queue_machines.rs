//! The first seed's example over SSH: `<top>/queue/<host>/` (a queue named after its machine) and
//! a group queue with `.machines`, `start-all-queues <top>` in the lab's server namespace, control
//! files and a `.srv` dropped in, results under `<top>/results/`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use autotest_testlab::Lab;
use autotest_testlab::process::Daemon;

fn finished(pidfile: &Path) -> bool {
    std::fs::read_to_string(pidfile)
        .map(|t| t.lines().count() == 3)
        .unwrap_or(false)
}

fn drop_in(top: &Path, queue: &str, name: &str, body: &str) {
    let tmp = top.join("control_files").join(name);
    std::fs::write(&tmp, body).unwrap();
    std::fs::rename(&tmp, top.join("queue").join(queue).join(name)).unwrap();
}

#[test]
fn seed_layout_runs_queues_of_real_machines() {
    let lab = Lab::new(3);
    let (solo, a, b) = (lab.machine(0), lab.machine(1), lab.machine(2));
    let top_dir = tempfile::tempdir().unwrap();
    let top = top_dir.path();
    let solo_q = solo.address().to_string();
    for d in ["queue/group", "results", "control_files"] {
        std::fs::create_dir_all(top.join(d)).unwrap();
    }
    std::fs::create_dir_all(top.join("queue").join(&solo_q)).unwrap();
    std::fs::write(
        top.join("queue/group/.machines"),
        format!("{}\n\n{}\n", a.address(), b.address()),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    cmd.arg("start-all-queues").arg(top);
    for (k, v) in lab.ssh_env() {
        cmd.env(k, v);
    }
    lab.run_in_server(&mut cmd);
    let mut sup = Daemon(cmd.spawn().unwrap());
    // The seed's own control file, unchanged, on the machine whose queue is named after it.
    let seed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/control/basic-tests"
    ))
    .unwrap();
    drop_in(top, &solo_q, "basic-tests", &seed);
    drop_in(
        top,
        "group",
        "basic",
        "job.run_test('sleeptest', seconds=0.1)\n",
    );
    drop_in(
        top,
        "group",
        "both.srv",
        "job.record('INFO', None, 'machines', ' '.join(machines))\n\
         def run(m):\n    autotest_remote.Autotest(hosts.create_host(m)).run_test('sleeptest', seconds=0.1, tag='srv')\n\
         job.parallel_simple(run, machines)\n",
    );
    let solo_res = top.join(format!("results/{solo_q}-basic-tests"));
    let group_res = top.join("results/group-basic");
    let srv_res = top.join("results/group-both.srv");
    let start = Instant::now();
    while ![&solo_res, &group_res, &srv_res]
        .iter()
        .all(|d| finished(&d.join(".autoserv_execute")))
    {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "jobs did not finish"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for d in [&solo_res, &group_res, &srv_res] {
        let pid = std::fs::read_to_string(d.join(".autoserv_execute")).unwrap();
        let pid: Vec<&str> = pid.lines().skip(1).collect();
        // Failed tests: none, but for basic-tests' TEST_NA ones (no kernel source, no reaim).
        let not_good = std::fs::read_to_string(d.join("status.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("\tEND ") && !l.starts_with("\tEND GOOD"))
            .count();
        assert_eq!(
            pid,
            ["0".to_owned(), not_good.to_string()],
            "{}",
            d.display()
        );
    }
    // One machine: results at the top, the seed's tests with real workloads. A group: one
    // subdirectory per machine, run at once.
    let solo_log = std::fs::read_to_string(solo_res.join("status.log")).unwrap();
    for test in ["dbench", "tbench", "fsx", "bonnie"] {
        assert!(
            solo_log.contains(&format!("\tEND GOOD\t{test}\t{test}\t")),
            "{test}: {solo_log}"
        );
        assert!(
            solo_res.join(test).join("results/keyval").exists(),
            "{test}"
        );
    }
    for test in ["kernbench", "reaim"] {
        assert!(
            solo_log.contains(&format!("\t{test}\t{test}\t")),
            "{test}: {solo_log}"
        );
    }
    for m in [a, b] {
        let log =
            std::fs::read_to_string(group_res.join(m.address().to_string()).join("status.log"))
                .unwrap();
        assert!(log.contains("\tEND GOOD\tsleeptest\tsleeptest\t"), "{log}");
        let log = std::fs::read_to_string(srv_res.join(m.address().to_string()).join("status.log"))
            .unwrap();
        assert!(
            log.contains("\tEND GOOD\tsleeptest.srv\tsleeptest.srv\t"),
            "{log}"
        );
    }
    let srv_log = std::fs::read_to_string(srv_res.join("status.log")).unwrap();
    let mut sorted = [a.address().to_string(), b.address().to_string()];
    sorted.sort();
    assert!(srv_log.contains(&sorted.join(" ")), "{srv_log}");
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(sup.0.id() as i32, libc::SIGTERM) };
    assert_eq!(sup.0.wait().unwrap().code(), Some(0));
}
