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

/* Points it->item into row 0 of set 0 of its own result, whose columns
 * from col are (token, instance, body, attempts). */
static void fill_item(struct work_item *it, size_t col)
{
	const struct dura_mdb_cell *inst = dura_mdb_cell(&it->res, 0, 0, col + 1);
	const struct dura_mdb_cell *body = dura_mdb_cell(&it->res, 0, 0, col + 2);
	it->item.token = (uint64_t)dura_mdb_int(&it->res, 0, 0, col, 0);
	it->item.instance = inst && inst->data ? (const char *)inst->data : "";
	it->item.body.data = body && body->data ? body->data : (const uint8_t *)"";
	it->item.body.len = body && body->data ? body->len : 0;
	it->item.attempts = (uint32_t)dura_mdb_int(&it->res, 0, 0, col + 3, 1);
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
	fill_item(it, 1);
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

/* ---- batch operations (ABI 1.1) ---- */

/* Moves row `row` of set s of res (token, instance, body, attempts) into a
 * work item of its own (cells taken over, so each item is released alone).
 * NULL when memory ran out. */
static struct dura_work_item *item_from_row(struct dura_mdb_result *res, size_t s, size_t row)
{
	struct work_item *it = calloc(1, sizeof *it);
	struct dura_mdb_set *set = calloc(1, sizeof *set);
	struct dura_mdb_set *src = &res->sets[s];
	if (set)
		set->cells = calloc(src->n_cols, sizeof *set->cells);
	if (!it || !set || !set->cells) {
		if (set)
			free(set->cells);
		free(set);
		free(it);
		return NULL;
	}
	/* the item's own result: one set of one row */
	set->n_rows = 1;
	set->n_cols = src->n_cols;
	memcpy(set->cells, &src->cells[row * src->n_cols], src->n_cols * sizeof *set->cells);
	memset(&src->cells[row * src->n_cols], 0, src->n_cols * sizeof *set->cells);
	it->res.n_sets = 1;
	it->res.sets = set;
	fill_item(it, 0);
	return &it->item;
}

/* Result sets `first` (found, next_ms) and first + 1 (the rows) of a batch
 * fetch into items[0..*n).  DURA_EMPTY with *next_ms when none; res is
 * freed in any case. */
static dura_rc items_from_result(struct dura_mdb_result *res, size_t first,
                                 struct dura_work_item **items, size_t max, size_t *n,
                                 int64_t *next_ms, struct dura_err *err)
{
	*n = 0;
	dura_rc rc = DURA_OK;
	if (dura_mdb_int(res, first, 0, 0, 0) <= 0 || res->n_sets < first + 2) {
		*next_ms = dura_mdb_int(res, first, 0, 1, -1);
		rc = DURA_EMPTY;
	}
	for (size_t r = 0; rc == DURA_OK && r < res->sets[first + 1].n_rows && *n < max; r++) {
		items[*n] = item_from_row(res, first + 1, r);
		if (!items[*n]) {
			dura_mdb_err(err, "out of memory");
			rc = DURA_PERMANENT;
			break;
		}
		(*n)++;
	}
	if (rc == DURA_OK && *n == 0)
		rc = DURA_EMPTY;
	if (rc == DURA_PERMANENT) {
		for (size_t i = 0; i < *n; i++)
			dura_mdb_release_work_item(NULL, items[i]);
		*n = 0;
	}
	dura_mdb_result_free(res);
	return rc;
}

struct batch_ctx {
	uint32_t lock_ms;
	size_t max;
	struct dura_work_item **items;
	size_t *n;
};

static dura_rc fetch_batch_once(struct dura_store *st, void *arg, int64_t *next_ms,
                                struct dura_err *err)
{
	struct batch_ctx *ctx = arg;
	struct dura_mdb_params p;
	dura_mdb_params_init(&p);
	dura_mdb_param_int(&p, ctx->lock_ms);
	dura_mdb_param_int(&p, (long long)ctx->max);
	struct dura_mdb_result res;
	/* a lost reply costs at most locks that expire */
	dura_rc rc = dura_mdb_call(st, MDB_FETCH_WORK_N, &p, MDB_RETRY_ALWAYS, &res, err);
	if (rc != DURA_OK)
		return rc;
	rc = items_from_result(&res, 0, ctx->items, ctx->max, ctx->n, next_ms, err);
	if (rc == DURA_OK)
		atomic_fetch_add(&st->stats.commits, 1);
	return rc;
}

dura_rc dura_mdb_fetch_work_items(dura_store *st, uint32_t lock_ms, uint32_t wait_ms,
                                  size_t max_items, struct dura_work_item **items,
                                  size_t *n_items, struct dura_err *err)
{
	*n_items = 0;
	if (max_items > MDB_BATCH_MAX)
		max_items = MDB_BATCH_MAX;
	if (max_items == 0)
		return DURA_EMPTY;
	struct batch_ctx ctx = { lock_ms, max_items, items, n_items };
	return dura_mdb_poll(st, MDB_Q_WORK, wait_ms, fetch_batch_once, &ctx, err);
}

/* results[i] from the acked tokens (result set 0): the first entry of an
 * acked token gets DURA_OK, every other DURA_LOCK_LOST.  Returns how many
 * acked entries carried a completion. */
static size_t ack_results(const struct dura_mdb_result *res, size_t n, const uint64_t *tokens,
                          const struct dura_message *completions, dura_rc *results)
{
	const struct dura_mdb_set *held = res->n_sets ? &res->sets[0] : NULL;
	size_t n_held = held ? held->n_rows : 0, woken = 0;
	for (size_t i = 0; i < n; i++) {
		results[i] = DURA_LOCK_LOST;
		int is_held = 0, seen = 0;
		for (size_t h = 0; h < n_held && !is_held; h++)
			is_held = (uint64_t)dura_mdb_int(res, 0, h, 0, 0) == tokens[i];
		for (size_t k = 0; k < i && !seen; k++)
			seen = tokens[k] == tokens[i];
		if (is_held && !seen) {
			results[i] = DURA_OK;
			woken += completions && DURA_HAS_COMPLETION(&completions[i]);
		}
	}
	return woken;
}

dura_rc dura_mdb_ack_work_items_and_fetch(dura_store *st, size_t n, const uint64_t *tokens,
                                          const struct dura_message *completions,
                                          dura_rc *results, uint32_t lock_ms,
                                          size_t max_next, struct dura_work_item **next,
                                          size_t *n_next, struct dura_err *err)
{
	*n_next = 0;
	if (max_next > MDB_BATCH_MAX)
		max_next = MDB_BATCH_MAX;
	struct dura_mdb_json list = { 0 };
	dura_mdb_json_acks(&list, tokens, completions, n);
	if (list.oom) {
		dura_mdb_json_free(&list);
		dura_mdb_err(err, "out of memory");
		return DURA_PERMANENT;
	}
	struct dura_mdb_params p;
	dura_mdb_params_init(&p);
	dura_mdb_param_bytes(&p, list.data, list.len);
	dura_mdb_param_int(&p, lock_ms);
	dura_mdb_param_int(&p, (long long)max_next);
	struct dura_mdb_result res;
	dura_rc rc = dura_mdb_call(st, MDB_ACK_WORK_N, &p, MDB_RETRY_IF_ROLLED_BACK, &res, err);
	dura_mdb_json_free(&list);
	if (rc != DURA_OK)
		return rc;
	atomic_fetch_add(&st->stats.commits, 1);
	size_t woken = ack_results(&res, n, tokens, completions, results);
	if (woken)
		dura_mdb_wake(st, MDB_Q_ORCH, woken);
	int64_t next_ms;
	struct dura_err ignored;
	if (items_from_result(&res, 1, next, max_next, n_next, &next_ms, &ignored) != DURA_OK)
		atomic_fetch_add(&st->stats.empty_fetches, max_next ? 1 : 0);
	return DURA_OK;
}
