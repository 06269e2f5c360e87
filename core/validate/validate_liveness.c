/*
 * Liveness of the long poll: a fetch waiting with a long wait_ms must
 * return soon after work becomes eligible -- not only when work is
 * enqueued (validate_concurrency.c), but when an ack releases an instance
 * that has messages waiting, when a work item's completion arrives, when a
 * delayed message becomes due and when a lock expires.  A provider that
 * only notices at the end of its poll loses every comparison for the wrong
 * reason.
 *
 * The bound is generous, far from a timing assertion: a tenth of wait_ms
 * (1 s of 10 s) after the moment the work became eligible.
 */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define WAIT_MS 10000u
#define BOUND_MS (WAIT_MS / 10u)

struct waiter {
	struct dura_vctx t; /* a copy: its own reason */
	int work;
	uint32_t wait_ms;
	int r;
	dura_rc rc;
	uint64_t returned_at;
	char instance[64];
};

static void *wait_fetch(void *arg)
{
	struct waiter *w = arg;
	struct dura_err err;
	memset(&err, 0, sizeof err);
	if (w->work) {
		struct dura_work_item *it = NULL;
		w->rc = w->t.ops->fetch_work_item(w->t.store, DURA_VLOCK_MS, w->wait_ms, &it, &err);
		if (w->rc == DURA_OK && it) {
			snprintf(w->instance, sizeof w->instance, "%s", it->instance);
			w->t.ops->release_work_item(w->t.store, it);
		}
	} else {
		struct dura_orch_item *it = NULL;
		w->rc = w->t.ops->fetch_orchestration_item(w->t.store, DURA_VLOCK_MS, w->wait_ms, &it, &err);
		if (w->rc == DURA_OK && it) {
			snprintf(w->instance, sizeof w->instance, "%s", it->instance);
			w->t.ops->release_orchestration_item(w->t.store, it);
		}
	}
	w->returned_at = dura_now_ms();
	return NULL;
}

/* Judges a waiter that should have returned `want`'s work soon after
 * eligible_at (monotonic ms). */
static int judge(struct dura_vctx *t, const struct waiter *w, const char *want, uint64_t eligible_at,
                 const char *event)
{
	const char *op = w->work ? "fetch_work_item" : "fetch_orchestration_item";
	if (w->rc == DURA_EMPTY)
		return dura_vfail(t, "%s(wait_ms %u) returned EMPTY %lld ms after %s: it does not notice %s "
		                  "while it long-polls", op, WAIT_MS,
		                  (long long)(w->returned_at - eligible_at), event, event);
	VCHECK(t, w->rc == DURA_OK, "%s(wait_ms %u) returned %s", op, WAIT_MS, dura_vrc_name(w->rc));
	VCHECK(t, strcmp(w->instance, want) == 0, "%s returned '%s', expected '%s'", op, w->instance, want);
	uint64_t late = w->returned_at > eligible_at ? w->returned_at - eligible_at : 0;
	VCHECK(t, late <= BOUND_MS,
	       "%s(wait_ms %u) returned %llu ms after %s (bound %u ms): it does not long-poll for %s, "
	       "it only notices at the end of its wait or on a later event", op, WAIT_MS,
	       (unsigned long long)late, event, BOUND_MS, event);
	return DURA_VPASS;
}

static int start(struct dura_vctx *t, struct waiter *w, pthread_t *th, int work)
{
	memset(w, 0, sizeof *w);
	w->t = *t;
	w->work = work;
	w->wait_ms = WAIT_MS;
	if (pthread_create(th, NULL, wait_fetch, w) != 0)
		return dura_vfail(t, "cannot create a thread");
	dura_sleep_ms(300); /* let it start waiting */
	return 0;
}

static int liveness_ack_releases_instance(struct dura_vctx *t)
{
	struct dura_orch_item *it;
	VTRY(dura_venqueue(t, "held", "first", 0));
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "held", 1, &it));
	uint64_t tok = it->token;
	dura_vrelease(t, it);
	VTRY(dura_venqueue(t, "held", "arrived during the turn", 0));
	struct waiter w;
	pthread_t th;
	VTRY(start(t, &w, &th, 0));
	int r = dura_vack_empty(t, tok, DURA_OK);
	uint64_t at = dura_now_ms();
	pthread_join(th, NULL);
	VTRY(r);
	return judge(t, &w, "held", at, "an ack released an instance with a waiting message");
}

static int liveness_completion_wakes(struct dura_vctx *t)
{
	static const char *const job[] = { "job" };
	VTRY(dura_vseed_work(t, "caller", job, 1, 0));
	struct dura_work_item *wi;
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &wi));
	uint64_t tok = wi->token;
	dura_vrelease_work(t, wi);
	struct waiter w;
	pthread_t th;
	VTRY(start(t, &w, &th, 0));
	struct dura_message done = { "caller", dura_vstr("done"), 0 };
	int r = dura_vack_work(t, tok, &done, DURA_OK);
	uint64_t at = dura_now_ms();
	pthread_join(th, NULL);
	VTRY(r);
	return judge(t, &w, "caller", at, "a work item's ack sent a completion");
}

static int liveness_delay_due(struct dura_vctx *t)
{
	for (int work = 0; work <= 1; work++) {
		static const char *const job[] = { "later" };
		const uint32_t delay = 600;
		uint64_t t0 = dura_now_ms();
		if (work)
			VTRY(dura_vseed_work(t, "delayed-w", job, 1, delay));
		else
			VTRY(dura_venqueue(t, "delayed-o", "later", delay));
		struct waiter w;
		pthread_t th;
		memset(&w, 0, sizeof w);
		w.t = *t;
		w.work = work;
		w.wait_ms = WAIT_MS;
		if (pthread_create(&th, NULL, wait_fetch, &w) != 0)
			return dura_vfail(t, "cannot create a thread");
		pthread_join(th, NULL);
		/* due at t0 + delay by the provider's clock: allow the bound on top */
		if (judge(t, &w, work ? "delayed-w" : "delayed-o", t0 + delay, "a delayed item became due") !=
		    DURA_VPASS)
			return DURA_VFAIL;
	}
	return DURA_VPASS;
}

static int liveness_lock_expiry(struct dura_vctx *t)
{
	for (int work = 0; work <= 1; work++) {
		static const char *const job[] = { "lost" };
		uint64_t t0;
		if (work) {
			VTRY(dura_vseed_work(t, "expiring-w", job, 1, 0));
			struct dura_work_item *wi;
			t0 = dura_now_ms();
			VTRY(dura_vfetch_work(t, DURA_VSHORT_LOCK_MS, 0, DURA_OK, &wi));
			dura_vrelease_work(t, wi);
		} else {
			VTRY(dura_venqueue(t, "expiring-o", "lost", 0));
			struct dura_orch_item *it;
			t0 = dura_now_ms();
			VTRY(dura_vfetch_instance(t, DURA_VSHORT_LOCK_MS, "expiring-o", 1, &it));
			dura_vrelease(t, it);
		}
		struct waiter w;
		pthread_t th;
		memset(&w, 0, sizeof w);
		w.t = *t;
		w.work = work;
		w.wait_ms = WAIT_MS;
		if (pthread_create(&th, NULL, wait_fetch, &w) != 0)
			return dura_vfail(t, "cannot create a thread");
		pthread_join(th, NULL);
		if (judge(t, &w, work ? "expiring-w" : "expiring-o", t0 + DURA_VSHORT_LOCK_MS,
		          "a lock expired") != DURA_VPASS)
			return DURA_VFAIL;
	}
	return DURA_VPASS;
}

const struct dura_vtest dura_vtests_liveness[] = {
	{ "liveness_ack_releases_instance", liveness_ack_releases_instance,
	  "a fetch waiting 10 s returns within 1 s of an ack that releases an instance with messages" },
	{ "liveness_completion_wakes", liveness_completion_wakes,
	  "a fetch waiting 10 s returns within 1 s of a work ack that sends a completion" },
	{ "liveness_delay_due", liveness_delay_due,
	  "a fetch waiting 10 s returns within 1 s of a delayed message or work item becoming due" },
	{ "liveness_lock_expiry", liveness_lock_expiry,
	  "a fetch waiting 10 s returns within 1 s of an instance or work lock expiring" },
	{ NULL, NULL, NULL },
};
