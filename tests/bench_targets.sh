#!/bin/sh
# scripts/targets.py, the Targets table of scripts/bench.sh: on small
# synthetic reports it marks a target met or NOT met from the JSON fields,
# takes the anchor's median of 3 repeats, divides by a ceiling, says "not
# run" for a part the invocation did not run and "no figure" for a step that
# failed or a run that lost instances.  Then bench.sh itself, on the null
# provider: exit 0 and a figure for the harness rows when the run works,
# exit 1 and the table still printed when it does not, exit 2 on a bad part.
# No timing is asserted: only which rows have which status.
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"
targets="$top_srcdir/scripts/targets.py"
out="$tmp/out"
mkdir -p "$out"
echo "1..20"

# a report of RUNS (provider config orch/s cpu bound_fraction failed ...)
report() { # FILE PYTHON-LIST-OF-RUNS
	python3 - "$1" "$2" <<'PY'
import json, sys
runs = []
for p, cfg, orch, cpu, bf, failed, extra in eval(sys.argv[2]):
    r = {"provider": p, "config": cfg, "ran": True, "orch_per_sec": orch,
         "cpu_ms_per_orch": cpu, "bound_fraction": bf, "completed": 1000,
         "failed": {"infra": 0, "corrupt": 0, "config": 0, "app": failed, "timeout": 0},
         "verify_failures": 0, "interrupted": False,
         "provider_stats": {"round_trips_per_orch": 4.5, "lock_conflicts": 100}}
    r.update(extra)
    runs.append(r)
json.dump({"runs": runs}, open(sys.argv[1], "w"))
PY
}

# the steps the synthetic invocation ran, with their exit status
"$targets" begin "$out"
for s in saturation-null saturation-sqlite saturation-pg ceiling ceiling-sqlite-mem anchor growth; do
	"$targets" step "$out" "$s" start
done
for s in saturation-null saturation-sqlite saturation-pg ceiling ceiling-sqlite-mem anchor; do
	"$targets" step "$out" "$s" end 0
done
"$targets" step "$out" growth end 1 # failed, wrote no report

report "$out/saturation-null.json" '[("null", "2:2", 25000.0, 0.040, None, 0, {})]'
report "$out/saturation-sqlite.json" '[("sqlite-mem", "2:2", 5000.0, 0.2, None, 0, {}),
	("sqlite-file", "2:2", 700.0, 0.5, None, 0, {})]'
report "$out/saturation-pg.json" '[("pg-local", "4:4", 900.0, 0.4, None, 2, {})]'
report "$out/ceiling.json" '[("sqlite-mem", "2:2", 3000.0, 0.3, None, 0, {})]'
echo "ceiling sqlite orch_per_sec 1700.0 orch_per_cpu_sec 5000.0 cpu_ms_per_orch 0.2000 completed 10" \
	>"$out/ceiling-sqlite-mem.txt"
report "$out/anchor.json" '[
	("sqlite-mem", "1:1", 19.8, 1.0, 0.99, 0, {}), ("sqlite-mem", "1:1", 19.2, 1.0, 0.96, 0, {}),
	("sqlite-mem", "1:1", 19.6, 1.0, 0.98, 0, {}),
	("pg-local", "1:1", 18.8, 1.0, 0.94, 0, {}), ("pg-local", "1:1", 19.2, 1.0, 0.96, 0, {}),
	("pg-local", "1:1", 18.0, 1.0, 0.90, 0, {}),
	("pg-local", "2:2", 39.8, 1.0, 0.995, 0, {}), ("pg-local", "2:2", 39.8, 1.0, 0.995, 0, {})]'
# a stale report of a part this invocation did not run
report "$out/remote-150ms.json" '[("pg-far", "4:4", 30.0, 1.0, None, 0, {})]'

if "$targets" table "$out" >"$tmp/table.md" 2>"$tmp/err"; then ok "the table is written"; else
	sed 's/^/# /' "$tmp/err"
	not_ok "the table is written"
fi

# row DIR TARGET-PREFIX FIELD: that field of the row whose target starts so
row() {
	python3 - "$1/targets.json" "$2" "$3" <<'PY'
import json, sys
rows = [r for r in json.load(open(sys.argv[1]))["rows"] if r["target"].startswith(sys.argv[2])]
v = rows[0][sys.argv[3]] if len(rows) == 1 else "%d rows" % len(rows)
print("%.3f" % v if isinstance(v, float) else v)
PY
}
expect() { # DESCRIPTION TARGET-PREFIX FIELD VALUE
	got=$(row "$out" "$2" "$3")
	if [ "$got" = "$4" ]; then ok "$1"; else not_ok "$1 (got '$got', want '$4')"; fi
}

expect "null at 25,000 orch/s meets >= 20,000" "null >= 20,000" status met
expect "null at 0.040 ms CPU meets <= 0.050" "null <= 0.050" status met
expect "sqlite-mem at 5,000 orch/s is NOT met" "sqlite-mem >= 10,000" status "NOT met"
expect "its fraction is of the ceiling measured in the invocation" \
	"sqlite-mem >= 10,000" fraction 1.000
expect "ceiling: 3,000 over 5,000 per core is 0.6, met" "sqlite-mem >= 0.5 of its ceiling" figure 0.600
expect "the anchor cell takes the median of 3 (0.96, 0.98, 0.99)" \
	"anchor sqlite-mem 1:1" figure 0.980
expect "a median of 0.94 does not meet 0.95" "anchor pg-local 1:1" status "NOT met"
expect "two repeats give no figure for a median of 3" "anchor pg-local 2:2" status "no figure"
expect "a run that lost instances gives no figure" "pg-local >= 800" status "no figure"
expect "a failed step gives no figure" "prefill sqlite-mem" status "no figure"
expect "a part not run says so, stale files notwithstanding" "far database" status "not run"
if grep -q '^| 3 | sqlite-mem >= 10,000 orch/s at 2:2 | 5,000 orch/s (0.200 ms CPU/orch) | 1.00 | \*\*NOT met\*\* | ' \
	"$tmp/table.md" && grep -qF "$(grep '^| 3 | sqlite-mem >= 10,000' "$out/targets.md")" "$tmp/table.md"; then
	ok "the table prints figure, fraction and status, the same in targets.md"
else
	sed 's/^/# /' "$tmp/table.md"
	not_ok "the table prints figure, fraction and status, the same in targets.md"
fi

# growth over 3 interleaved repeats: the ratio of the medians, the median
# prefill rate, and no figure when one repeat lost instances
out2="$tmp/out2"
mkdir -p "$out2"
"$targets" begin "$out2"
"$targets" step "$out2" growth start
"$targets" step "$out2" growth end 0
pf() { echo "{'prefill': {'instances': 1000000, 'seconds': $1, 'per_sec': 1e6 / $1, 'cpu_seconds': $1}}"; }
report "$out2/growth.json" "[
	('sqlite-mem', '2:2', 1000.0, 0.1, None, 0, {}), ('sqlite-mem-full', '2:2', 700.0, 0.1, None, 0, $(pf 20)),
	('sqlite-mem', '2:2', 1200.0, 0.1, None, 0, {}), ('sqlite-mem-full', '2:2', 950.0, 0.1, None, 0, $(pf 5)),
	('sqlite-mem', '2:2', 1050.0, 0.1, None, 0, {}), ('sqlite-mem-full', '2:2', 990.0, 0.1, None, 0, $(pf 8)),
	('sqlite-file', '2:2', 500.0, 0.1, None, 0, {}), ('sqlite-file-full', '2:2', 480.0, 0.1, None, 0, $(pf 8)),
	('sqlite-file', '2:2', 500.0, 0.1, None, 0, {}), ('sqlite-file-full', '2:2', 480.0, 0.1, None, 3, $(pf 8))]"
"$targets" table "$out2" >/dev/null 2>"$tmp/err2" || sed 's/^/# /' "$tmp/err2"
expect2() { # DESCRIPTION TARGET-PREFIX FIELD VALUE
	got=$(row "$out2" "$2" "$3")
	if [ "$got" = "$4" ]; then ok "$1"; else not_ok "$1 (got '$got', want '$4')"; fi
}
expect2 "growth: the ratio of the medians over the repeats (950 / 1,050)" \
	"sqlite-mem 1,000,000 prefilled" figure 0.905
expect2 "prefill: the median rate of the repeats (1,000,000 in 8 s)" \
	"prefill sqlite-mem" figure 125000.000
expect2 "growth: a repeat that lost instances gives no figure" \
	"sqlite-file 1,000,000 prefilled" status "no figure"
expect2 "growth: a provider without runs gives no figure" \
	"pg-local 1,000,000 prefilled" status "no figure"

# bench.sh itself, on the null provider (about 2 s)
bench() { BENCH_OUT="$tmp/b" "$top_srcdir/scripts/bench.sh" "$@" >"$tmp/b.out" 2>"$tmp/b.err"; }
bench harness --provider null --duration 1s --warmup 0s
rc=$?
st=$(row "$tmp/b" "null >= 20,000" status)
if [ "$rc" -eq 0 ] && { [ "$st" = met ] || [ "$st" = "NOT met" ]; } &&
	[ "$(row "$tmp/b" "pg-local >= 800" status)" = "not run" ]; then
	ok "bench.sh harness: exit 0, the null rows measured, the others not run"
else
	sed 's/^/# /' "$tmp/b.err" | tail -n 20
	not_ok "bench.sh harness: exit 0, the null rows measured, the others not run (exit $rc, '$st')"
fi
bench harness --provider no-such-provider --duration 1s
rc=$?
if [ "$rc" -eq 1 ] && grep -q "^| 2 | null >= 20,000 .* | no figure |" "$tmp/b.out"; then
	ok "a failed run: exit 1, the table still printed"
else
	sed 's/^/# /' "$tmp/b.out" "$tmp/b.err" | tail -n 20
	not_ok "a failed run: exit 1, the table still printed (exit $rc)"
fi
bench no-such-part
rc=$?
if [ "$rc" -eq 2 ] && grep -q "usage:" "$tmp/b.err"; then ok "an unknown part: usage, exit 2"; else
	not_ok "an unknown part: usage, exit 2 (exit $rc)"
fi

[ "$failed" -eq 0 ]
