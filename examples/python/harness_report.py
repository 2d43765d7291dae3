#!/usr/bin/env python3
"""A small report of an Autotest results tree, through the autotest.harness API.

    python3 examples/python/harness_report.py RESULTS_DIR

Prints the job's status, then each machine (a multi-machine job) with its tests, their reasons
and per-iteration perf/attr keyvals, then any status-log problems. Exit code: 0 when every test
passed and the log is clean, 1 when a test failed or the log has problems, 2 when the tree
cannot be read.
"""

import sys
from typing import List

from autotest import harness


def section(res: harness.Results, indent: str) -> List[str]:
    out: List[str] = []
    for t in res.tests:
        out.append("%s%-8s %-20s %s" % (indent, t.status, t.name, t.reason))
        for it in t.iterations:
            values = ["%s=%g" % (k, v) for k, v in sorted(it.perf.items())]
            values += ["%s=%s" % (k, v) for k, v in sorted(it.attr.items())]
            out.append("%s    iteration %d: %s" % (indent, it.index, " ".join(values)))
    return out


def problems(res: harness.Results) -> List[str]:
    found = ["problem: %s" % p for p in res.problems]
    for m in res.machines.values():
        found += problems(m)
    return found


def main(argv: List[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: harness_report.py RESULTS_DIR\n")
        return 2
    try:
        res = harness.read_results(argv[1])
    except harness.ResultsError as e:
        sys.stderr.write("harness_report: %s\n" % e)
        return 2
    print("results %s: %s (%d failed)" % (res.path, res.status, res.failed))
    if res.kernel:
        print("kernel %s" % res.kernel)
    lines = section(res, "  ")
    for host, machine in res.machines.items():
        lines.append("machine %s: %s" % (host, machine.status))
        lines += section(machine, "  ")
    found = problems(res)
    for line in lines + found:
        print(line)
    return 1 if res.failed or found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
