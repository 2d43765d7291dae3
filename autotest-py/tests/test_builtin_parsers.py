"""Unit tests of the built-in legacy test modules (client/tests/<name>/<name>.py): their output
parsers, fed real output of the tools, the fsx engine on a real file, and short live runs of
each test through the real test life cycle (test.runtest).

Run: cd /work/main && PYTHONPATH=autotest-py/python \
         python3 -m pytest autotest-py/tests/test_builtin_parsers.py -q
Nothing here is skipped: a missing tool is a failure naming the Debian package to install.
"""

import importlib.util
import os
import shutil

import pytest

from autotest.client import test as test_mod
from autotest.client.shared import error

TESTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python",
                         "autotest", "client", "tests")
TESTS_DIR = os.path.abspath(TESTS_DIR)


def load(name):
    """Imports client/tests/<name>/<name>.py by path, as the framework does."""
    path = os.path.join(TESTS_DIR, name, name + ".py")
    spec = importlib.util.spec_from_file_location("builtin_test_%s" % name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def require(command, package):
    found = shutil.which(command) or (
        os.path.join("/usr/sbin", command) if os.access(os.path.join("/usr/sbin", command),
                                                        os.X_OK) else None)
    assert found, "%s is not installed: install the Debian package %r (apt-get install %s)" % (
        command, package, package)


# --- real output, captured on a 2-CPU Debian 12 VM --------------------------------------

# `dbench -t 3 -D <dir> 2` (dbench 4.00, Debian package dbench 4.0-2.1), whole stdout.
DBENCH_OUTPUT = """\
dbench version 4.00 - Copyright Andrew Tridgell 1999-2004

Running for 3 seconds with load '/usr/share/dbench/client.txt' and minimum warmup 0 secs
failed to create barrier semaphore 
0 of 2 processes prepared for launch   0 sec
2 of 2 processes prepared for launch   0 sec
releasing clients
   2     55304   627.76 MB/sec  execute   1 sec  latency 23.991 ms
   2    116403   643.57 MB/sec  execute   2 sec  latency 4.834 ms
   2  cleanup   3 sec
   0  cleanup   3 sec

 Operation      Count    AvgLat    MaxLat
 ----------------------------------------
 NTCreateX      61026     0.019     2.109
 Close          44866     0.002     3.472
 Rename          2586     0.029     1.063
 Unlink         12297     0.053    23.591
 Deltree            2     0.018     0.026
 Mkdir              2     0.072     0.139
 Qpathinfo      55238     0.006     1.499
 Qfileinfo       9765     0.001     0.071
 Qfsinfo        10146     0.002     0.097
 Sfileinfo       4991     0.007     1.020
 Find           21345     0.022     2.900
 WriteX         30899     0.014     4.828
 ReadX          95559     0.003     2.928
 LockX            198     0.004     0.040
 UnlockX          198     0.002     0.023
 Flush           4294     0.448    23.988

Throughput 643.565 MB/sec  2 clients  2 procs  max_latency=23.991 ms
"""

# `tbench -t 3 2 127.0.0.1` against tbench_srv on the same machine, whole stdout.
TBENCH_OUTPUT = """\
dbench version 4.00 - Copyright Andrew Tridgell 1999-2004

Running for 3 seconds with load '/usr/share/dbench/client.txt' and minimum warmup 0 secs
0 of 2 processes prepared for launch   0 sec
2 of 2 processes prepared for launch   0 sec
releasing clients
   2     50252   577.09 MB/sec  execute   1 sec  latency 1.177 ms
   2     99003   550.50 MB/sec  execute   2 sec  latency 0.185 ms
   2  cleanup   3 sec
   0  cleanup   3 sec

 Operation      Count    AvgLat    MaxLat
 ----------------------------------------
 NTCreateX      50556     0.018     0.314
 Close          37237     0.018     0.444
 Rename          2138     0.018     0.083
 Unlink         10121     0.018     0.174
 Deltree            2     0.001     0.002
 Mkdir              2     0.122     0.191
 Qpathinfo      45782     0.018     1.165
 Qfileinfo       8131     0.018     0.205
 Qfsinfo         8353     0.018     0.256
 Sfileinfo       4134     0.018     0.364
 Find           17642     0.018     0.434
 WriteX         25736     0.024     0.201
 ReadX          78977     0.019     0.708
 LockX            164     0.018     0.026
 UnlockX          164     0.018     0.069
 Flush           3551     0.018     0.091

Throughput 550.504 MB/sec  2 clients  2 procs  max_latency=1.177 ms
"""

# `bonnie++ -d <dir> -u root -r 64 -s 128 -n 1 -m testhost` (bonnie++ 2.00a), whole stdout:
# with so small a file most phases end too fast to time (+++++).
BONNIE_OUTPUT_SMALL = """\
Version 2.00a       ------Sequential Output------ --Sequential Input- --Random-
                    -Per Chr- --Block-- -Rewrite- -Per Chr- --Block-- --Seeks--
Name:Size etc        /sec %CP  /sec %CP  /sec %CP  /sec %CP  /sec %CP  /sec %CP
testhost       128M 1210k  97 +++++ +++ +++++ +++ 1725k  94 +++++ +++ +++++ +++
Latency             13890us     124us     130us   13370us    2588us   26071us
Version 2.00a       ------Sequential Create------ --------Random Create--------
testhost            -Create-- --Read--- -Delete-- -Create-- --Read--- -Delete--
              files  /sec %CP  /sec %CP  /sec %CP  /sec %CP  /sec %CP  /sec %CP
                  1 +++++ +++ +++++ +++ +++++ +++ +++++ +++ +++++ +++ +++++ +++
Latency              4189us      82us    4087us   20187us       5us    4095us
1.98,2.00a,testhost,1,1795440951,128M,,8192,5,1210,97,+++++,+++,+++++,+++,1725,94,+++++,+++,+++++,+++,1,,,,,+++++,+++,+++++,+++,+++++,+++,+++++,+++,+++++,+++,+++++,+++,13890us,124us,130us,13370us,2588us,26071us,4189us,82us,4087us,20187us,5us,4095us
"""

# `bonnie++ -d <dir> -u root -r 512 -s 1024 -n 4` (bonnie++ 2.00a), whole stdout.
BONNIE_OUTPUT_1G = """\
Version 2.00a       ------Sequential Output------ --Sequential Input- --Random-
                    -Per Chr- --Block-- -Rewrite- -Per Chr- --Block-- --Seeks--
Name:Size etc        /sec %CP  /sec %CP  /sec %CP  /sec %CP  /sec %CP  /sec %CP
vm               1G 1073k  83  256m  83  1.4g  67 1533k  86 +++++ +++ +++++ +++
Latency             18062us    8067us    4093us   12776us    4104us   28125us
Version 2.00a       ------Sequential Create------ --------Random Create--------
vm                  -Create-- --Read--- -Delete-- -Create-- --Read--- -Delete--
              files  /sec %CP  /sec %CP  /sec %CP  /sec %CP  /sec %CP  /sec %CP
                  4  4096  63 +++++ +++ +++++ +++  4096  66 +++++ +++ +++++ +++
Latency             12175us    8075us   12094us   29798us    4072us    4451us
1.98,2.00a,vm,1,1795452057,1G,,8192,5,1073,83,261894,83,1498060,67,1533,86,+++++,+++,+++++,+++,4,,,,,2626,63,+++++,+++,+++++,+++,1190,66,+++++,+++,+++++,+++,18062us,8067us,4093us,12776us,4104us,28125us,12175us,8075us,12094us,29798us,4072us,4451us
"""

# CSV lines of older bonnie++ versions, as users posted them: 1.97 (48 fields, latencies in
# us and ms) and 1.03 (27 fields, a fractional seek rate).
BONNIE_CSV_197 = ("1.97,1.97,cc3550,1,1517338312,8G,,864,99,77866,7,72051,8,2947,99,235458,14,"
                  "9676,125,16,,,,,+++++,+++,+++++,+++,+++++,+++,+++++,+++,+++++,+++,+++++,+++,"
                  "14345us,2216ms,749ms,4939us,131ms,1748us,2205us,881us,689us,668us,23us,981us")
BONNIE_CSV_103 = ("directive4,6G,44179,80,49453,17,17477,6,38956,76,46240,8,158.5,1,16,32493,87,"
                  "+++++,+++,+++++,+++,+++++,+++,+++++,+++,+++++,+++")

# reaim (osdl-aim-7) output, as Rik van Riel posted it to linux-mm (2007-06-26, "Re: [PATCH 01
# of 16] remove nr_scan_inactive/active"); his mailer wrapped the JTI column onto its own line.
REAIM_OUTPUT_WRAPPED = """\
Num     Parent   Child   Child  Jobs per   Jobs/min/  Std_dev  Std_dev  JTI
Forked  Time     SysTime UTime   Minute     Child      Time     Percent
4000    141.51   518.37  47.46   172991.31  43.25      5.20     3.75 
  96
4100    147.07   539.16  48.91   170612.63  41.61      5.11     3.58 
  96
4200    155.43   571.36  50.18   165373.48  39.37      5.42     3.58 
  96
4300    1317.89  4558.95 52.53   19968.28   4.64       219.76   18.42 
  81
Crossover achieved
Max Jobs per Minute 172991.31
"""


def unwrap_jti(text):
    """Puts the wrapped JTI values back at the end of their rows, as reaim printed them."""
    out = []
    for line in text.splitlines():
        if line.strip().isdigit() and out:
            out[-1] = out[-1].rstrip() + "     " + line.strip()
        else:
            out.append(line)
    return "\n".join(out) + "\n"


# --- dbench / tbench ------------------------------------------------------------------

def test_parse_dbench_output():
    r = load("dbench").parse_dbench_output(DBENCH_OUTPUT)
    assert r["throughput"] == 643.565
    assert r["procs"] == 2 and r["clients"] == 2
    assert r["max_latency"] == 23.991
    assert r["ntcreatex_count"] == 61026
    assert r["ntcreatex_avglat"] == 0.019 and r["ntcreatex_maxlat"] == 2.109
    assert r["flush_count"] == 4294 and r["flush_maxlat"] == 23.988
    assert r["readx_count"] == 95559
    assert len(r) == 4 + 16 * 3
    assert all(isinstance(v, (int, float)) for v in r.values())


def test_parse_dbench_output_without_result_is_an_error():
    truncated = DBENCH_OUTPUT[:DBENCH_OUTPUT.index("Throughput")]
    with pytest.raises(ValueError):
        load("dbench").parse_dbench_output(truncated)


def test_parse_tbench_output():
    r = load("tbench").parse_tbench_output(TBENCH_OUTPUT)
    assert r["throughput"] == 550.504
    assert r["procs"] == 2 and r["clients"] == 2 and r["max_latency"] == 1.177
    assert r["writex_count"] == 25736 and r["unlockx_maxlat"] == 0.069
    assert len(r) == 4 + 16 * 3


def test_tbench_listening_ports_sees_a_listener():
    import socket
    tbench = load("tbench")
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        assert s.getsockname()[1] in tbench.listening_ports(os.getpid())
    finally:
        s.close()


# --- bonnie ---------------------------------------------------------------------------

def test_parse_bonnie_output_small_run():
    r = load("bonnie").parse_bonnie_output(BONNIE_OUTPUT_SMALL)
    assert r == {
        "size": 128 * 2 ** 20, "files": 1,
        "seqout_perchr_ksec": 1210, "seqout_perchr_pctcp": 97,
        "seqin_perchr_ksec": 1725, "seqin_perchr_pctcp": 94,
        "seqout_perchr_latency_us": 13890, "seqout_perblk_latency_us": 124,
        "seqout_rewrite_latency_us": 130, "seqin_perchr_latency_us": 13370,
        "seqin_perblk_latency_us": 2588, "rand_latency_us": 26071,
        "seqcreate_create_latency_us": 4189, "seqcreate_read_latency_us": 82,
        "seqcreate_delete_latency_us": 4087, "randcreate_create_latency_us": 20187,
        "randcreate_read_latency_us": 5, "randcreate_delete_latency_us": 4095,
    }


def test_parse_bonnie_output_1g_run():
    r = load("bonnie").parse_bonnie_output(BONNIE_OUTPUT_1G)
    assert r["size"] == 2 ** 30
    assert r["seqout_perblk_ksec"] == 261894 and r["seqout_perblk_pctcp"] == 83
    assert r["seqout_rewrite_ksec"] == 1498060 and r["seqout_rewrite_pctcp"] == 67
    assert r["seqin_perchr_ksec"] == 1533
    assert "seqin_perblk_ksec" not in r and "rand_ksec" not in r   # +++++: not measured
    assert r["files"] == 4
    assert r["seqcreate_create_ksec"] == 2626 and r["seqcreate_create_pctcp"] == 63
    assert r["randreate_create_ksec"] == 1190 and r["randcreate_create_pctcp"] == 66
    assert "seqcreate_read_ksec" not in r
    assert r["randcreate_delete_latency_us"] == 4451


def test_parse_bonnie_older_csv_formats():
    bonnie = load("bonnie")
    r = bonnie.parse_bonnie_output("some text\n" + BONNIE_CSV_197 + "\n")
    assert r["size"] == 8 * 2 ** 30
    assert r["seqout_perchr_ksec"] == 864 and r["seqin_perblk_ksec"] == 235458
    assert r["rand_ksec"] == 9676 and r["rand_pctcp"] == 125
    assert r["files"] == 16
    assert r["seqout_perblk_latency_us"] == 2216000 and r["seqin_perblk_latency_us"] == 131000
    r = bonnie.parse_bonnie_output(BONNIE_CSV_103)
    assert r["size"] == 6 * 2 ** 30
    assert r["seqout_perchr_ksec"] == 44179 and r["rand_ksec"] == 158.5 and r["rand_pctcp"] == 1
    assert r["files"] == 16 and r["seqcreate_create_ksec"] == 32493
    assert "seqcreate_read_ksec" not in r
    with pytest.raises(ValueError):
        bonnie.parse_bonnie_output("Writing a byte at a time...done\n")


def test_bonnie_build_args():
    bonnie = load("bonnie")
    assert bonnie.build_args("", None, is_root=True) == [
        "-r", "64", "-s", "128", "-n", "1", "-u", "root"]
    assert bonnie.build_args("", None, is_root=False) == ["-r", "64", "-s", "128", "-n", "1"]
    assert bonnie.build_args("-s 2048 -r 1024 -f", "nobody", is_root=True) == [
        "-s", "2048", "-r", "1024", "-f", "-n", "1", "-u", "nobody"]
    assert bonnie.build_args("-n 16 -u daemon", None, is_root=True) == [
        "-n", "16", "-u", "daemon", "-r", "64", "-s", "128"]


# --- reaim ----------------------------------------------------------------------------

def test_parse_reaim_output():
    reaim = load("reaim")
    r = reaim.parse_reaim_output(unwrap_jti(REAIM_OUTPUT_WRAPPED))
    assert r["max_jobs_per_min"] == 172991.31
    # The legacy keys come from the last row, as legacy reaim recorded them.
    assert r["num_forked"] == 4300 and r["parent_time"] == 1317.89
    assert r["child_systime"] == 4558.95 and r["child_utime"] == 52.53
    assert r["jobs_min"] == 19968.28 and r["jobs_min_child"] == 4.64
    assert r["std_dev_time"] == 219.76 and r["std_dev_pct"] == 18.42 and r["jti"] == 81
    assert r["users4000_jobs_min"] == 172991.31 and r["users4200_jobs_min"] == 165373.48
    # Rows without their JTI are still read.
    wrapped = reaim.parse_reaim_output(REAIM_OUTPUT_WRAPPED)
    assert "jti" not in wrapped and wrapped["jobs_min"] == 19968.28
    with pytest.raises(ValueError):
        reaim.parse_reaim_output("reaim: cannot open workfile\n")


def test_reaim_find_workfile(tmp_path):
    reaim = load("reaim")
    (tmp_path / "src").mkdir()
    (tmp_path / "data").mkdir()
    binary = tmp_path / "src" / "reaim"
    binary.write_text("")
    (tmp_path / "data" / "workfile.short").write_text("FILESIZE: 10K\n")
    assert reaim.find_workfile("workfile.short", str(binary)) == str(
        tmp_path / "data" / "workfile.short")
    assert reaim.find_workfile("workfile.none", str(binary)) is None


# --- kernbench --------------------------------------------------------------------------

def test_find_kernel_source(tmp_path):
    kernbench = load("kernbench")
    assert kernbench.find_kernel_source(str(tmp_path)) is None
    for v in ("5.10", "6.1", "6.10"):
        (tmp_path / ("linux-source-%s.tar.xz" % v)).write_bytes(b"")
    assert kernbench.find_kernel_source(str(tmp_path)) == str(tmp_path / "linux-source-6.10.tar.xz")


def test_timed_make_measures_and_reports_failure(tmp_path):
    kernbench = load("kernbench")
    (tmp_path / "Makefile").write_text(
        "all:\n\t@i=0; while [ $$i -lt 200000 ]; do i=$$((i+1)); done; echo built\n"
        "broken:\n\t@echo 'error: something is wrong'; exit 3\n")
    log = str(tmp_path / "build.log")
    r = kernbench.timed_make(["all"], str(tmp_path), log)
    assert r["exit_status"] == 0 and not r["timed_out"]
    assert r["user"] > 0 and r["elapsed"] >= r["user"] * 0.5
    r = kernbench.timed_make(["broken"], str(tmp_path), log)
    assert r["exit_status"] == 2   # make's status when a recipe fails
    text = open(log).read()
    assert "built" in text and "error: something is wrong" in text
    r = kernbench.timed_make(["all"], str(tmp_path), log, timeout=0.05)
    assert r["timed_out"] and r["exit_status"] != 0


# --- fsx ------------------------------------------------------------------------------

def test_fsx_engine_passes_on_a_real_file(tmp_path):
    fsx = load("fsx")
    path = str(tmp_path / "fsx.data")
    engine = fsx.FsxEngine(path, seed=1234)
    try:
        kv = engine.run(1500)
    finally:
        engine.close()
    assert kv["ops"] == 1500
    assert kv["bytes_written"] > 0 and kv["bytes_read"] > 0 and kv["ops_per_sec"] > 0
    for op in fsx.OPERATIONS:
        assert kv["ops_" + op] > 0, op
    assert sum(kv["ops_" + op] for op in fsx.OPERATIONS) == 1500
    with open(path, "rb") as f:
        assert f.read() == bytes(engine.model)
    # The same seed replays the same operations.
    again = fsx.FsxEngine(str(tmp_path / "again.data"), seed=1234)
    try:
        kv2 = again.run(1500)
    finally:
        again.close()
    assert {k: v for k, v in kv2.items() if k not in ("elapsed", "ops_per_sec")} == \
        {k: v for k, v in kv.items() if k not in ("elapsed", "ops_per_sec")}


def _corrupt(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        old = f.read(1)
        f.seek(offset)
        f.write(bytes([old[0] ^ 0xFF]))
    return old[0]


def _engine_with_data(fsx, path, seed=99):
    engine = fsx.FsxEngine(path, seed=seed)
    engine.run(300)
    while len(engine.model) < 1000:   # make sure there is something to corrupt
        engine.step()
    return engine


def test_fsx_detects_corruption_in_the_whole_file_check(tmp_path):
    fsx = load("fsx")
    path = str(tmp_path / "fsx.data")
    engine = _engine_with_data(fsx, path)
    try:
        offset = len(engine.model) // 2
        old = _corrupt(path, offset)
        with pytest.raises(error.TestFail) as e:
            engine.verify_file()
    finally:
        engine.close()
    msg = str(e.value)
    assert "seed 99" in msg and ("op #%d" % engine.opnum) in msg
    assert "offset=0 length=%d" % len(engine.model) in msg
    assert "first differing byte at file offset %d" % offset in msg
    assert "expected 0x%02x, got 0x%02x" % (old, old ^ 0xFF) in msg


@pytest.mark.parametrize("op", ["read", "mapread"])
def test_fsx_detects_corruption_in_a_read(tmp_path, op):
    fsx = load("fsx")
    path = str(tmp_path / "fsx.data")
    engine = _engine_with_data(fsx, path)
    # From now on, only this kind of read: the first one that covers a corrupted byte fails.
    engine.ops, engine.weights = [op], [1]
    try:
        with open(path, "r+b") as f:
            f.write(bytes(b ^ 0x5A for b in engine.model))   # every byte differs now
        with pytest.raises(error.TestFail) as e:
            for _ in range(20):
                engine.step()
    finally:
        engine.close()
    msg = str(e.value)
    n, name, offset, length = engine.log[-1]
    assert name == op
    assert "op #%d %s offset=%d length=%d" % (n, op, offset, length) in msg
    assert "first differing byte at file offset %d (byte 0 of the %s)" % (offset, op) in msg


def test_fsx_detects_a_size_change(tmp_path):
    fsx = load("fsx")
    path = str(tmp_path / "fsx.data")
    engine = _engine_with_data(fsx, path)
    engine.ops, engine.weights = ["read"], [1]
    try:
        os.truncate(path, len(engine.model) + 4096)
        with pytest.raises(error.TestFail) as e:
            engine.step()
    finally:
        engine.close()
    assert "file size is %d, expected %d" % (len(engine.model) + 4096, len(engine.model)) \
        in str(e.value)


# --- live runs through the real test life cycle ---------------------------------------

class _Profilers(object):
    def start(self, test):
        pass

    def stop(self, test):
        pass


class _Job(object):
    def __init__(self, tmpdir):
        self.tmpdir = tmpdir
        self.profilers = _Profilers()


def run_builtin(tmp_path, name, *args, **dargs):
    """Runs test ``name`` as job.run_test would; returns its results/keyval text."""
    outputdir = tmp_path / name
    outputdir.mkdir()
    cwd = os.getcwd()
    try:
        test_mod.runtest(_Job(str(tmp_path / "jobtmp")), name, os.path.join(TESTS_DIR, name),
                         str(outputdir), args, dargs)
    finally:
        os.chdir(cwd)
    keyval = outputdir / "results" / "keyval"
    return keyval.read_text() if keyval.exists() else ""


def perf(keyval_text):
    out = {}
    for line in keyval_text.splitlines():
        if "{perf}=" in line:
            k, v = line.split("{perf}=", 1)
            out[k] = float(v)
    return out


def test_live_sleeptest(tmp_path):
    kv = perf(run_builtin(tmp_path, "sleeptest", seconds=0.2))
    assert 0.2 <= kv["slept_seconds"] < 2


def test_live_dbench(tmp_path):
    require("dbench", "dbench")
    kv = perf(run_builtin(tmp_path, "dbench", seconds=2, nprocs=2))
    assert kv["throughput"] > 0 and kv["procs"] == 2 and kv["readx_count"] > 0


def test_live_tbench(tmp_path):
    require("tbench", "dbench")
    require("tbench_srv", "dbench")
    kv = perf(run_builtin(tmp_path, "tbench", seconds=2, nprocs=2))
    assert kv["throughput"] > 0 and kv["procs"] == 2
    log = (tmp_path / "tbench" / "debug" / "tbench.1.log").read_text()
    if os.geteuid() == 0:   # run in a private network namespace
        assert log.startswith("$ nsenter --net=")


def test_live_bonnie(tmp_path):
    require("bonnie++", "bonnie++")
    # -f (no per-character phases, the slow ones) keeps this short; -r/-s/-n are the defaults.
    kv = perf(run_builtin(tmp_path, "bonnie", extra_args="-f"))
    assert kv["size"] == 128 * 2 ** 20 and kv["files"] == 1
    assert "seqout_perchr_ksec" not in kv
    assert kv["seqout_perblk_latency_us"] > 0 and kv["seqcreate_create_latency_us"] > 0
    log = (tmp_path / "bonnie" / "debug" / "bonnie.1.log").read_text()
    assert " -f -r 64 -s 128 -n 1" in log.splitlines()[0]


def test_live_fsx(tmp_path):
    text = run_builtin(tmp_path, "fsx", ops=400, seed=7)
    assert "seed{attr}=7" in text
    kv = perf(text)
    assert kv["ops"] == 400 and kv["bytes_written"] > 0


def test_live_reaim_is_not_applicable_without_reaim(tmp_path, monkeypatch):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))   # no reaim to be found, whatever is installed
    with pytest.raises(error.TestNAError) as e:
        run_builtin(tmp_path, "reaim")
    msg = str(e.value)
    assert "no Debian package" in msg and "osdl-aim-7" in msg and "re-aim-7" in msg


def test_live_kernbench_is_not_applicable_without_build_tools(tmp_path, monkeypatch):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(error.TestNAError) as e:
        run_builtin(tmp_path, "kernbench", 2)
    assert "install the Debian packages build-essential flex bison" in str(e.value)


def test_live_kernbench_without_a_kernel_is_not_applicable(tmp_path, monkeypatch):
    # Every build tool "installed" (stubs on PATH), no kernel given, none under /usr/src.
    kernbench = load("kernbench")
    if kernbench.find_kernel_source() is not None:
        pytest.fail("a linux-source tarball is installed under /usr/src: this test expects none")
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for tool in kernbench.BUILD_TOOLS:
        (stubs / tool).write_text("#!/bin/sh\nexit 0\n")
        (stubs / tool).chmod(0o755)
    monkeypatch.setenv("PATH", str(stubs))
    with pytest.raises(error.TestNAError) as e:
        run_builtin(tmp_path, "kernbench", 2)
    msg = str(e.value)
    assert "pass kernel=<tarball or dir>" in msg and "linux-source" in msg
