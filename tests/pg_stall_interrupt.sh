#!/bin/sh
# The first Ctrl-C is honoured while the database is stalled: the url = auto
# server (postmaster and every backend) is stopped with SIGSTOP in the
# middle of a run, then durabench gets one SIGINT.  Although every thread is
# blocked in a call, it must stop launching at once, give up the drain and
# verification by their deadlines, print the report of the interrupted run
# and exit 130 while the server is still stopped; the server is gone
# afterwards.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"

write_stall_ini "$tmp/stall.ini" 60s
# A shell starts background commands with SIGINT ignored (and durabench
# keeps ignoring it then): exec it with the default action, as from a
# terminal.
trap '' INT
python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$DURABENCH" run "$tmp/stall.ini" --no-progress \
	--json "$tmp/out.json" >"$tmp/out.md" 2>"$tmp/err" &
pid=$!
wait_auto_pm "$pid" "$tmp/err"
check $? "the run reports its server address"
sleep 2 # the run is under way
stop_server STOP
sleep 1 # every thread is now blocked in a call
kill -INT "$pid"
# One SIGINT only: the run must end by itself while the server stays
# stopped (bound: drain 2 s + verify 3 s + a few call_timeouts, generous).
ended=0
t0=$(date +%s)
for _ in $(seq 1 900); do
	kill -0 "$pid" 2>/dev/null || { ended=1; break; }
	sleep 0.1
done
[ "$ended" -eq 1 ]
check $? "the first SIGINT ended durabench while the server was stopped ($(( $(date +%s) - t0 )) s)"
if [ "$ended" -eq 0 ]; then
	stop_server CONT
	kill -KILL "$pid"
fi
wait "$pid"
rc=$?
[ "$rc" -eq 130 ]
check $? "exit status 130 (got $rc)"
[ "$rc" -eq 130 ] || sed 's/^/# /' "$tmp/err"
python3 - "$tmp/out.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["runs"][0]
assert d["interrupted"] is True and r["interrupted"] is True, (d["interrupted"], r["interrupted"])
assert r["launched"] > 0 and r["verify_failures"] == 0, r
print("launched", r["launched"], "completed", r["completed"], "failed", r["failed"],
      "unverified", r["unverified"])
PY
check $? "the report of the interrupted run is written (no verification failure)"
sed 's/^/# /' "$tmp/py"
grep -q "interrupted after" "$tmp/out.md"
check $? "the tables say the run was interrupted"
stop_server CONT
for _ in $(seq 1 300); do
	[ "$(servers_left)" -eq 0 ] && [ "$(dirs_left)" -eq 0 ] && break
	sleep 0.1
done
[ "$(servers_left)" -eq 0 ] && [ "$(dirs_left)" -eq 0 ]
check $? "the url = auto server and its directory are gone"
finish
