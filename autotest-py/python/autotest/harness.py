"""Read Autotest results from Python: status logs and results trees.

The parsing is the native engine's (``autotest._native``, the same parser the ``autotest``
binary uses); this module only chooses between a file and text. Every object is immutable.

Status logs (``status.log`` written by autoserv, ``status`` by ``autotest run``)::

    from autotest import harness

    log = harness.parse_status_log("results/status")      # a file, or a results directory
    log = harness.parse_status_log(text)                  # or the text itself
    log.status                 # the job's worst status: "GOOD", "FAIL", ...
    for e in log.entries:      # every line: e.line, e.depth, e.code ("END FAIL"), e.status,
        ...                    #   e.subdir, e.operation, e.fields (dict), e.message, e.timestamp
    for p in log.problems:     # malformed lines and nesting problems: reported, never raised;
        print(p)               #   str(p) names the file, the line and the fix
    log.strict()               # raises StatusLogError if there is any problem

Results trees (FORMATS.md §2-§4)::

    res = harness.read_results("results/job1")
    res.status                 # worst status of the job and every machine
    res.job_keyvals            # <results>/keyval as a dict
    for t in res.tests:        # t.name, t.subdir, t.status, t.reason, t.started, t.finished,
        t.keyvals              #   t.kernel, t.failed, t.duration; <subdir>/keyval as a dict
        for it in t.iterations:    # <subdir>/results/keyval, one per blank-line block:
            it.perf, it.attr       #   {name: float} from name{perf}=, {name: str} from name{attr}=
    for host, m in res.machines.items():   # a multi-machine job: <results>/<host>/, each a
        m.status, m.tests                  #   Results of its own

Errors: ``ResultsNotFoundError`` when a directory, status log or keyval file is missing,
``ResultsError`` (its base) when a file cannot be read (a corrupt keyval line, named with its
file and line), ``StatusLogError`` (also a ResultsError) only from ``StatusLog.strict()``.
"""

import os
from typing import Tuple, Union

from autotest._native import (
    Iteration,
    Problem,
    Results,
    ResultsError,
    ResultsNotFoundError,
    StatusEntry,
    StatusLog,
    StatusLogError,
    TestResult,
    parse_status_file,
    parse_status_text,
    status_codes,
)
from autotest._native import read_results as _read_results

__all__ = [
    "Iteration",
    "Problem",
    "Results",
    "ResultsError",
    "ResultsNotFoundError",
    "STATUS_CODES",
    "StatusEntry",
    "StatusLog",
    "StatusLogError",
    "TestResult",
    "parse_status_file",
    "parse_status_log",
    "parse_status_text",
    "read_results",
    "worst_status",
]

#: Every status code, worst first: TEST_NA, ABORT, ERROR, FAIL, WARN, GOOD, BUG, ALERT, RUNNING,
#: NOSTATUS.
STATUS_CODES: Tuple[str, ...] = tuple(status_codes())

_RANK = {code: i for i, code in enumerate(STATUS_CODES)}

PathOrText = Union[str, bytes, "os.PathLike[str]"]


def parse_status_log(source: PathOrText) -> StatusLog:
    """Parses a status log from a path or from its text.

    A ``str`` holding a TAB or a newline is the log's text (every status line has TABs); any
    other ``str`` or ``os.PathLike`` is a path: a status log file, or a results directory whose
    ``status.log`` (else ``status``) is read. ``bytes`` are text (invalid UTF-8 is replaced).
    Malformed lines are in ``.problems``, never raised; a missing file raises
    ResultsNotFoundError naming it.
    """
    if isinstance(source, bytes):
        return parse_status_text(source.decode("utf-8", "replace"))
    if isinstance(source, str) and ("\t" in source or "\n" in source):
        return parse_status_text(source)
    return parse_status_file(os.fspath(source))


def read_results(path: Union[str, "os.PathLike[str]"]) -> Results:
    """Reads a results directory: status log, job keyvals, tests with keyvals and iterations,
    and per-machine subdirectories. Raises ResultsNotFoundError when the directory or its status
    log is missing, ResultsError when a file in it cannot be read."""
    return _read_results(os.fspath(path))


def worst_status(*codes: str) -> str:
    """The worst of the given status codes ("NOSTATUS" for none); ValueError for an unknown code."""
    worst = "NOSTATUS"
    for code in codes:
        if code not in _RANK:
            raise ValueError("unknown status code %r: expected one of %s" % (code, " ".join(STATUS_CODES)))
        if _RANK[code] < _RANK[worst]:
            worst = code
    return worst
