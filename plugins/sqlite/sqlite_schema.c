/*
 * Schema and statements of the SQLite provider.
 *
 * Times are wall-clock milliseconds (so persisted values stay meaningful);
 * tokens are positive 63-bit integers, 0 meaning "not locked/tagged".
 *
 *   dura_orch_queue     orchestrator messages.  visible_at is when the
 *                       message becomes visible (enqueue + delay, or abandon
 *                       + delay); token tags the messages a fetch handed out.
 *                       A tag only counts while dura_instance_lock holds the
 *                       same token unexpired, so an expired lock needs no
 *                       cleanup: the next fetch simply retags.
 *   dura_instance_lock  instance -> (token, locked_until); a row whose
 *                       locked_until passed is a dead lock.
 *   dura_history        one row per ack that wrote history (not one per
 *                       event): (instance, execution, first_id) ->
 *                       (last_id, events), clustered (WITHOUT ROWID) so
 *                       one execution's history is one contiguous range.
 *                       events packs the ack's events in ascending id
 *                       order, each as its id (8 bytes, big-endian), its
 *                       body length (4 bytes, big-endian) and its body;
 *                       first_id and last_id are the smallest and largest
 *                       id in the row (stored as signed 64-bit integers).
 *                       Event ids stay unique per (instance, execution):
 *                       an ack checks its own ids and the stored rows
 *                       whose [first_id, last_id] meets its range
 *                       (sqlite_history.c); a read unpacks the rows and
 *                       sorts only when ranges interleave.  A row per ack
 *                       instead of per event: 2 history B-tree inserts per
 *                       5-activity fan-out instead of about 13.  Prefill
 *                       (sqlite_prefill.c) writes the same layout: one row
 *                       per instance, packed by dura_sqlite_history_pack.
 *   dura_instance       metadata (WITHOUT ROWID, keyed by instance).
 *   dura_work_queue     worker items.  A locked item has token != 0 and
 *                       locked_until in the future.  Statements that look
 *                       an item up by token say "token > 0" as well, so
 *                       that SQLite may use the partial token index.
 *
 * "Oldest visible message" is ordered by (visible_at, seq): the message that
 * has been waiting longest, ties in enqueue order.  The ready indexes make
 * every pick an index range scan that starts at the oldest visible row and
 * stops at the first eligible one; it only steps over rows that are visible
 * but in flight (locked), whose number is bounded by the fetchers' concurrency,
 * never over future timers.  (The work queue's ready index leaves
 * locked_until out, so a pick reads the row of each such in-flight item it
 * steps over: a few rows, against two index moves per lock saved.)
 */

#include "sqlite_store.h"

#include <string.h>

static const char *const our_tables[] = {
	"dura_orch_queue", "dura_instance_lock", "dura_history",
	"dura_instance", "dura_work_queue", "dura_started", "dura_completion_feed",
	"dura_notes", NULL,
};

static const char schema_sql[] =
	"CREATE TABLE dura_orch_queue("
	" seq INTEGER PRIMARY KEY,"
	" instance TEXT NOT NULL,"
	" visible_at INTEGER NOT NULL,"
	" token INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" body BLOB NOT NULL);"
	"CREATE INDEX dura_orch_queue_ready ON dura_orch_queue(visible_at, seq, instance);"
	"CREATE INDEX dura_orch_queue_instance ON dura_orch_queue(instance);"
	"CREATE TABLE dura_instance_lock("
	" instance TEXT PRIMARY KEY,"
	" token INTEGER NOT NULL,"
	" locked_until INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE UNIQUE INDEX dura_instance_lock_token ON dura_instance_lock(token);"
	"CREATE TABLE dura_history("
	" instance TEXT NOT NULL,"
	" execution INTEGER NOT NULL,"
	" first_id INTEGER NOT NULL,"
	" last_id INTEGER NOT NULL,"
	" events BLOB NOT NULL,"
	" PRIMARY KEY(instance, execution, first_id)) WITHOUT ROWID;"
	"CREATE TABLE dura_instance("
	" instance TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" status INTEGER NOT NULL,"
	" output BLOB NOT NULL,"
	" parent TEXT,"
	" execution INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE dura_work_queue("
	" seq INTEGER PRIMARY KEY,"
	" instance TEXT NOT NULL,"
	" visible_at INTEGER NOT NULL,"
	" locked_until INTEGER NOT NULL DEFAULT 0,"
	" token INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" body BLOB NOT NULL);"
	/* Locking an item changes neither index key of the ready index, and
	 * only locked items are in the (partial) token index: an insert writes
	 * two B-trees, a lock one index entry, an ack three B-trees. */
	"CREATE INDEX dura_work_queue_ready ON dura_work_queue(visible_at, seq);"
	"CREATE INDEX dura_work_queue_token ON dura_work_queue(token, locked_until)"
	" WHERE token > 0;"
	/* scale-out: started instances (wall-clock microseconds of this
	 * machine, which every process sharing the file reads), the completion
	 * feed, the run's notes */
	"CREATE TABLE dura_started("
	" instance TEXT PRIMARY KEY,"
	" started_us INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE dura_completion_feed("
	" seq INTEGER PRIMARY KEY,"
	" instance TEXT NOT NULL,"
	" status INTEGER NOT NULL,"
	" started_us INTEGER NOT NULL,"
	" completed_us INTEGER NOT NULL,"
	" taken INTEGER);" /* take_completions_acked: the call that handed it out */
	"CREATE TABLE dura_notes("
	" key TEXT PRIMARY KEY,"
	" value BLOB NOT NULL) WITHOUT ROWID;";

/* Indexed by enum dura_sqlite_stmt.  Parameters: ?1.. as documented where
 * the statement is used.
 *
 * Writes that run inside multi-statement transactions say OR ROLLBACK: a
 * failing constraint (a duplicate event id) rolls the whole transaction
 * back, which is what every caller does anyway, and SQLite then needs no
 * statement journal -- without it every such statement copies each page it
 * touches a second time to be able to undo just itself. */
static const char *const stmt_sql[SQ_N_STMTS] = {
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_ORCH_INSERT] =
		"INSERT OR ROLLBACK INTO dura_orch_queue(instance, visible_at, body) VALUES(?1, ?2, ?3)",
	/* ?1 now */
	[SQ_ORCH_PICK] =
		"SELECT q.instance FROM dura_orch_queue AS q INDEXED BY dura_orch_queue_ready"
		" WHERE q.visible_at <= ?1"
		" AND NOT EXISTS (SELECT 1 FROM dura_instance_lock AS l"
		"  WHERE l.instance = q.instance AND l.locked_until > ?1)"
		" ORDER BY q.visible_at, q.seq LIMIT 1",
	[SQ_ORCH_NEXT_VISIBLE] =
		"SELECT min(visible_at) FROM dura_orch_queue WHERE visible_at > ?1",
	[SQ_LOCK_NEXT_EXPIRY] =
		"SELECT min(locked_until) FROM dura_instance_lock WHERE locked_until > ?1",
	/* ?1 instance, ?2 token, ?3 locked_until */
	[SQ_LOCK_UPSERT] =
		"INSERT OR ROLLBACK INTO dura_instance_lock(instance, token, locked_until) VALUES(?1, ?2, ?3)"
		" ON CONFLICT(instance) DO UPDATE SET token = excluded.token,"
		" locked_until = excluded.locked_until",
	/* ?1 token, ?2 now */
	[SQ_LOCK_BY_TOKEN] =
		"SELECT instance FROM dura_instance_lock WHERE token = ?1 AND locked_until > ?2",
	[SQ_LOCK_DELETE] = "DELETE FROM dura_instance_lock WHERE instance = ?1",
	/* ?1 token, ?2 now, ?3 new locked_until */
	[SQ_LOCK_RENEW] =
		"UPDATE dura_instance_lock SET locked_until = ?3"
		" WHERE token = ?1 AND locked_until > ?2",
	/* ?1 instance, ?2 token, ?3 now */
	[SQ_ORCH_TAG] =
		"UPDATE OR ROLLBACK dura_orch_queue SET token = ?2, attempts = attempts + 1"
		" WHERE instance = ?1 AND visible_at <= ?3",
	[SQ_ORCH_TAGGED] =
		"SELECT body, attempts FROM dura_orch_queue"
		" WHERE instance = ?1 AND token = ?2 ORDER BY seq",
	[SQ_ORCH_DELETE_TAGGED] =
		"DELETE FROM dura_orch_queue WHERE instance = ?1 AND token = ?2",
	/* ?1 instance, ?2 token, ?3 now + delay, or 0 for no delay: the
	 * messages keep their place in line */
	[SQ_ORCH_RELEASE_TAGGED] =
		"UPDATE dura_orch_queue SET token = 0, visible_at = max(visible_at, ?3)"
		" WHERE instance = ?1 AND token = ?2",
	[SQ_INSTANCE_EXECUTION] =
		"SELECT execution FROM dura_instance WHERE instance = ?1",
	[SQ_INSTANCE_GET] =
		"SELECT name, status, output, parent, execution FROM dura_instance"
		" WHERE instance = ?1",
	[SQ_INSTANCE_UPSERT] =
		"INSERT OR ROLLBACK INTO dura_instance(instance, name, status, output, parent, execution)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT(instance) DO UPDATE SET name = excluded.name,"
		" status = excluded.status, output = excluded.output,"
		" parent = excluded.parent, execution = excluded.execution",
	[SQ_HISTORY_GET] =
		"SELECT first_id, events FROM dura_history"
		" WHERE instance = ?1 AND execution = ?2 ORDER BY first_id",
	/* the duplicate event id check (sqlite_history.c) */
	[SQ_HISTORY_RANGES] =
		"SELECT first_id, last_id, events FROM dura_history"
		" WHERE instance = ?1 AND execution = ?2",
	/* ?1 instance, ?2 execution, ?3 first id, ?4 last id, ?5 packed events */
	[SQ_HISTORY_INSERT] =
		"INSERT OR ROLLBACK INTO dura_history(instance, execution, first_id, last_id, events)"
		" VALUES(?1, ?2, ?3, ?4, ?5)",
	[SQ_WORK_INSERT] =
		"INSERT OR ROLLBACK INTO dura_work_queue(instance, visible_at, body) VALUES(?1, ?2, ?3)",
	/* ?1 now, ?2 how many (1 for fetch_work_item, up to max_items for a
	 * batch fetch) */
	[SQ_WORK_PICK] =
		"SELECT seq, instance, body, attempts FROM dura_work_queue"
		" INDEXED BY dura_work_queue_ready"
		" WHERE visible_at <= ?1 AND locked_until <= ?1"
		" ORDER BY visible_at, seq LIMIT ?2",
	/* ?1 seq, ?2 token, ?3 locked_until */
	[SQ_WORK_LOCK] =
		"UPDATE OR ROLLBACK dura_work_queue SET token = ?2, locked_until = ?3,"
		" attempts = attempts + 1 WHERE seq = ?1",
	/* ?1 token, ?2 now */
	[SQ_WORK_DELETE] =
		"DELETE FROM dura_work_queue WHERE token = ?1 AND token > 0 AND locked_until > ?2",
	/* ?1 token, ?2 now, ?3 now + delay, or 0 for no delay (keeps the
	 * item's place in line) */
	[SQ_WORK_RELEASE] =
		"UPDATE dura_work_queue SET token = 0, locked_until = 0,"
		" visible_at = max(visible_at, ?3)"
		" WHERE token = ?1 AND token > 0 AND locked_until > ?2",
	[SQ_WORK_RENEW] =
		"UPDATE dura_work_queue SET locked_until = ?3"
		" WHERE token = ?1 AND token > 0 AND locked_until > ?2",
	[SQ_WORK_NEXT_VISIBLE] =
		"SELECT min(visible_at) FROM dura_work_queue WHERE visible_at > ?1",
	/* locked items only (token > 0 is an index range) */
	/* ?1 instance, ?2 started_us */
	[SQ_STARTED_INSERT] =
		"INSERT OR IGNORE INTO dura_started(instance, started_us) VALUES(?1, ?2)",
	/* ?1 instance, ?2 status, ?3 completed_us */
	[SQ_FEED_APPEND] =
		"INSERT INTO dura_completion_feed(instance, status, started_us, completed_us)"
		" SELECT instance, ?2, started_us, ?3 FROM dura_started WHERE instance = ?1",
	[SQ_STARTED_DELETE] = "DELETE FROM dura_started WHERE instance = ?1",
	/* ?1 how many */
	[SQ_FEED_READ] =
		"SELECT seq, instance, status, started_us, completed_us"
		" FROM dura_completion_feed ORDER BY seq LIMIT ?1",
	/* ?1 last seq read */
	[SQ_FEED_DELETE] = "DELETE FROM dura_completion_feed WHERE seq <= ?1",
	/* take_completions_acked, ?1 ack: removes what calls up to ack handed
	 * out, and takes back what later calls handed out (lost replies) */
	[SQ_FEED_ACK] = "DELETE FROM dura_completion_feed WHERE taken <= ?1",
	[SQ_FEED_UNTAKE] = "UPDATE dura_completion_feed SET taken = NULL WHERE taken > ?1",
	/* ?1 last seq read, ?2 the call's number */
	[SQ_FEED_MARK] = "UPDATE dura_completion_feed SET taken = ?2 WHERE seq <= ?1",
	[SQ_NOTE_PUT] =
		"INSERT INTO dura_notes(key, value) VALUES(?1, ?2)"
		" ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	/* ?1 prefix: a range on the key, so no LIKE escaping */
	[SQ_NOTE_READ] =
		"SELECT key, value FROM dura_notes WHERE substr(key, 1, length(?1)) = ?1"
		" ORDER BY key",
	[SQ_WORK_NEXT_EXPIRY] =
		"SELECT min(locked_until) FROM dura_work_queue"
		" WHERE token > 0 AND locked_until > ?1",
};

static int is_ours(const char *name)
{
	for (size_t i = 0; our_tables[i]; i++)
		if (strcmp(name, our_tables[i]) == 0)
			return 1;
	return 0;
}

/* Anything in the file that durabench did not create: a table, view or
 * trigger.  (Our own indexes come and go with our tables.) */
static dura_rc refuse_foreign(struct dura_store *s, struct dura_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = sqlite3_prepare_v2(s->db,
		"SELECT type, name FROM sqlite_master"
		" WHERE type IN ('table', 'view', 'trigger')"
		" AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'", -1, &st, NULL);
	if (src != SQLITE_OK) {
		dura_rc rc = dura_sqlite_fail(s, src, "reading the schema", err);
		return rc == DURA_RETRY ? rc : DURA_CONFIG;
	}
	dura_rc rc = DURA_OK;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		if (strcmp(type, "table") == 0 && is_ours(name))
			continue;
		dura_sqlite_err(err, "sqlite: refusing to use %s: it contains %s '%s' "
		                "that durabench did not create (use a new file)",
		                s->cfg.database, type, name);
		rc = DURA_CONFIG;
		break;
	}
	if (rc == DURA_OK && src != SQLITE_DONE) {
		rc = dura_sqlite_fail(s, src, "reading the schema", err);
		if (rc != DURA_RETRY)
			rc = DURA_CONFIG;
	}
	sqlite3_finalize(st);
	return rc;
}

dura_rc dura_sqlite_schema_reset(struct dura_store *s, struct dura_err *err)
{
	dura_rc rc = refuse_foreign(s, err);
	if (rc != DURA_OK)
		return rc;
	char *msg = NULL;
	int src = sqlite3_exec(s->db,
		"BEGIN IMMEDIATE;"
		"DROP TABLE IF EXISTS dura_orch_queue;"
		"DROP TABLE IF EXISTS dura_instance_lock;"
		"DROP TABLE IF EXISTS dura_history;"
		"DROP TABLE IF EXISTS dura_instance;"
		"DROP TABLE IF EXISTS dura_work_queue;"
		"DROP TABLE IF EXISTS dura_started;"
		"DROP TABLE IF EXISTS dura_completion_feed;"
		"DROP TABLE IF EXISTS dura_notes;", NULL, NULL, &msg);
	if (src == SQLITE_OK)
		src = sqlite3_exec(s->db, schema_sql, NULL, NULL, &msg);
	if (src == SQLITE_OK)
		src = sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg);
	if (src != SQLITE_OK) {
		dura_sqlite_err(err, "sqlite: creating the schema in %s: %s",
		                s->cfg.database, msg ? msg : sqlite3_errstr(src));
		sqlite3_free(msg);
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		int prim = src & 0xff;
		return prim == SQLITE_BUSY || prim == SQLITE_LOCKED ? DURA_RETRY : DURA_CONFIG;
	}
	return DURA_OK;
}

dura_rc dura_sqlite_schema_check(struct dura_store *s, struct dura_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = sqlite3_prepare_v2(s->db,
		"SELECT count(*) FROM sqlite_master WHERE type = 'table'"
		" AND name IN ('dura_notes', 'dura_completion_feed', 'dura_orch_queue')",
		-1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		dura_rc rc = dura_sqlite_fail(s, src, "reading the schema", err);
		sqlite3_finalize(st);
		return rc == DURA_RETRY ? rc : DURA_CONFIG;
	}
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (n != 3) {
		dura_sqlite_err(err, "sqlite: %s holds no durabench store to join (the run is "
		                "over, or it was never started there)", s->cfg.database);
		return DURA_CONFIG;
	}
	return DURA_OK;
}

dura_rc dura_sqlite_prepare_all(struct dura_store *s, struct dura_err *err)
{
	for (int i = 0; i < SQ_N_STMTS; i++) {
		int src = sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		                             SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL);
		if (src != SQLITE_OK) {
			dura_sqlite_err(err, "sqlite: preparing statement %d: %s", i,
			                sqlite3_errmsg(s->db));
			return DURA_CONFIG;
		}
	}
	return DURA_OK;
}

void dura_sqlite_finalize_all(struct dura_store *s)
{
	for (int i = 0; i < SQ_N_STMTS; i++) {
		sqlite3_finalize(s->stmt[i]);
		s->stmt[i] = NULL;
	}
}
