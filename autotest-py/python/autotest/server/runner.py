"""``python3 -m autotest.server.runner``: runs a server control file (``.srv``) for autoserv.

Exit codes as the client runner: 0 completed, 1 failed, 2 refused before anything ran.
"""

import argparse
import getpass
import os
import signal
import socket
import sys
import traceback


def _parser():
    p = argparse.ArgumentParser(prog="autotest.server.runner")
    p.add_argument("control")
    p.add_argument("--results", required=True)
    p.add_argument("--machines", default="")
    p.add_argument("--args", default="")
    return p


def _aliases():
    import sys as _sys
    import types
    from autotest.client import legacy
    from autotest.server import autotest_remote, hosts, subcommand
    legacy.install()
    mods = {
        "autotest_lib.server": None,
        "autotest_lib.server.hosts": hosts,
        "autotest_lib.server.autotest": autotest_remote,
        "autotest_lib.server.autotest_remote": autotest_remote,
        "autotest_lib.server.subcommand": subcommand,
        "autotest.server.autotest": autotest_remote,
    }
    for name, mod in mods.items():
        if mod is None:
            mod = types.ModuleType(name)
            mod.__path__ = []
        _sys.modules.setdefault(name, mod)
        parent, _, leaf = name.rpartition(".")
        setattr(_sys.modules[parent], leaf, _sys.modules[name])


def main(argv=None):
    opts = _parser().parse_args(argv)
    _aliases()
    from autotest import _native
    from autotest.client import syntax, utils
    from autotest.client.shared import error
    from autotest.server import autotest_remote, hosts, server_job, subcommand

    control = os.path.abspath(opts.control)
    try:
        with open(control, "rb") as f:
            source = f.read()
        code = compile(source, control, "exec")
    except OSError as e:
        sys.stderr.write("autoserv: cannot read %s: %s\n" % (control, e.strerror))
        return 2
    except SyntaxError as e:
        sys.stderr.write("autoserv: server control file refused, nothing was run:\n%s\n"
                         % syntax.describe(e, control))
        return 2
    machines = sorted(set(m for m in opts.machines.split(",") if m))
    try:
        user = getpass.getuser()
    except Exception:
        user = str(os.getuid())
    native, kind, detail = _native.Job.open(
        os.path.abspath(opts.results), control, None, False, user, socket.gethostname(),
        "status.log", "control.srv", True)
    job = server_job.ServerJob(native, control, opts.results, machines, opts.args.split(),
                               status_fd=os.dup(1))

    class _Terminated(BaseException):
        pass

    def _on_term(signum, frame):
        raise _Terminated(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, _on_term)
    ns = {"__name__": "__main__", "__file__": control, "__builtins__": __builtins__}
    exec("from autotest.client.shared.error import *\n", ns)
    ns.update(machines=machines, args=job.args, job=job, hosts=hosts,
              autotest_remote=autotest_remote, autotest=autotest_remote,
              parallel=subcommand.parallel, parallel_simple=subcommand.parallel_simple,
              subcommand=subcommand.subcommand, error=error, utils=utils, run=utils.run,
              sh_escape=utils.sh_escape, os=os, sys=sys)
    job._namespace = ns
    try:
        exec(code, ns)
        job.step_engine()
    except _Terminated as e:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        job.kill_children()
        native.abort("ABORT", "Job aborted: autoserv received %s" % e)
        return 128 + signal.SIGTERM
    except error.JobError as e:
        native.abort("ABORT", "%s\n%s" % (e, traceback.format_exc().rstrip()))
        sys.stderr.write("autoserv: job aborted: %s\n" % e)
        return 1
    except (Exception, KeyboardInterrupt) as e:
        tb = traceback.format_exc().rstrip()
        native.abort("FAIL", "%s: %s\n%s" % (type(e).__name__, e, tb))
        sys.stderr.write("autoserv: the server control file raised %s: %s\n%s\n"
                         % (type(e).__name__, e, tb))
        return 1
    native.complete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
