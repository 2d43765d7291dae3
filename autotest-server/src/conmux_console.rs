//! The conmux-backed `Console` autoserv uses when given `--conmux <registry>`: a machine's
//! console is `<registry>/<host>`; its output is watched read-only (logged into the results)
//! and `hardreset` is the console's configured command of that name.

use std::time::Duration;

use async_trait::async_trait;
use autotest_conmux::client::{self, CommandStatus, Session};
use autotest_conmux::{ClientId, ConnectType};
use autotest_core::autoserv::{Console, ConsoleStream, machine_host};

/// How long a console's `hardreset` command may take.
const HARDRESET_LIMIT: Duration = Duration::from_secs(300);

/// Consoles found through one conmux registry.
#[derive(Debug, Clone)]
pub struct ConmuxConsole {
    registry: String,
}

impl ConmuxConsole {
    /// Consoles registered at `registry` (`host` or `host:port`).
    pub fn new(registry: &str) -> Self {
        ConmuxConsole {
            registry: registry.to_owned(),
        }
    }

    fn target(&self, machine: &str) -> String {
        format!("{}/{}", self.registry, machine_host(machine))
    }

    fn me() -> ClientId {
        ClientId::Bot("autoserv".into())
    }
}

#[async_trait]
impl Console for ConmuxConsole {
    async fn hardreset(&self, machine: &str) -> Result<(), String> {
        let target = self.target(machine);
        let me = Self::me();
        let run = client::run_command(&target, &me, "hardreset", "");
        let outcome = tokio::time::timeout(HARDRESET_LIMIT, run)
            .await
            .map_err(|_| {
                format!(
                    "console {target}: hardreset did not finish within {} s",
                    HARDRESET_LIMIT.as_secs()
                )
            })?
            .map_err(|e| format!("console {target}: {e}"))?;
        match outcome.status {
            CommandStatus::Exited(0) => Ok(()),
            CommandStatus::Exited(c) => Err(format!(
                "console {target}: hardreset exited with {c}: {}",
                outcome.output.trim()
            )),
            CommandStatus::Signal(s) => {
                Err(format!("console {target}: hardreset killed by signal {s}"))
            }
            CommandStatus::NotStarted(why) => Err(format!(
                "console {target}: hardreset could not start: {why}"
            )),
        }
    }

    async fn open_log(&self, machine: &str) -> Result<Option<ConsoleStream>, String> {
        let target = self.target(machine);
        let session = Session::open(&target, &Self::me(), ConnectType::Watch)
            .await
            .map_err(|e| format!("console {target}: {e}"))?;
        Ok(Some(Box::new(session.into_stream())))
    }
}
