//! `autotest host ...` and `autotest label ...` end to end: the binary against a real SQLite
//! file migrated by `autotest db migrate`, tables read as text and `--json` parsed. What the
//! commands cannot set (a host's status, attributes, special tasks, jobs) is set through the
//! store API beforehand.

use std::path::PathBuf;
use std::process::{Command, Output};

use autotest_core::store::{
    ControlType, DbUrl, HostStatus, NewJob, NewSpecialTask, SpecialTaskKind, Store,
};
use serde_json::Value;

/// A migrated lab database in a temporary directory.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        let lab = Lab {
            dir: tempfile::tempdir().unwrap(),
        };
        let out = lab.run(&["db", "migrate"]);
        ok(&out);
        lab
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("lab.db")
    }

    fn url(&self) -> String {
        format!("sqlite:{}", self.file().display())
    }

    /// Runs `autotest <args> --db <this lab>`.
    fn run(&self, args: &[&str]) -> Output {
        let url = self.url();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--db", url.as_str()]);
        Command::new(env!("CARGO_BIN_EXE_autotest"))
            .args(&all)
            .current_dir(self.dir.path())
            .env_remove("AUTOTEST_DB")
            .env_remove("AUTOTEST_CONFIG_DIR")
            .output()
            .expect("run the autotest binary")
    }

    /// Runs it, expecting exit 0; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        ok(&out);
        text(&out.stdout)
    }

    /// Runs it with --json, expecting exit 0; the document.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).expect("--json prints one JSON document")
    }

    /// Runs it, expecting `code`; its (stdout, stderr).
    fn fails(&self, args: &[&str], code: i32) -> (String, String) {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\nstdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        (text(&out.stdout), text(&out.stderr))
    }

    /// Does `f` with the store, for what no command sets.
    fn with_store<F, Fut>(&self, f: F)
    where
        F: FnOnce(Store) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let url = DbUrl::sqlite(self.file(), "test");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let s = Store::open(&url).await.unwrap();
                f(s.clone()).await;
                s.close().await;
            });
    }

    /// Labels x86 and arm (platforms), gpu (only if needed), net; hosts m1, m2 (gpu, net, x86)
    /// and m3 (locked).
    fn populated() -> Lab {
        let lab = Lab::new();
        lab.ok(&["label", "create", "--platform", "x86", "arm"]);
        lab.ok(&["label", "create", "--only_if_needed", "gpu"]);
        lab.ok(&["label", "create", "net"]);
        lab.ok(&["host", "create", "-b", "gpu,net", "-t", "x86", "m1", "m2"]);
        lab.ok(&["host", "create", "--lock", "m3"]);
        lab
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The login name the binary should lock as.
fn me() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    text(&out.stdout).trim().to_owned()
}

fn hostnames(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|h| h["hostname"].as_str().unwrap())
        .collect()
}

#[test]
fn hosts_are_created_with_labels_platform_and_lock_and_listed() {
    let lab = Lab::populated();
    let all = lab.json(&["host", "list"]);
    assert_eq!(hostnames(&all), ["m1", "m2", "m3"]);
    let m1 = &all[0];
    assert_eq!(m1["status"], "Ready");
    assert_eq!(m1["platform"], "x86");
    assert_eq!(m1["labels"], serde_json::json!(["gpu", "net", "x86"]));
    assert_eq!(
        (m1["locked"].as_bool(), m1["locked_by"].is_null()),
        (Some(false), true)
    );
    let m3 = &all[2];
    assert_eq!(m3["locked"], true);
    assert_eq!(m3["locked_by"].as_str(), Some(me().as_str()));
    assert!(m3["lock_time"].as_i64().unwrap() >= m3["created_on"].as_i64().unwrap());
    assert!(m3["platform"].is_null() && m3["labels"] == serde_json::json!([]));

    let table = lab.ok(&["host", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[0].starts_with("Host  Status  Locked  Locked by"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("m1") && lines[1].ends_with("x86       gpu, net, x86"),
        "{table}"
    );
    assert!(
        lines[3].contains("True") && lines[3].contains(&me()),
        "{table}"
    );

    assert_eq!(
        hostnames(&lab.json(&["host", "list", "-b", "gpu"])),
        ["m1", "m2"]
    );
    assert_eq!(hostnames(&lab.json(&["host", "list", "--locked"])), ["m3"]);
    assert_eq!(
        hostnames(&lab.json(&["host", "list", "--unlocked"])),
        ["m1", "m2"]
    );
    lab.with_store(|s| async move {
        s.set_host_status("m2", HostStatus::RepairFailed)
            .await
            .unwrap();
    });
    assert_eq!(
        hostnames(&lab.json(&["host", "list", "--status", "repair_failed"])),
        ["m2"]
    );
    assert_eq!(
        hostnames(&lab.json(&["host", "list", "--status", "Ready", "-b", "net"])),
        ["m1"]
    );
    assert!(hostnames(&lab.json(&["host", "list", "--locked", "-b", "gpu"])).is_empty());
}

#[test]
fn host_create_and_list_refusals_name_the_input_and_the_fix() {
    let lab = Lab::populated();
    // Each host on its own: m1 is refused, m4 is added, and the exit says a refusal happened.
    let (out, err) = lab.fails(&["host", "create", "m1", "m4"], 1);
    assert!(
        err.contains("m1: lab database: host m1 already exists"),
        "{err}"
    );
    assert!(out.contains("Added host m4"), "{out}");
    // An unknown label refuses the command once, before any host is added.
    let (_, err) = lab.fails(&["host", "create", "-b", "gpu,nope", "m5", "m6"], 1);
    assert!(
        err.contains("no label \"nope\"") && err.contains("`autotest label create nope`"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (_, err) = lab.fails(&["host", "create", "-t", "gpu", "m5"], 1);
    assert!(err.contains("label gpu is not a platform label"), "{err}");
    let (_, err) = lab.fails(&["host", "create", "-t", "x86", "-b", "arm", "m5"], 1);
    assert!(err.contains("2 platforms"), "{err}");
    assert_eq!(
        hostnames(&lab.json(&["host", "list"])),
        ["m1", "m2", "m3", "m4"]
    );

    let (out, err) = lab.fails(&["host", "list", "-b", "nope"], 1);
    assert!(out.is_empty() && err.contains("no label \"nope\""), "{err}");
    let (_, err) = lab.fails(&["host", "list", "--status", "Broken"], 2);
    assert!(
        err.contains("\"Broken\" is not a host status: give one of Ready,"),
        "{err}"
    );
    lab.fails(&["host", "list", "--locked", "--unlocked"], 2);
    lab.fails(&["host", "create"], 2);

    // A database never migrated is refused with the fix.
    let fresh = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", fresh.path().join("new.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_autotest"))
        .args(["host", "list", "--db", &url])
        .env_remove("AUTOTEST_DB")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("run `autotest db migrate`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn host_stat_shows_labels_attributes_and_tasks() {
    let lab = Lab::populated();
    lab.with_store(|s| async move {
        s.set_host_attribute("m1", "serial", "ttyS0").await.unwrap();
        for task in [SpecialTaskKind::Verify, SpecialTaskKind::Repair] {
            let t = s
                .create_special_task(&NewSpecialTask {
                    hostname: "m1".into(),
                    task,
                    requested_by: "sched".into(),
                    queue_entry_id: None,
                })
                .await
                .unwrap();
            if task == SpecialTaskKind::Verify {
                s.start_special_task(t.id, 1_700_000_000).await.unwrap();
                s.finish_special_task(t.id, true, 1_700_000_060)
                    .await
                    .unwrap();
            }
        }
    });
    let v = lab.json(&["host", "stat", "m1", "m3"]);
    assert_eq!(hostnames(&v), ["m1", "m3"]);
    let m1 = &v[0];
    assert_eq!(m1["platform"], "x86");
    assert_eq!(m1["protection"], "No protection");
    let labels: Vec<(&str, bool)> = m1["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap(),
                l["platform"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(labels, [("gpu", false), ("net", false), ("x86", true)]);
    assert_eq!(
        m1["attributes"],
        serde_json::json!([{"attribute": "serial", "value": "ttyS0"}])
    );
    let tasks = m1["recent_tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(
        (tasks[0]["task"].as_str(), tasks[0]["is_complete"].as_bool()),
        (Some("Repair"), Some(false))
    );
    assert_eq!(
        (tasks[1]["task"].as_str(), tasks[1]["success"].as_bool()),
        (Some("Verify"), Some(true))
    );
    assert_eq!(v[1]["locked_by"].as_str(), Some(me().as_str()));

    let table = lab.ok(&["host", "stat", "m1"]);
    assert!(table.contains("Labels: gpu, net, x86"), "{table}");
    assert!(table.contains("serial     ttyS0"), "{table}");
    assert!(
        table.contains("Verify  sched") && table.contains("2023-11-14 22:14:20 UTC  Passed"),
        "{table}"
    );
    assert!(
        table.contains("Repair") && table.contains("Queued"),
        "{table}"
    );

    // An unknown host is refused with the fix; the others are still shown.
    let (out, err) = lab.fails(&["host", "stat", "--json", "nope", "m2"], 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(hostnames(&v), ["m2"]);
    assert!(
        err.contains("host stat: nope: no host \"nope\"")
            && err.contains("`autotest host create nope`"),
        "{err}"
    );
}

#[test]
fn host_mod_locks_unlocks_and_protects_each_host_on_its_own() {
    let lab = Lab::populated();
    let out = lab.ok(&["host", "mod", "--lock", "m1"]);
    assert!(
        out.contains(&format!("Host m1: locked by {}", me())),
        "{out}"
    );
    // One's own lock again is fine.
    lab.ok(&["host", "mod", "--lock", "m1"]);
    lab.with_store(|s| async move {
        s.lock_host("m2", "alice", 1_700_000_000).await.unwrap();
    });
    let (out, err) = lab.fails(&["host", "mod", "--lock", "m2", "nope", "m3"], 1);
    assert!(
        err.contains(
            "m2: lab database: host m2 is locked already by alice since 2023-11-14 22:13:20 UTC"
        ) && err.contains("`autotest host mod m2 --unlock`"),
        "{err}"
    );
    assert!(err.contains("nope: no host \"nope\""), "{err}");
    assert!(out.contains("Host m3: locked"), "{out}");
    let v = lab.json(&["host", "stat", "m2"]);
    assert_eq!(v[0]["locked_by"], "alice");

    lab.ok(&["host", "mod", "--unlock", "m1", "m2"]);
    assert_eq!(hostnames(&lab.json(&["host", "list", "--locked"])), ["m3"]);

    let out = lab.ok(&["host", "mod", "--protection", "do_not_repair", "m1"]);
    assert!(out.contains("protection Do not repair"), "{out}");
    lab.ok(&[
        "host",
        "mod",
        "--protection",
        "repair_filesystem_only",
        "--lock",
        "m2",
    ]);
    let v = lab.json(&["host", "stat", "m1", "m2"]);
    assert_eq!(v[0]["protection"], "Do not repair");
    assert_eq!(
        (v[1]["protection"].as_str(), v[1]["locked"].as_bool()),
        (Some("Repair filesystem only"), Some(true))
    );
    let (_, err) = lab.fails(&["host", "mod", "m1"], 2);
    assert!(err.contains("--lock"), "{err}");
    lab.fails(&["host", "mod", "--lock", "--unlock", "m1"], 2);
    let (_, err) = lab.fails(&["host", "mod", "--protection", "never", "m1"], 2);
    assert!(err.contains("do_not_verify"), "{err}");
}

#[test]
fn host_delete_removes_each_host_given() {
    let lab = Lab::populated();
    let (out, err) = lab.fails(&["host", "delete", "m2", "nope"], 1);
    assert!(out.contains("Deleted host m2"), "{out}");
    assert!(err.contains("nope: no host \"nope\""), "{err}");
    assert_eq!(hostnames(&lab.json(&["host", "list"])), ["m1", "m3"]);
    lab.fails(&["host", "delete", "m2"], 1);
    let labels = lab.json(&["label", "list"]);
    let gpu = labels
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "gpu")
        .unwrap();
    assert_eq!(gpu["hosts"], 1);
    // It comes back bare.
    lab.ok(&["host", "create", "m2"]);
    assert_eq!(
        lab.json(&["host", "stat", "m2"])[0]["labels"],
        serde_json::json!([])
    );
}

#[test]
fn labels_are_created_listed_added_removed_and_deleted() {
    let lab = Lab::populated();
    let v = lab.json(&["label", "list"]);
    let rows: Vec<(&str, bool, bool, i64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap(),
                l["platform"].as_bool().unwrap(),
                l["only_if_needed"].as_bool().unwrap(),
                l["hosts"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("arm", true, false, 0),
            ("gpu", false, true, 2),
            ("net", false, false, 2),
            ("x86", true, false, 2)
        ]
    );
    let table = lab.ok(&["label", "list"]);
    assert!(
        table.starts_with("Name  Platform  Only if needed  Hosts\n"),
        "{table}"
    );
    assert!(
        table.contains("gpu   False     True            2"),
        "{table}"
    );

    let (out, err) = lab.fails(&["label", "create", "gpu", "disk"], 1);
    assert!(err.contains("label gpu already exists"), "{err}");
    assert!(out.contains("Created label disk"), "{out}");

    let out = lab.ok(&["label", "add", "disk", "-m", "m1,m3"]);
    assert!(out.contains("Host m3: label disk added"), "{out}");
    let (out, err) = lab.fails(&["label", "add", "arm", "-m", "m1,nope,m3"], 1);
    assert!(
        err.contains("m1: lab database: host m1 has platform x86 already"),
        "{err}"
    );
    assert!(err.contains("nope: no host \"nope\""), "{err}");
    assert!(out.contains("Host m3: label arm added"), "{out}");
    let (_, err) = lab.fails(&["label", "add", "nope", "-m", "m1,m2"], 1);
    assert!(
        err.contains("no label \"nope\"") && err.contains("no host changed"),
        "{err}"
    );
    lab.fails(&["label", "add", "disk"], 2);

    let list = lab.json(&["host", "list", "-b", "disk"]);
    assert_eq!(hostnames(&list), ["m1", "m3"]);
    assert_eq!(list[1]["platform"], "arm");

    // Carried by hosts: refused, naming them and the command that frees it.
    let (_, err) = lab.fails(&["label", "delete", "disk"], 1);
    assert!(
        err.contains("2 host(s) carry it (m1, m3)")
            && err.contains("`autotest label remove disk -m m1,m3`"),
        "{err}"
    );
    let (out, err) = lab.fails(&["label", "remove", "disk", "-m", "m1,m2"], 1);
    assert!(out.contains("Host m1: label disk removed"), "{out}");
    assert!(err.contains("host m2 does not carry label disk"), "{err}");
    lab.ok(&["label", "remove", "disk", "-m", "m3"]);
    let (out, err) = lab.fails(&["label", "delete", "disk", "nope"], 1);
    assert!(out.contains("Deleted label disk"), "{out}");
    assert!(err.contains("nope: no label \"nope\""), "{err}");

    // Needed by an unfinished job: refused, naming it.
    lab.with_store(|s| async move {
        let mut job = NewJob::new("alice", "needs-arm", "pass\n", ControlType::Client);
        job.meta_hosts = vec!["arm".into()];
        s.create_job(&job).await.unwrap();
    });
    lab.ok(&["label", "remove", "arm", "-m", "m3"]);
    let (_, err) = lab.fails(&["label", "delete", "arm"], 1);
    assert!(
        err.contains("1 unfinished job(s) need it (1 (needs-arm))"),
        "{err}"
    );
    let names: Vec<String> = lab
        .json(&["label", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["arm", "gpu", "net", "x86"]);
}

#[test]
fn every_command_documents_its_exit_codes() {
    let lab = Lab::new();
    for cmd in [
        ["host", "create"],
        ["host", "list"],
        ["host", "stat"],
        ["host", "mod"],
        ["host", "delete"],
        ["label", "create"],
        ["label", "list"],
        ["label", "delete"],
        ["label", "add"],
        ["label", "remove"],
    ] {
        let out = lab.ok(&[cmd[0], cmd[1], "--help"]);
        assert!(
            out.contains("Exit status:\n  0  done\n  1  refused"),
            "{cmd:?}:\n{out}"
        );
        assert!(out.contains("--db <URL>"), "{cmd:?}:\n{out}");
    }
}
