"""Profilers: programs that run beside each test and leave their output in ``<test>/profiling/``.

``job.profilers.add('vmstat', interval=1)`` and ``job.profilers.delete('vmstat')``.

``perf`` (Debian's ``linux-perf``) samples the whole machine (``mode='record'``, the default:
``perf.data`` and ``perf.report``) or counts events (``mode='stat'``: ``perf.stat``).
``oprofile`` and ``readprofile`` need what a modern kernel no longer has (the oprofile driver,
``/proc/profile``), so those names are profiled by ``perf record`` into ``<name>.data`` and
``<name>.report``. A profiler that cannot run on this machine ends the test TEST_NA saying why
and what to install; it does not abort the job. Legacy profiler names this runtime does not
have are accepted by ``add`` and refused the same way when a test starts.
"""

import os
import select
import shutil
import signal
import subprocess

from autotest.client.shared import error

__all__ = ["Profilers", "vmstat", "iostat", "perf", "oprofile", "readprofile", "KNOWN"]


class _CommandProfiler(object):
    """A profiler that is a long-running command whose stdout is the profile."""

    command = None
    package = None

    def __init__(self, interval=1, **dargs):
        if dargs:
            raise error.ProfilerError(
                "profiler %s takes only interval=, not %s" % (self.name(), ", ".join(sorted(dargs))))
        self.interval = int(interval)
        self._proc = None
        self._out = None

    @classmethod
    def name(cls):
        return cls.__name__

    def argv(self):
        return [self.command, str(self.interval)]

    def start(self, test):
        if shutil.which(self.command) is None:
            raise error.TestNAError(
                "profiler %s cannot run: it needs %s; install the Debian package %s" % (
                    self.name(), self.command, self.package))
        self._out = open(os.path.join(test.profdir, self.name()), "w")
        self._proc = subprocess.Popen(self.argv(), stdout=self._out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)

    def stop(self, test):
        if self._proc is not None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._out is not None:
            self._out.close()
            self._out = None


class vmstat(_CommandProfiler):
    """``vmstat -n <interval>``: memory, swap, I/O and CPU once per interval."""
    command = "vmstat"
    package = "procps"

    def argv(self):
        return ["vmstat", "-n", str(self.interval)]


class iostat(_CommandProfiler):
    """``iostat -x <interval>``: per-device I/O figures."""
    command = "iostat"
    package = "sysstat"

    def argv(self):
        return ["iostat", "-x", str(self.interval)]


def _stop_process(proc, sig):
    """Asks ``proc`` to finish with ``sig`` (perf writes its output on SIGINT), then kills it
    if it does not."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class perf(object):
    """``perf record -a`` (or ``perf stat -a``) while the test runs."""

    def __init__(self, events=None, trace=False, mode="record"):
        if isinstance(events, str):
            events = [events]
        self.events = list(events or [])
        self.trace = bool(trace)
        if mode not in ("record", "stat"):
            raise error.ProfilerError(
                "profiler %s: mode=%r is neither 'record' nor 'stat'" % (self.name(), mode))
        self.mode = mode
        self._proc = None
        self._ctl = None
        self._log = None

    def name(self):
        return "perf"

    def _event_args(self):
        args = []
        for e in self.events:
            args += ["-e", str(e)]
        return args

    def _check(self):
        """Refuses (TEST_NA) when perf is missing or may not count on this machine, found by
        counting once around `true` with the same events."""
        binary = shutil.which("perf")
        if binary is None:
            raise error.TestNAError(
                "profiler %s cannot run: it needs perf; install the Debian package linux-perf"
                % self.name())
        try:
            r = subprocess.run([binary, "stat", "-a", "-o", os.devnull] + self._event_args()
                               + ["--", "true"], stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise error.TestNAError("profiler %s cannot run: perf stat failed: %s" % (
                self.name(), e))
        if r.returncode != 0:
            why = (r.stderr.strip().splitlines() or ["exit status %d" % r.returncode])
            raise error.TestNAError(
                "profiler %s cannot run on this machine: perf says: %s (root, or "
                "kernel.perf_event_paranoid <= 0, lets perf watch the whole machine)" % (
                    self.name(), " ".join(l.strip() for l in why[:3])))
        return binary

    def start(self, test):
        binary = self._check()
        base = os.path.join(test.profdir, self.name())
        if self.mode == "stat":
            argv = [binary, "stat", "-a", "-o", base + ".stat"] + self._event_args()
        else:
            argv = [binary, "record", "-a", "-o", base + ".data"] + self._event_args()
            if self.trace:
                argv.append("--raw-samples")
        self._log = open(base + ".log", "w")
        # perf starts with its events off and turns them on when told, answering "ack": so
        # when start() returns perf is counting, and a short test is not over before perf
        # has opened its events (a loaded machine made that common).
        ctl_r, ctl_w = os.pipe()
        ack_r, ack_w = os.pipe()
        argv[2:2] = ["--delay=-1", "--control=fd:%d,%d" % (ctl_r, ack_w)]
        try:
            self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                          stderr=subprocess.STDOUT, pass_fds=(ctl_r, ack_w))
        finally:
            os.close(ctl_r)
            os.close(ack_w)
        self._ctl = ctl_w
        try:
            os.write(ctl_w, b"enable\n")
            ready, _, _ = select.select([ack_r], [], [], 60)
            answer = os.read(ack_r, 64) if ready else b""
        except OSError:
            answer = b""
        finally:
            os.close(ack_r)
        if not answer.startswith(b"ack"):
            self._log.write("perf did not confirm that it is counting (%s); the test runs "
                            "anyway\n" % ("it exited" if self._proc.poll() is not None
                                           else "no answer in 60 s"))
            self._log.flush()

    def stop(self, test):
        if self._proc is None:
            return
        _stop_process(self._proc, signal.SIGINT)
        self._proc = None
        os.close(self._ctl)
        self._ctl = None
        base = os.path.join(test.profdir, self.name())
        if self.mode == "record" and os.path.exists(base + ".data"):
            with open(base + ".report", "w") as out:
                try:
                    subprocess.run(["perf", "report", "--stdio", "-i", base + ".data"],
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=self._log,
                                   timeout=600)
                except (OSError, subprocess.TimeoutExpired) as e:
                    self._log.write("perf report failed: %s\n" % e)
        self._log.close()
        self._log = None


class oprofile(perf):
    """Legacy oprofile, profiled by ``perf record``; oprofile's own options (vmlinux, its
    event specs, ...) do not apply to perf and are not used."""

    def __init__(self, vmlinux=None, events=None, others=None, local=None, **dargs):
        super(oprofile, self).__init__()

    def name(self):
        return "oprofile"


class readprofile(perf):
    """Legacy readprofile (``/proc/profile``, gone from modern kernels), profiled by
    ``perf record``."""

    def __init__(self, **dargs):
        super(readprofile, self).__init__()

    def name(self):
        return "readprofile"


# Legacy profilers this runtime does not have: accepted by add(), refused (TEST_NA) at start.
_LEGACY_ONLY = ("blktrace", "catprofile", "cmdprofile", "cpistat", "ftrace", "inotify",
                "kvm_stat", "lockmeter", "lttng", "mpstat", "powertop", "sar", "systemtap")


class _unavailable(object):
    def __init__(self, profiler_name):
        self._name = profiler_name

    def name(self):
        return self._name

    def start(self, test):
        raise error.TestNAError(
            "profiler %s is not available in this Autotest: use perf (record or stat), "
            "vmstat or iostat" % self._name)

    def stop(self, test):
        pass


KNOWN = {"vmstat": vmstat, "iostat": iostat, "perf": perf, "oprofile": oprofile,
         "readprofile": readprofile}


class Profilers(object):
    """The job's set of profilers (``job.profilers``)."""

    def __init__(self, job):
        self.job = job
        self.list = []

    def add(self, profiler, *args, **dargs):
        """Adds a profiler by name; an unknown name is a ProfilerError listing the known ones."""
        cls = KNOWN.get(profiler)
        if cls is None and profiler in _LEGACY_ONLY:
            self.list.append(_unavailable(profiler))
            return
        if cls is None:
            raise error.ProfilerError(
                "unknown profiler %r: the known profilers are %s" % (
                    profiler, ", ".join(sorted(KNOWN))))
        try:
            self.list.append(cls(*args, **dargs))
        except TypeError as e:
            raise error.ProfilerError("profiler %s: %s" % (profiler, e))

    def delete(self, profiler):
        """Removes every profiler of that name."""
        self.list = [p for p in self.list if p.name() != profiler]

    def present(self):
        """True when any profiler is configured."""
        return bool(self.list)

    def only(self):
        """Legacy: profile-only runs are not supported separately; always False."""
        return False

    def start(self, test):
        started = []
        try:
            for p in self.list:
                p.start(test)
                started.append(p)
        except Exception:
            for p in started:
                p.stop(test)
            raise

    def stop(self, test):
        for p in self.list:
            p.stop(test)
