"""``job.harness``: legacy's standalone harness, the one a job run by hand has.

Legacy called these hooks at the points of a job's life; a standalone job has no server to tell,
so each only remembers the last event (``harness.last_event``) for control files that look.
"""

__all__ = ["harness_standalone", "select"]


class harness_standalone(object):
    """The hooks of legacy ``harness.harness``."""

    def __init__(self, job, harness_args=None):
        self.job = job
        self.harness_args = harness_args
        self.last_event = None

    def _event(self, name):
        self.last_event = name

    def run_start(self):
        self._event("start")

    def run_pause(self):
        self._event("pause")

    def run_reboot(self):
        self._event("reboot")

    def run_abort(self):
        self._event("abort")

    def run_complete(self):
        self._event("complete")

    def run_test_complete(self):
        self._event("test_complete")

    def test_status(self, status, tag=None):
        self._event("status")

    def test_status_detail(self, code, subdir, operation, status, tag, optional_fields=None):
        self._event("status")


def select(which, job, harness_args=None):
    """The harness called ``which``; only ``standalone`` (or None) exists on a client here."""
    if which not in (None, "", "standalone"):
        from autotest.client.shared import error
        raise error.JobError("harness %r is not available: only the standalone harness exists "
                             "(drop harness= or use autoserv for a server-driven job)" % which)
    return harness_standalone(job, harness_args)
