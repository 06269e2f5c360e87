/*
 * What reports say about scale-out runs (docs/scale-out.md): processes x
 * O:W and total threads, the store's contention (lock conflicts per
 * orchestration) and what accounting through the store cost the driver.
 * The kill-worker fault is a [fault] section like the others (Faults
 * table, runs[].faults).
 */
#include "report_scaleout.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static double per_orch(uint64_t n, const struct dura_run_result *x)
{
	return x->completed ? (double)n / (double)x->completed : NAN;
}

static int any_scaled(const struct dura_report *r)
{
	for (size_t i = 0; i < r->n_runs; i++)
		if (r->runs[i].ran && r->runs[i].result.scaled_out)
			return 1;
	return 0;
}

unsigned dura_report_processes(const struct dura_report_run *run)
{
	return run->ran && run->result.scaled_out ? run->result.scaleout.processes : run->processes;
}

static void scaleout_table(FILE *f, const struct dura_report *r)
{
	fprintf(f, "\n### Scale-out\n\n"
	           "| Provider | Config | Processes | Threads | Orch/s | Lock conflicts/orch "
	           "| Driver round trips/orch | Feed polls/orch | Workers |\n"
	           "|---|---|---:|---:|---:|---:|---:|---:|---|\n");
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		const struct dura_run_result *x = &run->result;
		if (!run->ran || !x->scaled_out)
			continue;
		const struct dura_scaleout_result *s = &x->scaleout;
		unsigned procs = s->external ? (unsigned)s->workers_seen : s->processes;
		fprintf(f, "| %s | %u:%u | %u%s | %u | %.1f | %.3f | %.3f | %.3f | %s%s |\n",
		        run->provider, run->orch_workers, run->activity_workers, procs,
		        s->external ? " (joined)" : "",
		        procs * (run->orch_workers + run->activity_workers), x->orch_per_sec,
		        per_orch(x->provider_stats.lock_conflicts, x),
		        per_orch(s->driver_stats.round_trips, x), per_orch(s->feed_polls, x),
		        s->all_died ? "all ended early; first: " : "",
		        s->workers_failure[0] ? s->workers_failure : "ok");
	}
	fprintf(f, "\nProcesses x O:W: each worker process runs O orchestration and W activity "
	           "threads on the shared store; Threads = processes x (O + W).  Driver round "
	           "trips: the driver's own traffic (starts, completion feed, notes), the cost "
	           "of accounting through the store.  Latency is stamped by the store's clock.\n");
}

void dura_report_scaleout_md(FILE *f, const struct dura_report *r)
{
	if (!any_scaled(r))
		return;
	scaleout_table(f, r);
}

void dura_report_scaleout_json(json_t *o, const struct dura_report_run *run)
{
	const struct dura_run_result *x = &run->result;
	dura_jset(o, "processes", dura_juint(dura_report_processes(run)));
	if (!run->ran || !x->scaled_out)
		return;
	const struct dura_scaleout_result *s = &x->scaleout;
	json_t *so = dura_jobject();
	dura_jset(so, "external_workers", dura_jbool(s->external));
	dura_jset(so, "workers_seen", dura_juint(s->workers_seen));
	dura_jset(so, "threads", dura_juint((uint64_t)(s->external ? s->workers_seen : s->processes) *
	                                    (run->orch_workers + run->activity_workers)));
	dura_jset(so, "lock_conflicts_per_orch",
	          dura_jnumber(per_orch(x->provider_stats.lock_conflicts, x)));
	dura_jset(so, "driver_round_trips_per_orch",
	          dura_jnumber(per_orch(s->driver_stats.round_trips, x)));
	dura_jset(so, "feed_polls_per_orch", dura_jnumber(per_orch(s->feed_polls, x)));
	dura_jset(so, "feed_entries", dura_juint(s->feed_entries));
	dura_jset(so, "all_workers_died", dura_jbool(s->all_died));
	dura_jset(so, "worker_failure",
	          dura_jstring(s->workers_failure[0] ? s->workers_failure : NULL));
	dura_jset(o, "scale_out", so);
}
