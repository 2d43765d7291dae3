//! What one machine of a [`super::Lab`] runs besides its sshd (whose config is
//! [`crate::sshd::Config`]): its power script (what `reboot`, `halt`, `poweroff`, `shutdown` and
//! `systemctl` become inside it) and the boot script that sets up its own hostname and mounts
//! and then becomes its sshd.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::sshd::config_path as path_str;

/// Where the code under test installs the client on a machine; bound per machine.
pub const AUTODIR: &str = "/usr/local/autotest";
/// The PATH a root login gets from sshd (Debian's SUPERUSER_PATH); `reboot` must resolve there.
const ROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Directories each machine sees through a per-boot writable overlay (dir, key).
pub const OVERLAID: [(&str, &str); 2] = [("/usr/local", "usr-local"), ("/root", "root")];
/// pyenv's shims of root; read-only inside machines (see boot_script).
const PYENV_SHIMS: &str = "/root/.pyenv/shims";
/// Command names fenced inside every machine.
pub const POWER_NAMES: [&str; 4] = ["reboot", "halt", "poweroff", "shutdown"];
/// Basenames a fenced command may resolve to on the host (Debian: all four link to systemctl).
/// Anything else (say busybox) would be bound over too broadly, so the lab refuses to start.
pub const POWER_TARGET_NAMES: [&str; 5] = ["reboot", "halt", "poweroff", "shutdown", "systemctl"];

/// Single-quotes `s` for sh.
pub fn sq(s: impl AsRef<str>) -> String {
    format!("'{}'", s.as_ref().replace('\'', r"'\''"))
}

/// The script every power command of machine `hostname` becomes. It asks the fixture for the
/// action (a `power-request` file in the machine's state dir: `reboot` or `poweroff`), then
/// stops the machine's sshd, which is the init of the machine's pid namespace: the whole machine
/// goes down with it, this script and the ssh session that ran it included.
pub fn power_script(hostname: &str, state: &Path) -> String {
    let state = path_str(state);
    format!(
        r#"#!/bin/sh
# autotest-rs test fixture: the power commands of lab machine {hostname}.
# Bound over reboot/halt/poweroff/shutdown/systemctl inside that machine only: it never reaches
# the real host. It asks the fixture (state dir below) and stops the machine's sshd.
state={state_q}
name=${{0##*/}}
action=reboot
case "$name" in
  systemctl)
    case " $* " in
      *" reboot "*|*" kexec "*) action=reboot ;;
      *" poweroff "*|*" halt "*) action=poweroff ;;
      *) echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2
         exit 1 ;;
    esac ;;
  halt|poweroff) action=poweroff ;;
  shutdown)
    case " $* " in
      *" -c "*) exit 0 ;;
      *" -r "*|*" --reboot "*) action=reboot ;;
      *) action=poweroff ;;
    esac ;;
esac
echo "$action" > "$state/power-request.tmp"
mv -f "$state/power-request.tmp" "$state/power-request"
kill -TERM "$(cat "$state/sshd.pid")" 2>/dev/null || true
sleep 10
"#,
        state_q = sq(state),
    )
}

pub struct BootScript<'a> {
    pub hostname: &'a str,
    pub state: &'a Path,
    pub autodir: &'a Path,
    pub boot_id_file: &'a Path,
    pub power: &'a Path,
    pub sshd_config: &'a Path,
    pub sshd: &'a Path,
    /// Bound over /etc/hostname and /etc/hosts (which also maps the hostname to the address).
    pub etc_hostname: &'a Path,
    pub etc_hosts: &'a Path,
    /// Canonical host paths of the real power commands, each bound over by the power script.
    pub power_targets: &'a [PathBuf],
    /// The machine's own /boot (kept across boots).
    pub boot_dir: &'a Path,
    /// Upper and work dirs of the persistent overlay on /usr/lib (so /lib/modules is the
    /// machine's own and survives its reboots).
    pub usr_lib_upper: &'a Path,
    pub usr_lib_work: &'a Path,
    /// The release this boot reports, bound over /proc/sys/kernel/osrelease.
    pub osrelease_file: &'a Path,
    /// The stand-in boot tools (grub-reboot, grub-probe, grub-mkrelpath, uname), linked into
    /// /usr/local/sbin.
    pub tools_dir: &'a Path,
    pub tools: &'a [&'a str],
}

/// The `sh -c` text that runs as init of the machine's pid namespace (inside its own UTS and
/// mount namespaces): hostname, mounts, checks that `reboot` is fenced, then `exec sshd`.
/// Any failure exits before sshd starts, so an unfenced machine never answers.
pub fn boot_script(b: &BootScript<'_>) -> String {
    let state = path_str(b.state);
    let ovl = format!("{state}/ovl");
    let power = sq(path_str(b.power));
    let mut s = String::new();
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "hostname {}", sq(b.hostname));
    // /usr/local and /root get per-boot writable overlays (upper layers on a tmpfs that dies
    // with the boot): /usr/local/autotest and /usr/local/sbin/reboot exist in the machine, and
    // nothing a machine writes there (root's dotfiles, pyenv's rehash lock left behind by a
    // session killed mid-login, ...) reaches the real host or outlives the boot.
    let _ = writeln!(s, "mount -t tmpfs -o mode=0755 tmpfs {}", sq(&ovl));
    for (dir, key) in OVERLAID {
        let (up, work) = (format!("{ovl}/{key}-up"), format!("{ovl}/{key}-work"));
        let _ = writeln!(s, "mkdir {} {}", sq(&up), sq(&work));
        let _ = writeln!(
            s,
            "mount -t overlay overlay -o {} {dir}",
            sq(format!("lowerdir={dir},upperdir={up},workdir={work}"))
        );
    }
    // Root's ~/.bashrc here runs `pyenv rehash` at every ssh login; it waits up to 60 s on a
    // lock file that a session killed mid-login (or a host process) leaves behind. A read-only
    // shims dir makes it return at once (it checks writability first); the shims still work.
    let _ = writeln!(
        s,
        "if [ -d {PYENV_SHIMS} ]; then mount --bind {PYENV_SHIMS} {PYENV_SHIMS}; mount -o remount,bind,ro {PYENV_SHIMS}; fi"
    );
    // Its own /tmp, empty at every boot (the lab's files live in /var/tmp).
    let _ = writeln!(s, "mount -t tmpfs -o mode=1777 tmpfs /tmp");
    let _ = writeln!(s, "mkdir -p {AUTODIR} /usr/local/sbin");
    let _ = writeln!(s, "mount --bind {} {AUTODIR}", sq(path_str(b.autodir)));
    for name in POWER_NAMES {
        let _ = writeln!(s, "ln -sf {power} /usr/local/sbin/{name}");
    }
    for t in b.power_targets {
        let _ = writeln!(s, "mount --bind {power} {}", sq(path_str(t)));
    }
    // Kernels: its own /boot and /lib/modules (persistent), the stand-in GRUB tools, and the
    // release chosen at this boot as what /proc/sys/kernel/osrelease says (see bootloader.rs).
    let _ = writeln!(s, "mount --bind {} /boot", sq(path_str(b.boot_dir)));
    let _ = writeln!(
        s,
        "mount -t overlay overlay -o {} /usr/lib",
        sq(format!(
            "lowerdir=/usr/lib,upperdir={},workdir={}",
            path_str(b.usr_lib_upper),
            path_str(b.usr_lib_work)
        ))
    );
    let _ = writeln!(s, "mkdir -p /usr/lib/modules");
    for t in b.tools {
        let _ = writeln!(
            s,
            "ln -sf {} /usr/local/sbin/{t}",
            sq(path_str(&b.tools_dir.join(t)))
        );
    }
    let _ = writeln!(
        s,
        "mount --bind {} /proc/sys/kernel/osrelease",
        sq(path_str(b.osrelease_file))
    );
    for (file, over) in [
        (b.etc_hostname, "/etc/hostname"),
        (b.etc_hosts, "/etc/hosts"),
    ] {
        let _ = writeln!(
            s,
            "if [ -f {over} ]; then mount --bind {} {over}; fi",
            sq(path_str(file))
        );
    }
    let _ = writeln!(
        s,
        "mount --bind {} /proc/sys/kernel/random/boot_id",
        sq(path_str(b.boot_id_file))
    );
    let _ = writeln!(
        s,
        "if [ -e /proc/sysrq-trigger ]; then mount --bind /dev/null /proc/sysrq-trigger; fi"
    );
    // Checks, by content only: never run a command that might be the real one.
    let _ = writeln!(s, "PATH={ROOT_PATH}; export PATH");
    let mut names: Vec<String> = POWER_NAMES.iter().map(|n| n.to_string()).collect();
    for dir in ["/sbin", "/usr/sbin", "/bin", "/usr/bin"] {
        for n in POWER_NAMES {
            names.push(format!("{dir}/{n}"));
        }
    }
    names.extend(b.power_targets.iter().map(|t| path_str(t).to_owned()));
    let _ = writeln!(
        s,
        "for c in {}; do",
        names.iter().map(sq).collect::<Vec<_>>().join(" ")
    );
    let _ = writeln!(s, "  p=$(command -v \"$c\" || true)");
    let _ = writeln!(
        s,
        "  if [ -n \"$p\" ] && ! cmp -s \"$p\" {power}; then echo \"FATAL: $c resolves to $p, not this machine's power script\" >&2; exit 97; fi"
    );
    let _ = writeln!(s, "done");
    let _ = writeln!(
        s,
        "[ \"$(command -v reboot)\" = /usr/local/sbin/reboot ] || {{ echo 'FATAL: reboot is not fenced on PATH' >&2; exit 97; }}"
    );
    let _ = writeln!(
        s,
        "cmp -s /proc/sys/kernel/random/boot_id {} || {{ echo 'FATAL: boot_id not bound' >&2; exit 97; }}",
        sq(path_str(b.boot_id_file))
    );
    let _ = writeln!(
        s,
        "[ \"$(hostname)\" = {} ] || {{ echo 'FATAL: hostname not set' >&2; exit 97; }}",
        sq(b.hostname)
    );
    let _ = writeln!(s, "echo $$ > {}", sq(format!("{state}/sshd.pid")));
    let _ = writeln!(
        s,
        "exec {} -D -e -f {}",
        sq(path_str(b.sshd)),
        sq(path_str(b.sshd_config))
    );
    s
}
