/*
 * The stress driver: runs one workload on one store with one O:W config and
 * measures it (closed loop, or open loop at a fixed rate), then verifies
 * every instance against storage.
 */
#ifndef DURA_DRIVER_H
#define DURA_DRIVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

#include "driver_processes.h"
#include "run_monitor.h"
#include "runtime/runtime.h"
#include "scenario/scenario.h"
#include "timeline.h"

struct dura_progress;

#define DURA_VERIFY_TIMEOUT_DEFAULT_MS 60000u
#define DURA_STOP_TIMEOUT_DEFAULT_MS 30000u

struct dura_run_params {
	unsigned orch_workers;
	unsigned activity_workers;
	uint64_t duration_ms;      /* launching stops here (warmup included) */
	uint64_t warmup_ms;        /* completions before this are not counted
	                              in throughput */
	uint64_t drain_timeout_ms; /* then wait at most this for in-flight ones;
	                              a hard cap: what still runs is given up */
	uint64_t verify_timeout_ms; /* deadline of the verification phase; 0 =
	                              DURA_VERIFY_TIMEOUT_DEFAULT_MS */
	uint64_t stop_timeout_ms;  /* after the drain, how long the runtime's
	                              threads may take to return from the
	                              provider calls they are in; then they are
	                              abandoned (the core-side deadline for a
	                              plugin without one of its own); 0 =
	                              DURA_STOP_TIMEOUT_DEFAULT_MS */
	const struct dura_workload_def *workload;
	const char *instance_prefix; /* unique per run, e.g. "r3." */
	struct dura_progress *progress; /* NULL, or the invocation's progress
	                              display: the caller begins and ends the
	                              run on it, the driver shows its phases */
	unsigned activity_batch;   /* work items per activity round trip
	                              (dura_runtime_config.activity_batch);
	                              0 means 1 */
	unsigned orch_batch;       /* instances per orchestration round trip
	                              (dura_runtime_config.orch_batch); 0 means 1 */
	uint64_t interval_ms;      /* timeline interval; 0 = no timeline */
	const struct dura_fault_plan *faults; /* NULL, or the run's faults */
	const volatile sig_atomic_t *stop; /* NULL, or a flag a signal handler
	                              sets: once *stop != 0 (polled about every
	                              100 ms) no instance is launched any more,
	                              the run drains and verifies as usual and
	                              reports itself interrupted */
	const struct dura_scaleout_params *scaleout; /* NULL: the dispatchers
	                              run in this process; else worker processes
	                              run them and completions come from the
	                              store's feed (driver_processes.h) */
};

struct dura_latency {
	uint64_t count;
	double avg_ms, p50_ms, p95_ms, p99_ms, max_ms;
};

struct dura_run_result {
	/* outcomes (every launched instance is in exactly one bucket) */
	uint64_t launched;
	uint64_t completed;
	uint64_t failed_infra;
	uint64_t failed_config;
	uint64_t failed_app;
	uint64_t timed_out;        /* did not finish within drain_timeout */
	uint64_t failed_corrupt;   /* stored data could not be decoded: failed
	                              by the runtime, or found by verification
	                              in an instance that had completed (then
	                              moved here from completed) */
	uint64_t in_flight_at_end; /* still running when launching stopped */
	double success_pct;        /* completed / launched * 100 */

	/* throughput over the steady window [warmup, duration] */
	double window_s;
	uint64_t window_completed;
	uint64_t window_activities; /* activities actually executed */
	/* completions per second on the completion stream: between the first
	 * completion of the window and the last one a whole number of cycles
	 * (max_concurrent completions) later (steady_state.h) */
	double orch_per_sec;
	double counted_orch_per_sec; /* window_completed / window_s (the
	                               wall-clock method), for comparison */
	double little_orch_per_sec;  /* cross-check: mean in flight over the
	                               window / mean latency (Little's law) */
	double mean_in_flight;
	double stream_span_s;       /* the span orch_per_sec was measured over
	                               (0: fell back to the wall-clock count) */
	double activities_per_sec;
	double bound_orch_per_sec;  /* theoretical maximum, 0 if none */
	double bound_fraction;      /* orch_per_sec / bound, 0 if none */

	/* latency: start call -> committed terminal ack of the completions the
	 * steady window counts (or, when it holds less than one cycle, of
	 * every completion after the warmup, drain included); exact
	 * nearest-rank percentiles (dura_steady_latency_compute) */
	struct dura_latency latency;

	double drain_ms;            /* from end of launching to all finished */
	double cpu_ms_per_orch;     /* harness process CPU (user+sys) inside the
	                               steady window / completions in it: what
	                               an orchestration costs once connections,
	                               prepared statements and threads are up */
	double run_cpu_ms_per_orch; /* the whole run's CPU (launch to drain) /
	                               completed, fixed costs included */

	/* verification against storage after the run */
	uint64_t verified;
	uint64_t verify_failures;   /* real mismatches only */
	char verify_error[512];     /* first failure, names the instance */
	uint64_t unverified;        /* completed but could not be read before
	                               the verification deadline */
	char unverified_reason[256]; /* why the first one could not be read */

	/* added by the driver: */
	uint64_t late_completions;  /* terminal callbacks after the drain timeout
	                               (those instances count as timed out) */
	char first_failure[512];    /* first failed/timed-out instance and why,
	                               "" when none */
	char first_failure_category[16]; /* its category: "infra", "corrupt", "config",
	                               "app", "timeout"; "" when none */

	/* set when *params.stop ended launching before duration_ms: the
	 * throughput window then ends at that moment (window_s is the real,
	 * shorter window; orch_per_sec, activities_per_sec and bound_fraction
	 * are NaN when it is empty because the stop came during the warmup) */
	int interrupted;
	double interrupted_after_s; /* from the start of launching to the stop */

	int have_provider_stats;
	struct dura_stats provider_stats; /* counted from runtime start to stop
	                                     (verification reads excluded) */
	struct dura_runtime_stats runtime_stats;

	/* scale-out runs only (params.scaleout): processes, the workers'
	 * counters (already included in provider_stats), the driver's own
	 * accounting traffic, the kill-worker fault */
	int scaled_out;
	struct dura_scaleout_result scaleout;
	/* runtime threads still inside a provider call stop_timeout after the
	 * drain: abandoned (detached), so the store is still in use and must
	 * not be closed; the run is not clean */
	unsigned abandoned_threads;
	/* per-interval figures of the launching phase (owned; freed by
	 * dura_run_result_release) */
	struct dura_timeline_point *timeline;
	size_t n_timeline;
	double interval_s;
	/* the run's faults, in time order, with their recovery figures (owned) */
	struct dura_fault_result *faults;
	size_t n_faults;
};

/* Frees what a result owns (timeline, faults); safe on a zeroed result. */
void dura_run_result_release(struct dura_run_result *r);

/* Returns 0 when the run happened (its outcome is in out: the caller decides
 * whether < 100 % success or a verification failure fails the command), or
 * -1 with err filled when it could not run at all. */
int dura_driver_run(const struct dura_provider_ops *ops, dura_store *store,
                    const struct dura_run_params *p, struct dura_run_result *out,
                    char *err, size_t errlen);

#endif
