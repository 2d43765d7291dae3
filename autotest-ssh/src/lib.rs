//! autotest-ssh: autotest-core's [`Transport`](autotest_core::transport::Transport) over SSH
//! (russh).
//!
//! - [`SshTransport`]: one machine (`[user@]host[:port]`). One connection, opened on first use
//!   and shared by every command; at most [`SshOptions::max_sessions`] channels at once (OpenSSH
//!   allows 10 per connection); keepalive; connect and authentication timeouts; a dropped
//!   connection is re-opened by the next command, while a command that was running on it ends
//!   as [`ExitOutcome::Unknown`](autotest_core::transport::ExitOutcome::Unknown), never as a
//!   success.
//! - Host keys are checked against `known_hosts` ([`HostKeyPolicy`]); keys come from identity
//!   files and ssh-agent.
//! - Files move through `cat` on one channel; directory trees as one tar stream on one channel.
//! - [`SshPool`] hands out one shared [`SshTransport`] per machine; [`SshTransportFactory`] is
//!   the [`TransportFactory`](autotest_core::transport::TransportFactory) for front ends.
//!
//! Remote commands run under the login shell, which must be a POSIX shell (as
//! [`CommandSpec::to_shell`](autotest_core::transport::CommandSpec::to_shell) assumes); every
//! word of a command line is quoted with [`autotest_core::transport::quote_arg`].
//!
//! Stopping commands: each command line starts by printing the login shell's pid on stderr
//! behind a marker (cut out of the stderr the caller sees); the shell then `exec`s the command,
//! which so keeps that pid, and sshd made it the leader of a new session and process group. On
//! a timeout ([`TransportError::Timeout`](autotest_core::transport::TransportError::Timeout)), a
//! local failure while streaming, or when the caller drops the `exec` future, the channel is
//! closed and a short second command on the same connection runs `kill -9 -<pgid>` and, where
//! `pkill` exists, `pkill -9 -s <sid>`, so background jobs die too. When the connection itself
//! is lost the command's fate is unknown and it is left alone: the caller decides what to do
//! after reconnecting.

#![warn(missing_docs)]

mod connection;
mod errors;
mod exec;
mod known_hosts;
mod options;
mod pool;
mod transfer;
mod transport;

pub use options::{HostKeyPolicy, SshOptions, SshTarget};
pub use pool::{SshPool, SshTransportFactory};
pub use transport::SshTransport;
