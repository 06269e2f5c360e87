/* Backoff, stop-aware sleeping and fetch pacing for the runtime's threads. */
#include "config.h"

#include "runtime_int.h"

#include <errno.h>
#include <limits.h>
#include <time.h>

#include "base/util.h"

/* Longest single backoff: long enough to let a busy server recover, short
 * enough that a stop or a recovered store is noticed quickly. */
#define MAX_BACKOFF_MS 2000u

void dura_rt_deadline(struct timespec *until, uint32_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, until);
	until->tv_sec += ms / 1000;
	until->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

int dura_rt_sleep(struct dura_runtime *rt, uint32_t ms)
{
	if (ms == 0)
		return dura_rt_stopping(rt);
	struct timespec until;
	dura_rt_deadline(&until, ms);
	pthread_mutex_lock(&rt->mu);
	while (!dura_rt_stopping(rt)) {
		if (pthread_cond_timedwait(&rt->cv, &rt->mu, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&rt->mu);
	return dura_rt_stopping(rt);
}

static uint32_t exp_delay(uint32_t base, unsigned step)
{
	if (base == 0)
		return 0;
	uint64_t d = (uint64_t)base << (step > 20 ? 20 : step);
	/* +-25 % jitter so retrying threads do not collide again in lockstep */
	uint64_t jitter = d / 2 ? dura_rand64() % (d / 2) : 0;
	d = d - d / 4 + jitter;
	return d > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : (uint32_t)d;
}

int dura_rt_backoff(struct dura_runtime *rt, unsigned attempt)
{
	if (attempt >= rt->cfg.retry_limit || atomic_load(&rt->aborting))
		return -1;
	DURA_COUNT(rt, retries);
	/* A retry must not be skipped because of a stop: in-flight work is
	 * finished, so sleep plainly. */
	uint32_t ms = exp_delay(rt->cfg.retry_base_ms, attempt);
	if (ms)
		dura_sleep_ms(ms);
	return 0;
}

uint32_t dura_rt_abandon_delay(const struct dura_runtime *rt, uint32_t attempts)
{
	uint32_t base = rt->cfg.retry_base_ms ? rt->cfg.retry_base_ms : 1;
	return exp_delay(base, attempts ? attempts - 1 : 0);
}

uint32_t dura_rt_poll_wait(uint32_t base_ms, uint32_t max_ms, unsigned empty)
{
	if (base_ms == 0 || empty <= DURA_RT_IDLE_POLLS)
		return base_ms;
	if (max_ms < base_ms)
		return base_ms;
	unsigned k = empty - DURA_RT_IDLE_POLLS;
	uint64_t w = (uint64_t)base_ms << (k > 20 ? 20 : k);
	return w > max_ms ? max_ms : (uint32_t)w;
}

uint32_t dura_rt_next_wait(const struct dura_runtime *rt, const struct dura_rt_poll *p)
{
	return dura_rt_poll_wait(rt->cfg.poll_wait_ms, rt->cfg.poll_wait_max_ms, p->empty);
}

int dura_rt_fetched(struct dura_runtime *rt, dura_rc rc, int got, struct dura_rt_poll *p,
                    const struct dura_err *err)
{
	if (rc == DURA_EMPTY || (rc == DURA_OK && !got)) {
		p->failures = 0;
		if (p->empty < UINT_MAX)
			p->empty++;
		if (rt->cfg.poll_wait_ms == 0)
			dura_rt_sleep(rt, 1); /* no long poll: do not spin */
		return 0;
	}
	p->empty = 0;
	if (rc != DURA_OK) {
		if (rc == DURA_RETRY)
			DURA_COUNT(rt, retries);
		else
			DURA_COUNT(rt, infra_errors);
		dura_rt_note_error(rt, err);
		dura_rt_sleep(rt, dura_rt_abandon_delay(rt, ++p->failures));
		return 0;
	}
	p->failures = 0;
	return 1;
}

void dura_rt_abandon_work(struct dura_runtime *rt, uint64_t token, uint32_t delay_ms)
{
	struct dura_err err;
	if (!atomic_load(&rt->aborting))
		rt->ops->abandon_work_item(rt->store, token, delay_ms, &err);
}

void dura_rt_abandon_orch(struct dura_runtime *rt, uint64_t token, uint32_t delay_ms)
{
	struct dura_err err;
	if (!atomic_load(&rt->aborting))
		rt->ops->abandon_orchestration_item(rt->store, token, delay_ms, &err);
}
