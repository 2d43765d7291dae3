#!/usr/bin/env bash
# Cost of a cron run of `autotest mirror --once` when nothing is new, on a kernel.org-sized tree
# (generated: v2.6 to v6.x tarballs in three compressions, stable, rc and git patches, plus the
# signatures, ChangeLogs and incremental patches a real tree has), beside the floor any mirror
# job pays: the same rsync, with the same filter rules, alone. Both local-to-local, same run;
# wall time and peak RSS from /usr/bin/time -v, medians of N runs.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-7}
BIN=${AUTOTEST_BIN:-target/release/autotest}
[ -x "$BIN" ] || BIN=target/debug/autotest
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work/upstream" <<'PY'
import os, sys
top = sys.argv[1]
def put(rel):
    p = os.path.join(top, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(rel)
n = 0
series = [("v2.6", "2.6.%d", 40)] + [("v%d.x" % m, "%d.%%d" % m, k) for m, k in ((3, 20), (4, 21), (5, 20), (6, 12))]
for d, fmt, count in series:
    for i in range(count):
        base = fmt % i
        for ext in ("tar.xz", "tar.gz", "tar.bz2", "tar.sign"):
            put("%s/linux-%s.%s" % (d, base, ext))
        for rc in range(1, 9):
            put("%s/testing/patch-%s-rc%d.xz" % (d, base, rc))
            for g in range(1, 6):
                put("%s/snapshots/patch-%s-rc%d-git%d.xz" % (d, base, rc, g))
        for s in range(1, 60):
            for ext in ("xz", "gz", "sign"):
                put("%s/patch-%s.%d.%s" % (d, base, s, ext))
            put("%s/ChangeLog-%s.%d" % (d, base, s))
            put("%s/incr/patch-%s.%d-%d.xz" % (d, base, s, s + 1))
for root, dirs, files in os.walk(top):
    n += len(files)
print("generated %d files" % n)
PY

mkdir -p "$work/queue/x86" "$work/ctl"
cp examples/control/basic-tests "$work/ctl/"
echo "x86 $work/ctl/basic-tests" > "$work/clients"
filters=()
while IFS= read -r rule; do filters+=("--filter=$rule"); done <<'RULES'
+ /v2.6/
+ /v[3-9].x/
- /*/
- incr/
+ */
+ linux-*.tar.xz
+ linux-*.tar.gz
+ linux-*.tar.bz2
+ patch-*.xz
+ patch-*.gz
+ patch-*.bz2
- *
RULES
# First run: everything arrives (and is queued once); what is measured afterwards is the
# steady state of a cron job: nothing new.
# The first run's cost beside rsync filling an empty directory alone (one run each).
/usr/bin/time -f "%e %M" -o "$work/first.t" "$BIN" mirror --once -c "$work/clients" --source "$work/upstream" "$work/mirror" "$work/queue" > "$work/first.out"
/usr/bin/time -f "%e %M" -o "$work/first-rsync.t" rsync -rt --prune-empty-dirs --timeout=300 "${filters[@]}" "$work/upstream/" "$work/mirror-rsync/"
echo "first run: queued $(ls "$work/queue/x86" | wc -l) files, mirror holds $(find "$work/mirror" -type f | wc -l) files:" \
  "$(awk '{printf "%.2f s, peak RSS %d KiB", $1, $2}' "$work/first.t");" \
  "rsync alone into an empty directory: $(awk '{printf "%.2f s, peak RSS %d KiB", $1, $2}' "$work/first-rsync.t")"
rm -f "$work"/queue/x86/*

measure() { # label, command...
  local label=$1; shift
  local walls=() rss=()
  for i in $(seq "$N"); do
    /usr/bin/time -v -o "$work/t" "$@" >/dev/null 2>&1
    walls+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {split($2,a,":"); print a[1]*60+a[2]}' "$work/t")")
    rss+=("$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/t")")
  done
  local mw mr
  mw=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  mr=$(printf '%s\n' "${rss[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '%-58s median wall %6.3f s   median peak RSS %7d KiB   (N=%d)\n' "$label" "$mw" "$mr" "$N"
  echo "$mw" > "$work/$2.res"
}

measure "autotest mirror --once (rsync + scan + state), nothing new" \
  "$BIN" mirror --once -c "$work/clients" --source "$work/upstream" "$work/mirror" "$work/queue"
measure "floor: rsync -rt with the same filter rules, alone" \
  rsync -rt --prune-empty-dirs --timeout=300 "${filters[@]}" "$work/upstream/" "$work/mirror/"
[ -z "$(ls "$work/queue/x86")" ] || { echo "a no-op run queued something" >&2; exit 1; }
read aw < "$work/mirror.res"
read fw < "$work/-rt.res"
awk -v aw="$aw" -v fw="$fw" 'BEGIN { printf "detection and bookkeeping over rsync alone: %+.3f s (ratio %.2f)\n", aw-fw, aw/fw }'
