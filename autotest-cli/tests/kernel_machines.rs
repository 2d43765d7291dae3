//! Kernels on lab machines (issue 4 §2): autoserv runs a client control file of the shape
//! `autotest mirror` queues (FORMATS §8: preamble, `step_init` that builds and boots the kernel,
//! `step_test` with the tests) on a real sshd machine, with the kernel source copied from the
//! server's mirror directory (`--kernel-mirror`), because a lab machine has no internet.
//!
//! Stand-ins, said plainly: the kernel source is `autotest-testlab/data/stand-in-kernel`, a small tree whose
//! Makefile has the kernel's make targets (defconfig, tinyconfig, olddefconfig, the build,
//! modules_install, kernelrelease, image_name) but compiles nothing; the machine's GRUB tools
//! are scripts with the real interfaces, and its "boot" of the new kernel is the lab fixture's
//! restart with a new boot id whose `/proc/sys/kernel/osrelease` and `uname -r` report the
//! release of the one-time entry the client wrote (`autotest-testlab/src/bootloader.rs`), since
//! uname(2) cannot be namespaced. Everything else is real: sshd, the SSH transport, the
//! client runtime, tar, patch, make, the status log.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use autotest_testlab::upstream::publish_6_1_5;
use autotest_testlab::{Lab, status_entries};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", text(&out.stderr));
    out
}

/// A kernel.org-layout mirror: `v6.x/linux-6.1.tar.gz` (6.1.0), `v6.x/patch-6.1.5.xz` (the
/// stable update, made with `diff -ruN` as kernel.org's are), and `extra/lab-fix.patch.gz`.
fn mirror(dir: &Path) -> PathBuf {
    let work = dir.join("work");
    let mirror = dir.join("mirror");
    publish_6_1_5(&work, &mirror);
    std::fs::create_dir_all(mirror.join("extra")).unwrap();
    std::fs::write(
        work.join("lab-fix.patch"),
        "--- /dev/null\n+++ b/src/lab-fix.c\n@@ -0,0 +1 @@\n+/* applied: lab-fix */\n",
    )
    .unwrap();
    run(Command::new("gzip").arg(work.join("lab-fix.patch")));
    std::fs::rename(
        work.join("lab-fix.patch.gz"),
        mirror.join("extra/lab-fix.patch.gz"),
    )
    .unwrap();
    mirror
}

/// A client control file as `autotest mirror` wraps one (FORMATS §8), with `step_test` running
/// a test after the new kernel is up.
fn wrapped_control(kernel: &str, config: &str, patches: &str) -> String {
    format!(
        "# Kernel test of a new release, queued by the mirror\n\
         kernel = '{kernel}'\n\
         config = {config}\n\
         patches = {patches}\n\
         \n\
         def step_init():\n\
         \x20   job.next_step([step_test])\n\
         \x20   k = job.kernel(kernel)\n\
         \x20   if patches:\n\
         \x20       k.patch(*patches)\n\
         \x20   if config:\n\
         \x20       k.config(config)\n\
         \x20   else:\n\
         \x20       k.config('', None, True)\n\
         \x20   k.build()\n\
         \x20   k.boot()\n\
         \n\
         def step_test():\n\
         \x20   job.run_test('sleeptest', seconds=0.1)\n"
    )
}

fn autoserv(lab: &Lab, dir: &Path, machine: &str, mirror: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    cmd.current_dir(dir)
        .args([
            "autoserv",
            "-m",
            machine,
            "-r",
            "r",
            "-c",
            "--kernel-mirror",
        ])
        .arg(mirror)
        .arg("control");
    for (k, v) in lab.ssh_env() {
        cmd.env(k, v);
    }
    lab.run_in_server(&mut cmd);
    cmd.output().expect("run autotest autoserv")
}

#[test]
fn mirror_release_is_built_installed_booted_and_tested() {
    let lab = Lab::new(1);
    let m = lab.machine(0);
    let dir = tempfile::tempdir().unwrap();
    let mirror = mirror(dir.path());
    // The mapping's config on the machine (the mirror's default path, /boot/config).
    std::fs::write(
        m.boot_dir().join("config"),
        "CONFIG_SMP=y\nCONFIG_MODULES=y\nCONFIG_DEMO_DRIVER=m\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("control"),
        wrapped_control("6.1.5", "'/boot/config'", "['lab-fix.patch.gz']"),
    )
    .unwrap();
    let boot_id = m.boot_id();
    let out = autoserv(&lab, dir.path(), &m.address().to_string(), &mirror);
    let r = dir.path().join("r");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr),
        std::fs::read_to_string(r.join("status.log")).unwrap_or_default()
    );
    assert!(
        text(&out.stdout).contains("completed (1 reboot(s))"),
        "{}",
        text(&out.stdout)
    );
    let release = "6.1.5-autotest";
    assert_eq!(
        status_entries(&r.join("status.log")),
        [
            "START\t----\t----\t".to_owned(),
            "\tGOOD\tbuild\tkernel.extract\tlinux-6.1.tar.gz + patch-6.1.5.xz".into(),
            "\tGOOD\tbuild\tkernel.patch\tlab-fix.patch.gz".into(),
            "\tGOOD\tbuild\tkernel.config\t/boot/config".into(),
            format!("\tGOOD\tbuild\tkernel.build\t{release}"),
            format!("\tGOOD\tbuild\tkernel.install\t{release}"),
            format!("\tGOOD\tbuild\tkernel.boot\tgrub-reboot autotest-{release}"),
            "\tSTART\t----\treboot\t".into(),
            "\t\tGOOD\t----\treboot.start\t".into(),
            format!("\t\tGOOD\t----\treboot.verify\t{release}"),
            format!("\tEND GOOD\t----\treboot\tkernel={release}\t"),
            "\tSTART\tsleeptest\tsleeptest\t".into(),
            "\t\tGOOD\tsleeptest\tsleeptest\tcompleted successfully".into(),
            "\tEND GOOD\tsleeptest\tsleeptest\t".into(),
            "END GOOD\t----\t----\t".into(),
        ]
    );
    // autoserv copied the sources from its mirror into the machine's autodir.
    let staged = std::fs::read_to_string(r.join("debug/kernel-files.log")).unwrap();
    for f in ["linux-6.1.tar.gz", "patch-6.1.5.xz", "lab-fix.patch.gz"] {
        assert!(
            m.autodir().join("kernels").join(f).is_file(),
            "{f} not staged: {staged}"
        );
    }
    // The build log came back with the results.
    let build_log = std::fs::read_to_string(r.join("build/debug/build_log")).unwrap();
    assert!(
        build_log.contains("Kernel: arch/x86/boot/bzImage is ready"),
        "{build_log}"
    );
    // Installed on the machine: image (with the stable patch, the lab patch and the config in
    // it), System.map, config, modules.
    let boot = m.boot_dir();
    let image = std::fs::read_to_string(boot.join(format!("vmlinuz-{release}"))).unwrap();
    assert!(
        image.contains("applied: lab-fix") && image.contains(&format!("release {release}")),
        "{image}"
    );
    assert!(image.contains("CONFIG_DEMO_DRIVER=m"), "{image}");
    assert!(boot.join(format!("System.map-{release}")).is_file());
    assert!(
        std::fs::read_to_string(boot.join(format!("config-{release}")))
            .unwrap()
            .contains("CONFIG_LOCALVERSION=\"-autotest\"")
    );
    assert!(
        m.modules_dir()
            .join(release)
            .join("kernel/drivers/demo.ko")
            .is_file()
    );
    let custom = std::fs::read_to_string(boot.join("grub/custom.cfg")).unwrap();
    assert!(
        custom.contains(&format!("--id 'autotest-{release}'"))
            && custom.contains(&format!("linux /vmlinuz-{release} ")),
        "{custom}"
    );
    // It rebooted once, into the new kernel.
    assert_eq!(m.boot_count(), 2, "{:?}", m.events());
    assert_ne!(m.boot_id(), boot_id);
    assert_eq!(m.release(), release, "{}", m.release_note());
    let uname = lab.ssh_output(m, "uname -r");
    assert_eq!(text(&uname.stdout).trim(), release);
}

#[test]
fn machine_that_comes_up_with_another_kernel_fails_naming_it() {
    let lab = Lab::new(1);
    let m = lab.machine(0);
    // Its boot loader ignores the one-time entry: it comes back on its default kernel.
    m.set_ignore_boot_entry(true);
    let default_kernel = m.release();
    let dir = tempfile::tempdir().unwrap();
    let mirror = mirror(dir.path());
    std::fs::write(
        dir.path().join("control"),
        wrapped_control("6.1", "None", "None"),
    )
    .unwrap();
    let out = autoserv(&lab, dir.path(), &m.address().to_string(), &mirror);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let release = "6.1.0-autotest";
    let lines = status_entries(&dir.path().join("r/status.log"));
    assert_eq!(
        lines[..10],
        [
            "START\t----\t----\t".to_owned(),
            "\tGOOD\tbuild\tkernel.extract\tlinux-6.1.tar.gz".into(),
            "\tGOOD\tbuild\tkernel.config\tdefconfig".into(),
            format!("\tGOOD\tbuild\tkernel.build\t{release}"),
            format!("\tGOOD\tbuild\tkernel.install\t{release}"),
            format!("\tGOOD\tbuild\tkernel.boot\tgrub-reboot autotest-{release}"),
            "\tSTART\t----\treboot\t".into(),
            "\t\tGOOD\t----\treboot.start\t".into(),
            format!(
                "\t\tFAIL\t----\treboot.verify\texpected kernel {release} after the reboot, but kernel {default_kernel} came up instead"
            ),
            format!("\tEND FAIL\t----\treboot\tkernel={default_kernel}\t"),
        ],
        "{lines:#?}"
    );
    // The job stops there: the tests of step_test never ran on the wrong kernel.
    assert!(
        lines[10].starts_with("\tABORT\t----\t----\treboot verification failed"),
        "{lines:#?}"
    );
    assert_eq!(lines.last().unwrap(), "END ABORT\t----\t----\t");
    assert!(!lines.iter().any(|l| l.contains("sleeptest")), "{lines:#?}");
    assert_eq!(m.boot_count(), 2);
}

#[test]
fn kexec_is_the_configured_alternative_to_grub() {
    let lab = Lab::new(1);
    let m = lab.machine(0);
    let dir = tempfile::tempdir().unwrap();
    let mirror = mirror(dir.path());
    // The client's own global_config.ini in its autodir chooses kexec.
    std::fs::write(
        m.autodir().join("global_config.ini"),
        "[CLIENT]\nboot_method: kexec\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("control"),
        wrapped_control("6.1", "None", "None"),
    )
    .unwrap();
    let out = autoserv(&lab, dir.path(), &m.address().to_string(), &mirror);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let release = "6.1.0-autotest";
    let lines = status_entries(&dir.path().join("r/status.log"));
    assert_eq!(
        lines[5],
        format!("\tGOOD\tbuild\tkernel.boot\tkexec -l /boot/vmlinuz-{release}"),
        "{lines:#?}"
    );
    assert_eq!(
        lines[8],
        format!("\t\tGOOD\t----\treboot.verify\t{release}"),
        "{lines:#?}"
    );
    assert_eq!(lines.last().unwrap(), "END GOOD\t----\t----\t");
    assert!(
        !m.boot_dir().join("grub/custom.cfg").exists(),
        "no GRUB entry with kexec"
    );
    assert_eq!(
        (m.release(), m.release_note()),
        (release.to_owned(), format!("kexec /boot/vmlinuz-{release}"))
    );
}
