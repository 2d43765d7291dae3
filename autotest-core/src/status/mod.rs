//! The status log (`status.log` on a server, `status` in a client's results): FORMATS §3.

mod code;
mod entry;

pub use code::{StatusCode, UnknownStatusCode};
pub use entry::{EMPTY_FIELD, StatusEntry, StatusLineKind, format_localtime};
