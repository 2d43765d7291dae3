#!/usr/bin/env bash
# `autotest job list` latency on a big lab database (issue 11 §4 b, goal under 100 ms), beside
# the legacy way in the same run. Fills a migrated SQLite store with JOBS jobs (one host queue
# entry each, a second for every tenth job; all complete but the newest 2,000) and HOSTS hosts
# with bulk SQL (recursive CTEs), then times each command end to end as a process, median of N:
#   default (the current user's), -u USER, --all, --running,
#   and the anchor: the user's jobs fetched, then each job's entries counted one query per job
#   (legacy atest/AFE), in python3's sqlite3 against the same file.
# More commands to time: give them as arguments, each one string, e.g.
#   benches/lab_list.sh "host list" "host list -b label3"
# Env: AUTOTEST (the binary; default target/release/autotest if built, else target/debug),
#      JOBS (1000000), HOSTS (10000), N (5), KEEP_DB (a path: keep the database there).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
if [ -z "${AUTOTEST:-}" ]; then
  AUTOTEST=$TARGET/release/autotest
  [ -x "$AUTOTEST" ] || AUTOTEST=$TARGET/debug/autotest
fi
[ -x "$AUTOTEST" ] || { echo "no autotest binary at $AUTOTEST: cargo build -p autotest-cli" >&2; exit 1; }
JOBS=${JOBS:-1000000} HOSTS=${HOSTS:-10000} N=${N:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DB=${KEEP_DB:-$WORK/lab.db}
rm -f "$DB" "$DB-wal" "$DB-shm"
URL="sqlite:$DB"
USER_NAME=user7   # one of 100 owners: JOBS/100 jobs

"$AUTOTEST" db migrate --db "$URL" >/dev/null
echo "binary: $AUTOTEST; filling $DB with $JOBS jobs and $HOSTS hosts"
python3 - "$DB" "$JOBS" "$HOSTS" <<'EOF'
import sqlite3, sys, time
db, jobs, hosts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.perf_counter()
c = sqlite3.connect(db)
c.executescript(f"""
PRAGMA synchronous = OFF;
BEGIN;
INSERT INTO hosts (hostname, status, created_on)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {hosts})
  SELECT 'host' || i, CASE WHEN i % 10 = 0 THEN 'Running' ELSE 'Ready' END, 1700000000 FROM n;
INSERT INTO labels (name)
  WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49)
  SELECT 'label' || i FROM n;
INSERT INTO host_labels (host_id, label_id) SELECT h.id, l.id FROM hosts h JOIN labels l ON l.name = 'label' || (h.id % 50);
INSERT INTO jobs (owner, name, priority, control_file, control_type, synch_count, timeout_hrs,
                  max_runtime_hrs, created_on)
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {jobs})
  SELECT 'user' || (i % 100), 'job' || i, i % 4, 'job.run_test(''sleeptest'')', 'Client', 1, 72, 72,
         1700000000 + i FROM n;
INSERT INTO host_queue_entries (job_id, host_id, status, active, complete, execution_subdir)
  SELECT id, 1 + id % {hosts},
         CASE WHEN id <= {jobs} - 2000 THEN 'Completed' WHEN id % 3 = 0 THEN 'Running' ELSE 'Queued' END,
         CASE WHEN id > {jobs} - 2000 AND id % 3 = 0 THEN 1 ELSE 0 END,
         CASE WHEN id <= {jobs} - 2000 THEN 1 ELSE 0 END, 'host' || (1 + id % {hosts})
  FROM jobs;
INSERT INTO host_queue_entries (job_id, host_id, status, active, complete)
  SELECT id, 1 + (id + 1) % {hosts}, CASE WHEN id <= {jobs} - 2000 THEN 'Failed' ELSE 'Queued' END,
         0, CASE WHEN id <= {jobs} - 2000 THEN 1 ELSE 0 END
  FROM jobs WHERE id % 10 = 0;
COMMIT;
""")
c.close()
print("filled in %.1f s" % (time.perf_counter() - t0))
EOF
ls -l "$DB" | awk '{printf "database: %.0f MB\n", $5 / 1e6}'

# The anchor: the legacy front end's list, one count query per job of the user.
cat > "$WORK/legacy_list.py" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("SELECT id, name, priority, owner, created_on FROM jobs WHERE owner = ? ORDER BY id DESC",
                 (sys.argv[2],)).fetchall()
out = []
for r in rows:
    counts = c.execute("SELECT status, COUNT(*) FROM host_queue_entries WHERE job_id = ? GROUP BY status",
                       (r[0],)).fetchall()
    out.append("%s %s %s" % (r[0], r[1], " ".join("%s:%d" % s for s in counts)))
sys.stdout.write("\n".join(out) + "\n")
EOF

# Median wall time of N runs of a command (its output discarded), in ms.
median_ms() {
  python3 - "$N" "$@" <<'EOF'
import os, subprocess, sys, time
n, cmd = int(sys.argv[1]), sys.argv[2:]
times = []
for _ in range(n):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    times.append((time.perf_counter() - t) * 1000)
    if r.returncode != 0:
        sys.exit("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.decode()))
times.sort()
print("%.1f" % times[len(times) // 2])
EOF
}

export LOGNAME=$USER_NAME
printf '%-44s %12s\n' "command (median of $N)" "ms"
row() { printf '%-44s %12s\n' "$1" "$(median_ms "${@:2}")"; }
row "job list (default: $USER_NAME, limit 100)" "$AUTOTEST" job list --db "$URL"
row "job list -u user3" "$AUTOTEST" job list -u user3 --db "$URL"
row "job list --all" "$AUTOTEST" job list --all --db "$URL"
row "job list --all --running" "$AUTOTEST" job list --all --running --db "$URL"
row "job list --limit 0 ($USER_NAME, all)" "$AUTOTEST" job list --limit 0 --db "$URL"
row "anchor: legacy list of $USER_NAME (python3)" python3 "$WORK/legacy_list.py" "$DB" "$USER_NAME"
for extra in "$@"; do
  # shellcheck disable=SC2086 # each extra is a command line of words
  row "$extra" "$AUTOTEST" $extra --db "$URL"
done
