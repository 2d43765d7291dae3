//! The conventions every command shares, on the real binary: global -q/-v, RUST_LOG winning,
//! colour only on terminals and never under NO_COLOR, errors printed once, exit codes in
//! `--help`. A terminal is a real pseudo-terminal from util-linux's `script`.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_autotest");

fn autotest(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("RUST_LOG").env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run the autotest binary")
}

/// Runs the binary on a pseudo-terminal (stdout and stderr both on it); returns what it printed.
fn on_terminal(args: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("{BIN} {args}"), "/dev/null"])
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .expect("util-linux `script` is needed for a pseudo-terminal: apt-get install bsdutils");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The top-level command names, from `autotest --help` (so later commands are covered too).
fn commands() -> Vec<String> {
    let out = autotest(&["--help"], &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    let list = text
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands: section")
        .split("\n\n")
        .next()
        .unwrap();
    let names: Vec<String> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_owned)
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    names
}

#[test]
fn quiet_and_verbose_are_accepted_by_every_command() {
    for name in commands() {
        for flag in ["-q", "-vv", "--quiet", "--verbose"] {
            let out = autotest(&[&name, flag, "--help"], &[]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "autotest {name} {flag} --help: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn every_command_documents_its_exit_status() {
    for name in commands() {
        let out = autotest(&[&name, "--help"], &[]);
        let help = String::from_utf8(out.stdout).unwrap();
        // A command with subcommands documents them in theirs.
        if help.contains("\nCommands:\n") {
            continue;
        }
        assert!(
            help.contains("\nExit status:\n"),
            "autotest {name} --help:\n{help}"
        );
    }
}

#[test]
fn help_is_coloured_on_a_terminal_only_and_never_under_no_color() {
    let coloured = on_terminal("status --help", &[]);
    assert!(coloured.contains("Exit status"), "{coloured}");
    assert!(
        coloured.contains('\x1b'),
        "no colour on a terminal: {coloured:?}"
    );
    let plain = on_terminal("status --help", &[("NO_COLOR", "1")]);
    assert!(plain.contains("Exit status"), "{plain}");
    assert!(!plain.contains('\x1b'), "colour under NO_COLOR: {plain:?}");
    let piped = autotest(&["status", "--help"], &[]);
    assert!(!piped.stdout.contains(&0x1b), "colour on a pipe");
}

/// `run` logs the runner's command line at debug level: the probe for the log level.
fn run_probe(dir: &std::path::Path) -> String {
    let control = dir.join("control");
    std::fs::write(&control, "pass\n").unwrap();
    format!(
        "{} --results {}",
        control.display(),
        dir.join("r").display()
    )
}

#[test]
fn each_v_raises_the_log_level_and_rust_log_wins() {
    let dir = tempfile::tempdir().unwrap();
    let probe = run_probe(dir.path());
    let args: Vec<&str> = probe.split(' ').collect();
    let env = [("AUTOTEST_PYTHON", "true")];
    let stderr = |extra: &[&str], env: &[(&str, &str)]| {
        let mut a = extra.to_vec();
        a.push("run");
        a.extend(&args);
        let out = autotest(&a, env);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    const DEBUG_LINE: &str = "starting the client runtime";
    assert!(!stderr(&[], &env).contains(DEBUG_LINE));
    assert!(!stderr(&["-v"], &env).contains(DEBUG_LINE));
    assert!(stderr(&["-vv"], &env).contains(DEBUG_LINE));
    let with_rust_log = [env[0], ("RUST_LOG", "error")];
    assert!(!stderr(&["-vv"], &with_rust_log).contains(DEBUG_LINE));
    let with_rust_log = [env[0], ("RUST_LOG", "debug")];
    assert!(stderr(&["-q"], &with_rust_log).contains(DEBUG_LINE));
}

#[test]
fn logs_are_coloured_on_a_terminal_only_and_never_under_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let probe = format!("-vv run {}", run_probe(dir.path()));
    let env = [("AUTOTEST_PYTHON", "true")];
    let coloured = on_terminal(&probe, &env);
    assert!(
        coloured.contains("starting the client runtime"),
        "{coloured}"
    );
    assert!(coloured.contains('\x1b'), "{coloured:?}");
    let plain = on_terminal(&probe, &[env[0], ("NO_COLOR", "1")]);
    assert!(plain.contains("starting the client runtime"), "{plain}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    let args: Vec<&str> = probe.split(' ').collect();
    let piped = autotest(&args, &env);
    assert!(!piped.stderr.contains(&0x1b), "colour on a pipe");
}

#[test]
fn an_error_is_printed_once_with_its_cause_and_exit_1() {
    let out = autotest(&["status", "/nonexistent/status.log"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("autotest: ") && stderr.contains("/nonexistent/status.log"),
        "{stderr}"
    );
    assert!(stderr.contains("No such file or directory"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_usage_exits_2() {
    let out = autotest(&["status", "--no-such-flag"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bash_completion_completes_commands_and_subcommands() {
    let out = autotest(&["completions", "bash"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("autotest.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // bash runs the completion function as it would on <TAB> after `autotest db `.
    let probe = format!(
        "source {}; complete -p autotest; COMP_WORDS=(autotest db ''); COMP_CWORD=2; \
         _autotest autotest '' db; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("-F _autotest autotest"), "{text}");
    assert!(text.lines().any(|l| l == "migrate"), "{text}");
    for shell in ["zsh", "fish"] {
        let out = autotest(&["completions", shell], &[]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("monitor-queue"), "{shell}: {text}");
    }
}

#[test]
fn man_writes_one_page_per_command_that_groff_renders() {
    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("man1");
    let out = autotest(&["man", "--dir", man.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let listed = String::from_utf8(out.stdout).unwrap();
    for page in [
        "autotest.1",
        "autotest-run.1",
        "autotest-db-migrate.1",
        "autotest-conmux-status.1",
    ] {
        let path = man.join(page);
        assert!(listed.contains(path.to_str().unwrap()), "{listed}");
        let rendered = Command::new("groff")
            .args(["-man", "-Tutf8", "-P-cbou"])
            .arg(&path)
            .output()
            .expect("groff renders man pages: apt-get install groff-base");
        let text = String::from_utf8_lossy(&rendered.stdout);
        assert!(rendered.status.success(), "{page}: {rendered:?}");
        assert!(text.contains("NAME"), "{page}: {text}");
    }
    let db = std::fs::read_to_string(man.join("autotest-db-migrate.1")).unwrap();
    assert!(db.contains(".TH autotest-db-migrate 1"), "{db}");
    assert!(db.contains("Exit status"), "{db}");
    let stdout = autotest(&["man"], &[]);
    let page = String::from_utf8(stdout.stdout).unwrap();
    assert!(page.contains(".TH autotest 1"), "{page}");
}
