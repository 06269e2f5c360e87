/*
 * What runs beside a measured run's launching thread: a sampler taking one
 * timeline sample per interval boundary, and the faults of the run, applied
 * and lifted at their times (each on a thread of its own, so a fault action
 * that takes a while, a server restart, never delays a sample).
 *
 * The driver knows faults only through dura_fault_plan: the callbacks do
 * the actions (core/cli binds them to the proxy and the url = auto server).
 */
#ifndef DURA_RUN_MONITOR_H
#define DURA_RUN_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "timeline.h"

/* One fault of a run, in time order within its plan. */
struct dura_fault_step {
	const char *name;       /* [fault NAME] */
	const char *action;     /* "restart-server", ... */
	uint64_t at_ms;         /* from the start of launching */
	uint64_t for_ms;        /* 0: the action is instantaneous (no end call) */
	int kill_worker;        /* 1: kill -9 of worker process `worker` (end:
	                           start it again), applied by the driver to its
	                           own workers (dura_so_bind_faults) */
	unsigned worker;
};

struct dura_fault_plan {
	const struct dura_fault_step *steps;
	size_t n;
	/* Apply / lift step i (called on the fault thread; end only for steps
	 * with for_ms > 0 whose begin succeeded, also when the run ends early).
	 * Return 0, or -1 with err filled. */
	int (*begin)(void *arg, size_t i, char *err, size_t errlen);
	int (*end)(void *arg, size_t i, char *err, size_t errlen);
	void *arg;
};

/* What happened to one fault of a run, and its recovery figures
 * (runs[].faults[] of the JSON report). */
struct dura_fault_result {
	const char *name, *action;  /* borrowed from the plan */
	double at_s, for_s;         /* as planned */
	int applied;                /* begin succeeded */
	double begin_s, end_s;      /* measured: the action started; it was over
	                               (lifted, or the instant action done) */
	char error[256];            /* why the action failed, "" if it did not */
	double before_orch_per_sec; /* NaN when unknown */
	double recovery_s;          /* NaN = not recovered */
	double max_latency_ms;
	struct dura_failed_counts failed;
	uint64_t retries, reconnects;
	uint64_t lost;
};

struct dura_run_monitor;

/* sample(arg, s) fills s->activities and the stats (t_ns is set by the
 * monitor); it is called at t0 and every interval_ns after, from its own
 * thread.  plan may be NULL.  Returns NULL only when interval_ns is 0 and
 * there is no plan (nothing to do). */
struct dura_run_monitor *dura_run_monitor_start(
	uint64_t t0_ns, uint64_t interval_ns,
	void (*sample)(void *arg, struct dura_timeline_sample *s), void *sample_arg,
	const struct dura_fault_plan *plan);

/* Ends launching's companions: faults not begun are skipped, faults under
 * way are lifted now, a last sample is taken; joins the threads.  Then
 * hands over the samples (*samples malloc'ed, caller frees) and fills
 * results[0..plan->n) (times relative to t0).  Frees m; safe with NULL. */
void dura_run_monitor_finish(struct dura_run_monitor *m, struct dura_timeline_sample **samples,
                             size_t *n_samples, struct dura_fault_result *results);

#endif
