#!/bin/sh
# A SQLite store that runs out of room (option max_size): every write past
# the bound fails, and the run must say so -- exit 1, the failure named
# "full" on a file store and "unusable" in memory (which keeps no rollback
# journal, so a failed write poisons the store rather than half-applying a
# transaction) -- while every instance that did complete is still verified
# and none is counted twice.  Also: max_size values that are not sizes are
# refused up front with the key named.
set -u
. "${top_srcdir:?}/tests/common.sh"

scenario() { # DATABASE MAX_SIZE
	cat <<EOF2
[run]
duration = 1500ms
warmup = 0s
drain_timeout = 3s
configs = 2:2

[workload]
scenario = fanout
max_concurrent = 64
tasks_per_instance = 5
activity_delay = 0ms

[provider small]
plugin = sqlite
database = $1
max_size = $2
EOF2
}

for kind in file memory; do
	if [ "$kind" = file ]; then db="$tmp/full.db"; want="database or disk is full"
	else db=":memory:"; want="is unusable"; fi
	scenario "$db" 256KiB >"$tmp/$kind.ini"
	timeout 120 "$DURABENCH" run "$tmp/$kind.ini" --no-progress --json "$tmp/$kind.json" \
		>"$tmp/$kind.md" 2>"$tmp/$kind.err"
	rc=$?
	check "$kind store past max_size: the run exits 1 (got $rc)" [ "$rc" -eq 1 ]
	[ "$rc" -eq 1 ] || sed 's/^/# /' "$tmp/$kind.err"
	first=$(json_field "$tmp/$kind.json" runs.0.first_failure)
	check "$kind store past max_size: the first failure says why ($first)" has "$first" "$want"
	launched=$(json_field "$tmp/$kind.json" runs.0.launched)
	completed=$(json_field "$tmp/$kind.json" runs.0.completed)
	nfailed=$(json_field "$tmp/$kind.json" runs.0.failed.+)
	left=$(json_field "$tmp/$kind.json" runs.0.in_flight_at_end)
	verified=$(json_field "$tmp/$kind.json" runs.0.verified)
	check "$kind store: some instances completed before the store filled ($completed)" \
		[ "$completed" -gt 0 ]
	check "$kind store: every completed instance verified ($verified of $completed)" \
		[ "$verified" -eq "$completed" ]
	# in_flight_at_end: in flight when the launches stopped; only those
	# can still be running at the drain timeout
	timed_out=$(json_field "$tmp/$kind.json" runs.0.failed.timeout)
	check "$kind store: launched = completed + failed, nothing counted twice ($launched = $completed + $nfailed)" \
		[ "$launched" -eq $((completed + nfailed)) ]
	check "$kind store: only instances in flight when launching ended timed out ($timed_out <= $left)" \
		[ "$timed_out" -le "$left" ]
done

scenario ":memory:" 12MB >"$tmp/bad.ini"
"$DURABENCH" run "$tmp/bad.ini" --no-progress >/dev/null 2>"$tmp/bad.err"
rc=$?
check "max_size = 12MB is refused (exit 2, got $rc)" [ "$rc" -eq 2 ]
check "the refusal names the key and the accepted units" grep -q "max_size = '12MB' is not a size" "$tmp/bad.err"
scenario ":memory:" 2048GiB >"$tmp/big.ini"
"$DURABENCH" run "$tmp/big.ini" --no-progress >/dev/null 2>"$tmp/big.err"
check "max_size above 1 TiB is refused" grep -q "at most 1 TiB" "$tmp/big.err"
finish
