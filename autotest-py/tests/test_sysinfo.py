"""sysinfo: the legacy ``sysinfo/`` layout for the job, each boot, each test and iteration."""

import gzip
import os
import shutil

from conftest import write_test

PASSING = """
from autotest.client import test

class passing(test.test):
    version = 1
    def run_once(self):
        pass
"""

BOOT_FILES = ["cmdline", "cpuinfo", "meminfo", "version", "modules", "interrupts",
              "partitions", "proc_mounts", "uname", "mount", "hostname", "uptime",
              "gcc_--version", "ld_--version", "lspci_-vvn", "df", "dmesg.gz",
              "installed_packages"]
PROC_FILES = {"cpuinfo", "meminfo", "version", "modules", "interrupts", "partitions"}


def test_job_test_and_iteration_sysinfo_with_legacy_names(job_dir, run):
    write_test(job_dir, "passing", PASSING)
    r = run("""
        job.sysinfo.add_command('echo every test', on_every_test=True)
        job.sysinfo.add_command('echo once', logfile='once')
        job.sysinfo.add_logfile('/proc/loadavg', on_every_test=True)
        job.run_test('passing', iterations=2)
    """)
    assert r.code == 0, r.stderr
    sysinfo = os.path.join(r.results, "sysinfo")
    for name in BOOT_FILES:
        if name in PROC_FILES and not os.path.exists("/proc/" + name):
            continue  # this kernel has no such file (/proc/modules without modules, say)
        assert os.path.isfile(os.path.join(sysinfo, name)), name
    with open(os.path.join(sysinfo, "uname")) as f:
        assert f.read().split()[2] == os.uname().release
    with open(os.path.join(sysinfo, "cmdline")) as f, open("/proc/cmdline") as g:
        assert f.read() == g.read()
    assert r.read("sysinfo", "once") == "once\n"
    assert "\ndpkg " in "\n" + r.read("sysinfo", "installed_packages")
    test = os.path.join(r.results, "passing", "sysinfo")
    assert os.readlink(os.path.join(test, "reboot_current")) == "../../sysinfo"
    assert r.read("passing", "sysinfo", "echo_every_test") == "every test\n"
    assert os.path.isfile(os.path.join(test, "loadavg"))
    assert os.path.isfile(os.path.join(test, "df"))
    with gzip.open(os.path.join(test, "dmesg.gz")) as f:
        f.read()
    for i in (1, 2):
        for when in ("before", "after"):
            assert os.path.isfile(os.path.join(test, "iteration.%d" % i, "meminfo." + when))
    keyval = dict(l.split("=", 1) for l in r.read("passing", "keyval").splitlines() if l)
    assert keyval["sysinfo-uname"].split()[0] == os.uname().release
    assert keyval["sysinfo-cmdline"] == open("/proc/cmdline").read().rstrip("\n")
    with open("/proc/meminfo") as f:
        total = next(l.split()[1] for l in f if l.startswith("MemTotal:"))
    assert keyval["sysinfo-memtotal-in-kb"] == total
    assert int(keyval["sysinfo-phys-mbytes"]) * 1024 >= int(total)


def test_a_missing_tool_does_not_fail_the_job(job_dir, run, tmp_path):
    # A PATH without lspci (nor most tools): sysinfo leaves empty files, the test passes.
    write_test(job_dir, "passing", PASSING)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("uname", "df", "cat", "echo", "sh"):
        os.symlink(shutil.which(tool), bindir / tool)
    r = run("""
        import os
        os.environ['PATH'] = %r
        job.sysinfo.add_command('no-such-tool --flag', on_every_test=True)
        job.run_test('passing')
    """ % str(bindir))
    assert r.code == 0, r.stderr
    assert r.status_lines()[2].endswith("GOOD\tpassing\tpassing\tcompleted successfully")
    assert r.read("passing", "sysinfo", "no-such-tool_--flag") == ""
    assert os.path.isfile(os.path.join(r.results, "passing", "sysinfo", "df"))


def test_after_a_reboot_facts_go_to_boot_0_and_added_commands_survive(job_dir, run):
    write_test(job_dir, "passing", PASSING)
    control = """
        def step_init():
            job.sysinfo.add_command('echo per boot', logfile='perboot')
            job.next_step(after)
            job.reboot()

        def after():
            job.run_test('passing')
    """
    first = run(control)
    assert first.code == 5, first.stderr
    second = run(None, "--continue")
    assert second.code == 0, second.stderr
    assert second.read("sysinfo", "perboot") == "per boot\n"
    assert second.read("sysinfo", "boot.0", "perboot") == "per boot\n"
    assert os.path.isfile(os.path.join(second.results, "sysinfo", "boot.0", "uname"))
    link = os.path.join(second.results, "passing", "sysinfo", "reboot_current")
    assert os.readlink(link) == "../../sysinfo/boot.0"
