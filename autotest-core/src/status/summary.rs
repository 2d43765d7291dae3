//! What a status log says about a job: its tests, their results and the kernels they ran on.

use super::code::StatusCode;
use super::entry::StatusLineKind;
use super::parse::{
    DEFAULT_ABORT_REASON, ParseProblem, ParsedEntry, StatusGroup, StatusLog, StatusNode,
};

/// The result of one test, as read from a status log.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// What a status log says about the job that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
