//! The supervisor: a registry plus one console server per `<name>.cf` in a directory. It polls
//! the directory, starts a server for a new file, restarts one whose file changed, stops one
//! whose file was removed, and keeps `conmux.status` current ([`status`]). A `.cf` that does
//! not parse is reported `failed` with the parser's message and retried when it changes.
//!
//! One name, one console: a `.cf` whose listener name (at the same registry) is already served
//! by another `.cf` of the directory is not started; it is reported `failed` naming that file,
//! and started once that file no longer holds the name. A console whose registry refuses it
//! (another live server elsewhere has the name) is stopped and reported `failed` with the
//! registry's reason, and retried when its file changes.

pub mod status;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cf::{CfError, ConsoleConfig, Listener};
use crate::registry::{RegistryError, RegistryServer};
use crate::server::{ConsoleServer, Registration, ServerError};
pub use status::{ConsoleLine, StatusReport};

/// How often the directory is looked at and the status file rewritten.
pub const POLL: Duration = Duration::from_secs(1);

/// Why the supervisor stopped or its status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// The registry could not start.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The config directory could not be read.
    #[error("{}: cannot read the config directory: {source}", path.display())]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The status file could not be written or read.
    #[error("{}: status file: {source}; fix: is `autotest conmux start` running on this directory?", path.display())]
    StatusFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The status file is malformed.
    #[error("{}:{line}: malformed status file: {why}; fix: restart `autotest conmux start`", path.display())]
    BadStatus {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        why: String,
    },
}

struct Console {
    content: Vec<u8>,
    title: String,
    /// The registry (`host:port`) and name a named listener claims.
    claim: Option<(String, String)>,
    outcome: Result<ConsoleServer, Failure>,
}

struct Failure {
    why: String,
    /// The console of this directory that holds the claim: retried once it no longer does.
    behind: Option<String>,
}

impl Failure {
    fn new(why: impl Into<String>) -> Self {
        Self {
            why: why.into(),
            behind: None,
        }
    }
}

fn claim_of(cfg: &ConsoleConfig) -> Option<(String, String)> {
    match &cfg.listener {
        Listener::Registered { registry, name } => Some((
            crate::client::registry_address(registry.as_deref()),
            name.clone(),
        )),
        Listener::Port(_) => None,
    }
}

/// Runs a registry and the consoles of one directory.
pub struct Supervisor {
    dir: PathBuf,
    registry: RegistryServer,
    consoles: BTreeMap<String, Console>,
}

impl Supervisor {
    /// Starts the registry on `registry_addr` with its store `store`.
    pub async fn start(
        dir: &Path,
        registry_addr: SocketAddr,
        store: &Path,
    ) -> Result<Self, SupervisorError> {
        std::fs::read_dir(dir).map_err(|source| SupervisorError::Dir {
            path: dir.to_owned(),
            source,
        })?;
        let registry = RegistryServer::start(registry_addr, store).await?;
        Ok(Self {
            dir: dir.to_owned(),
            registry,
            consoles: BTreeMap::new(),
        })
    }

    /// The registry's address.
    pub fn registry_addr(&self) -> SocketAddr {
        self.registry.local_addr()
    }

    /// Brings the running consoles in line with the directory, then writes the status file.
    pub async fn reconcile(&mut self) -> Result<(), SupervisorError> {
        let found = self.scan()?;
        let gone: Vec<String> = self
            .consoles
            .keys()
            .filter(|n| !found.contains_key(*n))
            .cloned()
            .collect();
        for name in gone {
            tracing::info!("{name}: config removed, stopping");
            self.stop(&name).await;
        }
        self.drop_refused().await;
        for (name, (path, content)) in found {
            if self
                .consoles
                .get(&name)
                .is_some_and(|c| c.content == content && !self.may_retry(c))
            {
                continue;
            }
            if self.stop(&name).await {
                tracing::info!("{name}: config changed or its name freed, restarting");
            }
            let text = String::from_utf8_lossy(&content);
            let (title, claim, outcome) = match ConsoleConfig::parse(&path, &text) {
                Ok(cfg) => {
                    let claim = claim_of(&cfg);
                    let outcome = match self.holder_of(&name, claim.as_ref()) {
                        Some(f) => Err(f),
                        None => start_server(cfg.clone()).await.map_err(Failure::new),
                    };
                    (cfg.title, claim, outcome)
                }
                Err(e) => (String::new(), None, Err(Failure::new(e.to_string()))),
            };
            if let Err(e) = &outcome {
                tracing::error!("{name}: {}", e.why);
            }
            self.consoles.insert(
                name,
                Console {
                    content,
                    title,
                    claim,
                    outcome,
                },
            );
        }
        self.write_status()
    }

    /// Removes a console, waiting until its server has stopped; whether there was one.
    async fn stop(&mut self, name: &str) -> bool {
        match self.consoles.remove(name) {
            Some(Console {
                outcome: Ok(server),
                ..
            }) => {
                server.stop().await;
                true
            }
            Some(_) => true,
            None => false,
        }
    }

    /// Stops the servers whose registry refused them, keeping the reason.
    async fn drop_refused(&mut self) {
        for (name, console) in self.consoles.iter_mut() {
            let Ok(server) = &console.outcome else {
                continue;
            };
            if let Registration::Refused(why) = server.registration() {
                tracing::error!("{name}: {why}; stopped");
                let failed = std::mem::replace(&mut console.outcome, Err(Failure::new(why)));
                if let Ok(server) = failed {
                    server.stop().await;
                }
            }
        }
    }

    /// Whether a console that failed for a name held by another `.cf` may start: the holder
    /// runs no more under that name.
    fn may_retry(&self, c: &Console) -> bool {
        match &c.outcome {
            Err(Failure {
                behind: Some(holder),
                ..
            }) => !self
                .consoles
                .get(holder)
                .is_some_and(|h| h.outcome.is_ok() && h.claim.is_some() && h.claim == c.claim),
            _ => false,
        }
    }

    /// The failure of `name` when another running console of the directory has its claim.
    fn holder_of(&self, name: &str, claim: Option<&(String, String)>) -> Option<Failure> {
        let claim = claim?;
        let (holder, c) = self.consoles.iter().find(|(n, c)| {
            n.as_str() != name && c.outcome.is_ok() && c.claim.as_ref() == Some(claim)
        })?;
        let at = match &c.outcome {
            Ok(server) => server.local_addr().to_string(),
            Err(_) => "-".into(),
        };
        Some(Failure {
            why: format!(
                "listener {}/{} is already served by {holder}.cf (running at {at}); fix: give \
                 one of them another listener name, or remove one",
                claim.0, claim.1
            ),
            behind: Some(holder.clone()),
        })
    }

    /// Reconciles every [`POLL`] until an error.
    pub async fn run(mut self) -> Result<(), SupervisorError> {
        loop {
            self.reconcile().await?;
            tokio::time::sleep(POLL).await;
        }
    }

    fn scan(&self) -> Result<BTreeMap<String, (PathBuf, Vec<u8>)>, SupervisorError> {
        let dir_err = |source| SupervisorError::Dir {
            path: self.dir.clone(),
            source,
        };
        let mut found = BTreeMap::new();
        for entry in std::fs::read_dir(&self.dir).map_err(dir_err)? {
            let path = entry.map_err(dir_err)?.path();
            if path.extension().is_some_and(|e| e == "cf") && path.is_file() {
                // A file removed between listing and reading counts as removed.
                if let Ok(content) = std::fs::read(&path) {
                    found.insert(ConsoleConfig::file_stem(&path), (path, content));
                }
            }
        }
        Ok(found)
    }

    fn write_status(&self) -> Result<(), SupervisorError> {
        let lines: Vec<ConsoleLine> = self
            .consoles
            .iter()
            .map(|(name, c)| match &c.outcome {
                Ok(server) => {
                    let s = server.status();
                    ConsoleLine {
                        name: name.clone(),
                        state: "running".into(),
                        address: s.address.to_string(),
                        channel: s.state.as_str().into(),
                        clients: s.clients,
                        writer: s.writer.unwrap_or_else(|| "-".into()),
                        detail: c.title.clone(),
                    }
                }
                Err(e) => ConsoleLine {
                    name: name.clone(),
                    state: "failed".into(),
                    address: "-".into(),
                    channel: "-".into(),
                    clients: 0,
                    writer: "-".into(),
                    detail: e.why.clone(),
                },
            })
            .collect();
        status::write(&self.dir, &self.registry.local_addr().to_string(), &lines)
    }
}

/// Starts a server; a fixed port still held by the server just stopped (its tasks end
/// asynchronously) is retried for a second.
async fn start_server(cfg: ConsoleConfig) -> Result<ConsoleServer, String> {
    let mut tries = 0;
    loop {
        match ConsoleServer::start(cfg.clone()).await {
            Err(ServerError::Bind { source, .. })
                if source.kind() == std::io::ErrorKind::AddrInUse && tries < 10 =>
            {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            r => return r.map_err(|e| e.to_string()),
        }
    }
}

/// Parses every `.cf` of `dir` without starting anything: the errors, one per bad file.
pub fn check_dir(dir: &Path) -> Result<Vec<CfError>, SupervisorError> {
    let dir_err = |source| SupervisorError::Dir {
        path: dir.to_owned(),
        source,
    };
    let mut errors = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(dir_err)? {
        let path = entry.map_err(dir_err)?.path();
        if path.extension().is_some_and(|e| e == "cf") {
            if let Err(e) = ConsoleConfig::load(&path) {
                errors.push(e);
            }
        }
    }
    Ok(errors)
}
