#!/bin/sh
# The null provider (the harness-overhead baseline) passes the whole
# conformance suite with nothing skipped but the scale-out tests (an
# in-process store cannot be shared) and, while it lacks the optional ABI
# 1.7 operations, the orchestration batch tests, and a short saturation run on it
# completes and verifies every instance.
set -u
. "${top_srcdir:?top_srcdir must point at the source tree}/tests/common.sh"

echo "1..4"
"$DURABENCH" validate --plugin null >"$tmp/out" 2>"$tmp/err"
rc=$?
last=$(tail -n 1 "$tmp/out")
passed=${last%% passed*}
other_skips=$(grep ' # skip' "$tmp/out" | grep -v '^ok [0-9]* scaleout_' |
	grep -vc '^ok [0-9]* multi_orch_[a-z_]* # skip .*not provided$')
if [ "$rc" -eq 0 ] && [ "$other_skips" -eq 0 ] && [ "${passed:-0}" -ge 80 ] &&
   echo "$last" | grep -qE '^[0-9]+ passed, 0 failed, [0-9]+ skipped$'; then
	ok "null passes validate: $last"
else
	not_ok "null validate: exit $rc, last line '$last', $other_skips skips beyond scale-out"
	grep -v '^ok ' "$tmp/out" | sed 's/^/# /'
	sed 's/^/# stderr: /' "$tmp/err"
fi

# The randomised model check with more steps and threads than the suite's.
for seed in 2 3; do
	"$DURABENCH" validate --plugin null --random "$seed" --ops 2000 --threads 5 >"$tmp/rnd" 2>&1
	rc=$?
	check "--random $seed --ops 2000 --threads 5" \
		[ "$rc" -eq 0 -a "$(tail -n 1 "$tmp/rnd")" = "1 passed, 0 failed, 0 skipped" ]
done

# A saturation run: every instance completed and verified (exit 0).
cat >"$tmp/sat.ini" <<'INI'
[run]
duration = 1s
warmup = 0
configs = 2:2

[workload]
scenario = fanout
max_concurrent = 64
tasks_per_instance = 5
activity_delay = 0

[provider null]
plugin = null
INI
"$DURABENCH" run "$tmp/sat.ini" --no-progress --json "$tmp/sat.json" >"$tmp/sat.md" 2>"$tmp/sat.err"
rc=$?
good=no
[ "$rc" -eq 0 ] && python3 - "$tmp/sat.json" <<'PY' && good=yes
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
sys.exit(0 if r["completed"] > 0 and r["success_pct"] == 100.0 else 1)
PY
check "a 1 s saturation run on null completes and verifies every instance" [ "$good" = yes ]
[ "$good" = yes ] || sed 's/^/# /' "$tmp/sat.err"
[ "$failed" -eq 0 ]
