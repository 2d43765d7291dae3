//! Reading a status log: lines into entries ([`StatusLog::parse`]), entries into nested groups
//! with their rolled-up status ([`StatusLog::tree`]), and the `END ABORT` lines that close a log
//! whose groups were left open ([`StatusLog::synthesize_aborts`]).
//!
//! The parser never fails on content: a line it cannot read is recorded as a [`ParseProblem`]
//! (with its 1-based line number) and skipped; only reading a file can fail.

use std::fmt;
use std::path::{Path, PathBuf};

use super::code::StatusCode;
use super::entry::{EMPTY_FIELD, StatusEntry, StatusLineKind, format_localtime};

/// The message of synthesized `END ABORT` lines, and the reason given for a group that was never
/// ended, when nothing better is known (the legacy wording).
pub const DEFAULT_ABORT_REASON: &str = "Autotest client terminated unexpectedly";

/// One entry read from a status log, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEntry {
    /// The entry itself (extra message lines included).
    pub entry: StatusEntry,
    /// Its indentation: the number of leading TABs.
    pub depth: usize,
    /// The 1-based number of its first line in the log.
    pub line: usize,
}

impl ParsedEntry {
    /// Renders the entry again at its own depth (see [`StatusEntry::render`]).
    pub fn render(&self) -> String {
        self.entry.render(self.depth)
    }

    /// The first rendered line, without its newline: how problems quote an entry.
    pub(super) fn first_line(&self) -> String {
        let text = self.render();
        text.split('\n').next().unwrap_or_default().to_owned()
    }
}

/// One entry of a status log borrowed from the log's text, as [`StatusLogRef::parse`] reads it:
/// nothing is copied, and fields and extra message lines are split only when asked for.
/// [`EntryRef::to_parsed`] makes the owned [`ParsedEntry`] when a caller must keep it.
#[derive(Debug, Clone, Copy)]
pub struct EntryRef<'a> {
    /// The line kind (`START`, `INFO`, `GOOD`, `END FAIL`, ...).
    pub kind: StatusLineKind,
    /// The results subdirectory of the test, if any (`----` and empty read as none).
    pub subdir: Option<&'a str>,
    /// The operation, if any.
    pub operation: Option<&'a str>,
    /// The first line of the message (may be empty).
    pub message: &'a str,
    /// Its indentation: the number of leading TABs.
    pub depth: usize,
    /// The 1-based number of its first line in the log.
    pub line: usize,
    /// The `key=value` parts as they stand in the line, TABs between them (empty: none).
    fields: &'a str,
    /// The lines of the extra message lines, from the first to the newline of the last, as they
    /// stand in the log (indentation, empty lines between them and all; empty: none).
    extra: &'a str,
}

impl<'a> EntryRef<'a> {
    /// The `key=value` fields in the order they are written.
    pub fn fields(&self) -> impl Iterator<Item = (&'a str, &'a str)> + use<'a> {
        // Empty spans give one empty part; a real field never is empty (its key is not).
        self.fields
            .split('\t')
            .filter(|part| !part.is_empty())
            .map(|part| part.split_once('=').unwrap_or((part, "")))
    }

    /// The value of a field (the first of that key).
    pub fn field(&self, key: &str) -> Option<&'a str> {
        self.fields().find(|&(k, _)| k == key).map(|(_, v)| v)
    }

    /// The `timestamp` field as epoch seconds.
    pub fn timestamp(&self) -> Option<i64> {
        self.field("timestamp")?.parse().ok()
    }

    /// The further message lines, without their indentation and two spaces.
    pub fn extra_lines(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        // Only empty lines may stand between extra lines (any other line ends the entry).
        self.extra
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.trim_start_matches('\t').get(2..).unwrap_or_default())
    }

    /// The entry as an owned [`StatusEntry`].
    pub fn to_entry(&self) -> StatusEntry {
        StatusEntry {
            kind: self.kind,
            subdir: self.subdir.map(str::to_owned),
            operation: self.operation.map(str::to_owned),
            fields: self
                .fields()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            message: self.message.to_owned(),
            extra_lines: self.extra_lines().map(str::to_owned).collect(),
        }
    }

    /// The entry, its depth and line as an owned [`ParsedEntry`].
    pub fn to_parsed(&self) -> ParsedEntry {
        ParsedEntry {
            entry: self.to_entry(),
            depth: self.depth,
            line: self.line,
        }
    }
}

/// A status log parsed without copying: entries borrowed from its text (see [`EntryRef`]), and
/// the lines that were skipped. [`StatusLogRef::into_owned`] gives the [`StatusLog`] that
/// [`StatusLog::parse`] would.
#[derive(Debug, Clone, Default)]
pub struct StatusLogRef<'a> {
    /// Every entry read, in log order.
    pub entries: Vec<EntryRef<'a>>,
    /// Every line that could not be read, in log order.
    pub problems: Vec<ParseProblem>,
    /// The number of lines in the log.
    pub lines: usize,
}

impl<'a> StatusLogRef<'a> {
    /// Parses the text of a status log as [`StatusLog::parse`] does (the same entries, problems
    /// and line count), borrowing every part of every entry from `text`.
    pub fn parse(text: &'a str) -> StatusLogRef<'a> {
        // A status line is rarely shorter than 48 bytes; reserving for that avoids regrowing.
        let mut entries: Vec<EntryRef<'a>> = Vec::with_capacity(text.len() / 48 + 1);
        let mut problems = Vec::new();
        let mut lines = 0;
        // May an extra message line continue the last entry? Not after a skipped line.
        let mut continues = false;
        // Where the extra lines of the last entry start in `text`.
        let mut extra_start = 0;
        let bytes = text.as_bytes();
        let mut pos = 0;
        // Lines as `str::lines` splits them: at `\n`, without a `\r` before it.
        while pos < bytes.len() {
            let (end, next) = match memchr::memchr(b'\n', &bytes[pos..]) {
                Some(i) => {
                    let newline = pos + i;
                    let end = if i > 0 && bytes[newline - 1] == b'\r' {
                        newline - 1
                    } else {
                        newline
                    };
                    (end, newline + 1)
                }
                None => (bytes.len(), bytes.len()),
            };
            let raw = &text[pos..end];
            lines += 1;
            match classify(raw) {
                RawLine::Empty => {}
                RawLine::Extra => match entries.last_mut() {
                    Some(last) if continues => {
                        if last.extra.is_empty() {
                            extra_start = pos;
                        }
                        last.extra = &text[extra_start..next];
                    }
                    _ => problems.push(ParseProblem::new(
                        lines,
                        raw,
                        ProblemReason::OrphanMessageLine,
                    )),
                },
                RawLine::Entry(mut entry) => {
                    entry.line = lines;
                    entries.push(entry);
                    continues = true;
                }
                RawLine::Bad(reason) => {
                    problems.push(ParseProblem::new(lines, raw, reason));
                    continues = false;
                }
            }
            pos = next;
        }
        StatusLogRef {
            entries,
            problems,
            lines,
        }
    }

    /// The owned log: every entry copied out of the text.
    pub fn into_owned(self) -> StatusLog {
        StatusLog {
            entries: self.entries.iter().map(EntryRef::to_parsed).collect(),
            problems: self.problems,
            lines: self.lines,
        }
    }
}

/// Why a line of a status log could not be used, or what is wrong with the log's nesting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemReason {
    /// The line holds TABs and nothing else.
    #[error("no status code: the line holds only indentation")]
    MissingCode,
    /// The first part is not `START`, `INFO`, a status code or `END <code>`.
    #[error(
        "unknown status code {0:?}: expected START, INFO, END <code> or a code (TEST_NA ABORT ERROR FAIL WARN GOOD BUG ALERT RUNNING NOSTATUS)"
    )]
    UnknownCode(String),
    /// `END` with no status code after it.
    #[error("END without a status code: expected END <code>, such as END GOOD")]
    EndWithoutCode,
    /// Fewer than four TAB-separated parts.
    #[error(
        "too few TAB-separated parts ({found}): expected <CODE>, <subdir>, <operation>, key=value fields, <message> (an empty message still needs its TAB)"
    )]
    TooFewFields {
        /// How many parts the line has.
        found: usize,
    },
    /// A line indented by two spaces (an extra message line) with no entry to continue.
    #[error("extra message line (indented by two spaces) with no status entry before it")]
    OrphanMessageLine,
    /// The line is longer than the reader holds (only from the streaming reader,
    /// [`crate::summarize_file`]); the problem's text is the start of the line.
    #[error(
        "line longer than {limit} bytes: a status line is one entry; split long messages into extra message lines (indented by two spaces)"
    )]
    LineTooLong {
        /// The most bytes a line may hold.
        limit: usize,
    },
    /// Nesting: an `END` line while no group is open. The entry is kept, outside any group.
    #[error("END with no open group: there is no START before it")]
    UnmatchedEnd,
    /// Nesting: a group (reported at its `START` line) was never ended; a later line at a lower
    /// indentation closed it, and it counts as ABORT.
    #[error(
        "group never ended: line {closed_by} is at a lower indentation, so the group was closed as ABORT"
    )]
    GroupNotEnded {
        /// The line whose indentation closed the group.
        closed_by: usize,
    },
}

/// A line of a status log that was skipped (or, from [`StatusLog::tree`], a nesting problem).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParseProblem {
    /// The 1-based line number.
    pub line: usize,
    /// The text of the line (for nesting problems: the entry rendered again).
    pub text: String,
    /// What is wrong with it (in JSON: the message).
    #[serde(serialize_with = "crate::serde_display::text")]
    pub reason: ProblemReason,
}

impl ParseProblem {
    pub(super) fn new(line: usize, text: &str, reason: ProblemReason) -> Self {
        ParseProblem {
            line,
            text: text.to_owned(),
            reason,
        }
    }

    /// This problem as an error naming the file it came from.
    pub fn into_error(self, path: impl AsRef<Path>) -> StatusLogError {
        StatusLogError::Malformed {
            path: path.as_ref().to_path_buf(),
            line: self.line,
            text: self.text,
            reason: self.reason,
        }
    }
}

impl fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {:?}", self.line, self.reason, self.text)
    }
}

/// Errors of reading a status log file.
#[derive(Debug, thiserror::Error)]
pub enum StatusLogError {
    /// The file could not be read.
    #[error("cannot read status log {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The path is not a regular file (a directory, FIFO, socket or device).
    #[error(
        "status log {} is a {kind}, not a regular file: give a status log file (status or status.log) or the results directory holding one",
        path.display()
    )]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is instead ("directory", "FIFO", "character device", ...).
        kind: &'static str,
    },
    /// A line of the file is malformed (see [`StatusLog::into_strict`]).
    #[error("{}:{line}: {reason} (the line is {text:?}): fix or remove the line", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The text of the line.
        text: String,
        /// What is wrong with it.
        reason: ProblemReason,
    },
}

/// A parsed status log: the entries in order, and the lines that were skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusLog {
    /// Every entry read, in log order.
    pub entries: Vec<ParsedEntry>,
    /// Every line that could not be read, in log order.
    pub problems: Vec<ParseProblem>,
    /// The number of lines in the log.
    pub lines: usize,
}

impl StatusLog {
    /// Parses the text of a status log (FORMATS §3).
    ///
    /// Each line is `<TABs><CODE>\t<subdir>\t<operation>\t<key=value>...\t<message>`: the number
    /// of leading TABs is the depth, `----` (or nothing) stands for no subdir or operation, the
    /// last TAB-separated part is always the message (empty after a trailing TAB), and the parts
    /// in between are `key=value` fields in any order (a key is made of letters, digits, `_`, `-`
    /// and `.`). As legacy tko did, a middle part that is not a field starts the message, which
    /// then runs, TABs included, to the end of the line. A line that starts, after its TABs, with
    /// two spaces is an extra message line of the entry before it. Empty lines are ignored;
    /// every other line that cannot be read is recorded in [`StatusLog::problems`] and skipped.
    ///
    /// This copies every part of every entry into owned strings; a caller that only reads the
    /// log while holding its text uses [`StatusLogRef::parse`], which copies nothing.
    pub fn parse(text: &str) -> StatusLog {
        StatusLogRef::parse(text).into_owned()
    }

    /// Parses a status log given as bytes; invalid UTF-8 is replaced by U+FFFD.
    pub fn parse_bytes(bytes: &[u8]) -> StatusLog {
        StatusLog::parse(&String::from_utf8_lossy(bytes))
    }

    /// Reads and parses a status log file (invalid UTF-8 is replaced by U+FFFD). Refuses what
    /// is not a regular file (a FIFO or device would never end). This holds the whole log in
    /// memory: for a log of unknown size, [`crate::summarize_file`] streams it instead.
    pub fn parse_file(path: impl AsRef<Path>) -> Result<StatusLog, StatusLogError> {
        let path = path.as_ref();
        let mut file = open_regular(path)?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes).map_err(|source| {
            StatusLogError::Read {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(StatusLog::parse_bytes(&bytes))
    }

    /// The log itself when no line was skipped, else the first problem as an error naming
    /// `path` (the file the log came from) and the line.
    pub fn into_strict(mut self, path: impl AsRef<Path>) -> Result<StatusLog, StatusLogError> {
        if self.problems.is_empty() {
            Ok(self)
        } else {
            Err(self.problems.swap_remove(0).into_error(path))
        }
    }

    /// Builds the nested groups of the log and rolls their statuses up.
    ///
    /// A `START` opens a group; an `END` closes the innermost open group. Indentation is
    /// checked as legacy tko did: a `START` or result line at depth `d` (an `END` at depth `d`)
    /// while more than `d` (`d + 1`) groups are open means the inner groups were never ended;
    /// they are closed there as ABORT and reported as [`ProblemReason::GroupNotEnded`]. A line
    /// indented deeper than expected simply belongs to the innermost open group, and `INFO`
    /// lines never close groups. Groups still open at the end of the log count as ABORT and are
    /// listed in [`StatusTree::open`].
    pub fn tree(&self) -> StatusTree {
        let mut stack: Vec<OpenGroup> = Vec::new();
        let mut nodes = Vec::new();
        let mut problems = Vec::new();
        for (index, pe) in self.entries.iter().enumerate() {
            let keep = match pe.entry.kind {
                StatusLineKind::Info => usize::MAX,
                StatusLineKind::End(_) => pe.depth + 1,
                StatusLineKind::Start | StatusLineKind::Status(_) => pe.depth,
            };
            while stack.len() > keep {
                let Some(open) = stack.pop() else { break };
                let start = &self.entries[open.group.start];
                problems.push(ParseProblem {
                    line: start.line,
                    text: start.first_line(),
                    reason: ProblemReason::GroupNotEnded { closed_by: pe.line },
                });
                let (group, code) = open.finish(None, StatusCode::Abort);
                attach(&mut stack, &mut nodes, group, Some(code));
            }
            match pe.entry.kind {
                StatusLineKind::Start => stack.push(OpenGroup {
                    group: StatusGroup {
                        start: index,
                        end: None,
                        children: Vec::new(),
                        status: StatusCode::NoStatus,
                    },
                    worst: None,
                }),
                StatusLineKind::End(code) => match stack.pop() {
                    Some(open) => {
                        let (group, code) = open.finish(Some(index), code);
                        attach(&mut stack, &mut nodes, group, Some(code));
                    }
                    None => {
                        problems.push(ParseProblem {
                            line: pe.line,
                            text: pe.first_line(),
                            reason: ProblemReason::UnmatchedEnd,
                        });
                        nodes.push(StatusNode::Entry(index));
                    }
                },
                StatusLineKind::Info => {
                    attach(&mut stack, &mut nodes, StatusNode::Entry(index), None);
                }
                StatusLineKind::Status(code) => {
                    attach(&mut stack, &mut nodes, StatusNode::Entry(index), Some(code));
                }
            }
        }
        let mut open = Vec::with_capacity(stack.len());
        while let Some(group) = stack.pop() {
            open.push(group.group.start);
            let (group, code) = group.finish(None, StatusCode::Abort);
            attach(&mut stack, &mut nodes, group, Some(code));
        }
        open.reverse();
        let mut tree = StatusTree {
            nodes,
            open,
            problems,
            codes: Vec::new(),
        };
        tree.set_codes(self);
        tree
    }

    /// The `END ABORT` lines that close the groups still open at the end of the log, innermost
    /// first, each at the depth of its `START` with that `START`'s subdir and operation.
    ///
    /// The message is `reason`, or [`DEFAULT_ABORT_REASON`] when `None`, as it reads back once
    /// written (TABs become 8 spaces, newlines start extra message lines). As legacy did, the
    /// lines carry the last timestamp of the log (with its `localtime`) when there is one. The
    /// line numbers are those the lines get when appended to the log (whose text ends with a
    /// newline).
    pub fn synthesize_aborts(&self, reason: Option<&str>) -> Vec<ParsedEntry> {
        // As written: a TAB becomes 8 spaces, a newline starts an extra message line.
        let reason = reason
            .unwrap_or(DEFAULT_ABORT_REASON)
            .replace('\t', "        ")
            .replace('\r', " ");
        let timestamp = self.entries.iter().rev().find_map(|e| e.entry.timestamp());
        let tree = self.tree();
        let mut line = self.lines + 1;
        let mut ends = Vec::with_capacity(tree.open.len());
        for &start in tree.open.iter().rev() {
            let start = &self.entries[start];
            let mut entry = StatusEntry::new(
                StatusLineKind::End(StatusCode::Abort),
                start.entry.subdir.as_deref(),
                start.entry.operation.as_deref(),
                &reason,
            );
            if let Some(ts) = timestamp {
                entry.fields.push(("timestamp".to_owned(), ts.to_string()));
                entry
                    .fields
                    .push(("localtime".to_owned(), format_localtime(ts)));
            }
            let lines = 1 + entry.extra_lines.len();
            ends.push(ParsedEntry {
                entry,
                depth: start.depth,
                line,
            });
            line += lines;
        }
        ends
    }

    /// Closes the groups still open with synthesized `END ABORT` lines (see
    /// [`StatusLog::synthesize_aborts`]): appends them to this log and returns their text, ready
    /// to be appended to the log's file. Returns an empty string when no group is open.
    pub fn close_open_groups(&mut self, reason: Option<&str>) -> String {
        let ends = self.synthesize_aborts(reason);
        let mut text = String::new();
        for end in ends {
            text.push_str(&end.render());
            self.lines += 1 + end.entry.extra_lines.len();
            self.entries.push(end);
        }
        text
    }
}

/// A group of a status log: a `START` line, what follows it, and the `END` that closes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusGroup {
    /// Index of the `START` entry in [`StatusLog::entries`].
    pub start: usize,
    /// Index of the `END` entry, or `None` when the group was never ended.
    pub end: Option<usize>,
    /// What the group contains, in log order.
    pub children: Vec<StatusNode>,
    /// The rolled-up status: the worst of the results inside (nested groups included) and of
    /// the `END` code; ABORT (or worse) for a group that was never ended.
    pub status: StatusCode,
}

impl StatusGroup {
    /// The `START` entry of this group in `log` (the log the tree was built from).
    pub fn start_entry<'a>(&self, log: &'a StatusLog) -> &'a ParsedEntry {
        &log.entries[self.start]
    }

    /// The `END` entry of this group in `log`, if it was ended.
    pub fn end_entry<'a>(&self, log: &'a StatusLog) -> Option<&'a ParsedEntry> {
        self.end.map(|i| &log.entries[i])
    }
}

/// One node of a [`StatusTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusNode {
    /// A single `INFO` or result line (or an `END` with no open group): an index into
    /// [`StatusLog::entries`].
    Entry(usize),
    /// A group.
    Group(StatusGroup),
}

/// The nesting of a status log, built by [`StatusLog::tree`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusTree {
    /// The top-level nodes, in log order.
    pub nodes: Vec<StatusNode>,
    /// The `START` entry indices of the groups still open at the end of the log, outermost
    /// first.
    pub open: Vec<usize>,
    /// Nesting problems (an `END` with no group, groups closed by a lower indentation).
    pub problems: Vec<ParseProblem>,
    /// The codes of the top-level nodes, for [`StatusTree::status`].
    codes: Vec<StatusCode>,
}

impl StatusTree {
    /// The status of the whole log: the worst of its top-level results and groups, or
    /// NOSTATUS when it has none.
    pub fn status(&self) -> StatusCode {
        self.codes
            .iter()
            .fold(StatusCode::NoStatus, |acc, &c| acc.worst(c))
    }

    fn set_codes(&mut self, log: &StatusLog) {
        self.codes = self
            .nodes
            .iter()
            .filter_map(|n| match n {
                StatusNode::Entry(i) => log.entries[*i].entry.kind.code(),
                StatusNode::Group(g) => Some(g.status),
            })
            .collect();
    }
}

/// A group being built: the group and the worst code seen inside so far.
struct OpenGroup {
    group: StatusGroup,
    worst: Option<StatusCode>,
}

impl OpenGroup {
    /// Closes the group with its `END` entry (or none, then `code` is ABORT) and its code;
    /// returns the node and its rolled-up status.
    fn finish(mut self, end: Option<usize>, code: StatusCode) -> (StatusNode, StatusCode) {
        self.group.end = end;
        let status = self.worst.map_or(code, |w| w.worst(code));
        self.group.status = status;
        (StatusNode::Group(self.group), status)
    }
}

/// Adds a node to the innermost open group (folding its code into the roll-up) or to the top.
fn attach(
    stack: &mut [OpenGroup],
    nodes: &mut Vec<StatusNode>,
    node: StatusNode,
    code: Option<StatusCode>,
) {
    let Some(open) = stack.last_mut() else {
        nodes.push(node);
        return;
    };
    open.group.children.push(node);
    if let Some(c) = code {
        open.worst = Some(open.worst.map_or(c, |w| w.worst(c)));
    }
}

/// One line of a status log, classified.
pub(super) enum RawLine<'a> {
    /// An empty line: ignored.
    Empty,
    /// An extra message line (two spaces after the indentation): the caller keeps the line.
    Extra,
    /// An entry, with its depth (its line number is the caller's to set).
    Entry(EntryRef<'a>),
    /// A line that cannot be read.
    Bad(ProblemReason),
}

/// Classifies one line (without its newline): shared by [`StatusLogRef::parse`] and the
/// streaming summary so both read a line the same way.
pub(super) fn classify(raw: &str) -> RawLine<'_> {
    if raw.is_empty() {
        return RawLine::Empty;
    }
    let depth = raw.bytes().take_while(|&b| b == b'\t').count();
    let body = &raw[depth..];
    if body.starts_with("  ") {
        return RawLine::Extra;
    }
    match parse_body(body, depth) {
        Ok(entry) => RawLine::Entry(entry),
        Err(reason) => RawLine::Bad(reason),
    }
}

/// Opens `path` for reading if it is a regular file (following symlinks).
pub(super) fn open_regular(path: &Path) -> Result<std::fs::File, StatusLogError> {
    let read = |source| StatusLogError::Read {
        path: path.to_path_buf(),
        source,
    };
    // Check before opening: opening a FIFO for reading blocks until a writer comes.
    let meta = std::fs::metadata(path).map_err(read)?;
    let kind = file_kind(&meta.file_type());
    if kind != "regular file" {
        return Err(StatusLogError::NotRegular {
            path: path.to_path_buf(),
            kind,
        });
    }
    std::fs::File::open(path).map_err(read)
}

/// What a file is, in words, for errors about non-regular files.
pub fn file_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_file() {
        "regular file"
    } else if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else {
        "special file"
    }
}

/// One line from [`LineReader`].
pub(super) struct ReadLine<'a> {
    /// The line's bytes without its newline (and without a `\r` before it), at most the limit.
    pub bytes: &'a [u8],
    /// The line was longer than the limit; `bytes` is its start.
    pub too_long: bool,
}

/// Reads lines holding at most `limit` bytes of each: the rest of an over-long line is skipped,
/// not stored, so memory stays bounded whatever the input. Splits as [`str::lines`] does.
pub(super) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    limit: usize,
}

impl<R: std::io::BufRead> LineReader<R> {
    pub(super) fn new(inner: R, limit: usize) -> Self {
        LineReader {
            inner,
            buf: Vec::new(),
            limit,
        }
    }

    /// The next line, or `None` at the end of the input.
    pub(super) fn next_line(&mut self) -> std::io::Result<Option<ReadLine<'_>>> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        let mut newline = false;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                break;
            }
            any = true;
            let (chunk, used) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    newline = true;
                    (&avail[..i], i + 1)
                }
                None => (avail, avail.len()),
            };
            let room = self.limit.saturating_sub(self.buf.len());
            if chunk.len() > room {
                too_long = true;
            }
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.inner.consume(used);
            if newline {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if newline && !too_long && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(ReadLine {
            bytes: &self.buf,
            too_long,
        }))
    }
}

/// Parses one line after its indentation, in one pass over its bytes, borrowing every part.
fn parse_body(body: &str, depth: usize) -> Result<EntryRef<'_>, ProblemReason> {
    if body.is_empty() {
        return Err(ProblemReason::MissingCode);
    }
    let bytes = body.as_bytes();
    let first_tab = next_tab(bytes, 0);
    let kind = parse_kind(&body[..first_tab.unwrap_or(bytes.len())])?;
    let too_few = || ProblemReason::TooFewFields {
        found: body.matches('\t').count() + 1,
    };
    let t1 = first_tab.ok_or_else(too_few)?;
    let t2 = next_tab(bytes, t1 + 1).ok_or_else(too_few)?;
    let t3 = next_tab(bytes, t2 + 1).ok_or_else(too_few)?;
    // Every part followed by a TAB may be a field; the first that is not (or the last part)
    // starts the message. The fields stay one span, split again only when read.
    let mut pos = t3 + 1;
    while let Some(tab) = next_tab(bytes, pos) {
        if split_field(&body[pos..tab]).is_none() {
            break;
        }
        pos = tab + 1;
    }
    Ok(EntryRef {
        kind,
        subdir: optional_part(&body[t1 + 1..t2]),
        operation: optional_part(&body[t2 + 1..t3]),
        fields: if pos > t3 + 1 {
            &body[t3 + 1..pos - 1]
        } else {
            ""
        },
        message: &body[pos..],
        extra: "",
        depth,
        line: 0,
    })
}

/// The next TAB at or after `from`. Parts are short, so a plain loop beats `memchr` here.
fn next_tab(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == b'\t')
        .map(|p| p + from)
}

fn parse_kind(code: &str) -> Result<StatusLineKind, ProblemReason> {
    match code {
        "START" => Ok(StatusLineKind::Start),
        "INFO" => Ok(StatusLineKind::Info),
        "END" | "END " => Err(ProblemReason::EndWithoutCode),
        _ => match code.strip_prefix("END ") {
            Some(c) => status_code(c).map(StatusLineKind::End),
            None => status_code(code).map(StatusLineKind::Status),
        }
        .ok_or_else(|| ProblemReason::UnknownCode(code.to_owned())),
    }
}

fn status_code(s: &str) -> Option<StatusCode> {
    Some(match s {
        "GOOD" => StatusCode::Good,
        "FAIL" => StatusCode::Fail,
        "ERROR" => StatusCode::Error,
        "ABORT" => StatusCode::Abort,
        "WARN" => StatusCode::Warn,
        "TEST_NA" => StatusCode::TestNa,
        "BUG" => StatusCode::Bug,
        "ALERT" => StatusCode::Alert,
        "RUNNING" => StatusCode::Running,
        "NOSTATUS" => StatusCode::NoStatus,
        _ => return None,
    })
}

/// `key=value` when the part is a field: a non-empty key of letters, digits, `_`, `-`, `.`.
fn split_field(part: &str) -> Option<(&str, &str)> {
    let mut ascii = true;
    for (i, &b) in part.as_bytes().iter().enumerate() {
        match b {
            b'=' if i > 0 => {
                let key = &part[..i];
                let valid = ascii
                    || key
                        .chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
                return valid.then(|| (key, &part[i + 1..]));
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => {}
            0x80.. => ascii = false,
            _ => return None,
        }
    }
    None
}

fn optional_part(s: &str) -> Option<&str> {
    (!s.is_empty() && s != EMPTY_FIELD).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_line_with_fields_in_any_order() {
        let log = StatusLog::parse(
            "\tGOOD\tsub\ttest\tkernel=6.6\ttimestamp=17\tlocaltime=Nov 14 22:13:20\ta=b msg\n",
        );
        assert!(log.problems.is_empty());
        let e = &log.entries[0];
        assert_eq!((e.depth, e.line), (1, 1));
        assert_eq!(e.entry.kind, StatusLineKind::Status(StatusCode::Good));
        assert_eq!(e.entry.subdir.as_deref(), Some("sub"));
        assert_eq!(e.entry.field("kernel"), Some("6.6"));
        assert_eq!(e.entry.timestamp(), Some(17));
        assert_eq!(e.entry.message, "a=b msg");
    }

    #[test]
    fn last_part_is_the_message_even_with_an_equals_sign() {
        let log = StatusLog::parse("INFO\t----\t----\tx=1\ty=2\n");
        let e = &log.entries[0].entry;
        assert_eq!(e.fields, vec![("x".to_owned(), "1".to_owned())]);
        assert_eq!(e.message, "y=2");
        assert_eq!(e.subdir, None);
    }

    #[test]
    fn field_keys() {
        assert_eq!(split_field("kérnel-x.1=v=w"), Some(("kérnel-x.1", "v=w")));
        assert_eq!(split_field("k="), Some(("k", "")));
        assert_eq!(split_field("=v"), None);
        assert_eq!(split_field("a b=c"), None);
        assert_eq!(split_field("a/b=c"), None);
        assert_eq!(split_field("ab"), None);
    }

    #[test]
    fn a_middle_part_that_is_not_a_field_starts_the_message() {
        let log = StatusLog::parse("FAIL\ts\tt\tk=v\tfree text\tz=1\tend\n");
        let e = &log.entries[0].entry;
        assert_eq!(e.fields.len(), 1);
        assert_eq!(e.message, "free text\tz=1\tend");
    }

    #[test]
    fn bad_lines_become_problems() {
        let log =
            StatusLog::parse("END\n\t\t\nPASS\ta\tb\tc\nGOOD\ta\tb\n  orphan\n\nEND \t-\t-\t\n");
        let reasons: Vec<_> = log.problems.iter().map(|p| (p.line, &p.reason)).collect();
        assert_eq!(
            reasons,
            vec![
                (1, &ProblemReason::EndWithoutCode),
                (2, &ProblemReason::MissingCode),
                (3, &ProblemReason::UnknownCode("PASS".into())),
                (4, &ProblemReason::TooFewFields { found: 3 }),
                (5, &ProblemReason::OrphanMessageLine),
                (7, &ProblemReason::EndWithoutCode),
            ]
        );
        assert!(log.entries.is_empty());
        assert_eq!(log.lines, 7);
        assert_eq!(StatusLog::parse(""), StatusLog::default());
    }

    #[test]
    fn open_groups_get_end_abort_innermost_first() {
        let mut log = StatusLog::parse(
            "START\t----\t----\ttimestamp=5\t\n\tSTART\tsub\ttest\ttimestamp=6\t\n\t\tGOOD\tsub\ttest\ttimestamp=7\tok\n",
        );
        let tree = log.tree();
        assert_eq!(tree.open, vec![0, 1]);
        assert_eq!(tree.status(), StatusCode::Abort);
        let ends = log.synthesize_aborts(None);
        assert_eq!(ends.len(), 2);
        assert_eq!((ends[0].depth, ends[0].line), (1, 4));
        assert_eq!(ends[0].entry.operation.as_deref(), Some("test"));
        assert_eq!(ends[0].entry.message, DEFAULT_ABORT_REASON);
        assert_eq!(ends[0].entry.timestamp(), Some(7));
        assert_eq!((ends[1].depth, ends[1].entry.subdir.as_deref()), (0, None));
        let text = log.close_open_groups(Some("killed"));
        assert!(text.starts_with("\tEND ABORT\tsub\ttest\ttimestamp=7\t"));
        assert!(text.ends_with("\tkilled\n"));
        assert!(log.tree().open.is_empty());
        assert_eq!(StatusLog::parse(&text).entries.len(), 2);
    }

    #[test]
    fn lower_indentation_closes_groups_as_abort() {
        let log = StatusLog::parse(
            "START\t----\t----\t\n\tSTART\ts\tt\t\n\t\tGOOD\ts\tt\t\nEND GOOD\t----\t----\t\n",
        );
        let tree = log.tree();
        assert_eq!(tree.problems.len(), 1);
        assert_eq!(tree.problems[0].line, 2);
        assert_eq!(
            tree.problems[0].reason,
            ProblemReason::GroupNotEnded { closed_by: 4 }
        );
        assert_eq!(tree.status(), StatusCode::Abort);
        assert!(tree.open.is_empty());
    }

    #[test]
    fn strict_mode_names_file_and_line() {
        let err = StatusLog::parse("GOOD\ta\n")
            .into_strict("/r/status.log")
            .unwrap_err();
        assert!(
            err.to_string().starts_with("/r/status.log:1: too few"),
            "{err}"
        );
    }
}
