"""sleeptest: sleeps for ``seconds`` (default 1). The smallest test there is, used to check that the
client, its status log and its results directory work."""

import time

from autotest.client import test


class sleeptest(test.test):
    version = 1

    def run_once(self, seconds=1):
        start = time.monotonic()
        time.sleep(seconds)
        self.write_perf_keyval({"slept_seconds": round(time.monotonic() - start, 6)})
