"""The machine's facts, collected as legacy Autotest did (``job.sysinfo``).

Layout (legacy file names, so results parsers find them):

- ``<results>/sysinfo/``: at the job's start; after each reboot ``sysinfo/boot.<n>/``. Per-boot
  commands (``uname``, ``lspci_-vvn``, ``gcc_--version``, ``ld_--version``, ``mount``,
  ``hostname``, ``uptime``), files (``cmdline``, ``cpuinfo``, ``meminfo``, ``version``,
  ``modules``, ``interrupts``, ``partitions``, ``slabinfo``, ``proc_mounts``, ...), the per-test
  ones too, and ``installed_packages``.
- ``<test>/sysinfo/``: after each test: ``df``, ``dmesg.gz``, the new part of the system log,
  ``reboot_current`` (a link to the boot's directory), ``added_packages`` /
  ``removed_packages``; and ``iteration.<n>/<file>.before`` / ``.after`` around each iteration.
- ``<test>/keyval``: ``sysinfo-cmdline``, ``sysinfo-uname`` (without the host name),
  ``sysinfo-memtotal-in-kb``, ``sysinfo-phys-mbytes``.

A command that is missing or fails leaves an empty file: collecting facts never fails a job.
What a control file adds (``add_command``/``add_logfile``) is kept in the job state, so it is
collected again after a reboot.
"""

import glob
import gzip
import os
import re
import shutil
import subprocess
import sys

__all__ = ["sysinfo", "command", "logfile"]

_STATE_KEY = "__sysinfo"

_BOOT_COMMANDS = ["lspci -vvn", "gcc --version", "ld --version", "mount", "hostname", "uptime"]
_BOOT_FILES = ["/proc/pci", "/proc/meminfo", "/proc/slabinfo", "/proc/version", "/proc/cpuinfo",
               "/proc/modules", "/proc/interrupts", "/proc/partitions"]
_ITERATION_FILES = ["/proc/schedstat", "/proc/meminfo", "/proc/slabinfo", "/proc/interrupts"]
_SYSTEM_LOGS = ["/var/log/messages", "/var/log/syslog"]
# Debian's package list; the names with versions, one a line.
_PACKAGES_CMD = ["dpkg-query", "-W", "-f", "${Package} ${Version}\\n"]
# A command that hangs (a wedged device under lspci, say) must not hang the job.
_COMMAND_TIMEOUT = 120


def _note(msg):
    sys.stderr.write("sysinfo: %s\n" % msg)


class command(object):
    """A shell command whose stdout is saved as ``logf`` (default: the command, spaces as _)."""

    def __init__(self, cmd, logf=None, log_in_keyval=False, compress_log=False):
        self.cmd = cmd
        self.logf = logf or cmd.replace(" ", "_")
        self.log_in_keyval = log_in_keyval
        self.compress_log = compress_log

    def key(self):
        return ("command", self.cmd, self.logf)

    def to_json(self):
        return {"command": self.cmd, "logf": self.logf, "keyval": self.log_in_keyval,
                "gz": self.compress_log}

    def run(self, logdir):
        path = os.path.join(logdir, self.logf)
        env = dict(os.environ)
        env.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        with open(path, "wb") as out:
            try:
                subprocess.run(self.cmd, shell=True, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.DEVNULL, env=env, timeout=_COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                _note("%s did not finish in %d s; %s holds what it printed" % (
                    self.cmd, _COMMAND_TIMEOUT, path))
        if self.compress_log:
            with open(path, "rb") as src, gzip.open(path + ".gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.remove(path)


class logfile(object):
    """A file copied as ``logf`` (default: its base name); a missing file is skipped."""

    def __init__(self, path, logf=None, log_in_keyval=False):
        self.path = path
        self.logf = logf or os.path.basename(path)
        self.log_in_keyval = log_in_keyval

    def key(self):
        return ("file", self.path, self.logf)

    def to_json(self):
        return {"file": self.path, "logf": self.logf, "keyval": self.log_in_keyval}

    def run(self, logdir):
        if not os.path.exists(self.path):
            return
        try:
            # Read, not copyfile: /proc files report size 0.
            with open(self.path, "rb") as src, open(os.path.join(logdir, self.logf), "wb") as dst:
                shutil.copyfileobj(src, dst)
        except OSError as e:
            _note("not logging %s: %s" % (self.path, e.strerror))


def _from_json(d):
    if "command" in d:
        return command(d["command"], d["logf"], d.get("keyval", False), d.get("gz", False))
    return logfile(d["file"], d["logf"], d.get("keyval", False))


def _read_first_line(path):
    try:
        with open(path, errors="replace") as f:
            return f.readline().rstrip("\n")
    except OSError:
        return ""


_DPKG_STATUS = "/var/lib/dpkg/status"
# (stat of dpkg's status file, package list): the list is asked again only when the file
# changed, so a test costs no package query when it installed nothing.
_packages_cache = [None, None]


def _dpkg_stamp():
    try:
        st = os.stat(_DPKG_STATUS)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _packages():
    stamp = _dpkg_stamp()
    if stamp is not None and _packages_cache[0] == stamp:
        return _packages_cache[1]
    pkgs = _query_packages()
    if stamp is not None and pkgs is not None:
        _packages_cache[:] = [stamp, pkgs]
    return pkgs


def _query_packages():
    try:
        r = subprocess.run(_PACKAGES_CMD, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=_COMMAND_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    return sorted(set(l for l in r.stdout.splitlines() if l.strip()))


class sysinfo(object):
    """What the job collects per boot, per test and per iteration."""

    def __init__(self, job_resultsdir, job=None):
        self.sysinfodir = os.path.join(job_resultsdir, "sysinfo")
        self._job = job
        self.boot_loggables = [command(c) for c in _BOOT_COMMANDS]
        self.boot_loggables += [logfile(f) for f in _BOOT_FILES]
        self.boot_loggables += [
            logfile("/proc/cmdline", log_in_keyval=True),
            logfile("/proc/mounts", logf="proc_mounts"),
            command("uname -a", logf="uname", log_in_keyval=True),
        ]
        self.test_loggables = [command("df -mP", logf="df"),
                               # Read only: legacy's `dmesg -c` also cleared the kernel's log.
                               command("dmesg", logf="dmesg", compress_log=True)]
        self.before_iteration_loggables = [
            logfile(f, logf=os.path.basename(f) + ".before") for f in _ITERATION_FILES]
        self.after_iteration_loggables = [
            logfile(f, logf=os.path.basename(f) + ".after") for f in _ITERATION_FILES]
        self.log_installed_packages = True
        self._packages_before = None
        self._messages = None
        self._load()

    # -- what a control file adds ------------------------------------------------------------
    def add_command(self, cmd, logfile=None, on_every_test=False):
        """Also collects ``cmd``'s output (as ``logfile``, default the command with spaces as
        ``_``): after every test with ``on_every_test``, else once per boot."""
        self._add(command(cmd, logf=logfile), on_every_test)

    def add_logfile(self, path, on_every_test=False):
        """Also copies the file ``path``: after every test with ``on_every_test``, else once
        per boot."""
        self._add(globals()["logfile"](path), on_every_test)

    def _add(self, loggable, on_every_test):
        target = self.test_loggables if on_every_test else self.boot_loggables
        if any(l.key() == loggable.key() for l in target):
            return
        target.append(loggable)
        self._save()
        if not on_every_test and self._boot_count() >= 0:
            # This boot's facts were collected before the control file ran: collect the new
            # one now too, not only after the next reboot.
            try:
                loggable.run(self._boot_dir())
            except Exception as e:
                _note("collecting %s failed: %s" % (loggable.logf, e))

    def _save(self):
        if self._job is not None:
            self._job.set_state(_STATE_KEY, {
                "boot": [l.to_json() for l in self.boot_loggables],
                "test": [l.to_json() for l in self.test_loggables]})

    def _load(self):
        if self._job is None:
            return
        saved = self._job.get_state(_STATE_KEY, None)
        if saved:
            self.boot_loggables = [_from_json(d) for d in saved.get("boot", [])]
            self.test_loggables = [_from_json(d) for d in saved.get("test", [])]

    # -- per boot ------------------------------------------------------------------------------
    def _boot_count(self):
        """-1 before the first collection, else the number of ``boot.<n>`` directories."""
        if not glob.glob(os.path.join(self.sysinfodir, "*")):
            return -1
        return len(glob.glob(os.path.join(self.sysinfodir, "boot.*")))

    def _boot_dir(self, next_boot=False):
        n = self._boot_count() + (1 if next_boot else 0)
        return self.sysinfodir if n < 1 else os.path.join(self.sysinfodir, "boot.%d" % (n - 1))

    def log_per_reboot_data(self):
        """At the job's start and after each reboot: ``sysinfo/`` then ``sysinfo/boot.<n>/``."""
        try:
            os.makedirs(self.sysinfodir, exist_ok=True)
            logdir = self._boot_dir(next_boot=True)
            os.makedirs(logdir, exist_ok=True)
            for l in self.test_loggables + self.boot_loggables:
                l.run(logdir)
            if self.log_installed_packages:
                pkgs = _packages()
                if pkgs is not None:
                    with open(os.path.join(logdir, "installed_packages"), "w") as f:
                        f.write("\n".join(pkgs) + "\n")
        except Exception as e:
            _note("per-boot collection failed: %s" % e)

    # -- per test ------------------------------------------------------------------------------
    def log_before_each_test(self, test):
        try:
            if self.log_installed_packages:
                self._packages_before = _packages()
            self._messages = None
            for path in _SYSTEM_LOGS:
                if os.path.exists(path):
                    st = os.stat(path)
                    self._messages = (path, st.st_ino, st.st_size)
                    break
        except Exception as e:
            _note("pre-test collection failed: %s" % e)

    def log_after_each_test(self, test):
        try:
            testdir = os.path.join(test.outputdir, "sysinfo")
            os.makedirs(testdir, exist_ok=True)
            link = os.path.join(testdir, "reboot_current")
            if not os.path.lexists(link):
                os.symlink(os.path.relpath(self._boot_dir(), testdir), link)
            for l in self.test_loggables:
                l.run(testdir)
            self._log_messages(testdir)
            if self.log_installed_packages and self._packages_before is not None:
                after = _packages()
                if after is not None:
                    old, new = set(self._packages_before), set(after)
                    for name, lines in (("added_packages", new - old),
                                        ("removed_packages", old - new)):
                        with open(os.path.join(testdir, name), "w") as f:
                            f.write("".join(l + "\n" for l in sorted(lines)))
            test.write_test_keyval(self._keyvals(testdir))
        except Exception as e:
            _note("post-test collection failed: %s" % e)

    def _log_messages(self, testdir):
        """The part of the system log written while the test ran, as ``<name>.gz``."""
        path = next((p for p in _SYSTEM_LOGS if os.path.exists(p)), None)
        if path is None:
            return
        skip = 0
        if self._messages and self._messages[0] == path and \
                os.stat(path).st_ino == self._messages[1]:
            skip = self._messages[2]
        try:
            with open(path, "rb") as src, \
                    gzip.open(os.path.join(testdir, os.path.basename(path) + ".gz"), "wb") as dst:
                src.seek(skip)
                shutil.copyfileobj(src, dst)
        except OSError as e:
            _note("not logging %s: %s" % (path, e.strerror))

    def _keyvals(self, testdir):
        kv = {}
        boot = os.path.join(testdir, "reboot_current")
        for l in self.test_loggables:
            if l.log_in_keyval:
                kv["sysinfo-" + l.logf] = _read_first_line(os.path.join(testdir, l.logf))
        for l in self.boot_loggables:
            if l.log_in_keyval:
                kv["sysinfo-" + l.logf] = _read_first_line(os.path.join(boot, l.logf))
        if "sysinfo-uname" in kv:
            # "Linux <host> <release> <version...>": without the host name.
            kv["sysinfo-uname"] = " ".join(kv["sysinfo-uname"].split()[2:])
        try:
            with open(os.path.join(boot, "meminfo")) as f:
                m = re.search(r"^MemTotal:\s+(\d+) kB$", f.read(), re.MULTILINE)
            if m:
                kv["sysinfo-memtotal-in-kb"] = m.group(1)
                # Legacy rounded MemTotal up to what the DIMMs hold; in MB.
                kv["sysinfo-phys-mbytes"] = _rounded_mbytes(int(m.group(1)))
        except OSError:
            pass
        return kv

    # -- per iteration -------------------------------------------------------------------------
    def _iteration_dir(self, test, iteration):
        d = os.path.join(test.outputdir, "sysinfo", "iteration.%d" % iteration)
        os.makedirs(d, exist_ok=True)
        return d

    def log_before_each_iteration(self, test, iteration=None):
        try:
            d = self._iteration_dir(test, iteration or test.iteration)
            for l in self.before_iteration_loggables:
                l.run(d)
        except Exception as e:
            _note("pre-iteration collection failed: %s" % e)

    def log_after_each_iteration(self, test, iteration=None):
        try:
            d = self._iteration_dir(test, iteration or test.iteration)
            for l in self.after_iteration_loggables:
                l.run(d)
        except Exception as e:
            _note("post-iteration collection failed: %s" % e)


def _rounded_mbytes(memtotal_kb):
    """The installed memory in MB, guessed from MemTotal (kB): the kernel keeps 1.5% to 5.5%
    for itself, so add the smallest share and round up to a power of two that covers the
    spread between the smallest and the largest share (as legacy's rounded_memtotal)."""
    low = int(memtotal_kb / (1.0 - 0.015))
    spread = max(1, int(memtotal_kb / (1.0 - 0.055)) - low)
    step = 1
    while step < spread:
        step *= 2
    return ((low + step - 1) // step * step) // 1024
