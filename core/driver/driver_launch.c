/*
 * The launch phase: keeps max_concurrent instances in flight (closed loop)
 * or starts them at a fixed rate (open loop) until duration_ms or a stop
 * request, and samples the workload's activity count at the edges of the
 * steady window.
 */
#include "config.h"

#include "driver_int.h"

#include <inttypes.h>
#include <stdlib.h>

#include "base/util.h"
#include "runtime/runtime.h"
#include "steady_state.h"

#define WAKE_NS 100000000u /* 100 ms: progress line, stop flag, warmup edge */
#define TICK_NS 50000000u  /* 50 ms: scale-out worker watch */

/* One record per instance a single launch may start, reused from launch to
 * launch (their buffers keep their memory).  Owned by the launch loop. */
struct launch_slots {
	struct dura_start *start;
	size_t cap;
};

static void slots_grow(struct launch_slots *ls, size_t k)
{
	if (k <= ls->cap)
		return;
	ls->start = dura_xrealloc(ls->start, k * sizeof *ls->start);
	for (size_t i = ls->cap; i < k; i++)
		ls->start[i] = (struct dura_start){ 0 };
	ls->cap = k;
}

static void slots_free(struct launch_slots *ls)
{
	for (size_t i = 0; i < ls->cap; i++) {
		dura_buf_free(&ls->start[i].instance);
		dura_buf_free(&ls->start[i].input);
	}
	free(ls->start);
}

/* Makes room for instances up to seq0 + k (caller holds mu). */
static void inst_reserve(struct driver *d, uint64_t need)
{
	if (need <= d->cap)
		return;
	size_t cap = d->cap ? d->cap : 4096;
	while (cap < need)
		cap *= 2;
	d->inst = dura_xrealloc(d->inst, cap * sizeof *d->inst);
	d->cap = cap;
}

/* Starts instances number launched .. launched + k - 1 in one
 * dura_runtime_start_orchestrations call (one round trip): a closed loop
 * refilling k free slots pays one round trip, not k.  Their start time is
 * taken just before the call.  Called without mu. */
static void launch_many(struct driver_run *r, struct launch_slots *ls, size_t k)
{
	struct driver *d = &r->d;
	slots_grow(ls, k);
	/* Only this thread changes launched, so seq0 stays valid unlocked. */
	pthread_mutex_lock(&d->mu);
	uint64_t seq0 = d->launched;
	inst_reserve(d, seq0 + k);
	pthread_mutex_unlock(&d->mu);

	for (size_t i = 0; i < k; i++) {
		struct dura_start *s = &ls->start[i];
		s->orchestration = dura_workload_input(r->wl, seq0 + i, &s->input);
		dura_buf_reset(&s->instance);
		dura_buf_printf(&s->instance, "%s%" PRIu64, d->prefix, seq0 + i);
	}

	pthread_mutex_lock(&d->mu);
	uint64_t now = dura_now_ns();
	for (size_t i = 0; i < k; i++) {
		d->inst[seq0 + i] = (struct dura_inst_record){ .start_ns = now,
		                                                .outcome = DURA_DRV_RUNNING };
	}
	d->launched += k;
	d->in_flight += k;
	pthread_mutex_unlock(&d->mu);

	char err[512];
	if (dura_runtime_start_orchestrations(r->rt, k, ls->start, err, sizeof err) == 0)
		return;
	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < k; i++) {
		struct dura_inst_record *in = &d->inst[seq0 + i];
		if (in->outcome != DURA_DRV_RUNNING)
			continue;
		in->outcome = DURA_OUTCOME_FAILED_INFRA;
		in->end_ns = dura_now_ns();
		d->outcomes[DURA_OUTCOME_FAILED_INFRA]++;
		d->in_flight--;
		dura_drv_record_failure(d, "infra", "instance %s: start failed: %s",
		                        (const char *)ls->start[i].instance.data, err);
	}
	pthread_mutex_unlock(&d->mu);
}

/* How many instances to start at `now` (caller holds mu); lowers
 * *next_wake to when the next one is due if none is. */
static size_t instances_due(const struct driver_run *r, uint64_t now, uint64_t launched_open,
                            uint64_t *next_wake)
{
	if (r->wd->rate > 0) {
		uint64_t due = r->t0 + (uint64_t)((double)launched_open * 1e9 / r->wd->rate);
		if (now >= due)
			return 1;
		if (due < *next_wake)
			*next_wake = due;
		return 0;
	}
	/* every free slot at once: one start call refills them all; during
	 * the ramp-up only the slots opened so far */
	unsigned open = dura_ramp_open_slots(dura_drv_cycle_period(r), r->ramp_ns, now - r->t0);
	uint64_t next = dura_ramp_next_open_ns(dura_drv_cycle_period(r), r->ramp_ns, now - r->t0);
	if (next != UINT64_MAX && r->t0 + next < *next_wake)
		*next_wake = r->t0 + next;
	return r->d.in_flight < open ? (size_t)(open - r->d.in_flight) : 0;
}

unsigned dura_drv_cycle_period(const struct driver_run *r)
{
	if (r->wd->rate > 0)
		return 1;
	return r->wd->max_concurrent ? r->wd->max_concurrent : 1;
}

/* Activities run so far: by this process's runtime, or (scale-out) by the
 * worker processes, from their notes. */
static uint64_t activities_run(struct driver_run *r)
{
	return r->so ? dura_so_activities(r->so) : dura_workload_activities_run(r->wl);
}

void dura_drv_launch_loop(struct driver_run *r)
{
	struct driver *d = &r->d;
	const struct dura_run_params *p = r->p;
	uint64_t duration_ns = p->duration_ms * 1000000u;
	uint64_t warmup_ns = p->warmup_ms < p->duration_ms ? p->warmup_ms * 1000000u : 0;
	struct launch_slots ls = { 0 };
	r->cpu0_ms = dura_drv_cpu_ms();
	r->t0 = r->phase_start_ns = dura_now_ns();
	r->phase_total_s = r->total_s;
	uint64_t end = r->t0 + duration_ns, win_start = r->t0 + warmup_ns;
	/* kill-worker faults act on this run's own worker processes */
	const struct dura_fault_plan *faults = p->faults;
	if (r->so && faults) {
		dura_so_bind_faults(r->so, faults, &r->so_faults);
		faults = &r->so_faults.plan;
	}
	/* the closed loop's slots open one by one over the ramp-up, so its
	 * completions are spread over the cycle before the window opens
	 * instead of arriving in waves of max_concurrent */
	r->ramp_ns = r->wd->rate > 0 ? 0
	             : dura_ramp_length_ns(dura_drv_cycle_period(r),
	                                   dura_workload_bound(r->wd, r->activity_workers),
	                                   warmup_ns);
	r->monitor = dura_run_monitor_start(r->t0, p->interval_ms * 1000000u, dura_drv_sample, r,
	                                    faults);
	pthread_mutex_lock(&d->mu);
	d->win_start_ns = win_start;
	d->win_end_ns = end;
	pthread_mutex_unlock(&d->mu);

	/* activities in the window: the workload counts executions; sample it
	 * when the window opens and closes */
	uint64_t act_at_start = 0;
	int window_open = warmup_ns == 0;
	/* the process CPU likewise: connections, prepared statements and
	 * threads are set up during the warm-up, not per orchestration */
	double cpu_at_start = r->cpu0_ms;
	uint64_t launched_open = 0; /* open loop: instances started so far */
	uint64_t next_tick = 0;      /* scale-out: next look at the workers */
	for (;;) {
		uint64_t now = dura_now_ns();
		if (!window_open && now >= win_start) {
			act_at_start = activities_run(r);
			cpu_at_start = dura_drv_cpu_ms();
			window_open = 1;
		}
		if (now >= end && !(p->stop && *p->stop))
			break;
		if (r->so && now >= next_tick) {
			next_tick = now + TICK_NS;
			if (dura_so_tick(r->so) == 0) {
				pthread_mutex_lock(&d->mu);
				dura_drv_record_failure(d, "infra", "every worker process ended before the run did");
				pthread_mutex_unlock(&d->mu);
				break;
			}
		}
		pthread_mutex_lock(&d->mu);
		if (p->stop && *p->stop) {
			/* The window closes now, under mu, so the completion
			 * callback counts exactly the completions before it. */
			r->stopped_at = dura_now_ns();
			if (r->stopped_at < d->win_end_ns)
				d->win_end_ns = r->stopped_at;
			pthread_mutex_unlock(&d->mu);
			break;
		}
		dura_drv_progress(r, "run", 0);
		uint64_t next_wake = now + WAKE_NS;
		if (!window_open && win_start < next_wake)
			next_wake = win_start;
		if (next_wake > end)
			next_wake = end;
		size_t go = instances_due(r, now, launched_open, &next_wake);
		if (!go) {
			dura_drv_wait_until(d, next_wake);
			pthread_mutex_unlock(&d->mu);
			continue;
		}
		pthread_mutex_unlock(&d->mu);
		launch_many(r, &ls, go);
		launched_open += go;
	}
	uint64_t act_at_end = activities_run(r);
	r->window_activities = window_open ? act_at_end - act_at_start : 0;
	r->cpu_window_ms = window_open ? dura_drv_cpu_ms() - cpu_at_start : -1;
	r->launch_end = dura_now_ns();
	/* faults are lifted before the drain: a paused server or a cut network
	 * must not be what the drain waits for */
	if (p->faults && p->faults->n)
		r->fault_results = dura_xcalloc(p->faults->n, sizeof *r->fault_results);
	dura_run_monitor_finish(r->monitor, &r->samples, &r->n_samples, r->fault_results);
	r->monitor = NULL;
	slots_free(&ls);
}
