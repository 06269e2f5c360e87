#!/bin/sh
# Scale-out on a throwaway PostgreSQL server: three worker processes verify
# every instance; a kill -9 of a worker in the middle of a run loses
# nothing (its locks expire, the other worker takes over); a worker for an
# unreachable database exits 2 with a clear message; no process is left.
# The kill-worker fault and the other failures: tests/scaleout_faults.sh.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"
ini="$top_srcdir/tests/scaleout/pg.ini"
workers_left() { ps -eo args | grep -F "worker $ini" | grep -vc grep; }

# --- three processes verify every instance ---
timeout 90 "$DURABENCH" run "$ini" --processes 3 --json "$tmp/p3.json" --no-progress \
	>"$tmp/p3.md" 2>"$tmp/p3.err"
rc=$?
check "a 3-process run completes and verifies every instance" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/p3.err"
check "the table shows processes x O:W" grep -q '^| pg | 3x1:1 |' "$tmp/p3.md"
python3 - "$tmp/p3.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
assert r["processes"] == 3, r["processes"]
s = r["scale_out"]
assert s["workers_seen"] == 3 and s["threads"] == 6, s
assert r["launched"] > 0 and r["completed"] == r["launched"], (r["completed"], r["launched"])
# The window's activities come from the workers' periodic notes (every
# 200 ms); a sanitizer build runs several times slower and may see no note
# inside a short window, so only the normal build asserts the figure.
import os
if "asan" not in os.environ.get("DURA_BUILD_FLAVOUR", ""):
    assert r["activities_per_sec"] > 0, "no activity counted from the workers' notes"
assert s["feed_entries"] == r["launched"], (s["feed_entries"], r["launched"])
PY
rc=$?
check "JSON: 3 workers, 6 threads, every completion read from the store's feed" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/py"

# --- kill -9 of one worker loses nothing ---
timeout 90 "$DURABENCH" run "$ini" --processes 2 --duration 5s --json "$tmp/kill.json" \
	--no-progress >"$tmp/kill.md" 2>"$tmp/kill.err" &
guard=$! # timeout's pid; durabench is its child, the workers are durabench's
victim=""
# the middle of the run: once every worker has joined (a worker that
# dies before would end the run before it starts), then 1.5 s more
for _ in $(seq 1 600); do # up to 60 s for the workers to join
	if grep -q 'worker processes joined; starting' "$tmp/kill.err"; then
		driver=$(ps -o pid= --ppid "$guard" 2>/dev/null | head -n 1 | tr -d ' ')
		[ -n "$driver" ] &&
			victim=$(ps -o pid=,args= --ppid "$driver" | awk '$3 == "worker" { print $1; exit }')
		[ -n "$victim" ] && break
	fi
	kill -0 "$guard" 2>/dev/null || break
	sleep 0.1
done
# its options (url = auto's password among them) came on a pipe: neither
# its environment nor its command line shows a 48-hex-digit secret
no_secret() {
	[ -n "$victim" ] && [ -r "/proc/$victim/environ" ] &&
		grep -q DURABENCH_WORKER_OPTIONS_FD "/proc/$victim/environ" &&
		! tr '\0' ' ' <"/proc/$victim/environ" | grep -qE '[0-9a-f]{48}' &&
		! tr '\0' ' ' <"/proc/$victim/cmdline" | grep -qE '[0-9a-f]{48}'
}
check "a worker's environment and command line hold no password" no_secret
sleep 1.5
[ -n "$victim" ] && kill -9 "$victim"
wait "$guard"
rc=$?
check "found a worker process of the run to kill" [ -n "$victim" ]
check "after a kill -9 of a worker every instance still completes and verifies" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/kill.err"
check "the report names the killed worker" grep -q 'was killed by signal 9' "$tmp/kill.md"

# --- a worker for an unreachable database ---
timeout 30 "$DURABENCH" worker "$ini" --provider pg --join durabench_x \
	--database-url "postgresql://durabench@127.0.0.1:1/none?connect_timeout=2" \
	>"$tmp/w.out" 2>"$tmp/w.err"
rc=$?
refused_join() { [ "$rc" -eq 2 ] && grep -q 'cannot join run durabench_x' "$tmp/w.err"; }
check "a worker for an unreachable database exits 2 and says why (exit $rc)" refused_join
sed 's/^/# /' "$tmp/w.err"

check "no worker process is left" [ "$(workers_left)" -eq 0 ]
check "the throwaway server is gone" [ "$(servers_left)" -eq 0 ]
finish
