/*
 * The driver's side of a scale-out run (see driver_processes.h): contract
 * and state notes, local worker processes and the kill-worker fault, and
 * the thread that drains the store's completion feed.
 */
#include "driver_processes.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "feed_failure.h"

#define FEED_BATCH 256
#define FEED_IDLE_MS 5     /* between polls of an empty feed */
#define STOP_GRACE_MS 5000

struct dura_so {
	const struct dura_provider_ops *ops;
	dura_store *store;
	struct dura_scaleout_params sp;
	struct dura_workers *workers;   /* owned; NULL for external workers */
	dura_feed_cb cb;
	void *cb_arg;
	uint64_t t0;                    /* dura_so_start */

	pthread_t feed;
	int feed_started;
	atomic_int feed_stop;           /* 1: read until empty, then end */
	_Atomic uint64_t feed_polls;
	_Atomic uint64_t feed_entries;
	char feed_error[256];           /* the first failed take (feed thread) */
	uint64_t feed_ack;              /* take_completions_acked: the last
	                                   batch recorded (feed thread) */

	/* the kill-worker fault (the fault thread, dura_so_bind_faults):
	 * workers killed that will be started again */
	atomic_int restart_pending;
	uint64_t activities_seen;       /* dura_so_activities (launching thread) */
	struct dura_stats stats_before; /* the driver handle's counters */
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Hands one feed entry to the callback.  A failure's category and text
 * are read back from the store (feed_failure.h): failures are rare, so the
 * extra reads cost nothing measurable. */
static void report_entry(struct dura_so *so, const struct dura_completion *x)
{
	int64_t us = x->completed_us - x->started_us;
	uint64_t latency_ns = us > 0 ? (uint64_t)us * 1000u : 0;
	char text[512];
	enum dura_outcome o;
	if (x->status == DURA_STATUS_COMPLETED) {
		so->cb(so->cb_arg, x->instance, DURA_OUTCOME_COMPLETED, latency_ns, "");
		return;
	}
	if (x->status == DURA_STATUS_FAILED) {
		o = dura_feed_failure(so->ops, so->store, x->instance, text, sizeof text);
	} else {
		o = DURA_OUTCOME_FAILED_INFRA;
		snprintf(text, sizeof text, "ended with status %d", (int)x->status);
	}
	so->cb(so->cb_arg, x->instance, o, latency_ns, text);
}

/* One take: hands every entry to the callback.  Returns the number read,
 * or -1 on an error.  With take_completions_acked a batch is acknowledged
 * by the next call, made only once its entries were handed on: a call whose
 * reply was lost is made again with the same ack and returns them again. */
static int take_once(struct dura_so *so)
{
	dura_take_completions_fn *take = DURA_OPT_OP(so->ops, take_completions);
	dura_take_completions_acked_fn *take_acked = DURA_OPT_OP(so->ops, take_completions_acked);
	dura_release_completions_fn *release = DURA_OPT_OP(so->ops, release_completions);
	struct dura_completions *c = NULL;
	struct dura_err e = { .msg = "" };
	atomic_fetch_add(&so->feed_polls, 1);
	dura_rc rc = take_acked ? take_acked(so->store, so->feed_ack, FEED_BATCH, &c, &e)
	                        : take(so->store, FEED_BATCH, &c, &e);
	if (rc == DURA_EMPTY)
		return 0;
	if (rc != DURA_OK) {
		if (!so->feed_error[0])
			snprintf(so->feed_error, sizeof so->feed_error, "%s", e.msg);
		return -1;
	}
	for (size_t i = 0; i < c->n; i++)
		report_entry(so, &c->items[i]);
	so->feed_ack++; /* recorded: the next call acknowledges this batch */
	atomic_fetch_add(&so->feed_entries, c->n);
	int n = (int)c->n;
	release(so->store, c);
	return n;
}

static void *feed_main(void *arg)
{
	struct dura_so *so = arg;
	for (;;) {
		int stopping = atomic_load(&so->feed_stop);
		int n = take_once(so);
		if (n == FEED_BATCH)
			continue;
		if (stopping && n == 0)
			break;
		if (stopping && n < 0) /* the store is gone: nothing more to read */
			break;
		sleep_ms(FEED_IDLE_MS);
	}
	return NULL;
}

static void get_stats(struct dura_so *so, struct dura_stats *st)
{
	memset(st, 0, sizeof *st);
	st->struct_size = sizeof *st;
	dura_rc (*fn)(dura_store *, struct dura_stats *) = DURA_OPT_OP(so->ops, stats);
	if (fn)
		fn(so->store, st);
}

/* Waits until `want` workers have put their first note (each does once
 * its dispatchers run), so the run's clock starts with its workers
 * running: a slow worker start is not measured, and a fault's `at` is
 * counted from a run whose workers are there.  Local workers (so->workers)
 * that exit first end the wait with their failure; Ctrl-C ends it too. */
static int wait_for_workers(struct dura_so *so, size_t want, const char *name, char *err,
                            size_t errlen)
{
	uint64_t deadline = dura_now_ns() + so->sp.join_wait_ms * 1000000u;
	while (dura_now_ns() < deadline && !(so->sp.stop && *so->sp.stop)) {
		struct dura_worker_counts sum;
		size_t n = 0;
		if (dura_worker_counts_sum(so->ops, so->store, &sum, &n, err, errlen) != 0)
			return -1;
		if (n >= want) {
			if (so->sp.external)
				fprintf(stderr, "durabench: %zu worker(s) joined; starting\n", n);
			else if (!so->sp.quiet)
				fprintf(stderr, "durabench: %zu worker processes joined; starting\n", n);
			return 0;
		}
		if (so->workers && dura_workers_alive(so->workers) < dura_workers_count(so->workers)) {
			char why[256];
			dura_workers_failure(so->workers, why, sizeof why);
			dura_errbuf(err, errlen, "a worker process ended before the run started: %s", why);
			return -1;
		}
		sleep_ms(so->sp.external ? 200 : 20);
	}
	if (so->sp.stop && *so->sp.stop)
		dura_errbuf(err, errlen, "interrupted while waiting for the workers of run %s", name);
	else
		dura_errbuf(err, errlen, "%s worker%s joined run %s within %" PRIu64 " s",
		            so->sp.external ? "no" : "not every", so->sp.external ? "" : " process",
		            name, so->sp.join_wait_ms / 1000);
	return -1;
}

static void so_free(struct dura_so *so)
{
	free(so);
}

int dura_so_start(const struct dura_provider_ops *ops, dura_store *store,
                  const struct dura_scaleout_params *sp, unsigned orch_workers,
                  unsigned activity_workers, dura_feed_cb cb, void *cb_arg,
                  struct dura_so **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!dura_scaleout_supported(ops)) {
		dura_errbuf(err, errlen, "plugin '%s' cannot share a store between processes "
		            "(it lacks the ABI 1.3 scale-out operations)", ops->name);
		return -1;
	}
	char name[512];
	if (DURA_OPT_OP(ops, store_name)(store, name, sizeof name) != DURA_OK) {
		/* the reason is in the name buffer (provider.h) */
		dura_errbuf(err, errlen, "%s", name);
		return -1;
	}
	char contract[2048];
	if (dura_contract_make(sp->scenario, sp->build, orch_workers, activity_workers, contract,
	                       sizeof contract, err, errlen) != 0 ||
	    dura_note_put(ops, store, DURA_NOTE_CONTRACT, contract, err, errlen) != 0 ||
	    dura_note_put(ops, store, DURA_NOTE_STATE, DURA_STATE_RUNNING, err, errlen) != 0)
		return -1;

	struct dura_so *so = dura_xcalloc(1, sizeof *so);
	so->ops = ops;
	so->store = store;
	so->sp = *sp;
	so->cb = cb;
	so->cb_arg = cb_arg;
	if (sp->external) {
		fprintf(stderr,
		        "durabench: waiting up to %" PRIu64 " s for workers; on each worker host "
		        "run:\n  durabench worker %s --provider %s --join %s\n",
		        sp->join_wait_ms / 1000, sp->spawn.file, sp->spawn.provider, name);
	} else {
		struct dura_worker_spawn spawn = sp->spawn;
		spawn.join = name;
		if (dura_workers_start(&spawn, sp->processes, &so->workers, err, errlen) != 0) {
			so_free(so);
			return -1;
		}
	}
	if (wait_for_workers(so, sp->external ? 1 : sp->processes, name, err, errlen) != 0) {
		dura_workers_stop(so->workers, 0);
		so_free(so);
		return -1;
	}
	get_stats(so, &so->stats_before);
	so->t0 = dura_now_ns();
	if (pthread_create(&so->feed, NULL, feed_main, so) != 0) {
		dura_errbuf(err, errlen, "cannot start the completion feed thread");
		dura_workers_stop(so->workers, 0);
		so_free(so);
		return -1;
	}
	so->feed_started = 1;
	*out = so;
	return 0;
}

/* kill -9 of local worker index; will_restart: a restart follows, so a
 * run whose only worker this is does not end meanwhile. */
static int kill_worker(struct dura_so *so, unsigned index, int will_restart, char *err,
                       size_t errlen)
{
	if (!so->workers) {
		dura_errbuf(err, errlen, "the run's workers joined from elsewhere");
		return -1;
	}
	if (will_restart)
		atomic_fetch_add(&so->restart_pending, 1);
	if (dura_workers_kill(so->workers, index) != 0) {
		if (will_restart)
			atomic_fetch_sub(&so->restart_pending, 1);
		dura_errbuf(err, errlen, "worker %u is not running", index);
		return -1;
	}
	fprintf(stderr, "durabench: kill-worker: kill -9 of worker %u at %.1f s\n", index,
	        (double)(dura_now_ns() - so->t0) / 1e9);
	return 0;
}

static int restart_worker(struct dura_so *so, unsigned index, char *err, size_t errlen)
{
	int rc = dura_workers_restart(so->workers, index, err, errlen);
	atomic_fetch_sub(&so->restart_pending, 1);
	return rc;
}

static int faults_begin(void *arg, size_t i, char *err, size_t errlen)
{
	struct dura_so_faults *sf = arg;
	const struct dura_fault_step *st = &sf->plan.steps[i];
	if (st->kill_worker)
		return kill_worker(sf->so, st->worker, st->for_ms > 0, err, errlen);
	return sf->inner->begin(sf->inner->arg, i, err, errlen);
}

static int faults_end(void *arg, size_t i, char *err, size_t errlen)
{
	struct dura_so_faults *sf = arg;
	const struct dura_fault_step *st = &sf->plan.steps[i];
	if (st->kill_worker)
		return restart_worker(sf->so, st->worker, err, errlen);
	return sf->inner->end(sf->inner->arg, i, err, errlen);
}

void dura_so_bind_faults(struct dura_so *so, const struct dura_fault_plan *inner,
                         struct dura_so_faults *out)
{
	memset(out, 0, sizeof *out);
	out->so = so;
	out->inner = inner;
	if (!inner)
		return;
	out->plan = *inner;
	out->plan.begin = faults_begin;
	out->plan.end = faults_end;
	out->plan.arg = out;
}

unsigned dura_so_tick(struct dura_so *so)
{
	if (!so->workers)
		return 1;
	unsigned alive = dura_workers_alive(so->workers);
	/* a killed worker that will be restarted still counts */
	if (alive == 0 && atomic_load(&so->restart_pending) > 0)
		alive = 1;
	return alive;
}

uint64_t dura_so_activities(struct dura_so *so)
{
	struct dura_worker_counts sum;
	size_t n;
	char err[256];
	/* the count only grows: a read that fails (the database is down)
	 * gives the last one read, never 0, so that a difference of two
	 * readings cannot wrap */
	if (dura_worker_counts_sum(so->ops, so->store, &sum, &n, err, sizeof err) == 0 &&
	    sum.activities > so->activities_seen)
		so->activities_seen = sum.activities;
	return so->activities_seen;
}

void dura_so_finish(struct dura_so *so, struct dura_scaleout_result *out)
{
	if (!so)
		return;
	memset(out, 0, sizeof *out);
	char err[512];
	if (so->workers) { /* before "done": from then on, exits are expected */
		out->all_died = dura_workers_alive(so->workers) == 0;
		dura_workers_failure(so->workers, out->workers_failure, sizeof out->workers_failure);
		if (out->all_died && !out->workers_failure[0]) /* none ended on its own */
			snprintf(out->workers_failure, sizeof out->workers_failure,
			         "the kill-worker fault killed the last worker");
	}
	if (dura_note_put(so->ops, so->store, DURA_NOTE_STATE, DURA_STATE_DONE, err, sizeof err) != 0)
		fprintf(stderr, "durabench: cannot tell the workers the run is over (%s); "
		        "stopping them by signal\n", err);
	dura_workers_stop(so->workers, STOP_GRACE_MS);
	atomic_store(&so->feed_stop, 1);
	if (so->feed_started)
		pthread_join(so->feed, NULL);
	out->processes = so->sp.processes;
	out->external = so->sp.external;
	out->feed_polls = atomic_load(&so->feed_polls);
	out->feed_entries = atomic_load(&so->feed_entries);
	dura_worker_counts_sum(so->ops, so->store, &out->workers, &out->workers_seen, err,
	                       sizeof err);
	get_stats(so, &out->driver_stats);
#define D(f) out->driver_stats.f -= so->stats_before.f < out->driver_stats.f ? so->stats_before.f : out->driver_stats.f;
	D(round_trips) D(commits) D(empty_fetches) D(lock_conflicts) D(retries) D(reconnects)
#undef D
	so_free(so);
}
