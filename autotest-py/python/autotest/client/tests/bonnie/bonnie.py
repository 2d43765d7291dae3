"""bonnie: the bonnie++ hard-drive and file-system benchmark (Debian package ``bonnie++``,
binary /usr/sbin/bonnie++).

bonnie++ insists on a test file of at least twice the machine's RAM unless told the RAM size,
which on a big machine takes hours; the defaults here tell it ``-r 64 -s 128 -n 1`` (64 MB of
RAM, a 128 MB file, 1024 small files), which runs in seconds. Each of ``-r``, ``-s`` and ``-n``
is only added when ``extra_args`` does not give it. Run as root, bonnie++ must be told a user
(``-u``): the test passes ``-u root`` then, unless ``user`` or ``extra_args`` says otherwise.

Parameters (all keywords): ``dir`` (default: a directory under the test's tmpdir),
``extra_args`` (default none), ``user`` (default: root when running as root, else none).

Perf keyvals, from the CSV line bonnie++ prints (the legacy names, typo included):
``size`` (bytes), ``chnk`` (bytes, when bonnie++ reports it), ``seqout_perchr_ksec``,
``seqout_perchr_pctcp``, ``seqout_perblk_ksec``, ``seqout_perblk_pctcp``, ``seqout_rewrite_ksec``,
``seqout_rewrite_pctcp``, ``seqin_perchr_ksec``, ``seqin_perchr_pctcp``, ``seqin_perblk_ksec``,
``seqin_perblk_pctcp``, ``rand_ksec`` (seeks/s), ``rand_pctcp``, ``files``,
``seqcreate_create_ksec``, ``seqcreate_create_pctcp``, ``seqcreate_read_ksec``,
``seqcreate_read_pctcp``, ``seqcreate_delete_ksec``, ``seqcreate_delete_pctcp``,
``randreate_create_ksec``, ``randcreate_create_pctcp``, ``randcreate_read_ksec``,
``randcreate_read_pctcp``, ``randcreate_delete_ksec``, ``randcreate_delete_pctcp``; with
bonnie++ >= 1.93 also the latencies in microseconds: ``seqout_perchr_latency_us``,
``seqout_perblk_latency_us``, ``seqout_rewrite_latency_us``, ``seqin_perchr_latency_us``,
``seqin_perblk_latency_us``, ``rand_latency_us``, ``seqcreate_create_latency_us``,
``seqcreate_read_latency_us``, ``seqcreate_delete_latency_us``, ``randcreate_create_latency_us``,
``randcreate_read_latency_us``, ``randcreate_delete_latency_us``.
A figure bonnie++ could not measure (it prints ``+++++`` when a phase ended too fast to time,
or leaves the field empty) is left out rather than recorded as 0.
"""

import os
import re
import shlex
import shutil
import sys

from autotest.client import test, utils
from autotest.client.shared import error

# The measured columns, shared by both CSV formats, in order.
_RESULT_KEYS = (
    "seqout_perchr_ksec", "seqout_perchr_pctcp", "seqout_perblk_ksec", "seqout_perblk_pctcp",
    "seqout_rewrite_ksec", "seqout_rewrite_pctcp", "seqin_perchr_ksec", "seqin_perchr_pctcp",
    "seqin_perblk_ksec", "seqin_perblk_pctcp", "rand_ksec", "rand_pctcp")
_CREATE_KEYS = (
    "seqcreate_create_ksec", "seqcreate_create_pctcp", "seqcreate_read_ksec",
    "seqcreate_read_pctcp", "seqcreate_delete_ksec", "seqcreate_delete_pctcp",
    "randreate_create_ksec", "randcreate_create_pctcp", "randcreate_read_ksec",
    "randcreate_read_pctcp", "randcreate_delete_ksec", "randcreate_delete_pctcp")
_LATENCY_KEYS = (
    "seqout_perchr_latency_us", "seqout_perblk_latency_us", "seqout_rewrite_latency_us",
    "seqin_perchr_latency_us", "seqin_perblk_latency_us", "rand_latency_us",
    "seqcreate_create_latency_us", "seqcreate_read_latency_us", "seqcreate_delete_latency_us",
    "randcreate_create_latency_us", "randcreate_read_latency_us", "randcreate_delete_latency_us")

_SIZE_UNITS = {"": 1, "k": 2 ** 10, "m": 2 ** 20, "g": 2 ** 30, "t": 2 ** 40}


def _number(text):
    """A measured figure, or None for the unmeasured ones (``+++++``, ``+++``, empty)."""
    text = text.strip()
    if not text or set(text) == {"+"}:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def _files(text):
    """The number of files (in units of 1024) from ``-n``'s ``num[:max[:min[:dirs]]]``."""
    m = re.match(r"^\s*(\d+)", text)
    return int(m.group(1)) if m else None


def _size_bytes(text, default_unit):
    m = re.match(r"^\s*([0-9.]+)\s*([kKmMgGtT]?)\s*$", text)
    if not m:
        return None
    unit = m.group(2).lower() or default_unit
    value = float(m.group(1)) * _SIZE_UNITS[unit]
    return int(value) if value == int(value) else value


def _latency_us(text):
    m = re.match(r"^\s*([0-9.]+)\s*(us|ms|s)?\s*$", text)
    if not m:
        return None
    value = float(m.group(1)) * {"us": 1, None: 1, "ms": 1000, "s": 1000000}[m.group(2)]
    return int(value) if value == int(value) else value


def _put(result, key, value):
    if value is not None:
        result[key] = value


def parse_bonnie_output(text):
    """The figures of a bonnie++ run, from the machine-readable CSV line of its output.

    Reads the bonnie++ 1.0x line (27 fields: name, size[:chunk], 12 results, files,
    12 results) and the 1.9x ones, which start with the format version: 48 fields up to format
    1.97 (format version, bonnie version, name, concurrency, seed, size, chunk size, 12 results,
    files and 4 more file parameters, 12 results, 12 latencies) and 50 from format 1.98 on
    (the number of seeks and of seeker processes come after the chunk size). Returns a dict of
    numbers (see the module docstring for the names); raises ValueError when the output has no
    such line.
    """
    for line in reversed(text.strip().splitlines()):
        fields = line.strip().split(",")
        if len(fields) in (48, 50) and re.match(r"^1\.9\d*[a-z]?$", fields[0]):
            base = 7 if len(fields) == 48 else 9
            result = {}
            _put(result, "size", _size_bytes(fields[5], "m"))
            _put(result, "chnk", _size_bytes(fields[6], ""))
            for key, value in zip(_RESULT_KEYS, fields[base:base + 12]):
                _put(result, key, _number(value))
            _put(result, "files", _files(fields[base + 12]))
            for key, value in zip(_CREATE_KEYS, fields[base + 17:base + 29]):
                _put(result, key, _number(value))
            for key, value in zip(_LATENCY_KEYS, fields[base + 29:base + 41]):
                _put(result, key, _latency_us(value))
            return result
        if len(fields) == 27:
            size, _, chunk = fields[1].partition(":")
            result = {}
            _put(result, "size", _size_bytes(size, "m"))
            if chunk:
                _put(result, "chnk", _size_bytes(chunk, ""))
            for key, value in zip(_RESULT_KEYS, fields[2:14]):
                _put(result, key, _number(value))
            _put(result, "files", _files(fields[14]))
            for key, value in zip(_CREATE_KEYS, fields[15:27]):
                _put(result, key, _number(value))
            return result
    raise ValueError("no bonnie++ CSV result line in the output")


def build_args(extra_args="", user=None, is_root=None):
    """The bonnie++ options (without ``-d``): ``extra_args`` plus the small defaults
    ``-r 64 -s 128 -n 1`` for whichever of those options it does not set, and ``-u``."""
    tokens = shlex.split(extra_args or "")
    if is_root is None:
        is_root = os.geteuid() == 0

    def given(opt):
        return any(t == opt or (t.startswith(opt) and not t.startswith("--")) for t in tokens)

    args = list(tokens)
    if not given("-r"):
        args += ["-r", "64"]
    if not given("-s"):
        args += ["-s", "128"]
    if not given("-n"):
        args += ["-n", "1"]
    if not given("-u"):
        if user:
            args += ["-u", str(user)]
        elif is_root:
            args += ["-u", "root"]
    return args


def find_bonnie():
    """The bonnie++ binary: on PATH, or /usr/sbin/bonnie++ (not on a normal user's PATH)."""
    found = shutil.which("bonnie++")
    if found:
        return found
    if os.access("/usr/sbin/bonnie++", os.X_OK):
        return "/usr/sbin/bonnie++"
    return None


def _tail(text, lines=20):
    return "\n".join(text.strip().splitlines()[-lines:])


class bonnie(test.test):
    version = 2

    def initialize(self):
        self.results = None

    def run_once(self, dir=None, extra_args="", user=None):
        binary = find_bonnie()
        if binary is None:
            raise error.TestNAError(
                "bonnie++ is not installed: install the Debian package 'bonnie++' "
                "(apt-get install bonnie++), which ships /usr/sbin/bonnie++")
        workdir = dir or os.path.join(self.tmpdir, "bonnie")
        os.makedirs(workdir, exist_ok=True)
        args = ["-d", workdir] + build_args(extra_args, user)
        cmd = " ".join(shlex.quote(a) for a in [binary] + args)
        result = utils.run(cmd, ignore_status=True, stdout_tee=sys.stdout, stderr_tee=sys.stderr)
        output = result.stdout + result.stderr
        os.makedirs(self.debugdir, exist_ok=True)
        with open(os.path.join(self.debugdir, "bonnie.%d.log" % self.iteration), "w") as f:
            f.write("$ %s\n%s" % (cmd, output))
        if result.exit_status != 0:
            raise error.TestFail("bonnie++ exited with status %d:\n%s"
                                 % (result.exit_status, _tail(output)))
        try:
            self.results = parse_bonnie_output(result.stdout)
        except ValueError as e:
            raise error.TestError("bonnie++ output unreadable (%s):\n%s" % (e, _tail(output)))

    def postprocess_iteration(self):
        if self.results is not None:
            self.write_perf_keyval(self.results)
            self.results = None
