/*
 * Reads for verification and tooling: read_history, instance_status (plain
 * prepared SELECTs, retried on a lost connection).
 */
#include <stdlib.h>
#include <string.h>

#include "mdb_internal.h"

struct history {
	struct dura_history h;
	struct dura_mdb_result res;
	struct dura_event *events;
};

dura_rc dura_mdb_read_history(dura_store *st, const char *instance, uint64_t execution,
                              struct dura_history **out, struct dura_err *err)
{
	*out = NULL;
	struct dura_mdb_params p;
	dura_mdb_params_init(&p);
	dura_mdb_param_text(&p, instance ? instance : "");
	dura_mdb_param_int(&p, (long long)execution);
	struct history *h = calloc(1, sizeof *h);
	if (!h) {
		dura_mdb_err(err, "out of memory");
		return DURA_PERMANENT;
	}
	dura_rc rc = dura_mdb_call(st, MDB_HISTORY, &p, MDB_RETRY_ALWAYS, &h->res, err);
	if (rc != DURA_OK) {
		free(h);
		return rc;
	}
	size_t n = h->res.n_sets ? h->res.sets[0].n_rows : 0;
	h->events = calloc(n ? n : 1, sizeof *h->events);
	if (!h->events) {
		dura_mdb_release_history(st, &h->h);
		dura_mdb_err(err, "out of memory");
		return DURA_PERMANENT;
	}
	for (size_t i = 0; i < n; i++) {
		const struct dura_mdb_cell *b = dura_mdb_cell(&h->res, 0, i, 1);
		h->events[i].event_id = (uint64_t)dura_mdb_int(&h->res, 0, i, 0, 0);
		h->events[i].body.data = b && b->data ? b->data : (const uint8_t *)"";
		h->events[i].body.len = b && b->data ? b->len : 0;
	}
	h->h.events = h->events;
	h->h.n_events = n;
	*out = &h->h;
	return DURA_OK;
}

void dura_mdb_release_history(dura_store *st, struct dura_history *hist)
{
	if (!hist)
		return;
	struct history *h = (struct history *)hist;
	dura_mdb_result_free(&h->res);
	free(h->events);
	free(h);
}

struct status {
	struct dura_instance_meta m;
	struct dura_mdb_result res;
};

dura_rc dura_mdb_instance_status(dura_store *st, const char *instance,
                                 struct dura_instance_meta **out, struct dura_err *err)
{
	*out = NULL;
	struct dura_mdb_params p;
	dura_mdb_params_init(&p);
	dura_mdb_param_text(&p, instance ? instance : "");
	struct status *s = calloc(1, sizeof *s);
	if (!s) {
		dura_mdb_err(err, "out of memory");
		return DURA_PERMANENT;
	}
	dura_rc rc = dura_mdb_call(st, MDB_STATUS, &p, MDB_RETRY_ALWAYS, &s->res, err);
	if (rc == DURA_OK && (s->res.n_sets == 0 || s->res.sets[0].n_rows == 0))
		rc = DURA_EMPTY;
	if (rc != DURA_OK) {
		dura_mdb_result_free(&s->res);
		free(s);
		return rc;
	}
	const struct dura_mdb_cell *name = dura_mdb_cell(&s->res, 0, 0, 0);
	const struct dura_mdb_cell *output = dura_mdb_cell(&s->res, 0, 0, 2);
	const struct dura_mdb_cell *parent = dura_mdb_cell(&s->res, 0, 0, 3);
	s->m.name = name && name->data ? (const char *)name->data : "";
	s->m.status = (int32_t)dura_mdb_int(&s->res, 0, 0, 1, 0);
	s->m.output.data = output && output->data ? output->data : (const uint8_t *)"";
	s->m.output.len = output && output->data ? output->len : 0;
	s->m.parent = parent && !parent->is_null ? (const char *)parent->data : NULL;
	s->m.execution = (uint64_t)dura_mdb_int(&s->res, 0, 0, 4, 0);
	if (!DURA_STATUS_STORABLE(s->m.status) || s->m.execution < 1) {
		dura_mdb_err(err, "instances row of instance %.200s cannot be decoded: status %d, "
		             "execution %llu", instance, (int)s->m.status,
		             (unsigned long long)s->m.execution);
		dura_mdb_release_instance_status(st, &s->m);
		return DURA_CORRUPT;
	}
	*out = &s->m;
	return DURA_OK;
}

void dura_mdb_release_instance_status(dura_store *st, struct dura_instance_meta *meta)
{
	if (!meta)
		return;
	struct status *s = (struct status *)meta;
	dura_mdb_result_free(&s->res);
	free(s);
}
