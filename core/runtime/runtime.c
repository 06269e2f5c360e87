/*
 * The durable runtime: starts O orchestration dispatchers, W activity
 * workers and one lock renewer on a provider store; starts instances;
 * reports counters; stops cleanly.
 */
#include "config.h"

#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/codec.h"
#include "runtime_int.h"
#include "base/util.h"

void dura_runtime_config_defaults(struct dura_runtime_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->orch_workers = 1;
	cfg->activity_workers = 1;
	cfg->orch_lock_ms = 5000;
	cfg->work_lock_ms = 5000;
	cfg->poll_wait_ms = 100;
	cfg->poll_wait_max_ms = 1000;
	cfg->max_attempts = 10;
	cfg->retry_limit = 8;
	cfg->retry_base_ms = 5;
	cfg->activity_batch = 1;
	cfg->orch_batch = 1;
}

static int check_config(const struct dura_runtime_config *cfg, char *err, size_t errlen)
{
	int launcher_only = cfg->orch_workers == 0 && cfg->activity_workers == 0;
	if (!launcher_only && (cfg->orch_workers < 1 || cfg->activity_workers < 1)) {
		dura_errbuf(err, errlen, "runtime: need at least one orchestration dispatcher "
		            "and one activity worker (got %u:%u)",
		            cfg->orch_workers, cfg->activity_workers);
		return -1;
	}
	if (cfg->orch_workers > 1024 || cfg->activity_workers > 1024) {
		dura_errbuf(err, errlen, "runtime: at most 1024 dispatchers/workers (got %u:%u)",
		            cfg->orch_workers, cfg->activity_workers);
		return -1;
	}
	if (cfg->orch_lock_ms == 0 || cfg->work_lock_ms == 0) {
		dura_errbuf(err, errlen, "runtime: lock durations must be positive");
		return -1;
	}
	if (cfg->activity_batch > DURA_RT_MAX_BATCH) {
		dura_errbuf(err, errlen, "runtime: activity_batch %u is more than %u",
		            cfg->activity_batch, DURA_RT_MAX_BATCH);
		return -1;
	}
	if (cfg->orch_batch > DURA_RT_MAX_BATCH) {
		dura_errbuf(err, errlen, "runtime: orch_batch %u is more than %u",
		            cfg->orch_batch, DURA_RT_MAX_BATCH);
		return -1;
	}
	if (cfg->max_attempts == 0) {
		dura_errbuf(err, errlen, "runtime: max_attempts must be at least 1");
		return -1;
	}
	return 0;
}

/* Joins every started thread (dispatchers and workers first: a worker may
 * still need its lock renewed while it finishes), then the renewer. */
/* Joins t; with a deadline (until, CLOCK_REALTIME as pthread_timedjoin_np
 * takes it) a thread still running then is detached instead.  Returns 1
 * when joined. */
static int join_thread(pthread_t t, const struct timespec *until)
{
	if (!until)
		return pthread_join(t, NULL) == 0;
	if (pthread_timedjoin_np(t, NULL, until) == 0)
		return 1;
	pthread_detach(t);
	return 0;
}

/* Stops and joins every thread (by `until` when not NULL); returns how
 * many were still running at the deadline (detached). */
static unsigned join_all(struct dura_runtime *rt, const struct timespec *until)
{
	unsigned stuck = 0;
	pthread_mutex_lock(&rt->mu);
	atomic_store(&rt->stopping, 1);
	pthread_cond_broadcast(&rt->cv);
	pthread_mutex_unlock(&rt->mu);
	for (unsigned i = 0; i < rt->n_orch_threads; i++)
		stuck += !join_thread(rt->orch_threads[i], until);
	for (unsigned i = 0; i < rt->n_work_threads; i++)
		stuck += !join_thread(rt->work_threads[i], until);
	rt->n_orch_threads = rt->n_work_threads = 0;
	if (rt->renewer_started) {
		pthread_mutex_lock(&rt->mu);
		atomic_store(&rt->renewer_stopping, 1);
		pthread_cond_broadcast(&rt->cv);
		pthread_mutex_unlock(&rt->mu);
		stuck += !join_thread(rt->renewer, until);
		rt->renewer_started = 0;
	}
	return stuck;
}

static void rt_free(struct dura_runtime *rt)
{
	pthread_cond_destroy(&rt->cv);
	pthread_mutex_destroy(&rt->mu);
	pthread_mutex_destroy(&rt->cb_mu);
	pthread_mutex_destroy(&rt->err_mu);
	free(rt->orch_threads);
	free(rt->work_threads);
	free(rt->slots);
	free(rt->worker_args);
	free(rt);
}

int dura_runtime_start(const struct dura_provider_ops *ops, dura_store *store,
                       const struct dura_registry *reg,
                       const struct dura_runtime_config *cfg,
                       dura_completion_cb cb, void *cb_arg,
                       struct dura_runtime **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!ops || !store || !reg || !cfg) {
		dura_errbuf(err, errlen, "runtime: missing provider, store, registry or config");
		return -1;
	}
	if (check_config(cfg, err, errlen) != 0)
		return -1;

	/* Owned by the caller through dura_runtime_stop. */
	struct dura_runtime *rt = dura_xcalloc(1, sizeof *rt);
	rt->ops = ops;
	rt->store = store;
	rt->reg = reg;
	rt->cfg = *cfg;
	rt->cb = cb;
	rt->cb_arg = cb_arg;
	/* Optional operations, NULL when beyond the plugin's struct_size. */
	rt->ack_orch_fetch = DURA_OPT_OP(ops, ack_orchestration_item_and_fetch);
	rt->ack_work_fetch = DURA_OPT_OP(ops, ack_work_item_and_fetch);
	rt->fetch_items = DURA_OPT_OP(ops, fetch_work_items);
	rt->ack_items_fetch = DURA_OPT_OP(ops, ack_work_items_and_fetch);
	rt->fetch_orchs = DURA_OPT_OP(ops, fetch_orchestration_items);
	rt->ack_orchs_fetch = DURA_OPT_OP(ops, ack_orchestration_items_and_fetch);
	rt->start_fn = ops->enqueue_orchestrator;
	if (cfg->stamp_starts) {
		rt->start_fn = DURA_OPT_OP(ops, start_instances);
		if (!rt->start_fn) {
			dura_errbuf(err, errlen, "runtime: plugin '%s' cannot stamp start times "
			            "(no start_instances operation: ABI 1.3 scale-out)", ops->name);
			free(rt);
			return -1;
		}
	}
	/* Batches need both operations; otherwise one item at a time. */
	rt->batch = cfg->activity_batch > 1 && rt->fetch_items && rt->ack_items_fetch
	            ? cfg->activity_batch : 1;
	rt->orch_batch = cfg->orch_batch > 1 && rt->fetch_orchs && rt->ack_orchs_fetch
	                 ? cfg->orch_batch : 1;
	pthread_mutex_init(&rt->mu, NULL);
	pthread_mutex_init(&rt->cb_mu, NULL);
	pthread_mutex_init(&rt->err_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rt->cv, &ca);
	pthread_condattr_destroy(&ca);
	rt->orch_threads = dura_xcalloc(cfg->orch_workers, sizeof(pthread_t));
	rt->work_threads = dura_xcalloc(cfg->activity_workers, sizeof(pthread_t));
	/* One renewal slot per item a worker may hold: its whole batch. */
	rt->n_slots = (size_t)cfg->activity_workers * rt->batch;
	rt->slots = dura_xcalloc(rt->n_slots, sizeof *rt->slots);
	rt->worker_args = dura_xcalloc(cfg->activity_workers, sizeof *rt->worker_args);

	int prc = pthread_create(&rt->renewer, NULL, dura_rt_renewer_main, rt);
	rt->renewer_started = prc == 0;
	for (unsigned i = 0; prc == 0 && i < cfg->activity_workers; i++) {
		rt->worker_args[i].rt = rt;
		rt->worker_args[i].index = i;
		prc = pthread_create(&rt->work_threads[i], NULL, dura_rt_worker_main,
		                     &rt->worker_args[i]);
		if (prc == 0)
			rt->n_work_threads++;
	}
	for (unsigned i = 0; prc == 0 && i < cfg->orch_workers; i++) {
		prc = pthread_create(&rt->orch_threads[i], NULL, dura_rt_orch_main, rt);
		if (prc == 0)
			rt->n_orch_threads++;
	}
	if (prc != 0) {
		dura_errbuf(err, errlen, "runtime: cannot start threads: %s", strerror(prc));
		join_all(rt, NULL);
		rt_free(rt);
		return -1;
	}
	*out = rt;
	return 0;
}

/* 1 when the caller wants no more start retries (an interrupt must not wait
 * for a stalled store through every retry of a start). */
static int start_cancelled(const struct dura_runtime *rt)
{
	return rt->cfg.cancel_starts && *rt->cfg.cancel_starts;
}

int dura_runtime_start_orchestration(struct dura_runtime *rt, const char *instance,
                                     const char *name, const void *input,
                                     size_t len, char *err, size_t errlen)
{
	if (!instance || !*instance || !name || !*name) {
		dura_errbuf(err, errlen, "start: empty instance id or orchestration name");
		return -1;
	}
	struct dura_rec r = { 0 };
	r.kind = DURA_MSG_START;
	r.execution = 1;
	r.name = dura_slice_str(name);
	r.data.data = input;
	r.data.len = input ? len : 0;
	/* Small starts are encoded on the stack (the common case); larger
	 * ones in a heap buffer freed below. */
	uint8_t stack[512];
	struct dura_buf heap = { 0 };
	struct dura_message m = { .instance = instance, .delay_ms = 0 };
	size_t need = dura_codec_encoded_size(&r);
	if (need <= sizeof stack) {
		struct dura_buf b = { stack, 0, sizeof stack };
		dura_codec_encode(&b, &r); /* fits: never reallocates */
		m.body.data = stack;
		m.body.len = b.len;
	} else {
		dura_codec_encode(&heap, &r);
		m.body.data = heap.data;
		m.body.len = heap.len;
	}
	struct dura_err e;
	dura_rc rc;
	for (unsigned attempt = 0;; attempt++) {
		rc = rt->start_fn(rt->store, &m, 1, &e);
		if (rc != DURA_RETRY || start_cancelled(rt) || dura_rt_backoff(rt, attempt) != 0)
			break;
	}
	dura_buf_free(&heap);
	if (rc != DURA_OK) {
		DURA_COUNT(rt, infra_errors);
		dura_rt_note_error(rt, &e);
		dura_errbuf(err, errlen, "start %s: %s", instance, e.msg);
		return -1;
	}
	return 0;
}

int dura_runtime_start_orchestrations(struct dura_runtime *rt, size_t n,
                                      const struct dura_start *starts,
                                      char *err, size_t errlen)
{
	if (n == 0)
		return 0;
	if (!starts) {
		dura_errbuf(err, errlen, "start: no instances given");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!starts[i].instance.len || !starts[i].instance.data[0] ||
		    !starts[i].orchestration || !*starts[i].orchestration) {
			dura_errbuf(err, errlen,
			            "start: empty instance id or orchestration name (start %zu of %zu)",
			            i + 1, n);
			return -1;
		}
	/* All bodies go into one buffer (owned here, freed below); the
	 * messages point into it once it no longer moves. */
	struct dura_rec r = { 0 };
	r.kind = DURA_MSG_START;
	r.execution = 1;
	struct dura_message *m = dura_xcalloc(n, sizeof *m);
	size_t *off = dura_xcalloc(n, sizeof *off);
	struct dura_buf bodies = { 0 };
	for (size_t i = 0; i < n; i++) {
		r.name = dura_slice_str(starts[i].orchestration);
		r.data.data = starts[i].input.data;
		r.data.len = starts[i].input.len;
		off[i] = bodies.len;
		dura_codec_encode(&bodies, &r);
	}
	for (size_t i = 0; i < n; i++) {
		m[i].instance = (const char *)starts[i].instance.data;
		m[i].delay_ms = 0;
		m[i].body.data = bodies.data + off[i];
		m[i].body.len = (i + 1 < n ? off[i + 1] : bodies.len) - off[i];
	}
	struct dura_err e;
	dura_rc rc;
	for (unsigned attempt = 0;; attempt++) {
		rc = rt->start_fn(rt->store, m, n, &e);
		if (rc != DURA_RETRY || start_cancelled(rt) || dura_rt_backoff(rt, attempt) != 0)
			break;
	}
	dura_buf_free(&bodies);
	free(off);
	free(m);
	if (rc != DURA_OK) {
		DURA_COUNT(rt, infra_errors);
		dura_rt_note_error(rt, &e);
		const char *first = (const char *)starts[0].instance.data;
		if (n == 1)
			dura_errbuf(err, errlen, "start %s: %s", first, e.msg);
		else
			dura_errbuf(err, errlen, "start of %zu instances (%s ... %s): %s", n, first,
			            (const char *)starts[n - 1].instance.data, e.msg);
		return -1;
	}
	return 0;
}

void dura_runtime_get_stats(struct dura_runtime *rt, struct dura_runtime_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!rt)
		return;
	out->turns = atomic_load(&rt->c.turns);
	out->activities_executed = atomic_load(&rt->c.activities_executed);
	out->retries = atomic_load(&rt->c.retries);
	out->abandons = atomic_load(&rt->c.abandons);
	out->lock_lost = atomic_load(&rt->c.lock_lost);
	out->poisoned = atomic_load(&rt->c.poisoned);
	out->infra_errors = atomic_load(&rt->c.infra_errors);
	out->ignored_messages = atomic_load(&rt->c.ignored_messages);
	out->corrupt = atomic_load(&rt->c.corrupt);
}

void dura_rt_note_error(struct dura_runtime *rt, const struct dura_err *err)
{
	pthread_mutex_lock(&rt->err_mu);
	snprintf(rt->last_err, sizeof rt->last_err, "%.*s",
	         (int)strnlen(err->msg, sizeof err->msg), err->msg);
	pthread_mutex_unlock(&rt->err_mu);
}

void dura_runtime_last_error(struct dura_runtime *rt, char *buf, size_t len)
{
	if (!len)
		return;
	buf[0] = '\0';
	if (!rt)
		return;
	pthread_mutex_lock(&rt->err_mu);
	snprintf(buf, len, "%s", rt->last_err);
	pthread_mutex_unlock(&rt->err_mu);
}

void dura_runtime_abort(struct dura_runtime *rt)
{
	if (!rt)
		return;
	pthread_mutex_lock(&rt->mu);
	atomic_store(&rt->aborting, 1);
	atomic_store(&rt->stopping, 1);
	pthread_cond_broadcast(&rt->cv);
	pthread_mutex_unlock(&rt->mu);
}

void dura_runtime_stop(struct dura_runtime *rt)
{
	if (!rt)
		return;
	join_all(rt, NULL);
	rt_free(rt);
}

unsigned dura_runtime_stop_within(struct dura_runtime *rt, uint64_t wait_ms)
{
	if (!rt)
		return 0;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(wait_ms / 1000);
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	unsigned stuck = join_all(rt, &until);
	if (stuck == 0) {
		rt_free(rt);
		return 0;
	}
	/* the caller's state goes away when it returns: a thread that comes
	 * back from its call later must not report to it */
	pthread_mutex_lock(&rt->cb_mu);
	rt->detached = 1;
	pthread_mutex_unlock(&rt->cb_mu);
	/* else the detached threads still use rt (and the store): it is left
	 * allocated on purpose, freeing it under them would be a use after
	 * free; the process ends them when it exits */
	return stuck;
}
