"""Legacy ``utils_memory``: memory sizes, NUMA nodes, huge pages, dropping caches."""

import glob
import os
import re

__all__ = [
    "read_from_meminfo", "memtotal", "freememtotal", "rounded_memtotal", "numa_nodes",
    "node_size", "drop_caches", "get_huge_page_size", "get_num_huge_pages",
    "set_num_huge_pages", "get_buddy_info",
]


def read_from_meminfo(key):
    """The value of ``key`` in /proc/meminfo (kB for sizes); KeyError naming it when absent."""
    with open("/proc/meminfo") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name == key:
                return int(rest.split()[0])
    raise KeyError("%s is not in /proc/meminfo" % key)


def memtotal():
    """Total memory in kB."""
    return read_from_meminfo("MemTotal")


def freememtotal():
    """Free memory in kB."""
    return read_from_meminfo("MemFree")


def rounded_memtotal():
    """Total memory in kB rounded up to a multiple that DIMM sizes give (the kernel keeps part
    of the RAM for itself, so MemTotal is a little less than what is installed)."""
    usable = memtotal()
    # Round to 1/8 of the highest power of two below the size, as legacy did.
    modulus = 1 << max(0, usable.bit_length() - 4)
    return ((usable + modulus - 1) // modulus) * modulus


def numa_nodes():
    """The NUMA node numbers of this machine (``[0]`` on a machine without NUMA)."""
    nodes = sorted(int(re.search(r"node(\d+)$", p).group(1))
                   for p in glob.glob("/sys/devices/system/node/node[0-9]*"))
    return nodes or [0]


def node_size():
    """Memory per NUMA node in bytes (total divided evenly, as legacy did)."""
    return memtotal() * 1024 // len(numa_nodes())


def drop_caches():
    """Writes back dirty pages and drops page, dentry and inode caches; a no-op when not root
    (the caller cannot drop them and the test can still run)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass


def get_huge_page_size():
    """The huge page size in kB."""
    return read_from_meminfo("Hugepagesize")


def get_num_huge_pages():
    """The number of huge pages reserved."""
    return read_from_meminfo("HugePages_Total")


def set_num_huge_pages(num):
    """Reserves ``num`` huge pages (root)."""
    with open("/proc/sys/vm/nr_hugepages", "w") as f:
        f.write("%d\n" % int(num))


def get_buddy_info(chunk_sizes, nodes="all", zones="all"):
    """Free blocks per order from /proc/buddyinfo, summed over the nodes and zones asked for:
    ``{order: count}`` for each order in ``chunk_sizes`` (a list of orders or ``"all"``)."""
    out = {}
    with open("/proc/buddyinfo") as f:
        for line in f:
            m = re.match(r"Node\s+(\d+),\s+zone\s+(\S+)\s+(.*)$", line)
            if not m:
                continue
            node, zone, counts = m.group(1), m.group(2), m.group(3).split()
            if nodes != "all" and node not in str(nodes).split():
                continue
            if zones != "all" and zone not in str(zones).split():
                continue
            for order, count in enumerate(counts):
                if chunk_sizes == "all" or order in chunk_sizes or str(order) in chunk_sizes:
                    out[order] = out.get(order, 0) + int(count)
    return out
