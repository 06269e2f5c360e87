#!/bin/sh
# The SQLite provider passes the conformance suite, in memory and on a file
# database.
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"
: "${top_builddir:?top_builddir must point at the build tree}"

plugin="$top_builddir/plugins/sqlite/.libs/sqlite.so"
if [ ! -f "$plugin" ]; then
	echo "1..0 # SKIP sqlite plugin not built ($plugin)"
	exit 0
fi

# run DESCRIPTION PLUGIN OPTION...: the whole suite must pass, >= 40 tests;
# the only test it may skip is scaleout_attach, and only on a store that is
# not shared (:memory:, or a file without shared = true): such a store
# cannot be attached to by another process.  The orchestration batch
# tests (multi_orch_*, ABI 1.7) skip while the plugin lacks those optional
# operations.
run() {
	desc=$1
	shift
	"$DURABENCH" validate --plugin "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	last=$(tail -n 1 "$tmp/out")
	passed=${last%% passed*}
	skips=$(grep -c ' # skip' "$tmp/out")
	allowed=$(grep -c '^ok [0-9]* multi_orch_[a-z_]* # skip .*not provided$' "$tmp/out")
	case "$*" in *shared=true*) ;; *)
		allowed=$((allowed + $(grep -c '^ok [0-9]* scaleout_attach # skip' "$tmp/out"))) ;;
	esac
	if [ "$rc" -eq 0 ] && [ "$skips" -eq "$allowed" ] &&
	   echo "$last" | grep -qE "^[0-9]+ passed, 0 failed, $skips skipped\$" &&
	   [ "$passed" -ge 40 ]; then
		ok "$desc: $last"
	else
		not_ok "$desc: exit $rc, last line '$last'"
		grep -v '^ok ' "$tmp/out" | sed 's/^/# /'
		sed 's/^/# stderr: /' "$tmp/err"
	fi
}

echo "1..8"
run "sqlite :memory:" "$plugin" --option database=:memory:
run "sqlite file database" "$plugin" --option "database=$tmp/validate.db"
run "sqlite shared file database" "$plugin" --option "database=$tmp/shared.db" \
	--option shared=true
# Fixed seeds of the randomised model check, on both option sets.
for seed in 2 3; do
	for db in :memory: "$tmp/random.db"; do
		"$DURABENCH" validate --plugin "$plugin" --option "database=$db" --random "$seed" --ops 400 \
			--threads 4 >"$tmp/out" 2>&1
		rc=$?
		if [ "$rc" -eq 0 ] && [ "$(tail -n 1 "$tmp/out")" = "1 passed, 0 failed, 0 skipped" ]; then
			ok "sqlite $db: --random $seed --ops 400 --threads 4"
		else
			not_ok "sqlite $db: --random $seed (exit $rc)"
			sed 's/^/# /' "$tmp/out"
		fi
	done
done
# By name, through the build tree's plugin directory (a few tests suffice).
"$DURABENCH" validate --plugin sqlite --only tokens_unique --only work_fifo >"$tmp/out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && [ "$(tail -n 1 "$tmp/out")" = "2 passed, 0 failed, 0 skipped" ]; then
	ok "sqlite found by name in the build tree"
else
	not_ok "sqlite by name: exit $rc"
	sed 's/^/# /' "$tmp/out"
fi
[ "$failed" -eq 0 ]
