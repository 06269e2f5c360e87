/*
 * The durable runtime: O orchestration dispatchers and W activity workers
 * running on one provider store ("config O:W").
 */
#ifndef DURA_RUNTIME_H
#define DURA_RUNTIME_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

#include "base/util.h"
#include "engine/orchestration.h"

struct dura_runtime_config {
	unsigned orch_workers;      /* O >= 1; O = W = 0: a launcher only, no
	                               dispatcher threads (other processes run
	                               what it starts: scale-out) */
	unsigned activity_workers;  /* W >= 1 */
	uint32_t orch_lock_ms;      /* default 5000 */
	uint32_t work_lock_ms;      /* default 5000; renewed while an activity runs */
	uint32_t poll_wait_ms;      /* long-poll wait per fetch; default 100 */
	uint32_t poll_wait_max_ms;  /* an idle thread's long polls grow to this
	                               (dura_rt_poll_wait); default 1000; below
	                               poll_wait_ms means poll_wait_ms */
	uint32_t max_attempts;      /* poison after this many deliveries; default 10 */
	uint32_t retry_limit;       /* RETRY errors retried this often; default 8 */
	uint32_t retry_base_ms;     /* backoff base, doubled each time; default 5 */
	uint32_t activity_batch;    /* work items per activity round trip; default
	                               1 (0 means 1, at most 1024).  When > 1 and
	                               the provider offers fetch_work_items and
	                               ack_work_items_and_fetch, each activity
	                               worker fetches up to this many items at
	                               once, runs them one after another (locks of
	                               waiting items are renewed), then acks them
	                               all together with fetching the next batch:
	                               one round trip per batch instead of one per
	                               item, for workers far from their database.
	                               Without those operations the runtime falls
	                               back to one item at a time. */
	uint32_t orch_batch;        /* instances per orchestration round trip;
	                               default 1 (0 means 1, at most 1024).  When
	                               > 1 and the provider offers
	                               fetch_orchestration_items and
	                               ack_orchestration_items_and_fetch (ABI
	                               1.7), each dispatcher fetches up to this
	                               many instances at once, replays their turns
	                               and acks them all together with fetching
	                               the next batch.  Without those operations
	                               one instance at a time. */
	const volatile sig_atomic_t *cancel_starts; /* NULL, or a flag (set from
	                               a signal handler): once non-zero a start
	                               that fails is not retried any more */
	int stamp_starts;           /* 1: starts go through the provider's
	                               start_instances (the store stamps the start
	                               time and reports the terminal ack in its
	                               completion feed); dura_runtime_start fails
	                               if the provider lacks it */
};
/* Fills the defaults above (O = W = 1). */
void dura_runtime_config_defaults(struct dura_runtime_config *cfg);

/* Called from a dispatcher thread after the terminal ack of an instance
 * committed (any instance: sub-orchestrations too), or when the runtime gave
 * up on it.  Must be thread-safe and quick.  output is the stored output
 * (result or failure text), valid during the call. */
typedef void (*dura_completion_cb)(void *arg, const char *instance,
                                   enum dura_outcome outcome,
                                   const uint8_t *output, size_t output_len);

struct dura_runtime_stats {
	uint64_t turns;                /* orchestration turns acked */
	uint64_t activities_executed;  /* activity functions run to an ack */
	uint64_t retries;              /* RETRY errors retried */
	uint64_t abandons;
	uint64_t lock_lost;
	uint64_t poisoned;
	uint64_t infra_errors;         /* errors given up on */
	uint64_t ignored_messages;     /* duplicate/stale completions dropped */
	uint64_t corrupt;              /* work items that could not be decoded */
};

struct dura_runtime;

/* Starts the dispatcher threads.  ops/store/reg must outlive the runtime.
 * Returns 0, or -1 with err filled.  Free with dura_runtime_stop. */
int dura_runtime_start(const struct dura_provider_ops *ops, dura_store *store,
                       const struct dura_registry *reg,
                       const struct dura_runtime_config *cfg,
                       dura_completion_cb cb, void *cb_arg,
                       struct dura_runtime **out, char *err, size_t errlen);

/* Enqueues the start of a new instance (one round trip).  Returns 0, or -1
 * with err filled (after retrying transient errors). */
int dura_runtime_start_orchestration(struct dura_runtime *rt, const char *instance,
                                     const char *name, const void *input,
                                     size_t len, char *err, size_t errlen);

/* One instance to start, as dura_runtime_start_orchestrations takes it.
 * The buffers belong to the caller, who may reuse them between calls (the
 * driver keeps one record per instance a launch may start). */
struct dura_start {
	struct dura_buf instance;  /* the instance id, NUL-terminated */
	struct dura_buf input;     /* start input (len 0: none) */
	const char *orchestration; /* registered orchestration name */
};

/* Enqueues the starts of n new instances in ONE enqueue_orchestrator call
 * (one round trip, one transaction), each with its own orchestration and
 * input.  Same retries as dura_runtime_start_orchestration.  All or
 * nothing: returns 0 when every start was enqueued, or -1 with err filled
 * when none was.  n = 0 is a no-op returning 0. */
int dura_runtime_start_orchestrations(struct dura_runtime *rt, size_t n,
                                      const struct dura_start *starts,
                                      char *err, size_t errlen);

void dura_runtime_get_stats(struct dura_runtime *rt, struct dura_runtime_stats *out);
/* Copies the text of the last provider error into buf: a fetch that
 * failed (retried or not), an ack or a start that failed for good; ""
 * when there was none.  A run whose instances stall names it. */
void dura_runtime_last_error(struct dura_runtime *rt, char *buf, size_t len);

/* Stops fetching, lets in-progress turns/activities finish, joins all
 * threads and frees the runtime.  Safe with NULL. */
void dura_runtime_stop(struct dura_runtime *rt);

/* dura_runtime_stop for a provider that may never return from a call: waits
 * at most wait_ms for the threads.  Returns 0 when every thread ended (the
 * runtime is freed), else the number of threads still inside a provider
 * call: they are detached, and the runtime and the store stay in use by
 * them (the caller must neither close the store nor call into rt again). */
unsigned dura_runtime_stop_within(struct dura_runtime *rt, uint64_t wait_ms);

/* Past the drain deadline: what is in flight is given up.  Every thread
 * stops fetching and no failed call is retried any more, so a following
 * dura_runtime_stop returns once each thread's current provider call does
 * (bounded by the provider's own call deadline).  Thread-safe. */
void dura_runtime_abort(struct dura_runtime *rt);

#endif
