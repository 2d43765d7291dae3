//! Rebooting a machine and waiting for it: down, then up again with a new boot id.

use std::time::{Duration, Instant};

use crate::transport::{CommandSpec, Transport};

const POLL: Duration = Duration::from_millis(500);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

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
    let start = Instant::now();
    loop {
        match boot_id(t).await {
            None => break,
            Some(id) if id != before => return Ok(id),
            Some(_) => {}
        }
        if start.elapsed() > wait_down {
            return Err(format!(
                "the machine did not go down within {} s of the reboot command",
                wait_down.as_secs()
            ));
        }
        tokio::time::sleep(POLL).await;
    }
    let start = Instant::now();
    loop {
        if let Some(id) = boot_id(t).await {
            if id != before {
                return Ok(id);
            }
        }
        if start.elapsed() > wait_up {
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
    let start = Instant::now();
    loop {
        if boot_id(t).await.is_some() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until the machine stops answering, or answers with another boot id than `old`; true
/// when that happened within `timeout`.
pub(crate) async fn wait_down(t: &dyn Transport, old: Option<&str>, timeout: Duration) -> bool {
    let start = Instant::now();
    loop {
        match boot_id(t).await {
            None => return true,
            Some(id) if Some(id.as_str()) != old && old.is_some() => return true,
            Some(_) => {}
        }
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until the machine answers with a boot id other than `old`; true when it did in time.
pub(crate) async fn wait_new_boot(t: &dyn Transport, old: Option<&str>, timeout: Duration) -> bool {
    let start = Instant::now();
    loop {
        if let Some(id) = boot_id(t).await
            && Some(id.as_str()) != old
        {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}
