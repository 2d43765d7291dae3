//! What the commands do with input that is not what they expect: files that are not regular
//! files, over-long lines, terminal escape sequences in logs, missing files (each cause said
//! once). The real binary; the run tests need the Python package (`./dev.sh setup`).

use std::path::Path;
use std::process::{Command, Output};

fn autotest(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autotest"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run the autotest binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

#[test]
fn status_refuses_devices_and_fifos_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("status.log");
    mkfifo(&fifo);
    for (path, kind) in [
        ("/dev/zero", "character device"),
        (fifo.to_str().unwrap(), "FIFO"),
    ] {
        let out = autotest(&["status", path], dir.path());
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "status log {path} is a {kind}, not a regular file"
            )),
            "{err}"
        );
    }
}

#[test]
fn status_reports_an_over_long_line_with_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("status.log");
    let long = "x".repeat(3 << 20);
    let content = format!(
        "START\t----\t----\t\n\tGOOD\ta\ta\tok\n\tFAIL\tb\tb\t{long}\n\tGOOD\tc\tc\tfine\nEND GOOD\t----\t----\t\n"
    );
    std::fs::write(&log, content).unwrap();
    let out = autotest(&["status", log.to_str().unwrap()], dir.path());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        stderr.contains(&format!(
            "{}:3: skipped a malformed line: line longer than 1048576 bytes",
            log.display()
        )),
        "{stderr}"
    );
    assert!(
        stdout.contains("job GOOD: 2 test(s), 0 not passed"),
        "{stdout}"
    );
    assert!(stderr.len() < 4096, "the long line is not quoted whole");
}

#[test]
fn status_shows_escape_sequences_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("status.log");
    std::fs::write(
        &log,
        "FAIL\tt\tt\x1b]0;pwned\x07\t\x1b[2J\x1b[31mboom\u{9b}1m\x7f\nPASS\x1b[5m\t-\t-\t\n",
    )
    .unwrap();
    let out = autotest(&["status", log.to_str().unwrap()], dir.path());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    for s in [&stdout, &stderr] {
        assert!(
            !s.chars()
                .any(|c| matches!(c, '\x1b' | '\x07' | '\x7f' | '\u{9b}')),
            "{s:?}"
        );
    }
    assert!(
        stdout.contains("t\\x1b]0;pwned\\x07  FAIL     \\x1b[2J\\x1b[31mboom\\x9b1m\\x7f"),
        "{stdout}"
    );
    // The reason quotes the code with Rust's escapes, already safe.
    assert!(stderr.contains("PASS\\u{1b}[5m"), "{stderr}");
}

/// Each cause once: "No such file or directory (os error 2)" appears a single time.
#[test]
fn missing_files_say_their_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let missing = format!("{d}/nonexistent");
    let cases: Vec<Vec<String>> = vec![
        vec!["status".into(), missing.clone()],
        vec!["run".into(), missing.clone()],
        vec![
            "autoserv".into(),
            "-m".into(),
            "localhost".into(),
            "-r".into(),
            format!("{d}/res"),
            "-c".into(),
            missing.clone(),
        ],
        vec![
            "mirror".into(),
            "--once".into(),
            "--config-dir".into(),
            d.into(),
            missing.clone(),
            format!("{d}/queues"),
        ],
    ];
    for args in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = autotest(&args, dir.path());
        // autoserv reports a machine's outcome on stdout.
        let err = text(&out.stderr) + &text(&out.stdout);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            err.contains("os error 2") || err.contains("No such file"),
            "{args:?}: {err}"
        );
        assert_eq!(
            err.matches("No such file or directory").count(),
            1,
            "{args:?}: {err}"
        );
    }
}

#[test]
fn run_refuses_a_fifo_before_starting_anything() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("control");
    mkfifo(&fifo);
    let out = autotest(&["run", "control"], dir.path());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("control file control is a FIFO, not a regular file"),
        "{err}"
    );
    assert!(!dir.path().join("results").exists());
}
