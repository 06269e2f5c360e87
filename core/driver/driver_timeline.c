/*
 * The timeline phase: the monitor's samples and the instance records become
 * runs[].timeline[], and each fault of the run gets its recovery figures
 * (timeline.c computes; this file only gathers).
 */
#include "config.h"

#include "driver_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void dura_drv_sample(void *arg, struct dura_timeline_sample *s)
{
	struct driver_run *r = arg;
	s->activities = dura_workload_activities_run(r->wl);
	dura_rc (*fn)(dura_store *, struct dura_stats *) = DURA_OPT_OP(r->ops, stats);
	s->stats.struct_size = sizeof s->stats;
	s->have_stats = fn && fn(r->store, &s->stats) == DURA_OK;
}

static void fault_figures(const struct driver_run *r, struct dura_run_result *out,
                          const struct dura_window *busy, size_t k, uint64_t last_ns)
{
	struct dura_fault_result *fr = &out->faults[k];
	if (!fr->applied) {
		fr->before_orch_per_sec = fr->recovery_s = NAN;
		return;
	}
	struct dura_recovery rec;
	dura_recovery_compute(out->timeline, out->n_timeline, (double)r->p->warmup_ms / 1e3, busy,
	                      out->n_faults, k, &rec);
	fr->before_orch_per_sec = rec.before_orch_per_sec;
	fr->recovery_s = rec.recovery_s;
	dura_timeline_sum_stats(out->timeline, out->n_timeline, fr->begin_s, rec.settled_s,
	                        &fr->retries, &fr->reconnects);
	struct dura_fault_instances fi;
	dura_fault_instances(r->d.inst, r->d.launched, r->t0 + (uint64_t)(fr->begin_s * 1e9),
	                     r->t0 + (uint64_t)(fr->end_s * 1e9), last_ns, &fi);
	fr->max_latency_ms = fi.max_latency_ms;
	fr->failed = fi.failed;
	fr->lost = fi.lost;
}

void dura_drv_timeline(struct driver_run *r, struct dura_run_result *out)
{
	uint64_t interval_ns = r->p->interval_ms * 1000000u;
	out->interval_s = (double)r->p->interval_ms / 1e3;
	/* launching ends at duration (a few microseconds late is no interval
	 * of its own), or where a stop request cut it */
	uint64_t end = r->stopped_at ? r->stopped_at : r->t0 + r->p->duration_ms * 1000000u;
	if (interval_ns)
		out->n_timeline = dura_timeline_build(r->d.inst, r->d.launched, r->t0, end,
		                                      interval_ns, r->samples, r->n_samples,
		                                      &out->timeline);
	size_t n = r->fault_results ? r->p->faults->n : 0;
	if (n == 0)
		return;
	/* handed to out (dura_run_result_release frees it) */
	out->faults = r->fault_results;
	out->n_faults = n;
	r->fault_results = NULL;
	struct dura_window *busy = dura_xcalloc(n, sizeof *busy);
	for (size_t k = 0; k < n; k++) {
		const struct dura_fault_result *fr = &out->faults[k];
		busy[k].begin_s = fr->applied ? fr->begin_s : -1;
		busy[k].end_s = fr->applied ? fr->end_s : -1;
	}
	uint64_t last_ns = dura_now_ns();
	for (size_t k = 0; k < n; k++)
		fault_figures(r, out, busy, k, last_ns);
	free(busy);
}
