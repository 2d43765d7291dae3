//! The first seed's point, end to end and untouched by hand: a new kernel release appears
//! upstream; `autotest mirror` syncs it with rsync and queues the seed's `basic-tests`, wrapped
//! to build and boot that kernel first, for the queue of a lab machine; `start-all-queues`
//! runs it; autoserv copies the release's source from the mirror to the machine, which
//! patches, configures, builds, installs and boots it, comes back running it, and runs the
//! tests. Needs root (network namespaces); fails loudly without it.
//!
//! Stand-ins, said plainly: the upstream is an rsync daemon this test starts on 127.0.0.1; the
//! kernel source is `autotest-testlab/data/stand-in-kernel` (the kernel's make targets, compiling nothing);
//! the machine's "boot" into the new kernel is the lab fixture's restart with a new boot id
//! after which it reports the release of the GRUB one-time entry the client wrote
//! (`autotest-testlab/src/bootloader.rs`). Everything else is the real thing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use autotest_testlab::netns::Machine;
use autotest_testlab::process::Daemon;
use autotest_testlab::upstream::{publish_6_1_5, rsync_daemon};
use autotest_testlab::{Lab, status_entries};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Entries of `dir` whose names start with `prefix`.
fn entries(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

/// `autotest mirror --once` with this lab's clients file, config mapping and upstream, plus
/// `extra` arguments.
fn mirror_once(dir: &Path, source: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autotest"))
        .args(["mirror", "--once", "--source", source])
        .args(extra)
        .arg("-c")
        .arg(dir.join("clients"))
        .arg("-f")
        .arg(dir.join("configs"))
        .arg(dir.join("mirror"))
        .arg(dir.join("top/queue"))
        .output()
        .expect("run autotest mirror")
}

/// Only stable updates count as releases (the tarball they patch is synced but not tested).
const STABLE_ONLY: [&str; 2] = ["--release-pattern", r"patch-(\d+\.\d+\.\d+)\.xz"];

/// `start-all-queues <dir>/top` in the lab's server namespace, with `<dir>/config` as its
/// config directory (which tells autoserv where the mirror is).
fn start_queues(lab: &Lab, dir: &Path) -> Daemon {
    std::fs::write(
        dir.join("config/global_config.ini"),
        format!(
            "[AUTOSERV]\nkernel_mirror_dir: {}\n",
            dir.join("mirror").display()
        ),
    )
    .unwrap();
    let mut sup = Command::new(env!("CARGO_BIN_EXE_autotest"));
    sup.arg("start-all-queues")
        .arg(dir.join("top"))
        .env("AUTOTEST_CONFIG_DIR", dir.join("config"));
    for (k, v) in lab.ssh_env() {
        sup.env(k, v);
    }
    lab.run_in_server(&mut sup);
    Daemon(sup.spawn().expect("start autotest start-all-queues"))
}

/// Waits until the job whose results directory starts with `prefix` has finished (its pidfile
/// complete); returns that directory. The panic shows the job's status log and the machine's log.
fn wait_job(results: &Path, prefix: &str, timeout: Duration, m: &Machine) -> PathBuf {
    let started = std::time::Instant::now();
    let mut job = PathBuf::new();
    loop {
        if let Some(d) = entries(results, prefix).into_iter().next() {
            job = d;
            if std::fs::read_to_string(job.join(".autoserv_execute"))
                .is_ok_and(|t| t.lines().count() == 3)
            {
                return job;
            }
        }
        assert!(
            started.elapsed() < timeout,
            "the queued kernel job did not finish: {}\n{}",
            std::fs::read_to_string(job.join("status.log")).unwrap_or_default(),
            m.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_new_upstream_release_is_mirrored_queued_built_booted_and_tested() {
    let lab = Lab::new(1);
    let m = lab.machine(0);
    let queue = m.address().to_string();
    let dir_guard = tempfile::tempdir().unwrap();
    let dir = dir_guard.path();
    let top = dir.join("top");
    for d in ["upstream/v6.x", "mirror", "ctl", "config", "top/results"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::create_dir_all(top.join("queue").join(&queue)).unwrap();
    let (_rsyncd, source): (Daemon, String) = rsync_daemon(dir, &dir.join("upstream"));

    // The lab's setup: the seed's basic-tests mapped to the machine's queue, its kernel config
    // (on the machine) for 6.x releases, and autoserv told where the mirror is.
    let seed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/control/basic-tests"
    ))
    .unwrap();
    std::fs::write(dir.join("ctl/basic-tests"), &seed).unwrap();
    std::fs::write(
        dir.join("clients"),
        format!("{queue} {}\n", dir.join("ctl/basic-tests").display()),
    )
    .unwrap();
    std::fs::write(
        dir.join("configs"),
        format!("{queue} 6.0 /boot/config-lab\n"),
    )
    .unwrap();
    std::fs::write(
        m.boot_dir().join("config-lab"),
        "CONFIG_SMP=y\nCONFIG_MODULES=y\nCONFIG_DEMO_DRIVER=m\n",
    )
    .unwrap();

    // The queue server runs from the start, as in a lab; nothing is queued yet.
    let _sup = start_queues(&lab, dir);

    // Upstream has nothing yet: nothing is queued.
    let out = mirror_once(dir, &source, &STABLE_ONLY);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(entries(&top.join("queue").join(&queue), "6.").is_empty());

    // A new release appears upstream.
    publish_6_1_5(&dir.join("work"), &dir.join("upstream"));
    let out = mirror_once(dir, &source, &STABLE_ONLY);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        dir.join("mirror/v6.x/linux-6.1.tar.gz").is_file()
            && dir.join("mirror/v6.x/patch-6.1.5.xz").is_file()
    );

    // The queue monitor picks the job up and runs it to its end.
    let results = top.join("results");
    let job = wait_job(
        &results,
        &format!("{queue}-6.1.5-"),
        Duration::from_secs(1200),
        m,
    );
    let lines = status_entries(&job.join("status.log"));
    let release = "6.1.5-autotest";
    for want in [
        "\tGOOD\tbuild\tkernel.extract\tlinux-6.1.tar.gz + patch-6.1.5.xz".to_owned(),
        "\tGOOD\tbuild\tkernel.config\t/boot/config-lab".to_owned(),
        format!("\tGOOD\tbuild\tkernel.build\t{release}"),
        format!("\tGOOD\tbuild\tkernel.install\t{release}"),
        format!("\t\tGOOD\t----\treboot.verify\t{release}"),
        format!("\tEND GOOD\t----\treboot\tkernel={release}\t"),
        "\tEND GOOD\tdbench\tdbench\t".to_owned(),
        "\tEND GOOD\tfsx\tfsx\t".to_owned(),
        "\tEND GOOD\tbonnie\tbonnie\t".to_owned(),
    ] {
        assert!(lines.contains(&want), "{want:?} missing: {lines:#?}");
    }
    // The tests ran after the reboot, on the new kernel.
    let verify = lines
        .iter()
        .position(|l| l.contains("reboot.verify"))
        .unwrap();
    let dbench = lines.iter().position(|l| l.contains("\tdbench\t")).unwrap();
    assert!(verify < dbench, "{lines:#?}");
    assert_eq!(m.release(), release, "{}", m.release_note());
    assert_eq!(text(&lab.ssh_output(m, "uname -r").stdout).trim(), release);
    // The control file the queue ran is the mirror's wrapping of the seed's file.
    let control = entries(&job, &format!("{queue}-6.1.5-"))
        .into_iter()
        .chain(entries(&job, "control"))
        .find(|p| p.is_file())
        .map(|p| std::fs::read_to_string(p).unwrap())
        .unwrap_or_default();
    assert!(
        control.contains("kernel = '6.1.5'") && control.contains("job.run_test('dbench')"),
        "{control}"
    );

    // Nothing new upstream: the next run queues nothing, and nothing runs twice.
    let out = mirror_once(dir, &source, &STABLE_ONLY);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::thread::sleep(Duration::from_secs(2));
    assert!(entries(&top.join("queue").join(&queue), "6.").is_empty());
    assert_eq!(entries(&results, &format!("{queue}-6.1.5-")).len(), 1);
}

/// The same chain with a real kernel: Debian's `linux-source-6.1` tarball published upstream as
/// a release, configured with a `tinyconfig` the lab keeps on the machine, really compiled on the
/// lab machine, installed into its `/boot`, booted (the fixture's stand-in boot) and tested.
/// Minutes of compiling: run by hand, not in CI —
/// `apt-get install -y linux-source-6.1 build-essential flex bison bc libelf-dev libssl-dev &&
///  cargo nextest run -p autotest-cli --test kernel_chain --run-ignored only`
/// (then remove linux-source-6.1 again: kernbench's "no kernel source" tests expect it absent).
#[test]
#[ignore = "builds a real kernel for minutes; run by hand with linux-source-6.1 installed"]
fn a_real_kernel_release_goes_through_the_chain() {
    let source_tarball = Path::new("/usr/src/linux-source-6.1.tar.xz");
    assert!(
        source_tarball.is_file(),
        "apt-get install -y linux-source-6.1 first"
    );
    let lab = Lab::new(1);
    let m = lab.machine(0);
    let queue = m.address().to_string();
    let dir_guard = tempfile::tempdir_in("/var/tmp").unwrap();
    let dir = dir_guard.path();
    let top = dir.join("top");
    for d in [
        "upstream/v6.x",
        "mirror",
        "ctl",
        "config",
        "top/results",
        "work",
    ] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::create_dir_all(top.join("queue").join(&queue)).unwrap();
    // Which release the Debian tarball holds, and its tinyconfig (made once, kept on the machine
    // as a lab keeps its configs).
    let tar = Command::new("tar")
        .arg("-xf")
        .arg(source_tarball)
        .arg("-C")
        .arg(dir.join("work"))
        .status()
        .unwrap();
    assert!(tar.success());
    let tree = dir.join("work/linux-source-6.1");
    let make = |args: &[&str]| {
        Command::new("make")
            .arg("-s")
            .arg("-C")
            .arg(&tree)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(make(&["tinyconfig"]).status.success());
    let version = text(&make(&["kernelversion"]).stdout).trim().to_owned();
    std::fs::copy(tree.join(".config"), m.boot_dir().join("config-tiny")).unwrap();
    std::fs::copy(
        source_tarball,
        dir.join(format!("upstream/v6.x/linux-{version}.tar.xz")),
    )
    .unwrap();
    let (_rsyncd, source) = rsync_daemon(dir, &dir.join("upstream"));

    std::fs::write(
        dir.join("ctl/smoke"),
        "job.run_test('sleeptest', seconds=1)\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("clients"),
        format!("{queue} {}\n", dir.join("ctl/smoke").display()),
    )
    .unwrap();
    std::fs::write(
        dir.join("configs"),
        format!("{queue} 6.0 /boot/config-tiny\n"),
    )
    .unwrap();
    let _sup = start_queues(&lab, dir);
    let started = std::time::Instant::now();
    let out = mirror_once(dir, &source, &[]);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let job = wait_job(
        &top.join("results"),
        &format!("{queue}-{version}-"),
        Duration::from_secs(3600),
        m,
    );
    let took = started.elapsed();
    let lines = status_entries(&job.join("status.log"));
    let release = format!("{version}-autotest");
    for want in [
        format!("\tGOOD\tbuild\tkernel.build\t{release}"),
        format!("\tGOOD\tbuild\tkernel.install\t{release}"),
        format!("\t\tGOOD\t----\treboot.verify\t{release}"),
        "\tEND GOOD\tsleeptest\tsleeptest\t".to_owned(),
    ] {
        assert!(lines.contains(&want), "{want:?} missing: {lines:#?}");
    }
    let image = m.boot_dir().join(format!("vmlinuz-{release}"));
    let size = std::fs::metadata(&image).map(|md| md.len()).unwrap_or(0);
    assert!(size > 100_000, "{} is {size} bytes", image.display());
    let build_log = std::fs::read_to_string(job.join("build/debug/build_log")).unwrap_or_default();
    // The figures for BENCHMARKS.md (shown with --no-capture).
    #[allow(clippy::print_stdout)]
    let report = || {
        println!(
            "real kernel {release}: mirror run to job end {:.0} s; image {size} bytes; build log {} lines",
            took.as_secs_f64(),
            build_log.lines().count()
        )
    };
    report();
}
