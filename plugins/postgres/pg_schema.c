
/*
 * The schema of one store: tables, indexes and the PL/pgSQL functions that
 * make every provider operation a single call (one round trip, one implicit
 * transaction).
 *
 * Tables
 *   orch_queue      orchestrator messages; visible_at is the visibility
 *                   time, lock_token the fetch that tagged the message
 *   instance_locks  one row per instance that ever had a message (created
 *                   unlocked before its first message is queued); a fetch
 *                   takes an instance by locking its row FOR UPDATE SKIP
 *                   LOCKED and setting token/locked_until, ack and abandon
 *                   clear them; a row whose locked_until passed is free
 *   work_queue      activity work items; while an item is locked its
 *                   visible_at IS the lock expiry, so "visible" and
 *                   "unlocked or expired" are the same index range
 *   history         one row per ack that appended events: (instance,
 *                   execution, first event id) -> the ack's event ids and
 *                   bodies as two arrays of equal length (store format 2)
 *   instances       metadata
 *   enqueue_keys    one idempotency key per enqueue call, so that
 *                   retrying a call whose commit may have happened is a
 *                   no-op (pruned after an hour)
 *
 * Hot paths and their indexes (no sequential scans):
 *   fetch orch   orch_queue_visible (visible_at, id) in order, joined to
 *                instance_locks' primary key (FOR UPDATE SKIP LOCKED), then
 *                orch_queue_instance to tag
 *   ack orch     instance_locks_token, orch_queue_instance, history pkey
 *   fetch work   work_queue_visible with FOR UPDATE SKIP LOCKED (batch:
 *                the same, LIMIT n, then a TID scan per locked row)
 *   ack work     work_queue_token (partial: only locked items; batch: a
 *                nested loop over the tokens array, one probe each)
 *   enqueue      enqueue_keys pkey (one probe + insert per call)
 *
 * Every function reads clock_timestamp() (the server's clock) for
 * visibility and locks.  Lock-lost conditions RAISE SQLSTATE 'DBL01', a
 * duplicate history event id raises unique_violation: both abort the whole
 * call, so nothing is half done.  Functions NOTIFY the channel named after
 * the schema ('o' orchestrator work, 'w' worker work) when p_notify is set,
 * which the client does only while some of its fetchers are waiting and
 * another store works on the schema (pg_notify.c).
 *
 * The functions use unqualified names: every connection sets search_path to
 * the store's schema (pg_statements.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

/* The layout this provider writes and reads, stored as the schema's comment
 * when it creates one: a store attached by another process (scale-out
 * workers) must have been created with the same layout, since the
 * functions live in the schema and the reads are prepared by the client.
 * 2: one history row per ack (arrays of event ids and bodies); a schema
 * without the comment is the layout before, one history row per event. */
#define STORE_FORMAT "durabench store format 2"

/* Shared fragments: the same text wherever the same thing is meant, so the
 * two queues and the lock checks cannot drift apart. */

/* Storage settings of the hot tables (many deletes and updates): vacuum
 * after a fixed number of dead rows, without cost-based throttling. */
#define HOT_TABLE_VACUUM \
"autovacuum_vacuum_scale_factor = 0.0,\n" \
"        autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0"

/* orch_queue and work_queue have the same shape. */
#define QUEUE_TABLE(name) \
"CREATE TABLE " name " (\n" \
"  id bigint GENERATED ALWAYS AS IDENTITY,\n" \
"  instance text NOT NULL,\n" \
"  visible_at timestamptz NOT NULL,\n" \
"  lock_token bigint,\n" \
"  attempts integer NOT NULL DEFAULT 0,\n" \
"  body bytea NOT NULL\n" \
") WITH (fillfactor = 80, " HOT_TABLE_VACUUM ");\n"

/* After the statement that must have found the row p_token holds: the
 * lock-lost error every ack/abandon/renew raises (SQLSTATE DBL01, mapped
 * to DURA_LOCK_LOST by pg_errors.c).  kind: "orchestration", "work item". */
#define LOCK_LOST(kind) \
"  IF NOT FOUND THEN\n" \
"    RAISE EXCEPTION '" kind " lock token % is unknown, expired or already released', p_token\n" \
"      USING ERRCODE = 'DBL01';\n" \
"  END IF;\n"

/* Ack and abandon of an orchestration item: release the instance lock
 * p_token still holds (into v_inst), or raise lock-lost.  The row stays:
 * fetchers lock it (FOR UPDATE SKIP LOCKED) to take the instance. */
#define RELEASE_ORCH_LOCK \
"  UPDATE instance_locks l SET token = NULL, locked_until = '-infinity'\n" \
"   WHERE l.token = p_token AND l.locked_until > v_ts\n" \
"  RETURNING l.instance INTO v_inst;\n" \
LOCK_LOST("orchestration")

/* Before messages go to the orchestrator queues of the instances in the
 * text[] expression insts: every such instance has its row in
 * instance_locks (unlocked), which a fetch must lock to take it.  The
 * existing rows are read from the snapshot, so a row that a turn is
 * updating right now costs no wait (ON CONFLICT alone would wait for that
 * transaction); only new instances are inserted, sorted, so that two calls
 * creating rows for the same new instances cannot deadlock.  The existing
 * rows are looked up once with "= ANY" (primary-key probes): written as a
 * NOT EXISTS anti join, the planner hashed the whole table, a scan that
 * grew with every instance the store ever held. */
#define ENSURE_LOCK_ROWS(insts) \
"  INSERT INTO instance_locks (instance, locked_until)\n" \
"  SELECT DISTINCT e.inst, '-infinity'::timestamptz FROM unnest(" insts ") AS e(inst)\n" \
"   WHERE e.inst IS NOT NULL\n" \
"     AND e.inst <> ALL (ARRAY(SELECT x.instance FROM instance_locks x\n" \
"                               WHERE x.instance = ANY (" insts ")))\n" \
"   ORDER BY 1\n" \
"  ON CONFLICT (instance) DO NOTHING;\n"

/* A work fetch that found nothing: time until the next item becomes
 * visible (NULL: none pending), then return. */
#define WORK_NEXT_MS_AND_RETURN \
"    o_next_ms := ceil(extract(epoch FROM (\n" \
"        (SELECT min(w.visible_at) FROM work_queue w WHERE w.visible_at > v_ts)\n" \
"        - v_ts)) * 1000)::bigint;\n" \
"    RETURN;\n"

static const char schema_ddl[] =
QUEUE_TABLE("orch_queue")
/* untagged messages only: a fetch's scan no longer walks the messages of
 * the instances held right now (tagging moves a message out of it) */
"CREATE INDEX orch_queue_visible ON orch_queue (visible_at, id) WHERE lock_token IS NULL;\n"
"CREATE INDEX orch_queue_instance ON orch_queue (instance, id);\n"
"\n"
"CREATE TABLE instance_locks (\n"
"  instance text PRIMARY KEY,\n"
"  token bigint,\n"
"  locked_until timestamptz NOT NULL\n"
") WITH (fillfactor = 50, " HOT_TABLE_VACUUM ");\n"
"CREATE UNIQUE INDEX instance_locks_token ON instance_locks (token);\n"
/* live and expired locks only (released rows have no token): the next
 * expiry an empty fetch reports */
"CREATE INDEX instance_locks_until ON instance_locks (locked_until) WHERE token IS NOT NULL;\n"
"\n"
QUEUE_TABLE("work_queue")
"CREATE INDEX work_queue_visible ON work_queue (visible_at, id);\n"
"CREATE INDEX work_queue_token ON work_queue (lock_token) WHERE lock_token IS NOT NULL;\n"
"\n"
/* One row per ack, not per event: a turn of six events writes one heap
 * tuple and one index entry instead of six of each (docs/postgres.md). */
"CREATE TABLE history (\n"
"  instance text NOT NULL,\n"
"  execution bigint NOT NULL,\n"
"  first_event bigint NOT NULL,\n"
"  event_ids bigint[] NOT NULL,\n"
"  bodies bytea[] NOT NULL,\n"
"  CONSTRAINT history_pkey PRIMARY KEY (instance, execution, first_event)\n"
");\n"
"\n"
/* idempotency keys of enqueue calls (see dura_pg_enqueue_orchestrator) */
"CREATE TABLE enqueue_keys (\n"
"  key bigint PRIMARY KEY,\n"
"  created timestamptz NOT NULL\n"
") WITH (autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000);\n"
"CREATE INDEX enqueue_keys_created ON enqueue_keys (created);\n"
"\n"
/* scale-out (docs/scale-out.md): instances started by start_instances
 * and not finished yet, the completion feed, and the run's notes */
"CREATE TABLE started (\n"
"  instance text PRIMARY KEY,\n"
"  started_at timestamptz NOT NULL\n"
");\n"
"CREATE TABLE completion_feed (\n"
"  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
"  instance text NOT NULL,\n"
"  status integer NOT NULL,\n"
"  started_at timestamptz NOT NULL,\n"
"  completed_at timestamptz NOT NULL,\n"
"  taken bigint\n" /* take_completions_acked: the call that handed it out */
");\n"
"CREATE TABLE notes (\n"
"  key text PRIMARY KEY,\n"
"  value bytea NOT NULL\n"
");\n"
"\n"
"CREATE TABLE instances (\n"
"  instance text PRIMARY KEY,\n"
"  name text NOT NULL,\n"
"  status integer NOT NULL,\n"
"  output bytea NOT NULL,\n"
"  parent text,\n"
"  execution bigint NOT NULL\n"
");\n"
"\n"
/* tokens: unique per fetch, never reused; CACHE avoids contention on the
 * sequence (tokens need not be monotonic) */
"CREATE SEQUENCE lock_tokens CACHE 32;\n"
"\n"
/* ---- enqueue ---- */
"CREATE FUNCTION dura_enqueue(p_key bigint, p_inst text[], p_bodies bytea[],\n"
"                             p_delays bigint[], p_notify boolean,\n"
"                             p_started boolean DEFAULT false) RETURNS boolean\n"
"LANGUAGE plpgsql AS $fn$\n"
"DECLARE v_ts timestamptz := clock_timestamp();\n"
"BEGIN\n"
/* a key seen before: an earlier attempt of this very call committed */
"  INSERT INTO enqueue_keys (key, created) VALUES (p_key, v_ts)\n"
"  ON CONFLICT (key) DO NOTHING;\n"
"  IF NOT FOUND THEN\n"
"    RETURN false;\n"
"  END IF;\n"
ENSURE_LOCK_ROWS("p_inst")
"  INSERT INTO orch_queue (instance, visible_at, body)\n"
"  SELECT m.inst, v_ts + greatest(m.delay, 0) * interval '1 millisecond', m.body\n"
"    FROM unnest(p_inst, p_bodies, p_delays) WITH ORDINALITY AS m(inst, body, delay, n)\n"
"   ORDER BY m.n;\n"
/* start_instances: the start time, stamped by this server's clock */
"  IF p_started THEN\n"
"    INSERT INTO started (instance, started_at)\n"
"    SELECT DISTINCT m.inst, clock_timestamp() FROM unnest(p_inst) AS m(inst)\n"
"    ON CONFLICT (instance) DO NOTHING;\n"
"  END IF;\n"
"  IF p_notify AND EXISTS (SELECT 1 FROM unnest(p_delays) d WHERE d <= 0) THEN\n"
"    PERFORM pg_notify(current_schema(), 'o');\n"
"  END IF;\n"
/* keys only matter for seconds (a retry); about one call in 256 prunes
 * those older than an hour through the created index */
"  IF random() < 1.0 / 256 THEN\n"
"    DELETE FROM enqueue_keys k WHERE k.created < v_ts - interval '1 hour';\n"
"  END IF;\n"
"  RETURN true;\n"
"END $fn$;\n"
"\n"
/* ---- fetch an orchestration item ----
 * Candidates come in order of their oldest visible message.  Taking an
 * instance means locking its instance_locks row FOR UPDATE SKIP LOCKED: a
 * concurrent fetcher skips an instance another one is taking right now
 * and goes on to the next candidate in the same scan, instead of losing a
 * race on it; when the row changed after the scan's snapshot (another
 * fetch committed a lock), the locked latest version is checked against
 * the WHERE again and the instance is skipped.  A lost race is left only
 * when the messages went away meanwhile (o_lost counts those); the
 * instance goes to v_tried and the loop goes on, so the call only returns
 * empty when nothing else is eligible. */
"CREATE FUNCTION dura_fetch_orch(p_lock_ms integer,\n"
"  OUT o_token bigint, OUT o_instance text, OUT o_execution bigint,\n"
"  OUT o_bodies bytea[], OUT o_attempts integer[],\n"
"  OUT o_hist_ids bigint[], OUT o_hist_bodies bytea[],\n"
"  OUT o_lost integer, OUT o_next_ms bigint, OUT o_blocked boolean)\n"
"LANGUAGE plpgsql AS $fn$\n"
"DECLARE\n"
"  v_ts timestamptz;\n"
"  v_cand text;\n"
"  v_tried text[] := '{}';\n"
"  v_tok bigint;\n"
"BEGIN\n"
"  o_lost := 0;\n"
"  LOOP\n"
"    v_ts := clock_timestamp();\n"
/* an instance whose lock expired first (rare; the partial index holds only
 * held locks): its messages are still tagged with the old token, so the
 * scan of untagged messages below would not find them */
"    SELECT l.instance INTO v_cand FROM instance_locks l\n"
"     WHERE l.token IS NOT NULL AND l.locked_until <= v_ts\n"
"       AND l.instance <> ALL (v_tried)\n"
"     ORDER BY l.locked_until\n"
"     LIMIT 1\n"
"     FOR UPDATE SKIP LOCKED;\n"
"    IF NOT FOUND THEN\n"
"      SELECT l.instance INTO v_cand\n"
"        FROM orch_queue q JOIN instance_locks l ON l.instance = q.instance\n"
"       WHERE q.lock_token IS NULL AND q.visible_at <= v_ts\n"
"         AND l.locked_until <= v_ts\n"
"         AND q.instance <> ALL (v_tried)\n"
"       ORDER BY q.visible_at, q.id\n"
"       LIMIT 1\n"
"       FOR UPDATE OF l SKIP LOCKED;\n"
"    END IF;\n"
"    IF v_cand IS NULL THEN\n"
"      o_next_ms := ceil(extract(epoch FROM (least(\n"
"          (SELECT min(q.visible_at) FROM orch_queue q\n"
"            WHERE q.lock_token IS NULL AND q.visible_at > v_ts),\n"
"          (SELECT min(l.locked_until) FROM instance_locks l\n"
"            WHERE l.token IS NOT NULL AND l.locked_until > v_ts))\n"
"        - v_ts)) * 1000)::bigint;\n"
/* visible messages that wait only for an instance lock (they arrived while
 * it was held: no token) or for a concurrent fetcher (skipped, v_tried): a
 * lock release makes them fetchable without any enqueue, so the client
 * must not treat the queue as quietly empty (dura_pg_lock_released) */
"      o_blocked := EXISTS (SELECT 1 FROM orch_queue q\n"
"                            WHERE q.visible_at <= v_ts\n"
"                              AND (q.lock_token IS NULL OR q.instance = ANY (v_tried)\n"
"                                   OR NOT EXISTS (SELECT 1 FROM instance_locks l\n"
"                                                   WHERE l.instance = q.instance\n"
"                                                     AND l.token IS NOT NULL\n"
"                                                     AND l.locked_until > v_ts)));\n"
"      RETURN;\n"
"    END IF;\n"
"    v_tok := nextval('lock_tokens');\n"
/* the lock and the tags in one statement (one executor start-up) */
"    WITH lk AS (\n"
"      UPDATE instance_locks l\n"
"         SET token = v_tok, locked_until = v_ts + p_lock_ms * interval '1 millisecond'\n"
"       WHERE l.instance = v_cand),\n"
"    tagged AS (\n"
"      UPDATE orch_queue q SET lock_token = v_tok, attempts = q.attempts + 1\n"
"       WHERE q.instance = v_cand AND q.visible_at <= v_ts\n"
"      RETURNING q.id, q.body, q.attempts)\n"
"    SELECT array_agg(t.body ORDER BY t.id), array_agg(t.attempts ORDER BY t.id)\n"
"      INTO o_bodies, o_attempts FROM tagged t;\n"
"    IF o_bodies IS NOT NULL THEN\n"
"      o_token := v_tok;\n"
"      o_instance := v_cand;\n"
"      SELECT x.e, h.ids, h.bodies INTO o_execution, o_hist_ids, o_hist_bodies\n"
"        FROM (SELECT coalesce((SELECT i.execution FROM instances i\n"
"                                WHERE i.instance = v_cand), 0) AS e) x,\n"
"             LATERAL (SELECT array_agg(e.id ORDER BY e.id) AS ids,\n"
"                             array_agg(e.body ORDER BY e.id) AS bodies\n"
"                        FROM history r, unnest(r.event_ids, r.bodies) AS e(id, body)\n"
"                       WHERE r.instance = v_cand AND r.execution = x.e) h;\n"
"      RETURN;\n"
"    END IF;\n"
/* the messages went away (acked by the previous holder meanwhile) */
"    UPDATE instance_locks l SET token = NULL, locked_until = '-infinity'\n"
"     WHERE l.instance = v_cand AND l.token = v_tok;\n"
"    o_lost := o_lost + 1;\n"
"    v_tried := v_tried || v_cand;\n"
"  END LOOP;\n"
"END $fn$;\n"
"\n"
/* ---- ack an orchestration item ---- */
"CREATE FUNCTION dura_ack_orch(p_token bigint, p_execution bigint,\n"
"  p_hist_ids bigint[], p_hist_bodies bytea[],\n"
"  p_work_inst text[], p_work_bodies bytea[], p_work_delays bigint[],\n"
"  p_orch_inst text[], p_orch_bodies bytea[], p_orch_delays bigint[],\n"
"  p_has_meta boolean, p_name text, p_status integer, p_output bytea,\n"
"  p_parent text, p_meta_execution bigint, p_notify boolean) RETURNS boolean\n"
"LANGUAGE plpgsql AS $fn$\n"
"DECLARE\n"
"  v_ts timestamptz := clock_timestamp();\n"
"  v_inst text;\n"
"  v_more boolean;\n"
"  v_dup boolean;\n"
"BEGIN\n"
RELEASE_ORCH_LOCK
/* first, so that the check for messages eligible now below sees them */
"  IF cardinality(p_orch_inst) > 0 THEN\n"
ENSURE_LOCK_ROWS("p_orch_inst")
"    INSERT INTO orch_queue (instance, visible_at, body)\n"
"    SELECT m.inst, v_ts + greatest(m.delay, 0) * interval '1 millisecond', m.body\n"
"      FROM unnest(p_orch_inst, p_orch_bodies, p_orch_delays) WITH ORDINALITY\n"
"           AS m(inst, body, delay, n)\n"
"     ORDER BY m.n;\n"
"  END IF;\n"
/* The rest of the turn in one statement (each statement of a function
 * costs an executor start-up and a snapshot, which dominated the server's
 * CPU per orchestration): the turn's messages deleted, its history
 * appended (one row), its work items queued, the metadata upserted and a terminal
 * status of an instance start_instances started moved into the completion
 * feed (data-modifying CTEs: all run, in one snapshot; empty arrays and
 * false conditions write nothing).  The final SELECT tells whether
 * messages that arrived during the turn are eligible now and whether an
 * event id is a duplicate; it sees the snapshot before the statement's
 * writes, hence "not tagged by this turn". */
"  WITH d AS (DELETE FROM orch_queue q WHERE q.instance = v_inst AND q.lock_token = p_token),\n"
"  h AS (INSERT INTO history (instance, execution, first_event, event_ids, bodies)\n"
"        SELECT v_inst, p_execution, p_hist_ids[1], p_hist_ids, p_hist_bodies\n"
"         WHERE cardinality(p_hist_ids) > 0),\n"
"  w AS (INSERT INTO work_queue (instance, visible_at, body)\n"
"        SELECT w.inst, v_ts + greatest(w.delay, 0) * interval '1 millisecond', w.body\n"
"          FROM unnest(p_work_inst, p_work_bodies, p_work_delays) WITH ORDINALITY\n"
"               AS w(inst, body, delay, n)\n"
"         ORDER BY w.n),\n"
"  m AS (INSERT INTO instances AS i (instance, name, status, output, parent, execution)\n"
"        SELECT v_inst, p_name, p_status, p_output, p_parent, p_meta_execution\n"
"         WHERE p_has_meta\n"
"        ON CONFLICT (instance) DO UPDATE\n"
"          SET name = excluded.name, status = excluded.status, output = excluded.output,\n"
"              parent = excluded.parent, execution = excluded.execution),\n"
"  s AS (DELETE FROM started t\n"
"         WHERE p_has_meta AND p_status IN (2, 3, 5) AND t.instance = v_inst\n"
"        RETURNING t.started_at),\n"
"  f AS (INSERT INTO completion_feed (instance, status, started_at, completed_at)\n"
"        SELECT v_inst, p_status, s.started_at, clock_timestamp() FROM s)\n"
"  SELECT EXISTS (SELECT 1 FROM orch_queue q\n"
"                  WHERE q.instance = v_inst AND q.visible_at <= v_ts\n"
"                    AND q.lock_token IS DISTINCT FROM p_token),\n"
"         cardinality(p_hist_ids) > 0 AND (\n"
"           cardinality(p_hist_ids) <> (SELECT count(DISTINCT e) FROM unnest(p_hist_ids) e)\n"
"           OR EXISTS (SELECT 1 FROM history r WHERE r.instance = v_inst\n"
"                       AND r.execution = p_execution AND r.event_ids && p_hist_ids))\n"
"    INTO v_more, v_dup;\n"
/* event ids are unique per (instance, execution): none twice in this ack,
 * none in a row of an earlier ack (the check above sees the rows before
 * this statement's insert; only the lock holder appends).  Raised after
 * the writes, it rolls the whole ack back. */
"  IF v_dup THEN\n"
"    RAISE unique_violation USING MESSAGE = format(\n"
"      'duplicate history event id in execution %s of instance %s', p_execution, v_inst);\n"
"  END IF;\n"
"  IF p_notify THEN\n"
"    IF EXISTS (SELECT 1 FROM unnest(p_work_delays) d WHERE d <= 0) THEN\n"
"      PERFORM pg_notify(current_schema(), 'w');\n"
"    END IF;\n"
"    IF v_more OR EXISTS (SELECT 1 FROM unnest(p_orch_delays) d WHERE d <= 0) THEN\n"
"      PERFORM pg_notify(current_schema(), 'o');\n"
"    END IF;\n"
"  END IF;\n"
"  RETURN v_more;\n"
"END $fn$;\n"
"\n"
/* ack + next fetch in one transaction: one round trip per turn */
"CREATE FUNCTION dura_ack_fetch_orch(p_token bigint, p_execution bigint,\n"
"  p_hist_ids bigint[], p_hist_bodies bytea[],\n"
"  p_work_inst text[], p_work_bodies bytea[], p_work_delays bigint[],\n"
"  p_orch_inst text[], p_orch_bodies bytea[], p_orch_delays bigint[],\n"
"  p_has_meta boolean, p_name text, p_status integer, p_output bytea,\n"
"  p_parent text, p_meta_execution bigint, p_notify boolean, p_lock_ms integer,\n"
"  OUT o_token bigint, OUT o_instance text, OUT o_execution bigint,\n"
"  OUT o_bodies bytea[], OUT o_attempts integer[],\n"
"  OUT o_hist_ids bigint[], OUT o_hist_bodies bytea[],\n"
"  OUT o_lost integer, OUT o_next_ms bigint, OUT o_blocked boolean, OUT o_more boolean)\n"
"LANGUAGE plpgsql AS $fn$\n"
"BEGIN\n"
"  o_more := dura_ack_orch(p_token, p_execution, p_hist_ids, p_hist_bodies,\n"
"    p_work_inst, p_work_bodies, p_work_delays, p_orch_inst, p_orch_bodies,\n"
"    p_orch_delays, p_has_meta, p_name, p_status, p_output, p_parent,\n"
"    p_meta_execution, p_notify);\n"
"  SELECT f.o_token, f.o_instance, f.o_execution, f.o_bodies, f.o_attempts,\n"
"         f.o_hist_ids, f.o_hist_bodies, f.o_lost, f.o_next_ms, f.o_blocked\n"
"    INTO o_token, o_instance, o_execution, o_bodies, o_attempts,\n"
"         o_hist_ids, o_hist_bodies, o_lost, o_next_ms, o_blocked\n"
"    FROM dura_fetch_orch(p_lock_ms) f;\n"
"END $fn$;\n"
"\n"
"CREATE FUNCTION dura_abandon_orch(p_token bigint, p_delay_ms integer,\n"
"                                  p_notify boolean) RETURNS void\n"
"LANGUAGE plpgsql AS $fn$\n"
"DECLARE\n"
"  v_ts timestamptz := clock_timestamp();\n"
"  v_inst text;\n"
"BEGIN\n"
RELEASE_ORCH_LOCK
"  UPDATE orch_queue q\n"
"     SET lock_token = NULL,\n"
"         visible_at = greatest(q.visible_at, v_ts + greatest(p_delay_ms, 0) * interval '1 millisecond')\n"
"   WHERE q.instance = v_inst AND q.lock_token = p_token;\n"
"  IF p_notify THEN\n"
"    PERFORM pg_notify(current_schema(), 'o');\n"
"  END IF;\n"
"END $fn$;\n"
"\n"
"CREATE FUNCTION dura_renew_orch(p_token bigint, p_extend_ms integer) RETURNS void\n"
"LANGUAGE plpgsql AS $fn$\n"
"DECLARE v_ts timestamptz := clock_timestamp();\n"
"BEGIN\n"
"  UPDATE instance_locks l\n"
"     SET locked_until = v_ts + greatest(p_extend_ms, 0) * interval '1 millisecond'\n"
"   WHERE l.token = p_token AND l.locked_until > v_ts;\n"
LOCK_LOST("orchestration")
"END $fn$;\n"
"\n"
/* ---- work items ---- */
"CREATE FUNCTION dura_fetch_work(p_lock_ms integer,\n"
"  OUT o_token bigint, OUT o_instance text, OUT o_body bytea,\n"
"  OUT o_attempts integer, OUT o_next_ms bigint)\n"
"LANGUAGE plpgsql AS $fn$\n"
"DECLARE\n"
"  v_ts timestamptz := clock_timestamp();\n"
"  v_row tid;\n"
"BEGIN\n"
"  SELECT w.ctid INTO v_row FROM work_queue w\n"
"   WHERE w.visible_at <= v_ts\n"
"   ORDER BY w.visible_at, w.id\n"
"   LIMIT 1\n"
"   FOR UPDATE SKIP LOCKED;\n"
"  IF NOT FOUND THEN\n"
WORK_NEXT_MS_AND_RETURN
"  END IF;\n"
"  o_token := nextval('lock_tokens');\n"
"  UPDATE work_queue w\n"
"     SET lock_token = o_token, attempts = w.attempts + 1,\n"
"         visible_at = v_ts + p_lock_ms * interval '1 millisecond'\n"
"   WHERE w.ctid = v_row\n"
"  RETURNING w.instance, w.body, w.attempts INTO o_instance, o_body, o_attempts;\n"
"END $fn$;\n"
"\n"
"CREATE FUNCTION dura_ack_work(p_token bigint, p_inst text, p_body bytea,\n"
"                              p_delay bigint, p_notify boolean) RETURNS void\n"
"LANGUAGE plpgsql AS $fn$\n"
"DECLARE v_ts timestamptz := clock_timestamp();\n"
"BEGIN\n"
"  DELETE FROM work_queue w WHERE w.lock_token = p_token AND w.visible_at > v_ts;\n"
LOCK_LOST("work item")
"  IF p_inst IS NOT NULL THEN\n"
ENSURE_LOCK_ROWS("ARRAY[p_inst]")
"    INSERT INTO orch_queue (instance, visible_at, body)\n"
"    VALUES (p_inst, v_ts + greatest(p_delay, 0) * interval '1 millisecond', p_body);\n"
"    IF p_notify AND p_delay <= 0 THEN\n"
"      PERFORM pg_notify(current_schema(), 'o');\n"
"    END IF;\n"
"  END IF;\n"
"END $fn$;\n"
"\n"
"CREATE FUNCTION dura_ack_fetch_work(p_token bigint, p_inst text, p_body bytea,\n"
"  p_delay bigint, p_notify boolean, p_lock_ms integer,\n"
"  OUT o_token bigint, OUT o_instance text, OUT o_body bytea,\n"
"  OUT o_attempts integer, OUT o_next_ms bigint)\n"
"LANGUAGE plpgsql AS $fn$\n"
"BEGIN\n"
"  PERFORM dura_ack_work(p_token, p_inst, p_body, p_delay, p_notify);\n"
"  SELECT f.o_token, f.o_instance, f.o_body, f.o_attempts, f.o_next_ms\n"
"    INTO o_token, o_instance, o_body, o_attempts, o_next_ms\n"
"    FROM dura_fetch_work(p_lock_ms) f;\n"
"END $fn$;\n"
"\n"
/* ---- work items in batches ----
 * dura_fetch_works peek-locks up to p_max items (oldest first) exactly as
 * dura_fetch_work does one: the candidates are locked with SKIP LOCKED,
 * then each gets its own token, attempts + 1 and the lock expiry as its
 * visible_at.  The results come back as parallel arrays in queue order. */
"CREATE FUNCTION dura_fetch_works(p_lock_ms integer, p_max integer,\n"
"  OUT o_tokens bigint[], OUT o_instances text[], OUT o_bodies bytea[],\n"
"  OUT o_attempts integer[], OUT o_next_ms bigint)\n"
"LANGUAGE plpgsql SET enable_seqscan = off AS $fn$\n"
"DECLARE\n"
"  v_ts timestamptz := clock_timestamp();\n"
"  v_rows tid[];\n"
"  v_ids bigint[];\n"
"BEGIN\n"
"  IF p_max <= 0 THEN\n"
"    RETURN;\n"
"  END IF;\n"
"  SELECT array_agg(c.ctid ORDER BY c.visible_at, c.id),\n"
"         array_agg(c.id ORDER BY c.visible_at, c.id) INTO v_rows, v_ids\n"
"    FROM (SELECT w.ctid, w.visible_at, w.id FROM work_queue w\n"
"           WHERE w.visible_at <= v_ts\n"
"           ORDER BY w.visible_at, w.id\n"
"           LIMIT p_max\n"
"           FOR UPDATE SKIP LOCKED) c;\n"
"  IF v_rows IS NULL THEN\n"
WORK_NEXT_MS_AND_RETURN
"  END IF;\n"
/* the rows are locked by this transaction: their ctids stay put.  A TID
 * scan of "ctid = ANY"; the queue is small in pages but churned, so the
 * planner's estimate favoured a sequential scan (joined to unnest(), a
 * hash join over one), which walks every dead row since the last vacuum:
 * hence enable_seqscan = off for this function.  Queue order is the order
 * of the ids (a row's ctid changes with the update, its id does not). */
"  WITH u AS (\n"
"    UPDATE work_queue w\n"
"       SET lock_token = nextval('lock_tokens'), attempts = w.attempts + 1,\n"
"           visible_at = v_ts + p_lock_ms * interval '1 millisecond'\n"
"     WHERE w.ctid = ANY (v_rows)\n"
"    RETURNING array_position(v_ids, w.id) AS n, w.lock_token, w.instance, w.body,\n"
"              w.attempts)\n"
"  SELECT array_agg(u.lock_token ORDER BY u.n), array_agg(u.instance ORDER BY u.n),\n"
"         array_agg(u.body ORDER BY u.n), array_agg(u.attempts ORDER BY u.n)\n"
"    INTO o_tokens, o_instances, o_bodies, o_attempts FROM u;\n"
"END $fn$;\n"
"\n"
/* Acks n items, then fetches up to p_max.  Item i is acked as dura_ack_work
 * acks one (deleted if p_tokens[i] still holds it; its completion, if
 * p_inst[i] is not NULL, enqueued) but a lost token does not abort the
 * call: o_acked[i] is false and that item enqueues nothing.  One
 * transaction; the fetch runs after the acks, so it sees their deletes. */
"CREATE FUNCTION dura_ack_fetch_works(p_tokens bigint[], p_inst text[],\n"
"  p_bodies bytea[], p_delays bigint[], p_notify boolean, p_lock_ms integer,\n"
"  p_max integer,\n"
"  OUT o_acked boolean[], OUT o_tokens bigint[], OUT o_instances text[],\n"
"  OUT o_bodies bytea[], OUT o_attempts integer[], OUT o_next_ms bigint)\n"
"LANGUAGE plpgsql AS $fn$\n"
"DECLARE\n"
"  v_ts timestamptz := clock_timestamp();\n"
"  v_acked bigint[];\n"
"BEGIN\n"
/* probes of work_queue_token through "= ANY" (a join to unnest() was
 * planned as a hash join over a sequential scan of the queue) */
"  WITH del AS (\n"
"    DELETE FROM work_queue w\n"
"     WHERE w.lock_token = ANY (p_tokens) AND w.visible_at > v_ts\n"
"    RETURNING array_position(p_tokens, w.lock_token)::bigint AS n)\n"
"  SELECT coalesce(array_agg(del.n), '{}') INTO v_acked FROM del;\n"
ENSURE_LOCK_ROWS("p_inst")
"  INSERT INTO orch_queue (instance, visible_at, body)\n"
"  SELECT c.inst, v_ts + greatest(c.delay, 0) * interval '1 millisecond', c.body\n"
"    FROM unnest(p_inst, p_bodies, p_delays) WITH ORDINALITY AS c(inst, body, delay, n)\n"
"   WHERE c.inst IS NOT NULL AND c.n = ANY (v_acked)\n"
"   ORDER BY c.n;\n"
"  o_acked := ARRAY(SELECT t.n = ANY (v_acked)\n"
"                     FROM unnest(p_tokens) WITH ORDINALITY AS t(tok, n) ORDER BY t.n);\n"
"  IF p_notify AND EXISTS (SELECT 1 FROM unnest(p_inst, p_delays) WITH ORDINALITY\n"
"                                      AS c(inst, delay, n)\n"
"                          WHERE c.inst IS NOT NULL AND c.delay <= 0\n"
"                            AND c.n = ANY (v_acked)) THEN\n"
"    PERFORM pg_notify(current_schema(), 'o');\n"
"  END IF;\n"
"  SELECT f.o_tokens, f.o_instances, f.o_bodies, f.o_attempts, f.o_next_ms\n"
"    INTO o_tokens, o_instances, o_bodies, o_attempts, o_next_ms\n"
"    FROM dura_fetch_works(p_lock_ms, p_max) f;\n"
"END $fn$;\n"
"\n"
"CREATE FUNCTION dura_abandon_work(p_token bigint, p_delay_ms integer,\n"
"                                  p_notify boolean) RETURNS void\n"
"LANGUAGE plpgsql AS $fn$\n"
"DECLARE v_ts timestamptz := clock_timestamp();\n"
"BEGIN\n"
"  UPDATE work_queue w\n"
"     SET lock_token = NULL,\n"
"         visible_at = v_ts + greatest(p_delay_ms, 0) * interval '1 millisecond'\n"
"   WHERE w.lock_token = p_token AND w.visible_at > v_ts;\n"
LOCK_LOST("work item")
"  IF p_notify AND p_delay_ms <= 0 THEN\n"
"    PERFORM pg_notify(current_schema(), 'w');\n"
"  END IF;\n"
"END $fn$;\n"
"\n"
"CREATE FUNCTION dura_renew_work(p_token bigint, p_extend_ms integer) RETURNS void\n"
"LANGUAGE plpgsql AS $fn$\n"
"DECLARE v_ts timestamptz := clock_timestamp();\n"
"BEGIN\n"
"  UPDATE work_queue w\n"
"     SET visible_at = v_ts + greatest(p_extend_ms, 0) * interval '1 millisecond'\n"
"   WHERE w.lock_token = p_token AND w.visible_at > v_ts;\n"
LOCK_LOST("work item")
"END $fn$;\n"
"\n"
/* take_completions_acked (provider.h): what calls up to p_ack handed out
 * is recorded by the reader and removed; what a later call handed out (its
 * reply was lost) is taken back; then the oldest p_max are handed out as
 * call p_ack + 1.  Idempotent for one p_ack: a repeated call returns the
 * same entries (and any newer ones). */
"CREATE FUNCTION dura_take_completions_acked(p_ack bigint, p_max integer)\n"
"  RETURNS TABLE (o_seq bigint, o_instance text, o_status integer,\n"
"                 o_started_us bigint, o_completed_us bigint)\n"
"LANGUAGE plpgsql AS $fn$\n"
"BEGIN\n"
"  DELETE FROM completion_feed f WHERE f.taken <= p_ack;\n"
"  UPDATE completion_feed f SET taken = NULL WHERE f.taken > p_ack;\n"
"  RETURN QUERY\n"
"    WITH t AS (\n"
"      UPDATE completion_feed f SET taken = p_ack + 1\n"
"       WHERE f.seq IN (SELECT c.seq FROM completion_feed c ORDER BY c.seq LIMIT p_max\n"
"                       FOR UPDATE SKIP LOCKED)\n"
"      RETURNING f.seq, f.instance, f.status, f.started_at, f.completed_at)\n"
"    SELECT t.seq, t.instance, t.status,\n"
"           (extract(epoch FROM t.started_at) * 1000000)::bigint,\n"
"           (extract(epoch FROM t.completed_at) * 1000000)::bigint\n"
"      FROM t ORDER BY t.seq;\n"
"END $fn$;\n";

static dura_rc run(PGconn *conn, const char *sql, const char *what, uint32_t timeout_ms,
                   struct dura_err *err)
{
	int timed_out;
	PGresult *res = dura_pg_exec(conn, sql, timeout_ms, &timed_out);
	if (timed_out) {
		dura_pg_timeout_err(err, what, timeout_ms);
		return DURA_RETRY;
	}
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	dura_rc rc = DURA_OK;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = dura_pg_result_error(conn, res, what, err);
	PQclear(res);
	return rc;
}

dura_rc dura_pg_schema_create(PGconn *conn, const char *schema, uint32_t timeout_ms,
                              struct dura_err *err)
{
	char *q = PQescapeIdentifier(conn, schema, strlen(schema));
	if (!q) {
		dura_pg_err(err, "cannot quote schema name: out of memory");
		return DURA_CONFIG;
	}
	/* One simple-query message = one implicit transaction: the schema
	 * appears complete or not at all.  The identifier is validated by the
	 * option parser and quoted by libpq; everything else is constant. */
	size_t len = strlen(q) * 3 + sizeof STORE_FORMAT + sizeof schema_ddl + strlen(dura_pg_orch_batch_ddl) + 128;
	char *sql = malloc(len);
	if (!sql) {
		PQfreemem(q);
		dura_pg_err(err, "out of memory");
		return DURA_CONFIG;
	}
	snprintf(sql, len, "CREATE SCHEMA %s;\nCOMMENT ON SCHEMA %s IS '" STORE_FORMAT "';\n"
	         "SET LOCAL search_path TO %s;\n%s%s", q, q, q, schema_ddl, dura_pg_orch_batch_ddl);
	dura_rc rc = run(conn, sql, "creating the schema", timeout_ms, err);
	if (rc == DURA_PERMANENT)
		rc = DURA_CONFIG;
	if (rc != DURA_OK) {
		/* prefix the schema so "already exists" says which */
		char tmp[DURA_ERR_MAX];
		memcpy(tmp, err->msg, sizeof tmp);
		tmp[sizeof tmp - 80] = '\0'; /* room for the prefix */
		dura_pg_err(err, "schema %.63s: %s", schema, tmp);
	}
	free(sql);
	PQfreemem(q);
	return rc;
}

dura_rc dura_pg_schema_check(PGconn *conn, const char *schema, uint32_t timeout_ms,
                             struct dura_err *err)
{
	const char *params[1] = { schema };
	int timed_out = 0;
	PGresult *res = NULL;
	if (PQsendQueryParams(conn,
		"SELECT coalesce(pg_catalog.obj_description(n.oid, 'pg_namespace'), '') "
		"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
		"ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'completion_feed'",
		1, NULL, params, NULL, NULL, 0))
		res = dura_pg_await(conn, timeout_ms, &timed_out);
	if (timed_out) {
		dura_pg_timeout_err(err, "looking up the store", timeout_ms);
		return DURA_RETRY;
	}
	dura_rc rc = DURA_OK;
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = dura_pg_result_error(conn, res, "looking up the store", err);
	else if (PQntuples(res) == 0) {
		dura_pg_err(err, "no durabench store named %.63s on %s:%s (the run is over, "
		            "or it was never started there)", schema, PQhost(conn), PQport(conn));
		rc = DURA_CONFIG;
	} else if (strcmp(PQgetvalue(res, 0, 0), STORE_FORMAT) != 0) {
		/* text result: the comment as written, empty without one */
		dura_pg_err(err, "durabench store %.63s has an older or unknown layout (%.80s; this "
		            "durabench reads \"" STORE_FORMAT "\"): it was created by another "
		            "durabench version; run driver and workers from the same build",
		            schema, *PQgetvalue(res, 0, 0) ? PQgetvalue(res, 0, 0) : "no format comment");
		rc = DURA_CONFIG;
	}
	PQclear(res);
	return rc;
}

dura_rc dura_pg_schema_drop(PGconn *conn, const char *schema, uint32_t timeout_ms,
                            struct dura_err *err)
{
	char *q = PQescapeIdentifier(conn, schema, strlen(schema));
	if (!q) {
		dura_pg_err(err, "cannot quote schema name: out of memory");
		return DURA_PERMANENT;
	}
	char sql[256];
	snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", q);
	PQfreemem(q);
	return run(conn, sql, "dropping the schema", timeout_ms, err);
}
