/*
 * Orchestration operations: enqueue, fetch (long poll), ack, ack + fetch,
 * abandon, renew.  Each is one CALL (mdb_schema.c).
 */
#include <stdlib.h>
#include <string.h>

#include "mdb_internal.h"

/* A fetched item points into the call's result (which it owns). */
struct orch_item {
	struct dura_orch_item item;
	struct dura_mdb_result res;
	struct dura_fetched_message *msgs;
	struct dura_event *hist;
};

void dura_mdb_release_orchestration_item(dura_store *st, struct dura_orch_item *item)
{
	if (!item)
		return;
	struct orch_item *it = (struct orch_item *)item;
	dura_mdb_result_free(&it->res);
	free(it->msgs);
	free(it->hist);
	free(it);
}

static const uint8_t *bytes_of(const struct dura_mdb_cell *c, size_t *len)
{
	*len = c && !c->is_null ? c->len : 0;
	return c && !c->is_null && c->data ? c->data : (const uint8_t *)"";
}

/* Turns the fetch's result sets (found row, messages, history) into an
 * item, taking res over.  DURA_EMPTY (res freed, *next_ms set) when the
 * fetch found nothing. */
static dura_rc item_from_result(struct dura_mdb_result *res, struct dura_orch_item **out,
                                int64_t *next_ms, struct dura_err *err)
{
	if (dura_mdb_int(res, 0, 0, 0, -1) == 0) {
		*next_ms = dura_mdb_int(res, 0, 0, 1, -1);
		dura_mdb_result_free(res);
		return DURA_EMPTY;
	}
	struct orch_item *it = calloc(1, sizeof *it);
	if (!it || res->n_sets < 3 || res->sets[1].n_rows == 0) {
		free(it);
		dura_mdb_result_free(res);
		dura_mdb_err(err, it ? "malformed fetch result from MariaDB" : "out of memory");
		return DURA_PERMANENT;
	}
	it->res = *res;
	memset(res, 0, sizeof *res);
	const struct dura_mdb_set *m = &it->res.sets[1], *h = &it->res.sets[2];
	it->msgs = calloc(m->n_rows, sizeof *it->msgs);
	it->hist = calloc(h->n_rows ? h->n_rows : 1, sizeof *it->hist);
	if (!it->msgs || !it->hist) {
		dura_mdb_release_orchestration_item(NULL, &it->item);
		dura_mdb_err(err, "out of memory");
		return DURA_PERMANENT;
	}
	struct dura_orch_item *item = &it->item;
	item->token = (uint64_t)dura_mdb_int(&it->res, 0, 0, 1, 0);
	const struct dura_mdb_cell *inst = dura_mdb_cell(&it->res, 0, 0, 2);
	item->instance = inst && inst->data ? (const char *)inst->data : "";
	item->execution = (uint64_t)dura_mdb_int(&it->res, 0, 0, 3, 0);
	for (size_t i = 0; i < m->n_rows; i++) {
		it->msgs[i].body.data = bytes_of(dura_mdb_cell(&it->res, 1, i, 0),
		                                 &it->msgs[i].body.len);
		it->msgs[i].attempts = (uint32_t)dura_mdb_int(&it->res, 1, i, 1, 1);
		if (it->msgs[i].attempts > item->attempts)
			item->attempts = it->msgs[i].attempts;
	}
	item->messages = it->msgs;
	item->n_messages = m->n_rows;
	for (size_t i = 0; i < h->n_rows; i++) {
		it->hist[i].event_id = (uint64_t)dura_mdb_int(&it->res, 2, i, 0, 0);
		it->hist[i].body.data = bytes_of(dura_mdb_cell(&it->res, 2, i, 1),
		                                 &it->hist[i].body.len);
	}
	item->history = it->hist;
	item->n_history = h->n_rows;
	*out = item;
	return DURA_OK;
}

dura_rc dura_mdb_enqueue_orchestrator(dura_store *st, const struct dura_message *msgs,
                                      size_t n, struct dura_err *err)
{
	if (n == 0)
		return DURA_OK;
	struct dura_mdb_json list = { 0 };
	dura_mdb_json_messages(&list, msgs, n);
	if (list.oom) {
		dura_mdb_json_free(&list);
		dura_mdb_err(err, "out of memory");
		return DURA_PERMANENT;
	}
	struct dura_mdb_params p;
	dura_mdb_params_init(&p);
	/* the key makes every retry of this call safe, ours and the caller's
	 * (mdb_enqueue_keys.c) */
	uint64_t key = dura_mdb_enqueue_key(st, msgs, n);
	dura_mdb_param_int(&p, (long long)key);
	dura_mdb_param_bytes(&p, list.data, list.len);
	dura_rc rc = dura_mdb_call(st, MDB_ENQUEUE, &p, MDB_RETRY_ALWAYS, NULL, err);
	dura_mdb_json_free(&list);
	if (rc == DURA_RETRY)
		dura_mdb_enqueue_key_unsettled(st, msgs, n, key);
	if (rc == DURA_OK) {
		atomic_fetch_add(&st->stats.commits, 1);
		dura_mdb_wake(st, MDB_Q_ORCH, n);
	}
	return rc;
}

struct fetch_ctx {
	uint32_t lock_ms;
	struct dura_orch_item **out;
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
	dura_rc rc = dura_mdb_call(st, MDB_FETCH_ORCH, &p, MDB_RETRY_ALWAYS, &res, err);
	if (rc != DURA_OK)
		return rc;
	rc = item_from_result(&res, ctx->out, next_ms, err);
	if (rc == DURA_OK)
		atomic_fetch_add(&st->stats.commits, 1);
	return rc;
}

dura_rc dura_mdb_fetch_orchestration_item(dura_store *st, uint32_t lock_ms, uint32_t wait_ms,
                                          struct dura_orch_item **out, struct dura_err *err)
{
	*out = NULL;
	struct fetch_ctx ctx = { lock_ms, out };
	return dura_mdb_poll(st, MDB_Q_ORCH, wait_ms, fetch_once, &ctx, err);
}

/* The ack's parameters (11), in dura_ack_orch's order.  *lists receives
 * the three JSON lists (freed by the caller).  -1 if memory ran out. */
static int ack_params(struct dura_mdb_params *p, uint64_t token, const struct dura_orch_ack *ack,
                      struct dura_mdb_json lists[3])
{
	memset(lists, 0, 3 * sizeof *lists);
	dura_mdb_json_events(&lists[0], ack->history, ack->n_history);
	dura_mdb_json_messages(&lists[1], ack->work_items, ack->n_work_items);
	dura_mdb_json_messages(&lists[2], ack->orch_items, ack->n_orch_items);
	if (lists[0].oom || lists[1].oom || lists[2].oom)
		return -1;
	dura_mdb_params_init(p);
	dura_mdb_param_int(p, (long long)token);
	dura_mdb_param_int(p, (long long)ack->execution);
	for (int i = 0; i < 3; i++)
		dura_mdb_param_bytes(p, lists[i].data, lists[i].len);
	const struct dura_instance_meta *m = ack->meta;
	dura_mdb_param_int(p, m != NULL);
	dura_mdb_param_text(p, m && m->name ? m->name : "");
	dura_mdb_param_int(p, m ? m->status : 0);
	dura_mdb_param_bytes(p, m ? m->output.data : NULL, m ? m->output.len : 0);
	dura_mdb_param_text(p, m ? m->parent : NULL);
	dura_mdb_param_int(p, m ? (long long)m->execution : 0);
	return 0;
}

/* res: the ack's result sets, the first of which (popped here) says
 * whether messages wait for the instance just unlocked. */
static void acked(struct dura_store *st, const struct dura_orch_ack *ack,
                  struct dura_mdb_result *res)
{
	atomic_fetch_add(&st->stats.commits, 1);
	size_t orch = ack->n_orch_items + (dura_mdb_result_pop_int(res, 1) != 0);
	if (orch)
		dura_mdb_wake(st, MDB_Q_ORCH, orch);
	if (ack->n_work_items)
		dura_mdb_wake(st, MDB_Q_WORK, ack->n_work_items);
}

/* ack (with next != NULL: ack + fetch) */
static dura_rc ack(dura_store *st, uint64_t token, const struct dura_orch_ack *a,
                   uint32_t lock_ms, struct dura_orch_item **next, struct dura_err *err)
{
	struct dura_mdb_json lists[3];
	struct dura_mdb_params p;
	dura_rc rc;
	if (ack_params(&p, token, a, lists) != 0) {
		dura_mdb_err(err, "out of memory");
		rc = DURA_PERMANENT;
		goto out;
	}
	struct dura_mdb_result res;
	if (!next) {
		rc = dura_mdb_call(st, MDB_ACK_ORCH, &p, MDB_RETRY_IF_ROLLED_BACK, &res, err);
		if (rc == DURA_OK) {
			acked(st, a, &res);
			dura_mdb_result_free(&res);
		}
		goto out;
	}
	dura_mdb_param_int(&p, lock_ms);
	rc = dura_mdb_call(st, MDB_ACK_FETCH_ORCH, &p, MDB_RETRY_IF_ROLLED_BACK, &res, err);
	if (rc != DURA_OK)
		goto out;
	acked(st, a, &res);
	int64_t next_ms;
	struct dura_err ignored;
	/* the fetch part commits with the ack (counted once, above) */
	if (item_from_result(&res, next, &next_ms, &ignored) != DURA_OK)
		atomic_fetch_add(&st->stats.empty_fetches, 1);
out:
	for (int i = 0; i < 3; i++)
		dura_mdb_json_free(&lists[i]);
	return rc;
}

dura_rc dura_mdb_ack_orchestration_item(dura_store *st, uint64_t token,
                                        const struct dura_orch_ack *a, struct dura_err *err)
{
	return ack(st, token, a, 0, NULL, err);
}

dura_rc dura_mdb_ack_orchestration_item_and_fetch(dura_store *st, uint64_t token,
                                                  const struct dura_orch_ack *a,
                                                  uint32_t lock_ms,
                                                  struct dura_orch_item **next,
                                                  struct dura_err *err)
{
	*next = NULL;
	return ack(st, token, a, lock_ms, next, err);
}

dura_rc dura_mdb_token_call(struct dura_store *st, enum dura_mdb_stmt s, uint64_t token,
                            uint32_t ms, int wake, enum dura_mdb_queue q,
                            struct dura_err *err)
{
	struct dura_mdb_params p;
	dura_mdb_params_init(&p);
	dura_mdb_param_int(&p, (long long)token);
	dura_mdb_param_int(&p, ms);
	dura_rc rc = dura_mdb_call(st, s, &p, MDB_RETRY_IF_ROLLED_BACK, NULL, err);
	if (rc == DURA_OK) {
		atomic_fetch_add(&st->stats.commits, 1);
		if (wake)
			dura_mdb_wake(st, q, 1);
	}
	return rc;
}

dura_rc dura_mdb_abandon_orchestration_item(dura_store *st, uint64_t token, uint32_t delay_ms,
                                            struct dura_err *err)
{
	return dura_mdb_token_call(st, MDB_ABANDON_ORCH, token, delay_ms, 1, MDB_Q_ORCH, err);
}

dura_rc dura_mdb_renew_orchestration_lock(dura_store *st, uint64_t token, uint32_t extend_ms,
                                          struct dura_err *err)
{
	return dura_mdb_token_call(st, MDB_RENEW_ORCH, token, extend_ms, 0, MDB_Q_ORCH, err);
}
