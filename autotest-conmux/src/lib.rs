//! autotest-conmux: the conmux console multiplexer (FORMATS.md section 11).
//!
//! conmux gives every machine's serial console a name: a [`registry`] (TCP 63000) maps names to
//! `host:port`; one [`server`] per console owns the console connection, fans it out to many
//! clients, logs it and runs its `~$` commands; a [`supervisor`] runs a registry and one server
//! per `.cf` file of a directory ([`cf`]); [`client`] resolves names, opens sessions and runs
//! console commands. The wire codec in [`protocol`] is compatible with the legacy Perl
//! `Conmux.pm`, so legacy clients and daemons interoperate with these.

#![warn(missing_docs)]

pub mod cf;
pub mod client;
pub mod protocol;
pub mod registry;
pub mod server;
pub mod supervisor;

pub use cf::{CfError, ConsoleConfig};
pub use client::{ClientError, CommandOutcome, CommandStatus, Session};
pub use protocol::{
    ClientId, ConnectType, MAX_LINE_LEN, ProtocolError, REGISTRY_PORT, Reply, Request, escape,
    unescape,
};
pub use registry::{RegistryError, RegistryServer};
pub use server::{ConsoleServer, ConsoleStatus, Registration, ServerError};
pub use supervisor::{Supervisor, SupervisorError};
