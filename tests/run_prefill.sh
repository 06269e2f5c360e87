#!/bin/sh
# [run] prefill = N: each run's store gets N completed instances before the
# run; the run then verifies every one of its own instances and reads every
# prefilled one back, so the store holds N + the run's instances.  On null,
# SQLite in memory and on a file, and PostgreSQL (url = auto) when built.
# A provider without the prefill operation is refused before anything runs.
# Correctness only: no timing is asserted.
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"
: "${TEST_PLUGIN_DIR:?TEST_PLUGIN_DIR must point at tests/plugins/.libs}"

pg=${DURA_WITH_POSTGRES:-0}
echo "1..$((6 + pg))"

write_ini() { # FILE PROVIDER-SECTION-LINES...
	f=$1
	shift
	cat >"$f" <<INI
[run]
duration = 1s
warmup = 0s
configs = 2:2
prefill = 300

[workload]
scenario = fanout
max_concurrent = 16
tasks_per_instance = 3
activity_delay = 0

INI
	printf '%s\n' "$@" >>"$f"
}

# every run: prefill 300 written and all 300 read back, every run instance
# verified, exit 0
expect_clean() { # DESCRIPTION INI
	"$DURABENCH" run "$2" --no-progress --json "$tmp/out.json" >"$tmp/out.md" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 0 ] && python3 - "$tmp/out.json" 300 >"$tmp/py" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert d["scenario"]["run"]["prefill"] == n or any(r["prefill"] for r in d["runs"]), d["scenario"]["run"]
for r in d["runs"]:
    p = r["prefill"]
    assert p and p["instances"] == n and p["verified"] == n, (r["provider"], p)
    # durabench's CPU time during the prefill
    assert isinstance(p["cpu_seconds"], (int, float)) and p["cpu_seconds"] >= 0, p
    assert r["launched"] > 0 and r["verified"] == r["launched"] == r["completed"], r
PY
	then
		ok "$1"
	else
		not_ok "$1 (exit $rc)"
		sed 's/^/# /' "$tmp/py" "$tmp/err"
	fi
}

write_ini "$tmp/null.ini" "[provider null]" "plugin = null"
expect_clean "null: 300 prefilled read back, every run instance verified" "$tmp/null.ini"

write_ini "$tmp/mem.ini" "[provider mem]" "plugin = sqlite" "database = :memory:"
expect_clean "sqlite :memory: likewise" "$tmp/mem.ini"

write_ini "$tmp/file.ini" "[provider file]" "plugin = sqlite" "database = $tmp/prefill.db"
expect_clean "sqlite file likewise" "$tmp/file.ini"
check "the file store is removed after the run" [ ! -e "$tmp/prefill.db" ]

if [ "$pg" = 1 ]; then
	write_ini "$tmp/pg.ini" "[provider pg]" "plugin = postgres" "url = auto"
	expect_clean "postgres (url = auto) likewise" "$tmp/pg.ini"
fi

# A provider section's own prefill overrides [run] prefill: 0 there means
# no prefill for that provider.
write_ini "$tmp/over.ini" "[provider mem]" "plugin = sqlite" "prefill = 0"
"$DURABENCH" run "$tmp/over.ini" --no-progress --json "$tmp/over.json" >/dev/null 2>"$tmp/err"
rc=$?
good=no
[ "$rc" -eq 0 ] && python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
sys.exit(0 if r["prefill"] is None and r["verified"] == r["launched"] else 1)' "$tmp/over.json" &&
	good=yes
check "[provider] prefill = 0 overrides [run] prefill" [ "$good" = yes ]

# memstore has no prefill operation: refused at check time, at its line.
write_ini "$tmp/ms.ini" "[provider ms]" "plugin = $TEST_PLUGIN_DIR/memstore.so"
"$DURABENCH" check "$tmp/ms.ini" >/dev/null 2>"$tmp/err"
rc=$?
good=no
[ "$rc" -eq 2 ] && grep -q "ms.ini:[0-9]*: prefill = 300: \[provider ms\] (plugin memstore) cannot prefill" "$tmp/err" &&
	good=yes
check "a provider without prefill is refused with file:line (exit $rc)" [ "$good" = yes ]
[ "$good" = yes ] || sed 's/^/# /' "$tmp/err"
[ "$failed" -eq 0 ]
