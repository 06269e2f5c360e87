#!/bin/sh
# The man page lists every command of `durabench --help` and every option
# of each command's --help, renders without groff warnings and points to
# the installed documentation.
set -u
. "${top_srcdir:?}/tests/common.sh"
man="$top_srcdir/man/durabench.1"

commands=$("$DURABENCH" --help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p')
[ -n "$commands" ] && ok "durabench --help lists commands: $(echo $commands)" ||
	not_ok "durabench --help lists commands"
for c in $commands; do
	missing=""
	grep -q "^\.SS $c\b" "$man" || missing="the command itself"
	for o in $("$DURABENCH" "$c" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
		grep -q -- "$esc" "$man" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then
		ok "man page: $c and every option of '$c --help'"
	else
		not_ok "man page: $c lacks:$missing"
	fi
done
missing=""
for o in $("$DURABENCH" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
	grep -q -- "$esc" "$man" || missing="$missing $o"
done
if [ -z "$missing" ]; then ok "man page: the global options"; else
	not_ok "man page: global options lack:$missing"; fi

if command -v groff >/dev/null 2>&1; then
	warnings=$(groff -man -ww -z "$man" 2>&1)
	if [ -z "$warnings" ]; then ok "groff renders it without warnings"; else
		not_ok "groff warnings"; echo "$warnings" | sed 's/^/# /'; fi
else
	n=$((n + 1)); echo "ok $n # SKIP groff not installed"
fi
grep -q 'share/doc/durabench' "$man" && grep -q 'reporting\\&\?\.md\|reporting.md' "$man"
if [ $? -eq 0 ]; then ok "it points to the installed documentation"; else
	not_ok "it points to the installed documentation"; fi

echo "1..$n"
[ "$failed" -eq 0 ]
