//! Errors and reasons in JSON reports: their message text, the same the terminal shows.

use std::fmt::Display;

use serde::Serializer;

/// Serializes a value as its `Display` text.
pub(crate) fn text<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// Serializes an optional value as its `Display` text, or null.
pub(crate) fn opt_text<T: Display, S: Serializer>(
    value: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}
