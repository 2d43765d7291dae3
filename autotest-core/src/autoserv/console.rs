//! Consoles: how autoserv power-cycles a machine that does not come back from a reboot.
//!
//! The conmux issue implements [`Console`] over conmux's `hardreset` command; here the trait and
//! [`CommandConsole`], which runs a configured local command (a PDU or BMC script, or
//! `conmux-attach <registry>/<machine> hardreset`) with the machine's name.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncRead;

use crate::transport::{CommandSpec, LocalTransport, Transport};

/// A machine's console output as it happens.
pub type ConsoleStream = Box<dyn AsyncRead + Send + Unpin>;

/// A machine's console: power-cycles it, and (where the console can show output) streams what
/// the machine prints, which autoserv logs into the results.
#[async_trait]
pub trait Console: Send + Sync + std::fmt::Debug {
    /// Power-cycles `machine`; the error says why it could not.
    async fn hardreset(&self, machine: &str) -> Result<(), String>;

    /// `machine`'s console output from now on; `None` when this console has no output to show
    /// (a power switch). The stream ends when the console connection drops; autoserv opens it
    /// again.
    async fn open_log(&self, _machine: &str) -> Result<Option<ConsoleStream>, String> {
        Ok(None)
    }
}

/// Runs a local command to reset a machine: every `{machine}` in the argument vector is
/// replaced by the machine's name (host part, without user and port).
#[derive(Debug, Clone)]
pub struct CommandConsole {
    argv: Vec<String>,
    timeout: Duration,
}

impl CommandConsole {
    /// A console from a command line split into words (no shell is involved), ready to hand
    /// to `AutoservOptions::console`.
    pub fn shared(argv: Vec<String>) -> Arc<dyn Console> {
        Arc::new(CommandConsole {
            argv,
            timeout: Duration::from_secs(120),
        })
    }
}

/// `[user@]host[:port]` → `host`: the name a machine's console goes by.
pub fn host_part(machine: &str) -> &str {
    let m = machine.rsplit_once('@').map_or(machine, |(_, h)| h);
    if let Some(rest) = m.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match m.matches(':').count() {
        1 => m.split(':').next().unwrap_or(m),
        _ => m,
    }
}

#[async_trait]
impl Console for CommandConsole {
    async fn hardreset(&self, machine: &str) -> Result<(), String> {
        if self.argv.is_empty() {
            return Err("the hardreset command is empty".into());
        }
        let host = host_part(machine);
        let argv: Vec<String> = self
            .argv
            .iter()
            .map(|a| a.replace("{machine}", host))
            .collect();
        let cmd = CommandSpec::new(argv.clone()).timeout(self.timeout);
        let r = LocalTransport::new("localhost")
            .exec(&cmd, None)
            .await
            .map_err(|e| format!("hardreset command {argv:?}: {e}"))?;
        if r.outcome.success() {
            Ok(())
        } else {
            Err(format!(
                "hardreset command {argv:?} ended with {}: {}",
                r.outcome,
                r.stderr_text().trim()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::host_part;

    #[test]
    fn host_part_of_machine_names() {
        assert_eq!(host_part("root@box:2222"), "box");
        assert_eq!(host_part("box"), "box");
        assert_eq!(host_part("198.18.0.11"), "198.18.0.11");
        assert_eq!(host_part("[fe80::1]:22"), "fe80::1");
        assert_eq!(host_part("fe80::1"), "fe80::1");
    }
}
