//! The kernel-config mapping (`-f`): which config file each queue's machines build a release
//! with. Lines `<queue> <kernel-version> <config>` (this config for that version and later ones,
//! until the next listed version) or, as in legacy, `<queue> <config>` (any version).
//! `<config>` is a path on the machine, or `defconfig` for the kernel's default configuration.
//!
//! A line that cannot be used is refused with its file and line: one word only, more than three
//! words, a second word that should be a version and is not one, a bad queue name, or a
//! `<queue> [<version>]` already mapped by an earlier line (the first line counts, as in legacy,
//! and the message names it). A refused line is left out and the run goes on, as for every bad
//! line: its queue still gets its jobs, configured by the queue's other lines (or
//! [`DEFAULT_KERNEL_CONFIG`] when none is left), and the run reports the problem (the CLI exits 1).

use std::collections::BTreeMap;
use std::path::Path;

use super::clients::check_queue_name;
use super::error::MirrorProblem;
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
    /// queue → its entries, in file order.
    queues: BTreeMap<String, Vec<Entry>>,
}

/// One line of the mapping.
#[derive(Debug, Clone)]
struct Entry {
    /// The version from which it applies; `None` = any version.
    version: Option<KernelVersion>,
    config: KernelConfig,
    /// 1-based line in the mapping file.
    line: usize,
}

/// The accepted form of a line, for messages.
const FORM: &str = "'<queue> [<kernel-version>] <config path on the machine | defconfig>'";

fn not_a_version(word: &str) -> String {
    format!(
        "'{word}' is not a kernel version; write it like 6.1, 6.1.5, 2.6.32.71 or 6.2-rc3 (a line is {FORM})"
    )
}

impl ConfigMap {
    /// Parses the mapping `text` read from `path`; unusable lines come back as problems and are
    /// left out (see the module docs for what that means for their queue).
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
                        format!("'{only}' has no config; write {FORM}"),
                    ));
                    continue;
                }
                // A second word starting with a digit is a version, or a mistake: config paths
                // on the machine are absolute.
                [queue, second] if second.starts_with(|c: char| c.is_ascii_digit()) => {
                    if KernelVersion::parse(second).is_none() {
                        problems.push(MirrorProblem::at(path, line, not_a_version(second)));
                        continue;
                    }
                    problems.push(MirrorProblem::at(
                        path,
                        line,
                        format!("version {second} has no config; write '{queue} {second} <config path on the machine | defconfig>'"),
                    ));
                    continue;
                }
                [queue, config] => (*queue, None, *config),
                [queue, second, config] => {
                    let Some(version) = KernelVersion::parse(second) else {
                        problems.push(MirrorProblem::at(path, line, not_a_version(second)));
                        continue;
                    };
                    (*queue, Some(version), *config)
                }
                more => {
                    problems.push(MirrorProblem::at(
                        path,
                        line,
                        format!(
                            "this line has {} fields, but a line is {FORM}: 2 or 3 fields (a comment goes on a line of its own, starting with #)",
                            more.len()
                        ),
                    ));
                    continue;
                }
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
            // The first line for a queue and version counts, as the legacy mirror's did; a later
            // one is refused rather than ignored without a word.
            if let Some(first) = entries.iter().find(|e| e.version == version) {
                let key = match &version {
                    Some(v) => format!("queue '{queue}' version {v}"),
                    None => format!("queue '{queue}' without a version"),
                };
                problems.push(MirrorProblem::at(
                    path,
                    line,
                    format!(
                        "{key} is already mapped on line {}; the first line counts, so remove this one or give it another version",
                        first.line
                    ),
                ));
                continue;
            }
            entries.push(Entry {
                version,
                config,
                line,
            });
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
            .filter(|e| match (&e.version, &kernel) {
                (None, _) => true,
                (Some(v), Some(k)) => v <= k,
                // An unparsable release version (a custom pattern): only version-less entries.
                (Some(_), None) => false,
            })
            .max_by(|a, b| a.version.cmp(&b.version));
        let chosen = not_above.or_else(|| entries.iter().min_by(|a, b| a.version.cmp(&b.version)));
        chosen
            .map(|e| e.config.clone())
            .unwrap_or(KernelConfig::Path(DEFAULT_KERNEL_CONFIG.to_owned()))
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
        // Lines 4 and 6 repeat a key: refused (the first counts), see `refused_lines`.
        let text = "x86 2.6.20 /cfg/a\nx86 6.1 /cfg/b\nx86 6.2-rc1 defconfig\nx86 6.1 /cfg/ignored\nsparc /cfg/sparc\nsparc /cfg/also-ignored\nold 6.0 /cfg/old6\nold 6.5 /cfg/old65\n";
        let (map, problems) = ConfigMap::parse(text, Path::new("configs"));
        let lines: Vec<Option<usize>> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(4), Some(6)], "{problems:?}");
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
        assert!(
            problems[0].starts_with("/etc/configs:2: '6.x' is not a kernel version"),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("/etc/configs:3: 'lonely' has no config"),
            "{problems:?}"
        );
        assert!(
            problems[2].starts_with("/etc/configs:4: version 6.1 has no config"),
            "{problems:?}"
        );
        assert!(
            problems[3].starts_with("/etc/configs:5: queue '.hidden'"),
            "{problems:?}"
        );
        assert_eq!(map.config_for("x86", "6.1"), p("/cfg/ok"));
    }

    #[test]
    fn refused_lines_say_why_and_the_accepted_form() {
        // (line text, the message's start, a part the message must also hold); each line is
        // read after "x86 6.1 /cfg/first\nsparc /cfg/any\n", so line 3 of the file.
        let cases: &[(&str, &str, &str)] = &[
            (
                "box2 notaversion defconfig",
                "'notaversion' is not a kernel version",
                "like 6.1, 6.1.5",
            ),
            (
                "box2 6.1.x defconfig",
                "'6.1.x' is not a kernel version",
                "'<queue> [<kernel-version>] <config path on the machine | defconfig>'",
            ),
            (
                "box2 6.1-rc defconfig",
                "'6.1-rc' is not a kernel version",
                "6.2-rc3",
            ),
            (
                "box2 6.1 /cfg extra",
                "this line has 4 fields",
                "2 or 3 fields",
            ),
            (
                "box2 6.1 /cfg # a comment",
                "this line has 6 fields",
                "a comment goes on a line of its own",
            ),
            (
                "x86 6.1 /cfg/second",
                "queue 'x86' version 6.1 is already mapped on line 1",
                "the first line counts",
            ),
            ("x86 6.1.0 /cfg/other", "", ""),
            (
                "sparc defconfig",
                "queue 'sparc' without a version is already mapped on line 2",
                "remove this one",
            ),
            (
                "box2 6.1",
                "version 6.1 has no config",
                "'box2 6.1 <config path",
            ),
            ("box2", "'box2' has no config", "[<kernel-version>]"),
            ("box/2 /cfg", "queue 'box/2' is not a directory name", ""),
            ("box2 2.6.32.71 defconfig", "", ""),
        ];
        for (text, start, part) in cases {
            let file = format!("x86 6.1 /cfg/first\nsparc /cfg/any\n{text}\n");
            let (map, problems) = ConfigMap::parse(&file, Path::new("/etc/configs"));
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            if start.is_empty() {
                assert!(problems.is_empty(), "{text}: {problems:?}");
                continue;
            }
            assert_eq!(problems.len(), 1, "{text}: {problems:?}");
            assert!(
                problems[0].starts_with(&format!("/etc/configs:3: {start}")),
                "{text}: {problems:?}"
            );
            assert!(problems[0].contains(part), "{text}: {problems:?}");
            // The refused line changes nothing: the first lines still count, box2 has nothing.
            assert_eq!(map.config_for("x86", "6.1"), p("/cfg/first"), "{text}");
            assert_eq!(map.config_for("sparc", "6.1"), p("/cfg/any"), "{text}");
            assert_eq!(
                map.config_for("box2", "6.1"),
                p(DEFAULT_KERNEL_CONFIG),
                "{text}"
            );
        }
    }
}
