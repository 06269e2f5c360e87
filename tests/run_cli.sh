#!/bin/sh
# durabench run / check end to end on SQLite: a short run of every workload
# that must complete and verify every instance, the JSON document against the
# printed table, and bad scenario files and options that must be refused with
# file:line and exit code 2.
set -u
. "${top_srcdir:?}/tests/common.sh"
cli="$top_srcdir/tests/cli"

# expect_refused DESCRIPTION PATTERN CMD...: exit 2 and stderr matches PATTERN
expect_refused() {
	desc=$1 pattern=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 2 ] && grep -Eq -- "$pattern" "$tmp/err"; then
		ok "$desc"
	else
		not_ok "$desc (exit $rc)"
		sed 's/^/# /' "$tmp/err"
	fi
}

# --- a quick run with JSON ---
"$DURABENCH" run "$top_srcdir/conf/quick.ini" --duration 2s --warmup 500ms \
	--configs 1:1,2:2 --json "$tmp/out.json" --quiet >"$tmp/table.md" 2>"$tmp/err"
rc=$?
check "quick run exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
row_per_config() {
	grep -q '^| sqlite-mem | 1:1 |' "$tmp/table.md" && grep -q '^| sqlite-mem | 2:2 |' "$tmp/table.md"
}
check "table has a row per config" row_per_config
python3 - "$tmp/out.json" "$tmp/table.md" >"$tmp/py" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
table = open(sys.argv[2]).read()
for k in ("durabench", "scenario", "environment", "runs", "comparisons"):
    assert k in d, "missing top-level field " + k
assert len(d["runs"]) == 2, "expected 2 runs, got %d" % len(d["runs"])
fields = ("provider", "plugin", "config", "orch_workers", "activity_workers", "launched",
          "completed", "failed", "in_flight_at_end", "success_pct", "orch_per_sec",
          "activities_per_sec", "bound_fraction", "latency_ms", "provider_stats")
for r in d["runs"]:
    for f in fields:
        assert f in r, "run lacks " + f
    for f in ("infra", "config", "app", "timeout"):
        assert r["failed"][f] == 0, "failed.%s = %s" % (f, r["failed"][f])
    for f in ("avg", "p50", "p95", "p99", "max"):
        assert r["latency_ms"][f] is not None and r["latency_ms"][f] > 0, "latency " + f
    assert r["latency_ms"]["p50"] <= r["latency_ms"]["p99"] <= r["latency_ms"]["max"] * 1.01
    assert "round_trips_per_orch" in r["provider_stats"]
    assert r["completed"] == r["launched"] > 0, "completed %d of %d" % (r["completed"], r["launched"])
    assert r["success_pct"] == 100.0
    assert 0 < r["bound_fraction"] <= 1.05, "bound fraction %s" % r["bound_fraction"]
    row = "| %s | %s | %d | 0 | 100.0 |" % (r["provider"], r["config"], r["completed"])
    assert row in table, "table lacks row " + row
    assert ("%.1f" % r["orch_per_sec"]) in table, "table lacks orch/s %.1f" % r["orch_per_sec"]
PY
rc=$?
check "JSON has every field and agrees with the table" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/py"

# --- every workload completes and verifies ---
for s in timers suborch continue_as_new payload mixed; do
	"$DURABENCH" run "$cli/run-$s.ini" --quiet --json "$tmp/$s.json" >"$tmp/$s.md" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 0 ] && python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
assert r["completed"] == r["launched"] > 0 and r["success_pct"] == 100.0
' "$tmp/$s.json"; then ok "workload $s completes and verifies"; else
		not_ok "workload $s (exit $rc)"; sed 's/^/# /' "$tmp/err"; fi
done

# --- check accepts every shipped scenario ---
for f in "$top_srcdir"/conf/*.ini "$top_srcdir"/conf/pg-stress/*.ini; do
	if [ "$DURA_WITH_POSTGRES" != 1 ] && grep -q 'plugin *= *postgres' "$f"; then
		ok "check $(basename "$f") # SKIP built without PostgreSQL"
		continue
	fi
	"$DURABENCH" check "$f" >/dev/null 2>"$tmp/err"
	rc=$?
	check "check accepts conf/$(basename "$f")" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
done

# --- bad scenario files: file:line and exit 2 (the loader's own unit test
#     checks each message; here the CLI must surface them) ---
for f in "$top_srcdir"/tests/ini/bad-*.ini; do
	b=$(basename "$f")
	expect_refused "check refuses $b with file:line" "$b:[0-9]+: " "$DURABENCH" check "$f"
	expect_refused "run refuses $b" "$b:[0-9]+: " "$DURABENCH" run "$f" --quiet
done
expect_refused "missing file" "no-such-file.ini" "$DURABENCH" run "$tmp/no-such-file.ini"
expect_refused "provider naming an unknown plugin" \
	"unknown-plugin.ini:5: .*no-such-plugin" "$DURABENCH" check "$cli/unknown-plugin.ini"
expect_refused "unknown provider option names its line" \
	"unknown-option.ini:7: .*unknown option 'colour'" "$DURABENCH" check "$cli/unknown-option.ini"
expect_refused "bad provider option value" \
	"synchronous" "$DURABENCH" run "$cli/bad-option-value.ini" --quiet
expect_refused "emulate_rtt on a provider without an address" \
	"emulate-not-networked.ini:3: .*networked" "$DURABENCH" check "$cli/emulate-not-networked.ini"
if [ "$DURA_WITH_POSTGRES" = 1 ]; then
	expect_refused "bad emulate_rtt value" "bad-emulate.ini:4: .*emulate_rtt" \
		"$DURABENCH" check "$cli/bad-emulate.ini"
	expect_refused "unreachable database: clear error, exit 2" "pg-nowhere.*127\.0\.0\.1" \
		"$DURABENCH" run "$cli/unreachable-pg.ini" --quiet
	if grep -q 's3cret' "$tmp/err" "$tmp/out"; then not_ok "password masked in errors"; else ok "password masked in errors"; fi
else
	ok "bad emulate_rtt value # SKIP built without PostgreSQL"
	ok "unreachable database # SKIP built without PostgreSQL"
	ok "password masked # SKIP built without PostgreSQL"
fi

# --- command-line overrides ---
expect_refused "--provider naming no section" "no \[provider nope\]" \
	"$DURABENCH" run "$top_srcdir/conf/quick.ini" --provider nope
expect_refused "--duration with a bad unit" "duration" \
	"$DURABENCH" run "$top_srcdir/conf/quick.ini" --duration 5parsecs
expect_refused "--configs with bad syntax" "configs" \
	"$DURABENCH" run "$top_srcdir/conf/quick.ini" --configs 1-1
expect_refused "unknown flag" "unknown or incomplete option" \
	"$DURABENCH" run "$top_srcdir/conf/quick.ini" --frobnicate
helps() { "$DURABENCH" "$@" --help >/dev/null 2>&1; }
for c in run check validate plugins proxy; do
	check "$c --help exits 0" helps "$c"
done
version() { "$DURABENCH" --version | grep -q '^durabench [0-9]'; }
check "--version" version
expect_refused "unknown command" "unknown command" "$DURABENCH" frobnicate

finish
