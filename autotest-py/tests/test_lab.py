"""The lab SDK (`autotest.lab`) end to end on a real SQLite file and a real PostgreSQL server."""

import datetime
import glob
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

import autotest
from autotest.lab import (JobTimeoutError, Lab, LabError, NotFoundError, RefusedError,
                          SchemaError)

UTC = datetime.timezone.utc
PG_USER = "pgtest"


def _in_ci():
    return os.environ.get("CI") == "true"


class PgServer(object):
    """A PostgreSQL server in a temporary directory on a loopback port (as `pgtest` when root,
    as PostgreSQL refuses to run as root), like autotest-testlab's `PgServer`."""

    def __init__(self, bindir):
        self.bindir = bindir
        self.root = os.geteuid() == 0
        self.dir = tempfile.mkdtemp(prefix="autotest-lab-pg-")
        os.chmod(self.dir, 0o755)
        self.pg = os.path.join(self.dir, "pg")
        os.mkdir(self.pg)
        if self.root:
            if subprocess.run(["id", PG_USER], capture_output=True).returncode != 0:
                p = subprocess.run(["useradd", "-r", "-M", PG_USER], capture_output=True, text=True)
                # Another test process may have created it meanwhile.
                assert p.returncode == 0 or subprocess.run(
                    ["id", PG_USER], capture_output=True).returncode == 0, p.stderr
            subprocess.run(["chown", PG_USER, self.pg], check=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.data = os.path.join(self.pg, "data")
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "lab", "--no-sync")
        opts = "-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off" % (self.port, self.pg)
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.pg, "log"), "-w",
                  "-o", opts, "start")
        self._names = itertools.count(1)

    def _cmd(self, tool, *args):
        exe = os.path.join(self.bindir, tool)
        prefix = ["runuser", "-u", PG_USER, "--"] if self.root else []
        return prefix + [exe] + list(args)

    def _run(self, tool, *args):
        p = subprocess.run(self._cmd(tool, *args), capture_output=True, text=True, cwd=self.dir)
        if p.returncode != 0:
            try:
                with open(os.path.join(self.pg, "log")) as f:
                    log = f.read()
            except OSError:
                log = ""
            pytest.fail("%s %s failed: %s%s\n%s" % (tool, args, p.stdout, p.stderr, log))

    def create_database(self):
        name = "lab%d" % next(self._names)
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "lab", name)
        return "postgres://lab@127.0.0.1:%d/%s" % (self.port, name)

    def stop(self):
        subprocess.run(self._cmd("pg_ctl", "-D", self.data, "-m", "immediate", "stop"),
                       capture_output=True, cwd=self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bindir():
    found = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
             if os.path.exists(os.path.join(d, "initdb"))]
    found.sort(key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
    return found[-1] if found else None


@pytest.fixture(scope="session")
def pg_server():
    bindir = _pg_bindir()
    if bindir is None:
        msg = ("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): install "
               "Debian's `postgresql` (./dev.sh setup does)")
        if _in_ci():
            pytest.fail(msg)
        pytest.skip(msg + "; CI=true makes this a failure")
    server = PgServer(bindir)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def lab_url(request, tmp_path):
    if request.param == "sqlite":
        return "sqlite:%s" % (tmp_path / "lab.db")
    return request.getfixturevalue("pg_server").create_database()


@pytest.fixture
def lab(lab_url):
    with Lab.migrate(lab_url) as lab:
        yield lab


@pytest.fixture
def sqlite_lab(tmp_path):
    path = tmp_path / "lab.db"
    with Lab.migrate("sqlite:%s" % path) as lab:
        yield lab, str(path)


def _small_lab(lab):
    lab.create_label("x86_64", platform=True)
    lab.create_label("bigmem")
    for name in ("m1", "m2", "m3"):
        lab.create_host(name, labels=["x86_64"])
    lab.add_label("bigmem", ["m2", "m3"])


# ---- hosts and labels ----

def test_hosts_and_labels(lab):
    lab.create_label("x86_64", platform=True)
    lab.create_label("gpu", only_if_needed=True)
    assert [(l.name, l.platform, l.only_if_needed) for l in lab.labels()] == [
        ("gpu", False, True), ("x86_64", True, False)]
    before = datetime.datetime.now(UTC).replace(microsecond=0)
    m1 = lab.create_host("m1", labels=["x86_64", "gpu"])
    assert (m1.hostname, m1.status, m1.locked, m1.labels) == ("m1", "Ready", False,
                                                              ("gpu", "x86_64"))
    assert m1.created_on.tzinfo is not None and m1.created_on >= before
    m2 = lab.create_host("m2", locked=True, by="alice")
    assert (m2.locked, m2.locked_by) == (True, "alice") and m2.lock_time is not None
    assert "m2" in repr(m2) and "alice" in repr(m2)

    assert [h.hostname for h in lab.hosts()] == ["m1", "m2"]
    assert [h.hostname for h in lab.hosts(label="gpu")] == ["m1"]
    assert [h.hostname for h in lab.hosts(locked=True)] == ["m2"]
    assert [h.hostname for h in lab.hosts(locked=False, status="Ready")] == ["m1"]
    assert lab.hosts(status="Running") == []

    with pytest.raises(RefusedError, match="m2 is locked already by alice"):
        lab.lock_host("m2", by="bob")
    assert lab.unlock_host("m2").locked is False
    assert lab.lock_host("m2").locked_by  # the current user by default

    lab.add_label("gpu", ["m2"])
    assert lab.host("m2").labels == ("gpu",)
    lab.remove_label("gpu", "m2")
    assert lab.host("m2").labels == ()

    lab.delete_host("m2")
    assert [h.hostname for h in lab.hosts()] == ["m1"]
    with pytest.raises(NotFoundError, match='no host "m2"'):
        lab.host("m2")
    # A label still carried is refused, naming the hosts and the fix; nothing changes.
    with pytest.raises(RefusedError, match=r"label gpu is in use: 1 host\(s\) carry it \(m1\)"):
        lab.delete_label("gpu")
    assert lab.host("m1").labels == ("gpu", "x86_64")
    lab.remove_label("gpu", "m1")
    lab.delete_label("gpu")
    assert lab.host("m1").labels == ("x86_64",)
    assert [l.name for l in lab.labels()] == ["x86_64"]


def test_host_and_label_errors_name_what_is_wrong(lab):
    lab.create_host("m1")
    # An unknown label is refused before the host exists.
    with pytest.raises(NotFoundError, match='no label "nolabel"'):
        lab.create_host("m9", labels=["nolabel"])
    with pytest.raises(NotFoundError):
        lab.host("m9")
    with pytest.raises(RefusedError, match="host m1 already exists"):
        lab.create_host("m1")
    lab.create_label("l")
    # add_label checks every host first: m1 keeps no label when m8 is unknown.
    with pytest.raises(NotFoundError, match='no host "m8"'):
        lab.add_label("l", ["m1", "m8"])
    assert lab.host("m1").labels == ()
    with pytest.raises(RefusedError, match="label l already exists"):
        lab.create_label("l")
    with pytest.raises(RefusedError, match='host status "Broken" is not one of ready, '):
        lab.hosts(status="Broken")
    with pytest.raises(RefusedError, match="not a name"):
        lab.add_label("l", [1])  # type: ignore[list-item]


# ---- jobs ----

def test_job_with_hosts_and_metahosts(lab, tmp_path):
    _small_lab(lab)
    control = tmp_path / "control"
    control.write_text("job.run_test('sleeptest', seconds=1)\n")
    before = datetime.datetime.now(UTC).replace(microsecond=0)
    job = lab.create_job("kernbench", control_file=control, hosts=["m1"],
                         meta_hosts=["x86_64", "bigmem"], dependencies=["x86_64"],
                         priority="high", keyvals={"build": "42"}, owner="alice",
                         reboot_before="never", reboot_after="if_all_tests_passed",
                         email_list=["a@example.org", "b@example.org"], timeout_hrs=5,
                         max_runtime_hrs=2, run_verify=False)
    assert (job.name, job.owner, job.priority, job.control_type) == (
        "kernbench", "alice", 2, "Client")
    assert job.control_file == control.read_text()
    assert (job.dependencies, dict(job.keyvals)) == (("x86_64",), {"build": "42"})
    assert (job.reboot_before, job.reboot_after) == ("Never", "If all tests passed")
    assert (job.timeout_hrs, job.max_runtime_hrs, job.run_verify) == (5, 2, False)
    assert job.email_list == "a@example.org,b@example.org"
    assert job.created_on >= before and job.created_on.tzinfo is not None
    assert repr(job).startswith("Job(id=%d, name='kernbench', owner='alice'" % job.id)
    assert lab.job(job.id) == job

    entries = job.entries()
    assert [(e.host, e.meta_host, e.status) for e in entries] == [
        ("m1", None, "Queued"), (None, "x86_64", "Queued"), (None, "bigmem", "Queued")]
    assert all(e.job_id == job.id and not e.aborted and e.started_on is None for e in entries)
    st = job.status()
    assert (dict(st.counts), st.state, st.complete, st.aborted) == ({"Queued": 3}, "Queued",
                                                                    False, 0)

    server = lab.create_job("srv", control="pass\n", hosts=["m2", "m3"], synch_count=2,
                            server=True, priority=7)
    assert (server.control_type, server.synch_count, server.priority) == ("Server", 2, 7)
    assert server.owner  # the current user by default
    assert [j.id for j in lab.jobs()] == [job.id, server.id]
    assert [j.id for j in lab.jobs(owner="alice")] == [job.id]
    assert [j.id for j in lab.jobs(running=True)] == [job.id, server.id]


def test_abort_records_who_and_when(lab):
    _small_lab(lab)
    job = lab.create_job("j", control="pass\n", hosts=["m1"], meta_hosts=["bigmem"])
    before = datetime.datetime.now(UTC).replace(microsecond=0)
    assert job.abort(by="carol") == 2
    after = datetime.datetime.now(UTC)
    entries = job.entries()
    assert all(e.aborted and e.aborted_by == "carol" for e in entries)
    assert all(before <= e.aborted_on <= after for e in entries)
    st = job.status()
    assert (st.state, st.aborted, st.complete) == ("Aborting", 2, False)
    assert "aborted: 2" in st.describe()
    # Aborting again changes nothing (who and when stay the first abort's).
    assert job.abort(by="dave") == 0
    assert [e.aborted_by for e in job.entries()] == ["carol", "carol"]
    other = lab.create_job("k", control="pass\n", hosts=["m2"])
    assert other.abort() == 1
    assert other.entries()[0].aborted_by  # the current user


def test_wait_times_out_cleanly(lab):
    _small_lab(lab)
    job = lab.create_job("waits", control="pass\n", hosts=["m1"], meta_hosts=["bigmem"])
    threads = threading.active_count()
    with pytest.raises(JobTimeoutError) as info:
        job.wait(timeout=0.5, poll=0.1)
    e = info.value
    assert isinstance(e, TimeoutError) and isinstance(e, LabError)
    msg = str(e)
    assert "job %d (waits)" % job.id in msg and "Queued: 2" in msg, msg
    assert (e.job_id, e.status.state, dict(e.status.counts)) == (job.id, "Queued", {"Queued": 2})
    # Nothing left behind: no thread, the job as it was.
    assert threading.active_count() == threads
    assert [x.status for x in job.entries()] == ["Queued", "Queued"]
    with pytest.raises(JobTimeoutError, match="within 0s"):
        job.wait(timeout=0)
    with pytest.raises(RefusedError, match="poll must be a positive"):
        job.wait(timeout=1, poll=0)


def test_wait_returns_the_final_status(sqlite_lab):
    # No scheduler yet: another writer of the database finishes the entries, as it will.
    lab, path = sqlite_lab
    _small_lab(lab)
    job = lab.create_job("done", control="pass\n", hosts=["m1", "m2"])
    failed = lab.create_job("bad", control="pass\n", hosts=["m3"])
    # In another process: two SQLite libraries in one process would share its POSIX locks.
    finish = (
        "import sqlite3, sys\n"
        "with sqlite3.connect(sys.argv[1], timeout=30) as db:\n"
        "    db.execute(\"UPDATE host_queue_entries SET status='Completed', complete=1, "
        "started_on=1700000000, finished_on=1700000060 WHERE job_id=?\", (int(sys.argv[2]),))\n"
        "    db.execute(\"UPDATE host_queue_entries SET status='Failed', complete=1 "
        "WHERE job_id=?\", (int(sys.argv[3]),))\n")
    subprocess.run([sys.executable, "-c", finish, path, str(job.id), str(failed.id)],
                   check=True, timeout=60)
    st = job.wait(timeout=30, poll=0.05)
    assert (st.state, st.complete, dict(st.counts)) == ("Completed", True, {"Completed": 2})
    assert job.entries()[0].finished_on == datetime.datetime(2023, 11, 14, 22, 14, 20, tzinfo=UTC)
    assert failed.wait(timeout=30).state == "Failed"
    assert lab.jobs(running=True) == []


def test_job_errors_name_the_problem(lab, tmp_path):
    _small_lab(lab)
    with pytest.raises(NotFoundError, match='unknown host.*nohost'):
        lab.create_job("j", control="pass\n", hosts=["m1", "nohost"])
    with pytest.raises(NotFoundError, match='unknown.*label.*nolabel'):
        lab.create_job("j", control="pass\n", meta_hosts=["nolabel"])
    with pytest.raises(NotFoundError, match='unknown.*label.*nodep'):
        lab.create_job("j", control="pass\n", hosts=["m1"], dependencies=["nodep"])
    with pytest.raises(RefusedError, match="priority 'asap' is not one of low, medium, high, "
                                           "urgent"):
        lab.create_job("j", control="pass\n", hosts=["m1"], priority="asap")
    with pytest.raises(RefusedError, match='reboot_before "sometimes" is not one of never, '
                                           "if_dirty, always"):
        lab.create_job("j", control="pass\n", hosts=["m1"], reboot_before="sometimes")
    with pytest.raises(RefusedError, match="has no hosts"):
        lab.create_job("j", control="pass\n")
    with pytest.raises(RefusedError, match="not both"):
        lab.create_job("j", control="pass\n", control_file="x", hosts=["m1"])
    with pytest.raises(RefusedError, match="not neither"):
        lab.create_job("j", hosts=["m1"])
    missing = tmp_path / "missing.control"
    with pytest.raises(RefusedError, match="cannot read control file %s" % missing):
        lab.create_job("j", control_file=missing, hosts=["m1"])
    with pytest.raises(NotFoundError, match='no job "999"'):
        lab.job(999)
    assert lab.jobs() == []  # nothing was created by the refused calls


# ---- parsed results ----

STATUS_LOG = (
    "START\t----\t----\ttimestamp=1700000000\tlocaltime=Nov 14 22:13:20\t\n"
    "\tSTART\tdbench\tdbench\ttimestamp=1700000001\tlocaltime=Nov 14 22:13:21\t\n"
    "\t\tGOOD\tdbench\tdbench\tkernel=6.6.1-autotest\ttimestamp=1700000031"
    "\tlocaltime=Nov 14 22:13:51\tcompleted successfully\n"
    "\tEND GOOD\tdbench\tdbench\tkernel=6.6.1-autotest\ttimestamp=1700000031"
    "\tlocaltime=Nov 14 22:13:51\t\n"
    "\tSTART\tsleeptest\tsleeptest\ttimestamp=1700000040\tlocaltime=Nov 14 22:14:00\t\n"
    "\t\tFAIL\tsleeptest\tsleeptest\ttimestamp=1700000041\tlocaltime=Nov 14 22:14:01"
    "\tslept too little\n"
    "\tEND FAIL\tsleeptest\tsleeptest\ttimestamp=1700000041\tlocaltime=Nov 14 22:14:01\t\n"
    "END FAIL\t----\t----\ttimestamp=1700000042\tlocaltime=Nov 14 22:14:02\t\n"
)


def _results_tree(top, job_id, owner="alice"):
    """A results directory in the legacy layout, as autoserv leaves `<jobid>-<owner>/`."""
    d = top / ("%d-%s" % (job_id, owner))
    (d / "dbench" / "results").mkdir(parents=True)
    (d / "sleeptest").mkdir()
    (d / "status.log").write_text(STATUS_LOG)
    (d / "keyval").write_text("job_queued=1699999990\njob_started=1700000000\n"
                              "job_finished=1700000042\nuser=%s\nlabel=kernbench\n"
                              "hostname=m1\nstatus_version=1\n" % owner)
    (d / "dbench" / "keyval").write_text("version=1\nclients=4\n")
    (d / "dbench" / "results" / "keyval").write_text(
        "throughput{perf}=512.5\nclients{attr}=4\n\nthroughput{perf}=498.25\nclients{attr}=4\n")
    return d


def test_tests_after_parse(lab, tmp_path):
    _small_lab(lab)
    job = lab.create_job("kernbench", control="pass\n", hosts=["m1"], owner="alice")
    other = lab.create_job("other", control="pass\n", hosts=["m2"])
    assert job.tests() == []
    tree = _results_tree(tmp_path, job.id)
    parsed = lab.parse(tree)
    assert parsed.problems == ()
    assert [(tag, machine, status, n) for tag, machine, status, n in parsed.jobs] == [
        (str(tree), "m1", "FAIL", 2)]

    tests = job.tests()
    assert [(t.name, t.subdir, t.status, t.reason) for t in tests] == [
        ("dbench", "dbench", "GOOD", "completed successfully"),
        ("sleeptest", "sleeptest", "FAIL", "slept too little")]
    dbench = tests[0]
    assert (dbench.kernel, dbench.machine, dbench.job_tag) == ("6.6.1-autotest", "m1", str(tree))
    assert dbench.started == datetime.datetime(2023, 11, 14, 22, 13, 21, tzinfo=UTC)
    assert dbench.finished == datetime.datetime(2023, 11, 14, 22, 13, 51, tzinfo=UTC)
    assert dict(dbench.attributes) == {"clients": "4", "version": "1"}
    assert [(i.index, dict(i.perf), dict(i.attr)) for i in dbench.iterations] == [
        (1, {"throughput": 512.5}, {"clients": "4"}),
        (2, {"throughput": 498.25}, {"clients": "4"})]
    assert tests[1].iterations == ()
    assert other.tests() == []

    # A reparse keeps the tests and their ids, without duplicates.
    lab.parse(tree)
    again = job.tests()
    assert [(t.id, t.name) for t in again] == [(t.id, t.name) for t in tests]


def test_parse_reports_a_bad_line_and_stores_the_rest(lab, tmp_path):
    _small_lab(lab)
    job = lab.create_job("j", control="pass\n", hosts=["m1"])
    tree = _results_tree(tmp_path, job.id)
    with open(tree / "status.log", "a") as f:
        f.write("NOT A STATUS LINE\n")
    parsed = lab.parse(tree)
    assert any("status.log:9" in p for p in parsed.problems), parsed.problems
    assert len(job.tests()) == 2
    with pytest.raises(LabError, match="cannot read the results directory"):
        lab.parse(tmp_path / "nowhere")


# ---- the GIL ----

HOLD_WRITE_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
"""


def test_database_calls_release_the_gil(sqlite_lab):
    # Another process holds SQLite's write lock (POSIX locks do not conflict within one
    # process), so create_host waits inside the native call (its busy timeout is 30 s). This
    # thread must run meanwhile and end the lock: with the GIL held it could not, and
    # create_host would fail "database is locked".
    lab, path = sqlite_lab
    blocker = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, path],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert blocker.stdout.readline() == "locked\n"
        started, done, result = threading.Event(), threading.Event(), {}

        def create():
            started.set()
            try:
                result["host"] = lab.create_host("m1")
            except Exception as e:  # noqa: BLE001 - reported by the assertion below
                result["error"] = e
            done.set()

        t = threading.Thread(target=create)
        t.start()
        assert started.wait(30)
        spins = 0
        for _ in range(20):  # Python work in this thread while the other waits in native code
            time.sleep(0.02)
            spins += 1
        still_waiting = not done.is_set()
        blocker.stdin.write("release\n")
        blocker.stdin.flush()
        assert blocker.wait(60) == 0
        t.join(60)
    finally:
        if blocker.poll() is None:
            blocker.kill()
            blocker.wait()
    assert spins == 20 and still_waiting, "create_host returned while the lock was held: %r" % (
        result,)
    assert "error" not in result, result.get("error")
    assert result["host"].hostname == "m1"


# ---- finding the database ----

def test_lab_finds_the_database_like_the_cli(tmp_path, monkeypatch):
    monkeypatch.delenv("AUTOTEST_DB", raising=False)
    monkeypatch.delenv("AUTOTEST_CONFIG_DIR", raising=False)
    # The default file, below XDG_DATA_HOME.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with Lab(migrate=True) as lab:
        assert lab.url == "sqlite:%s" % (tmp_path / "data" / "autotest" / "lab.db")
        assert lab.backend == "sqlite"
    # [AUTOTEST_WEB] of global_config.ini: a relative file is beside the config.
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "global_config.ini").write_text("[AUTOTEST_WEB]\ndb_type: sqlite\ndatabase: web.db\n")
    with Lab(config_dir=conf, migrate=True) as lab:
        assert lab.url == "sqlite:%s" % (conf / "web.db")
    monkeypatch.setenv("AUTOTEST_CONFIG_DIR", str(conf))
    with Lab() as lab:
        assert lab.url == "sqlite:%s" % (conf / "web.db")
    # AUTOTEST_DB wins over the config; an explicit URL over both.
    monkeypatch.setenv("AUTOTEST_DB", "sqlite:%s" % (tmp_path / "env.db"))
    with Lab.migrate() as lab:
        assert lab.url == "sqlite:%s" % (tmp_path / "env.db")
    with Lab.migrate("sqlite:%s" % (tmp_path / "arg.db"), config_dir=conf) as lab:
        assert lab.url == "sqlite:%s" % (tmp_path / "arg.db")
    assert autotest.Lab is Lab


def test_open_errors(tmp_path, lab_url, monkeypatch):
    monkeypatch.delenv("AUTOTEST_DB", raising=False)
    # A database without the schema: refused with the fix, and not changed.
    with pytest.raises(SchemaError, match="run `autotest db migrate`"):
        Lab(lab_url)
    with pytest.raises(RefusedError, match="mysql://h/d.*is not supported"):
        Lab("mysql://h/d")
    conf = tmp_path / "bad"
    conf.mkdir()
    (conf / "global_config.ini").write_text("[AUTOTEST_WEB]\ndb_type: oracle\n")
    with pytest.raises(LabError, match=r"global_config.ini: \[AUTOTEST_WEB\] db_type \"oracle\""):
        Lab(config_dir=conf)


REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(REPO, "examples", "python", "lab_jobs.py")
LAB_PY = os.path.join(REPO, "autotest-py", "python", "autotest", "lab.py")


def test_the_sdk_example_runs(lab_url):
    # As a harness would run it: its own process, twice on the same database.
    for job_id in (1, 2):
        p = subprocess.run([sys.executable, EXAMPLE, lab_url], capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "kernbench (id %d): Queued" % job_id in p.stdout, p.stdout
        assert "on m1: Queued" in p.stdout and "any host labelled x86_64" in p.stdout, p.stdout
        assert "wait: job %d (kernbench) did not finish within 0.5s" % job_id in p.stdout
    p = subprocess.run([sys.executable, EXAMPLE, "mysql://h/d"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 1 and "is not supported" in p.stderr, p.stdout + p.stderr


def test_the_sdk_is_typed_for_mypy_strict():
    try:
        import mypy  # noqa: F401
    except ImportError:
        pytest.fail("mypy is missing: `pip install mypy` (./dev.sh setup installs it)")
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", EXAMPLE,
                        LAB_PY], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
