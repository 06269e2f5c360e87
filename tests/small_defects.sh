#!/bin/sh
# Small defects that must stay fixed: bad --duration values are refused with
# what is wrong (never a verdict on an uninitialised value); a --plugin-dir
# that does not exist is an error; a durabench outside the build tree does
# not load the build tree's plugins; a forked validate test child frees what
# it allocated (valgrind, when installed and the build is not sanitized).
set -u
: "${top_builddir:?}"
. "${top_srcdir:?}/tests/common.sh"

# expect RC PATTERN DESCRIPTION CMD...: exit RC and stderr matches PATTERN
expect() {
	want=$1 pattern=$2 desc=$3
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -Eq -- "$pattern" "$tmp/err"; then
		ok "$desc"
	else
		not_ok "$desc (exit $rc)"
		sed 's/^/# /' "$tmp/err"
	fi
}

for d in abc 1.5 99999999h -1s 1e400s; do
	expect 2 "--duration: (bad duration|duration '.*' needs a unit|duration '.*' (is )?(too|out))" \
		"--duration $d is refused with what is wrong" \
		"$DURABENCH" run "$top_srcdir/conf/quick.ini" --duration "$d"
done
expect 2 "--duration: must be > 0" "--duration 0s is refused as zero" \
	"$DURABENCH" run "$top_srcdir/conf/quick.ini" --duration 0s

expect 2 "--plugin-dir $tmp/none: No such file or directory" \
	"plugins --plugin-dir of a missing directory is an error" \
	"$DURABENCH" plugins --plugin-dir "$tmp/none"
touch "$tmp/file"
expect 2 "--plugin-dir $tmp/file: not a directory" "plugins --plugin-dir of a file is an error" \
	"$DURABENCH" plugins --plugin-dir "$tmp/file"
expect 2 "--plugin-dir $tmp/none: No such file or directory" \
	"validate --plugin-dir of a missing directory is an error" \
	"$DURABENCH" validate --plugin sqlite --plugin-dir "$tmp/none"
expect 2 "--plugin-dir $tmp/none: No such file or directory" \
	"run --plugin-dir of a missing directory is an error" \
	"$DURABENCH" run "$top_srcdir/conf/quick.ini" --plugin-dir "$tmp/none"

# The same binary copied out of the build tree (as an installed one is):
# it must not search the build tree, which still exists.
builddir=$(cd "$top_builddir" && pwd -P)
"$DURABENCH" plugins >"$tmp/in.out" 2>&1
check "the build tree's durabench lists the build tree's plugins" \
	grep -q "$builddir/plugins/sqlite/.libs/sqlite.so" "$tmp/in.out"
cp "$DURABENCH" "$tmp/durabench"
env -u DURABENCH_PLUGIN_PATH "$tmp/durabench" plugins >"$tmp/out.out" 2>&1
if grep -q "$builddir/plugins" "$tmp/out.out"; then
	not_ok "a durabench outside the build tree does not search it"
	sed 's/^/# /' "$tmp/out.out"
else
	ok "a durabench outside the build tree does not search it"
fi
env -u DURABENCH_PLUGIN_PATH "$tmp/durabench" plugins --plugin-dir "$builddir/plugins/sqlite/.libs" \
	>"$tmp/dir.out" 2>&1
check "... and finds the plugins it is pointed at with --plugin-dir" \
	grep -q "^sqlite " "$tmp/dir.out"

# Forked validate children: nothing definitely lost (valgrind reports for
# every process, forked children included).
if ! command -v valgrind >/dev/null 2>&1; then
	ok "# SKIP valgrind is not installed"
elif ldd "$DURABENCH" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	ok "# SKIP sanitizer build: valgrind cannot run it (the normal build checks this)"
else
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite --log-file="$tmp/vg.%p" \
		"$DURABENCH" validate --plugin sqlite --only 'lock' >"$tmp/vg.out" 2>&1
	rc=$?
	children=$(grep -c '^ok\|^not ok' "$tmp/vg.out")
	lost=$(cat "$tmp"/vg.* 2>/dev/null | grep -c 'definitely lost')
	no_leaks() { [ "$rc" -eq 0 ] && [ "$children" -gt 0 ] && [ "$lost" -eq 0 ]; }
	check "validate under valgrind: $children forked tests, $lost definite leaks (exit $rc)" no_leaks
	[ "$lost" -eq 0 ] || cat "$tmp"/vg.* | grep -B2 -A12 'definitely lost' | head -40 | sed 's/^/# /'
fi
finish
