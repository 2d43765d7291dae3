//! `autotest job create|list|stat|abort` and `autotest results` end to end: the real binary on a
//! real SQLite file, control files checked by the real Python client package, results made by a
//! real `autotest run` and stored by `autotest parse`.

use std::path::PathBuf;
use std::process::{Command, Output};

use autotest_core::store::{DbUrl, Store};

struct Lab {
    dir: tempfile::TempDir,
    db: String,
}

impl Lab {
    /// A migrated database with hosts m1..m3 and label x86 on m2 and m3.
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:{}", dir.path().join("lab.db").display());
        let lab = Lab { dir, db };
        lab.ok(&["db", "migrate"]);
        let url = DbUrl::parse(&lab.db, "test").unwrap();
        rt().block_on(async {
            let s = Store::open(&url).await.unwrap();
            for h in ["m1", "m2", "m3"] {
                s.create_host(h).await.unwrap();
            }
            s.create_label(&autotest_core::store::NewLabel::new("x86"))
                .await
                .unwrap();
            s.add_host_label("m2", "x86").await.unwrap();
            s.add_host_label("m3", "x86").await.unwrap();
            s.close().await;
        });
        lab.write("control", "job.run_test('sleeptest', seconds=0.1)\n");
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `autotest <args> --db <db>` as `user`.
    fn run_as(&self, user: &str, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--db", &self.db]);
        Command::new(env!("CARGO_BIN_EXE_autotest"))
            .args(&all)
            .current_dir(self.dir.path())
            .env_remove("AUTOTEST_DB")
            .env_remove("AUTOTEST_CONFIG_DIR")
            .env("LOGNAME", user)
            .output()
            .expect("run the autotest binary")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_as("alice", args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", both(&out));
        text(&out.stdout)
    }

    /// Exit 1 and stderr.
    fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", both(&out));
        text(&out.stderr)
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).expect("--json prints JSON")
    }

    /// Creates a job, returning its id from `<name> (id N)`.
    fn create(&self, user: &str, args: &[&str]) -> i64 {
        let mut all = vec!["job", "create"];
        all.extend(args);
        let out = self.run_as(user, &all);
        assert_eq!(out.status.code(), Some(0), "{all:?}: {}", both(&out));
        let line = text(&out.stdout);
        let name = args.last().unwrap();
        let id = line
            .trim()
            .strip_prefix(&format!("{name} (id "))
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("not `<name> (id N)`: {line:?}"));
        id.parse().unwrap()
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn both(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

#[test]
fn create_with_every_flag_then_stat_by_name_and_id() {
    let lab = Lab::new();
    lab.write("hosts", "# the rack\nm1\n\n");
    let id = lab.create(
        "alice",
        &[
            "-f",
            "control",
            "-m",
            "2*x86",
            "-M",
            "hosts",
            "-y",
            "2",
            "-p",
            "urgent",
            "--dependencies",
            "x86",
            "--timeout",
            "5",
            "--max_runtime",
            "3",
            "--reboot_before",
            "always",
            "--reboot_after",
            "if_all_tests_passed",
            "--noverify",
            "-e",
            "a@example.invalid",
            "smoke",
        ],
    );
    let stats = lab.json(&["job", "stat", "smoke", "--json"]);
    assert_eq!(stats.as_array().unwrap().len(), 1);
    let job = &stats[0]["job"];
    assert_eq!(job["id"], id);
    assert_eq!(job["owner"], "alice");
    assert_eq!(job["priority"], 3, "urgent is the legacy 3");
    assert_eq!(job["synch_count"], 2);
    assert_eq!(job["timeout_hrs"], 5);
    assert_eq!(job["max_runtime_hrs"], 3);
    assert_eq!(job["run_verify"], false);
    assert_eq!(job["reboot_before"], "Always");
    assert_eq!(job["reboot_after"], "If all tests passed");
    assert_eq!(job["email_list"], "a@example.invalid");
    assert_eq!(job["control_type"], "Client");
    assert_eq!(job["dependencies"], serde_json::json!(["x86"]));
    let entries = stats[0]["entries"].as_array().unwrap();
    let shape: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e["host"].clone(),
                e["meta_host_label"].clone(),
                e["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (
                serde_json::json!("m1"),
                serde_json::Value::Null,
                serde_json::json!("Queued")
            ),
            (
                serde_json::Value::Null,
                serde_json::json!("x86"),
                serde_json::json!("Queued")
            ),
            (
                serde_json::Value::Null,
                serde_json::json!("x86"),
                serde_json::json!("Queued")
            ),
        ]
    );
    let by_id = lab.ok(&["job", "stat", &id.to_string()]);
    assert!(by_id.contains("smoke") && by_id.contains("x86"), "{by_id}");
    assert!(by_id.contains("Queued"), "{by_id}");

    // -s and -b: every host of x86, a server job.
    let id2 = lab.create("alice", &["-f", "control", "-s", "-b", "x86", "srv"]);
    let stats = lab.json(&["job", "stat", &id2.to_string(), "--json"]);
    assert_eq!(stats[0]["job"]["control_type"], "Server");
    assert_eq!(stats[0]["job"]["priority"], 1, "medium by default");
    let hosts: Vec<_> = stats[0]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["host"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(hosts, ["m2", "m3"]);

    let e = lab.refused(&["job", "stat", "nosuchjob"]);
    assert!(e.contains("no job named \"nosuchjob\""), "{e}");
    let e = lab.refused(&["job", "stat", "999"]);
    assert!(
        e.contains("no job \"999\"") && e.contains("job list"),
        "{e}"
    );
}

#[test]
fn creation_errors_name_the_input_and_the_fix() {
    let lab = Lab::new();
    let e = lab.refused(&[
        "job",
        "create",
        "-f",
        "control",
        "-m",
        "m1,ghost",
        "-m",
        "3*arm",
        "--dependencies",
        "gpu",
        "j",
    ]);
    assert!(
        e.contains("unknown host(s) ghost: create them with `autotest host create ghost`"),
        "{e}"
    );
    assert!(
        e.contains("unknown label(s) arm: create them with `autotest label create arm`"),
        "{e}"
    );
    assert!(e.contains("unknown dependency label(s) gpu"), "{e}");

    lab.write("py2", "job.run_test('sleeptest')\nprint 'done'\n");
    let e = lab.refused(&["job", "create", "-f", "py2", "-m", "m1", "j"]);
    assert!(
        e.contains("py2, line 2: Python 2 syntax is not accepted: print statement (Python 2): write print(...)"),
        "{e}"
    );
    let e = lab.refused(&["job", "create", "-f", "missing", "-m", "m1", "j"]);
    assert!(
        e.contains("cannot read control file missing") && e.contains("No such file"),
        "{e}"
    );
    let e = lab.refused(&["job", "create", "-f", ".", "-m", "m1", "j"]);
    assert!(e.contains("is a directory, not a regular file"), "{e}");

    let e = lab.refused(&[
        "job", "create", "-f", "control", "-m", "m1,m2", "-y", "3", "j",
    ]);
    assert!(
        e.contains("synch_count 3 is more than the 2 host(s) it can ever get"),
        "{e}"
    );
    let e = lab.refused(&[
        "job",
        "create",
        "-f",
        "control",
        "-m",
        "m1,x,2*x86",
        "-y",
        "9",
        "j",
    ]);
    assert!(
        e.contains("unknown host(s) x"),
        "the unknown host comes first: {e}"
    );
    let out = lab.run(&[
        "job", "create", "-f", "control", "-m", "4*x86", "-y", "3", "j",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("synch_count 3 is more than the 2 host(s) it can ever get (4 entries, 2 distinct host(s)"),
        "{}",
        both(&out)
    );

    let e = lab.refused(&[
        "job", "create", "-f", "control", "-m", "m1", "-p", "asap", "j",
    ]);
    assert!(
        e.contains("-p \"asap\": give one of low, medium, high, urgent"),
        "{e}"
    );
    let e = lab.refused(&[
        "job",
        "create",
        "-f",
        "control",
        "-m",
        "m1",
        "--reboot_before",
        "sometimes",
        "j",
    ]);
    assert!(e.contains("never, if_dirty or always"), "{e}");
    let e = lab.refused(&["job", "create", "-f", "control", "-m", "0*x86", "j"]);
    assert!(e.contains("-m: \"0*x86\""), "{e}");
    lab.write("hosts", "m1\nm2 m3\n");
    let e = lab.refused(&["job", "create", "-f", "control", "-M", "hosts", "j"]);
    assert!(e.contains("hosts:2: \"m2 m3\""), "{e}");
    let e = lab.refused(&["job", "create", "-f", "control", "j"]);
    assert!(e.contains("has no hosts"), "{e}");

    // Nothing refused was stored.
    let all = lab.json(&["job", "list", "--all", "--json"]);
    assert_eq!(all, serde_json::json!([]));
}

#[test]
fn list_by_owner_all_running_and_limit_then_abort() {
    let lab = Lab::new();
    let a1 = lab.create("alice", &["-f", "control", "-m", "m1", "a1"]);
    let b1 = lab.create("bob", &["-f", "control", "-m", "m1,m2", "b1"]);
    let a2 = lab.create("alice", &["-f", "control", "-m", "m2", "a2"]);

    let mine = lab.json(&["job", "list", "--json"]);
    let ids: Vec<_> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [a2, a1], "the current user's, newest first");
    assert_eq!(mine[0]["status_counts"], serde_json::json!({"Queued": 1}));
    let bobs = lab.json(&["job", "list", "-u", "bob", "--json"]);
    assert_eq!(bobs[0]["id"], b1);
    assert_eq!(bobs[0]["status_counts"]["Queued"], 2);
    let all = lab.json(&["job", "list", "--all", "--json"]);
    assert_eq!(all.as_array().unwrap().len(), 3);
    let one = lab.json(&["job", "list", "--all", "--limit", "1", "--json"]);
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["id"], a2);

    // b1 starts on one host: it is running; the others have not started.
    let url = DbUrl::parse(&lab.db, "test").unwrap();
    rt().block_on(async {
        let s = Store::open(&url).await.unwrap();
        let e = s.queue_entries(b1).await.unwrap();
        s.set_entry_status(e[0].id, autotest_core::store::EntryStatus::Running, 100)
            .await
            .unwrap();
        s.close().await;
    });
    let running = lab.json(&["job", "list", "--all", "--running", "--json"]);
    assert_eq!(running.as_array().unwrap().len(), 1);
    assert_eq!(running[0]["id"], b1);
    assert!(
        lab.json(&["job", "list", "--running", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );

    let table = lab.ok(&["job", "list", "--all"]);
    let lines: Vec<_> = table.lines().collect();
    assert!(
        lines[0].starts_with("Id") && lines[0].contains("Status"),
        "{table}"
    );
    assert!(
        lines[2].contains("b1") && lines[2].contains("Queued:1 Running:1"),
        "{table}"
    );

    // Abort: by the current user, now; an unknown id is named and the others still aborted.
    let out = lab.run_as("carol", &["job", "abort", &b1.to_string(), "4242"]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        text(&out.stdout).contains(&format!("job {b1}: 2 entries aborted")),
        "{}",
        both(&out)
    );
    assert!(text(&out.stderr).contains("no job 4242"), "{}", both(&out));
    let stat = lab.json(&["job", "stat", &b1.to_string(), "--json"]);
    for e in stat[0]["entries"].as_array().unwrap() {
        assert_eq!(e["aborted"], true);
        assert_eq!(e["aborted_by"], "carol");
        assert!(e["aborted_on"].as_i64().unwrap() > 1_700_000_000);
    }
    let shown = lab.ok(&["job", "stat", &b1.to_string()]);
    assert!(shown.contains("carol") && shown.contains(" UTC"), "{shown}");
}

#[test]
fn results_of_a_parsed_job_show_its_tests_with_perf_keyvals() {
    let lab = Lab::new();
    let id = lab.create("alice", &["-f", "control", "-m", "m1", "perf"]);
    lab.write(
        "control",
        "job.run_test('sleeptest', seconds=0.1)\njob.run_test('sleeptest', tag='bad', bogus=1)\n",
    );
    // A real client run into the job's `<id>-<owner>` directory, then the legacy parse.
    let results = format!("{id}-alice");
    let out = Command::new(env!("CARGO_BIN_EXE_autotest"))
        .args(["run", "control", "--results", &results])
        .current_dir(lab.dir.path())
        .output()
        .unwrap();
    assert!(lab.path(&results).join("status").exists(), "{}", both(&out));
    lab.ok(&["parse", &results]);

    let tests = lab.json(&["results", "--job", &id.to_string(), "--json"]);
    let rows = tests.as_array().unwrap();
    let names: Vec<_> = rows
        .iter()
        .map(|t| (t["test"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("sleeptest", "GOOD"), ("sleeptest.bad", "ERROR")]);
    assert_eq!(rows[0]["afe_job_id"], id);
    let perf = rows[0]["perf"].as_array().unwrap();
    assert_eq!(perf.len(), 1, "{perf:?}");
    assert_eq!(perf[0]["attribute"], "slept_seconds");
    assert!(perf[0]["value"].as_f64().unwrap() >= 0.1, "{perf:?}");
    let machine = rows[0]["machine"].as_str().unwrap().to_owned();

    let good = lab.json(&[
        "results",
        "--job",
        &id.to_string(),
        "--status",
        "GOOD",
        "--test",
        "sleeptest",
        "--machine",
        &machine,
        "--json",
    ]);
    assert_eq!(good.as_array().unwrap().len(), 1);
    let kernel = rows[0]["kernel"].as_str().unwrap_or("").to_owned();
    if !kernel.is_empty() {
        let k = lab.json(&["results", "--kernel", &kernel, "--json"]);
        assert_eq!(k.as_array().unwrap().len(), 2);
    }
    assert!(
        lab.json(&["results", "--job", "99999", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    let table = lab.ok(&["results", "--job", &id.to_string()]);
    assert!(table.contains("slept_seconds[1]="), "{table}");
}

#[test]
fn every_command_refuses_an_unmigrated_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("new.db").display());
    for args in [
        &["job", "list"][..],
        &["job", "stat", "1"],
        &["job", "abort", "1"],
        &["results"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_autotest"))
            .args(args)
            .args(["--db", &db])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains("autotest db migrate"),
            "{}",
            both(&out)
        );
    }
}
