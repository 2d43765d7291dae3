//! The status log (`status.log` on a server, `status` in a client's results): FORMATS §3.

mod code;
mod entry;
mod parse;
mod summary;

pub use code::{StatusCode, UnknownStatusCode};
pub use entry::{EMPTY_FIELD, StatusEntry, StatusLineKind, format_localtime};
pub use parse::{
    DEFAULT_ABORT_REASON, EntryRef, ParseProblem, ParsedEntry, ProblemReason, StatusGroup,
    StatusLog, StatusLogError, StatusLogRef, StatusNode, StatusTree, file_kind,
};
pub use summary::{
    JobSummary, MAX_LINE_BYTES, Summarizer, TestResult, summarize, summarize_file,
    summarize_reader, summarize_ref,
};
