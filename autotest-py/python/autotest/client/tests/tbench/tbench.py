"""tbench: the network half of dbench. ``nprocs`` clients replay the NetBench load against a
``tbench_srv`` on 127.0.0.1 for ``seconds``.

``tbench_srv`` has no option to choose its address (it listens on every interface, TCP port
7003), so when the test runs as root it starts the server and the clients in a private network
namespace of their own (``unshare --net``/``nsenter``, util-linux), where the only interface is
the loopback: nothing outside can reach the server and two tbench runs do not fight over the
port. Without root it falls back to the host's namespace (and says so in the log). The server
is killed (its whole process group) whatever happens.

Parameters (all keywords): ``nprocs`` (default: the number of CPUs), ``seconds`` (default 20),
``args`` (extra tbench options, default none).

Perf keyvals: ``throughput`` (MB/sec), ``procs``, ``clients``, ``max_latency`` (ms), and
``<op>_count``/``<op>_avglat``/``<op>_maxlat`` (ms) for each operation of tbench's final table.
"""

import os
import shlex
import signal
import subprocess
import sys
import time

from autotest.client import test, utils
from autotest.client.shared import error

TBENCH_PORT = 7003

from autotest.client.dbench_output import parse_dbench_output

# tbench prints dbench's report.
parse_tbench_output = parse_dbench_output


def listening_ports(pid):
    """The TCP ports in LISTEN state in the network namespace of process ``pid``."""
    ports = set()
    for name in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, name)) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == "0A":
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


# Run inside the new namespace: brings the loopback up (SIOCGIFFLAGS/SIOCSIFFLAGS, so that
# iproute2 is not needed), says so, then holds the namespace until its stdin is closed.
_NETNS_HOLDER = r"""
import fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flags = struct.unpack("16sH22s", fcntl.ioctl(s, 0x8913, struct.pack("16sH22s", b"lo", 0, b"")))[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sH22s", b"lo", flags | 1, b""))
sys.stdout.write("ready\n")
sys.stdout.flush()
sys.stdin.read()
"""


class PrivateNetns(object):
    """A network namespace holding only an up loopback, kept alive by a small holder process.

    ``prefix`` is the command prefix that runs a program inside it. ``start()`` returns None when
    no namespace can be made (not root, no unshare/nsenter, or the kernel refuses)."""

    def __init__(self, holder):
        self.holder = holder
        self.prefix = ["nsenter", "--net=/proc/%d/ns/net" % holder.pid]

    @classmethod
    def start(cls):
        if os.geteuid() != 0 or not (utils.have_command("unshare")
                                     and utils.have_command("nsenter")):
            return None
        try:
            holder = subprocess.Popen(
                ["unshare", "--net", "--", sys.executable, "-c", _NETNS_HOLDER],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                start_new_session=True)
        except OSError:
            return None
        if holder.stdout.readline().strip() != b"ready":
            holder.kill()
            holder.wait()
            return None
        return cls(holder)

    def stop(self):
        try:
            self.holder.stdin.close()
        except OSError:
            pass
        try:
            self.holder.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.holder.kill()
            self.holder.wait()


def _tail(text, lines=20):
    return "\n".join(text.strip().splitlines()[-lines:])


class tbench(test.test):
    version = 7

    def initialize(self):
        self.results = None

    def _start_server(self, prefix, logfile):
        server = subprocess.Popen(prefix + ["tbench_srv"], stdin=subprocess.DEVNULL,
                                  stdout=logfile, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if server.poll() is not None:
                break
            # Once nsenter has exec'd tbench_srv, /proc/<pid>/net is the namespace's.
            if _comm(server.pid) == "tbench_srv" and TBENCH_PORT in listening_ports(server.pid):
                return server
            time.sleep(0.05)
        alive = server.poll() is None
        self._stop_server(server)
        raise error.TestError(
            "tbench_srv did not start listening on port %d (%s)"
            % (TBENCH_PORT, "still not listening after 15 s" if alive else
               "it exited with status %s; is the port in use?" % server.returncode))

    @staticmethod
    def _stop_server(server):
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            server.wait()

    def run_once(self, nprocs=None, seconds=20, args=""):
        missing = [c for c in ("tbench", "tbench_srv") if not utils.have_command(c)]
        if missing:
            raise error.TestNAError(
                "%s not installed: install the Debian package 'dbench' (apt-get install dbench),"
                " which ships /usr/bin/tbench and /usr/bin/tbench_srv" % " and ".join(missing))
        nprocs = int(nprocs) if nprocs else utils.count_cpus()
        seconds = int(seconds)
        os.makedirs(self.debugdir, exist_ok=True)
        srvlog_path = os.path.join(self.debugdir, "tbench_srv.%d.log" % self.iteration)

        netns = PrivateNetns.start()
        if netns is None:
            prefix = []
            print("tbench: no private network namespace (needs root and util-linux unshare); "
                  "tbench_srv listens on every interface, port %d, while the test runs"
                  % TBENCH_PORT)
        else:
            prefix = netns.prefix
        try:
            with open(srvlog_path, "w") as srvlog:
                server = self._start_server(prefix, srvlog)
                try:
                    cmd = " ".join(shlex.quote(a) for a in prefix)
                    cmd += " tbench -t %d %s %d 127.0.0.1" % (seconds, args or "", nprocs)
                    # A tbench that cannot reach its server waits forever: bound it.
                    result = utils.run(cmd.strip(), timeout=seconds + 120, ignore_status=True,
                                       stdout_tee=sys.stdout, stderr_tee=sys.stderr)
                finally:
                    self._stop_server(server)
        finally:
            if netns is not None:
                netns.stop()

        output = result.stdout + result.stderr
        with open(os.path.join(self.debugdir, "tbench.%d.log" % self.iteration), "w") as f:
            f.write("$ %s\n%s" % (result.command, output))
        if result.exit_status != 0:
            raise error.TestFail("tbench exited with status %d:\n%s"
                                 % (result.exit_status, _tail(output)))
        try:
            self.results = parse_tbench_output(result.stdout)
        except ValueError as e:
            raise error.TestError("tbench output unreadable (%s):\n%s" % (e, _tail(output)))

    def postprocess_iteration(self):
        if self.results is not None:
            self.write_perf_keyval(self.results)
            self.results = None
