//! One client control file on 20 machines at once: `autotest autoserv` (one process, pooled SSH
//! connections) beside the same work done with OpenSSH processes, one `scp`/`ssh` chain per
//! machine running in parallel (install the client runtime, copy the control file, run it, copy
//! the results back). Machines are network namespaces with real sshds (autotest-testlab's
//! `Lab`, as in the CLI's tests). `/usr/bin/time -v` gives wall time, CPU time (user + system, children included)
//! and the peak RSS of the largest single process. Medians of N runs, same run, same machines.
//!
//! Run: `cargo build --release -p autotest-cli && cargo bench -p autotest-benches --bench fanout`
//! as root.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;

use autotest_testlab::Lab;
use autotest_testlab::process::binary_candidates;

const MACHINES: usize = 20;
const RUNS: usize = 3;

struct Figures {
    wall: f64,
    cpu: f64,
    rss_kib: u64,
}

fn timed(lab: &Lab, cmd: Command, out: &Path) -> Figures {
    let mut wrapped = Command::new("/usr/bin/time");
    wrapped
        .arg("-v")
        .arg("-o")
        .arg(out)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(d) = cmd.get_current_dir() {
        wrapped.current_dir(d);
    }
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            wrapped.env(k, v);
        }
    }
    lab.run_in_server(&mut wrapped);
    let status = wrapped
        .status()
        .expect("/usr/bin/time (apt-get install time)");
    assert!(status.success(), "{:?} failed: {status}", cmd);
    let text = std::fs::read_to_string(out).unwrap();
    let field = |name: &str| -> String {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
            .unwrap_or_default()
    };
    let wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss):")
        .rsplit(':')
        .enumerate()
        .map(|(i, p)| p.parse::<f64>().unwrap_or(0.0) * 60f64.powi(i as i32))
        .sum();
    let cpu = field("User time (seconds):").parse::<f64>().unwrap_or(0.0)
        + field("System time (seconds):")
            .parse::<f64>()
            .unwrap_or(0.0);
    let rss_kib = field("Maximum resident set size (kbytes):")
        .parse()
        .unwrap_or(0);
    Figures { wall, cpu, rss_kib }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn client_package() -> PathBuf {
    let out = Command::new("python3")
        .args([
            "-c",
            "import autotest, os; print(os.path.dirname(os.path.abspath(autotest.__file__)))",
        ])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn main() {
    // The CLI's binary in this bench's target dir (release first: `cargo bench` builds there).
    let exe = std::env::current_exe().expect("path of this bench");
    let bin = binary_candidates(&exe, "autotest")
        .into_iter()
        .find(|p| p.is_file())
        .expect("build the CLI first: cargo build --release -p autotest-cli");
    let lab = Lab::new(MACHINES);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::write(w.join("control"), "job.run_test('sleeptest', seconds=1)\n").unwrap();
    let package = client_package();
    let key = lab.client_key().to_path_buf();
    let kh = lab.known_hosts().to_path_buf();
    // The OpenSSH way, one chain of processes per machine, all machines in parallel.
    let script = w.join("openssh.sh");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
set -e
O="-F none -i {key} -o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR"
run() {{
  m=$1; out=$2/$m
  ssh $O root@$m 'rm -rf /usr/local/autotest/autotest /usr/local/autotest/results && mkdir -p /usr/local/autotest'
  scp -q -r $O {package} root@$m:/usr/local/autotest/autotest
  scp -q $O {control} root@$m:/usr/local/autotest/control
  ssh $O root@$m 'cd /usr/local/autotest && PYTHONPATH=/usr/local/autotest python3 -m autotest.client.runner --results /usr/local/autotest/results/default /usr/local/autotest/control' >/dev/null
  mkdir -p $out
  scp -q -r $O root@$m:/usr/local/autotest/results/default/. $out/
}}
for m in $(echo "$1" | tr , ' '); do run $m $2 & done
wait
"#,
            key = key.display(),
            kh = kh.display(),
            package = package.display(),
            control = w.join("control").display(),
        ),
    )
    .unwrap();
    let list = lab.machine_list();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        // Fresh machines' autodirs each round, so both sides install the client every time.
        for m in lab.machines() {
            let _ = std::fs::remove_dir_all(m.autodir().join("autotest"));
            let _ = std::fs::remove_file(m.autodir().join(".autotest-build"));
        }
        let mut cmd = Command::new(&bin);
        cmd.current_dir(w)
            .args([
                "autoserv",
                "-m",
                &list,
                "-r",
                &format!("ours{run}"),
                "-c",
                "control",
            ])
            .env("AUTOTEST_SSH_KEY", &key)
            .env("AUTOTEST_SSH_KNOWN_HOSTS", &kh);
        ours.push(timed(&lab, cmd, &w.join("t-ours")));
        let mut cmd = Command::new("sh");
        cmd.current_dir(w)
            .arg(&script)
            .arg(&list)
            .arg(w.join(format!("theirs{run}")));
        theirs.push(timed(&lab, cmd, &w.join("t-theirs")));
        for m in lab.machines() {
            let log = w.join(format!("theirs{run}/{}/status", m.address()));
            assert!(
                std::fs::read_to_string(&log)
                    .unwrap()
                    .contains("END GOOD\t----"),
                "{}",
                log.display()
            );
            let log = w.join(format!("ours{run}/{}/status.log", m.address()));
            assert!(
                std::fs::read_to_string(&log)
                    .unwrap()
                    .contains("END GOOD\t----"),
                "{}",
                log.display()
            );
        }
    }
    let row = |name: &str, f: &[Figures]| {
        let wall = median(f.iter().map(|x| x.wall).collect());
        let cpu = median(f.iter().map(|x| x.cpu).collect());
        let rss = median(f.iter().map(|x| x.rss_kib as f64).collect());
        println!(
            "  {name:<44} wall {wall:6.2} s   cpu {cpu:6.2} s   peak RSS (largest process) {rss:8.0} KiB"
        );
        (wall, cpu)
    };
    println!(
        "`job.run_test('sleeptest', seconds=1)` on {MACHINES} machines at once, median of {RUNS}:"
    );
    let (ow, oc) = row("autotest autoserv (one process)", &ours);
    let (tw, tc) = row("OpenSSH ssh/scp processes, per machine", &theirs);
    println!(
        "  ratio OpenSSH/ours: wall {:.2}x, cpu {:.2}x",
        tw / ow,
        tc / oc
    );
}
