"""A results directory as a client job of N tests leaves it, for the parse-and-store benchmark
(benches/benches/store_parse.rs): the job's keyval, a status.log of N tests (START, a status
line with kernel and patch fields, END; some FAIL and WARN with reasons), each test's keyval and
its results/keyval of iterations with perf and attr keyvals. Deterministic for a given N.

usage: python3 benches/gen_results.py OUT_DIR [TESTS=1000] [ITERATIONS=3] [PERF_KEYS=8]"""

import os
import random
import sys
import time

BASES = ["dbench", "bonnie", "kernbench", "iozone", "hackbench", "netperf", "fio", "ltp",
         "unixbench", "stress", "aiostress", "tbench", "sysbench", "reaim", "lmbench"]
PERF = ["throughput", "latency_avg", "latency_max", "ops_per_sec", "mb_per_sec", "cpu_user",
        "cpu_system", "elapsed", "iops", "real_time", "context_switches", "faults"]


def stamp(t):
    return "timestamp=%d\tlocaltime=%s" % (t, time.strftime("%b %d %H:%M:%S", time.gmtime(t)))


def main(out, tests=1000, iterations=3, perf_keys=8):
    tests, iterations, perf_keys = int(tests), int(iterations), int(perf_keys)
    rnd = random.Random(1)
    os.makedirs(out, exist_ok=True)
    t = 1_764_000_000
    log = ["START\t----\t----\t%s\t" % stamp(t)]
    for i in range(tests):
        name = "%s.%d" % (BASES[i % len(BASES)], i)
        t += 1
        log.append("\tSTART\t%s\t%s\t%s\t" % (name, name, stamp(t)))
        t += rnd.randint(1, 60)
        status, reason = "GOOD", "completed successfully"
        if i % 23 == 7:
            status, reason = "FAIL", "Unhandled TestFail: %s fell below %d ops" % (name, rnd.randint(100, 999))
        elif i % 31 == 11:
            status, reason = "WARN", "kernel warning at mm/slub.c:%d" % rnd.randint(100, 4000)
        log.append("\t\t%s\t%s\t%s\t%s\tkernel=6.6.%d-autotest\tpatch0=fix-%d.patch "
                   "http://patches.invalid/fix-%d.patch %08x\t%s"
                   % (status, name, name, stamp(t).split("\t")[0], i // 250, i // 250, i // 250,
                      rnd.getrandbits(32), stamp(t).split("\t")[1] + "\t" + reason))
        log.append("\tEND %s\t%s\t%s\t%s\t" % (status, name, name, stamp(t)))
        tdir = os.path.join(out, name)
        os.makedirs(os.path.join(tdir, "results"), exist_ok=True)
        with open(os.path.join(tdir, "keyval"), "w") as f:
            f.write("version=1\nseconds=%d\nsysinfo-cmdline=ro root=/dev/sda1\n" % rnd.randint(1, 60))
        its = []
        for _ in range(iterations):
            lines = ["%s{perf}=%.4f" % (PERF[k % len(PERF)], rnd.uniform(0.1, 1e5))
                     for k in range(perf_keys)]
            lines.append("mode{attr}=%s" % rnd.choice(["async", "sync", "direct"]))
            its.append("\n".join(lines) + "\n")
        with open(os.path.join(tdir, "results", "keyval"), "w") as f:
            f.write("\n".join(its))
    log.append("END GOOD\t----\t----\t%s\t" % stamp(t))
    with open(os.path.join(out, "status.log"), "w") as f:
        f.write("\n".join(log) + "\n")
    with open(os.path.join(out, "keyval"), "w") as f:
        f.write("job_queued=%d\njob_started=%d\njob_finished=%d\nuser=bench\nlabel=perf-suite\n"
                "hostname=lab-m1\ndrone=localhost\n" % (1_764_000_000 - 30, 1_764_000_000, t))


if __name__ == "__main__":
    main(*sys.argv[1:])
