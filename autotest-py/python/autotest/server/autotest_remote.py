"""``autotest_remote.Autotest(host)``: runs client control files on a host."""

import os
import tempfile

from autotest.client.shared import error
from autotest.server import rpc

__all__ = ["Autotest", "BaseAutotest"]


class Autotest(object):
    """The client runtime on one host (installed by the core when needed)."""

    def __init__(self, host=None):
        self.host = host

    def install(self, host=None, autodir=None):
        """The core installs the client on first use; nothing to do ahead of time."""

    def _resultsdir(self, results_dir):
        from autotest.server import server_job
        job = server_job.current()
        if results_dir:
            return os.path.abspath(results_dir)
        if job is None:
            return os.path.abspath("results")
        return job.machine_resultdir(self.host.hostname)

    def run(self, control_file, results_dir=None, host=None, timeout=None, tag=None, **kw):
        """Runs a client control file (its text, or a path to it) on the host; its status lines
        join the server job's status log. Raises AutoservError when the host was lost."""
        from autotest.server import server_job
        host = host or self.host
        if os.path.isfile(str(control_file)) and "\n" not in str(control_file):
            path = os.path.abspath(control_file)
        else:
            fd, path = tempfile.mkstemp(prefix="control-", suffix=".client")
            with os.fdopen(fd, "w") as f:
                f.write(control_file)
        job = server_job.current()
        resultsdir = self._resultsdir(results_dir)
        os.makedirs(resultsdir, exist_ok=True)
        indent = job.status_depth_for(resultsdir) if job is not None else 0
        r = rpc.call("run_client", machine=host.hostname, control=path, resultsdir=resultsdir,
                     status_indent=indent)
        if r["outcome"] != "completed":
            raise error.AutoservError("%s: client job %s: %s" % (
                host.hostname, r["outcome"], r.get("reason", "")))
        return r

    def run_test(self, test_name, results_dir=None, host=None, **dargs):
        """Runs one client test on the host: a control file of one ``job.run_test`` call."""
        args = ", ".join(["%r" % test_name] + ["%s=%r" % kv for kv in sorted(dargs.items())])
        return self.run("job.run_test(%s)\n" % args, results_dir=results_dir, host=host)

    def run_timed_test(self, test_name, results_dir=None, host=None, timeout=None, **dargs):
        return self.run_test(test_name, results_dir=results_dir, host=host, timeout=timeout, **dargs)


BaseAutotest = Autotest
