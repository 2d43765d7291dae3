"""The legacy client API (issue 14 items 1 and 2): test modules in the legacy shape and real
control files run by `autotest run`, checked with their exact status lines."""

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest

from conftest import autotest_bin, normalize, write_test


def L(depth, code, subdir="----", op="----", msg=""):
    return "\t" * depth + "%s\t%s\t%s\t%s" % (code, subdir, op, msg)


def keyval(r, *parts):
    with open(os.path.join(r.results, *parts)) as f:
        return dict(l.split("=", 1) for l in f.read().splitlines() if "=" in l)


def info(r, op):
    """The message of the INFO line with operation ``op``."""
    for line in r.status_lines():
        fields = line.lstrip("\t").split("\t")
        if fields[0] == "INFO" and fields[2] == op:
            return fields[3]
    raise AssertionError("no INFO line %s in:\n%s" % (op, r.status))


def need_root(*commands):
    """Root and the commands, or a loud failure under CI=true (a skip elsewhere)."""
    missing = [c for c in commands if shutil.which(c) is None]
    problem = None
    if os.geteuid() != 0:
        problem = "needs root (loop devices, mount)"
    elif missing:
        problem = "needs %s" % ", ".join(missing)
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)


NEEDGCC = """
    import os
    from autotest.client import test

    class needgcc(test.test):
        version = 1

        def setup(self):
            self.job.require_gcc()

        def run_once(self):
            self.write_test_keyval({k.lower(): os.environ.get(k, '') for k in (
                'AUTODIR', 'AUTODIRBIN', 'AUTODIRTEST', 'AUTODIRJOB', 'PYTHONPATH')})
            self.write_test_keyval({'self_autodir': self.autodir,
                                    'job_testdir': self.job.testdir,
                                    'job_bindir': self.job.bindir})
"""


def test_require_gcc_is_test_na_naming_the_package_and_the_legacy_environment(job_dir, run):
    write_test(job_dir, "needgcc", NEEDGCC)
    r = run("""
        import os
        path = os.environ['PATH']
        os.environ['PATH'] = '/nonexistent'
        job.run_test('needgcc', tag='nogcc')
        os.environ['PATH'] = path
        job.run_test('needgcc', tag='gcc')
    """)
    assert r.code == 0, r.stderr
    msg = ("gcc is required by this job and is not available on the system: install the gcc "
           "package (apt-get install gcc)")
    assert r.status_lines() == [
        L(0, "START"),
        L(1, "START", "needgcc.nogcc", "needgcc.nogcc"),
        L(2, "TEST_NA", "needgcc.nogcc", "needgcc.nogcc", msg),
        L(1, "END TEST_NA", "needgcc.nogcc", "needgcc.nogcc"),
        L(1, "START", "needgcc.gcc", "needgcc.gcc"),
        L(2, "GOOD", "needgcc.gcc", "needgcc.gcc", "completed successfully"),
        L(1, "END GOOD", "needgcc.gcc", "needgcc.gcc"),
        L(0, "END TEST_NA"),
    ]
    kv = keyval(r, "needgcc.gcc", "keyval")
    assert kv["autodir"] == kv["self_autodir"]
    assert os.path.isfile(os.path.join(kv["autodir"], "job.py"))
    assert kv["autodirbin"] == kv["job_bindir"]
    assert kv["autodirtest"] == kv["job_testdir"]
    assert os.path.isdir(os.path.join(kv["autodirtest"], "sleeptest"))
    assert kv["autodirjob"] == os.path.abspath(r.results)
    # PYTHONPATH leads to the autotest package, so a test's helper scripts can import it.
    first = kv["pythonpath"].split(":")[0]
    assert os.path.isfile(os.path.join(first, "autotest", "client", "job.py"))


def test_job_methods_cpu_count_harness_run_group_noop_and_sysinfo_requests(job_dir, run):
    r = run("""
        import json
        job.record('INFO', None, 'cpus', str(job.cpu_count() == utils.count_cpus() == os.cpu_count()))
        job.harness.run_test_complete()
        job.record('INFO', None, 'harness', job.harness.last_event)
        def grp(x):
            job.record('GOOD', None, 'inner', x)
            return x * 2
        out = job.run_group(grp, tag='mygroup', x='ab')
        job.record('INFO', None, 'returned', out)
        def failing():
            raise error.TestFail('inner failure')
        try:
            job.run_group(failing)
        except error.TestFail:
            job.record('INFO', None, 'caught', 'TestFail')
        job.noop('a noop')
        job.add_sysinfo_command('uname -a', logfile='uname_a', on_every_test=True)
        job.add_sysinfo_logfile('/proc/cmdline')
        job.add_sysinfo_logfile('/proc/cmdline')
        job.record('INFO', None, 'sysinfo', json.dumps(job.sysinfo_requests, sort_keys=True))
        job.record('INFO', None, 'saved', json.dumps(job.get_state('sysinfo_requests'), sort_keys=True))
    """)
    assert r.code == 0, r.stderr
    requests = json.dumps([
        {"kind": "command", "item": "uname -a", "logfile": "uname_a", "on_every_test": True},
        {"kind": "logfile", "item": "/proc/cmdline", "logfile": None, "on_every_test": False},
    ], sort_keys=True)
    assert r.status_lines() == [
        L(0, "START"),
        L(1, "INFO", "----", "cpus", "True"),
        L(1, "INFO", "----", "harness", "test_complete"),
        L(1, "START", "----", "mygroup"),
        L(2, "GOOD", "----", "inner", "ab"),
        L(1, "END GOOD", "----", "mygroup"),
        L(1, "INFO", "----", "returned", "abab"),
        L(1, "START", "----", "failing"),
        L(1, "END FAIL", "----", "failing", "inner failure"),
        L(1, "INFO", "----", "caught", "TestFail"),
        L(1, "INFO", "----", "sysinfo", requests),
        L(1, "INFO", "----", "saved", requests),
        L(0, "END FAIL"),
    ]
    assert "a noop\n" in r.stdout


UTILSTEST = r"""
    import os
    import signal
    import subprocess
    import tarfile
    from autotest.client import test, utils
    from autotest.client.shared import error

    CONFIGURE = '''#!/bin/sh
    # A tiny configure: writes the Makefile with the arguments it was given.
    echo "CONFIGURED_WITH = $*" > Makefile
    cat Makefile.in >> Makefile
    '''

    MAKEFILE_IN = '''
    hello: hello.c
    \t$(CC) -o hello hello.c
    '''

    HELLO = '#include <stdio.h>\nint main(void) { printf("hello from C\\n"); return 0; }\n'


    def check(cond, what):
        if not cond:
            raise error.TestFail(what)


    class utilstest(test.test):
        version = 3

        def setup(self):
            # A source tarball with one top directory, as the suite's tests ship.
            stage = os.path.join(self.tmpdir, 'hello-1.0')
            os.makedirs(stage)
            for name, text in (('configure', CONFIGURE.replace('\n    ', '\n')),
                               ('Makefile.in', MAKEFILE_IN.replace('\n    ', '\n')),
                               ('hello.c', HELLO)):
                utils.open_write_close(os.path.join(stage, name), text)
            os.chmod(os.path.join(stage, 'configure'), 0o755)
            tarball = os.path.join(self.tmpdir, 'hello-1.0.tar.gz')
            with tarfile.open(tarball, 'w:gz') as t:
                t.add(stage, arcname='hello-1.0')
            utils.extract_tarball_to_dir(tarball, self.srcdir)
            os.chdir(self.srcdir)
            os.environ['CC'] = utils.get_cc()
            utils.configure('--prefix=/opt/hello')
            utils.make()
            with open(os.path.join(self.bindir, 'setups'), 'a') as f:
                f.write('setup\n')

        def run_once(self):
            out = utils.system_output(os.path.join(self.srcdir, 'hello'), retain_output=True)
            check(out == 'hello from C', 'built program printed %r' % out)
            check(utils.read_one_line(os.path.join(self.srcdir, 'Makefile')) ==
                  'CONFIGURED_WITH = --prefix=/opt/hello', 'configure arguments')
            check(utils.prepend_path('/a', '/b:/c') == '/a:/b:/c', 'prepend_path')
            check(utils.prepend_path('/a', '') == '/a', 'prepend_path empty')
            check(utils.count_cpus() == os.cpu_count(), 'count_cpus')
            check(utils.get_arch() == os.uname().machine, 'get_arch')
            check(utils.system_output('echo out; echo err >&2; exit 3', ignore_status=True,
                                      verbose=False) == 'out', 'system_output ignore_status')
            try:
                utils.system_output('exit 4')
                raise error.TestFail('no CmdError')
            except error.CmdError as e:
                check(e.result_obj.exit_status == 4, 'CmdError exit status')
            proc = subprocess.Popen(['sleep', '600'])
            status = utils.nuke_subprocess(proc)
            check(status == -signal.SIGTERM, 'nuke_subprocess returned %r' % status)
            check(utils.args_to_dict(['Iterations=3', 'bare', 'dir:/tmp']) ==
                  {'iterations': '3', 'dir': '/tmp'}, 'args_to_dict')
            check(utils.compare_versions('2.6.32', '2.6.9') == 1, 'compare_versions')
            self.write_test_keyval({'cc': utils.get_cc()})
"""


def test_legacy_utils_build_a_shipped_tarball_once_per_version(job_dir, run):
    d = write_test(job_dir, "utilstest", UTILSTEST)
    r = run("""
        job.run_test('utilstest', tag='one')
        job.run_test('utilstest', tag='two')
    """)
    assert r.code == 0, r.stderr + r.status
    assert r.status_lines() == [
        L(0, "START"),
        L(1, "START", "utilstest.one", "utilstest.one"),
        L(2, "GOOD", "utilstest.one", "utilstest.one", "completed successfully"),
        L(1, "END GOOD", "utilstest.one", "utilstest.one"),
        L(1, "START", "utilstest.two", "utilstest.two"),
        L(2, "GOOD", "utilstest.two", "utilstest.two", "completed successfully"),
        L(1, "END GOOD", "utilstest.two", "utilstest.two"),
        L(0, "END GOOD"),
    ]
    # setup (configure + make) ran once for version 3, not once per run_test.
    assert (d / "setups").read_text() == "setup\n"
    assert r.read("utilstest.one", "debug", "stdout").count("hello from C") == 1
    assert keyval(r, "utilstest.one", "keyval")["cc"] == "gcc"


MYDEP = """
    import os
    from autotest.client import utils

    version = 2

    def setup(topdir):
        srcdir = os.path.join(topdir, 'src')
        os.makedirs(srcdir)
        utils.open_write_close(os.path.join(srcdir, 'libmydep.txt'), 'built\\n')
        with open(os.path.join(topdir, 'builds'), 'a') as f:
            f.write('build\\n')

    pwd = os.getcwd()
    utils.update_version(os.path.join(pwd, 'src'), False, version, setup, pwd)
"""

USESDEP = """
    import os
    from autotest.client import test, utils
    from autotest.client.shared import error

    class usesdep(test.test):
        version = 1

        def setup(self, dep='mydep'):
            self.job.setup_dep([dep])

        def run_once(self, dep='mydep'):
            pass
"""


def test_setup_dep_builds_a_dependency_once_per_version_and_missing_ones_are_errors(job_dir, run):
    dep = job_dir / "deps" / "mydep"
    dep.mkdir(parents=True)
    (dep / "mydep.py").write_text(textwrap.dedent(MYDEP))
    py2 = job_dir / "deps" / "olddep"
    py2.mkdir()
    (py2 / "olddep.py").write_text("import os\nprint 'building'\n")
    write_test(job_dir, "usesdep", USESDEP)
    r = run("""
        job.record('INFO', None, 'autodir', job.autodir)
        job.run_test('usesdep', tag='a')
        job.setup_dep(['mydep'])
        job.run_test('usesdep', tag='missing', dep='nodep')
        job.run_test('usesdep', tag='py2', dep='olddep')
    """)
    assert r.code == 0, r.stderr
    autodir = info(r, "autodir")
    looked = "%s, %s" % (os.path.join(autodir, "deps", "nodep"),
                         os.path.join(str(job_dir), "deps", "nodep"))
    lines = r.status_lines()
    assert lines[:8] == [
        L(0, "START"),
        L(1, "INFO", "----", "autodir", autodir),
        L(1, "START", "usesdep.a", "usesdep.a"),
        L(2, "GOOD", "usesdep.a", "usesdep.a", "completed successfully"),
        L(1, "END GOOD", "usesdep.a", "usesdep.a"),
        L(1, "START", "usesdep.missing", "usesdep.missing"),
        L(2, "ERROR", "usesdep.missing", "usesdep.missing",
          "Dependency nodep does not exist: no nodep.py in %s; copy the dependency's directory "
          "(legacy Autotest's client/deps/nodep) into one of them" % looked),
        L(1, "END ERROR", "usesdep.missing", "usesdep.missing"),
    ]
    assert lines[8] == L(1, "START", "usesdep.py2", "usesdep.py2")
    code, subdir, op, msg = lines[9].lstrip("\t").split("\t")
    assert (code, subdir, op) == ("ERROR", "usesdep.py2", "usesdep.py2")
    # Python 2 stays refused, naming the file and the line.
    assert str(py2 / "olddep.py") in msg and "line 2" in msg
    assert lines[10:] == [L(1, "END ERROR", "usesdep.py2", "usesdep.py2"), L(0, "END ERROR")]
    # Built once: by the test, not again by the control file's own setup_dep of version 2.
    assert (dep / "builds").read_text() == "build\n"
    assert (dep / "src" / "libmydep.txt").read_text() == "built\n"
    assert (dep / "src" / ".version").read_text() == "2\n"


OSDEPTEST = """
    import os
    import common
    from autotest import common as autotest_common
    from autotest.client import test, os_dep
    from autotest.client.shared import error, software_manager, utils_memory, utils_cgroup
    from autotest.client.shared import barrier, git, logging_config, utils as shared_utils
    from autotest.client.net import net_utils
    from autotest_lib.client.bin import os_dep as os_dep2, utils
    from autotest_lib.client.common_lib import barrier as barrier2, software_manager as sm2
    from autotest_lib.client.common_lib import utils_memory as um2, logging_config as lc2
    from autotest_lib.client.common_lib import git as git2, utils_cgroup as uc2
    from autotest_lib.client.bin.net import net_utils as nu2

    def check(cond, what):
        if not cond:
            raise error.TestFail(what)

    class osdeptest(test.test):
        version = 1

        def run_once(self, header='stdio.h'):
            check(os_dep2 is os_dep and barrier2 is barrier and sm2 is software_manager, 'roots')
            check(um2 is utils_memory and lc2 is logging_config and git2 is git, 'roots 2')
            check(uc2 is utils_cgroup and nu2 is net_utils and shared_utils is utils, 'roots 3')
            check(os_dep.command('sh') in ('/bin/sh', '/usr/bin/sh'), 'command sh')
            check(len(os_dep.commands('sh', 'ls')) == 2, 'commands')
            check(os_dep.library('libc.so.6').endswith('/libc.so.6'), 'library libc')
            try:
                os_dep.command('no-such-command-x')
                raise error.TestFail('no ValueError')
            except ValueError as e:
                check(str(e) == 'Missing command: no-such-command-x', str(e))
            check(utils_memory.memtotal() > utils_memory.freememtotal() > 0, 'memory')
            check(net_utils.network_interface('lo').get_ipaddr() == '127.0.0.1', 'lo address')
            sm = software_manager.SoftwareManager(dry_run=True)
            check(sm.check_installed('coreutils'), 'coreutils installed')
            check(not sm.check_installed('no-such-package-x'), 'not installed')
            check(sm.install('libaio-devel') is False, 'dry run installs nothing')
            self.write_test_keyval({'dry': sm.last_message})
            os.environ['AUTOTEST_SOFTWARE_DRY_RUN'] = '1'
            sm = software_manager.SoftwareManager()
            sm.install('no-such-package-x-devel')
            self.write_test_keyval({'dry_env': sm.last_message})
            self.write_test_keyval({'cxx': software_manager.debian_name('gcc-c++'),
                                    'numa': software_manager.debian_name('numactl-devel'),
                                    'foo': software_manager.debian_name('foo-devel'),
                                    'libfoo': software_manager.debian_name('libfoo-devel'),
                                    'same': software_manager.debian_name('fio')})
            try:
                os_dep.header(header)
            except ValueError as e:
                raise error.TestNAError(str(e))
"""


def test_os_dep_software_manager_and_modules_under_both_import_roots(job_dir, run):
    write_test(job_dir, "osdeptest", OSDEPTEST)
    r = run("""
        job.run_test('osdeptest')
        job.run_test('osdeptest', tag='na', header='libaio-not-here.h')
    """)
    assert r.code == 0, r.stderr + r.status
    assert r.status_lines() == [
        L(0, "START"),
        L(1, "START", "osdeptest", "osdeptest"),
        L(2, "GOOD", "osdeptest", "osdeptest", "completed successfully"),
        L(1, "END GOOD", "osdeptest", "osdeptest"),
        L(1, "START", "osdeptest.na", "osdeptest.na"),
        L(2, "TEST_NA", "osdeptest.na", "osdeptest.na", "Missing header: libaio-not-here.h"),
        L(1, "END TEST_NA", "osdeptest.na", "osdeptest.na"),
        L(0, "END TEST_NA"),
    ]
    kv = keyval(r, "osdeptest", "keyval")
    assert kv["dry"] == "dry run: would run `apt-get install -y libaio-dev`"
    assert kv["dry_env"] == "dry run: would run `apt-get install -y libno-such-package-x-dev`"
    assert (kv["cxx"], kv["numa"], kv["foo"], kv["libfoo"], kv["same"]) == (
        "g++", "libnuma-dev", "libfoo-dev", "libfoo-dev", "fio")


def test_os_dep_names_the_debian_package_of_a_known_missing_file(job_dir, run):
    write_test(job_dir, "osdeptest", OSDEPTEST)
    # numaif.h is libnuma-dev's; on a machine that has it the test is GOOD instead.
    if os.path.exists("/usr/include/numaif.h"):
        pytest.skip("libnuma-dev is installed here")
    r = run("job.run_test('osdeptest', header='numaif.h')\n")
    assert r.status_lines()[2] == L(2, "TEST_NA", "osdeptest", "osdeptest",
                                    "Missing header: numaif.h (on Debian: apt-get install "
                                    "libnuma-dev)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_job(job_dir, name, control):
    d = job_dir / name
    d.mkdir()
    (d / "control").write_text(textwrap.dedent(control))
    cmd = [autotest_bin(), "run", "--results", str(d / "results"), str(d / "control")]
    return d, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=str(d))


def status_of(d):
    with open(os.path.join(str(d), "results", "status")) as f:
        return [l for l in normalize(f.read()).splitlines() if not l.lstrip("\t").startswith("  ")]


def test_barrier_between_two_jobs_on_loopback_and_its_timeout(job_dir):
    port = free_port()
    control = """
        b = job.barrier('127.0.0.1#%s', 'sync1', 120, port=%d)
        b.rendezvous('127.0.0.1#master', '127.0.0.1#member')
        job.record('GOOD', None, 'barrier.sync1', 'met')
    """
    # The member starts first: it retries until the master listens.
    member, pm = start_job(job_dir, "member", control % ("member", port))
    master, pM = start_job(job_dir, "master", control % ("master", port))
    for p in (pm, pM):
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    for d in (master, member):
        assert status_of(d) == [L(0, "START"), L(1, "GOOD", "----", "barrier.sync1", "met"),
                                L(0, "END GOOD")]
    # Alone at a barrier with a timeout: the master gives up, the job aborts (BarrierError is a
    # JobError, as in legacy).
    lone, p = start_job(job_dir, "lone", """
        b = job.barrier('127.0.0.1#master', 'sync2', 1, port=%d)
        b.rendezvous('127.0.0.1#master', '127.0.0.1#member')
    """ % port)
    p.communicate(timeout=300)
    assert p.returncode == 1
    assert status_of(lone) == [
        L(0, "START"),
        L(1, "ABORT", "----", "----", "timeout waiting for barrier: sync2 (after 1 seconds)"),
        L(0, "END ABORT"),
    ]


def test_barrier_abort_reaches_every_member(job_dir):
    port = free_port()
    control = """
        b = job.barrier('127.0.0.1#%s', 'sync3', 120, port=%d)
        try:
            b.rendezvous('127.0.0.1#master', '127.0.0.1#member', abort=%s)
        except error.BarrierAbortError as e:
            job.record('INFO', None, 'barrier.sync3', str(e))
    """
    master, pM = start_job(job_dir, "master", control % ("master", port, False))
    member, pm = start_job(job_dir, "member", control % ("member", port, True))
    for p in (pm, pM):
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    for d in (master, member):
        assert status_of(d) == [L(0, "START"),
                                L(1, "INFO", "----", "barrier.sync3", "barrier sync3 aborted"),
                                L(0, "END GOOD")]


def test_partition_on_a_loop_file_and_on_a_loop_device_the_test_made(job_dir, run):
    need_root("losetup", "mkfs.ext2", "mkfs.ext4", "mount", "umount", "fsck")
    img = str(job_dir / "disk.img")
    mnt = str(job_dir / "mnt")
    img2 = str(job_dir / "disk2.img")
    mnt2 = str(job_dir / "mnt2")
    r = run("""
        import subprocess
        from autotest.client import partition
        p = job.partition(%(img)r, loop_size=16, mountpoint=%(mnt)r)
        p.mkfs('ext2')
        p.mount()
        utils.open_write_close(os.path.join(%(mnt)r, 'hello'), 'on ext2\\n')
        p.unmount()
        p.fsck()
        # A loop device the control file makes itself, with mkfs flags and mount options.
        with open(%(img2)r, 'wb') as f:
            f.truncate(16 * 1024 * 1024)
        dev = subprocess.run(['losetup', '--find', '--show', %(img2)r], check=True,
                             capture_output=True, text=True).stdout.strip()
        try:
            q = job.filesystem(dev, mountpoint=%(mnt2)r)
            q.set_fs_options(partition.FsOptions('ext4', 'ext4_noatime', '-q', 'noatime'))
            q.mkfs()
            q.mount()
            opts = [l.split()[3] for l in open('/proc/mounts') if l.split()[1] == %(mnt2)r][0]
            job.record('INFO', None, 'options', str('noatime' in opts.split(',')))
            q.unmount()
        finally:
            subprocess.run(['losetup', '-d', dev])
        job.record('INFO', None, 'device', dev)
        try:
            p.unmount()
        except error.TestError as e:
            job.record('INFO', None, 'unmount', str(e))
        p.cleanup()
    """ % dict(img=img, mnt=mnt, img2=img2, mnt2=mnt2))
    assert r.code == 0, r.stderr + r.status
    dev = info(r, "device")
    assert r.status_lines() == [
        L(0, "START"),
        L(1, "GOOD", "----", "mkfs -t ext2 -F %s" % img),
        L(1, "GOOD", "----", "mount -t ext2 -o loop %s %s" % (img, mnt)),
        L(1, "GOOD", "----", "umount %s" % mnt),
        L(1, "GOOD", "----", "fsck %s -n" % img),
        L(1, "GOOD", "----", "mkfs -t ext4 -q %s" % dev),
        L(1, "GOOD", "----", "mount -o noatime -t ext4 %s %s" % (dev, mnt2)),
        L(1, "INFO", "----", "options", "True"),
        L(1, "GOOD", "----", "umount %s" % mnt2),
        L(1, "INFO", "----", "device", dev),
        L(1, "INFO", "----", "unmount", "cannot unmount %s: it is not mounted" % img),
        L(0, "END GOOD"),
    ]
    assert not os.path.exists(img)
    assert mnt not in open("/proc/mounts").read()


GRUB_CFG = """\
set default="0"
set timeout=5
menuentry 'Debian GNU/Linux' --class debian {
	load_video
	linux	/boot/vmlinuz-6.1.0-18-amd64 root=UUID=1234 ro quiet
	initrd	/boot/initrd.img-6.1.0-18-amd64
}
submenu 'Advanced options for Debian GNU/Linux' {
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-18-amd64 (recovery mode)' {
		linux	/boot/vmlinuz-6.1.0-18-amd64 root=UUID=1234 ro single
		initrd	/boot/initrd.img-6.1.0-18-amd64
	}
}
"""


def test_bootloader_over_a_grub_cfg_fixture(job_dir, run):
    boot = job_dir / "boot"
    boot.mkdir()
    cfg = boot / "grub.cfg"
    cfg.write_text(GRUB_CFG)
    r = run("""
        import json
        job.config_set('boottool.grub_cfg', %r)
        bl = job.bootloader
        job.record('INFO', None, 'titles', json.dumps(bl.get_titles()))
        job.record('INFO', None, 'default', bl.get_default_title())
        e = bl.get_entry(1)
        job.record('INFO', None, 'entry1', '%%s|%%s|%%s|%%s' %% (e['kernel'], e['root'], e['args'], e['initrd']))
        bl.add_args(0, 'console=ttyS0,115200 quiet')
        bl.remove_args('DEFAULT', 'ro')
        bl.set_default(1)
        job.record('INFO', None, 'default', str(bl.get_default_index()))
        i = bl.add_kernel('/boot/vmlinuz-test', title='autotest', root='/dev/sda1', args='ro')
        job.record('INFO', None, 'added', str(i))
        bl.boot_once('autotest')
        bl.remove_kernel('/boot/vmlinuz-test')
        try:
            bl.get_entry('no such entry')
        except Exception as e:
            job.record('INFO', None, 'missing', type(e).__name__)
    """ % str(cfg))
    assert r.code == 0, r.stderr + r.status
    assert r.status_lines() == [
        L(0, "START"),
        L(1, "INFO", "----", "titles", json.dumps([
            "Debian GNU/Linux", "Debian GNU/Linux, with Linux 6.1.0-18-amd64 (recovery mode)"])),
        L(1, "INFO", "----", "default", "Debian GNU/Linux"),
        L(1, "INFO", "----", "entry1", "/boot/vmlinuz-6.1.0-18-amd64|UUID=1234|ro single|"
          "/boot/initrd.img-6.1.0-18-amd64"),
        L(1, "INFO", "----", "default", "1"),
        L(1, "INFO", "----", "added", "2"),
        L(1, "INFO", "----", "missing", "BootloaderError"),
        L(0, "END GOOD"),
    ]
    assert cfg.read_text() == GRUB_CFG.replace('set default="0"', 'set default="1"').replace(
        "root=UUID=1234 ro quiet", "root=UUID=1234 console=ttyS0,115200 quiet")
    env = (boot / "grubenv").read_text()
    assert len(env) == 1024 and env.startswith("# GRUB Environment Block\nnext_entry=autotest\n")


SHIPS_SOURCES = """
    import os
    from autotest.client import test, utils

    class shipsrc(test.test):
        version = 1
        preserve_srcdir = True

        def setup(self):
            os.chdir(self.srcdir)
            utils.make()

        def run_once(self):
            pass

    class shiptar(test.test):
        version = 1

        def setup(self, tarball='shiptar-1.0.tar.gz'):
            tarball = utils.unmap_url(self.bindir, tarball, self.tmpdir)
            utils.extract_tarball_to_dir(tarball, self.srcdir)

        def run_once(self):
            pass
"""


def test_missing_shipped_sources_are_errors_naming_the_path_and_the_fix(job_dir, run):
    src = write_test(job_dir, "shipsrc", SHIPS_SOURCES)
    tar = write_test(job_dir, "shiptar", SHIPS_SOURCES.replace("class shipsrc", "class _s"))
    r = run("""
        job.run_test('shipsrc')
        job.run_test('shiptar')
    """)
    assert r.code == 0, r.stderr
    assert r.status_lines() == [
        L(0, "START"),
        L(1, "START", "shipsrc", "shipsrc"),
        L(2, "ERROR", "shipsrc", "shipsrc",
          "test shipsrc builds the sources it ships in %s (preserve_srcdir), and that "
          "directory is missing: copy the test's src/ directory from its collection there"
          % (src / "src")),
        L(1, "END ERROR", "shipsrc", "shipsrc"),
        L(1, "START", "shiptar", "shiptar"),
        L(2, "ERROR", "shiptar", "shiptar",
          "source tarball %s is missing: the test ships it beside its module; copy it there "
          "(machines under test download nothing)" % (tar / "shiptar-1.0.tar.gz")),
        L(1, "END ERROR", "shiptar", "shiptar"),
        L(0, "END ERROR"),
    ]


MOREUTILS = """
    import hashlib
    import os
    from autotest.client import test, utils
    from autotest.client.shared import error

    def check(cond, what):
        if not cond:
            raise error.TestFail(what)

    class moreutils(test.test):
        version = 1

        def run_once(self):
            outs = utils.system_output_parallel(['echo a', 'echo b; echo c'])
            check(outs == ['a', 'b\\nc'], 'system_output_parallel %r' % outs)
            check(utils.system_parallel(['true', 'exit 2'], ignore_status=True) == [0, 2],
                  'system_parallel')
            try:
                utils.run_parallel(['true', 'exit 5'])
                raise error.TestFail('no CmdError')
            except error.CmdError as e:
                check(e.result_obj.exit_status == 5, 'run_parallel status')
            check(utils.get_field('a b\\nMemTotal:  100 kB\\n', 1, 'MemTotal', ' +') == '100',
                  'get_field')
            src = os.path.join(self.tmpdir, 's')
            os.makedirs(os.path.join(src, 'd'))
            utils.open_write_close(os.path.join(src, 'd', 'f'), 'new')
            dest = os.path.join(self.tmpdir, 'dst')
            os.makedirs(os.path.join(dest, 'd'))
            utils.open_write_close(os.path.join(dest, 'd', 'g'), 'kept')
            utils.merge_trees(src, dest)
            check(sorted(os.listdir(os.path.join(dest, 'd'))) == ['f', 'g'], 'merge_trees')
            check(utils.get_relative_path('/a/b/c', '/a') == 'b/c', 'get_relative_path')
            check(len(utils.cpu_online_map()) == os.cpu_count(), 'cpu_online_map')
            cached = os.path.join(self.tmpdir, 'pkg.tar')
            utils.open_write_close(cached, 'data')
            md5 = hashlib.md5(b'data').hexdigest()
            check(utils.unmap_url_cache(self.tmpdir, 'http://example.invalid/pkg.tar', md5)
                  == cached, 'unmap_url_cache cached')
            try:
                utils.unmap_url_cache(self.tmpdir, 'http://example.invalid/other.tar', md5)
                raise error.TestFail('no PackageError')
            except error.PackageError as e:
                raise error.TestNAError(str(e))
"""


def test_more_legacy_utils_and_warning_records(job_dir, run):
    write_test(job_dir, "moreutils", MOREUTILS)
    r = run("""
        job.disable_warnings('NETWORK')
        job.run_test('moreutils')
        job.enable_warnings('NETWORK')
        job.record('INFO', None, 'user', str(job.user == __import__('getpass').getuser()))
        # The star import of utils leaves the builtin hash alone; utils.hash is legacy's.
        job.record('INFO', None, 'hash', '%s %s' % (hash('a') == hash('a'),
                                                    utils.hash('md5', 'a').hexdigest()))
    """)
    assert r.code == 0, r.stderr + r.status
    tmp_msg = r.status_lines()[3].split("\t")[-1]
    assert tmp_msg.startswith("http://example.invalid/other.tar is not cached: machines under "
                              "test download nothing; copy the file to ")
    assert tmp_msg.endswith("/other.tar")
    assert r.status_lines() == [
        L(0, "START"),
        "\tINFO\t----\t----\twarnings.disable=NETWORK\tdisabling NETWORK warnings",
        L(1, "START", "moreutils", "moreutils"),
        L(2, "TEST_NA", "moreutils", "moreutils", tmp_msg),
        L(1, "END TEST_NA", "moreutils", "moreutils"),
        "\tINFO\t----\t----\twarnings.enable=NETWORK\tenabling NETWORK warnings",
        L(1, "INFO", "----", "user", "True"),
        L(1, "INFO", "----", "hash", "True 0cc175b9c0f1b6a831c399e269772661"),
        L(0, "END TEST_NA"),
    ]


def test_autodir_given_by_the_caller_is_kept_and_its_deps_are_found(job_dir):
    # autoserv sets AUTODIR to the client's install directory (staged kernels, deps/).
    autodir = job_dir / "autodir"
    dep = autodir / "deps" / "mydep"
    dep.mkdir(parents=True)
    (dep / "mydep.py").write_text(textwrap.dedent(MYDEP))
    (job_dir / "control").write_text(textwrap.dedent("""
        job.record('INFO', None, 'autodir', os.environ['AUTODIR'])
        job.setup_dep(['mydep'])
    """))
    res = str(job_dir / "results")
    proc = subprocess.run([autotest_bin(), "run", "--results", res, str(job_dir / "control")],
                          capture_output=True, text=True, cwd=str(job_dir),
                          env=dict(os.environ, AUTODIR=str(autodir)))
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(res, "status")) as f:
        lines = [l for l in normalize(f.read()).splitlines()]
    assert lines == [L(0, "START"), L(1, "INFO", "----", "autodir", str(autodir)), L(0, "END GOOD")]
    assert (dep / "builds").read_text() == "build\n"
