//! Consoles wired into jobs: a lab machine (network namespace, real sshd, fenced `reboot`) whose
//! console is served by a real `autotest conmux start` in the lab's server namespace. The
//! machine "hangs" on reboot (its sshd does not come back), autoserv logs the console into the
//! results, turns the panic it printed into a WARN line, and power-cycles the machine through the
//! console's `hardreset` command; the job completes. Needs root; fails loudly without it.
//!
//! The serial line is a stand-in: the console is an `application` following a file that the
//! test writes as the machine "prints" (a panic while it hangs, a boot banner after the reset).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use autotest_testlab::netns::Machine;
use autotest_testlab::process::Daemon;
use autotest_testlab::{Lab, REBOOT_THEN_SLEEPTEST, status_entries};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn append(path: &Path, line: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    writeln!(f, "{line}").unwrap();
}

/// The machine's side of the story: when it goes down it prints a panic on its console and stays
/// down; when the console's `hardreset` command asks (a request file), it is power-cycled and
/// prints a boot banner. Returns whether the reset happened.
fn hanging_machine(
    machine: Machine,
    console: PathBuf,
    request: PathBuf,
) -> std::thread::JoinHandle<bool> {
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut panicked = false;
        while start.elapsed() < Duration::from_secs(180) {
            if !panicked && !machine.is_up() {
                append(
                    &console,
                    "[   42.424242] Kernel panic - not syncing: stand-in panic while rebooting",
                );
                panicked = true;
            }
            if request.exists() {
                machine.restart();
                append(
                    &console,
                    "[    0.000000] Linux version stand-in (after hard reset)",
                );
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    })
}

#[test]
fn a_machine_that_hangs_on_reboot_is_hard_reset_through_its_conmux_console() {
    let lab = Lab::new(1);
    let m = lab.machine(0).clone();
    let host = m.address().to_string();
    lab.set_reboot_delay(Duration::from_secs(3600));
    let dir = tempfile::tempdir().unwrap();
    let console = dir.path().join("serial");
    append(
        &console,
        "[    0.000000] Linux version stand-in (first boot)",
    );
    let request = dir.path().join(format!("reset-{host}"));

    let cf_dir = dir.path().join("conmux");
    std::fs::create_dir_all(&cf_dir).unwrap();
    std::fs::write(
        cf_dir.join(format!("{host}.cf")),
        format!(
            "# the lab machine's console\nlistener 127.0.0.1/{host}\n\
             application console '{host} serial' 'tail -n +1 -F {console}'\n\
             command hardreset 'Power-cycling {host}' 'touch {request}'\n",
            console = console.display(),
            request = request.display()
        ),
    )
    .unwrap();
    let mut start = Command::new(env!("CARGO_BIN_EXE_autotest"));
    start
        .args(["conmux", "start"])
        .arg(&cf_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("conmux.stderr")).unwrap());
    lab.run_in_server(&mut start);
    let _conmux = Daemon(start.spawn().expect("start autotest conmux"));

    // The console is ready once the registry lists it.
    let listed = Instant::now();
    loop {
        let mut list = Command::new(env!("CARGO_BIN_EXE_autotest"));
        list.args(["console", "--list", "127.0.0.1"]);
        lab.run_in_server(&mut list);
        let out = list.output().unwrap();
        if text(&out.stdout).contains(&host) {
            break;
        }
        assert!(
            listed.elapsed() < Duration::from_secs(30),
            "the console never registered: {}\n{}",
            text(&out.stderr),
            std::fs::read_to_string(dir.path().join("conmux.stderr")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    std::fs::write(dir.path().join("control"), REBOOT_THEN_SLEEPTEST).unwrap();
    std::fs::write(
        dir.path().join("global_config.ini"),
        "[HOSTS]\ndefault_reboot_timeout: 4\nwait_down_reboot_timeout: 30\n",
    )
    .unwrap();
    let machine = hanging_machine(m.clone(), console.clone(), request);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    cmd.current_dir(dir.path()).args([
        "autoserv",
        "-m",
        &host,
        "-r",
        "r",
        "-c",
        "--conmux",
        "127.0.0.1",
        "--config-dir",
        ".",
        "control",
    ]);
    for (k, v) in lab.ssh_env() {
        cmd.env(k, v);
    }
    lab.run_in_server(&mut cmd);
    let out = cmd.output().expect("run autotest autoserv");
    assert!(
        machine.join().unwrap(),
        "the console's hardreset command never ran"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr),
        m.log()
    );

    let lines = status_entries(&dir.path().join("r/status.log"));
    assert!(
        lines.contains(&"\t\tGOOD\t----\treboot.start\thard reset".to_owned()),
        "{lines:#?}"
    );
    let warn = lines
        .iter()
        .find(|l| l.contains("WARN\t----\tconsole"))
        .unwrap_or_else(|| panic!("no console WARN line: {lines:#?}"));
    assert!(
        warn.starts_with("\t\tWARN")
            && warn.contains("kernel panic on")
            && warn.contains("stand-in panic while rebooting"),
        "{warn}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("\t\tGOOD\tsleeptest\tsleeptest")),
        "{lines:#?}"
    );
    assert_eq!(lines.last().unwrap(), "END GOOD\t----\t----\t");

    // The console went into the results from the job's start on: the panic, the reset's
    // announcement and exit status as every attached client saw them, the boot after it.
    let console_log = std::fs::read_to_string(dir.path().join("r/console.log")).unwrap();
    for want in [
        "Kernel panic - not syncing".to_owned(),
        format!("(bot:autoserv) Power-cycling {host}"),
        "hardreset exited with status 0".to_owned(),
        "(after hard reset)".to_owned(),
    ] {
        assert!(
            console_log.contains(&want),
            "{want} missing from console.log:\n{console_log}"
        );
    }
    assert!(
        !console_log.contains("(first boot)"),
        "printed before the job attached:\n{console_log}"
    );
    // The conmux server logged everything, attached or not, including the command.
    let server_log = std::fs::read_to_string(cf_dir.join(format!("{host}.log"))).unwrap();
    for want in [
        "(first boot)",
        "Kernel panic",
        "hardreset exited with status 0",
        "(after hard reset)",
    ] {
        assert!(
            server_log.contains(want),
            "{want} missing from the console server's log:\n{server_log}"
        );
    }
}
