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
. "$top_srcdir/tests/corrupt_common.sh"

{
	corrupt_scenario
	for t in history orch_queue work_queue instances; do
		printf '\n[provider %s]\nplugin = postgres\nurl = auto\n' "$t"
	done
} >"$tmp/corrupt.ini"

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
	history) set -- history \
		"bodies[array_position(event_ids, 2::bigint)] = '\\x00'::bytea || decode(md5(random()::text), 'hex')" \
		"(instance, execution, first_event) IN (SELECT h.instance, h.execution, h.first_event
		 FROM %1\$I.history h JOIN %1\$I.instances i
		 ON i.instance = h.instance AND i.execution = h.execution
		 WHERE i.status = 1 AND 2 = ANY (h.event_ids) AND h.instance IN
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
run_pid=$!
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
		kill -0 "$run_pid" 2>/dev/null || break
		if grep -q "running $table 1:1 ($k/4)" "$tmp/err" && conn=$(auto_psql_args "$tmp/err"); then
			# shellcheck disable=SC2086
			if damage_sql "$table" | psql -X -q -v ON_ERROR_STOP=1 $conn >/dev/null 2>"$tmp/psql.err"; then
				done_k=1
				break
			fi
		fi
		sleep 0.05
	done
	check "run $k: a row of table $table damaged mid-run" [ "$done_k" -eq 1 ] ||
		sed 's/^/# /' "$tmp/psql.err"
done

check_corrupt_outcome instances
check "the url = auto server and its directory are gone" servers_gone
finish
