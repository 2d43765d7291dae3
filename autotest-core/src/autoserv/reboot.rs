//! Rebooting a machine and waiting for it: down, then up again with a new boot id.

use std::time::{Duration, Instant};

use crate::transport::{CommandSpec, Transport};

const POLL: Duration = Duration::from_millis(500);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a wait reports its elapsed time (a plain-text log gets a line this often).
const REPORT_EVERY: Duration = Duration::from_secs(5);

/// The progress of one wait for a machine: `elapsed` and `timeout` in seconds, reported when
/// it starts, every [`REPORT_EVERY`], and when it ends.
struct WaitProgress<'a> {
    machine: &'a str,
    what: &'static str,
    timeout: Duration,
    start: Instant,
    reported: Option<Instant>,
}

impl<'a> WaitProgress<'a> {
    fn new(t: &'a dyn Transport, what: &'static str, timeout: Duration) -> Self {
        WaitProgress {
            machine: t.machine(),
            what,
            timeout,
            start: Instant::now(),
            reported: None,
        }
    }

    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Reports the elapsed time when the last report is old enough (or there was none).
    fn tick(&mut self) {
        if self.reported.is_some_and(|r| r.elapsed() < REPORT_EVERY) {
            return;
        }
        self.reported = Some(Instant::now());
        tracing::info!(
            target: crate::progress::PROGRESS_TARGET,
            task = "reboot wait",
            elapsed = self.start.elapsed().as_secs(),
            timeout = self.timeout.as_secs(),
            "{}: {}",
            self.machine,
            self.what
        );
    }

    /// The last event: how the wait ended.
    fn done(&self, outcome: &str) {
        tracing::info!(
            target: crate::progress::PROGRESS_TARGET,
            task = "reboot wait",
            elapsed = self.start.elapsed().as_secs(),
            timeout = self.timeout.as_secs(),
            finished = true,
            "{}: {outcome}",
            self.machine
        );
    }
}

/// The machine's boot id, or None when it does not answer.
pub(crate) async fn boot_id(t: &dyn Transport) -> Option<String> {
    let cmd = CommandSpec::new(["cat", "/proc/sys/kernel/random/boot_id"]).timeout(PROBE_TIMEOUT);
    match t.exec(&cmd, None).await {
        Ok(r) if r.outcome.success() => Some(r.stdout_text().trim().to_owned()),
        _ => None,
    }
}

/// Asks the machine to reboot (detached, so the command returns first) and waits for it to go
/// down and come back with a different boot id. The error says which wait ran out.
pub(crate) async fn reboot_and_wait(
    t: &dyn Transport,
    reboot_command: &[String],
    wait_down: Duration,
    wait_up: Duration,
) -> Result<String, String> {
    let before = boot_id(t)
        .await
        .ok_or_else(|| "the machine stopped answering before the reboot was issued".to_owned())?;
    let mut argv = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        "(sleep 1; exec \"$@\") >/dev/null 2>&1 </dev/null &".to_owned(),
        "sh".to_owned(),
    ];
    argv.extend(reboot_command.iter().cloned());
    // The connection may drop while this returns; whatever happens, the waits below decide.
    let _ = t
        .exec(&CommandSpec::new(argv).timeout(PROBE_TIMEOUT), None)
        .await;
    let mut p = WaitProgress::new(t, "waiting for it to go down", wait_down);
    loop {
        p.tick();
        match boot_id(t).await {
            None => break,
            Some(id) if id != before => {
                p.done("back with a new boot id");
                return Ok(id);
            }
            Some(_) => {}
        }
        if p.elapsed() > wait_down {
            p.done("did not go down");
            return Err(format!(
                "the machine did not go down within {} s of the reboot command",
                wait_down.as_secs()
            ));
        }
        tokio::time::sleep(POLL).await;
    }
    p.done("down");
    let mut p = WaitProgress::new(t, "waiting for it to come back", wait_up);
    loop {
        p.tick();
        if let Some(id) = boot_id(t).await {
            if id != before {
                p.done("back with a new boot id");
                return Ok(id);
            }
        }
        if p.elapsed() > wait_up {
            p.done("did not come back");
            return Err(format!(
                "the machine did not come back within {} s of going down",
                wait_up.as_secs()
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until the machine answers; true when it did within `timeout`.
pub(crate) async fn wait_up(t: &dyn Transport, timeout: Duration) -> bool {
    let mut p = WaitProgress::new(t, "waiting for it to answer", timeout);
    loop {
        p.tick();
        if boot_id(t).await.is_some() {
            p.done("up");
            return true;
        }
        if p.elapsed() > timeout {
            p.done("did not answer");
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until the machine stops answering, or answers with another boot id than `old`; true
/// when that happened within `timeout`.
pub(crate) async fn wait_down(t: &dyn Transport, old: Option<&str>, timeout: Duration) -> bool {
    let mut p = WaitProgress::new(t, "waiting for it to go down", timeout);
    loop {
        p.tick();
        match boot_id(t).await {
            None => {
                p.done("down");
                return true;
            }
            Some(id) if Some(id.as_str()) != old && old.is_some() => {
                p.done("rebooted");
                return true;
            }
            Some(_) => {}
        }
        if p.elapsed() > timeout {
            p.done("did not go down");
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until the machine answers with a boot id other than `old`; true when it did in time.
pub(crate) async fn wait_new_boot(t: &dyn Transport, old: Option<&str>, timeout: Duration) -> bool {
    let mut p = WaitProgress::new(t, "waiting for it to come back", timeout);
    loop {
        p.tick();
        if let Some(id) = boot_id(t).await
            && Some(id.as_str()) != old
        {
            p.done("back with a new boot id");
            return true;
        }
        if p.elapsed() > timeout {
            p.done("did not come back");
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{boot_id, wait_new_boot, wait_up};
    use crate::progress::capture::progress_of;
    use crate::transport::LocalTransport;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_wait_reports_elapsed_of_its_timeout_and_how_it_ended() {
        let t = LocalTransport::new("localhost");
        let (up, events) = progress_of(|| rt().block_on(wait_up(&t, Duration::from_secs(30))));
        assert!(up);
        assert!(events.iter().all(|e| e.task == "reboot wait"), "{events:?}");
        assert_eq!(events[0].counter("timeout"), Some(30), "{events:?}");
        assert!(events[0].counter("elapsed").is_some(), "{events:?}");
        let last = events.last().unwrap();
        assert!(
            last.finished && last.message == "localhost: up",
            "{events:?}"
        );

        // The same boot id never comes back "new": the wait runs out, and says so.
        let now = rt().block_on(boot_id(&t));
        let (back, events) = progress_of(|| {
            rt().block_on(wait_new_boot(
                &t,
                now.as_deref(),
                Duration::from_millis(600),
            ))
        });
        assert!(!back);
        assert!(
            events[0].message == "localhost: waiting for it to come back" && !events[0].finished,
            "{events:?}"
        );
        let last = events.last().unwrap();
        assert!(
            last.finished && last.message == "localhost: did not come back",
            "{events:?}"
        );
    }
}
