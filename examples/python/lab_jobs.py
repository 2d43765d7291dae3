#!/usr/bin/env python3
"""Drives a lab database through the autotest.lab SDK: hosts, labels, a job and its state.

    python3 examples/python/lab_jobs.py [URL]

URL is `sqlite:<file>` or `postgres://user@host[:port]/db` (default: the CLI's resolution:
AUTOTEST_DB, [AUTOTEST_WEB] of global_config.ini, the default SQLite file). The schema is
created when missing. Prints the job, its entries, and its state after waiting a moment (no
scheduler runs it yet, so the wait times out). Exit code 0, or 1 with the error on stderr.
"""

import sys
from typing import Optional

from autotest.lab import Job, JobTimeoutError, Lab, LabError


def report(job: Job) -> None:
    print("%s (id %d): %s" % (job.name, job.id, job.status().state))
    for e in job.entries():
        where = e.host or "any host labelled %s" % e.meta_host
        print("  entry %d on %s: %s" % (e.id, where, e.status))
    for t in job.tests():
        perf = [dict(it.perf) for it in t.iterations]
        print("  test %s: %s %s %s" % (t.name, t.status, t.reason, perf))


def main(url: Optional[str]) -> int:
    try:
        with Lab.migrate(url) as lab:
            if not lab.labels():
                lab.create_label("x86_64", platform=True)
                for name in ("m1", "m2"):
                    lab.create_host(name, labels=["x86_64"])
            job = lab.create_job("kernbench", control="job.run_test('kernbench')\n",
                                 hosts=["m1"], meta_hosts=["x86_64"], priority="high")
            report(job)
            try:
                job.wait(timeout=0.5, poll=0.1)
            except JobTimeoutError as e:
                print("wait: %s" % e)
    except LabError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
