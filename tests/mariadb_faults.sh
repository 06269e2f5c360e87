#!/bin/sh
# [fault] actions on a url = auto MariaDB server: `check` accepts the server
# actions for it; one short run goes through kill-connections (through the
# delay proxy: mariadbd's connections are threads), restart-server,
# stop-server and pause-server: every fault applied, nothing lost, every
# instance verified, no server or directory left behind.
set -u
. "${top_srcdir:?}/tests/mariadb_common.sh"

cat >"$tmp/faults.ini" <<'INI'
[run]
duration = 11s
warmup = 1s
interval = 500ms
configs = 2:2
drain_timeout = 30s

[workload]
scenario = fanout
max_concurrent = 10
tasks_per_instance = 3
activity_delay = 5ms

[provider mdb]
plugin = mariadb
url = auto

[fault kill]
action = kill-connections
at = 2s
[fault restart]
action = restart-server
at = 3500ms
[fault stop]
action = stop-server
at = 5500ms
for = 1s
[fault pause]
action = pause-server
at = 8s
for = 1s
INI
accepted() { "$DURABENCH" check "$tmp/faults.ini" >"$tmp/check.out" 2>&1; }
check "check accepts every server action on a url = auto MariaDB" accepted ||
	sed 's/^/# /' "$tmp/check.out"

t_run=$(date +%s)
"$DURABENCH" run "$tmp/faults.ini" --no-progress --json "$tmp/faults.json" \
	>"$tmp/run.md" 2>"$tmp/run.err"
rc=$?
echo "# the run took $(($(date +%s) - t_run)) s"
check "a run through the faults completes and verifies every instance (exit $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/run.err" | tail -n 20
python3 - "$tmp/faults.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
assert r["completed"] == r["launched"] == r["verified"] > 0, (r["completed"], r["launched"], r["verified"])
f = {x["name"]: x for x in r["faults"]}
assert sorted(f) == ["kill", "pause", "restart", "stop"], sorted(f)
for x in r["faults"]:
    assert x["applied"] and x["error"] is None, x
    assert x["lost"] == 0, x
assert f["pause"]["max_latency_ms"] >= 1000, f["pause"]
assert sum(x["reconnects"] for x in r["faults"]) > 0, "faults caused no reconnect"
print("faults", [(x["name"], x["recovery_s"], x["reconnects"]) for x in r["faults"]])
PY
rc=$?
check "every fault applied with nothing lost, and the provider reconnected" [ "$rc" -eq 0 ]
sed 's/^/# /' "$tmp/py"
check "no server or directory left behind" servers_gone
finish
