//! Making a control file's kernel sources available on a machine before its client starts: a
//! lab machine has no internet, so the tarball and patches the control file names literally
//! (FORMATS §8 preamble, `job.kernel('...')`) are looked up in the server's mirror directory and
//! copied into `<autodir>/kernels/`, where the client's `job.kernel` looks first.

use std::path::{Path, PathBuf};

use crate::kernel::{MirrorIndex, find_kernel_files, kernel_refs};
use crate::transport::{CommandSpec, Transport};

/// The directory under the autodir that holds staged kernel sources.
pub const KERNELS_DIR: &str = "kernels";

/// What staging did, for the machine's `debug/kernel-files.log`.
#[derive(Debug, Default)]
pub(crate) struct Staged {
    pub copied: Vec<String>,
    pub present: Vec<String>,
    pub notes: Vec<String>,
}

impl Staged {
    pub(crate) fn report(&self) -> String {
        let mut s = String::new();
        for c in &self.copied {
            s.push_str(&format!("copied {c}\n"));
        }
        for c in &self.present {
            s.push_str(&format!("already on the machine {c}\n"));
        }
        for n in &self.notes {
            s.push_str(&format!("not staged: {n}\n"));
        }
        s
    }
}

/// The files of `control` found in `mirror`; read once per job, shared by its machines.
pub(crate) fn files_for_control(control: &Path, mirror: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let text = match std::fs::read_to_string(control) {
        Ok(t) => t,
        Err(e) => return (Vec::new(), vec![format!("{}: {e}", control.display())]),
    };
    let refs = kernel_refs(&text);
    if refs.kernels.is_empty() && refs.patches.is_empty() {
        return (Vec::new(), Vec::new());
    }
    match MirrorIndex::build(mirror) {
        Ok(index) => find_kernel_files(&index, &refs),
        Err(e) => (Vec::new(), vec![e.to_string()]),
    }
}

/// Copies `files` into `<autodir>/kernels/` on the machine, skipping a file already there with
/// the same size (tarballs are large and a re-run of the job needs the same ones).
pub(crate) async fn stage(
    t: &dyn Transport,
    autodir: &str,
    files: &[PathBuf],
    notes: &[String],
) -> Staged {
    let mut staged = Staged {
        notes: notes.to_vec(),
        ..Staged::default()
    };
    if files.is_empty() {
        return staged;
    }
    let dir = format!("{autodir}/{KERNELS_DIR}");
    let mkdir = CommandSpec::new(["mkdir", "-p", dir.as_str()]);
    if let Err(e) = t.exec(&mkdir, None).await {
        staged.notes.push(format!("mkdir {dir}: {e}"));
        return staged;
    }
    for f in files {
        let Some(name) = f.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let remote = format!("{dir}/{name}");
        let size = std::fs::metadata(f).map(|m| m.len()).ok();
        let probe = CommandSpec::new([
            "sh",
            "-c",
            "stat -c %s \"$1\" 2>/dev/null || true",
            "sh",
            remote.as_str(),
        ]);
        let there = match t.exec(&probe, None).await {
            Ok(r) => r.stdout_text().trim().parse::<u64>().ok(),
            Err(_) => None,
        };
        if there.is_some() && there == size {
            staged.present.push(remote);
            continue;
        }
        match t.put_file(f, &remote).await {
            Ok(()) => staged.copied.push(format!("{} -> {remote}", f.display())),
            Err(e) => staged
                .notes
                .push(format!("copy {} -> {remote}: {e}", f.display())),
        }
    }
    staged
}
