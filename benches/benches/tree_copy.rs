//! Copying back a results tree of 10,000 small files from a machine over SSH: autotest-ssh's
//! `get_tree` (one tar stream on one channel) beside `rsync -a -e ssh` and `scp -r` on the same
//! tree, the same sshd on loopback, in the same run. Medians of N runs.
//!
//! Run: `cargo bench -p autotest-benches --bench tree_copy` (needs /usr/sbin/sshd, rsync, scp).
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use autotest_core::transport::Transport;
use autotest_ssh::{SshOptions, SshTransport};

const FILES: usize = 10_000;
const RUNS: usize = 5;

struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen")
        .success();
    assert!(ok, "ssh-keygen failed");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    keygen(&dir.join("host"));
    keygen(&dir.join("id"));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::create_dir_all("/run/sshd").unwrap();
    std::fs::write(
        dir.join("sshd_config"),
        format!(
            "ListenAddress 127.0.0.1:{port}\nHostKey {0}/host\nPidFile none\nAuthorizedKeysFile {0}/id.pub\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nSetEnv SHLVL=1\nSubsystem sftp internal-sftp\n",
            dir.display()
        ),
    )
    .unwrap();
    let _sshd = Sshd(
        Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start /usr/sbin/sshd (apt-get install openssh-server)"),
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "sshd did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let host_key = std::fs::read_to_string(dir.join("host.pub")).unwrap();
    let key: Vec<&str> = host_key.split_whitespace().take(2).collect();
    std::fs::write(dir.join("known_hosts"), format!("[127.0.0.1]:{port} {}\n", key.join(" "))).unwrap();

    // The "results tree" on the machine: 10,000 small files in 100 directories.
    let src = dir.join("results");
    for i in 0..FILES {
        let sub = src.join(format!("test{:03}/debug", i % 100));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("f{i:05}")), format!("iteration {i}\nthroughput{{perf}}={}\n", i * 7)).unwrap();
    }
    let ssh_cmd = format!(
        "ssh -F none -p {port} -i {0}/id -o UserKnownHostsFile={0}/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes",
        dir.display()
    );
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let opts = SshOptions::default()
        .identity_file(dir.join("id"))
        .known_hosts(dir.join("known_hosts"))
        .use_agent(false);
    let t = SshTransport::new(&format!("root@127.0.0.1:{port}"), opts).unwrap();
    rt.block_on(t.ping()).expect("ssh to the bench sshd");

    let (mut ours, mut rsync, mut scp) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS {
        let dest = dir.join(format!("ours{run}"));
        let t0 = Instant::now();
        rt.block_on(t.get_tree(src.to_str().unwrap(), &dest)).unwrap();
        ours.push(t0.elapsed());

        let dest = dir.join(format!("rsync{run}"));
        let t0 = Instant::now();
        let ok = Command::new("rsync")
            .args(["-a", "-e", &ssh_cmd])
            .arg(format!("root@127.0.0.1:{}/", src.display()))
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
            .arg(dir.join("id"))
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}/known_hosts", dir.display()))
            .args(["-o", "BatchMode=yes"])
            .arg(format!("root@127.0.0.1:{}", src.display()))
            .arg(&dest)
            .status()
            .expect("scp")
            .success();
        scp.push(t0.elapsed());
        assert!(ok, "scp failed");
    }
    let (o, r, s) = (median(ours), median(rsync), median(scp));
    println!("copy back {FILES} small files over ssh on loopback, median of {RUNS}:");
    println!("  autotest-ssh get_tree (tar stream) {:8.3} s", o.as_secs_f64());
    println!("  rsync -a -e ssh                    {:8.3} s  ({:.2}x ours)", r.as_secs_f64(), r.as_secs_f64() / o.as_secs_f64());
    println!("  scp -r                             {:8.3} s  ({:.2}x ours)", s.as_secs_f64(), s.as_secs_f64() / o.as_secs_f64());
}
