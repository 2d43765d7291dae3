"""kernbench: times kernel builds.

The kernel tree comes from ``kernel`` (a source tarball, or the directory of a kernel tree,
which is copied, without its .git, so that it is left untouched) or, with none given, from the
tarball of Debian's ``linux-source`` package (/usr/src/linux-source-<version>.tar.xz, the
newest when there are several). It is unpacked into the test's tmpdir and configured once with
``make <config>`` (``config`` is a make target such as ``defconfig`` or ``tinyconfig``, or the
path of a .config file, then completed with ``make olddefconfig``); each iteration then runs
``make clean`` and times ``make -j<threads> <target>``.

Parameters (all keywords): ``kernel`` (tarball or tree; default the linux-source tarball),
``threads`` (default twice the number of CPUs, as legacy kernbench did), ``config`` (default
``defconfig``), ``target`` (default ``vmlinux``, as legacy kernbench built).

Perf keyvals, one set per iteration: ``elapsed`` (wall-clock seconds, time.monotonic),
``user`` and ``system`` (CPU seconds of make and everything it ran, from the rusage wait4
reports for make). A build that fails ends the test as FAIL with the end of make's output; the
whole output of every build is in ``debug/build.<iteration>.log``.
"""

import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time

from autotest.client import test, utils
from autotest.client.shared import error

BUILD_TOOLS = ("make", "gcc", "flex", "bison", "bc", "perl")
BUILD_PACKAGES = "build-essential flex bison bc libelf-dev libssl-dev"


def _natural_key(text):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def find_kernel_source(src_root="/usr/src"):
    """The newest ``linux-source-<version>.tar.*`` (Debian's linux-source package) under
    ``src_root``, or None."""
    found = [p for p in glob.glob(os.path.join(src_root, "linux-source-*.tar*"))
             if os.path.isfile(p)]
    return max(found, key=lambda p: _natural_key(os.path.basename(p))) if found else None


def timed_make(make_args, cwd, logfile, timeout=None, make="make"):
    """Runs ``make <make_args>`` in ``cwd``, its output appended to ``logfile``.

    Returns a dict: ``elapsed`` (wall-clock seconds, time.monotonic), ``user`` and ``system``
    (CPU seconds of make and of every process it waited for, from wait4's rusage),
    ``exit_status`` (negative: killed by that signal) and ``timed_out``.
    """
    with open(logfile, "ab") as log:
        log.write(("$ %s %s\n" % (make, " ".join(shlex.quote(a) for a in make_args))).encode())
        log.flush()
        start = time.monotonic()
        proc = subprocess.Popen([make] + list(make_args), cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        timed_out = []

        def kill():
            timed_out.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        try:
            while True:
                try:
                    _, status, rusage = os.wait4(proc.pid, 0)
                    break
                except InterruptedError:
                    continue
        finally:
            if timer:
                timer.cancel()
        elapsed = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"elapsed": elapsed, "user": rusage.ru_utime, "system": rusage.ru_stime,
            "exit_status": proc.returncode, "timed_out": bool(timed_out)}


def _tail_file(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()
    except OSError:
        return ""


class kernbench(test.test):
    version = 5

    def initialize(self, threads=None, kernel=None, config="defconfig", target="vmlinux"):
        self.results = None
        self.tree = None
        self.threads = int(threads) if threads else 2 * utils.count_cpus()
        self.source = kernel or find_kernel_source()
        problems = []
        missing = [c for c in BUILD_TOOLS if not utils.have_command(c)]
        if missing:
            problems.append("building a kernel needs %s: install the Debian packages %s"
                            % (", ".join(missing), BUILD_PACKAGES))
        if not self.source:
            problems.append(
                "no kernel source to build: pass kernel=<tarball or dir> to "
                "job.run_test('kernbench', ...), or install Debian's linux-source package "
                "(it puts /usr/src/linux-source-<version>.tar.xz)")
        if problems:
            raise error.TestNAError("; ".join(problems))
        if not os.path.exists(self.source):
            raise error.TestError("kernel=%s: no such file or directory" % self.source)
        self.source = os.path.abspath(self.source)
        self.config = os.path.abspath(config) if os.path.isfile(config) else config
        self.target = target

    def _make_or_fail(self, args, logfile, what):
        r = timed_make(args, self.tree, logfile)
        if r["exit_status"] != 0:
            raise error.TestFail("%s failed (make %s, exit status %s):\n%s"
                                 % (what, " ".join(args), r["exit_status"],
                                    _tail_file(logfile)))

    def warmup(self):
        """Unpacks (or copies) the tree into tmpdir and configures it."""
        self.tree = os.path.join(self.tmpdir, "linux")
        source = self.source
        if os.path.isdir(source):
            os.makedirs(self.tree)
            utils.run("tar -C %s --exclude=./.git -cf - . | tar -C %s -xf -"
                      % (shlex.quote(source), shlex.quote(self.tree)))
        else:
            unpack = os.path.join(self.tmpdir, "unpack")
            os.makedirs(unpack)
            utils.run("tar -C %s -xf %s" % (shlex.quote(unpack), shlex.quote(source)))
            tops = os.listdir(unpack)
            top = os.path.join(unpack, tops[0]) if len(tops) == 1 else unpack
            os.rename(top, self.tree)
        if not os.path.isfile(os.path.join(self.tree, "Makefile")):
            raise error.TestError("%s does not hold a kernel tree (no top-level Makefile)"
                                  % self.source)

        logfile = os.path.join(self.debugdir, "build.config.log")
        if os.path.isfile(self.config):
            shutil.copy(self.config, os.path.join(self.tree, ".config"))
            self._make_or_fail(["olddefconfig"], logfile, "kernel configuration")
        else:
            self._make_or_fail([self.config], logfile, "kernel configuration")

    def run_once(self):
        logfile = os.path.join(self.debugdir, "build.%d.log" % self.iteration)
        self._make_or_fail(["clean"], logfile, "make clean")
        args = ["-j%d" % self.threads, self.target]
        r = timed_make(args, self.tree, logfile)
        if r["exit_status"] != 0:
            raise error.TestFail(
                "kernel build failed (make %s, exit status %s, after %.1f s):\n%s"
                % (" ".join(args), r["exit_status"], r["elapsed"], _tail_file(logfile)))
        self.results = {"elapsed": round(r["elapsed"], 3), "user": round(r["user"], 3),
                        "system": round(r["system"], 3)}
        print("kernbench: make %s: %.2f s elapsed, %.2f s user, %.2f s system"
              % (" ".join(args), r["elapsed"], r["user"], r["system"]))

    def postprocess_iteration(self):
        if self.results is not None:
            self.write_perf_keyval(self.results)
            self.results = None

    def cleanup(self):
        if self.tree and os.path.isdir(self.tree):
            shutil.rmtree(self.tree, ignore_errors=True)
