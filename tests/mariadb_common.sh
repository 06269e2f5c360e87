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
. "$top_srcdir/tests/common.sh"
server_dirs=durabench-mariadb
. "$top_srcdir/tests/auto_servers.sh"
