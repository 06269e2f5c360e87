# Shared by the PostgreSQL shell tests (sourced).  Skips the whole test when
# durabench was configured without PostgreSQL.
: "${DURABENCH:?}" "${top_srcdir:?}" "${top_builddir:?}"
if [ "${DURA_WITH_POSTGRES:-0}" != 1 ]; then
	echo "1..0 # SKIP built without PostgreSQL"
	exit 0
fi
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else notok "$2"; fi; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/durabench-pgtest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# url = auto servers are created under $TMPDIR (core/pgserver.c): giving each
# test its own lets it check that its servers are gone even while other tests
# run theirs in parallel.
chmod 755 "$tmp" # the server runs as the postgres user and must reach its directory
export TMPDIR="$tmp"
servers_left() { ps -eo args | grep -F "$tmp/durabench-pg" | grep -vc grep; }
dirs_left() { ls -d "$tmp"/durabench-pg-* 2>/dev/null | wc -l; }
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; }
