"""``python3 -m autotest.client.runner``: runs a client control file on this machine.

The equivalent of the legacy ``autotest-local``; ``autotest run`` starts it. Exit codes: 0 the
job completed, 5 the job asked for a reboot and will continue, 1 the job failed (the status log
and stderr say why), 2 the control file was refused before anything ran.
"""

import argparse
import getpass
import os
import signal
import socket
import stat
import sys
import time
import traceback

EXIT_COMPLETE = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_REBOOT = 5


def _parser():
    p = argparse.ArgumentParser(prog="autotest run", description=__doc__.splitlines()[0])
    p.add_argument("control")
    p.add_argument("--results", default=os.path.join("results", "default"))
    p.add_argument("--tag", default=None)
    p.add_argument("--tests-dir", action="append", default=[])
    p.add_argument("--args", default="")
    p.add_argument("--continue", dest="cont", action="store_true")
    p.add_argument("--verbose", action="store_true")
    # Set by autoserv: every echoed status line gets this prefix so the server can tell status
    # lines from other output on the same stream.
    p.add_argument("--status-prefix", default="")
    # Set by autoserv, which runs a copy of the job's control file: the name to give in messages
    # (the queued file), not the copy's path on the machine.
    p.add_argument("--control-name", default=None)
    return p


def _status_line(code, message, depth=0):
    """One status line (FORMATS section 3) with job-level subdir and operation; a message's
    later lines become extra message lines."""
    now = int(time.time())
    first, *rest = message.replace("\t", " " * 8).replace("\r", " ").split("\n")
    fields = "timestamp=%d\tlocaltime=%s" % (now, time.strftime("%b %d %H:%M:%S",
                                                                 time.localtime(now)))
    text = "%s%s\t----\t----\t%s\t%s\n" % ("\t" * depth, code, fields, first)
    return text + "".join("%s  %s\n" % ("\t" * depth, l) for l in rest)


def _refuse(opts, message):
    """Refuses the control file: the reason on stderr and, under autoserv (a status prefix),
    as a job that aborted, so the server's status log says why. Returns the exit code."""
    sys.stderr.write("autotest: %s\n" % message)
    if opts.status_prefix:
        text = (_status_line("START", "") + _status_line("ABORT", message, 1)
                + _status_line("END ABORT", message))
        out = "".join(opts.status_prefix + l for l in text.splitlines(True))
        try:
            sys.stdout.write(out)
            sys.stdout.flush()
        except OSError:
            pass
    return EXIT_REFUSED


def _nul_position(source):
    """(line, column), both 1-based, of the first NUL byte in ``source``, or None."""
    at = source.find(b"\0")
    if at < 0:
        return None
    line_start = source.rfind(b"\n", 0, at) + 1
    return source.count(b"\n", 0, at) + 1, at - line_start + 1


def _user():
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())


def main(argv=None):
    opts = _parser().parse_args(argv)
    from autotest.client import legacy, syntax
    legacy.install()
    from autotest import _native
    from autotest.client import job as job_mod
    from autotest.client import utils
    from autotest.client.shared import error

    control = os.path.abspath(opts.control)
    name = opts.control_name or control
    try:
        # Checked before opening: opening a FIFO would wait for a writer, a device never ends.
        mode = os.stat(control).st_mode
    except OSError as e:
        return _refuse(opts, "cannot read control file %s: %s" % (name, e.strerror))
    if not stat.S_ISREG(mode):
        return _refuse(opts, "control file %s is not a regular file (it is a %s): give the path "
                       "of a control file" % (name, _kind(mode)))
    try:
        with open(control, "rb") as f:
            source = f.read()
    except OSError as e:
        return _refuse(opts, "cannot read control file %s: %s" % (name, e.strerror))
    nul = _nul_position(source)
    if nul is not None:
        return _refuse(opts, "control file refused, nothing was run:\n%s, line %d, column %d: "
                       "a NUL byte: a control file is Python source text; remove the byte "
                       "(was the file saved in UTF-16, or is it binary?)" % ((name,) + nul))
    try:
        code = compile(source, control, "exec")
    except SyntaxError as e:
        return _refuse(opts, "control file refused, nothing was run:\n%s"
                       % syntax.describe(e, name))

    try:
        native, kind, detail = _native.Job.open(
            os.path.abspath(opts.results), control, opts.tag, opts.cont, _user(),
            socket.gethostname())
    except _native.JobEngineError as e:
        sys.stderr.write("autotest: %s\n" % e)
        return EXIT_REFUSED
    if kind == "fresh" and detail:
        sys.stderr.write("autotest: earlier results moved to %s\n" % detail)
    resumed = kind == "resumed"
    if resumed:
        sys.stderr.write("autotest: resuming the job in %s (start %s)\n" % (opts.results, detail))

    # The pid autoserv signals to stop the job (SIGTERM: tests killed, groups closed ABORT).
    with open(os.path.join(native.resultsdir, ".client_pid"), "w") as f:
        f.write("%d\n" % os.getpid())

    class _Terminated(BaseException):
        pass

    def _on_term(signum, frame):
        raise _Terminated(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, _on_term)
    status_fd = os.dup(1)
    job = job_mod.Job(native, control, opts.results, opts.args.split(), tag=opts.tag,
                      tests_dirs=opts.tests_dir, verbose=opts.verbose, status_fd=status_fd,
                      status_prefix=opts.status_prefix)
    if not resumed:
        with open(os.path.join(native.status_path)) as f:
            job._echo(f.read())
    # The machine's facts at the start and after every reboot (sysinfo/, sysinfo/boot.<n>/).
    job.sysinfo.log_per_reboot_data()
    ns = {"__name__": "__main__", "__file__": control, "__builtins__": __builtins__}
    exec("from autotest.client.shared.error import *\nfrom autotest.client.utils import *\n", ns)
    # Legacy utils had no __all__, so its star import also gave control files these names.
    import glob, logging, re, shutil, time
    ns.update(error=error, utils=utils, os=os, sys=sys, time=time, re=re, glob=glob,
              shutil=shutil, logging=logging)
    ns["job"] = job
    ns["args"] = job.args
    job._namespace = ns
    try:
        if resumed:
            job.close_interrupted()
            job.resume_reboot()
        exec(code, ns)
        if not resumed and callable(ns.get("step_init")):
            job.next_step(ns["step_init"])
        job.step_engine()
    except error.JobContinue:
        sys.stderr.write("autotest: the job asks for a reboot; reboot the machine, then run "
                         "`autotest run --continue --results %s %s`\n" % (opts.results, opts.control))
        return EXIT_REBOOT
    except error.JobComplete:
        pass
    except _Terminated as e:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        job.kill_children()
        native.abort("ABORT", "Job aborted: the client received %s" % e)
        _tail(native, job)
        sys.stderr.write("autotest: job aborted by %s\n" % e)
        return 128 + signal.SIGTERM
    except error.JobError as e:
        tb = traceback.format_exc().rstrip()
        native.abort("ABORT", "%s\n%s" % (e, tb))
        _tail(native, job)
        sys.stderr.write("autotest: job aborted: %s\n" % e)
        return EXIT_FAILED
    except (Exception, KeyboardInterrupt) as e:
        tb = traceback.format_exc().rstrip()
        native.abort("FAIL", "%s: %s\n%s" % (type(e).__name__, e, tb))
        _tail(native, job)
        sys.stderr.write("autotest: the control file raised %s: %s\n%s\n"
                         % (type(e).__name__, e, tb))
        return EXIT_FAILED
    before = os.path.getsize(native.status_path)
    native.complete()
    _echo_from(native, job, before)
    return EXIT_COMPLETE


def _kind(mode):
    for test, word in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return word
    return "special file"


def _tail(native, job):
    """Echoes the lines that close the job (the END lines at the end of the log)."""
    try:
        with open(native.status_path) as f:
            lines = f.readlines()
    except OSError:
        return ""
    tail = []
    for line in reversed(lines):
        tail.append(line)
        if not line.lstrip("\t").startswith(("END ", "  ")):
            break
    job._echo("".join(reversed(tail)))
    return ""


def _echo_from(native, job, offset):
    with open(native.status_path) as f:
        f.seek(offset)
        job._echo(f.read())


if __name__ == "__main__":
    sys.exit(main())
