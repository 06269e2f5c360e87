/*
 * Private state of the SQLite provider, shared by its source files.
 *
 * Concurrency model: one SQLite connection per store, guarded by one mutex.
 * Every operation takes the mutex for its whole duration, so statements,
 * the scratch buffers and the counters below need no other protection.  For
 * an embedded database this is also the fastest arrangement: SQLite
 * serialises writers anyway, and a single connection avoids SQLITE_BUSY,
 * cache duplication and shared-memory traffic.  Long polls wait on condition
 * variables bound to the same mutex.
 */
#ifndef DURA_SQLITE_STORE_H
#define DURA_SQLITE_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include <durabench/provider.h>

/* Prepared statements, created once at open (SQL text in sqlite_schema.c). */
enum dura_sqlite_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_ORCH_INSERT,
	SQ_ORCH_PICK,
	SQ_ORCH_NEXT_VISIBLE,
	SQ_LOCK_NEXT_EXPIRY,
	SQ_LOCK_UPSERT,
	SQ_LOCK_BY_TOKEN,
	SQ_LOCK_DELETE,
	SQ_LOCK_RENEW,
	SQ_ORCH_TAG,
	SQ_ORCH_TAGGED,
	SQ_ORCH_DELETE_TAGGED,
	SQ_ORCH_RELEASE_TAGGED,
	SQ_INSTANCE_EXECUTION,
	SQ_INSTANCE_GET,
	SQ_INSTANCE_UPSERT,
	SQ_HISTORY_GET,
	SQ_HISTORY_INSERT,
	SQ_HISTORY_RANGES,
	SQ_WORK_INSERT,
	SQ_WORK_PICK,
	SQ_WORK_LOCK,
	SQ_WORK_DELETE,
	SQ_WORK_RELEASE,
	SQ_WORK_RENEW,
	SQ_WORK_NEXT_VISIBLE,
	SQ_WORK_NEXT_EXPIRY,
	SQ_STARTED_INSERT,     /* scale-out (sqlite_scale.c) */
	SQ_FEED_APPEND,
	SQ_STARTED_DELETE,
	SQ_FEED_READ,
	SQ_FEED_DELETE,
	SQ_FEED_ACK,
	SQ_FEED_UNTAKE,
	SQ_FEED_MARK,
	SQ_NOTE_PUT,
	SQ_NOTE_READ,
	SQ_N_STMTS
};

/* Parsed options. */
struct dura_sqlite_config {
	char *database;        /* ":memory:" or a file path (owned) */
	int in_memory;
	const char *synchronous; /* "OFF", "NORMAL", "FULL" or "EXTRA" (static) */
	uint32_t busy_timeout_ms;
	int shared;            /* other processes may attach (scale-out) */
	uint64_t max_size;     /* bytes; 0 = no bound (PRAGMA max_page_count) */
};

/* A growable byte buffer that reports allocation failure instead of
 * aborting (a plugin must not take the process down). */
struct dura_sqlite_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* One row collected while building a returned object: an offset into the
 * scratch byte buffer plus the integer columns that came with it. */
struct dura_sqlite_span {
	size_t off;
	size_t len;
	uint64_t id;       /* event id */
	uint32_t attempts; /* message attempts */
};

struct dura_sqlite_spans {
	struct dura_sqlite_span *v;
	size_t n;
	size_t cap;
};

struct dura_store {
	struct dura_sqlite_config cfg;
	sqlite3 *db;
	sqlite3_stmt *stmt[SQ_N_STMTS];
	int owner_fd;               /* shared file store opened (not attached):
	                               flock'ed "<database>.owner", else -1 */

	pthread_mutex_t mu;
	pthread_cond_t orch_cond;   /* something may have become fetchable */
	pthread_cond_t work_cond;
	unsigned orch_waiters;      /* threads blocked in a fetch long poll */
	unsigned work_waiters;

	/* In memory there is no rollback journal (journal_mode = OFF): an
	 * operation makes every check that can refuse it before its first
	 * write, so a refused call rolls back a transaction that changed
	 * nothing.  A write that fails anyway (out of memory), or a rollback
	 * after changes, leaves the store undefined: broken is then set and
	 * every later transaction and write fails (DURA_CONFIG). */
	int no_journal;
	int journal_lent;           /* dura_sqlite_journal(s, 1): one for now */
	int broken;
	int64_t changes_at_begin;   /* sqlite3_total_changes64 at BEGIN */

	int stamped;                /* start_instances was called on this store */
	int64_t last_ms;            /* clock never goes backwards per store */
	uint64_t next_token;        /* random base + counter, see new_token */

	/* Scratch space reused by fetches and reads (under mu). */
	struct dura_sqlite_buf inst;  /* NUL-terminated instance id */
	struct dura_sqlite_buf scratch;
	struct dura_sqlite_spans spans;   /* history events */
	struct dura_sqlite_spans spans2;  /* fetched messages */
	struct dura_sqlite_buf pack;      /* an ack's events, packed */

	/* Counters reported by stats() (under mu). */
	uint64_t n_ops;
	uint64_t n_commits;
	uint64_t n_empty_fetches;
	uint64_t n_retries;
};

/* ---- sqlite_options.c ---- */
extern const struct dura_option_spec dura_sqlite_option_specs[];
/* Fills cfg from options (defaults for missing ones).  On failure returns
 * DURA_CONFIG with err set; cfg then owns nothing.  Free with
 * dura_sqlite_config_free. */
dura_rc dura_sqlite_config_parse(const struct dura_option *options, size_t n,
                                 struct dura_sqlite_config *cfg,
                                 struct dura_err *err);
void dura_sqlite_config_free(struct dura_sqlite_config *cfg);
/* check_options: the same parser as open(), on the given values only. */
dura_check_options_fn dura_sqlite_check_options;

/* ---- sqlite_schema.c ---- */
/* Makes the database an empty durabench store: refuses a file that holds
 * objects durabench did not create, drops and recreates its own tables. */
dura_rc dura_sqlite_schema_reset(struct dura_store *s, struct dura_err *err);
/* Prepares every statement of enum dura_sqlite_stmt. */
dura_rc dura_sqlite_prepare_all(struct dura_store *s, struct dura_err *err);
/* Finalizes every prepared statement (NULL ones are skipped). */
void dura_sqlite_finalize_all(struct dura_store *s);

/* ---- sqlite_store.c: helpers every operation uses (all under s->mu) ---- */
void dura_sqlite_err(struct dura_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Maps an SQLite result code to a dura_rc and writes "what: errmsg". */
dura_rc dura_sqlite_fail(struct dura_store *s, int src, const char *what,
                         struct dura_err *err);
int64_t dura_sqlite_now(struct dura_store *s);  /* wall ms, non-decreasing */
uint64_t dura_sqlite_new_token(struct dura_store *s);
/* Adds ms to a timestamp without overflow. */
int64_t dura_sqlite_after(int64_t now, int64_t ms);

/* Statement helpers.  get() resets the statement and clears nothing: the
 * callers rebind every parameter before each use. */
sqlite3_stmt *dura_sqlite_stmt(struct dura_store *s, enum dura_sqlite_stmt id);
void dura_sqlite_bind_bytes(sqlite3_stmt *st, int idx, struct dura_bytes b);
void dura_sqlite_bind_text(sqlite3_stmt *st, int idx, const char *text);
/* Runs a statement that returns no rows; resets it. */
dura_rc dura_sqlite_exec(struct dura_store *s, sqlite3_stmt *st,
                         const char *what, struct dura_err *err);
/* Transactions.  rollback() is a no-op outside a transaction. */
/* Prefill's all-or-nothing needs a journal: on a store without one,
 * on != 0 gives it one (in memory) for the call, 0 takes it away again. */
dura_rc dura_sqlite_journal(struct dura_store *s, int on, struct dura_err *err);
dura_rc dura_sqlite_begin(struct dura_store *s, struct dura_err *err);
dura_rc dura_sqlite_commit(struct dura_store *s, struct dura_err *err);
void dura_sqlite_rollback(struct dura_store *s);

/* Scratch buffers: return -1 when memory runs out. */
int dura_sqlite_buf_append(struct dura_sqlite_buf *b, const void *p, size_t n);
int dura_sqlite_spans_push(struct dura_sqlite_spans *sp,
                           const struct dura_sqlite_span *v);
/* Steps the bound statement st through all its rows: appends column
 * body_col to s->scratch and pushes a span onto out (cleared first) with
 * column id_col as ->id and attempts_col as ->attempts (-1: not in the
 * row).  Resets st.  what names the read in error messages. */
dura_rc dura_sqlite_collect_spans(struct dura_store *s, sqlite3_stmt *st,
                                  int body_col, int id_col, int attempts_col,
                                  struct dura_sqlite_spans *out,
                                  const char *what, struct dura_err *err);

/* Long poll: waits on cond until woken, until deadline_ns (monotonic) or
 * until wall-clock time wake_wall_ms (<= 0: none), whichever comes first. */
void dura_sqlite_wait(struct dura_store *s, pthread_cond_t *cond,
                      unsigned *waiters, uint64_t deadline_ns,
                      int64_t wake_wall_ms);
uint64_t dura_sqlite_mono_ns(void);
/* Earliest wall time (ms) something could become fetchable in a queue,
 * from two one-row MIN queries bound with ?1 = now: visible (a delayed
 * entry turning visible) and expiry (a lock running out).  0: nothing
 * known; now + 10 when a query fails (look again soon). */
int64_t dura_sqlite_next_due(struct dura_store *s, enum dura_sqlite_stmt visible,
                             enum dura_sqlite_stmt expiry);
/* Wake up to n long-polling fetchers (one per message that may have become
 * fetchable; each re-checks and goes back to sleep if it finds nothing). */
void dura_sqlite_wake(pthread_cond_t *cond, unsigned waiters, size_t n);
/* The picked instance id (under mu): owned copy reused across calls. */
int dura_sqlite_set_instance(struct dura_store *s, const char *text, size_t len);

/* ---- sqlite_orch.c ---- */
dura_enqueue_orchestrator_fn dura_sqlite_enqueue_orchestrator;
dura_fetch_orchestration_item_fn dura_sqlite_fetch_orchestration_item;
dura_ack_orchestration_item_fn dura_sqlite_ack_orchestration_item;
dura_ack_orchestration_item_and_fetch_fn dura_sqlite_ack_orchestration_item_and_fetch;
dura_abandon_orchestration_item_fn dura_sqlite_abandon_orchestration_item;
dura_renew_orchestration_lock_fn dura_sqlite_renew_orchestration_lock;
dura_release_orchestration_item_fn dura_sqlite_release_orchestration_item;
/* enqueue_orchestrator; started != 0 also stamps each instance's start
 * for the completion feed (start_instances). */
dura_rc dura_sqlite_enqueue(struct dura_store *s, const struct dura_message *msgs, size_t n,
                            int started, struct dura_err *err);
/* Inserts one message into an orchestrator queue (inside a transaction). */
dura_rc dura_sqlite_insert_orch_message(struct dura_store *s,
                                        const struct dura_message *m,
                                        int64_t now, struct dura_err *err);

/* ---- sqlite_work.c ---- */
dura_fetch_work_item_fn dura_sqlite_fetch_work_item;
dura_ack_work_item_fn dura_sqlite_ack_work_item;
dura_ack_work_item_and_fetch_fn dura_sqlite_ack_work_item_and_fetch;
dura_fetch_work_items_fn dura_sqlite_fetch_work_items;
dura_ack_work_items_and_fetch_fn dura_sqlite_ack_work_items_and_fetch;
dura_abandon_work_item_fn dura_sqlite_abandon_work_item;
dura_renew_work_lock_fn dura_sqlite_renew_work_lock;
dura_release_work_item_fn dura_sqlite_release_work_item;
/* Inserts one work item (inside a transaction). */
dura_rc dura_sqlite_insert_work_item(struct dura_store *s,
                                     const struct dura_message *m,
                                     int64_t now, struct dura_err *err);

/* ---- sqlite_read.c ---- */
dura_read_history_fn dura_sqlite_read_history;
dura_release_history_fn dura_sqlite_release_history;
dura_instance_status_fn dura_sqlite_instance_status;
dura_release_instance_status_fn dura_sqlite_release_instance_status;

/* ---- sqlite_history.c: one history row per ack ---- */
/* Collects the history of (instance, execution) into s->spans (cleared
 * first, ascending event id), appending the bodies to s->scratch.  Used by
 * fetch and read_history. */
dura_rc dura_sqlite_collect_history(struct dura_store *s, const char *instance,
                                    uint64_t execution, struct dura_err *err);
/* Packs n events into out (cleared first) in ascending id order: 0; 1 with
 * *dup set when two events share an id; -1 when memory runs out. */
int dura_sqlite_history_pack(const struct dura_event *ev, size_t n, struct dura_sqlite_buf *out,
                             uint64_t *dup);
/* The first and last (smallest and largest) ids of a non-empty packed row. */
void dura_sqlite_history_range(const struct dura_sqlite_buf *packed, uint64_t *first,
                               uint64_t *last);
/* The read-only half of appending an ack's events: packs them into
 * s->pack and checks their ids, DURA_PERMANENT when an id repeats within
 * them or is stored already.  Runs before the ack writes anything, so that
 * a refused ack has changed nothing (see no_journal). */
dura_rc dura_sqlite_history_check(struct dura_store *s, const char *inst, uint64_t execution,
                                  const struct dura_event *ev, size_t n, struct dura_err *err);
/* Inserts what the last check packed as one row (nothing for no events). */
dura_rc dura_sqlite_history_insert(struct dura_store *s, const char *inst, uint64_t execution,
                                   struct dura_err *err);

/* ---- sqlite_scale.c: scale-out ---- */
dura_start_instances_fn dura_sqlite_start_instances;
dura_take_completions_fn dura_sqlite_take_completions;
dura_take_completions_acked_fn dura_sqlite_take_completions_acked;
dura_release_completions_fn dura_sqlite_release_completions;
dura_put_note_fn dura_sqlite_put_note;
dura_read_notes_fn dura_sqlite_read_notes;
dura_release_notes_fn dura_sqlite_release_notes;
dura_attach_fn dura_sqlite_attach;
dura_store_name_fn dura_sqlite_store_name;
/* Inside the ack transaction: a terminal status of an instance that
 * start_instances started goes to the completion feed, once. */
dura_rc dura_sqlite_feed_terminal(struct dura_store *s, const char *instance, int32_t status,
                                  struct dura_err *err);
/* Wall-clock microseconds: the clock of start and completion stamps
 * (every process sharing a file runs on this machine). */
int64_t dura_sqlite_now_us(void);
/* Checks that the file holds a durabench store (attach). */
dura_rc dura_sqlite_schema_check(struct dura_store *s, struct dura_err *err);
/* Opens the store; attach != 0 keeps the file's tables (another process
 * created them). */
dura_rc dura_sqlite_open_store(const struct dura_option *options, size_t n_options, int attach,
                               dura_store **out, struct dura_err *err);

/* ---- sqlite_alloc.c ---- */
/* Gives SQLite a per-thread caching allocator, if SQLite is not yet
 * initialised (at plugin load). */
void dura_sqlite_install_allocator(void);

/* ---- sqlite_prefill.c ---- */
dura_prefill_fn dura_sqlite_prefill;

/* ---- sqlite_store.c: lifecycle ---- */
dura_open_fn dura_sqlite_open;
dura_close_fn dura_sqlite_close;
dura_stats_fn dura_sqlite_stats;
dura_describe_fn dura_sqlite_describe;

#endif
