//! A lab of real machines on this one host: network namespaces, a bridge, one real OpenSSH sshd
//! per machine, each machine with its own hostname, boot id, autodir and a fenced `reboot`.
//!
//! ```text
//! server netns  <tag>-srv   br0 198.18.X.1/24 ── v1 ─┬─ eth0 198.18.X.11  netns <tag>-m1 (sshd :22)
//!                                              v2 ─┼─ eth0 198.18.X.12  netns <tag>-m2 (sshd :22)
//!                                              ... ┘
//! ```
//! `<tag>` is `atlab-<pid>-<counter>`; X is picked per Lab. Interfaces live only inside the Lab's
//! own namespaces, so their short names (`br0`, `v<i>`, `eth0`) cannot collide across Labs.
//!
//! A machine is `ip netns exec <m> unshare --uts --mount --propagation private --pid --fork
//! --kill-child --mount-proc sh -c <boot script>`: its own hostname, its own mounts (per-boot
//! overlays on /usr/local and /root, so nothing it writes there reaches the host or survives a
//! reboot; a fresh tmpfs on /tmp per boot; the machine's autodir bound on /usr/local/autotest,
//! kept across boots; per-machine /etc/hostname and /etc/hosts; a boot id file
//! bound on /proc/sys/kernel/random/boot_id, the power script bound over the real `reboot` &c.)
//! and its own pid namespace whose init is sshd. The pid namespace is a second fence: even a raw
//! reboot(2) there only ends the machine. A per-machine supervisor thread owns the process,
//! restarts it after a reboot request and kills it on drop.

use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::bootloader;
use crate::process::find_program;
use crate::sshd;

mod boot;

pub use boot::AUTODIR;
use boot::BootScript;

/// Every global name (network namespaces, temp dirs) starts with this, then `<pid>-<counter>`.
pub const PREFIX: &str = "atlab-";
/// Where Lab dirs go: not /tmp, which every machine gets fresh (a tmpfs per boot).
pub const LAB_ROOT: &str = "/var/tmp";
/// Default time a rebooting machine stays down before its sshd comes back.
pub const DEFAULT_REBOOT_DELAY: Duration = Duration::from_secs(1);
/// Environment variable naming the client's private key, for the code under test.
pub const ENV_SSH_KEY: &str = "AUTOTEST_SSH_KEY";
/// Environment variable naming the known_hosts file, for the code under test.
pub const ENV_SSH_KNOWN_HOSTS: &str = "AUTOTEST_SSH_KNOWN_HOSTS";

const BOOT_TIMEOUT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(20);
const SUPERVISOR_TICK: Duration = Duration::from_millis(50);

static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);
/// `ip netns add` creates and remounts /run/netns on first use; keep this process's calls apart.
static NETNS_ADD: Mutex<()> = Mutex::new(());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Prerequisites

struct Tools {
    ip: PathBuf,
    unshare: PathBuf,
    sshd: PathBuf,
    /// Canonical host paths of the real power commands (bound over inside every machine).
    power_targets: Vec<PathBuf>,
}

fn missing_prerequisites(missing: &[String]) -> ! {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    panic!(
        "netns lab: missing prerequisite(s): {}.\n\
         These tests need root, `ip` (iproute2), `unshare`/`mount` (util-linux), `hostname`, \
         `cmp` (diffutils), `/usr/sbin/sshd` and `ssh-keygen` (OpenSSH).\n\
         Install: `apt-get install -y iproute2 util-linux hostname diffutils openssh-server \
         openssh-client` and run the tests as root.\n{}",
        missing.join(", "),
        if ci {
            "CI=true: this is a failure, not a skip."
        } else {
            "Not skipped: a lab test that cannot run fails."
        }
    )
}

fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let mut missing = Vec::new();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            missing.push("root (effective uid 0)".to_owned());
        }
        let mut need = |name: &str| {
            find_program(name).unwrap_or_else(|| {
                missing.push(format!("`{name}`"));
                PathBuf::from(name)
            })
        };
        let ip = need("ip");
        let unshare = need("unshare");
        need("ssh-keygen");
        need("mount");
        need("hostname");
        need("cmp");
        let sshd = PathBuf::from("/usr/sbin/sshd");
        if !sshd.is_file() {
            missing.push("`/usr/sbin/sshd` (package openssh-server)".to_owned());
        }
        if !missing.is_empty() {
            missing_prerequisites(&missing);
        }
        let mut power_targets: Vec<PathBuf> = Vec::new();
        for dir in ["/sbin", "/usr/sbin", "/bin", "/usr/bin"] {
            for name in boot::POWER_NAMES {
                let Ok(real) = fs::canonicalize(Path::new(dir).join(name)) else {
                    continue;
                };
                let base = real.file_name().and_then(|n| n.to_str()).unwrap_or("");
                assert!(
                    boot::POWER_TARGET_NAMES.contains(&base),
                    "netns lab: {dir}/{name} resolves to {}, which the lab will not bind over; \
                     it cannot fence `reboot` on this host",
                    real.display()
                );
                if !power_targets.contains(&real) {
                    power_targets.push(real);
                }
            }
        }
        Tools {
            ip,
            unshare,
            sshd,
            power_targets,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Small helpers

fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new(&tools().ip)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`ip {}`: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn must_ip(args: &[&str]) -> String {
    ip(args).unwrap_or_else(|e| panic!("netns lab: {e}"))
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence.
    unsafe {
        libc::kill(pid, 0) == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

/// Host pids of the processes whose network namespace is the named one (like `ip netns pids`).
fn netns_pids(ns: &str) -> Vec<i32> {
    let Ok(meta) = fs::metadata(Path::new("/run/netns").join(ns)) else {
        return Vec::new();
    };
    let want = format!("net:[{}]", meta.ino());
    let me = std::process::id() as i32;
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/ns/net"))
                .is_ok_and(|l| l.as_os_str() == want.as_str())
        })
        .collect()
}

/// SIGKILLs every process in the named network namespace until none is left (at most ~10 s).
fn kill_netns_processes(ns: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = netns_pids(ns);
        if pids.is_empty() || Instant::now() > deadline {
            return;
        }
        for pid in pids {
            // SAFETY: plain kill(2) of a pid in the lab's own namespace.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn delete_netns(ns: &str) {
    kill_netns_processes(ns);
    let _ = ip(&["netns", "del", ns]);
}

fn pid_of_name(name: &str) -> Option<i32> {
    name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()
}

/// Best-effort removal of what crashed earlier runs left: `atlab-<pid>-…` namespaces (and their
/// processes) and temp dirs whose pid is no longer alive. Lab::new runs it once per process.
pub fn clean_stale() {
    let me = std::process::id() as i32;
    let dead = |name: &str| pid_of_name(name).is_some_and(|pid| pid != me && !pid_alive(pid));
    if let Ok(dir) = fs::read_dir("/run/netns") {
        for e in dir.flatten() {
            if let Some(name) = e.file_name().to_str()
                && dead(name)
            {
                delete_netns(name);
            }
        }
    }
    for root in [Path::new(LAB_ROOT).to_owned(), std::env::temp_dir()] {
        let Ok(dir) = fs::read_dir(root) else {
            continue;
        };
        for e in dir.flatten() {
            if let Some(name) = e.file_name().to_str()
                && dead(name)
                && e.file_type().is_ok_and(|t| t.is_dir())
            {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// A machine's sshd: the lab's one sshd config on `addr`, port 22, with room for the sessions
/// of many parallel jobs (`MaxSessions 64`).
fn sshd_config(addr: Ipv4Addr, host_key: &Path, authorized_keys: &Path) -> String {
    let mut c = sshd::Config::new(SocketAddr::from((addr, 22)), host_key, authorized_keys);
    c.max_sessions = Some(64);
    c.render()
}

/// The host's kernel release: the default kernel of every lab machine.
fn host_release() -> String {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

fn fresh_uuid() -> String {
    fs::read_to_string("/proc/sys/kernel/random/uuid")
        .expect("read /proc/sys/kernel/random/uuid")
        .trim()
        .to_owned()
}

/// Runs `f` on a new thread that has joined the network namespace open at `ns`.
fn in_netns<T: Send>(ns: &fs::File, f: impl FnOnce() -> T + Send) -> T {
    let fd = ns.as_raw_fd();
    std::thread::scope(|s| {
        s.spawn(move || {
            // SAFETY: setns on a valid namespace fd; it moves only this thread.
            if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
                panic!("netns lab: setns: {}", io::Error::last_os_error());
            }
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

// ---------------------------------------------------------------------------------------------
// Lab

/// Several real machines on this host; see the module docs. Drop tears everything down.
pub struct Lab {
    tag: String,
    subnet: u8,
    server_ns: String,
    server_ns_file: Option<Arc<fs::File>>,
    /// Namespaces created so far, for cleanup (also of a half-built Lab).
    namespaces: Vec<String>,
    machines: Vec<Machine>,
    client_key: PathBuf,
    known_hosts: PathBuf,
    dir: Option<tempfile::TempDir>,
}

impl Lab {
    /// A server namespace with a bridge at 198.18.X.1/24 and `n` machines at 198.18.X.(10+i),
    /// i = 1..=n, each with its sshd listening on port 22. Returns once every machine answers
    /// TCP from the server namespace. Panics (never skips) when a prerequisite is missing.
    pub fn new(n: usize) -> Lab {
        assert!(
            (1..=200).contains(&n),
            "netns lab: 1..=200 machines, not {n}"
        );
        // Prerequisites first: a missing one panics naming it before anything is created.
        tools();
        static STALE: Once = Once::new();
        STALE.call_once(clean_stale);
        let pid = std::process::id();
        let counter = LAB_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{PREFIX}{pid}-{counter}");
        // Distinct per Lab of this process; different processes are separate anyway (every Lab
        // has its own namespaces), so an equal X elsewhere is harmless.
        let subnet = ((u64::from(pid) * 37 + u64::from(counter)) % 256) as u8;
        let dir = tempfile::Builder::new()
            .prefix(&format!("{tag}-"))
            .tempdir_in(LAB_ROOT)
            .unwrap_or_else(|e| panic!("netns lab: create a temp dir in {LAB_ROOT}: {e}"));
        let mut lab = Lab {
            server_ns: format!("{tag}-srv"),
            client_key: dir.path().join("client_ed25519"),
            known_hosts: dir.path().join("known_hosts"),
            tag,
            subnet,
            server_ns_file: None,
            namespaces: Vec::new(),
            machines: Vec::new(),
            dir: Some(dir),
        };
        fs::create_dir_all("/run/sshd").expect("netns lab: mkdir /run/sshd");
        let _ = fs::set_permissions("/run/sshd", fs::Permissions::from_mode(0o755));
        sshd::keygen(&lab.client_key, &format!("{}-client", lab.tag));

        let srv = lab.server_ns.clone();
        lab.add_netns(&srv);
        must_ip(&["-n", &srv, "link", "set", "lo", "up"]);
        must_ip(&["-n", &srv, "link", "add", "br0", "type", "bridge"]);
        must_ip(&[
            "-n",
            &srv,
            "addr",
            "add",
            &format!("{}/24", lab.server_address()),
            "dev",
            "br0",
        ]);
        must_ip(&["-n", &srv, "link", "set", "br0", "up"]);
        let srv_file = Arc::new(
            fs::File::open(Path::new("/run/netns").join(&srv))
                .unwrap_or_else(|e| panic!("netns lab: open /run/netns/{srv}: {e}")),
        );
        lab.server_ns_file = Some(Arc::clone(&srv_file));

        let lab_dir = lab.dir().to_owned();
        let client_pub = lab.client_key.with_extension("pub");
        let mut known_hosts = String::new();
        for i in 1..=n {
            let name = format!("{}-m{i}", lab.tag);
            let addr = Ipv4Addr::new(198, 18, subnet, 10 + i as u8);
            let veth = format!("v{i}");
            let mac = format!("02:18:{subnet:02x}:00:{:02x}:{:02x}", i / 256, i % 256);
            lab.add_netns(&name);
            must_ip(&[
                "-n", &srv, "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns",
                &name,
            ]);
            must_ip(&["-n", &srv, "link", "set", &veth, "master", "br0", "up"]);
            must_ip(&["-n", &name, "link", "set", "lo", "up"]);
            must_ip(&["-n", &name, "link", "set", "eth0", "address", &mac]);
            must_ip(&[
                "-n",
                &name,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ]);
            must_ip(&["-n", &name, "link", "set", "eth0", "up"]);
            // A permanent neighbour entry: a cut machine times out (no ARP failure turning
            // into "No route to host").
            must_ip(&[
                "-n",
                &srv,
                "neigh",
                "replace",
                &addr.to_string(),
                "lladdr",
                &mac,
                "dev",
                "br0",
                "nud",
                "permanent",
            ]);

            let state = lab_dir.join(format!("m{i}"));
            let autodir = state.join("autodir");
            fs::create_dir_all(&autodir).expect("netns lab: mkdir autodir");
            fs::create_dir_all(state.join("ovl")).expect("netns lab: mkdir ovl");
            let host_key = state.join("host_ed25519");
            sshd::keygen(&host_key, &name);
            known_hosts.push_str(&format!(
                "{addr} {}\n",
                sshd::public_key(&host_key.with_extension("pub"))
            ));
            fs::write(
                state.join("sshd_config"),
                sshd_config(addr, &host_key, &client_pub),
            )
            .expect("netns lab: write sshd_config");
            fs::write(state.join("etc-hostname"), format!("{name}\n"))
                .expect("netns lab: write etc-hostname");
            let mut hosts = fs::read_to_string("/etc/hosts")
                .unwrap_or_else(|_| "127.0.0.1\tlocalhost\n".to_owned());
            if !hosts.ends_with('\n') {
                hosts.push('\n');
            }
            hosts.push_str(&format!("{addr}\t{name}\n"));
            fs::write(state.join("etc-hosts"), hosts).expect("netns lab: write etc-hosts");
            for d in ["boot/grub", "usr-lib-up", "usr-lib-work", "tools"] {
                fs::create_dir_all(state.join(d)).expect("netns lab: mkdir kernel dirs");
            }
            fs::write(state.join("boot/grub/grub.cfg"), bootloader::GRUB_CFG)
                .expect("netns lab: write grub.cfg");
            for (tool, text) in bootloader::TOOLS {
                let p = state.join("tools").join(tool);
                fs::write(&p, text).expect("netns lab: write boot tool");
                fs::set_permissions(&p, fs::Permissions::from_mode(0o755))
                    .expect("netns lab: chmod boot tool");
            }
            let power = state.join("power");
            fs::write(&power, boot::power_script(&name, &state))
                .expect("netns lab: write power script");
            fs::set_permissions(&power, fs::Permissions::from_mode(0o755))
                .expect("netns lab: chmod power script");

            lab.machines.push(Machine {
                inner: Arc::new(MachineInner {
                    index: i,
                    name,
                    addr,
                    veth,
                    server_ns: srv.clone(),
                    server_ns_file: Arc::clone(&srv_file),
                    autodir,
                    state,
                    reboot_delay_ms: AtomicU64::new(DEFAULT_REBOOT_DELAY.as_millis() as u64),
                    ignore_boot_entry: AtomicBool::new(false),
                    default_release: Mutex::new(host_release()),
                    status: Mutex::new(Status::default()),
                    changed: Condvar::new(),
                    control: Mutex::new(None),
                }),
            });
        }
        fs::write(&lab.known_hosts, known_hosts).expect("netns lab: write known_hosts");

        // Boot all machines at once, each from its own long-lived supervisor thread (the
        // machine's process dies with the thread that started it: PR_SET_PDEATHSIG).
        let booted: Vec<_> = lab.machines.iter().map(Machine::start_supervisor).collect();
        for (m, rx) in lab.machines.iter().zip(booted) {
            match rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("netns lab: machine {} did not boot: {e}", m.name()),
                Err(_) => panic!("netns lab: supervisor of {} died during boot", m.name()),
            }
        }
        for m in &lab.machines {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !m.port_open(Duration::from_secs(1)) {
                assert!(
                    Instant::now() < deadline,
                    "netns lab: {} ({}) listens but is not reachable from the server namespace",
                    m.name(),
                    m.address()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        lab
    }

    fn add_netns(&mut self, name: &str) {
        let _serial = lock(&NETNS_ADD);
        if let Err(e) = ip(&["netns", "add", name]) {
            panic!(
                "netns lab: cannot create network namespace {name} ({e}). The lab needs root \
                 with CAP_SYS_ADMIN and CAP_NET_ADMIN on a kernel with network namespaces."
            );
        }
        self.namespaces.push(name.to_owned());
    }

    /// `atlab-<pid>-<counter>`: the prefix of every name of this Lab.
    pub fn tag(&self) -> &str {
        &self.tag
    }
    /// The X of 198.18.X.0/24.
    pub fn subnet(&self) -> u8 {
        self.subnet
    }
    /// The server namespace's name (`ip netns exec <it> …`).
    pub fn server_netns(&self) -> &str {
        &self.server_ns
    }
    /// The server side's address on the bridge, 198.18.X.1.
    pub fn server_address(&self) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, self.subnet, 1)
    }
    /// Every network namespace of this Lab, server first.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }
    /// The Lab's temp dir (keys, known_hosts, one state dir per machine).
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("lab dir").path()
    }
    /// The lab's machines, in creation order.
    pub fn machines(&self) -> &[Machine] {
        &self.machines
    }
    /// Machine `i`, counting from 0 (its address ends in 11 + i).
    pub fn machine(&self, i: usize) -> &Machine {
        &self.machines[i]
    }
    /// Addresses of all machines, comma-separated (for `-m`).
    pub fn machine_list(&self) -> String {
        self.machines
            .iter()
            .map(|m| m.address().to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
    /// The client's private key (its public half is every machine's AuthorizedKeysFile).
    pub fn client_key(&self) -> &Path {
        &self.client_key
    }
    /// `<addr> <host key>` for every machine.
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }
    /// `AUTOTEST_SSH_KEY` and `AUTOTEST_SSH_KNOWN_HOSTS` for the code under test:
    /// `cmd.envs(lab.ssh_env())`.
    pub fn ssh_env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            (ENV_SSH_KEY, self.client_key.clone()),
            (ENV_SSH_KNOWN_HOSTS, self.known_hosts.clone()),
        ]
    }
    /// How long a machine that ran `reboot` stays down before its sshd comes back (default 1 s).
    pub fn set_reboot_delay(&self, delay: Duration) {
        for m in &self.machines {
            m.inner
                .reboot_delay_ms
                .store(delay.as_millis() as u64, Ordering::Relaxed);
        }
    }

    fn ns_file(&self) -> &Arc<fs::File> {
        self.server_ns_file.as_ref().expect("server namespace")
    }

    /// Makes `cmd` run in the server namespace, where the machines are reachable: the child
    /// joins it (setns) between fork and exec, which for the network is what `ip netns exec
    /// <srv>` does. Program, arguments, environment and stdio stay as they are.
    pub fn run_in_server<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        let ns = Arc::clone(self.ns_file());
        // SAFETY: the hook only calls setns(2), which is async-signal-safe; the fd stays open
        // as long as the Command holds this closure.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }

    /// Runs `f` on a thread inside the server namespace: sockets it opens (a tokio runtime
    /// built and driven there, say) reach the machines. For in-process tests of client code.
    pub fn in_server<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        in_netns(self.ns_file(), f)
    }

    /// The OpenSSH client as root@machine running `remote` (one sh command line), in the server
    /// namespace, strict host key checking against [`Lab::known_hosts`], 10 s connect timeout.
    pub fn ssh(&self, m: &Machine, remote: &str) -> Command {
        self.ssh_with_timeout(m, Duration::from_secs(10), remote)
    }

    /// Runs a command on the machine over SSH, giving up after the timeout.
    pub fn ssh_with_timeout(
        &self,
        m: &Machine,
        connect_timeout: Duration,
        remote: &str,
    ) -> Command {
        let ssh = find_program("ssh").unwrap_or_else(|| {
            missing_prerequisites(&["`ssh` (package openssh-client)".to_owned()])
        });
        let mut cmd = Command::new(ssh);
        cmd.args(["-F", "none", "-i"])
            .arg(&self.client_key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args([
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "LogLevel=ERROR",
                "-o",
            ])
            .arg(format!(
                "ConnectTimeout={}",
                connect_timeout.as_secs().max(1)
            ))
            .arg(format!("root@{}", m.address()))
            .arg(remote)
            .stdin(Stdio::null());
        self.run_in_server(&mut cmd);
        cmd
    }

    /// [`Lab::ssh`] run to completion.
    pub fn ssh_output(&self, m: &Machine, remote: &str) -> Output {
        self.ssh(m, remote).output().expect("netns lab: run ssh")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for m in &self.machines {
            m.stop_supervisor();
        }
        // Whatever else runs in the lab (the code under test left behind by a failing test)
        // goes too; then the namespaces.
        for ns in self.namespaces.iter().rev() {
            delete_netns(ns);
        }
        self.server_ns_file = None;
        drop(self.dir.take());
    }
}

// ---------------------------------------------------------------------------------------------
// Machine

#[derive(Default)]
struct Status {
    up: bool,
    boot_count: u32,
    boot_id: String,
    release: String,
    release_why: String,
    events: Vec<String>,
}

enum Cmd {
    Kill(mpsc::Sender<()>),
    Restart(mpsc::Sender<Result<(), String>>),
    Stop,
}

struct Control {
    tx: mpsc::Sender<Cmd>,
    thread: JoinHandle<()>,
}

struct MachineInner {
    index: usize,
    name: String,
    addr: Ipv4Addr,
    veth: String,
    server_ns: String,
    server_ns_file: Arc<fs::File>,
    state: PathBuf,
    autodir: PathBuf,
    reboot_delay_ms: AtomicU64,
    /// The boot loader falls back to the default kernel, whatever one-time entry was set.
    ignore_boot_entry: AtomicBool,
    /// The release of the machine's default kernel (the host's).
    default_release: Mutex<String>,
    status: Mutex<Status>,
    changed: Condvar,
    control: Mutex<Option<Control>>,
}

/// One machine of a [`Lab`]; a cheap handle (clone it freely while the Lab lives).
#[derive(Clone)]
pub struct Machine {
    inner: Arc<MachineInner>,
}

impl Machine {
    /// Its network namespace's name, which is also its hostname (`atlab-<pid>-<n>-m<i>`).
    pub fn name(&self) -> &str {
        &self.inner.name
    }
    /// The machine's host name (its own UTS namespace).
    pub fn hostname(&self) -> &str {
        &self.inner.name
    }
    /// Its sshd listens on this address, port 22.
    pub fn address(&self) -> Ipv4Addr {
        self.inner.addr
    }
    /// 1-based number within the Lab.
    pub fn index(&self) -> usize {
        self.inner.index
    }
    /// Host-side directory bound on /usr/local/autotest inside the machine (kept across
    /// reboots and restarts).
    pub fn autodir(&self) -> &Path {
        &self.inner.autodir
    }
    /// Host-side state dir: boot-<n>.log (sshd's stderr per boot), boot_id, keys, config.
    pub fn state_dir(&self) -> &Path {
        &self.inner.state
    }
    /// The boot id the machine shows now (/proc/sys/kernel/random/boot_id in it).
    pub fn boot_id(&self) -> String {
        lock(&self.inner.status).boot_id.clone()
    }
    /// The kernel release the current boot reports (`uname -r` in it): the default kernel's,
    /// or the one a one-time GRUB entry chose (see bootloader.rs).
    pub fn release(&self) -> String {
        lock(&self.inner.status).release.clone()
    }
    /// Why the current boot runs that release ("default kernel", "entry autotest-…", …).
    pub fn release_note(&self) -> String {
        lock(&self.inner.status).release_why.clone()
    }
    /// Host-side directory bound on /boot inside the machine (kept across boots).
    pub fn boot_dir(&self) -> PathBuf {
        self.inner.state.join("boot")
    }
    /// Host-side directory that is /lib/modules inside the machine (kept across boots).
    pub fn modules_dir(&self) -> PathBuf {
        self.inner.state.join("usr-lib-up/modules")
    }
    /// A boot loader that ignores one-time entries: the machine comes back on its default
    /// kernel (to test the check of which kernel came up).
    pub fn set_ignore_boot_entry(&self, ignore: bool) {
        self.inner
            .ignore_boot_entry
            .store(ignore, Ordering::Relaxed);
    }
    /// How many times it has booted: 1 after Lab::new, +1 per reboot or restart.
    pub fn boot_count(&self) -> u32 {
        lock(&self.inner.status).boot_count
    }
    /// Whether its sshd runs (the fixture's view; a cut machine is up).
    pub fn is_up(&self) -> bool {
        lock(&self.inner.status).up
    }
    /// What happened to it, in order: "boot 1 <id>", "down: reboot requested", "boot 2 <id>",
    /// "down: killed", "down: poweroff requested", "down: sshd exited (…)", …
    pub fn events(&self) -> Vec<String> {
        lock(&self.inner.status).events.clone()
    }
    /// sshd's log of the current (or last) boot.
    pub fn log(&self) -> String {
        let n = self.boot_count();
        fs::read_to_string(self.inner.state.join(format!("boot-{n}.log"))).unwrap_or_default()
    }

    /// Waits until the machine has booted `n` times and is up; false on timeout.
    pub fn wait_boot_count(&self, n: u32, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut s = lock(&self.inner.status);
        loop {
            if s.boot_count >= n && s.up {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            s = self
                .inner
                .changed
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Whether a TCP connection to its port 22 from the server namespace succeeds.
    pub fn port_open(&self, timeout: Duration) -> bool {
        let addr = SocketAddr::from((self.inner.addr, 22));
        in_netns(&self.inner.server_ns_file, || {
            TcpStream::connect_timeout(&addr, timeout).is_ok()
        })
    }

    /// The machine dies: its sshd and everything else in it is killed, and it stays down
    /// (connections are refused) until [`Machine::restart`]. Returns once it is down.
    pub fn kill(&self) {
        let (tx, rx) = mpsc::channel();
        self.send(Cmd::Kill(tx));
        rx.recv().expect("netns lab: supervisor gone");
    }

    /// Power cycle: kill it if it runs, then boot it at once with a new boot id. Returns once
    /// its sshd listens again.
    pub fn restart(&self) {
        let (tx, rx) = mpsc::channel();
        self.send(Cmd::Restart(tx));
        if let Err(e) = rx.recv().expect("netns lab: supervisor gone") {
            panic!("netns lab: restart of {} failed: {e}", self.name());
        }
    }

    /// Pulls its cable: the server-side veth goes down; connects time out, nothing is refused.
    pub fn cut(&self) {
        must_ip(&[
            "-n",
            &self.inner.server_ns,
            "link",
            "set",
            &self.inner.veth,
            "down",
        ]);
    }

    /// Plugs the cable back in.
    pub fn heal(&self) {
        must_ip(&[
            "-n",
            &self.inner.server_ns,
            "link",
            "set",
            &self.inner.veth,
            "up",
        ]);
    }

    fn send(&self, cmd: Cmd) {
        let control = lock(&self.inner.control);
        let c = control
            .as_ref()
            .expect("netns lab: the Lab of this machine is gone");
        c.tx.send(cmd).expect("netns lab: supervisor gone");
    }

    fn start_supervisor(&self) -> mpsc::Receiver<Result<(), String>> {
        let (tx, rx) = mpsc::channel();
        let (booted_tx, booted_rx) = mpsc::channel();
        let inner = Arc::clone(&self.inner);
        let thread = std::thread::Builder::new()
            .name(format!("{}-supervisor", self.name()))
            .spawn(move || supervise(&inner, &rx, &booted_tx))
            .expect("netns lab: spawn supervisor");
        *lock(&self.inner.control) = Some(Control { tx, thread });
        booted_rx
    }

    fn stop_supervisor(&self) {
        let control = lock(&self.inner.control).take();
        if let Some(c) = control {
            let _ = c.tx.send(Cmd::Stop);
            let _ = c.thread.join();
        }
    }
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("name", &self.inner.name)
            .field("address", &self.inner.addr)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Supervisor: owns the machine's process (so it dies with this thread at the latest).

fn set_status(m: &MachineInner, f: impl FnOnce(&mut Status)) {
    f(&mut lock(&m.status));
    m.changed.notify_all();
}

fn power_request(m: &MachineInner) -> Option<String> {
    let path = m.state.join("power-request");
    let req = fs::read_to_string(&path).ok()?;
    let _ = fs::remove_file(&path);
    Some(req.trim().to_owned())
}

/// Takes the machine down: its process tree and everything in its netns, then waits for them.
fn down(m: &MachineInner, child: &mut Option<Child>, why: &str) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        kill_netns_processes(&m.name);
        let _ = c.wait();
    }
    kill_netns_processes(&m.name);
    wait_port_closed(m);
    set_status(m, |s| {
        if s.up {
            s.events.push(format!("down: {why}"));
        }
        s.up = false;
    });
}

/// A dying process's sockets close a moment after it leaves its namespaces: wait until the
/// machine's own namespace refuses port 22, so "down" means "connections are refused".
fn wait_port_closed(m: &MachineInner) {
    let Ok(ns) = fs::File::open(Path::new("/run/netns").join(&m.name)) else {
        return;
    };
    let addr = SocketAddr::from((m.addr, 22));
    in_netns(&ns, || {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return,
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
}

fn boot(m: &MachineInner) -> Result<Child, String> {
    let tools = tools();
    let _ = fs::remove_file(m.state.join("power-request"));
    let boot_id = fresh_uuid();
    let n = lock(&m.status).boot_count + 1;
    let boot_id_file = m.state.join("boot_id");
    fs::write(&boot_id_file, format!("{boot_id}\n")).map_err(|e| format!("write boot_id: {e}"))?;
    let default_release = lock(&m.default_release).clone();
    let (release, why) = bootloader::choose_release(
        &m.state.join("boot"),
        &default_release,
        m.ignore_boot_entry.load(Ordering::Relaxed),
    );
    let osrelease_file = m.state.join("osrelease");
    fs::write(&osrelease_file, format!("{release}\n"))
        .map_err(|e| format!("write osrelease: {e}"))?;
    let boot_tools: Vec<&str> = bootloader::TOOLS.iter().map(|(n, _)| *n).collect();
    let log_path = m.state.join(format!("boot-{n}.log"));
    let log =
        fs::File::create(&log_path).map_err(|e| format!("create {}: {e}", log_path.display()))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let script = boot::boot_script(&BootScript {
        hostname: &m.name,
        state: &m.state,
        autodir: &m.autodir,
        boot_id_file: &boot_id_file,
        power: &m.state.join("power"),
        sshd_config: &m.state.join("sshd_config"),
        sshd: &tools.sshd,
        etc_hostname: &m.state.join("etc-hostname"),
        etc_hosts: &m.state.join("etc-hosts"),
        power_targets: &tools.power_targets,
        boot_dir: &m.state.join("boot"),
        usr_lib_upper: &m.state.join("usr-lib-up"),
        usr_lib_work: &m.state.join("usr-lib-work"),
        osrelease_file: &osrelease_file,
        tools_dir: &m.state.join("tools"),
        tools: &boot_tools,
    });
    let _ = fs::write(m.state.join("boot.sh"), &script);
    let mut cmd = Command::new(&tools.ip);
    cmd.args(["netns", "exec", &m.name])
        .arg(&tools.unshare)
        .args([
            "--uts",
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
        ])
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    // SAFETY: prctl(2) only; if this thread ends, the machine ends with it.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("spawn ip netns exec: {e}"))?;
    let deadline = Instant::now() + BOOT_TIMEOUT;
    loop {
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        if text.contains(sshd::READY_LINE) {
            break;
        }
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            kill_netns_processes(&m.name);
            let text = fs::read_to_string(&log_path).unwrap_or_default();
            return Err(match exited {
                Some(st) => {
                    format!("boot {n} exited ({st}) before sshd listened; its log:\n{text}")
                }
                None => format!("sshd did not listen within {BOOT_TIMEOUT:?}; its log:\n{text}"),
            });
        }
        std::thread::sleep(POLL);
    }
    set_status(m, |s| {
        s.up = true;
        s.boot_count = n;
        s.events.push(format!("boot {n} {boot_id}"));
        s.boot_id = boot_id;
        s.release = release;
        s.release_why = why;
    });
    Ok(child)
}

fn supervise(
    m: &MachineInner,
    rx: &mpsc::Receiver<Cmd>,
    booted: &mpsc::Sender<Result<(), String>>,
) {
    let mut child = None;
    match boot(m) {
        Ok(c) => {
            child = Some(c);
            let _ = booted.send(Ok(()));
        }
        Err(e) => {
            let _ = booted.send(Err(e));
        }
    }
    let mut pending_boot: Option<Instant> = None;
    loop {
        match rx.recv_timeout(SUPERVISOR_TICK) {
            Ok(Cmd::Stop) | Err(RecvTimeoutError::Disconnected) => {
                down(m, &mut child, "lab dropped");
                return;
            }
            Ok(Cmd::Kill(reply)) => {
                pending_boot = None;
                down(m, &mut child, "killed");
                let _ = fs::remove_file(m.state.join("power-request"));
                let _ = reply.send(());
            }
            Ok(Cmd::Restart(reply)) => {
                pending_boot = None;
                down(m, &mut child, "restarted");
                let r = boot(m).map(|c| child = Some(c));
                let _ = reply.send(r);
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        // First whether it exited, then the request: the power script writes the request
        // before it stops sshd, so an exit it caused always comes with its request.
        let exited = match child.as_mut() {
            Some(c) => c.try_wait().ok().flatten(),
            None => None,
        };
        match power_request(m) {
            Some(req) if child.is_some() || exited.is_some() => {
                if req == "reboot" {
                    down(m, &mut child, "reboot requested");
                    let delay = Duration::from_millis(m.reboot_delay_ms.load(Ordering::Relaxed));
                    pending_boot = Some(Instant::now() + delay);
                } else {
                    down(m, &mut child, &format!("{req} requested"));
                }
            }
            _ => {
                if let Some(st) = exited {
                    down(m, &mut child, &format!("sshd exited ({st})"));
                }
            }
        }
        if pending_boot.is_some_and(|t| Instant::now() >= t) {
            pending_boot = None;
            match boot(m) {
                Ok(c) => child = Some(c),
                Err(e) => set_status(m, |s| s.events.push(format!("boot failed: {e}"))),
            }
        }
    }
}

/// A stand-in power switch (a PDU cannot be made real here): when `request` appears (the
/// configured hardreset command creates it), power-cycles `machine`. Joins to true if it acted
/// within `timeout`.
pub fn power_switch(machine: Machine, request: PathBuf, timeout: Duration) -> JoinHandle<bool> {
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if request.exists() {
                machine.restart();
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    })
}
