/*
 * Batched orchestration dispatcher (orch_batch > 1 and a provider with
 * fetch_orchestration_items and ack_orchestration_items_and_fetch, ABI 1.7).
 *
 * Why: a dispatcher far from its database pays a round trip per provider
 * call, and one instance per call bounds it to one turn per round trip
 * (docs/remote-emulation.md, "The round-trip model").  A batch of K
 * instances costs one round trip per K turns:
 *
 *   fetch_orchestration_items(K)  ->  replay turn 0, 1, ... K-1  ->
 *   ack_orchestration_items_and_fetch(all K acks, fetch up to K more)  -> ...
 *
 * Guarantees, as in the single-item path (runtime_orch.c), per item:
 *   - every item holds its own lock and token; the provider never hands
 *     out an instance whose lock is live, so no instance is in two turns at
 *     once.  The replays of a batch are CPU only (no provider call), so an
 *     item's lock waits for its batch's replays and one ack call, no more:
 *     orchestration locks are not renewed, as before.  A lock that expired
 *     meanwhile comes back as that item's LOCK_LOST: counted, dropped (the
 *     provider applied nothing of it; another dispatcher owns the instance).
 *   - the provider applies each ack on its own, all of it or none of it,
 *     and reports a code per item (results[]); an item whose ack failed is
 *     given back (abandoned with backoff) alone, the others stand.
 *   - a call that failed as a whole (RETRY after retry_limit, or another
 *     code) applied nothing: every item is settled with that code, which
 *     abandons each.  A RETRY is retried with the same acks; a terminal
 *     ack that then finds its token gone is checked against the stored
 *     status (dura_rt_settle_turn), so a committed completion is neither
 *     lost nor counted twice.
 *   - items fetched along with an ack are ours whatever the results say.
 *     On stop, no more are asked for; a batch fetched along while stopping
 *     is still processed (its locks are held and its turns are short).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "runtime_int.h"
#include "base/util.h"

struct orch_batch {
	struct dura_runtime *rt;
	size_t cap;                          /* rt->orch_batch */

	/* All arrays have cap entries; owned, freed by batch_free. */
	dura_orch_ctx **ctx;                 /* one replay context per slot:
	                                        an ack points into its own */
	struct dura_orch_item **cur;         /* the batch being processed */
	size_t n_cur;
	struct dura_orch_item **next;        /* fetched along with the ack */
	struct dura_replay_result *res;
	uint64_t *tokens;
	struct dura_orch_ack *acks;
	dura_rc *results;
};

static void batch_init(struct orch_batch *b, struct dura_runtime *rt)
{
	memset(b, 0, sizeof *b);
	b->rt = rt;
	b->cap = rt->orch_batch;
	b->ctx = dura_xcalloc(b->cap, sizeof *b->ctx);
	for (size_t i = 0; i < b->cap; i++)
		b->ctx[i] = dura_replay_new();
	b->cur = dura_xcalloc(b->cap, sizeof *b->cur);
	b->next = dura_xcalloc(b->cap, sizeof *b->next);
	b->res = dura_xcalloc(b->cap, sizeof *b->res);
	b->tokens = dura_xcalloc(b->cap, sizeof *b->tokens);
	b->acks = dura_xcalloc(b->cap, sizeof *b->acks);
	b->results = dura_xcalloc(b->cap, sizeof *b->results);
}

static void batch_free(struct orch_batch *b)
{
	for (size_t i = 0; i < b->cap; i++)
		dura_replay_free(b->ctx[i]);
	free(b->ctx);
	free(b->cur);
	free(b->next);
	free(b->res);
	free(b->tokens);
	free(b->acks);
	free(b->results);
}

/* Acks the batch, fetching the next one into b->next along (unless
 * stopping).  Transient errors are retried with backoff (a failed call
 * applied nothing and fetched nothing).  Returns the call's code;
 * *n_next counts b->next. */
static dura_rc ack_all(struct orch_batch *b, size_t *n_next, int *retried, struct dura_err *err)
{
	struct dura_runtime *rt = b->rt;
	dura_rc rc;
	*retried = 0;
	for (unsigned attempt = 0;; attempt++) {
		size_t want = dura_rt_stopping(rt) ? 0 : b->cap;
		size_t got = 0;
		*retried = attempt > 0;
		for (size_t i = 0; i < b->n_cur; i++)
			b->results[i] = DURA_LOCK_LOST;
		rc = rt->ack_orchs_fetch(rt->store, b->n_cur, b->tokens, b->acks, b->results,
		                         rt->cfg.orch_lock_ms, want, b->next, &got, err);
		*n_next = rc == DURA_OK ? (got <= want ? got : want) : 0;
		if (rc != DURA_RETRY || dura_rt_backoff(rt, attempt) != 0)
			return rc;
	}
}

/* Replays, acks and settles the current batch; the items fetched along
 * become the current batch. */
static void run_batch(struct orch_batch *b)
{
	struct dura_runtime *rt = b->rt;
	for (size_t i = 0; i < b->n_cur; i++) {
		dura_rt_prepare_turn(rt, b->ctx[i], b->cur[i], &b->res[i]);
		b->tokens[i] = b->cur[i]->token;
		b->acks[i] = b->res[i].ack;
	}
	size_t n_next = 0;
	int retried;
	struct dura_err err;
	dura_rc rc = ack_all(b, &n_next, &retried, &err);
	for (size_t i = 0; i < b->n_cur; i++) {
		dura_rc item_rc = rc == DURA_OK ? b->results[i] : rc;
		/* err describes the first failed item (or the failed call): the
		 * poison drop's message, good enough for any failed item. */
		dura_rt_settle_turn(rt, b->cur[i], &b->res[i], item_rc, retried, 1, &err);
		b->cur[i] = NULL;
	}
	struct dura_orch_item **t = b->cur;
	b->cur = b->next;
	b->next = t;
	b->n_cur = n_next;
}

void dura_rt_orch_batch_main(struct dura_runtime *rt)
{
	struct orch_batch b;
	batch_init(&b, rt);
	struct dura_rt_poll poll = { 0 };

	for (;;) {
		if (b.n_cur == 0) {
			if (dura_rt_stopping(rt))
				break;
			struct dura_err err;
			size_t n = 0;
			dura_rc rc = rt->fetch_orchs(rt->store, rt->cfg.orch_lock_ms,
			                             dura_rt_next_wait(rt, &poll), b.cap, b.cur, &n, &err);
			if (!dura_rt_fetched(rt, rc, n != 0, &poll, &err))
				continue;
			b.n_cur = n < b.cap ? n : b.cap;
		}
		/* A batch fetched along with the last ack is processed even when
		 * stopping: it is in flight (locked) already. */
		run_batch(&b);
	}
	batch_free(&b);
}
