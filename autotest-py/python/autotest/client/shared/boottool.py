"""``job.bootloader``: a legacy ``boottool`` view over a GRUB 2 ``grub.cfg``.

Entries are the ``menuentry`` blocks in file order (those inside a ``submenu`` included), as
grubby listed them: ``{'index', 'title', 'kernel', 'args', 'initrd', 'root'}``. The default comes
from ``set default=`` (a number, a title or ``saved``, then ``saved_entry`` of the ``grubenv``
next to the file). Changes rewrite the file in place (atomically); ``boot_once`` and a ``saved``
default write ``grubenv``. The file is ``/boot/grub/grub.cfg`` unless given (the job takes the
``boottool.grub_cfg`` config value), so tests work on a copy, never the machine's.
"""

import os
import re
import shlex

__all__ = ["boottool", "BootloaderError", "DEFAULT_GRUB_CFG"]

DEFAULT_GRUB_CFG = "/boot/grub/grub.cfg"
_MENUENTRY = re.compile(r"^(\s*)menuentry\s+(?:'([^']*)'|\"([^\"]*)\"|(\S+))")
_LINUX = re.compile(r"^(\s*)(linux|linux16|linuxefi)(\s+)(\S+)(.*)$")
_INITRD = re.compile(r"^\s*(initrd|initrd16|initrdefi)\s+(.*)$")
_DEFAULT = re.compile(r"^(\s*)set\s+default=(?:\"([^\"]*)\"|'([^']*)'|(\S*))\s*$")


class BootloaderError(Exception):
    """The grub.cfg cannot be read, or an entry asked for does not exist."""


class boottool(object):
    """See the module doc."""

    def __init__(self, path=None, grub_cfg=None):
        # Legacy passed the boottool executable first; a grub.cfg path in either place works.
        self.path = grub_cfg or (path if path and path.endswith(".cfg") else DEFAULT_GRUB_CFG)

    # -- reading --------------------------------------------------------------------------------
    def _lines(self):
        try:
            with open(self.path) as f:
                return f.read().splitlines(True)
        except OSError as e:
            raise BootloaderError("cannot read the GRUB configuration %s: %s (give another "
                                  "with job.config_set('boottool.grub_cfg', path))" % (
                                      self.path, e.strerror))

    def _write(self, lines):
        tmp = self.path + ".autotest-tmp"
        with open(tmp, "w") as f:
            f.writelines(lines)
        os.replace(tmp, self.path)

    def _parse(self, lines):
        """Entries with the line ranges they occupy: (entry, first, last, linux line no)."""
        out = []
        i = 0
        while i < len(lines):
            m = _MENUENTRY.match(lines[i])
            if not m:
                i += 1
                continue
            title = next(g for g in m.groups()[1:] if g is not None)
            depth, j = lines[i].count("{") - lines[i].count("}"), i
            entry = {"index": len(out), "title": title, "kernel": None, "args": "",
                     "initrd": None, "root": None}
            linux_at = None
            while depth > 0 and j + 1 < len(lines):
                j += 1
                text = lines[j]
                lm = _LINUX.match(text)
                if lm:
                    entry["kernel"] = lm.group(4)
                    args = lm.group(5).split()
                    roots = [a for a in args if a.startswith("root=")]
                    entry["root"] = roots[0][5:] if roots else None
                    entry["args"] = " ".join(a for a in args if not a.startswith("root="))
                    linux_at = j
                im = _INITRD.match(text)
                if im:
                    entry["initrd"] = im.group(2).strip()
                depth += text.count("{") - text.count("}")
            out.append((entry, i, j, linux_at))
            i = j + 1
        return out

    def _grubenv_path(self):
        return os.path.join(os.path.dirname(os.path.abspath(self.path)), "grubenv")

    def _grubenv(self):
        env = {}
        try:
            with open(self._grubenv_path()) as f:
                for line in f:
                    if "=" in line and not line.startswith("#"):
                        k, v = line.rstrip("\n").split("=", 1)
                        env[k] = v
        except OSError:
            pass
        return env

    def _write_grubenv(self, env):
        body = "# GRUB Environment Block\n" + "".join("%s=%s\n" % kv for kv in env.items())
        # grub reads a block of exactly 1024 bytes, padded with '#'.
        if len(body) > 1024:
            raise BootloaderError("grubenv %s would exceed 1024 bytes" % self._grubenv_path())
        with open(self._grubenv_path(), "w") as f:
            f.write(body + "#" * (1024 - len(body)))

    def get_entries(self):
        """``{index: entry}`` of every menu entry."""
        return {e["index"]: e for e, _, _, _ in self._parse(self._lines())}

    def get_titles(self):
        """The titles, in menu order."""
        return [e["title"] for e, _, _, _ in self._parse(self._lines())]

    def _default_value(self, lines):
        for line in lines:
            m = _DEFAULT.match(line)
            if m:
                return next(g for g in m.groups()[1:] if g is not None)
        return "0"

    def _resolve(self, value, entries):
        if value == "saved":
            value = self._grubenv().get("saved_entry", "0")
        if value.isdigit():
            return int(value)
        for e in entries:
            if e["title"] == value:
                return e["index"]
        return 0

    def get_default_index(self):
        """Index of the entry GRUB boots by default."""
        lines = self._lines()
        entries = [e for e, _, _, _ in self._parse(lines)]
        return self._resolve(self._default_value(lines), entries)

    def get_default_title(self):
        """Title of the default entry."""
        return self.get_entry(self.get_default_index())["title"]

    def get_default(self):
        return self.get_default_index()

    def _find(self, search, parsed):
        """The parsed entries that ``search`` names: an index, a title, a kernel path,
        ``DEFAULT`` or ``ALL``."""
        if search == "ALL":
            return parsed
        if search == "DEFAULT":
            search = self.get_default_index()
        if isinstance(search, int) or (isinstance(search, str) and search.isdigit()):
            found = [p for p in parsed if p[0]["index"] == int(search)]
        else:
            found = [p for p in parsed if search in (p[0]["title"], p[0]["kernel"])]
        if not found:
            raise BootloaderError("%s has no boot entry %r (entries: %s)" % (
                self.path, search, ", ".join("%d %s" % (p[0]["index"], p[0]["title"])
                                             for p in parsed)))
        return found

    def get_entry(self, search_info):
        """The entry named by an index, title or kernel path."""
        return self._find(search_info, self._parse(self._lines()))[0][0]

    def get_info(self, index=None):
        """The entry as grubby printed it (``index=``, ``kernel=``, ``args="..."``, ...)."""
        e = self.get_entry(self.get_default_index() if index is None else index)
        text = "index=%d\nkernel=%s\nargs=\"%s\"\n" % (e["index"], e["kernel"], e["args"])
        if e["root"]:
            text += "root=%s\n" % e["root"]
        if e["initrd"]:
            text += "initrd=%s\n" % e["initrd"]
        return text + "title=%s\n" % e["title"]

    # -- changing -------------------------------------------------------------------------------
    def set_default(self, index):
        """Makes the entry (index or title) the default."""
        lines = self._lines()
        entry = self._find(index, self._parse(lines))[0][0]
        current = self._default_value(lines)
        if current == "saved":
            env = self._grubenv()
            env["saved_entry"] = str(entry["index"])
            self._write_grubenv(env)
            return
        for i, line in enumerate(lines):
            m = _DEFAULT.match(line)
            if m:
                lines[i] = '%sset default="%d"\n' % (m.group(1), entry["index"])
                break
        else:
            lines.insert(0, 'set default="%d"\n' % entry["index"])
        self._write(lines)

    set_default_by_index = set_default

    def boot_once(self, title=None):
        """Boots the entry once at the next boot (grub-reboot: ``next_entry`` in grubenv)."""
        entry = self.get_entry(self.get_default_index() if title is None else title)
        env = self._grubenv()
        env["next_entry"] = entry["title"]
        self._write_grubenv(env)

    def _edit_args(self, kernel, change):
        lines = self._lines()
        for entry, _, _, at in self._find(kernel, self._parse(lines)):
            if at is None:
                raise BootloaderError("%s: entry %r has no linux line to change" % (
                    self.path, entry["title"]))
            m = _LINUX.match(lines[at].rstrip("\n"))
            args = change(m.group(5).split())
            lines[at] = "%s%s%s%s%s\n" % (m.group(1), m.group(2), m.group(3), m.group(4),
                                          "".join(" " + a for a in args))
        self._write(lines)

    def add_args(self, kernel, args):
        """Adds kernel arguments to the entries named (``key=value`` replaces ``key=...``)."""
        new = shlex.split(args) if isinstance(args, str) else list(args)

        def change(old):
            keys = {a.split("=", 1)[0] for a in new}
            return [a for a in old if a.split("=", 1)[0] not in keys] + new
        self._edit_args(kernel, change)

    def remove_args(self, kernel, args):
        """Removes kernel arguments (``key`` alone removes ``key=anything``)."""
        gone = shlex.split(args) if isinstance(args, str) else list(args)

        def change(old):
            return [a for a in old
                    if a not in gone and a.split("=", 1)[0] not in [g for g in gone if "=" not in g]]
        self._edit_args(kernel, change)

    def add_kernel(self, path, title="autoserv", root=None, args=None, initrd=None,
                   default=False, position="end"):
        """Adds a menu entry booting ``path``; returns its index."""
        lines = self._lines()
        parsed = self._parse(lines)
        if any(e["title"] == title for e, _, _, _ in parsed):
            raise BootloaderError("%s already has an entry titled %r: remove it first or give "
                                  "another title" % (self.path, title))
        body = ["menuentry '%s' {\n" % title.replace("'", ""),
                "\tlinux %s%s%s\n" % (path, " root=%s" % root if root else "",
                                       " " + args if args else "")]
        if initrd:
            body.append("\tinitrd %s\n" % initrd)
        body.append("}\n")
        if position == "end" or not parsed:
            index = len(parsed)
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            lines += body
        else:
            index = min(int(position), len(parsed) - 1)
            first = parsed[index][1]
            lines[first:first] = body
        self._write(lines)
        if default:
            self.set_default(index)
        return index

    def remove_kernel(self, kernel):
        """Removes the entries named by index, title or kernel path."""
        lines = self._lines()
        for _, first, last, _ in sorted(self._find(kernel, self._parse(lines)),
                                        key=lambda p: -p[1]):
            del lines[first:last + 1]
        self._write(lines)

    def get_bootloader(self):
        return "grub2"
