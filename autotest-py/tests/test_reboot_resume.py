"""A top-level ``job.reboot()`` (no step engine) resumed with ``--continue``: the status log
is what a legacy job writes across a reboot.

The reboot is a stand-in: the job exits 5 as it does before a real reboot, and the resume runs
in a mount namespace where a new boot id is bound over /proc/sys/kernel/random/boot_id, so the
job sees "the machine came back" without this machine rebooting.
"""

import os
import shutil
import subprocess
import uuid

import pytest

from conftest import autotest_bin, normalize, write_test

PASSING = """
from autotest.client import test

class passing(test.test):
    version = 1
    def run_once(self):
        pass
"""

BOOT_ID = "/proc/sys/kernel/random/boot_id"


def _need_namespaces():
    why = None
    if os.geteuid() != 0:
        why = "needs root (a mount namespace to give the resumed job a new boot id)"
    elif shutil.which("unshare") is None:
        why = "needs unshare(1) from util-linux"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


def _run(job_dir, *extra, new_boot=False):
    cmd = [autotest_bin(), "run", "--results", str(job_dir / "results"),
           "--tests-dir", str(job_dir / "tests")] + list(extra) + [str(job_dir / "control")]
    if new_boot:
        fake = job_dir / "boot_id"
        fake.write_text(str(uuid.uuid4()) + "\n")
        script = 'mount --bind "$1" %s && shift && exec "$@"' % BOOT_ID
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
               str(fake)] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=str(job_dir))


def _lines(job_dir):
    with open(job_dir / "results" / "status") as f:
        return [l for l in normalize(f.read()).splitlines()
                if not l.lstrip("\t").startswith("  ")]


def L(depth, code, subdir="----", op="----", msg=""):
    return "\t" * depth + "%s\t%s\t%s\t%s" % (code, subdir, op, msg)


def test_top_level_reboot_resumes_at_top_level(job_dir):
    _need_namespaces()
    write_test(job_dir, "passing", PASSING)
    (job_dir / "control").write_text(
        "if not job.get_state('rebooted', False):\n"
        "    job.run_test('passing', tag='before')\n"
        "    job.set_state('rebooted', True)\n"
        "    job.reboot()\n"
        "job.run_test('passing', tag='after')\n")
    first = _run(job_dir)
    assert first.returncode == 5, first.stderr
    second = _run(job_dir, "--continue", new_boot=True)
    assert second.returncode == 0, second.stderr
    kernel = os.uname().release
    assert _lines(job_dir) == [
        L(0, "START"),
        L(1, "START", "passing.before", "passing.before"),
        L(2, "GOOD", "passing.before", "passing.before", "completed successfully"),
        L(1, "END GOOD", "passing.before", "passing.before"),
        L(1, "START", "----", "reboot"),
        L(2, "GOOD", "----", "reboot.start"),
        L(2, "GOOD", "----", "reboot.verify", kernel),
        "\tEND GOOD\t----\treboot\tkernel=%s\t" % kernel,
        L(1, "START", "passing.after", "passing.after"),
        L(2, "GOOD", "passing.after", "passing.after", "completed successfully"),
        L(1, "END GOOD", "passing.after", "passing.after"),
        L(0, "END GOOD"),
    ]


def test_legacy_soft_reboot_sample_pattern(job_dir):
    """Legacy's client/samples/soft_reboot: a counter in the job state, the control file's own
    frame queued as a step (at the top level that is "<module>"), job.reboot() until the count
    is reached. Each reboot is its own group at the top level; no FAIL, no ABORT after END."""
    _need_namespaces()
    (job_dir / "control").write_text(
        "ITERATIONS = 3\n"
        "tries = job.get_state('soft_reboot_tries', 0) + 1\n"
        "job.set_state('soft_reboot_tries', tries)\n"
        "if tries < ITERATIONS:\n"
        "    import sys\n"
        "    this_functions_name = sys._getframe().f_code.co_name\n"
        "    if this_functions_name != '?':\n"
        "        job.next_step_prepend(this_functions_name)\n"
        "if tries <= ITERATIONS:\n"
        "    job.reboot()\n")
    r = _run(job_dir)
    assert r.returncode == 5, r.stderr
    for _ in range(2):
        r = _run(job_dir, "--continue", new_boot=True)
        assert r.returncode == 5, r.stderr
    r = _run(job_dir, "--continue", new_boot=True)
    assert r.returncode == 0, r.stderr
    kernel = os.uname().release
    one_reboot = [
        L(1, "START", "----", "reboot"),
        L(2, "GOOD", "----", "reboot.start"),
        L(2, "GOOD", "----", "reboot.verify", kernel),
        "\tEND GOOD\t----\treboot\tkernel=%s\t" % kernel,
    ]
    assert _lines(job_dir) == [L(0, "START")] + one_reboot * 3 + [L(0, "END GOOD")]
    # The job is finished: a further --continue finds nothing to continue.
    again = _run(job_dir, "--continue")
    assert again.returncode == 2
    assert "holds no unfinished job" in again.stderr
