//! Core's `MachineAccess` over SSH and conmux.

use std::sync::Arc;

use autotest_core::autoserv::{
    AutoservError, AutoservExit, AutoservRequest, Console, MachineAccess, run_autoserv_process,
};
use autotest_core::config::GlobalConfig;
use autotest_core::transport::TransportFactory;
use autotest_ssh::SshTransportFactory;

use crate::{ConmuxConsole, SshSettings};

/// Machines over SSH (`localhost` stays local), consoles through conmux.
#[derive(Debug, Default, Clone, Copy)]
pub struct LabAccess;

impl MachineAccess for LabAccess {
    fn transports(
        &self,
        config: Option<&GlobalConfig>,
        accept_new_host_keys: bool,
    ) -> Result<Arc<dyn TransportFactory>, AutoservError> {
        let settings = match config {
            Some(c) => SshSettings::from_config(c)?,
            None => SshSettings::default(),
        };
        let options = settings.options(accept_new_host_keys, |k| std::env::var(k).ok());
        Ok(Arc::new(SshTransportFactory::new(options)))
    }

    fn conmux_consoles(&self, registry: &str) -> Result<Arc<dyn Console>, AutoservError> {
        Ok(Arc::new(ConmuxConsole::new(registry)))
    }
}

/// Runs one autoserv job as this process's work, with machines over SSH and consoles through
/// conmux (see `autotest_core::autoserv::run_autoserv_process` for the process contract).
pub fn run_autoserv(req: &AutoservRequest) -> AutoservExit {
    run_autoserv_process(req, &LabAccess)
}
