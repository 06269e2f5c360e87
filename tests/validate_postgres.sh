#!/bin/sh
# The PostgreSQL provider passes the conformance suite against a real server
# (url = auto: a throwaway server durabench starts and removes), directly and
# through the delay proxy, and leaves no server behind.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"

# validate_all DESC OPTIONS...: the whole suite passes, >= 40 tests
validate_all() {
	desc=$1
	shift
	"$DURABENCH" validate --plugin postgres "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	last=$(tail -n 1 "$tmp/out")
	passed=${last%% passed*}
	if [ "$rc" -eq 0 ] && echo "$last" | grep -qE '^[0-9]+ passed, 0 failed, 0 skipped$' && [ "$passed" -ge 40 ]; then
		ok "$desc: $last"
	else
		not_ok "$desc: exit $rc, '$last'"
		grep -v '^ok ' "$tmp/out" | sed 's/^/# /'
		sed 's/^/# stderr: /' "$tmp/err"
	fi
}
validate_all "postgres, url = auto" --option url=auto
validate_all "postgres through the delay proxy" --option url=auto --option emulate_rtt=2ms \
	--option emulate_jitter=500us
# Far from the server (30 ms, above the plugin's 20 ms threshold) a
# waiting batch orchestration fetch waits in the server, not for a NOTIFY:
# the multi_orch tests, long poll included, pass on that path too.
"$DURABENCH" validate --plugin postgres --option url=auto --option emulate_rtt=30ms \
	--only multi_orch_ >"$tmp/out" 2>&1
rc=$?
multi_orch_passed() { [ "$rc" -eq 0 ] && tail -n 1 "$tmp/out" | grep -qE '^[6-9] passed, 0 failed, 0 skipped$'; }
check "postgres 30 ms away: the multi_orch tests pass (server-side wait)" multi_orch_passed ||
	sed 's/^/# /' "$tmp/out"
# Fixed seeds of the randomised model check.
one_passed() { [ "$rc" -eq 0 ] && [ "$(tail -n 1 "$tmp/out")" = "1 passed, 0 failed, 0 skipped" ]; }
for seed in 2 3; do
	"$DURABENCH" validate --plugin postgres --option url=auto --random "$seed" --ops 400 --threads 4 \
		>"$tmp/out" 2>&1
	rc=$?
	check "postgres: --random $seed --ops 400 --threads 4" one_passed ||
		sed 's/^/# /' "$tmp/out"
done
check "no throwaway server or directory left behind" servers_gone

# A target that refuses connections: a clear error, not a hang or a crash.
"$DURABENCH" validate --plugin postgres --option 'url=postgresql://u:pw@127.0.0.1:1/x' \
	--option emulate_rtt=5ms >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -ne 0 ] && grep -qi "127.0.0.1:1" "$tmp/out" "$tmp/err" && ! grep -q ':pw@' "$tmp/out" "$tmp/err"; then
	ok "refused target through the proxy: clear error (exit $rc), password masked"
else
	not_ok "refused target through the proxy (exit $rc)"
	sed 's/^/# /' "$tmp/out" "$tmp/err" | head -20
fi
finish
