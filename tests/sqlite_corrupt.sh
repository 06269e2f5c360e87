#!/bin/sh
# Corruption is reported as corruption, on a SQLite file database: in the
# middle of each of four runs another process (python's sqlite3, through
# the file that shared = true leaves open to other processes) overwrites
# one row of one table with random bytes: a history event, an orchestrator
# queue message, a work item, an instance's status.  Each run must count
# the damaged instance as corrupt with a first failure naming what was
# corrupt, and durabench exits 1 without a crash.
set -u
. "${top_srcdir:?}/tests/common.sh"
. "$top_srcdir/tests/corrupt_common.sh"

{
	corrupt_scenario
	for t in history orch_queue work_queue instance; do
		printf '\n[provider %s]\nplugin = sqlite\ndatabase = %s/%s.db\nshared = true\n' "$t" "$tmp" "$t"
	done
} >"$tmp/corrupt.ini"

"$DURABENCH" run "$tmp/corrupt.ini" --no-progress --json "$tmp/out.json" >"$tmp/out.md" 2>"$tmp/err" &
run_pid=$!

# Damages one row per run, as soon as run k is under way and holds one.
python3 - "$tmp" "$run_pid" >"$tmp/damage" 2>&1 <<'PY'
import os, sqlite3, sys, time
tmp, pid = sys.argv[1], int(sys.argv[2])
junk = "x'00' || randomblob(16)"  # no record of the codec starts with version 0
# the newest waiting work item: items are handed out oldest first, so no
# worker is reading this one already (a body read just before the damage
# would run unharmed); the history of an instance waiting for its timer,
# which has a turn left to read it
# History is one row per ack (plugins/sqlite/sqlite_schema.c): the packed
# events, each an 8-byte id, a 4-byte length and the body.  Event 2's body
# is overwritten in place with junk of its own length, so the row's framing
# stays intact and the damage reaches the core as a corrupt event body.
HISTORY_ROW = ("SELECT h.instance, h.execution, h.first_id, h.events FROM dura_history h"
               " JOIN dura_instance i ON i.instance = h.instance AND i.execution = h.execution"
               " WHERE i.status = 1 AND h.first_id <= 2 AND h.last_id >= 2 AND h.instance IN"
               " (SELECT instance FROM dura_orch_queue WHERE visible_at > :now + 300)"
               " ORDER BY h.instance LIMIT 1")
def damage_history(db, params):
    db.execute("BEGIN IMMEDIATE")
    row = db.execute(HISTORY_ROW, params).fetchone()
    if row is None:
        db.rollback()
        return 0
    inst, execution, first, events = row
    events, pos = bytearray(events), 0
    while pos + 12 <= len(events):
        eid = int.from_bytes(events[pos:pos + 8], "big")
        n = int.from_bytes(events[pos + 8:pos + 12], "big")
        if eid == 2 and n > 0:
            events[pos + 12:pos + 12 + n] = b"\x00" + os.urandom(n - 1)
            break
        pos += 12 + n
    else:
        db.rollback()
        return 0
    cur = db.execute("UPDATE dura_history SET events = ? WHERE instance = ? AND execution = ?"
                     " AND first_id = ?", (bytes(events), inst, execution, first))
    return cur.rowcount
sql = {
    "history": damage_history,
    "orch_queue": "UPDATE dura_orch_queue SET body = " + junk + " WHERE seq ="
                  " (SELECT seq FROM dura_orch_queue WHERE visible_at > :now + 300 ORDER BY seq LIMIT 1)",
    "work_queue": "UPDATE dura_work_queue SET body = " + junk + " WHERE seq ="
                  " (SELECT seq FROM dura_work_queue WHERE locked_until < :now ORDER BY seq DESC LIMIT 1)",
    "instance": "UPDATE dura_instance SET status = randomblob(8) WHERE instance ="
                " (SELECT instance FROM dura_instance WHERE status = 2 AND parent IS NULL"
                " ORDER BY instance LIMIT 1)",
}
def alive():
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False
for k, table in enumerate(["history", "orch_queue", "work_queue", "instance"], 1):
    marker = "running %s 1:1 (%d/4)" % (table, k)
    done = False
    deadline = time.time() + 40
    while not done and alive() and time.time() < deadline:
        try:
            if marker in open(os.path.join(tmp, "err")).read():
                db = sqlite3.connect(os.path.join(tmp, table + ".db"), timeout=5)
                params = {"now": int(time.time() * 1000)}
                if callable(sql[table]):
                    changed = sql[table](db, params)
                else:
                    changed = db.execute(sql[table], params).rowcount
                db.commit()
                done = changed == 1
                db.close()
        except sqlite3.Error as e:
            print("#", table, e)
        if not done:
            time.sleep(0.05)
    print("ok" if done else "missed", table)
PY
for t in history orch_queue work_queue instance; do
	check "a row of table dura_$t damaged in the middle of its run" grep -q "^ok $t" "$tmp/damage"
done
grep -q missed "$tmp/damage" && sed 's/^/# /' "$tmp/damage"

check_corrupt_outcome instance
finish
