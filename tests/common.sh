# Shared by every shell test (sourced first thing:
#   . "${top_srcdir:?...}/tests/common.sh"):
# checks $DURABENCH, makes the scratch directory $tmp (removed on exit,
# named after the test) and keeps the TAP count:
#   ok DESCRIPTION, not_ok DESCRIPTION   print the next result line
#   check DESCRIPTION COMMAND...         ok when COMMAND succeeds; returns
#                                        COMMAND's success, for diagnostics
#   finish                               prints the plan; the test's status
# $failed counts the not-ok lines.  A background durabench whose pid is in
# $run_pid is killed on exit; reap PID TENTHS waits for it (see there).
: "${DURABENCH:?DURABENCH must point at the durabench program}" "${top_srcdir:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/$(basename "$0" .sh).XXXXXX") || exit 1
# Only the test's own shell removes $tmp.  A subshell forked with `( ... ) &`
# starts with these traps still set, and bash runs them there if a signal
# arrives before the child has reset them: a TERM sent to a just-started
# subshell then ran "exit 130" and this EXIT trap in the child, removing the
# directory under the running test (seen with run_interrupt's watchdog under
# a loaded `make -j2 check`).  $$ is the parent's pid in a subshell too, so
# the shell running the trap is asked for its real pid.
test_shell=$(exec sh -c 'echo $PPID')
in_test_shell() { [ "$(exec sh -c 'echo $PPID')" = "$test_shell" ]; }
run_pid=""
trap 'in_test_shell && { [ -z "$run_pid" ] || kill -KILL "$run_pid" 2>/dev/null; rm -rf "$tmp"; }' EXIT
trap 'exit 130' INT TERM # clean up (EXIT) and stop: never go on without $tmp
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # DESCRIPTION COMMAND...
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; return 1; fi
}
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; }
# For check: not COMMAND... succeeds when COMMAND fails; has TEXT PART when
# TEXT contains PART.
not() { ! "$@"; }
has() { case $1 in *"$2"*) return 0 ;; esac; return 1; }
# json_field FILE PATH: one field of a JSON report (tests/json_field.py).
json_field() { "$top_srcdir/tests/json_field.py" "$@"; }
# Waits up to $2 tenths of a second for the background process $1 to end,
# kills it if it has not, reaps it and leaves its exit status in $rc (and
# clears $run_pid when it was that one).  Returns 0 when it ended by itself.
reap() {
	_ended=1
	for _ in $(seq 1 "$2"); do
		kill -0 "$1" 2>/dev/null || { _ended=0; break; }
		sleep 0.1
	done
	[ "$_ended" -eq 0 ] || kill -KILL "$1" 2>/dev/null
	wait "$1"
	rc=$?
	[ "$1" != "$run_pid" ] || run_pid=""
	return "$_ended"
}
