//! Kernel release versions and the kernel.org files that make up a release's source.

use std::cmp::Ordering;
use std::fmt;

use super::KernelError;

/// A kernel version as releases are named: `X.Y[.Z...][-rcN][-gitN][-mmN]` (`6.1`, `6.1.5`,
/// `6.8-rc3`, `2.6.32.71`, `2.6.23-rc6-git3`, `2.6.23-rc6-mm1`). Ordered as the kernel's releases
/// are: `2.6.23-rc6` < `2.6.23-rc6-mm1` < `2.6.23-rc6-git3` < `2.6.23-rc7` < `2.6.23` <
/// `2.6.23-git1` < `2.6.23.1` < `2.6.24-rc1` (a git snapshot sorts after the -mm trees of the same
/// base; their relative order is arbitrary). One type for the mirror (which names are newer, which
/// config applies) and for `job.kernel` (which files make a release's source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelVersion {
    /// The dotted numbers (`[6, 1, 5]`).
    pub numbers: Vec<u32>,
    /// `-rcN`, a release candidate of the release the numbers name.
    pub rc: Option<u32>,
    /// `-gitN`, a git snapshot (legacy kernel.org).
    pub git: Option<u32>,
    /// `-mmN`, an -mm tree (legacy kernel.org).
    pub mm: Option<u32>,
}

/// `digits` as a number, when it is only ASCII digits.
fn number(digits: &str) -> Option<u32> {
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

impl KernelVersion {
    /// Parses any version of the form `X.Y[.Z...][-rcN][-gitN][-mmN]` (suffixes in this order,
    /// each at most once); `None` for anything else.
    pub fn parse(text: &str) -> Option<KernelVersion> {
        let mut parts = text.split('-');
        let numbers = parts
            .next()?
            .split('.')
            .map(number)
            .collect::<Option<Vec<u32>>>()?;
        if numbers.len() < 2 {
            return None;
        }
        let mut v = KernelVersion {
            numbers,
            rc: None,
            git: None,
            mm: None,
        };
        let mut stage = 0;
        for part in parts {
            let (name, n) = part.split_at(part.find(|c: char| c.is_ascii_digit())?);
            let n = number(n)?;
            match name {
                "rc" if stage < 1 => (v.rc, stage) = (Some(n), 1),
                "git" if stage < 2 => (v.git, stage) = (Some(n), 2),
                "mm" if stage < 3 => (v.mm, stage) = (Some(n), 3),
                _ => return None,
            }
        }
        Some(v)
    }

    /// Parses a release whose source can still be fetched from a kernel.org-layout mirror:
    /// `X.Y`, `X.Y.Z`, `X.Y-rcN`, `2.6.N[.M]`, `2.6.N-rcM`; the error says what is wrong.
    pub fn parse_release(text: &str) -> Result<KernelVersion, KernelError> {
        let bad = |why: &str| KernelError::BadVersion {
            version: text.to_owned(),
            why: why.to_owned(),
        };
        let v = KernelVersion::parse(text).ok_or_else(|| {
            bad(match text.split_once("-rc") {
                Some((_, n)) if number(n).is_none() && !n.contains('-') => {
                    "-rc must be followed by a number only"
                }
                _ => "expected dotted numbers, optionally followed by -rcN",
            })
        })?;
        if v.git.is_some() || v.mm.is_some() {
            return Err(bad(
                "only -rcN suffixes are release versions (-git and -mm snapshots are gone from kernel.org)",
            ));
        }
        let legacy = v.numbers.first() == Some(&2);
        let (min, max) = if legacy { (3, 4) } else { (2, 3) };
        if v.numbers.len() < min || v.numbers.len() > max {
            return Err(bad(if legacy {
                "a 2.x release has the form 2.6.N or 2.6.N.M"
            } else {
                "a release has the form X.Y or X.Y.Z"
            }));
        }
        if legacy && v.numbers[1] != 6 {
            return Err(bad(
                "only 2.6 of the 2.x series is on the mirrors this project reads",
            ));
        }
        if v.rc.is_some() && v.numbers.len() == max {
            return Err(bad("a stable update (X.Y.Z) has no release candidates"));
        }
        Ok(v)
    }

    fn release(numbers: Vec<u32>) -> KernelVersion {
        KernelVersion {
            numbers,
            rc: None,
            git: None,
            mm: None,
        }
    }

    /// The release this one is a stable update of (`6.1` for `6.1.5`), if it is one.
    fn stable_base(&self) -> Option<KernelVersion> {
        let base_len = if self.numbers[0] == 2 { 3 } else { 2 };
        (self.numbers.len() > base_len)
            .then(|| KernelVersion::release(self.numbers[..base_len].to_vec()))
    }

    /// The release a `-rc` patch applies to: the previous mainline release.
    fn rc_base(&self) -> Option<KernelVersion> {
        let n = &self.numbers;
        let numbers = if n[0] == 2 {
            vec![2, 6, n[2].checked_sub(1)?]
        } else if n[1] > 0 {
            vec![n[0], n[1] - 1]
        } else {
            // The last release of the previous major number (X.0-rc patches apply to it).
            let last = match n[0] {
                3 => return Some(KernelVersion::release(vec![2, 6, 39])),
                4 => 19,
                5 => 20,
                6 => 19,
                _ => return None,
            };
            vec![n[0] - 1, last]
        };
        Some(KernelVersion::release(numbers))
    }

    /// The kernel.org directory of this release (`v6.x`, `v2.6`).
    pub fn mirror_dir(&self) -> String {
        if self.numbers[0] == 2 {
            "v2.6".to_owned()
        } else {
            format!("v{}.x", self.numbers[0])
        }
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nums: Vec<String> = self.numbers.iter().map(u32::to_string).collect();
        write!(f, "{}", nums.join("."))?;
        for (name, n) in [("rc", self.rc), ("git", self.git), ("mm", self.mm)] {
            if let Some(n) = n {
                write!(f, "-{name}{n}")?;
            }
        }
        Ok(())
    }
}

impl PartialOrd for KernelVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KernelVersion {
    /// Kernel order: numbers first (missing ones count as 0), then `-rcN` before the release,
    /// then git snapshots, then -mm trees.
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.numbers.len().max(other.numbers.len());
        let at = |v: &KernelVersion, i: usize| v.numbers.get(i).copied().unwrap_or(0);
        (0..len)
            .map(|i| at(self, i).cmp(&at(other, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
            .then_with(|| {
                self.rc
                    .unwrap_or(u32::MAX)
                    .cmp(&other.rc.unwrap_or(u32::MAX))
            })
            .then_with(|| self.git.cmp(&other.git))
            .then_with(|| self.mm.cmp(&other.mm))
            .then_with(|| self.numbers.len().cmp(&other.numbers.len()))
    }
}

/// A full source tarball, or a patch applied on top of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// `linux-<v>.tar.{xz,gz,bz2}`.
    Tarball,
    /// `patch-<v>[.xz|.gz|.bz2]`.
    Patch,
}

/// One file of a release's source, as the names it may have on a mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Tarball or patch.
    pub kind: SourceKind,
    /// File names, preferred first (compression variants of one file).
    pub names: Vec<String>,
    /// Directories of a kernel.org-layout mirror where it lives, preferred first.
    pub dirs: Vec<String>,
}

impl SourceFile {
    fn tarball(v: &KernelVersion) -> SourceFile {
        SourceFile {
            kind: SourceKind::Tarball,
            names: ["xz", "gz", "bz2"]
                .iter()
                .map(|c| format!("linux-{v}.tar.{c}"))
                .collect(),
            dirs: vec![v.mirror_dir()],
        }
    }

    fn patch(v: &KernelVersion) -> SourceFile {
        let mut names: Vec<String> = ["xz", "gz", "bz2"]
            .iter()
            .map(|c| format!("patch-{v}.{c}"))
            .collect();
        names.push(format!("patch-{v}"));
        let dir = v.mirror_dir();
        let dirs = if v.rc.is_some() {
            vec![format!("{dir}/testing"), dir]
        } else {
            vec![dir]
        };
        SourceFile {
            kind: SourceKind::Patch,
            names,
            dirs,
        }
    }

    /// Mirror-relative paths to try, preferred first.
    pub fn mirror_paths(&self) -> Vec<String> {
        self.dirs
            .iter()
            .flat_map(|d| self.names.iter().map(move |n| format!("{d}/{n}")))
            .collect()
    }
}

/// The ways to make the source of `version`, preferred first; each is a tarball and the patches
/// to apply to it in order. A stable update or a release candidate can come as its own tarball
/// or as the base release's tarball plus its patch (kernel.org ships `-rc` only as patches).
pub fn source_plans(version: &str) -> Result<Vec<Vec<SourceFile>>, KernelError> {
    let v = KernelVersion::parse_release(version)?;
    let mut plans = vec![vec![SourceFile::tarball(&v)]];
    let base = if v.rc.is_some() {
        v.rc_base()
    } else {
        v.stable_base()
    };
    if let Some(base) = base {
        plans.push(vec![SourceFile::tarball(&base), SourceFile::patch(&v)]);
    }
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_names(plan: &[SourceFile]) -> Vec<String> {
        plan.iter()
            .map(|f| format!("{}/{}", f.dirs[0], f.names[0]))
            .collect()
    }

    #[test]
    fn plans_for_release_kinds() {
        let cases: &[(&str, &[&[&str]])] = &[
            ("6.1", &[&["v6.x/linux-6.1.tar.xz"]]),
            (
                "6.1.5",
                &[
                    &["v6.x/linux-6.1.5.tar.xz"],
                    &["v6.x/linux-6.1.tar.xz", "v6.x/patch-6.1.5.xz"],
                ],
            ),
            (
                "6.8-rc3",
                &[
                    &["v6.x/linux-6.8-rc3.tar.xz"],
                    &["v6.x/linux-6.7.tar.xz", "v6.x/testing/patch-6.8-rc3.xz"],
                ],
            ),
            (
                "6.0-rc1",
                &[
                    &["v6.x/linux-6.0-rc1.tar.xz"],
                    &["v5.x/linux-5.19.tar.xz", "v6.x/testing/patch-6.0-rc1.xz"],
                ],
            ),
            (
                "3.0-rc2",
                &[
                    &["v3.x/linux-3.0-rc2.tar.xz"],
                    &["v2.6/linux-2.6.39.tar.xz", "v3.x/testing/patch-3.0-rc2.xz"],
                ],
            ),
            ("2.6.39", &[&["v2.6/linux-2.6.39.tar.xz"]]),
            (
                "2.6.32.71",
                &[
                    &["v2.6/linux-2.6.32.71.tar.xz"],
                    &["v2.6/linux-2.6.32.tar.xz", "v2.6/patch-2.6.32.71.xz"],
                ],
            ),
            (
                "2.6.23-rc6",
                &[
                    &["v2.6/linux-2.6.23-rc6.tar.xz"],
                    &[
                        "v2.6/linux-2.6.22.tar.xz",
                        "v2.6/testing/patch-2.6.23-rc6.xz",
                    ],
                ],
            ),
        ];
        for (version, want) in cases {
            let plans = source_plans(version).unwrap();
            let got: Vec<Vec<String>> = plans.iter().map(|p| first_names(p)).collect();
            let want: Vec<Vec<String>> = want
                .iter()
                .map(|p| p.iter().map(|s| s.to_string()).collect())
                .collect();
            assert_eq!(got, want, "{version}");
        }
    }

    #[test]
    fn compression_variants_and_dirs() {
        let plans = source_plans("6.8-rc3").unwrap();
        let patch = &plans[1][1];
        assert_eq!(
            patch.mirror_paths()[..5],
            [
                "v6.x/testing/patch-6.8-rc3.xz",
                "v6.x/testing/patch-6.8-rc3.gz",
                "v6.x/testing/patch-6.8-rc3.bz2",
                "v6.x/testing/patch-6.8-rc3",
                "v6.x/patch-6.8-rc3.xz",
            ]
        );
        assert_eq!(
            plans[0][0].names,
            [
                "linux-6.8-rc3.tar.xz",
                "linux-6.8-rc3.tar.gz",
                "linux-6.8-rc3.tar.bz2"
            ]
        );
    }

    #[test]
    fn bad_versions_say_why() {
        for bad in [
            "",
            "6",
            "6.1.2.3",
            "2.4.1",
            "6.1.5-rc1",
            "2.6.23-rc6-git3",
            "6.x",
            "linux-6.1",
            "6.8-rcX",
            "7.0-rc1",
        ] {
            let r = source_plans(bad);
            if bad == "7.0-rc1" {
                // A future major: only its own tarball can be named (the base is unknown).
                assert_eq!(r.unwrap().len(), 1);
                continue;
            }
            let e = r.unwrap_err().to_string();
            assert!(
                e.contains(&format!("{bad:?}")) && e.contains("give a release like"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn kernel_order() {
        let mut v: Vec<KernelVersion> = [
            "6.1.5", "6.1", "6.2-rc1", "6.1-rc7", "2.6.39", "6.1.10", "3.0",
        ]
        .iter()
        .map(|s| KernelVersion::parse_release(s).unwrap())
        .collect();
        v.sort();
        let s: Vec<String> = v.iter().map(|k| k.to_string()).collect();
        assert_eq!(
            s,
            [
                "2.6.39", "3.0", "6.1-rc7", "6.1", "6.1.5", "6.1.10", "6.2-rc1"
            ]
        );
    }

    #[test]
    fn ascending_sequences() {
        let sequences: &[&[&str]] = &[
            &[
                "2.6.22",
                "2.6.23-rc1",
                "2.6.23-rc6",
                "2.6.23-rc6-mm1",
                "2.6.23-rc6-git3",
                "2.6.23-rc6-git3-mm1",
                "2.6.23-rc7",
                "2.6.23",
                "2.6.23-git1",
                "2.6.23.1",
                "2.6.23.14",
                "2.6.24-rc1",
            ],
            &["2.6.39", "3.0-rc1", "3.0", "3.0.1", "3.1", "3.10", "4.0"],
            &[
                "6.1-rc3", "6.1-rc8", "6.1", "6.1.5", "6.1.10", "6.2-rc1", "6.2", "6.10", "7.0",
            ],
        ];
        for seq in sequences {
            for pair in seq.windows(2) {
                let (a, b) = (
                    KernelVersion::parse(pair[0]).unwrap(),
                    KernelVersion::parse(pair[1]).unwrap(),
                );
                assert!(a < b, "{a} should sort before {b}");
                assert_eq!(
                    (a.to_string(), b.to_string()),
                    (pair[0].to_owned(), pair[1].to_owned())
                );
            }
        }
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for bad in [
            "",
            "6",
            "6.",
            "6..1",
            "x.1",
            "6.1-rc",
            "6.1-foo1",
            "6.1-git1-rc2",
            "6.1-rc1-rc2",
            "6.1 ",
            "/boot/config",
        ] {
            assert!(KernelVersion::parse(bad).is_none(), "{bad:?} parsed");
        }
    }
}
