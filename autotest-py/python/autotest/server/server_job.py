"""The ``job`` object of a server control file: the client job's bookkeeping (status log,
groups, state) plus the machines, per-machine results and ``parallel_simple``."""

import os

from autotest.client import job as client_job

__all__ = ["ServerJob", "current"]

_current = None


def current():
    """The running server job (None outside one)."""
    return _current


class ServerJob(client_job.Job):
    """A server job over ``machines``."""

    def __init__(self, native, control, resultsdir, machines, args, **kw):
        global _current
        super(ServerJob, self).__init__(native, control, resultsdir, args, **kw)
        self.machines = list(machines)
        self.serverdir = os.path.dirname(os.path.abspath(__file__))
        # As legacy: the top of the tree, so client/tests/<name>/control is under it.
        self.autodir = os.path.dirname(self.serverdir)
        _current = self

    def machine_resultdir(self, hostname):
        """Where a machine's client results go: the job's directory for a one-machine job,
        ``<resultsdir>/<hostname>/`` otherwise."""
        if len(self.machines) <= 1:
            return self.resultdir
        return os.path.join(self.resultdir, hostname)

    def fold_client_status(self, resultsdir):
        """Counts a finished client job's result in this job's roll-up: the code of the last
        top-level END line of its ``status`` log (ERROR when a test errored, and so on)."""
        try:
            with open(os.path.join(resultsdir, "status")) as f:
                lines = f.read().splitlines()
        except OSError:
            return
        for line in reversed(lines):
            if line.startswith("END "):
                code = line.split("\t", 1)[0][4:]
                self._native.fold_status(code)
                return

    def status_depth_for(self, resultsdir):
        """How deep a client's status lines nest in the log they are streamed into."""
        if os.path.abspath(resultsdir) == self.resultdir:
            return self._native.depth
        return 0

    def parallel_simple(self, function, arglist, log=True, timeout=None, return_results=False):
        """Runs ``function(arg)`` for every arg at the same time; with one arg, directly."""
        arglist = list(arglist)
        if len(arglist) == 1:
            function(arglist[0])
            return
        self.parallel(*[[function, a] for a in arglist])
