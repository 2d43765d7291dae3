"""The seed's basic-tests control file, unchanged, with the built-in tests and real workloads."""

import os
import shutil

from conftest import REPO, normalize, run_control


def test_seed_basic_tests_control_file(job_dir):
    shutil.copy(os.path.join(REPO, "examples", "control", "basic-tests"), job_dir / "basic-tests")
    r = run_control(job_dir, None, control_name="basic-tests", timeout=900)
    assert r.code == 0, r.stderr
    lines = [l for l in r.status_lines()]
    # Every test is a START / result / END group at depth 1, in the file's order.
    groups = [(l.split("\t")[2], l.split("\t")[1]) for l in lines if l.startswith("\tEND ")]
    assert [g[0] for g in groups] == ["kernbench", "dbench", "tbench", "reaim", "fsx", "bonnie"]
    status = dict((name, code.replace("END ", "")) for name, code in groups)
    for name in ("dbench", "tbench", "fsx", "bonnie"):
        assert status[name] == "GOOD", (name, r.status)
    # No kernel source or build tools here, and reaim has no Debian package: TEST_NA, saying why.
    for name in ("kernbench", "reaim"):
        assert status[name] in ("TEST_NA", "GOOD"), (name, r.status)
    na = [l for l in lines if "\tTEST_NA\t" in l]
    for l in na:
        assert "install" in l or "pass kernel=" in l, l
    assert lines[-1] == ("END TEST_NA\t----\t----\t" if na else "END GOOD\t----\t----\t")

    def perf(test):
        text = r.read(test, "results", "keyval")
        return dict(l.split("{perf}=") for l in text.splitlines() if "{perf}=" in l)

    assert float(perf("dbench")["throughput"]) > 0
    assert float(perf("tbench")["throughput"]) > 0
    assert int(float(perf("fsx")["ops"])) > 0
    assert "size" in perf("bonnie")
    for test in ("dbench", "tbench", "fsx", "bonnie"):
        assert r.read(test, "keyval").startswith("version=")
    assert "job_finished=" in r.read("keyval")
