# Shared by the loader and validate shell tests (sourced first thing:
#   . "${top_srcdir:?...}/tests/common.sh"):
# checks $DURABENCH, makes the scratch directory $tmp (removed on exit,
# named after the test) and keeps the TAP count:
#   ok DESCRIPTION, not_ok DESCRIPTION   print the next result line
#   check DESCRIPTION COMMAND...         ok when COMMAND succeeds
# $failed counts the not-ok lines; a test ends with [ "$failed" -eq 0 ].
: "${DURABENCH:?DURABENCH must point at the durabench program}"
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
trap 'in_test_shell && rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM # clean up (EXIT) and stop: never go on without $tmp
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # DESCRIPTION COMMAND...
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
