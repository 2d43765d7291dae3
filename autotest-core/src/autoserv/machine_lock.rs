//! One job at a time on a machine, whoever asks: a lock kept on the machine itself.
//!
//! Every job on a machine shares its autodir (`<autodir>/control`, `<autodir>/results/default`,
//! the installed client), and a job may reboot the machine: two jobs at once corrupt each other.
//! So autoserv holds `<autodir>/.machine-lock/` for the whole job. Being on the machine, the lock
//! is seen by every queue monitor, every autoserv started by hand and every server sharing the
//! machine, and it survives the machine's reboots (a process-held lock would not).
//!
//! - Taken with an atomic `mkdir`; the holder is described in `owner` (`key=value` lines: server,
//!   its boot id, autoserv's pid and start, the results directory, and a random token).
//! - The holder touches `owner` every [`HEARTBEAT`] while the machine answers.
//! - A lock is stale, and broken by the next job, when its holder is an autoserv of this server
//!   that is no longer running (a killed autoserv), or, for another server's lock, when `owner`
//!   has not been touched for longer than any reboot may take ([`LockPolicy::stale_after`]).
//! - Released at the end of the job only by the holder (the token must match).
//!
//! A job that must wait says so once per holder through the caller's notice, and polls.

use std::sync::Arc;
use std::time::Duration;

use super::AbortSignal;
use crate::transport::{CommandSpec, Transport};

/// Name of the lock directory inside the machine's autodir.
pub(crate) const LOCK_DIR: &str = ".machine-lock";

/// How often the holder refreshes the lock.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// An `owner` file missing this long after its `mkdir` was left by a crash in between.
const OWNERLESS_STALE: Duration = Duration::from_secs(60);

/// How long a lock of another server may go untouched before it is taken for dead.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LockPolicy {
    pub stale_after: Duration,
    pub first_poll: Duration,
    pub max_poll: Duration,
}

impl LockPolicy {
    /// Longer than a reboot may take (down, then up), plus a margin.
    pub(crate) fn for_reboots(wait_down: Duration, wait_up: Duration) -> LockPolicy {
        LockPolicy {
            stale_after: wait_down + wait_up + Duration::from_secs(600),
            first_poll: Duration::from_millis(100),
            max_poll: Duration::from_secs(2),
        }
    }
}

/// Who holds (or asks for) a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LockOwner {
    pub server: String,
    pub boot: String,
    pub pid: u32,
    pub started: u64,
    pub results: String,
    pub token: String,
}

impl LockOwner {
    /// This autoserv process, running the job whose results are in `results`.
    pub(crate) fn this_process(results: &std::path::Path) -> LockOwner {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let pid = std::process::id();
        LockOwner {
            server: crate::process::hostname(),
            boot: crate::job::current_boot_id().unwrap_or_default(),
            pid,
            started: crate::process::start_time(pid)
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(now.as_secs(), |d| d.as_secs()),
            results: results.display().to_string(),
            token: format!("{:x}{:08x}{:x}", now.as_nanos(), pid, rand_word()),
        }
    }

    fn render(&self) -> String {
        format!(
            "server={}\nboot={}\npid={}\nstarted={}\nresults={}\ntoken={}\n",
            one_line(&self.server),
            one_line(&self.boot),
            self.pid,
            self.started,
            one_line(&self.results),
            self.token
        )
    }

    fn parse(text: &str) -> Option<LockOwner> {
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
                .map(str::to_owned)
        };
        Some(LockOwner {
            server: get("server")?,
            boot: get("boot").unwrap_or_default(),
            pid: get("pid")?.parse().ok()?,
            started: get("started")?.parse().ok()?,
            results: get("results").unwrap_or_default(),
            token: get("token")?,
        })
    }

    /// How a waiting job names the holder.
    pub(crate) fn describe(&self) -> String {
        format!(
            "autoserv pid {} on {} (results {})",
            self.pid, self.server, self.results
        )
    }

    /// True when the holder is an autoserv of this server (same host, same boot) that is gone.
    fn is_dead_local(&self, me: &LockOwner) -> bool {
        if self.server != me.server || self.boot.is_empty() || self.boot != me.boot {
            return false;
        }
        match crate::process::start_time(self.pid) {
            None => true,
            // A younger process with the same pid is not the holder.
            Some(t) => t
                .duration_since(std::time::UNIX_EPOCH)
                .is_ok_and(|d| d.as_secs() > self.started + 2),
        }
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// A few random bits from the kernel, for the token (no crate needed for so little).
fn rand_word() -> u64 {
    std::fs::read("/proc/sys/kernel/random/uuid")
        .ok()
        .map(|b| {
            b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
                (h ^ c as u64).wrapping_mul(0x100_0000_01b3)
            })
        })
        .unwrap_or(0)
}

/// Why a lock was not had.
#[derive(Debug)]
pub(crate) enum LockError {
    /// The job was aborted while it waited.
    Aborted(String),
    /// The machine did not let the lock be taken (a command failed).
    Machine(String),
}

/// The lock of one machine, held until [`MachineLock::release`].
pub(crate) struct MachineLock {
    t: Arc<dyn Transport>,
    dir: String,
    token: String,
    heartbeat: tokio::task::JoinHandle<()>,
    _gate: Option<std::fs::File>,
}

impl std::fmt::Debug for MachineLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MachineLock({}:{})", self.t.machine(), self.dir)
    }
}

/// What the machine said to a request.
enum Answer {
    Acquired,
    Held {
        age: Duration,
        owner: Option<LockOwner>,
        raw: String,
    },
}

const ACQUIRE: &str = r#"if mkdir "$1" 2>/dev/null; then
  printf '%s' "$2" > "$1/owner.new" && mv -f "$1/owner.new" "$1/owner" && echo acquired && exit 0
  rm -rf "$1"; exit 3
fi
now=$(date +%s)
m=$(stat -c %Y "$1/owner" 2>/dev/null || stat -c %Y "$1" 2>/dev/null || echo "$now")
echo "held $((now - m))"
cat "$1/owner" 2>/dev/null
exit 0"#;

/// Breaks a stale lock, only if it is still the one judged stale (same token, or still no owner).
const BREAK: &str = r#"cur=$(sed -n 's/^token=//p' "$1/owner" 2>/dev/null)
[ "$cur" = "$2" ] || exit 1
mv "$1" "$1.stale.$$" 2>/dev/null || exit 1
rm -rf "$1.stale.$$""#;

const RELEASE: &str = r#"cur=$(sed -n 's/^token=//p' "$1/owner" 2>/dev/null)
[ "$cur" = "$2" ] && rm -rf "$1""#;

const TOUCH: &str = r#"cur=$(sed -n 's/^token=//p' "$1/owner" 2>/dev/null)
[ "$cur" = "$2" ] && touch "$1/owner""#;

async fn run(
    t: &dyn Transport,
    script: &str,
    dir: &str,
    arg: &str,
) -> Result<crate::transport::ExecResult, String> {
    let cmd =
        CommandSpec::new(["sh", "-c", script, "sh", dir, arg]).timeout(Duration::from_secs(60));
    t.exec(&cmd, None).await.map_err(|e| e.to_string())
}

async fn ask(t: &dyn Transport, dir: &str, me: &LockOwner) -> Result<Answer, String> {
    let r = run(t, ACQUIRE, dir, &me.render()).await?;
    if !r.outcome.success() {
        return Err(format!(
            "cannot take the machine lock {dir}: {} {}",
            r.outcome,
            r.stderr_text().trim()
        ));
    }
    let out = r.stdout_text();
    let mut lines = out.splitn(2, '\n');
    let first = lines.next().unwrap_or("").trim();
    if first == "acquired" {
        return Ok(Answer::Acquired);
    }
    let Some(age) = first
        .strip_prefix("held ")
        .and_then(|a| a.trim().parse::<i64>().ok())
    else {
        return Err(format!(
            "unexpected answer to the machine lock {dir}: {out:?}"
        ));
    };
    let raw = lines.next().unwrap_or("").to_owned();
    Ok(Answer::Held {
        age: Duration::from_secs(age.max(0) as u64),
        owner: LockOwner::parse(&raw),
        raw,
    })
}

/// The flock of this server's jobs on one machine and autodir, or `None` when the lock file
/// cannot be had (then only the machine's own lock orders the jobs).
async fn local_gate(
    t: &dyn Transport,
    autodir: &str,
    dir: &str,
    notice: &(dyn Fn(String) + Send + Sync),
    told: &mut Option<String>,
    abort: &mut AbortSignal,
) -> Result<Option<std::fs::File>, LockError> {
    use std::os::fd::AsRawFd;
    let gates = std::env::temp_dir().join("autotest-machine-locks");
    let key = format!("{}\n{autodir}", t.machine());
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, c| {
        (h ^ c as u64).wrapping_mul(0x100_0000_01b3)
    });
    let name: String = t
        .machine()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let path = gates.join(format!("{name}-{hash:016x}.lock"));
    let file = std::fs::create_dir_all(&gates).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
    });
    let file = match file {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "no local machine lock; the machine's own lock alone orders the jobs");
            return Ok(None);
        }
    };
    loop {
        // SAFETY: flock on a descriptor we own; it only sets an advisory lock.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(Some(file));
        }
        if let Some(reason) = abort.borrow().clone() {
            return Err(LockError::Aborted(reason));
        }
        if told.is_none() {
            // Say once who holds the machine (read from the machine's lock).
            let owner = run(t, "cat \"$1/owner\" 2>/dev/null; true", dir, "")
                .await
                .ok()
                .and_then(|r| LockOwner::parse(&r.stdout_text()));
            let holder =
                owner.map_or_else(|| "another job of this server".to_owned(), |o| o.describe());
            notice(format!(
                "waiting for machine {}: another job holds it: {holder}, lock {dir}",
                t.machine()
            ));
            *told = Some(holder);
        }
        let mut abort2 = abort.clone();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = abort2.changed() => {}
        }
    }
}

/// Takes the lock of the machine behind `t` (autodir `autodir`), waiting while another job holds
/// it. `notice` is told once per holder why the job waits.
pub(crate) async fn acquire(
    t: Arc<dyn Transport>,
    autodir: &str,
    me: &LockOwner,
    policy: LockPolicy,
    notice: &(dyn Fn(String) + Send + Sync),
    abort: &mut AbortSignal,
) -> Result<MachineLock, LockError> {
    let dir = format!("{autodir}/{LOCK_DIR}");
    let mut told: Option<String> = None;
    // Jobs of this server queue on a local flock first: waiting costs a system call, not a
    // command on the machine, and the next job starts as soon as the last one lets go.
    let mut gate = local_gate(t.as_ref(), autodir, &dir, notice, &mut told, abort).await?;
    let mut poll = policy.first_poll;
    loop {
        if let Some(reason) = abort.borrow().clone() {
            return Err(LockError::Aborted(reason));
        }
        match ask(t.as_ref(), &dir, me)
            .await
            .map_err(LockError::Machine)?
        {
            Answer::Acquired => {
                let heartbeat = {
                    let (t, dir, token) = (Arc::clone(&t), dir.clone(), me.token.clone());
                    tokio::spawn(async move {
                        loop {
                            tokio::time::sleep(HEARTBEAT).await;
                            // A machine that is rebooting does not answer: the next beat will.
                            if let Ok(r) = run(t.as_ref(), TOUCH, &dir, &token).await {
                                if !r.outcome.success() {
                                    tracing::warn!(
                                        machine = t.machine(),
                                        lock = dir,
                                        "the machine lock was taken away from this job"
                                    );
                                }
                            }
                        }
                    })
                };
                return Ok(MachineLock {
                    t,
                    dir,
                    token: me.token.clone(),
                    heartbeat,
                    _gate: gate.take(),
                });
            }
            Answer::Held { age, owner, raw } => {
                let stale = match &owner {
                    Some(o) if o.token == me.token => true,
                    Some(o) => o.is_dead_local(me) || age > policy.stale_after,
                    None => age > OWNERLESS_STALE,
                };
                if stale {
                    let token = owner.as_ref().map(|o| o.token.clone()).unwrap_or_default();
                    let why = match &owner {
                        Some(o) if o.is_dead_local(me) => {
                            format!("{} is no longer running", o.describe())
                        }
                        Some(o) => format!(
                            "{} has not refreshed it for {} s",
                            o.describe(),
                            age.as_secs()
                        ),
                        None => format!("it has had no owner for {} s", age.as_secs()),
                    };
                    tracing::warn!(
                        machine = t.machine(),
                        lock = dir,
                        why,
                        "breaking a stale machine lock"
                    );
                    notice(format!(
                        "{}: took over the machine lock {dir}: {why}",
                        t.machine()
                    ));
                    let _ = run(t.as_ref(), BREAK, &dir, &token).await;
                    continue;
                }
                let holder = owner.as_ref().map_or_else(
                    || format!("an unknown holder ({})", raw.trim()),
                    LockOwner::describe,
                );
                if told.as_deref() != Some(holder.as_str()) {
                    notice(format!(
                        "waiting for machine {}: another job holds it: {holder}, lock {dir}",
                        t.machine()
                    ));
                    told = Some(holder);
                }
                let mut abort2 = abort.clone();
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = abort2.changed() => {}
                }
                poll = (poll * 2).min(policy.max_poll);
            }
        }
    }
}

impl MachineLock {
    /// Gives the machine back (only if this job still holds it).
    pub(crate) async fn release(self) {
        self.heartbeat.abort();
        if let Err(e) = run(self.t.as_ref(), RELEASE, &self.dir, &self.token).await {
            tracing::warn!(
                machine = self.t.machine(),
                lock = self.dir,
                error = e,
                "could not release the machine lock; the next job breaks it once this autoserv is gone"
            );
        }
    }
}

impl Drop for MachineLock {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// Why a machine of the job is not held for it.
#[derive(Debug)]
pub(crate) enum NotHeld {
    /// No transport to it.
    Unreachable(crate::transport::TransportError),
    /// It does not answer, has no usable autodir, or refused the lock.
    Lost(String),
    /// The job was aborted while it waited for the machine.
    Aborted(String),
}

/// The job's machines, reached and locked for it, and the locks to give back at its end.
pub(crate) struct HeldMachines {
    pub machines: std::collections::HashMap<String, Result<Arc<dyn Transport>, NotHeld>>,
    locks: Vec<MachineLock>,
}

impl HeldMachines {
    /// Gives every machine back.
    pub(crate) async fn release(self) {
        for l in self.locks {
            l.release().await;
        }
    }
}

/// Opens and locks every machine of the job, one after the other in name order (so that two
/// jobs sharing machines never each hold one the other waits for). A machine that must wait is
/// said once per holder in `<results>/debug/machine-wait` and in the log.
pub(crate) async fn hold_machines(
    opts: &super::AutoservOptions,
    factory: &dyn crate::transport::TransportFactory,
    abort: &AbortSignal,
) -> HeldMachines {
    let me = LockOwner::this_process(&opts.resultsdir);
    let policy = LockPolicy::for_reboots(opts.wait_down, opts.wait_up);
    let results = crate::results::JobResults::new(&opts.resultsdir);
    let wait_file = results.machine_wait();
    let notice = move |text: String| {
        tracing::info!("{text}");
        let _ = std::fs::create_dir_all(wait_file.parent().unwrap_or(std::path::Path::new(".")));
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&wait_file)
        {
            use std::io::Write;
            let _ = writeln!(f, "{text}");
        }
    };
    let mut order: Vec<&String> = opts.machines.iter().collect();
    order.sort();
    order.dedup();
    let mut held = HeldMachines {
        machines: std::collections::HashMap::new(),
        locks: Vec::new(),
    };
    let mut abort = abort.clone();
    for m in order {
        let got = async {
            let t = factory.open(m).map_err(NotHeld::Unreachable)?;
            t.ping()
                .await
                .map_err(|e| NotHeld::Lost(format!("machine unreachable: {e}")))?;
            let autodir = super::install::choose_autodir(t.as_ref(), &opts.autodir_paths)
                .await
                .map_err(NotHeld::Lost)?;
            let lock = acquire(Arc::clone(&t), &autodir, &me, policy, &notice, &mut abort)
                .await
                .map_err(|e| match e {
                    LockError::Aborted(r) => NotHeld::Aborted(r),
                    LockError::Machine(why) => NotHeld::Lost(why),
                })?;
            Ok::<_, NotHeld>((t, lock))
        }
        .await;
        let entry = match got {
            Ok((t, lock)) => {
                held.locks.push(lock);
                Ok(t)
            }
            Err(e) => Err(e),
        };
        held.machines.insert(m.clone(), entry);
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;

    fn policy() -> LockPolicy {
        LockPolicy {
            stale_after: Duration::from_secs(3600),
            first_poll: Duration::from_millis(10),
            max_poll: Duration::from_millis(50),
        }
    }

    fn no_abort() -> (tokio::sync::watch::Sender<Option<String>>, AbortSignal) {
        tokio::sync::watch::channel(None)
    }

    #[test]
    fn owner_round_trips() {
        let me = LockOwner::this_process(std::path::Path::new("/r/q-job"));
        assert_eq!(LockOwner::parse(&me.render()), Some(me.clone()));
        assert!(!me.is_dead_local(&me));
        let dead = LockOwner {
            pid: 0x7fff_fff0,
            ..me.clone()
        };
        assert!(dead.is_dead_local(&me));
        let other_server = LockOwner {
            server: "elsewhere".into(),
            ..dead
        };
        assert!(!other_server.is_dead_local(&me));
    }

    #[tokio::test]
    async fn a_second_job_waits_until_the_first_releases() {
        let autodir = tempfile::tempdir().unwrap();
        let autodir_s = autodir.path().display().to_string();
        let t: Arc<dyn Transport> = Arc::new(LocalTransport::new("localhost"));
        let (_tx, mut abort) = no_abort();
        let a = LockOwner::this_process(std::path::Path::new("/r/a"));
        let lock = acquire(
            Arc::clone(&t),
            &autodir_s,
            &a,
            policy(),
            &|_| {},
            &mut abort,
        )
        .await
        .unwrap();
        let b = LockOwner::this_process(std::path::Path::new("/r/b"));
        let notices = Arc::new(std::sync::Mutex::new(Vec::new()));
        let waiter = {
            let (t, dir, notices) = (Arc::clone(&t), autodir_s.clone(), Arc::clone(&notices));
            let mut abort = abort.clone();
            tokio::spawn(async move {
                let n = move |s: String| notices.lock().unwrap().push(s);
                acquire(t, &dir, &b, policy(), &n, &mut abort)
                    .await
                    .map(|l| l.token.clone())
            })
        };
        // The waiter says why it waits before it gets the machine.
        while notices.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!waiter.is_finished());
        let said = notices.lock().unwrap()[0].clone();
        assert!(
            said.contains("waiting for machine localhost") && said.contains("/r/a"),
            "{said}"
        );
        lock.release().await;
        let token = waiter.await.unwrap().unwrap();
        let owner = std::fs::read_to_string(autodir.path().join(LOCK_DIR).join("owner")).unwrap();
        assert!(
            owner.contains(&format!("token={token}")) && owner.contains("results=/r/b"),
            "{owner}"
        );
    }

    #[tokio::test]
    async fn the_lock_of_a_dead_autoserv_is_broken_and_an_abort_stops_the_wait() {
        let autodir = tempfile::tempdir().unwrap();
        let dir = autodir.path().join(LOCK_DIR);
        let me = LockOwner::this_process(std::path::Path::new("/r/me"));
        std::fs::create_dir(&dir).unwrap();
        let dead = LockOwner {
            pid: 0x7fff_fff0,
            token: "dead".into(),
            ..me.clone()
        };
        std::fs::write(dir.join("owner"), dead.render()).unwrap();
        let t: Arc<dyn Transport> = Arc::new(LocalTransport::new("localhost"));
        let (_tx, mut abort) = no_abort();
        let notes = std::sync::Mutex::new(Vec::new());
        let n = |s: String| notes.lock().unwrap().push(s);
        let lock = acquire(
            Arc::clone(&t),
            &autodir.path().display().to_string(),
            &me,
            policy(),
            &n,
            &mut abort,
        )
        .await
        .unwrap();
        assert!(
            notes.lock().unwrap()[0].contains("is no longer running"),
            "{:?}",
            notes.lock().unwrap()
        );
        // Held by a live job of another server: an abort ends the wait.
        let other = LockOwner::this_process(std::path::Path::new("/r/other"));
        let (tx, mut abort) = no_abort();
        let dir_s = autodir.path().display().to_string();
        let wait = tokio::spawn(async move {
            acquire(t, &dir_s, &other, policy(), &|_| {}, &mut abort)
                .await
                .map(|_| ())
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send(Some("Job aborted".into())).unwrap();
        assert!(matches!(wait.await.unwrap(), Err(LockError::Aborted(_))));
        lock.release().await;
        assert!(!dir.exists());
    }

    #[tokio::test]
    async fn another_servers_lock_is_waited_for_until_it_goes_unrefreshed_too_long() {
        let autodir = tempfile::tempdir().unwrap();
        let dir = autodir.path().join(LOCK_DIR);
        std::fs::create_dir(&dir).unwrap();
        let me = LockOwner::this_process(std::path::Path::new("/r/me"));
        let theirs = LockOwner {
            server: "server2".into(),
            pid: 1,
            token: "theirs".into(),
            ..me.clone()
        };
        std::fs::write(dir.join("owner"), theirs.render()).unwrap();
        let t: Arc<dyn Transport> = Arc::new(LocalTransport::new("localhost"));
        let (_tx, mut abort) = no_abort();
        let notes = std::sync::Mutex::new(Vec::<String>::new());
        let n = |s: String| notes.lock().unwrap().push(s);
        let short = LockPolicy {
            stale_after: Duration::from_secs(5),
            ..policy()
        };
        // Fresh: waited for, and the wait names the other server's job.
        let autodir_s = autodir.path().display().to_string();
        let r = tokio::time::timeout(
            Duration::from_millis(300),
            acquire(Arc::clone(&t), &autodir_s, &me, short, &n, &mut abort),
        )
        .await;
        assert!(
            r.is_err(),
            "a fresh lock of another server must be waited for"
        );
        assert!(
            notes
                .lock()
                .unwrap()
                .iter()
                .any(|s| s.contains("on server2")),
            "{:?}",
            notes.lock().unwrap()
        );
        // Untouched for longer than a reboot may take: broken, and the job gets the machine.
        std::fs::File::options()
            .write(true)
            .open(dir.join("owner"))
            .unwrap()
            .set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
            .unwrap();
        let lock = acquire(Arc::clone(&t), &autodir_s, &me, short, &n, &mut abort)
            .await
            .unwrap();
        assert!(
            notes
                .lock()
                .unwrap()
                .iter()
                .any(|s| s.contains("has not refreshed it")),
            "{:?}",
            notes.lock().unwrap()
        );
        let owner = std::fs::read_to_string(dir.join("owner")).unwrap();
        assert!(owner.contains(&format!("token={}", me.token)), "{owner}");
        lock.release().await;
    }
}
