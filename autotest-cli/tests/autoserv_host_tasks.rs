//! `autotest autoserv --verify | --cleanup | --repair -m host -r dir`: legacy autoserv's
//! host-protection modes on `localhost` and on real lab machines (network namespaces, each a
//! real sshd with its own boot id and a fenced `reboot`). The lab tests need root and fail
//! loudly without it.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use autotest_testlab::{Lab, status_entries};

fn config(dir: &Path, autodir: &str, min_free_gb: &str) {
    std::fs::write(
        dir.join("global_config.ini"),
        format!(
            "[AUTOSERV]\nclient_autodir_paths: {autodir}\n\n[SERVER]\ngb_diskspace_required: {min_free_gb}\n\n[HOSTS]\nwait_down_reboot_timeout: 60\ndefault_reboot_timeout: 60\n"
        ),
    )
    .unwrap();
}

fn task(lab: Option<&Lab>, dir: &Path, machine: &str, mode: &str, results: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    cmd.current_dir(dir)
        .args(["autoserv", mode, "-m", machine, "-r", results])
        .arg("--config-dir")
        .arg(dir);
    if let Some(lab) = lab {
        for (k, v) in lab.ssh_env() {
            cmd.env(k, v);
        }
        lab.run_in_server(&mut cmd);
    }
    cmd.output().expect("run autotest autoserv")
}

fn ops(dir: &Path) -> Vec<String> {
    status_entries(&dir.join("status.log"))
        .iter()
        .map(|l| {
            l.trim_start_matches('\t')
                .split('\t')
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn verify_on_localhost_passes_and_fails_on_its_disk_space_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let autodir = dir.path().join("autodir");
    config(dir.path(), &autodir.to_string_lossy(), "0.001");
    let ok = task(None, dir.path(), "localhost", "--verify", "ok");
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert_eq!(
        ops(&dir.path().join("ok")),
        [
            "START ---- verify",
            "GOOD ---- verify.ssh",
            "GOOD ---- verify.tmp",
            "GOOD ---- verify.autodir",
            "GOOD ---- verify.diskspace",
            "END GOOD ---- verify"
        ]
    );
    // The pidfile's life cycle is autoserv's: pid, then exit status and failed tests.
    let pid = std::fs::read_to_string(dir.path().join("ok/.autoserv_execute")).unwrap();
    assert_eq!(pid.lines().skip(1).collect::<Vec<_>>(), ["0", "0"]);
    assert!(dir.path().join("ok/debug/autoserv.cmd").exists());

    // No disk has a million GB free: the check fails, says why, exit 1.
    config(dir.path(), &autodir.to_string_lossy(), "1000000");
    let bad = task(None, dir.path(), "localhost", "--verify", "bad");
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    let log = std::fs::read_to_string(dir.path().join("bad/status.log")).unwrap();
    assert!(log.contains("FAIL\t----\tverify.diskspace"), "{log}");
    assert!(log.contains("gb_diskspace_required"), "{log}");
    assert!(log.contains("END FAIL\t----\tverify"), "{log}");

    // A cleanup of localhost never reboots the server itself.
    let clean = task(None, dir.path(), "localhost", "--cleanup", "clean");
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    let log = std::fs::read_to_string(dir.path().join("clean/status.log")).unwrap();
    assert!(log.contains("not rebooted"), "{log}");
}

#[test]
fn a_task_takes_no_control_file_and_one_machine() {
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), "/nonexistent", "1");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    let o = cmd
        .current_dir(dir.path())
        .args([
            "autoserv",
            "--verify",
            "-m",
            "localhost",
            "-r",
            "r",
            "control",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = task(None, dir.path(), "localhost,127.0.0.1", "--verify", "two");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("exactly one machine"),
        "{}",
        text(&o)
    );
}

#[test]
fn lab_machine_verify_cleanup_reboots_and_repair_of_a_dead_machine_fails() {
    let lab = Lab::new(2);
    let (good, dead) = (lab.machine(0), lab.machine(1));
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), autotest_testlab::netns::AUTODIR, "0.001");

    let addr = good.address().to_string();
    let v = task(Some(&lab), dir.path(), &addr, "--verify", "verify");
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
    assert_eq!(
        ops(&dir.path().join("verify")).last().unwrap(),
        "END GOOD ---- verify"
    );

    let boots = good.boot_count();
    let c = task(Some(&lab), dir.path(), &addr, "--cleanup", "cleanup");
    assert_eq!(c.status.code(), Some(0), "{}", text(&c));
    assert!(
        good.wait_boot_count(boots + 1, Duration::from_secs(60)),
        "the cleanup did not reboot the machine: {:?}",
        good.events()
    );
    let log = std::fs::read_to_string(dir.path().join("cleanup/status.log")).unwrap();
    assert!(log.contains("GOOD\t----\tcleanup.reboot"), "{log}");

    // A dead machine: verify fails, and a repair (no console: a reboot over SSH) cannot help.
    dead.kill();
    let daddr = dead.address().to_string();
    let v = task(Some(&lab), dir.path(), &daddr, "--verify", "dverify");
    assert_eq!(v.status.code(), Some(1), "{}", text(&v));
    let r = task(Some(&lab), dir.path(), &daddr, "--repair", "repair");
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    let log = std::fs::read_to_string(dir.path().join("repair/status.log")).unwrap();
    assert!(log.contains("END FAIL\t----\trepair"), "{log}");
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("repair failed"),
        "{}",
        text(&r)
    );

    // Back up, the same repair brings it back (it reboots and verifies).
    dead.restart();
    let r = task(Some(&lab), dir.path(), &daddr, "--repair", "repair2");
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    let log = std::fs::read_to_string(dir.path().join("repair2/status.log")).unwrap();
    assert!(log.contains("GOOD\t----\trepair.reboot"), "{log}");
    assert!(log.contains("END GOOD\t----\trepair"), "{log}");
}
