
/*
 * What orchestration and work item operations share: the long poll around
 * a fetch (single or batch), the fetch call itself, and the abandon/renew
 * calls, which differ between the two kinds of item only in the statement
 * and the queue.
 */
#include "pg_internal.h"

void dura_pg_fetched_nothing(struct dura_store *st, enum dura_pg_queue q, uint64_t gen,
                             const struct dura_pg_empty *e)
{
	atomic_fetch_add(&st->stats.empty_fetches, 1);
	dura_pg_note_empty(st, q, gen, e);
}

dura_rc dura_pg_poll(struct dura_store *st, enum dura_pg_queue q, uint32_t wait_ms,
                     dura_pg_fetch_fn fetch, void *ctx, struct dura_err *err)
{
	uint64_t deadline = dura_pg_now_ns() + (uint64_t)wait_ms * 1000000ull;
	for (;;) {
		/* the generation before the fetch: a wake-up during the round trip
		 * makes dura_pg_wait return at once */
		uint64_t gen = dura_pg_gen(st, q);
		if (!(wait_ms > 0 && dura_pg_known_empty(st, q))) {
			struct dura_pg_empty empty = { -1, 0 };
			dura_rc rc = fetch(st, ctx, &empty, err);
			if (rc == DURA_OK) {
				atomic_fetch_add(&st->stats.commits, 1);
				return DURA_OK;
			}
			if (rc != DURA_EMPTY)
				return rc;
			dura_pg_fetched_nothing(st, q, gen, &empty);
		}
		if (wait_ms == 0 || !dura_pg_wait(st, q, gen, deadline))
			return DURA_EMPTY;
	}
}

dura_rc dura_pg_call_fetch(struct dura_store *st, enum dura_pg_stmt s, uint32_t lock_ms,
                           size_t max_items, PGresult **res, struct dura_err *err)
{
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	dura_pg_param_int4_sat(&p, lock_ms);
	if (max_items > 0)
		dura_pg_param_int4_sat(&p, max_items);
	dura_rc rc = dura_pg_call(st, s, &p, PG_RETRY_ALWAYS, res, err);
	dura_pg_params_free(&p);
	return rc;
}

dura_rc dura_pg_abandon(struct dura_store *st, enum dura_pg_stmt s, enum dura_pg_queue q,
                        uint64_t token, uint32_t delay_ms, struct dura_err *err)
{
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	dura_pg_param_int8(&p, (int64_t)token);
	dura_pg_param_int4_sat(&p, delay_ms);
	dura_pg_param_bool(&p, dura_pg_notify_wanted(st));
	dura_rc rc = dura_pg_call_commit(st, s, &p, PG_RETRY_IF_UNSENT, err);
	if (rc == DURA_RETRY)
		dura_pg_wake_uncertain(st);
	if (rc != DURA_OK)
		return rc;
	dura_pg_wake(st, q, 1);
	return DURA_OK;
}

dura_rc dura_pg_renew(struct dura_store *st, enum dura_pg_stmt s, uint64_t token,
                      uint32_t extend_ms, struct dura_err *err)
{
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	dura_pg_param_int8(&p, (int64_t)token);
	dura_pg_param_int4_sat(&p, extend_ms);
	/* no wake-up: a waiter that planned to look at the old expiry only
	 * looks once too early */
	return dura_pg_call_commit(st, s, &p, PG_RETRY_IF_UNSENT, err);
}
