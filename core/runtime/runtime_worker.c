/*
 * Activity workers and the lock renewer.
 *
 * A worker peek-locks a work item, runs the registered activity and acks
 * the item together with the completion message to the orchestrator queue
 * (chained with the next fetch when the provider offers
 * ack_work_item_and_fetch).  While an activity runs, its token sits in the
 * worker's slot; the renewer thread extends locks that are half used up,
 * so an activity may run longer than work_lock_ms.  With activity_batch > 1
 * the worker runs batches instead (runtime_batch.c); it shares
 * dura_rt_run_item, dura_rt_settle_work_item and the renewer with this
 * file.
 *
 * Outcomes sent to the orchestration: TaskCompleted with the result;
 * TaskFailed (app) when the activity returns non-zero; TaskFailed (config)
 * for an unregistered activity; TaskFailed (infra) when the item was
 * delivered more than max_attempts times (poison).  A work item that cannot
 * be decoded cannot be answered (its task is unknown): its instance gets a
 * CorruptWorkItemMessage instead and fails as corrupt.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "engine/codec.h"
#include "engine/replay.h"
#include "runtime_int.h"
#include "base/util.h"

struct worker {
	struct dura_runtime *rt;
	struct dura_work_slot *slot;
	struct dura_buf out; /* activity output, reused */
	struct dura_buf msg; /* encoded completion, reused */
};

static dura_rc ack_item(struct dura_runtime *rt, const struct dura_work_item *item,
                        const struct dura_message *completion,
                        struct dura_work_item **next, struct dura_err *err)
{
	dura_rc rc;
	for (unsigned attempt = 0;; attempt++) {
		if (rt->ack_work_fetch && !dura_rt_stopping(rt))
			rc = rt->ack_work_fetch(rt->store, item->token, completion,
			                        rt->cfg.work_lock_ms, next, err);
		else
			rc = rt->ops->ack_work_item(rt->store, item->token, completion, err);
		if (rc != DURA_RETRY || *next || dura_rt_backoff(rt, attempt) != 0)
			return rc;
	}
}

/* Fills msg with the completion of work item r. */
static void encode_completion(struct dura_buf *msg, const struct dura_rec *r, int kind,
                              uint8_t category, const void *data, size_t len)
{
	struct dura_rec c = { 0 };
	c.kind = (uint8_t)kind;
	c.execution = r->execution;
	c.id = r->id;
	c.category = category;
	c.data.data = data;
	c.data.len = len;
	dura_buf_reset(msg);
	dura_codec_encode(msg, &c);
}

/* 1 when id is an instance id the core could have sent (provider.h:
 * non-empty, printable ASCII without spaces, at most DURA_INSTANCE_ID_MAX). */
static int valid_instance_id(const char *id)
{
	size_t n = 0;
	for (; id && id[n]; n++)
		if (id[n] < 0x21 || id[n] > 0x7e || n >= DURA_INSTANCE_ID_MAX)
			return 0;
	return n > 0;
}

/* A work item whose body cannot be decoded: its execution and task are
 * unknown, so no completion can be addressed; the instance (a routing key
 * the provider keeps apart from the body) is told instead, so that it
 * fails at once as corrupt rather than waiting for ever.  Returns 1 with
 * that message in msg, or 0 when even the instance cannot be trusted (the
 * item is then acked without a message: nobody can be answered). */
static int report_corrupt(struct dura_runtime *rt, const struct dura_work_item *item,
                          const char *why, struct dura_buf *msg)
{
	DURA_COUNT(rt, corrupt);
	if (!valid_instance_id(item->instance))
		return 0;
	char text[256];
	int n = snprintf(text, sizeof text,
	                 "corrupt work item for instance %s in the worker queue "
	                 "(delivery %u) cannot be decoded: %s",
	                 item->instance, item->attempts, why);
	struct dura_rec c = { 0 };
	c.kind = DURA_MSG_CORRUPT_WORK_ITEM;
	c.data.data = (const uint8_t *)text;
	c.data.len = n < 0 ? 0 : (size_t)n >= sizeof text ? sizeof text - 1 : (size_t)n;
	dura_buf_reset(msg);
	dura_codec_encode(msg, &c);
	return 1;
}

int dura_rt_run_item(struct dura_runtime *rt, const struct dura_work_item *item,
                     struct dura_work_slot *slot, struct dura_buf *out,
                     struct dura_buf *msg, int *ran)
{
	struct dura_rec r;
	char text[160];
	*ran = 0;

	const char *why = NULL;
	if (dura_codec_decode(item->body.data, item->body.len, &r, &why) != 0 ||
	    r.kind != DURA_WORK_ITEM)
		return report_corrupt(rt, item, why ? why : "not a work item", msg);
	if (item->attempts > rt->cfg.max_attempts) {
		DURA_COUNT(rt, poisoned);
		int n = snprintf(text, sizeof text,
		                 "poison: work item delivered %u times (max_attempts %u)",
		                 item->attempts, rt->cfg.max_attempts);
		encode_completion(msg, &r, DURA_MSG_TASK_FAILED, DURA_OUTCOME_FAILED_INFRA, text,
		                  (size_t)n);
		return 1;
	}
	void *user = NULL;
	dura_activity_fn fn = dura_registry_find_activity(rt->reg, r.name.data, r.name.len, &user);
	if (!fn) {
		int n = snprintf(text, sizeof text, "activity '%.*s' is not registered",
		                 (int)(r.name.len > 100 ? 100 : r.name.len),
		                 (const char *)r.name.data);
		encode_completion(msg, &r, DURA_MSG_TASK_FAILED, DURA_OUTCOME_FAILED_CONFIG, text,
		                  (size_t)n);
		return 1;
	}
	if (slot) {
		/* Publish the token for the renewer while the activity runs. */
		atomic_store_explicit(&slot->locked_at, dura_now_ms(), memory_order_relaxed);
		atomic_store_explicit(&slot->token, item->token, memory_order_release);
	}
	dura_buf_reset(out);
	int arc = fn(r.data.data, r.data.len, out, user);
	if (slot)
		atomic_store_explicit(&slot->token, 0, memory_order_release);
	*ran = 1;
	if (arc == 0)
		encode_completion(msg, &r, DURA_MSG_TASK_COMPLETED, 0, out->data, out->len);
	else
		encode_completion(msg, &r, DURA_MSG_TASK_FAILED, DURA_OUTCOME_FAILED_APP, out->data,
		                  out->len);
	return 1;
}

void dura_rt_settle_work_item(struct dura_runtime *rt, struct dura_work_item *item,
                              enum dura_rt_ack_result result, int ran)
{
	switch (result) {
	case DURA_RT_ACKED:
		if (ran)
			DURA_COUNT(rt, activities_executed);
		break;
	case DURA_RT_LOCK_LOST:
		DURA_COUNT(rt, lock_lost);
		break;
	case DURA_RT_NOT_ACKED:
		DURA_COUNT(rt, infra_errors);
		DURA_COUNT(rt, abandons);
		dura_rt_abandon_work(rt, item->token, dura_rt_abandon_delay(rt, item->attempts));
		break;
	}
	rt->ops->release_work_item(rt->store, item);
}

/* Runs one item; returns the next item fetched along with the ack, or
 * NULL.  Releases item. */
static struct dura_work_item *process(struct worker *w, struct dura_work_item *item)
{
	struct dura_runtime *rt = w->rt;
	struct dura_err err;
	struct dura_work_item *next = NULL;
	struct dura_message completion = { .instance = item->instance, .delay_ms = 0 };
	int ran;
	const struct dura_message *send = NULL;

	if (dura_rt_run_item(rt, item, w->slot, &w->out, &w->msg, &ran)) {
		completion.body.data = w->msg.data;
		completion.body.len = w->msg.len;
		send = &completion;
	}

	dura_rc rc = ack_item(rt, item, send, &next, &err);
	if (rc != DURA_OK && rc != DURA_LOCK_LOST)
		dura_rt_note_error(rt, &err);
	dura_rt_settle_work_item(rt, item,
	                         rc == DURA_OK          ? DURA_RT_ACKED
	                         : rc == DURA_LOCK_LOST ? DURA_RT_LOCK_LOST
	                                                : DURA_RT_NOT_ACKED,
	                         ran);
	return next;
}

void *dura_rt_worker_main(void *arg)
{
	const struct dura_worker_arg *wa = arg;
	struct worker w = { .rt = wa->rt, .slot = &wa->rt->slots[(size_t)wa->index * wa->rt->batch] };
	struct dura_runtime *rt = w.rt;
	if (rt->batch > 1) {
		dura_rt_batch_worker(rt, w.slot);
		return NULL;
	}
	struct dura_work_item *item = NULL;
	struct dura_rt_poll poll = { 0 };

	for (;;) {
		if (!item) {
			if (dura_rt_stopping(rt))
				break;
			struct dura_err err;
			dura_rc rc = rt->ops->fetch_work_item(rt->store, rt->cfg.work_lock_ms,
			                                      dura_rt_next_wait(rt, &poll), &item, &err);
			if (!dura_rt_fetched(rt, rc, item != NULL, &poll, &err)) {
				item = NULL;
				continue;
			}
		} else if (dura_rt_stopping(rt)) {
			/* Fetched along with the last ack while stopping: give it
			 * back at once instead of starting a possibly long activity. */
			dura_rt_abandon_work(rt, item->token, 0);
			rt->ops->release_work_item(rt->store, item);
			break;
		}
		item = process(&w, item);
	}
	dura_buf_free(&w.out);
	dura_buf_free(&w.msg);
	return NULL;
}

/* Renews the locks of activities that used up half of their lock. */
void *dura_rt_renewer_main(void *arg)
{
	struct dura_runtime *rt = arg;
	uint32_t lock = rt->cfg.work_lock_ms;
	uint32_t period = lock / 4 ? lock / 4 : 1;
	struct timespec until;

	pthread_mutex_lock(&rt->mu);
	while (!atomic_load(&rt->renewer_stopping)) {
		dura_rt_deadline(&until, period);
		pthread_cond_timedwait(&rt->cv, &rt->mu, &until);
		if (atomic_load(&rt->renewer_stopping))
			break;
		pthread_mutex_unlock(&rt->mu);
		uint64_t now = dura_now_ms();
		for (size_t i = 0; i < rt->n_slots; i++) {
			struct dura_work_slot *s = &rt->slots[i];
			uint64_t token = atomic_load_explicit(&s->token, memory_order_acquire);
			uint64_t at = atomic_load_explicit(&s->locked_at, memory_order_relaxed);
			if (!token || now < at + lock / 2)
				continue;
			struct dura_err err;
			dura_rc rc = rt->ops->renew_work_lock(rt->store, token, lock, &err);
			if (rc == DURA_OK)
				atomic_store_explicit(&s->locked_at, now, memory_order_relaxed);
			/* LOCK_LOST (the item was just acked, or the lock expired) is
			 * seen by the worker's own ack; RETRY is tried next period. */
		}
		pthread_mutex_lock(&rt->mu);
	}
	pthread_mutex_unlock(&rt->mu);
	return NULL;
}
