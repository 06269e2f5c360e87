#!/bin/sh
# Every run's own store is named: in the environment block and the JSON (one
# per run), and in the last words of a forced quit (second Ctrl-C), which
# leaves that store behind.  SQLite file databases, so no server is needed.
set -u
. "${top_srcdir:?}/tests/common.sh"

cat >"$tmp/two.ini" <<INI
[run]
duration = 1s
warmup = 0s
configs = 1:1, 2:2

[workload]
scenario = fanout

[provider file]
plugin = sqlite
database = $tmp/bench.db
INI
"$DURABENCH" run "$tmp/two.ini" --no-progress --json "$tmp/out.json" >"$tmp/out.md" 2>"$tmp/err"
rc=$?
check "a two-run SQLite file run completes (exit $rc)" [ "$rc" -eq 0 ]
json_names_stores() {
	[ "$(json_field "$tmp/out.json" runs.#)" = 2 ] &&
		has "$(json_field "$tmp/out.json" runs.0.store)" "$tmp/bench.db" &&
		has "$(json_field "$tmp/out.json" runs.1.store)" "$tmp/bench.db"
}
check "the JSON names each run's store" json_names_stores
check "the environment block names each run's store" \
	[ "$(grep -c "^- run file [12]:[12]: .*$tmp/bench.db" "$tmp/out.md")" -eq 2 ]

# A forced quit: the first Ctrl-C starts the drain, the second quits at once
# and names the store it leaves behind.
sed 's/^duration = 1s/duration = 60s/' "$tmp/two.ini" >"$tmp/long.ini"
# A shell starts background commands with SIGINT ignored (and durabench then
# keeps ignoring it): exec it with the default action, as from a terminal.
trap '' INT
python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$DURABENCH" run "$tmp/long.ini" --no-progress \
	>"$tmp/long.md" 2>"$tmp/long.err" &
run_pid=$!
for _ in $(seq 1 300); do
	grep -q "running file 1:1" "$tmp/long.err" && break
	sleep 0.1
done
kill -INT "$run_pid"
for _ in $(seq 1 100); do
	grep -q "interrupted" "$tmp/long.err" && break
	sleep 0.1
done
kill -INT "$run_pid"
reap "$run_pid" 300 # killed only if it ignored both (a failure below)
check "the second Ctrl-C quits at once (exit $rc)" [ "$rc" -eq 130 ] ||
	sed 's/^/# /' "$tmp/long.err"
names_store() {
	tail -n 1 "$tmp/long.err" |
		grep -q "interrupted again, quitting now; left behind by file 1:1: .*$tmp/bench.db"
}
check "its last message names the store it leaves behind" names_store
finish
