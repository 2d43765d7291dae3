"""job.kernel() on this machine, through `autotest run`: where sources come from (the autodir's
kernels directory, then the [CLIENT] kernel_mirror URL, served here by a real HTTP server on
loopback), release candidates as base tarball + patch, config_list merging, and the errors that
list what was tried. The source is the stand-in tree of autotest-testlab/data/stand-in-kernel
(a Makefile with the kernel's make targets, not a kernel). Nothing here boots: boot is tested
on lab machines (autotest-cli/tests/kernel_machines.rs)."""

import difflib
import functools
import http.server
import io
import lzma
import os
import tarfile
import threading

import pytest

from conftest import REPO

STAND_IN = os.path.join(REPO, "autotest-testlab", "data", "stand-in-kernel")


def _tree_files(patchlevel, sublevel, extraversion=""):
    files = {}
    for root, _, names in os.walk(STAND_IN):
        for n in names:
            path = os.path.join(root, n)
            with open(path) as f:
                files[os.path.relpath(path, STAND_IN)] = f.read()
    mk = files["Makefile"]
    mk = mk.replace("PATCHLEVEL = 1", "PATCHLEVEL = %d" % patchlevel)
    mk = mk.replace("SUBLEVEL = 5", "SUBLEVEL = %d" % sublevel)
    mk = mk.replace("EXTRAVERSION =\n", "EXTRAVERSION = %s\n" % extraversion if extraversion
                    else "EXTRAVERSION =\n")
    files["Makefile"] = mk
    return files


def write_tarball(path, top, files):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "w:xz" if path.endswith(".xz") else "w:gz"
    with tarfile.open(path, mode) as t:
        for rel, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo("%s/%s" % (top, rel))
            info.size = len(data)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))


def rc_patch(old, new, version_old, version_new):
    out = []
    for rel in sorted(set(old) | set(new)):
        a, b = old.get(rel, ""), new.get(rel, "")
        if a != b:
            out += difflib.unified_diff(a.splitlines(True), b.splitlines(True),
                                        "a/%s" % rel, "b/%s" % rel)
    return "".join(out)


@pytest.fixture
def http_mirror(tmp_path):
    """A kernel.org-layout tree served over HTTP on 127.0.0.1: linux-6.1.tar.xz and the
    6.2-rc1 patch in testing/."""
    root = tmp_path / "mirror"
    base = _tree_files(1, 0)
    write_tarball(str(root / "v6.x" / "linux-6.1.tar.xz"), "linux-6.1", base)
    patch = rc_patch(base, _tree_files(2, 0, "-rc1"), "6.1", "6.2-rc1")
    (root / "v6.x" / "testing").mkdir(parents=True)
    (root / "v6.x" / "testing" / "patch-6.2-rc1.xz").write_bytes(lzma.compress(patch.encode()))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass

    server = Quiet(("127.0.0.1", 0), handler)
    handler.log_message = lambda *a: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


@pytest.fixture
def client_env(tmp_path, monkeypatch):
    """An autodir with an empty kernels/ and a client global_config.ini."""
    autodir = tmp_path / "autodir"
    (autodir / "kernels").mkdir(parents=True)
    monkeypatch.setenv("AUTODIR", str(autodir))
    monkeypatch.setenv("AUTOTEST_CONFIG_DIR", str(autodir))

    def config(text):
        (autodir / "global_config.ini").write_text(text)
    config("[CLIENT]\n")
    return autodir, config


BUILD = """
k = job.kernel(%r)
k.config('', %r, True)
k.build()
k.install(prefix=%r)
"""


def test_rc_release_comes_from_the_mirror_url_as_tarball_plus_patch(run, client_env, http_mirror, tmp_path):
    autodir, config = client_env
    config("[CLIENT]\nkernel_mirror: %s/\n" % http_mirror)
    prefix = str(tmp_path / "root")
    r = run(BUILD % ("6.2-rc1", None, prefix))
    assert r.code == 0, r.stderr + r.status
    assert r.status_lines() == [
        "START\t----\t----\t",
        "\tGOOD\tbuild\tkernel.extract\tlinux-6.1.tar.xz + patch-6.2-rc1.xz",
        "\tGOOD\tbuild\tkernel.config\tdefconfig",
        "\tGOOD\tbuild\tkernel.build\t6.2.0-rc1-autotest",
        "\tGOOD\tbuild\tkernel.install\t6.2.0-rc1-autotest",
        "END GOOD\t----\t----\t",
    ]
    assert os.path.isfile(os.path.join(prefix, "boot", "vmlinuz-6.2.0-rc1-autotest"))
    assert os.path.isfile(os.path.join(prefix, "lib", "modules", "6.2.0-rc1-autotest",
                                       "kernel", "drivers", "demo.ko"))
    assert "Kernel: arch/x86/boot/bzImage is ready" in r.read("build", "debug", "build_log")


def test_kernels_dir_comes_before_the_mirror_url(run, client_env, http_mirror, tmp_path):
    autodir, config = client_env
    config("[CLIENT]\nkernel_mirror: %s\n" % http_mirror)
    # A staged 6.1 (as autoserv copies it) that differs from the mirror's: a marker file.
    files = _tree_files(1, 0)
    files["src/staged.c"] = "/* staged by autoserv */\n"
    write_tarball(str(autodir / "kernels" / "linux-6.1.tar.gz"), "linux-6.1", files)
    prefix = str(tmp_path / "root")
    r = run(BUILD % ("6.1", ["CONFIG_MODULES=n", "CONFIG_SMP=y"], prefix))
    assert r.code == 0, r.stderr + r.status
    assert r.status_lines()[1] == "\tGOOD\tbuild\tkernel.extract\tlinux-6.1.tar.gz"
    # CONFIG_MODULES=n dropped CONFIG_DEMO_DRIVER (Kconfig's rule in the stand-in): no modules.
    assert r.status_lines()[2] == "\tGOOD\tbuild\tkernel.config\tdefconfig + 2 option(s)"
    with open(os.path.join(prefix, "boot", "vmlinuz-6.1.0-autotest")) as f:
        image = f.read()
    assert "staged by autoserv" in image and "CONFIG_SMP=y" in image
    assert not os.path.exists(os.path.join(prefix, "lib", "modules"))


def test_a_missing_release_lists_every_place_tried(run, client_env, http_mirror):
    autodir, config = client_env
    config("[CLIENT]\nkernel_mirror: %s\n" % http_mirror)
    r = run(BUILD % ("6.3", None, "/nonexistent"))
    assert r.code == 1
    lines = r.status_lines()
    assert lines[1].startswith("\tFAIL\tbuild\tkernel.extract\tno source for kernel 6.3 on "), lines
    text = r.status
    assert ": needs linux-6.3.tar.{xz,gz,bz2}; looked in %s/kernels, " % autodir in text, text
    for ext in ("xz", "gz", "bz2"):
        assert "%s/v6.x/linux-6.3.tar.%s (HTTP 404)" % (http_mirror, ext) in text, text
    assert "--kernel-mirror DIR" in text and "[CLIENT] kernel_mirror" in text


def test_without_a_mirror_url_the_error_says_how_to_set_one(run, client_env):
    r = run(BUILD % ("6.1.5", None, "/nonexistent"))
    assert r.code == 1
    assert "no mirror URL ([CLIENT] kernel_mirror is not set)" in r.status
    assert "needs linux-6.1.5.tar.{xz,gz,bz2} or linux-6.1.tar.{xz,gz,bz2} + " \
        "patch-6.1.5{.xz,.gz,.bz2,}" in r.status, r.status


def test_a_bad_config_list_entry_fails_the_config_step_naming_it(run, client_env, tmp_path):
    autodir, _ = client_env
    write_tarball(str(autodir / "kernels" / "linux-6.1.tar.gz"), "linux-6.1", _tree_files(1, 0))
    r = run(BUILD % ("6.1", ["CONFIG_SMP=y", "MODULES=y"], str(tmp_path / "root")))
    assert r.code == 1
    line = r.status_lines()[2]
    assert line.startswith("\tFAIL\tbuild\tkernel.config\tconfig_list entry 2 \"MODULES=y\""), line
    assert "CONFIG_NAME=value" in line


def test_options_kconfig_drops_make_the_config_step_warn(run, client_env, tmp_path):
    autodir, _ = client_env
    write_tarball(str(autodir / "kernels" / "linux-6.1.tar.gz"), "linux-6.1", _tree_files(1, 0))
    cfg = tmp_path / "lab.config"
    cfg.write_text("# CONFIG_MODULES is not set\n")
    r = run("""
k = job.kernel('6.1')
k.config(%r, ['CONFIG_DEMO_DRIVER=m'])
""" % str(cfg))
    assert r.code == 0, r.stderr
    assert r.status_lines()[2] == (
        "\tWARN\tbuild\tkernel.config\t%s + 1 option(s); options Kconfig did not keep: "
        "CONFIG_DEMO_DRIVER=m (now: not set)" % cfg)


def test_patches_by_name_path_and_list_compressed_or_not(run, client_env, tmp_path):
    autodir, _ = client_env
    write_tarball(str(autodir / "kernels" / "linux-6.1.tar.gz"), "linux-6.1", _tree_files(1, 0))
    def new_file(name):
        return "--- /dev/null\n+++ b/src/%s.c\n@@ -0,0 +1 @@\n+/* %s */\n" % (name, name)
    import bz2
    (autodir / "kernels" / "one.patch.bz2").write_bytes(bz2.compress(new_file("one").encode()))
    (tmp_path / "two.patch").write_text(new_file("two"))
    (tmp_path / "three.patch.xz").write_bytes(lzma.compress(new_file("three").encode()))
    r = run("""
k = job.kernel('6.1')
k.patch('one.patch.bz2', %r)
k.patch([%r])
k.config('', None, True)
k.build()
""" % (str(tmp_path / "two.patch"), str(tmp_path / "three.patch.xz")))
    assert r.code == 0, r.stderr + r.status
    assert r.status_lines()[2:4] == [
        "\tGOOD\tbuild\tkernel.patch\tone.patch.bz2 two.patch",
        "\tGOOD\tbuild\tkernel.patch\tthree.patch.xz",
    ]
    log = r.read("build", "debug", "build_log")
    assert "src/one.c" in log and "src/two.c" in log and "src/three.c" in log, log


def test_a_patch_that_does_not_apply_fails_with_its_log(run, client_env, tmp_path):
    autodir, _ = client_env
    write_tarball(str(autodir / "kernels" / "linux-6.1.tar.gz"), "linux-6.1", _tree_files(1, 0))
    (tmp_path / "bad.patch").write_text(
        "--- a/src/main.c\n+++ b/src/main.c\n@@ -1 +1 @@\n-no such line\n+x\n")
    r = run("k = job.kernel('6.1')\nk.patch(%r)\n" % str(tmp_path / "bad.patch"))
    assert r.code == 1
    line = r.status_lines()[2]
    assert line.startswith("\tFAIL\tbuild\tkernel.patch\t`patch -p1 --batch --forward -i "), line
    assert "patch_log" in line
