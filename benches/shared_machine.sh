#!/usr/bin/env bash
# The load case of one machine shared by many queues: Q queues x J jobs, every queue's
# .machines is `localhost`, all dropped at once into a running start-all-queues. Counts the jobs
# that ended with their own END GOOD, own control file and pidfile `0 0`, and prints the wall
# time and per-job throughput. Usage: benches/shared_machine.sh [Q] [J] [autotest binary]
set -euo pipefail
Q=${1:-100}; J=${2:-5}; BIN=${3:-target/release/autotest}
BIN=$(readlink -f "$BIN")
top=$(mktemp -d); trap 'kill "$sup" 2>/dev/null || true; rm -rf "$top"' EXIT
mkdir -p "$top/results" "$top/staging"
printf '[AUTOSERV]\nclient_autodir_paths: %s/autodir\n' "$top" > "$top/global_config.ini"
for q in $(seq -w 1 "$Q"); do mkdir -p "$top/queue/q$q"; echo localhost > "$top/queue/q$q/.machines"; done
AUTOTEST_CONFIG_DIR=$top "$BIN" start-all-queues "$top" 2>"$top/supervisor.log" & sup=$!
sleep 1
start=$(date +%s.%N)
for j in $(seq 1 "$J"); do for q in $(seq -w 1 "$Q"); do
  echo "job.run_test('sleeptest', seconds=0, tag='q${q}_$j')" > "$top/staging/q$q-$j"
  mv "$top/staging/q$q-$j" "$top/queue/q$q/job$j"
done; done
total=$((Q * J))
while :; do
  done_=$(find "$top/results" -maxdepth 2 -name .autoserv_execute -exec sh -c '[ "$(wc -l < "$1")" -eq 3 ]' sh {} \; -print | wc -l)
  [ "$done_" -ge "$total" ] && break
  sleep 2
done
end=$(date +%s.%N)
good=0
for q in $(seq -w 1 "$Q"); do for j in $(seq 1 "$J"); do
  d=$top/results/q$q-job$j
  if grep -q "END GOOD	sleeptest.q${q}_$j	" "$d/status.log" 2>/dev/null \
     && [ "$(grep -c 'END GOOD	sleeptest\.' "$d/status.log")" -eq 1 ] \
     && grep -q "tag='q${q}_$j'" "$d/job$j" \
     && [ "$(tail -n 2 "$d/.autoserv_execute" | tr '\n' ' ')" = "0 0 " ]; then good=$((good + 1)); fi
done; done
awk -v s="$start" -v e="$end" -v n="$total" -v g="$good" -v q="$Q" -v j="$J" 'BEGIN {
  printf "queues=%d jobs_per_queue=%d jobs=%d accounted_with_own_results=%d wall_s=%.1f jobs_per_s=%.2f\n", q, j, n, g, e - s, n / (e - s) }'
