"""Command helpers of the legacy client API: ``system``, ``system_output``, ``run`` and friends.

Every command goes through ``run``, which raises :class:`error.CmdError` on a non-zero exit
(unless ``ignore_status``) and kills the whole process group on timeout.
"""

import os
import shlex
import signal
import subprocess
import sys
import time

from autotest.client.shared import error

__all__ = [
    "CmdResult", "run", "system", "system_output", "count_cpus", "memtotal", "freememtotal",
    "sh_escape", "extract_tarball_to_dir", "extract_tarball", "make", "get_os_vendor",
    "read_one_line", "write_one_line", "read_file", "get_file", "unmap_url",
    "check_for_kernel_feature", "get_cpu_arch", "running_os_release", "have_command",
    "check_glibc_ver", "grep", "cat_file_to_cmd",
]


class CmdResult(object):
    """What a finished command left: command, exit_status, stdout, stderr, duration."""

    def __init__(self, command="", stdout="", stderr="", exit_status=None, duration=0):
        self.command = command
        self.exit_status = exit_status
        self.stdout = stdout
        self.stderr = stderr
        self.duration = duration

    def __repr__(self):
        return "* Command: %s\nExit status: %s\nDuration: %.2f\n" % (
            self.command, self.exit_status, self.duration)


def _tee(stream, tee):
    if tee is None:
        return
    tee.write(stream)
    tee.flush()


def run(command, timeout=None, ignore_status=False, stdout_tee=None, stderr_tee=None,
        verbose=True, stdin=None, args=(), env=None, cwd=None, stderr_is_expected=None):
    """Runs ``command`` through ``/bin/sh`` (extra ``args`` are quoted and appended).

    Returns a :class:`CmdResult`; raises :class:`error.CmdError` when the command exits non-zero
    and ``ignore_status`` is false, or when it runs longer than ``timeout`` seconds (it is then
    killed with its whole process group).
    """
    if args:
        command = " ".join([command] + [shlex.quote(str(a)) for a in args])
    start = time.time()
    proc = subprocess.Popen(
        command, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        start_new_session=True, env=env, cwd=cwd)
    timed_out = False
    try:
        out, err = proc.communicate(
            input=stdin.encode() if isinstance(stdin, str) else stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
    result = CmdResult(
        command=command,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        exit_status=proc.returncode,
        duration=time.time() - start)
    _tee(result.stdout, stdout_tee)
    _tee(result.stderr, stderr_tee)
    if timed_out:
        raise error.CmdError(command, result, "timed out after %s seconds" % timeout)
    if result.exit_status != 0 and not ignore_status:
        raise error.CmdError(command, result)
    return result


def system(command, timeout=None, ignore_status=False, verbose=True, args=()):
    """Runs ``command``; its output goes to this process's stdout/stderr. Returns the exit status."""
    return run(command, timeout=timeout, ignore_status=ignore_status, args=args,
               stdout_tee=sys.stdout, stderr_tee=sys.stderr).exit_status


def system_output(command, timeout=None, ignore_status=False, retain_output=False, args=(),
                  verbose=True):
    """Runs ``command`` and returns its stdout without the trailing newline; ``retain_output``
    also copies its stdout and stderr to this process's (the test's debug logs)."""
    tee = sys.stdout if retain_output else None
    out = run(command, timeout=timeout, ignore_status=ignore_status, args=args,
              stdout_tee=tee, stderr_tee=sys.stderr if retain_output else None).stdout
    if out.endswith("\n"):
        out = out[:-1]
    return out


def have_command(name):
    """True when ``name`` is an executable on PATH."""
    from shutil import which
    return which(name) is not None


def sh_escape(command):
    """Escapes a string for use inside double quotes in a shell command."""
    for c in ("\\", "$", '"', "`"):
        command = command.replace(c, "\\" + c)
    return command


def count_cpus():
    """Number of online CPUs."""
    return os.cpu_count() or 1


def _meminfo(field):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def memtotal():
    """Total memory in kB."""
    return _meminfo("MemTotal")


def freememtotal():
    """Free memory in kB."""
    return _meminfo("MemFree")


def read_one_line(filename):
    """The first line of a file, without its newline."""
    with open(filename) as f:
        return f.readline().rstrip("\n")


def write_one_line(filename, line):
    """Writes one line (a newline is added) to a file."""
    with open(filename, "w") as f:
        f.write(line.rstrip("\n") + "\n")


def read_file(filename):
    """The whole text of a file."""
    with open(filename) as f:
        return f.read()


def grep(pattern, file):
    """True when the regular expression ``pattern`` matches a line of ``file``."""
    import re
    rx = re.compile(pattern)
    with open(file, errors="replace") as f:
        return any(rx.search(line) for line in f)


def cat_file_to_cmd(file, command):
    """Feeds a file (decompressing .gz/.bz2/.xz) to the stdin of a command."""
    if file.endswith(".bz2"):
        return system("bzcat %s | %s" % (shlex.quote(file), command))
    if file.endswith(".gz"):
        return system("zcat %s | %s" % (shlex.quote(file), command))
    if file.endswith(".xz"):
        return system("xzcat %s | %s" % (shlex.quote(file), command))
    return system("cat %s | %s" % (shlex.quote(file), command))


def unmap_url(srcdir, src, destdir="."):
    """A local path for ``src``: a path relative to ``srcdir`` or an absolute one.

    URLs are not fetched: machines in a lab have no internet, so a URL is an error that says so.
    """
    if "://" in src:
        raise error.PackageError(
            "%s is a URL: machines under test fetch nothing from the network; "
            "copy the file next to the test or pass a local path" % src)
    if os.path.isabs(src):
        return src
    return os.path.join(srcdir, src)


def get_file(src, dest):
    """Copies a local file to ``dest`` (URLs are refused, see :func:`unmap_url`)."""
    import shutil
    path = unmap_url(".", src)
    shutil.copyfile(path, dest)
    return dest


def extract_tarball(tarball):
    """Extracts a tarball into the current directory; returns the top directory it made."""
    import tarfile
    with tarfile.open(tarball) as t:
        names = t.getnames()
        kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        t.extractall(**kwargs)
    tops = sorted({n.split("/")[0] for n in names if n and not n.startswith("/")})
    return tops[0] if len(tops) == 1 else None


def extract_tarball_to_dir(tarball, dir):
    """Extracts a tarball whose contents sit in one top directory, so that they end up in ``dir``."""
    import shutil
    import tempfile
    if not os.path.isfile(tarball):
        # Legacy tests ship their source tarballs beside the module (unmap_url finds them
        # there); a missing one is the common failure, so name it and the fix.
        raise error.TestError(
            "source tarball %s is missing: the test ships it beside its module; copy it there "
            "(machines under test download nothing)" % tarball)
    if os.path.exists(dir):
        shutil.rmtree(dir)
    parent = os.path.dirname(os.path.abspath(dir)) or "."
    tmp = tempfile.mkdtemp(dir=parent)
    old = os.getcwd()
    try:
        os.chdir(tmp)
        top = extract_tarball(os.path.abspath(os.path.join(old, tarball)))
        if top is None:
            raise error.TestError("%s does not hold a single top directory" % tarball)
        os.rename(os.path.join(tmp, top), dir)
    finally:
        os.chdir(old)
        shutil.rmtree(tmp, ignore_errors=True)


def make(extra="", make="make", timeout=None, ignore_status=False):
    """Runs make with one job per CPU."""
    return system("%s -j %d %s" % (make, count_cpus(), extra), timeout=timeout,
                  ignore_status=ignore_status)


def get_os_vendor():
    """The distribution's name from /etc/os-release."""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Unknown"


def get_cpu_arch():
    """The machine architecture (``uname -m``)."""
    return os.uname().machine


def running_os_release():
    """The running kernel's release (``uname -r``)."""
    return os.uname().release


def check_for_kernel_feature(feature):
    """Raises TestNAError unless the running kernel has CONFIG_<feature> set (from /proc/config.gz
    or /boot/config-<release>)."""
    import gzip
    rel = running_os_release()
    text = None
    if os.path.exists("/proc/config.gz"):
        with gzip.open("/proc/config.gz", "rt") as f:
            text = f.read()
    elif os.path.exists("/boot/config-" + rel):
        with open("/boot/config-" + rel) as f:
            text = f.read()
    if text is None:
        raise error.TestNAError("the kernel config of %s cannot be found" % rel)
    key = "CONFIG_%s=" % feature.upper()
    if key + "y" not in text and key + "m" not in text:
        raise error.TestNAError("the kernel %s lacks CONFIG_%s" % (rel, feature.upper()))


def check_glibc_ver(ver):
    """Raises TestError when glibc is older than ``ver``."""
    import platform
    _, have = platform.libc_ver()
    def key(v):
        return [int(x) for x in v.split(".") if x.isdigit()]
    if have and key(have) < key(ver):
        raise error.TestError("glibc %s is older than the %s this test needs" % (have, ver))


# The rest of legacy utils lives in base_utils (as in legacy's client/base_utils.py).
from autotest.client import base_utils as _base_utils  # noqa: E402
from autotest.client.base_utils import *  # noqa: E402,F401,F403

__all__ += _base_utils.__all__
# Not in __all__ (control files star-import utils and keep the builtin), but utils.hash works.
hash = _base_utils.hash
