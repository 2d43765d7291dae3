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
import shlex
import sys

from autotest.client import test, utils
from autotest.client.shared import error

from autotest.client.dbench_output import parse_dbench_output  # noqa: F401 (legacy name)


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
