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
run_pid=$!
check "the run reports its server address" wait_auto_pm "$run_pid" "$tmp/err"
sleep 2 # the run is under way
stop_server STOP
sleep 1 # every thread is now blocked in a call
kill -INT "$run_pid"
# One SIGINT only: the run must end by itself while the server stays
# stopped (bound: drain 2 s + verify 3 s + a few call_timeouts, generous).
t0=$(date +%s)
reap "$run_pid" 900
ended=$?
check "the first SIGINT ended durabench while the server was stopped ($(( $(date +%s) - t0 )) s)" \
	[ "$ended" -eq 0 ]
check "exit status 130 (got $rc)" [ "$rc" -eq 130 ] || sed 's/^/# /' "$tmp/err"
field() { json_field "$tmp/out.json" "$1"; }
echo "# launched $(field runs.0.launched) completed $(field runs.0.completed)" \
	"failed $(field runs.0.failed) unverified $(field runs.0.unverified)"
says_interrupted() { [ "$(field interrupted)" = true ] && [ "$(field runs.0.interrupted)" = true ]; }
check "the report of the interrupted run is written and says so" says_interrupted
none_failed() { [ "$(field runs.0.launched)" -gt 0 ] && [ "$(field runs.0.verify_failures)" = 0 ]; }
check "instances were launched, no verification failure" none_failed
check "the tables say the run was interrupted" grep -q "interrupted after" "$tmp/out.md"
stop_server CONT
check "the url = auto server and its directory are gone" servers_gone
finish
