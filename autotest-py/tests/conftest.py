"""Fixtures that run real control files through the real `autotest` binary and Python package."""

import os
import re
import subprocess
import textwrap

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def autotest_bin():
    path = os.environ.get("AUTOTEST_BIN") or os.path.join(REPO, "target", "debug", "autotest")
    if not os.path.exists(path):
        pytest.fail("%s is missing: build it with `cargo build -p autotest-cli` (./dev.sh setup)" % path)
    return path


_STAMP = re.compile(r"\t(timestamp|localtime)=[^\t\n]*")


def normalize(text):
    """Status log text without the timestamp/localtime fields, which change every run."""
    return _STAMP.sub("", text)


class Run(object):
    def __init__(self, proc, results):
        self.proc = proc
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.results = results

    @property
    def status(self):
        with open(os.path.join(self.results, "status")) as f:
            return normalize(f.read())

    def status_lines(self):
        """Entry lines only (no extra message lines), normalized."""
        return [l for l in self.status.splitlines() if not l.lstrip("\t").startswith("  ")]

    def read(self, *parts):
        with open(os.path.join(self.results, *parts)) as f:
            return f.read()


@pytest.fixture
def job_dir(tmp_path):
    """A scratch directory with a `tests/` dir for test modules."""
    (tmp_path / "tests").mkdir()
    return tmp_path


def write_test(job_dir, name, body):
    d = job_dir / "tests" / name
    d.mkdir(parents=True, exist_ok=True)
    (d / (name + ".py")).write_text(textwrap.dedent(body))
    return d


def run_control(job_dir, control_text, *extra, control_name="control", results="results",
                timeout=600):
    control = job_dir / control_name
    if control_text is not None:
        control.write_text(textwrap.dedent(control_text))
    res = str(job_dir / results)
    cmd = [autotest_bin(), "run", "--results", res, "--tests-dir", str(job_dir / "tests")]
    cmd += list(extra) + [str(control)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(job_dir))
    return Run(proc, res)


@pytest.fixture
def run(job_dir):
    def _run(control_text, *extra, **kw):
        return run_control(job_dir, control_text, *extra, **kw)
    return _run
