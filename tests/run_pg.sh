#!/bin/sh
# The main job, shortened: conf/compare.ini on in-memory SQLite, a throwaway
# PostgreSQL and that server behind a 50 ms emulated link; both ratio tables
# from one run; every instance verified; nothing left behind.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"

"$DURABENCH" run "$top_srcdir/conf/compare.ini" --duration 2500ms --warmup 500ms \
	--configs 1:1,2:2 --repeat 1 --json "$tmp/out.json" --no-progress >"$tmp/out.md" 2>"$tmp/err"
rc=$?
check "compare.ini runs with 100 % success and verified outputs" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
pg_rows() { grep -q '^| pg-local | 2:2 |' "$tmp/out.md" && grep -q '^| pg-remote | 1:1 |' "$tmp/out.md"; }
check "table has PostgreSQL rows" pg_rows
python3 - "$tmp/out.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = [c["name"] for c in d["comparisons"]]
assert names == ["pg-vs-sqlite", "remote-vs-local"], names
for c in d["comparisons"]:
    assert [r["config"] for r in c["rows"]] == ["1:1", "2:2"], c["rows"]
    for r in c["rows"]:
        for k in ("throughput_ratio", "latency_p50_ratio", "latency_p99_ratio"):
            assert r[k] is not None and r[k] > 0, (c["name"], k, r[k])
remote = [c for c in d["comparisons"] if c["name"] == "remote-vs-local"][0]
# 50 ms of emulated distance must make the remote provider slower
for r in remote["rows"]:
    assert r["latency_p50_ratio"] > 1.0, r
runs = d["runs"]
assert len(runs) == 6, len(runs)
for r in runs:
    assert r["success_pct"] == 100.0 and r["completed"] == r["launched"] > 0, r
    if r["plugin"] == "postgres":
        assert r["provider_stats"]["round_trips_per_orch"] > 0, r["provider_stats"]
env = json.dumps(d["environment"])
assert "PostgreSQL" in env, "server version missing from environment"
provs = {p["name"]: p for p in d["environment"]["providers"]}
# lower bounds only: no ping through a 50 ms proxy can beat 50 ms; how
# much a loaded machine adds on top is not the test's business
rtt = provs["pg-remote"]["rtt_ms"]
assert rtt >= 49.5, "measured RTT of pg-remote %s ms" % rtt
assert 0 < provs["pg-local"]["rtt_ms"] < rtt, (provs["pg-local"]["rtt_ms"], rtt)
PY
rc=$?
check "JSON: both ratio tables, measured RTTs, server version" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/py"
ratio_tables() { grep -q 'remote-vs-local' "$tmp/out.md" && grep -q 'pg-vs-sqlite' "$tmp/out.md"; }
check "Markdown has both ratio tables" ratio_tables
check "the throwaway server and its directory are gone after the run" servers_gone
finish
