/*
 * PostgreSQL provider: what the plugin's files share.
 *
 * Layout of the plugin (one concern per file):
 *   pg_plugin.c      ops table, open/close, stats, ping, describe
 *   pg_options.c     declared options and their parsing
 *   pg_schema.c      DDL: tables, indexes and PL/pgSQL functions
 *   pg_statements.c  the statements every connection prepares
 *   pg_pool.c        connections, the fixed-size pool, reconnects
 *   pg_exec.c        one prepared call = one round trip, internal retries
 *   pg_errors.c      SQLSTATE -> dura_rc, one-line messages, masking
 *   pg_wire.c        binary parameters and binary array (de)coding
 *   pg_notify.c      LISTEN connection, long-poll waits and wake-ups
 *   pg_ops_common.c  what the operations share: the long-poll fetch loop,
 *                    the fetch call, abandon and renew by token
 *   pg_ops_orch.c    orchestration operations
 *   pg_ops_work.c    work item operations
 *   pg_ops_batch.c   work items in batches (fetch_work_items,
 *                    ack_work_items_and_fetch)
 *   pg_enqueue_keys.c idempotency keys that make a retried enqueue safe
 *   pg_ops_read.c    read_history, instance_status
 *   pg_ops_scale.c   scale-out: start_instances, the completion feed, notes
 *   pg_prefill.c     bulk prefill of completed instances
 *   pg_ops_orch_batch.c, pg_schema_orch_batch.c
 *                    orchestration items in batches (ABI 1.7:
 *                    fetch_orchestration_items,
 *                    ack_orchestration_items_and_fetch) and their functions
 *
 * Nothing here is exported from the shared object: the libtool flags export
 * only dura_provider_entry.  Names are prefixed dura_pg_.
 */
#ifndef DURA_PG_INTERNAL_H
#define DURA_PG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <durabench/provider.h>

/* ---- options (pg_options.c) ---- */

#define DURA_PG_SCHEMA_MAX 63

struct dura_pg_options {
	char *url;               /* libpq URL / conninfo; "" = PG* environment */
	char schema[DURA_PG_SCHEMA_MAX + 1];
	int schema_given;        /* 0: generated durabench_<hex> */
	int keep;                /* keep the schema at close */
	unsigned pool_size;      /* resolved (never 0) */
	uint32_t acquire_timeout_ms;
	uint32_t connect_timeout_ms;
	uint32_t call_timeout_ms;  /* deadline of one SQL call (pg_deadline.c) */
	char *application_name;
};

extern const struct dura_option_spec dura_pg_option_specs[];

/* Fills o from the given options (defaults for the rest).  DURA_CONFIG with
 * err filled on an unknown key or bad value.  Free with
 * dura_pg_options_free (also after a failure). */
dura_rc dura_pg_options_parse(const struct dura_option *options, size_t n,
                              struct dura_pg_options *o, struct dura_err *err);
void dura_pg_options_free(struct dura_pg_options *o);
/* check_options: open()'s parser on the given values, the url through
 * PQconninfoParse. */
dura_check_options_fn dura_pg_check_options;

/* ---- statements (pg_statements.c) ---- */

enum dura_pg_stmt {
	PG_STMT_ENQUEUE = 0,
	PG_STMT_FETCH_ORCH,
	PG_STMT_ACK_ORCH,
	PG_STMT_ACK_FETCH_ORCH,
	PG_STMT_ABANDON_ORCH,
	PG_STMT_RENEW_ORCH,
	PG_STMT_FETCH_WORK,
	PG_STMT_ACK_WORK,
	PG_STMT_ACK_FETCH_WORK,
	PG_STMT_FETCH_WORKS,      /* batch: fetch_work_items */
	PG_STMT_ACK_FETCH_WORKS,  /* batch: ack_work_items_and_fetch */
	PG_STMT_ABANDON_WORK,
	PG_STMT_RENEW_WORK,
	PG_STMT_HISTORY,
	PG_STMT_STATUS,
	PG_STMT_PING,
	PG_STMT_TAKE_COMPLETIONS, /* scale-out (pg_ops_scale.c) */
	PG_STMT_TAKE_COMPLETIONS_ACKED,
	PG_STMT_PUT_NOTE,
	PG_STMT_READ_NOTES,
	PG_STMT_PREFILL_EXISTS,   /* prefill (pg_prefill.c) */
	PG_STMT_PREFILL,
	PG_STMT_FETCH_ORCHS,      /* batch: fetch_orchestration_items */
	PG_STMT_ACK_FETCH_ORCHS,  /* batch: ack_orchestration_items_and_fetch */
	PG_STMT_COUNT
};

/* Name of a prepared statement ("dura_fetch_orch", ...). */
const char *dura_pg_stmt_name(enum dura_pg_stmt s);
/* The per-connection setup script: search_path for the schema and one SQL
 * PREPARE per statement, sent as one simple query (one round trip).
 * quoted_schema comes from PQescapeIdentifier.  Caller frees. */
char *dura_pg_setup_script(const char *quoted_schema);

/* ---- schema (pg_schema.c) ---- */

/* Creates the schema, tables, indexes and functions in one transaction on
 * conn.  DURA_CONFIG if the schema exists or we lack rights. */
dura_rc dura_pg_schema_create(PGconn *conn, const char *schema, uint32_t timeout_ms,
                              struct dura_err *err);
/* DURA_OK if schema holds a durabench store (attach), DURA_CONFIG naming
 * it if not. */
dura_rc dura_pg_schema_check(PGconn *conn, const char *schema, uint32_t timeout_ms,
                             struct dura_err *err);
/* DROP SCHEMA ... CASCADE. */
dura_rc dura_pg_schema_drop(PGconn *conn, const char *schema, uint32_t timeout_ms,
                            struct dura_err *err);

/* ---- deadlines (pg_deadline.c); conn is in non-blocking mode ---- */

/* Collects the results of the command just sent on conn (the first error,
 * or the last result; caller PQclears), waiting at most timeout_ms.  NULL
 * with *timed_out = 1 when the deadline passed: the caller must drop conn.
 * NULL without timed_out: the link broke (PQerrorMessage says why). */
PGresult *dura_pg_await(PGconn *conn, uint32_t timeout_ms, int *timed_out);
/* PQexec with a deadline, same contract as dura_pg_await. */
PGresult *dura_pg_exec(PGconn *conn, const char *sql, uint32_t timeout_ms, int *timed_out);
/* "<what>: no reply from PostgreSQL within call_timeout (N ms); ..." */
void dura_pg_timeout_err(struct dura_err *err, const char *what, uint32_t timeout_ms);

/* ---- errors (pg_errors.c) ---- */

/* The rc a failed result maps to (conn tells whether the connection is
 * still usable).  Fills err with a one-line message. */
dura_rc dura_pg_result_error(PGconn *conn, const PGresult *res,
                             const char *what, struct dura_err *err);
/* rc of a SQLSTATE (NULL = no SQLSTATE: a client-side/connection error). */
dura_rc dura_pg_sqlstate_rc(const char *sqlstate, int conn_ok);
/* 1 if the SQLSTATE guarantees the transaction was rolled back while the
 * connection stays usable (serialization failure, deadlock, lock not
 * available): such calls are retried internally. */
int dura_pg_sqlstate_rolled_back(const char *sqlstate);
/* Copy src into dst (len bytes) as one line: newlines and tabs become
 * spaces, runs of spaces collapse, the given secret (if any) is masked. */
void dura_pg_one_line(char *dst, size_t len, const char *src,
                      const char *secret);
/* Message of a failed connection attempt: "cannot connect to PostgreSQL at
 * host:port (user u, database d): reason" with the password masked. */
void dura_pg_connect_error(PGconn *conn, char *dst, size_t len);

/* ---- binary wire format (pg_wire.c) ---- */

#define PG_OID_BOOL 16
#define PG_OID_BYTEA 17
#define PG_OID_INT8 20
#define PG_OID_INT4 23
#define PG_OID_TEXT 25

/* Binary one-dimensional array being built (owns data; free with
 * dura_pg_array_free). */
struct dura_pg_array {
	uint8_t *data;
	size_t len, cap;
	uint32_t n;
	uint32_t elem_oid;
	int has_nulls;
	int oom;
};
void dura_pg_array_init(struct dura_pg_array *a, uint32_t elem_oid);
void dura_pg_array_add(struct dura_pg_array *a, const void *p, size_t n);
void dura_pg_array_add_int8(struct dura_pg_array *a, int64_t v);
/* A NULL element (e.g. "no completion" in a text[]). */
void dura_pg_array_add_null(struct dura_pg_array *a);
/* Writes the header; returns 0, or -1 if memory ran out along the way. */
int dura_pg_array_finish(struct dura_pg_array *a);
void dura_pg_array_free(struct dura_pg_array *a);

/* Reading a binary array from a result value (no copies: elements point
 * into the value). */
struct dura_pg_array_reader {
	const uint8_t *p, *end;
	uint32_t n;        /* number of elements */
};
/* 0, or -1 if the value is not a one-dimensional array of elem_oid
 * (or malformed).  A NULL value (len < 0 / is_null) reads as empty. */
int dura_pg_array_open(struct dura_pg_array_reader *r, const char *value,
                       int len, uint32_t elem_oid);
/* Next element: 0 and data/len (len 0 for NULL), or -1 if malformed. */
int dura_pg_array_next(struct dura_pg_array_reader *r, const uint8_t **data,
                       size_t *len);

/* Opens column col of row 0 of res as an array (SQL NULL reads as empty);
 * 0, or -1 as dura_pg_array_open. */
int dura_pg_col_array(const PGresult *res, int col, uint32_t elem_oid,
                      struct dura_pg_array_reader *r);
/* Column col of row 0 as a binary bigint; if_null when NULL or not 8 bytes. */
int64_t dura_pg_col_int8(const PGresult *res, int col, int64_t if_null);

uint64_t dura_pg_get_u64(const void *p); /* big-endian */
uint32_t dura_pg_get_u32(const void *p);
void dura_pg_put_u64(void *p, uint64_t v);
void dura_pg_put_u32(void *p, uint32_t v);

/* Binary parameters of one call (all formats binary). */
#define PG_MAX_PARAMS 22 /* dura_ack_fetch_orchs */
struct dura_pg_params {
	int n;
	const char *values[PG_MAX_PARAMS];
	int lengths[PG_MAX_PARAMS];
	int formats[PG_MAX_PARAMS];
	uint8_t scalars[PG_MAX_PARAMS][8];
	struct dura_pg_array arrays[PG_MAX_PARAMS];
	int n_arrays;
};
void dura_pg_params_init(struct dura_pg_params *p);
void dura_pg_param_int8(struct dura_pg_params *p, int64_t v);
void dura_pg_param_int4(struct dura_pg_params *p, int32_t v);
/* An integer parameter from an unsigned count or duration, saturated at
 * INT32_MAX (lock_ms, delay_ms, max items: never wraps negative). */
void dura_pg_param_int4_sat(struct dura_pg_params *p, uint64_t v);
void dura_pg_param_bool(struct dura_pg_params *p, int v);
void dura_pg_param_text(struct dura_pg_params *p, const char *s); /* NULL ok */
void dura_pg_param_bytea(struct dura_pg_params *p, const void *d, size_t n);
/* A new array parameter the caller fills (and then finishes). */
struct dura_pg_array *dura_pg_param_array(struct dura_pg_params *p,
                                          uint32_t elem_oid);
/* Finishes every array; -1 if memory ran out. */
int dura_pg_params_finish(struct dura_pg_params *p);
void dura_pg_params_free(struct dura_pg_params *p);

/* ---- pool (pg_pool.c) ---- */

struct dura_pg_conn {
	PGconn *conn;      /* NULL: not connected (yet / any more) */
	int in_use;
	int broken;        /* reconnect before the next use */
	int pid;           /* backend pid, to ignore our own NOTIFYs */
	unsigned index;
};

struct dura_pg_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* a slot was released */
	struct dura_pg_conn *slots;
	unsigned size;
	unsigned next_hint;     /* last released slot: reuse warm connections */
};

/* ---- waiting for work (pg_notify.c) ---- */

enum dura_pg_queue { PG_Q_ORCH = 0, PG_Q_WORK = 1 };

struct dura_pg_waitq {
	pthread_mutex_t mu;
	pthread_cond_t cv;           /* CLOCK_MONOTONIC */
	uint64_t gen[2];             /* bumped whenever work may have appeared */
	unsigned waiters[2];
	/* wake-ups owed to waiters: one per item that appeared (capped at the
	 * number of waiters), so one new item wakes one waiter, not all */
	unsigned tickets[2];
	/* "known empty": the last server fetch found nothing at generation
	 * empty_gen; until empty_until (monotonic ns) nothing can have become
	 * visible without a bump, so a long poll may skip the round trip. */
	uint64_t empty_gen[2];
	uint64_t empty_until[2];
	int empty_valid[2];
	/* "blocked": an empty fetch saw visible messages that only wait for an
	 * instance lock (or for a concurrent fetcher).  Such messages become
	 * fetchable when a lock is released, without any enqueue, so while
	 * this is set every lock release wakes a waiter.  Sticky: set by any
	 * empty fetch that saw such messages, cleared only by an accepted
	 * empty fetch that saw none (a stale 1 costs one empty fetch). */
	int blocked[2];
	atomic_uint total_waiters;   /* read lock-free to decide NOTIFY */
	/* another store works on this schema (this one attached, or a
	 * notification from a foreign backend arrived): only then can a NOTIFY
	 * wake anyone, since this store's own fetchers are woken locally */
	atomic_int peers;
};

struct dura_pg_listener {
	pthread_t thread;
	int started;
	int stop_pipe[2];
	PGconn *conn;              /* owned by the listener thread */
};

/* ---- enqueue idempotency keys (pg_enqueue_keys.c) ---- */

#define PG_KEYS_PENDING 16

/* An enqueue that returned DURA_RETRY: its messages and key. */
struct dura_pg_pending_key {
	uint8_t *content;   /* serialized messages (owned); NULL = free slot */
	size_t len;
	uint64_t key;
	uint64_t at_ns;     /* monotonic */
};

struct dura_pg_keys {
	pthread_mutex_t mu;                /* guards pending[] */
	atomic_uint_fast64_t next;         /* random base + counter */
	atomic_uint n_pending;             /* read lock-free: 0 = fast path */
	struct dura_pg_pending_key pending[PG_KEYS_PENDING];
};

void dura_pg_keys_init(struct dura_pg_keys *k);
void dura_pg_keys_destroy(struct dura_pg_keys *k);
/* The key for an enqueue of msgs: the key of a remembered unsettled call
 * with byte-identical messages (claimed), else a fresh one. */
uint64_t dura_pg_enqueue_key(struct dura_store *st, const struct dura_message *msgs,
                             size_t n);
/* The enqueue with this key returned DURA_RETRY: remember it, so that the
 * caller's retry reuses the key. */
void dura_pg_enqueue_key_unsettled(struct dura_store *st, const struct dura_message *msgs,
                                   size_t n, uint64_t key);

/* ---- the store ---- */

struct dura_pg_stats {
	atomic_uint_fast64_t round_trips;
	atomic_uint_fast64_t commits;
	atomic_uint_fast64_t empty_fetches;
	atomic_uint_fast64_t lock_conflicts;
	atomic_uint_fast64_t retries;
	atomic_uint_fast64_t reconnects;
};

struct dura_store {
	struct dura_pg_options opt;
	char *quoted_schema;       /* PQescapeIdentifier result (malloc copy) */
	char *setup_script;        /* per-connection setup, see statements */
	char endpoint[300];        /* "host:port" for messages (no password) */
	int server_version;        /* PQserverVersion */
	struct dura_pg_pool pool;
	struct dura_pg_waitq waitq;
	struct dura_pg_listener listener;
	struct dura_pg_stats stats;
	struct dura_pg_keys keys;
	int schema_created;
	/* the shortest batch orchestration call without a wait so far (ns; 0:
	 * none yet): how far the server is (pg_ops_orch_batch.c) */
	_Atomic uint64_t orch_call_min_ns;
};

/* Opens a new libpq connection with the store's options (not set up).
 * Returns NULL with err filled (password masked). */
PGconn *dura_pg_connect(struct dura_store *st, char *err, size_t errlen);
/* Connects slot (if needed) and runs the per-connection setup.  rc. */
dura_rc dura_pg_conn_setup(struct dura_store *st, struct dura_pg_conn *c,
                           struct dura_err *err);

dura_rc dura_pg_pool_init(struct dura_store *st, struct dura_err *err);
/* Blocks up to acquire_timeout for a free slot; connects/reconnects it
 * (with its statements prepared) before returning it.  DURA_RETRY on
 * timeout or when the server cannot be reached. */
dura_rc dura_pg_pool_acquire(struct dura_store *st, struct dura_pg_conn **out,
                             struct dura_err *err);
void dura_pg_pool_release(struct dura_store *st, struct dura_pg_conn *c);
/* 1 if pid is one of the pool's backends. */
int dura_pg_pool_owns_pid(struct dura_store *st, int pid);
void dura_pg_pool_destroy(struct dura_store *st);

/* ---- executing calls (pg_exec.c) ---- */

enum dura_pg_retry {
	PG_RETRY_IF_UNSENT = 0, /* writes: retry only when nothing reached the
	                           server (or it surely rolled back) */
	PG_RETRY_ALWAYS = 1,    /* reads and fetches: a lost reply costs at
	                           most a lock that expires */
	PG_RETRY_KEYED = 2      /* writes that carry an idempotency key: a
	                           retry of one that did commit is a no-op */
};

/* Runs prepared statement s with p on a pooled connection: one round trip.
 * On DURA_OK *out is the PGresult (caller PQclears).  Transient failures are
 * retried internally per policy (stats.retries). */
dura_rc dura_pg_call(struct dura_store *st, enum dura_pg_stmt s,
                     struct dura_pg_params *p, enum dura_pg_retry policy,
                     PGresult **out, struct dura_err *err);

/* dura_pg_call for a statement whose result says nothing beyond success
 * (enqueue, ack, abandon, renew): frees p, discards the result and counts
 * the commit (stats.commits) on DURA_OK. */
dura_rc dura_pg_call_commit(struct dura_store *st, enum dura_pg_stmt s,
                            struct dura_pg_params *p, enum dura_pg_retry policy,
                            struct dura_err *err);

/* ---- waiting (pg_notify.c) ---- */

dura_rc dura_pg_waitq_init(struct dura_pg_waitq *w);
void dura_pg_waitq_destroy(struct dura_pg_waitq *w);
/* n items (visible now or later) may have appeared in queue q: wakes up to
 * n waiters (PG_WAKE_ALL: every one). */
#define PG_WAKE_ALL 0xffffffffu
void dura_pg_wake(struct dura_store *st, enum dura_pg_queue q, unsigned n);
/* 1 if a NOTIFY is worth it: another store works on this schema and some
 * fetcher of this one is waiting (so the others' probably are too). */
int dura_pg_notify_wanted(struct dura_store *st);
uint64_t dura_pg_gen(struct dura_store *st, enum dura_pg_queue q);

/* What a fetch that found nothing learned about its queue. */
struct dura_pg_empty {
	int64_t next_ms;   /* until a message becomes visible or a lock expires
	                      (-1: nothing pending) */
	int blocked;       /* visible messages wait for an instance lock */
};
/* A server fetch started at generation gen found nothing. */
void dura_pg_note_empty(struct dura_store *st, enum dura_pg_queue q,
                        uint64_t gen, const struct dura_pg_empty *e);
/* A call that released a lock on queue q committed (orchestration ack,
 * ack+fetch): whatever waited for that lock may be fetchable now, including
 * messages that arrived while the call ran and that its own check did not
 * see.  gen: the generation read before the call.  Wakes n waiters for the
 * items the call made visible; if the generation moved during the call,
 * also invalidates "known empty" and wakes one more waiter when fetches saw
 * messages blocked by locks.  fetched: the call's own fetch part (run after
 * the release, in the same transaction) found nothing; NULL if there was no
 * fetch part or it handed out an item. */
void dura_pg_lock_released(struct dura_store *st, enum dura_pg_queue q, unsigned n,
                           uint64_t gen, const struct dura_pg_empty *fetched);
/* A write returned DURA_RETRY: it may have committed (the reply was lost)
 * without our local wake-up, and our own NOTIFY is ignored by design, so
 * every waiter looks again. */
void dura_pg_wake_uncertain(struct dura_store *st);
/* 1 if a fetch right now would surely find nothing (see empty_gen). */
int dura_pg_known_empty(struct dura_store *st, enum dura_pg_queue q);
/* Called after a fetch started at generation gen found nothing: waits for
 * a wake-up meant for this waiter, the queue's next-visible time, or
 * deadline_ns (monotonic).  Returns 1 if it is worth fetching again
 * (also at once if the generation moved during the fetch), 0 if the
 * deadline passed. */
int dura_pg_wait(struct dura_store *st, enum dura_pg_queue q, uint64_t gen,
                 uint64_t deadline_ns);

dura_rc dura_pg_listener_start(struct dura_store *st, struct dura_err *err);
void dura_pg_listener_stop(struct dura_store *st);

uint64_t dura_pg_now_ns(void);

/* ---- what the operations share (pg_ops_common.c) ---- */

/* One server fetch of a long poll: DURA_OK with the item(s) handed out
 * through ctx, DURA_EMPTY with *empty filled, or an error. */
typedef dura_rc (*dura_pg_fetch_fn)(struct dura_store *st, void *ctx,
                                    struct dura_pg_empty *empty, struct dura_err *err);
/* The long poll of every fetch operation on queue q: fetch (skipping the
 * round trip while the queue is known empty) and, while nothing is found,
 * wait up to wait_ms for a wake-up and fetch again.  Counts the commit of a
 * successful fetch and every empty one.  DURA_EMPTY when wait_ms passed. */
dura_rc dura_pg_poll(struct dura_store *st, enum dura_pg_queue q, uint32_t wait_ms,
                     dura_pg_fetch_fn fetch, void *ctx, struct dura_err *err);
/* A fetch (or the fetch part of an ack+fetch) started at generation gen
 * found nothing: counts it (stats.empty_fetches) and notes queue q empty. */
void dura_pg_fetched_nothing(struct dura_store *st, enum dura_pg_queue q, uint64_t gen,
                             const struct dura_pg_empty *e);
/* The server part of a fetch: statement s (lock_ms[, max_items]) with
 * retries (a lost reply costs at most a lock that expires).  max_items 0:
 * a single-item statement without that parameter.  On DURA_OK *res is the
 * result (caller PQclears). */
dura_rc dura_pg_call_fetch(struct dura_store *st, enum dura_pg_stmt s, uint32_t lock_ms,
                           size_t max_items, PGresult **res, struct dura_err *err);
/* abandon_orchestration_item / abandon_work_item: statement s (token,
 * delay, notify), then wakes one fetcher of queue q. */
dura_rc dura_pg_abandon(struct dura_store *st, enum dura_pg_stmt s, enum dura_pg_queue q,
                        uint64_t token, uint32_t delay_ms, struct dura_err *err);
/* renew_orchestration_lock / renew_work_lock: statement s (token, extend). */
dura_rc dura_pg_renew(struct dura_store *st, enum dura_pg_stmt s, uint64_t token,
                      uint32_t extend_ms, struct dura_err *err);

/* ---- operations ---- */

dura_enqueue_orchestrator_fn dura_pg_enqueue_orchestrator;
dura_fetch_orchestration_item_fn dura_pg_fetch_orchestration_item;
dura_ack_orchestration_item_fn dura_pg_ack_orchestration_item;
dura_ack_orchestration_item_and_fetch_fn dura_pg_ack_orchestration_item_and_fetch;
dura_abandon_orchestration_item_fn dura_pg_abandon_orchestration_item;
dura_renew_orchestration_lock_fn dura_pg_renew_orchestration_lock;
dura_release_orchestration_item_fn dura_pg_release_orchestration_item;
/* enqueue_orchestrator; started != 0 also stamps the start of each
 * message's instance for the completion feed (start_instances). */
dura_rc dura_pg_enqueue(dura_store *st, const struct dura_message *msgs, size_t n,
                        int started, struct dura_err *err);

dura_fetch_work_item_fn dura_pg_fetch_work_item;
dura_ack_work_item_fn dura_pg_ack_work_item;
dura_ack_work_item_and_fetch_fn dura_pg_ack_work_item_and_fetch;
dura_abandon_work_item_fn dura_pg_abandon_work_item;
dura_renew_work_lock_fn dura_pg_renew_work_lock;
dura_release_work_item_fn dura_pg_release_work_item;
/* A work item that owns copies of instance and body (one allocation), for
 * items parsed out of a batch result; released by dura_pg_release_work_item.
 * NULL if memory ran out. */
struct dura_work_item *dura_pg_work_item_new(uint64_t token, const uint8_t *instance,
                                             size_t instance_len, const uint8_t *body,
                                             size_t body_len, uint32_t attempts);

dura_fetch_work_items_fn dura_pg_fetch_work_items;
dura_ack_work_items_and_fetch_fn dura_pg_ack_work_items_and_fetch;

dura_read_history_fn dura_pg_read_history;
dura_release_history_fn dura_pg_release_history;
dura_instance_status_fn dura_pg_instance_status;
dura_release_instance_status_fn dura_pg_release_instance_status;

/* scale-out (pg_ops_scale.c) */
dura_start_instances_fn dura_pg_start_instances;
dura_take_completions_fn dura_pg_take_completions;
dura_take_completions_acked_fn dura_pg_take_completions_acked;
dura_release_completions_fn dura_pg_release_completions;
dura_put_note_fn dura_pg_put_note;
dura_read_notes_fn dura_pg_read_notes;
dura_release_notes_fn dura_pg_release_notes;
/* bulk prefill (pg_prefill.c) */
dura_prefill_fn dura_pg_prefill;

/* orchestration items in batches (pg_ops_orch_batch.c) */
dura_fetch_orchestration_items_fn dura_pg_fetch_orchestration_items;
dura_ack_orchestration_items_and_fetch_fn dura_pg_ack_orchestration_items_and_fetch;
/* An orchestration item that owns copies of everything view points to
 * (one allocation), for items parsed out of a batch result; released by
 * dura_pg_release_orchestration_item.  NULL if memory ran out. */
struct dura_orch_item *dura_pg_orch_item_copy(const struct dura_orch_item *view);
/* ack_orchestration_item's argument checks (pg_ops_orch.c). */
dura_rc dura_pg_check_ack(const struct dura_orch_ack *ack, struct dura_err *err);
/* The DDL of the batch functions, appended to the schema (pg_schema_orch_batch.c). */
extern const char dura_pg_orch_batch_ddl[];

/* err helper: snprintf into err->msg. */
void dura_pg_err(struct dura_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
