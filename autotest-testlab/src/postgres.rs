//! A real PostgreSQL for tests: `initdb` into a temporary directory (as the unprivileged user
//! `pgtest` when run as root, as PostgreSQL refuses root), a loopback port, a socket directory
//! inside the temporary directory, and a database per test. Stopped on drop.
//!
//! Without a PostgreSQL install the fixture fails loudly under `CI=true` and skips otherwise.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running server.
pub struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_user: Option<&'static str>,
}

const USER: &str = "pgtest";

fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgServer {
    /// Starts a server, or `None` (with a note) when PostgreSQL is not installed outside CI.
    #[allow(clippy::print_stderr)] // the note of a skipped test
    pub fn start() -> Option<PgServer> {
        let Some(bin) = pg_bin() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): install Debian's `postgresql` (./dev.sh setup does)"
                );
            }
            eprintln!(
                "SKIPPED: PostgreSQL is not installed (apt-get install postgresql); CI=true makes this a failure"
            );
            return None;
        };
        // SAFETY: geteuid(2) has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let as_user = root.then_some(USER);
        if root {
            let exists = Command::new("id")
                .arg(USER)
                .output()
                .is_ok_and(|o| o.status.success());
            if !exists {
                let ok = Command::new("useradd")
                    .args(["-r", "-M", USER])
                    .status()
                    .unwrap()
                    .success();
                // Another test process may have created it in the meantime.
                assert!(
                    ok || Command::new("id")
                        .arg(USER)
                        .output()
                        .unwrap()
                        .status
                        .success(),
                    "useradd {USER} failed"
                );
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let pg = dir.path().join("pg");
        std::fs::create_dir(&pg).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        if root {
            assert!(
                Command::new("chown")
                    .arg(USER)
                    .arg(&pg)
                    .status()
                    .unwrap()
                    .success()
            );
        }
        let server = PgServer {
            bin,
            dir,
            port: free_port(),
            as_user,
        };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "lab",
                "--no-sync",
            ],
        );
        server.pg_ctl_start();
        Some(server)
    }

    fn pg_ctl_start(&self) {
        let pg = self.dir.path().join("pg");
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            pg.display()
        );
        let data = self.data();
        let log = pg.join("log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-o",
                &opts,
                "start",
            ],
        );
    }

    /// Stops the server as a crash would (`pg_ctl -m immediate`): every session is cut, its
    /// locks released. [`PgServer::start_again`] brings it back on the same port and data.
    pub fn stop(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    /// Starts a stopped server again (same port, same databases; waits until it accepts).
    pub fn start_again(&self) {
        self.pg_ctl_start();
    }

    /// Runs one SQL statement with `psql` as the superuser `lab` on `database`; its output.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let port = self.port.to_string();
        let out = self
            .command("psql")
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "lab", "-d", database])
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("pg/data")
    }

    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        match self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        let log = std::fs::read_to_string(self.dir.path().join("pg/log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}\n{}\n{log}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Creates a database and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let port = self.port.to_string();
        self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "lab", name],
        );
        format!("postgres://lab@127.0.0.1:{}/{name}", self.port)
    }

    /// The server's directory.
    #[allow(dead_code)]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
    }
}
