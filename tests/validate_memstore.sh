#!/bin/sh
# The reference provider passes the whole conformance suite, and the
# command line of `durabench validate` behaves as documented.
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"
: "${TEST_PLUGIN_DIR:?TEST_PLUGIN_DIR must point at tests/plugins/.libs}"

echo "1..21"
"$DURABENCH" validate --plugin memstore --plugin-dir "$TEST_PLUGIN_DIR" >"$tmp/out" 2>"$tmp/err"
rc=$?
grep -v '^ok ' "$tmp/out" | sed 's/^/# /'
sed 's/^/# stderr: /' "$tmp/err"
last=$(tail -n 1 "$tmp/out")
passed=${last%% passed*}
check "memstore passes: exit 0" [ "$rc" -eq 0 ]
check "last line is 'N passed, 0 failed'" \
	sh -c 'echo "$1" | grep -qE "^[0-9]+ passed, 0 failed, [0-9]+ skipped$"' sh "$last"
check "at least 40 tests ran" [ "${passed:-0}" -ge 40 ]
check "one 'ok N name' line per test" [ "$(grep -cE "^ok [0-9]+ [a-z_]+$" "$tmp/out")" -eq "${passed:-0}" ]

# memstore implements the optional batch operations: their tests run, none
# is skipped.
check "the batch tests ran on memstore, none skipped" \
	sh -c '[ "$(grep -cE "^ok [0-9]+ batch_[a-z_]+$" "$1")" -ge 10 ] && ! grep -qE "^ok [0-9]+ batch_.*# skip" "$1"' sh "$tmp/out"

# Without them (an older plugin) the batch tests are skipped, not failed.
"$DURABENCH" validate --plugin "$TEST_PLUGIN_DIR/memstore_nobatch.so" --only batch_ >"$tmp/nobatch" 2>&1
rc=$?
nb=$(grep -cE "^ok [0-9]+ batch_[a-z_]+ # skip .*not provided$" "$tmp/nobatch")
check "memstore_nobatch: exit 0, all $nb batch tests reported as skipped" \
	sh -c '[ "$1" -eq 0 ] && [ "$2" -ge 10 ] && [ "$(grep -c "^ok " "$3")" -eq "$2" ]' sh "$rc" "$nb" "$tmp/nobatch"
check "the closing line counts the skips apart: '0 passed, 0 failed, $nb skipped'" \
	[ "$(tail -n 1 "$tmp/nobatch")" = "0 passed, 0 failed, $nb skipped" ]

# The orchestration batch (ABI 1.7) likewise: run on memstore, skipped
# without the operations.
check "the orchestration batch tests ran on memstore, none skipped" \
	sh -c '[ "$(grep -cE "^ok [0-9]+ multi_orch_[a-z_]+$" "$1")" -ge 5 ]' sh "$tmp/out"
"$DURABENCH" validate --plugin "$TEST_PLUGIN_DIR/memstore_no_orch_batch.so" --only multi_orch_ \
	>"$tmp/noorch" 2>&1
rc=$?
check "memstore_no_orch_batch: exit 0, every multi_orch test skipped" \
	sh -c '[ "$1" -eq 0 ] && [ "$(grep -cE "^ok [0-9]+ multi_orch_[a-z_]+ # skip .*not provided$" "$2")" -ge 5 ] && [ "$(grep -cE "^ok " "$2")" -eq "$(grep -cE "^ok .*# skip" "$2")" ]' sh "$rc" "$tmp/noorch"

# The output is TAP: a plan line first, and prove parses it without errors
# (prove's exit status is 0 only for a valid stream of passing tests).
check "the output starts with the plan line 1..N, N the number of test lines" \
	[ "$(grep -v "^#" "$tmp/out" | head -n 1)" = "1..$(grep -cE "^(not )?ok " "$tmp/out")" ]
if command -v prove >/dev/null 2>&1; then
	printf '#!/bin/sh\nexec "%s" validate --plugin "%s/memstore_nobatch.so" --only batch_ --only work_fifo\n' \
		"$DURABENCH" "$TEST_PLUGIN_DIR" >"$tmp/validate.t"
	chmod +x "$tmp/validate.t"
	prove "$tmp/validate.t" >"$tmp/prove" 2>&1
	rc=$?
	sed 's/^/# prove: /' "$tmp/prove" | grep -iE "parse|fail|dubious|plan" 
	if [ "$rc" -eq 0 ] && grep -q "^Result: PASS" "$tmp/prove" && ! grep -qi "parse error" "$tmp/prove"; then
		ok "prove parses validate's TAP (with skips) and passes it"
	else
		not_ok "prove on validate's output (exit $rc)"
		sed 's/^/# /' "$tmp/prove"
	fi
else
	ok "prove parses validate's TAP # SKIP prove not installed"
fi

# The batch tests come after the older ones: the existing numbers stay.
"$DURABENCH" validate --list >"$tmp/list"
r=$(awk '$2 == "release_accepts_null" { print $1 }' "$tmp/list")
b=$(awk '$2 == "batch_fetch_fifo" { print $1 }' "$tmp/list")
check "the first batch test follows release_accepts_null in --list (${r:-?}, ${b:-?})" \
	[ "${r:-0}" -gt 0 -a "${b:-0}" -eq $((${r:-0} + 1)) ]

check "--list names at least 40 tests" [ "$(wc -l <"$tmp/list")" -ge 40 ]

"$DURABENCH" validate --plugin "$TEST_PLUGIN_DIR/memstore.so" --only work_fifo --only tokens_unique \
	--option sleep_us=10 >"$tmp/only"
rc=$?
good=no
[ "$rc" -eq 0 ] && [ "$(tail -n 1 "$tmp/only")" = "2 passed, 0 failed, 0 skipped" ] && good=yes
check "--only (repeated) runs just the matching tests, by path, with an option" [ "$good" = yes ]

# Fixed seeds of the randomised model check: longer runs than the suite's.
for seed in 2 3 4; do
	"$DURABENCH" validate --plugin "$TEST_PLUGIN_DIR/memstore.so" --random "$seed" --ops 2000 \
		--threads 5 >"$tmp/rnd" 2>&1
	rc=$?
	check "--random $seed --ops 2000 --threads 5 runs random_ops alone and passes" \
		[ "$rc" -eq 0 -a "$(tail -n 1 "$tmp/rnd")" = "1 passed, 0 failed, 0 skipped" ]
done

"$DURABENCH" validate --plugin memstore --plugin-dir "$TEST_PLUGIN_DIR" --only no_test_has_this \
	>/dev/null 2>"$tmp/err"
rc=$?
check "--only matching nothing exits 2" [ "$rc" -eq 2 ]

"$DURABENCH" validate >/dev/null 2>"$tmp/err"
rc=$?
good=no
[ "$rc" -eq 2 ] && grep -q -- "--plugin" "$tmp/err" && good=yes
check "no --plugin exits 2 and says so" [ "$good" = yes ]

"$DURABENCH" validate --plugin memstore --bogus >/dev/null 2>&1
rc=$?
check "an unknown argument exits 2" [ "$rc" -eq 2 ]

"$DURABENCH" validate --help >"$tmp/help"
rc=$?
good=no
[ "$rc" -eq 0 ] && grep -q -- "--option key=value" "$tmp/help" && good=yes
check "--help exits 0 and documents --option" [ "$good" = yes ]
[ "$failed" -eq 0 ]
