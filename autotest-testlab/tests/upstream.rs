//! The upstream fixture: the stand-in kernel tree (data of this crate) and a real rsync daemon
//! serving a kernel.org-layout tree on loopback.

use std::process::Command;

use autotest_testlab::upstream::{STAND_IN_KERNEL, publish_6_1_5, rsync_daemon, stand_in_tree};

#[test]
fn the_stand_in_tree_is_copied_with_its_sublevel() {
    assert!(
        std::path::Path::new(STAND_IN_KERNEL)
            .join("Makefile")
            .is_file(),
        "{STAND_IN_KERNEL}/Makefile is missing"
    );
    let dir = tempfile::tempdir().unwrap();
    let tree = stand_in_tree(dir.path(), "linux-6.1.7", 7);
    let mk = std::fs::read_to_string(tree.join("Makefile")).unwrap();
    assert!(mk.contains("SUBLEVEL = 7\n"), "{mk}");
    assert!(tree.join("src/main.c").is_file());
}

#[test]
fn rsync_serves_the_published_release_and_patch() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = dir.path().join("upstream");
    publish_6_1_5(&dir.path().join("work"), &upstream);
    let (_daemon, url) = rsync_daemon(dir.path(), &upstream);
    let out = Command::new("rsync")
        .arg("-r")
        .arg("--list-only")
        .arg(&url)
        .output()
        .expect("rsync (apt-get install rsync)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("v6.x/linux-6.1.tar.gz"), "{listing}");
    assert!(listing.contains("v6.x/patch-6.1.5.xz"), "{listing}");
}
