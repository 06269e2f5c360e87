#!/bin/sh
# `durabench plugins` lists usable plugins with their options and refused
# ones with the reason.
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"
: "${TEST_PLUGIN_DIR:?TEST_PLUGIN_DIR must point at tests/plugins/.libs}"

echo "1..11"
"$DURABENCH" plugins --plugin-dir "$TEST_PLUGIN_DIR" >"$tmp/out" 2>"$tmp/err"
rc=$?
sed 's/^/# /' "$tmp/err"
check "exit code 0" [ "$rc" -eq 0 ]
# the minor version the plugins were built with (include/durabench/provider.h)
abi_minor=$(sed -n 's/^#define DURA_ABI_MINOR \([0-9]*\)$/\1/p' "$top_srcdir/include/durabench/provider.h")
check "memstore listed with name, ABI and path" \
	grep -qF "memstore  (ABI 1.$abi_minor)  $TEST_PLUGIN_DIR/memstore.so" "$tmp/out"
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
check "a plugin built for a newer minor is listed as usable" \
	grep -qF "memstore  (ABI 1.$((abi_minor + 1)))  $TEST_PLUGIN_DIR/memstore_newer_minor.so" "$tmp/out"
check "... with a note that its newer operations are not used" \
	grep -qF "note: plugin memstore ($TEST_PLUGIN_DIR/memstore_newer_minor.so) was built for ABI 1.$((abi_minor + 1)), this durabench knows 1.$abi_minor" "$tmp/out"
# ... and it runs: the conformance tests of the ack operations pass on it.
"$DURABENCH" validate --plugin "$TEST_PLUGIN_DIR/memstore_newer_minor.so" --only ack \
	>"$tmp/vout" 2>"$tmp/verr"
rc=$?
sed 's/^/# /' "$tmp/verr" | head -5
check "a newer-minor plugin is validated with what this core knows (exit 0, note on stderr)" \
	sh -c '[ "$0" -eq 0 ] && grep -q "note: plugin memstore .*ABI 1.$2" "$1"' "$rc" "$tmp/verr" "$((abi_minor + 1))"
[ "$failed" -eq 0 ]
