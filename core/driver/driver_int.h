/*
 * Internals shared by the driver's files.  One run goes through five
 * phases, each in its own function:
 *
 *   setup    (driver.c)         workload, registry, runtime started
 *   launch   (driver_launch.c)  keep instances in flight until the end
 *   drain    (driver.c)         wait for in-flight ones, the rest time out
 *   result   (driver.c)         counts, window throughput, latency
 *   verify   (driver_verify.c)  every completed instance against storage
 *
 * Threads: the calling thread launches; the runtime's dispatcher threads
 * report completions through dura_drv_on_complete (driver_state.c).
 * Everything both touch lives in struct driver under one mutex
 * (completions are a few thousand per second at most, so a mutex is
 * cheap); the progress line's latency histogram is lock-free.
 */
#ifndef DURA_DRIVER_INT_H
#define DURA_DRIVER_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "driver.h"
#include "base/histogram.h"
#include "progress.h"
#include "run_monitor.h"
#include "timeline.h"
#include "workloads/workload.h"

/* Outcome of one instance: enum dura_outcome, or one of these.  Each
 * instance is a struct dura_inst_record (timeline.h): its start and end
 * feed the timeline and the fault figures. */
#define DURA_DRV_RUNNING DURA_INST_RUNNING
#define DURA_DRV_TIMEOUT DURA_INST_TIMEOUT
#define DURA_DRV_N_OUTCOMES 6

/* The state the launching thread and the completion callbacks share. */
struct driver {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* signalled on every completion */
	const char *prefix;
	size_t prefix_len;

	/* all below under mu */
	struct dura_inst_record *inst; /* [launched], owned */
	size_t cap;
	uint64_t launched;
	uint64_t in_flight;
	uint64_t outcomes[DURA_DRV_N_OUTCOMES];
	uint64_t window_completed;
	uint64_t win_start_ns, win_end_ns;
	uint64_t last_completion_ns;
	int closed;                 /* after the drain: later callbacks are late */
	uint64_t duplicates;        /* second terminal callback for an instance */
	uint64_t late;              /* completions after the drain timeout */
	char duplicate_msg[256];
	char first_failure[512];
	char first_failure_category[16];

	struct dura_histogram *interval_ns; /* owned: latencies since the last
	                                       progress line */
};

/* One run: what its phases hand each other.  Owned by dura_driver_run. */
struct driver_run {
	struct driver d;
	const struct dura_run_params *p;
	const struct dura_workload_def *wd;
	const struct dura_provider_ops *ops;
	dura_store *store;
	struct dura_workload *wl;      /* owned */
	struct dura_registry *reg;     /* owned */
	struct dura_runtime *rt;       /* owned until the drain stops it */
	struct dura_progress *pg;      /* borrowed from p->progress, may be NULL */
	uint64_t phase_start_ns;       /* the progress line's phase clock */
	double phase_total_s;
	struct dura_so *so;            /* scale-out (p->scaleout): owned until
	                                  the drain finishes it; NULL in-process */
	struct dura_so_faults so_faults; /* scale-out: p->faults with its
	                                  kill-worker steps bound to so */
	unsigned activity_workers;
	struct dura_stats stats_before; /* provider counters before the runtime */
	int have_stats_before;
	double total_s;                /* planned duration, for progress */

	/* set by the launch loop */
	uint64_t t0;                   /* launching began */
	uint64_t ramp_ns;              /* closed loop: slots open over this long */
	double cpu0_ms;                /* process CPU then */
	double cpu_window_ms;          /* process CPU used inside the steady
	                                  window (launch loop), < 0 unknown */
	uint64_t stopped_at;           /* when *p->stop ended launching, 0 if not */
	uint64_t window_activities;    /* activities run in the steady window */
	uint64_t launch_end;           /* launching ended */
	struct dura_run_monitor *monitor; /* sampler and faults while launching */
	struct dura_timeline_sample *samples; /* owned, from the monitor */
	size_t n_samples;
	struct dura_fault_result *fault_results; /* [p->faults->n], owned */
};

/* driver_state.c */
void dura_drv_init(struct driver *d, const char *prefix);
void dura_drv_destroy(struct driver *d);
void dura_drv_on_complete(void *arg, const char *instance, enum dura_outcome outcome,
                          const uint8_t *output, size_t output_len);
/* The completion feed's callback (scale-out): latency from the store's
 * clock. */
void dura_drv_on_feed(void *arg, const char *instance, enum dura_outcome outcome,
                      uint64_t latency_ns, const char *text);
/* A terminal instance: latency_ns, or UINT64_MAX for now - its start. */
void dura_drv_complete(struct driver *d, const char *instance, enum dura_outcome outcome,
                       uint64_t latency_ns, const uint8_t *output, size_t output_len);
void dura_drv_record_failure(struct driver *d, const char *category, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void dura_drv_wait_until(struct driver *d, uint64_t deadline_ns);
void dura_drv_progress(struct driver_run *r, const char *phase, int force);
void dura_drv_block_interrupts(sigset_t *old);
void dura_drv_restore_mask(const sigset_t *old);
double dura_drv_cpu_ms(void);

/* driver_timeline.c: the monitor's sample callback (arg: the run), and
 * the timeline and fault figures of out once verification is done. */
void dura_drv_sample(void *arg, struct dura_timeline_sample *s);
void dura_drv_timeline(struct driver_run *r, struct dura_run_result *out);

/* driver_launch.c: launches until duration_ms or a stop request; the
 * first max_concurrent instances of a closed loop over a ramp-up
 * (steady_state.h). */
void dura_drv_launch_loop(struct driver_run *r);
/* Completions after which the run's completion pattern repeats: the
 * closed loop's max_concurrent, 1 for an open loop. */
unsigned dura_drv_cycle_period(const struct driver_run *r);

/* driver_verify.c: verifies every completed instance (launching and
 * callbacks are over, so d is read without its lock). */
void dura_drv_verify_all(struct driver *d, const struct dura_workload *wl,
                         const struct dura_provider_ops *ops, dura_store *store,
                         uint64_t timeout_ms, struct dura_run_result *out);

#endif
