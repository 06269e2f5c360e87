/*
 * The schema of one store: its own database, InnoDB tables and the stored
 * procedures that make each provider operation a single CALL (one round
 * trip, one transaction).
 *
 * Tables
 *   orch_queue      orchestrator messages; visible_at is the visibility
 *                   time (server clock, microseconds since the epoch),
 *                   lock_token the fetch that tagged the message
 *   instance_locks  one row per instance that ever had a message (written
 *                   by every enqueue with INSERT IGNORE); token/locked_until
 *                   hold the instance lock, locked_until <= now = free.  A
 *                   row that always exists lets a fetch lock the instance
 *                   with FOR UPDATE SKIP LOCKED instead of racing inserts.
 *   work_queue      activity work items; while an item is locked its
 *                   visible_at IS the lock expiry, so "visible" and
 *                   "unlocked or expired" are the same index range
 *   history         (instance, execution, event_id) -> body
 *   instances       metadata
 *   enqueue_keys    one idempotency key per enqueue call: retrying a call
 *                   whose reply was lost is a no-op
 * Tokens come from a SEQUENCE (unique, never reused, cached).
 *
 * Procedures named dura_p_* do the work inside the caller's transaction;
 * the public ones wrap them in START TRANSACTION ... COMMIT with an exit
 * handler that rolls back and re-raises, so an error (a duplicate event
 * id, a lost lock, a deadlock) leaves nothing half done.  A lost lock is
 * SIGNALled with MYSQL_ERRNO 30001 (MDB_ERRNO_LOCK_LOST).  Sessions run at
 * READ COMMITTED (mdb_pool.c), so a fetch's FOR UPDATE SKIP LOCKED sees the
 * latest committed locks and skips rows other fetchers are taking.
 *
 * Lists (history events, work items, messages) travel as one JSON
 * parameter of base64 strings (mdb_lists.c), unpacked with JSON_TABLE
 * (MariaDB 10.6+); single bodies are bound as binary parameters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysqld_error.h>

#include "mdb_internal.h"

/* The server's clock in microseconds (sessions use time_zone +00:00). */
#define NOW_US "CAST(UNIX_TIMESTAMP(SYSDATE(6)) * 1000000 AS SIGNED)"
#define BIG "9223372036854775807"
/* Candidates one orchestration fetch tries (each in one probe); more than
 * the fetchers that can race for them at once. */
#define FETCH_CANDIDATES "64"

#define LOCK_LOST(kind) \
	"SIGNAL SQLSTATE '45000' SET MYSQL_ERRNO = 30001, MESSAGE_TEXT = '" kind \
	" lock token is unknown, expired or already released'"

/* The public procedure NAME(PARAMS) running dura_p_NAME(ARGS) in one
 * transaction. */
#define TX_WRAPPER(name, params, body) \
	"CREATE PROCEDURE " name "(" params ")\n" \
	"BEGIN\n" \
	"  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;\n" \
	"  START TRANSACTION;\n" \
	body \
	"  COMMIT;\n" \
	"END"

#define QUEUE_TABLE(name, extra_keys) \
	"CREATE TABLE " name " (\n" \
	"  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n" \
	"  instance VARBINARY(1024) NOT NULL,\n" \
	"  visible_at BIGINT NOT NULL,\n" \
	"  lock_token BIGINT NULL,\n" \
	"  attempts INT NOT NULL DEFAULT 0,\n" \
	"  body LONGBLOB NOT NULL,\n" \
	"  KEY " name "_visible (visible_at, id)" extra_keys "\n" \
	") ENGINE=InnoDB"

/* JSON_TABLE over a message list [[b64 instance, b64 body, delay_ms]...]. */
#define MESSAGES(param) \
	"JSON_TABLE(" param ", '$[*]' COLUMNS (n FOR ORDINALITY, i LONGTEXT PATH '$[0]',\n" \
	"    b LONGTEXT PATH '$[1]', d BIGINT PATH '$[2]')) j"

static const char *const ddl[] = {
	QUEUE_TABLE("orch_queue", ",\n  KEY orch_queue_instance (instance, id)"),
	"CREATE TABLE instance_locks (\n"
	"  instance VARBINARY(1024) NOT NULL PRIMARY KEY,\n"
	"  token BIGINT NULL,\n"
	"  locked_until BIGINT NOT NULL DEFAULT 0,\n"
	"  UNIQUE KEY instance_locks_token (token),\n"
	"  KEY instance_locks_until (locked_until)\n"
	") ENGINE=InnoDB",
	QUEUE_TABLE("work_queue", ",\n  KEY work_queue_token (lock_token)"),
	"CREATE TABLE history (\n"
	"  instance VARBINARY(1024) NOT NULL,\n"
	"  execution BIGINT NOT NULL,\n"
	"  event_id BIGINT NOT NULL,\n"
	"  body LONGBLOB NOT NULL,\n"
	"  PRIMARY KEY (instance, execution, event_id)\n"
	") ENGINE=InnoDB",
	"CREATE TABLE instances (\n"
	"  instance VARBINARY(1024) NOT NULL PRIMARY KEY,\n"
	"  name VARBINARY(1024) NOT NULL,\n"
	"  status INT NOT NULL,\n"
	"  output LONGBLOB NOT NULL,\n"
	"  parent VARBINARY(1024) NULL,\n"
	"  execution BIGINT NOT NULL\n"
	") ENGINE=InnoDB",
	"CREATE TABLE enqueue_keys (\n"
	"  k BIGINT NOT NULL PRIMARY KEY,\n"
	"  created BIGINT NOT NULL,\n"
	"  KEY enqueue_keys_created (created)\n"
	") ENGINE=InnoDB",
	"CREATE SEQUENCE lock_tokens CACHE 1000",

	/* messages to orchestrator queues, in list order */
	"CREATE PROCEDURE dura_p_insert_orch(IN p_msgs LONGTEXT, IN p_ts BIGINT)\n"
	"BEGIN\n"
	"  IF p_msgs <> '[]' THEN\n" /* most acks send none: skip the parsing */
	"    INSERT IGNORE INTO instance_locks (instance)\n"
	"    SELECT DISTINCT FROM_BASE64(j.i) FROM " MESSAGES("p_msgs") ";\n"
	"    INSERT INTO orch_queue (instance, visible_at, body)\n"
	"    SELECT FROM_BASE64(j.i), p_ts + GREATEST(j.d, 0) * 1000, FROM_BASE64(j.b)\n"
	"      FROM " MESSAGES("p_msgs") " ORDER BY j.n;\n"
	"  END IF;\n"
	"END",

	TX_WRAPPER("dura_enqueue", "IN p_key BIGINT, IN p_msgs LONGTEXT",
	"  SET @dura_ts = " NOW_US ";\n"
	/* a key seen before: an earlier attempt of this very call committed */
	"  INSERT IGNORE INTO enqueue_keys (k, created) VALUES (p_key, @dura_ts);\n"
	"  IF ROW_COUNT() > 0 THEN\n"
	"    CALL dura_p_insert_orch(p_msgs, @dura_ts);\n"
	/* keys matter for seconds; about one call in 256 prunes old ones */
	"    IF RAND() < 1.0 / 256 THEN\n"
	"      DELETE FROM enqueue_keys WHERE created < @dura_ts - 3600000000;\n"
	"    END IF;\n"
	"  END IF;\n"),

	/* Tries to take the instance lock of candidate p_inst (FOR UPDATE SKIP
	 * LOCKED: another fetcher is taking it) and tag its visible messages.
	 * p_tok: the new token, or NULL when the instance is taken, locked, or
	 * its messages went away (acked by the previous holder since the
	 * candidate was read). */
	"CREATE PROCEDURE dura_p_try_orch(IN p_inst VARBINARY(1024), IN p_ts BIGINT,\n"
	"  IN p_lock_ms BIGINT, OUT p_tok BIGINT)\n"
	"BEGIN\n"
	"  DECLARE v_inst VARBINARY(1024) DEFAULT NULL;\n"
	"  SET p_tok = NULL;\n"
	"  SELECT l.instance INTO v_inst FROM instance_locks l\n"
	"   WHERE l.instance = p_inst AND l.locked_until <= p_ts FOR UPDATE SKIP LOCKED;\n"
	"  IF v_inst IS NOT NULL THEN\n"
	"    SET p_tok = NEXTVAL(lock_tokens);\n"
	"    UPDATE orch_queue SET lock_token = p_tok, attempts = attempts + 1\n"
	"     WHERE instance = p_inst AND visible_at <= p_ts;\n"
	"    IF ROW_COUNT() > 0 THEN\n"
	"      UPDATE instance_locks SET token = p_tok, locked_until = p_ts + p_lock_ms * 1000\n"
	"       WHERE instance = p_inst;\n"
	"    ELSE\n"
	"      SET p_tok = NULL;\n"
	"    END IF;\n"
	"  END IF;\n"
	"END",

	/* Fetch: candidates in order of their oldest visible message come from
	 * a plain (non-locking) read, and the first whose lock can be taken
	 * wins (dura_p_try_orch).  The oldest candidate is tried first on its
	 * own; only when another fetcher got it does a cursor (materialised:
	 * costlier) go through the next ones, so a lost race never returns
	 * empty while other instances are eligible.  Queue rows are never
	 * locked by the search, so fetchers and acks do not deadlock on them.
	 * Reads that must not lock use SELECT ... INTO (a subquery inside SET
	 * or IF would take shared locks).  Result sets:
	 *   found: (0, next_ms)  or  (1, token, instance, execution)
	 *   then (body, attempts)* and (event_id, body)* */
	"CREATE PROCEDURE dura_p_fetch_orch(IN p_lock_ms BIGINT)\n"
	"BEGIN\n"
	"  DECLARE v_ts BIGINT DEFAULT " NOW_US ";\n"
	"  DECLARE v_c VARBINARY(1024) DEFAULT NULL;\n"
	"  DECLARE v_done INT DEFAULT 0;\n"
	"  DECLARE v_tok BIGINT DEFAULT NULL;\n"
	"  DECLARE v_exec BIGINT DEFAULT 0;\n"
	"  DECLARE v_next_q BIGINT DEFAULT NULL;\n"
	"  DECLARE v_next_l BIGINT DEFAULT NULL;\n"
	"  DECLARE cands CURSOR FOR\n"
	"    SELECT q.instance FROM orch_queue q STRAIGHT_JOIN instance_locks l\n"
	"        ON l.instance = q.instance\n"
	"     WHERE q.visible_at <= v_ts AND l.locked_until <= v_ts\n"
	"     ORDER BY q.visible_at, q.id LIMIT " FETCH_CANDIDATES ";\n"
	"  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_done = 1;\n"
	"  SELECT q.instance INTO v_c FROM orch_queue q STRAIGHT_JOIN instance_locks l\n"
	"      ON l.instance = q.instance\n"
	"   WHERE q.visible_at <= v_ts AND l.locked_until <= v_ts\n"
	"   ORDER BY q.visible_at, q.id LIMIT 1;\n"
	"  IF v_c IS NOT NULL THEN\n"
	"    CALL dura_p_try_orch(v_c, v_ts, p_lock_ms, v_tok);\n"
	"    IF v_tok IS NULL THEN\n"
	"      SET v_done = 0;\n"
	"      OPEN cands;\n"
	"      search: LOOP\n"
	"        FETCH cands INTO v_c;\n"
	"        IF v_done THEN\n"
	"          LEAVE search;\n"
	"        END IF;\n"
	"        CALL dura_p_try_orch(v_c, v_ts, p_lock_ms, v_tok);\n"
	"        IF v_tok IS NOT NULL THEN\n"
	"          LEAVE search;\n"
	"        END IF;\n"
	"        SET v_done = 0;\n" /* an empty SELECT INTO raised NOT FOUND too */
	"      END LOOP;\n"
	"      CLOSE cands;\n"
	"    END IF;\n"
	"  END IF;\n"
	"  IF v_tok IS NULL THEN\n"
	"    SELECT MIN(q.visible_at) INTO v_next_q FROM orch_queue q WHERE q.visible_at > v_ts;\n"
	"    SELECT MIN(l.locked_until) INTO v_next_l FROM instance_locks l\n"
	"     WHERE l.locked_until > v_ts;\n"
	"    SELECT 0 AS found, IFNULL((LEAST(IFNULL(v_next_q, " BIG "), IFNULL(v_next_l, " BIG "))\n"
	"                                - v_ts) DIV 1000 + 1, -1) AS next_ms;\n"
	"  ELSE\n"
	"    SELECT i.execution INTO v_exec FROM instances i WHERE i.instance = v_c;\n"
	"    SELECT 1 AS found, v_tok AS token, v_c AS instance, v_exec AS execution;\n"
	"    SELECT q.body, q.attempts FROM orch_queue q\n"
	"     WHERE q.instance = v_c AND q.lock_token = v_tok ORDER BY q.id;\n"
	"    SELECT h.event_id, h.body FROM history h\n"
	"     WHERE h.instance = v_c AND h.execution = v_exec ORDER BY h.event_id;\n"
	"  END IF;\n"
	"END",

	TX_WRAPPER("dura_fetch_orch", "IN p_lock_ms BIGINT",
	"  CALL dura_p_fetch_orch(p_lock_ms);\n"),

	"CREATE PROCEDURE dura_p_ack_orch(IN p_token BIGINT, IN p_exec BIGINT,\n"
	"  IN p_hist LONGTEXT, IN p_work LONGTEXT, IN p_orch LONGTEXT, IN p_has_meta INT,\n"
	"  IN p_name VARBINARY(1024), IN p_status INT, IN p_output LONGBLOB,\n"
	"  IN p_parent VARBINARY(1024), IN p_meta_exec BIGINT)\n"
	"BEGIN\n"
	"  DECLARE v_ts BIGINT DEFAULT " NOW_US ";\n"
	"  DECLARE v_inst VARBINARY(1024) DEFAULT NULL;\n"
	"  SELECT l.instance INTO v_inst FROM instance_locks l\n"
	"   WHERE l.token = p_token AND l.locked_until > v_ts FOR UPDATE;\n"
	"  IF v_inst IS NULL THEN\n"
	"    " LOCK_LOST("orchestration") ";\n"
	"  END IF;\n"
	"  UPDATE instance_locks SET token = NULL, locked_until = 0 WHERE instance = v_inst;\n"
	"  DELETE FROM orch_queue WHERE instance = v_inst AND lock_token = p_token;\n"
	"  IF p_hist <> '[]' THEN\n"
	"    INSERT INTO history (instance, execution, event_id, body)\n"
	"    SELECT v_inst, p_exec, j.id, FROM_BASE64(j.b)\n"
	"      FROM JSON_TABLE(p_hist, '$[*]' COLUMNS (id BIGINT PATH '$[0]',\n"
	"           b LONGTEXT PATH '$[1]')) j;\n"
	"  END IF;\n"
	"  IF p_work <> '[]' THEN\n"
	"    INSERT INTO work_queue (instance, visible_at, body)\n"
	"    SELECT FROM_BASE64(j.i), v_ts + GREATEST(j.d, 0) * 1000, FROM_BASE64(j.b)\n"
	"      FROM " MESSAGES("p_work") " ORDER BY j.n;\n"
	"  END IF;\n"
	"  IF p_orch <> '[]' THEN\n" /* most turns send none: save the call */
	"    CALL dura_p_insert_orch(p_orch, v_ts);\n"
	"  END IF;\n"
	"  IF p_has_meta THEN\n"
	"    INSERT INTO instances (instance, name, status, output, parent, execution)\n"
	"    VALUES (v_inst, p_name, p_status, p_output, p_parent, p_meta_exec)\n"
	"    ON DUPLICATE KEY UPDATE name = VALUES(name), status = VALUES(status),\n"
	"      output = VALUES(output), parent = VALUES(parent), execution = VALUES(execution);\n"
	"  END IF;\n"
	/* messages that arrived while the instance was locked are eligible now:
	 * the client wakes an idle fetcher only then (mdb_wait.c).  A plain
	 * SELECT to the client: a consistent read, no locks taken */
	"  SELECT EXISTS (SELECT 1 FROM orch_queue\n"
	"                  WHERE instance = v_inst AND visible_at <= v_ts) AS wake;\n"
	"END",

#define ACK_ORCH_PARAMS \
	"IN p_token BIGINT, IN p_exec BIGINT, IN p_hist LONGTEXT, IN p_work LONGTEXT,\n" \
	"  IN p_orch LONGTEXT, IN p_has_meta INT, IN p_name VARBINARY(1024), IN p_status INT,\n" \
	"  IN p_output LONGBLOB, IN p_parent VARBINARY(1024), IN p_meta_exec BIGINT"
#define ACK_ORCH_ARGS \
	"p_token, p_exec, p_hist, p_work, p_orch, p_has_meta, p_name, p_status,\n" \
	"    p_output, p_parent, p_meta_exec"

	TX_WRAPPER("dura_ack_orch", ACK_ORCH_PARAMS,
	"  CALL dura_p_ack_orch(" ACK_ORCH_ARGS ");\n"),

	/* ack + next fetch in one transaction: one round trip per turn */
	TX_WRAPPER("dura_ack_fetch_orch", ACK_ORCH_PARAMS ", IN p_lock_ms BIGINT",
	"  CALL dura_p_ack_orch(" ACK_ORCH_ARGS ");\n"
	"  CALL dura_p_fetch_orch(p_lock_ms);\n"),

	TX_WRAPPER("dura_abandon_orch", "IN p_token BIGINT, IN p_delay_ms BIGINT",
	"  SET @dura_ts = " NOW_US ";\n"
	"  SET @dura_inst = NULL;\n"
	"  SELECT l.instance INTO @dura_inst FROM instance_locks l\n"
	"   WHERE l.token = p_token AND l.locked_until > @dura_ts FOR UPDATE;\n"
	"  IF @dura_inst IS NULL THEN\n"
	"    " LOCK_LOST("orchestration") ";\n"
	"  END IF;\n"
	"  UPDATE instance_locks SET token = NULL, locked_until = 0 WHERE instance = @dura_inst;\n"
	"  UPDATE orch_queue\n"
	"     SET lock_token = NULL,\n"
	"         visible_at = GREATEST(visible_at, @dura_ts + GREATEST(p_delay_ms, 0) * 1000)\n"
	"   WHERE instance = @dura_inst AND lock_token = p_token;\n"),

	TX_WRAPPER("dura_renew_orch", "IN p_token BIGINT, IN p_extend_ms BIGINT",
	"  SET @dura_ts = " NOW_US ";\n"
	"  UPDATE instance_locks SET locked_until = @dura_ts + GREATEST(p_extend_ms, 0) * 1000\n"
	"   WHERE token = p_token AND locked_until > @dura_ts;\n"
	"  IF ROW_COUNT() = 0 THEN\n"
	"    " LOCK_LOST("orchestration") ";\n"
	"  END IF;\n"),

	/* Work fetch.  Result set: (0, next_ms) or
	 * (1, token, instance, body, attempts). */
	"CREATE PROCEDURE dura_p_fetch_work(IN p_lock_ms BIGINT)\n"
	"BEGIN\n"
	"  DECLARE v_ts BIGINT DEFAULT " NOW_US ";\n"
	"  DECLARE v_id BIGINT DEFAULT NULL;\n"
	"  DECLARE v_tok BIGINT;\n"
	"  DECLARE v_next BIGINT DEFAULT NULL;\n"
	"  SELECT w.id INTO v_id FROM work_queue w WHERE w.visible_at <= v_ts\n"
	"   ORDER BY w.visible_at, w.id LIMIT 1 FOR UPDATE SKIP LOCKED;\n"
	"  IF v_id IS NULL THEN\n"
	"    SELECT MIN(w.visible_at) INTO v_next FROM work_queue w WHERE w.visible_at > v_ts;\n"
	"    SELECT 0 AS found, IFNULL((v_next - v_ts) DIV 1000 + 1, -1) AS next_ms;\n"
	"  ELSE\n"
	"    SET v_tok = NEXTVAL(lock_tokens);\n"
	"    UPDATE work_queue SET lock_token = v_tok, attempts = attempts + 1,\n"
	"           visible_at = v_ts + p_lock_ms * 1000 WHERE id = v_id;\n"
	"    SELECT 1 AS found, v_tok AS token, w.instance, w.body, w.attempts\n"
	"      FROM work_queue w WHERE w.id = v_id;\n"
	"  END IF;\n"
	"END",

	TX_WRAPPER("dura_fetch_work", "IN p_lock_ms BIGINT",
	"  CALL dura_p_fetch_work(p_lock_ms);\n"),

	"CREATE PROCEDURE dura_p_ack_work(IN p_token BIGINT, IN p_inst VARBINARY(1024),\n"
	"  IN p_body LONGBLOB, IN p_delay BIGINT)\n"
	"BEGIN\n"
	"  DECLARE v_ts BIGINT DEFAULT " NOW_US ";\n"
	"  DELETE FROM work_queue WHERE lock_token = p_token AND visible_at > v_ts;\n"
	"  IF ROW_COUNT() = 0 THEN\n"
	"    " LOCK_LOST("work item") ";\n"
	"  END IF;\n"
	"  IF p_inst IS NOT NULL THEN\n"
	"    INSERT IGNORE INTO instance_locks (instance) VALUES (p_inst);\n"
	"    INSERT INTO orch_queue (instance, visible_at, body)\n"
	"    VALUES (p_inst, v_ts + GREATEST(p_delay, 0) * 1000, p_body);\n"
	"  END IF;\n"
	/* a completion for a locked instance is taken by the lock holder's
	 * ack (whose "wake" reports it): no idle fetcher needs waking */
	"  SELECT p_inst IS NOT NULL AND EXISTS (SELECT 1 FROM instance_locks\n"
	"    WHERE instance = p_inst AND locked_until <= v_ts) AS wake;\n"
	"END",

	TX_WRAPPER("dura_ack_work",
	           "IN p_token BIGINT, IN p_inst VARBINARY(1024), IN p_body LONGBLOB, "
	           "IN p_delay BIGINT",
	"  CALL dura_p_ack_work(p_token, p_inst, p_body, p_delay);\n"),

	TX_WRAPPER("dura_ack_fetch_work",
	           "IN p_token BIGINT, IN p_inst VARBINARY(1024), IN p_body LONGBLOB, "
	           "IN p_delay BIGINT, IN p_lock_ms BIGINT",
	"  CALL dura_p_ack_work(p_token, p_inst, p_body, p_delay);\n"
	"  CALL dura_p_fetch_work(p_lock_ms);\n"),

	/* Batch work fetch: up to p_max items, oldest first, each with its own
	 * token.  The cursor takes the rows (FOR UPDATE SKIP LOCKED) at OPEN;
	 * their ids are collected in a JSON list to read them back in order.
	 * Result sets: (n_found, next_ms), then (token, instance, body,
	 * attempts)*. */
	"CREATE PROCEDURE dura_p_fetch_work_n(IN p_lock_ms BIGINT, IN p_max INT)\n"
	"BEGIN\n"
	"  DECLARE v_ts BIGINT DEFAULT " NOW_US ";\n"
	"  DECLARE v_id BIGINT;\n"
	"  DECLARE v_n INT DEFAULT 0;\n"
	"  DECLARE v_done INT DEFAULT 0;\n"
	"  DECLARE v_ids LONGTEXT DEFAULT '[]';\n"
	"  DECLARE v_next BIGINT DEFAULT NULL;\n"
	"  DECLARE items CURSOR FOR SELECT w.id FROM work_queue w WHERE w.visible_at <= v_ts\n"
	"    ORDER BY w.visible_at, w.id LIMIT p_max FOR UPDATE SKIP LOCKED;\n"
	"  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_done = 1;\n"
	"  IF p_max > 0 THEN\n"
	"    OPEN items;\n"
	"    take: LOOP\n"
	"      FETCH items INTO v_id;\n"
	"      IF v_done THEN\n"
	"        LEAVE take;\n"
	"      END IF;\n"
	"      UPDATE work_queue SET lock_token = NEXTVAL(lock_tokens), attempts = attempts + 1,\n"
	"             visible_at = v_ts + p_lock_ms * 1000 WHERE id = v_id;\n"
	"      SET v_ids = JSON_ARRAY_APPEND(v_ids, '$', v_id), v_n = v_n + 1;\n"
	"    END LOOP;\n"
	"    CLOSE items;\n"
	"  END IF;\n"
	"  IF v_n = 0 THEN\n"
	"    SELECT MIN(w.visible_at) INTO v_next FROM work_queue w WHERE w.visible_at > v_ts;\n"
	"  END IF;\n"
	"  SELECT v_n AS found, IFNULL((v_next - v_ts) DIV 1000 + 1, -1) AS next_ms;\n"
	"  SELECT w.lock_token, w.instance, w.body, w.attempts\n"
	"    FROM JSON_TABLE(v_ids, '$[*]' COLUMNS (n FOR ORDINALITY, id BIGINT PATH '$')) j\n"
	"    JOIN work_queue w ON w.id = j.id ORDER BY j.n;\n"
	"END",

	TX_WRAPPER("dura_fetch_work_n", "IN p_lock_ms BIGINT, IN p_max INT",
	"  CALL dura_p_fetch_work_n(p_lock_ms, p_max);\n"),

#define ACKS(param) \
	"JSON_TABLE(" param ", '$[*]' COLUMNS (n FOR ORDINALITY, t BIGINT PATH '$[0]',\n" \
	"    i LONGTEXT PATH '$[1]', b LONGTEXT PATH '$[2]', d BIGINT PATH '$[3]'))"

	/* Batch ack + fetch: every entry whose token holds its item is acked
	 * (a token given twice: its first entry), all in one transaction.  The
	 * held items are locked first; the completions of the acked entries go
	 * to their orchestrator queues in list order; the items are deleted.
	 * Result sets: (token)* of the acked entries, then as
	 * dura_p_fetch_work_n. */
	TX_WRAPPER("dura_ack_work_n", "IN p_acks LONGTEXT, IN p_lock_ms BIGINT, IN p_max INT",
	"  SET @dura_ts = " NOW_US ";\n"
	"  SELECT COUNT(*) INTO @dura_held FROM work_queue w\n"
	"   WHERE w.lock_token IN (SELECT j.t FROM " ACKS("p_acks") " j)\n"
	"     AND w.visible_at > @dura_ts FOR UPDATE;\n"
	"  INSERT IGNORE INTO instance_locks (instance)\n"
	"  SELECT DISTINCT FROM_BASE64(j.i) FROM " ACKS("p_acks") " j\n"
	"    JOIN work_queue w ON w.lock_token = j.t AND w.visible_at > @dura_ts\n"
	"   WHERE j.i IS NOT NULL;\n"
	"  INSERT INTO orch_queue (instance, visible_at, body)\n"
	"  SELECT FROM_BASE64(j.i), @dura_ts + GREATEST(j.d, 0) * 1000, FROM_BASE64(j.b)\n"
	"    FROM " ACKS("p_acks") " j\n"
	"    JOIN (SELECT f.t, MIN(f.n) AS n FROM " ACKS("p_acks") " f GROUP BY f.t) first\n"
	"      ON first.t = j.t AND first.n = j.n\n"
	"    JOIN work_queue w ON w.lock_token = j.t AND w.visible_at > @dura_ts\n"
	"   WHERE j.i IS NOT NULL ORDER BY j.n;\n"
	"  SELECT w.lock_token FROM work_queue w\n"
	"   WHERE w.lock_token IN (SELECT j.t FROM " ACKS("p_acks") " j)\n"
	"     AND w.visible_at > @dura_ts;\n"
	"  DELETE FROM work_queue\n"
	"   WHERE lock_token IN (SELECT j.t FROM " ACKS("p_acks") " j)\n"
	"     AND visible_at > @dura_ts;\n"
	"  CALL dura_p_fetch_work_n(p_lock_ms, p_max);\n"),

	TX_WRAPPER("dura_abandon_work", "IN p_token BIGINT, IN p_delay_ms BIGINT",
	"  SET @dura_ts = " NOW_US ";\n"
	"  UPDATE work_queue SET lock_token = NULL,\n"
	"         visible_at = @dura_ts + GREATEST(p_delay_ms, 0) * 1000\n"
	"   WHERE lock_token = p_token AND visible_at > @dura_ts;\n"
	"  IF ROW_COUNT() = 0 THEN\n"
	"    " LOCK_LOST("work item") ";\n"
	"  END IF;\n"),

	TX_WRAPPER("dura_renew_work", "IN p_token BIGINT, IN p_extend_ms BIGINT",
	"  SET @dura_ts = " NOW_US ";\n"
	"  UPDATE work_queue SET visible_at = @dura_ts + GREATEST(p_extend_ms, 0) * 1000\n"
	"   WHERE lock_token = p_token AND visible_at > @dura_ts;\n"
	"  IF ROW_COUNT() = 0 THEN\n"
	"    " LOCK_LOST("work item") ";\n"
	"  END IF;\n"),
};

static const char *const stmt_sql[MDB_STMT_COUNT] = {
	[MDB_ENQUEUE] = "CALL dura_enqueue(?, ?)",
	[MDB_FETCH_ORCH] = "CALL dura_fetch_orch(?)",
	[MDB_ACK_ORCH] = "CALL dura_ack_orch(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[MDB_ACK_FETCH_ORCH] = "CALL dura_ack_fetch_orch(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[MDB_ABANDON_ORCH] = "CALL dura_abandon_orch(?, ?)",
	[MDB_RENEW_ORCH] = "CALL dura_renew_orch(?, ?)",
	[MDB_FETCH_WORK] = "CALL dura_fetch_work(?)",
	[MDB_ACK_WORK] = "CALL dura_ack_work(?, ?, ?, ?)",
	[MDB_ACK_FETCH_WORK] = "CALL dura_ack_fetch_work(?, ?, ?, ?, ?)",
	[MDB_ABANDON_WORK] = "CALL dura_abandon_work(?, ?)",
	[MDB_RENEW_WORK] = "CALL dura_renew_work(?, ?)",
	[MDB_HISTORY] = "SELECT event_id, body FROM history "
	                "WHERE instance = ? AND execution = ? ORDER BY event_id",
	[MDB_STATUS] = "SELECT name, status, output, parent, execution FROM instances "
	               "WHERE instance = ?",
	[MDB_PING] = "SELECT 1",
	[MDB_FETCH_WORK_N] = "CALL dura_fetch_work_n(?, ?)",
	[MDB_ACK_WORK_N] = "CALL dura_ack_work_n(?, ?, ?)",
};

const char *dura_mdb_stmt_sql(enum dura_mdb_stmt s)
{
	return stmt_sql[s];
}

void dura_mdb_quote_ident(char *dst, size_t len, const char *name)
{
	size_t o = 0;
	if (len < 3) {
		if (len)
			dst[0] = '\0';
		return;
	}
	dst[o++] = '`';
	for (const char *p = name; *p && o + 3 < len; p++) {
		if (*p == '`')
			dst[o++] = '`';
		dst[o++] = *p;
	}
	dst[o++] = '`';
	dst[o] = '\0';
}

static dura_rc run(MYSQL *conn, const char *sql, const char *what, struct dura_err *err)
{
	if (mysql_real_query(conn, sql, strlen(sql)) == 0) {
		/* DDL returns no rows; drain anything just in case */
		do {
			MYSQL_RES *r = mysql_store_result(conn);
			mysql_free_result(r);
		} while (mysql_next_result(conn) == 0);
		return DURA_OK;
	}
	unsigned e = mysql_errno(conn);
	dura_mdb_err(err, "%s: MariaDB error %u (%s): %s", what, e, mysql_sqlstate(conn),
	             mysql_error(conn));
	dura_rc rc = dura_mdb_errno_rc(e);
	return rc == DURA_RETRY ? DURA_RETRY : DURA_CONFIG;
}

/* CREATE DATABASE name: 0, 1 if it exists (nothing done), or -1 with err
 * and *rc set. */
static int create_database(MYSQL *conn, const char *name, dura_rc *rc, struct dura_err *err)
{
	char q[2 * DURA_MDB_NAME_MAX + 3], sql[3 * DURA_MDB_NAME_MAX + 64];
	dura_mdb_quote_ident(q, sizeof q, name);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s CHARACTER SET binary", q);
	*rc = run(conn, sql, "creating the database", err);
	if (*rc == DURA_OK)
		return 0;
	return mysql_errno(conn) == ER_DB_CREATE_EXISTS ? 1 : -1;
}

/* The store's database: `database` itself, or with pick_free and that name
 * taken, the first free of database_2 ... database_<MDB_SUFFIX_MAX> (written
 * back into database).  An existing database is never used. */
static dura_rc create_fresh(MYSQL *conn, char database[DURA_MDB_NAME_MAX + 1], int pick_free,
                            struct dura_err *err)
{
	char base[DURA_MDB_NAME_MAX + 1], name[DURA_MDB_NAME_MAX + 1];
	snprintf(base, sizeof base, "%s", database);
	snprintf(name, sizeof name, "%s", base);
	for (unsigned n = 2;; n++) {
		dura_rc rc;
		int r = create_database(conn, name, &rc, err);
		if (r == 0) {
			snprintf(database, DURA_MDB_NAME_MAX + 1, "%s", name);
			return DURA_OK;
		}
		if (r < 0)
			return rc;
		int len = snprintf(name, sizeof name, "%s_%u", base, n);
		if (!pick_free || n > MDB_SUFFIX_MAX || len < 0 || (size_t)len >= sizeof name) {
			dura_mdb_err(err, "database %s exists%s; durabench uses a database of its own "
			             "and never writes into an existing one", base,
			             pick_free ? " (and so do its free suffixes)" : "");
			return DURA_CONFIG;
		}
	}
}

dura_rc dura_mdb_schema_create(MYSQL *conn, char database[DURA_MDB_NAME_MAX + 1],
                               int pick_free, int *created, struct dura_err *err)
{
	dura_rc rc = create_fresh(conn, database, pick_free, err);
	*created = rc == DURA_OK;
	if (rc != DURA_OK)
		return rc;
	if (mysql_select_db(conn, database) != 0) {
		dura_mdb_err(err, "using database %s: %s", database, mysql_error(conn));
		return DURA_CONFIG;
	}
	for (size_t i = 0; i < sizeof ddl / sizeof ddl[0]; i++) {
		rc = run(conn, ddl[i], "creating the schema", err);
		if (rc != DURA_OK)
			return rc;
	}
	return DURA_OK;
}

dura_rc dura_mdb_schema_drop(MYSQL *conn, const char *database, struct dura_err *err)
{
	char q[2 * DURA_MDB_NAME_MAX + 3], sql[3 * DURA_MDB_NAME_MAX + 64];
	dura_mdb_quote_ident(q, sizeof q, database);
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", q);
	return run(conn, sql, "dropping the database", err);
}
