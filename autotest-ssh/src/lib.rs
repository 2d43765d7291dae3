//! autotest-ssh: the SSH implementation of autotest-core's `Transport` (russh).
//!
//! The queue-server issue fills this crate: one pooled connection per machine within the
//! server's session limit, exec with streamed output and a real exit status (code, signal or
//! unknown), tree transfer as one tar stream, `known_hosts` checking, keys and agent, keepalive
//! and timeouts. The client job runtime of the foundation issue runs locally and needs none of it,
//! so the crate deliberately exports nothing yet: the workspace layout is fixed from the start so
//! later issues do not move code around.
