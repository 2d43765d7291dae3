//! `autotest web` as a process: tokens made by `autotest web token create`, and retrieve_logs
//! across three `autotest web` servers (results host, a drone, the archive host) on their own
//! loopback ports, the file only on the last.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn autotest() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_autotest"));
    c.env_remove("AUTOTEST_DB")
        .env_remove("AUTOTEST_CONFIG_DIR");
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the server when the test ends, however it ends.
struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str], root: &Path) -> Server {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = autotest()
        .arg("web")
        .args(args)
        .args(["--listen", &addr])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut s = Server(child, addr.clone());
    // Ready once it accepts; a server that exits instead is a failure, not a wait.
    loop {
        if TcpStream::connect(&addr).is_ok() {
            return s;
        }
        if let Some(status) = s.0.try_wait().unwrap() {
            panic!("autotest web on {addr} exited: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn http(addr: &str, method: &str, path: &str, extra: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    (out[9..12].parse().unwrap(), out)
}

#[test]
fn token_create_and_retrieve_logs_across_three_servers() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("lab.db").display());
    assert!(
        autotest()
            .args(["db", "migrate", "--db", &db])
            .status()
            .unwrap()
            .success()
    );
    let out = autotest()
        .args(["web", "token", "create", "--db", &db, "alice"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.len(), 64);

    let trees: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    std::fs::create_dir_all(trees[2].path().join("7-bob")).unwrap();
    std::fs::write(trees[2].path().join("7-bob/status.log"), "archived\n").unwrap();
    let others: Vec<Server> = trees
        .iter()
        .map(|t| start(&["--no-db"], t.path()))
        .collect();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("global_config.ini"),
        format!(
            "[SCHEDULER]\nresults_host: {}\ndrones: localhost, {}\narchive_host: {}\n",
            others[0].1, others[1].1, others[2].1
        ),
    )
    .unwrap();
    let home = dir.path().join("results");
    std::fs::create_dir_all(&home).unwrap();
    let front = start(
        &["--db", &db, "--config-dir", conf.to_str().unwrap()],
        &home,
    );

    let (code, resp) = http(&front.1, "GET", "/results/7-bob/status.log", "");
    assert_eq!(code, 307, "{resp}");
    let want = format!("location: http://{}/results/7-bob/status.log", others[2].1);
    assert!(resp.contains(&want), "{resp}");
    let (code, resp) = http(&others[2].1, "GET", "/results/7-bob/status.log", "");
    assert_eq!(code, 200);
    assert!(resp.ends_with("archived\n"));

    let (code, resp) = http(&front.1, "GET", "/results/7-bob/missing.log", "");
    assert_eq!(code, 404);
    for s in &others {
        assert!(resp.contains(&s.1), "{} not named: {resp}", s.1);
    }

    // The token printed works for a write; none is refused.
    let (code, resp) = http(&front.1, "POST", "/api/hosts/nohost/lock", "");
    assert_eq!(code, 401, "{resp}");
    let auth = format!("Authorization: Bearer {token}\r\nContent-Length: 0\r\n");
    let (code, resp) = http(&front.1, "POST", "/api/hosts/nohost/lock", &auth);
    assert_eq!(code, 404, "{resp}");
    assert!(resp.contains("nohost"), "{resp}");
}
