#!/bin/sh
# The reference provider passes the whole conformance suite, and the
# command line of `durabench validate` behaves as documented.
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"
: "${TEST_PLUGIN_DIR:?TEST_PLUGIN_DIR must point at tests/plugins/.libs}"

echo "1..10"
"$DURABENCH" validate --plugin memstore --plugin-dir "$TEST_PLUGIN_DIR" >"$tmp/out" 2>"$tmp/err"
rc=$?
grep -v '^ok ' "$tmp/out" | sed 's/^/# /'
sed 's/^/# stderr: /' "$tmp/err"
last=$(tail -n 1 "$tmp/out")
passed=${last%% passed*}
check "memstore passes: exit 0" [ "$rc" -eq 0 ]
check "last line is 'N passed, 0 failed'" \
	sh -c 'echo "$1" | grep -qE "^[0-9]+ passed, 0 failed$"' sh "$last"
check "at least 40 tests ran" [ "${passed:-0}" -ge 40 ]
check "one 'ok N name' line per test" [ "$(grep -cE '^ok [0-9]+ [a-z_]+' "$tmp/out")" -eq "${passed:-0}" ]

"$DURABENCH" validate --list >"$tmp/list"
check "--list names at least 40 tests" [ "$(wc -l <"$tmp/list")" -ge 40 ]

"$DURABENCH" validate --plugin "$TEST_PLUGIN_DIR/memstore.so" --only work_fifo --only tokens_unique \
	--option sleep_us=10 >"$tmp/only"
rc=$?
good=no
[ "$rc" -eq 0 ] && [ "$(tail -n 1 "$tmp/only")" = "2 passed, 0 failed" ] && good=yes
check "--only (repeated) runs just the matching tests, by path, with an option" [ "$good" = yes ]

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
