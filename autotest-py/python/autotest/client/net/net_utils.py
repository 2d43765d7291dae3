"""Legacy ``net_utils``, the read side: interfaces, addresses, MTU, link state (from
/sys/class/net and ``ip``). Changing interfaces is left to the test (root, ``ip link``)."""

import json
import os
import socket
import subprocess

from autotest.client.shared import error

__all__ = ["network_interface", "network_utils", "list_interfaces", "get_free_port"]

_SYS = "/sys/class/net"


def list_interfaces():
    """Names of this machine's network interfaces."""
    try:
        return sorted(os.listdir(_SYS))
    except OSError:
        return []


def get_free_port(address="127.0.0.1"):
    """A TCP port free on ``address`` right now."""
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


class network_interface(object):
    """One interface by name (``lo``, ``eth0``)."""

    def __init__(self, name):
        if not os.path.isdir(os.path.join(_SYS, name)):
            raise error.TestError("network interface %s does not exist (there are: %s)" % (
                name, ", ".join(list_interfaces())))
        self.name = name

    def _read(self, what):
        with open(os.path.join(_SYS, self.name, what)) as f:
            return f.read().strip()

    def get_hwaddr(self):
        return self._read("address")

    def get_mtu(self):
        return int(self._read("mtu"))

    def is_down(self):
        return self._read("operstate") == "down"

    def is_loopback(self):
        return self.name == "lo" or int(self._read("type")) == 772

    def get_ipaddr(self):
        """The first IPv4 address of the interface, or None."""
        r = subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", self.name],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return None
        for entry in json.loads(r.stdout or "[]"):
            for a in entry.get("addr_info", []):
                return a.get("local")
        return None


class network_utils(object):
    """Machine-wide helpers (legacy object form)."""

    def list_interfaces(self):
        return list_interfaces()

    def get_ip_local(self, query_ip, netmask="24"):
        """This machine's address on the way to ``query_ip``."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((query_ip, 9))
            return s.getsockname()[0]
