//! Copying back a results tree of 10,000 small files from a machine over SSH: autotest-ssh's
//! `get_tree` (one tar stream on one channel) beside `rsync -a -e ssh` and `scp -r` on the same
//! tree, the same sshd on loopback, in the same run. Medians of N runs.
//!
//! Run: `cargo bench -p autotest-benches --bench tree_copy` (needs /usr/sbin/sshd, rsync, scp).
#![allow(clippy::print_stdout)]

use std::process::Command;
use std::time::{Duration, Instant};

use autotest_core::transport::Transport;
use autotest_ssh::{SshOptions, SshTransport};
use autotest_testlab::sshd::Sshd;

const FILES: usize = 10_000;
const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // autotest-testlab's loopback sshd: the one the SSH transport's tests use.
    let sshd = Sshd::start();
    let dir = sshd.dir.path();
    let port = sshd.port;
    let (id, known_hosts) = (sshd.client_key.display(), sshd.known_hosts.display());

    // The "results tree" on the machine: 10,000 small files in 100 directories.
    let src = dir.join("results");
    for i in 0..FILES {
        let sub = src.join(format!("test{:03}/debug", i % 100));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(
            sub.join(format!("f{i:05}")),
            format!("iteration {i}\nthroughput{{perf}}={}\n", i * 7),
        )
        .unwrap();
    }
    let ssh_cmd = format!(
        "ssh -F none -p {port} -i {id} -o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes -o BatchMode=yes"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let opts = SshOptions::default()
        .identity_file(&sshd.client_key)
        .known_hosts(&sshd.known_hosts)
        .use_agent(false);
    let t = SshTransport::new(&sshd.machine(), opts).unwrap();
    rt.block_on(t.ping()).expect("ssh to the bench sshd");

    let (mut ours, mut rsync, mut scp) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS {
        let dest = dir.join(format!("ours{run}"));
        let t0 = Instant::now();
        rt.block_on(t.get_tree(src.to_str().unwrap(), &dest))
            .unwrap();
        ours.push(t0.elapsed());

        let dest = dir.join(format!("rsync{run}"));
        let t0 = Instant::now();
        let ok = Command::new("rsync")
            .args(["-a", "-e", &ssh_cmd])
            .arg(format!("{}@127.0.0.1:{}/", sshd.user, src.display()))
            .arg(&dest)
            .status()
            .expect("rsync (apt-get install rsync)")
            .success();
        rsync.push(t0.elapsed());
        assert!(ok, "rsync failed");

        let dest = dir.join(format!("scp{run}"));
        let t0 = Instant::now();
        let ok = Command::new("scp")
            .args(["-q", "-r", "-F", "none", "-P", &port.to_string(), "-i"])
            .arg(&sshd.client_key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={known_hosts}"))
            .args(["-o", "BatchMode=yes"])
            .arg(format!("{}@127.0.0.1:{}", sshd.user, src.display()))
            .arg(&dest)
            .status()
            .expect("scp")
            .success();
        scp.push(t0.elapsed());
        assert!(ok, "scp failed");
    }
    let (o, r, s) = (median(ours), median(rsync), median(scp));
    println!("copy back {FILES} small files over ssh on loopback, median of {RUNS}:");
    println!(
        "  autotest-ssh get_tree (tar stream) {:8.3} s",
        o.as_secs_f64()
    );
    println!(
        "  rsync -a -e ssh                    {:8.3} s  ({:.2}x ours)",
        r.as_secs_f64(),
        r.as_secs_f64() / o.as_secs_f64()
    );
    println!(
        "  scp -r                             {:8.3} s  ({:.2}x ours)",
        s.as_secs_f64(),
        s.as_secs_f64() / o.as_secs_f64()
    );
}
