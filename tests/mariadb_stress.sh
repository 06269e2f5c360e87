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
	check "$rc" "mariadb-stress $suite"
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/out"
done
[ "$(servers_left)" -eq 0 ] && [ "$(dirs_left)" -eq 0 ]
check $? "no throwaway server or directory left behind"
finish
