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
run_pid=$!
check "the run reports its server address" wait_auto_pm "$run_pid" "$tmp/err"
sleep 2 # the run is under way
stop_server STOP
n_stopped=$(ps -o stat= --ppid "$pm" | grep -c '^T')
check "server stopped: postmaster $pm and $n_stopped backends" [ "$n_stopped" -gt 0 ]

# durabench must finish on its own while the server stays stopped.  The bound
# is generous (a correctness bound, not a timing): duration + drain + the
# documented slack is about 4 + 2 + 3 x call_timeout here.
check "durabench ended by itself while the server was stopped" reap "$run_pid" 900
check "exit status 1 (got $rc)" [ "$rc" -eq 1 ] || sed 's/^/# /' "$tmp/err"
field() { json_field "$tmp/out.json" "runs.0.$1"; }
echo "# launched $(field launched) completed $(field completed) failed $(field failed)"
echo "# verified $(field verified) unverified $(field unverified) $(field unverified_reason)"
check "the report is written" [ "$(field launched)" -gt 0 ]
check "it counts the stuck instances as timed out" [ "$(field failed.timeout)" -gt 0 ]
# completed instances could not be read while the server stood still: they
# are unverified (with why), never counted as verification failures
unverified_with_why() {
	[ "$(field verify_failures)" = 0 ] &&
		[ $(($(field verified) + $(field unverified))) -eq "$(field completed)" ] &&
		{ [ "$(field unverified)" = 0 ] || [ -n "$(field unverified_reason)" ]; }
}
check "completed instances it could not read are unverified, with why" unverified_with_why
stop_server CONT
check "the url = auto server and its directory are gone" servers_gone
finish
