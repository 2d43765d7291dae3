//! Processes and waiting, for tests that start daemons: a child killed when dropped, a free
//! loopback port, polling with a deadline (also async), the workspace's built binaries (the
//! `autotest` binary under test), programs on PATH and process trees.

use std::collections::HashMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// A background process, killed (and reaped) when dropped, however the test ends.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` every 50 ms until it gives a value; panics naming `what` after `timeout`.
pub fn wait_some<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `f` every 50 ms until it holds; panics naming `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    wait_some(what, timeout, || f().then_some(()))
}

/// The deadline of [`eventually`] and of the async console reads in [`crate::tcp_console`].
pub const WAIT: Duration = Duration::from_secs(20);

/// [`wait_some`] for async tests: polls `f` every 50 ms on the tokio timer until it gives a
/// value; panics naming `what` after [`WAIT`].
pub async fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `autotest` binary under test, logging warnings only: [`workspace_binary`]`("autotest")`.
pub fn autotest() -> Command {
    let mut c = Command::new(workspace_binary("autotest"));
    c.env("RUST_LOG", "warn");
    c
}

/// A binary of the workspace as cargo built it. `CARGO_BIN_EXE_<name>` when set at run time
/// (nextest sets it for the tests of the binary's own crate); else the running test or bench is
/// `<target>/<profile>/deps/<it>`, so the binary is `<target>/<profile>/<name>` (cargo builds a
/// crate's binaries for its integration tests), or failing that the other profile's. That holds
/// with any `CARGO_TARGET_DIR`. Panics naming the build command when there is none.
pub fn workspace_binary(name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(format!("CARGO_BIN_EXE_{name}")) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the path of the running test");
    let candidates = binary_candidates(&exe, name);
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no built `{name}` binary (looked at {candidates:?}): build it first, \
                 `cargo build -p <its crate>` (or `--release`), with the same CARGO_TARGET_DIR"
            )
        })
}

/// Where [`workspace_binary`] looks for `name` when the running executable is `exe`: the
/// profile dir that holds `exe` (`<profile>/deps/exe` or `<profile>/exe`), then `release` and
/// `debug` beside it.
pub fn binary_candidates(exe: &Path, name: &str) -> Vec<PathBuf> {
    let mut dir = exe.parent().unwrap_or(Path::new("."));
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().unwrap_or(dir);
    }
    let mut out = vec![dir.join(name)];
    if let Some(target) = dir.parent() {
        for profile in ["release", "debug"] {
            let p = target.join(profile).join(name);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// `name` as found on `PATH`, then in the usual system dirs (sshd and ip live in sbin, which a
/// non-login PATH may lack): an executable file.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Runs `cmd` to completion; panics with its stderr unless it succeeds.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A process's command name (`/proc/<pid>/comm`); empty once it is gone.
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Every descendant of `root`, parents before children.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The parent pid is the second field after the parenthesised command name.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = after
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u32>().ok())
        {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut out = Vec::new();
    let mut queue = vec![root];
    while let Some(p) = queue.pop() {
        for &c in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
            out.push(c);
            queue.push(c);
        }
    }
    out
}
