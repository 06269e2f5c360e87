#!/bin/sh
# The report extras end to end on short SQLite runs: --csv agrees with
# --json, --svg is well-formed XML, --track appends one valid JSON line per
# run, the --baseline gate passes on a real previous result, fails (exit 1,
# regression line) on an inflated one, and refuses (exit 2) unusable
# baselines and bad gate flags.
set -u
. "${top_srcdir:?}/tests/common.sh"
quick="$top_srcdir/conf/quick.ini"
short="--duration 1s --warmup 200ms --configs 1:1 --quiet"

# show NAME: the captured stderr/stdout of the last command, as diagnostics
show() { sed 's/^/# /' "$tmp/$1"; }

# --- run A: every file format at once ---
# shellcheck disable=SC2086
"$DURABENCH" run "$quick" $short --json "$tmp/a.json" --csv "$tmp/a.csv" \
	--svg "$tmp/a.svg" --track "$tmp/h.jsonl" >"$tmp/a.md" 2>"$tmp/err"
rc=$?
check "run A with --json --csv --svg --track exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || show err

python3 - "$tmp/a.csv" "$tmp/a.json" >"$tmp/py" 2>&1 <<'PY'
import csv, json, sys
cols = ["provider", "plugin", "config", "orch_workers", "activity_workers", "repeat",
        "launched", "completed", "failed_infra", "failed_config", "failed_app",
        "failed_timeout", "in_flight_at_end", "success_pct", "orch_per_sec",
        "activities_per_sec", "bound_fraction", "latency_p50_ms", "latency_p95_ms",
        "latency_p99_ms", "latency_avg_ms", "latency_max_ms", "round_trips_per_orch",
        "cpu_ms_per_orch", "drain_ms", "ran", "interrupted", "error", "first_failure",
        "first_failure_category", "failed_corrupt", "orch_spread_pct", "p50_spread_pct",
        "p99_spread_pct"]
raw = open(sys.argv[1], newline="").read()
assert raw.endswith("\r\n"), "rows end in CRLF (RFC 4180)"
rows = list(csv.reader(raw.splitlines()))
assert rows[0] == cols, "header: %r" % rows[0]
d = json.load(open(sys.argv[2]))
assert len(rows) == 1 + len(d["runs"]) == 2, "one row per run: %d rows" % len(rows)
r, j = dict(zip(cols, rows[1])), d["runs"][0]
src = {"failed_infra": j["failed"]["infra"], "failed_config": j["failed"]["config"],
       "failed_app": j["failed"]["app"], "failed_timeout": j["failed"]["timeout"],
       "failed_corrupt": j["failed"]["corrupt"],
       "round_trips_per_orch": j["provider_stats"]["round_trips_per_orch"]}
for k in ("avg", "p50", "p95", "p99", "max"):
    src["latency_%s_ms" % k] = j["latency_ms"][k]
# one run, no repeats: no spread (the JSON's "repeats" is empty)
assert d["repeats"] == [], d["repeats"]
src["orch_spread_pct"] = src["p50_spread_pct"] = src["p99_spread_pct"] = None
for c in cols:
    want = src[c] if c in src else j[c]
    if isinstance(want, bool):
        assert r[c] == ("1" if want else "0"), "%s: csv %r json %r" % (c, r[c], want)
    elif isinstance(want, str):
        assert r[c] == want, "%s: csv %r json %r" % (c, r[c], want)
    elif want is None:
        assert r[c] == "", "%s: csv %r, json null" % (c, r[c])
    else:
        assert float(r[c]) == float(want), "%s: csv %r json %r" % (c, r[c], want)
assert float(r["orch_per_sec"]) > 0 and r["provider"] == "sqlite-mem" and r["config"] == "1:1"
PY
rc=$?
check "CSV: header, one row per run, every number equals the JSON" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || show py

python3 - "$tmp/a.svg" >"$tmp/py" 2>&1 <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
titles = [t.text for t in root.iter(ns + "title")]
assert any(t and t.startswith("sqlite-mem 1:1: ") for t in titles), titles
texts = [t.text for t in root.iter(ns + "text")]
assert "sqlite-mem" in texts and "1:1" in texts, texts
assert not any(e.tag.endswith("image") or e.tag.endswith("script") for e in root.iter())
PY
rc=$?
check "SVG parses as XML with a bar, legend and axis label" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || show py

# --- run B: gate against A's JSON that must pass ---
# shellcheck disable=SC2086
"$DURABENCH" run "$quick" $short --json "$tmp/b.json" --track "$tmp/h.jsonl" \
	--baseline "$tmp/a.json" --max-drop 95 >"$tmp/b.md" 2>"$tmp/err"
rc=$?
check "run B with --baseline A --max-drop 95 exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || show err
ok_row() {
	grep -q '^### Baseline comparison' "$tmp/b.md" &&
		grep -Eq '^\| sqlite-mem \| 1:1 \| [0-9.]+ \| [0-9.]+ \| [-+][0-9.]+ % \| - \| ok \|$' "$tmp/b.md"
}
check "Baseline comparison table with an ok row" ok_row
check "Baseline comparison comes after the other tables" \
	[ "$(sed -n '/^### Baseline comparison/=' "$tmp/b.md")" -gt \
	"$(sed -n '/^### Environment/=' "$tmp/b.md")" ]

python3 - "$tmp/h.jsonl" "$tmp/a.json" "$tmp/b.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "" and len(lines) == 3, "2 newline-terminated lines: %r" % len(lines)
for line, doc in zip(lines[:2], sys.argv[2:]):
    e, d = json.loads(line), json.load(open(doc))
    assert e["format"] == "durabench-track/1"
    for k in ("date", "durabench", "commit", "hostname", "cpus", "scenario", "runs"):
        assert e.get(k) is not None, "missing " + k
    assert e["scenario"]["run"]["configs"] == ["1:1"] and e["scenario"]["run"]["duration_ms"] == 1000
    r, j = e["runs"][0], d["runs"][0]
    assert (r["provider"], r["config"]) == ("sqlite-mem", "1:1")
    assert r["orch_per_sec"] == j["orch_per_sec"] and r["latency_p99_ms"] == j["latency_ms"]["p99"]
    assert r["latency_p50_ms"] == j["latency_ms"]["p50"] and r["success_pct"] == j["success_pct"]
    assert r["bound_fraction"] == j["bound_fraction"]
PY
rc=$?
check "track history: 2 lines, each valid JSON matching its run" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || show py

# --- run C: an inflated baseline must fail the gate (the drop is about
#     99 %, at least 90 % unless this run is ten times faster than run B) ---
python3 - "$tmp/b.json" "$tmp/high.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["runs"]:
    r["orch_per_sec"] *= 100
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
# shellcheck disable=SC2086
"$DURABENCH" run "$quick" $short --baseline "$tmp/high.json" --max-drop 20% \
	--csv "$tmp/c.csv" >"$tmp/c.md" 2>"$tmp/err"
rc=$?
check "regression against a 100x baseline exits 1 (got $rc)" [ "$rc" -eq 1 ]
check "regression line names provider, config, both figures and the drop" grep -Eq \
	'REGRESSION: sqlite-mem 1:1: [0-9.]+ orch/s vs baseline [0-9.]+ orch/s \(-9[0-9]\.[0-9] %, allowed drop 20 %\)' \
	"$tmp/err"
marks_regression() { [ "$rc" -eq 1 ] && grep -q 'REGRESSION (throughput)' "$tmp/c.md"; }
check "the table marks the regression" marks_regression || show err
check "the other reports are still written on a regression" [ -s "$tmp/c.csv" ]

# --- run D: the history as baseline (its last entry), and as track target ---
# shellcheck disable=SC2086
"$DURABENCH" run "$quick" $short --baseline "$tmp/h.jsonl" --max-drop 95 \
	--max-latency-rise 900 --track "$tmp/h.jsonl" >"$tmp/d.md" 2>"$tmp/err"
rc=$?
check "gate against a --track history (last entry) exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || show err
read_before() {
	grep -q 'track history, last valid entry (line 2)' "$tmp/d.md" && grep -q 'p99 change' "$tmp/d.md"
}
check "history read before this run's entry was appended; p99 columns shown" read_before
check "history has 3 entries afterwards" [ "$(wc -l <"$tmp/h.jsonl")" -eq 3 ]

# --- a history whose last line was cut short: the last valid entry, a warning ---
cp "$tmp/h.jsonl" "$tmp/damaged.jsonl"
printf '{"format":"durabench-track/1","runs":[{"provider":"sqlite-m' >>"$tmp/damaged.jsonl"
# shellcheck disable=SC2086
"$DURABENCH" run "$quick" $short --baseline "$tmp/damaged.jsonl" --max-drop 95 \
	>"$tmp/dm.md" 2>"$tmp/err"
rc=$?
check "a history with a damaged last line still gates (exit 0)" [ "$rc" -eq 0 ]
uses_line_3() {
	grep -q 'last valid entry (line 3)' "$tmp/dm.md" &&
		grep -q 'warning: --baseline .*damaged.jsonl: the last 1 line(s) after line 3 are damaged (line 4' "$tmp/err"
}
check "it uses line 3 and warns about line 4" uses_line_3 || { show dm.md; show err; }

# --- machine output on stdout: the tables go to stderr ---
# shellcheck disable=SC2086
"$DURABENCH" run "$quick" $short --json - >"$tmp/stdout.json" 2>"$tmp/err"
rc=$?
json_only() {
	[ "$(json_field "$tmp/stdout.json" format)" = durabench-report/1 ] &&
		[ "$(json_field "$tmp/stdout.json" runs.#)" -gt 0 ] && [ "$rc" -eq 0 ] &&
		grep -q '^| Provider | Config |' "$tmp/err"
}
check "--json -: stdout is JSON only (python3 parses it), the tables are on stderr" json_only
# shellcheck disable=SC2086
"$DURABENCH" run "$quick" $short --csv - >"$tmp/stdout.csv" 2>"$tmp/err"
rc=$?
csv_only() {
	[ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/stdout.csv")" -eq 2 ] &&
		head -n1 "$tmp/stdout.csv" | grep -q '^provider,plugin,config' &&
		grep -q '^| Provider | Config |' "$tmp/err"
}
check "--csv -: stdout is the CSV only, the tables are on stderr" csv_only

# --- unusable baselines and bad flags: exit 2 before anything runs ---
expect2() {
	desc=$1 pattern=$2
	shift 2
	# shellcheck disable=SC2086
	"$DURABENCH" run "$quick" $short "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 2 ] && grep -Eq -- "$pattern" "$tmp/err"; then
		ok "$desc"
	else
		not_ok "$desc (exit $rc)"
		show err
	fi
}
: >"$tmp/empty.json"
echo 'this is not json' >"$tmp/garbage.json"
head -c 200 "$tmp/a.json" >"$tmp/truncated.json"
echo '{"a": 1}' >"$tmp/foreign.json"
expect2 "missing baseline file" "nope\.json: No such file" --baseline "$tmp/nope.json" --max-drop 20
expect2 "empty baseline file" "empty\.json: empty file" --baseline "$tmp/empty.json" --max-drop 20
expect2 "garbage baseline file" "garbage\.json: not valid JSON" --baseline "$tmp/garbage.json" --max-drop 20
expect2 "truncated baseline file" "truncated\.json: neither a JSON report" --baseline "$tmp/truncated.json" --max-drop 20
expect2 "JSON that is not a report" "foreign\.json: not a durabench" --baseline "$tmp/foreign.json" --max-drop 20
printf '{"durabench":"x","runs":[{"provider":"sqlite-mem","config":"1:1","orch_per_sec":1,"orch_per_sec":1e9}]}' >"$tmp/dup.json"
expect2 "duplicate keys are refused" "dup\.json: not valid JSON: line 1, column [0-9]+: duplicate object key" \
	--baseline "$tmp/dup.json" --max-drop 20
printf '{"format":"durabench-track/1","runs":[{"provider":"sqlite-mem","config":"1:1","orch_per_sec":-50}]}\n' >"$tmp/neg.jsonl"
expect2 "negative throughput is refused" "neg\.jsonl: runs\[0\] \(sqlite-mem 1:1\): .* is not a number >= 0" \
	--baseline "$tmp/neg.jsonl" --max-drop 20
expect2 "two outputs on stdout" "only one of --json, --csv, --svg, --html may write to stdout" --json - --csv -
expect2 "--baseline without --max-drop" "needs --max-drop" --baseline "$tmp/a.json"
expect2 "--max-drop without --baseline" "needs --baseline" --max-drop 20
expect2 "--max-drop not a number" "--max-drop: 'abc' is not a percentage" --baseline "$tmp/a.json" --max-drop abc
expect2 "--max-drop 100 gates nothing" "must be below 100" --baseline "$tmp/a.json" --max-drop 100%
expect2 "--max-latency-rise not a number" "--max-latency-rise: '-3'" --baseline "$tmp/a.json" --max-drop 20 --max-latency-rise -3

# --- no (provider, config) in common: after the run, exit 2 ---
sed 's/"sqlite-mem"/"other-provider"/g' "$tmp/a.json" >"$tmp/other.json"
expect2 "baseline with no run in common" "no \(provider, config\) of this run is in the baseline" \
	--baseline "$tmp/other.json" --max-drop 20
check "the no-overlap message lists both sides" \
	grep -q 'baseline has: other-provider 1:1$' "$tmp/err"
# a pair whose only run did not run gives no figure: it is not listed
python3 - "$tmp/other.json" "$tmp/other2.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
extra = dict(d["runs"][0], provider="broken-provider", ran=False, orch_per_sec=None)
d["runs"].append(extra)
json.dump(d, open(sys.argv[2], "w"))
PY
expect2 "baseline with no run in common (one pair without a figure)" "no \(provider, config\)" \
	--baseline "$tmp/other2.json" --max-drop 20
usable_only() { grep -q 'baseline has: other-provider 1:1$' "$tmp/err" && ! grep -q 'broken-provider' "$tmp/err"; }
check "\"baseline has:\" lists only the entries the gate could use" usable_only

finish
