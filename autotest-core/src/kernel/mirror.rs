//! Finding a control file's kernel sources in a kernel.org-layout mirror directory on the
//! server (what `autotest mirror` syncs), so autoserv can copy them to the machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{KernelError, KernelRefs, source_plans};

/// Every file of a mirror directory by name (a kernel.org tree has each name once).
#[derive(Debug, Clone, Default)]
pub struct MirrorIndex {
    root: PathBuf,
    by_name: BTreeMap<String, Vec<PathBuf>>,
}

impl MirrorIndex {
    /// Walks `root` (symlinked directories are not followed: a mirror is a plain tree).
    pub fn build(root: &Path) -> Result<MirrorIndex, KernelError> {
        let mut index = MirrorIndex {
            root: root.to_owned(),
            by_name: BTreeMap::new(),
        };
        let mut stack = vec![root.to_owned()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|e| KernelError::Mirror {
                path: dir.clone(),
                reason: e.to_string(),
            })?;
            for e in entries.flatten() {
                let Ok(ft) = e.file_type() else { continue };
                let path = e.path();
                if ft.is_dir() {
                    stack.push(path);
                } else if ft.is_file() || ft.is_symlink() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    // Half-transferred files (rsync's `.name.XXXXXX`) are not sources.
                    if !name.starts_with('.') {
                        index.by_name.entry(name).or_default().push(path);
                    }
                }
            }
        }
        for paths in index.by_name.values_mut() {
            paths.sort();
        }
        Ok(index)
    }

    /// The file at mirror-relative `rel`, else the first file named like it anywhere.
    fn find(&self, rel: &str) -> Option<PathBuf> {
        let exact = self.root.join(rel);
        if exact.is_file() {
            return Some(exact);
        }
        let name = rel.rsplit('/').next()?;
        self.by_name.get(name).and_then(|p| p.first().cloned())
    }
}

/// What of `refs` the mirror has: the files to copy (tarball first, then patches, once each),
/// and a note for each version or name it does not have.
pub fn find_kernel_files(index: &MirrorIndex, refs: &KernelRefs) -> (Vec<PathBuf>, Vec<String>) {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut missing = Vec::new();
    let add = |p: PathBuf, files: &mut Vec<PathBuf>| {
        if !files.contains(&p) {
            files.push(p);
        }
    };
    for k in &refs.kernels {
        if k.contains("://") || k.starts_with('/') {
            continue; // a URL or a path on the machine: the client fetches it itself
        }
        match source_plans(k) {
            Ok(plans) => {
                let chosen = plans.iter().find_map(|plan| {
                    plan.iter()
                        .map(|f| f.mirror_paths().iter().find_map(|r| index.find(r)))
                        .collect::<Option<Vec<_>>>()
                });
                match chosen {
                    Some(found) => found.into_iter().for_each(|p| add(p, &mut files)),
                    None => missing.push(format!(
                        "kernel {k}: none of {} in {}",
                        plans
                            .iter()
                            .map(|p| p
                                .iter()
                                .map(|f| f.names[0].clone())
                                .collect::<Vec<_>>()
                                .join(" + "))
                            .collect::<Vec<_>>()
                            .join(" or "),
                        index.root.display()
                    )),
                }
            }
            Err(_) => match index.find(k) {
                Some(p) => add(p, &mut files),
                None => missing.push(format!(
                    "kernel {k}: not a release version and no such file in {}",
                    index.root.display()
                )),
            },
        }
    }
    for p in &refs.patches {
        if p.contains("://") || p.starts_with('/') {
            continue;
        }
        match index.find(p) {
            Some(f) => add(f, &mut files),
            None => missing.push(format!("patch {p}: not in {}", index.root.display())),
        }
    }
    (files, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_plans_and_patches() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "v6.x/linux-6.1.tar.xz",
            "v6.x/patch-6.1.5.xz",
            "v6.x/linux-6.7.tar.gz",
            "v6.x/testing/patch-6.8-rc3.xz",
            "v6.x/linux-6.2.tar.xz",
            "v6.x/.linux-6.3.tar.xz.Ab12Cd",
            "extra/fix.patch",
        ] {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, f).unwrap();
        }
        let index = MirrorIndex::build(d.path()).unwrap();
        let rel = |files: Vec<PathBuf>| -> Vec<String> {
            files
                .iter()
                .map(|p| {
                    p.strip_prefix(d.path())
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect()
        };
        let refs = KernelRefs {
            kernels: vec![
                "6.1.5".into(),
                "6.8-rc3".into(),
                "6.2".into(),
                "/boot/x.tar".into(),
                "6.3".into(),
            ],
            patches: vec!["fix.patch".into(), "nope.patch".into()],
        };
        let (files, missing) = find_kernel_files(&index, &refs);
        assert_eq!(
            rel(files),
            [
                "v6.x/linux-6.1.tar.xz",
                "v6.x/patch-6.1.5.xz",
                "v6.x/linux-6.7.tar.gz",
                "v6.x/testing/patch-6.8-rc3.xz",
                "v6.x/linux-6.2.tar.xz",
                "extra/fix.patch",
            ]
        );
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert!(
            missing[0].starts_with("kernel 6.3: none of linux-6.3.tar.xz in "),
            "{missing:?}"
        );
        assert!(
            missing[1].starts_with("patch nope.patch: not in "),
            "{missing:?}"
        );
    }

    #[test]
    fn unreadable_mirror_names_the_setting() {
        let e = MirrorIndex::build(Path::new("/nonexistent/mirror"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/nonexistent/mirror") && e.contains("kernel_mirror_dir"),
            "{e}"
        );
    }
}
