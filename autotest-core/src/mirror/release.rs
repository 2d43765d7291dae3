//! Which file names are kernel releases, and finding them in a mirror tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::Regex;

use super::error::MirrorError;

/// Release patterns used when none are configured: v2.6 through v6.x (and later), full tarballs
/// in any of the three compressions, stable, rc, git-snapshot and -mm patches. Group 1 is the
/// version. The legacy v2.6-only `.bz2` patterns are special cases of these.
pub const DEFAULT_RELEASE_PATTERNS: &[&str] = &[
    r"linux-(\d+\.\d+(?:\.\d+)*(?:-rc\d+)?)\.tar\.(?:xz|gz|bz2)",
    r"patch-(\d+\.\d+(?:\.\d+)*(?:-rc\d+)?)\.(?:xz|gz|bz2)",
    r"patch-(\d+\.\d+(?:\.\d+)*(?:-rc\d+)?-git\d+)\.(?:xz|gz|bz2)",
    r"(\d+\.\d+(?:\.\d+)*(?:-rc\d+)?-mm\d+)\.(?:xz|gz|bz2)",
];

/// The regular expressions that tell a release file from any other file; each must match a
/// whole file name (not the path) and capture the kernel version as group 1.
#[derive(Debug, Clone)]
pub struct ReleasePatterns {
    patterns: Vec<Regex>,
}

impl Default for ReleasePatterns {
    fn default() -> Self {
        ReleasePatterns::new(DEFAULT_RELEASE_PATTERNS).expect("default patterns compile")
    }
}

impl ReleasePatterns {
    /// Compiles `patterns`; each is anchored at both ends of the file name.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<ReleasePatterns, MirrorError> {
        let patterns = patterns
            .iter()
            .map(|p| {
                let p = p.as_ref();
                let re = Regex::new(&format!("^(?:{p})$")).map_err(|e| MirrorError::BadPattern {
                    pattern: p.to_owned(),
                    message: e.to_string(),
                })?;
                if re.captures_len() < 2 {
                    return Err(MirrorError::BadPattern {
                        pattern: p.to_owned(),
                        message: "it has no capture group; put the version in group 1, as in linux-(\\d+\\.\\d+)\\.tar\\.xz".to_owned(),
                    });
                }
                Ok(re)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ReleasePatterns { patterns })
    }

    /// The kernel version a file name stands for, or `None` when it is not a release file.
    /// Names starting with `.` never match: rsync's half-transferred files are hidden that way.
    pub fn version_of(&self, file_name: &str) -> Option<String> {
        if file_name.starts_with('.') {
            return None;
        }
        self.patterns.iter().find_map(|re| {
            re.captures(file_name)?
                .get(1)
                .map(|m| m.as_str().to_owned())
        })
    }

    /// Every release under `dir` (recursively): version → the release files found for it,
    /// relative to `dir`, sorted. A missing `dir` has no releases. Hidden files and directories
    /// are skipped (temporary names of transfers in progress).
    pub fn scan(&self, dir: &Path) -> Result<BTreeMap<String, Vec<PathBuf>>, MirrorError> {
        let mut found: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
        let mut pending = vec![PathBuf::new()];
        while let Some(rel) = pending.pop() {
            let abs = dir.join(&rel);
            let entries = match std::fs::read_dir(&abs) {
                Ok(entries) => entries,
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound && rel.as_os_str().is_empty() =>
                {
                    return Ok(found);
                }
                Err(source) => {
                    return Err(MirrorError::io("read the mirror directory", &abs, source));
                }
            };
            for entry in entries {
                let entry = entry
                    .map_err(|source| MirrorError::io("read the mirror directory", &abs, source))?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.starts_with('.') {
                    continue;
                }
                let file_type = entry
                    .file_type()
                    .map_err(|source| MirrorError::io("read the mirror directory", &abs, source))?;
                if file_type.is_dir() {
                    pending.push(rel.join(name));
                } else if file_type.is_file() {
                    if let Some(version) = self.version_of(name) {
                        found.entry(version).or_default().push(rel.join(name));
                    }
                }
            }
        }
        for files in found.values_mut() {
            files.sort();
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_patterns_name_the_version() {
        let p = ReleasePatterns::default();
        let cases = [
            // The legacy v2.6 names.
            ("linux-2.6.23.tar.bz2", Some("2.6.23")),
            ("patch-2.6.23.1.bz2", Some("2.6.23.1")),
            ("patch-2.6.23-rc6.bz2", Some("2.6.23-rc6")),
            ("patch-2.6.23-rc6-git3.bz2", Some("2.6.23-rc6-git3")),
            ("patch-2.6.23-git1.bz2", Some("2.6.23-git1")),
            ("2.6.23-rc6-mm1.bz2", Some("2.6.23-rc6-mm1")),
            ("2.6.23-mm1.bz2", Some("2.6.23-mm1")),
            // v3.x to v6.x, every compression.
            ("linux-3.0.tar.gz", Some("3.0")),
            ("linux-4.19.300.tar.xz", Some("4.19.300")),
            ("linux-6.1.tar.xz", Some("6.1")),
            ("linux-6.1.5.tar.gz", Some("6.1.5")),
            ("linux-6.2-rc3.tar.gz", Some("6.2-rc3")),
            ("patch-6.1.5.xz", Some("6.1.5")),
            ("patch-6.2-rc3.xz", Some("6.2-rc3")),
            ("patch-5.10.gz", Some("5.10")),
            // Not releases.
            ("linux-6.1.tar.sign", None),
            ("linux-6.1.tar", None),
            ("patch-6.1.4-5.xz", None),
            ("patch-6.1.5.sign", None),
            ("sha256sums.asc", None),
            ("ChangeLog-6.1.5", None),
            (".linux-6.1.tar.xz.Xa81bd", None),
            (".patch-6.1.5.xz", None),
            ("linux-6.1.tar.xz.part", None),
            ("linux-6.1.tar.xz~", None),
        ];
        for (name, want) in cases {
            assert_eq!(p.version_of(name).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn legacy_patterns_still_work_when_given() {
        let legacy = [
            r"linux-(2\.6\.\d+)\.tar\.bz2",
            r"patch-(2\.6\.\d+\.\d+)\.bz2",
            r"patch-(2\.6\.\d+-rc\d+)\.bz2",
            r"patch-(2\.6\.\d+(-rc\d+)?-git\d+)\.bz2",
            r"(2\.6\.\d+(-rc\d+)?-mm\d+)\.bz2",
        ];
        let p = ReleasePatterns::new(&legacy).unwrap();
        assert_eq!(
            p.version_of("patch-2.6.23-rc6-git3.bz2").as_deref(),
            Some("2.6.23-rc6-git3")
        );
        assert_eq!(p.version_of("linux-6.1.tar.xz"), None);
    }

    #[test]
    fn bad_patterns_are_refused() {
        let e = ReleasePatterns::new(&["linux-\\d+.tar.xz"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("group 1"), "{e}");
        let e = ReleasePatterns::new(&["linux-(\\d+"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("linux-(\\d+"), "{e}");
    }

    #[test]
    fn scan_groups_files_by_version_and_skips_partial_transfers() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "v6.x/linux-6.1.tar.xz",
            "v6.x/linux-6.1.tar.gz",
            "v6.x/patch-6.1.5.xz",
            "v6.x/.patch-6.2.xz.a1B2c3",
            "v6.x/sha256sums.asc",
            ".hidden/linux-6.3.tar.xz",
        ] {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let found = ReleasePatterns::default().scan(d.path()).unwrap();
        assert_eq!(found.keys().collect::<Vec<_>>(), ["6.1", "6.1.5"]);
        assert_eq!(
            found["6.1"],
            [
                PathBuf::from("v6.x/linux-6.1.tar.gz"),
                PathBuf::from("v6.x/linux-6.1.tar.xz")
            ]
        );
        assert!(
            ReleasePatterns::default()
                .scan(&d.path().join("missing"))
                .unwrap()
                .is_empty()
        );
    }
}
