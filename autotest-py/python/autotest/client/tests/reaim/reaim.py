"""reaim: the re-aim-7 (osdl-aim-7) multiuser benchmark, the AIM Suite VII workload mix.

No Debian package ships reaim. The test runs a ``reaim`` binary found, in this order: built by
``setup`` into the test's srcdir when the upstream source tarball ``osdl-aim-7.0.1.13.tar.gz``
(from https://sourceforge.net/projects/re-aim-7/) has been put next to this file (building it
needs autoconf, automake, libtool, make, gcc and libaio-dev), or ``reaim`` on PATH (a
``make install`` of those sources). Otherwise the test ends as TEST_NA saying so. The workfile
is looked up in the ``data`` directory of the source tree (next to the binary or one level up),
unless ``workfile`` is a path.

Parameters (all keywords): ``args`` (extra reaim options, default none), ``workfile`` (default
``workfile.short``), ``start`` (users to start with, default 1), ``end`` (users to end with,
default 10), ``increment`` (default 2), ``dir`` (the DISKDIR of the disk tasks, default the
test's tmpdir), ``tarball`` (for setup, default ``osdl-aim-7.0.1.13.tar.gz``).

Perf keyvals (the legacy names): ``max_jobs_per_min`` (reaim's "Max Jobs per Minute"), and from
the last row of its table ``num_forked``, ``parent_time``, ``child_systime``, ``child_utime``,
``jobs_min``, ``jobs_min_child``, ``std_dev_time``, ``std_dev_pct``, ``jti``; plus
``users<N>_jobs_min`` for every row (N = the number of users of the row).
"""

import os
import re
import shlex
import shutil
import sys

from autotest.client import test, utils
from autotest.client.shared import error

DEFAULT_TARBALL = "osdl-aim-7.0.1.13.tar.gz"
ROW_KEYS = ("num_forked", "parent_time", "child_systime", "child_utime", "jobs_min",
            "jobs_min_child", "std_dev_time", "std_dev_pct", "jti")
_NUMBER = re.compile(r"^[0-9]+(?:\.[0-9]*)?$")
_MAX_JPM = re.compile(r"^\s*Max Jobs per Minute\s+([0-9.]+)", re.M)


def parse_reaim_output(text):
    """The figures of a reaim run, from its output.

    The result table has one row per number of users: "Num Forked, Parent Time, Child SysTime,
    Child UTime, Jobs per Minute, Jobs/min/Child, Std_dev Time, Std_dev Percent, JTI" (9
    numbers; rows of 8, without JTI, are read too); the run ends with "Max Jobs per Minute N".
    Returns a dict of numbers (see the module docstring); raises ValueError when the output has
    neither a row nor a "Max Jobs per Minute" line.
    """
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) in (8, 9) and all(_NUMBER.match(f) for f in fields) \
                and fields[0].isdigit():
            rows.append(fields)
    maxes = _MAX_JPM.findall(text)
    if not rows and not maxes:
        raise ValueError("no reaim result table and no 'Max Jobs per Minute' line")
    result = {}
    if maxes:
        result["max_jobs_per_min"] = float(maxes[-1])
    for fields in rows:
        result["users%d_jobs_min" % int(fields[0])] = float(fields[4])
    if rows:
        for key, value in zip(ROW_KEYS, rows[-1]):
            result[key] = int(value) if value.isdigit() else float(value)
    return result


def find_workfile(workfile, binary):
    """The path of ``workfile``: itself when it is a path, else in the source tree's ``data``
    directory next to ``binary`` or one level up (``src/reaim`` of an unbuilt-in-place tree)."""
    if os.sep in workfile:
        return workfile if os.path.isfile(workfile) else None
    bindir = os.path.dirname(os.path.realpath(binary))
    for base in (bindir, os.path.dirname(bindir), os.path.join(bindir, "..", "share", "reaim")):
        candidate = os.path.join(base, "data", workfile)
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
        candidate = os.path.join(base, workfile)
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    return None


def _tail(text, lines=20):
    return "\n".join(text.strip().splitlines()[-lines:])


class reaim(test.test):
    version = 2

    def initialize(self):
        self.results = None

    def setup(self, tarball=DEFAULT_TARBALL):
        """Builds reaim into srcdir when the upstream tarball sits next to the test; else
        there is nothing to build (a reaim on PATH is used)."""
        tarball = utils.unmap_url(self.bindir, tarball, self.tmpdir)
        if not os.path.isfile(tarball):
            return
        missing = [c for c in ("autoreconf", "automake", "libtoolize", "make", "gcc")
                   if not utils.have_command(c)]
        if missing:
            raise error.TestNAError(
                "building reaim from %s needs %s: install the Debian packages autoconf automake "
                "libtool build-essential libaio-dev" % (tarball, ", ".join(missing)))
        utils.extract_tarball_to_dir(tarball, self.srcdir)
        os.chdir(self.srcdir)
        if os.path.exists("bootstrap"):
            utils.system("sh ./bootstrap")
        utils.system("./configure LDFLAGS=-laio")
        utils.make()
        shutil.copy(os.path.join("src", "reaim"), "reaim")

    def _binary(self):
        built = os.path.join(self.srcdir, "reaim")
        if os.access(built, os.X_OK):
            return built
        return shutil.which("reaim")

    def run_once(self, args="", workfile="workfile.short", start=1, end=10, increment=2,
                 dir=None):
        binary = self._binary()
        if binary is None:
            raise error.TestNAError(
                "reaim is not installed and no Debian package ships it: build the `reaim` binary "
                "from the osdl-aim-7 (re-aim-7) sources, %s from "
                "https://sourceforge.net/projects/re-aim-7/ (needs libaio-dev), and put it on "
                "PATH, or copy the tarball to %s so that the test's setup builds it"
                % (DEFAULT_TARBALL, self.bindir))
        work = find_workfile(workfile, binary)
        if work is None:
            raise error.TestNAError(
                "reaim workfile %s not found (looked in the data directory of the source tree "
                "of %s); pass workfile=<path>" % (workfile, binary))
        diskdir = dir or os.path.join(self.tmpdir, "diskdir")
        os.makedirs(diskdir, exist_ok=True)
        config = os.path.join(self.tmpdir, "reaim.config")
        shutil.copy(os.path.join(self.bindir, "reaim.config"), config)
        with open(config, "a") as f:
            f.write("DISKDIR %s\n" % diskdir)

        cmd = "%s -f %s -s %d -e %d -i %d -c %s %s" % (
            shlex.quote(binary), shlex.quote(work), int(start), int(end), int(increment),
            shlex.quote(config), args or "")
        # reaim reads its workfile's task names relative to the source tree: run it from there.
        cwd = os.path.dirname(os.path.dirname(work)) if os.path.basename(
            os.path.dirname(work)) == "data" else os.path.dirname(work)
        result = utils.run(cmd, ignore_status=True, cwd=cwd,
                           stdout_tee=sys.stdout, stderr_tee=sys.stderr)
        output = result.stdout + result.stderr
        os.makedirs(self.debugdir, exist_ok=True)
        with open(os.path.join(self.debugdir, "reaim.%d.log" % self.iteration), "w") as f:
            f.write("$ %s\n%s" % (cmd, output))
        if result.exit_status != 0:
            raise error.TestFail("reaim exited with status %d:\n%s"
                                 % (result.exit_status, _tail(output)))
        try:
            self.results = parse_reaim_output(result.stdout)
        except ValueError as e:
            raise error.TestError("reaim output unreadable (%s):\n%s" % (e, _tail(output)))

    def postprocess_iteration(self):
        if self.results is not None:
            self.write_perf_keyval(self.results)
            self.results = None
