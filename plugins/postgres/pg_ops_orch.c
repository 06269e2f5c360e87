
/*
 * Orchestration operations.  Each is one call of a PL/pgSQL function
 * (pg_schema.c): enqueue, fetch, ack, ack+fetch, abandon, renew.
 *
 * A fetched item keeps its PGresult: message bodies and history events
 * point straight into the binary result (no copies); release frees both.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

/* columns of dura_fetch_orch / dura_ack_fetch_orch */
enum {
	COL_TOKEN, COL_INSTANCE, COL_EXECUTION, COL_BODIES, COL_ATTEMPTS,
	COL_HIST_IDS, COL_HIST_BODIES, COL_LOST, COL_NEXT_MS, COL_BLOCKED, COL_MORE
};

struct pg_orch_item {
	struct dura_orch_item pub; /* first: the pointer handed out */
	PGresult *res;
	struct dura_fetched_message *msgs;
	struct dura_event *events;
};

static int32_t col_int4(const PGresult *res, int col, int32_t if_null)
{
	if (PQgetisnull(res, 0, col) || PQgetlength(res, 0, col) != 4)
		return if_null;
	return (int32_t)dura_pg_get_u32(PQgetvalue(res, 0, col));
}

/* Turns the result row into an item.  Takes ownership of res in every
 * case.  DURA_EMPTY (with *empty) when the fetch found nothing. */
static dura_rc parse_item(struct dura_store *st, PGresult *res,
                          struct dura_orch_item **out, struct dura_pg_empty *empty,
                          struct dura_err *err)
{
	*out = NULL;
	empty->next_ms = -1;
	empty->blocked = 0;
	if (PQntuples(res) != 1 || PQnfields(res) < COL_BLOCKED + 1) {
		PQclear(res);
		dura_pg_err(err, "PostgreSQL fetch: unexpected result shape");
		return DURA_PERMANENT;
	}
	int32_t lost = col_int4(res, COL_LOST, 0);
	if (lost > 0)
		atomic_fetch_add(&st->stats.lock_conflicts, (uint64_t)lost);
	if (PQgetisnull(res, 0, COL_TOKEN)) {
		empty->next_ms = dura_pg_col_int8(res, COL_NEXT_MS, -1);
		empty->blocked = !PQgetisnull(res, 0, COL_BLOCKED) &&
		                 PQgetlength(res, 0, COL_BLOCKED) == 1 &&
		                 PQgetvalue(res, 0, COL_BLOCKED)[0];
		PQclear(res);
		return DURA_EMPTY;
	}
	struct dura_pg_array_reader bodies, attempts, ids, hbodies;
	if (dura_pg_col_array(res, COL_BODIES, PG_OID_BYTEA, &bodies) != 0 ||
	    dura_pg_col_array(res, COL_ATTEMPTS, PG_OID_INT4, &attempts) != 0 ||
	    dura_pg_col_array(res, COL_HIST_IDS, PG_OID_INT8, &ids) != 0 ||
	    dura_pg_col_array(res, COL_HIST_BODIES, PG_OID_BYTEA, &hbodies) != 0 ||
	    bodies.n != attempts.n || ids.n != hbodies.n || bodies.n == 0)
		goto malformed;

	struct pg_orch_item *it = calloc(1, sizeof *it);
	struct dura_fetched_message *msgs = calloc(bodies.n, sizeof *msgs);
	struct dura_event *events = ids.n ? calloc(ids.n, sizeof *events) : NULL;
	if (!it || !msgs || (ids.n && !events)) {
		free(it);
		free(msgs);
		free(events);
		PQclear(res);
		dura_pg_err(err, "out of memory");
		return DURA_RETRY;
	}
	uint32_t max_attempts = 0;
	for (uint32_t i = 0; i < bodies.n; i++) {
		const uint8_t *d, *a;
		size_t dl, al;
		if (dura_pg_array_next(&bodies, &d, &dl) != 0 ||
		    dura_pg_array_next(&attempts, &a, &al) != 0 || al != 4)
			goto malformed_item;
		msgs[i].body.data = d;
		msgs[i].body.len = dl;
		msgs[i].attempts = dura_pg_get_u32(a);
		if (msgs[i].attempts > max_attempts)
			max_attempts = msgs[i].attempts;
	}
	for (uint32_t i = 0; i < ids.n; i++) {
		const uint8_t *d, *b;
		size_t dl, bl;
		if (dura_pg_array_next(&ids, &d, &dl) != 0 || dl != 8 ||
		    dura_pg_array_next(&hbodies, &b, &bl) != 0)
			goto malformed_item;
		events[i].event_id = dura_pg_get_u64(d);
		events[i].body.data = b;
		events[i].body.len = bl;
	}
	it->res = res;
	it->msgs = msgs;
	it->events = events;
	it->pub.token = (uint64_t)dura_pg_col_int8(res, COL_TOKEN, 0);
	it->pub.instance = PQgetvalue(res, 0, COL_INSTANCE); /* NUL-terminated */
	it->pub.execution = (uint64_t)dura_pg_col_int8(res, COL_EXECUTION, 0);
	it->pub.messages = msgs;
	it->pub.n_messages = bodies.n;
	it->pub.history = events;
	it->pub.n_history = ids.n;
	it->pub.attempts = max_attempts;
	*out = &it->pub;
	return DURA_OK;

malformed_item:
	free(it);
	free(msgs);
	free(events);
malformed:
	PQclear(res);
	dura_pg_err(err, "PostgreSQL fetch: malformed binary array in the result");
	return DURA_PERMANENT;
}

struct dura_orch_item *dura_pg_orch_item_copy(const struct dura_orch_item *view)
{
	size_t inst_len = strlen(view->instance) + 1;
	size_t size = sizeof(struct pg_orch_item) +
	              view->n_messages * sizeof(struct dura_fetched_message) +
	              view->n_history * sizeof(struct dura_event) + inst_len;
	for (size_t i = 0; i < view->n_messages; i++)
		size += view->messages[i].body.len;
	for (size_t i = 0; i < view->n_history; i++)
		size += view->history[i].body.len;
	/* one block, released by the free(it) of release (res, msgs and
	 * events stay NULL); the arrays come first, so they are aligned */
	struct pg_orch_item *it = calloc(1, size);
	if (!it)
		return NULL;
	struct dura_fetched_message *msgs = (struct dura_fetched_message *)(it + 1);
	struct dura_event *events = (struct dura_event *)(msgs + view->n_messages);
	uint8_t *bytes = (uint8_t *)(events + view->n_history);
	it->pub = *view;
	memcpy(bytes, view->instance, inst_len);
	it->pub.instance = (const char *)bytes;
	bytes += inst_len;
	for (size_t i = 0; i < view->n_messages; i++) {
		msgs[i] = view->messages[i];
		if (msgs[i].body.len)
			memcpy(bytes, msgs[i].body.data, msgs[i].body.len);
		msgs[i].body.data = bytes;
		bytes += msgs[i].body.len;
	}
	for (size_t i = 0; i < view->n_history; i++) {
		events[i] = view->history[i];
		if (events[i].body.len)
			memcpy(bytes, events[i].body.data, events[i].body.len);
		events[i].body.data = bytes;
		bytes += events[i].body.len;
	}
	it->pub.messages = msgs;
	it->pub.history = events;
	return &it->pub;
}

void dura_pg_release_orchestration_item(dura_store *st,
                                        struct dura_orch_item *item)
{
	if (!item)
		return;
	struct pg_orch_item *it = (struct pg_orch_item *)item;
	PQclear(it->res);
	free(it->msgs);
	free(it->events);
	free(it);
}

static void add_messages(struct dura_pg_params *p, const struct dura_message *m,
                         size_t n)
{
	struct dura_pg_array *inst = dura_pg_param_array(p, PG_OID_TEXT);
	struct dura_pg_array *bodies = dura_pg_param_array(p, PG_OID_BYTEA);
	struct dura_pg_array *delays = dura_pg_param_array(p, PG_OID_INT8);
	for (size_t i = 0; i < n; i++) {
		const char *s = m[i].instance ? m[i].instance : "";
		dura_pg_array_add(inst, s, strlen(s));
		dura_pg_array_add(bodies, m[i].body.data, m[i].body.len);
		dura_pg_array_add_int8(delays, m[i].delay_ms);
	}
}

dura_rc dura_pg_enqueue_orchestrator(dura_store *st,
                                     const struct dura_message *msgs, size_t n,
                                     struct dura_err *err)
{
	return dura_pg_enqueue(st, msgs, n, 0, err);
}

dura_rc dura_pg_enqueue(dura_store *st, const struct dura_message *msgs, size_t n,
                        int started, struct dura_err *err)
{
	if (n == 0)
		return DURA_OK;
	/* the key makes every retry of this call safe, ours and the caller's
	 * (pg_enqueue_keys.c) */
	uint64_t key = dura_pg_enqueue_key(st, msgs, n);
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	dura_pg_param_int8(&p, (int64_t)key);
	add_messages(&p, msgs, n);
	dura_pg_param_bool(&p, dura_pg_notify_wanted(st));
	dura_pg_param_bool(&p, started);
	dura_rc rc = dura_pg_call_commit(st, PG_STMT_ENQUEUE, &p, PG_RETRY_KEYED, err);
	if (rc == DURA_RETRY)
		dura_pg_enqueue_key_unsettled(st, msgs, n, key);
	if (rc != DURA_OK)
		return rc;
	dura_pg_wake(st, PG_Q_ORCH, n > PG_WAKE_ALL ? PG_WAKE_ALL : (unsigned)n);
	return DURA_OK;
}

/* What one fetch of dura_pg_fetch_orchestration_item needs (dura_pg_poll). */
struct fetch_ctx {
	uint32_t lock_ms;
	struct dura_orch_item **out;
};

static dura_rc fetch_once(struct dura_store *st, void *ctx, struct dura_pg_empty *empty,
                          struct dura_err *err)
{
	struct fetch_ctx *f = ctx;
	PGresult *res;
	dura_rc rc = dura_pg_call_fetch(st, PG_STMT_FETCH_ORCH, f->lock_ms, 0, &res, err);
	if (rc != DURA_OK)
		return rc;
	return parse_item(st, res, f->out, empty, err);
}

dura_rc dura_pg_fetch_orchestration_item(dura_store *st, uint32_t lock_ms,
                                         uint32_t wait_ms,
                                         struct dura_orch_item **out,
                                         struct dura_err *err)
{
	*out = NULL;
	struct fetch_ctx f = { lock_ms, out };
	return dura_pg_poll(st, PG_Q_ORCH, wait_ms, fetch_once, &f, err);
}

static void ack_params(struct dura_store *st, struct dura_pg_params *p,
                       uint64_t token, const struct dura_orch_ack *ack)
{
	dura_pg_param_int8(p, (int64_t)token);
	dura_pg_param_int8(p, (int64_t)ack->execution);
	struct dura_pg_array *ids = dura_pg_param_array(p, PG_OID_INT8);
	struct dura_pg_array *bodies = dura_pg_param_array(p, PG_OID_BYTEA);
	for (size_t i = 0; i < ack->n_history; i++) {
		dura_pg_array_add_int8(ids, (int64_t)ack->history[i].event_id);
		dura_pg_array_add(bodies, ack->history[i].body.data, ack->history[i].body.len);
	}
	add_messages(p, ack->work_items, ack->n_work_items);
	add_messages(p, ack->orch_items, ack->n_orch_items);
	const struct dura_instance_meta *m = ack->meta;
	dura_pg_param_bool(p, m != NULL);
	dura_pg_param_text(p, m ? (m->name ? m->name : "") : NULL);
	dura_pg_param_int4(p, m ? m->status : 0);
	if (m)
		dura_pg_param_bytea(p, m->output.data, m->output.len);
	else
		dura_pg_param_text(p, NULL);
	dura_pg_param_text(p, m ? m->parent : NULL);
	dura_pg_param_int8(p, m ? (int64_t)m->execution : 0);
	dura_pg_param_bool(p, dura_pg_notify_wanted(st));
}

dura_rc dura_pg_check_ack(const struct dura_orch_ack *ack, struct dura_err *err)
{
	if (!ack) {
		dura_pg_err(err, "ack_orchestration_item: ack is NULL");
		return DURA_PERMANENT;
	}
	if ((ack->n_history && !ack->history) || (ack->n_work_items && !ack->work_items) ||
	    (ack->n_orch_items && !ack->orch_items)) {
		dura_pg_err(err, "ack_orchestration_item: an array is NULL with a non-zero count");
		return DURA_PERMANENT;
	}
	return DURA_OK;
}

/* The ack committed: wake-ups for the work it created and for the instance
 * lock it released (see dura_pg_lock_released).  gen and fetched: as
 * there. */
static void after_ack(struct dura_store *st, const struct dura_orch_ack *ack, int more,
                      uint64_t gen, const struct dura_pg_empty *fetched)
{
	atomic_fetch_add(&st->stats.commits, 1);
	size_t nw = ack->n_work_items, no = ack->n_orch_items + (more ? 1 : 0);
	dura_pg_wake(st, PG_Q_WORK, nw > PG_WAKE_ALL ? PG_WAKE_ALL : (unsigned)nw);
	dura_pg_lock_released(st, PG_Q_ORCH, no > PG_WAKE_ALL ? PG_WAKE_ALL : (unsigned)no, gen,
	                      fetched);
}

dura_rc dura_pg_ack_orchestration_item(dura_store *st, uint64_t token,
                                       const struct dura_orch_ack *ack,
                                       struct dura_err *err)
{
	dura_rc rc = dura_pg_check_ack(ack, err);
	if (rc != DURA_OK)
		return rc;
	uint64_t gen = dura_pg_gen(st, PG_Q_ORCH);
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	ack_params(st, &p, token, ack);
	PGresult *res;
	rc = dura_pg_call(st, PG_STMT_ACK_ORCH, &p, PG_RETRY_IF_UNSENT, &res, err);
	dura_pg_params_free(&p);
	if (rc == DURA_RETRY)
		dura_pg_wake_uncertain(st);
	if (rc != DURA_OK)
		return rc;
	int more = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
	           PQgetlength(res, 0, 0) == 1 && PQgetvalue(res, 0, 0)[0];
	PQclear(res);
	after_ack(st, ack, more, gen, NULL);
	return DURA_OK;
}

dura_rc dura_pg_ack_orchestration_item_and_fetch(dura_store *st,
                                                 uint64_t token,
                                                 const struct dura_orch_ack *ack,
                                                 uint32_t lock_ms,
                                                 struct dura_orch_item **next,
                                                 struct dura_err *err)
{
	*next = NULL;
	dura_rc rc = dura_pg_check_ack(ack, err);
	if (rc != DURA_OK)
		return rc;
	uint64_t gen = dura_pg_gen(st, PG_Q_ORCH);
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	ack_params(st, &p, token, ack);
	dura_pg_param_int4_sat(&p, lock_ms);
	PGresult *res;
	rc = dura_pg_call(st, PG_STMT_ACK_FETCH_ORCH, &p, PG_RETRY_IF_UNSENT, &res, err);
	dura_pg_params_free(&p);
	if (rc == DURA_RETRY)
		dura_pg_wake_uncertain(st);
	if (rc != DURA_OK)
		return rc;
	int more = PQntuples(res) == 1 && PQnfields(res) > COL_MORE &&
	           !PQgetisnull(res, 0, COL_MORE) && PQgetvalue(res, 0, COL_MORE)[0];
	struct dura_pg_empty empty;
	struct dura_err ferr;
	dura_rc frc = parse_item(st, res, next, &empty, &ferr);
	if (frc == DURA_EMPTY)
		atomic_fetch_add(&st->stats.empty_fetches, 1);
	/* the ack committed (one transaction with the fetch) whatever the
	 * fetch part returned; an empty fetch part is noted there */
	after_ack(st, ack, more, gen, frc == DURA_EMPTY ? &empty : NULL);
	return DURA_OK;
}

dura_rc dura_pg_abandon_orchestration_item(dura_store *st, uint64_t token,
                                           uint32_t delay_ms,
                                           struct dura_err *err)
{
	return dura_pg_abandon(st, PG_STMT_ABANDON_ORCH, PG_Q_ORCH, token, delay_ms, err);
}

dura_rc dura_pg_renew_orchestration_lock(dura_store *st, uint64_t token,
                                         uint32_t extend_ms,
                                         struct dura_err *err)
{
	return dura_pg_renew(st, PG_STMT_RENEW_ORCH, token, extend_ms, err);
}
