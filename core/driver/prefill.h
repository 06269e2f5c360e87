/*
 * `[run] prefill = N`: before a measured run, N completed instances with
 * their histories are written into the run's store in bulk (the provider's
 * optional prefill operation, ABI 1.4), so the run measures a store that
 * already holds a history of work (docs/benchmarks.md, "cost growth").
 * After the run they are read back: the store must still hold every one.
 */
#ifndef DURA_PREFILL_H
#define DURA_PREFILL_H

#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

#include "workloads/workload.h"

/* Prefilled ids: DURA_PREFILL_PREFIX followed by 0 .. N - 1 (a run's own
 * instances are "r<k>.<n>"). */
#define DURA_PREFILL_PREFIX "p."

/* At most this many prefilled instances are read back after a run: all of
 * them up to it, else this many spread evenly from the first to the last. */
#define DURA_PREFILL_VERIFY_MAX 10000u

struct dura_prefill_result {
	uint64_t instances;   /* written (0: no prefill) */
	double seconds;       /* the prefill call's wall time */
	double cpu_seconds;   /* this process's CPU time during the call (all
	                       * threads): the cost of an in-process store on a
	                       * loaded machine; a server's CPU is not in it */
	uint64_t verified;    /* read back intact after the run */
};

/* Writes n completed fan-out instances (tasks_per_instance activities,
 * the events and metadata the fanout workload stores) through
 * ops->prefill.  0, or -1 with err (the provider has no prefill operation,
 * or it failed). */
int dura_prefill_fill(const struct dura_provider_ops *ops, dura_store *store, uint64_t n,
                      const struct dura_workload_def *def, struct dura_prefill_result *out,
                      char *err, size_t errlen);

/* Reads the prefilled instances back (DURA_PREFILL_VERIFY_MAX above):
 * metadata and history byte for byte.  0, or -1 with err naming the first
 * instance that differs; out->verified counts those that matched. */
int dura_prefill_verify(const struct dura_provider_ops *ops, dura_store *store, uint64_t n,
                        const struct dura_workload_def *def, struct dura_prefill_result *out,
                        char *err, size_t errlen);

#endif
