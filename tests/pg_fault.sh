#!/bin/sh
# Fault test: every backend of the run's connections is terminated
# (pg_terminate_backend) twice in the middle of a run.  The run must still end
# with 100 % success, every instance verified exactly once (nothing lost or
# duplicated), and the reconnects counted in the report.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"
psql=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)

cat >"$tmp/fault.ini" <<'INI'
[run]
duration = 6s
warmup = 500ms
configs = 2:2

[workload]
scenario = fanout
max_concurrent = 20
tasks_per_instance = 5
activity_delay = 5ms

[provider pg]
plugin = postgres
url = auto
application_name = durabench-fault
INI
"$DURABENCH" run "$tmp/fault.ini" --no-progress --json "$tmp/out.json" >"$tmp/out.md" 2>"$tmp/err" &
run_pid=$!
conn=""
for _ in $(seq 1 1200); do # until the run is under way (slow on a loaded machine)
	grep -q "running pg" "$tmp/err" && conn=$(auto_psql_args "$tmp/err") && break
	kill -0 "$run_pid" 2>/dev/null || break
	sleep 0.1
done
check "the run reports its server address" [ -n "$conn" ]
killed=0
for at in 2 2; do
	sleep "$at"
	# shellcheck disable=SC2086 # $conn is a list of options
	k=$("$psql" $conn -Atc "select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = 'durabench-fault' and pid <> pg_backend_pid()" 2>>"$tmp/psql.err")
	killed=$((killed + ${k:-0}))
done
wait "$run_pid"
rc=$?
run_pid=""
check "terminated $killed backends during the run" [ "$killed" -gt 0 ]
check "the run still completes and verifies every instance (exit $rc)" [ "$rc" -eq 0 ] ||
	sed 's/^/# /' "$tmp/err" "$tmp/psql.err"
field() { json_field "$tmp/out.json" "runs.0.$1"; }
launched=$(field launched)
reconnects=$(field provider_stats.reconnects)
echo "# launched $launched completed $(field completed) verified $(field verified)" \
	"failed $(field failed) success $(field success_pct) % reconnects $reconnects"
nothing_lost() {
	[ "$launched" -gt 0 ] && [ "$(field completed)" = "$launched" ] &&
		[ "$(field verified)" = "$launched" ] && [ "$(field failed.+)" = 0 ] &&
		[ "$(field success_pct)" = 100.0 ]
}
check "nothing lost or duplicated" nothing_lost
check "reconnects counted in the report ($reconnects)" [ "${reconnects:-0}" -gt 0 ]
finish
