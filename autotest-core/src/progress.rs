//! Progress of long operations, as tracing events for a front end to render (library crates
//! never print). Each event has the target [`PROGRESS_TARGET`], a `task` field naming the
//! operation (`"mirror sync"`), counters such as `files` and `bytes`, the message (what is
//! being worked on now) and, on its last event, `finished = true`.

/// The tracing target of progress events.
pub const PROGRESS_TARGET: &str = "autotest::progress";
