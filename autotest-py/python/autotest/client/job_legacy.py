"""The bulk of the legacy job API that ``Job`` methods delegate to: the environment a test sees,
``require_gcc``, ``setup_dep`` and the sysinfo requests.

Sysinfo requests (``job.add_sysinfo_command/logfile``) are kept as a list on the job,
``job.sysinfo_requests``, of dicts ``{"kind": "command"|"logfile", "item": <command or path>,
"logfile": <name or None>, "on_every_test": bool}``, saved in the job state so they survive a
reboot; the sysinfo collector reads that list. When the job has a ``sysinfo`` object with
``add_command``/``add_logfile``, the request is passed to it as well.
"""

import os
import shutil
import sys

from autotest.client.shared import error

__all__ = ["init", "require_gcc", "setup_dep", "add_sysinfo", "legacy_environ"]

_SYSINFO_STATE = "sysinfo_requests"


def legacy_environ(job):
    """The variables legacy ``autotest-local`` put in the environment of every test."""
    pkg_root = os.path.dirname(os.path.dirname(job.autodir))
    pythonpath = os.environ.get("PYTHONPATH", "")
    if pkg_root not in pythonpath.split(":"):
        pythonpath = pkg_root + (":" + pythonpath if pythonpath else "")
    return {
        "AUTODIR": job.autodir,
        "AUTODIRBIN": job.bindir,
        "AUTODIRTEST": job.testdir,
        # Not in legacy: the running job's results directory, for tests that want it.
        "AUTODIRJOB": job.resultdir,
        # Legacy pointed PYTHONPATH at client/bin so a test's helper scripts could import the
        # client; here that is the directory holding the ``autotest`` package.
        "PYTHONPATH": pythonpath,
    }


def init(job):
    from autotest.client import harness_standalone
    job.harness = harness_standalone.select(None, job)
    job.toolsdir = os.path.join(job.autodir, "tools")
    job.profdir = os.path.join(job.autodir, "profilers")
    job.drop_caches = False
    job.drop_caches_between_iterations = False
    job.machines = [os.uname().nodename]
    import getpass
    try:
        job.user = getpass.getuser()
    except Exception:
        job.user = str(os.getuid())
    try:
        job.sysinfo_requests = list(job.get_state(_SYSINFO_STATE, []))
    except Exception:
        job.sysinfo_requests = []
    env = legacy_environ(job)
    # autoserv sets AUTODIR to the client's install directory (staged kernels, deps): keep what
    # the caller gave; only the job's own directory and the import path are always ours.
    for key in ("AUTODIR", "AUTODIRBIN", "AUTODIRTEST"):
        os.environ.setdefault(key, env[key])
    os.environ["AUTODIRJOB"] = env["AUTODIRJOB"]
    os.environ["PYTHONPATH"] = env["PYTHONPATH"]


def require_gcc(job):
    """Legacy words the refusal "gcc is required by this job and is not available on the
    system"; the test ends TEST_NA with that and the package to install."""
    cc = os.environ.get("CC") or "gcc"
    if shutil.which(cc.split()[0]) is None:
        raise error.TestNAError(
            "%s is required by this job and is not available on the system: install the gcc "
            "package (apt-get install gcc)" % ("gcc" if cc == "gcc" else "the C compiler %s" % cc))


def _dep_dirs(job):
    # Legacy's layout: deps/ beside tests/. The last three tests dirs are the ones Job adds
    # itself (the control file's dir, its parent, the built-in tests).
    dirs = [os.path.join(job.autodir, "deps")]
    if os.environ.get("AUTODIR") and os.environ["AUTODIR"] != job.autodir:
        dirs.append(os.path.join(os.environ["AUTODIR"], "deps"))
    dirs += [os.path.join(os.path.dirname(d), "deps") for d in job.tests_dirs[:-3]]
    dirs.append(os.path.join(os.path.dirname(job.control), "deps"))
    seen, out = set(), []
    for d in dirs:
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def setup_dep(job, deps):
    """For each name: finds ``deps/<dep>/<dep>.py`` (beside the job's tests dirs or the client)
    and runs it in its directory; the file builds with ``utils.update_version`` so it does the
    work once per version, as a test's ``setup``."""
    from autotest.client import syntax
    if isinstance(deps, str):
        deps = [deps]
    for dep in deps:
        candidates = [os.path.join(d, dep) for d in _dep_dirs(job)]
        dep_dir = next((c for c in candidates if os.path.isfile(os.path.join(c, dep + ".py"))),
                       None)
        if dep_dir is None:
            raise error.TestError(
                "Dependency %s does not exist: no %s.py in %s; copy the dependency's directory "
                "(legacy Autotest's client/deps/%s) into one of them" % (
                    dep, dep, ", ".join(candidates), dep))
        path = os.path.join(dep_dir, dep + ".py")
        with open(path, "rb") as f:
            source = f.read()
        try:
            code = compile(source, path, "exec")
        except SyntaxError as e:
            raise error.TestError(syntax.describe(e, path))
        old = os.getcwd()
        os.chdir(dep_dir)
        sys.path.insert(0, dep_dir)
        try:
            exec(code, {"__name__": "__main__", "__file__": path})
        except error.TestBaseException:
            raise
        except Exception as e:
            raise error.TestError("dependency %s (%s) failed to build: %s: %s" % (
                dep, path, type(e).__name__, e))
        finally:
            sys.path.remove(dep_dir)
            os.chdir(old)
        sys.stdout.write("Dependency %s successfully built\n" % dep)


def add_sysinfo(job, kind, item, logfile, on_every_test):
    request = {"kind": kind, "item": item, "logfile": logfile,
               "on_every_test": bool(on_every_test)}
    if request not in job.sysinfo_requests:
        job.sysinfo_requests.append(request)
        job.set_state(_SYSINFO_STATE, job.sysinfo_requests)
    collector = getattr(job, "sysinfo", None)
    method = getattr(collector, "add_" + kind, None)
    if callable(method):
        if kind == "command":
            method(item, logfile=logfile, on_every_test=on_every_test)
        else:
            method(item, on_every_test=on_every_test)
