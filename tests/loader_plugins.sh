#!/bin/sh
# `durabench plugins` lists usable plugins with their options and refused
# ones with the reason.
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"
: "${TEST_PLUGIN_DIR:?TEST_PLUGIN_DIR must point at tests/plugins/.libs}"

echo "1..8"
"$DURABENCH" plugins --plugin-dir "$TEST_PLUGIN_DIR" >"$tmp/out" 2>"$tmp/err"
rc=$?
sed 's/^/# /' "$tmp/err"
check "exit code 0" [ "$rc" -eq 0 ]
check "memstore listed with name, ABI and path" \
	grep -qF "memstore  (ABI 1.0)  $TEST_PLUGIN_DIR/memstore.so" "$tmp/out"
check "memstore's description" grep -qF "in-memory reference provider" "$tmp/out"
check "memstore's option with default and help" \
	grep -qE "^ +sleep_us +default: 0 +artificial latency" "$tmp/out"
check "a refused plugin is listed with its error" \
	grep -qF "error: plugin $TEST_PLUGIN_DIR/bad_abi.so: ABI major 99, expected 1" "$tmp/out"
check "every refused test plugin is listed" \
	[ "$(grep -c '^(unusable)' "$tmp/out")" -ge 5 ]
"$DURABENCH" plugins --help >"$tmp/help" 2>&1
check "--help exits 0 and describes the search path" \
	grep -q "DURABENCH_PLUGIN_PATH" "$tmp/help"
"$DURABENCH" plugins --bogus >/dev/null 2>&1
rc=$?
check "an unknown argument exits 2" [ "$rc" -eq 2 ]
[ "$failed" -eq 0 ]
