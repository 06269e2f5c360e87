/*
 * SQLite provider: bulk prefill (ABI 1.4).  Two statements in one
 * transaction, each generating its rows inside SQLite (a recursive CTE
 * counts the instance numbers), so the cost is the B-tree inserts and not
 * a bind/step round per row: one INSERT ... SELECT for the metadata, one
 * for the histories (the instance numbers crossed with the events, given
 * as a VALUES list of bound parameters).  A duplicate key (an instance
 * that exists) aborts and rolls back the whole call.
 */

#include "sqlite_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDS_CTE "WITH RECURSIVE ids(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM ids WHERE i < ?2)"

static const char meta_sql[] =
	IDS_CTE " INSERT INTO dura_instance(instance, name, status, output, parent, execution)"
	" SELECT ?3 || i, ?4, ?5, ?6, ?7, ?8 FROM ids";

/* SQLite allows 32766 parameters; 2 per event plus the first 4. */
#define MAX_EVENTS 16000

/* The history statement for n events: only placeholders are generated,
 * every value is bound.  Caller frees. */
static char *history_sql(size_t n)
{
	static const char head[] = IDS_CTE ", ev(id, body) AS (VALUES ";
	static const char tail[] = ") INSERT INTO dura_history(instance, execution, event_id, body)"
	                           " SELECT ?3 || ids.i, ?4, ev.id, ev.body FROM ids, ev";
	size_t len = sizeof head + sizeof tail + n * 32;
	char *sql = malloc(len);
	if (!sql)
		return NULL;
	size_t at = (size_t)snprintf(sql, len, "%s", head);
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(sql + at, len - at, "%s(?%zu, ?%zu)", i ? ", " : "",
		                       5 + 2 * i, 6 + 2 * i);
	snprintf(sql + at, len - at, "%s", tail);
	return sql;
}

static dura_rc run(struct dura_store *s, const char *sql, const char *prefix, uint64_t first,
                   uint64_t n, const struct dura_instance_meta *meta,
                   const struct dura_event *history, size_t n_history, struct dura_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (src != SQLITE_OK)
		return dura_sqlite_fail(s, src, "prefill: preparing", err);
	sqlite3_bind_int64(st, 1, (int64_t)first);
	sqlite3_bind_int64(st, 2, (int64_t)(first + n - 1));
	sqlite3_bind_text(st, 3, prefix, -1, SQLITE_STATIC);
	if (history) {
		sqlite3_bind_int64(st, 4, (int64_t)meta->execution);
		for (size_t i = 0; i < n_history; i++) {
			sqlite3_bind_int64(st, (int)(5 + 2 * i), (int64_t)history[i].event_id);
			dura_sqlite_bind_bytes(st, (int)(6 + 2 * i), history[i].body);
		}
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
	if (n_history > MAX_EVENTS) {
		dura_sqlite_err(err, "sqlite: prefill: %zu history events, at most %d", n_history,
		                MAX_EVENTS);
		return DURA_PERMANENT;
	}
	char *hsql = n_history ? history_sql(n_history) : NULL;
	if (n_history && !hsql) {
		dura_sqlite_err(err, "sqlite: out of memory");
		return DURA_RETRY;
	}
	pthread_mutex_lock(&s->mu);
	dura_rc rc = dura_sqlite_begin(s, err);
	if (rc == DURA_OK)
		rc = run(s, meta_sql, prefix, first, n, meta, NULL, 0, err);
	if (rc == DURA_OK && hsql)
		rc = run(s, hsql, prefix, first, n, meta, history, n_history, err);
	if (rc == DURA_OK)
		rc = dura_sqlite_commit(s, err);
	else
		dura_sqlite_rollback(s);
	pthread_mutex_unlock(&s->mu);
	free(hsql);
	return rc;
}
