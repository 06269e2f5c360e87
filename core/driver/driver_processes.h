/*
 * Scale-out runs (processes = N, or workers that join from other machines):
 * the driver process only launches and measures; worker processes run the
 * O:W dispatchers on the same store.  Everything the driver learns comes
 * from the store: completions from its completion feed (start and end
 * stamped by the store's clock, so latency is right across machines), the
 * workers' activity and provider counters from their notes.  See
 * docs/scale-out.md.
 */
#ifndef DURA_DRIVER_PROCESSES_H
#define DURA_DRIVER_PROCESSES_H

#include <stddef.h>
#include <stdint.h>

#include <signal.h>

#include <durabench/provider.h>

#include "engine/orchestration.h"
#include "run_monitor.h"
#include "run_notes.h"
#include "scenario/scenario.h"
#include "worker_procs.h"

struct dura_scaleout_params {
	unsigned processes;        /* worker processes started here (>= 1), or 0
	                              with external */
	int external;              /* workers join from elsewhere: print how,
	                              wait for the first one */
	uint64_t join_wait_ms;     /* give up after this without every local
	                              worker (external: without one) joined */
	const volatile sig_atomic_t *stop; /* NULL, or Ctrl-C: stop waiting */
	int quiet;                 /* local workers: no "joined" line */
	const struct dura_scenario *scenario; /* the contract (file digest,
	                              workload) */
	const char *build;         /* the contract's build: dura_version_string */
	struct dura_worker_spawn spawn; /* how to start a local worker (join is
	                              filled in with the store's name) */
};

struct dura_scaleout_result {
	unsigned processes;         /* local worker processes */
	int external;
	size_t workers_seen;        /* worker notes in the store at the end */
	struct dura_worker_counts workers; /* their counters, summed */
	uint64_t feed_polls;        /* take_completions calls */
	uint64_t feed_entries;      /* completions read from the feed */
	struct dura_stats driver_stats; /* the driver's own store traffic
	                              (starts, feed, notes): the cost of
	                              accounting through the store */
	int all_died;               /* every worker process ended early */
	char workers_failure[256];  /* the first worker that ended on its own */
};

/* Called by the feed thread for each instance that reached a terminal
 * status (store-clock latency); a failure comes with its category and its
 * stored text (read back from the store), a completion with "". */
typedef void (*dura_feed_cb)(void *arg, const char *instance, enum dura_outcome outcome,
                             uint64_t latency_ns, const char *text);

struct dura_so;

/* Publishes the contract (O:W) and the running state in the store, starts
 * the local workers (or prints the join command and waits for an external
 * one) and the feed thread.  0, or -1 with err (nothing left running). */
int dura_so_start(const struct dura_provider_ops *ops, dura_store *store,
                  const struct dura_scaleout_params *sp, unsigned orch_workers,
                  unsigned activity_workers, dura_feed_cb cb, void *cb_arg,
                  struct dura_so **out, char *err, size_t errlen);
/* Returns the number of local workers alive (a killed one that will be
 * restarted counts; external workers: 1 while any may be).  Call about
 * every 100 ms. */
unsigned dura_so_tick(struct dura_so *so);
/* The run's fault plan as the fault thread sees it: the kill-worker steps
 * kill -9 a local worker process (and start it again at their end, so a
 * run whose only worker it is does not end meanwhile); every other step
 * goes to inner (may be NULL).  *out borrows so and inner. */
struct dura_so_faults {
	struct dura_fault_plan plan;
	const struct dura_fault_plan *inner;
	struct dura_so *so;
};
void dura_so_bind_faults(struct dura_so *so, const struct dura_fault_plan *inner,
                         struct dura_so_faults *out);
/* Activities the workers have run (their notes, one read). */
uint64_t dura_so_activities(struct dura_so *so);
/* Marks the run done, stops the workers (they finish what they hold),
 * reads the rest of the feed and the workers' final counters into out,
 * joins the feed thread and frees so.  Safe with NULL. */
void dura_so_finish(struct dura_so *so, struct dura_scaleout_result *out);

#endif
