//! Booting an installed kernel once: the running kernel's release, the command line to give
//! the new one, and its GRUB 2 menu entry (kept in `/boot/grub/custom.cfg`, which the stock
//! `41_custom` part of `grub.cfg` sources, so no `update-grub` run is needed).

/// The release of the running kernel. Read from `/proc/sys/kernel/osrelease` (what `uname -r`
/// reports), so a machine whose `/proc` is arranged differently (a test lab's stand-in boot)
/// is judged by the same file its tools read.
pub fn running_kernel() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The command line for the new kernel: the running one's (`/proc/cmdline`) without what the
/// boot loader adds itself (`BOOT_IMAGE=`, `initrd=`) or a previous job's `IDENT=`, then
/// `extra`.
pub fn boot_cmdline(proc_cmdline: &str, extra: &str) -> String {
    let mut words: Vec<&str> = proc_cmdline
        .split_whitespace()
        .filter(|w| {
            !["BOOT_IMAGE=", "initrd=", "IDENT="]
                .iter()
                .any(|p| w.starts_with(p))
        })
        .collect();
    words.extend(extra.split_whitespace());
    words.join(" ")
}

/// A GRUB 2 menu entry for one installed kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootEntry {
    /// `--id` of the entry, what `grub-reboot` is given (`autotest-<release>`).
    pub id: String,
    /// The title shown in the menu.
    pub title: String,
    /// GRUB modules the entry needs (partition map and file system, from `grub-probe`).
    pub modules: Vec<String>,
    /// UUID of the file system holding `/boot` (`grub-probe --target=fs_uuid`), if known.
    pub fs_uuid: Option<String>,
    /// The image's path as GRUB sees it on that file system (`grub-mkrelpath`).
    pub image: String,
    /// The initramfs, likewise, if there is one.
    pub initrd: Option<String>,
    /// The kernel command line.
    pub cmdline: String,
}

fn single_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl BootEntry {
    /// The entry as GRUB script, between markers that name it.
    pub fn render(&self) -> String {
        let mut s = format!("### BEGIN autotest {}\n", self.id);
        s.push_str(&format!(
            "menuentry {} --id {} {{\n",
            single_quote(&self.title),
            single_quote(&self.id)
        ));
        for m in &self.modules {
            s.push_str(&format!("\tinsmod {m}\n"));
        }
        if let Some(u) = &self.fs_uuid {
            s.push_str(&format!("\tsearch --no-floppy --fs-uuid --set=root {u}\n"));
        }
        s.push_str(&format!("\tlinux {} {}\n", self.image, self.cmdline).replace(" \n", "\n"));
        if let Some(i) = &self.initrd {
            s.push_str(&format!("\tinitrd {i}\n"));
        }
        s.push_str("}\n");
        s.push_str(&format!("### END autotest {}\n", self.id));
        s
    }
}

/// `custom.cfg` with `entry` in it: an older entry of the same id is replaced, anything else
/// (other kernels' entries, the administrator's own) is kept.
pub fn grub_custom_cfg(existing: &str, entry: &BootEntry) -> String {
    let begin = format!("### BEGIN autotest {}", entry.id);
    let end = format!("### END autotest {}", entry.id);
    let mut out = String::new();
    let mut skipping = false;
    for line in existing.lines() {
        if line == begin {
            skipping = true;
            continue;
        }
        if skipping {
            if line == end {
                skipping = false;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&entry.render());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> BootEntry {
        BootEntry {
            id: id.into(),
            title: "autotest: Linux 6.1.5-autotest".into(),
            modules: vec!["part_gpt".into(), "ext2".into()],
            fs_uuid: Some("1234-abcd".into()),
            image: "/boot/vmlinuz-6.1.5-autotest".into(),
            initrd: None,
            cmdline: "root=/dev/vda1 ro console=ttyS0".into(),
        }
    }

    #[test]
    fn cmdline_drops_loader_words() {
        assert_eq!(
            boot_cmdline(
                "BOOT_IMAGE=/vmlinuz-6.1.0 root=UUID=x ro initrd=/i IDENT=17 quiet",
                "panic=5"
            ),
            "root=UUID=x ro quiet panic=5"
        );
        assert_eq!(boot_cmdline("", ""), "");
    }

    #[test]
    fn entry_text() {
        assert_eq!(
            entry("autotest-6.1.5-autotest").render(),
            "### BEGIN autotest autotest-6.1.5-autotest\n\
             menuentry 'autotest: Linux 6.1.5-autotest' --id 'autotest-6.1.5-autotest' {\n\
             \tinsmod part_gpt\n\tinsmod ext2\n\
             \tsearch --no-floppy --fs-uuid --set=root 1234-abcd\n\
             \tlinux /boot/vmlinuz-6.1.5-autotest root=/dev/vda1 ro console=ttyS0\n\
             }\n### END autotest autotest-6.1.5-autotest\n"
        );
    }

    #[test]
    fn custom_cfg_replaces_only_its_entry() {
        let mine = "menuentry 'admin' {\n}\n";
        let first = grub_custom_cfg(mine, &entry("autotest-a"));
        let second = grub_custom_cfg(&first, &entry("autotest-b"));
        let mut again = entry("autotest-a");
        again.cmdline = "root=/dev/vda2".into();
        let third = grub_custom_cfg(&second, &again);
        assert!(third.starts_with(mine));
        assert_eq!(third.matches("### BEGIN autotest autotest-a").count(), 1);
        assert_eq!(third.matches("### BEGIN autotest autotest-b").count(), 1);
        assert!(third.contains("linux /boot/vmlinuz-6.1.5-autotest root=/dev/vda2\n"));
        assert!(!third.contains("root=/dev/vda1 ro console=ttyS0\n}\n### END autotest autotest-a"));
    }
}
