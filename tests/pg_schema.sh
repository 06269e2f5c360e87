#!/bin/sh
# schema = NAME with several runs and keep = true: run k gets schema
# NAME_r<k> (docs/postgres.md), every run's schema is named in the
# environment block and the JSON, each one is kept and durabench says
# where, and the probe store that checks the database before the runs
# leaves nothing behind.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"

cat >"$tmp/schema.ini" <<'INI'
[run]
duration = 2s
warmup = 0s
configs = 1:1
repeat = 3

[workload]
scenario = fanout
max_concurrent = 4
activity_delay = 5ms

[provider pg]
plugin = postgres
url = auto
schema = bench_named
keep = true
INI
"$DURABENCH" run "$tmp/schema.ini" --no-progress --json "$tmp/out.json" >"$tmp/out.md" 2>"$tmp/err" &
run_pid=$!
# While the third run goes on, the first two schemas must be there, whole.
seen=""
for _ in $(seq 1 400); do
	kill -0 "$run_pid" 2>/dev/null || break
	if grep -q "running pg 1:1 (3/3)" "$tmp/err" && conn=$(auto_psql_args "$tmp/err"); then
		# shellcheck disable=SC2086
		seen=$(psql -X -At $conn -c "SELECT string_agg(table_schema || ':' || count, ' ' ORDER BY table_schema)
			FROM (SELECT table_schema, count(*) FROM information_schema.tables
			      WHERE table_schema LIKE 'bench_named%' OR table_schema LIKE 'durabench%'
			      GROUP BY table_schema) t" 2>/dev/null) && break
	fi
	sleep 0.05
done
wait "$run_pid"
rc=$?
run_pid=""
check "three runs with schema = NAME and keep = true succeed (got $rc)" [ "$rc" -eq 0 ] ||
	sed 's/^/# /' "$tmp/err"
echo "# schemas during run 3: $seen"
kept_two() {
	case " $seen " in
	*" bench_named_r1:"*" bench_named_r2:"*) ! has "$seen" durabench_ ;;
	*) return 1 ;;
	esac
}
check "runs 1 and 2 left bench_named_r1 and bench_named_r2 (the probe left no schema)" kept_two
announced() {
	grep -q "store kept (keep = true): .*schema bench_named_r1" "$tmp/err" &&
		grep -q "store kept (keep = true): .*schema bench_named_r3" "$tmp/err"
}
check "each kept schema is announced" announced
json_names_schemas() {
	[ "$(json_field "$tmp/out.json" runs.#)" = 3 ] || return 1
	for k in 1 2 3; do
		has "$(json_field "$tmp/out.json" "runs.$((k - 1)).store")" "schema bench_named_r$k" ||
			return 1
	done
}
md_names_schemas() {
	for k in 1 2 3; do
		grep -q "^- run pg 1:1.*schema bench_named_r$k" "$tmp/out.md" || return 1
	done
}
check "the JSON names every run's schema" json_names_schemas
check "the environment block names every run's schema" md_names_schemas
check "the probe store's schema is marked as the probe's, dropped" \
	grep -q "provider pg: .*(probe store, dropped)" "$tmp/err"
check "the url = auto server and its directory are gone" servers_gone
finish
