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
/// Returns true when this call installed it (false: it was there, or another client put it
/// there meanwhile).
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
    // Copied aside, then swapped in under a lock on the machine: two clients of one job that
    // run at once on a machine (parallel_flag) each find no marker and install, and neither
    // may remove the tree the other is copying or already runs from.
    let staging = format!(
        ".autotest-install.{}.{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let dest = format!("{autodir}/autotest");
    let (files, bytes) = crate::progress::tree_size(package);
    tracing::info!(target: crate::progress::PROGRESS_TARGET, task = "client install", files, bytes, "{}:{dest}", t.machine());
    t.put_tree(package, &format!("{autodir}/{staging}")).await?;
    let swap = CommandSpec::new([
        "sh",
        "-c",
        SWAP_IN,
        "sh",
        autodir,
        staging.as_str(),
        build,
        BUILD_MARKER,
    ]);
    let r = t.exec(&swap, None).await?;
    if !r.outcome.success() {
        return Err(TransportError::Remote {
            machine: t.machine().to_owned(),
            what: format!("install the client as {autodir}/autotest"),
            stderr: r.stderr_text(),
            outcome: r.outcome,
        });
    }
    let installed = r.stdout_text().trim() == "installed";
    tracing::info!(target: crate::progress::PROGRESS_TARGET, task = "client install", files, bytes, finished = true, "{}:{dest} {}", t.machine(), if installed { "installed" } else { "installed meanwhile by another client" });
    Ok(installed)
}

/// `sh -c SWAP_IN sh <autodir> <staging> <build> <marker>`: under `flock` on
/// `<autodir>/.install.lock` (when the machine has flock), keeps the installed tree if the
/// marker already names this build (another client installed it meanwhile) and drops the
/// staging copy, else moves the staging copy in as `autotest` and writes the marker last.
const SWAP_IN: &str = r#"set -e
cd "$1"
if command -v flock >/dev/null 2>&1; then exec 9>.install.lock; flock 9; fi
if [ "$(cat "$4" 2>/dev/null)" = "$3" ]; then rm -rf "$2"; echo kept; exit 0; fi
rm -f "$4"
rm -rf autotest.old
if [ -e autotest ]; then mv autotest autotest.old; fi
mv "$2" autotest
printf '%s' "$3" > "$4"
rm -rf autotest.old
echo installed
"#;

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
