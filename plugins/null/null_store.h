/*
 * Private state of the null provider: the harness-overhead baseline.
 *
 * Like fio's null engine, it lets a run measure the harness alone: a
 * complete, correct store (it passes `durabench validate`) that lives in the
 * process and does as little as a store can.  Every operation is a few hash
 * lookups and list moves under one mutex held for microseconds:
 *
 *   instances    by id (hash), each with its orchestrator messages in
 *                enqueue order (a list) and its executions' histories
 *                (arrays in ascending event id)
 *   ready        the unlocked instances that have visible messages, a heap
 *                keyed by the enqueue sequence of their oldest visible
 *                message (so "oldest message first" holds exactly)
 *   work queue   a FIFO of visible work items; locked items by token (hash)
 *   timers       delayed messages and work items, a heap by due time
 *   locks        locked instances and work items, heaps by expiry
 *
 * Heaps are indexed (each node knows its slot), so an ack removes its lock
 * in O(log n) of the locks held, n bounded by the fetchers' concurrency;
 * everything else is O(1) per message or per event handed over.  Long polls
 * wait on a condition variable per queue, woken by enqueues and bounded by
 * the next timer or lock expiry.
 */
#ifndef DURA_NULL_STORE_H
#define DURA_NULL_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

/* ---- indexed min-heap (null_heap.c) ----
 * A node is embedded in the object it orders; the heap holds pointers to
 * nodes and keeps each node's slot in pos (0 = not in the heap). */
struct null_hnode {
	uint64_t k1, k2; /* ordered by (k1, k2) */
	size_t pos;      /* 1-based slot, 0 = absent */
};

struct null_heap {
	struct null_hnode **v; /* v[1..n] */
	size_t n, cap;
};

int null_heap_push(struct null_heap *h, struct null_hnode *x);
void null_heap_remove(struct null_heap *h, struct null_hnode *x);
/* Changes x's keys and restores the order (x must be in the heap). */
void null_heap_update(struct null_heap *h, struct null_hnode *x, uint64_t k1, uint64_t k2);
struct null_hnode *null_heap_top(const struct null_heap *h);
void null_heap_free(struct null_heap *h);

#define NULL_CONTAINER(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- intrusive chained hash table (null_map.c) ---- */
struct null_mnode {
	struct null_mnode *next;
	uint64_t hash;
};

struct null_map {
	struct null_mnode **b;
	size_t nb, n; /* buckets (power of two), entries */
};

int null_map_put(struct null_map *m, struct null_mnode *x, uint64_t hash);
void null_map_remove(struct null_map *m, struct null_mnode *x);
/* First node with this hash for which eq(node, key) holds (eq NULL: the
 * hash alone identifies, as for tokens). */
struct null_mnode *null_map_get(const struct null_map *m, uint64_t hash,
                                int (*eq)(const struct null_mnode *, const void *),
                                const void *key);
void null_map_free(struct null_map *m);
uint64_t null_hash_str(const char *s);
uint64_t null_hash_u64(uint64_t x);

/* ---- the model ---- */

/* An orchestrator message (one allocation with its body). */
struct null_msg {
	struct null_msg *prev, *next; /* the instance's queue, enqueue order */
	struct null_hnode timer;      /* due time while delayed (pos != 0) */
	struct null_inst *inst;
	uint64_t seq;                 /* global enqueue order */
	uint64_t tag;                 /* token of the fetch that took it */
	uint32_t attempts;
	size_t len;
	uint8_t body[];
};

struct null_exec {
	uint64_t id;
	struct dura_event *events; /* ascending event_id; bodies owned here,
	                              except a prefill template's */
	size_t n, cap;             /* cap 0 with n > 0: events is a prefill
	                              template's array, copied before a write */
};

/* One prefill's history, shared by every instance it wrote (owned by the
 * store until close): the event array and the bodies it points to. */
struct null_template {
	struct null_template *next;
	struct dura_event *events;
	size_t n;
	const uint8_t *begin, *end; /* the bodies' bytes */
};

struct null_inst {
	struct null_mnode by_id;
	struct null_mnode by_token;  /* in the token map while token != 0 */
	struct null_hnode ready;     /* in the ready heap: k1 = oldest visible seq */
	struct null_hnode lock;      /* in the lock heap: k1 = locked_until */
	struct null_msg *head, *tail;
	uint64_t token;              /* 0 = unlocked */
	uint64_t locked_until;
	int has_meta;
	char *name, *parent;
	uint8_t *output;
	size_t output_len;
	int32_t status;
	uint64_t current;            /* current execution (metadata) */
	struct null_exec *execs;
	size_t n_execs, cap_execs;
	char id[];
};

/* A work item (one allocation with its instance id and body). */
struct null_work {
	struct null_work *prev, *next; /* the ready FIFO */
	struct null_mnode by_token;
	struct null_hnode timer;       /* delayed */
	struct null_hnode lock;        /* locked: k1 = locked_until */
	uint64_t seq;
	uint64_t token;                /* 0 = not locked */
	uint32_t attempts;
	char *instance;                /* points into data */
	uint8_t *body;                 /* points into data */
	size_t len;
	char data[];
};

struct dura_store {
	pthread_mutex_t mu;
	pthread_cond_t orch_cond, work_cond;
	unsigned orch_waiters, work_waiters;

	struct null_map insts;         /* null_inst.by_id */
	struct null_map orch_tokens;   /* null_inst.by_token */
	struct null_map work_tokens;   /* null_work.by_token */
	struct null_heap ready;        /* null_inst.ready */
	struct null_heap orch_locks;   /* null_inst.lock */
	struct null_heap orch_timers;  /* null_msg.timer */
	struct null_work *work_head, *work_tail;
	struct null_heap work_locks;   /* null_work.lock */
	struct null_heap work_timers;  /* null_work.timer */

	uint64_t next_seq, next_token;
	struct null_template *templates;
	struct dura_stats st;
};

/* ---- null_store.c: helpers (callers hold mu unless said otherwise) ---- */
uint64_t null_now_ms(void);
/* Starts an operation: takes mu (the operation releases it) and counts
 * the round trip; returns the time it works with. */
uint64_t null_begin(dura_store *s);
/* Ends an operation that changed the store: counts the commit, wakes the
 * long polls waiting on cond (waiters of them), releases mu. */
dura_rc null_commit(dura_store *s, pthread_cond_t *cond, unsigned waiters);
void null_err(struct dura_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The instance with this id, created when create != 0 (NULL: out of
 * memory, or absent and create == 0). */
struct null_inst *null_instance(dura_store *s, const char *id, int create);
/* Appends a message to its instance's queue (delayed ones to the timers)
 * and makes the instance ready if it can be fetched now. */
int null_push_message(dura_store *s, const struct dura_message *m, uint64_t now);
/* Moves due timers and expired locks into the ready structures. */
void null_settle(dura_store *s, uint64_t now);
/* Long poll: waits on cond until woken, deadline or the next timer or lock
 * expiry of either queue. */
void null_wait(dura_store *s, pthread_cond_t *cond, unsigned *waiters, uint64_t deadline);
void null_wake(pthread_cond_t *cond, unsigned waiters);
/* Recomputes whether an unlocked instance is ready and its key. */
void null_reready(dura_store *s, struct null_inst *in);
void null_free_instance(dura_store *s, struct null_inst *in);
/* 1 when p points into a prefill template's bodies (not freed with its
 * event). */
int null_in_template(const dura_store *s, const void *p);

/* ---- null_orch.c ---- */
dura_enqueue_orchestrator_fn null_enqueue_orchestrator;
dura_fetch_orchestration_item_fn null_fetch_orch;
dura_ack_orchestration_item_fn null_ack_orch;
dura_ack_orchestration_item_and_fetch_fn null_ack_orch_and_fetch;
dura_abandon_orchestration_item_fn null_abandon_orch;
dura_renew_orchestration_lock_fn null_renew_orch;
dura_release_orchestration_item_fn null_release_orch;
struct null_exec *null_find_exec(struct null_inst *in, uint64_t id);
/* Appends an empty execution id to the instance (NULL: out of memory). */
struct null_exec *null_add_exec(struct null_inst *in, uint64_t id);
int null_set_meta(struct null_inst *in, const struct dura_instance_meta *meta);

/* ---- null_prefill.c ---- */
dura_prefill_fn null_prefill;
void null_free_templates(dura_store *s);

/* ---- null_work.c ---- */
dura_fetch_work_item_fn null_fetch_work;
dura_ack_work_item_fn null_ack_work;
dura_ack_work_item_and_fetch_fn null_ack_work_and_fetch;
dura_fetch_work_items_fn null_fetch_work_items;
dura_ack_work_items_and_fetch_fn null_ack_work_items_and_fetch;
dura_abandon_work_item_fn null_abandon_work;
dura_renew_work_lock_fn null_renew_work;
dura_release_work_item_fn null_release_work;
int null_push_work(dura_store *s, const struct dura_message *m, uint64_t now);
/* Expired work locks back to the FIFO, due work timers into it. */
void null_settle_work(dura_store *s, uint64_t now);
void null_free_work(dura_store *s);

/* ---- null_read.c ---- */
dura_read_history_fn null_read_history;
dura_release_history_fn null_release_history;
dura_instance_status_fn null_instance_status;
dura_release_instance_status_fn null_release_status;

#endif
