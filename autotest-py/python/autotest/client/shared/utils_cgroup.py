"""Legacy ``utils_cgroup``, the read side: which controllers exist and where they are mounted.
Works with cgroup v2 (the unified hierarchy of a current system) and v1 mounts."""

import os

__all__ = ["get_cgroup_mountpoint", "get_all_controllers", "is_cgroup_v2", "get_pid_cgroup"]


def _mounts():
    with open("/proc/mounts") as f:
        return [line.split() for line in f if line.strip()]


def is_cgroup_v2():
    """True when the unified (v2) hierarchy is mounted."""
    return any(m[2] == "cgroup2" for m in _mounts())


def get_all_controllers():
    """Names of the enabled controllers (``cpu``, ``memory``, ...)."""
    for m in _mounts():
        if m[2] == "cgroup2":
            try:
                with open(os.path.join(m[1], "cgroup.controllers")) as f:
                    return f.read().split()
            except OSError:
                return []
    out = []
    with open("/proc/cgroups") as f:
        for line in f:
            if line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) >= 4 and parts[3] == "1":
                out.append(parts[0])
    return out


def get_cgroup_mountpoint(controller):
    """Where ``controller`` can be used: its v1 mount, else the v2 mount when it is enabled
    there. Raises ValueError naming the controller when it is mounted nowhere."""
    v2 = None
    for m in _mounts():
        if m[2] == "cgroup" and controller in m[3].split(","):
            return m[1]
        if m[2] == "cgroup2":
            v2 = m[1]
    if v2 is not None and controller in get_all_controllers():
        return v2
    raise ValueError("cgroup controller %s is not mounted: mount it (mount -t cgroup -o %s "
                     "none <dir>) or enable it in the v2 hierarchy" % (controller, controller))


def get_pid_cgroup(pid, controller):
    """The cgroup path of ``pid`` for ``controller`` (the v2 path when it is unified)."""
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(",") or ctrls == "":
                return path
    raise ValueError("pid %d has no cgroup for %s" % (pid, controller))
