#!/bin/sh
# [fault] sections end to end.  `check` refuses, with file:line, a fault a
# provider cannot take, kill-worker without worker processes or of a worker
# the runs do not have, overlapping faults and misplaced keys.
# Then one short run on a url = auto PostgreSQL goes through every action
# (kill-connections, restart-server, stop-server, pause-server, partition,
# latency): every fault applied, nothing lost, every instance verified, the
# timeline, the Faults table, the CSV files and the chart written.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"

# expect_refused DESCRIPTION PATTERN FILE: check exits 2 with PATTERN
expect_refused() {
	"$DURABENCH" check "$3" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 2 ] && grep -Eq -- "$2" "$tmp/err"; then
		ok "$1"
	else
		not_ok "$1 (exit $rc)"
		sed 's/^/# /' "$tmp/err"
	fi
}

cat >"$tmp/base.ini" <<'INI'
[run]
duration = 10s
configs = 1:1

[provider mem]
plugin = sqlite

[provider pg]
plugin = postgres
url = auto
INI
cp "$tmp/base.ini" "$tmp/sqlite-restart.ini"
printf '\n[fault boom]\naction = restart-server\nat = 2s\nproviders = pg, mem\n' \
	>>"$tmp/sqlite-restart.ini"
expect_refused "restart-server on SQLite refused at the section's line" \
	"sqlite-restart.ini:12: \[fault boom\] provider mem cannot take restart-server" \
	"$tmp/sqlite-restart.ini"
cp "$tmp/base.ini" "$tmp/sqlite-partition.ini"
printf '\n[fault cut]\naction = partition\nat = 2s\nfor = 1s\nproviders = mem\n' \
	>>"$tmp/sqlite-partition.ini"
expect_refused "partition of an in-process store refused" \
	"sqlite-partition.ini:12: .*mem cannot take partition" "$tmp/sqlite-partition.ini"
cp "$tmp/base.ini" "$tmp/default.ini"
printf '\n[fault boom]\naction = restart-server\nat = 2s\n' >>"$tmp/default.ini"
accepted() { "$DURABENCH" check "$1" >"$tmp/out" 2>"$tmp/err"; }
check "without 'providers' a fault covers only the providers that can take it" \
	accepted "$tmp/default.ini"
cp "$tmp/base.ini" "$tmp/worker.ini"
printf '\n[fault w]\naction = kill-worker\nat = 2s\n' >>"$tmp/worker.ini"
expect_refused "kill-worker without worker processes refused at the section's line" \
	"worker.ini:12: \[fault w\] no provider of this run can take kill-worker \(its runs have no worker processes" \
	"$tmp/worker.ini"
cp "$tmp/base.ini" "$tmp/worker-listed.ini"
printf 'processes = 2\n\n[fault w]\naction = kill-worker\nat = 2s\nproviders = mem\n' \
	>>"$tmp/worker-listed.ini"
expect_refused "kill-worker on a provider with processes = 0 refused" \
	"worker-listed.ini:13: \[fault w\] provider mem cannot take kill-worker" \
	"$tmp/worker-listed.ini"
cp "$tmp/base.ini" "$tmp/worker-ok.ini"
printf 'processes = 2\n\n[fault w]\naction = kill-worker\nat = 2s\nfor = 1s\nworker = 1\n' \
	>>"$tmp/worker-ok.ini"
check "kill-worker of worker 1 of 2, restarted after 'for', accepted" accepted "$tmp/worker-ok.ini"
sed 's/^worker = 1/worker = 2/' "$tmp/worker-ok.ini" >"$tmp/worker-index.ini"
expect_refused "kill-worker of a worker the runs do not have refused at 'worker'" \
	"worker-index.ini:17: \[fault w\] worker = 2, but the runs of provider pg have 2 worker" \
	"$tmp/worker-index.ini"
cp "$tmp/base.ini" "$tmp/worker-key.ini"
printf '\n[fault a]\naction = restart-server\nat = 2s\nworker = 0\n' >>"$tmp/worker-key.ini"
expect_refused "'worker' on another action refused at its line" \
	"worker-key.ini:15: \[fault a\] worker: only a kill-worker fault" "$tmp/worker-key.ini"
printf '\n[provider old]\nplugin = postgres\nurl = auto\nkill_worker_at = 2s\n' \
	>"$tmp/worker-old.ini"
expect_refused "the old provider key kill_worker_at points to the fault section" \
	"worker-old.ini:5: .*kill_worker_at: the kill-worker fault is a \[fault NAME\] section" \
	"$tmp/worker-old.ini"
cp "$tmp/base.ini" "$tmp/overlap.ini"
printf '\n[fault a]\naction = pause-server\nat = 2s\nfor = 3s\n' >>"$tmp/overlap.ini"
printf '\n[fault b]\naction = restart-server\nat = 4s\n' >>"$tmp/overlap.ini"
expect_refused "overlapping faults on one provider refused" \
	"overlap.ini:19: \[fault b\] overlaps \[fault a\]" "$tmp/overlap.ini"
cp "$tmp/base.ini" "$tmp/late.ini"
printf '\n[fault a]\naction = stop-server\nat = 8s\nfor = 3s\n' >>"$tmp/late.ini"
expect_refused "a fault ending after the run refused at its 'for'" \
	"late.ini:15: \[fault a\] ends at 11s" "$tmp/late.ini"
cp "$tmp/base.ini" "$tmp/nofor.ini"
printf '\n[fault a]\naction = pause-server\nat = 2s\n' >>"$tmp/nofor.ini"
expect_refused "a pause without 'for' refused" "nofor.ini:12: .*needs 'for" "$tmp/nofor.ini"
cp "$tmp/base.ini" "$tmp/for.ini"
printf '\n[fault a]\naction = kill-connections\nat = 2s\nfor = 1s\n' >>"$tmp/for.ini"
expect_refused "'for' on an instant action refused at its line" \
	"for.ini:15: .*instantaneous" "$tmp/for.ini"

# --- one run through every action ---
cat >"$tmp/all.ini" <<'INI'
[run]
duration = 14s
warmup = 1s
interval = 500ms
configs = 2:2
drain_timeout = 60s

[workload]
scenario = fanout
max_concurrent = 10
tasks_per_instance = 3
activity_delay = 5ms

[provider pg]
plugin = postgres
url = auto

[fault kill]
action = kill-connections
at = 2s
[fault restart]
action = restart-server
at = 3500ms
[fault stop]
action = stop-server
at = 5s
for = 1s
[fault pause]
action = pause-server
at = 7s
for = 1s
[fault cut]
action = partition
at = 9s
for = 1s
[fault slow]
action = latency
at = 11s
for = 1s
rtt = 200ms
INI
t_run=$(date +%s)
"$DURABENCH" run "$tmp/all.ini" --no-progress --json "$tmp/all.json" \
	--timeline-csv "$tmp/tl.csv" --faults-csv "$tmp/faults.csv" --svg "$tmp/all.svg" \
	--html "$tmp/all.html" >"$tmp/all.md" 2>"$tmp/all.err"
rc=$?
echo "# the run took $(($(date +%s) - t_run)) s"
check "a run through every action completes and verifies every instance (exit $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/all.err" | tail -n 20
check "partition and latency route the provider through the proxy (0 ms added)" \
	grep -q '(through the delay proxy)' "$tmp/all.err"
python3 - "$tmp/all.json" "$tmp/tl.csv" "$tmp/faults.csv" >"$tmp/py" 2>&1 <<'PY'
import csv, json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
assert r["completed"] == r["launched"] == r["verified"] > 0, (r["completed"], r["launched"], r["verified"])
f = {x["name"]: x for x in r["faults"]}
assert sorted(f) == ["cut", "kill", "pause", "restart", "slow", "stop"], sorted(f)
for x in r["faults"]:
    assert x["applied"] and x["error"] is None, x
    assert x["lost"] == 0, x
    assert x["provider"] == "pg"
    for k in ("at_s", "for_s", "before_orch_per_sec", "recovery_s", "max_latency_ms",
              "failed", "retries", "reconnects"):
        assert k in x, k
assert f["stop"]["end_s"] - f["stop"]["begin_s"] >= 1.0 and f["stop"]["for_s"] == 1.0
assert f["pause"]["max_latency_ms"] >= 1000, f["pause"]
assert f["slow"]["max_latency_ms"] >= 200, f["slow"]
assert sum(x["reconnects"] for x in r["faults"]) > 0, "faults caused no reconnect"
tl = r["timeline"]
assert len(tl) == 28, len(tl)
assert abs(sum(p["completed"] for p in tl) - r["completed"]) <= r["in_flight_at_end"]
keys = {"t_s", "completed", "orch_per_sec", "activities_per_sec", "p50_ms", "p99_ms",
        "in_flight", "failed", "round_trips", "retries", "reconnects", "lock_conflicts"}
assert keys <= set(tl[0]), keys - set(tl[0])
# an interval wholly inside the pause completes nothing
b, e = f["pause"]["begin_s"], f["pause"]["end_s"]
paused = [p for p in tl if b + 0.05 <= p["t_s"] and p["t_s"] + p["len_s"] <= e]
assert paused and all(p["completed"] == 0 for p in paused), paused
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == len(tl) and rows[0]["provider"] == "pg", len(rows)
frows = list(csv.DictReader(open(sys.argv[3])))
assert len(frows) == 6 and all(x["lost"] == "0" for x in frows), frows
print("faults", [(x["name"], x["recovery_s"]) for x in r["faults"]])
PY
rc=$?
check "every fault applied, nothing lost, timeline and CSV files consistent" [ "$rc" -eq 0 ]
sed 's/^/# /' "$tmp/py"
faults_table() {
	grep -q '^### Faults' "$tmp/all.md" &&
		grep -q '^| pg | 2:2 | pause (pause-server) |' "$tmp/all.md"
}
check "the Faults table is printed" faults_table
svg_chart() { grep -q '<polyline' "$tmp/all.svg" && grep -q 'Timeline 2:2' "$tmp/all.svg"; }
check "--svg draws the timeline chart" svg_chart
html_faults() {
	grep -q '<h2>Faults</h2>' "$tmp/all.html" &&
		grep -q '<td>pause (pause-server)</td>' "$tmp/all.html" &&
		[ "$(grep -c '<td>pg</td><td>2:2</td>' "$tmp/all.html")" -ge 6 ] &&
		grep -q 'Timeline 2:2' "$tmp/all.html"
}
check "--html shows the Faults table (a row per fault) and the timeline chart" html_faults
check "no server or directory left behind" servers_gone
finish
