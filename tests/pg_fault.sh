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
pid=$!
conn=""
for _ in $(seq 1 1200); do # until the run is under way (slow on a loaded machine)
	grep -q "running pg" "$tmp/err" && conn=$(auto_psql_args "$tmp/err") && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$conn" ]
check $? "the run reports its server address"
killed=0
for at in 2 2; do
	sleep "$at"
	# shellcheck disable=SC2086 # $conn is a list of options
	k=$("$psql" $conn -Atc "select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = 'durabench-fault' and pid <> pg_backend_pid()" 2>>"$tmp/psql.err")
	killed=$((killed + ${k:-0}))
done
wait "$pid"
rc=$?
[ "$killed" -gt 0 ]
check $? "terminated $killed backends during the run"
check "$rc" "the run still completes and verifies every instance (exit $rc)"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err" "$tmp/psql.err"
python3 - "$tmp/out.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
assert r["completed"] == r["launched"] > 0, (r["completed"], r["launched"])
assert r["success_pct"] == 100.0
assert all(v == 0 for v in r["failed"].values()), r["failed"]
assert r.get("verified", r["launched"]) == r["launched"], r.get("verified")
assert r["provider_stats"].get("reconnects", 0) > 0, r["provider_stats"]
print("reconnects", r["provider_stats"]["reconnects"])
PY
rc=$?
check "$rc" "nothing lost or duplicated, reconnects counted in the report"
sed 's/^/# /' "$tmp/py"
finish
