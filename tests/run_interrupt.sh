#!/bin/sh
# Ctrl-C during `durabench run`: the first SIGINT finishes the current run
# early (no new instances, in-flight ones drained and verified), starts no
# later run, reports what ran with the cut-short run marked interrupted and
# exits 130; a second SIGINT exits 130 at once.  With url = auto, no
# PostgreSQL server process or directory is left behind either way.
set -u
. "${top_srcdir:?}/tests/common.sh"
# This script only ever signals durabench (started with SIGINT at its default
# action, see start()); it must not itself be stopped by a SIGINT.
trap '' INT

# wait_for FILE PATTERN SECONDS: until FILE has a line matching PATTERN.
wait_for() {
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le $(($3 * 10)) ] || return 1
		sleep 0.1
	done
}

# wait_exit PID SECONDS: sets rc to the exit status of PID, killing it after
# SECONDS (rc 137 then), so a broken build cannot hang the suite.  It polls
# rather than starting a watchdog subshell: killing a subshell right after
# starting it is what once ran this shell's traps in the child (common.sh).
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ "$i" -lt $(($2 * 10)) ]; do
		i=$((i + 1))
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1"
	rc=$?
}

show() { sed 's/^/# /' "$@"; }

# start NAME INI ARGS...: durabench run in the background, pid in $pid,
# outputs in $tmp/NAME.{md,err,json}.  A shell starts background commands
# with SIGINT ignored, and durabench (like any well-behaved program) then
# keeps ignoring it: exec it with the default action, as from a terminal.
start() {
	name=$1 ini=$2
	shift 2
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$DURABENCH" run "$ini" --no-progress \
		--json "$tmp/$name.json" "$@" >"$tmp/$name.md" 2>"$tmp/$name.err" &
	pid=$!
}

notice='durabench: interrupted — finishing the current run, Ctrl-C again to quit now'

# --- 1. SIGINT during the second of three runs ---
cat >"$tmp/three.ini" <<'EOF'
[run]
duration = 5s
warmup = 500ms
configs = 1:1, 2:2, 4:4

[workload]
scenario = fanout
max_concurrent = 10
tasks_per_instance = 3
activity_delay = 10ms

[provider sqlite-mem]
plugin = sqlite
database = :memory:
EOF
start three "$tmp/three.ini"
if wait_for "$tmp/three.err" 'running sqlite-mem 2:2 (2/3)' 60; then
	sleep 1 # inside the second run's 5 s of launching
	kill -INT "$pid"
fi
wait_exit "$pid" 60
check "interrupted run exits 130 (got $rc)" [ "$rc" = 130 ]
[ "$rc" = 130 ] || show "$tmp/three.err"
check "one notice line on stderr" [ "$(grep -cxF "$notice" "$tmp/three.err")" = 1 ]
grep -q '^| sqlite-mem | 1:1 |' "$tmp/three.md" && grep -q '^| sqlite-mem | 2:2 |' "$tmp/three.md" &&
	! grep -q '^| sqlite-mem | 4:4 |' "$tmp/three.md"
check "table has the completed and the interrupted run, not the third" [ $? -eq 0 ]
grep -q '^Run sqlite-mem 2:2 was interrupted after [0-9.]* s' "$tmp/three.md" &&
	[ "$(grep -c 'was interrupted after' "$tmp/three.md")" = 1 ]
check "Markdown notes the interrupted run (only it)" [ $? -eq 0 ]
# the note sits right under the runs table, before the legend
awk 'index($0, "| sqlite-mem | 2:2 |") == 1 && !row { row = NR } /^Run sqlite-mem 2:2 was interrupted/ { note = NR }
     /^Latency:/ && !legend { legend = NR }
     END { exit !(row && note > row && note < legend) }' "$tmp/three.md"
check "the note is under the runs table" [ $? -eq 0 ]
python3 - "$tmp/three.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
runs = d["runs"]
assert [r["config"] for r in runs] == ["1:1", "2:2"], [r["config"] for r in runs]
assert [r["interrupted"] for r in runs] == [False, True], [r.get("interrupted") for r in runs]
assert set(runs[0]) == set(runs[1]), "runs differ in fields"
for r in runs:
    assert r["ran"] is True
    assert r["launched"] > 0 and r["completed"] == r["launched"], (r["config"], r["launched"], r["completed"])
    assert r["verified"] == r["completed"] and r["verify_failures"] == 0, r["config"]
    assert all(v == 0 for v in r["failed"].values()), r["failed"]
    assert r["success_pct"] == 100.0
full, cut = runs
assert abs(full["window_s"] - 4.5) < 1e-6, full["window_s"]
# the interrupted run's window ends at the interrupt: shorter, not empty
assert 0 < cut["window_s"] < 4.5, cut["window_s"]
assert cut["window_completed"] <= cut["completed"]
assert abs(cut["counted_orch_per_sec"] * cut["window_s"] - cut["window_completed"]) < 1e-3, cut
# the headline rate is measured on the completion stream inside that window
assert cut["orch_per_sec"] > 0 and cut["stream_span_s"] <= cut["window_s"], cut
PY
rc=$?
check "JSON: interrupted only on the second run, every instance accounted and verified" [ $rc -eq 0 ]
[ $rc -eq 0 ] || show "$tmp/py"

# --- 2. SIGINT during the warm-up: no throughput window at all ---
cat >"$tmp/warm.ini" <<'EOF'
[run]
duration = 10s
warmup = 4s
configs = 1:1, 2:2

[workload]
scenario = fanout
max_concurrent = 5
tasks_per_instance = 2
activity_delay = 10ms

[provider sqlite-mem]
plugin = sqlite
database = :memory:
EOF
start warm "$tmp/warm.ini"
if wait_for "$tmp/warm.err" 'running sqlite-mem 1:1 (1/2)' 60; then
	sleep 0.5
	kill -TERM "$pid" # SIGTERM behaves like SIGINT
fi
wait_exit "$pid" 60
check "SIGTERM during the warm-up exits 130 (got $rc)" [ "$rc" = 130 ]
python3 - "$tmp/warm.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert len(runs) == 1 and runs[0]["interrupted"] is True, runs
r = runs[0]
assert r["window_s"] == 0 and r["window_completed"] == 0, (r["window_s"], r["window_completed"])
assert r["orch_per_sec"] is None and r["activities_per_sec"] is None, r["orch_per_sec"]
assert r["completed"] == r["launched"] == r["verified"] > 0, (r["launched"], r["completed"])
PY
rc=$?
check "JSON: warm-up interrupt has an empty window and null rates" [ $rc -eq 0 ]
[ $rc -eq 0 ] || show "$tmp/py"
grep -q 'during the warm-up' "$tmp/warm.md"
check "Markdown says the interrupt came during the warm-up" [ $? -eq 0 ]

# --- 3. SIGINT twice: quits at once, in the middle of a long drain ---
cat >"$tmp/slow.ini" <<'EOF'
[run]
duration = 30s
warmup = 0
drain_timeout = 60s
configs = 1:1, 2:2

[workload]
scenario = fanout
max_concurrent = 4
tasks_per_instance = 1
activity_delay = 20s

[provider sqlite-mem]
plugin = sqlite
database = :memory:
EOF
start slow "$tmp/slow.ini"
if wait_for "$tmp/slow.err" 'running sqlite-mem 1:1 (1/2)' 60; then
	sleep 1
	kill -INT "$pid"
	wait_for "$tmp/slow.err" 'Ctrl-C again' 10
	kill -INT "$pid"
fi
# the drain alone would take ~20 s: 15 s is "at once" with room for a busy machine
wait_exit "$pid" 15
check "second SIGINT exits 130 without waiting for the drain (got $rc)" [ "$rc" = 130 ]
! grep -q '^| Provider |' "$tmp/slow.md" && grep -q 'quitting now' "$tmp/slow.err"
check "it quit before reporting" [ $? -eq 0 ]

# --- 4. PostgreSQL url = auto: nothing left behind ---
if [ "${DURA_WITH_POSTGRES:-0}" = 1 ]; then
	# url = auto servers go under $TMPDIR: the test's own directory, so it
	# can tell its servers from those of tests running alongside; they run
	# as the postgres user, which must reach it
	pgtmp="$tmp/pg"
	mkdir "$pgtmp" || exit 1
	chmod 755 "$tmp" "$pgtmp"
	export TMPDIR="$pgtmp"
	servers_left() { ps -eo args | grep -F "$pgtmp/durabench-pg" | grep -vc grep; }
	dirs_left() { ls -d "$pgtmp"/durabench-pg-* 2>/dev/null | wc -l; }
	cat >"$tmp/pg.ini" <<'EOF'
[run]
duration = 30s
warmup = 500ms
configs = 1:1, 2:2

[workload]
scenario = fanout
max_concurrent = 10
tasks_per_instance = 3
activity_delay = 10ms

[provider pg]
plugin = postgres
url = auto
EOF
	for mode in once twice; do
		start "pg-$mode" "$tmp/pg.ini"
		if wait_for "$tmp/pg-$mode.err" 'running pg 1:1 (1/2)' 120; then
			sleep 1
			[ "$(servers_left)" -gt 0 ]
			check "pg ($mode): the throwaway server runs under the test's TMPDIR" [ $? -eq 0 ]
			kill -INT "$pid"
			if [ "$mode" = twice ]; then
				wait_for "$tmp/pg-$mode.err" 'Ctrl-C again' 10
				kill -INT "$pid"
			fi
		else
			not_ok "pg ($mode): the run did not start"
			show "$tmp/pg-$mode.err"
		fi
		wait_exit "$pid" 60
		check "pg ($mode): exits 130 (got $rc)" [ "$rc" = 130 ]
		if [ "$mode" = once ]; then
			python3 -c '
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert len(runs) == 1 and runs[0]["interrupted"] is True, runs
r = runs[0]
assert r["completed"] == r["launched"] == r["verified"] > 0, (r["launched"], r["completed"])
' "$tmp/pg-once.json" >"$tmp/py" 2>&1
			rc=$?
			check "pg (once): JSON has the interrupted run, all instances verified" [ $rc -eq 0 ]
			[ $rc -eq 0 ] || show "$tmp/py" "$tmp/pg-once.err"
		fi
		# after a second signal the guardian cleans up on its own: give it time
		i=0
		while { [ "$(servers_left)" -gt 0 ] || [ "$(dirs_left)" -gt 0 ]; } && [ "$i" -lt 300 ]; do
			i=$((i + 1))
			sleep 0.1
		done
		check "pg ($mode): no server process left" [ "$(servers_left)" -eq 0 ]
		check "pg ($mode): no server directory left" [ "$(dirs_left)" -eq 0 ]
	done
else
	n=$((n + 1))
	echo "ok $n # SKIP PostgreSQL cases: built without PostgreSQL"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
