//! The one sshd fixture: keys, the config every test sshd runs ([`Config`]), and [`Sshd`], a
//! real OpenSSH `sshd` on 127.0.0.1 and a free port with generated host and client keys
//! (RECIPES.md "A real sshd as a test fixture"). The lab's machines ([`crate::netns`]) run the
//! same [`Config`] on their own address. A missing `/usr/sbin/sshd` fails the test loudly:
//! these tests never skip.
//!
//! [`Sshd`] (not the lab machines) sets `SetEnv SHLVL=1`, which keeps bash (root's login shell
//! here) from sourcing `~/.bashrc` for the sessions: bash reads it for sshd commands only at
//! shell level 1. The machine's `.bashrc` runs `pyenv init`, whose rehash lock serialises
//! concurrent shells and, when a test kills a shell mid-rehash, leaves a stale lock that stalls
//! every later shell for 60 s. (Lab machines fence that lock off with a read-only shims dir.)

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{comm, descendants, find_program, free_port, run};

/// sshd must be run by its absolute path (it re-executes itself).
pub const SSHD: &str = "/usr/sbin/sshd";
/// What `sshd -D -e` prints once it listens.
pub const READY_LINE: &str = "Server listening on";

/// Panics with how to install sshd when `/usr/sbin/sshd` is missing.
pub fn require_sshd() {
    if !Path::new(SSHD).exists() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        panic!(
            "{SSHD} is missing{}: install OpenSSH's server (`apt-get install -y openssh-server`); \
             the SSH tests run against a real sshd and never skip",
            if ci {
                " on CI (add openssh-server to the setup script)"
            } else {
                ""
            }
        );
    }
}

/// `ssh-keygen -t ed25519` without a passphrase into `path` (and `path.pub`).
pub fn keygen(path: &Path, comment: &str) {
    let ssh_keygen = find_program("ssh-keygen")
        .unwrap_or_else(|| panic!("`ssh-keygen` is missing: `apt-get install -y openssh-client`"));
    run(Command::new(ssh_keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path));
}

/// `<type> <base64>` of a public key file.
pub fn public_key(pub_path: &Path) -> String {
    let text = std::fs::read_to_string(pub_path)
        .unwrap_or_else(|e| panic!("read {}: {e}", pub_path.display()));
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An sshd_config for tests: key-only root login, no PAM, no DNS, no pid file, SFTP, and room
/// for many concurrent connection attempts (`MaxStartups 200`: tests fan out).
#[derive(Debug, Clone)]
pub struct Config {
    /// Address sshd listens on.
    pub listen: SocketAddr,
    /// The host key file.
    pub host_key: PathBuf,
    /// The `AuthorizedKeysFile`.
    pub authorized_keys: PathBuf,
    /// `MaxSessions`; `None` keeps OpenSSH's default of 10 (which the SSH transport's tests
    /// rely on: it must stay under it).
    pub max_sessions: Option<u32>,
    /// `SetEnv SHLVL=1` (see the module docs).
    pub skip_bashrc: bool,
}

impl Config {
    /// A config with OpenSSH's defaults for everything not given.
    pub fn new(listen: SocketAddr, host_key: &Path, authorized_keys: &Path) -> Config {
        Config {
            listen,
            host_key: host_key.to_owned(),
            authorized_keys: authorized_keys.to_owned(),
            max_sessions: None,
            skip_bashrc: false,
        }
    }

    /// The config text. Panics on a path sshd_config cannot take.
    pub fn render(&self) -> String {
        let mut s = format!(
            "ListenAddress {}\n\
             HostKey {}\n\
             PidFile none\n\
             AuthorizedKeysFile {}\n\
             StrictModes no\n\
             UsePAM no\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\n\
             Subsystem sftp internal-sftp\n\
             MaxStartups 200\n\
             PrintMotd no\n\
             UseDNS no\n",
            self.listen,
            config_path(&self.host_key),
            config_path(&self.authorized_keys),
        );
        if let Some(n) = self.max_sessions {
            s.push_str(&format!("MaxSessions {n}\n"));
        }
        if self.skip_bashrc {
            s.push_str("SetEnv SHLVL=1\n");
        }
        s
    }
}

/// A path as sshd_config (and the lab's overlayfs options) can take it: UTF-8, no separators.
pub(crate) fn config_path(p: &Path) -> &str {
    let s = p.to_str().expect("test paths are UTF-8");
    assert!(
        !s.contains([',', ':', ' ', '\n']),
        "path {s:?} has a character that overlayfs options or sshd_config cannot take"
    );
    s
}

/// A running sshd on loopback; killed (with every process it started) on drop.
pub struct Sshd {
    /// Its keys, config and logs.
    pub dir: tempfile::TempDir,
    /// The loopback port it listens on.
    pub port: u16,
    /// The user to log in as.
    pub user: String,
    /// The client's private key (its `.pub` is the authorized key).
    pub client_key: PathBuf,
    /// A known_hosts file that lists this sshd's host key.
    pub known_hosts: PathBuf,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

fn current_user() -> String {
    let out = run(Command::new("id").arg("-un"));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Sshd {
    /// Generates keys and a config, starts sshd and waits until it accepts connections.
    pub fn start() -> Sshd {
        require_sshd();
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        keygen(&d.join("host_ed25519"), "");
        keygen(&d.join("id_ed25519"), "");
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        let config = d.join("sshd_config");
        let mut c = Config::new(
            SocketAddr::from(([127, 0, 0, 1], port)),
            &d.join("host_ed25519"),
            &d.join("id_ed25519.pub"),
        );
        c.skip_bashrc = true;
        std::fs::write(&config, c.render()).expect("write sshd_config");
        run(Command::new(SSHD).arg("-t").arg("-f").arg(&config));
        let known_hosts = d.join("known_hosts");
        std::fs::write(
            &known_hosts,
            format!(
                "[127.0.0.1]:{port} {}\n",
                public_key(&d.join("host_ed25519.pub"))
            ),
        )
        .expect("write known_hosts");
        let mut s = Sshd {
            port,
            user: current_user(),
            client_key: d.join("id_ed25519"),
            known_hosts,
            config,
            log: d.join("sshd.log"),
            child: None,
            dir,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open sshd.log");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sshd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "sshd exited ({status}) before accepting connections:\n{}",
                    self.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not accept within 10 s:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// sshd's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The machine name for an SSH transport: `user@127.0.0.1:port`.
    pub fn machine(&self) -> String {
        format!("{}@127.0.0.1:{}", self.user, self.port)
    }

    /// `ssh`/`scp`/`rsync -e` options that trust this sshd and use the client key only
    /// (port not included: `-p` for ssh, `-P` for scp).
    pub fn openssh_options(&self) -> Vec<String> {
        vec![
            "-F".into(),
            "none".into(),
            "-i".into(),
            self.client_key.display().to_string(),
            "-o".into(),
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "-o".into(),
            "StrictHostKeyChecking=yes".into(),
            "-o".into(),
            "BatchMode=yes".into(),
        ]
    }

    /// A scratch path inside the fixture's directory (the "machine" is this host).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Kills sshd and everything it started: the listener and its sessions die at once
    /// (sshd processes first, so no session can report its command's end), like a machine that
    /// vanished.
    pub fn kill_all(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let root = child.id();
        let mut tree = descendants(root);
        tree.insert(0, root);
        let (sshd, rest): (Vec<u32>, Vec<u32>) =
            tree.into_iter().partition(|p| comm(*p).starts_with("sshd"));
        for pid in sshd.iter().chain(rest.iter()) {
            let _ = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let _ = child.wait();
        // Wait until the port is free again.
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to every sshd process of this fixture: a stopped sshd
    /// is a peer that went silent without closing anything (a cable pulled).
    pub fn signal_sshd(&self, signal: &str) {
        let Some(child) = self.child.as_ref() else {
            return;
        };
        let mut tree = descendants(child.id());
        tree.insert(0, child.id());
        for pid in tree.into_iter().filter(|p| comm(*p).starts_with("sshd")) {
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Starts sshd again on the same port with the same keys.
    pub fn restart(&mut self) {
        self.kill_all();
        self.spawn();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill_all();
    }
}
