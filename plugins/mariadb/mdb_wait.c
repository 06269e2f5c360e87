/*
 * Long poll without server push.  MariaDB has no LISTEN/NOTIFY, so an idle
 * fetch sleeps on a condition variable and fetches again when
 *   - this store itself made work appear (an enqueue, an ack that
 *     schedules work or releases an instance lock, an abandon): a local
 *     wake-up, no delay;
 *   - the next message or lock expiry the empty fetch reported is due;
 *   - poll_interval passed: work made by other processes (or other stores
 *     on the same database) is seen at least that often.
 * So an idle fetcher costs at most one round trip per poll_interval instead
 * of hammering the server with empty fetches.
 *
 * Wake-ups are counted tokens, one per new thing to take (a message, a
 * work item, a released instance lock), never more than the fetchers
 * currently polling: a fetcher whose fetch came back empty takes a token
 * if there is one (something appeared while it was fetching: fetch again)
 * and otherwise sleeps until one is posted.  An earlier version woke every
 * fetcher of the queue on every change (a generation count): in a 4:4
 * anchor run each work ack then sent all four orchestration fetchers back
 * to the server, 16 empty fetches per orchestration, and the server time
 * they took doubled the latency of the acks that mattered.
 */
#include <time.h>

#include "mdb_internal.h"

uint64_t dura_mdb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

dura_rc dura_mdb_waitq_init(struct dura_mdb_waitq *w)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&w->mu, NULL);
	for (int q = 0; q < 2; q++) {
		pthread_cond_init(&w->cv[q], &ca);
		w->pollers[q] = 0;
		w->tokens[q] = 0;
	}
	pthread_condattr_destroy(&ca);
	return DURA_OK;
}

void dura_mdb_waitq_destroy(struct dura_mdb_waitq *w)
{
	pthread_mutex_destroy(&w->mu);
	for (int q = 0; q < 2; q++)
		pthread_cond_destroy(&w->cv[q]);
}

void dura_mdb_wake(struct dura_store *st, enum dura_mdb_queue q, size_t n)
{
	struct dura_mdb_waitq *w = &st->waitq;
	pthread_mutex_lock(&w->mu);
	size_t room = w->pollers[q] - w->tokens[q];
	size_t add = n < room ? n : room;
	w->tokens[q] += add;
	for (size_t i = 0; i < add; i++)
		pthread_cond_signal(&w->cv[q]);
	pthread_mutex_unlock(&w->mu);
}

/* Takes a token of q, sleeping up to until_ns for one.  With w->mu held. */
static void take_token(struct dura_mdb_waitq *w, enum dura_mdb_queue q, uint64_t until_ns)
{
	struct timespec ts = { (time_t)(until_ns / 1000000000ull),
		               (long)(until_ns % 1000000000ull) };
	while (w->tokens[q] == 0 && dura_mdb_now_ns() < until_ns)
		if (pthread_cond_timedwait(&w->cv[q], &w->mu, &ts) != 0)
			break;
	if (w->tokens[q] > 0)
		w->tokens[q]--;
}

static dura_rc poll_loop(struct dura_store *st, enum dura_mdb_queue q, uint64_t deadline,
                         dura_mdb_fetch_fn fetch, void *ctx, struct dura_err *err)
{
	struct dura_mdb_waitq *w = &st->waitq;
	for (;;) {
		int64_t next_ms = -1;
		dura_rc rc = fetch(st, ctx, &next_ms, err);
		if (rc != DURA_EMPTY)
			return rc;
		atomic_fetch_add(&st->stats.empty_fetches, 1);
		uint64_t now = dura_mdb_now_ns();
		if (now >= deadline)
			return DURA_EMPTY;
		uint64_t nap_ms = st->opt.poll_interval_ms;
		if (next_ms >= 0 && (uint64_t)next_ms < nap_ms)
			nap_ms = (uint64_t)next_ms;
		uint64_t until = now + nap_ms * 1000000ull;
		pthread_mutex_lock(&w->mu);
		take_token(w, q, until < deadline ? until : deadline);
		pthread_mutex_unlock(&w->mu);
	}
}

dura_rc dura_mdb_poll(struct dura_store *st, enum dura_mdb_queue q, uint32_t wait_ms,
                      dura_mdb_fetch_fn fetch, void *ctx, struct dura_err *err)
{
	struct dura_mdb_waitq *w = &st->waitq;
	uint64_t deadline = dura_mdb_now_ns() + (uint64_t)wait_ms * 1000000ull;
	/* registered before the first fetch: a change made while it runs
	 * leaves a token for the sleep that may follow it */
	pthread_mutex_lock(&w->mu);
	w->pollers[q]++;
	pthread_mutex_unlock(&w->mu);
	dura_rc rc = poll_loop(st, q, deadline, fetch, ctx, err);
	pthread_mutex_lock(&w->mu);
	w->pollers[q]--;
	if (w->tokens[q] > w->pollers[q])
		w->tokens[q] = w->pollers[q]; /* nobody left to use them */
	pthread_mutex_unlock(&w->mu);
	return rc;
}
