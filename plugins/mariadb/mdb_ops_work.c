/*
 * Work item operations: fetch (long poll, FOR UPDATE SKIP LOCKED), ack,
 * ack + fetch, abandon, renew.  Each is one CALL (mdb_schema.c).
 */
#include <stdlib.h>
#include <string.h>

#include "mdb_internal.h"

/* A fetched item points into the call's result (which it owns). */
struct work_item {
	struct dura_work_item item;
	struct dura_mdb_result res;
};

void dura_mdb_release_work_item(dura_store *st, struct dura_work_item *item)
{
	if (!item)
		return;
	struct work_item *it = (struct work_item *)item;
	dura_mdb_result_free(&it->res);
	free(it);
}

/* Result set 0 of a work fetch: (0, next_ms) or (1, token, instance, body,
 * attempts).  Takes res over.  DURA_EMPTY (res freed) when nothing. */
static dura_rc item_from_result(struct dura_mdb_result *res, struct dura_work_item **out,
                                int64_t *next_ms, struct dura_err *err)
{
	if (dura_mdb_int(res, 0, 0, 0, -1) != 1) {
		*next_ms = dura_mdb_int(res, 0, 0, 1, -1);
		dura_mdb_result_free(res);
		return DURA_EMPTY;
	}
	struct work_item *it = calloc(1, sizeof *it);
	if (!it) {
		dura_mdb_result_free(res);
		dura_mdb_err(err, "out of memory");
		return DURA_PERMANENT;
	}
	it->res = *res;
	memset(res, 0, sizeof *res);
	const struct dura_mdb_cell *inst = dura_mdb_cell(&it->res, 0, 0, 2);
	const struct dura_mdb_cell *body = dura_mdb_cell(&it->res, 0, 0, 3);
	it->item.token = (uint64_t)dura_mdb_int(&it->res, 0, 0, 1, 0);
	it->item.instance = inst && inst->data ? (const char *)inst->data : "";
	it->item.body.data = body && body->data ? body->data : (const uint8_t *)"";
	it->item.body.len = body && body->data ? body->len : 0;
	it->item.attempts = (uint32_t)dura_mdb_int(&it->res, 0, 0, 4, 1);
	*out = &it->item;
	return DURA_OK;
}

struct fetch_ctx {
	uint32_t lock_ms;
	struct dura_work_item **out;
};

static dura_rc fetch_once(struct dura_store *st, void *arg, int64_t *next_ms,
                          struct dura_err *err)
{
	struct fetch_ctx *ctx = arg;
	struct dura_mdb_params p;
	dura_mdb_params_init(&p);
	dura_mdb_param_int(&p, ctx->lock_ms);
	struct dura_mdb_result res;
	/* a lost reply costs at most a lock that expires */
	dura_rc rc = dura_mdb_call(st, MDB_FETCH_WORK, &p, MDB_RETRY_ALWAYS, &res, err);
	if (rc != DURA_OK)
		return rc;
	rc = item_from_result(&res, ctx->out, next_ms, err);
	if (rc == DURA_OK)
		atomic_fetch_add(&st->stats.commits, 1);
	return rc;
}

dura_rc dura_mdb_fetch_work_item(dura_store *st, uint32_t lock_ms, uint32_t wait_ms,
                                 struct dura_work_item **out, struct dura_err *err)
{
	*out = NULL;
	struct fetch_ctx ctx = { lock_ms, out };
	return dura_mdb_poll(st, MDB_Q_WORK, wait_ms, fetch_once, &ctx, err);
}

static void completion_params(struct dura_mdb_params *p, uint64_t token,
                              const struct dura_message *c)
{
	dura_mdb_params_init(p);
	dura_mdb_param_int(p, (long long)token);
	if (c && c->instance) {
		dura_mdb_param_text(p, c->instance);
		dura_mdb_param_bytes(p, c->body.data, c->body.len);
		dura_mdb_param_int(p, c->delay_ms);
	} else {
		dura_mdb_param_null(p);
		dura_mdb_param_null(p);
		dura_mdb_param_int(p, 0);
	}
}

/* res: the ack's result sets, the first of which (popped here) says
 * whether the completion is for an instance no fetcher holds. */
static void acked(struct dura_store *st, struct dura_mdb_result *res)
{
	atomic_fetch_add(&st->stats.commits, 1);
	if (dura_mdb_result_pop_int(res, 1) != 0)
		dura_mdb_wake(st, MDB_Q_ORCH, 1);
}

dura_rc dura_mdb_ack_work_item(dura_store *st, uint64_t token,
                               const struct dura_message *completion, struct dura_err *err)
{
	struct dura_mdb_params p;
	completion_params(&p, token, completion);
	struct dura_mdb_result res;
	dura_rc rc = dura_mdb_call(st, MDB_ACK_WORK, &p, MDB_RETRY_IF_ROLLED_BACK, &res, err);
	if (rc == DURA_OK) {
		acked(st, &res);
		dura_mdb_result_free(&res);
	}
	return rc;
}

dura_rc dura_mdb_ack_work_item_and_fetch(dura_store *st, uint64_t token,
                                         const struct dura_message *completion,
                                         uint32_t lock_ms, struct dura_work_item **next,
                                         struct dura_err *err)
{
	*next = NULL;
	struct dura_mdb_params p;
	completion_params(&p, token, completion);
	dura_mdb_param_int(&p, lock_ms);
	struct dura_mdb_result res;
	dura_rc rc = dura_mdb_call(st, MDB_ACK_FETCH_WORK, &p, MDB_RETRY_IF_ROLLED_BACK, &res, err);
	if (rc != DURA_OK)
		return rc;
	acked(st, &res);
	int64_t next_ms;
	struct dura_err ignored;
	if (item_from_result(&res, next, &next_ms, &ignored) != DURA_OK)
		atomic_fetch_add(&st->stats.empty_fetches, 1);
	return DURA_OK;
}

dura_rc dura_mdb_abandon_work_item(dura_store *st, uint64_t token, uint32_t delay_ms,
                                   struct dura_err *err)
{
	return dura_mdb_token_call(st, MDB_ABANDON_WORK, token, delay_ms, 1, MDB_Q_WORK, err);
}

dura_rc dura_mdb_renew_work_lock(dura_store *st, uint64_t token, uint32_t extend_ms,
                                 struct dura_err *err)
{
	return dura_mdb_token_call(st, MDB_RENEW_WORK, token, extend_ms, 0, MDB_Q_WORK, err);
}
