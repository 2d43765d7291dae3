"""Explains why a control file or test module does not compile, Python 2 syntax above all."""

import re

_PY2_HINTS = [
    (re.compile(r"^\s*print\s+[^\s(=]"), "print statement (Python 2): write print(...)"),
    (re.compile(r"^\s*print\s*$"), "print statement (Python 2): write print()"),
    (re.compile(r"except\s+[\w.]+\s*,\s*\w+\s*:"), "'except X, e' (Python 2): write 'except X as e'"),
    (re.compile(r"^\s*exec\s+[\"'\w]"), "exec statement (Python 2): write exec(...)"),
    (re.compile(r"^\s*raise\s+[\w.]+\s*,"), "'raise E, msg' (Python 2): write 'raise E(msg)'"),
    (re.compile(r"<>"), "'<>' (Python 2): write '!='"),
    (re.compile(r"`"), "backquotes (Python 2): write repr(...)"),
    (re.compile(r"\b0[0-7]+\b"), "octal literal (Python 2): write 0o..."),
    (re.compile(r"\bur[\"']"), "ur'' string (Python 2): write r''"),
]


def describe(err, path=None):
    """One message naming the file, the line, the offending statement and the fix."""
    path = path or err.filename or "<control file>"
    line = (err.text or "").rstrip("\n")
    stripped = line.strip()
    hint = None
    for rx, text in _PY2_HINTS:
        if rx.search(line):
            hint = text
            break
    if hint is None and isinstance(err, TabError):
        hint = "inconsistent tabs and spaces (Python 2 allowed them): indent with spaces only"
    if hint:
        what = "Python 2 syntax is not accepted: " + hint
    else:
        what = "syntax error: %s" % err.msg
    return "%s, line %s: %s\n    %s" % (path, err.lineno, what, stripped)
