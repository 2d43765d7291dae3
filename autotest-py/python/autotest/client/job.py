"""The ``job`` object that client control files see.

Bookkeeping (status log, groups, steps, state, keyvals, subdirs) is native: every call here
translates to ``autotest._native.Job``. Tests run in forked children, as in legacy Autotest, so a
timeout can kill a test and everything it started.
"""

import codecs
import json
import os
import signal
import sys
import tempfile
import threading
import time
import traceback

from autotest import _native
from autotest.client import profilers as _profilers
from autotest.client import sysinfo as _sysinfo
from autotest.client import test as _test
from autotest.client.shared import error

__all__ = ["Job"]

_NO_DEFAULT = object()
BUILTIN_TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests")


def _fields(optional_fields):
    return [(str(k), str(v)) for k, v in (optional_fields or {}).items()]


def _wait(pid, timeout):
    """Waits for a child; returns its wait status, or None when ``timeout`` passed first."""
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    delay = 0.01
    while True:
        done, status = os.waitpid(pid, 0 if deadline is None else os.WNOHANG)
        if done == pid:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _describe_wait(status):
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status)
    return "exited with status %d" % os.WEXITSTATUS(status)


class _StepContext(object):
    def __init__(self):
        self.ancestry = []
        self.current = None
        self.rebuilding = False


class Job(object):
    """A client job, as control files know it."""

    def __init__(self, native, control, resultsdir, args, tag=None, tests_dirs=(),
                 verbose=False, status_fd=None, status_prefix=""):
        self._native = native
        self.control = os.path.abspath(control)
        self.resultdir = os.path.abspath(resultsdir)
        self.args = list(args)
        self.tag = tag
        self.verbose = verbose
        self.autodir = os.path.dirname(os.path.abspath(__file__))
        self.clientdir = self.autodir
        self.bindir = self.autodir
        self.testdir = BUILTIN_TESTS
        self.site_testdir = BUILTIN_TESTS
        self.configdir = os.path.join(self.autodir, "config")
        self.tmpdir = os.path.join(tempfile.gettempdir(), "autotest-%d" % os.getpid())
        self.pkgdir = os.path.join(self.tmpdir, "packages")
        self.debugdir = os.path.join(self.resultdir, "debug")
        control_dir = os.path.dirname(self.control)
        self.tests_dirs = [os.path.abspath(d) for d in tests_dirs] + [
            control_dir, os.path.dirname(control_dir), BUILTIN_TESTS]
        self.profilers = _profilers.Profilers(self)
        self.sysinfo = _sysinfo.sysinfo(self.resultdir, self)
        self.num_tests_run = 0
        self.num_tests_failed = 0
        self._status_fd = status_fd
        self._status_prefix = status_prefix
        self._children = set()
        self._step = _StepContext()
        self._frames = {}
        self._namespace = None
        self.last_boot_tag = None
        self.pkgmgr = None
        self._init_legacy()

    # -- status ------------------------------------------------------------------------------
    def _echo(self, text):
        if self._status_fd is not None and text:
            if self._status_prefix:
                text = "".join(self._status_prefix + l for l in text.splitlines(True))
            try:
                os.write(self._status_fd, text.encode("utf-8", "replace"))
            except OSError:
                pass

    def record(self, status_code, subdir, operation, status="", optional_fields=None):
        """Writes a status line. ``START`` opens a group, ``END <code>`` closes one."""
        text = self._native.record(status_code, subdir or None, operation or None,
                                   str(status or ""), _fields(optional_fields))
        self._echo(text)

    def _end_group(self, code=None, message="", optional_fields=None):
        code, text = self._native.end_group(code, message, _fields(optional_fields))
        self._echo(text)
        return code

    # -- tests -------------------------------------------------------------------------------
    def run_test(self, url, *args, **dargs):
        """Runs a test; True when it passed (GOOD or WARN), False when it did not."""
        status = self.run_test_detail(url, *args, **dargs)
        return status in ("GOOD", "WARN")

    def run_test_detail(self, url, *args, **dargs):
        """Runs a test and returns its status code (``GOOD``, ``FAIL``, ...)."""
        name = os.path.basename(str(url).rstrip("/"))
        if name.endswith(".py"):
            name = name[:-3]
        tag = dargs.pop("tag", None)
        timeout = dargs.pop("timeout", None)
        testname = name if tag in (None, "") else "%s.%s" % (name, tag)
        subdir = testname
        bindir = _test.find_test(name, self.tests_dirs)
        try:
            outputdir = self._native.claim_subdir(subdir)
        except _native.DuplicateSubdirError:
            raise error.TestError(
                "results subdirectory %s already exists: test <%s> may have already run with "
                "tag <%s>; give this run_test a distinct tag=" % (subdir, name, tag))
        self.record("START", subdir, testname)
        self.num_tests_run += 1
        if bindir is None:
            self.record("ERROR", subdir, testname, "test %s not found in %s" % (
                name, ", ".join(self.tests_dirs)))
            code = self._end_group()
        else:
            code = self._run_forked(subdir, testname, timeout, lambda: _test.runtest(
                self, name, bindir, outputdir, args, dargs), outputdir)
        if code not in ("GOOD", "WARN"):
            self.num_tests_failed += 1
        if getattr(self, "_job_error", None):
            reason, self._job_error = self._job_error, None
            raise error.JobError(reason)
        return code

    def _run_forked(self, subdir, testname, timeout, body, outputdir):
        """Runs ``body`` in a forked child inside the open group; closes the group. Returns the
        group's code."""
        result_path = os.path.join(self.resultdir, ".child-%d-%s.json" % (os.getpid(), subdir))
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._child_main(subdir, testname, body, outputdir, result_path)
        self._children.add(pid)
        status = _wait(pid, timeout)
        self._children.discard(pid)
        if status is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            self.record("ABORT", subdir, testname,
                        "timed out: test killed after %s seconds" % timeout)
            self._discard(result_path)
            return self._end_group("ABORT")
        result = self._read_result(result_path)
        if result is None:
            self.record("ERROR", subdir, testname,
                        "test process %s before reporting a result" % _describe_wait(status))
            return self._end_group("ERROR")
        self._native.adopt_subdirs(result.get("subdirs", []))
        worst = result.get("worst") or result["status"]
        self._native.fold_status(worst)
        if result.get("job_error"):
            self._job_error = result.get("reason")
        return self._end_group(worst)

    def _child_main(self, subdir, testname, body, outputdir, result_path):
        code = 0
        try:
            os.setpgid(0, 0)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self._native.set_persist(False)
            self._redirect_output(outputdir)
            result = {"status": "GOOD", "reason": "completed successfully"}
            try:
                body()
                self.record("GOOD", subdir, testname, "completed successfully")
            except error.TestBaseException as e:
                result = {"status": e.exit_status, "reason": str(e)}
                self.record(e.exit_status, subdir, testname, str(e))
            except error.JobError as e:
                result = {"status": "ABORT", "reason": str(e), "job_error": True}
                self.record("ABORT", subdir, testname, str(e))
            except Exception as e:
                wrapped = error.UnhandledTestError(e)
                msg = "%s\n%s" % (wrapped, traceback.format_exc().rstrip())
                result = {"status": "ERROR", "reason": str(wrapped)}
                self.record("ERROR", subdir, testname, msg)
            result["worst"] = self._native.current_worst()
            result["subdirs"] = self._native.subdirs()
            tmp = result_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(result, f)
            os.rename(tmp, result_path)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)

    def _redirect_output(self, outputdir):
        """Sends the test's stdout/stderr to ``<test>/debug/{stdout,stderr}`` (and, verbose, also
        to the terminal)."""
        debug = os.path.join(outputdir, "debug")
        os.makedirs(debug, exist_ok=True)
        for fd, name in ((1, "stdout"), (2, "stderr")):
            path = os.path.join(debug, name)
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            if self.verbose:
                target = self._tee(target, os.dup(fd))
            os.dup2(target, fd)
            os.close(target)

    @staticmethod
    def _tee(file_fd, term_fd):
        """The file gets the bytes as written; the terminal gets them with control characters
        escaped, so a test cannot drive the terminal (colours, clearing, titles)."""
        r, w = os.pipe()
        # Incremental: a character split across two reads is still decoded whole.
        decoder = codecs.getincrementaldecoder("utf-8")("backslashreplace")

        def pump():
            while True:
                data = os.read(r, 65536)
                final = not data
                shown = _native.visible(decoder.decode(data, final))
                if shown:
                    os.write(term_fd, shown.encode("utf-8"))
                if final:
                    break
                os.write(file_fd, data)

        threading.Thread(target=pump, daemon=True).start()
        return w

    @staticmethod
    def _read_result(path):
        try:
            with open(path) as f:
                result = json.load(f)
        except (OSError, ValueError):
            return None
        finally:
            Job._discard(path)
        return result

    @staticmethod
    def _discard(path):
        try:
            os.remove(path)
        except OSError:
            pass

    def run_group(self, function, *args, **dargs):
        """Runs ``function`` inside a group named ``tag`` (default the function's name)."""
        tag = dargs.pop("tag", None) or function.__name__
        self.record("START", None, tag)
        try:
            result = function(*args, **dargs)
        except error.TestBaseException as e:
            self._end_group(e.exit_status, str(e))
            raise
        except error.JobError as e:
            self._end_group("ABORT", str(e))
            raise
        except Exception as e:
            self._end_group("ERROR", "%s\n%s" % (e, traceback.format_exc().rstrip()))
            raise
        self._end_group()
        return result

    # -- parallel ----------------------------------------------------------------------------
    def parallel(self, *tasklist, **kwargs):
        """Runs each task ``[function, arg, ...]`` at the same time in its own process; their
        status lines are merged into the job's log in task order. Raises JobError when a task
        raised."""
        tasks = []
        for i, task in enumerate(tasklist):
            if callable(task):
                fn, args = task, ()
            else:
                fn, args = task[0], tuple(task[1:])
            log = os.path.join(self.resultdir, ".parallel-%d-%d.status" % (os.getpid(), i))
            res = log + ".json"
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    os.setpgid(0, 0)
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    self._native.set_persist(False)
                    self._native.redirect_status(log)
                    out = {"error": None}
                    try:
                        fn(*args)
                    except BaseException as e:
                        out["error"] = "%s: %s" % (type(e).__name__, e)
                        out["traceback"] = traceback.format_exc()
                    out["worst"] = self._native.current_worst()
                    out["subdirs"] = self._native.subdirs()
                    with open(res, "w") as f:
                        json.dump(out, f)
                except BaseException:
                    traceback.print_exc()
                    code = 1
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            self._children.add(pid)
            tasks.append((pid, log, res, getattr(fn, "__name__", str(fn))))
        failures = []
        for pid, log, res, name in tasks:
            status = _wait(pid, None)
            self._children.discard(pid)
            try:
                with open(log) as f:
                    self._echo(f.read())
            except OSError:
                pass
            self._native.merge_status(log)
            out = self._read_result(res)
            if out is None:
                failures.append("%s %s" % (name, _describe_wait(status)))
                continue
            self._native.adopt_subdirs(out.get("subdirs", []))
            if out.get("worst"):
                self._native.fold_status(out["worst"])
            if out.get("error"):
                failures.append("%s raised %s" % (name, out["error"]))
        if failures:
            raise error.JobError("%d of %d parallel tasks failed: %s" % (
                len(failures), len(tasks), "; ".join(failures)))

    def parallel_simple(self, function, arglist):
        """Runs ``function(arg)`` for every arg at the same time."""
        self.parallel(*[[function, a] for a in arglist])

    # -- steps -------------------------------------------------------------------------------
    def _step_entry(self, fn, args, dargs):
        if isinstance(fn, (list, tuple)):
            if not fn:
                raise error.JobError("next_step([]) needs at least a function")
            fn, args = fn[0], tuple(fn[1:]) + tuple(args)
        if isinstance(fn, str):
            name, ancestry = fn, []
        elif callable(fn):
            name = fn.__name__
            ns = self._namespace or {}
            if ns.get(name) is fn or self._step.current is None:
                ancestry = []
            else:
                ancestry = self._step.ancestry + [self._step.current]
        else:
            raise error.JobError("next_step: %r is not a function" % (fn,))
        try:
            args_json = json.dumps(list(args))
            kwargs_json = json.dumps(dict(dargs))
        except TypeError as e:
            raise error.JobError(
                "arguments of step %s must be JSON-serialisable to survive a reboot: %s" % (name, e))
        return ancestry, name, args_json, kwargs_json

    def _queue(self, fn, args, dargs, front):
        if self._step.rebuilding:
            return
        # Legacy's soft_reboot sample queues its own frame's name; at the top level that is
        # "<module>" (or "?" in old Pythons): the control file itself, which runs again on every
        # resume anyway, so there is no step to queue.
        if isinstance(fn, str) and fn in ("<module>", "?"):
            return
        ancestry, name, a, k = self._step_entry(fn, args, dargs)
        self._native.queue_step(ancestry, name, a, k, front)

    def next_step(self, fn, *args, **dargs):
        """Queues a step to run after the ones already queued."""
        self._queue(fn, args, dargs, False)

    def next_step_append(self, fn, *args, **dargs):
        """Same as :meth:`next_step`."""
        self._queue(fn, args, dargs, False)

    def next_step_prepend(self, fn, *args, **dargs):
        """Queues a step to run next, before the ones already queued."""
        self._queue(fn, args, dargs, True)

    def _rebuild_nested(self, ancestry, name):
        """Makes a nested step function again from the code of its enclosing steps, without
        running them (they may reboot); None when it is a closure over their variables."""
        import types
        fn = self._namespace.get(ancestry[0]) if ancestry else None
        code = getattr(fn, "__code__", None)
        for part in list(ancestry[1:]) + [name]:
            if code is None:
                return None
            code = next((c for c in code.co_consts
                         if isinstance(c, types.CodeType) and c.co_name == part), None)
        if code is None or code.co_freevars:
            return None
        return types.FunctionType(code, self._namespace, name)

    def _frame(self, ancestry):
        """The namespace in which a step of this ancestry was defined: the control file's
        globals updated with the ``locals()`` each enclosing step returned. After a reboot the
        enclosing steps are run again (with step queueing suppressed) to define them anew."""
        frame = dict(self._namespace)
        for i, anc in enumerate(ancestry):
            key = tuple(ancestry[: i + 1])
            if key not in self._frames:
                fn = frame.get(anc)
                if fn is None:
                    raise error.JobError("step %s is not defined in the control file" % anc)
                self._step.rebuilding = True
                try:
                    ret = fn()
                finally:
                    self._step.rebuilding = False
                self._frames[key] = dict(ret) if isinstance(ret, dict) else {}
            frame.update(self._frames[key])
        return frame

    def _run_step(self, ancestry, name, args, dargs):
        if name == "job.end_reboot":
            return self.end_reboot(*args, **dargs)
        fn = None
        if ancestry and tuple(ancestry) not in self._frames:
            fn = self._rebuild_nested(ancestry, name)
        if fn is None:
            fn = self._frame(ancestry).get(name)
        if fn is None or not callable(fn):
            raise error.JobError(
                "step %s is not a function of the control file%s" % (
                    name, " (nested in %s)" % ".".join(ancestry) if ancestry else ""))
        saved = (self._step.ancestry, self._step.current)
        self._step.ancestry, self._step.current = list(ancestry), name
        try:
            ret = fn(*args, **dargs)
        finally:
            self._step.ancestry, self._step.current = saved
        if isinstance(ret, dict):
            self._frames[tuple(ancestry) + (name,)] = dict(ret)

    def step_engine(self):
        """Runs queued steps until none is left."""
        while True:
            step = self._native.pop_step()
            if step is None:
                return
            ancestry, name, a, k = step
            self._run_step(ancestry, name, json.loads(a), json.loads(k))

    # -- state and config ----------------------------------------------------------------------
    def get_state(self, var, default=_NO_DEFAULT):
        """A value saved with :meth:`set_state` (kept across reboots)."""
        raw = self._native.get_state(var)
        if raw is None:
            if default is _NO_DEFAULT:
                raise KeyError(var)
            return default
        return json.loads(raw)

    def set_state(self, var, val):
        """Saves a JSON-serialisable value that survives reboots."""
        try:
            raw = json.dumps(val)
        except TypeError as e:
            raise error.JobError("job.set_state(%r): value is not JSON-serialisable: %s" % (var, e))
        self._native.set_state(var, raw)

    def config_get(self, name):
        """A job configuration value, or None."""
        raw = self._native.config_get(name)
        return None if raw is None else json.loads(raw)

    def config_set(self, name, value):
        """Sets a job configuration value (kept across reboots)."""
        self._native.config_set(name, json.dumps(value))

    # -- reboots -----------------------------------------------------------------------------
    def reboot(self, tag=None, expected_kernel=None):
        """Records the reboot group, saves the steps, and ends this run asking the caller to
        reboot the machine and resume the job (exit code 5)."""
        if self._step.rebuilding:
            return
        self._native.begin_reboot(expected_kernel)
        self._echo_tail(2)
        raise error.JobContinue(5)

    def _echo_tail(self, n):
        try:
            with open(self._native.status_path) as f:
                self._echo("".join(f.readlines()[-n:]))
        except OSError:
            pass

    def end_reboot(self, *args, **dargs):
        """Step queued by :meth:`reboot`: verifies the machine came back and closes the group."""
        before = os.path.getsize(self._native.status_path)
        # The release as /proc/sys/kernel/osrelease says (what `uname -r` prints).
        code = self._native.end_reboot(_native.running_kernel() or os.uname().release)
        with open(self._native.status_path) as f:
            f.seek(before)
            self._echo(f.read())
        if code != "GOOD":
            raise error.JobError("reboot verification failed: %s" % code)

    def resume_reboot(self):
        """On resume after :meth:`reboot`: verifies the reboot and closes its group before the
        control file runs again, so what the control file does next is at the top level (as
        in legacy, where the reboot is verified before the client job restarts)."""
        if not self._native.reboot_pending:
            return
        step = self._native.pop_step()
        if step is not None and step[1] != "job.end_reboot":
            ancestry, name, a, k = step
            self._native.queue_step(ancestry, name, a, k, True)
        self.end_reboot()

    def close_interrupted(self):
        """On resume: groups left open by a test that was running when the machine went down
        are closed as FAIL 'unexpected reboot', as legacy Autotest did."""
        expected = 1 + (1 if self._native.reboot_pending else 0)
        groups = self._native.open_groups()
        while self._native.depth > expected:
            subdir, op = groups[self._native.depth - 1]
            self.record("FAIL", subdir, op, "unexpected reboot")
            self._end_group("FAIL")

    def kill_children(self):
        """Kills every running test and parallel task with its whole process group."""
        for pid in list(self._children):
            for target in (-pid, pid):
                try:
                    os.kill(target, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self._children.clear()

    # -- kernels -----------------------------------------------------------------------------
    def kernel(self, base_tree, results_dir="", tmp_dir="", leave=False):
        """A kernel to patch, configure, build, install and boot: ``base_tree`` is a release
        version (``6.1.5``, ``6.8-rc3``), a tarball path or URL, or a source directory."""
        from autotest.client import kernel as _kernel
        return _kernel.auto_kernel(self, base_tree, results_dir, tmp_dir, leave)

    # -- legacy client API (issue 14; the bulk lives in job_legacy.py) ---------------------------
    def _init_legacy(self):
        from autotest.client import job_legacy
        job_legacy.init(self)

    def require_gcc(self):
        """TEST_NA (naming the package) when there is no C compiler on PATH."""
        from autotest.client import job_legacy
        job_legacy.require_gcc(self)

    def setup_dep(self, deps):
        """Builds each dependency of ``deps`` from its ``deps/<dep>/<dep>.py`` (once per version)."""
        from autotest.client import job_legacy
        job_legacy.setup_dep(self, deps)

    def barrier(self, *args, **kwds):
        """A barrier between the machines of this job (autotest.client.shared.barrier)."""
        from autotest.client.shared import barrier
        return barrier.barrier(*args, **kwds)

    def partition(self, device, loop_size=0, mountpoint=None):
        """A device or loop file to make a filesystem on and mount (client/partition.py)."""
        from autotest.client import partition as _partition
        return _partition.partition(self, device, loop_size, mountpoint or self.tmpdir)

    def filesystem(self, device, mountpoint=None, loop_size=0):
        """Legacy name of :meth:`partition` (other argument order)."""
        return self.partition(device, loop_size, mountpoint)

    @property
    def bootloader(self):
        """A boottool view of grub.cfg (config ``boottool.grub_cfg``, else the machine's)."""
        from autotest.client.shared import boottool
        return boottool.boottool(grub_cfg=self.config_get("boottool.grub_cfg"))

    def cpu_count(self):
        """Online CPUs of this machine."""
        from autotest.client import utils
        return utils.count_cpus()

    def harness_select(self, which, harness_args=None):
        from autotest.client import harness_standalone
        self.harness = harness_standalone.select(which, self, harness_args)

    def add_sysinfo_command(self, command, logfile=None, on_every_test=False):
        """Asks sysinfo to also save the output of ``command`` (see job_legacy.add_sysinfo)."""
        from autotest.client import job_legacy
        job_legacy.add_sysinfo(self, "command", command, logfile, on_every_test)

    def add_sysinfo_logfile(self, file, on_every_test=False):
        """Asks sysinfo to also save a copy of ``file``."""
        from autotest.client import job_legacy
        job_legacy.add_sysinfo(self, "logfile", file, None, on_every_test)

    def enable_external_logging(self):
        """Legacy hook for a site's logging; nothing is external here."""

    def disable_external_logging(self):
        """Legacy hook for a site's logging; nothing is external here."""

    def install_pkg(self, name, pkg_type, install_dir):
        """Legacy: fetch a package from the job's repositories. There are none (no network):
        a test's files must be on the machine already."""

    def add_repository(self, repo_urls):
        """Refused: machines under test fetch nothing from the network."""
        raise error.JobError("job.add_repository(%r): machines under test fetch nothing from the "
                             "network; copy the tests next to the control file" % (repo_urls,))

    def relative_path(self, path):
        """``path`` relative to the job's results directory."""
        return os.path.relpath(path, self.resultdir)

    def control_get(self):
        return self.control

    def control_set(self, control):
        self.control = os.path.abspath(control)

    def disable_warnings(self, warning_type):
        """Records that warnings of ``warning_type`` are off (legacy INFO line and field)."""
        self.record("INFO", None, None, "disabling %s warnings" % warning_type,
                    {"warnings.disable": warning_type})

    def enable_warnings(self, warning_type):
        """Records that warnings of ``warning_type`` are on again."""
        self.record("INFO", None, None, "enabling %s warnings" % warning_type,
                    {"warnings.enable": warning_type})

    # -- misc legacy calls ---------------------------------------------------------------------
    def noop(self, text):
        """Writes ``text`` to the log (legacy job.noop)."""
        sys.stdout.write(str(text) + "\n")

    def setup_dirs(self, results_dir, tmp_dir):
        return results_dir or self.resultdir, tmp_dir or self.tmpdir

    def quit(self):
        """Ends this run now, to be continued (legacy)."""
        raise error.JobContinue(5)

    def complete(self, status):
        """Ends the job now (legacy job.complete)."""
        raise error.JobComplete(status)
