/*
 * Internals shared by the runtime's files: runtime.c (start/stop, stats,
 * starting instances), runtime_retry.c (backoff, fetch pacing, sleeping),
 * runtime_orch.c (orchestration dispatchers), runtime_worker.c (activity
 * workers and their lock renewer), runtime_batch.c (activity workers
 * that fetch and ack several items per round trip) and
 * runtime_orch_batch.c (dispatchers that fetch and ack several instances
 * per round trip).
 */
#ifndef DURA_RUNTIME_INT_H
#define DURA_RUNTIME_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <durabench/provider.h>

#include "runtime.h"
#include "base/util.h"
#include "engine/replay.h"

struct dura_worker_arg;

/* What an activity worker is running, read by the lock renewer.  Atomics
 * rather than a mutex: the worker touches its slot twice per activity and
 * must not wait for a renewal in progress. */
struct dura_work_slot {
	_Atomic uint64_t token;      /* 0 = idle */
	_Atomic uint64_t locked_at;  /* ms (core clock) of the fetch or last renewal */
};

struct dura_runtime_counters {
	_Atomic uint64_t turns;
	_Atomic uint64_t activities_executed;
	_Atomic uint64_t retries;
	_Atomic uint64_t abandons;
	_Atomic uint64_t lock_lost;
	_Atomic uint64_t poisoned;
	_Atomic uint64_t infra_errors;
	_Atomic uint64_t ignored_messages;
	_Atomic uint64_t corrupt;
};

/* Upper limit of dura_runtime_config.activity_batch. */
#define DURA_RT_MAX_BATCH 1024u

struct dura_runtime {
	const struct dura_provider_ops *ops;
	dura_store *store;
	const struct dura_registry *reg;
	struct dura_runtime_config cfg;
	dura_completion_cb cb;
	void *cb_arg;
	dura_enqueue_orchestrator_fn *start_fn; /* enqueue_orchestrator, or
	                                       start_instances with cfg.stamp_starts */
	dura_ack_orchestration_item_and_fetch_fn *ack_orch_fetch; /* optional ops, NULL if absent */
	dura_ack_work_item_and_fetch_fn *ack_work_fetch;
	dura_fetch_work_items_fn *fetch_items;
	dura_ack_work_items_and_fetch_fn *ack_items_fetch;
	unsigned batch;             /* items per activity round trip: cfg's
	                               activity_batch when the provider has both
	                               batch operations, else 1 */
	dura_fetch_orchestration_items_fn *fetch_orchs;
	dura_ack_orchestration_items_and_fetch_fn *ack_orchs_fetch;
	unsigned orch_batch;        /* instances per orchestration round trip:
	                               cfg's orch_batch when the provider has
	                               both ABI 1.7 operations, else 1 */

	atomic_int stopping;        /* dispatchers: stop fetching */
	atomic_int aborting;        /* past the drain deadline: no more retries */
	atomic_int renewer_stopping;
	pthread_mutex_t mu;         /* guards nothing but the sleeps below */
	/* Guards cb against a run that has left: once threads are abandoned
	 * (dura_runtime_stop_within), detached is set under cb_mu and no
	 * callback reaches the driver, whose state is gone by then. */
	pthread_mutex_t cb_mu;
	int detached;
	pthread_cond_t cv;          /* signalled on stop */

	pthread_t *orch_threads;    /* owned */
	unsigned n_orch_threads;
	pthread_t *work_threads;    /* owned */
	unsigned n_work_threads;
	struct dura_work_slot *slots; /* owned, `batch` per activity worker:
	                                 worker i uses [i * batch, (i+1) * batch) */
	size_t n_slots;
	struct dura_worker_arg *worker_args; /* owned, one per activity worker */
	pthread_t renewer;
	int renewer_started;

	struct dura_runtime_counters c;
	/* The text of the last provider error (dura_runtime_last_error), for
	 * a run whose instances stall: a drain timeout then says why. */
	pthread_mutex_t err_mu;
	char last_err[DURA_ERR_MAX];
};

#define DURA_COUNT(rt, field) atomic_fetch_add_explicit(&(rt)->c.field, 1, memory_order_relaxed)
#define DURA_COUNT_N(rt, field, n) \
	atomic_fetch_add_explicit(&(rt)->c.field, (n), memory_order_relaxed)

static inline int dura_rt_stopping(struct dura_runtime *rt)
{
	return atomic_load_explicit(&rt->stopping, memory_order_relaxed);
}

/* runtime_retry.c */
/* Sleeps ms unless the runtime is stopping (returns early then); returns
 * non-zero if stopping. */
int dura_rt_sleep(struct dura_runtime *rt, uint32_t ms);
/* Backoff before retry number `attempt` (0-based) of a RETRY error: returns
 * 0 after sleeping retry_base_ms << attempt (capped) and counting the retry,
 * or -1 when retry_limit is exhausted. */
int dura_rt_backoff(struct dura_runtime *rt, unsigned attempt);
/* Delay of an abandon after `attempts` deliveries: exponential, capped. */
uint32_t dura_rt_abandon_delay(const struct dura_runtime *rt, uint32_t attempts);
/* Give a work item or orchestration item back (abandon) so another thread
 * may take it at once -- except past the drain deadline (rt->aborting):
 * then the database may be unreachable, each call could hold the thread
 * for a whole call deadline (a batch is several calls), and a lock that
 * expires on its own costs nothing.  Errors are ignored for the same
 * reason. */
void dura_rt_abandon_work(struct dura_runtime *rt, uint64_t token, uint32_t delay_ms);
void dura_rt_abandon_orch(struct dura_runtime *rt, uint64_t token, uint32_t delay_ms);
/* *until = CLOCK_MONOTONIC now + ms (for pthread_cond_timedwait on rt->cv,
 * which runtime.c creates on the monotonic clock). */
void dura_rt_deadline(struct timespec *until, uint32_t ms);
/* A fetching thread's streaks: failed fetches (for the abandon backoff)
 * and empty long polls (for dura_rt_poll_wait).  Zeroed at thread start. */
struct dura_rt_poll {
	unsigned failures;
	unsigned empty;
};
/* Empty long polls in a row at poll_wait_ms before an idle thread's polls
 * grow (about one second of idleness at the default 100 ms). */
#define DURA_RT_IDLE_POLLS 10u
/* The wait of the next long poll after `empty` empty ones in a row:
 * base_ms up to DURA_RT_IDLE_POLLS, then doubling with each further empty
 * poll up to max_ms.  Why: every provider wakes a waiting fetch when work
 * arrives, so a longer wait costs no latency, while each expired wait
 * costs a wake-up and a fetch (a query for SQLite); the cap bounds how
 * long a stop waits for an idle thread's poll to return. */
uint32_t dura_rt_poll_wait(uint32_t base_ms, uint32_t max_ms, unsigned empty);
/* The wait of this thread's next fetch. */
uint32_t dura_rt_next_wait(const struct dura_runtime *rt, const struct dura_rt_poll *p);
/* What a dispatcher or activity worker does with the result of its fetch
 * (got: non-zero when work came back).  Returns 1 when there is work to
 * run (both streaks end); else 0 after pausing: 1 ms when nothing came
 * and the provider does not long-poll (so the loop does not spin), or,
 * after an error (counted), the abandon backoff of the grown failure
 * streak. */
int dura_rt_fetched(struct dura_runtime *rt, dura_rc rc, int got, struct dura_rt_poll *p,
                    const struct dura_err *err);
/* Keeps err's text as the last provider error (any thread). */
void dura_rt_note_error(struct dura_runtime *rt, const struct dura_err *err);

/* runtime_orch.c / runtime_worker.c: thread bodies (arg = runtime /
 * worker index packed by runtime.c). */
void *dura_rt_orch_main(void *arg);
void *dura_rt_worker_main(void *arg);
void *dura_rt_renewer_main(void *arg);

/* Per-worker thread argument. */
struct dura_worker_arg {
	struct dura_runtime *rt;
	unsigned index;
};

/* runtime_worker.c: runs one work item -- decode, poison check, registry
 * lookup, the activity itself -- and encodes the completion to send into
 * msg (out is scratch for the activity's output).  Returns 1 when msg holds
 * a completion (or, for an undecodable item, the CorruptWorkItemMessage
 * that fails its instance), 0 when there is nobody to answer (an item whose
 * instance id is unusable too: ack it without a message).  *ran is set when the activity function ran.  When
 * slot is not NULL, the item's token is published there for the lock
 * renewer while the activity runs (a batch worker publishes its whole
 * batch itself and passes NULL). */
int dura_rt_run_item(struct dura_runtime *rt, const struct dura_work_item *item,
                     struct dura_work_slot *slot, struct dura_buf *out,
                     struct dura_buf *msg, int *ran);

/* How the ack of one work item went, for dura_rt_settle_work_item. */
enum dura_rt_ack_result {
	DURA_RT_ACKED,      /* applied */
	DURA_RT_LOCK_LOST,  /* the lock expired: another worker has or will run it */
	DURA_RT_NOT_ACKED   /* the ack could not be stored at all */
};
/* runtime_worker.c: books the ack of item (ran: its activity ran) and
 * releases item.  A NOT_ACKED item is given back with backoff, so its
 * attempt count grows toward poison. */
void dura_rt_settle_work_item(struct dura_runtime *rt, struct dura_work_item *item,
                              enum dura_rt_ack_result result, int ran);

/* runtime_orch.c: one orchestration turn in two halves, shared by the
 * single and the batched dispatcher.  prepare: the poison check (after
 * max_attempts deliveries the turn fails the instance) or the replay,
 * into res.  settle: books the ack's outcome rc (retried: the ack was
 * retried after RETRY, so a terminal LOCK_LOST is checked against the
 * stored status; may_drop: a poison turn whose failure cannot be stored
 * may be acked without its delta; err: the failed ack's message), gives
 * an item whose ack failed back alone (abandon with backoff) and releases
 * item. */
void dura_rt_prepare_turn(struct dura_runtime *rt, dura_orch_ctx *ctx,
                          const struct dura_orch_item *item, struct dura_replay_result *res);
void dura_rt_settle_turn(struct dura_runtime *rt, struct dura_orch_item *item,
                         const struct dura_replay_result *res, dura_rc rc, int retried,
                         int may_drop, const struct dura_err *err);

/* runtime_orch_batch.c: the body of a dispatcher when rt->orch_batch > 1. */
void dura_rt_orch_batch_main(struct dura_runtime *rt);

/* runtime_batch.c: the body of an activity worker when rt->batch > 1. */
void dura_rt_batch_worker(struct dura_runtime *rt, struct dura_work_slot *slots);

#endif
