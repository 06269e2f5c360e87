#!/bin/sh
# Every run's own store is named: in the environment block and the JSON (one
# per run), and in the last words of a forced quit (second Ctrl-C), which
# leaves that store behind.  SQLite file databases, so no server is needed.
set -u
: "${DURABENCH:?}" "${top_srcdir:?}"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else notok "$2"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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
check "$rc" "a two-run SQLite file run completes (exit $rc)"
python3 - "$tmp/out.json" "$tmp/bench.db" >"$tmp/py" 2>&1 <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert len(runs) == 2, runs
for r in runs:
    assert r["store"] and sys.argv[2] in r["store"], r["store"]
PY
check $? "the JSON names each run's store"
sed 's/^/# /' "$tmp/py"
[ "$(grep -c "^- run file [12]:[12]: .*$tmp/bench.db" "$tmp/out.md")" -eq 2 ]
check $? "the environment block names each run's store"

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
pid=$!
for _ in $(seq 1 300); do
	grep -q "running file 1:1" "$tmp/long.err" && break
	sleep 0.1
done
kill -INT "$pid"
for _ in $(seq 1 100); do
	grep -q "interrupted" "$tmp/long.err" && break
	sleep 0.1
done
kill -INT "$pid"
for _ in $(seq 1 300); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -KILL "$pid" 2>/dev/null # only if it ignored both (a failure below)
wait "$pid"
rc=$?
[ "$rc" -eq 130 ]
check $? "the second Ctrl-C quits at once (exit $rc)"
tail -n 1 "$tmp/long.err" | grep -q "interrupted again, quitting now; left behind by file 1:1: .*$tmp/bench.db"
check $? "its last message names the store it leaves behind"
[ "$rc" -eq 130 ] || sed 's/^/# /' "$tmp/long.err"
echo "1..$n"
[ "$failed" -eq 0 ]
