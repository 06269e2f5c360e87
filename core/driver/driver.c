/*
 * The stress driver: keeps max_concurrent instances in flight (or launches
 * at a fixed rate), measures latency from the start call to the committed
 * terminal ack, counts throughput over the steady window (warm-up excluded),
 * drains, classifies every instance exactly once, then verifies every
 * completed instance against storage.  The phases of a run are listed in
 * driver_int.h; this file holds setup, drain, result and the run itself.
 */
#include "config.h"

#include "driver_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "runtime/runtime.h"
#include "steady_state.h"

static void get_provider_stats(const struct dura_provider_ops *ops, dura_store *store,
                               struct dura_stats *st, int *have)
{
	dura_stats_fn *fn = DURA_OPT_OP(ops, stats);
	memset(st, 0, sizeof *st);
	st->struct_size = sizeof *st;
	*have = fn && fn(store, st) == DURA_OK;
}

static void stats_delta(struct dura_stats *after, const struct dura_stats *before)
{
#define D(f) after->f = after->f >= before->f ? after->f - before->f : 0
	D(round_trips); D(commits); D(empty_fetches); D(lock_conflicts); D(retries); D(reconnects);
#undef D
}

/* Frees what setup made (safe on a partly set up run). */
static void run_teardown(struct driver_run *r)
{
	free(r->samples);
	free(r->fault_results);
	dura_drv_destroy(&r->d);
	dura_registry_free(r->reg);
	dura_workload_free(r->wl);
}

/* Builds the workload and its registry and starts the runtime, whose
 * threads report to r->d.  -1 with err (nothing left to free) when the run
 * cannot happen. */
static int run_setup(struct driver_run *r, const struct dura_provider_ops *ops,
                     dura_store *store, const struct dura_run_params *p, char *err,
                     size_t errlen)
{
	memset(r, 0, sizeof *r);
	r->p = p;
	r->ops = ops;
	r->store = store;
	r->wd = p->workload;
	if (!r->wd) {
		dura_errbuf(err, errlen, "no workload given");
		return -1;
	}
	if (dura_workload_new(r->wd, &r->wl, err, errlen) != 0)
		return -1;
	get_provider_stats(ops, store, &r->stats_before, &r->have_stats_before);
	r->reg = dura_registry_new();
	dura_workload_register(r->wl, r->reg);
	dura_drv_init(&r->d, p->instance_prefix);

	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.orch_workers = p->orch_workers ? p->orch_workers : 1;
	cfg.activity_workers = p->activity_workers ? p->activity_workers : 1;
	cfg.activity_batch = p->activity_batch ? p->activity_batch : 1;
	cfg.orch_batch = p->orch_batch ? p->orch_batch : 1;
	cfg.cancel_starts = p->stop;
	r->activity_workers = cfg.activity_workers;
	if (p->scaleout) {
		/* this process only launches: the worker processes run the
		 * dispatchers; every one runs W activity workers */
		cfg.orch_workers = cfg.activity_workers = 0;
		cfg.stamp_starts = 1;
		r->activity_workers *= p->scaleout->processes;
	}
	r->total_s = (double)p->duration_ms / 1e3;
	sigset_t old_mask;
	dura_drv_block_interrupts(&old_mask);
	int rc = dura_runtime_start(ops, store, r->reg, &cfg,
	                            p->scaleout ? NULL : dura_drv_on_complete, &r->d, &r->rt,
	                            err, errlen);
	struct dura_scaleout_params sp;
	if (p->scaleout) {
		sp = *p->scaleout;
		sp.stop = p->stop;
	}
	if (rc == 0 && p->scaleout &&
	    dura_so_start(ops, store, &sp, p->orch_workers ? p->orch_workers : 1,
	                  p->activity_workers ? p->activity_workers : 1, dura_drv_on_feed, &r->d,
	                  &r->so, err, errlen) != 0) {
		dura_runtime_stop(r->rt);
		r->rt = NULL;
		rc = -1;
	}
	dura_drv_restore_mask(&old_mask);
	if (rc != 0) {
		run_teardown(r);
		return -1;
	}
	r->pg = p->progress;
	return 0;
}

/* Scale-out: the workers stop; their counters become the run's (the
 * driver's runtime only launched). */
static void finish_scaleout(struct driver_run *r, struct dura_run_result *out)
{
	dura_so_finish(r->so, &out->scaleout);
	r->so = NULL;
	out->scaled_out = 1;
	if (out->scaleout.all_died)
		dura_drv_record_failure(&r->d, "infra", "every worker process ended before the run did (%s)",
		                        out->scaleout.workers_failure);
	out->runtime_stats.turns = out->scaleout.workers.turns;
	out->runtime_stats.activities_executed = out->scaleout.workers.activities;
	out->runtime_stats.infra_errors += out->scaleout.workers.infra_errors;
}

/* The store's work is the workers' and the driver's together. */
static void add_worker_stats(struct dura_stats *st, const struct dura_run_result *out)
{
	const struct dura_stats *w = &out->scaleout.workers.stats;
	st->round_trips += w->round_trips;
	st->commits += w->commits;
	st->empty_fetches += w->empty_fetches;
	st->lock_conflicts += w->lock_conflicts;
	st->retries += w->retries;
	st->reconnects += w->reconnects;
}

/* Waits up to drain_timeout_ms for the instances still in flight, then
 * classifies what still runs as timed out and closes the books: later
 * callbacks only count as late.  Stops the runtime. */
static void run_drain(struct driver_run *r, struct dura_run_result *out)
{
	struct driver *d = &r->d;
	pthread_mutex_lock(&d->mu);
	uint64_t launch_end = dura_now_ns();
	out->in_flight_at_end = d->in_flight;
	uint64_t deadline = launch_end + r->p->drain_timeout_ms * 1000000u;
	r->phase_start_ns = launch_end; /* the drain shows its own timeout */
	r->phase_total_s = (double)r->p->drain_timeout_ms / 1e3;
	uint64_t died_at = 0; /* scale-out: when no worker was left */
	while (d->in_flight > 0 && dura_now_ns() < deadline) {
		if (r->so && !died_at && dura_so_tick(r->so) == 0)
			died_at = dura_now_ns();
		/* nothing can finish any more: what the feed still holds arrives
		 * within a few polls */
		if (died_at && dura_now_ns() - died_at > 500000000u) {
			dura_drv_record_failure(d, "infra", "every worker process ended; %" PRIu64
			                        " instance(s) left unfinished", d->in_flight);
			break;
		}
		dura_drv_progress(r, "drain", 0);
		uint64_t w = dura_now_ns() + 100000000u;
		dura_drv_wait_until(d, w < deadline ? w : deadline);
	}
	uint64_t drained_at = d->in_flight > 0 ? dura_now_ns()
	                      : (d->last_completion_ns > launch_end ? d->last_completion_ns
	                                                            : launch_end);
	out->drain_ms = (double)(drained_at - launch_end) / 1e6;
	d->closed = 1;
	for (uint64_t i = 0; i < d->launched; i++)
		if (d->inst[i].outcome == DURA_DRV_RUNNING) {
			d->inst[i].outcome = DURA_DRV_TIMEOUT;
			d->outcomes[DURA_DRV_TIMEOUT]++;
		}
	if (d->outcomes[DURA_DRV_TIMEOUT] > 0) {
		/* stalled instances: the provider's last error says why, if any */
		char why[DURA_ERR_MAX];
		dura_runtime_last_error(r->rt, why, sizeof why);
		dura_drv_record_failure(d, "timeout", "%" PRIu64
		                        " instance(s) still running after the drain timeout%s%s",
		                        d->outcomes[DURA_DRV_TIMEOUT],
		                        why[0] ? "; the provider's last error: " : "", why);
	}
	d->in_flight = 0;
	dura_drv_progress(r, "drain", 1);
	pthread_mutex_unlock(&d->mu);
	double cpu_used = dura_drv_cpu_ms() - r->cpu0_ms;
	out->run_cpu_ms_per_orch = d->outcomes[DURA_OUTCOME_COMPLETED]
		? cpu_used / (double)d->outcomes[DURA_OUTCOME_COMPLETED] : 0;
	out->cpu_ms_per_orch = r->cpu_window_ms >= 0 && d->window_completed
		? r->cpu_window_ms / (double)d->window_completed : out->run_cpu_ms_per_orch;

	dura_runtime_get_stats(r->rt, &out->runtime_stats);
	if (r->so)
		finish_scaleout(r, out);
	if (d->outcomes[DURA_DRV_TIMEOUT] > 0)
		dura_runtime_abort(r->rt); /* the drain timeout is a hard cap */
	/* a provider call that never returns must not keep the report back */
	out->abandoned_threads = dura_runtime_stop_within(
		r->rt, r->p->stop_timeout_ms ? r->p->stop_timeout_ms : DURA_STOP_TIMEOUT_DEFAULT_MS);
	r->rt = NULL;
}

/* Fills the counts, the window throughput and the latency of out (no other
 * thread touches r->d any more). */
static void run_result(const struct driver_run *r, struct dura_run_result *out)
{
	const struct driver *d = &r->d;
	out->launched = d->launched;
	out->completed = d->outcomes[DURA_OUTCOME_COMPLETED];
	out->failed_app = d->outcomes[DURA_OUTCOME_FAILED_APP];
	out->failed_config = d->outcomes[DURA_OUTCOME_FAILED_CONFIG];
	out->failed_infra = d->outcomes[DURA_OUTCOME_FAILED_INFRA];
	out->failed_corrupt = d->outcomes[DURA_OUTCOME_FAILED_CORRUPT];
	out->timed_out = d->outcomes[DURA_DRV_TIMEOUT];
	out->success_pct = d->launched ? 100.0 * (double)out->completed / (double)d->launched : 0;
	/* [warmup, duration], or [warmup, stop] when interrupted (possibly
	 * empty: a rate over no time is unknown, not 0) */
	out->interrupted = r->stopped_at != 0;
	out->interrupted_after_s = r->stopped_at ? (double)(r->stopped_at - r->t0) / 1e9 : 0;
	out->window_s = d->win_end_ns > d->win_start_ns
		? (double)(d->win_end_ns - d->win_start_ns) / 1e9 : 0;
	double no_rate = out->interrupted ? NAN : 0;
	out->window_completed = d->window_completed;
	out->window_activities = r->window_activities;
	struct dura_steady_rate sr;
	dura_steady_rate_compute(d->inst, d->launched, d->win_start_ns, d->win_end_ns,
	                         dura_drv_cycle_period(r), &sr);
	out->orch_per_sec = out->window_s > 0 && !isnan(sr.stream_rate) ? sr.stream_rate
	                    : out->window_s > 0 ? 0 : no_rate;
	out->counted_orch_per_sec = out->window_s > 0 ? sr.counted_rate : no_rate;
	out->little_orch_per_sec = sr.little_rate;
	out->mean_in_flight = sr.mean_in_flight;
	out->stream_span_s = sr.stream_span_s;
	out->activities_per_sec =
		out->window_s > 0 ? (double)out->window_activities / out->window_s : no_rate;
	out->bound_orch_per_sec = dura_workload_bound(r->wd, r->activity_workers);
	out->bound_fraction =
		out->bound_orch_per_sec > 0 ? out->orch_per_sec / out->bound_orch_per_sec : 0;
	dura_steady_latency_compute(d->inst, d->launched, d->win_start_ns, d->win_end_ns,
	                            dura_drv_cycle_period(r), &out->latency);
	out->late_completions = d->late;
	snprintf(out->first_failure, sizeof out->first_failure, "%s", d->first_failure);
	snprintf(out->first_failure_category, sizeof out->first_failure_category, "%s",
	         d->first_failure_category);
	if (d->duplicates) {
		out->verify_failures += d->duplicates;
		snprintf(out->verify_error, sizeof out->verify_error, "%s", d->duplicate_msg);
	}
}

int dura_driver_run(const struct dura_provider_ops *ops, dura_store *store,
                    const struct dura_run_params *p, struct dura_run_result *out,
                    char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	struct driver_run r;
	if (run_setup(&r, ops, store, p, err, errlen) != 0)
		return -1;

	dura_drv_launch_loop(&r);
	run_drain(&r, out);

	int have_after = 0;
	get_provider_stats(ops, store, &out->provider_stats, &have_after);
	if (have_after && r.have_stats_before)
		stats_delta(&out->provider_stats, &r.stats_before);
	out->have_provider_stats = have_after;
	if (out->scaled_out)
		add_worker_stats(&out->provider_stats, out);
	run_result(&r, out);

	r.phase_start_ns = dura_now_ns();
	r.phase_total_s = 0;
	pthread_mutex_lock(&r.d.mu);
	dura_drv_progress(&r, "verify", 1);
	pthread_mutex_unlock(&r.d.mu);
	dura_drv_verify_all(&r.d, r.wl, ops, store,
	                    p->verify_timeout_ms ? p->verify_timeout_ms : DURA_VERIFY_TIMEOUT_DEFAULT_MS,
	                    out);
	dura_drv_timeline(&r, out);
	run_teardown(&r);
	return 0;
}
