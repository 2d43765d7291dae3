"""Legacy ``os_dep``: find a command, library or header the test needs, or say which is missing.

Each raises ``ValueError('Missing <kind>: <name>')`` (the legacy message, which tests match)
followed by what to install.
"""

import os
import shutil

__all__ = ["command", "commands", "library", "libraries", "header"]

_BIN_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]


def _missing(kind, name):
    from autotest.client.shared import software_manager
    pkg = software_manager.package_for(kind, name)
    hint = (" (on Debian: apt-get install %s)" % pkg) if pkg else ""
    return ValueError("Missing %s: %s%s" % (kind, name, hint))


def command(cmd):
    """The full path of executable ``cmd`` (PATH, then the system bin dirs)."""
    if os.path.isabs(cmd):
        if os.access(cmd, os.X_OK) and os.path.isfile(cmd):
            return cmd
        raise _missing("command", cmd)
    dirs = os.environ.get("PATH", "").split(":") + _BIN_DIRS
    found = shutil.which(cmd, path=":".join(d for d in dirs if d))
    if found is None:
        raise _missing("command", cmd)
    return found


def commands(*cmds):
    """The paths of all ``cmds`` (ValueError on the first one missing)."""
    return [command(c) for c in cmds]


def _lib_dirs():
    import sysconfig
    dirs = ["/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib"]
    multiarch = sysconfig.get_config_var("MULTIARCH")
    if multiarch:
        dirs += ["/lib/" + multiarch, "/usr/lib/" + multiarch]
    return dirs


def library(lib):
    """The path of shared library file ``lib`` (e.g. ``libaio.so.1``) in the system lib dirs."""
    for d in _lib_dirs():
        path = os.path.join(d, lib)
        if os.path.exists(path):
            return path
    raise _missing("library", lib)


def libraries(*libs):
    """The paths of all ``libs``."""
    return [library(l) for l in libs]


def header(hdr):
    """The path of C header ``hdr`` (e.g. ``libaio.h``, ``sys/capability.h``)."""
    import sysconfig
    dirs = ["/usr/include", "/usr/local/include"]
    multiarch = sysconfig.get_config_var("MULTIARCH")
    if multiarch:
        dirs.append("/usr/include/" + multiarch)
    for d in dirs:
        path = os.path.join(d, hdr)
        if os.path.exists(path):
            return path
    raise _missing("header", hdr)
