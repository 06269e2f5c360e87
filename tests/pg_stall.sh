#!/bin/sh
# A stalled database never hangs durabench: the url = auto server (postmaster
# and every backend) is stopped with SIGSTOP in the middle of a run and stays
# stopped for longer than the drain timeout.  durabench must end by itself
# while the server is still stopped, with exit 1, the stuck instances counted
# as timed out, the report written, and the server gone afterwards.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"

write_stall_ini "$tmp/stall.ini" 4s
"$DURABENCH" run "$tmp/stall.ini" --no-progress --json "$tmp/out.json" >"$tmp/out.md" 2>"$tmp/err" &
pid=$!
wait_auto_pm "$pid" "$tmp/err"
check $? "the run reports its server address"
sleep 2 # the run is under way
stop_server STOP
n_stopped=$(ps -o stat= --ppid "$pm" | grep -c '^T')
[ "$n_stopped" -gt 0 ]
check $? "server stopped: postmaster $pm and $n_stopped backends"

# durabench must finish on its own while the server stays stopped.  The bound
# is generous (a correctness bound, not a timing): duration + drain + the
# documented slack is about 4 + 2 + 3 x call_timeout here.
ended=0
for _ in $(seq 1 900); do
	if ! kill -0 "$pid" 2>/dev/null; then
		ended=1
		break
	fi
	sleep 0.1
done
[ "$ended" -eq 1 ]
check $? "durabench ended by itself while the server was stopped"
if [ "$ended" -eq 0 ]; then
	stop_server CONT
	kill -KILL "$pid"
fi
wait "$pid"
rc=$?
[ "$rc" -eq 1 ]
check $? "exit status 1 (got $rc)"
[ "$rc" -eq 1 ] || sed 's/^/# /' "$tmp/err"
python3 - "$tmp/out.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
f = r["failed"]
assert r["launched"] > 0, r["launched"]
assert f.get("timeout", 0) > 0, f
# completed instances could not be read while the server stood still: they
# are unverified (with why), never counted as verification failures
assert r["verify_failures"] == 0, r
assert r["verified"] + r["unverified"] == r["completed"], r
if r["unverified"]:
    assert r["unverified_reason"], r
print("verified", r["verified"], "unverified", r["unverified"], r["unverified_reason"])
print("launched", r["launched"], "completed", r["completed"], "failed", f)
PY
check $? "the report is written and counts the stuck instances as timed out"
sed 's/^/# /' "$tmp/py"
stop_server CONT
for _ in $(seq 1 300); do
	[ "$(servers_left)" -eq 0 ] && [ "$(dirs_left)" -eq 0 ] && break
	sleep 0.1
done
[ "$(servers_left)" -eq 0 ] && [ "$(dirs_left)" -eq 0 ]
check $? "the url = auto server and its directory are gone"
finish
