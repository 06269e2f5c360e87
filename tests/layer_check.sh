#!/bin/sh
# The layer check (tests/layer_check.py with the table core/layers.txt)
# passes on this tree and fails, naming file and line, on each kind of
# violation injected into a copy: a wrong-way include, a cycle in the table,
# an include of a header that does not exist, and a plugin that includes a
# core header.
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"
check_py="$top_srcdir/tests/layer_check.py"
echo "1..6"

"$check_py" "$top_srcdir" >"$tmp/out" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then ok "the tree follows core/layers.txt"; else
	sed 's/^/# /' "$tmp/out"
	not_ok "the tree follows core/layers.txt"
fi

# fresh_copy: a copy of what the check reads, in $tmp/t
fresh_copy() {
	rm -rf "$tmp/t"
	mkdir -p "$tmp/t"
	cp -R "$top_srcdir/core" "$top_srcdir/plugins" "$tmp/t/"
	[ -d "$top_srcdir/examples" ] && cp -R "$top_srcdir/examples" "$tmp/t/"
	chmod -R u+w "$tmp/t"
}

# expect_failure DESCRIPTION PATTERN: the check exits 1 and prints PATTERN
expect_failure() {
	"$check_py" "$tmp/t" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -eq 1 ] && grep -qF "$2" "$tmp/out"; then ok "$1"; else
		sed 's/^/# /' "$tmp/out"
		not_ok "$1 (exit $rc)"
	fi
}

fresh_copy
# base is the bottom layer: it may include nothing of core/.
sed -i '0,/^#include/s//#include "report\/report.h"\n&/' "$tmp/t/core/base/util.c"
line=$(grep -n 'report/report.h' "$tmp/t/core/base/util.c" | cut -d: -f1)
expect_failure "a wrong-way include is refused with file:line" \
	"core/base/util.c:$line: layer base may not include report"

fresh_copy
echo "base: engine" >>"$tmp/t/core/layers.txt"
expect_failure "a cycle in the table is refused" "the table has a cycle"

fresh_copy
sed -i '0,/^#include/s//#include "engine\/no_such.h"\n&/' "$tmp/t/core/runtime/runtime.c"
expect_failure "an include of a missing header is refused" '"engine/no_such.h" does not exist'

fresh_copy
sed -i '0,/^#include/s//#include "..\/..\/core\/base\/util.h"\n&/' "$tmp/t/plugins/sqlite/sqlite_store.c"
expect_failure "a plugin including a core header is refused" \
	"plugins/sqlite/sqlite_store.c:"

fresh_copy
sed -i '0,/^#include/s//#include <base\/util.h>\n&/' "$tmp/t/plugins/postgres/pg_pool.c"
expect_failure "a plugin including a core header with <> is refused" \
	"a plugin includes no core header (<base/util.h>)"

[ "$failed" -eq 0 ]
