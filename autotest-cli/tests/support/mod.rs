//! Fixtures shared by the integration tests of this crate (`mod support;` in a test file).
//!
//! [`netns::Lab`]: several real "machines" on this one host, each a network namespace running a
//! real OpenSSH sshd with its own hostname, boot id, autodir and a fenced `reboot`. Needs root,
//! `ip`, `unshare` and `/usr/sbin/sshd`; panics (never skips) when one is missing.
#![allow(dead_code)]

pub mod netns;
mod sshd;

#[allow(unused_imports)]
pub use netns::{Lab, Machine};
