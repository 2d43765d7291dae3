"""``job.kernel(source)``: fetch, patch, configure, build, install and boot a kernel on this
machine (FORMATS §5).

Each step records its own status line, ``GOOD build kernel.<step>`` or ``FAIL build
kernel.<step> <why>`` (legacy names), and logs its commands' output under the kernel's results
directory (``build/debug/build_log`` for the build). The pure parts (which files a release
version needs, merging ``config_list``, the GRUB entry) are native (``autotest-core``'s
``kernel`` module); this module runs the machine's tools.

Where sources come from, in order: a path or URL as given; for a release version or a file
name, ``$AUTODIR/kernels/`` (where autoserv copies them from its mirror: a lab machine has no
internet) and the control file's directory, then the mirror URL ``[CLIENT] kernel_mirror`` of
the client's ``global_config.ini`` (kernel.org layout). A miss is an error listing every place
tried.
"""

import functools
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from autotest import _native
from autotest.client.shared import error

__all__ = ["kernel", "auto_kernel", "KernelError"]


class KernelError(error.TestError):
    """A kernel step failed; the message says which and what to do."""


def autodir():
    """The client's install directory on this machine (``AUTODIR``, set by autoserv)."""
    env = os.environ.get("AUTODIR")
    if env:
        return env
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.dirname(package)


def client_config(key, section="CLIENT"):
    """A value of the client's ``global_config.ini`` (``AUTOTEST_CONFIG_DIR`` or the autodir),
    or None."""
    config_dir = os.environ.get("AUTOTEST_CONFIG_DIR") or autodir()
    try:
        return _native.config_get(config_dir, section, key)
    except ValueError as e:
        raise KernelError(str(e))


def _is_url(s):
    return "://" in s


class _Finder(object):
    """Looks files up locally, then on the mirror URL; remembers every place it tried."""

    def __init__(self, job, download_dir):
        self.dirs = [os.path.join(autodir(), "kernels"), os.path.dirname(job.control)]
        extra = client_config("kernel_dirs")
        if extra:
            self.dirs += [d.strip() for d in extra.split(",") if d.strip()]
        self.mirror = client_config("kernel_mirror")
        self.download_dir = download_dir
        self.tried = []

    def local(self, names, subdirs=()):
        for d in self.dirs:
            for name in names:
                for rel in [name] + ["%s/%s" % (s, name) for s in subdirs]:
                    path = os.path.join(d, rel)
                    if os.path.isfile(path):
                        return path
        return None

    def places(self):
        """Where lookups went, for an error message."""
        where = "looked in %s" % ", ".join(self.dirs)
        if not self.mirror:
            return where + "; no mirror URL ([CLIENT] kernel_mirror is not set)"
        return where + "; mirror: %s" % ("; ".join(self.tried) or self.mirror)

    def download(self, url):
        """Downloads ``url`` into the download directory; the local path, or None (noted)."""
        name = os.path.basename(urllib.parse.urlparse(url).path) or "download"
        os.makedirs(self.download_dir, exist_ok=True)
        dest = os.path.join(self.download_dir, name)
        part = dest + ".part"
        try:
            with urllib.request.urlopen(url, timeout=120) as r, open(part, "wb") as f:
                shutil.copyfileobj(r, f, 1 << 20)
        except (urllib.error.URLError, OSError, ValueError) as e:
            if isinstance(e, urllib.error.HTTPError):
                reason = "HTTP %d" % e.code
            else:
                reason = getattr(e, "reason", None) or e
            self.tried.append("%s (%s)" % (url, reason))
            try:
                os.remove(part)
            except OSError:
                pass
            return None
        os.rename(part, dest)
        return dest

    def remote(self, names, subdirs=()):
        if not self.mirror:
            return None
        base = self.mirror.rstrip("/")
        for rel in ["%s/%s" % (s, n) for s in subdirs for n in names] or list(names):
            path = self.download("%s/%s" % (base, rel))
            if path:
                return path
        return None

    def find(self, names, subdirs=()):
        return self.local(names, subdirs) or self.remote(names, subdirs)

    def resolve(self, spec, what):
        """A path, a URL or a file name, as a local file; KernelError listing what was tried."""
        if _is_url(spec):
            path = self.download(spec)
        elif os.path.isabs(spec) or os.path.exists(spec):
            path = spec if os.path.isfile(spec) else None
        else:
            path = self.find([spec], ())
        if path is None:
            raise KernelError("%s %s not found on %s; %s" % (
                what, spec, socket.gethostname(), self.places()))
        return path


def _pattern(names):
    """``linux-6.1.tar.{xz,gz,bz2}`` for the compression variants of one file."""
    stem = os.path.commonprefix(list(names))
    if len(names) == 1:
        return names[0]
    return "%s{%s}" % (stem, ",".join(n[len(stem):] for n in names))


def _recorded(fn):
    """Records ``GOOD build kernel.<name> <note>`` when the step returns, ``FAIL ... <why>``
    when it raises (the legacy kernel status lines)."""
    name = "kernel.%s" % fn.__name__

    @functools.wraps(fn)
    def wrapper(self, *args, **dargs):
        self._note = ("GOOD", "")
        try:
            result = fn(self, *args, **dargs)
        except error.JobContinue:
            raise
        except Exception as e:
            self.job.record("FAIL", self.subdir, name, str(e))
            raise
        code, note = self._note
        self.job.record(code, self.subdir, name, note)
        return result
    return wrapper


def _decompress_to(src, dest):
    """Copies ``src`` to ``dest``, uncompressing ``.xz``/``.gz``/``.bz2`` by its name."""
    import bz2
    import gzip
    import lzma
    opener = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}.get(
        os.path.splitext(src)[1], open)
    with opener(src, "rb") as i, open(dest, "wb") as o:
        shutil.copyfileobj(i, o, 1 << 20)


def _read(path):
    with open(path) as f:
        return f.read()


def _write_atomic(path, text):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def _config_value(text, name):
    for line in text.splitlines():
        if line.startswith(name + "="):
            return line.split("=", 1)[1]
    return None


class kernel(object):
    """One kernel source tree being turned into a running kernel (legacy ``kernel.kernel``)."""

    def __init__(self, job, base_tree, results_dir="", tmp_dir="", leave=False):
        self.job = job
        self.leave = leave
        self.subdir, self.resultsdir = self._claim_results(results_dir)
        self.debugdir = os.path.join(self.resultsdir, "debug")
        os.makedirs(self.debugdir, exist_ok=True)
        self.tmp_dir = tmp_dir or os.path.join(job.tmpdir, self.subdir)
        os.makedirs(self.tmp_dir, exist_ok=True)
        self.build_dir = None
        self.release = None
        self.image = None
        self.installed_as = None
        self.applied_patches = []
        self._finder = _Finder(job, os.path.join(self.tmp_dir, "downloads"))
        self._note = ("GOOD", "")
        self.extract(base_tree)

    def _claim_results(self, results_dir):
        if results_dir:
            os.makedirs(results_dir, exist_ok=True)
            return os.path.basename(results_dir.rstrip("/")), results_dir
        n = 1
        while True:
            subdir = "build" if n == 1 else "build.%d" % n
            try:
                return subdir, self.job._native.claim_subdir(subdir)
            except _native.DuplicateSubdirError:
                n += 1

    # -- running commands ------------------------------------------------------------------
    def _run(self, argv, log, cwd=None):
        """Runs ``argv`` with output appended to ``debug/<log>``; KernelError on failure, with
        the end of the output."""
        path = os.path.join(self.debugdir, log)
        with open(path, "ab") as f:
            f.write(("$ %s\n" % " ".join(argv)).encode())
            f.flush()
            start = f.tell()
            try:
                rc = subprocess.call(argv, cwd=cwd or self.build_dir, stdout=f,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            except OSError as e:
                raise KernelError("cannot run %s: %s" % (argv[0], e))
        if rc != 0:
            with open(path, "rb") as f:
                f.seek(start)
                tail = f.read().decode("utf-8", "replace").strip().splitlines()[-5:]
            raise KernelError("`%s` exited with %d (log: %s); last lines:\n%s" % (
                " ".join(argv), rc, path, "\n".join(tail)))

    def _output(self, argv, cwd=None):
        r = subprocess.run(argv, cwd=cwd or self.build_dir, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise KernelError("`%s` exited with %d: %s" % (
                " ".join(argv), r.returncode, r.stderr.decode("utf-8", "replace").strip()))
        return r.stdout.decode("utf-8", "replace").strip()

    def _make(self, *targets, log="build_log", jobs=None):
        argv = ["make"]
        if jobs:
            argv.append("-j%d" % jobs)
        self._run(argv + list(targets), log)

    # -- steps ---------------------------------------------------------------------------
    @_recorded
    def extract(self, base_tree):
        """Makes the source tree: a directory as is, a tarball (path, URL, file name), or a
        release version (its tarball, or its base release's tarball plus its patch)."""
        base_tree = str(base_tree)
        if os.path.isdir(base_tree):
            self.build_dir = os.path.abspath(base_tree)
            self._note = ("GOOD", base_tree)
            return
        patches = []
        try:
            plans = _native.kernel_source_plans(base_tree)
        except ValueError:
            plans = None
        if plans is not None and not os.path.exists(base_tree):
            files = None
            for plan in plans:
                files = []
                for kind, names, dirs in plan:
                    path = self._finder.find(names, dirs)
                    if path is None:
                        files = None
                        break
                    files.append(path)
                if files:
                    break
            if not files:
                need = " or ".join(" + ".join(_pattern(names) for _, names, _ in plan)
                                   for plan in plans)
                raise KernelError(
                    "no source for kernel %s on %s: needs %s; %s. Fix: give autoserv the "
                    "mirror (--kernel-mirror DIR or [AUTOSERV] kernel_mirror_dir), or set "
                    "[CLIENT] kernel_mirror to a kernel.org-layout URL" % (
                        base_tree, socket.gethostname(), need, self._finder.places()))
            tarball, patches = files[0], files[1:]
        else:
            tarball = self._finder.resolve(base_tree, "kernel source")
        self.build_dir = self._untar(tarball)
        for p in patches:
            self._apply_patch(p)
        self._note = ("GOOD", " + ".join(os.path.basename(p) for p in [tarball] + patches))

    def _untar(self, tarball):
        dest = os.path.join(self.tmp_dir, "src")
        if os.path.exists(dest):
            shutil.rmtree(dest)
        os.makedirs(dest)
        self._run(["tar", "-xf", os.path.abspath(tarball), "-C", dest], "extract_log", cwd=dest)
        top = os.listdir(dest)
        if len(top) == 1 and os.path.isdir(os.path.join(dest, top[0])):
            return os.path.join(dest, top[0])
        if os.path.exists(os.path.join(dest, "Makefile")):
            return dest
        raise KernelError("%s is not a kernel source tarball: it holds %s, not one directory "
                          "with a Makefile" % (tarball, ", ".join(sorted(top)[:5]) or "nothing"))

    def _apply_patch(self, path):
        name = os.path.basename(path)
        plain = os.path.join(self.tmp_dir, "patches", re.sub(r"\.(xz|gz|bz2)$", "", name))
        os.makedirs(os.path.dirname(plain), exist_ok=True)
        try:
            _decompress_to(path, plain)
        except (OSError, EOFError, ValueError) as e:
            raise KernelError("patch %s cannot be read: %s" % (path, e))
        self._run(["patch", "-p1", "--batch", "--forward", "-i", plain], "patch_log")
        self.applied_patches.append(name)

    @_recorded
    def patch(self, *patches):
        """Applies patches (paths, URLs or file names; compressed or not) in order."""
        names = []
        flat = []
        for p in patches:
            # Legacy callers also pass one list of patches (kernelbuild: k.patch(patches)).
            flat.extend(p if isinstance(p, (list, tuple)) else [p])
        for p in flat:
            path = self._finder.resolve(str(p), "patch")
            self._apply_patch(path)
            names.append(os.path.basename(path))
        self._note = ("GOOD", " ".join(names))

    def _find_config(self, config_file):
        if config_file:
            return self._finder.resolve(config_file, "kernel config")
        running = _native.running_kernel() or os.uname().release
        tried = []
        for c in ("/boot/config-%s" % running, "/boot/config"):
            if os.path.isfile(c):
                return c
            tried.append(c)
        raise KernelError("no kernel config on %s (tried %s): give k.config() a config file, "
                          "or use k.config('', None, True) for defconfig" % (
                              socket.gethostname(), ", ".join(tried)))

    @_recorded
    def config(self, config_file="", config_list=None, defconfig=False, make=None):
        """Configures the tree: ``make`` names a config target (``tinyconfig``,
        ``allnoconfig``, ...), ``defconfig`` is ``make='defconfig'``, else ``config_file`` (a
        file on this machine, a URL or a name; empty: the running kernel's) becomes
        ``.config``. ``config_list`` options are merged in; ``make olddefconfig`` settles the
        rest. Options Kconfig did not keep make the step WARN."""
        dot_config = os.path.join(self.build_dir, ".config")
        target = make or ("defconfig" if defconfig else None)
        if target:
            self._make(target, log="config_log")
            source = target
        else:
            source = self._find_config(config_file)
            shutil.copyfile(source, dot_config)
        options = [str(o) for o in (config_list or [])]
        if options:
            try:
                merged = _native.kernel_merge_config(_read(dot_config), options)
            except ValueError as e:
                raise KernelError(str(e))
            _write_atomic(dot_config, merged)
        self._make("olddefconfig", log="config_log")
        shutil.copyfile(dot_config, os.path.join(self.debugdir, "config"))
        lost = _native.kernel_config_mismatches(_read(dot_config), options) if options else []
        note = source + (" + %d option(s)" % len(options) if options else "")
        if lost:
            self._note = ("WARN", "%s; options Kconfig did not keep: %s" % (note, "; ".join(lost)))
        else:
            self._note = ("GOOD", note)

    def _set_localversion(self, tag):
        """Appends ``-<tag>`` to CONFIG_LOCALVERSION (legacy ``extraversion``), once."""
        dot_config = os.path.join(self.build_dir, ".config")
        text = _read(dot_config)
        current = (_config_value(text, "CONFIG_LOCALVERSION") or '""').strip('"')
        if current.endswith("-" + tag):
            return
        _write_atomic(dot_config, _native.kernel_merge_config(
            text, ['CONFIG_LOCALVERSION="%s-%s"' % (current, tag)]))
        self._make("olddefconfig", log="config_log")

    def _image_path(self):
        try:
            name = self._output(["make", "-s", "image_name"])
            if name and os.path.isfile(os.path.join(self.build_dir, name)):
                return os.path.join(self.build_dir, name)
        except KernelError:
            pass
        arch = {"x86_64": "x86", "i686": "x86", "i386": "x86", "aarch64": "arm64"}.get(
            os.uname().machine, os.uname().machine)
        for rel in ("arch/%s/boot/bzImage" % arch, "arch/%s/boot/Image" % arch, "vmlinux"):
            if os.path.isfile(os.path.join(self.build_dir, rel)):
                return os.path.join(self.build_dir, rel)
        raise KernelError("the build made no kernel image (no `make image_name`, no "
                          "arch/%s/boot/bzImage, no vmlinux) in %s" % (arch, self.build_dir))

    @_recorded
    def build(self, make_opts="", logfile="", extraversion="autotest"):
        """``make -j<2 x cpus>`` with the output in ``build/debug/build_log``; the release it
        makes (``make kernelrelease``) ends in ``-<extraversion>``."""
        if not os.path.exists(os.path.join(self.build_dir, ".config")):
            raise KernelError("the tree has no .config: call k.config() before k.build()")
        if extraversion:
            self._set_localversion(extraversion)
        log = os.path.basename(logfile) if logfile else "build_log"
        jobs = 2 * (os.cpu_count() or 1)
        start = time.time()
        self._make(*make_opts.split(), log=log, jobs=jobs)
        self.release = self._output(["make", "-s", "kernelrelease"]).splitlines()[-1].strip()
        self.image = self._image_path()
        with open(os.path.join(self.debugdir, log), "a") as f:
            f.write("# built %s in %.1f s with -j%d\n" % (self.release, time.time() - start, jobs))
        self._note = ("GOOD", self.release)

    def _modules_enabled(self):
        return _config_value(_read(os.path.join(self.build_dir, ".config")),
                             "CONFIG_MODULES") == "y"

    @_recorded
    def install(self, tag="autotest", prefix="/", install_vmlinux=False):
        """Installs the image, System.map and config as ``<prefix>/boot/*-<release>`` and the
        modules into ``<prefix>/lib/modules/<release>``."""
        if self.release is None:
            self.build()
        boot = os.path.join(prefix, "boot")
        os.makedirs(boot, exist_ok=True)
        r = self.release
        files = [(self.image, "vmlinuz-%s" % r),
                 (os.path.join(self.build_dir, "System.map"), "System.map-%s" % r),
                 (os.path.join(self.build_dir, ".config"), "config-%s" % r)]
        if install_vmlinux:
            files.append((os.path.join(self.build_dir, "vmlinux"), "vmlinux-%s" % r))
        for src, name in files:
            if not os.path.isfile(src):
                raise KernelError("cannot install %s: the build left no %s" % (name, src))
            tmp = os.path.join(boot, ".%s.tmp" % name)
            shutil.copyfile(src, tmp)
            os.rename(tmp, os.path.join(boot, name))
        if self._modules_enabled():
            argv = ["modules_install"]
            if os.path.abspath(prefix) != "/":
                argv.append("INSTALL_MOD_PATH=%s" % os.path.abspath(prefix))
            self._make(*argv, log="install_log")
        self.initrd = None
        if os.path.abspath(prefix) == "/" and self._modules_enabled() and \
                shutil.which("update-initramfs") and os.path.isdir("/etc/initramfs-tools"):
            self._run(["update-initramfs", "-c", "-k", r], "install_log")
            self.initrd = "/boot/initrd.img-%s" % r
        self.installed_as = r
        self.installed_prefix = prefix
        self._note = ("GOOD", r)

    # -- boot ----------------------------------------------------------------------------
    def _boot_method(self):
        method = (client_config("boot_method") or "auto").lower()
        grub = shutil.which("grub-reboot") and os.path.isdir("/boot/grub")
        if method == "auto":
            if grub:
                return "grub"
            raise KernelError(
                "no way to boot %s once on %s: no grub-reboot (GRUB 2) with /boot/grub; install "
                "GRUB 2, or set [CLIENT] boot_method = kexec (kexec-tools)" % (
                    self.release, socket.gethostname()))
        if method == "grub" and not grub:
            raise KernelError("[CLIENT] boot_method = grub, but grub-reboot or /boot/grub is "
                              "missing on %s" % socket.gethostname())
        if method == "kexec" and not shutil.which("kexec"):
            raise KernelError("[CLIENT] boot_method = kexec, but kexec is not installed on %s "
                              "(apt-get install kexec-tools)" % socket.gethostname())
        if method not in ("grub", "kexec"):
            raise KernelError("[CLIENT] boot_method = %s: use auto, grub or kexec" % method)
        return method

    def _cmdline(self, args):
        try:
            running = _read("/proc/cmdline")
        except OSError:
            running = ""
        default_args = self.job.config_get("boot.default_args") or ""
        return _native.kernel_boot_cmdline(running, ("%s %s" % (default_args, args)).strip())

    def _grub_path(self, path):
        """``path`` as GRUB sees it on its file system (``grub-mkrelpath``)."""
        try:
            return self._output(["grub-mkrelpath", path], cwd="/") or path
        except KernelError:
            return path

    def _grub_probe(self, target):
        try:
            return self._output(["grub-probe", "--target=%s" % target, "/boot"], cwd="/")
        except KernelError:
            return ""

    def _boot_grub(self, args):
        grub_cfg = "/boot/grub/grub.cfg"
        if os.path.isfile(grub_cfg) and "custom.cfg" not in _read(grub_cfg):
            raise KernelError("%s does not read custom.cfg, where the one-time entry goes: run "
                              "update-grub with /etc/grub.d/41_custom in place" % grub_cfg)
        entry_id = "autotest-%s" % self.release
        modules = ["part_%s" % p for p in self._grub_probe("partmap").split()]
        modules += self._grub_probe("fs").split()
        initrd = getattr(self, "initrd", None)
        custom = "/boot/grub/custom.cfg"
        existing = _read(custom) if os.path.exists(custom) else ""
        text = _native.kernel_grub_custom_cfg(
            existing, entry_id, "autotest: Linux %s" % self.release, modules,
            self._grub_probe("fs_uuid") or None,
            self._grub_path("/boot/vmlinuz-%s" % self.release),
            self._grub_path(initrd) if initrd else None, self._cmdline(args))
        _write_atomic(custom, text)
        self._run(["grub-reboot", entry_id], "boot_log", cwd="/")
        return "grub-reboot %s" % entry_id

    def _boot_kexec(self, args):
        argv = ["kexec", "-l", "/boot/vmlinuz-%s" % self.release,
                "--append=%s" % self._cmdline(args)]
        initrd = getattr(self, "initrd", None)
        if initrd:
            argv.insert(3, "--initrd=%s" % initrd)
        self._run(argv, "boot_log", cwd="/")
        return "kexec -l /boot/vmlinuz-%s" % self.release

    def boot(self, args="", ident=True):
        """Installs (if not yet), makes the boot loader start this kernel at the next boot only,
        and reboots: the reboot group follows, and after it the running kernel is checked
        (``GOOD ---- reboot.verify <release>``, or FAIL naming the kernel that came up).
        ``ident`` is accepted for legacy control files; the check is by release only."""
        if self.installed_as is None:
            self.install()
        if os.path.abspath(getattr(self, "installed_prefix", "/")) != "/":
            raise KernelError("kernel %s was installed under %s, not /: it cannot be booted" % (
                self.release, self.installed_prefix))
        try:
            method = self._boot_method()
            how = self._boot_grub(args) if method == "grub" else self._boot_kexec(args)
        except Exception as e:
            self.job.record("FAIL", self.subdir, "kernel.boot", str(e))
            raise
        self.job.record("GOOD", self.subdir, "kernel.boot", how)
        self.job.reboot(tag=self.installed_as, expected_kernel=self.release)

    def get_kernel_build_ver(self):
        """The release the build made (``make kernelrelease``)."""
        return self.release


def auto_kernel(job, base_tree, results_dir="", tmp_dir="", leave=False):
    """Legacy entry point of ``job.kernel``."""
    return kernel(job, base_tree, results_dir, tmp_dir, leave)
