//! Data-driven tests of the legacy formats: pidfiles, `.machines`, control-file metadata and
//! `global_config.ini` (data under `tests/data/`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use autotest_core::config::{
    AutoservConfig, ConfigError, GlobalConfig, HostsConfig, SchedulerConfig,
};
use autotest_core::control::{ControlMeta, ControlMetaError};
use autotest_core::machines::{
    MachinesError, machines_for_queue, parse_machines, read_machines, unique_sorted_machines,
    validate_machine,
};
use autotest_core::pidfile::{Pidfile, PidfileState, ProcessExit};

fn data(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(sub)
}

fn files_in(dir: &Path, ext: Option<&str>) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| ext.is_none_or(|ext| p.extension().and_then(|e| e.to_str()) == Some(ext)))
        .collect();
    files.sort();
    files
}

fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

// ------------------------------------------------------------------------------------- pidfile

#[test]
fn pidfile_data_files() {
    let finished = |exit, failed_tests| PidfileState::Finished {
        pid: 4242,
        exit_status: exit,
        failed_tests,
    };
    let expected: BTreeMap<&str, Option<PidfileState>> = BTreeMap::from([
        ("running.pid", Some(PidfileState::Running { pid: 4242 })),
        (
            "being_written.pid",
            Some(PidfileState::BeingWritten {
                pid: 4242,
                status: 256,
            }),
        ),
        ("finished_ok.pid", Some(finished(ProcessExit::Code(0), 0))),
        (
            "finished_failed.pid",
            Some(finished(ProcessExit::Code(1), 3)),
        ),
        ("finished_crlf.pid", Some(finished(ProcessExit::Code(0), 1))),
        (
            "finished_no_final_newline.pid",
            Some(finished(ProcessExit::Code(0), 0)),
        ),
        ("killed.pid", Some(finished(ProcessExit::Signal(9), 0))),
        // None: corrupt.
        ("corrupt_empty.pid", None),
        ("corrupt_nonnumeric.pid", None),
        ("corrupt_4lines.pid", None),
        ("corrupt_status.pid", None),
        ("corrupt_failed_count.pid", None),
        ("corrupt_pid_zero.pid", None),
    ]);
    let files = files_in(&data("pidfile"), Some("pid"));
    assert_eq!(
        files.len(),
        expected.len(),
        "every data file needs an expectation"
    );
    for file in files {
        let name = name_of(&file);
        let want = expected
            .get(name.as_str())
            .unwrap_or_else(|| panic!("no expectation for {name}"));
        let got = Pidfile::new(&file).read().unwrap().unwrap();
        match want {
            Some(state) => assert_eq!(&got, state, "{name}"),
            None => assert!(
                matches!(got, PidfileState::Corrupt { ref reason } if !reason.is_empty()),
                "{name}: {got:?}"
            ),
        }
    }
}

#[test]
fn pidfile_lifecycle_in_results_dir() {
    let dir = tempfile::tempdir().unwrap();
    for pf in [
        Pidfile::autoserv(dir.path()),
        Pidfile::parser(dir.path()),
        Pidfile::archiver(dir.path()),
    ] {
        assert_eq!(pf.read().unwrap(), None);
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let mut child = KillOnDrop(child);
        let pid = child.0.id();
        pf.write_started(pid).unwrap();
        assert_eq!(
            pf.read_checked().unwrap(),
            Some(PidfileState::Running { pid })
        );
        // The process dies without writing its exit: lost, not success.
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        assert_eq!(pf.read_checked().unwrap(), Some(PidfileState::Lost { pid }));
        // Had it finished properly, the status would be read back.
        pf.write_finished(ProcessExit::Signal(15), 0).unwrap();
        assert_eq!(
            pf.read_checked().unwrap(),
            Some(PidfileState::Finished {
                pid,
                exit_status: ProcessExit::Signal(15),
                failed_tests: 0
            })
        );
    }
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![".archiver_execute", ".autoserv_execute", ".parser_execute"]
    );
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ------------------------------------------------------------------------------------ machines

#[test]
fn machines_data_files() {
    let ok: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        (
            "basic.machines",
            vec![
                "client1.example.com",
                "client2.example.com",
                "client3.example.com",
            ],
        ),
        (
            "commented.machines",
            vec!["client1.example.com", "client3.example.com"],
        ),
        (
            "ssh_forms.machines",
            vec![
                "root@client1.example.com",
                "client2.example.com:2222",
                "autotest@10.0.0.7:22",
                "[2001:db8::7]",
                "root@[fe80::1]:2200",
            ],
        ),
        ("crlf.machines", vec!["client1", "client2"]),
        ("empty.machines", vec![]),
    ]);
    // File -> (line, a fragment of the reason).
    let bad: BTreeMap<&str, (usize, &str)> = BTreeMap::from([
        ("bad_two_hosts.machines", (3, "whitespace")),
        ("bad_chars.machines", (2, "'$'")),
        ("bad_port.machines", (1, "port")),
        ("bad_ipv6.machines", (2, "brackets")),
    ]);
    let files = files_in(&data("machines"), Some("machines"));
    assert_eq!(files.len(), ok.len() + bad.len());
    for file in files {
        let name = name_of(&file);
        if let Some(want) = ok.get(name.as_str()) {
            assert_eq!(&read_machines(&file).unwrap(), want, "{name}");
        } else {
            let (want_line, fragment) = bad[name.as_str()];
            match read_machines(&file) {
                Err(ref err @ MachinesError::InvalidLine { ref path, line, .. }) => {
                    assert_eq!(path, &file);
                    assert_eq!(line, want_line, "{name}");
                    let msg = err.to_string();
                    assert!(
                        msg.starts_with(&format!("{}:{want_line}:", file.display())),
                        "{msg}"
                    );
                    assert!(msg.contains(fragment), "{name}: {msg}");
                    assert!(msg.contains("one machine per line"), "{msg}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}

#[test]
fn machines_for_queue_uses_file_or_directory_name() {
    let top = tempfile::tempdir().unwrap();
    // No .machines: the directory's name is the machine.
    let single = top.path().join("client9.example.com");
    fs::create_dir(&single).unwrap();
    fs::write(single.join("sleeptest"), "job.run_test('sleeptest')\n").unwrap();
    assert_eq!(
        machines_for_queue(&single).unwrap(),
        vec!["client9.example.com"]
    );
    // A trailing slash does not matter.
    assert_eq!(
        machines_for_queue(format!("{}/", single.display())).unwrap(),
        vec!["client9.example.com"]
    );
    // With .machines, its list.
    let group = top.path().join("x86_64");
    fs::create_dir(&group).unwrap();
    fs::copy(data("machines/commented.machines"), group.join(".machines")).unwrap();
    assert_eq!(
        machines_for_queue(&group).unwrap(),
        vec!["client1.example.com", "client3.example.com"]
    );
    // An empty .machines is an error that says what to do.
    fs::copy(data("machines/empty.machines"), group.join(".machines")).unwrap();
    let err = machines_for_queue(&group).unwrap_err();
    assert!(matches!(err, MachinesError::NoMachines { .. }), "{err:?}");
    assert!(err.to_string().contains("delete the file"), "{err}");
    // A directory name that is not a machine, without .machines.
    let odd = top.path().join("my queue");
    fs::create_dir(&odd).unwrap();
    let err = machines_for_queue(&odd).unwrap_err();
    assert!(matches!(err, MachinesError::BadQueueName { .. }), "{err:?}");
    assert!(err.to_string().contains("create .machines"), "{err}");
    // A missing queue directory.
    assert!(matches!(
        machines_for_queue(top.path().join("nope")),
        Err(MachinesError::Io { .. })
    ));
}

#[test]
fn server_machines_list_is_unique_and_sorted() {
    let text = fs::read_to_string(data("machines/basic.machines")).unwrap();
    let mut list = parse_machines(&text, "basic").unwrap();
    list.extend(parse_machines("client2.example.com\nclient0\n", "more").unwrap());
    assert_eq!(
        unique_sorted_machines(list),
        vec![
            "client0",
            "client1.example.com",
            "client2.example.com",
            "client3.example.com"
        ]
    );
    assert!(validate_machine("root@host:22").is_ok());
}

// ----------------------------------------------------------------------------- control files

#[test]
fn control_meta_data_files() {
    let dir = data("control");
    let controls: Vec<PathBuf> = files_in(&dir, None)
        .into_iter()
        .filter(|p| !name_of(p).ends_with(".expected.json"))
        .collect();
    assert!(controls.len() >= 5);
    for control in controls {
        let name = name_of(&control);
        let expected_path = dir.join(format!("{name}.expected.json"));
        let expected: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(&expected_path)
                .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display())),
        )
        .unwrap();
        match ControlMeta::from_file(&control) {
            Ok(meta) => {
                for p in &meta.problems {
                    assert_eq!(p.path, control);
                    assert!(
                        p.to_string().starts_with(&format!(
                            "{}:{}: {}",
                            control.display(),
                            p.line,
                            p.variable
                        )),
                        "{p}"
                    );
                }
                let mut got = serde_json::to_value(&meta).unwrap();
                // Compare problems by line and variable; messages are checked elsewhere.
                got["problems"] = meta
                    .problems
                    .iter()
                    .map(|p| serde_json::json!({"line": p.line, "variable": p.variable}))
                    .collect();
                assert_eq!(got, expected, "{name}");
            }
            Err(err) => {
                let line = expected["error_line"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("{name}: unexpected error {err}"));
                match err {
                    ControlMetaError::Syntax {
                        ref path, line: l, ..
                    } => {
                        assert_eq!(path, &control);
                        assert_eq!(l as u64, line, "{name}");
                        assert!(
                            err.to_string()
                                .contains(&format!("{}:{line}:", control.display())),
                            "{err}"
                        );
                    }
                    other => panic!("{name}: {other}"),
                }
            }
        }
    }
}

#[test]
fn control_meta_problem_messages_say_what_to_do() {
    let meta = ControlMeta::from_file(data("control/computed_values.control")).unwrap();
    let sync = meta
        .problems
        .iter()
        .find(|p| p.variable == "SYNC_COUNT")
        .unwrap();
    assert!(sync.message.contains("at least 1"), "{}", sync.message);
    let name = meta.problems.iter().find(|p| p.variable == "NAME").unwrap();
    assert!(name.message.contains("not a literal"), "{}", name.message);
    assert!(name.message.contains("NAME = 'mytest'"), "{}", name.message);
}

#[test]
fn control_meta_missing_file() {
    let err = ControlMeta::from_file(data("control/does-not-exist")).unwrap_err();
    assert!(matches!(err, ControlMetaError::Io { .. }));
    assert!(err.to_string().contains("does-not-exist"));
}

// ------------------------------------------------------------------------------------- config

fn site_config() -> GlobalConfig {
    GlobalConfig::load(
        data("config/global_config.ini"),
        Some(&data("config/shadow_config.ini")),
    )
    .unwrap()
}

#[test]
fn config_global_only() {
    let c = GlobalConfig::load(data("config/global_config.ini"), None).unwrap();
    assert_eq!(c.shadow_path(), None);
    let s = c.scheduler().unwrap();
    let mut want = SchedulerConfig::default();
    want.drone_installation_directory = "/usr/local/autotest".into();
    assert_eq!(s, want);
    let a = c.autoserv().unwrap();
    assert_eq!(
        a.client_autodir_paths,
        vec!["/usr/local/autotest", "/home/autotest", "/opt/autotest"]
    );
    assert_eq!(c.hosts().unwrap(), HostsConfig::default());
    let w = c.autotest_web().unwrap();
    assert_eq!(w.host.as_deref(), Some("localhost"));
    assert_eq!(w.db_type.as_deref(), Some("mysql"));
    assert_eq!(w.job_timeout_default, 72);
    // Continuation lines, a blank line inside included.
    assert_eq!(
        c.get_str("SCHEDULER", "motd").unwrap().as_deref(),
        Some(
            "Welcome to the lab.\nPlease book machines before use.\n\nQuestions: lab-admins@example.com"
        )
    );
    // Case-insensitive option names.
    assert_eq!(
        c.get_int("SCHEDULER", "MAX_PROCESSES_PER_DRONE").unwrap(),
        Some(1000)
    );
    assert_eq!(
        c.get_bool("SCHEDULER", "die_on_orphans").unwrap(),
        Some(false)
    );
    assert_eq!(
        c.get_float("SCHEDULER", "tick_pause_sec").unwrap(),
        Some(5.0)
    );
    // Interpolation from [DEFAULT]; DEFAULT options are visible in every section.
    assert_eq!(
        c.get_str("SCHEDULER", "log_dir").unwrap().as_deref(),
        Some("/usr/local/autotest/logs")
    );
    assert!(c.options("HOSTS").contains(&"autotest_top"));
    // Blank values: "" as a string, unset for typed accessors.
    assert_eq!(
        c.get_str("SCHEDULER", "results_host_installation_directory")
            .unwrap()
            .as_deref(),
        Some("")
    );
    assert_eq!(c.get_list("HOSTS", "wait_up_processes").unwrap(), None);
    assert_eq!(c.get_str("SCHEDULER", "no_such_key").unwrap(), None);
    assert_eq!(c.get_str("NO_SUCH_SECTION", "x").unwrap(), None);
}

#[test]
fn config_shadow_overrides_global() {
    let c = site_config();
    let s = c.scheduler().unwrap();
    assert_eq!(
        s.drones,
        vec![
            "drone1.lab.example.com",
            "drone2.lab.example.com",
            "drone3.lab.example.com"
        ]
    );
    assert_eq!(s.results_host, "results.lab.example.com");
    assert_eq!(s.archive_host.as_deref(), Some("archive.lab.example.com"));
    assert_eq!(s.tick_pause_sec, 10);
    // Global values the shadow does not touch remain.
    assert_eq!(s.max_parse_processes, 5);
    // The shadow's [DEFAULT] changes what the global's %(autotest_top)s expands to.
    assert_eq!(s.drone_installation_directory, "/srv/autotest");
    // Per-drone settings.
    assert_eq!(s.drone_max_processes("drone1.lab.example.com"), 40);
    assert_eq!(s.drone_max_processes("DRONE1.lab.example.com"), 40);
    assert_eq!(s.drone_max_processes("drone2.lab.example.com"), 1000);
    assert_eq!(s.drone_max_processes("drone3.lab.example.com"), 1000);
    assert!(s.drone_disabled("drone2.lab.example.com"));
    assert!(!s.drone_disabled("drone1.lab.example.com"));
    assert_eq!(s.drone_username("drone3.lab.example.com"), Some("autotest"));
    assert_eq!(s.drone_username("drone1.lab.example.com"), None);
    let w = c.autotest_web().unwrap();
    assert_eq!(w.host.as_deref(), Some("db.lab.example.com"));
    // Upper-case option in the shadow overrides lower-case in the global; inline ';' comment
    // stripped.
    assert_eq!(w.password.as_deref(), Some("s3cret"));
    assert_eq!(w.database.as_deref(), Some("autotest_web"));
    assert_eq!(
        c.hosts().unwrap(),
        HostsConfig {
            default_reboot_timeout: 2400,
            wait_down_reboot_timeout: 840
        }
    );
    assert_eq!(
        c.autoserv().unwrap(),
        AutoservConfig {
            client_autodir_paths: vec![
                "/srv/autotest".into(),
                "/home/autotest".into(),
                "/opt/autotest".into()
            ],
            kernel_mirror_dir: None,
        }
    );
    // Where values came from.
    let shadow = data("config/shadow_config.ini");
    let global = data("config/global_config.ini");
    assert_eq!(
        c.origin("SCHEDULER", "tick_pause_sec"),
        Some(shadow.as_path())
    );
    assert_eq!(
        c.origin("SCHEDULER", "max_parse_processes"),
        Some(global.as_path())
    );
    assert_eq!(c.origin("AUTOTEST_WEB", "password"), Some(shadow.as_path()));
}

#[test]
fn config_missing_shadow_is_ignored_missing_global_is_not() {
    let c = GlobalConfig::load(
        data("config/global_config.ini"),
        Some(&data("config/no_such_shadow.ini")),
    )
    .unwrap();
    assert_eq!(c.scheduler().unwrap().tick_pause_sec, 5);
    let err = GlobalConfig::load(data("config/no_such_global.ini"), None).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(err.to_string().contains("no_such_global.ini"), "{err}");
}

#[test]
fn config_bad_value_names_the_shadow_file() {
    let shadow = data("config/shadow_bad_int.ini");
    let c = GlobalConfig::load(data("config/global_config.ini"), Some(&shadow)).unwrap();
    let err = c.scheduler().unwrap_err();
    let msg = err.to_string();
    match err {
        ConfigError::BadValue {
            path,
            line,
            section,
            key,
            value,
            ..
        } => {
            assert_eq!(path, shadow);
            assert_eq!(line, 2);
            assert_eq!(section, "SCHEDULER");
            assert_eq!(key, "tick_pause_sec");
            assert_eq!(value, "five");
        }
        other => panic!("{other:?}"),
    }
    assert!(msg.contains("expected an integer, got 'five'"), "{msg}");
    assert!(msg.contains("shadow_bad_int.ini:2"), "{msg}");

    let shadow = data("config/shadow_bad_bool.ini");
    let c = GlobalConfig::load(data("config/global_config.ini"), Some(&shadow)).unwrap();
    let msg = c.scheduler().unwrap_err().to_string();
    assert!(
        msg.contains("shadow_bad_bool.ini:2: [SCHEDULER] drone1_disabled"),
        "{msg}"
    );
    assert!(msg.contains("got 'perhaps'"), "{msg}");

    let c = GlobalConfig::load(data("config/negative.ini"), None).unwrap();
    let msg = c.hosts().unwrap_err().to_string();
    assert!(
        msg.contains("negative.ini:2: [HOSTS] wait_down_reboot_timeout"),
        "{msg}"
    );
}

#[test]
fn config_syntax_errors_name_file_and_line() {
    for (file, want_line) in [("bad_syntax.ini", 3), ("before_section.ini", 2)] {
        let path = data("config").join(file);
        match GlobalConfig::load(&path, None) {
            Err(ref err @ ConfigError::Syntax { line, .. }) => {
                assert_eq!(line, want_line, "{file}");
                assert!(
                    err.to_string()
                        .starts_with(&format!("{}:{want_line}:", path.display())),
                    "{err}"
                );
            }
            other => panic!("{file}: {other:?}"),
        }
    }
    // A syntax error in the shadow names the shadow.
    let shadow = data("config/bad_syntax.ini");
    let err = GlobalConfig::load(data("config/global_config.ini"), Some(&shadow)).unwrap_err();
    assert!(err.to_string().contains("bad_syntax.ini:3:"), "{err}");
}

#[test]
fn config_interpolation_errors() {
    let c = GlobalConfig::load(data("config/interpolation_loop.ini"), None).unwrap();
    let msg = c.scheduler().unwrap_err().to_string();
    assert!(msg.contains("loop"), "{msg}");
    assert!(
        msg.contains("drone_installation_directory -> results_dir -> drone_installation_directory"),
        "{msg}"
    );
    let c = GlobalConfig::load(data("config/interpolation_missing.ini"), None).unwrap();
    let msg = c.autoserv().unwrap_err().to_string();
    assert!(
        msg.contains("interpolation_missing.ini:2: [AUTOSERV] client_autodir_paths"),
        "{msg}"
    );
    assert!(msg.contains("'install_root'"), "{msg}");
}

// ----------------------------------------------------------------------------------- properties

mod properties {
    use autotest_core::config::GlobalConfig;
    use autotest_core::control::ControlMeta;
    use autotest_core::machines::parse_machines;
    use autotest_core::pidfile::{PidfileState, ProcessExit};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pidfile_parse_never_panics(text in "\\PC*") {
            let _ = PidfileState::parse(&text);
        }

        #[test]
        fn pidfile_finished_round_trip(
            pid in 1u32..=i32::MAX as u32,
            code in 0i32..=255,
            signal in 0i32..=0x7f,
            failed in any::<u32>(),
        ) {
            let exit = if signal == 0 { ProcessExit::Code(code) } else { ProcessExit::Signal(signal) };
            let text = format!("{pid}\n{}\n{failed}\n", exit.wait_status());
            prop_assert_eq!(
                PidfileState::parse(&text),
                PidfileState::Finished { pid, exit_status: exit, failed_tests: failed }
            );
        }

        #[test]
        fn machines_parse_never_panics(text in "\\PC*") {
            let _ = parse_machines(&text, ".machines");
        }

        #[test]
        fn machines_round_trip(hosts in proptest::collection::vec("[a-z][a-z0-9-]{0,10}[a-z0-9](\\.[a-z0-9]{1,8}){0,3}", 0..8)) {
            let text = hosts.iter().map(|h| format!("  {h}\t\n\n")).collect::<String>();
            prop_assert_eq!(parse_machines(&text, ".machines").unwrap(), hosts);
        }

        #[test]
        fn control_meta_never_panics(text in "[ -~\\n\\t'\"\\\\()#=]{0,200}") {
            let _ = ControlMeta::parse(&text, "control");
        }

        #[test]
        fn control_meta_string_round_trip(s in "[ -~]{0,40}") {
            // Render as a Python literal with every special character escaped.
            let lit: String = s.chars().map(|c| match c {
                '\\' => "\\\\".to_owned(),
                '\'' => "\\'".to_owned(),
                c => c.to_string(),
            }).collect();
            let meta = ControlMeta::parse(&format!("NAME = '{lit}'\n"), "control").unwrap();
            prop_assert_eq!(meta.name, Some(s));
        }

        #[test]
        fn config_never_panics(text in "[ -~\\n\\t]{0,200}") {
            if let Ok(c) = GlobalConfig::parse(&text, "g.ini") {
                for section in c.sections() {
                    for key in c.options(section) {
                        let _ = c.get_str(section, key);
                        let _ = c.get_list(section, key);
                    }
                }
                let _ = c.scheduler();
            }
        }
    }
}
