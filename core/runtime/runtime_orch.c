/*
 * Orchestration dispatcher thread: long-poll fetch, one replay turn, ack
 * (chained with the next fetch when the provider offers
 * ack_orchestration_item_and_fetch), completion callback after a terminal
 * ack committed.
 *
 * Error handling per ack result:
 *   OK         the turn is durable; terminal -> callback.
 *   RETRY      retried with backoff up to retry_limit, then as below.
 *   LOCK_LOST  another dispatcher owns the instance now: counted, dropped.
 *              Except after a RETRY of a terminal turn: a connection lost
 *              during the commit leaves it unknown whether the first try
 *              committed (then the retry finds the token gone).  The stored
 *              status decides, so a committed completion is never lost.
 *   other      the turn cannot be stored: abandoned with backoff, so the
 *              messages come back with a higher attempt count; after
 *              max_attempts deliveries the instance is failed (infra)
 *              instead of being run again -- never an endless loop.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "engine/replay.h"
#include "runtime_int.h"
#include "base/util.h"

/* Acks (and, unless stopping, fetches the next item in the same call). */
static dura_rc ack_turn(struct dura_runtime *rt, const struct dura_orch_item *item,
                        const struct dura_orch_ack *ack, struct dura_orch_item **next,
                        int *retried, struct dura_err *err)
{
	dura_rc rc;
	*retried = 0;
	for (unsigned attempt = 0;; attempt++) {
		if (attempt)
			*retried = 1;
		if (rt->ack_orch_fetch && !dura_rt_stopping(rt))
			rc = rt->ack_orch_fetch(rt->store, item->token, ack, rt->cfg.orch_lock_ms,
			                        next, err);
		else
			rc = rt->ops->ack_orchestration_item(rt->store, item->token, ack, err);
		/* An item fetched along is ours (its lock is held) whatever rc. */
		if (rc != DURA_RETRY || *next || dura_rt_backoff(rt, attempt) != 0)
			return rc;
	}
}

static void abandon(struct dura_runtime *rt, const struct dura_orch_item *item)
{
	DURA_COUNT(rt, abandons);
	/* A failed abandon needs no handling: the lock expires on its own. */
	dura_rt_abandon_orch(rt, item->token, dura_rt_abandon_delay(rt, item->attempts));
}

static void notify(struct dura_runtime *rt, const char *instance, enum dura_outcome outcome,
                   const uint8_t *output, size_t len)
{
	pthread_mutex_lock(&rt->cb_mu);
	if (rt->cb && !rt->detached)
		rt->cb(rt->cb_arg, instance, outcome, output, len);
	pthread_mutex_unlock(&rt->cb_mu);
}

/* After a retried terminal ack ended in LOCK_LOST: 1 if storage shows that
 * an earlier try committed it (the instance holds exactly the metadata the
 * turn wrote). */
static int terminal_ack_committed(struct dura_runtime *rt, const char *instance,
                                  const struct dura_instance_meta *wrote)
{
	struct dura_instance_meta *meta = NULL;
	struct dura_err err;
	int same = 0;
	if (!wrote ||
	    rt->ops->instance_status(rt->store, instance, &meta, &err) != DURA_OK || !meta)
		return 0;
	same = meta->status == wrote->status && meta->execution == wrote->execution &&
	       meta->output.len == wrote->output.len &&
	       (wrote->output.len == 0 ||
	        memcmp(meta->output.data, wrote->output.data, wrote->output.len) == 0);
	rt->ops->release_instance_status(rt->store, meta);
	return same;
}

void dura_rt_prepare_turn(struct dura_runtime *rt, dura_orch_ctx *ctx,
                          const struct dura_orch_item *item, struct dura_replay_result *res)
{
	if (item->attempts > rt->cfg.max_attempts) {
		char reason[160];
		snprintf(reason, sizeof reason,
		         "poison: messages delivered %u times (max_attempts %u)",
		         item->attempts, rt->cfg.max_attempts);
		DURA_COUNT(rt, poisoned);
		dura_replay_fail(ctx, item, DURA_OUTCOME_FAILED_INFRA, reason, res);
	} else {
		dura_replay_run(ctx, rt->reg, item, res);
	}
}

void dura_rt_settle_turn(struct dura_runtime *rt, struct dura_orch_item *item,
                         const struct dura_replay_result *res, dura_rc rc, int retried,
                         int may_drop, const struct dura_err *err)
{
	int poison = item->attempts > rt->cfg.max_attempts;
	if (rc == DURA_LOCK_LOST && retried && res->terminal &&
	    terminal_ack_committed(rt, item->instance, res->ack.meta))
		rc = DURA_OK;
	if (rc == DURA_OK) {
		DURA_COUNT(rt, turns);
		if (res->ignored_messages)
			DURA_COUNT_N(rt, ignored_messages, res->ignored_messages);
		if (res->terminal)
			notify(rt, item->instance, res->outcome, res->output, res->output_len);
	} else if (rc == DURA_LOCK_LOST) {
		DURA_COUNT(rt, lock_lost);
	} else if (poison && rc != DURA_RETRY && may_drop) {
		/* Even the failure cannot be stored (e.g. the stored history
		 * conflicts with ours): give up on the instance by consuming its
		 * messages, so it cannot loop. */
		DURA_COUNT(rt, infra_errors);
		dura_rt_note_error(rt, err);
		struct dura_orch_ack drop = { .execution = item->execution };
		/* The failed ack's message, taken before the drop: after a
		 * successful operation err holds nothing defined. */
		char text[DURA_ERR_MAX + 64];
		int n = snprintf(text, sizeof text, "poison: failure not storable: %.*s",
		                 (int)strnlen(err->msg, sizeof err->msg), err->msg);
		struct dura_err drop_err;
		if (rt->ops->ack_orchestration_item(rt->store, item->token, &drop, &drop_err) == DURA_OK) {
			notify(rt, item->instance, DURA_OUTCOME_FAILED_INFRA, (const uint8_t *)text,
			       n < 0 ? 0 : (size_t)n >= sizeof text ? sizeof text - 1 : (size_t)n);
		} else {
			abandon(rt, item);
		}
	} else {
		DURA_COUNT(rt, infra_errors);
		dura_rt_note_error(rt, err);
		abandon(rt, item);
	}
	rt->ops->release_orchestration_item(rt->store, item);
}

/* Processes one fetched item; returns the next item fetched along with the
 * ack, or NULL.  Releases item. */
static struct dura_orch_item *process(struct dura_runtime *rt, dura_orch_ctx *ctx,
                                      struct dura_orch_item *item)
{
	struct dura_replay_result res;
	struct dura_err err;
	struct dura_orch_item *next = NULL;
	int retried;

	dura_rt_prepare_turn(rt, ctx, item, &res);
	dura_rc rc = ack_turn(rt, item, &res.ack, &next, &retried, &err);
	dura_rt_settle_turn(rt, item, &res, rc, retried, next == NULL, &err);
	return next;
}

void *dura_rt_orch_main(void *arg)
{
	struct dura_runtime *rt = arg;
	if (rt->orch_batch > 1) {
		dura_rt_orch_batch_main(rt);
		return NULL;
	}
	dura_orch_ctx *ctx = dura_replay_new(); /* reused by every turn, freed below */
	struct dura_orch_item *item = NULL;
	struct dura_rt_poll poll = { 0 };

	for (;;) {
		if (!item) {
			if (dura_rt_stopping(rt))
				break;
			struct dura_err err;
			dura_rc rc = rt->ops->fetch_orchestration_item(rt->store, rt->cfg.orch_lock_ms,
			                                               dura_rt_next_wait(rt, &poll), &item, &err);
			if (!dura_rt_fetched(rt, rc, item != NULL, &poll, &err)) {
				item = NULL;
				continue;
			}
		}
		/* An item fetched along with the last ack is processed even when
		 * stopping: it is in flight (locked) already. */
		item = process(rt, ctx, item);
	}
	dura_replay_free(ctx);
	return NULL;
}
