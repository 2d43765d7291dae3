"""The legacy test base class, ``test.test``, and its life cycle.

A test module ``<tests>/<name>/<name>.py`` defines ``class <name>(test.test)``. The framework
calls, all optional but one of ``run_once``/``execute``: ``initialize``, ``setup`` (once per
``version``, building into ``srcdir``), ``warmup``, ``run_once`` for each iteration with
``postprocess_iteration`` after it, ``postprocess``, and ``cleanup`` (always).
"""

import importlib.util
import inspect
import os
import shutil
import sys
import tempfile
import time

from autotest import _native
from autotest.client.shared import error

__all__ = ["test", "runtest", "find_test", "load_test_class"]


def _params(func):
    """(named parameters, accepts *args, accepts **kwargs) of a bound method."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return set(), True, True
    names, star, starstar = set(), False, False
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            star = True
        elif p.kind == p.VAR_KEYWORD:
            starstar = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.add(p.name)
    return names, star, starstar


def _cherry_pick(func, args, dargs):
    """The positional and keyword arguments of a run_test call that ``func`` accepts."""
    names, star, starstar = _params(func)
    p_args = tuple(args) if star else ()
    if starstar:
        return p_args, dict(dargs)
    return p_args, {k: v for k, v in dargs.items() if k in names}


def _cherry_pick_call(func, *args, **dargs):
    p_args, p_dargs = _cherry_pick(func, args, dargs)
    return func(*p_args, **p_dargs)


class test(object):
    """Base class of every legacy client test."""

    version = 1
    preserve_srcdir = False

    def __init__(self, job, bindir, outputdir):
        self.job = job
        self.bindir = bindir
        self.autodir = getattr(job, "autodir", os.path.dirname(os.path.abspath(__file__)))
        self.outputdir = outputdir
        self.tagged_testname = os.path.basename(outputdir.rstrip("/"))
        self.resultsdir = os.path.join(outputdir, "results")
        self.debugdir = os.path.join(outputdir, "debug")
        self.profdir = os.path.join(outputdir, "profiling")
        for d in (self.resultsdir, self.debugdir, self.profdir):
            os.makedirs(d, exist_ok=True)
        self.srcdir = os.path.join(bindir, "src")
        if not os.access(bindir, os.W_OK):
            self.srcdir = os.path.join(job.tmpdir, "src", os.path.basename(bindir.rstrip("/")))
        os.makedirs(job.tmpdir, exist_ok=True)
        self.tmpdir = tempfile.mkdtemp("_" + self.tagged_testname, dir=job.tmpdir)
        self.iteration = 0
        self.crash_handling_enabled = False

    # -- keyvals ---------------------------------------------------------------------------
    def write_test_keyval(self, attr_dict):
        """Appends key=value lines to ``<test>/keyval``."""
        _native.write_keyval(os.path.join(self.outputdir, "keyval"),
                             [(str(k), str(v)) for k, v in attr_dict.items()])

    def write_iteration_keyval(self, attr_dict, perf_dict):
        """Appends one iteration to ``<test>/results/keyval``: attr and perf keys, a blank line."""
        perf = []
        for k, v in (perf_dict or {}).items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                try:
                    float(v)
                except (TypeError, ValueError):
                    raise error.TestError(
                        "perf keyval %s=%r is not a number; use write_attr_keyval for text" % (k, v))
            perf.append((str(k), repr(float(v)) if isinstance(v, float) else str(v)))
        attr = [(str(k), str(v)) for k, v in (attr_dict or {}).items()]
        try:
            _native.write_iteration_keyval(os.path.join(self.resultsdir, "keyval"), attr, perf)
        except ValueError as e:
            raise error.TestError(str(e))

    def write_perf_keyval(self, perf_dict):
        """Records one iteration's performance figures (numbers) as ``name{perf}=value``."""
        self.write_iteration_keyval({}, perf_dict)

    def write_attr_keyval(self, attr_dict):
        """Records one iteration's attributes as ``name{attr}=value``."""
        self.write_iteration_keyval(attr_dict, {})

    # -- the phases a test may override ----------------------------------------------------
    def initialize(self):
        pass

    def setup(self):
        pass

    def warmup(self, *args, **dargs):
        pass

    def postprocess_iteration(self):
        pass

    def postprocess(self):
        pass

    def cleanup(self):
        pass

    def execute(self, iterations=None, test_length=None, profile_only=None, *args, **dargs):
        """Runs ``run_once`` ``iterations`` times (or for ``test_length`` seconds), each followed by
        ``postprocess_iteration``, with the job's profilers running, then ``postprocess``."""
        if not hasattr(self, "run_once"):
            raise error.TestError("test %s defines neither run_once nor execute" % self.tagged_testname)
        p_args, p_dargs = _cherry_pick(self.run_once, args, dargs)
        profilers = self.job.profilers
        profilers.start(self)
        try:
            if test_length is not None:
                end = time.time() + float(test_length)
                while time.time() < end:
                    self._run_iteration(p_args, p_dargs)
            else:
                for _ in range(1 if iterations is None else int(iterations)):
                    self._run_iteration(p_args, p_dargs)
        finally:
            profilers.stop(self)
        self.postprocess()

    def _run_iteration(self, args, dargs):
        self.iteration += 1
        facts = getattr(self.job, "sysinfo", None)
        if facts is not None:
            facts.log_before_each_iteration(self)
        self.run_once(*args, **dargs)
        if facts is not None:
            facts.log_after_each_iteration(self)
        self.postprocess_iteration()

    # -- the framework's part --------------------------------------------------------------
    def _accepted(self, uses_run_once):
        methods = [self.initialize, self.setup, self.warmup, self.cleanup, self.execute]
        if uses_run_once:
            methods.append(self.run_once)
        names = set()
        for m in methods:
            n, _, starstar = _params(m)
            overridden = getattr(type(self), m.__name__) is not getattr(test, m.__name__, None)
            if starstar and overridden:
                return None
            names |= n
        return names

    def _validate_args(self, dargs, uses_run_once):
        accepted = self._accepted(uses_run_once)
        if accepted is None:
            return
        unknown = sorted(set(dargs) - accepted)
        if unknown:
            raise error.TestError(
                "unknown parameter%s %s for test %s: its methods accept %s" % (
                    "s" if len(unknown) > 1 else "", ", ".join(unknown), self.tagged_testname,
                    ", ".join(sorted(accepted - {"self"})) or "nothing"))

    def _setup_once(self, args, dargs):
        """Runs ``setup`` when ``srcdir`` was not built for this ``version`` yet."""
        if type(self).setup is test.setup:
            return
        versionfile = os.path.join(self.srcdir, ".version")
        try:
            with open(versionfile) as f:
                if f.read().strip() == str(self.version):
                    return
        except OSError:
            pass
        if not self.preserve_srcdir and os.path.exists(self.srcdir):
            shutil.rmtree(self.srcdir)
        if self.preserve_srcdir and not os.path.isdir(self.srcdir):
            # Such a test builds sources it ships in <test>/src; say so rather than let setup
            # fail on a bare FileNotFoundError.
            raise error.TestError(
                "test %s builds the sources it ships in %s (preserve_srcdir), and that directory "
                "is missing: copy the test's src/ directory from its collection there" % (
                    self.tagged_testname, self.srcdir))
        _cherry_pick_call(self.setup, *args, **dargs)
        if os.path.isdir(self.srcdir):
            with open(versionfile, "w") as f:
                f.write("%s\n" % self.version)

    def _exec(self, args, dargs):
        uses_run_once = hasattr(self, "run_once") and type(self).execute is test.execute
        self._validate_args(dargs, uses_run_once)
        self.write_test_keyval({"version": self.version})
        facts = getattr(self.job, "sysinfo", None)
        if facts is not None:
            facts.log_before_each_test(self)
        try:
            _cherry_pick_call(self.initialize, *args, **dargs)
            self._setup_once(args, dargs)
            os.chdir(self.outputdir)
            _cherry_pick_call(self.warmup, *args, **dargs)
            if uses_run_once:
                # Positional arguments bind to execute (iterations first), as in legacy calls
                # such as job.run_test('kernbench', 2); keywords go where they are accepted.
                self.execute(*args, **dargs)
            else:
                p_args, p_dargs = _cherry_pick(self.execute, args, dargs)
                self.execute(*p_args, **p_dargs)
        except BaseException:
            exc = sys.exc_info()
            try:
                _cherry_pick_call(self.cleanup, *args, **dargs)
            except Exception as e:
                sys.stderr.write("ignoring an exception in cleanup(): %s\n" % e)
            raise exc[1].with_traceback(exc[2])
        else:
            _cherry_pick_call(self.cleanup, *args, **dargs)
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            if facts is not None:
                facts.log_after_each_test(self)


def find_test(name, tests_dirs):
    """The directory of test ``name`` (``<dir>/<name>/<name>.py``) in ``tests_dirs``, in order."""
    for d in tests_dirs:
        candidate = os.path.join(d, name)
        if os.path.isfile(os.path.join(candidate, name + ".py")):
            return os.path.abspath(candidate)
    return None


def load_test_class(name, bindir):
    """Imports ``<bindir>/<name>.py`` and returns its class ``<name>``.

    A module that does not compile (Python 2 syntax, say) is a TestError naming file and line.
    """
    path = os.path.join(bindir, name + ".py")
    with open(path, "rb") as f:
        source = f.read()
    try:
        compile(source, path, "exec")
    except SyntaxError as e:
        from autotest.client import syntax
        raise error.TestError(syntax.describe(e, path))
    if bindir not in sys.path:
        sys.path.insert(0, bindir)
    spec = importlib.util.spec_from_file_location("autotest_test_%s" % name.replace(".", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls = getattr(module, name, None)
    if cls is None or not isinstance(cls, type) or not issubclass(cls, test):
        raise error.TestError("%s does not define class %s(test.test)" % (path, name))
    return cls


def runtest(job, name, bindir, outputdir, args, dargs):
    """Instantiates test ``name`` from ``bindir`` and runs its whole life cycle."""
    cls = load_test_class(name, bindir)
    mytest = cls(job, bindir, outputdir)
    mytest._exec(args, dargs)
