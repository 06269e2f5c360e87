#!/bin/sh
# A provider call that never returns does not keep the report back: with a
# plugin whose renew_work_lock never returns (memstore built with
# MEMSTORE_BUG_HANG), the lock renewer of the runtime is stuck for good
# once an activity outlives half its lock.  After the drain the core waits
# stop_timeout for the runtime's threads, abandons the stuck one, leaves
# the store open, still verifies and reports, and exits 1 by itself.
set -u
: "${DURABENCH:?}" "${TEST_PLUGIN_DIR:?}"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else notok "$2"; fi; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/durabench-stuck.XXXXXX")
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

# work locks last 5 s; the renewer looks every 1.25 s and renews a lock
# half used up: a 4.5 s activity is certainly renewed (between 2.5 s and
# 4.5 s it sees at least one look)
cat >"$tmp/stuck.ini" <<INI
[run]
duration = 1s
warmup = 0s
drain_timeout = 20s
stop_timeout = 2s
configs = 1:1

[workload]
scenario = fanout
max_concurrent = 1
tasks_per_instance = 1
activity_delay = 4500ms

[provider hang]
plugin = $TEST_PLUGIN_DIR/memstore_hang.so
INI
"$DURABENCH" run "$tmp/stuck.ini" --no-progress --json "$tmp/out.json" >"$tmp/out.md" 2>"$tmp/err" &
pid=$!
ended=0
for _ in $(seq 1 600); do
	kill -0 "$pid" 2>/dev/null || { ended=1; break; }
	sleep 0.1
done
check $((1 - ended)) "durabench ended by itself though a provider call never returned"
[ "$ended" -eq 1 ] || kill -KILL "$pid"
wait "$pid"
rc=$?
pid=""
[ "$rc" -eq 1 ]
check $? "exit status 1 (got $rc)"
grep -q "1 runtime thread(s) still in a provider call .* (stop_timeout): abandoned, the store is left open" "$tmp/err"
check $? "stderr names the abandoned thread and the store left open"
[ "$rc" -eq 1 ] || sed 's/^/# /' "$tmp/err"
python3 - "$tmp/out.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
print("launched", r["launched"], "completed", r["completed"], "verified", r["verified"],
      "abandoned_threads", r["abandoned_threads"])
assert r["abandoned_threads"] == 1
assert r["launched"] >= 1 and r["completed"] == r["launched"] == r["verified"]
PY
check $? "the report counts the abandoned thread; every instance still completed and verified"
sed 's/^/# /' "$tmp/py"
grep -q "never returned from a provider call" "$tmp/out.md"
check $? "the per-run problems under the table say so"
echo "1..$n"
[ "$failed" -eq 0 ]
