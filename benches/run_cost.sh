#!/usr/bin/env bash
# Whole-process cost of `autotest run` on a one-line sleeptest control file (sleeptest seconds=1),
# beside the floor a user cannot go under: a python3 process that sleeps the same second.
# Wall time and peak RSS from /usr/bin/time -v; medians of N runs, measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-7}
BIN=${AUTOTEST_BIN:-target/release/autotest}
[ -x "$BIN" ] || BIN=target/debug/autotest
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "job.run_test('sleeptest', seconds=1)" > "$work/control"

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
  printf '%-48s median wall %6.3f s   median peak RSS %7d KiB   (N=%d)\n' "$label" "$mw" "$mr" "$N"
  echo "$mw $mr" > "$work/$label.res"
}

measure "autotest run (sleeptest seconds=1)" "$BIN" run --results "$work/r" "$work/control"
measure "floor: python3 -c 'time.sleep(1)'" python3 -c 'import time; time.sleep(1)'
read aw ar < "$work/autotest run (sleeptest seconds=1).res"
read fw fr < "$work/floor: python3 -c 'time.sleep(1)'.res"
awk -v aw="$aw" -v fw="$fw" -v ar="$ar" -v fr="$fr" 'BEGIN {
  printf "overhead over the floor: %+.3f s wall (ratio %.2f), peak RSS ratio %.2f\n", aw-fw, aw/fw, ar/fr }'
