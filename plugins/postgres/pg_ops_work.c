
/*
 * Work item operations: fetch (peek-lock with FOR UPDATE SKIP LOCKED), ack
 * (+ completion), ack+fetch, abandon, renew.  One function call each.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

/* columns of dura_fetch_work / dura_ack_fetch_work */
enum { COL_TOKEN, COL_INSTANCE, COL_BODY, COL_ATTEMPTS, COL_NEXT_MS };

struct pg_work_item {
	struct dura_work_item pub; /* first: the pointer handed out */
	PGresult *res;
};

/* Takes ownership of res.  DURA_EMPTY with *empty if nothing was
 * fetched (work items wait for no lock: never "blocked"). */
static dura_rc parse_item(PGresult *res, struct dura_work_item **out,
                          struct dura_pg_empty *empty, struct dura_err *err)
{
	*out = NULL;
	empty->next_ms = -1;
	empty->blocked = 0;
	if (PQntuples(res) != 1 || PQnfields(res) < COL_NEXT_MS + 1) {
		PQclear(res);
		dura_pg_err(err, "PostgreSQL work fetch: unexpected result shape");
		return DURA_PERMANENT;
	}
	if (PQgetisnull(res, 0, COL_TOKEN)) {
		empty->next_ms = dura_pg_col_int8(res, COL_NEXT_MS, -1);
		PQclear(res);
		return DURA_EMPTY;
	}
	if (PQgetlength(res, 0, COL_TOKEN) != 8 || PQgetlength(res, 0, COL_ATTEMPTS) != 4) {
		PQclear(res);
		dura_pg_err(err, "PostgreSQL work fetch: malformed result");
		return DURA_PERMANENT;
	}
	struct pg_work_item *it = calloc(1, sizeof *it);
	if (!it) {
		PQclear(res);
		dura_pg_err(err, "out of memory");
		return DURA_RETRY;
	}
	it->res = res;
	it->pub.token = dura_pg_get_u64(PQgetvalue(res, 0, COL_TOKEN));
	it->pub.instance = PQgetvalue(res, 0, COL_INSTANCE);
	it->pub.body.data = (const uint8_t *)PQgetvalue(res, 0, COL_BODY);
	it->pub.body.len = (size_t)PQgetlength(res, 0, COL_BODY);
	it->pub.attempts = dura_pg_get_u32(PQgetvalue(res, 0, COL_ATTEMPTS));
	*out = &it->pub;
	return DURA_OK;
}

struct dura_work_item *dura_pg_work_item_new(uint64_t token, const uint8_t *instance,
                                             size_t instance_len, const uint8_t *body,
                                             size_t body_len, uint32_t attempts)
{
	/* struct, then the instance (NUL-terminated), then the body; res stays
	 * NULL so release only frees the block */
	struct pg_work_item *it = calloc(1, sizeof *it + instance_len + 1 + body_len);
	if (!it)
		return NULL;
	char *inst = (char *)(it + 1);
	uint8_t *b = (uint8_t *)inst + instance_len + 1;
	if (instance_len)
		memcpy(inst, instance, instance_len);
	inst[instance_len] = '\0';
	if (body_len)
		memcpy(b, body, body_len);
	it->pub.token = token;
	it->pub.instance = inst;
	it->pub.body.data = b;
	it->pub.body.len = body_len;
	it->pub.attempts = attempts;
	return &it->pub;
}

void dura_pg_release_work_item(dura_store *st, struct dura_work_item *item)
{
	if (!item)
		return;
	struct pg_work_item *it = (struct pg_work_item *)item;
	PQclear(it->res);
	free(it);
}

/* What one fetch of dura_pg_fetch_work_item needs (dura_pg_poll). */
struct fetch_ctx {
	uint32_t lock_ms;
	struct dura_work_item **out;
};

static dura_rc fetch_once(struct dura_store *st, void *ctx, struct dura_pg_empty *empty,
                          struct dura_err *err)
{
	struct fetch_ctx *f = ctx;
	PGresult *res;
	dura_rc rc = dura_pg_call_fetch(st, PG_STMT_FETCH_WORK, f->lock_ms, 0, &res, err);
	if (rc != DURA_OK)
		return rc;
	return parse_item(res, f->out, empty, err);
}

dura_rc dura_pg_fetch_work_item(dura_store *st, uint32_t lock_ms,
                                uint32_t wait_ms, struct dura_work_item **out,
                                struct dura_err *err)
{
	*out = NULL;
	struct fetch_ctx f = { lock_ms, out };
	return dura_pg_poll(st, PG_Q_WORK, wait_ms, fetch_once, &f, err);
}

static void ack_params(struct dura_store *st, struct dura_pg_params *p,
                       uint64_t token, const struct dura_message *c)
{
	dura_pg_param_int8(p, (int64_t)token);
	if (c) {
		dura_pg_param_text(p, c->instance ? c->instance : "");
		dura_pg_param_bytea(p, c->body.data, c->body.len);
		dura_pg_param_int8(p, c->delay_ms);
	} else {
		dura_pg_param_text(p, NULL);
		dura_pg_param_text(p, NULL);
		dura_pg_param_int8(p, 0);
	}
	dura_pg_param_bool(p, dura_pg_notify_wanted(st));
}

dura_rc dura_pg_ack_work_item(dura_store *st, uint64_t token,
                              const struct dura_message *completion,
                              struct dura_err *err)
{
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	ack_params(st, &p, token, completion);
	dura_rc rc = dura_pg_call_commit(st, PG_STMT_ACK_WORK, &p, PG_RETRY_IF_UNSENT, err);
	if (rc == DURA_RETRY)
		dura_pg_wake_uncertain(st);
	if (rc != DURA_OK)
		return rc;
	if (completion)
		dura_pg_wake(st, PG_Q_ORCH, 1);
	return DURA_OK;
}

dura_rc dura_pg_ack_work_item_and_fetch(dura_store *st, uint64_t token,
                                        const struct dura_message *completion,
                                        uint32_t lock_ms,
                                        struct dura_work_item **next,
                                        struct dura_err *err)
{
	*next = NULL;
	uint64_t gen = dura_pg_gen(st, PG_Q_WORK);
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	ack_params(st, &p, token, completion);
	dura_pg_param_int4_sat(&p, lock_ms);
	PGresult *res;
	dura_rc rc = dura_pg_call(st, PG_STMT_ACK_FETCH_WORK, &p, PG_RETRY_IF_UNSENT, &res, err);
	dura_pg_params_free(&p);
	if (rc == DURA_RETRY)
		dura_pg_wake_uncertain(st);
	if (rc != DURA_OK)
		return rc;
	atomic_fetch_add(&st->stats.commits, 1);
	if (completion)
		dura_pg_wake(st, PG_Q_ORCH, 1);
	struct dura_pg_empty empty;
	struct dura_err ferr;
	if (parse_item(res, next, &empty, &ferr) == DURA_EMPTY)
		dura_pg_fetched_nothing(st, PG_Q_WORK, gen, &empty);
	return DURA_OK;
}

dura_rc dura_pg_abandon_work_item(dura_store *st, uint64_t token,
                                  uint32_t delay_ms, struct dura_err *err)
{
	return dura_pg_abandon(st, PG_STMT_ABANDON_WORK, PG_Q_WORK, token, delay_ms, err);
}

dura_rc dura_pg_renew_work_lock(dura_store *st, uint64_t token,
                                uint32_t extend_ms, struct dura_err *err)
{
	return dura_pg_renew(st, PG_STMT_RENEW_WORK, token, extend_ms, err);
}
