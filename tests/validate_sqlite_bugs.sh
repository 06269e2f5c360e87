#!/bin/sh
# The conformance suite catches realistic bugs in the shipped SQLite
# provider: copies of its sources with one bug each (tests/sqlite_bugs.sh)
# are built and must fail the named test, with the option set the bug
# needs (some bugs only exist for a file database).
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"
. "$top_srcdir/tests/sqlite_bugs.sh"

sqlite_bugs_require

# expect BUG WHERE PATTERN TEST...: WHERE is "memory" or "file"
expect() {
	bug=$1
	where=$2
	pattern=$3
	shift 3
	if ! sqlite_bug_build "$bug" "$tmp" 2>"$tmp/build.err"; then
		not_ok "sqlite_$bug: could not be built"
		sed 's/^/# /' "$tmp/build.err"
		return
	fi
	db=:memory:
	[ "$where" = file ] && db="$tmp/$bug.db"
	only=
	for t in "$@"; do only="$only --only $t"; done
	# shellcheck disable=SC2086
	"$DURABENCH" validate --plugin "$tmp/$bug.so" --option "database=$db" --timeout 20 $only \
		>"$tmp/out" 2>&1
	rc=$?
	why=
	[ "$rc" -eq 1 ] || why="exit code $rc, expected 1"
	for t in "$@"; do
		grep -qE "^not ok [0-9]+ $t: " "$tmp/out" || why="${why:+$why; }$t did not fail"
	done
	grep -qE "^not ok [0-9]+ $1: .*$pattern" "$tmp/out" || why="${why:+$why; }$1's reason lacks '$pattern'"
	if [ -z "$why" ]; then
		ok "sqlite_$bug ($where) fails $*"
	else
		not_ok "sqlite_$bug ($where): $why"
		sed 's/^/# /' "$tmp/out"
	fi
}

echo "1..9"
expect history_limit memory "100 events, expected 101" history_sizes
expect history_text_order memory "has id" history_sparse_ids
expect no_exclusive_lock file "after opening a second store" two_stores_isolated
expect drop_keeps_file file "left .* behind" drop_leaves_nothing
expect delete_untagged memory "returned EMPTY, expected OK" messages_during_turn_survive_ack
expect tag_delayed memory "" delayed_message_visibility
expect ignore_duplicate_event memory "returned OK, expected PERMANENT" atomic_ack_duplicate
expect no_wake_on_completion memory "does not long-poll for a work item's ack" liveness_completion_wakes
expect feed_unacked memory "after a lost reply returned" scaleout_feed_acked
[ "$failed" -eq 0 ]
