"""Legacy ``partition``: make filesystems on a device (or a loop file), fsck, mount, unmount.

``job.partition(device, loop_size=0, mountpoint=None)``: with ``loop_size`` (MB) ``device`` is a
file that is created with that size and mounted with ``-o loop``. Each operation writes the
legacy status line ``GOOD ---- <command>`` (``FAIL ---- <command>`` with the error when it
fails) unless ``record=False``.
"""

import os
import sys

from autotest.client import utils
from autotest.client.shared import error

__all__ = [
    "partition", "get_partition_list", "get_mount_info", "filesystems", "is_linux_fs_type",
    "list_mount_devices", "list_mount_points", "FsOptions",
]


def _mounts():
    with open("/proc/mounts") as f:
        return [line.split() for line in f if line.strip()]


def list_mount_devices():
    """Devices (and loop files' devices) mounted now."""
    return [m[0] for m in _mounts()]


def list_mount_points():
    """Mount points in use now."""
    return [m[1] for m in _mounts()]


def filesystems():
    """Filesystem types the running kernel knows (/proc/filesystems)."""
    with open("/proc/filesystems") as f:
        return [line.split()[-1] for line in f if line.strip()]


def is_linux_fs_type(device):
    """True when ``device`` holds an ext2/3/4 filesystem (by its superblock magic)."""
    try:
        with open(device, "rb") as f:
            f.seek(1024 + 56)
            return f.read(2) == b"\x53\xef"
    except OSError:
        return False


class FsOptions(object):
    """A filesystem type with its mkfs and mount options (legacy partition tests' options)."""

    def __init__(self, fstype, fs_tag, mkfs_flags=None, mount_options=None):
        self.fstype = fstype
        self.fs_tag = fs_tag
        self.mkfs_flags = mkfs_flags or ""
        self.mount_options = mount_options or ""

    def __str__(self):
        return "FsOptions(fstype=%r, mkfs_flags=%r, mount_options=%r, fs_tag=%r)" % (
            self.fstype, self.mkfs_flags, self.mount_options, self.fs_tag)


class partition(object):
    """One device or loop file (see the module doc)."""

    def __init__(self, job, device, loop_size=0, mountpoint=None):
        self.job = job
        self.device = device
        self.name = os.path.basename(device)
        self.mountpoint = mountpoint
        self.fstype = None
        self.mkfs_flags = ""
        self.mount_options = ""
        self.loop = int(loop_size or 0)
        if self.loop:
            # A real file of the full size (allocated, not sparse), as legacy's dd made.
            try:
                with open(device, "wb") as f:
                    os.posix_fallocate(f.fileno(), 0, self.loop * 1024 * 1024)
            except OSError as e:
                raise error.TestError("cannot create the %d MB loop file %s: %s" % (
                    self.loop, device, e.strerror))

    def __repr__(self):
        return "<partition %s>" % self.device

    def set_fs_options(self, fs_options):
        """Takes the fstype, mkfs flags and mount options of an :class:`FsOptions`."""
        self.fstype = fs_options.fstype
        self.mkfs_flags = fs_options.mkfs_flags
        self.mount_options = fs_options.mount_options

    def get_mountpoint(self):
        """Where the device is mounted now (from /proc/mounts), or None."""
        real = os.path.realpath(self.device)
        for m in _mounts():
            if m[0] in (self.device, real):
                return m[1]
        if self.loop and self.mountpoint and self.mountpoint in list_mount_points():
            return self.mountpoint
        return None

    def _run(self, cmd, record, output=False):
        sys.stdout.write(cmd + "\n")
        sys.stdout.flush()
        try:
            if output:
                utils.system_output("yes | %s" % cmd)
            else:
                utils.system(cmd)
        except Exception as e:
            if record:
                self.job.record("FAIL", None, cmd, str(e))
            raise
        if record:
            self.job.record("GOOD", None, cmd)

    def mkfs_exec(self, fstype):
        return "mkfs"

    def mkfs(self, fstype=None, args="", record=True):
        """Makes a filesystem (default: the FsOptions' type, else ext2)."""
        fstype = fstype or self.fstype or "ext2"
        if self.get_mountpoint() is not None:
            raise error.TestError("refusing to make a filesystem on %s: it is mounted on %s" % (
                self.device, self.get_mountpoint()))
        args = ("%s %s" % (args, self.mkfs_flags)).strip()
        if fstype == "xfs":
            args += " -f"
        if self.loop and fstype.startswith("ext"):
            # mke2fs asks before writing to a regular file; -F says yes.
            args += " -F"
        if "-t" not in args.split():
            args = "-t %s %s" % (fstype, args)
        cmd = "%s %s %s" % (self.mkfs_exec(fstype), " ".join(args.split()), self.device)
        self._run(cmd, record, output=True)
        self.fstype = fstype

    def get_fsck_exec(self):
        return "fsck"

    def fsck(self, args="-n", record=True):
        """Checks the filesystem (``-n``: report only)."""
        self._run("%s %s %s" % (self.get_fsck_exec(), self.device, args), record)

    def mount(self, mountpoint=None, fstype=None, args="", record=True):
        """Mounts the device (with the FsOptions' mount options, ``-o loop`` for a loop file)."""
        fstype = fstype or self.fstype
        if self.mount_options:
            args += " -o " + self.mount_options
        if fstype:
            args += " -t " + fstype
        if self.loop:
            args += " -o loop"
        mountpoint = mountpoint or self.mountpoint
        if not mountpoint:
            raise error.TestError("mount %s: no mount point given" % self.device)
        cmd = "mount %s %s %s" % (args.strip(), self.device, mountpoint)
        if mountpoint in list_mount_points():
            if record:
                self.job.record("FAIL", None, cmd, "Attempted to mount busy mountpoint")
            raise error.TestError("cannot mount %s on %s: something is mounted there already"
                                  % (self.device, mountpoint))
        os.makedirs(mountpoint, exist_ok=True)
        self._run(cmd, record)
        self.mountpoint = mountpoint

    def unmount(self, ignore_status=False, record=True):
        """Unmounts the device; with ``ignore_status`` a device not mounted is no error."""
        mountpoint = self.get_mountpoint()
        if mountpoint is None:
            if ignore_status:
                return
            raise error.TestError("cannot unmount %s: it is not mounted" % self.device)
        self._run("umount %s" % mountpoint, record)

    def wipe(self):
        """Zeroes the first MB (the superblocks), so the device holds no filesystem."""
        with open(self.device, "r+b") as f:
            f.write(b"\0" * (1024 * 1024))
        self.fstype = None

    def cleanup(self):
        """Unmounts, and removes the loop file."""
        self.unmount(ignore_status=True, record=False)
        if self.loop and os.path.isfile(self.device):
            os.remove(self.device)


def get_partition_list(job, min_blocks=0, filter_func=None, exclude_swap=True):
    """The partitions of /proc/partitions with at least ``min_blocks`` 1 kB blocks, as
    :class:`partition` objects (whole disks and swap left out, as legacy did)."""
    swaps = set()
    if exclude_swap:
        try:
            with open("/proc/swaps") as f:
                swaps = {line.split()[0] for line in f.readlines()[1:] if line.strip()}
        except OSError:
            pass
    out = []
    with open("/proc/partitions") as f:
        for line in f.readlines()[2:]:
            parts = line.split()
            if len(parts) != 4:
                continue
            blocks, name = int(parts[2]), parts[3]
            device = "/dev/" + name
            if blocks < min_blocks or device in swaps:
                continue
            if not os.path.exists("/sys/class/block/%s/partition" % name):
                continue
            if filter_func and not filter_func(name):
                continue
            out.append(partition(job, device))
    return out


def get_mount_info(partition_list):
    """``{(device, mountpoint), ...}`` of the partitions that are mounted."""
    return {(p.device, p.get_mountpoint()) for p in partition_list if p.get_mountpoint()}
