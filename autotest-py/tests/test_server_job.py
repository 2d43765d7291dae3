"""Server jobs (``.srv``) through the real ``autotest autoserv`` on localhost (the core's local
transport, the client runtime installed into an autodir), and a machine that cannot be reached
(a closed port on loopback)."""

import os
import subprocess

from conftest import autotest_bin, normalize


def _autoserv(job_dir, control, machines="localhost"):
    autodir = job_dir / "autodir"
    (job_dir / "global_config.ini").write_text(
        "[AUTOSERV]\nclient_autodir_paths: %s\n" % autodir)
    (job_dir / "control.srv").write_text(control)
    cmd = [autotest_bin(), "autoserv", "-m", machines, "-r", str(job_dir / "r"),
           "--config-dir", str(job_dir), str(job_dir / "control.srv")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=str(job_dir))


def _lines(job_dir):
    with open(job_dir / "r" / "status.log") as f:
        return [l for l in normalize(f.read()).splitlines()
                if not l.lstrip("\t").startswith("  ")]


def test_server_job_end_rolls_up_client_results_and_autotest_without_host(job_dir):
    r = _autoserv(job_dir, (
        "host = hosts.create_host(machines[0])\n"
        "at = autotest_remote.Autotest()\n"
        "at.run_test('sleeptest', host=host, tag='bad', bogus=1)\n"
        "at.run_test('sleeptest', host=host, tag='good', seconds=0)\n"))
    assert r.returncode == 0, r.stderr
    assert _lines(job_dir) == [
        "START\t----\t----\t",
        "\tSTART\t----\t----\t",
        "\t\tSTART\tsleeptest.bad\tsleeptest.bad\t",
        "\t\t\tERROR\tsleeptest.bad\tsleeptest.bad\tunknown parameter bogus for test "
        "sleeptest.bad: its methods accept iterations, profile_only, seconds, test_length",
        "\t\tEND ERROR\tsleeptest.bad\tsleeptest.bad\t",
        "\tEND ERROR\t----\t----\t",
        "\tSTART\t----\t----\t",
        "\t\tSTART\tsleeptest.good\tsleeptest.good\t",
        "\t\t\tGOOD\tsleeptest.good\tsleeptest.good\tcompleted successfully",
        "\t\tEND GOOD\tsleeptest.good\tsleeptest.good\t",
        "\tEND GOOD\t----\t----\t",
        "END ERROR\t----\t----\t",
    ]


def test_autotest_without_host_and_without_host_argument_says_so(job_dir):
    r = _autoserv(job_dir, "autotest_remote.Autotest().run_test('sleeptest')\n")
    assert r.returncode == 1
    assert ("AutoservError: Autotest() was created without a host and run without host=: "
            "give the host, as Autotest(host) or run(..., host=h)") in _lines(job_dir)[1]


def test_tag_and_parallel_flag_and_autodir_with_client_control_files(job_dir):
    # Legacy's parallel_sleeptest.srv: the client tests' control files read from job.autodir,
    # each run with its own tag and parallel_flag=True.
    r = _autoserv(job_dir, (
        "tests = [('client/tests/sleeptest/control', 'sleeptag0'),\n"
        "         ('client/tests/sleeptest/control', 'sleeptag1')]\n"
        "def run_client(at, instance):\n"
        "    control = open(os.path.join(job.autodir, tests[instance][0])).read()\n"
        "    at.run(control, tag=tests[instance][1], parallel_flag=True)\n"
        "def main(machine):\n"
        "    at = autotest_remote.Autotest(hosts.create_host(machine))\n"
        "    at.install()\n"
        "    parallel([subcommand(run_client, [at, i]) for i in range(len(tests))])\n"
        "parallel([subcommand(main, [m], m) for m in machines])\n"
        "names = sorted(n for n in os.listdir(os.path.join(job.autodir, 'client', 'tests'))\n"
        "               if os.path.exists(os.path.join(job.autodir, 'client', 'tests', n, 'control')))\n"
        "job.record('INFO', None, 'controls', ' '.join(names))\n"))
    assert r.returncode == 0, r.stderr
    lines = _lines(job_dir)
    assert lines[0] == "START\t----\t----\t"
    assert lines[-2] == ("\tINFO\t----\tcontrols\t"
                         "bonnie dbench fsx kernbench reaim sleeptest tbench")
    assert lines[-1] == "END GOOD\t----\t----\t"
    for tag in ("sleeptag0", "sleeptag1"):
        client = job_dir / "r" / "localhost" / tag
        with open(client / "status") as f:
            assert [l for l in normalize(f.read()).splitlines()] == [
                "START\t----\t----\t",
                "\tSTART\tsleeptest\tsleeptest\t",
                "\t\tGOOD\tsleeptest\tsleeptest\tcompleted successfully",
                "\tEND GOOD\tsleeptest\tsleeptest\t",
                "END GOOD\t----\t----\t",
            ]
        assert os.path.exists(client / "sleeptest" / "results" / "keyval")


def test_reboot_of_a_machine_that_cannot_be_reached(job_dir):
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    r = _autoserv(job_dir, "hosts.create_host(machines[0]).reboot()\n",
                  machines="root@127.0.0.1:9")
    assert r.returncode == 1
    msg = ("root@127.0.0.1:9 cannot be reached (it does not answer over ssh), so it was not "
           "rebooted: check that it is up and that its address, port and key are right")
    assert _lines(job_dir) == [
        "START\t----\t----\t",
        "\tSTART\t----\treboot\t",
        "\t\tGOOD\t----\treboot.start\t",
        "\t\tABORT\t----\treboot.start\t" + msg,
        "\tEND ABORT\t----\treboot\t",
        "\tFAIL\t----\t----\tAutoservError: " + msg,
        "END FAIL\t----\t----\t",
    ]
