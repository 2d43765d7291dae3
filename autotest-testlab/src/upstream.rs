//! An "upstream" the tests own: `rsync --daemon` on 127.0.0.1 serving a directory as a
//! kernel.org-layout module, and the stand-in kernel source tree packed the way kernel.org
//! packs releases (a tarball, a stable patch made with `diff -ruN`).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{Daemon, free_port, run, wait_for};

/// The stand-in kernel source (see `autotest-testlab/data/stand-in-kernel/Makefile`): a small
/// tree with the kernel's make targets that compiles nothing.
pub const STAND_IN_KERNEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/stand-in-kernel");

/// `rsync --daemon` on 127.0.0.1:<free port> with its own config, serving `tree` as module
/// `kernel` (read-only). Returns the daemon and the module's URL.
pub fn rsync_daemon(dir: &Path, tree: &Path) -> (Daemon, String) {
    let port = free_port();
    let conf = dir.join("rsyncd.conf");
    std::fs::write(
        &conf,
        format!(
            "use chroot = no\nuid = 0\ngid = 0\nlog file = {}\n[kernel]\n  path = {}\n  read only = yes\n",
            dir.join("rsyncd.log").display(),
            tree.display()
        ),
    )
    .unwrap();
    let child = Command::new("rsync")
        .args(["--daemon", "--no-detach", "--address=127.0.0.1"])
        .arg(format!("--port={port}"))
        .arg(format!("--config={}", conf.display()))
        .spawn()
        .expect("rsync must be installed (apt-get install rsync)");
    let daemon = Daemon(child);
    wait_for("rsync daemon", Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    (daemon, format!("rsync://127.0.0.1:{port}/kernel/"))
}

/// The stand-in tree copied to `<dir>/<name>` with SUBLEVEL `sublevel`.
pub fn stand_in_tree(dir: &Path, name: &str, sublevel: u32) -> PathBuf {
    let tree = dir.join(name);
    run(Command::new("cp").arg("-r").arg(STAND_IN_KERNEL).arg(&tree));
    let mk = tree.join("Makefile");
    let text = std::fs::read_to_string(&mk)
        .unwrap()
        .replace("SUBLEVEL = 5", &format!("SUBLEVEL = {sublevel}"));
    std::fs::write(&mk, text).unwrap();
    tree
}

/// Publishes release 6.1 and its stable update 6.1.5 into the kernel.org-layout `upstream`:
/// `v6.x/linux-6.1.tar.gz` and `v6.x/patch-6.1.5.xz` (made with `diff -ruN`, as kernel.org's
/// are). `work` is scratch space.
pub fn publish_6_1_5(work: &Path, upstream: &Path) {
    std::fs::create_dir_all(upstream.join("v6.x")).unwrap();
    std::fs::create_dir_all(work).unwrap();
    stand_in_tree(work, "linux-6.1", 0);
    stand_in_tree(work, "linux-6.1.5", 5);
    run(Command::new("tar")
        .arg("-czf")
        .arg(upstream.join("v6.x/linux-6.1.tar.gz"))
        .arg("-C")
        .arg(work)
        .arg("linux-6.1"));
    let diff = Command::new("diff")
        .args(["-ruN", "linux-6.1", "linux-6.1.5"])
        .current_dir(work)
        .output()
        .unwrap();
    assert_eq!(
        diff.status.code(),
        Some(1),
        "diff: {}",
        String::from_utf8_lossy(&diff.stderr)
    );
    std::fs::write(work.join("patch-6.1.5"), &diff.stdout).unwrap();
    run(Command::new("xz").arg("-k").arg(work.join("patch-6.1.5")));
    std::fs::rename(
        work.join("patch-6.1.5.xz"),
        upstream.join("v6.x/patch-6.1.5.xz"),
    )
    .unwrap();
}
