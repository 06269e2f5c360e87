#!/bin/sh
# Option values of the shipped plugins are checked before a run (ABI 1.2
# check_options): `durabench check` and `run` refuse a bad value at the
# file:line of its key, exit 2, and start nothing.  One bad value per file.
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"

# scenario PLUGIN "KEY = VALUE": writes $tmp/s.ini, the bad line is line 9.
scenario() {
	cat >"$tmp/s.ini" <<INI
[run]
duration = 2s
warmup = 0ms
configs = 1:1
[workload]
scenario = fanout
[provider p]
plugin = $1
$2
INI
}

# refused COMMAND PLUGIN "KEY = VALUE" KEY
refused() {
	scenario "$2" "$3"
	"$DURABENCH" "$1" "$tmp/s.ini" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 2 ] && grep -q "s.ini:9: \[provider p\]: option '$4'" "$tmp/err"; then
		ok "$1 refuses $2 '$3' at file:line"
	else
		not_ok "$1 refuses $2 '$3' at file:line (exit $rc)"
		sed 's/^/# /' "$tmp/err"
	fi
}

accepted() { # PLUGIN "KEY = VALUE"
	scenario "$1" "$2"
	if "$DURABENCH" check "$tmp/s.ini" >"$tmp/out" 2>"$tmp/err"; then
		ok "check accepts $1 '$2'"
	else
		not_ok "check accepts $1 '$2'"
		sed 's/^/# /' "$tmp/err"
	fi
}

echo "1..17"
refused check sqlite "synchronous = bogus" synchronous
refused check sqlite "busy_timeout = soon" busy_timeout
refused check sqlite "busy_timeout = 2days" busy_timeout
refused check sqlite "database =" database
refused run sqlite "synchronous = bogus" synchronous
accepted sqlite "synchronous = full"
accepted sqlite "busy_timeout = 5s"
if [ "$DURA_WITH_POSTGRES" = 1 ]; then
	# url = auto is not started by check nor by a refused run.
	refused check postgres "pool_size = many" pool_size
	refused check postgres "pool_size = 1001" pool_size
	refused check postgres "keep = maybe" keep
	refused check postgres "acquire_timeout = soon" acquire_timeout
	refused check postgres "connect_timeout = -1" connect_timeout
	refused check postgres "schema = Bad-Name" schema
	refused check postgres "url = postgresql://u@h/db?colour=blue" url
	refused run postgres "pool_size = many" pool_size
	accepted postgres "url = host=db.example port=5433 sslmode=verify-full"
	accepted postgres "url = auto"
else
	for i in 1 2 3 4 5 6 7 8 9 10; do
		ok "postgres option values # SKIP built without PostgreSQL"
	done
fi
[ "$failed" -eq 0 ]
