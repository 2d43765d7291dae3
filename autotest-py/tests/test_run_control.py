"""End-to-end: real control files, run by `autotest run`, checked line by line."""

import json
import os

from conftest import normalize, write_test

PASSING = """
    import time
    from autotest.client import test

    class passing(test.test):
        version = 1

        def run_once(self, seconds=0):
            time.sleep(seconds)
            self.write_perf_keyval({'slept': seconds, 'iteration': self.iteration})
"""

FAILING = """
    from autotest.client import test, utils
    from autotest.client.shared import error

    class failing(test.test):
        version = 1

        def run_once(self, how='fail'):
            if how == 'fail':
                raise error.TestFail('the answer was 41')
            if how == 'na':
                raise error.TestNAError('needs a frobnicator')
            if how == 'warn':
                raise error.TestWarn('slow but right')
            if how == 'abort':
                raise error.JobError('the lab is on fire')
            if how == 'cmd':
                utils.system('exit 3')
            1 / 0
"""


def L(depth, code, subdir="----", op="----", msg=""):
    return "\t" * depth + "%s\t%s\t%s\t%s" % (code, subdir, op, msg)


def test_good_test_writes_exact_lines_and_keyvals(job_dir, run):
    write_test(job_dir, "passing", PASSING)
    r = run("""
        job.run_test('passing', seconds=0.1, iterations=2)
        job.run_test('passing', tag='again')
    """)
    assert r.code == 0, r.stderr
    assert r.status_lines() == [
        L(0, "START"),
        L(1, "START", "passing", "passing"),
        L(2, "GOOD", "passing", "passing", "completed successfully"),
        L(1, "END GOOD", "passing", "passing"),
        L(1, "START", "passing.again", "passing.again"),
        L(2, "GOOD", "passing.again", "passing.again", "completed successfully"),
        L(1, "END GOOD", "passing.again", "passing.again"),
        L(0, "END GOOD"),
    ]
    assert r.read("passing", "results", "keyval") == (
        "slept{perf}=0.1\niteration{perf}=1\n\nslept{perf}=0.1\niteration{perf}=2\n\n")
    # The version, then (as legacy) the machine's facts from sysinfo.
    test_keyval = r.read("passing", "keyval").splitlines()
    assert test_keyval[0] == "version=1"
    assert sorted(l.split("=", 1)[0] for l in test_keyval[1:]) == [
        "sysinfo-cmdline", "sysinfo-memtotal-in-kb", "sysinfo-phys-mbytes", "sysinfo-uname"]
    keyval = dict(l.split("=", 1) for l in r.read("keyval").splitlines())
    assert keyval["status_version"] == "1"
    assert int(keyval["job_finished"]) >= int(keyval["job_started"])
    assert r.read("control").startswith("\njob.run_test('passing'")
    assert "sleeptest" not in r.stdout and "END GOOD\t----\t----" in r.stdout
    assert "passing" in r.stdout and "GOOD" in r.stdout


def test_fail_na_warn_error_statuses(job_dir, run):
    write_test(job_dir, "failing", FAILING)
    r = run("""
        ok = job.run_test('failing', how='fail', tag='f')
        job.record('INFO', None, 'returned', str(ok))
        job.run_test('failing', how='na', tag='na')
        job.run_test('failing', how='warn', tag='w')
        job.run_test('failing', how='zero', tag='e')
    """)
    assert r.code == 0, r.stderr
    lines = r.status_lines()
    assert lines == [
        L(0, "START"),
        L(1, "START", "failing.f", "failing.f"),
        L(2, "FAIL", "failing.f", "failing.f", "the answer was 41"),
        L(1, "END FAIL", "failing.f", "failing.f"),
        L(1, "INFO", "----", "returned", "False"),
        L(1, "START", "failing.na", "failing.na"),
        L(2, "TEST_NA", "failing.na", "failing.na", "needs a frobnicator"),
        L(1, "END TEST_NA", "failing.na", "failing.na"),
        L(1, "START", "failing.w", "failing.w"),
        L(2, "WARN", "failing.w", "failing.w", "slow but right"),
        L(1, "END WARN", "failing.w", "failing.w"),
        L(1, "START", "failing.e", "failing.e"),
        L(2, "ERROR", "failing.e", "failing.e", "Unhandled ZeroDivisionError: division by zero"),
        L(1, "END ERROR", "failing.e", "failing.e"),
        L(0, "END TEST_NA"),
    ]
    # The unhandled exception's traceback follows as indented extra message lines.
    assert "\t\t  Traceback (most recent call last):" in r.status
    assert "\t\t  ZeroDivisionError: division by zero" in r.status


def test_job_error_in_test_aborts_the_job(job_dir, run):
    write_test(job_dir, "failing", FAILING)
    r = run("""
        job.run_test('failing', how='abort')
        job.run_test('failing', how='fail', tag='never')
    """)
    assert r.code == 1
    lines = r.status_lines()
    assert lines == [
        L(0, "START"),
        L(1, "START", "failing", "failing"),
        L(2, "ABORT", "failing", "failing", "the lab is on fire"),
        L(1, "END ABORT", "failing", "failing"),
        L(1, "ABORT", "----", "----", "the lab is on fire"),
        L(0, "END ABORT"),
    ]
    assert "job aborted: the lab is on fire" in r.stderr
    assert not os.path.exists(os.path.join(r.results, "failing.never"))


def test_timeout_kills_the_test(job_dir, run):
    write_test(job_dir, "passing", PASSING)
    r = run("job.run_test('passing', seconds=30, timeout=1)\n")
    assert r.code == 0
    assert r.status_lines() == [
        L(0, "START"),
        L(1, "START", "passing", "passing"),
        L(2, "ABORT", "passing", "passing", "timed out: test killed after 1 seconds"),
        L(1, "END ABORT", "passing", "passing"),
        L(0, "END ABORT"),
    ]


def test_control_file_exception_ends_job_with_traceback(job_dir, run):
    write_test(job_dir, "passing", PASSING)
    r = run("""
        job.run_test('passing')
        raise RuntimeError('control file bug')
    """)
    assert r.code == 1
    assert r.status_lines() == [
        L(0, "START"),
        L(1, "START", "passing", "passing"),
        L(2, "GOOD", "passing", "passing", "completed successfully"),
        L(1, "END GOOD", "passing", "passing"),
        L(1, "FAIL", "----", "----", "RuntimeError: control file bug"),
        L(0, "END FAIL"),
    ]
    assert "\t  Traceback (most recent call last):" in r.status
    assert "control file bug" in r.stderr
    # The results directory is complete: keyval finished, state marked finished.
    assert "job_finished=" in r.read("keyval")
    assert json.loads(r.read("control.state"))["finished"] is True


def test_python2_control_file_is_refused_before_anything_runs(job_dir, run):
    r = run("""
        job.run_test('sleeptest')
        print "hello"
    """)
    assert r.code == 2
    assert "line 3" in r.stderr and 'print "hello"' in r.stderr
    assert "Python 2" in r.stderr and "control" in r.stderr
    assert not os.path.exists(r.results)


def test_unknown_parameter_and_unknown_test_are_errors(job_dir, run):
    write_test(job_dir, "passing", PASSING)
    r = run("""
        job.run_test('passing', secnds=1)
        job.run_test('no_such_test')
    """)
    assert r.code == 0
    lines = r.status_lines()
    assert lines[2].startswith(L(2, "ERROR", "passing", "passing", "unknown parameter secnds"))
    assert lines[5].startswith(L(2, "ERROR", "no_such_test", "no_such_test", "test no_such_test not found in"))


def test_duplicate_subdir_is_an_error(job_dir, run):
    write_test(job_dir, "passing", PASSING)
    r = run("""
        job.run_test('passing')
        try:
            job.run_test('passing')
        except error.TestError as e:
            job.record('INFO', None, 'duplicate', str(e).split(':')[0])
    """)
    assert r.code == 0, r.stderr
    assert r.status_lines()[4] == L(
        1, "INFO", "----", "duplicate", "results subdirectory passing already exists")


def test_reboot_exits_5_and_resumes_at_next_step(job_dir, run):
    write_test(job_dir, "passing", PASSING)
    control = """
        def step_init():
            job.set_state('counter', 1)
            job.config_set('boot.default', 'autotest')
            job.next_step(step_two, 'from-step-init')
            job.run_test('passing', tag='before')
            job.reboot()

        def step_two(word):
            job.record('INFO', None, 'step_two', '%s %s %s' % (
                word, job.get_state('counter'), job.config_get('boot.default')))
            job.run_test('passing', tag='after')
    """
    first = run(control)
    assert first.code == 5, first.stderr
    state = json.loads(first.read("control.state"))
    assert [s["function"] for s in state["steps"]] == ["job.end_reboot", "step_two"]
    assert "--continue" in first.stderr
    second = run(None, "--continue")
    assert second.code == 0, second.stderr
    kernel = os.uname().release
    lines = second.status_lines()
    assert lines == [
        L(0, "START"),
        L(1, "START", "passing.before", "passing.before"),
        L(2, "GOOD", "passing.before", "passing.before", "completed successfully"),
        L(1, "END GOOD", "passing.before", "passing.before"),
        L(1, "START", "----", "reboot"),
        L(2, "GOOD", "----", "reboot.start"),
        L(2, "INFO", "----", "reboot.verify", "boot id unchanged: the job was resumed without a reboot"),
        L(2, "GOOD", "----", "reboot.verify", kernel),
        "\t" + "END GOOD\t----\treboot\tkernel=%s\t" % kernel,
        L(1, "INFO", "----", "step_two", "from-step-init 1 autotest"),
        L(1, "START", "passing.after", "passing.after"),
        L(2, "GOOD", "passing.after", "passing.after", "completed successfully"),
        L(1, "END GOOD", "passing.after", "passing.after"),
        L(0, "END GOOD"),
    ]
    # A third run starts afresh and keeps the finished job beside it.
    third = run(None)
    assert third.code == 5, third.stderr
    assert "earlier results moved to" in third.stderr


def test_resume_without_continue_flag_and_nested_steps(job_dir, run):
    control = """
        def step_init():
            def inner(n):
                job.record('INFO', None, 'inner', 'n=%d' % n)
            job.next_step(inner, 7)
            job.next_step_prepend(first)
            job.reboot()
            return locals()

        def first():
            job.record('INFO', None, 'first', 'ran')
    """
    a = run(control)
    assert a.code == 5, a.stderr
    b = run(None)  # finds the state file with steps left and resumes by itself
    assert b.code == 0, b.stderr
    lines = b.status_lines()
    assert lines[-3:] == [
        L(1, "INFO", "----", "first", "ran"),
        L(1, "INFO", "----", "inner", "n=7"),
        L(0, "END GOOD"),
    ]


def test_parallel_runs_tasks_concurrently_and_merges_logs(job_dir, run):
    write_test(job_dir, "passing", PASSING)
    r = run("""
        import os, time
        meet = os.path.join(job.resultdir, 'meet')
        os.mkdir(meet)
        def task(me, other):
            # A rendezvous, not a clock: each waits for the other to have started, which
            # only happens when both run at once (serially, the first gives up after 60 s).
            open(os.path.join(meet, me), 'w').close()
            deadline = time.time() + 60
            while not os.path.exists(os.path.join(meet, other)) and time.time() < deadline:
                time.sleep(0.01)
            if os.path.exists(os.path.join(meet, other)):
                open(os.path.join(meet, me + '.met'), 'w').close()
            job.run_test('passing', tag=me)
        job.parallel([task, 'one', 'two'], [task, 'two', 'one'])
        both = all(os.path.exists(os.path.join(meet, n + '.met')) for n in ('one', 'two'))
        job.record('INFO', None, 'parallel', 'concurrent' if both else 'serial')
        job.run_test('passing', tag='after')
    """)
    assert r.code == 0, r.stderr
    assert r.status_lines() == [
        L(0, "START"),
        L(1, "START", "passing.one", "passing.one"),
        L(2, "GOOD", "passing.one", "passing.one", "completed successfully"),
        L(1, "END GOOD", "passing.one", "passing.one"),
        L(1, "START", "passing.two", "passing.two"),
        L(2, "GOOD", "passing.two", "passing.two", "completed successfully"),
        L(1, "END GOOD", "passing.two", "passing.two"),
        L(1, "INFO", "----", "parallel", "concurrent"),
        L(1, "START", "passing.after", "passing.after"),
        L(2, "GOOD", "passing.after", "passing.after", "completed successfully"),
        L(1, "END GOOD", "passing.after", "passing.after"),
        L(0, "END GOOD"),
    ]


def test_parallel_task_failure_rolls_up_and_raises(job_dir, run):
    write_test(job_dir, "failing", FAILING)
    r = run("""
        def bad():
            job.run_test('failing', how='fail')
            raise ValueError('task broke')
        def fine():
            pass
        job.parallel([bad], [fine])
    """)
    assert r.code == 1
    lines = r.status_lines()
    assert lines[2] == L(2, "FAIL", "failing", "failing", "the answer was 41")
    assert lines[4].startswith(L(1, "ABORT", "----", "----", "1 of 2 parallel tasks failed: bad raised ValueError: task broke"))
    assert lines[-1] == L(0, "END ABORT")


LEGACY = """
    import os
    from autotest_lib.client.bin import test, utils
    from autotest_lib.client.common_lib import error

    class legacy(test.test):
        version = 3

        def setup(self, size=4):
            os.mkdir(self.srcdir)
            utils.system('dd if=/dev/zero of=%s/blob bs=1k count=%d 2>/dev/null' % (self.srcdir, size))
            with open(os.path.join(self.bindir, 'setup-count'), 'a') as f:
                f.write('x')

        def initialize(self, size=4):
            self.size = size

        def run_once(self, size=4):
            out = utils.system_output('wc -c < %s/blob' % self.srcdir)
            self.bytes = int(out)
            if self.bytes != size * 1024:
                raise error.TestFail('blob has %d bytes' % self.bytes)

        def postprocess_iteration(self):
            self.write_perf_keyval({'bytes': self.bytes})
            self.write_attr_keyval({'kind': 'zeros'})

        def cleanup(self):
            utils.system('true')
"""


def test_legacy_module_setup_once_and_iterations(job_dir, run):
    d = write_test(job_dir, "legacy", LEGACY)
    r = run("""
        job.run_test('legacy', iterations=3)
        job.run_test('legacy', 2, tag='two')
    """)
    assert r.code == 0, r.stderr
    assert [l for l in r.status_lines() if "GOOD" in l][:2] == [
        L(2, "GOOD", "legacy", "legacy", "completed successfully"),
        L(1, "END GOOD", "legacy", "legacy"),
    ]
    assert (d / "setup-count").read_text() == "x"  # setup ran once for version 3
    assert (d / "src" / ".version").read_text().strip() == "3"
    block = "bytes{perf}=4096\n\nkind{attr}=zeros\n\n"
    assert r.read("legacy", "results", "keyval") == block * 3
    assert r.read("legacy.two", "results", "keyval") == block * 2


def test_profiler_output_and_unknown_profiler(job_dir, run):
    write_test(job_dir, "passing", PASSING)
    r = run("""
        job.profilers.add('vmstat')
        job.run_test('passing', seconds=2.5)
        job.profilers.delete('vmstat')
        job.run_test('passing', tag='plain')
        job.profilers.add('frobstat')
    """)
    assert r.code == 1
    vm = r.read("passing", "profiling", "vmstat").splitlines()
    assert vm[0].startswith("procs") and len(vm) >= 3, vm
    assert not os.path.exists(os.path.join(r.results, "passing.plain", "profiling", "vmstat"))
    assert "unknown profiler 'frobstat': the known profilers are iostat, oprofile, perf, readprofile, vmstat" in r.status


def test_args_reach_the_control_file(job_dir, run):
    r = run("job.record('INFO', None, 'args', ','.join(args))\n", "--args", "a=1 b=2")
    assert r.code == 0, r.stderr
    assert r.status_lines()[1] == L(1, "INFO", "----", "args", "a=1,b=2")


def test_list_form_steps_and_cmd_error(job_dir, run):
    write_test(job_dir, "failing", FAILING)
    r = run("""
        def step_init():
            job.next_step_append([second, 'x', 2])
            job.next_step_prepend(first)
        def first():
            job.run_test('failing', how='cmd')
        def second(word, n):
            job.record('INFO', None, 'second', word * n)
    """)
    assert r.code == 0, r.stderr
    assert r.status_lines() == [
        L(0, "START"),
        L(1, "START", "failing", "failing"),
        L(2, "ERROR", "failing", "failing", "Command <exit 3> failed, rc=3"),
        L(1, "END ERROR", "failing", "failing"),
        L(1, "INFO", "----", "second", "xx"),
        L(0, "END ERROR"),
    ]


LIFECYCLE = """
    import os
    from autotest.client import test

    class lifecycle(test.test):
        version = 1

        def _log(self, what):
            with open(os.path.join(self.job.resultdir, 'calls'), 'a') as f:
                f.write(what + '\\n')

        def initialize(self, n=1):
            self._log('initialize')

        def setup(self):
            os.mkdir(self.srcdir)
            self._log('setup')

        def warmup(self, n=1):
            self._log('warmup')

        def run_once(self, n=1):
            self._log('run_once %d' % self.iteration)

        def postprocess_iteration(self):
            self._log('postprocess_iteration')

        def postprocess(self):
            self._log('postprocess')

        def cleanup(self):
            self._log('cleanup')
"""

EXECUTE = """
    from autotest.client import test

    class executor(test.test):
        version = 1

        def execute(self, rounds=2):
            for i in range(rounds):
                self.write_perf_keyval({'round': i})
"""


def test_whole_life_cycle_order_and_execute_override(job_dir, run):
    write_test(job_dir, "lifecycle", LIFECYCLE)
    write_test(job_dir, "executor", EXECUTE)
    r = run("""
        job.run_test('lifecycle', n=2, iterations=2)
        job.run_test('executor', rounds=3)
    """)
    assert r.code == 0, r.stderr
    assert r.read("calls").splitlines() == [
        "initialize", "setup", "warmup",
        "run_once 1", "postprocess_iteration", "run_once 2", "postprocess_iteration",
        "postprocess", "cleanup",
    ]
    assert r.read("executor", "results", "keyval") == (
        "round{perf}=0\n\nround{perf}=1\n\nround{perf}=2\n\n")
    assert r.status_lines()[-2] == L(1, "END GOOD", "executor", "executor")


def test_sigterm_kills_tests_and_closes_groups_with_abort(job_dir):
    import signal
    import subprocess
    import time
    from conftest import autotest_bin
    write_test(job_dir, "passing", PASSING)
    write_test(job_dir, "hanger", """
        import os, subprocess
        from autotest.client import test

        class hanger(test.test):
            def run_once(self):
                sleeper = subprocess.Popen(['sleep', '60'])
                with open(os.path.join(self.job.resultdir, 'pids'), 'w') as f:
                    f.write('%d %d\\n' % (os.getpid(), sleeper.pid))
                sleeper.wait()
    """)
    (job_dir / "control").write_text(
        "job.run_test('passing', tag='first')\n"
        "job.run_test('hanger')\n")
    res = job_dir / "results"
    proc = subprocess.Popen([autotest_bin(), "run", "--results", str(res), "--tests-dir",
                             str(job_dir / "tests"), str(job_dir / "control")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pidfile = res / ".client_pid"
    deadline = time.time() + 30
    while time.time() < deadline and not (res / "pids").exists():
        time.sleep(0.1)
    time.sleep(0.2)
    pids = [int(p) for p in (res / "pids").read_text().split()]
    os.kill(int(pidfile.read_text()), signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + 15, err
    from conftest import normalize
    lines = [l for l in normalize((res / "status").read_text()).splitlines()]
    assert lines[-4:] == [
        L(1, "START", "hanger", "hanger"),
        L(2, "ABORT", "----", "----", "Job aborted: the client received SIGTERM"),
        L(1, "END ABORT", "hanger", "hanger"),
        L(0, "END ABORT"),
    ]
    # Nothing of the test is left running: neither its process nor what it started.
    time.sleep(0.2)
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid) or \
            open("/proc/%d/stat" % pid).read().split()[2] == "Z", pid


def test_nul_byte_is_reported_at_its_line_and_column(job_dir, run):
    (job_dir / "control").write_bytes(b"job.run_test('sleeptest')\n# fine\nabc\x00def\n")
    r = run(None)
    assert r.code == 2, r.stderr
    assert "line 3, column 4" in r.stderr and "NUL byte" in r.stderr, r.stderr
    assert "None" not in r.stderr
    assert str(job_dir / "control") in r.stderr
    assert not os.path.exists(r.results)


def _runner(job_dir, control, *extra):
    """The runner as autoserv starts it on a machine: with a status prefix."""
    import subprocess
    import sys
    cmd = [sys.executable, "-m", "autotest.client.runner", "--results", str(job_dir / "res"),
           "--status-prefix=AUTOTEST_STATUS:"] + list(extra) + ["--", str(control)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=str(job_dir))


def test_refused_control_file_under_autoserv_writes_status_lines_naming_the_real_file(job_dir):
    control = job_dir / "control"
    control.write_text("job.run_test('sleeptest')\nprint 'hello'\n")
    p = _runner(job_dir, control, "--control-name", "/srv/queue/kernel-6.6-test")
    assert p.returncode == 2, p.stderr
    lines = [l[len("AUTOTEST_STATUS:"):] for l in p.stdout.splitlines()
             if l.startswith("AUTOTEST_STATUS:")]
    entries = [normalize(l) for l in lines if not l.lstrip("\t").startswith("  ")]
    assert [e.split("\t")[:3] for e in entries] == [
        ["START", "----", "----"], ["", "ABORT", "----"], ["END ABORT", "----", "----"]], lines
    text = "\n".join(lines)
    assert "/srv/queue/kernel-6.6-test, line 2" in text and "Python 2" in text, text
    assert str(control) not in text
    assert "/srv/queue/kernel-6.6-test, line 2" in p.stderr


def test_runner_refuses_a_fifo_without_opening_it(job_dir):
    fifo = job_dir / "control"
    os.mkfifo(str(fifo))
    p = _runner(job_dir, fifo)
    assert p.returncode == 2
    assert "is not a regular file (it is a FIFO)" in p.stderr and str(fifo) in p.stderr
    assert "AUTOTEST_STATUS:END ABORT" in p.stdout


ESCAPES = """
    import sys
    from autotest.client import test

    class noisy(test.test):
        version = 1

        def run_once(self):
            sys.stdout.write('\\x1b[2J\\x1b]0;title\\x07red \\xc3\\xa9t\\xc3\\xa9\\n'
                             .encode('latin-1').decode('utf-8'))
            sys.stdout.flush()
"""


def test_verbose_output_shows_escape_sequences_escaped(job_dir, run):
    write_test(job_dir, "noisy", ESCAPES)
    r = run("job.run_test('noisy')\n", "--verbose")
    assert r.code == 0, r.stderr
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    assert "\\x1b[2J\\x1b]0;title\\x07red été" in r.stdout, r.stdout
    # The debug file keeps the bytes as the test wrote them.
    assert "\x1b[2J" in r.read("noisy", "debug", "stdout")
