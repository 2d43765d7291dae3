//! What a status log says about a job: its tests, their results and the kernels they ran on.

use std::path::Path;

use super::code::StatusCode;
use super::entry::StatusLineKind;
use super::parse::{
    DEFAULT_ABORT_REASON, EntryRef, LineReader, ParseProblem, ParsedEntry, ProblemReason, RawLine,
    StatusGroup, StatusLog, StatusLogError, StatusLogRef, StatusNode, classify, open_regular,
};

/// The result of one test, as read from a status log (`autotest status --json`'s `tests`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TestResult {
    /// The test's name: the operation of its `START` (its subdir when there is no operation).
    pub name: String,
    /// The results subdirectory, if any.
    pub subdir: Option<String>,
    /// The rolled-up status: the worst of everything inside the test's group; ABORT (or worse)
    /// when the group was never ended.
    pub status: StatusCode,
    /// Why: the message of the first line inside with the test's status (nested `END` lines
    /// included), else of the `END` line; [`DEFAULT_ABORT_REASON`] for a group never ended
    /// when nothing inside says more. Only the first line of a message.
    pub reason: String,
    /// The `timestamp` of the `START` line (none for a standalone result line).
    pub started: Option<i64>,
    /// The `timestamp` of the `END` line (of the line itself for a standalone result line).
    pub finished: Option<i64>,
    /// The kernel the test ran on: a `kernel=` field on the test's own `END` or `START` line
    /// or, failing those, on a result line directly inside it; else the kernel of the last
    /// successful reboot (`END <code> ---- reboot kernel=...` with
    /// a code better than FAIL) or `INFO` line with `kernel=` before the test ended.
    pub kernel: Option<String>,
    /// The 1-based line of the test's `START` (or of its result line).
    pub line: usize,
}

/// What a status log says about the job that wrote it (the shape of `autotest status --json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobSummary {
    /// The tests, in the order they started (a test nested in another follows it).
    pub tests: Vec<TestResult>,
    /// The job's status: the worst of everything in the log; NOSTATUS for an empty log.
    pub status: StatusCode,
    /// The kernel of the last successful reboot (or `INFO` with `kernel=`), if any.
    pub kernel: Option<String>,
    /// The lines that could not be read and the nesting problems, by line.
    pub problems: Vec<ParseProblem>,
    /// How many groups were still open at the end of the log (each counts as ABORT).
    pub open_groups: usize,
}

impl JobSummary {
    /// How many tests did not pass ([`StatusCode::is_failure`]): the count a pidfile records.
    pub fn failed(&self) -> usize {
        self.tests.iter().filter(|t| t.status.is_failure()).count()
    }
}

/// Summarizes a parsed status log: its tests, their results, and the job's status.
///
/// A test is a group whose `START` has an operation other than `reboot` and is not a job-level
/// group (`START ---- ----`); tests nested in tests are listed too. A result line with a subdir
/// or an operation that sits at job level (outside any test or reboot group) is a test as well,
/// as legacy server logs write some tests without `START`. Groups left open count as ABORT with
/// the reason [`DEFAULT_ABORT_REASON`].
pub fn summarize(log: &StatusLog) -> JobSummary {
    let tree = log.tree();
    let mut walker = Walker {
        log,
        kernel: None,
        tests: Vec::new(),
    };
    walker.walk(&tree.nodes, Scope::Job);
    let status = tree.status();
    let open_groups = tree.open.len();
    let mut problems = log.problems.clone();
    problems.extend(tree.problems);
    problems.sort_by_key(|p| p.line);
    JobSummary {
        tests: walker.tests,
        status,
        kernel: walker.kernel,
        problems,
        open_groups,
    }
}

/// Summarizes a log parsed without copying ([`StatusLogRef::parse`]): the same summary as
/// [`summarize`] of the owned log, in one pass over the entries without building the tree.
pub fn summarize_ref(log: &StatusLogRef<'_>) -> JobSummary {
    let mut summarizer = Summarizer::default();
    for &entry in &log.entries {
        summarizer.entry(entry);
    }
    summarizer.problems.extend(log.problems.iter().cloned());
    summarizer.finish()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// At job level: result lines with a subdir or operation are tests.
    Job,
    /// Inside a test or a reboot: result lines belong to it.
    Inside,
}

struct Walker<'a> {
    log: &'a StatusLog,
    kernel: Option<String>,
    tests: Vec<TestResult>,
}

impl Walker<'_> {
    fn walk(&mut self, nodes: &[StatusNode], scope: Scope) {
        for node in nodes {
            match node {
                StatusNode::Entry(i) => self.entry(&self.log.entries[*i], scope),
                StatusNode::Group(g) => self.group(g, scope),
            }
        }
    }

    fn entry(&mut self, pe: &ParsedEntry, scope: Scope) {
        let e = &pe.entry;
        match e.kind {
            StatusLineKind::Info => {
                if let Some(k) = e.field("kernel") {
                    self.kernel = Some(k.to_owned());
                }
            }
            StatusLineKind::Status(code) if scope == Scope::Job => {
                let Some(name) = e.operation.as_ref().or(e.subdir.as_ref()) else {
                    return;
                };
                self.tests.push(TestResult {
                    name: name.clone(),
                    subdir: e.subdir.clone(),
                    status: code,
                    reason: e.message.clone(),
                    started: None,
                    finished: e.timestamp(),
                    kernel: e.field("kernel").map(str::to_owned).or(self.kernel.clone()),
                    line: pe.line,
                });
            }
            _ => {}
        }
    }

    /// The first `kernel=` field of a result line directly inside a test.
    fn inner_kernel(&self, nodes: &[StatusNode]) -> Option<&str> {
        nodes.iter().find_map(|n| match n {
            StatusNode::Entry(i) => {
                let e = &self.log.entries[*i].entry;
                matches!(e.kind, StatusLineKind::Status(_))
                    .then(|| e.field("kernel"))
                    .flatten()
            }
            StatusNode::Group(_) => None,
        })
    }

    fn group(&mut self, g: &StatusGroup, scope: Scope) {
        let start = g.start_entry(self.log);
        let end = g.end_entry(self.log);
        let (subdir, operation) = (&start.entry.subdir, &start.entry.operation);
        match operation.as_deref() {
            None if subdir.is_none() => self.walk(&g.children, scope),
            Some("reboot") => {
                self.walk(&g.children, Scope::Inside);
                let booted = end
                    .filter(|_| !g.status.is_failure())
                    .and_then(|end| end.entry.field("kernel").or(start.entry.field("kernel")));
                if let Some(k) = booted {
                    self.kernel = Some(k.to_owned());
                }
            }
            _ => {
                let index = self.tests.len();
                let name = operation.as_ref().or(subdir.as_ref()).cloned();
                self.tests.push(TestResult {
                    name: name.unwrap_or_default(),
                    subdir: subdir.clone(),
                    status: g.status,
                    reason: String::new(),
                    started: start.entry.timestamp(),
                    finished: end.and_then(|e| e.entry.timestamp()),
                    kernel: None,
                    line: start.line,
                });
                self.walk(&g.children, Scope::Inside);
                let own_kernel = end
                    .and_then(|e| e.entry.field("kernel"))
                    .or(start.entry.field("kernel"))
                    .or_else(|| self.inner_kernel(&g.children))
                    .map(str::to_owned);
                let test = &mut self.tests[index];
                test.kernel = own_kernel.or(self.kernel.clone());
                test.reason = reason(self.log, g);
            }
        }
    }
}

/// The reason of a group's status (see [`TestResult::reason`]).
fn reason(log: &StatusLog, g: &StatusGroup) -> String {
    if let Some(m) = first_message(log, &g.children, g.status) {
        return m.to_owned();
    }
    match g.end_entry(log) {
        Some(end) => end.entry.message.clone(),
        None => DEFAULT_ABORT_REASON.to_owned(),
    }
}

/// The first non-empty message of a result (or nested `END`) line with `code`, in log order.
fn first_message<'a>(
    log: &'a StatusLog,
    nodes: &[StatusNode],
    code: StatusCode,
) -> Option<&'a str> {
    nodes.iter().find_map(|node| match node {
        StatusNode::Entry(i) => message_if(&log.entries[*i], code),
        StatusNode::Group(g) => first_message(log, &g.children, code)
            .or_else(|| g.end_entry(log).and_then(|e| message_if(e, code))),
    })
}

fn message_if(pe: &ParsedEntry, code: StatusCode) -> Option<&str> {
    let e = &pe.entry;
    (e.kind.code() == Some(code) && !e.message.is_empty()).then_some(e.message.as_str())
}

/// The most bytes [`summarize_file`] holds of one line (1 MiB): a longer line is reported as
/// [`ProblemReason::LineTooLong`] and skipped, so a huge or endless line cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How much of an over-long line its problem quotes.
const QUOTED_BYTES: usize = 200;

/// Summarizes a status log file without holding it in memory: reads it line by line (each line
/// bounded by [`MAX_LINE_BYTES`]) and keeps only the open groups and the tests found. Gives the
/// same summary as [`summarize`] of [`StatusLog::parse_file`], plus a problem for each over-long
/// line. Refuses what is not a regular file.
pub fn summarize_file(path: impl AsRef<Path>) -> Result<JobSummary, StatusLogError> {
    let path = path.as_ref();
    let file = open_regular(path)?;
    summarize_reader(
        std::io::BufReader::with_capacity(64 * 1024, file),
        MAX_LINE_BYTES,
    )
    .map_err(|source| StatusLogError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Summarizes a status log read from `reader`, holding at most `max_line` bytes of a line (see
/// [`summarize_file`]). Fails only when reading fails.
pub fn summarize_reader<R: std::io::BufRead>(
    reader: R,
    max_line: usize,
) -> std::io::Result<JobSummary> {
    let mut lines = LineReader::new(reader, max_line);
    let mut summarizer = Summarizer::default();
    while let Some(line) = lines.next_line()? {
        if line.too_long {
            let quoted = &line.bytes[..line.bytes.len().min(QUOTED_BYTES)];
            let text = format!("{}...", String::from_utf8_lossy(quoted));
            summarizer.skip_line(&text, ProblemReason::LineTooLong { limit: max_line });
        } else {
            summarizer.feed_line(&String::from_utf8_lossy(line.bytes));
        }
    }
    Ok(summarizer.finish())
}

/// Builds a [`JobSummary`] one line at a time, keeping only what is still needed: the open
/// groups (with the first message of each status seen inside, to give a test its reason when it
/// ends) and the tests. It follows [`StatusLog::tree`] and [`summarize`] event for event.
#[derive(Debug, Default)]
pub struct Summarizer {
    frames: Vec<Frame>,
    tests: Vec<TestResult>,
    kernel: Option<String>,
    problems: Vec<ParseProblem>,
    status: Option<StatusCode>,
    open_groups: usize,
    line: usize,
    /// May an extra message line follow? Not after a skipped line or before any entry.
    continues: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    /// `START ---- ----`: a job-level group.
    Job,
    Reboot,
    /// A test: its index in `tests`.
    Test(usize),
}

/// An open group.
#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    start: ParsedEntry,
    /// Inside a test or reboot (result lines are not tests).
    inside: bool,
    worst: Option<StatusCode>,
    /// The first non-empty message of each code among the result lines and nested `END` lines
    /// inside, by [`code_index`].
    firsts: [Option<String>; 10],
    /// The first `kernel=` field of a result line directly inside.
    inner_kernel: Option<String>,
}

fn code_index(code: StatusCode) -> usize {
    StatusCode::ALL.iter().position(|&c| c == code).unwrap_or(0)
}

impl Summarizer {
    /// Reads the next line of the log (without its newline).
    pub fn feed_line(&mut self, raw: &str) {
        self.line += 1;
        match classify(raw) {
            RawLine::Empty => {}
            RawLine::Extra => {
                // Only the first line of a message is a reason, so extra lines are not kept.
                if !self.continues {
                    let p = ParseProblem::new(self.line, raw, ProblemReason::OrphanMessageLine);
                    self.problems.push(p);
                }
            }
            RawLine::Entry(mut entry) => {
                self.continues = true;
                entry.line = self.line;
                self.entry(entry);
            }
            RawLine::Bad(reason) => self.bad_line(raw, reason),
        }
    }

    /// Counts the next line as skipped for `reason` (such as an over-long line the caller
    /// did not read whole); `text` is what the problem quotes.
    pub fn skip_line(&mut self, text: &str, reason: ProblemReason) {
        self.line += 1;
        self.bad_line(text, reason);
    }

    fn bad_line(&mut self, text: &str, reason: ProblemReason) {
        self.problems
            .push(ParseProblem::new(self.line, text, reason));
        self.continues = false;
    }

    /// The summary of every line fed; groups still open count as ABORT.
    pub fn finish(mut self) -> JobSummary {
        while let Some(frame) = self.frames.pop() {
            self.open_groups += 1;
            self.close(frame, None, StatusCode::Abort);
        }
        self.problems.sort_by_key(|p| p.line);
        JobSummary {
            tests: self.tests,
            status: self.status.unwrap_or(StatusCode::NoStatus),
            kernel: self.kernel,
            problems: self.problems,
            open_groups: self.open_groups,
        }
    }

    fn entry(&mut self, pe: EntryRef<'_>) {
        let keep = match pe.kind {
            StatusLineKind::Info => usize::MAX,
            StatusLineKind::End(_) => pe.depth + 1,
            StatusLineKind::Start | StatusLineKind::Status(_) => pe.depth,
        };
        while self.frames.len() > keep {
            let Some(frame) = self.frames.pop() else {
                break;
            };
            self.problems.push(ParseProblem {
                line: frame.start.line,
                text: frame.start.first_line(),
                reason: ProblemReason::GroupNotEnded { closed_by: pe.line },
            });
            self.close(frame, None, StatusCode::Abort);
        }
        match pe.kind {
            StatusLineKind::Start => self.open(pe),
            StatusLineKind::End(code) => match self.frames.pop() {
                Some(frame) => self.close(frame, Some(&pe), code),
                None => {
                    self.problems.push(ParseProblem {
                        line: pe.line,
                        text: pe.to_parsed().first_line(),
                        reason: ProblemReason::UnmatchedEnd,
                    });
                    self.fold_top(code);
                }
            },
            StatusLineKind::Info => {
                if let Some(k) = pe.field("kernel") {
                    self.kernel = Some(k.to_owned());
                }
            }
            StatusLineKind::Status(code) => {
                let e = &pe;
                let inside = self.frames.last().is_some_and(|f| f.inside);
                if !inside && let Some(name) = e.operation.or(e.subdir) {
                    self.tests.push(TestResult {
                        name: name.to_owned(),
                        subdir: e.subdir.map(str::to_owned),
                        status: code,
                        reason: e.message.to_owned(),
                        started: None,
                        finished: e.timestamp(),
                        kernel: e.field("kernel").map(str::to_owned).or(self.kernel.clone()),
                        line: pe.line,
                    });
                }
                match self.frames.last_mut() {
                    Some(frame) => {
                        frame.fold(code, e.message);
                        if frame.inner_kernel.is_none() {
                            frame.inner_kernel = e.field("kernel").map(str::to_owned);
                        }
                    }
                    None => self.fold_top(code),
                }
            }
        }
    }

    fn open(&mut self, start: EntryRef<'_>) {
        let (subdir, operation) = (start.subdir, start.operation);
        let kind = match operation {
            None if subdir.is_none() => FrameKind::Job,
            Some("reboot") => FrameKind::Reboot,
            _ => {
                let name = operation.or(subdir).map(str::to_owned);
                self.tests.push(TestResult {
                    name: name.unwrap_or_default(),
                    subdir: subdir.map(str::to_owned),
                    status: StatusCode::NoStatus,
                    reason: String::new(),
                    started: start.timestamp(),
                    finished: None,
                    kernel: None,
                    line: start.line,
                });
                FrameKind::Test(self.tests.len() - 1)
            }
        };
        let inside = kind != FrameKind::Job || self.frames.last().is_some_and(|f| f.inside);
        self.frames.push(Frame {
            kind,
            // Owned: the frame outlives the line it was read from in the streaming summary.
            start: start.to_parsed(),
            inside,
            worst: None,
            firsts: Default::default(),
            inner_kernel: None,
        });
    }

    /// Closes a group with its `END` (or none: then `code` is ABORT) and hands its status and
    /// messages to the group around it.
    fn close(&mut self, mut frame: Frame, end: Option<&EntryRef<'_>>, code: StatusCode) {
        let status = frame.worst.map_or(code, |w| w.worst(code));
        let start = &frame.start.entry;
        match frame.kind {
            FrameKind::Job => {}
            FrameKind::Reboot => {
                let booted = end
                    .filter(|_| !status.is_failure())
                    .and_then(|end| end.field("kernel").or(start.field("kernel")));
                if let Some(k) = booted {
                    self.kernel = Some(k.to_owned());
                }
            }
            FrameKind::Test(index) => {
                let own_kernel = end
                    .and_then(|e| e.field("kernel"))
                    .or(start.field("kernel"))
                    .map(str::to_owned)
                    .or_else(|| frame.inner_kernel.take());
                // Cloned: the message is also the enclosing group's, for its own reason.
                let reason = match (frame.firsts[code_index(status)].clone(), end) {
                    (Some(m), _) => m,
                    (None, Some(end)) => end.message.to_owned(),
                    (None, None) => DEFAULT_ABORT_REASON.to_owned(),
                };
                let test = &mut self.tests[index];
                test.status = status;
                test.finished = end.and_then(|e| e.timestamp());
                test.kernel = own_kernel.or(self.kernel.clone());
                test.reason = reason;
            }
        }
        let Some(parent) = self.frames.last_mut() else {
            self.fold_top(status);
            return;
        };
        parent.worst = Some(parent.worst.map_or(status, |w| w.worst(status)));
        // The child's lines precede its END, which precedes whatever comes next in the parent.
        for (mine, theirs) in parent.firsts.iter_mut().zip(frame.firsts) {
            if mine.is_none() {
                *mine = theirs;
            }
        }
        if let Some(end) = end {
            let slot = &mut parent.firsts[code_index(code)];
            if slot.is_none() && !end.message.is_empty() {
                *slot = Some(end.message.to_owned());
            }
        }
    }

    fn fold_top(&mut self, code: StatusCode) {
        self.status = Some(self.status.map_or(code, |s| s.worst(code)));
    }
}

impl Frame {
    fn fold(&mut self, code: StatusCode, message: &str) {
        self.worst = Some(self.worst.map_or(code, |w| w.worst(code)));
        let slot = &mut self.firsts[code_index(code)];
        if slot.is_none() && !message.is_empty() {
            *slot = Some(message.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reboot_sets_the_kernel_of_later_tests() {
        let log = StatusLog::parse(concat!(
            "START\t----\t----\t\n",
            "\tSTART\ta\ta\ttimestamp=1\t\n",
            "\tEND GOOD\ta\ta\ttimestamp=2\t\n",
            "\tSTART\t----\treboot\t\n",
            "\tEND GOOD\t----\treboot\tkernel=6.6\t\n",
            "\tSTART\tb\tb\t\n",
            "\t\tFAIL\tb\tb\tfirst\n",
            "\t\tFAIL\tb\tb\tsecond\n",
            "\tEND FAIL\tb\tb\t\n",
            "\tGOOD\tc\tc\t\n",
            "END FAIL\t----\t----\t\n",
        ));
        let s = summarize(&log);
        assert!(s.problems.is_empty());
        assert_eq!(s.status, StatusCode::Fail);
        let got: Vec<_> = s
            .tests
            .iter()
            .map(|t| {
                (
                    t.name.as_str(),
                    t.status,
                    t.reason.as_str(),
                    t.kernel.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", StatusCode::Good, "", None),
                ("b", StatusCode::Fail, "first", Some("6.6")),
                ("c", StatusCode::Good, "", Some("6.6")),
            ]
        );
        assert_eq!(
            (s.tests[0].started, s.tests[0].finished),
            (Some(1), Some(2))
        );
        assert_eq!(s.failed(), 1);
        assert_eq!(s.kernel.as_deref(), Some("6.6"));
    }

    #[test]
    fn empty_log() {
        let s = summarize(&StatusLog::parse(""));
        assert_eq!(s.status, StatusCode::NoStatus);
        assert!(s.tests.is_empty());
    }
}
