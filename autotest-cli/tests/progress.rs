//! Progress of the long steps of a job on a machine (installing the client runtime, copying the
//! results back), as `autotest autoserv` shows it: plain `autotest: <task>: ...` lines on stderr
//! when stderr is not a terminal, nothing with -q, and never on stdout.

use std::path::Path;
use std::process::{Command, Output};

fn autoserv(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autotest"))
        .arg("autoserv")
        .args(extra)
        .args([
            "-m",
            "localhost",
            "-r",
            "r",
            "-c",
            "--config-dir",
            ".",
            "control",
        ])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("run the autotest binary")
}

#[test]
fn install_and_copy_back_are_progress_lines_on_stderr_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let autodir = dir.join("autodir");
    std::fs::write(
        dir.join("global_config.ini"),
        format!("[AUTOSERV]\nclient_autodir_paths: {}\n", autodir.display()),
    )
    .unwrap();
    std::fs::write(
        dir.join("control"),
        "job.run_test('sleeptest', seconds=0.1)\n",
    )
    .unwrap();
    let out = autoserv(dir, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let dest = format!("localhost:{}/autotest", autodir.display());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("autotest: client install: ")
                && l.ends_with(&format!("{dest} installed"))),
        "{stderr}"
    );
    let remote = format!("localhost:{}/results/default", autodir.display());
    assert!(
        lines.contains(&format!("autotest: results copy: {remote}").as_str()),
        "{stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("autotest: results copy: ")
                && l.contains(" files, ")
                && l.ends_with(&format!("{remote} copied"))),
        "{stderr}"
    );
    assert!(
        !stdout.contains("autotest: "),
        "progress on stdout: {stdout}"
    );

    // -q: no progress at all (the client is current now, so only the copy would show).
    std::fs::remove_dir_all(dir.join("r")).unwrap();
    let out = autoserv(dir, &["-q"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("results copy"), "{stderr}");
}
