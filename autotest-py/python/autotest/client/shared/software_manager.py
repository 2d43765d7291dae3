"""Legacy ``software_manager``: install the packages a test needs, with apt on Debian.

Legacy test modules name packages as Fedora/RHEL did (``gcc-c++``, ``libaio-devel``);
:func:`debian_name` maps those to Debian's. Nothing is installed in dry-run mode
(``SoftwareManager(dry_run=True)`` or ``AUTOTEST_SOFTWARE_DRY_RUN=1``), as non-root or where
there is no apt-get: the manager then says which command it would have run, or which package to
install by hand, in ``last_message`` and the log, and ``install`` returns False.
"""

import logging
import os
import re
import shutil
import subprocess

__all__ = ["SoftwareManager", "debian_name", "package_for", "install_distro_packages"]

# Legacy (RPM) package names whose Debian names do not follow the -devel -> -dev rule.
_RPM_TO_DEB = {
    "gcc-c++": "g++", "glibc-devel": "libc6-dev", "glibc-static": "libc6-dev",
    "glibc-headers": "libc6-dev", "python-devel": "python3-dev", "python3-devel": "python3-dev",
    "zlib-devel": "zlib1g-dev", "openssl-devel": "libssl-dev", "ncurses-devel": "libncurses-dev",
    "numactl-devel": "libnuma-dev", "libattr-devel": "libattr1-dev", "kernel-devel":
    "linux-headers-amd64", "kernel-headers": "linux-libc-dev", "perf": "linux-perf",
    "xz": "xz-utils", "procps-ng": "procps", "iproute": "iproute2", "util-linux-ng":
    "util-linux", "bind-utils": "dnsutils", "nc": "netcat-openbsd", "which": "debianutils",
    "python": "python3", "pkgconfig": "pkg-config", "libstdc++-devel": "libstdc++-dev",
    "elfutils-libelf-devel": "libelf-dev", "popt-devel": "libpopt-dev",
    "libcap-devel": "libcap-dev", "libaio-devel": "libaio-dev", "e2fsprogs-devel":
    "e2fslibs-dev", "bzip2-devel": "libbz2-dev", "readline-devel": "libreadline-dev",
}

# What provides a command, header or library file on Debian (for "Missing ..." messages).
_PROVIDES = {
    "command": {
        "gcc": "gcc", "cc": "gcc", "g++": "g++", "c++": "g++", "make": "make", "git": "git",
        "patch": "patch", "bzip2": "bzip2", "xz": "xz-utils", "perf": "linux-perf",
        "numactl": "numactl", "fio": "fio", "iperf": "iperf", "mkfs.ext2": "e2fsprogs",
        "mkfs.ext3": "e2fsprogs", "mkfs.ext4": "e2fsprogs", "fsck.ext4": "e2fsprogs",
        "mkfs.xfs": "xfsprogs", "mkfs.btrfs": "btrfs-progs", "losetup": "mount",
        "mount": "mount", "lspci": "pciutils", "dmidecode": "dmidecode", "ethtool": "ethtool",
        "gdb": "gdb", "strace": "strace", "ltrace": "ltrace", "autoconf": "autoconf",
        "automake": "automake", "libtool": "libtool", "bison": "bison", "flex": "flex",
        "bc": "bc", "time": "time", "pkg-config": "pkg-config", "hdparm": "hdparm",
        "smartctl": "smartmontools", "sysctl": "procps", "ip": "iproute2", "tar": "tar",
        "gzip": "gzip", "unzip": "unzip", "wget": "wget", "curl": "curl", "python3": "python3",
        "cryptsetup": "cryptsetup", "crontab": "cron", "hwclock": "util-linux",
        "taskset": "util-linux", "chrt": "util-linux", "blkid": "util-linux",
        "sg_inq": "sg3-utils", "mdadm": "mdadm", "lvm": "lvm2", "dbench": "dbench",
    },
    "header": {
        "libaio.h": "libaio-dev", "numa.h": "libnuma-dev", "numaif.h": "libnuma-dev",
        "zlib.h": "zlib1g-dev", "openssl/ssl.h": "libssl-dev", "sys/capability.h":
        "libcap-dev", "attr/xattr.h": "libattr1-dev", "ncurses.h": "libncurses-dev",
        "curses.h": "libncurses-dev", "pthread.h": "libc6-dev", "stdio.h": "libc6-dev",
        "popt.h": "libpopt-dev", "libelf.h": "libelf-dev", "gelf.h": "libelf-dev",
        "bzlib.h": "libbz2-dev", "readline/readline.h": "libreadline-dev",
    },
    "library": {
        "libaio.so": "libaio-dev", "libnuma.so": "libnuma-dev", "libz.so": "zlib1g-dev",
        "libssl.so": "libssl-dev", "libcap.so": "libcap-dev", "libpthread.so": "libc6-dev",
        "libelf.so": "libelf-dev", "libpopt.so": "libpopt-dev",
    },
}


def debian_name(name):
    """The Debian package for a legacy (RPM-style) package name: the table above, else
    ``X-devel`` -> ``X-dev``, else the name itself."""
    if name in _RPM_TO_DEB:
        return _RPM_TO_DEB[name]
    m = re.match(r"^(.*)-devel$", name)
    if m:
        base = m.group(1)
        return (base if base.startswith("lib") else "lib" + base) + "-dev"
    return name


def package_for(kind, name):
    """The Debian package providing a ``command``, ``header`` or ``library`` file, or None."""
    table = _PROVIDES.get(kind, {})
    if name in table:
        return table[name]
    if kind == "library":
        base = re.sub(r"\.so(\..*)?$", ".so", name)
        return table.get(base)
    return None


def _dry_run_env():
    return os.environ.get("AUTOTEST_SOFTWARE_DRY_RUN", "") not in ("", "0")


class SoftwareManager(object):
    """Installs, removes and queries packages (apt/dpkg). See the module's doc for when it
    refuses."""

    def __init__(self, dry_run=None):
        self.dry_run = _dry_run_env() if dry_run is None else bool(dry_run)
        self.backend = "apt" if shutil.which("apt-get") and shutil.which("dpkg-query") else None
        self.last_message = ""
        self.last_command = None

    def _say(self, text):
        self.last_message = text
        logging.info(text)

    def check_installed(self, name, version=None):
        """True when the package (legacy or Debian name) is installed."""
        if self.backend is None:
            return False
        pkg = debian_name(name)
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", pkg],
                           capture_output=True, text=True)
        if r.returncode != 0 or not r.stdout.startswith("install ok installed"):
            return False
        return version is None or r.stdout.split()[-1].startswith(str(version))

    def list_all(self):
        """``name-version`` of every installed package."""
        if self.backend is None:
            return []
        r = subprocess.run(["dpkg-query", "-W", "-f=${Package}-${Version}\n"],
                           capture_output=True, text=True)
        return r.stdout.split()

    def list_files(self, name):
        """The files of an installed package."""
        if self.backend is None:
            return []
        r = subprocess.run(["dpkg", "-L", debian_name(name)], capture_output=True, text=True)
        return r.stdout.split() if r.returncode == 0 else []

    def provides(self, path):
        """The installed package that owns ``path``, or None."""
        if self.backend is None:
            return None
        r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if r.returncode != 0:
            return None
        return r.stdout.split(":", 1)[0].strip()

    def _apt(self, verb, name):
        pkg = debian_name(name)
        cmd = ["apt-get", verb, "-y", pkg]
        self.last_command = cmd
        if self.backend is None:
            self._say("cannot %s %s: this machine has no apt-get; %s the package %s with the "
                      "distribution's tool yourself" % (verb, name, verb, pkg))
            return False
        if self.dry_run:
            self._say("dry run: would run `%s`" % " ".join(cmd))
            return False
        if os.geteuid() != 0:
            self._say("cannot %s %s: not root; run `%s` as root" % (verb, name, " ".join(cmd)))
            return False
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            tail = " | ".join(r.stderr.strip().splitlines()[-3:])
            self._say("`%s` failed with status %d: %s" % (" ".join(cmd), r.returncode, tail))
            return False
        self._say("ran `%s`" % " ".join(cmd))
        return True

    def install(self, name):
        """Installs a package; True when it is installed afterwards."""
        if self.check_installed(name):
            self._say("%s is already installed" % debian_name(name))
            return True
        return self._apt("install", name)

    def remove(self, name):
        """Removes a package; True when it was removed."""
        return self._apt("remove", name)

    def upgrade(self, name=None):
        """Upgrades a package (refused without one: the whole system is not a test's to change)."""
        if name is None:
            self._say("refusing to upgrade every package: name the package to upgrade")
            return False
        return self._apt("install", name)

    def add_repo(self, url):
        """Refused: machines under test fetch nothing from the network."""
        self._say("refusing to add repository %s: machines under test fetch nothing from the "
                  "network; add it to /etc/apt/sources.list.d yourself" % url)
        return False

    def remove_repo(self, url):
        return self.add_repo(url)


def _distro_id():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("ID="):
                    return line.split("=", 1)[1].strip().strip('"').lower()
    except OSError:
        pass
    return ""


def install_distro_packages(distro_pkg_map, interactive=False):
    """Installs the packages listed for this distribution in ``{distro: [pkg, ...]}`` (keys
    like ``Debian``, ``Ubuntu``, ``Fedora``, compared without case); True when all are there."""
    this = _distro_id()
    pkgs = []
    for distro, names in distro_pkg_map.items():
        if distro.lower() == this:
            pkgs = list(names)
            break
    if not pkgs:
        return False
    sm = SoftwareManager()
    return all([sm.install(p) for p in pkgs])
