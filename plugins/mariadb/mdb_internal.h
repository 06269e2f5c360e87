/*
 * MariaDB/MySQL provider: what the plugin's files share.
 *
 * Layout of the plugin (one concern per file):
 *   mdb_plugin.c     ops table, open/close, stats, ping, describe
 *   mdb_options.c    declared options, the mariadb:// URL
 *   mdb_schema.c     DDL: InnoDB tables and the stored procedures that make
 *                    each provider operation one CALL (one round trip)
 *   mdb_pool.c       connections (timeouts, session settings), the
 *                    fixed-size pool, reconnects, prepared statements
 *   mdb_call.c       one prepared CALL with bound parameters, its result
 *                    sets read back, internal retries
 *   mdb_errors.c     server/client error numbers -> dura_rc
 *   mdb_lists.c      message and event lists as one JSON parameter
 *   mdb_enqueue_keys.c idempotency keys that make a retried enqueue safe
 *   mdb_wait.c       long poll: local wake-ups plus bounded polling
 *   mdb_ops_orch.c   orchestration operations
 *   mdb_ops_work.c   work item operations
 *   mdb_ops_read.c   read_history, instance_status
 *
 * Nothing here is exported from the shared object: the libtool flags export
 * only dura_provider_entry.  Names are prefixed dura_mdb_.
 */
#ifndef DURA_MDB_INTERNAL_H
#define DURA_MDB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include <durabench/provider.h>

/* ---- options (mdb_options.c) ---- */

#define DURA_MDB_NAME_MAX 64

struct dura_mdb_options {
	char *host;                 /* from the URL (default 127.0.0.1) */
	unsigned port;              /* default 3306 */
	char *user;                 /* default root */
	char *password;             /* "" = none; never printed */
	char database[DURA_MDB_NAME_MAX + 1]; /* the store's own database */
	int database_given;         /* 0: generated durabench_<hex> */
	int keep;                   /* keep the database at close */
	unsigned pool_size;
	uint32_t acquire_timeout_ms;
	uint32_t connect_timeout_ms;
	uint32_t statement_timeout_ms; /* client read/write timeout */
	uint32_t lock_wait_timeout_s;  /* innodb_lock_wait_timeout */
	uint32_t poll_interval_ms;     /* idle long poll: longest sleep */
};

extern const struct dura_option_spec dura_mdb_option_specs[];

/* Fills o from the options (defaults for the rest).  DURA_CONFIG with err
 * filled on an unknown key or bad value.  Free with dura_mdb_options_free
 * (also after a failure). */
dura_rc dura_mdb_options_parse(const struct dura_option *options, size_t n,
                               struct dura_mdb_options *o, struct dura_err *err);
void dura_mdb_options_free(struct dura_mdb_options *o);

/* ---- statements ---- */

enum dura_mdb_stmt {
	MDB_ENQUEUE = 0,
	MDB_FETCH_ORCH,
	MDB_ACK_ORCH,
	MDB_ACK_FETCH_ORCH,
	MDB_ABANDON_ORCH,
	MDB_RENEW_ORCH,
	MDB_FETCH_WORK,
	MDB_ACK_WORK,
	MDB_ACK_FETCH_WORK,
	MDB_ABANDON_WORK,
	MDB_RENEW_WORK,
	MDB_HISTORY,
	MDB_STATUS,
	MDB_PING,
	MDB_FETCH_WORK_N,
	MDB_ACK_WORK_N,
	MDB_STMT_COUNT
};

/* The SQL text of a statement (a CALL or a SELECT with ? markers). */
const char *dura_mdb_stmt_sql(enum dura_mdb_stmt s);

/* ---- schema (mdb_schema.c) ---- */

/* Creates the database, its tables and procedures on conn (left using the
 * database).  When `database` exists: with pick_free (a name the user
 * gave), the first free of database_2 ... database_<MDB_SUFFIX_MAX> is
 * created instead and written back into `database`, so that the probe
 * store and every run of a file get stores of their own, each kept with
 * keep = true; without, or when all are taken, DURA_CONFIG.  DURA_CONFIG
 * too if we lack rights.  No existing database is ever written into.
 * *created: the database was created (drop it if a later step failed). */
#define MDB_SUFFIX_MAX 999
dura_rc dura_mdb_schema_create(MYSQL *conn, char database[DURA_MDB_NAME_MAX + 1],
                               int pick_free, int *created, struct dura_err *err);
dura_rc dura_mdb_schema_drop(MYSQL *conn, const char *database, struct dura_err *err);
/* `name` with backticks doubled, into dst (len >= 2 * strlen + 3). */
void dura_mdb_quote_ident(char *dst, size_t len, const char *name);

/* ---- errors (mdb_errors.c) ---- */

/* The signal our procedures raise when a token does not hold its lock. */
#define MDB_ERRNO_LOCK_LOST 30001

/* rc of a server or client error number. */
dura_rc dura_mdb_errno_rc(unsigned errnum);
/* 1 if the error means the connection is unusable (reconnect). */
int dura_mdb_errno_broken(unsigned errnum);
/* 1 if the error guarantees the transaction rolled back with the
 * connection usable (deadlock, lock wait timeout): retried internally. */
int dura_mdb_errno_rolled_back(unsigned errnum);

/* ---- JSON lists (mdb_lists.c) ---- */

/* A growing string (owns data; free with dura_mdb_json_free). */
struct dura_mdb_json {
	char *data;
	size_t len, cap;
	int oom;
};
/* [[b64(instance), b64(body), delay_ms], ...] */
void dura_mdb_json_messages(struct dura_mdb_json *j, const struct dura_message *m, size_t n);
/* [[event_id, b64(body)], ...] */
void dura_mdb_json_events(struct dura_mdb_json *j, const struct dura_event *e, size_t n);
/* [[token, b64(instance) or null, b64(body), delay_ms], ...] (batch acks) */
void dura_mdb_json_acks(struct dura_mdb_json *j, const uint64_t *tokens,
                        const struct dura_message *completions, size_t n);
void dura_mdb_json_free(struct dura_mdb_json *j);

/* ---- calls (mdb_call.c) ---- */

#define MDB_MAX_PARAMS 16

struct dura_mdb_params {
	int n;
	MYSQL_BIND bind[MDB_MAX_PARAMS];
	long long ints[MDB_MAX_PARAMS];
	unsigned long lengths[MDB_MAX_PARAMS];
	my_bool nulls[MDB_MAX_PARAMS];
};
void dura_mdb_params_init(struct dura_mdb_params *p);
void dura_mdb_param_int(struct dura_mdb_params *p, long long v);
/* Bytes (binary-safe; data borrowed until the call returns); NULL data with
 * len 0 is an empty value, use dura_mdb_param_null for SQL NULL. */
void dura_mdb_param_bytes(struct dura_mdb_params *p, const void *data, size_t len);
void dura_mdb_param_text(struct dura_mdb_params *p, const char *s); /* NULL: SQL NULL */
void dura_mdb_param_null(struct dura_mdb_params *p);

/* One value of a result set: bytes (NUL-terminated copy), or NULL. */
struct dura_mdb_cell {
	uint8_t *data;
	size_t len;
	int is_null;
};
struct dura_mdb_set {
	size_t n_rows, n_cols;
	struct dura_mdb_cell *cells; /* row-major */
};
/* Every result set of one call (owned; free with dura_mdb_result_free). */
struct dura_mdb_result {
	size_t n_sets;
	struct dura_mdb_set *sets;
};
void dura_mdb_result_free(struct dura_mdb_result *r);
/* Cell (set, row, col), or NULL when out of range. */
const struct dura_mdb_cell *dura_mdb_cell(const struct dura_mdb_result *r, size_t set,
                                          size_t row, size_t col);
/* Integer value of a cell; if_null when absent or NULL. */
long long dura_mdb_int(const struct dura_mdb_result *r, size_t set, size_t row,
                       size_t col, long long if_null);

/* Removes result set 0 and returns the integer of its first cell
 * (if_none when there is none or it is NULL). */
long long dura_mdb_result_pop_int(struct dura_mdb_result *r, long long if_none);

enum dura_mdb_retry {
	MDB_RETRY_IF_ROLLED_BACK = 0, /* writes: retry only when nothing can have
	                                 committed (not sent, deadlock) */
	MDB_RETRY_ALWAYS = 1          /* reads, fetches, keyed enqueues */
};

/* ---- the store ---- */

struct dura_mdb_conn {
	MYSQL *mysql;                      /* NULL: not connected */
	MYSQL_STMT *stmts[MDB_STMT_COUNT]; /* prepared on first use */
	int in_use;
	int broken;                        /* reconnect before the next use */
};

struct dura_mdb_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* a slot was released (CLOCK_MONOTONIC) */
	struct dura_mdb_conn *slots;
	unsigned size;
};

enum dura_mdb_queue { MDB_Q_ORCH = 0, MDB_Q_WORK = 1 };

struct dura_mdb_waitq {
	pthread_mutex_t mu;
	pthread_cond_t cv[2];     /* per queue, CLOCK_MONOTONIC */
	size_t pollers[2];        /* fetchers inside dura_mdb_poll */
	size_t tokens[2];         /* wake-ups not yet taken (<= pollers) */
};

struct dura_mdb_stats {
	atomic_uint_fast64_t round_trips;
	atomic_uint_fast64_t commits;
	atomic_uint_fast64_t empty_fetches;
	atomic_uint_fast64_t lock_conflicts;
	atomic_uint_fast64_t retries;
	atomic_uint_fast64_t reconnects;
};

/* ---- enqueue idempotency keys (mdb_enqueue_keys.c) ---- */

#define MDB_KEYS_PENDING 16

/* An enqueue that returned DURA_RETRY: its messages and key. */
struct dura_mdb_pending_key {
	uint8_t *content;   /* serialized messages (owned); NULL = free slot */
	size_t len;
	uint64_t key;
	uint64_t at_ns;     /* monotonic */
};

struct dura_mdb_keys {
	pthread_mutex_t mu;                  /* guards pending[] */
	atomic_uint_fast64_t next;           /* next fresh key */
	atomic_uint n_pending;               /* used slots (read without mu) */
	struct dura_mdb_pending_key pending[MDB_KEYS_PENDING];
};

struct dura_store {
	struct dura_mdb_options opt;
	char endpoint[300];        /* "host:port" for messages */
	char server_version[64];
	struct dura_mdb_pool pool;
	struct dura_mdb_waitq waitq;
	struct dura_mdb_stats stats;
	struct dura_mdb_keys keys;     /* enqueue idempotency keys */
	int database_created;
	int library_held;          /* dura_mdb_library_acquire succeeded */
};

void dura_mdb_keys_init(struct dura_mdb_keys *k);
void dura_mdb_keys_destroy(struct dura_mdb_keys *k);
/* The key for an enqueue of msgs: the key of a remembered unsettled call
 * with byte-identical messages (claimed), else a fresh one (> 0). */
uint64_t dura_mdb_enqueue_key(struct dura_store *st, const struct dura_message *msgs, size_t n);
/* The enqueue of msgs with key returned DURA_RETRY (it may have
 * committed): remember it for the caller's retry. */
void dura_mdb_enqueue_key_unsettled(struct dura_store *st, const struct dura_message *msgs,
                                    size_t n, uint64_t key);

/* ---- pool (mdb_pool.c) ---- */

/* The client library, counted per open store: initialised by the first,
 * released (mysql_library_end) by the last.  acquire: 0 or -1. */
int dura_mdb_library_acquire(void);
void dura_mdb_library_release(void);

/* A new connection with the store's timeouts and session settings, using
 * db (NULL: none).  NULL with err filled (no password in it). */
MYSQL *dura_mdb_connect(struct dura_store *st, const char *db, struct dura_err *err);
dura_rc dura_mdb_pool_init(struct dura_store *st, struct dura_err *err);
/* Blocks up to acquire_timeout for a free slot and (re)connects it.
 * DURA_RETRY on timeout or when the server cannot be reached (then
 * *unreachable = 1, when unreachable is not NULL). */
dura_rc dura_mdb_pool_acquire(struct dura_store *st, struct dura_mdb_conn **out,
                              int *unreachable, struct dura_err *err);
void dura_mdb_pool_release(struct dura_store *st, struct dura_mdb_conn *c);
/* Closes the slot's statements and connection (reconnected on next use). */
void dura_mdb_conn_reset(struct dura_mdb_conn *c);
void dura_mdb_pool_destroy(struct dura_store *st);
/* The slot's prepared statement s (prepared now if needed). */
dura_rc dura_mdb_stmt(struct dura_store *st, struct dura_mdb_conn *c,
                      enum dura_mdb_stmt s, MYSQL_STMT **out, struct dura_err *err);

/* ---- executing calls (mdb_call.c) ---- */

/* Runs statement s with p on a pooled connection (one round trip) and reads
 * every result set into *out (caller frees with dura_mdb_result_free; out
 * may be NULL to discard).  Transient failures are retried per policy. */
dura_rc dura_mdb_call(struct dura_store *st, enum dura_mdb_stmt s,
                      struct dura_mdb_params *p, enum dura_mdb_retry policy,
                      struct dura_mdb_result *out, struct dura_err *err);

/* ---- waiting (mdb_wait.c) ---- */

dura_rc dura_mdb_waitq_init(struct dura_mdb_waitq *w);
void dura_mdb_waitq_destroy(struct dura_mdb_waitq *w);
/* n things to take may have appeared in queue q: wakes up to n of its
 * polling fetchers (the others see them at their next poll). */
void dura_mdb_wake(struct dura_store *st, enum dura_mdb_queue q, size_t n);

/* One server fetch of a long poll: DURA_OK (item handed out through ctx),
 * DURA_EMPTY with *next_ms = time until something becomes visible (-1:
 * unknown), or an error. */
typedef dura_rc (*dura_mdb_fetch_fn)(struct dura_store *st, void *ctx, int64_t *next_ms,
                                     struct dura_err *err);
/* Fetch; while nothing is found, sleep until a local wake-up, the queue's
 * next visible time or poll_interval, and fetch again, up to wait_ms. */
dura_rc dura_mdb_poll(struct dura_store *st, enum dura_mdb_queue q, uint32_t wait_ms,
                      dura_mdb_fetch_fn fetch, void *ctx, struct dura_err *err);
uint64_t dura_mdb_now_ns(void);

/* ---- operations (each declared with its ABI type) ---- */

/* Most items one batch fetch is asked for (the procedure's INT). */
#define MDB_BATCH_MAX 0x7fffffff

dura_enqueue_orchestrator_fn dura_mdb_enqueue_orchestrator;
dura_fetch_orchestration_item_fn dura_mdb_fetch_orchestration_item;
dura_ack_orchestration_item_fn dura_mdb_ack_orchestration_item;
dura_ack_orchestration_item_and_fetch_fn dura_mdb_ack_orchestration_item_and_fetch;
dura_abandon_orchestration_item_fn dura_mdb_abandon_orchestration_item;
dura_renew_orchestration_lock_fn dura_mdb_renew_orchestration_lock;
dura_release_orchestration_item_fn dura_mdb_release_orchestration_item;

dura_fetch_work_item_fn dura_mdb_fetch_work_item;
dura_fetch_work_items_fn dura_mdb_fetch_work_items;
dura_ack_work_items_and_fetch_fn dura_mdb_ack_work_items_and_fetch;
dura_ack_work_item_fn dura_mdb_ack_work_item;
dura_ack_work_item_and_fetch_fn dura_mdb_ack_work_item_and_fetch;
dura_abandon_work_item_fn dura_mdb_abandon_work_item;
dura_renew_work_lock_fn dura_mdb_renew_work_lock;
dura_release_work_item_fn dura_mdb_release_work_item;

dura_read_history_fn dura_mdb_read_history;
dura_release_history_fn dura_mdb_release_history;
dura_instance_status_fn dura_mdb_instance_status;
dura_release_instance_status_fn dura_mdb_release_instance_status;

dura_check_options_fn dura_mdb_check_options;

/* Shared by the token operations: statement s (token, ms) that commits
 * nothing else; wakes queue q's fetchers when wake != 0. */
dura_rc dura_mdb_token_call(struct dura_store *st, enum dura_mdb_stmt s, uint64_t token,
                            uint32_t ms, int wake, enum dura_mdb_queue q,
                            struct dura_err *err);

/* err helper: snprintf into err->msg. */
void dura_mdb_err(struct dura_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
