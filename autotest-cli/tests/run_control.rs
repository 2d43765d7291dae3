//! `autotest run` end to end: the real binary, the installed Python package, real control files.
//! Needs `./dev.sh setup` (the Python package installed for `python3`).

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

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const STEPPER: &str = "\
from autotest.client import test
from autotest.client.shared import error

class stepper(test.test):
    version = 1

    def run_once(self, fail=False):
        self.write_perf_keyval({'answer': 42})
        if fail:
            raise error.TestFail('asked to fail')
";

#[test]
fn builtin_sleeptest_runs_and_is_summarised() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "control",
        "job.run_test('sleeptest', seconds=0.2)\n",
    );
    let out = autotest(&["run", "control"], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results = dir.path().join("results/default");
    assert_eq!(
        status_entries(&results.join("status")),
        [
            "START\t----\t----\t",
            "\tSTART\tsleeptest\tsleeptest\t",
            "\t\tGOOD\tsleeptest\tsleeptest\tcompleted successfully",
            "\tEND GOOD\tsleeptest\tsleeptest\t",
            "END GOOD\t----\t----\t",
        ]
    );
    assert!(
        stdout.contains("job GOOD: 1 test(s), 0 not passed"),
        "{stdout}"
    );
    let keyval = std::fs::read_to_string(results.join("sleeptest/results/keyval")).unwrap();
    assert!(keyval.contains("{perf}="), "{keyval}");
}

#[test]
fn failing_test_and_reboot_resume() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tests/stepper/stepper.py", STEPPER);
    write(
        dir.path(),
        "control",
        "\
def step_init():
    job.next_step(step_two)
    job.run_test('stepper', tag='one', fail=True)
    job.reboot()

def step_two():
    job.run_test('stepper', tag='two')
",
    );
    let args = ["run", "--results", "r", "--tests-dir", "tests", "control"];
    let first = autotest(&args, dir.path());
    assert_eq!(
        first.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let state = std::fs::read_to_string(dir.path().join("r/control.state")).unwrap();
    assert!(state.contains("\"step_two\""), "{state}");
    let second = autotest(
        &[
            "run",
            "--continue",
            "--results",
            "r",
            "--tests-dir",
            "tests",
            "control",
        ],
        dir.path(),
    );
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let kernel =
        String::from_utf8(Command::new("uname").arg("-r").output().unwrap().stdout).unwrap();
    let kernel = kernel.trim();
    assert_eq!(
        status_entries(&dir.path().join("r").join("status")),
        [
            "START\t----\t----\t".to_owned(),
            "\tSTART\tstepper.one\tstepper.one\t".into(),
            "\t\tFAIL\tstepper.one\tstepper.one\tasked to fail".into(),
            "\tEND FAIL\tstepper.one\tstepper.one\t".into(),
            "\tSTART\t----\treboot\t".into(),
            "\t\tGOOD\t----\treboot.start\t".into(),
            "\t\tINFO\t----\treboot.verify\tboot id unchanged: the job was resumed without a reboot".into(),
            format!("\t\tGOOD\t----\treboot.verify\t{kernel}"),
            format!("\tEND GOOD\t----\treboot\tkernel={kernel}\t"),
            "\tSTART\tstepper.two\tstepper.two\t".into(),
            "\t\tGOOD\tstepper.two\tstepper.two\tcompleted successfully".into(),
            "\tEND GOOD\tstepper.two\tstepper.two\t".into(),
            "END FAIL\t----\t----\t".into(),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("r/stepper.two/results/keyval")).unwrap(),
        "answer{perf}=42\n\n"
    );
    // `status` on the results directory: exit 1 because a test failed.
    let st = autotest(&["status", "r"], dir.path());
    assert_eq!(st.status.code(), Some(1));
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(
        text.contains("stepper.one") && text.contains("asked to fail"),
        "{text}"
    );
}

#[test]
fn python2_control_file_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "control",
        "import os\nexcept_me = 1\nprint 'hello'\n",
    );
    let out = autotest(&["run", "control"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("control, line 3") && err.contains("print 'hello'"),
        "{err}"
    );
    assert!(err.contains("Python 2 syntax"), "{err}");
    assert!(!dir.path().join("results").exists());
}

#[test]
fn continue_without_a_job_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "control", "job.run_test('sleeptest')\n");
    let out = autotest(&["run", "--continue", "control"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--continue") && err.contains("no unfinished job"),
        "{err}"
    );
}
