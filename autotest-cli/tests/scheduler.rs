//! `autotest scheduler` end to end on one machine: jobs put in a real SQLite lab database run
//! as real `autotest autoserv` processes on `localhost`, their results parsed into the store;
//! one scheduler per database; SIGTERM stops it; kill -9 and a restart run nothing twice.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use autotest_core::store::{ControlType, DbUrl, EntryStatus, HostStatus, NewJob, Store};

struct Lab {
    dir: tempfile::TempDir,
    url: DbUrl,
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let autodir = dir.path().join("autodir");
        std::fs::create_dir(&autodir).unwrap();
        std::fs::write(
            dir.path().join("global_config.ini"),
            format!(
                "[AUTOSERV]\nclient_autodir_paths: {}\n\n[AUTOTEST_WEB]\ndb_type: sqlite\ndatabase: {}\n",
                autodir.display(),
                dir.path().join("lab.db").display()
            ),
        )
        .unwrap();
        let out = autotest(dir.path())
            .args(["db", "migrate"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = DbUrl::sqlite(dir.path().join("lab.db"), "test");
        rt().block_on(async {
            let s = Store::open(&url).await.unwrap();
            s.create_host("localhost").await.unwrap();
            s.close().await;
        });
        Lab { dir, url }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn results(&self) -> PathBuf {
        self.path().join("results")
    }

    fn create_job(&self, name: &str, control: &str) -> i64 {
        rt().block_on(async {
            let s = Store::open(&self.url).await.unwrap();
            let mut j = NewJob::new("alice", name, control, ControlType::Client);
            j.hosts = vec!["localhost".into()];
            let id = s.create_job(&j).await.unwrap().id;
            s.close().await;
            id
        })
    }

    fn statuses(&self, job: i64) -> Vec<EntryStatus> {
        rt().block_on(async {
            let s = Store::open(&self.url).await.unwrap();
            let e = s.queue_entries(job).await.unwrap();
            s.close().await;
            e.into_iter().map(|e| e.status).collect()
        })
    }

    /// Waits until every entry of `job` is complete (a deadline for a hang, not a timing check).
    fn wait_complete(&self, job: i64) -> Vec<EntryStatus> {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let s = self.statuses(job);
            if s.iter().all(|s| s.is_complete()) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "job {job} still {s:?}; scheduler log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn scheduler(&self) -> Child {
        autotest(self.path())
            .args(["scheduler", "--safety-pass", "2", "results"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.path().join("scheduler.log")).unwrap())
            .spawn()
            .unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("scheduler.log")).unwrap_or_default()
    }
}

fn autotest(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autotest"));
    cmd.current_dir(cwd)
        .env_remove("AUTOTEST_DB")
        .env("AUTOTEST_CONFIG_DIR", cwd);
    cmd
}

fn terminate(child: &mut Child) -> Option<i32> {
    // SAFETY: signalling a child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap().code()
}

#[test]
fn jobs_run_one_at_a_time_on_their_host_and_their_results_are_stored() {
    let lab = Lab::new();
    let good = lab.create_job("good", "job.run_test('sleeptest', seconds=0.1)\n");
    let bad = lab.create_job("bad", "job.run_test('sleeptest', tag='bad', bogus=1)\n");
    let mut sched = lab.scheduler();

    assert_eq!(
        lab.wait_complete(good),
        vec![EntryStatus::Completed],
        "{}",
        lab.log()
    );
    assert_eq!(
        lab.wait_complete(bad),
        vec![EntryStatus::Failed],
        "{}",
        lab.log()
    );

    // A second scheduler on the same database is refused, naming the holder.
    let out = autotest(lab.path())
        .args(["scheduler", "results"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another scheduler holds"), "{err}");
    assert!(err.contains(&sched.id().to_string()), "{err}");

    assert_eq!(terminate(&mut sched), Some(0), "{}", lab.log());
    // The stop is a progress line on stderr (not a terminal here: plain lines).
    assert!(
        lab.log()
            .contains("autotest: scheduler stop: 0 running: left running for the next start"),
        "{}",
        lab.log()
    );

    let job_dir = lab.results().join(format!("{good}-alice"));
    let status = std::fs::read_to_string(job_dir.join("localhost/status.log")).unwrap();
    assert!(status.contains("GOOD\tsleeptest\tsleeptest"), "{status}");
    rt().block_on(async {
        let s = Store::open(&lab.url).await.unwrap();
        let loc = s.results_location(good).await.unwrap().unwrap();
        assert_eq!(loc.host, "localhost");
        assert_eq!(Path::new(&loc.path), job_dir);
        let host = s.host_named("localhost").await.unwrap();
        assert_eq!(host.status, HostStatus::Ready);
        assert!(host.dirty);
        // Both jobs' tests are in the results tables.
        let tags = s.tko_job_tags().await.unwrap();
        assert_eq!(tags.len(), 2, "{tags:?}");
        let entries = s.queue_entries(good).await.unwrap();
        assert_eq!(entries[0].execution_subdir, "localhost");
        assert!(entries[0].finished_on >= entries[0].started_on);
        s.close().await;
    });
}

#[test]
fn a_scheduler_killed_mid_job_is_replaced_and_the_job_runs_once() {
    let lab = Lab::new();
    let marker = lab.path().join("runs");
    let control = format!(
        "open({:?}, 'a').write('run\\n')\njob.run_test('sleeptest', seconds=3)\n",
        marker.display().to_string()
    );
    let job = lab.create_job("slow", &control);
    let mut sched = lab.scheduler();
    let deadline = Instant::now() + Duration::from_secs(120);
    while lab.statuses(job) != vec![EntryStatus::Running] {
        assert!(Instant::now() < deadline, "never Running: {}", lab.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    sched.kill().unwrap();
    sched.wait().unwrap();
    let mut again = lab.scheduler();
    assert_eq!(
        lab.wait_complete(job),
        vec![EntryStatus::Completed],
        "{}",
        lab.log()
    );
    assert_eq!(terminate(&mut again), Some(0));
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "run\n",
        "the job ran more than once"
    );
    assert!(lab.log().contains("re-attached"), "{}", lab.log());
}
