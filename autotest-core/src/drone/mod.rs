//! Drones: the machines autoserv runs on for the scheduler. [`run_agent`] is the agent
//! (`autotest drone`) serving the line [`protocol`] on stdin/stdout; [`DroneClient`] is the
//! scheduler's end of one connection to it (over SSH or a local process); [`drone_specs`] and
//! [`choose_drone`] are the configured drones and the choice of one for a new autoserv.

mod agent;
mod client;
mod pool;
pub mod protocol;

pub use agent::{AgentConfig, build_id, manifest, run_agent};
pub use client::{DroneClient, DroneEvent};
pub use pool::{DroneLoad, DroneSpec, choose_drone, drone_specs};

/// Why a drone request or connection failed.
#[derive(Debug, thiserror::Error)]
pub enum DroneError {
    /// Reading or writing failed.
    #[error("cannot {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The connection to the drone is gone.
    #[error("drone {drone}: the connection is gone; the scheduler reconnects and re-attaches")]
    Disconnected {
        /// The drone.
        drone: String,
    },
    /// The agent answered a request with an error.
    #[error("drone {drone}: {message}")]
    Refused {
        /// The drone.
        drone: String,
        /// The agent's message.
        message: String,
    },
    /// The agent answered with something else than the protocol says.
    #[error(
        "drone {drone}: protocol error: {message}; install the scheduler's build of autotest there"
    )]
    Protocol {
        /// The drone.
        drone: String,
        /// What came.
        message: String,
    },
}

#[cfg(test)]
mod tests;
