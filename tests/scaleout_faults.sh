#!/bin/sh
# Failures of scale-out runs on a throwaway PostgreSQL server: the
# kill-worker fault (kill -9 of worker 1, started again after `for`) loses
# nothing and has its Faults row; a run whose only worker is killed ends
# early and says so; a worker whose database stops exits 1 and says so; no
# process is left.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"
ini="$top_srcdir/tests/scaleout/pg-kill.ini"
# local workers run "durabench worker FILE ...": this test's files
workers_left() { ps -eo args | grep -E "worker ($tmp/|$ini)" | grep -vc grep; }

# --- the kill-worker fault: kill -9 of worker 1 at 2 s, restarted at 3 s ---
timeout 60 "$DURABENCH" run "$ini" --json "$tmp/fault.json" \
	--no-progress >"$tmp/fault.md" 2>"$tmp/fault.err"
rc=$?
check "a run with the kill-worker fault completes and verifies every instance" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/fault.err"
check "the fault thread killed worker 1" \
	grep -q 'kill-worker: kill -9 of worker 1 at' "$tmp/fault.err"
grep -Eq '^\| pg \| 2x1:1 \| kill \(kill-worker\) \| [0-9.]+ s \| [0-9.]+ s \| ([0-9.]+ s|not recovered) \| .* \| 0 \|$' \
	"$tmp/fault.md"
rc=$?
check "the Faults table has the kill-worker row with its recovery figure and 0 lost" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || grep -A4 '^### Faults' "$tmp/fault.md" | sed 's/^/# /'
python3 - "$tmp/fault.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
f = r["faults"][0]
assert f["action"] == "kill-worker" and f["applied"] and f["lost"] == 0, f
# recovery depends on the machine's load: a figure or null (not recovered)
assert f["for_s"] == 1.0 and "recovery_s" in f and f["end_s"] > f["begin_s"], f
assert "kill_worker" not in r["scale_out"], r["scale_out"]
# the restarted worker is a new one (3 seen), unless it is still starting
# when the run ends (a slow, e.g. sanitizer, build): never fewer than 2
assert r["scale_out"]["workers_seen"] in (2, 3), r["scale_out"]
assert r["completed"] == r["launched"] == r["verified"], r
PY
rc=$?
check "JSON: runs[].faults has the fault, its restart (a third worker note), every instance verified" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/py"

# --- the only worker killed and not restarted: the run ends and says so ---
sed -e '/^for = /d' -e 's/^worker = 1/worker = 0/' -e 's/^processes = 2/processes = 1/' \
	-e 's/^duration = 5s/duration = 45s/' "$ini" >"$tmp/alone.ini"
timeout 60 "$DURABENCH" run "$tmp/alone.ini" --no-progress >"$tmp/alone.md" 2>"$tmp/alone.err"
rc=$?
ended_alone() { [ "$rc" -eq 1 ] && grep -q 'every worker process ended' "$tmp/alone.err" "$tmp/alone.md"; }
check "a run whose every worker died ends without waiting out its 45 s and says so (exit $rc)" \
	ended_alone
sed 's/^/# /' "$tmp/alone.err"

# --- a worker whose database goes away exits 1 and says so ---
sed -e '/^\[fault kill\]/,$d' -e 's/^processes = 2/processes = 1/' \
	-e 's/^duration = 5s/duration = 12s/' "$ini" >"$tmp/lost.ini"
printf '[fault down]\naction = stop-server\nat = 1s\nfor = 10s\n' >>"$tmp/lost.ini"
timeout 60 "$DURABENCH" run "$tmp/lost.ini" --no-progress >"$tmp/lost.md" 2>"$tmp/lost.err"
rc=$?
check "the worker says it lost the database" \
	grep -q 'durabench worker .*: lost the database (no answer for 5 s)' "$tmp/lost.err"
named_lost() {
	[ "$rc" -eq 1 ] &&
		grep -q 'worker 0 (pid [0-9]*) exited with status 1' "$tmp/lost.err" "$tmp/lost.md"
}
check "it exits 1, and the run ends early naming it (exit $rc)" named_lost
sed 's/^/# /' "$tmp/lost.err"

check "no worker process is left" [ "$(workers_left)" -eq 0 ]
check "the throwaway servers are gone" [ "$(servers_left)" -eq 0 ]
finish
