//! A lab for `autotest scheduler` tests on either backend: a temporary directory with a
//! `global_config.ini`, a migrated lab database (an SQLite file, or a database on a real
//! PostgreSQL from autotest-testlab) with the host `localhost`, and schedulers run as real
//! `autotest scheduler` processes, killed on drop.
#![allow(dead_code)] // each test binary uses its part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use autotest_core::store::{ControlType, DbUrl, EntryStatus, NewJob, QueueEntry, Store};
use autotest_testlab::postgres::PgServer;

pub struct Lab {
    pub dir: tempfile::TempDir,
    pub url: DbUrl,
    /// What `AUTOTEST_DB` is set to for every `autotest` this lab runs.
    db_env: String,
    pub pg: Option<PgServer>,
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl Lab {
    pub fn sqlite() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("lab.db");
        let db_env = format!("sqlite:{}", db.display());
        Lab::setup(dir, DbUrl::sqlite(&db, "test"), db_env, None)
    }

    /// `None` when PostgreSQL is not installed outside CI (the fixture fails under CI=true).
    pub fn postgres() -> Option<Lab> {
        let pg = PgServer::start()?;
        let url = pg.create_database("lab");
        let dir = tempfile::tempdir().unwrap();
        Some(Lab::setup(
            dir,
            DbUrl::parse(&url, "test").unwrap(),
            url,
            Some(pg),
        ))
    }

    fn setup(dir: tempfile::TempDir, url: DbUrl, db_env: String, pg: Option<PgServer>) -> Lab {
        let autodir = dir.path().join("autodir");
        std::fs::create_dir(&autodir).unwrap();
        std::fs::write(
            dir.path().join("global_config.ini"),
            format!("[AUTOSERV]\nclient_autodir_paths: {}\n", autodir.display()),
        )
        .unwrap();
        let lab = Lab {
            dir,
            url,
            db_env,
            pg,
        };
        let out = lab.autotest().args(["db", "migrate"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        lab.with_store(|s| async move {
            s.create_host("localhost").await.unwrap();
        });
        lab
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn results(&self) -> PathBuf {
        self.path().join("results")
    }

    pub fn autotest(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
        cmd.current_dir(self.path())
            .env("AUTOTEST_DB", &self.db_env)
            .env("AUTOTEST_CONFIG_DIR", self.path());
        cmd
    }

    /// Runs `f` on a store opened for it (as another front end would, in this test process).
    pub fn with_store<T, F, Fut>(&self, f: F) -> T
    where
        F: FnOnce(Store) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        rt().block_on(async {
            let s = Store::open(&self.url).await.unwrap();
            let out = f(s.clone()).await;
            s.close().await;
            out
        })
    }

    /// A client job on `localhost`.
    pub fn create_job(&self, name: &str, control: &str) -> i64 {
        let (name, control) = (name.to_owned(), control.to_owned());
        self.with_store(|s| async move {
            let mut j = NewJob::new("alice", &name, &control, ControlType::Client);
            j.hosts = vec!["localhost".into()];
            s.create_job(&j).await.unwrap().id
        })
    }

    pub fn entries(&self, job: i64) -> Vec<QueueEntry> {
        self.with_store(|s| async move { s.queue_entries(job).await.unwrap() })
    }

    pub fn statuses(&self, job: i64) -> Vec<EntryStatus> {
        self.entries(job).into_iter().map(|e| e.status).collect()
    }

    /// Waits until every entry of `job` is complete (a deadline for a hang, not a timing
    /// check); `logs` are shown on failure.
    pub fn wait_complete(&self, job: i64, logs: &[&Sched]) -> Vec<EntryStatus> {
        self.wait_for(
            &format!("job {job} to complete"),
            || {
                let s = self.statuses(job);
                s.iter().all(|s| s.is_complete()).then_some(s)
            },
            logs,
        )
    }

    /// Polls `check` until it gives a value; fails after 120 s with the schedulers' logs.
    pub fn wait_for<T>(
        &self,
        what: &str,
        mut check: impl FnMut() -> Option<T>,
        logs: &[&Sched],
    ) -> T {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(v) = check() {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; logs:\n{}",
                logs.iter()
                    .map(|s| s.log())
                    .collect::<Vec<_>>()
                    .join("\n----\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts `autotest scheduler <results>` logging to `<dir>/<name>.log`.
    pub fn scheduler(&self, name: &str, args: &[&str]) -> Sched {
        let log = self.path().join(format!("{name}.log"));
        let child = self
            .autotest()
            .arg("scheduler")
            .args(args)
            .arg("results")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Sched { child, log }
    }
}

/// A running `autotest scheduler`, killed with -9 on drop (a failed test leaves none behind).
pub struct Sched {
    pub child: Child,
    pub log: PathBuf,
}

impl Sched {
    pub fn log(&self) -> String {
        format!(
            "{}:\n{}",
            self.log.display(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    pub fn logged(&self, text: &str) -> bool {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .contains(text)
    }

    pub fn count(&self, text: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .matches(text)
            .count()
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        // SAFETY: signalling a child this test started.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap().code()
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Sched {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A control file that appends `tag` to `marker` (one line per run of the job) and then
/// sleeps `seconds` in a test.
pub fn marking_control(marker: &Path, tag: &str, seconds: f64) -> String {
    format!(
        "open({:?}, 'a').write('{tag}\\n')\njob.run_test('sleeptest', seconds={seconds})\n",
        marker.display().to_string()
    )
}
