"""Profilers: perf (record, stat), oprofile and readprofile through perf, and the TEST_NA
refusal of a profiler that cannot run (the job goes on)."""

import os
import shutil

import pytest

from conftest import write_test

PASSING = """
from autotest.client import test

class passing(test.test):
    version = 1
    def run_once(self):
        # Some work for the profiler to see.
        sum(i * i for i in range(200000))
"""


def L(depth, code, subdir="----", op="----", msg=""):
    return "\t" * depth + "%s\t%s\t%s\t%s" % (code, subdir, op, msg)


def _need_perf():
    why = None
    if shutil.which("perf") is None:
        why = "needs perf (Debian package linux-perf)"
    elif os.geteuid() != 0:
        why = "needs root for perf -a (system-wide profiling)"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


def test_perf_record_and_stat_and_the_legacy_names(job_dir, run):
    _need_perf()
    write_test(job_dir, "passing", PASSING)
    r = run("""
        job.profilers.add('perf')
        job.run_test('passing', tag='record')
        job.profilers.delete('perf')
        job.profilers.add('perf', mode='stat')
        job.run_test('passing', tag='stat')
        job.profilers.delete('perf')
        job.profilers.add('oprofile', vmlinux='/boot/vmlinux', events=['CPU_CLK_UNHALTED:100000'])
        job.profilers.add('readprofile')
        job.run_test('passing', tag='legacy')
    """)
    assert r.code == 0, r.stderr
    assert r.status_lines()[-1] == L(0, "END GOOD")
    prof = os.path.join(r.results, "passing.record", "profiling")
    assert os.path.getsize(os.path.join(prof, "perf.data")) > 0
    assert "# Samples:" in r.read("passing.record", "profiling", "perf.report")
    assert "Performance counter stats for 'system wide'" in r.read(
        "passing.stat", "profiling", "perf.stat")
    for name in ("oprofile", "readprofile"):
        assert "# Samples:" in r.read("passing.legacy", "profiling", name + ".report")


def test_a_profiler_that_cannot_run_is_test_na_and_the_job_goes_on(job_dir, run, tmp_path):
    _need_perf()
    write_test(job_dir, "passing", PASSING)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    r = run("""
        import os
        job.profilers.add('perf', events=['no-such-event'])
        job.run_test('passing', tag='bad_event')
        job.profilers.delete('perf')
        job.profilers.add('lockmeter')
        job.run_test('passing', tag='legacy_only')
        job.profilers.delete('lockmeter')
        path = os.environ['PATH']
        os.environ['PATH'] = %r
        job.profilers.add('perf')
        job.run_test('passing', tag='no_perf')
        os.environ['PATH'] = path
        job.profilers.delete('perf')
        job.run_test('passing', tag='after')
    """ % str(empty))
    assert r.code == 0, r.stderr
    lines = r.status_lines()
    assert lines[2].startswith(L(
        2, "TEST_NA", "passing.bad_event", "passing.bad_event",
        "profiler perf cannot run on this machine: perf says: event syntax error: "))
    assert lines[2].endswith(
        "(root, or kernel.perf_event_paranoid <= 0, lets perf watch the whole machine)")
    assert lines[3:] == [
        L(1, "END TEST_NA", "passing.bad_event", "passing.bad_event"),
        L(1, "START", "passing.legacy_only", "passing.legacy_only"),
        L(2, "TEST_NA", "passing.legacy_only", "passing.legacy_only",
          "profiler lockmeter is not available in this Autotest: use perf (record or stat), "
          "vmstat or iostat"),
        L(1, "END TEST_NA", "passing.legacy_only", "passing.legacy_only"),
        L(1, "START", "passing.no_perf", "passing.no_perf"),
        L(2, "TEST_NA", "passing.no_perf", "passing.no_perf",
          "profiler perf cannot run: it needs perf; install the Debian package linux-perf"),
        L(1, "END TEST_NA", "passing.no_perf", "passing.no_perf"),
        L(1, "START", "passing.after", "passing.after"),
        L(2, "GOOD", "passing.after", "passing.after", "completed successfully"),
        L(1, "END GOOD", "passing.after", "passing.after"),
        # As legacy's roll-up, where TEST_NA ranks first.
        L(0, "END TEST_NA"),
    ]
