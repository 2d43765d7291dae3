//! autoserv on real machines over SSH: network namespaces each running a real sshd (with its own
//! hostname, boot id, autodir and a fenced `reboot`), the real `autotest` binary in the server
//! namespace, the SSH transport of autotest-ssh. Needs root; fails loudly without it.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use autotest_testlab::{Lab, REBOOT_THEN_SLEEPTEST, power_switch, status_entries};

/// `autotest autoserv` in the lab's server namespace with the lab's SSH key and known_hosts.
fn autoserv(lab: &Lab, dir: &Path, machines: &str, client: bool, extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    cmd.current_dir(dir)
        .args(["autoserv", "-m", machines, "-r", "r"]);
    if client {
        cmd.arg("-c");
    }
    cmd.args(extra).arg("control");
    for (k, v) in lab.ssh_env() {
        cmd.env(k, v);
    }
    lab.run_in_server(&mut cmd);
    cmd.output().expect("run autotest autoserv")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn client_job_on_three_machines_at_once() {
    let lab = Lab::new(3);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("control"),
        "job.run_test('sleeptest', seconds=1)\n",
    )
    .unwrap();
    let machines = lab.machine_list();
    let t0 = std::time::Instant::now();
    let out = autoserv(&lab, dir.path(), &machines, true, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    for m in lab.machines() {
        let addr = m.address().to_string();
        let r = dir.path().join("r").join(&addr);
        assert_eq!(
            status_entries(&r.join("status.log")),
            [
                "START\t----\t----\t",
                "\tSTART\tsleeptest\tsleeptest\t",
                "\t\tGOOD\tsleeptest\tsleeptest\tcompleted successfully",
                "\tEND GOOD\tsleeptest\tsleeptest\t",
                "END GOOD\t----\t----\t",
            ],
            "{addr}"
        );
        // The machine's own results came back, and its hostname is in its job keyval.
        let keyval = std::fs::read_to_string(r.join("keyval")).unwrap();
        assert!(
            keyval.contains(&format!("hostname={}", m.hostname())),
            "{keyval}"
        );
        assert!(
            m.autodir().join("autotest/client/runner.py").exists(),
            "client installed in the machine's autodir"
        );
    }
    // At the same time: three one-second tests take well under three seconds of test time each
    // in sequence would; the wall time is only a sanity bound, not a performance assertion.
    assert!(t0.elapsed() < Duration::from_secs(120));
}

#[test]
fn reboot_mid_job_is_followed_and_resumed() {
    let lab = Lab::new(1);
    let m = lab.machine(0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("control"),
        "def step_init():\n    job.next_step(after)\n    job.run_test('sleeptest', seconds=0.1)\n    job.reboot()\n\
         def after():\n    job.run_test('sleeptest', tag='after', seconds=0.1)\n",
    )
    .unwrap();
    let before = m.boot_id();
    let out = autoserv(&lab, dir.path(), &m.address().to_string(), true, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr),
        m.log()
    );
    assert!(text(&out.stdout).contains("completed (1 reboot(s))"));
    assert_eq!(m.boot_count(), 2, "{}", m.log());
    assert_ne!(m.boot_id(), before);
    let lines = status_entries(&dir.path().join("r/status.log"));
    let kernel =
        String::from_utf8(Command::new("uname").arg("-r").output().unwrap().stdout).unwrap();
    let kernel = kernel.trim();
    assert_eq!(
        lines,
        [
            "START\t----\t----\t".to_owned(),
            "\tSTART\tsleeptest\tsleeptest\t".into(),
            "\t\tGOOD\tsleeptest\tsleeptest\tcompleted successfully".into(),
            "\tEND GOOD\tsleeptest\tsleeptest\t".into(),
            "\tSTART\t----\treboot\t".into(),
            "\t\tGOOD\t----\treboot.start\t".into(),
            format!("\t\tGOOD\t----\treboot.verify\t{kernel}"),
            format!("\tEND GOOD\t----\treboot\tkernel={kernel}\t"),
            "\tSTART\tsleeptest.after\tsleeptest.after\t".into(),
            "\t\tGOOD\tsleeptest.after\tsleeptest.after\tcompleted successfully".into(),
            "\tEND GOOD\tsleeptest.after\tsleeptest.after\t".into(),
            "END GOOD\t----\t----\t".into(),
        ]
    );
}

#[test]
fn server_control_file_gets_the_machines() {
    let lab = Lab::new(2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("control"),
        "def run(machine):\n    host = hosts.create_host(machine)\n    host.run('hostname > /tmp/seen-by-srv')\n\
         \x20   autotest_remote.Autotest(host).run_test('sleeptest', seconds=0.1)\n\
         job.record('INFO', None, 'machines', ' '.join(machines))\n\
         job.parallel_simple(run, machines)\n",
    )
    .unwrap();
    let list = lab.machine_list();
    let out = autoserv(&lab, dir.path(), &list, false, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let mut sorted: Vec<String> = list.split(',').map(str::to_owned).collect();
    sorted.sort();
    let lines = status_entries(&dir.path().join("r/status.log"));
    assert_eq!(
        lines[1],
        format!("\tINFO\t----\tmachines\t{}", sorted.join(" "))
    );
    for m in lab.machines() {
        let r = dir.path().join("r").join(m.address().to_string());
        let log = status_entries(&r.join("status.log"));
        assert!(
            log.contains(&"\tEND GOOD\tsleeptest\tsleeptest\t".to_owned()),
            "{log:?}"
        );
    }
}

#[test]
fn unknown_host_key_is_refused() {
    let lab = Lab::new(1);
    let m = lab.machine(0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("control"),
        "job.run_test('sleeptest', seconds=0.1)\n",
    )
    .unwrap();
    let empty = dir.path().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    cmd.current_dir(dir.path())
        .args([
            "autoserv",
            "-m",
            &m.address().to_string(),
            "-r",
            "r",
            "-c",
            "control",
        ])
        .env("AUTOTEST_SSH_KEY", lab.client_key())
        .env("AUTOTEST_SSH_KNOWN_HOSTS", &empty);
    lab.run_in_server(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = status_entries(&dir.path().join("r/status.log"));
    assert!(
        lines[1].starts_with("\tABORT\t----\t----\tmachine unreachable:"),
        "{lines:?}"
    );
    assert!(lines[1].contains("host key"), "{lines:?}");
    assert!(
        !m.autodir().join("autotest").exists(),
        "nothing was installed"
    );
}

#[test]
fn a_machine_that_dies_mid_job_is_recorded_and_the_others_finish() {
    let lab = Lab::new(2);
    let (dying, living) = (lab.machine(0), lab.machine(1));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("control"),
        "job.run_test('sleeptest', seconds=8)\n",
    )
    .unwrap();
    let list = lab.machine_list();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    cmd.current_dir(dir.path())
        .args(["autoserv", "-m", &list, "-r", "r", "-c", "control"]);
    // Notice the dead machine after three missed 1 s keepalives.
    cmd.env("AUTOTEST_SSH_KEEPALIVE_SECS", "1");
    for (k, v) in lab.ssh_env() {
        cmd.env(k, v);
    }
    lab.run_in_server(&mut cmd);
    let child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let dying_log = dir
        .path()
        .join("r")
        .join(dying.address().to_string())
        .join("status.log");
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(&dying_log)
        .unwrap_or_default()
        .contains("START\tsleeptest")
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the test never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    dying.cut();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let lines = status_entries(&dying_log);
    assert!(
        lines[lines.len() - 2].starts_with("\tEND ABORT\tsleeptest\tsleeptest\t"),
        "{lines:?}"
    );
    assert!(
        lines.last().unwrap().starts_with("END ABORT\t----\t----\t"),
        "{lines:?}"
    );
    let living_log = status_entries(
        &dir.path()
            .join("r")
            .join(living.address().to_string())
            .join("status.log"),
    );
    assert_eq!(living_log.last().unwrap(), "END GOOD\t----\t----\t");
    assert!(text(&out.stdout).contains("lost"), "{}", text(&out.stdout));
}

#[test]
fn ssh_user_key_and_known_hosts_come_from_global_config() {
    let lab = Lab::new(1);
    let m = lab.machine(0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("control"),
        "job.run_test('sleeptest', seconds=0.1)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("global_config.ini"),
        format!(
            "[SERVER]\nssh_user: nobody-such\n\n[AUTOSERV]\nssh_user: root\nssh_port: 22\nssh_key: {}\nssh_known_hosts: {}\n",
            lab.client_key().display(),
            lab.known_hosts().display()
        ),
    )
    .unwrap();
    // No AUTOTEST_SSH_* variables: everything comes from the config ([AUTOSERV] over [SERVER]).
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    cmd.current_dir(dir.path())
        .args([
            "autoserv",
            "-m",
            &m.address().to_string(),
            "-r",
            "r",
            "-c",
            "--config-dir",
            ".",
            "control",
        ])
        .env_remove("AUTOTEST_SSH_KEY")
        .env_remove("AUTOTEST_SSH_KNOWN_HOSTS")
        .env_remove("AUTOTEST_SSH_USER");
    lab.run_in_server(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        status_entries(&dir.path().join("r/status.log"))
            .last()
            .unwrap(),
        "END GOOD\t----\t----\t"
    );
}

#[test]
fn a_machine_that_does_not_come_back_is_hard_reset() {
    let lab = Lab::new(1);
    let m = lab.machine(0).clone();
    // After `reboot` this machine stays down until someone power-cycles it.
    lab.set_reboot_delay(Duration::from_secs(3600));
    let dir = tempfile::tempdir().unwrap();
    let pdu = dir.path().join("pdu");
    std::fs::create_dir_all(&pdu).unwrap();
    std::fs::write(dir.path().join("control"), REBOOT_THEN_SLEEPTEST).unwrap();
    std::fs::write(
        dir.path().join("global_config.ini"),
        format!(
            "[HOSTS]\ndefault_reboot_timeout: 4\nwait_down_reboot_timeout: 30\n\
             hardreset_command: touch {}/reset-{{machine}}\n",
            pdu.display()
        ),
    )
    .unwrap();
    // The power switch: a request file from the hardreset command power-cycles the machine.
    let request = pdu.join(format!("reset-{}", m.address()));
    let switch = power_switch(m.clone(), request, Duration::from_secs(120));
    let out = autoserv(
        &lab,
        dir.path(),
        &m.address().to_string(),
        true,
        &["--config-dir", "."],
    );
    assert!(switch.join().unwrap(), "the hardreset command never ran");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr),
        m.log()
    );
    let lines = status_entries(&dir.path().join("r/status.log"));
    assert_eq!(
        lines[1..4],
        [
            "\tSTART\t----\treboot\t",
            "\t\tGOOD\t----\treboot.start\t",
            "\t\tGOOD\t----\treboot.start\thard reset"
        ],
        "{lines:#?}"
    );
    assert_eq!(lines.last().unwrap(), "END GOOD\t----\t----\t");
}

#[test]
fn a_machine_that_does_not_come_back_without_a_console_is_unreachable() {
    let lab = Lab::new(1);
    let m = lab.machine(0).clone();
    lab.set_reboot_delay(Duration::from_secs(3600));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("control"), REBOOT_THEN_SLEEPTEST).unwrap();
    std::fs::write(
        dir.path().join("global_config.ini"),
        "[HOSTS]\ndefault_reboot_timeout: 3\nwait_down_reboot_timeout: 30\n",
    )
    .unwrap();
    let out = autoserv(
        &lab,
        dir.path(),
        &m.address().to_string(),
        true,
        &["--config-dir", "."],
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = status_entries(&dir.path().join("r/status.log"));
    let end = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("\tEND ABORT\t----\treboot"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(
        end.contains(
            "machine unreachable after a reboot: the machine did not come back within 3 s"
        ) && end.contains("no console is configured"),
        "{end}"
    );
    assert!(!lines.iter().any(|l| l.contains("sleeptest")), "{lines:#?}");
}

#[test]
fn server_control_file_hard_resets_a_host() {
    let lab = Lab::new(1);
    let m = lab.machine(0).clone();
    let dir = tempfile::tempdir().unwrap();
    let pdu = dir.path().join("pdu");
    std::fs::create_dir_all(&pdu).unwrap();
    std::fs::write(
        dir.path().join("control"),
        "host = hosts.create_host(machines[0])\nold = host.get_boot_id()\nhost.hardreset()\n\
         assert host.wait_down(timeout=30, old_boot_id=old)\nassert host.wait_up(timeout=30)\n\
         job.record('INFO', None, 'hardreset', 'new boot' if host.get_boot_id() != old else 'same boot')\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("global_config.ini"),
        format!(
            "[HOSTS]\nhardreset_command: touch {}/reset-{{machine}}\n",
            pdu.display()
        ),
    )
    .unwrap();
    let request = pdu.join(format!("reset-{}", m.address()));
    let switch = power_switch(m.clone(), request, Duration::from_secs(60));
    let out = autoserv(
        &lab,
        dir.path(),
        &m.address().to_string(),
        false,
        &["--config-dir", "."],
    );
    assert!(switch.join().unwrap(), "the hardreset command never ran");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let lines = status_entries(&dir.path().join("r/status.log"));
    assert_eq!(lines[1], "\tINFO\t----\thardreset\tnew boot");
    assert_eq!(m.boot_count(), 2);
}

#[test]
fn server_side_test_gets_its_host() {
    let lab = Lab::new(1);
    let m = lab.machine(0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("hostcheck")).unwrap();
    std::fs::write(
        dir.path().join("hostcheck/hostcheck.py"),
        "from autotest.client import test\n\n\
         class hostcheck(test.test):\n    version = 1\n\n\
         \x20   def run_once(self, host=None):\n        name = host.run('hostname').stdout.strip()\n\
         \x20       self.write_attr_keyval({'remote_hostname': name})\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("control"),
        "h = hosts.create_host(machines[0])\njob.run_test('hostcheck', host=h)\n",
    )
    .unwrap();
    let out = autoserv(&lab, dir.path(), &m.address().to_string(), false, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let lines = status_entries(&dir.path().join("r/status.log"));
    assert_eq!(
        lines[2], "\t\tGOOD\thostcheck\thostcheck\tcompleted successfully",
        "{lines:#?}"
    );
    let kv = std::fs::read_to_string(dir.path().join("r/hostcheck/results/keyval")).unwrap();
    assert_eq!(kv, format!("remote_hostname{{attr}}={}\n\n", m.hostname()));
}

#[test]
fn server_job_rolls_up_client_errors_and_runs_tagged_clients_on_one_machine() {
    let lab = Lab::new(1);
    let dir = tempfile::tempdir().unwrap();
    // Autotest() without a host, the host given to run_test; then legacy's
    // parallel_sleeptest.srv pattern: two tagged clients at once on one machine, their control
    // file read from job.autodir.
    std::fs::write(
        dir.path().join("control"),
        "host = hosts.create_host(machines[0])\n\
         at = autotest_remote.Autotest()\n\
         at.run_test('sleeptest', host=host, tag='bad', bogus=1)\n\
         control = open(os.path.join(job.autodir, 'client/tests/sleeptest/control')).read()\n\
         def run_client(tag):\n\
         \x20   at.run(control, host=host, tag=tag, parallel_flag=True)\n\
         parallel([subcommand(run_client, [t]) for t in ('sleeptag0', 'sleeptag1')])\n",
    )
    .unwrap();
    let list = lab.machine_list();
    let out = autoserv(&lab, dir.path(), &list, false, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let lines = status_entries(&dir.path().join("r/status.log"));
    assert_eq!(
        lines,
        [
            "START\t----\t----\t",
            "\tSTART\t----\t----\t",
            "\t\tSTART\tsleeptest.bad\tsleeptest.bad\t",
            "\t\t\tERROR\tsleeptest.bad\tsleeptest.bad\tunknown parameter bogus for test \
             sleeptest.bad: its methods accept iterations, profile_only, seconds, test_length",
            "\t\tEND ERROR\tsleeptest.bad\tsleeptest.bad\t",
            "\tEND ERROR\t----\t----\t",
            "END ERROR\t----\t----\t",
        ]
    );
    for tag in ["sleeptag0", "sleeptag1"] {
        let client = dir.path().join("r").join(&list).join(tag);
        assert_eq!(
            status_entries(&client.join("status")),
            [
                "START\t----\t----\t",
                "\tSTART\tsleeptest\tsleeptest\t",
                "\t\tGOOD\tsleeptest\tsleeptest\tcompleted successfully",
                "\tEND GOOD\tsleeptest\tsleeptest\t",
                "END GOOD\t----\t----\t",
            ]
        );
    }
}
