#!/bin/sh
# The template provider (examples/skeleton.c) is a complete provider: it
# passes the conformance suite, refuses a bad option value before opening,
# and runs in a scenario.
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"
: "${top_builddir:?top_builddir must point at the build tree}"
skel_dir="$top_builddir/examples/.libs"

echo "1..4"
"$DURABENCH" validate --plugin "$skel_dir/skeleton.so" >"$tmp/out" 2>"$tmp/err"
rc=$?
grep -v '^ok ' "$tmp/out" | sed 's/^/# /'
sed 's/^/# stderr: /' "$tmp/err"
check "skeleton passes validate (exit 0, no 'not ok')" \
	sh -c '[ "$1" -eq 0 ] && ! grep -q "^not ok" "$2"' sh "$rc" "$tmp/out"
check "at least 40 tests ran on it" [ "$(grep -c '^ok ' "$tmp/out")" -ge 40 ]

"$DURABENCH" validate --plugin "$skel_dir/skeleton.so" --option poll_ms=0 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "a bad option value is refused by its check_options (exit 2)" \
	sh -c '[ "$1" -eq 2 ] && grep -q "poll_ms" "$2"' sh "$rc" "$tmp/err"

"$DURABENCH" run "$top_srcdir/examples/skeleton.ini" --plugin-dir "$skel_dir" --quiet \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
sed 's/^/# stderr: /' "$tmp/err"
check "skeleton runs examples/skeleton.ini (exit 0, a row per config)" \
	sh -c '[ "$1" -eq 0 ] && [ "$(grep -c "^| skeleton | " "$2")" -ge 2 ]' sh "$rc" "$tmp/out"
[ "$failed" -eq 0 ]
