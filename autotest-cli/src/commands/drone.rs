//! `autotest drone`: the drone agent the scheduler runs over one SSH exec channel. The protocol
//! and the agent are autotest-core's (`autotest_core::drone`); this only wires stdin/stdout and
//! starts autoserv as this same binary.

use anyhow::Context;
use autotest_core::drone::{AgentConfig, run_agent};
use clap::Args;

/// Arguments of `autotest drone`.
#[derive(Args, Debug)]
#[command(after_help = "\
Speaks the drone line protocol (one JSON object per line) on stdin and stdout until stdin
closes; autoservs it started keep running and are re-attached by the next agent.

Exit status:
  0  stdin closed (the scheduler disconnected)
  1  stdout could not be written, or this binary could not be read for its build id
  2  bad usage")]
pub struct DroneArgs {
    /// Milliseconds between heartbeats (the scheduler marks a silent drone down).
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    heartbeat_ms: u64,
}

pub fn run(a: DroneArgs) -> anyhow::Result<i32> {
    let exe = std::env::current_exe().context("cannot find the autotest binary to run autoserv")?;
    let mut config = AgentConfig::new(exe)?;
    config.heartbeat = std::time::Duration::from_millis(a.heartbeat_ms.max(10));
    let rt = super::runtime()?;
    rt.block_on(run_agent(
        config,
        tokio::io::BufReader::new(tokio::io::stdin()),
        tokio::io::stdout(),
    ))
    .context("autotest drone")?;
    Ok(0)
}
