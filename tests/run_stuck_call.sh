#!/bin/sh
# A provider call that never returns does not keep the report back: with a
# plugin whose renew_work_lock never returns (memstore built with
# MEMSTORE_BUG_HANG), the lock renewer of the runtime is stuck for good
# once an activity outlives half its lock.  After the drain the core waits
# stop_timeout for the runtime's threads, abandons the stuck one, leaves
# the store open, still verifies and reports, and exits 1 by itself.
set -u
: "${TEST_PLUGIN_DIR:?}"
. "${top_srcdir:?}/tests/common.sh"

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
run_pid=$!
check "durabench ended by itself though a provider call never returned" reap "$run_pid" 600
check "exit status 1 (got $rc)" [ "$rc" -eq 1 ] || sed 's/^/# /' "$tmp/err"
check "stderr names the abandoned thread and the store left open" \
	grep -q "1 runtime thread(s) still in a provider call .* (stop_timeout): abandoned, the store is left open" "$tmp/err"
field() { json_field "$tmp/out.json" "runs.0.$1"; }
launched=$(field launched)
echo "# launched $launched completed $(field completed) verified $(field verified)" \
	"abandoned_threads $(field abandoned_threads)"
check "the report counts the abandoned thread" [ "$(field abandoned_threads)" = 1 ]
all_verified() {
	[ "$launched" -ge 1 ] && [ "$(field completed)" = "$launched" ] &&
		[ "$(field verified)" = "$launched" ]
}
check "every instance still completed and verified" all_verified
check "the per-run problems under the table say so" \
	grep -q "never returned from a provider call" "$tmp/out.md"
finish
