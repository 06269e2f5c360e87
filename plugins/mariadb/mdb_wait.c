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
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->gen[0] = w->gen[1] = 0;
	return DURA_OK;
}

void dura_mdb_waitq_destroy(struct dura_mdb_waitq *w)
{
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}

void dura_mdb_wake(struct dura_store *st, enum dura_mdb_queue q)
{
	struct dura_mdb_waitq *w = &st->waitq;
	pthread_mutex_lock(&w->mu);
	w->gen[q]++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static uint64_t gen_of(struct dura_store *st, enum dura_mdb_queue q)
{
	pthread_mutex_lock(&st->waitq.mu);
	uint64_t g = st->waitq.gen[q];
	pthread_mutex_unlock(&st->waitq.mu);
	return g;
}

/* Sleeps until the generation of q moves past gen or until_ns. */
static void sleep_until(struct dura_store *st, enum dura_mdb_queue q, uint64_t gen,
                        uint64_t until_ns)
{
	struct dura_mdb_waitq *w = &st->waitq;
	struct timespec ts = { (time_t)(until_ns / 1000000000ull),
		               (long)(until_ns % 1000000000ull) };
	pthread_mutex_lock(&w->mu);
	while (w->gen[q] == gen && dura_mdb_now_ns() < until_ns)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&w->mu);
}

dura_rc dura_mdb_poll(struct dura_store *st, enum dura_mdb_queue q, uint32_t wait_ms,
                      dura_mdb_fetch_fn fetch, void *ctx, struct dura_err *err)
{
	uint64_t deadline = dura_mdb_now_ns() + (uint64_t)wait_ms * 1000000ull;
	for (;;) {
		uint64_t gen = gen_of(st, q);
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
		sleep_until(st, q, gen, until < deadline ? until : deadline);
	}
}
