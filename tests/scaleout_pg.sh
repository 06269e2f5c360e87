#!/bin/sh
# Scale-out on a throwaway PostgreSQL server: three worker processes verify
# every instance; a kill -9 of a worker in the middle of a run loses
# nothing (its locks expire, the other worker takes over), whether it comes
# from outside or from the kill-worker fault (which restarts it); a worker
# for an unreachable database exits 2 with a clear message; no process is
# left.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"
ini="$top_srcdir/tests/scaleout/pg.ini"
workers_left() { ps -eo args | grep -F "worker $ini" | grep -vc grep; }

# --- three processes verify every instance ---
timeout 90 "$DURABENCH" run "$ini" --processes 3 --json "$tmp/p3.json" --no-progress \
	>"$tmp/p3.md" 2>"$tmp/p3.err"
rc=$?
check "$rc" "a 3-process run completes and verifies every instance"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/p3.err"
grep -q '^| pg | 3x1:1 |' "$tmp/p3.md"
check $? "the table shows processes x O:W"
python3 - "$tmp/p3.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
assert r["processes"] == 3, r["processes"]
s = r["scale_out"]
assert s["workers_seen"] == 3 and s["threads"] == 6, s
assert r["launched"] > 0 and r["completed"] == r["launched"], (r["completed"], r["launched"])
# The window's activities come from the workers' periodic notes (every
# 200 ms); a sanitizer build runs several times slower and may see no note
# inside a short window, so only the normal build asserts the figure.
import os
if "asan" not in os.environ.get("DURA_BUILD_FLAVOUR", ""):
    assert r["activities_per_sec"] > 0, "no activity counted from the workers' notes"
assert s["feed_entries"] == r["launched"], (s["feed_entries"], r["launched"])
PY
rc=$?
check "$rc" "JSON: 3 workers, 6 threads, every completion read from the store's feed"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/py"

# --- kill -9 of one worker loses nothing ---
timeout 90 "$DURABENCH" run "$ini" --processes 2 --duration 5s --json "$tmp/kill.json" \
	--no-progress >"$tmp/kill.md" 2>"$tmp/kill.err" &
guard=$! # timeout's pid; durabench is its child, the workers are durabench's
victim=""
for _ in $(seq 1 100); do # up to 10 s for the workers to start
	driver=$(ps -o pid= --ppid "$guard" 2>/dev/null | head -n 1 | tr -d ' ')
	[ -n "$driver" ] &&
		victim=$(ps -o pid=,args= --ppid "$driver" | awk '$3 == "worker" { print $1; exit }')
	[ -n "$victim" ] && break
	sleep 0.1
done
sleep 2
[ -n "$victim" ] && kill -9 "$victim"
wait "$guard"
rc=$?
[ -n "$victim" ]
check $? "found a worker process of the run to kill"
check "$rc" "after a kill -9 of a worker every instance still completes and verifies"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/kill.err"
grep -q 'was killed by signal 9' "$tmp/kill.md"
check $? "the report names the killed worker"

# --- the kill-worker fault: kill -9 at 2 s, restarted at 3 s ---
timeout 90 "$DURABENCH" run "$top_srcdir/tests/scaleout/pg-kill.ini" --json "$tmp/fault.json" \
	--no-progress >"$tmp/fault.md" 2>"$tmp/fault.err"
rc=$?
check "$rc" "a run with the kill-worker fault completes and verifies every instance"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/fault.err"
grep -Eq '^\| kill-worker \| pg \| 2x1:1 \| 2\.[0-9] s \| 1\.[0-9] s \| .* \| 0 \|$' "$tmp/fault.md"
check $? "the Faults table has the kill-worker row with 0 lost"
python3 - "$tmp/fault.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
f = r["scale_out"]["kill_worker"]
assert f["action"] == "kill-worker" and f["lost"] == 0, f
assert f["for_s"] is not None and f["for_s"] >= 1.0, f
assert r["scale_out"]["workers_seen"] == 3, r["scale_out"]  # the restarted one is a new worker
assert r["completed"] == r["launched"] == r["verified"], r
PY
rc=$?
check "$rc" "JSON: the fault, its restart (a third worker note) and every instance verified"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/py"

# --- a worker for an unreachable database ---
timeout 30 "$DURABENCH" worker "$ini" --provider pg --join durabench_x \
	--database-url "postgresql://durabench@127.0.0.1:1/none?connect_timeout=2" \
	>"$tmp/w.out" 2>"$tmp/w.err"
rc=$?
[ "$rc" -eq 2 ] && grep -q 'cannot join run durabench_x' "$tmp/w.err"
check $? "a worker for an unreachable database exits 2 and says why (exit $rc)"
sed 's/^/# /' "$tmp/w.err"

[ "$(workers_left)" -eq 0 ]
check $? "no worker process is left"
[ "$(servers_left)" -eq 0 ]
check $? "the throwaway server is gone"
finish
