#!/bin/sh
# Corruption is reported as corruption: in the middle of each of four runs on
# one url = auto server, one stored table of the run's schema gets random
# bytes (history, orchestrator queue, worker queue) or a value no ack writes
# (an instance's status).  Each run must count the damaged instance in the
# corrupt failure category, with a first failure naming what was corrupt --
# not a timeout, not "nobody to answer", not a verification failure -- and
# durabench exits 1 with the server gone afterwards.
set -u
. "${top_srcdir:?}/tests/pg_common.sh"

# Timers keep messages waiting in the orchestrator queue and one slow
# activity worker keeps a backlog in the worker queue, so a row of each is
# there to be damaged while the run goes on.
cat >"$tmp/corrupt.ini" <<'INI'
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

[provider history]
plugin = postgres
url = auto

[provider orch_queue]
plugin = postgres
url = auto

[provider work_queue]
plugin = postgres
url = auto

[provider instances]
plugin = postgres
url = auto
INI

# The UPDATE that damages one row of table $1 (in every durabench schema:
# only the current run's holds rows).  Random bytes after a 0 byte: no
# record of the codec starts with format version 0.  The history is that
# of an instance waiting for its timer, so it has a turn left that reads
# it (an instance whose last turn is running has read it already).  The
# work item is the
# newest waiting one: items are handed out oldest first, so no worker is
# reading it already; the UPDATE checks again that it is not locked (a
# fetch that locks it between the subquery and the UPDATE read the good
# body: PostgreSQL re-evaluates the outer WHERE on the row the fetch
# committed, so the damage then misses and is tried again).
damage_sql() {
	case $1 in
	history) set -- history "body = '\\x00'::bytea || decode(md5(random()::text), 'hex')" \
		"(instance, execution, event_id) IN (SELECT h.instance, h.execution, h.event_id
		 FROM %1\$I.history h JOIN %1\$I.instances i
		 ON i.instance = h.instance AND i.execution = h.execution
		 WHERE i.status = 1 AND h.event_id = 2 AND h.instance IN
		   (SELECT q.instance FROM %1\$I.orch_queue q WHERE q.visible_at > now() + interval '300 ms')
		 ORDER BY h.instance LIMIT 1)" ;;
	orch_queue) set -- orch_queue "body = '\\x00'::bytea || decode(md5(random()::text), 'hex')" \
		"id = (SELECT id FROM %1\$I.orch_queue WHERE visible_at > now() + interval '300 ms'
		 ORDER BY id LIMIT 1)" ;;
	work_queue) set -- work_queue "body = '\\x00'::bytea || decode(md5(random()::text), 'hex')" \
		"id = (SELECT id FROM %1\$I.work_queue WHERE lock_token IS NULL ORDER BY id DESC LIMIT 1)
		 AND lock_token IS NULL" ;;
	instances) set -- instances "status = 77" \
		"instance = (SELECT instance FROM %1\$I.instances WHERE status = 2 AND parent IS NULL
		 ORDER BY instance LIMIT 1)" ;;
	esac
	cat <<SQL
DO \$\$
DECLARE s text; n bigint; total bigint := 0;
BEGIN
  FOR s IN SELECT table_schema FROM information_schema.tables
           WHERE table_name = '$1' AND table_schema LIKE 'durabench%' LOOP
    EXECUTE format(\$q\$UPDATE %1\$I.$1 SET $2 WHERE $3\$q\$, s);
    GET DIAGNOSTICS n = ROW_COUNT;
    total := total + n;
  END LOOP;
  IF total = 0 THEN RAISE EXCEPTION 'nothing to damage yet'; END IF;
END \$\$;
SQL
}

"$DURABENCH" run "$tmp/corrupt.ini" --no-progress --json "$tmp/out.json" >"$tmp/out.md" 2>"$tmp/err" &
pid=$!
for k in 1 2 3 4; do
	table=$(sed -n "${k}p" <<EOF
history
orch_queue
work_queue
instances
EOF
)
	# wait for run k, then damage a row as soon as one is there (the
	# status of a completed instance: after the first completions)
	done_k=0
	for _ in $(seq 1 400); do
		kill -0 "$pid" 2>/dev/null || break
		if grep -q "running $table 1:1 ($k/4)" "$tmp/err" && conn=$(auto_psql_args "$tmp/err"); then
			# shellcheck disable=SC2086
			if damage_sql "$table" | psql -X -q -v ON_ERROR_STOP=1 $conn >/dev/null 2>"$tmp/psql.err"; then
				done_k=1
				break
			fi
		fi
		sleep 0.05
	done
	[ "$done_k" -eq 1 ]
	check $? "run $k: a row of table $table damaged mid-run"
	[ "$done_k" -eq 1 ] || sed 's/^/# /' "$tmp/psql.err"
done

ended=0
for _ in $(seq 1 900); do
	kill -0 "$pid" 2>/dev/null || { ended=1; break; }
	sleep 0.1
done
[ "$ended" -eq 1 ] || kill -KILL "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 1 ]
check $? "exit status 1 (got $rc)"
[ "$rc" -eq 1 ] || sed 's/^/# /' "$tmp/err"

python3 - "$tmp/out.json" >"$tmp/py" 2>&1 <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
want = {"history": "history of",
        "orch_queue": "corrupt orchestrator queue message",
        "work_queue": "corrupt work item for instance",
        "instances": "instances row of instance"}
bad = 0
for r in runs:
    f, first = r["failed"], r["first_failure"] or ""
    print(r["provider"], "launched", r["launched"], "completed", r["completed"], "failed", f, "category", r["first_failure_category"], "verify_failures", r["verify_failures"], "first:", first)
    ok = (f["corrupt"] >= 1 and r["first_failure_category"] == "corrupt" and
          want[r["provider"]] in first and "corrupt" in first and f["timeout"] == 0 and r["verify_failures"] == 0 and
          r["completed"] + sum(f.values()) == r["launched"])
    if not ok:
        print("  ^ not as expected"); bad += 1
assert len(runs) == 4 and bad == 0
PY
check $? "each run counts the damaged instance as corrupt, naming what was corrupt"
sed 's/^/# /' "$tmp/py"
grep -q "first failure \[corrupt\]: .*corrupt work item for instance" "$tmp/out.md"
check $? "the per-run problems under the table show the corrupt failure"
for _ in $(seq 1 300); do
	[ "$(servers_left)" -eq 0 ] && [ "$(dirs_left)" -eq 0 ] && break
	sleep 0.1
done
[ "$(servers_left)" -eq 0 ] && [ "$(dirs_left)" -eq 0 ]
check $? "the url = auto server and its directory are gone"
finish
