"""Hosts of a server control file: ``hosts.create_host(machine)``."""

import os

from autotest.client import utils
from autotest.client.shared import error
from autotest.server import rpc

__all__ = ["create_host", "Host", "RemoteHost", "SSHHost"]


class Host(object):
    """A machine the server job drives. Every method is carried out by the core."""

    def __init__(self, hostname, job=None):
        self.hostname = hostname
        self.job = job

    def __repr__(self):
        return "<Host %s>" % self.hostname

    def run(self, command, timeout=None, ignore_status=False, stdin=None, args=()):
        """Runs a shell command on the host; CmdError (AutoservRunError) on a non-zero exit."""
        if args:
            import shlex
            command = " ".join([command] + [shlex.quote(str(a)) for a in args])
        params = {"machine": self.hostname, "command": command}
        if timeout is not None:
            params["timeout"] = float(timeout)
        if stdin is not None:
            params["stdin"] = stdin
        r = rpc.call("run", **params)
        result = utils.CmdResult(command=command, stdout=r["stdout"], stderr=r["stderr"],
                                 exit_status=r["exit_status"])
        if r["exit_status"] is None:
            how = ("killed by signal %s" % r["signal"]) if r["signal"] else r["unknown"]
            raise error.AutoservRunError("%s: command <%s> %s" % (self.hostname, command, how),
                                         result)
        if r["exit_status"] != 0 and not ignore_status:
            raise error.AutoservRunError(
                "%s: command <%s> failed, rc=%s: %s" % (
                    self.hostname, command, r["exit_status"], r["stderr"].strip()[-500:]),
                result)
        return result

    def send_file(self, source, dest, delete_dest=False):
        """Copies a local file or directory to the host."""
        if isinstance(source, (list, tuple)):
            for s in source:
                self.send_file(s, os.path.join(dest, os.path.basename(s.rstrip("/"))))
            return
        rpc.call("send_file", machine=self.hostname, local=os.path.abspath(source), remote=dest)

    def get_file(self, source, dest, delete_dest=False):
        """Copies a file (or, with a trailing '/', a directory's contents) from the host."""
        tree = source.endswith("/")
        rpc.call("get_file", machine=self.hostname, remote=source.rstrip("/") or "/",
                 local=os.path.abspath(dest), tree=tree)

    def get_boot_id(self):
        """The running boot's id, or None when the host does not answer."""
        return rpc.call("boot_id", machine=self.hostname)

    def is_up(self):
        return self.get_boot_id() is not None

    def wait_up(self, timeout=None):
        """True when the host answers within ``timeout`` seconds."""
        params = {"machine": self.hostname}
        if timeout is not None:
            params["timeout"] = float(timeout)
        return bool(rpc.call("wait_up", **params))

    def wait_down(self, timeout=None, old_boot_id=None):
        """True when the host stopped answering (or came back as a new boot) in time."""
        params = {"machine": self.hostname}
        if timeout is not None:
            params["timeout"] = float(timeout)
        if old_boot_id:
            params["old_boot_id"] = old_boot_id
        return bool(rpc.call("wait_down", **params))

    def reboot(self, wait=True, **dargs):
        """Reboots the host and waits until it is back with a new boot id; records the reboot
        group in the job's status log."""
        job = self.job
        if job is not None:
            job.record("START", None, "reboot")
            job.record("GOOD", None, "reboot.start")
        # Asked first so that a machine that never answered is not reported as one that
        # "stopped answering"; as legacy, a reboot that could not be issued fails reboot.start.
        if self.get_boot_id() is None:
            msg = ("%s cannot be reached (it does not answer over ssh), so it was not "
                   "rebooted: check that it is up and that its address, port and key are "
                   "right" % self.hostname)
            if job is not None:
                job.record("ABORT", None, "reboot.start", msg)
                job._end_group("ABORT")
            raise error.AutoservError(msg)
        try:
            rpc.call("reboot", machine=self.hostname)
        except error.AutoservError as e:
            if job is not None:
                job.record("ABORT", None, "reboot.verify", str(e))
                job._end_group("ABORT")
            raise
        if job is not None:
            kernel = self.get_kernel_ver()
            job.record("GOOD", None, "reboot.verify", kernel)
            job._end_group("GOOD", optional_fields={"kernel": kernel})

    def hardreset(self, timeout=None, wait=True):
        """Power-cycles the host through its console server."""
        rpc.call("hardreset", machine=self.hostname)

    def get_kernel_ver(self):
        """The running kernel release (``uname -r``)."""
        return self.run("uname -r").stdout.strip()

    def get_arch(self):
        return self.run("uname -m").stdout.strip()

    def get_tmp_dir(self, parent="/tmp"):
        return self.run("mktemp -d %s/autoserv-XXXXXX" % parent).stdout.strip()

    def close(self):
        pass


RemoteHost = Host
SSHHost = Host


def create_host(hostname, auto_monitor=True, **args):
    """A host object for ``hostname`` (``[user@]host[:port]``)."""
    from autotest.server import server_job
    return Host(hostname, job=server_job.current())
