
/*
 * Work items in batches: fetch_work_items and ack_work_items_and_fetch.
 *
 * Why: a worker across a long link pays a round trip per call, so one item
 * per call caps it at one activity per round trip.  Each operation here is
 * one call of one PL/pgSQL function (dura_fetch_works, dura_ack_fetch_works
 * in pg_schema.c) with array parameters, so a batch of B items costs one
 * round trip instead of B.
 *
 * Per item the semantics are those of the single-item operations: the same
 * SKIP LOCKED peek-lock, attempts, lock expiry on the server clock, the
 * same delete-if-still-held ack.  The one difference is that a lost token
 * does not abort the batch: it is reported in results[i] and that item
 * enqueues nothing, while the others commit together.
 *
 * Results come back as parallel arrays in one row.  Items are copied out of
 * the PGresult (dura_pg_work_item_new) so each can be released on its own,
 * from any thread, in any order.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

/* columns of dura_fetch_works; dura_ack_fetch_works has o_acked first */
enum { COL_TOKENS, COL_INSTANCES, COL_BODIES, COL_ATTEMPTS, COL_NEXT_MS, N_COLS };

static void release_all(struct dura_store *st, struct dura_work_item **items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dura_pg_release_work_item(st, items[i]);
		items[i] = NULL;
	}
}

/* Reads the fetched items from the columns starting at `base`.  DURA_OK
 * with *n >= 1, DURA_EMPTY with *n = 0 and *empty, or an error with
 * nothing returned.  Does not take res. */
static dura_rc parse_items(struct dura_store *st, PGresult *res, int base, size_t max,
                           struct dura_work_item **items, size_t *n,
                           struct dura_pg_empty *empty, struct dura_err *err)
{
	*n = 0;
	empty->next_ms = -1;
	empty->blocked = 0;
	if (PQntuples(res) != 1 || PQnfields(res) < base + N_COLS) {
		dura_pg_err(err, "PostgreSQL batch work fetch: unexpected result shape");
		return DURA_PERMANENT;
	}
	struct dura_pg_array_reader tok, inst, body, att;
	if (dura_pg_col_array(res, base + COL_TOKENS, PG_OID_INT8, &tok) != 0 ||
	    dura_pg_col_array(res, base + COL_INSTANCES, PG_OID_TEXT, &inst) != 0 ||
	    dura_pg_col_array(res, base + COL_BODIES, PG_OID_BYTEA, &body) != 0 ||
	    dura_pg_col_array(res, base + COL_ATTEMPTS, PG_OID_INT4, &att) != 0 ||
	    inst.n != tok.n || body.n != tok.n || att.n != tok.n || tok.n > max)
		goto malformed;
	if (tok.n == 0) {
		empty->next_ms = dura_pg_col_int8(res, base + COL_NEXT_MS, -1);
		return DURA_EMPTY;
	}
	for (uint32_t i = 0; i < tok.n; i++) {
		const uint8_t *t, *in, *b, *a;
		size_t tl, inl, bl, al;
		if (dura_pg_array_next(&tok, &t, &tl) != 0 || tl != 8 ||
		    dura_pg_array_next(&inst, &in, &inl) != 0 ||
		    dura_pg_array_next(&body, &b, &bl) != 0 ||
		    dura_pg_array_next(&att, &a, &al) != 0 || al != 4)
			goto malformed;
		items[i] = dura_pg_work_item_new(dura_pg_get_u64(t), in, inl, b, bl,
		                                 dura_pg_get_u32(a));
		if (!items[i]) {
			release_all(st, items, i);
			dura_pg_err(err, "out of memory");
			return DURA_RETRY;
		}
		*n = i + 1;
	}
	return DURA_OK;

malformed:
	release_all(st, items, *n);
	*n = 0;
	dura_pg_err(err, "PostgreSQL batch work fetch: malformed result");
	return DURA_PERMANENT;
}

/* What one fetch of dura_pg_fetch_work_items needs (dura_pg_poll). */
struct fetch_ctx {
	uint32_t lock_ms;
	size_t max_items;
	struct dura_work_item **items;
	size_t *n_items;
};

static dura_rc fetch_once(struct dura_store *st, void *ctx, struct dura_pg_empty *empty,
                          struct dura_err *err)
{
	struct fetch_ctx *f = ctx;
	PGresult *res;
	/* max_items > 0: checked by dura_pg_fetch_work_items */
	dura_rc rc = dura_pg_call_fetch(st, PG_STMT_FETCH_WORKS, f->lock_ms, f->max_items, &res,
	                                err);
	if (rc != DURA_OK)
		return rc;
	rc = parse_items(st, res, 0, f->max_items, f->items, f->n_items, empty, err);
	PQclear(res);
	return rc;
}

dura_rc dura_pg_fetch_work_items(dura_store *st, uint32_t lock_ms, uint32_t wait_ms,
                                 size_t max_items, struct dura_work_item **items,
                                 size_t *n_items, struct dura_err *err)
{
	*n_items = 0;
	if (max_items == 0) {
		dura_pg_err(err, "fetch_work_items: max_items is 0");
		return DURA_PERMANENT;
	}
	struct fetch_ctx f = { lock_ms, max_items, items, n_items };
	return dura_pg_poll(st, PG_Q_WORK, wait_ms, fetch_once, &f, err);
}

dura_rc dura_pg_ack_work_items_and_fetch(dura_store *st, size_t n, const uint64_t *tokens,
                                         const struct dura_message *completions,
                                         dura_rc *results, uint32_t lock_ms,
                                         size_t max_next, struct dura_work_item **next,
                                         size_t *n_next, struct dura_err *err)
{
	*n_next = 0;
	if (n == 0 && max_next == 0)
		return DURA_OK;
	if (n > INT32_MAX) {
		dura_pg_err(err, "ack_work_items_and_fetch: %zu items in one call", n);
		return DURA_PERMANENT;
	}
	uint64_t gen = dura_pg_gen(st, PG_Q_WORK);
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	struct dura_pg_array *a_tok = dura_pg_param_array(&p, PG_OID_INT8);
	struct dura_pg_array *a_inst = dura_pg_param_array(&p, PG_OID_TEXT);
	struct dura_pg_array *a_body = dura_pg_param_array(&p, PG_OID_BYTEA);
	struct dura_pg_array *a_delay = dura_pg_param_array(&p, PG_OID_INT8);
	unsigned n_completions = 0;
	for (size_t i = 0; i < n; i++) {
		const struct dura_message *c = completions ? &completions[i] : NULL;
		dura_pg_array_add_int8(a_tok, (int64_t)tokens[i]);
		if (c && c->instance) {
			dura_pg_array_add(a_inst, c->instance, strlen(c->instance));
			dura_pg_array_add(a_body, c->body.data, c->body.len);
			dura_pg_array_add_int8(a_delay, c->delay_ms);
		} else {
			dura_pg_array_add_null(a_inst);
			dura_pg_array_add_null(a_body);
			dura_pg_array_add_int8(a_delay, 0);
		}
	}
	dura_pg_param_bool(&p, dura_pg_notify_wanted(st));
	dura_pg_param_int4_sat(&p, lock_ms);
	dura_pg_param_int4_sat(&p, max_next);
	PGresult *res;
	dura_rc rc = dura_pg_call(st, PG_STMT_ACK_FETCH_WORKS, &p, PG_RETRY_IF_UNSENT, &res, err);
	dura_pg_params_free(&p);
	if (rc == DURA_RETRY)
		dura_pg_wake_uncertain(st);
	if (rc != DURA_OK)
		return rc;

	/* the acks committed: from here on the return code is DURA_OK */
	struct dura_pg_array_reader acked;
	if (PQntuples(res) != 1 || PQnfields(res) < 1 + N_COLS ||
	    dura_pg_col_array(res, 0, PG_OID_BOOL, &acked) != 0 || acked.n != n) {
		PQclear(res);
		dura_pg_err(err, "PostgreSQL batch work ack: malformed result");
		return DURA_PERMANENT;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *d;
		size_t dl;
		int ok = dura_pg_array_next(&acked, &d, &dl) == 0 && dl == 1 && d[0];
		results[i] = ok ? DURA_OK : DURA_LOCK_LOST;
		if (ok && completions && completions[i].instance)
			n_completions++;
	}
	atomic_fetch_add(&st->stats.commits, 1);
	dura_pg_wake(st, PG_Q_ORCH, n_completions);
	if (max_next > 0) {
		struct dura_pg_empty empty;
		struct dura_err ferr;
		if (parse_items(st, res, 1, max_next, next, n_next, &empty, &ferr) == DURA_EMPTY)
			dura_pg_fetched_nothing(st, PG_Q_WORK, gen, &empty);
	}
	PQclear(res);
	return DURA_OK;
}
