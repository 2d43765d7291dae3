//! The lab machines' stand-in for firmware and GRUB 2, so `k.boot()` can be tested end to end.
//!
//! A machine has its own persistent `/boot` (and `/lib/modules`, through a persistent overlay
//! on `/usr/lib`). Inside it, `grub-reboot`, `grub-probe` and `grub-mkrelpath` are small scripts
//! with the real tools' interfaces: `grub-reboot <id>` writes `next_entry=<id>` into
//! `/boot/grub/grubenv` as the real one does. When the fixture boots the machine it plays GRUB:
//! it takes the one-time `next_entry` (and clears it, as GRUB's `save_env` does), finds that
//! menu entry in `/boot/grub/custom.cfg` or `grub.cfg`, and "boots" the release of its
//! `linux /vmlinuz-<release>` image when that file exists; else the default kernel. The release
//! is what the machine then reports: a file bound over `/proc/sys/kernel/osrelease` (read by
//! the client) and a `uname` wrapper for `uname -r` (uname(2) itself is not namespaced, so this
//! is a stand-in for a real boot of another kernel). A `kexec` stand-in likewise notes the
//! kernel `kexec -l` loaded, and the next reboot starts that one.

use std::fs;
use std::path::Path;

/// grub.cfg of a lab machine: like Debian's, it reads custom.cfg (`41_custom`).
pub const GRUB_CFG: &str = "# lab machine stand-in for update-grub's output\n\
set default=0\n\
if [ \"${next_entry}\" ] ; then set default=\"${next_entry}\"; set next_entry=; save_env next_entry; fi\n\
menuentry 'Default kernel' --id default {\n\tlinux /vmlinuz-default root=/dev/lab ro\n}\n\
### BEGIN /etc/grub.d/41_custom ###\n\
if [ -f  ${config_directory}/custom.cfg ]; then\n  source ${config_directory}/custom.cfg\nfi\n\
### END /etc/grub.d/41_custom ###\n";

/// The stand-in tools, by name: written into the machine's state dir, linked into
/// /usr/local/sbin at every boot.
pub const TOOLS: [(&str, &str); 5] = [
    (
        "kexec",
        r#"#!/bin/sh
# lab stand-in for kexec-tools: `kexec -l IMAGE [--initrd=F] [--append=L]` "loads" a kernel
# (noted in the machine's state dir, the fixture's view of its memory); the next reboot starts
# it, as Debian's kexec-tools does at reboot. `kexec -u` unloads.
state="$(dirname "$(readlink -f "$0")")/.."
case "$1" in
  -l) [ -f "$2" ] || { echo "kexec: cannot open $2" >&2; exit 1; }
      echo "$2" > "$state/kexec-loaded" ;;
  -u) rm -f "$state/kexec-loaded" ;;
  *) echo "kexec: lab stand-in supports -l and -u only" >&2; exit 1 ;;
esac
"#,
    ),
    (
        "grub-reboot",
        r#"#!/bin/sh
# lab stand-in for GRUB 2's grub-reboot: one-time default entry in /boot/grub/grubenv.
[ $# -eq 1 ] || { echo "Usage: grub-reboot MENU_ENTRY" >&2; exit 1; }
mkdir -p /boot/grub
{ printf '# GRUB Environment Block\nnext_entry=%s\n' "$1"; head -c 1024 /dev/zero | tr '\0' '#'; } | head -c 1024 > /boot/grub/grubenv.new
mv /boot/grub/grubenv.new /boot/grub/grubenv
"#,
    ),
    (
        "grub-probe",
        r#"#!/bin/sh
# lab stand-in for grub-probe: the lab's /boot is "a GPT partition with ext2/3/4".
for a in "$@"; do case "$a" in
  --target=fs) echo ext2 ;;
  --target=partmap) echo gpt ;;
  --target=fs_uuid) echo 1ab0b007-0000-4000-8000-000000000001 ;;
  --target=*) echo "grub-probe: error: unknown target ${a#--target=}" >&2; exit 1 ;;
esac; done
"#,
    ),
    (
        "grub-mkrelpath",
        r#"#!/bin/sh
# lab stand-in for grub-mkrelpath: /boot is its own file system, so /boot/x is /x to GRUB.
case "$1" in /boot/*) echo "${1#/boot}" ;; *) echo "$1" ;; esac
"#,
    ),
    (
        "uname",
        r#"#!/bin/sh
# lab stand-in: the release this machine "booted" (bound over /proc/sys/kernel/osrelease).
if [ "$#" -eq 1 ] && [ "$1" = "-r" ]; then exec cat /proc/sys/kernel/osrelease; fi
exec /usr/bin/uname "$@"
"#,
    ),
];

fn env_value(grubenv: &str, key: &str) -> Option<String> {
    grubenv
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(str::to_owned)
        .filter(|v| !v.is_empty())
}

/// The image of menu entry `id` in GRUB script text: the path after `linux`.
fn entry_image(cfg: &str, id: &str) -> Option<String> {
    let ids = [
        format!("--id '{id}'"),
        format!("--id {id} "),
        format!("--id \"{id}\""),
    ];
    let mut inside = false;
    for line in cfg.lines() {
        let t = line.trim();
        if t.starts_with("menuentry ") {
            inside = ids.iter().any(|i| t.contains(i.as_str()));
        } else if inside && let Some(rest) = t.strip_prefix("linux ") {
            return rest.split_whitespace().next().map(str::to_owned);
        } else if t == "}" {
            inside = false;
        }
    }
    None
}

/// Plays GRUB at boot over the machine's `/boot` (host side `boot_dir`): the release to boot
/// and a note of why. Consumes a one-time `next_entry` unless `ignore_entry` (a machine whose
/// boot loader falls back to the default kernel).
pub fn choose_release(boot_dir: &Path, default: &str, ignore_entry: bool) -> (String, String) {
    // A kernel loaded with kexec starts at the reboot without the firmware or GRUB.
    let loaded = boot_dir.with_file_name("kexec-loaded");
    if let Ok(image) = fs::read_to_string(&loaded) {
        let _ = fs::remove_file(&loaded);
        let image = image.trim();
        let file = image.trim_start_matches("/boot/");
        if let Some(release) = file.strip_prefix("vmlinuz-")
            && boot_dir.join(file).is_file()
        {
            return (release.to_owned(), format!("kexec {image}"));
        }
    }
    let grubenv = boot_dir.join("grub/grubenv");
    let Some(id) = fs::read_to_string(&grubenv)
        .ok()
        .and_then(|t| env_value(&t, "next_entry"))
    else {
        return (default.to_owned(), "default kernel".into());
    };
    // GRUB clears the one-time entry when it takes it.
    let mut block = "# GRUB Environment Block\n".to_owned();
    block.push_str(&"#".repeat(1024 - block.len()));
    let _ = fs::write(&grubenv, block);
    if ignore_entry {
        return (
            default.to_owned(),
            format!("one-time entry {id} ignored: default kernel"),
        );
    }
    let cfg = ["custom.cfg", "grub.cfg"]
        .iter()
        .filter_map(|f| fs::read_to_string(boot_dir.join("grub").join(f)).ok())
        .collect::<Vec<_>>()
        .join("\n");
    let Some(image) = entry_image(&cfg, &id) else {
        return (
            default.to_owned(),
            format!("no menu entry {id}: default kernel"),
        );
    };
    let file = image.trim_start_matches("/boot/").trim_start_matches('/');
    let release = file.strip_prefix("vmlinuz-").unwrap_or("");
    if release.is_empty() || !boot_dir.join(file).is_file() {
        return (
            default.to_owned(),
            format!("entry {id}: no image {image}: default kernel"),
        );
    }
    (release.to_owned(), format!("entry {id}"))
}
