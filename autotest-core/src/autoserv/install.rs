//! Installing the client runtime (the `autotest` Python package with its native module) into a
//! machine's autodir, skipped when the same build is already there.

use std::hash::Hasher;
use std::path::Path;

use crate::transport::{CommandSpec, Transport, TransportError};

/// The marker file in the autodir that holds the installed build id.
pub const BUILD_MARKER: &str = ".autotest-build";

/// A stable id of the client package's contents (paths and bytes, `__pycache__` ignored).
pub fn client_build_id(package: &Path) -> std::io::Result<String> {
    let mut files = Vec::new();
    collect(package, package, &mut files)?;
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for rel in &files {
        h.write(rel.as_bytes());
        h.write(&std::fs::read(package.join(rel))?);
    }
    Ok(format!("{:016x}-{}", h.finish(), files.len()))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        if name == "__pycache__" || name == "src" {
            continue;
        }
        let p = e.path();
        if e.file_type()?.is_dir() {
            collect(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// Picks the first autodir candidate that exists or can be made and is writable.
pub(crate) async fn choose_autodir(
    t: &dyn Transport,
    candidates: &[String],
) -> Result<String, String> {
    let mut why = Vec::new();
    for d in candidates {
        let cmd = CommandSpec::new([
            "sh",
            "-c",
            "mkdir -p \"$1\" && test -w \"$1\"",
            "sh",
            d.as_str(),
        ]);
        match t.exec(&cmd, None).await {
            Ok(r) if r.outcome.success() => return Ok(d.clone()),
            Ok(r) => why.push(format!("{d}: {} {}", r.outcome, r.stderr_text().trim())),
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!(
        "no usable autodir among {} ({}): make one writable or set [AUTOSERV] client_autodir_paths",
        candidates.join(", "),
        why.join("; ")
    ))
}

/// Installs the package as `<autodir>/autotest` unless the marker says this build is there.
/// Returns true when it copied.
pub(crate) async fn install_client(
    t: &dyn Transport,
    package: &Path,
    autodir: &str,
    build: &str,
) -> Result<bool, TransportError> {
    let marker = format!("{autodir}/{BUILD_MARKER}");
    let r = t
        .exec(
            &CommandSpec::new([
                "sh",
                "-c",
                "cat \"$1\" 2>/dev/null || true",
                "sh",
                marker.as_str(),
            ]),
            None,
        )
        .await?;
    if r.stdout_text().trim() == build {
        return Ok(false);
    }
    let dest = format!("{autodir}/autotest");
    let r = t
        .exec(&CommandSpec::new(["rm", "-rf", dest.as_str()]), None)
        .await?;
    if !r.outcome.success() {
        return Err(TransportError::Remote {
            machine: t.machine().to_owned(),
            what: format!("remove the old client in {dest}"),
            stderr: r.stderr_text(),
            outcome: r.outcome,
        });
    }
    let (files, bytes) = crate::progress::tree_size(package);
    tracing::info!(target: crate::progress::PROGRESS_TARGET, task = "client install", files, bytes, "{}:{dest}", t.machine());
    t.put_tree(package, &dest).await?;
    let write = CommandSpec::new(["sh", "-c", "cat > \"$1\"", "sh", marker.as_str()])
        .stdin(build.as_bytes().to_vec());
    let r = t.exec(&write, None).await?;
    if !r.outcome.success() {
        return Err(TransportError::Remote {
            machine: t.machine().to_owned(),
            what: format!("write {marker}"),
            stderr: r.stderr_text(),
            outcome: r.outcome,
        });
    }
    tracing::info!(target: crate::progress::PROGRESS_TARGET, task = "client install", files, bytes, finished = true, "{}:{dest} installed", t.machine());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::install_client;
    use crate::progress::capture::progress_of;
    use crate::transport::LocalTransport;

    #[test]
    fn an_install_reports_what_it_copies_and_a_current_one_reports_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let package = tmp.path().join("package");
        std::fs::create_dir_all(package.join("client")).unwrap();
        std::fs::write(package.join("__init__.py"), "").unwrap();
        std::fs::write(package.join("client/job.py"), "x = 1\n").unwrap();
        let autodir = tmp.path().join("autodir");
        std::fs::create_dir(&autodir).unwrap();
        let autodir = autodir.to_str().unwrap().to_owned();
        let t = LocalTransport::new("localhost");
        let rt = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        let (copied, events) = progress_of(|| {
            rt().block_on(install_client(&t, &package, &autodir, "build-1"))
                .unwrap()
        });
        assert!(copied);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].task, "client install");
        assert_eq!(events[0].message, format!("localhost:{autodir}/autotest"));
        assert_eq!(events[0].counter("files"), Some(2), "{events:?}");
        assert_eq!(events[0].counter("bytes"), Some(6), "{events:?}");
        assert!(!events[0].finished && events[1].finished, "{events:?}");
        let (copied, events) = progress_of(|| {
            rt().block_on(install_client(&t, &package, &autodir, "build-1"))
                .unwrap()
        });
        assert!(!copied && events.is_empty(), "{events:?}");
    }
}
