//! Processes and binaries: where the workspace's built binaries are looked for, process trees,
//! waits.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use autotest_testlab::process::{
    Daemon, binary_candidates, comm, descendants, wait_for, wait_some, workspace_binary,
};

#[test]
fn binaries_are_looked_for_in_the_profile_dir_of_the_running_test_then_the_others() {
    assert_eq!(
        binary_candidates(Path::new("/t/debug/deps/conmux_cli-0123"), "autotest"),
        [
            PathBuf::from("/t/debug/autotest"),
            PathBuf::from("/t/release/autotest")
        ]
    );
    // A bench of `cargo bench` runs from target/release/deps.
    assert_eq!(
        binary_candidates(Path::new("/x/target/release/deps/fanout-9"), "autotest"),
        [
            PathBuf::from("/x/target/release/autotest"),
            PathBuf::from("/x/target/debug/autotest")
        ]
    );
    assert_eq!(
        binary_candidates(Path::new("/x/target/debug/example"), "autotest")[0],
        PathBuf::from("/x/target/debug/autotest")
    );
}

#[test]
fn cargo_bin_exe_at_run_time_wins() {
    // A name no other test uses: this process's environment is shared by its threads.
    // SAFETY: no other thread of this test binary reads this variable.
    unsafe { std::env::set_var("CARGO_BIN_EXE_testlab-probe", "/bin/true") };
    assert_eq!(
        workspace_binary("testlab-probe"),
        PathBuf::from("/bin/true")
    );
}

#[test]
#[should_panic(expected = "build it first")]
fn a_missing_binary_names_the_build_command() {
    workspace_binary("testlab-no-such-binary");
}

#[test]
fn descendants_find_grandchildren_and_daemons_die_on_drop() {
    let child = Command::new("sh")
        .args(["-c", "sleep 600 & wait"])
        .spawn()
        .unwrap();
    let root = child.id();
    let daemon = Daemon(child);
    let sleeper = wait_some("the sleep under sh", Duration::from_secs(10), || {
        descendants(root).into_iter().find(|p| comm(*p) == "sleep")
    });
    assert_eq!(comm(root), "sh");
    drop(daemon);
    assert_eq!(comm(root), "", "sh was not killed and reaped");
    // The grandchild is not the Daemon's: kill it ourselves.
    let _ = Command::new("kill")
        .args(["-9", &sleeper.to_string()])
        .status();
    wait_for("the sleep to go", Duration::from_secs(10), || {
        comm(sleeper).is_empty() || comm(sleeper) != "sleep"
    });
}

#[test]
#[should_panic(expected = "timed out waiting for nothing")]
fn a_wait_that_never_holds_names_what_it_waited_for() {
    wait_for("nothing", Duration::from_millis(100), || false);
}
