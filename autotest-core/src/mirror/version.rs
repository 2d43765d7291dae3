//! Kernel versions as the kernel's releases order them: `2.6.23-rc6` < `2.6.23-rc6-mm1` <
//! `2.6.23-rc6-git3` < `2.6.23-rc7` < `2.6.23` < `2.6.23-git1` < `2.6.23.1` < `2.6.24-rc1` (a
//! git snapshot sorts after the -mm trees of the same base; their relative order is arbitrary).

use std::cmp::Ordering;
use std::fmt;

/// A parsed kernel version: `X.Y[.Z...][-rcN][-gitN][-mmN]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelVersion {
    text: String,
    numbers: Vec<u32>,
    rc: Option<u32>,
    git: u32,
    mm: u32,
}

impl KernelVersion {
    /// Parses a version; `None` when `text` is not of the form `X.Y[.Z...][-rcN][-gitN][-mmN]`.
    pub fn parse(text: &str) -> Option<KernelVersion> {
        let mut parts = text.split('-');
        let numbers = parts
            .next()?
            .split('.')
            .map(|n| {
                (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| n.parse::<u32>().ok())
                    .flatten()
            })
            .collect::<Option<Vec<u32>>>()?;
        if numbers.len() < 2 {
            return None;
        }
        let (mut rc, mut git, mut mm) = (None, 0, 0);
        // Suffixes must come in this order, each at most once.
        let mut stage = 0;
        for part in parts {
            let (name, n) = part.split_at(part.find(|c: char| c.is_ascii_digit())?);
            let n: u32 = (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| n.parse().ok())
                .flatten()?;
            match name {
                "rc" if stage < 1 => (rc, stage) = (Some(n), 1),
                "git" if stage < 2 => (git, stage) = (n, 2),
                "mm" if stage < 3 => (mm, stage) = (n, 3),
                _ => return None,
            }
        }
        Some(KernelVersion {
            text: text.to_owned(),
            numbers,
            rc,
            git,
            mm,
        })
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for KernelVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.numbers.len().max(other.numbers.len());
        let at = |v: &KernelVersion, i: usize| v.numbers.get(i).copied().unwrap_or(0);
        (0..len)
            .map(|i| at(self, i).cmp(&at(other, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
            // A release candidate comes before its release.
            .then_with(|| {
                self.rc
                    .unwrap_or(u32::MAX)
                    .cmp(&other.rc.unwrap_or(u32::MAX))
            })
            .then_with(|| self.git.cmp(&other.git))
            .then_with(|| self.mm.cmp(&other.mm))
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl PartialOrd for KernelVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascending_sequences() {
        let sequences: &[&[&str]] = &[
            &["2.6.22", "2.6.23-rc1", "2.6.23-rc6", "2.6.23-rc6-mm1", "2.6.23-rc6-git3", "2.6.23-rc6-git3-mm1", "2.6.23-rc7", "2.6.23", "2.6.23-git1", "2.6.23.1", "2.6.23.14", "2.6.24-rc1"],
            &["2.6.39", "3.0-rc1", "3.0", "3.0.1", "3.1", "3.10", "4.0"],
            &["6.1-rc3", "6.1-rc8", "6.1", "6.1.5", "6.1.10", "6.2-rc1", "6.2", "6.10", "7.0"],
        ];
        for seq in sequences {
            for pair in seq.windows(2) {
                let (a, b) = (KernelVersion::parse(pair[0]).unwrap(), KernelVersion::parse(pair[1]).unwrap());
                assert!(a < b, "{a} should sort before {b}");
            }
        }
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for bad in ["", "6", "6.", "6..1", "x.1", "6.1-rc", "6.1-foo1", "6.1-git1-rc2", "6.1-rc1-rc2", "6.1 ", "/boot/config"] {
            assert!(KernelVersion::parse(bad).is_none(), "{bad:?} parsed");
        }
    }
}
