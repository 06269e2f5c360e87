/*
 * Scale-out operations (ABI 1.3, docs/scale-out.md): starting instances with
 * a start time stamped by the server, the completion feed the measuring
 * process drains, and the notes every process of a run shares.  The store
 * itself (schema) is shared by name: attach and store_name are in
 * pg_plugin.c with the rest of the store's life cycle.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

dura_rc dura_pg_start_instances(dura_store *st, const struct dura_message *msgs, size_t n,
                                struct dura_err *err)
{
	return dura_pg_enqueue(st, msgs, n, 1, err);
}

/* A feed batch: the result stays alive, instance ids point into it. */
struct pg_completions {
	struct dura_completions pub; /* first: the pointer handed out */
	PGresult *res;
	struct dura_completion *items;
};

/* A feed batch from res (rows: seq, instance, status, started_us,
 * completed_us; binary), owning res. */
static dura_rc feed_batch(dura_store *st, PGresult *res, struct dura_completions **out,
                          struct dura_err *err)
{
	int n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return DURA_EMPTY;
	}
	atomic_fetch_add(&st->stats.commits, 1);
	struct pg_completions *c = calloc(1, sizeof *c);
	struct dura_completion *items = calloc((size_t)n, sizeof *items);
	if (!c || !items) {
		free(c);
		free(items);
		PQclear(res);
		dura_pg_err(err, "out of memory (completion feed entries are lost)");
		return DURA_PERMANENT;
	}
	for (int i = 0; i < n; i++) {
		if (PQgetlength(res, i, 2) != 4 || PQgetlength(res, i, 3) != 8 ||
		    PQgetlength(res, i, 4) != 8) {
			free(c);
			free(items);
			PQclear(res);
			dura_pg_err(err, "PostgreSQL completion feed: malformed result");
			return DURA_PERMANENT;
		}
		items[i].instance = PQgetvalue(res, i, 1);
		items[i].status = (int32_t)dura_pg_get_u32(PQgetvalue(res, i, 2));
		items[i].started_us = (int64_t)dura_pg_get_u64(PQgetvalue(res, i, 3));
		items[i].completed_us = (int64_t)dura_pg_get_u64(PQgetvalue(res, i, 4));
	}
	c->res = res;
	c->items = items;
	c->pub.items = items;
	c->pub.n = (size_t)n;
	*out = &c->pub;
	return DURA_OK;
}

dura_rc dura_pg_take_completions(dura_store *st, size_t max, struct dura_completions **out,
                                 struct dura_err *err)
{
	*out = NULL;
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	dura_pg_param_int4_sat(&p, max);
	PGresult *res;
	/* a delete: retried only if it surely did not run (a lost reply loses
	 * the entries: take_completions_acked is the operation that does not) */
	dura_rc rc = dura_pg_call(st, PG_STMT_TAKE_COMPLETIONS, &p, PG_RETRY_IF_UNSENT, &res, err);
	dura_pg_params_free(&p);
	return rc == DURA_OK ? feed_batch(st, res, out, err) : rc;
}

dura_rc dura_pg_take_completions_acked(dura_store *st, uint64_t ack, size_t max,
                                       struct dura_completions **out, struct dura_err *err)
{
	*out = NULL;
	if (ack >= (uint64_t)INT64_MAX) {
		dura_pg_err(err, "take_completions_acked: ack %llu is out of range",
		            (unsigned long long)ack);
		return DURA_PERMANENT;
	}
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	dura_pg_param_int8(&p, (int64_t)ack);
	dura_pg_param_int4_sat(&p, max);
	PGresult *res;
	/* the same ack repeated hands the same entries out again: safe to
	 * retry whatever happened to the reply */
	dura_rc rc = dura_pg_call(st, PG_STMT_TAKE_COMPLETIONS_ACKED, &p, PG_RETRY_ALWAYS, &res,
	                          err);
	dura_pg_params_free(&p);
	return rc == DURA_OK ? feed_batch(st, res, out, err) : rc;
}

void dura_pg_release_completions(dura_store *st, struct dura_completions *completions)
{
	(void)st;
	if (!completions)
		return;
	struct pg_completions *c = (struct pg_completions *)completions;
	PQclear(c->res);
	free(c->items);
	free(c);
}

dura_rc dura_pg_put_note(dura_store *st, const char *key, struct dura_bytes value,
                         struct dura_err *err)
{
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	dura_pg_param_text(&p, key);
	dura_pg_param_bytea(&p, value.data, value.len);
	/* an upsert: running it twice leaves the same note */
	return dura_pg_call_commit(st, PG_STMT_PUT_NOTE, &p, PG_RETRY_ALWAYS, err);
}

struct pg_notes {
	struct dura_notes pub; /* first */
	PGresult *res;
	struct dura_note *items;
};

dura_rc dura_pg_read_notes(dura_store *st, const char *prefix, struct dura_notes **out,
                           struct dura_err *err)
{
	*out = NULL;
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	dura_pg_param_text(&p, prefix ? prefix : "");
	PGresult *res;
	dura_rc rc = dura_pg_call(st, PG_STMT_READ_NOTES, &p, PG_RETRY_ALWAYS, &res, err);
	dura_pg_params_free(&p);
	if (rc != DURA_OK)
		return rc;
	int n = PQntuples(res);
	struct pg_notes *c = calloc(1, sizeof *c);
	struct dura_note *items = n ? calloc((size_t)n, sizeof *items) : NULL;
	if (!c || (n && !items)) {
		free(c);
		free(items);
		PQclear(res);
		dura_pg_err(err, "out of memory");
		return DURA_RETRY;
	}
	for (int i = 0; i < n; i++) {
		items[i].key = PQgetvalue(res, i, 0);
		items[i].value.data = (const uint8_t *)PQgetvalue(res, i, 1);
		items[i].value.len = (size_t)PQgetlength(res, i, 1);
	}
	c->res = res;
	c->items = items;
	c->pub.items = items;
	c->pub.n = (size_t)n;
	*out = &c->pub;
	return DURA_OK;
}

void dura_pg_release_notes(dura_store *st, struct dura_notes *notes)
{
	(void)st;
	if (!notes)
		return;
	struct pg_notes *c = (struct pg_notes *)notes;
	PQclear(c->res);
	free(c->items);
	free(c);
}
