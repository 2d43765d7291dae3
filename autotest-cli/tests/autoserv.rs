//! `autotest autoserv` on localhost: the real binary, the installed client runtime copied into an
//! autodir, status lines streamed into status.log, results copied back, the pidfile written.

use std::path::Path;
use std::process::{Command, Output};

use autotest_testlab::status_entries;

fn autotest(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autotest"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run the autotest binary")
}

/// `autotest autoserv <flag> <machines> -r <results> -c --config-dir . control` in `cwd`: a client
/// job with the test's global_config.ini.
fn client_job(cwd: &Path, flag: &str, machines: &str, results: &str) -> Output {
    autotest(
        &[
            "autoserv",
            flag,
            machines,
            "-r",
            results,
            "-c",
            "--config-dir",
            ".",
            "control",
        ],
        cwd,
    )
}

fn setup(dir: &Path, autodir: &str, control: &str) {
    std::fs::write(
        dir.join("global_config.ini"),
        format!("[AUTOSERV]\nclient_autodir_paths: {autodir}\n"),
    )
    .unwrap();
    std::fs::write(dir.join("control"), control).unwrap();
}

#[test]
fn client_job_with_reboot_on_localhost() {
    let dir = tempfile::tempdir().unwrap();
    let autodir = dir.path().join("autodir");
    setup(
        dir.path(),
        autodir.to_str().unwrap(),
        "def step_init():\n    job.next_step(two)\n    job.run_test('sleeptest', seconds=0.1)\n    job.reboot()\n\
         def two():\n    job.run_test('sleeptest', tag='two', seconds=0.1)\n    job.run_test('sleeptest', tag='bad', bogus=1)\n",
    );
    let out = client_job(dir.path(), "-m", "localhost", "r");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("localhost: completed (1 reboot(s))"));
    let r = dir.path().join("r");
    let lines = status_entries(&r.join("status.log"));
    assert_eq!(lines.first().unwrap(), "START\t----\t----\t");
    assert!(
        lines.contains(&"\tEND GOOD\tsleeptest.two\tsleeptest.two\t".to_owned()),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l
                .starts_with("\t\tERROR\tsleeptest.bad\tsleeptest.bad\tunknown parameter bogus")),
        "{lines:#?}"
    );
    assert_eq!(lines.last().unwrap(), "END ERROR\t----\t----\t");
    // The streamed log and the client's own copy agree line for line.
    assert_eq!(lines, status_entries(&r.join("status")));
    // Results came back; the pidfile says exit 0 and one failed test.
    assert!(r.join("sleeptest.two/results/keyval").exists());
    let pid = std::fs::read_to_string(r.join(".autoserv_execute")).unwrap();
    let pid: Vec<&str> = pid.lines().collect();
    assert_eq!(&pid[1..], ["0", "1"], "{pid:?}");
    assert!(
        std::fs::read_to_string(r.join("debug/autoserv.cmd"))
            .unwrap()
            .contains("autoserv -m localhost")
    );
    // The client runtime was installed once; a second job reuses it.
    let marker = std::fs::read_to_string(autodir.join(".autotest-build")).unwrap();
    let out = client_job(dir.path(), "-m", "localhost", "r2");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(autodir.join(".autotest-build")).unwrap(),
        marker
    );
    assert!(
        autodir.join("results").read_dir().unwrap().count() >= 2,
        "older results moved aside, not deleted"
    );
}

#[test]
fn unusable_autodir_is_recorded_as_an_aborted_job() {
    let dir = tempfile::tempdir().unwrap();
    setup(
        dir.path(),
        "/proc/no-such-autodir",
        "job.run_test('sleeptest')\n",
    );
    let out = client_job(dir.path(), "-m", "localhost", "r");
    assert_eq!(out.status.code(), Some(1));
    let lines = status_entries(&dir.path().join("r/status.log"));
    assert_eq!(lines[0], "START\t----\t----\t");
    assert!(
        lines[1].starts_with("\tABORT\t----\t----\tno usable autodir among /proc/no-such-autodir"),
        "{lines:?}"
    );
    assert_eq!(lines[2], "END ABORT\t----\t----\t");
    let pid = std::fs::read_to_string(dir.path().join("r/.autoserv_execute")).unwrap();
    assert_eq!(pid.lines().nth(1), Some("256"));
}

#[test]
fn sigterm_stops_the_client_and_records_the_abort() {
    let dir = tempfile::tempdir().unwrap();
    let autodir = dir.path().join("autodir");
    setup(
        dir.path(),
        autodir.to_str().unwrap(),
        "job.run_test('sleeptest', seconds=60)\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_autotest"))
        .args([
            "autoserv",
            "-m",
            "localhost",
            "-r",
            "r",
            "-c",
            "--config-dir",
            ".",
            "control",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = dir.path().join("r/status.log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("START\tsleeptest")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the test never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    let lines = status_entries(&log);
    assert_eq!(
        lines[lines.len() - 3..],
        [
            "\t\tABORT\t----\t----\tJob aborted: the client received SIGTERM",
            "\tEND ABORT\tsleeptest\tsleeptest\t",
            "END ABORT\t----\t----\t",
        ]
    );
    let pid = std::fs::read_to_string(dir.path().join("r/.autoserv_execute")).unwrap();
    assert_eq!(
        pid.lines().nth(1),
        Some("15"),
        "pidfile records the SIGTERM"
    );
    // The client is gone: its recorded pid no longer runs.
    let client_pid: i32 = std::fs::read_to_string(autodir.join("results/default/.client_pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !Path::new(&format!("/proc/{client_pid}")).exists() || {
            let stat =
                std::fs::read_to_string(format!("/proc/{client_pid}/stat")).unwrap_or_default();
            stat.split_whitespace().nth(2) == Some("Z")
        }
    );
}

#[test]
fn server_control_file_drives_its_machine_through_the_core() {
    let dir = tempfile::tempdir().unwrap();
    let autodir = dir.path().join("autodir");
    setup(
        dir.path(),
        autodir.to_str().unwrap(),
        "\
def run(machine):
    host = hosts.create_host(machine)
    job.record('INFO', None, 'machines', ','.join(machines))
    at = autotest_remote.Autotest(host)
    at.run_test('sleeptest', seconds=0.1)
    r = host.run('echo hi; exit 3', ignore_status=True)
    job.record('INFO', None, 'run', '%s %s' % (r.exit_status, r.stdout.strip()))
    host.send_file(__file__, '/tmp/autoserv-test-copy.srv')
    host.get_file('/tmp/autoserv-test-copy.srv', job.resultdir + '/copied-back')
    host.run('false')
job.parallel_simple(run, machines)
",
    );
    let out = autotest(
        &[
            "autoserv",
            "-m",
            "localhost,localhost",
            "-r",
            "r",
            "--config-dir",
            ".",
            "control",
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = dir.path().join("r");
    let lines = status_entries(&r.join("status.log"));
    assert_eq!(
        lines,
        [
            "START\t----\t----\t",
            "\tINFO\t----\tmachines\tlocalhost",
            "\tSTART\t----\t----\t",
            "\t\tSTART\tsleeptest\tsleeptest\t",
            "\t\t\tGOOD\tsleeptest\tsleeptest\tcompleted successfully",
            "\t\tEND GOOD\tsleeptest\tsleeptest\t",
            "\tEND GOOD\t----\t----\t",
            "\tINFO\t----\trun\t3 hi",
            "\tFAIL\t----\t----\tAutoservRunError: localhost: command <false> failed, rc=1: ",
            "END FAIL\t----\t----\t",
        ]
    );
    assert!(
        std::fs::read_to_string(r.join("copied-back"))
            .unwrap()
            .contains("parallel_simple")
    );
    assert!(r.join("sleeptest/results/keyval").exists());
    assert!(r.join("control.srv").exists());
    let pid = std::fs::read_to_string(r.join(".autoserv_execute")).unwrap();
    assert_eq!(pid.lines().skip(1).collect::<Vec<_>>(), ["256", "0"]);
}

#[test]
fn a_machine_list_file_is_read_and_repeats_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let autodir = dir.path().join("autodir");
    setup(
        dir.path(),
        autodir.to_str().unwrap(),
        "job.run_test('sleeptest', seconds=0.1)\n",
    );
    std::fs::write(
        dir.path().join("machines"),
        "# the lab\nlocalhost\n\nlocalhost\n",
    )
    .unwrap();
    let out = client_job(dir.path(), "-M", "machines", "r");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.matches("localhost: completed").count(),
        1,
        "{stdout}"
    );
    let lines = status_entries(&dir.path().join("r/status.log"));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("END GOOD\tsleeptest"))
            .count(),
        1,
        "{lines:#?}"
    );
    // A bad line of the file is refused with its file and line.
    std::fs::write(dir.path().join("machines"), "localhost\nnot a host\n").unwrap();
    let out = client_job(dir.path(), "-M", "machines", "r2");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("machines:2"), "{stderr}");
}

#[test]
fn an_ssh_port_outside_the_tcp_range_is_refused_with_file_line_and_range() {
    for bad in ["99999", "-1", "0"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("global_config.ini"),
            format!(
                "[AUTOSERV]\nclient_autodir_paths: {}\nssh_port = {bad}\n",
                dir.path().join("a").display()
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("control"), "job.run_test('sleeptest')\n").unwrap();
        let out = client_job(dir.path(), "-m", "box1", "r");
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("global_config.ini:3:")
                && stderr.contains("ssh_port")
                && stderr.contains("1 to 65535"),
            "{bad}: {stderr}"
        );
        // Refused before any machine was tried; the pidfile records the failure.
        let pid = std::fs::read_to_string(dir.path().join("r/.autoserv_execute")).unwrap();
        assert_eq!(
            pid.lines().skip(1).collect::<Vec<_>>(),
            ["256", "0"],
            "exit code 1 as a wait status: {pid}"
        );
    }
}
