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

    def _host(self, host):
        host = host or self.host
        if host is None:
            raise error.AutoservError(
                "Autotest() was created without a host and run without host=: give the host, "
                "as Autotest(host) or run(..., host=h)")
        return host

    def _resultsdir(self, results_dir, host, tag, parallel_flag):
        from autotest.server import server_job
        job = server_job.current()
        if results_dir:
            base = os.path.abspath(results_dir)
        elif job is None:
            base = os.path.abspath("results")
        elif parallel_flag:
            # Several clients run on one machine at the same time: each keeps its own
            # directory, so their results and status logs do not mix.
            base = os.path.join(job.resultdir, host.hostname)
        else:
            base = job.machine_resultdir(host.hostname)
        # As legacy: a tagged run's results go to <results_dir>/<tag>.
        return os.path.join(base, tag) if tag else base

    def run(self, control_file, results_dir=None, host=None, timeout=None, tag=None,
            parallel_flag=False, **kw):
        """Runs a client control file (its text, or a path to it) on the host; its status lines
        join the server job's status log and its worst status counts in the job's END. Raises
        AutoservError when the host was lost."""
        from autotest.server import server_job
        host = self._host(host)
        if os.path.isfile(str(control_file)) and "\n" not in str(control_file):
            path = os.path.abspath(control_file)
        else:
            fd, path = tempfile.mkstemp(prefix="control-", suffix=".client")
            with os.fdopen(fd, "w") as f:
                f.write(control_file)
        job = server_job.current()
        resultsdir = self._resultsdir(results_dir, host, tag, parallel_flag)
        os.makedirs(resultsdir, exist_ok=True)
        indent = job.status_depth_for(resultsdir) if job is not None else 0
        params = {}
        if tag:
            params["tag"] = str(tag)
        r = rpc.call("run_client", machine=host.hostname, control=path, resultsdir=resultsdir,
                     status_indent=indent, **params)
        if job is not None:
            job.fold_client_status(resultsdir)
        if r["outcome"] != "completed":
            raise error.AutoservError("%s: client job %s: %s" % (
                host.hostname, r["outcome"], r.get("reason", "")))
        return r

    def run_test(self, test_name, results_dir=None, host=None, parallel_flag=False, **dargs):
        """Runs one client test on the host: a control file of one ``job.run_test`` call
        (``tag=`` and the test's other arguments go to that call, as in legacy)."""
        timeout = dargs.pop("timeout", None)
        args = ", ".join(["%r" % test_name] + ["%s=%r" % kv for kv in sorted(dargs.items())])
        return self.run("job.run_test(%s)\n" % args, results_dir=results_dir, host=host,
                        timeout=timeout, parallel_flag=parallel_flag)

    def run_timed_test(self, test_name, results_dir=None, host=None, timeout=None, **dargs):
        return self.run_test(test_name, results_dir=results_dir, host=host, timeout=timeout, **dargs)


BaseAutotest = Autotest
