"""dbench: the file-system half of Andrew Tridgell's NetBench emulation.

``nprocs`` client processes replay the load file (``/usr/share/dbench/client.txt``, the
default of Debian's ``dbench`` package; pass ``-c <file>`` in ``args`` for another one) in
``dir`` for ``seconds``; the figures recorded are the ones dbench prints at the end.

Parameters (all keywords): ``dir`` (default: a directory under the test's tmpdir),
``nprocs`` (default: the number of CPUs), ``seconds`` (default 20), ``args`` (extra dbench
options, default none).

Perf keyvals: ``throughput`` (MB/sec), ``procs``, ``clients``, ``max_latency`` (ms), and for
each operation of the final table ``<op>_count``, ``<op>_avglat``, ``<op>_maxlat`` (ms), ``<op>``
being the operation name in lower case (``ntcreatex``, ``readx``, ``writex``...).
"""

import os
import re
import shlex
import sys

from autotest.client import test, utils
from autotest.client.shared import error

_THROUGHPUT_RE = re.compile(
    r"^\s*Throughput\s+([0-9.]+)\s+MB/sec\s+(?:(\d+)\s+clients\s+)?(\d+)\s+procs"
    r"(?:\s+max_latency=([0-9.]+)\s+ms)?", re.M)
_OP_HEADER_RE = re.compile(r"^\s*Operation\s+Count\s+AvgLat\s+MaxLat\s*$")
_OP_ROW_RE = re.compile(r"^\s*([A-Za-z]\w*)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s*$")


def parse_dbench_output(text):
    """The figures of a dbench (or tbench) run, from its output.

    Returns a dict of numbers: ``throughput`` (MB/sec), ``procs``, and when the output has them
    (dbench 4) ``clients``, ``max_latency`` (ms) and ``<op>_count``/``<op>_avglat``/``<op>_maxlat``
    for each row of the operation table. Raises ValueError when there is no Throughput line.
    """
    matches = list(_THROUGHPUT_RE.finditer(text))
    if not matches:
        raise ValueError("no 'Throughput ... MB/sec ... procs' line in the output")
    m = matches[-1]
    result = {"throughput": float(m.group(1)), "procs": int(m.group(3))}
    if m.group(2) is not None:
        result["clients"] = int(m.group(2))
    if m.group(4) is not None:
        result["max_latency"] = float(m.group(4))

    in_table = False
    for line in text[:m.start()].splitlines():
        if _OP_HEADER_RE.match(line):
            in_table = True
            continue
        if not in_table:
            continue
        row = _OP_ROW_RE.match(line)
        if row:
            op = row.group(1).lower()
            result[op + "_count"] = int(row.group(2))
            result[op + "_avglat"] = float(row.group(3))
            result[op + "_maxlat"] = float(row.group(4))
    return result


def _tail(text, lines=20):
    return "\n".join(text.strip().splitlines()[-lines:])


class dbench(test.test):
    version = 5

    def initialize(self):
        self.results = None

    def run_once(self, dir=None, nprocs=None, seconds=20, args=""):
        if not utils.have_command("dbench"):
            raise error.TestNAError(
                "dbench is not installed: install the Debian package 'dbench' "
                "(apt-get install dbench), which ships /usr/bin/dbench")
        nprocs = int(nprocs) if nprocs else utils.count_cpus()
        seconds = int(seconds)
        workdir = dir or os.path.join(self.tmpdir, "dbench")
        os.makedirs(workdir, exist_ok=True)

        cmd = "dbench -t %d -D %s %s %d" % (seconds, shlex.quote(workdir), args or "", nprocs)
        # dbench runs for `seconds`, plus the time its clients take to start and clean up.
        result = utils.run(cmd, timeout=seconds + 300, ignore_status=True,
                           stdout_tee=sys.stdout, stderr_tee=sys.stderr)
        output = result.stdout + result.stderr
        os.makedirs(self.debugdir, exist_ok=True)
        with open(os.path.join(self.debugdir, "dbench.%d.log" % self.iteration), "w") as f:
            f.write("$ %s\n%s" % (cmd, output))
        if result.exit_status != 0:
            raise error.TestFail("dbench exited with status %d:\n%s"
                                 % (result.exit_status, _tail(output)))
        try:
            self.results = parse_dbench_output(result.stdout)
        except ValueError as e:
            raise error.TestError("dbench output unreadable (%s):\n%s" % (e, _tail(output)))

    def postprocess_iteration(self):
        if self.results is not None:
            self.write_perf_keyval(self.results)
            self.results = None
