/*
 * What the processes of a scale-out run tell each other through the store
 * (docs/scale-out.md): they share nothing else.
 *
 *   contract        written by the driver before any worker starts: the
 *                   scenario file's digest, the workload, the build, and
 *                   the O:W config each worker runs.  A worker refuses a
 *                   run whose scenario, workload or build differs from its
 *                   own.
 *   state           "running", then "done" when the driver has seen every
 *                   instance finish (workers then stop).
 *   worker/<id>     each worker's counters, rewritten a few times a second
 *                   (a heartbeat too): activities run, turns, and its
 *                   provider's counters (round trips, lock conflicts...).
 */
#ifndef DURA_RUN_NOTES_H
#define DURA_RUN_NOTES_H

#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

#include "scenario/scenario.h"

#define DURA_NOTE_CONTRACT "contract"
#define DURA_NOTE_STATE "state"
#define DURA_NOTE_WORKER_PREFIX "worker/"
#define DURA_STATE_RUNNING "running"
#define DURA_STATE_DONE "done"

/* 1 if the plugin has every scale-out operation (ABI 1.3). */
int dura_scaleout_supported(const struct dura_provider_ops *ops);

/* The contract a run on scenario sc with config O:W by this build
 * ("durabench 0.1.0 (commit abc)") makes.  -1 with err if the scenario file
 * cannot be read (its bytes are digested). */
int dura_contract_make(const struct dura_scenario *sc, const char *build, unsigned orch_workers,
                       unsigned activity_workers, char *buf, size_t len, char *err,
                       size_t errlen);

/* Compares the run's contract with the one this worker would make (mine).
 * 0 when scenario, workload and build agree: *orch_workers /
 * *activity_workers then hold the run's config.  -1 with a message that
 * says which differs and how. */
int dura_contract_check(const char *run, const char *mine, unsigned *orch_workers,
                        unsigned *activity_workers, char *err, size_t errlen);

/* Notes as text.  put: 0 or -1 with err.  get: 0 found (buf holds the
 * NUL-terminated value, cut to len - 1), 1 no such note, -1 error. */
int dura_note_put(const struct dura_provider_ops *ops, dura_store *store, const char *key,
                  const char *text, char *err, size_t errlen);
int dura_note_get(const struct dura_provider_ops *ops, dura_store *store, const char *key,
                  char *buf, size_t len, char *err, size_t errlen);

/* A worker's counters (worker/<id>). */
struct dura_worker_counts {
	uint64_t activities;   /* activity functions run */
	uint64_t turns;        /* orchestration turns acked */
	uint64_t infra_errors; /* provider errors given up on */
	struct dura_stats stats; /* its provider handle's counters */
	int done;              /* the worker stopped cleanly (last note) */
};
void dura_worker_counts_format(const struct dura_worker_counts *c, char *buf, size_t len);
/* Sums every worker/ note into *sum (zeroed first); *n_workers notes.
 * 0 or -1 with err. */
int dura_worker_counts_sum(const struct dura_provider_ops *ops, dura_store *store,
                           struct dura_worker_counts *sum, size_t *n_workers, char *err,
                           size_t errlen);

#endif
