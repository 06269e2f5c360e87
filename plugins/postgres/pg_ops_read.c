
/*
 * Reads for verification and tooling: read_history, instance_status.
 * Plain prepared SELECTs with binary results; returned objects point into
 * the kept PGresult.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

struct pg_history {
	struct dura_history pub; /* first: the pointer handed out */
	PGresult *res;
	struct dura_event *events;
};

struct pg_meta {
	struct dura_instance_meta pub; /* first */
	PGresult *res;
};

dura_rc dura_pg_read_history(dura_store *st, const char *instance,
                             uint64_t execution, struct dura_history **out,
                             struct dura_err *err)
{
	*out = NULL;
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	dura_pg_param_text(&p, instance ? instance : "");
	dura_pg_param_int8(&p, (int64_t)execution);
	PGresult *res;
	dura_rc rc = dura_pg_call(st, PG_STMT_HISTORY, &p, PG_RETRY_ALWAYS, &res, err);
	dura_pg_params_free(&p);
	if (rc != DURA_OK)
		return rc;
	int n = PQntuples(res);
	struct pg_history *h = calloc(1, sizeof *h);
	struct dura_event *ev = n ? calloc((size_t)n, sizeof *ev) : NULL;
	if (!h || (n && !ev)) {
		free(h);
		free(ev);
		PQclear(res);
		dura_pg_err(err, "out of memory");
		return DURA_RETRY;
	}
	for (int i = 0; i < n; i++) {
		/* a row holds as many ids as bodies; unnest() pads the shorter
		 * array with NULLs (a NULL body is handed out as len 0, which the
		 * core reports as corrupt) */
		if (PQgetisnull(res, i, 0)) {
			free(h);
			free(ev);
			PQclear(res);
			dura_pg_err(err, "history of instance %.200s, execution %llu: a row holds "
			            "more bodies than event ids", instance ? instance : "",
			            (unsigned long long)execution);
			return DURA_CORRUPT;
		}
		if (PQgetlength(res, i, 0) != 8) {
			free(h);
			free(ev);
			PQclear(res);
			dura_pg_err(err, "PostgreSQL history: malformed result");
			return DURA_PERMANENT;
		}
		ev[i].event_id = dura_pg_get_u64(PQgetvalue(res, i, 0));
		ev[i].body.data = (const uint8_t *)PQgetvalue(res, i, 1);
		ev[i].body.len = (size_t)PQgetlength(res, i, 1);
	}
	h->res = res;
	h->events = ev;
	h->pub.events = ev;
	h->pub.n_events = (size_t)n;
	*out = &h->pub;
	return DURA_OK;
}

void dura_pg_release_history(dura_store *st, struct dura_history *history)
{
	if (!history)
		return;
	struct pg_history *h = (struct pg_history *)history;
	PQclear(h->res);
	free(h->events);
	free(h);
}

dura_rc dura_pg_instance_status(dura_store *st, const char *instance,
                                struct dura_instance_meta **out,
                                struct dura_err *err)
{
	*out = NULL;
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	dura_pg_param_text(&p, instance ? instance : "");
	PGresult *res;
	dura_rc rc = dura_pg_call(st, PG_STMT_STATUS, &p, PG_RETRY_ALWAYS, &res, err);
	dura_pg_params_free(&p);
	if (rc != DURA_OK)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return DURA_EMPTY;
	}
	if (PQgetlength(res, 0, 1) != 4 || PQgetlength(res, 0, 4) != 8) {
		PQclear(res);
		dura_pg_err(err, "PostgreSQL instance status: malformed result");
		return DURA_PERMANENT;
	}
	struct pg_meta *m = calloc(1, sizeof *m);
	if (!m) {
		PQclear(res);
		dura_pg_err(err, "out of memory");
		return DURA_RETRY;
	}
	m->res = res;
	m->pub.name = PQgetvalue(res, 0, 0);
	m->pub.status = (int32_t)dura_pg_get_u32(PQgetvalue(res, 0, 1));
	m->pub.output.data = (const uint8_t *)PQgetvalue(res, 0, 2);
	m->pub.output.len = (size_t)PQgetlength(res, 0, 2);
	m->pub.parent = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3);
	m->pub.execution = dura_pg_get_u64(PQgetvalue(res, 0, 4));
	if (!DURA_STATUS_STORABLE(m->pub.status) || m->pub.execution < 1) {
		dura_pg_err(err, "instances row of instance %.200s cannot be decoded: status %d, "
		            "execution %llu", instance, (int)m->pub.status,
		            (unsigned long long)m->pub.execution);
		dura_pg_release_instance_status(st, &m->pub);
		return DURA_CORRUPT;
	}
	*out = &m->pub;
	return DURA_OK;
}

void dura_pg_release_instance_status(dura_store *st,
                                     struct dura_instance_meta *meta)
{
	if (!meta)
		return;
	struct pg_meta *m = (struct pg_meta *)meta;
	PQclear(m->res);
	free(m);
}
