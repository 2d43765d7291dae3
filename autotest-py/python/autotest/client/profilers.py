"""Profilers: programs that run beside each test and leave their output in ``<test>/profiling/``.

``job.profilers.add('vmstat', interval=1)`` and ``job.profilers.delete('vmstat')``.
"""

import os
import shutil
import signal
import subprocess

from autotest.client.shared import error

__all__ = ["Profilers", "vmstat", "iostat", "KNOWN"]


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
            raise error.ProfilerError(
                "profiler %s needs %s: install the Debian package %s" % (
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


KNOWN = {"vmstat": vmstat, "iostat": iostat}


class Profilers(object):
    """The job's set of profilers (``job.profilers``)."""

    def __init__(self, job):
        self.job = job
        self.list = []

    def add(self, profiler, *args, **dargs):
        """Adds a profiler by name; an unknown name is a ProfilerError listing the known ones."""
        cls = KNOWN.get(profiler)
        if cls is None:
            raise error.ProfilerError(
                "unknown profiler %r: the known profilers are %s" % (
                    profiler, ", ".join(sorted(KNOWN))))
        self.list.append(cls(*args, **dargs))

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
