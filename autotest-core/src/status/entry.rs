//! One entry of a status log, and how it is written.

use std::fmt;

use chrono::{Local, TimeZone};

use super::code::StatusCode;

/// What kind of line an entry is: the first word(s) of a status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusLineKind {
    /// `START`: opens a group and increments the depth.
    Start,
    /// `INFO`: informational, carries no status.
    Info,
    /// A plain result such as `GOOD` or `FAIL`.
    Status(StatusCode),
    /// `END <code>`: closes the innermost group, written one level out.
    End(StatusCode),
}

impl StatusLineKind {
    /// The status this line carries, if any.
    pub fn code(self) -> Option<StatusCode> {
        match self {
            StatusLineKind::Status(c) | StatusLineKind::End(c) => Some(c),
            StatusLineKind::Start | StatusLineKind::Info => None,
        }
    }
}

impl fmt::Display for StatusLineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusLineKind::Start => f.write_str("START"),
            StatusLineKind::Info => f.write_str("INFO"),
            StatusLineKind::Status(c) => f.write_str(c.as_str()),
            StatusLineKind::End(c) => write!(f, "END {c}"),
        }
    }
}

/// One status log entry: `<CODE>\t<subdir>\t<operation>\t<key=value>...\t<message>`.
///
/// `None` subdir or operation is written as `----`. Fields keep their order; parsers accept any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// The line kind (`START`, `INFO`, `GOOD`, `END FAIL`, ...).
    pub kind: StatusLineKind,
    /// The results subdirectory of the test, if any.
    pub subdir: Option<String>,
    /// The operation (usually the test name, or `reboot`, `reboot.start`, ...).
    pub operation: Option<String>,
    /// `key=value` fields in the order they are written (`timestamp`, `localtime`, `kernel`, ...).
    pub fields: Vec<(String, String)>,
    /// The first line of the message (may be empty).
    pub message: String,
    /// Further message lines, written indented by two spaces and never parsed as entries.
    pub extra_lines: Vec<String>,
}

/// Placeholder written for an empty subdir or operation.
pub const EMPTY_FIELD: &str = "----";

impl StatusEntry {
    /// A new entry without fields. A message with newlines is split into the first line and
    /// extra lines.
    pub fn new(
        kind: StatusLineKind,
        subdir: Option<&str>,
        operation: Option<&str>,
        message: &str,
    ) -> Self {
        let mut lines = message.split('\n');
        let first = lines.next().unwrap_or("").to_owned();
        let extra_lines = lines.map(str::to_owned).collect();
        StatusEntry {
            kind,
            subdir: subdir.filter(|s| !s.is_empty()).map(str::to_owned),
            operation: operation.filter(|s| !s.is_empty()).map(str::to_owned),
            fields: Vec::new(),
            message: first,
            extra_lines,
        }
    }

    /// Adds a `key=value` field (replacing an existing one of the same key).
    pub fn with_field(mut self, key: &str, value: &str) -> Self {
        self.set_field(key, value);
        self
    }

    /// Sets a field in place, keeping the position of an existing key.
    pub fn set_field(&mut self, key: &str, value: &str) {
        match self.fields.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_owned(),
            None => self.fields.push((key.to_owned(), value.to_owned())),
        }
    }

    /// Adds `timestamp=<epoch>` and `localtime=<Mon DD HH:MM:SS>` (local time zone), as every
    /// written entry carries, unless they are already present.
    pub fn stamped(mut self, epoch: i64) -> Self {
        if self.field("timestamp").is_none() {
            self.fields.push(("timestamp".into(), epoch.to_string()));
        }
        if self.field("localtime").is_none() {
            self.fields
                .push(("localtime".into(), format_localtime(epoch)));
        }
        self
    }

    /// The value of a field.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `timestamp` field as epoch seconds.
    pub fn timestamp(&self) -> Option<i64> {
        self.field("timestamp")?.parse().ok()
    }

    /// The whole message: first line and extra lines joined by newlines.
    pub fn full_message(&self) -> String {
        let mut m = self.message.clone();
        for l in &self.extra_lines {
            m.push('\n');
            m.push_str(l);
        }
        m
    }

    /// Renders the entry at `depth` TABs of indentation, with a trailing newline.
    ///
    /// TABs and newlines are removed from subdir, operation and fields (replaced by a space),
    /// a TAB in the message becomes 8 spaces, and extra lines follow indented by two spaces.
    pub fn render(&self, depth: usize) -> String {
        let indent = "\t".repeat(depth);
        let mut out = String::with_capacity(128);
        out.push_str(&indent);
        out.push_str(&self.kind.to_string());
        out.push('\t');
        out.push_str(&clean_field(self.subdir.as_deref().unwrap_or(EMPTY_FIELD)));
        out.push('\t');
        out.push_str(&clean_field(
            self.operation.as_deref().unwrap_or(EMPTY_FIELD),
        ));
        for (k, v) in &self.fields {
            out.push('\t');
            out.push_str(&clean_field(k).replace('=', "_"));
            out.push('=');
            out.push_str(&clean_field(v));
        }
        out.push('\t');
        out.push_str(&clean_message(&self.message));
        out.push('\n');
        for l in &self.extra_lines {
            out.push_str(&indent);
            out.push_str("  ");
            out.push_str(&clean_message(l));
            out.push('\n');
        }
        out
    }
}

/// `Mon DD HH:MM:SS` in the local time zone, as legacy `localtime=` fields are written.
pub fn format_localtime(epoch: i64) -> String {
    match Local.timestamp_opt(epoch, 0).single() {
        Some(t) => t.format("%b %d %H:%M:%S").to_string(),
        None => String::new(),
    }
}

fn clean_field(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

fn clean_message(s: &str) -> String {
    s.replace('\t', "        ").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_legacy() {
        let e = StatusEntry::new(
            StatusLineKind::End(StatusCode::Good),
            None,
            Some("reboot"),
            "",
        )
        .with_field("kernel", "6.6.1-autotest")
        .with_field("timestamp", "1700000060")
        .with_field("localtime", "Nov 14 22:14:20");
        assert_eq!(
            e.render(1),
            "\tEND GOOD\t----\treboot\tkernel=6.6.1-autotest\ttimestamp=1700000060\tlocaltime=Nov 14 22:14:20\t\n"
        );
    }

    #[test]
    fn message_tabs_and_lines() {
        let e = StatusEntry::new(
            StatusLineKind::Status(StatusCode::Fail),
            Some("t"),
            Some("t"),
            "a\tb\nsecond line",
        );
        assert_eq!(
            e.render(2),
            "\t\tFAIL\tt\tt\ta        b\n\t\t  second line\n"
        );
    }
}
