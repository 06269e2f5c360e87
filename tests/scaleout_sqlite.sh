#!/bin/sh
# Scale-out on a SQLite file: two worker processes verify every instance;
# :memory: is refused with a clear message; --external-workers over more
# than one store is refused; the run's clock starts once every worker has
# joined (workers through a slow DURABENCH_WORKER_EXE wrapper), and a
# worker that exits first ends the run at once; a run started with
# --external-workers refuses a worker whose scenario file differs (exit 2)
# and completes with a worker that joins with the same file.
set -u
. "${top_srcdir:?}/tests/common.sh"
# refused PATTERN FILE: the command before exited 2 ($rc) saying PATTERN in FILE
refused() { [ "$rc" -eq 2 ] && grep -q "$1" "$2"; }
ini="$top_srcdir/tests/scaleout/sqlite.ini"
other="$top_srcdir/tests/scaleout/sqlite-other.ini"
export DURA_TEST_DB="$tmp/run.db"
workers_left() { ps -eo args | grep -F "$top_srcdir/tests/scaleout/sqlite" | grep -vc grep; }

# --- two processes on one file ---
timeout 60 "$DURABENCH" run "$ini" --provider sq --processes 2 --no-progress \
	>"$tmp/p2.md" 2>"$tmp/p2.err"
rc=$?
check "2 worker processes on a shared SQLite file verify every instance" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/p2.err"
check "the table shows 2x1:1" grep -q '^| sq | 2x1:1 |' "$tmp/p2.md"
check "the store's file is removed after the run" [ ! -e "$DURA_TEST_DB" ]

# --- the clock starts once every worker has joined ---
# workers that start 2 s late (a wrapper): the run still lasts its
# duration, and the runs table counts both processes' work
printf '#!/bin/sh\nsleep 2\nexec "%s" "$@"\n' "$DURABENCH" >"$tmp/slow.sh"
printf '#!/bin/sh\nexit 3\n' >"$tmp/fail.sh"
chmod +x "$tmp/slow.sh" "$tmp/fail.sh"
DURABENCH_WORKER_EXE="$tmp/slow.sh" timeout 60 "$DURABENCH" run "$ini" --provider sq \
	--processes 2 --no-progress --json "$tmp/slow.json" >"$tmp/slow.md" 2>"$tmp/slow.err"
rc=$?
check "workers started through a slow wrapper verify every instance" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/slow.err"
python3 - "$tmp/slow.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
# 2 s of run, 0.5 s warm-up: a clock started before the workers joined
# would leave no completion inside the window
assert r["completed"] == r["launched"] == r["verified"] > 0, r
assert r["scale_out"]["workers_seen"] == 2, r["scale_out"]
assert r["orch_per_sec"] and r["orch_per_sec"] > 0, r
PY
rc=$?
check "its clock started after the 2 s start: the steady window has completions" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/py"
DURABENCH_WORKER_EXE="$tmp/fail.sh" timeout 60 "$DURABENCH" run "$ini" --provider sq \
	--processes 2 --no-progress >"$tmp/fail.md" 2>"$tmp/fail.err"
rc=$?
ended_early() {
	[ "$rc" -eq 1 ] && grep -q '^| sq | 2x1:1 | - |' "$tmp/fail.md" &&
		grep -q 'sq 2x1:1: a worker process ended before the run started: worker [01] (pid [0-9]*) exited with status 3' "$tmp/fail.err"
}
check "a worker that exits before joining ends the run before it starts and is named (exit $rc)" \
	ended_early
sed 's/^/# /' "$tmp/fail.err"

# --- :memory: cannot be shared ---
timeout 60 "$DURABENCH" run "$ini" --provider mem --processes 2 --no-progress \
	>"$tmp/mem.md" 2>"$tmp/mem.err"
rc=$?
check "processes with :memory: are refused with a clear message (exit $rc)" \
	refused 'in-memory database (:memory:) cannot be shared between processes' "$tmp/mem.err"

# --- external workers join one store: one provider, one config, one repeat ---
timeout 60 "$DURABENCH" run "$ini" --external-workers --join-wait 1s --no-progress \
	>"$tmp/ext2.md" 2>"$tmp/ext2.err"
rc=$?
check "--external-workers over two providers is refused with its reason (exit $rc)" \
	refused 'joins workers to one store: select one provider, one config and one repeat' "$tmp/ext2.err"
sed 's/^/# /' "$tmp/ext2.err"

# --- external workers: the contract ---
timeout 60 "$DURABENCH" run "$ini" --provider sq --external-workers --join-wait 30s \
	--no-progress >"$tmp/ext.md" 2>"$tmp/ext.err" &
guard=$!
join=""
for _ in $(seq 1 100); do
	join=$(sed -n 's/.*durabench worker .* --join \(.*\)$/\1/p' "$tmp/ext.err" 2>/dev/null)
	[ -n "$join" ] && break
	sleep 0.1
done
check "the driver prints the command that joins the run" [ -n "$join" ]
timeout 30 "$DURABENCH" worker "$other" --provider sq --join "$join" >"$tmp/w1.out" 2>"$tmp/w1.err"
rc=$?
check "a worker with a different scenario file is refused with exit 2 (exit $rc)" \
	refused 'refusing to join run .*: the scenario file differs' "$tmp/w1.err"
sed 's/^/# /' "$tmp/w1.err"
timeout 60 "$DURABENCH" worker "$ini" --provider sq --join "$join" --quiet >"$tmp/w2.out" 2>"$tmp/w2.err"
rc=$?
check "a worker with the same file joins and ends with the run" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/w2.err"
wait "$guard"
rc=$?
check "the run with an external worker verifies every instance" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/ext.err"
check "the Scale-out table counts the joined worker" grep -q '| 1 (joined) |' "$tmp/ext.md"

check "no worker process is left" [ "$(workers_left)" -eq 0 ]
finish
