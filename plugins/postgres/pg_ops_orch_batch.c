
/*
 * Orchestration items in batches (ABI 1.7): fetch_orchestration_items and
 * ack_orchestration_items_and_fetch.
 *
 * Why: a dispatcher across a long link pays a round trip per call, so one
 * instance per call caps it at one turn per round trip.  Each operation
 * here is one call of one PL/pgSQL function (dura_fetch_orchs,
 * dura_ack_fetch_orchs in pg_schema_orch_batch.c) with array parameters,
 * so K turns cost one round trip instead of K.
 *
 * Per item the semantics are those of the single-item operations (the same
 * dura_fetch_orch and dura_ack_orch run inside); an ack that fails with a
 * lost lock or a duplicate event id is rolled back alone (a subtransaction)
 * and reported in results[i], while the others commit together.
 *
 * Results come back as one row of parallel, flattened arrays; items are
 * copied out of the PGresult (dura_pg_orch_item_copy) so each can be
 * released on its own, from any thread, in any order.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

/* columns of dura_fetch_orchs; dura_ack_fetch_orchs has ACK_COLS first */
enum {
	COL_TOKENS, COL_INSTANCES, COL_EXECUTIONS, COL_MSG_N, COL_BODIES, COL_ATTEMPTS,
	COL_HIST_N, COL_HIST_IDS, COL_HIST_BODIES, COL_LOST, COL_NEXT_MS, COL_BLOCKED, N_COLS
};
enum { COL_RESULTS, COL_ERRORS, COL_MORE, ACK_COLS };

static void release_all(struct dura_store *st, struct dura_orch_item **items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dura_pg_release_orchestration_item(st, items[i]);
		items[i] = NULL;
	}
}

/* The next element of an int4 / int8 array reader, or -1 when malformed. */
static int64_t next_int(struct dura_pg_array_reader *r, size_t width)
{
	const uint8_t *d;
	size_t dl;
	if (dura_pg_array_next(r, &d, &dl) != 0 || dl != width)
		return -1;
	return width == 4 ? (int64_t)(int32_t)dura_pg_get_u32(d) : (int64_t)dura_pg_get_u64(d);
}

/* The column readers of one batch of items. */
struct readers {
	struct dura_pg_array_reader tok, inst, exec, msg_n, bodies, att, hist_n, ids, hbodies;
};

static int open_readers(const PGresult *res, int base, struct readers *r)
{
	return dura_pg_col_array(res, base + COL_TOKENS, PG_OID_INT8, &r->tok) != 0 ||
	       dura_pg_col_array(res, base + COL_INSTANCES, PG_OID_TEXT, &r->inst) != 0 ||
	       dura_pg_col_array(res, base + COL_EXECUTIONS, PG_OID_INT8, &r->exec) != 0 ||
	       dura_pg_col_array(res, base + COL_MSG_N, PG_OID_INT4, &r->msg_n) != 0 ||
	       dura_pg_col_array(res, base + COL_BODIES, PG_OID_BYTEA, &r->bodies) != 0 ||
	       dura_pg_col_array(res, base + COL_ATTEMPTS, PG_OID_INT4, &r->att) != 0 ||
	       dura_pg_col_array(res, base + COL_HIST_N, PG_OID_INT4, &r->hist_n) != 0 ||
	       dura_pg_col_array(res, base + COL_HIST_IDS, PG_OID_INT8, &r->ids) != 0 ||
	       dura_pg_col_array(res, base + COL_HIST_BODIES, PG_OID_BYTEA, &r->hbodies) != 0 ||
	       r->inst.n != r->tok.n || r->exec.n != r->tok.n || r->msg_n.n != r->tok.n ||
	       r->hist_n.n != r->tok.n || r->att.n != r->bodies.n || r->ids.n != r->hbodies.n
	       ? -1 : 0;
}

/* Reads the next item's parts into scratch arrays (msgs[], events[] sized
 * by the whole result) and copies it.  0, or -1 when malformed. */
static int read_item(struct readers *r, struct dura_fetched_message *msgs,
                     struct dura_event *events, struct dura_orch_item **out)
{
	const uint8_t *d;
	size_t dl;
	struct dura_orch_item view = { 0 };
	int64_t tok = next_int(&r->tok, 8), exec = next_int(&r->exec, 8);
	int64_t nm = next_int(&r->msg_n, 4), nh = next_int(&r->hist_n, 4);
	if (tok <= 0 || exec < 0 || nm < 1 || nh < 0 || (uint64_t)nm > r->bodies.n ||
	    (uint64_t)nh > r->ids.n || dura_pg_array_next(&r->inst, &d, &dl) != 0 || !d)
		return -1;
	char inst[DURA_INSTANCE_ID_MAX + 1];
	if (dl > DURA_INSTANCE_ID_MAX)
		return -1;
	memcpy(inst, d, dl);
	inst[dl] = '\0';
	for (int64_t i = 0; i < nm; i++) {
		int64_t a = next_int(&r->att, 4);
		if (a < 0 || dura_pg_array_next(&r->bodies, &d, &dl) != 0)
			return -1;
		msgs[i] = (struct dura_fetched_message){ { d, dl }, (uint32_t)a };
		if ((uint32_t)a > view.attempts)
			view.attempts = (uint32_t)a;
	}
	for (int64_t i = 0; i < nh; i++) {
		int64_t id = next_int(&r->ids, 8);
		if (dura_pg_array_next(&r->hbodies, &d, &dl) != 0)
			return -1;
		events[i] = (struct dura_event){ (uint64_t)id, { d, dl } };
	}
	view.token = (uint64_t)tok;
	view.instance = inst;
	view.execution = (uint64_t)exec;
	view.messages = msgs;
	view.n_messages = (size_t)nm;
	view.history = events;
	view.n_history = (size_t)nh;
	*out = dura_pg_orch_item_copy(&view);
	return 0;
}

/* Reads the fetched items from the columns starting at `base`.  DURA_OK
 * with *n >= 1, DURA_EMPTY with *n = 0 and *empty, or an error with
 * nothing returned.  Does not take res. */
static dura_rc parse_items(struct dura_store *st, const PGresult *res, int base, size_t max,
                           struct dura_orch_item **items, size_t *n,
                           struct dura_pg_empty *empty, struct dura_err *err)
{
	struct readers r;
	*n = 0;
	empty->next_ms = -1;
	empty->blocked = 0;
	if (PQntuples(res) != 1 || PQnfields(res) < base + N_COLS || open_readers(res, base, &r) != 0 ||
	    r.tok.n > max) {
		dura_pg_err(err, "PostgreSQL batch orchestration fetch: malformed result");
		return DURA_PERMANENT;
	}
	int32_t lost = PQgetisnull(res, 0, base + COL_LOST) ||
	                       PQgetlength(res, 0, base + COL_LOST) != 4
	               ? 0 : (int32_t)dura_pg_get_u32(PQgetvalue(res, 0, base + COL_LOST));
	if (lost > 0)
		atomic_fetch_add(&st->stats.lock_conflicts, (uint64_t)lost);
	if (r.tok.n == 0) {
		empty->next_ms = dura_pg_col_int8(res, base + COL_NEXT_MS, -1);
		empty->blocked = !PQgetisnull(res, 0, base + COL_BLOCKED) &&
		                 PQgetlength(res, 0, base + COL_BLOCKED) == 1 &&
		                 PQgetvalue(res, 0, base + COL_BLOCKED)[0];
		return DURA_EMPTY;
	}
	struct dura_fetched_message *msgs = calloc(r.bodies.n ? r.bodies.n : 1, sizeof *msgs);
	struct dura_event *events = calloc(r.ids.n ? r.ids.n : 1, sizeof *events);
	dura_rc rc = DURA_OK;
	for (uint32_t i = 0; msgs && events && i < r.tok.n; i++) {
		if (read_item(&r, msgs, events, &items[i]) != 0) {
			dura_pg_err(err, "PostgreSQL batch orchestration fetch: malformed result");
			rc = DURA_PERMANENT;
			break;
		}
		if (!items[i])
			break;
		*n = i + 1;
	}
	if (rc == DURA_OK && *n != r.tok.n) {
		dura_pg_err(err, "out of memory");
		rc = DURA_RETRY;
	}
	free(msgs);
	free(events);
	if (rc != DURA_OK) {
		release_all(st, items, *n);
		*n = 0;
	}
	return rc;
}

/* A client this far from the server (the shortest call seen) waits in the
 * server, not for a NOTIFY: the notification crosses the link (half a
 * round trip) and the fetch it triggers costs a whole round trip more, so
 * an item that became eligible reaches a waiting dispatcher 1.5 round
 * trips later instead of half a round trip.  Over an emulated 150 ms link
 * that is 150 ms per orchestration pick-up, twice per instance
 * (docs/remote-emulation.md).  Near the server (below FAR_NS) the NOTIFY
 * path costs nothing and the server is not polled. */
#define FAR_NS (20ull * 1000000ull)
/* How often a waiting fetch looks again in the server: bounds the delay it
 * adds to half a step on average; each look is a few index probes. */
#define SERVER_STEP_MS 10

/* Notes how long a call without a wait took. */
static void note_call(struct dura_store *st, uint64_t started_ns)
{
	uint64_t took = dura_pg_now_ns() - started_ns;
	uint64_t min = atomic_load(&st->orch_call_min_ns);
	while ((min == 0 || took < min) &&
	       !atomic_compare_exchange_weak(&st->orch_call_min_ns, &min, took ? took : 1))
		;
}

static int far_from_server(struct dura_store *st)
{
	return atomic_load(&st->orch_call_min_ns) >= FAR_NS;
}

/* What one fetch of dura_pg_fetch_orchestration_items needs. */
struct fetch_ctx {
	uint32_t lock_ms;
	size_t max_items;
	uint32_t server_wait_ms; /* 0: the client waits (dura_pg_poll) */
	struct dura_orch_item **items;
	size_t *n_items;
};

static dura_rc fetch_once(struct dura_store *st, void *ctx, struct dura_pg_empty *empty,
                          struct dura_err *err)
{
	struct fetch_ctx *f = ctx;
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	dura_pg_param_int4_sat(&p, f->lock_ms);
	dura_pg_param_int4_sat(&p, f->max_items);
	dura_pg_param_int4_sat(&p, f->server_wait_ms);
	dura_pg_param_int4_sat(&p, SERVER_STEP_MS);
	PGresult *res;
	uint64_t started = dura_pg_now_ns();
	dura_rc rc = dura_pg_call(st, PG_STMT_FETCH_ORCHS, &p, PG_RETRY_ALWAYS, &res, err);
	dura_pg_params_free(&p);
	if (rc != DURA_OK)
		return rc;
	if (f->server_wait_ms == 0)
		note_call(st, started);
	rc = parse_items(st, res, 0, f->max_items, f->items, f->n_items, empty, err);
	PQclear(res);
	return rc;
}

dura_rc dura_pg_fetch_orchestration_items(dura_store *st, uint32_t lock_ms, uint32_t wait_ms,
                                          size_t max_items, struct dura_orch_item **items,
                                          size_t *n_items, struct dura_err *err)
{
	*n_items = 0;
	if (max_items == 0) {
		dura_pg_err(err, "fetch_orchestration_items: max_items is 0");
		return DURA_PERMANENT;
	}
	struct fetch_ctx f = { lock_ms, max_items, 0, items, n_items };
	if (wait_ms == 0 || !far_from_server(st))
		return dura_pg_poll(st, PG_Q_ORCH, wait_ms, fetch_once, &f, err);
	/* far: one call that waits in the server, within half the call
	 * deadline (the reply must still arrive in time) */
	uint32_t cap = st->opt.call_timeout_ms / 2;
	f.server_wait_ms = wait_ms < cap ? wait_ms : cap;
	struct dura_pg_empty empty;
	dura_rc rc = fetch_once(st, &f, &empty, err);
	if (rc == DURA_OK)
		atomic_fetch_add(&st->stats.commits, 1);
	else if (rc == DURA_EMPTY)
		atomic_fetch_add(&st->stats.empty_fetches, 1);
	return rc;
}

/* ------------------------------------------------------------- the acks */

static void add_int4(struct dura_pg_array *a, int32_t v)
{
	uint8_t b[4] = { (uint8_t)((uint32_t)v >> 24), (uint8_t)((uint32_t)v >> 16),
	                 (uint8_t)((uint32_t)v >> 8), (uint8_t)v };
	dura_pg_array_add(a, b, sizeof b);
}

/* Messages of one ack into the three flattened arrays; returns n. */
static int32_t add_messages(struct dura_pg_array *const m[3], const struct dura_message *msgs,
                            size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = msgs[i].instance ? msgs[i].instance : "";
		dura_pg_array_add(m[0], s, strlen(s));
		dura_pg_array_add(m[1], msgs[i].body.data, msgs[i].body.len);
		dura_pg_array_add_int8(m[2], msgs[i].delay_ms);
	}
	return (int32_t)n;
}

/* The parameters of dura_ack_fetch_orchs, in its order. */
static void ack_params(struct dura_store *st, struct dura_pg_params *p, size_t n,
                       const uint64_t *tokens, const struct dura_orch_ack *acks,
                       uint32_t lock_ms, size_t max_next)
{
	struct dura_pg_array *tok = dura_pg_param_array(p, PG_OID_INT8);
	struct dura_pg_array *exec = dura_pg_param_array(p, PG_OID_INT8);
	struct dura_pg_array *hist_n = dura_pg_param_array(p, PG_OID_INT4);
	struct dura_pg_array *hist_ids = dura_pg_param_array(p, PG_OID_INT8);
	struct dura_pg_array *hist_bodies = dura_pg_param_array(p, PG_OID_BYTEA);
	struct dura_pg_array *work_n = dura_pg_param_array(p, PG_OID_INT4);
	struct dura_pg_array *work[3] = { dura_pg_param_array(p, PG_OID_TEXT),
	                                  dura_pg_param_array(p, PG_OID_BYTEA),
	                                  dura_pg_param_array(p, PG_OID_INT8) };
	struct dura_pg_array *orch_n = dura_pg_param_array(p, PG_OID_INT4);
	struct dura_pg_array *orch[3] = { dura_pg_param_array(p, PG_OID_TEXT),
	                                  dura_pg_param_array(p, PG_OID_BYTEA),
	                                  dura_pg_param_array(p, PG_OID_INT8) };
	struct dura_pg_array *has_meta = dura_pg_param_array(p, PG_OID_BOOL);
	struct dura_pg_array *names = dura_pg_param_array(p, PG_OID_TEXT);
	struct dura_pg_array *status = dura_pg_param_array(p, PG_OID_INT4);
	struct dura_pg_array *outputs = dura_pg_param_array(p, PG_OID_BYTEA);
	struct dura_pg_array *parents = dura_pg_param_array(p, PG_OID_TEXT);
	struct dura_pg_array *meta_exec = dura_pg_param_array(p, PG_OID_INT8);
	for (size_t i = 0; i < n; i++) {
		const struct dura_orch_ack *a = &acks[i];
		dura_pg_array_add_int8(tok, (int64_t)tokens[i]);
		dura_pg_array_add_int8(exec, (int64_t)a->execution);
		add_int4(hist_n, (int32_t)a->n_history);
		for (size_t h = 0; h < a->n_history; h++) {
			dura_pg_array_add_int8(hist_ids, (int64_t)a->history[h].event_id);
			dura_pg_array_add(hist_bodies, a->history[h].body.data, a->history[h].body.len);
		}
		add_int4(work_n, add_messages(work, a->work_items, a->n_work_items));
		add_int4(orch_n, add_messages(orch, a->orch_items, a->n_orch_items));
		const struct dura_instance_meta *m = a->meta;
		uint8_t flag = m != NULL;
		dura_pg_array_add(has_meta, &flag, 1);
		if (m) {
			const char *name = m->name ? m->name : "";
			dura_pg_array_add(names, name, strlen(name));
			add_int4(status, m->status);
			dura_pg_array_add(outputs, m->output.data, m->output.len);
			if (m->parent)
				dura_pg_array_add(parents, m->parent, strlen(m->parent));
			else
				dura_pg_array_add_null(parents);
			dura_pg_array_add_int8(meta_exec, (int64_t)m->execution);
		} else {
			dura_pg_array_add_null(names);
			add_int4(status, 0);
			dura_pg_array_add_null(outputs);
			dura_pg_array_add_null(parents);
			dura_pg_array_add_int8(meta_exec, 0);
		}
	}
	dura_pg_param_bool(p, dura_pg_notify_wanted(st));
	dura_pg_param_int4_sat(p, lock_ms);
	dura_pg_param_int4_sat(p, max_next);
}

/* results[] (and err, for the first failed item) from the result's
 * o_results / o_errors.  0, or -1 when malformed. */
static int read_results(const PGresult *res, size_t n, dura_rc *results, struct dura_err *err)
{
	struct dura_pg_array_reader codes, texts;
	if (dura_pg_col_array(res, COL_RESULTS, PG_OID_INT4, &codes) != 0 ||
	    dura_pg_col_array(res, COL_ERRORS, PG_OID_TEXT, &texts) != 0 || codes.n != n ||
	    texts.n != n)
		return -1;
	int reported = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t c = next_int(&codes, 4);
		const uint8_t *d;
		size_t dl;
		if (c < 0 || dura_pg_array_next(&texts, &d, &dl) != 0)
			return -1;
		results[i] = c == 0 ? DURA_OK : c == 3 ? DURA_LOCK_LOST : DURA_PERMANENT;
		if (results[i] != DURA_OK && !reported++)
			dura_pg_err(err, "PostgreSQL ack of item %zu: %.*s", i, (int)(dl < 400 ? dl : 400),
			            d ? (const char *)d : "");
	}
	return 0;
}

/* The acks committed: wake-ups for the work they created and for the
 * instance locks they released (as after a single ack, pg_ops_orch.c). */
static void after_acks(struct dura_store *st, size_t n, const struct dura_orch_ack *acks,
                       const dura_rc *results, int more, uint64_t gen,
                       const struct dura_pg_empty *fetched)
{
	size_t nw = 0, no = more ? 1 : 0;
	for (size_t i = 0; i < n; i++) {
		if (results[i] != DURA_OK)
			continue;
		nw += acks[i].n_work_items;
		no += acks[i].n_orch_items;
	}
	atomic_fetch_add(&st->stats.commits, 1);
	dura_pg_wake(st, PG_Q_WORK, nw > PG_WAKE_ALL ? PG_WAKE_ALL : (unsigned)nw);
	dura_pg_lock_released(st, PG_Q_ORCH, no > PG_WAKE_ALL ? PG_WAKE_ALL : (unsigned)no, gen,
	                      fetched);
}

dura_rc dura_pg_ack_orchestration_items_and_fetch(dura_store *st, size_t n,
                                                  const uint64_t *tokens,
                                                  const struct dura_orch_ack *acks,
                                                  dura_rc *results, uint32_t lock_ms,
                                                  size_t max_next, struct dura_orch_item **next,
                                                  size_t *n_next, struct dura_err *err)
{
	*n_next = 0;
	if (n > INT32_MAX) {
		dura_pg_err(err, "ack_orchestration_items_and_fetch: %zu items in one call", n);
		return DURA_PERMANENT;
	}
	for (size_t i = 0; i < n; i++) {
		dura_rc rc = dura_pg_check_ack(&acks[i], err);
		if (rc != DURA_OK)
			return rc;
	}
	uint64_t gen = dura_pg_gen(st, PG_Q_ORCH);
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	ack_params(st, &p, n, tokens, acks, lock_ms, max_next);
	PGresult *res;
	uint64_t started = dura_pg_now_ns();
	dura_rc rc = dura_pg_call(st, PG_STMT_ACK_FETCH_ORCHS, &p, PG_RETRY_IF_UNSENT, &res, err);
	dura_pg_params_free(&p);
	if (rc == DURA_RETRY)
		dura_pg_wake_uncertain(st);
	if (rc != DURA_OK)
		return rc;
	note_call(st, started);

	/* the acks committed: from here on the return code is DURA_OK */
	if (PQntuples(res) != 1 || PQnfields(res) < ACK_COLS + N_COLS ||
	    read_results(res, n, results, err) != 0) {
		PQclear(res);
		dura_pg_err(err, "PostgreSQL batch orchestration ack: malformed result");
		return DURA_PERMANENT;
	}
	int more = !PQgetisnull(res, 0, COL_MORE) && PQgetlength(res, 0, COL_MORE) == 1 &&
	           PQgetvalue(res, 0, COL_MORE)[0];
	struct dura_pg_empty empty;
	int fetched_none = 0;
	if (max_next > 0) {
		struct dura_err ferr;
		dura_rc frc = parse_items(st, res, ACK_COLS, max_next, next, n_next, &empty, &ferr);
		if (frc == DURA_EMPTY) {
			fetched_none = 1;
			atomic_fetch_add(&st->stats.empty_fetches, 1);
		}
	}
	PQclear(res);
	after_acks(st, n, acks, results, more, gen, fetched_none ? &empty : NULL);
	return DURA_OK;
}
