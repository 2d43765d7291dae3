"""autotest.harness over real results trees written by `autotest run`."""

import os
import shutil
import subprocess
import sys

import pytest

from autotest import harness
from conftest import REPO, run_control, write_test

BENCH = """
    from autotest.client import test

    class bench(test.test):
        version = 3

        def run_once(self, ops=10):
            self.write_iteration_keyval({'mode': 'fast'}, {'ops': ops * self.iteration, 'lat_ms': 0.25})
"""

BROKEN = """
    from autotest.client import test
    from autotest.client.shared import error

    class broken(test.test):
        version = 1

        def run_once(self):
            raise error.TestFail('the answer was 41')
"""

CONTROL = """
    job.run_test('bench', ops=10, iterations=2)
    job.run_test('broken')
"""


def make_tree(job_dir, name="results", control=CONTROL):
    write_test(job_dir, "bench", BENCH)
    write_test(job_dir, "broken", BROKEN)
    r = run_control(job_dir, control, results=name)
    assert os.path.exists(os.path.join(r.results, "status")), r.stderr
    return r.results


@pytest.fixture
def tree(job_dir):
    return make_tree(job_dir)


def test_tests_statuses_reasons_and_keyvals(tree):
    res = harness.read_results(tree)
    assert res.path == tree
    assert res.status == "FAIL"
    assert res.machines == {}
    assert res.problems == []
    assert res.failed == 1
    assert [(t.name, t.subdir, t.status) for t in res.tests] == [
        ("bench", "bench", "GOOD"),
        ("broken", "broken", "FAIL"),
    ]
    bench, broken = res.tests
    assert broken.reason == "the answer was 41"
    assert broken.failed and not bench.failed
    assert bench.reason == "completed successfully"
    assert bench.started is not None and bench.finished is not None
    assert bench.started <= bench.finished and bench.duration == bench.finished - bench.started
    assert bench.path == os.path.join(tree, "bench")
    # The test's version and, as legacy, the machine's facts from sysinfo.
    assert bench.keyvals["version"] == "3"
    assert sorted(k for k in bench.keyvals if k != "version") == [
        "sysinfo-cmdline", "sysinfo-memtotal-in-kb", "sysinfo-phys-mbytes", "sysinfo-uname"]
    assert [(it.index, it.perf, it.attr) for it in bench.iterations] == [
        (1, {"ops": 10.0, "lat_ms": 0.25}, {"mode": "fast"}),
        (2, {"ops": 20.0, "lat_ms": 0.25}, {"mode": "fast"}),
    ]
    assert broken.iterations == []
    # The job keyvals are the file's, as written by the job.
    with open(os.path.join(tree, "keyval")) as f:
        expected = dict(l.split("=", 1) for l in f.read().splitlines())
    assert res.job_keyvals == expected and res.job_keyvals["status_version"] == "1"
    assert int(res.job_keyvals["job_started"]) <= bench.started


def test_entries_carry_their_line_numbers(tree):
    path = os.path.join(tree, "status")
    with open(path) as f:
        lines = f.read().split("\n")
    log = harness.read_results(tree).log
    assert log is not None and log.path == path
    assert log.lines == len(lines) - 1
    for e in log.entries:
        raw = lines[e.line - 1]
        assert raw.startswith("\t" * e.depth + e.code + "\t")
        assert raw.endswith("\t" + e.message)
        assert e.timestamp == int(e.fields["timestamp"])
    codes = [(e.code, e.kind, e.status, e.operation) for e in log.entries]
    assert codes[0] == ("START", "start", None, None)
    assert ("FAIL", "status", "FAIL", "broken") in codes
    assert codes[-1] == ("END FAIL", "end", "FAIL", None)


def test_parse_status_log_from_file_dir_text_and_bytes(tree):
    path = os.path.join(tree, "status")
    with open(path, "rb") as f:
        data = f.read()
    import pathlib

    logs = [
        harness.parse_status_log(path),
        harness.parse_status_log(pathlib.Path(path)),
        harness.parse_status_log(tree),
        harness.parse_status_log(data.decode()),
        harness.parse_status_log(data),
    ]
    assert [l.path for l in logs] == [path, path, path, None, None]
    for log in logs:
        assert log.status == "FAIL" and log.problems == []
        assert [(t.name, t.status, t.reason) for t in log.tests] == [
            ("bench", "GOOD", "completed successfully"),
            ("broken", "FAIL", "the answer was 41"),
        ]
        # A log alone knows nothing of the test directories.
        assert log.tests[0].keyvals == {} and log.tests[0].path is None
        assert [e.line for e in log.entries] == [e.line for e in logs[0].entries]
    assert logs[0].strict() is logs[0]


def test_corrupt_status_line_is_reported_with_file_and_line(tree):
    path = os.path.join(tree, "status")
    with open(path) as f:
        lines = f.read().split("\n")
    lines.insert(2, "\tFROBNICATE\tbench\tbench\tnot a status")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    res = harness.read_results(tree)
    # The rest of the log is still read: problems are reported, not raised.
    assert [t.name for t in res.tests] == ["bench", "broken"]
    assert res.status == "FAIL"
    [p] = res.problems
    assert p.line == 3 and p.text == "\tFROBNICATE\tbench\tbench\tnot a status"
    assert "unknown status code" in p.reason and "FROBNICATE" in p.reason
    assert str(p) == p.message and p.message.startswith(path + ":3: ")
    assert "fix or remove the line" in p.message
    with pytest.raises(harness.StatusLogError) as e:
        res.log.strict()
    assert str(e.value) == p.message
    assert isinstance(e.value, harness.ResultsError)
    text = harness.parse_status_log("\n".join(lines))
    assert text.problems[0].message.startswith("<status text>:3: ")


def test_unended_group_counts_as_abort(tree):
    path = os.path.join(tree, "status")
    with open(path) as f:
        lines = f.read().rstrip("\n").split("\n")
    # Cut the log inside the second test, as a job killed mid-test leaves it.
    cut = next(i for i, l in enumerate(lines) if l.startswith("\tSTART\tbroken")) + 1
    log = harness.parse_status_log("\n".join(lines[:cut]) + "\n")
    assert log.status == "ABORT" and log.open_groups == 2
    assert [(t.name, t.status) for t in log.tests] == [("bench", "GOOD"), ("broken", "ABORT")]
    assert log.tests[1].reason == "Autotest client terminated unexpectedly"


def test_missing_things_name_the_path(tmp_path, tree):
    gone = str(tmp_path / "no-such-results")
    with pytest.raises(harness.ResultsNotFoundError) as e:
        harness.read_results(gone)
    assert gone in str(e.value) and "does not exist" in str(e.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(harness.ResultsNotFoundError) as e:
        harness.read_results(empty)
    assert "no status log in %s" % empty in str(e.value)
    assert "status.log" in str(e.value)
    missing_log = str(tmp_path / "status.log")
    with pytest.raises(harness.ResultsNotFoundError) as e:
        harness.parse_status_log(missing_log)
    assert "cannot read status log %s" % missing_log in str(e.value)
    with pytest.raises(harness.ResultsError) as e:
        harness.read_results(os.path.join(tree, "status"))
    assert "is a file, not a results directory" in str(e.value)
    # A test whose directory is gone has no keyvals; the tree is still read.
    shutil.rmtree(os.path.join(tree, "bench"))
    bench = harness.read_results(tree).tests[0]
    assert (bench.path, bench.keyvals, bench.iterations) == (None, {}, [])


def test_corrupt_keyvals_name_file_and_line(tree):
    kv = os.path.join(tree, "bench", "keyval")
    with open(kv) as f:
        bad_line = len(f.readlines()) + 1
    with open(kv, "a") as f:
        f.write("this line has no equals sign\n")
    with pytest.raises(harness.ResultsError) as e:
        harness.read_results(tree)
    assert not isinstance(e.value, harness.ResultsNotFoundError)
    assert str(e.value).startswith("%s:%d: not a key=value line" % (kv, bad_line))
    assert "fix or remove that line" in str(e.value)
    os.unlink(kv)
    it = os.path.join(tree, "bench", "results", "keyval")
    with open(it, "a") as f:
        f.write("ops{perf}=lots\n")
    with pytest.raises(harness.ResultsError) as e:
        harness.read_results(tree)
    assert str(e.value).startswith(
        '%s:9: perf keyval ops has value "lots", which is not a number' % it)
    assert "fix or remove that line" in str(e.value)


def test_subdir_outside_the_tree_is_never_read(tmp_path):
    top = tmp_path / "res"
    top.mkdir()
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "keyval").write_text("password=hunter2\n")
    (top / "status").write_text(
        "START\t----\t----\t\n"
        "\tGOOD\t../secret\tsneaky\t\n"
        "\tGOOD\t%s\tabsolute\t\n"
        "END GOOD\t----\t----\t\n" % (tmp_path / "secret"))
    res = harness.read_results(top)
    assert [(t.name, t.subdir, t.path, t.keyvals) for t in res.tests] == [
        ("sneaky", "../secret", None, {}),
        ("absolute", str(tmp_path / "secret"), None, {}),
    ]


def two_machine_tree(job_dir):
    """A multi-machine tree as autoserv lays it out (<results>/<host>/), from two real runs."""
    top = job_dir / "multi"
    top.mkdir()
    good = make_tree(job_dir, "run-a", "job.run_test('bench', ops=5)\n")
    bad = make_tree(job_dir, "run-b")
    shutil.move(good, str(top / "host-a"))
    shutil.move(bad, str(top / "host-b"))
    return str(top)


def test_multi_machine_tree(job_dir):
    top = two_machine_tree(job_dir)
    res = harness.read_results(top)
    assert res.log is None and res.tests == [] and res.job_keyvals == {}
    assert sorted(res.machines) == ["host-a", "host-b"]
    a, b = res.machines["host-a"], res.machines["host-b"]
    assert (a.status, b.status, res.status) == ("GOOD", "FAIL", "FAIL")
    assert a.path == os.path.join(top, "host-a")
    assert [(t.name, t.status) for t in a.tests] == [("bench", "GOOD")]
    assert a.tests[0].iterations[0].perf == {"ops": 5.0, "lat_ms": 0.25}
    assert [t.reason for t in b.tests if t.failed] == ["the answer was 41"]
    assert res.failed == 1
    # A test directory is never taken for a machine, even one holding a status file.
    with open(os.path.join(top, "host-b", "bench", "status"), "w") as f:
        f.write("START\t----\t----\t\nEND GOOD\t----\t----\t\n")
    assert harness.read_results(os.path.join(top, "host-b")).machines == {}
    # Machines are only looked for at the top: a symlink loop does not make the walk endless.
    os.symlink(".", os.path.join(top, "host-a", "loop"))
    res = harness.read_results(top)
    assert sorted(res.machines) == ["host-a", "host-b"]
    assert res.machines["host-a"].machines == {}


def test_worst_status_and_codes():
    assert harness.STATUS_CODES[0] == "TEST_NA" and harness.STATUS_CODES[-1] == "NOSTATUS"
    assert harness.worst_status("GOOD", "WARN", "FAIL") == "FAIL"
    assert harness.worst_status() == "NOSTATUS"
    with pytest.raises(ValueError) as e:
        harness.worst_status("GOOD", "BAD")
    assert "'BAD'" in str(e.value)


EXAMPLE = os.path.join(REPO, "examples", "python", "harness_report.py")


def report(*args):
    return subprocess.run([sys.executable, EXAMPLE] + list(args), capture_output=True,
                          text=True, timeout=120)


def test_example_report_of_a_multi_machine_tree(job_dir):
    top = two_machine_tree(job_dir)
    p = report(top)
    assert p.returncode == 1, p.stderr  # a test failed
    out = p.stdout.splitlines()
    assert out[0] == "results %s: FAIL (1 failed)" % top
    assert "machine host-a: GOOD" in out and "machine host-b: FAIL" in out
    a = out.index("machine host-a: GOOD")
    assert out[a + 1].split() == ["GOOD", "bench", "completed", "successfully"]
    assert out[a + 2].split() == ["iteration", "1:", "lat_ms=0.25", "ops=5", "mode=fast"]
    b = out.index("machine host-b: FAIL")
    assert out[b + 4].split() == ["FAIL", "broken", "the", "answer", "was", "41"]


def test_example_report_of_a_corrupt_tree(tree):
    with open(os.path.join(tree, "status"), "a") as f:
        f.write("garbage\n")
    p = report(tree)
    assert p.returncode == 1
    assert p.stdout.splitlines()[-1].startswith("problem: %s:" % os.path.join(tree, "status"))
    p = report(os.path.join(tree, "missing"))
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith("harness_report: results directory %s does not exist"
                               % os.path.join(tree, "missing"))


def test_autoserv_tree_prefers_status_log_and_knows_the_kernel(tmp_path):
    """A real autoserv job on localhost with a reboot: status.log, and the kernel it verified."""
    from conftest import autotest_bin

    (tmp_path / "global_config.ini").write_text(
        "[AUTOSERV]\nclient_autodir_paths: %s\n" % (tmp_path / "autodir"))
    (tmp_path / "control").write_text(
        "def step_init():\n"
        "    job.next_step(two)\n"
        "    job.run_test('sleeptest', seconds=0.1)\n"
        "    job.reboot()\n"
        "def two():\n"
        "    job.run_test('sleeptest', tag='two', seconds=0.1)\n")
    p = subprocess.run([autotest_bin(), "autoserv", "-m", "localhost", "-r", "r", "-c",
                        "--config-dir", ".", "control"], cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    top = str(tmp_path / "r")
    res = harness.read_results(top)
    assert res.log is not None and res.log.path == os.path.join(top, "status.log")
    # The client's own `status` copy sits beside status.log; it is not a machine.
    assert os.path.exists(os.path.join(top, "status")) and res.machines == {}
    running = os.uname().release
    assert res.kernel == running
    assert [(t.name, t.status, t.kernel) for t in res.tests] == [
        ("sleeptest", "GOOD", None),
        ("sleeptest.two", "GOOD", running),
    ]
    assert [e.operation for e in res.log.entries if e.kind == "status"] == [
        "sleeptest", "reboot.start", "reboot.verify", "sleeptest.two"]
    assert list(res.tests[1].iterations[0].perf) == ["slept_seconds"]


def mypy():
    try:
        import mypy  # noqa: F401
    except ImportError:
        pytest.fail("mypy is missing: `pip install mypy` (./dev.sh setup installs it)")
    return [sys.executable, "-m"]


def test_type_stubs_match_the_native_module_and_type_the_example():
    # stubtest imports the built module and compares every name and signature with the stub.
    p = subprocess.run(mypy() + ["mypy.stubtest", "autotest._native"], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    p = subprocess.run(mypy() + ["mypy", "--strict", "--no-incremental", EXAMPLE],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
