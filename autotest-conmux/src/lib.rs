//! autotest-conmux: the conmux console multiplexer (FORMATS.md section 11).
//!
//! conmux gives every machine's serial console a name: a registry (TCP 63000) maps names to
//! `host:port`, one daemon per console fans the console out to many clients and logs it. This
//! crate currently holds the foundation, the wire-protocol codec in [`protocol`] (re-exported
//! here), compatible with the legacy Perl `Conmux.pm`. The registry, the console server and the
//! clients (`console`, `conmux-attach`) come with the conmux issue.

#![warn(missing_docs)]

pub mod protocol;

pub use protocol::{
    ClientId, ConnectType, MAX_LINE_LEN, ProtocolError, REGISTRY_PORT, Reply, Request, escape,
    unescape,
};
