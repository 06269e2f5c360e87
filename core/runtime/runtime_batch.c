/*
 * Batched activity worker (activity_batch > 1 and a provider with
 * fetch_work_items and ack_work_items_and_fetch).
 *
 * Why: a worker far from its database pays a round trip per provider call.
 * One item at a time costs at least one round trip per activity (ack
 * chained with the next fetch); a batch of B costs one round trip per B
 * activities:
 *
 *   fetch_work_items(B)  ->  run item 0, 1, ... B-1 in order  ->
 *   ack_work_items_and_fetch(all B acks, fetch up to B more)  ->  run ...
 *
 * Locks.  Every item of a batch is locked at fetch time, but item k only
 * starts after items 0..k-1 ran, and item 0 is only acked after item B-1
 * ran.  So the tokens of the whole batch sit in the worker's B renewal
 * slots from the fetch until the ack returned, and the renewer extends any
 * that are half used up, exactly as for a single long activity.  (Sizing
 * the lock to the batch would need the run time in advance.)
 *
 * Per item, as in the single-item path: poison after max_attempts
 * deliveries, unregistered activity, app failure, corrupt item (acked
 * without completion); a LOCK_LOST result is counted and nothing else
 * (another worker has or will run it).  When the whole ack call fails after
 * retries, every item of the batch is abandoned with backoff.
 *
 * Stop: items of the batch that have not started yet are abandoned at
 * once (delay 0) instead of being run; those that ran are acked without
 * fetching more.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "runtime_int.h"
#include "base/util.h"

struct batch {
	struct dura_runtime *rt;
	struct dura_work_slot *slots;      /* rt->batch slots of this worker */
	size_t cap;                        /* rt->batch */

	/* All arrays below have cap entries; owned, freed by batch_free. */
	struct dura_work_item **cur;       /* the batch being run */
	size_t n_cur;
	struct dura_work_item **next;      /* fetched along with the ack */
	uint64_t *tokens;                  /* ack arrays, index = position in cur */
	struct dura_message *completions;
	dura_rc *results;
	unsigned char *ran;
	struct dura_buf *msgs;             /* encoded completions, reused */
	struct dura_buf out;               /* activity output scratch, reused */
};

static void batch_init(struct batch *b, struct dura_runtime *rt, struct dura_work_slot *slots)
{
	memset(b, 0, sizeof *b);
	b->rt = rt;
	b->slots = slots;
	b->cap = rt->batch;
	b->cur = dura_xcalloc(b->cap, sizeof *b->cur);
	b->next = dura_xcalloc(b->cap, sizeof *b->next);
	b->tokens = dura_xcalloc(b->cap, sizeof *b->tokens);
	b->completions = dura_xcalloc(b->cap, sizeof *b->completions);
	b->results = dura_xcalloc(b->cap, sizeof *b->results);
	b->ran = dura_xcalloc(b->cap, sizeof *b->ran);
	b->msgs = dura_xcalloc(b->cap, sizeof *b->msgs);
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->cap; i++)
		dura_buf_free(&b->msgs[i]);
	dura_buf_free(&b->out);
	free(b->cur);
	free(b->next);
	free(b->tokens);
	free(b->completions);
	free(b->results);
	free(b->ran);
	free(b->msgs);
}

/* Hands the batch's locks to the renewer, counting from now (the fetch
 * just returned). */
static void publish(struct batch *b)
{
	uint64_t now = dura_now_ms();
	for (size_t i = 0; i < b->n_cur; i++) {
		atomic_store_explicit(&b->slots[i].locked_at, now, memory_order_relaxed);
		atomic_store_explicit(&b->slots[i].token, b->cur[i]->token, memory_order_release);
	}
}

static void unpublish(struct batch *b)
{
	for (size_t i = 0; i < b->cap; i++)
		atomic_store_explicit(&b->slots[i].token, 0, memory_order_release);
}

/* Gives items [from, n_cur) back at once and drops them from the batch. */
static void abandon_rest(struct batch *b, size_t from)
{
	struct dura_runtime *rt = b->rt;
	for (size_t i = from; i < b->n_cur; i++) {
		atomic_store_explicit(&b->slots[i].token, 0, memory_order_release);
		dura_rt_abandon_work(rt, b->cur[i]->token, 0);
		rt->ops->release_work_item(rt->store, b->cur[i]);
		b->cur[i] = NULL;
	}
	if (from < b->n_cur)
		b->n_cur = from;
}

/* Runs the batch in order, filling the ack arrays. */
static void run_all(struct batch *b)
{
	struct dura_runtime *rt = b->rt;
	for (size_t i = 0; i < b->n_cur; i++) {
		if (dura_rt_stopping(rt)) {
			abandon_rest(b, i);
			break;
		}
		int ran;
		const struct dura_work_item *item = b->cur[i];
		int answer = dura_rt_run_item(rt, item, NULL, &b->out, &b->msgs[i], &ran);
		b->ran[i] = (unsigned char)ran;
		b->tokens[i] = item->token;
		b->results[i] = DURA_LOCK_LOST;
		b->completions[i].instance = answer ? item->instance : NULL;
		b->completions[i].body.data = answer ? b->msgs[i].data : NULL;
		b->completions[i].body.len = answer ? b->msgs[i].len : 0;
		b->completions[i].delay_ms = 0;
	}
}

/* Acks the batch, fetching the next one into b->next along (unless
 * stopping).  Transient errors are retried with backoff; items fetched by
 * a failed attempt are kept (their locks are ours) and the retry asks only
 * for the rest.  Returns the ack's code; *n_next counts b->next. */
static dura_rc ack_all(struct batch *b, size_t *n_next)
{
	struct dura_runtime *rt = b->rt;
	struct dura_err err;
	dura_rc rc;
	*n_next = 0;
	for (unsigned attempt = 0;; attempt++) {
		size_t want = dura_rt_stopping(rt) ? 0 : b->cap - *n_next;
		size_t got = 0;
		rc = rt->ack_items_fetch(rt->store, b->n_cur, b->tokens, b->completions, b->results,
		                         rt->cfg.work_lock_ms, want, b->next + *n_next, &got, &err);
		*n_next += got <= want ? got : want;
		if (rc != DURA_RETRY || dura_rt_backoff(rt, attempt) != 0)
			break;
	}
	if (rc != DURA_OK)
		dura_rt_note_error(rt, &err);
	return rc;
}

/* Books the per-item results of an ack and releases the batch. */
static void settle(struct batch *b, dura_rc rc)
{
	for (size_t i = 0; i < b->n_cur; i++) {
		/* A failed call applied no ack of the batch: every item is
		 * given back.  Any per-item result but OK means the lock was
		 * lost. */
		enum dura_rt_ack_result result = rc != DURA_OK                ? DURA_RT_NOT_ACKED
		                                 : b->results[i] == DURA_OK ? DURA_RT_ACKED
		                                                            : DURA_RT_LOCK_LOST;
		dura_rt_settle_work_item(b->rt, b->cur[i], result, b->ran[i]);
		b->cur[i] = NULL;
	}
	b->n_cur = 0;
}

void dura_rt_batch_worker(struct dura_runtime *rt, struct dura_work_slot *slots)
{
	struct batch b;
	batch_init(&b, rt, slots);
	struct dura_rt_poll poll = { 0 };

	for (;;) {
		if (b.n_cur == 0) {
			if (dura_rt_stopping(rt))
				break;
			struct dura_err err;
			size_t n = 0;
			dura_rc rc = rt->fetch_items(rt->store, rt->cfg.work_lock_ms,
			                             dura_rt_next_wait(rt, &poll), b.cap, b.cur, &n, &err);
			if (!dura_rt_fetched(rt, rc, n != 0, &poll, &err))
				continue;
			b.n_cur = n < b.cap ? n : b.cap;
		}
		publish(&b);
		run_all(&b);
		size_t n_next = 0;
		dura_rc rc = b.n_cur ? ack_all(&b, &n_next) : DURA_OK;
		/* The locks stay with the renewer until the ack returned: an
		 * item that finished first waits for the whole batch. */
		unpublish(&b);
		settle(&b, rc);
		/* The next batch becomes the current one. */
		struct dura_work_item **t = b.cur;
		b.cur = b.next;
		b.next = t;
		b.n_cur = n_next;
		if (b.n_cur && dura_rt_stopping(rt)) {
			/* Fetched along with the last ack while stopping: give it
			 * back at once instead of starting possibly long work. */
			abandon_rest(&b, 0);
			break;
		}
	}
	batch_free(&b);
}
