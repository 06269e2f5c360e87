#!/bin/sh
# The loader refuses broken plugins with ONE line naming the file, what is
# wrong and what was expected, and exit code 2 (never a crash).
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"
: "${TEST_PLUGIN_DIR:?TEST_PLUGIN_DIR must point at tests/plugins/.libs}"

# expect_refusal DESCRIPTION PATTERN... -- ARGS...: runs durabench ARGS,
# expects exit code 2, exactly one line on stderr, and every PATTERN (fixed
# strings) in it.
expect_refusal() {
	desc=$1
	shift
	patterns=
	while [ "$1" != "--" ]; do
		patterns="$patterns$1
"
		shift
	done
	shift
	"$DURABENCH" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	lines=$(wc -l <"$tmp/err")
	why=
	[ "$rc" -eq 2 ] || why="exit code $rc, expected 2"
	[ -z "$why" ] && [ "$lines" -ne 1 ] && why="$lines lines on stderr, expected 1"
	if [ -z "$why" ]; then
		old_ifs=$IFS
		IFS='
'
		for p in $patterns; do
			grep -qF -- "$p" "$tmp/err" || { why="stderr lacks '$p'"; break; }
		done
		IFS=$old_ifs
	fi
	if [ -z "$why" ]; then
		ok "$desc"
	else
		not_ok "$desc: $why"
		sed 's/^/# stderr: /' "$tmp/err"
	fi
}

echo "1..12"

expect_refusal "missing plugin name lists the directories searched" \
	"no_such_plugin.so not found" "searched:" "$tmp" -- \
	validate --plugin no_such_plugin --plugin-dir "$tmp"

expect_refusal "missing plugin path" \
	"$tmp/nope/x.so" "no such file" -- \
	validate --plugin "$tmp/nope/x.so"

printf 'this is not a shared object\n' >"$tmp/garbage.so"
expect_refusal "a file that is not a shared object: dlopen error" \
	"$tmp/garbage.so" "cannot load it" -- \
	validate --plugin "$tmp/garbage.so"

expect_refusal "ABI major 99 is refused" \
	"bad_abi.so" "ABI major 99, expected 1" -- \
	validate --plugin "$TEST_PLUGIN_DIR/bad_abi.so"

expect_refusal "struct_size below the required operations is refused" \
	"bad_size.so" "operations table is" "expected at least" -- \
	validate --plugin "$TEST_PLUGIN_DIR/bad_size.so"

expect_refusal "missing entry symbol is refused" \
	"bad_no_entry.so" "symbol dura_provider_entry not found" -- \
	validate --plugin "$TEST_PLUGIN_DIR/bad_no_entry.so"

expect_refusal "a NULL required operation is named" \
	"bad_null_op.so" "required operation fetch_work_item is NULL" -- \
	validate --plugin "$TEST_PLUGIN_DIR/bad_null_op.so"

expect_refusal "a NULL name is refused" \
	"bad_no_name.so" "name is NULL" -- \
	validate --plugin "$TEST_PLUGIN_DIR/bad_no_name.so"

expect_refusal "an unknown --option is refused before open()" \
	"unknown option 'no_such_option' for plugin 'memstore'" "sleep_us" -- \
	validate --plugin memstore --plugin-dir "$TEST_PLUGIN_DIR" --option no_such_option=1

expect_refusal "a value open() refuses is a configuration error" \
	"plugin 'memstore'" "sleep_us = 'lots'" -- \
	validate --plugin memstore --plugin-dir "$TEST_PLUGIN_DIR" --option sleep_us=lots

# Search order: --plugin-dir comes before $DURABENCH_PLUGIN_PATH.
mkdir "$tmp/first"
cp "$TEST_PLUGIN_DIR/bad_abi.so" "$tmp/first/memstore.so"
DURABENCH_PLUGIN_PATH="$TEST_PLUGIN_DIR"
export DURABENCH_PLUGIN_PATH
expect_refusal "--plugin-dir is searched before DURABENCH_PLUGIN_PATH" \
	"$tmp/first/memstore.so" "ABI major 99" -- \
	validate --plugin memstore --plugin-dir "$tmp/first"

# ... and DURABENCH_PLUGIN_PATH alone finds the real one.
if "$DURABENCH" validate --plugin memstore --only open_rejects_unknown_option >"$tmp/out" 2>"$tmp/err" &&
   grep -q "^ok 1 open_rejects_unknown_option$" "$tmp/out"; then
	ok "DURABENCH_PLUGIN_PATH finds a plugin by name"
else
	not_ok "DURABENCH_PLUGIN_PATH finds a plugin by name"
	sed 's/^/# /' "$tmp/out" "$tmp/err"
fi
unset DURABENCH_PLUGIN_PATH

[ "$failed" -eq 0 ]
