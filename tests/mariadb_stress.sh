#!/bin/sh
# The light and standard stress suites on MariaDB (url = auto): 100 %
# success, no infrastructure failure, verified outputs and the suites'
# minimum throughput; no server left behind.
set -u
. "${top_srcdir:?}/tests/mariadb_common.sh"
for suite in light standard; do
	DURABENCH=$DURABENCH "$top_srcdir/scripts/run-pg-stress-tests.sh" --engine mariadb \
		--only "$suite" >"$tmp/out" 2>&1
	rc=$?
	check "mariadb-stress $suite" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/out"
done
check "no throwaway server or directory left behind" servers_gone
finish
