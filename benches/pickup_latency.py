"""Pickup latency: from a control file landing in a spool (renamed in) to autoserv having started
(its pidfile exists), for `autotest monitor-queue`, beside the legacy monitor_queue's way of
finding work: a poll of the spool every 10 s, measured in the same run on the same spool layout.

Usage: python3 benches/pickup_latency.py <autotest-binary> [N]
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def drop(spool, scratch, name, body):
    tmp = os.path.join(scratch, name)
    with open(tmp, "w") as f:
        f.write(body)
    t0 = time.monotonic()
    os.rename(tmp, os.path.join(spool, name))
    return t0


def wait_path(path, timeout=60):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise SystemExit("timed out waiting for %s" % path)
        time.sleep(0.001)
    return time.monotonic()


def ours(binary, n):
    top = tempfile.mkdtemp(prefix="pickup-")
    spool, results, scratch = (os.path.join(top, d) for d in ("localhost", "results", "scratch"))
    for d in (spool, results, scratch):
        os.makedirs(d)
    with open(os.path.join(top, "global_config.ini"), "w") as f:
        f.write("[AUTOSERV]\nclient_autodir_paths: %s/autodir\n" % top)
    env = dict(os.environ, AUTOTEST_CONFIG_DIR=top)
    mon = subprocess.Popen([binary, "monitor-queue", spool, results], env=env,
                           stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    lat = []
    try:
        for i in range(n):
            name = "job%d" % i
            t0 = drop(spool, scratch, name, "job.run_test('sleeptest', seconds=0)\n")
            pid = os.path.join(results, "localhost-" + name, ".autoserv_execute")
            lat.append(wait_path(pid) - t0)
            end = time.monotonic() + 60
            while time.monotonic() < end:
                with open(pid) as f:
                    if len(f.read().splitlines()) == 3:
                        break
                time.sleep(0.01)
    finally:
        mon.terminate()
        mon.wait()
        shutil.rmtree(top, ignore_errors=True)
    return lat


def legacy_poll(n, interval=10.0):
    """The legacy monitor_queue loop: every `interval` seconds list the spool and start the job
    found (here: record the start time, as starting autoserv would)."""
    top = tempfile.mkdtemp(prefix="pickup-legacy-")
    spool, scratch = os.path.join(top, "q"), os.path.join(top, "s")
    os.makedirs(spool)
    os.makedirs(scratch)
    started = {}
    stop = threading.Event()

    def poller():
        while not stop.is_set():
            for name in sorted(os.listdir(spool)):
                if not name.startswith("."):
                    started[name] = time.monotonic()
                    os.remove(os.path.join(spool, name))
            stop.wait(interval)

    th = threading.Thread(target=poller, daemon=True)
    th.start()
    lat = []
    import random
    rng = random.Random(7)
    for i in range(n):
        time.sleep(rng.uniform(0, interval))  # files land at arbitrary moments
        name = "job%d" % i
        t0 = drop(spool, scratch, name, "x\n")
        while name not in started:
            time.sleep(0.001)
        lat.append(started[name] - t0)
    stop.set()
    shutil.rmtree(top, ignore_errors=True)
    return lat


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    a = ours(binary, n)
    b = legacy_poll(max(3, n // 2))
    ma, mb = statistics.median(a), statistics.median(b)
    print("monitor-queue (inotify):  median %7.1f ms  max %7.1f ms  (N=%d)"
          % (ma * 1000, max(a) * 1000, len(a)))
    print("legacy 10 s poll:         median %7.1f ms  max %7.1f ms  (N=%d)"
          % (mb * 1000, max(b) * 1000, len(b)))
    print("ratio legacy/ours: %.0fx" % (mb / ma))


if __name__ == "__main__":
    main()
