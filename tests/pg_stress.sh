#!/bin/sh
# The light and standard PostgreSQL stress suites (the rest run in
# `make check-stress`): 100 % success, no infrastructure failure, verified
# outputs and their minimum throughput.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"
for suite in light standard; do
	DURABENCH=$DURABENCH "$top_srcdir/scripts/run-pg-stress-tests.sh" --only "$suite" \
		>"$tmp/out" 2>&1
	rc=$?
	check "pg-stress $suite" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/out"
done
finish
