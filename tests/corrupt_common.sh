# Shared by the corruption tests (sqlite_corrupt.sh, pg_corrupt.sh;
# sourced after common.sh or pg_common.sh): four runs, one per damaged
# table, each of which must count its damaged instance as corrupt.

# The [run] and [workload] sections of their scenario.  Timers keep
# messages waiting in the orchestrator queue and one slow activity worker
# keeps a backlog in the worker queue, so a row of each is there to be
# damaged while the run goes on.
corrupt_scenario() {
	cat <<'INI'
[run]
duration = 3s
warmup = 0s
drain_timeout = 10s
verify_timeout = 10s
configs = 1:1

[workload]
scenario = mixed
mix = fanout:1, timers:1
timers = 1
timer_delay = 1500ms
tasks_per_instance = 3
max_concurrent = 12
activity_delay = 60ms
INI
}

# Once the damage is done: waits for the run (pid $run_pid), which must
# exit 1, and checks its reports.  $1: the name of the provider whose run
# had an instance's status damaged (each provider is named after the
# table damaged in its run).
check_corrupt_outcome() {
	reap "$run_pid" 900
	check "exit status 1 (got $rc)" [ "$rc" -eq 1 ] || sed 's/^/# /' "$tmp/err"
	check "each run counts the damaged instance as corrupt, naming what was corrupt" \
		corrupt_runs history="history of" orch_queue="corrupt orchestrator queue message" \
		work_queue="corrupt work item for instance" "$1=instances row of instance"
	check "the per-run problems under the table show the corrupt failure" \
		grep -q "first failure \[corrupt\]: .*corrupt work item for instance" "$tmp/out.md"
}

# The JSON report $tmp/out.json: a run per argument PROVIDER=TEXT, each
# counting the damaged instance as corrupt with a first failure holding
# TEXT (not a timeout, not a verification failure), and nothing lost.
corrupt_runs() {
	python3 - "$tmp/out.json" "$@" >"$tmp/py" 2>&1 <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
want = dict(arg.split("=", 1) for arg in sys.argv[2:])
bad = 0
for r in runs:
    f, first = r["failed"], r["first_failure"] or ""
    print(r["provider"], "launched", r["launched"], "completed", r["completed"], "failed", f,
          "category", r["first_failure_category"], "verify_failures", r["verify_failures"],
          "first:", first)
    ok = (f["corrupt"] >= 1 and r["first_failure_category"] == "corrupt" and
          want[r["provider"]] in first and "corrupt" in first and f["timeout"] == 0 and
          r["verify_failures"] == 0 and r["completed"] + sum(f.values()) == r["launched"])
    if not ok:
        print("  ^ not as expected"); bad += 1
assert len(runs) == len(want) and bad == 0
PY
	_rc=$?
	sed 's/^/# /' "$tmp/py"
	return "$_rc"
}
