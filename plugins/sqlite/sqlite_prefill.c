/*
 * SQLite provider: bulk prefill (ABI 1.4).  Two statements in one
 * transaction, each generating its rows inside SQLite (a recursive CTE
 * counts the instance numbers), so the cost is the B-tree inserts and not
 * a bind/step round per row: one INSERT ... SELECT for the metadata, one
 * for the histories.  Every instance gets the same history, so it is
 * packed once (dura_sqlite_history_pack, the layout of sqlite_schema.c)
 * and bound as one blob: one history row per instance.  A duplicate key
 * (an instance that exists) aborts and rolls back the whole call.
 */

#include "sqlite_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDS_CTE "WITH RECURSIVE ids(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM ids WHERE i < ?2)"

static const char meta_sql[] =
	IDS_CTE " INSERT INTO dura_instance(instance, name, status, output, parent, execution)"
	" SELECT ?3 || i, ?4, ?5, ?6, ?7, ?8 FROM ids";

static const char history_sql[] =
	IDS_CTE " INSERT INTO dura_history(instance, execution, first_id, last_id, events)"
	" SELECT ?3 || i, ?4, ?5, ?6, ?7 FROM ids";

static dura_rc run(struct dura_store *s, const char *sql, const char *prefix, uint64_t first,
                   uint64_t n, const struct dura_instance_meta *meta,
                   const struct dura_sqlite_buf *history, struct dura_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (src != SQLITE_OK)
		return dura_sqlite_fail(s, src, "prefill: preparing", err);
	sqlite3_bind_int64(st, 1, (int64_t)first);
	sqlite3_bind_int64(st, 2, (int64_t)(first + n - 1));
	sqlite3_bind_text(st, 3, prefix, -1, SQLITE_STATIC);
	if (history) {
		uint64_t first_id, last_id;
		dura_sqlite_history_range(history, &first_id, &last_id);
		sqlite3_bind_int64(st, 4, (int64_t)meta->execution);
		sqlite3_bind_int64(st, 5, (int64_t)first_id);
		sqlite3_bind_int64(st, 6, (int64_t)last_id);
		sqlite3_bind_blob(st, 7, history->data, (int)history->len, SQLITE_STATIC);
	} else {
		sqlite3_bind_text(st, 4, meta->name ? meta->name : "", -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, meta->status);
		dura_sqlite_bind_bytes(st, 6, meta->output);
		if (meta->parent)
			sqlite3_bind_text(st, 7, meta->parent, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 7);
		sqlite3_bind_int64(st, 8, (int64_t)meta->execution);
	}
	src = sqlite3_step(st);
	dura_rc rc = DURA_OK;
	s->n_ops++;
	if (src != SQLITE_DONE) {
		rc = dura_sqlite_fail(s, src, history ? "prefill: writing the histories"
		                                      : "prefill: writing the metadata", err);
		if ((src & 0xff) == SQLITE_CONSTRAINT)
			dura_sqlite_err(err, "sqlite: prefill: an instance %s<%llu..%llu> exists already",
			                prefix, (unsigned long long)first,
			                (unsigned long long)(first + n - 1));
	}
	sqlite3_finalize(st);
	return rc;
}

dura_rc dura_sqlite_prefill(dura_store *s, const char *prefix, uint64_t first, uint64_t n,
                            const struct dura_instance_meta *meta,
                            const struct dura_event *history, size_t n_history,
                            struct dura_err *err)
{
	if (n == 0)
		return DURA_OK;
	/* packed outside the store's mutex: a buffer of this call's own */
	struct dura_sqlite_buf packed = { 0 };
	uint64_t dup = 0;
	int prc = dura_sqlite_history_pack(history, n_history, &packed, &dup);
	if (prc != 0) {
		free(packed.data);
		if (prc < 0) {
			dura_sqlite_err(err, "sqlite: out of memory");
			return DURA_RETRY;
		}
		dura_sqlite_err(err, "sqlite: prefill: event id %llu appears twice in the history",
		                (unsigned long long)dup);
		return DURA_PERMANENT;
	}
	pthread_mutex_lock(&s->mu);
	/* an instance that exists aborts the call halfway: that needs a
	 * rollback journal, which an in-memory store only has for the call */
	dura_rc rc = dura_sqlite_journal(s, 1, err);
	if (rc == DURA_OK)
		rc = dura_sqlite_begin(s, err);
	if (rc == DURA_OK)
		rc = run(s, meta_sql, prefix, first, n, meta, NULL, err);
	if (rc == DURA_OK && n_history)
		rc = run(s, history_sql, prefix, first, n, meta, &packed, err);
	if (rc == DURA_OK)
		rc = dura_sqlite_commit(s, err);
	else
		dura_sqlite_rollback(s);
	dura_rc jrc = dura_sqlite_journal(s, 0, err);
	if (rc == DURA_OK)
		rc = jrc;
	pthread_mutex_unlock(&s->mu);
	free(packed.data);
	return rc;
}
