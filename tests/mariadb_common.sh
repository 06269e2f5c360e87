# Shared by the MariaDB shell tests (sourced).  Skips the whole test when
# durabench was configured without the MariaDB plugin or mariadbd is not
# installed.
: "${DURABENCH:?}" "${top_srcdir:?}" "${top_builddir:?}"
if [ "${DURA_WITH_MARIADB:-0}" != 1 ]; then
	echo "1..0 # SKIP built without MariaDB"
	exit 0
fi
if [ -z "${DURABENCH_MARIADB_BINDIR:-}" ] && ! [ -x /usr/sbin/mariadbd ] &&
	! command -v mariadbd >/dev/null 2>&1; then
	echo "1..0 # SKIP mariadbd not installed (Debian package mariadb-server)"
	exit 0
fi
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else notok "$2"; fi; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/durabench-mdbtest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# url = auto servers are created under $TMPDIR: a directory of this test's
# own lets it check that its servers are gone while other tests run theirs.
chmod 755 "$tmp" # the server runs as the mysql user and must reach it
export TMPDIR="$tmp"
servers_left() { ps -eo args | grep -F "$tmp/durabench-mariadb" | grep -vc grep; }
dirs_left() { ls -d "$tmp"/durabench-mariadb-* 2>/dev/null | wc -l; }
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; }
