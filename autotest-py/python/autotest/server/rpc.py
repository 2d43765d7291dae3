"""The line to autoserv: one JSON request per line, one JSON answer per line."""

import itertools
import json
import os
import socket
import threading

from autotest.client.shared import error

_local = threading.local()
_ids = itertools.count(1)


def _connection():
    # A forked child (parallel_simple) opens its own connection; threads get their own too.
    conn = getattr(_local, "conn", None)
    if conn is None or _local.pid != os.getpid():
        path = os.environ.get("AUTOTEST_SERVER_SOCKET")
        if not path:
            raise error.AutoservError(
                "AUTOTEST_SERVER_SOCKET is not set: server control files run under "
                "`autotest autoserv` (or a queue), not directly")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        conn = (sock, sock.makefile("rb"))
        _local.conn, _local.pid = conn, os.getpid()
    return conn


def call(method, **params):
    """Calls a core operation; raises AutoservError with the core's message on failure."""
    sock, reader = _connection()
    rid = next(_ids)
    sock.sendall((json.dumps({"id": rid, "method": method, "params": params}) + "\n").encode())
    line = reader.readline()
    if not line:
        raise error.AutoservError("autoserv closed the connection during %s" % method)
    reply = json.loads(line)
    if not reply.get("ok"):
        raise error.AutoservError(reply.get("error") or "%s failed" % method)
    return reply.get("result")
