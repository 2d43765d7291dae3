"""The rest of the legacy ``utils`` functions test modules call (configure, get_cc,
update_version, process helpers, keyvals, versions, ...). ``autotest.client.utils`` re-exports
every name here, so tests keep calling ``utils.<name>``.
"""

import hashlib
import os
import random
import re
import shlex
import shutil
import signal
import socket
import string
import subprocess
import time

from autotest.client.shared import error

__all__ = [
    "configure", "get_cc", "get_cxx", "open_write_close", "prepend_path", "append_path",
    "nuke_subprocess", "nuke_pid", "signal_pid", "pid_is_alive", "get_arch",
    "get_current_kernel_arch", "update_version", "safe_rmdir", "read_keyval", "write_keyval",
    "args_to_dict", "compare_versions", "check_kernel_ver", "file_contains_pattern",
    "load_module", "unload_module", "module_is_loaded", "get_loaded_modules",
    "get_modules_dir", "running_config", "running_os_ident", "running_os_full_version",
    "freespace", "get_unused_port", "generate_random_string", "BgJob", "join_bg_jobs",
    "get_cpu_vendor", "get_cpu_family", "get_children_pids", "process_is_alive",
    "program_is_alive", "find_command", "drop_caches", "deprecated", "matrix_to_string",
    "get_num_cpus", "get_uptime", "convert_data_size", "interactive_download",
    "get_process_name", "strip_unicode", "sh_quote_word", "rounded_memtotal", "environ",
    "run_parallel", "system_parallel", "system_output_parallel", "get_relative_path",
    "merge_trees", "get_field", "get_cpu_percentage", "cpu_online_map", "get_disks",
    "get_hwclock_seconds", "unmap_url_cache",
]


def environ(env_key):
    """The value of an environment variable, or ``''`` when it is not set (legacy)."""
    return os.environ.get(env_key, "")


def configure(extra=None, configure="./configure"):
    """Runs ``./configure``, passing CHOST/CBUILD/CTARGET from the environment as legacy did."""
    from autotest.client import utils
    opts = []
    for var, flag in (("CHOST", "--host"), ("CBUILD", "--build"), ("CTARGET", "--target")):
        if os.environ.get(var):
            opts.append("%s=%s" % (flag, os.environ[var]))
    if extra:
        opts.append(extra)
    return utils.system("%s %s" % (configure, " ".join(opts)))


def get_cc():
    """The C compiler to use: ``$CC``, else ``gcc``."""
    return os.environ.get("CC") or "gcc"


def get_cxx():
    """The C++ compiler to use: ``$CXX``, else ``g++``."""
    return os.environ.get("CXX") or "g++"


def open_write_close(filename, data):
    """Writes ``data`` (text or bytes) to ``filename``, replacing it."""
    mode = "wb" if isinstance(data, (bytes, bytearray)) else "w"
    with open(filename, mode) as f:
        f.write(data)


def prepend_path(newpath, oldpath):
    """``newpath:oldpath`` (just ``newpath`` when ``oldpath`` is empty), for PATH-like values."""
    return "%s:%s" % (newpath, oldpath) if oldpath else newpath


def append_path(oldpath, newpath):
    """``oldpath:newpath`` (just ``newpath`` when ``oldpath`` is empty)."""
    return "%s:%s" % (oldpath, newpath) if oldpath else newpath


def pid_is_alive(pid):
    """True when ``pid`` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def signal_pid(pid, sig):
    """Sends ``sig`` to ``pid`` and waits up to 5 s for it to go; True when it is gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    for _ in range(50):
        if not pid_is_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_is_alive(pid)


def nuke_pid(pid, signal_queue=(signal.SIGTERM, signal.SIGKILL)):
    """Sends each signal of ``signal_queue`` until ``pid`` is gone; raises CmdError if it stays."""
    for sig in signal_queue:
        if signal_pid(pid, sig):
            return
    raise error.AutotestError("could not kill pid %d with signals %s" % (
        pid, ", ".join(str(int(s)) for s in signal_queue)))


def nuke_subprocess(subproc):
    """Ends a ``subprocess.Popen`` child: SIGTERM, then SIGKILL. Returns its exit status."""
    if subproc.poll() is not None:
        return subproc.returncode
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            subproc.send_signal(sig)
        except ProcessLookupError:
            break
        try:
            return subproc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            continue
    return subproc.wait()


def get_arch(run_function=None):
    """The machine's architecture as legacy named it: ``i386`` for any x86 32-bit, else
    ``uname -m``."""
    arch = os.uname().machine
    if run_function is not None:
        arch = run_function("uname -m").stdout.strip()
    if re.match(r"i\d86$", arch):
        return "i386"
    return arch


def get_current_kernel_arch():
    """The running kernel's architecture (``uname -m``)."""
    return os.uname().machine


def update_version(srcdir, preserve_srcdir, new_version, install, *args, **dargs):
    """Runs ``install(*args, **dargs)`` unless ``srcdir`` was built for ``new_version`` already
    (recorded in ``srcdir/.version``); ``srcdir`` is wiped first unless ``preserve_srcdir``."""
    versionfile = os.path.join(srcdir, ".version")
    try:
        with open(versionfile) as f:
            if f.read().strip() == str(new_version):
                return False
    except OSError:
        pass
    if not preserve_srcdir and os.path.exists(srcdir):
        shutil.rmtree(srcdir)
    install(*args, **dargs)
    if os.path.isdir(srcdir):
        with open(versionfile, "w") as f:
            f.write("%s\n" % new_version)
    return True


def safe_rmdir(path, timeout=10):
    """Removes a directory tree, retrying while something (a just-ended process) still writes
    into it; raises OSError naming the path when it cannot."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            shutil.rmtree(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if time.monotonic() >= deadline:
                raise OSError(e.errno, "cannot remove %s: %s" % (path, e.strerror))
            time.sleep(0.1)


_KEYVAL = re.compile(r"^\s*([^=\s][^=]*?)\s*=\s*(.*?)\s*$")


def read_keyval(path, type_tag=None):
    """A dict of a keyval file (``path`` or ``path/keyval``); numbers become int/float.
    With ``type_tag``, only ``key{type_tag}`` lines, keys without the tag."""
    if os.path.isdir(path):
        path = os.path.join(path, "keyval")
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            m = _KEYVAL.match(line)
            if not m:
                raise ValueError("%s, line %d: %r is not key=value" % (path, n, line))
            key, value = m.groups()
            tm = re.match(r"^(.*)\{([a-z]+)\}$", key)
            if type_tag is not None:
                if not tm or tm.group(2) != type_tag:
                    continue
                key = tm.group(1)
            for conv in (int, float):
                try:
                    value = conv(value)
                    break
                except ValueError:
                    pass
            out[key] = value
    return out


def write_keyval(path, dictionary, type_tag=None, tap_report=None):
    """Appends ``key=value`` lines (``key{type_tag}=value`` with a tag) to a keyval file."""
    if os.path.isdir(path):
        path = os.path.join(path, "keyval")
    with open(path, "a") as f:
        for key in sorted(dictionary):
            if not re.match(r"^[-.\w]+$", str(key)):
                raise ValueError("keyval key %r has characters other than letters, digits, "
                                 "'-', '.' and '_'" % (key,))
            name = key if type_tag is None else "%s{%s}" % (key, type_tag)
            f.write("%s=%s\n" % (name, dictionary[key]))


def args_to_dict(args):
    """``['key=value', ...]`` (a control file's args) as a dict with lower-case keys; words
    without ``=`` are ignored, as legacy did."""
    out = {}
    for arg in args:
        m = re.match(r"^([A-Za-z_][\w-]*)\s*[=:]\s*(.*)$", arg)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def _version_key(v):
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-_+]", str(v)) if p]


def compare_versions(ver1, ver2):
    """-1, 0 or 1 as ``ver1`` is older than, equal to or newer than ``ver2`` (dotted parts
    compared as numbers)."""
    a, b = _version_key(ver1), _version_key(ver2)
    return (a > b) - (a < b)


def check_kernel_ver(ver):
    """Raises TestError when the running kernel is older than ``ver``."""
    have = os.uname().release.split("-")[0]
    if compare_versions(have, ver) < 0:
        raise error.TestError("kernel %s is older than the %s this test needs" % (have, ver))


def hash(type, input=None):
    """A hashlib object (``md5``, ``sha1``, ...), updated with ``input`` when given. Left out of
    ``__all__``: control files star-import utils and must keep the builtin ``hash``."""
    h = hashlib.new(type)
    if input:
        h.update(input.encode() if isinstance(input, str) else input)
    return h


def file_contains_pattern(file, pattern):
    """True when a line of ``file`` matches the regular expression ``pattern``."""
    if not os.path.isfile(file):
        raise NameError("file %s does not exist" % file)
    from autotest.client import utils
    return utils.grep(pattern, file)


def get_loaded_modules():
    """Names of the loaded kernel modules (from /proc/modules)."""
    try:
        with open("/proc/modules") as f:
            return [line.split()[0] for line in f if line.strip()]
    except OSError:
        return []


def module_is_loaded(module_name):
    """True when kernel module ``module_name`` is loaded (``-`` and ``_`` are the same)."""
    name = module_name.replace("-", "_")
    return name in get_loaded_modules()


def load_module(module_name, params=None):
    """Loads a kernel module with modprobe; False when it was loaded already."""
    from autotest.client import utils
    if module_is_loaded(module_name):
        return False
    utils.system("modprobe %s %s" % (shlex.quote(module_name), params or ""))
    return True


def unload_module(module_name):
    """Unloads a kernel module (modprobe -r); nothing when it is not loaded."""
    from autotest.client import utils
    if module_is_loaded(module_name):
        utils.system("modprobe -r %s" % shlex.quote(module_name))


def get_modules_dir():
    """``/lib/modules/<running release>``."""
    return "/lib/modules/%s" % os.uname().release


def running_config():
    """The running kernel's config file (/proc/config.gz or /boot/config-<release>), or None."""
    for path in ("/proc/config.gz", "/boot/config-%s" % os.uname().release):
        if os.path.exists(path):
            return path
    return None


def running_os_ident():
    """``<release>::<build timestamp>`` as legacy identified the running kernel."""
    return "%s::%s" % (os.uname().release, os.uname().version)


def running_os_full_version():
    """``<release> <version>`` of the running kernel (legacy reboot.verify message)."""
    return "%s %s" % (os.uname().release, os.uname().version)


def freespace(path):
    """Bytes free for unprivileged users on the filesystem of ``path``."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def get_unused_port():
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def generate_random_string(length, chars=string.ascii_letters + string.digits):
    """``length`` random characters of ``chars``."""
    return "".join(random.choice(chars) for _ in range(length))


class BgJob(object):
    """A command started in the background (legacy utils.BgJob); ``wait`` collects its result."""

    def __init__(self, command, stdout_tee=None, stderr_tee=None, verbose=True, stdin=None,
                 stderr_level=None):
        from autotest.client import utils
        self.command = command
        self.result = utils.CmdResult(command)
        self._start = time.time()
        self.sp = subprocess.Popen(command, shell=True, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True,
                                   stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
        self._stdin = stdin

    def wait(self, timeout=None):
        """Waits (killing the command after ``timeout`` s); returns the CmdResult."""
        try:
            out, err = self.sp.communicate(
                input=self._stdin.encode() if isinstance(self._stdin, str) else self._stdin,
                timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.sp.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = self.sp.communicate()
        self.result.stdout = out.decode("utf-8", "replace")
        self.result.stderr = err.decode("utf-8", "replace")
        self.result.exit_status = self.sp.returncode
        self.result.duration = time.time() - self._start
        return self.result


def join_bg_jobs(bg_jobs, timeout=None):
    """Waits for every BgJob; returns them (each with its ``result``)."""
    for job in bg_jobs:
        job.wait(timeout)
    return bg_jobs


def _cpuinfo(field):
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":")[0].strip() == field:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def get_cpu_vendor():
    """``vendor_id`` of /proc/cpuinfo (``GenuineIntel``, ``AuthenticAMD``), or ``unknown``."""
    return _cpuinfo("vendor_id") or "unknown"


def get_cpu_family():
    """``cpu family`` of /proc/cpuinfo as an int, or None."""
    v = _cpuinfo("cpu family")
    return int(v) if v and v.isdigit() else None


def get_children_pids(ppid):
    """Pids whose parent is ``ppid``."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == ppid:
            out.append(int(d))
    return out


def get_process_name(pid):
    """The command name of ``pid`` (/proc/<pid>/comm)."""
    with open("/proc/%d/comm" % pid) as f:
        return f.read().strip()


def process_is_alive(name_pattern):
    """True when a running process's command line matches the regular expression."""
    rx = re.compile(name_pattern)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        if cmd and rx.search(cmd):
            return True
    return False


def program_is_alive(program_name, pid_files_dir="/var/run"):
    """True when ``<pid_files_dir>/<program_name>.pid`` names a live process."""
    try:
        with open(os.path.join(pid_files_dir, program_name + ".pid")) as f:
            return pid_is_alive(int(f.read().strip()))
    except (OSError, ValueError):
        return False


def find_command(cmd, default=None):
    """The path of executable ``cmd`` on PATH (or /sbin, /usr/sbin); ``default`` or ValueError
    naming it when missing."""
    path = shutil.which(cmd, path=os.environ.get("PATH", "") + ":/sbin:/usr/sbin")
    if path:
        return path
    if default is not None:
        return default
    raise ValueError("Missing command: %s" % cmd)


def drop_caches():
    """Writes back dirty pages and drops the page cache (needs root; a no-op otherwise)."""
    from autotest.client.shared import utils_memory
    utils_memory.drop_caches()


def rounded_memtotal():
    """Total memory in kB, rounded as the firmware reports DIMMs (see utils_memory)."""
    from autotest.client.shared import utils_memory
    return utils_memory.rounded_memtotal()


def deprecated(func):
    """Decorator of legacy deprecated functions: they still work, with a warning."""
    import functools
    import warnings

    @functools.wraps(func)
    def wrapper(*args, **dargs):
        warnings.warn("%s is deprecated" % func.__name__, DeprecationWarning, stacklevel=2)
        return func(*args, **dargs)
    return wrapper


def matrix_to_string(matrix, header=None):
    """Rows of cells as aligned text columns (with an optional header row)."""
    rows = ([list(map(str, header))] if header else []) + [list(map(str, r)) for r in matrix]
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows)))]
    return "\n".join("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip()
                     for r in rows) + "\n"


def get_num_cpus():
    """Number of online CPUs (legacy alias of count_cpus)."""
    return os.cpu_count() or 1


def get_uptime():
    """Seconds since boot (/proc/uptime)."""
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


def convert_data_size(size, default_sufix="B"):
    """``'10M'``, ``'2G'``, ``'512'`` as a number of bytes (no suffix: ``default_sufix``)."""
    orders = {"B": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
    size = str(size).strip()
    order = size[-1].upper() if size and size[-1].isalpha() else default_sufix.upper()
    number = size[:-1] if size and size[-1].isalpha() else size
    if order not in orders:
        raise ValueError("data size %r: unknown unit %r (use B, K, M, G or T)" % (size, order))
    return int(float(number) * orders[order])


def interactive_download(url, output_file, title="", chunk_size=100 * 1024):
    """Refused: machines under test fetch nothing from the network."""
    raise error.PackageError(
        "%s is a URL: machines under test fetch nothing from the network; copy the file to %s "
        "yourself" % (url, output_file))


def strip_unicode(input):
    """Text as ``str`` (legacy turned Python 2 unicode into byte strings)."""
    if isinstance(input, list):
        return [strip_unicode(i) for i in input]
    if isinstance(input, dict):
        return {strip_unicode(k): strip_unicode(v) for k, v in input.items()}
    if isinstance(input, bytes):
        return input.decode("utf-8", "replace")
    return input


def sh_quote_word(text):
    """``text`` quoted as one shell word."""
    return shlex.quote(text)


def run_parallel(commands, timeout=None, ignore_status=False, stdout_tee=None, stderr_tee=None):
    """Runs the commands at the same time; their CmdResults, in order. CmdError (for the first
    that failed) unless ``ignore_status``."""
    jobs = [BgJob(c) for c in commands]
    join_bg_jobs(jobs, timeout)
    for j in jobs:
        for text, tee in ((j.result.stdout, stdout_tee), (j.result.stderr, stderr_tee)):
            if tee is not None:
                tee.write(text)
    if not ignore_status:
        for j in jobs:
            if j.result.exit_status != 0:
                raise error.CmdError(j.command, j.result)
    return [j.result for j in jobs]


def system_parallel(commands, timeout=None, ignore_status=False):
    """Exit statuses of the commands run at the same time."""
    import sys
    return [r.exit_status for r in run_parallel(commands, timeout, ignore_status,
                                                 sys.stdout, sys.stderr)]


def system_output_parallel(commands, timeout=None, ignore_status=False, retain_output=False):
    """Stdouts (without the trailing newline) of the commands run at the same time."""
    import sys
    out = run_parallel(commands, timeout, ignore_status,
                       sys.stdout if retain_output else None,
                       sys.stderr if retain_output else None)
    return [r.stdout[:-1] if r.stdout.endswith("\n") else r.stdout for r in out]


def get_relative_path(path, reference):
    """``path`` relative to the directory ``reference``."""
    return os.path.relpath(path, reference)


def merge_trees(src, dest):
    """Copies the tree ``src`` into ``dest``: files are copied over, directories merged."""
    if not os.path.exists(src):
        return
    if os.path.isfile(src):
        shutil.copy2(src, dest)
        return
    os.makedirs(dest, exist_ok=True)
    for name in os.listdir(src):
        merge_trees(os.path.join(src, name), os.path.join(dest, name))


def get_field(data, param, linestart="", sep=" "):
    """Field ``param`` (0-based) of the first line of ``data`` starting with ``linestart``,
    split on the regular expression ``sep``; None when there is no such line."""
    for line in data.splitlines():
        if line.startswith(linestart):
            fields = [f for f in re.split(sep, line) if f]
            return fields[param] if param < len(fields) else None
    return None


def get_cpu_percentage(function, *args, **dargs):
    """(fraction of one CPU the call used, in user+system time of this process and its
    children, its return value)."""
    before, start = os.times(), time.time()
    ret = function(*args, **dargs)
    after, elapsed = os.times(), time.time() - start
    used = sum(after[i] - before[i] for i in range(4))
    return (used / elapsed if elapsed > 0 else 0.0), ret


def cpu_online_map():
    """The numbers of the online CPUs (from /sys/devices/system/cpu/online)."""
    with open("/sys/devices/system/cpu/online") as f:
        spec = f.read().strip()
    cpus = []
    for part in spec.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            cpus.extend(range(int(lo), int(hi) + 1))
        elif part:
            cpus.append(int(part))
    return cpus


def get_disks():
    """Whole disks of the machine (``/dev/sda``, ``/dev/nvme0n1``; partitions, loop and ram
    devices left out)."""
    out = []
    for name in sorted(os.listdir("/sys/block")):
        if name.startswith(("loop", "ram", "zram", "dm-")):
            continue
        out.append("/dev/" + name)
    return out


def get_hwclock_seconds(utc=True):
    """The hardware clock, in seconds since the epoch (read with ``hwclock``, root)."""
    from autotest.client import utils
    out = utils.system_output("hwclock --get %s" % ("--utc" if utc else "--localtime"))
    import datetime
    stamp = datetime.datetime.fromisoformat(out.strip().replace(" ", "T", 1))
    return stamp.timestamp()


def unmap_url_cache(cachedir, url, expected_hash, method="md5"):
    """The file of ``url`` in ``cachedir`` when it is there with the expected hash; a local
    path is used as is. Nothing is downloaded: a file not cached is a PackageError naming
    where to put it."""
    name = os.path.basename(url.rstrip("/"))
    path = url if "://" not in url else os.path.join(cachedir, name)
    if os.path.isfile(path):
        with open(path, "rb") as f:
            digest = hashlib.new(method, f.read()).hexdigest()
        if expected_hash and digest != expected_hash:
            raise error.PackageError("%s has %s %s, not the expected %s: replace it with the "
                                     "right file" % (path, method, digest, expected_hash))
        return path
    raise error.PackageError("%s is not cached: machines under test download nothing; copy "
                             "the file to %s" % (url, path))
