#!/usr/bin/env bash
# `autotest host list` latency on a lab of HOSTS hosts (default 10,000) with labels, in a
# migrated SQLite store filled by bulk SQL, end to end as processes: plain, `-b label` and
# `--locked`. Beside it, in the same run and on the same file, the anchor: the same lists done
# the legacy way (the hosts, then each host's labels one query per host) by a python3 process
# with sqlite3. Medians of N runs; the row counts of both are checked to be equal.
# Issue 11 §4 b (hosts half); the goal is under 100 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-11}
HOSTS=${HOSTS:-10000}
BIN=${AUTOTEST_BIN:-${CARGO_TARGET_DIR:-target}/release/autotest}
[ -x "$BIN" ] || BIN=${CARGO_TARGET_DIR:-target}/debug/autotest
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/lab.db"

"$BIN" db migrate --db "sqlite:$db" >/dev/null

# 5 platforms, 50 labels; every host has a platform and 3 labels; one host in 10 is locked.
python3 - "$db" "$HOSTS" <<'PY'
import sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
now = int(time.time())
c.executemany("INSERT INTO labels (id, name, platform) VALUES (?, ?, 1)",
              [(i + 1, "platform%d" % i) for i in range(5)])
c.executemany("INSERT INTO labels (id, name) VALUES (?, ?)",
              [(i + 6, "label%02d" % i) for i in range(50)])
c.executemany(
    "INSERT INTO hosts (id, hostname, locked, locked_by, lock_time, created_on) VALUES (?, ?, ?, ?, ?, ?)",
    [(i + 1, "host%05d" % i, int(i % 10 == 0), "alice" if i % 10 == 0 else None,
      now if i % 10 == 0 else None, now) for i in range(n)])
pairs = []
for i in range(n):
    pairs.append((i + 1, 1 + i % 5))
    for k in range(3):
        pairs.append((i + 1, 6 + (i * 7 + k * 13) % 50))
c.executemany("INSERT OR IGNORE INTO host_labels (host_id, label_id) VALUES (?, ?)", pairs)
c.commit()
PY

# The legacy way: one query for the hosts, then one per host for its labels.
cat >"$work/legacy.py" <<'PY'
import sqlite3, sys
db, label, locked = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
c = sqlite3.connect(db)
sql = "SELECT id, hostname, status, locked, locked_by FROM hosts WHERE invalid = 0"
args = []
if label:
    sql += " AND id IN (SELECT host_id FROM host_labels WHERE label_id = (SELECT id FROM labels WHERE name = ?))"
    args.append(label)
if locked:
    sql += " AND locked = 1"
out = ["Host  Status  Locked  Locked by  Platform  Labels"]
for hid, name, status, lk, by in c.execute(sql + " ORDER BY hostname", args).fetchall():
    labels = c.execute("SELECT l.name, l.platform FROM labels l JOIN host_labels hl ON hl.label_id = l.id WHERE hl.host_id = ? ORDER BY l.name", (hid,)).fetchall()
    plat = next((n for n, p in labels if p), "")
    out.append("  ".join([name, status, str(bool(lk)), by or "", plat, ", ".join(n for n, _ in labels)]))
sys.stdout.write("\n".join(out) + "\n")
PY

python3 - "$BIN" "$db" "$work/legacy.py" "$N" "$HOSTS" <<'PY'
import os, statistics, subprocess, sys, time
bin_, db, legacy, n, hosts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def median_ms(cmd):
    """Median wall and CPU (user+sys) ms of n runs, and the rows printed."""
    walls, cpus, lines = [], [], None
    for _ in range(n):
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
        walls.append((time.perf_counter() - t) * 1000)
        assert os.waitstatus_to_exitcode(status) == 0, cmd
        cpus.append((ru.ru_utime + ru.ru_stime) * 1000)
        lines = out.count(b"\n") - 1
    return statistics.median(walls), statistics.median(cpus), lines
print("host list, %s hosts, median of %d runs (%s); wall / CPU user+sys" % (hosts, n, bin_))
print("%-14s %22s %22s %7s" % ("case", "autotest", "legacy python", "rows"))
cases = [("plain", [], "", "0"), ("-b label07", ["-b", "label07"], "label07", "0"), ("--locked", ["--locked"], "", "1")]
for case, extra, label, locked in cases:
    w, c, rows = median_ms([bin_, "host", "list", "--db", "sqlite:" + db] + extra)
    lw, lc, lrows = median_ms([sys.executable, legacy, db, label, locked])
    assert rows == lrows, (case, rows, lrows)
    print("%-14s %9.1f / %6.1f ms %9.1f / %6.1f ms %7d" % (case, w, c, lw, lc, rows))
w, c, rows = median_ms([bin_, "host", "list", "--json", "--db", "sqlite:" + db])
print("%-14s %9.1f / %6.1f ms" % ("plain --json", w, c))
PY
