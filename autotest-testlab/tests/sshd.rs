//! The loopback sshd fixture and the sshd config every test sshd (and lab machine) runs:
//! a real `/usr/sbin/sshd`, reached with the real OpenSSH client. Fails (never skips) without
//! OpenSSH.

use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Output};

use autotest_testlab::sshd::{Config, SSHD, Sshd, keygen};

fn ssh(sshd: &Sshd, remote: &str) -> Output {
    Command::new("ssh")
        .args(sshd.openssh_options())
        .args(["-p", &sshd.port.to_string()])
        .arg(format!("{}@127.0.0.1", sshd.user))
        .arg(remote)
        .output()
        .expect("run ssh (apt-get install -y openssh-client)")
}

fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "ssh failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn serves_key_logins_and_dies_and_comes_back_with_the_same_keys() {
    let mut sshd = Sshd::start();
    assert_eq!(
        sshd.machine(),
        format!("{}@127.0.0.1:{}", sshd.user, sshd.port)
    );
    // SetEnv SHLVL=1 reaches the session: bash starts at level 1 (so skips ~/.bashrc) and
    // counts itself, 2; without it the shell would start unset and say 1.
    let out = stdout_ok(&ssh(&sshd, "echo hello; echo SHLVL=$SHLVL"));
    assert!(out.contains("hello\n"), "{out}");
    assert!(out.contains("SHLVL=2"), "{out}");
    std::fs::write(sshd.path("probe"), "x").unwrap();
    assert_eq!(
        stdout_ok(&ssh(
            &sshd,
            &format!("cat {}", sshd.path("probe").display())
        )),
        "x"
    );

    sshd.kill_all();
    let refused = TcpStream::connect(("127.0.0.1", sshd.port)).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    // Strict host key checking against the same known_hosts: the same host key came back.
    sshd.restart();
    assert_eq!(stdout_ok(&ssh(&sshd, "echo again")), "again\n");
    assert!(
        sshd.log_text().contains("Server listening on"),
        "{}",
        sshd.log_text()
    );
}

#[test]
fn the_config_keeps_openssh_defaults_unless_asked_and_sshd_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let (host, client) = (dir.path().join("host"), dir.path().join("client"));
    keygen(&host, "host");
    keygen(&client, "client");
    let listen = SocketAddr::from(([127, 0, 0, 1], 2222));
    let mut c = Config::new(listen, &host, &client.with_extension("pub"));
    let plain = c.render();
    assert!(
        plain.starts_with("ListenAddress 127.0.0.1:2222\n"),
        "{plain}"
    );
    assert!(plain.contains("MaxStartups 200\n"), "{plain}");
    // The SSH transport's tests rely on OpenSSH's default MaxSessions (10).
    assert!(!plain.contains("MaxSessions"), "{plain}");
    assert!(!plain.contains("SetEnv"), "{plain}");
    c.max_sessions = Some(64);
    c.skip_bashrc = true;
    let tuned = c.render();
    assert!(tuned.contains("MaxSessions 64\n"), "{tuned}");
    assert!(tuned.contains("SetEnv SHLVL=1\n"), "{tuned}");
    for (name, text) in [("plain", plain), ("tuned", tuned)] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = Command::new(SSHD)
            .arg("-t")
            .arg("-f")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sshd -t rejects the {name} config: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
#[should_panic(expected = "cannot take")]
fn a_path_sshd_config_cannot_take_is_refused() {
    let c = Config::new(
        SocketAddr::from(([127, 0, 0, 1], 22)),
        std::path::Path::new("/tmp/with space/host"),
        std::path::Path::new("/tmp/keys"),
    );
    let _ = c.render();
}
