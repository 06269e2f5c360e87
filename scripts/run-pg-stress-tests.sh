#!/usr/bin/env bash
# The PostgreSQL stress suite (the upstream pg-stress tests, as scenario files
# in conf/pg-stress/).  Each suite must finish with 100 % success, zero
# infrastructure failures and every output verified against storage
# (durabench run exits 1 otherwise), and reach its minimum throughput.
#
# usage: scripts/run-pg-stress-tests.sh [DURATION] [--long] [--only NAME] [--engine E]
#   DURATION   override every suite's duration (e.g. 20s); default: as in the file
#   --long     also run high-concurrency, pool-limits and long-duration (5 min)
#   --only N   run only suite N
#   --engine E pg (default) or mariadb: the suites of conf/E-stress/ (MariaDB
#              has light and standard)
# Runs against $DATABASE_URL (pg) / $MARIADB_URL (mariadb) when set, else a
# throwaway local server.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
durabench=${DURABENCH:-$top/durabench}
engine=pg
duration=""
long=0
only=""
while [ $# -gt 0 ]; do
	case "$1" in
	--long) long=1 ;;
	--only) shift; only=${1:-} ;;
	--engine) shift; engine=${1:-} ;;
	-h|--help) sed -n '2,15p' "$0"; exit 0 ;;
	*) duration=$1 ;;
	esac
	shift
done
case "$engine" in
pg) url=${DATABASE_URL:-} ;;
mariadb) url=${MARIADB_URL:-} ;;
*) echo "run-pg-stress-tests: --engine: pg or mariadb, not '$engine'" >&2; exit 2 ;;
esac
conf=${top_srcdir:-$top}/conf/$engine-stress
[ -x "$durabench" ] || { echo "run-pg-stress-tests: $durabench not built (run make)" >&2; exit 2; }

# name:min-orch-per-sec:long-only
suites="light:1:0 standard:0:0 high-concurrency:2:1 pool-limits:0:1 long-duration:1.5:1"
failed=0
ran=0
for entry in $suites; do
	IFS=: read -r name min is_long <<<"$entry"
	[ -n "$only" ] && [ "$only" != "$name" ] && continue
	[ -z "$only" ] && [ "$is_long" = 1 ] && [ "$long" = 0 ] && continue
	[ -f "$conf/$name.ini" ] || continue
	args=(run "$conf/$name.ini" --no-progress --min-orch-per-sec "$min")
	[ -n "$duration" ] && args+=(--duration "$duration")
	[ -n "$url" ] && args+=(--database-url "$url")
	echo "== $engine-stress $name"
	ran=$((ran + 1))
	if [ "$name" = long-duration ]; then
		# Resident memory must not grow: sample RSS once the run is warm and
		# at its end; allow 20 % + 8 MiB for allocator noise.
		"$durabench" "${args[@]}" &
		pid=$!
		sleep 30
		rss_early=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
		rss_late=$rss_early
		while kill -0 "$pid" 2>/dev/null; do
			r=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null) && [ -n "$r" ] && rss_late=$r
			sleep 5
		done
		wait "$pid"; rc=$?
		echo "$engine-stress $name: RSS ${rss_early} kB after 30 s, ${rss_late} kB near the end"
		if [ "$rss_late" -gt $((rss_early * 12 / 10 + 8192)) ]; then
			echo "$engine-stress $name: resident memory grew" >&2
			rc=1
		fi
	else
		"$durabench" "${args[@]}"; rc=$?
	fi
	if [ "$rc" -ne 0 ]; then
		echo "$engine-stress $name: FAILED (exit $rc)" >&2
		failed=$((failed + 1))
	fi
done
echo "$engine-stress: $((ran - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
