//! The kernel-config mapping (`-f`): which config file each queue's machines build a release
//! with. Lines `<queue> <kernel-version> <config>` (this config for that version and later ones,
//! until the next listed version) or, as in legacy, `<queue> <config>` (any version; when a
//! queue has several such lines the first one wins). `<config>` is a path on the machine, or
//! `defconfig` for the kernel's default configuration.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::MirrorProblem;
use super::clients::check_queue_name;
use crate::kernel::KernelVersion;

/// The config a machine uses when the mapping has nothing for its queue.
pub const DEFAULT_KERNEL_CONFIG: &str = "/boot/config";

/// What to configure a kernel with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelConfig {
    /// A config file on the machine under test.
    Path(String),
    /// The kernel's `defconfig`.
    Defconfig,
}

/// The parsed mapping: per queue, the configs by the version from which they apply.
#[derive(Debug, Clone, Default)]
pub struct ConfigMap {
    /// queue → (version from which it applies; `None` = any version) → config.
    queues: BTreeMap<String, Vec<(Option<KernelVersion>, KernelConfig)>>,
}

impl ConfigMap {
    /// Parses the mapping `text` read from `path`; unusable lines come back as problems.
    pub fn parse(text: &str, path: &Path) -> (ConfigMap, Vec<MirrorProblem>) {
        let mut map = ConfigMap::default();
        let mut problems = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let words: Vec<&str> = raw.split_whitespace().collect();
            let (queue, version, config) = match words.as_slice() {
                [] => continue,
                [first, ..] if first.starts_with('#') => continue,
                [only] => {
                    problems.push(MirrorProblem::at(
                        path,
                        line,
                        format!("'{only}' has no config; write '<queue> [<kernel-version>] <config path on the machine | defconfig>'"),
                    ));
                    continue;
                }
                // A second word starting with a digit is a version, or a mistake: config paths
                // on the machine are absolute.
                [queue, second, rest @ ..] if second.starts_with(|c: char| c.is_ascii_digit()) => {
                    let Some(version) = KernelVersion::parse(second) else {
                        problems.push(MirrorProblem::at(
                            path,
                            line,
                            format!("'{second}' is not a kernel version; write it like 6.1, 6.1.5 or 6.2-rc3"),
                        ));
                        continue;
                    };
                    let Some(config) = rest.first() else {
                        problems.push(MirrorProblem::at(
                            path,
                            line,
                            format!("version {second} has no config; write '<queue> {second} <config path on the machine | defconfig>'"),
                        ));
                        continue;
                    };
                    (*queue, Some(version), *config)
                }
                [queue, config, ..] => (*queue, None, *config),
            };
            if let Err(why) = check_queue_name(queue) {
                problems.push(MirrorProblem::at(path, line, why));
                continue;
            }
            let config = if config == "defconfig" {
                KernelConfig::Defconfig
            } else {
                KernelConfig::Path(config.to_owned())
            };
            let entries = map.queues.entry(queue.to_owned()).or_default();
            // The first line for a queue and version wins, as the legacy mirror's did.
            if !entries.iter().any(|(v, _)| *v == version) {
                entries.push((version, config));
            }
        }
        (map, problems)
    }

    /// The config `queue` builds `kernel` with: the entry with the greatest version not above
    /// the kernel (a version-less entry is below every version); for a kernel older than every
    /// entry, the lowest entry; for a queue without entries, [`DEFAULT_KERNEL_CONFIG`].
    pub fn config_for(&self, queue: &str, kernel: &str) -> KernelConfig {
        let Some(entries) = self.queues.get(queue).filter(|e| !e.is_empty()) else {
            return KernelConfig::Path(DEFAULT_KERNEL_CONFIG.to_owned());
        };
        let kernel = KernelVersion::parse(kernel);
        let not_above = entries
            .iter()
            .filter(|(v, _)| match (v, &kernel) {
                (None, _) => true,
                (Some(v), Some(k)) => v <= k,
                // An unparsable release version (a custom pattern): only version-less entries.
                (Some(_), None) => false,
            })
            .max_by(|a, b| a.0.cmp(&b.0));
        let chosen = not_above.or_else(|| entries.iter().min_by(|a, b| a.0.cmp(&b.0)));
        chosen.map(|(_, c)| c.clone()).unwrap_or(KernelConfig::Path(DEFAULT_KERNEL_CONFIG.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> KernelConfig {
        KernelConfig::Path(s.to_owned())
    }

    #[test]
    fn picks_the_greatest_version_not_above_the_kernel() {
        let text = "x86 2.6.20 /cfg/a\nx86 6.1 /cfg/b\nx86 6.2-rc1 defconfig\nx86 6.1 /cfg/ignored\nsparc /cfg/sparc /cfg/second-ignored\nsparc /cfg/also-ignored\nold 6.0 /cfg/old6\nold 6.5 /cfg/old65\n";
        let (map, problems) = ConfigMap::parse(text, Path::new("configs"));
        assert!(problems.is_empty(), "{problems:?}");
        let cases = [
            ("x86", "2.6.19", p("/cfg/a")),
            ("x86", "2.6.20", p("/cfg/a")),
            ("x86", "6.0.9", p("/cfg/a")),
            ("x86", "6.1-rc8", p("/cfg/a")),
            ("x86", "6.1", p("/cfg/b")),
            ("x86", "6.1.70", p("/cfg/b")),
            ("x86", "6.2-rc1", KernelConfig::Defconfig),
            ("x86", "7.0", KernelConfig::Defconfig),
            ("sparc", "6.1", p("/cfg/sparc")),
            ("old", "5.4", p("/cfg/old6")),
            ("old", "6.4", p("/cfg/old6")),
            ("nomap", "6.1", p("/boot/config")),
        ];
        for (queue, kernel, want) in cases {
            assert_eq!(map.config_for(queue, kernel), want, "{queue} {kernel}");
        }
    }

    #[test]
    fn bad_lines_are_reported_with_file_and_line() {
        let text = "# c\nx86 6.x /cfg\nlonely\nx86 6.1\n.hidden /cfg\nx86 6.1 /cfg/ok\n";
        let (map, problems) = ConfigMap::parse(text, Path::new("/etc/configs"));
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("/etc/configs:2: '6.x' is not a kernel version"), "{problems:?}");
        assert!(problems[1].starts_with("/etc/configs:3: 'lonely' has no config"), "{problems:?}");
        assert!(problems[2].starts_with("/etc/configs:4: version 6.1 has no config"), "{problems:?}");
        assert!(problems[3].starts_with("/etc/configs:5: queue '.hidden'"), "{problems:?}");
        assert_eq!(map.config_for("x86", "6.1"), p("/cfg/ok"));
    }
}
