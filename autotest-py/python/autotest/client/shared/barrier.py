"""Legacy barriers: the machines of one job meet at a named point before going on.

``barrier(hostid, tag, timeout, port).rendezvous(*hosts)``: the first of ``hosts`` is the
master; it listens on ``port`` (default 11922) and releases everyone once all ``hosts`` have
checked in with the same tag. A host id may end in ``#<anything>`` so several members can run
on one machine (the part before ``#`` is the address). ``timeout`` (seconds, None = forever)
bounds the whole rendezvous, from the call: whoever is still waiting then raises
:class:`error.BarrierError`. A member that calls ``rendezvous(..., abort=True)`` aborts the
barrier: everyone raises :class:`error.BarrierAbortError`.

Wire protocol (one line each, over TCP): member -> master ``<hostid> <tag> <wait|abort>``;
master -> member ``go``, ``abort`` or ``wrongtag <tag>``.
"""

import socket
import time

from autotest.client.shared import error

__all__ = ["barrier", "BarrierError", "BarrierAbortError", "DEFAULT_PORT"]

BarrierError = error.BarrierError
BarrierAbortError = error.BarrierAbortError
DEFAULT_PORT = 11922


def _address(hostid):
    return hostid.split("#", 1)[0]


class barrier(object):
    """One rendezvous point (see the module doc)."""

    def __init__(self, hostid, tag, timeout=None, port=None, listen_server=None):
        self._hostid = hostid
        self._tag = tag
        self._timeout = timeout
        self._port = int(port or DEFAULT_PORT)
        self._listen = listen_server
        self._deadline = None

    # -- time ----------------------------------------------------------------------------------
    def _remaining(self):
        if self._deadline is None:
            return None
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise BarrierError("timeout waiting for barrier: %s (after %s seconds)" % (
                self._tag, self._timeout))
        return left

    # -- master --------------------------------------------------------------------------------
    def _serve(self, members, abort):
        waiting = set(members) - {self._hostid}
        conns = {}
        aborted = abort
        srv = self._listen
        if srv is None:
            srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                srv.bind((_address(self._hostid), self._port))
            except OSError as e:
                srv.close()
                raise BarrierError("barrier %s: cannot listen on %s:%d: %s (is another job's "
                                   "barrier using the port? give port=)" % (
                                       self._tag, _address(self._hostid), self._port, e.strerror))
            srv.listen(len(waiting) + 4)
        try:
            while waiting and not aborted:
                srv.settimeout(self._remaining())
                try:
                    conn, _ = srv.accept()
                except socket.timeout:
                    self._remaining()
                    continue
                conn.settimeout(self._remaining())
                try:
                    line = conn.makefile("r").readline().split()
                except (OSError, socket.timeout):
                    conn.close()
                    continue
                if len(line) != 3:
                    conn.close()
                    continue
                who, tag, what = line
                if tag != self._tag:
                    conn.sendall(("wrongtag %s\n" % self._tag).encode())
                    conn.close()
                    continue
                if who not in waiting and who not in conns:
                    conn.close()
                    continue
                waiting.discard(who)
                conns[who] = conn
                if what == "abort":
                    aborted = True
            reply = b"abort\n" if aborted else b"go\n"
            for conn in conns.values():
                try:
                    conn.sendall(reply)
                except OSError:
                    pass
        finally:
            for conn in conns.values():
                conn.close()
            if self._listen is None:
                srv.close()
        if aborted:
            raise BarrierAbortError("barrier %s aborted" % self._tag)

    # -- member --------------------------------------------------------------------------------
    def _join(self, master, abort):
        addr = (_address(master), self._port)
        delay = 0.05
        while True:
            try:
                sock = socket.create_connection(addr, timeout=self._remaining())
                break
            except (ConnectionRefusedError, socket.timeout, OSError):
                # The master may not be listening yet: retry until the deadline.
                self._remaining()
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        with sock:
            sock.sendall(("%s %s %s\n" % (self._hostid, self._tag,
                                          "abort" if abort else "wait")).encode())
            while True:
                sock.settimeout(self._remaining())
                try:
                    reply = sock.makefile("r").readline().split()
                    break
                except socket.timeout:
                    continue
        if not reply:
            raise BarrierError("barrier %s: master %s closed the connection (it timed out or "
                               "ended)" % (self._tag, master))
        if reply[0] == "go":
            return
        if reply[0] == "abort":
            raise BarrierAbortError("barrier %s aborted" % self._tag)
        if reply[0] == "wrongtag":
            raise BarrierError("barrier %s: master %s waits at barrier %s" % (
                self._tag, master, " ".join(reply[1:])))
        raise BarrierError("barrier %s: unexpected reply %r from %s" % (self._tag, reply, master))

    def rendezvous(self, *hosts, **dargs):
        """Waits until every host of ``hosts`` has reached this barrier (see the module doc)."""
        abort = bool(dargs.get("abort", False))
        if not hosts:
            raise BarrierError("barrier %s: rendezvous needs the list of hosts" % self._tag)
        if self._hostid not in hosts:
            raise BarrierError("barrier %s: this host %s is not one of %s" % (
                self._tag, self._hostid, ", ".join(hosts)))
        self._deadline = None if self._timeout is None else time.monotonic() + float(self._timeout)
        if hosts[0] == self._hostid:
            self._serve(hosts, abort)
        else:
            self._join(hosts[0], abort)

    def rendezvous_servers(self, masterid, *hosts, **dargs):
        """Same as :meth:`rendezvous` with ``masterid`` as the master."""
        self.rendezvous(masterid, *[h for h in hosts if h != masterid], **dargs)
