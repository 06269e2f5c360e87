/*
 * durabench provider plugin ABI.
 *
 * A provider plugin is a shared object that exports exactly one symbol:
 *
 *     const struct dura_provider_ops *dura_provider_entry(void);
 *
 * The returned table is static, lives as long as the shared object is loaded
 * and must not be modified by anyone.  It starts with a fixed prefix
 * (abi_major, abi_minor, struct_size, name, description) that will never
 * change, so the core can always read a plugin's identity and refuse it with
 * a clear message if it was built for another ABI.
 *
 * Versioning (the SQLite sqlite3_api_routines / PostgreSQL PG_MODULE_MAGIC
 * model):
 *   - abi_major changes only if an existing field changes meaning; the core
 *     refuses a plugin whose abi_major differs from DURA_ABI_MAJOR.
 *   - new operations are only ever appended to the end of the struct and
 *     bump abi_minor; struct_size tells the core how much of the struct the
 *     plugin knows.  A field beyond struct_size is treated as NULL.
 *   - the core refuses a plugin whose struct_size does not cover every
 *     required operation (DURA_OPS_MIN_SIZE).
 *   - a plugin built for a newer minor than the core's is loaded and run
 *     with the operations the core knows (the core reports the difference);
 *     the operations the plugin has beyond them are not called.
 *
 * ABI history (each minor only appends to struct dura_provider_ops):
 *   1.0  the fixed prefix, options, the 17 required operations; optional
 *        stats, ping, ack_work_item_and_fetch,
 *        ack_orchestration_item_and_fetch, describe.
 *   1.1  optional batch work operations fetch_work_items and
 *        ack_work_items_and_fetch.
 *   1.2  a typedef per operation (dura_<op>_fn); the contract text above
 *        (long poll, out-parameters, err after success, no completion,
 *        instance ids, token namespaces, negative delays); check_options
 *        (option values checked before a run); local_server (which
 *        throwaway server "auto" starts; before 1.2 an address option's
 *        "auto" always meant PostgreSQL).
 *   1.3  optional scale-out operations (all eight or none): attach,
 *        store_name, start_instances, take_completions,
 *        release_completions, put_note, read_notes, release_notes: worker
 *        processes on several machines share one store (docs/scale-out.md).
 *   1.4  optional prefill: n completed instances with their histories
 *        written in bulk before a run (`[run] prefill = N`).
 *   1.5  optional take_completions_acked: the completion feed with an
 *        acknowledgement, so that a lost reply loses no entry.
 *   1.6  the return code DURA_CORRUPT (a stored row the provider cannot
 *        decode; a core before 1.6 treats it like DURA_PERMANENT).
 *   1.7  optional fetch_orchestration_items and
 *        ack_orchestration_items_and_fetch: several instances per
 *        orchestration round trip (`[run] orch_batch`).
 *
 * Writing a provider: docs/writing-a-provider.md and examples/skeleton.c
 * (both installed; `pkg-config --cflags durabench` finds this header).
 *
 * Data model.  Providers store opaque bytes: event and message bodies are
 * encoded by the core's codec and a provider never interprets them.  It only
 * sees routing keys: instance id, execution id, event id, visibility delay.
 *
 *   orchestrator queue   messages addressed to an instance (start, activity
 *                        completions, timer firings, sub-orchestration
 *                        results), each with a visibility time
 *   worker queue         activity work items, peek-locked one at a time
 *   history              (instance, execution, event_id) -> body; event ids
 *                        are unique per (instance, execution)
 *   instance metadata    name, status, output, parent, current execution
 *
 * Threading.  Every operation may be called concurrently from many threads
 * on the same store.  The plugin owns its connections, pool and locks.
 *
 * Errors.  Every operation that can fail returns a dura_rc and, on anything
 * but DURA_OK/DURA_EMPTY, writes a one-line, NUL-terminated, human readable
 * message into err->msg.  A plugin never prints anything and never exits.
 * A message must never contain a password.  After DURA_OK or DURA_EMPTY the
 * content of err->msg is unspecified (a plugin may have written a message
 * for an attempt it then retried): the core never reads it then.
 *
 * Out-parameters.  The caller sets every out-pointer (*out, *next, items[],
 * *n_items, *n_next) to NULL / 0 before the call.  A plugin writes an object
 * into it only when it returns DURA_OK; on any other code it stays NULL / 0
 * and there is nothing to release.  (ack_*_and_fetch: the ack's return code
 * decides; *next may still be NULL after DURA_OK, see there.)
 *
 * Long poll is required.  fetch_orchestration_item, fetch_work_item and
 * fetch_work_items receive wait_ms: when nothing is eligible they must wait
 * for work to become visible (a new enqueue, an expiring lock or delay) for
 * up to wait_ms before returning DURA_EMPTY.  A fetch that returns DURA_EMPTY
 * at once makes every dispatcher thread hammer the store in a tight loop and
 * the measured numbers then describe that loop.  wait_ms = 0 never waits.
 * The simplest correct provider sleeps a few milliseconds between re-checks
 * until wait_ms has passed; a better one wakes on its own enqueues.
 *
 * Instance ids.  Non-empty, NUL-terminated, at most DURA_INSTANCE_ID_MAX
 * bytes, printable ASCII without spaces (0x21-0x7e).  The core never sends
 * anything else, so a provider may store them in a VARCHAR(DURA_INSTANCE_ID_MAX)
 * column.  Ids compare byte for byte (case matters).
 *
 * Tokens.  Orchestration tokens (dura_orch_item.token) and work tokens
 * (dura_work_item.token) are separate namespaces: the same value may be in
 * use as both at once, and the core never passes one kind to an operation
 * of the other kind.  Within its kind a token is non-zero, unique per fetch
 * and never reused for the life of the store.  Every operation that takes a
 * token (ack, abandon, renew of either kind; each entry of
 * ack_work_items_and_fetch) has one outcome per token state:
 *     valid (holds an unexpired lock)       DURA_OK, applied
 *     expired, nobody re-took the item      DURA_LOCK_LOST
 *     expired and re-taken by another fetch DURA_LOCK_LOST; the new holder's
 *                                           lock and messages are untouched
 *     released (acked or abandoned)         DURA_LOCK_LOST
 *     never issued                          DURA_LOCK_LOST
 * DURA_LOCK_LOST (like DURA_PERMANENT and DURA_RETRY) changes nothing: the
 * whole visible state -- queued messages with their attempts and delays,
 * histories, work items, metadata, locks -- is as before the call.
 * `durabench validate` checks each cell against a full snapshot.
 *
 * Order.  An instance's messages are handed out in enqueue order, also
 * after delays, abandons and redeliveries.  Histories come in ascending
 * event id (numeric, any width).  Work items that were never handed out
 * come oldest first; an abandoned or expired one may come back before or
 * after them.
 *
 * Delays.  delay_ms in a dura_message is signed: durable timers compute
 * fire time - now, which is negative once the fire time has passed.  A
 * negative delay means the same as 0: visible as soon as the enqueue commits,
 * ordered as an enqueue of now (it never jumps ahead of messages already
 * queued).  Abandon delays are unsigned.
 *
 * No completion.  A work item's completion is absent when the message
 * pointer is NULL or its instance is NULL; DURA_HAS_COMPLETION() below is
 * the one test for both (ack_work_item and ack_work_item_and_fetch receive a
 * NULL pointer, ack_work_items_and_fetch an element with instance NULL, or
 * a NULL completions array when no item has one).
 *
 * Memory.  Pointers passed *into* an operation are owned by the caller and
 * are only valid for the duration of the call.  Objects an operation returns
 * through an out-parameter are owned by the plugin and stay valid until the
 * caller hands them back to the matching release_* operation (which accepts
 * NULL).  Released objects may be released from any thread.
 *
 * Corruption.  Bodies are opaque, so only the core can tell that one is
 * corrupt: it fails the instance at once ("corrupt" failure category).  A
 * provider hands a body out as stored -- also one it could not read as
 * bytes at all (a NULL or a value of another type where it stores bytes):
 * then with body.len = 0, which no valid record has, so the core reports it
 * as corrupt too.  Where a column of the provider's own cannot be decoded
 * (a status outside enum dura_status, an execution < 1, a missing name),
 * read_history and instance_status return DURA_CORRUPT (ABI 1.6) and name
 * the table, the instance and the row in err.
 *
 * Time.  Durations are milliseconds.  Visibility delays, lock durations and
 * lock expiry are measured with the provider's clock; the core never compares
 * provider timestamps with its own.
 */
#ifndef DURABENCH_PROVIDER_H
#define DURABENCH_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DURA_ABI_MAJOR 1
#define DURA_ABI_MINOR 7

/* Longest instance id the core sends, in bytes, without the NUL. */
#define DURA_INSTANCE_ID_MAX 200

/* Name of the one symbol a plugin exports. */
#define DURA_PROVIDER_ENTRY_SYMBOL "dura_provider_entry"

/* Return codes.  The core maps them to failure categories. */
typedef enum dura_rc {
	DURA_OK = 0,        /* done */
	DURA_EMPTY = 1,     /* nothing to fetch / no such instance: not an error */
	DURA_RETRY = 2,     /* transient (connection lost, serialization failure,
	                       busy, deadlock): nothing was changed, safe to retry */
	DURA_LOCK_LOST = 3, /* the token is unknown, expired or already used */
	DURA_PERMANENT = 4, /* the operation can never succeed as asked (e.g. a
	                       duplicate event id); nothing was changed */
	DURA_CONFIG = 5,    /* bad option, bad schema, unusable store */
	DURA_CORRUPT = 6    /* (ABI 1.6) a stored row cannot be decoded: a
	                       column of the provider's own (status, execution,
	                       instance id, event id) holds a value the provider
	                       never writes.  err names the table, the instance
	                       and the row.  Nothing was changed.  See
	                       "Corruption" above. */
} dura_rc;

/* Error text written by an operation that fails. */
#define DURA_ERR_MAX 512
struct dura_err {
	char msg[DURA_ERR_MAX];
};

/* A plugin's store handle; its layout is private to the plugin. */
typedef struct dura_store dura_store;

/* Borrowed byte string. */
struct dura_bytes {
	const uint8_t *data;
	size_t len;
};

/* One key=value option from an INI [provider] section or --option. */
struct dura_option {
	const char *key;
	const char *value;
};

/* Flags of an option a plugin accepts. */
#define DURA_OPT_URL 0x1u /* the value is a network address: a URL
                             (scheme://[user[:password]@]host[:port][/...]),
                             a libpq key=value conninfo, or host:port.  The
                             core then masks its password in all output,
                             accepts "auto" when the plugin names a
                             local_server, and honours the core options
                             emulate_rtt / emulate_jitter / emulate_bandwidth
                             by starting a delay proxy and rewriting host and
                             port in the value the plugin receives (libpq
                             conninfo: host kept, hostaddr and port set, so
                             TLS verification and .pgpass still see the
                             name).  A plugin needs no code of its own for
                             any of this. */
#define DURA_OPT_SECRET 0x2u /* never print the value */

/* An option a plugin accepts.  The array ends with an entry whose name is
 * NULL.  default_value may be NULL (no default: empty).  The core lists these
 * in `durabench plugins` and rejects any key not declared here (or reserved
 * by the core) before open() is called. */
struct dura_option_spec {
	const char *name;
	const char *default_value;
	const char *help;
	uint32_t flags;
};

/* A message to enqueue: to the orchestrator queue of `instance`, or (in
 * ack_orchestration_item's work_items) to the worker queue.  The message is
 * invisible to fetches until delay_ms after the enqueue commits (0 = now;
 * durable timers use fire time - now). */
struct dura_message {
	const char *instance;
	struct dura_bytes body;
	int64_t delay_ms;
};

/* A history event. */
struct dura_event {
	uint64_t event_id;
	struct dura_bytes body;
};

/* A message as returned by fetch_orchestration_item. */
struct dura_fetched_message {
	struct dura_bytes body;
	uint32_t attempts; /* 1 on first delivery, +1 on each redelivery */
};

/* What fetch_orchestration_item returns (plugin-owned; release with
 * release_orchestration_item). */
struct dura_orch_item {
	uint64_t token;        /* non-zero, unique per fetch, never reused */
	const char *instance;
	uint64_t execution;    /* current execution from the instance metadata;
	                          0 if the instance has no metadata yet */
	const struct dura_fetched_message *messages; /* in enqueue order */
	size_t n_messages;     /* >= 1 */
	const struct dura_event *history; /* the current execution's whole
	                                     history, ascending event_id */
	size_t n_history;
	uint32_t attempts;     /* max attempts over messages */
};

/* Instance status values stored in the metadata. */
enum dura_status {
	DURA_STATUS_NONE = 0,      /* no such instance (only in reads) */
	DURA_STATUS_RUNNING = 1,
	DURA_STATUS_COMPLETED = 2,
	DURA_STATUS_FAILED = 3,
	DURA_STATUS_CONTINUED_AS_NEW = 4,
	DURA_STATUS_TERMINATED = 5
};

/* 1 when s is a status an ack can store (RUNNING .. TERMINATED): a stored
 * status outside it is a corrupt row (DURA_CORRUPT, ABI 1.6). */
#define DURA_STATUS_STORABLE(s) ((s) >= DURA_STATUS_RUNNING && (s) <= DURA_STATUS_TERMINATED)

/* Instance metadata: written by an ack, returned by instance_status. */
struct dura_instance_meta {
	const char *name;          /* orchestration name */
	int32_t status;            /* enum dura_status */
	struct dura_bytes output;  /* result or failure text; may be empty */
	const char *parent;        /* parent instance id or NULL */
	uint64_t execution;        /* current execution id (>= 1) */
};

/* Everything one orchestration turn commits, atomically. */
struct dura_orch_ack {
	uint64_t execution;                  /* execution the history delta
	                                        belongs to */
	const struct dura_event *history;    /* events to append */
	size_t n_history;
	const struct dura_message *work_items;   /* to the worker queue */
	size_t n_work_items;
	const struct dura_message *orch_items;   /* to orchestrator queues, any
	                                            instance, this one included */
	size_t n_orch_items;
	const struct dura_instance_meta *meta;   /* upsert; NULL = unchanged */
};

/* What fetch_work_item returns (plugin-owned; release with
 * release_work_item). */
struct dura_work_item {
	uint64_t token;        /* non-zero, unique per fetch */
	const char *instance;  /* as given when the item was enqueued */
	struct dura_bytes body;
	uint32_t attempts;     /* 1 on first delivery, +1 on each redelivery */
};

/* What read_history returns (plugin-owned; release with release_history). */
struct dura_history {
	const struct dura_event *events; /* ascending event_id */
	size_t n_events;
};

/* Counters since open, for reports (optional operation).  The core zeroes
 * the struct and sets struct_size before the call; a plugin fills the fields
 * it knows that fit in struct_size. */
struct dura_stats {
	uint32_t struct_size;
	uint64_t round_trips;    /* requests sent to a server / statements run */
	uint64_t commits;        /* transactions committed */
	uint64_t empty_fetches;  /* fetches that found nothing */
	uint64_t lock_conflicts; /* races lost to another fetcher */
	uint64_t retries;        /* internal retries after transient errors */
	uint64_t reconnects;     /* connections re-established */
};

struct dura_provider_ops;

/* ---- One typedef per operation (function types, fdwapi style) ----
 *
 * A plugin declares its implementations with them, e.g.
 *     static dura_fetch_work_item_fn my_fetch_work_item;
 * so the compiler checks each definition against the ABI, and the core
 * holds an operation as a pointer to its type.  Operations are listed in
 * table order. */

/* The entry point every plugin defines (DURA_PROVIDER_ENTRY_SYMBOL). */
typedef const struct dura_provider_ops *dura_provider_entry_fn(void);

/* Create a fresh, isolated store (a new schema, a new database) from the
 * given options; every declared option not given takes its default.
 * Unknown keys and bad values are refused with DURA_CONFIG.  An
 * unreachable server is DURA_RETRY or DURA_CONFIG with a message that
 * names it (password masked).  On success *out is owned by the caller
 * until close(). */
typedef dura_rc dura_open_fn(const struct dura_option *options,
                             size_t n_options, dura_store **out,
                             struct dura_err *err);

/* Release the store.  drop != 0 removes all its data (schema, file);
 * drop == 0 keeps it (e.g. option keep = true).  No other operation may
 * run on the store concurrently or afterwards.  Always frees the handle,
 * even when it returns an error. */
typedef dura_rc dura_close_fn(dura_store *store, int drop,
                              struct dura_err *err);

/* Insert messages into orchestrator queues in one transaction, in array
 * order.  An instance need not exist yet. */
typedef dura_rc dura_enqueue_orchestrator_fn(dura_store *store,
                                             const struct dura_message *msgs,
                                             size_t n, struct dura_err *err);

/* Pick an instance that has at least one visible message and no live
 * instance lock, lock it for lock_ms under a fresh token, tag all its
 * visible messages with the token (messages that arrive later are not
 * tagged and survive the ack), increment their attempt counts and return
 * them with the current execution's history.  Instances are picked in
 * order of their oldest visible message.  Losing a race to another
 * fetcher must not produce DURA_EMPTY while other eligible instances
 * exist.  When nothing is eligible, waits up to wait_ms for work (long
 * poll, required: see the top of this file) before returning DURA_EMPTY. */
typedef dura_rc dura_fetch_orchestration_item_fn(dura_store *store,
                                                 uint32_t lock_ms,
                                                 uint32_t wait_ms,
                                                 struct dura_orch_item **out,
                                                 struct dura_err *err);

/* One transaction: check that token still holds an unexpired lock
 * (else DURA_LOCK_LOST, nothing changed); delete only the messages
 * tagged with token; append ack->history to (instance, ack->execution)
 * (a duplicate event id is DURA_PERMANENT: the whole ack rolls back and
 * the lock stays held); enqueue work and orchestrator items with their
 * delays; upsert metadata if ack->meta; release the instance lock. */
typedef dura_rc dura_ack_orchestration_item_fn(dura_store *store,
                                               uint64_t token,
                                               const struct dura_orch_ack *ack,
                                               struct dura_err *err);

/* Release the lock without deleting anything; the tagged messages become
 * visible again after delay_ms.  Unknown/expired token: DURA_LOCK_LOST. */
typedef dura_rc dura_abandon_orchestration_item_fn(dura_store *store,
                                                   uint64_t token,
                                                   uint32_t delay_ms,
                                                   struct dura_err *err);

/* Extend the lock to now + extend_ms if token holds an unexpired lock;
 * otherwise DURA_LOCK_LOST. */
typedef dura_rc dura_renew_orchestration_lock_fn(dura_store *store,
                                                 uint64_t token,
                                                 uint32_t extend_ms,
                                                 struct dura_err *err);

typedef void dura_release_orchestration_item_fn(dura_store *store,
                                                struct dura_orch_item *item);

/* Peek-lock the oldest visible work item that is unlocked or whose lock
 * expired; increment its attempt count.  Long poll as above. */
typedef dura_rc dura_fetch_work_item_fn(dura_store *store, uint32_t lock_ms,
                                        uint32_t wait_ms,
                                        struct dura_work_item **out,
                                        struct dura_err *err);

/* One transaction: delete the item if token still holds it (else
 * DURA_LOCK_LOST, nothing changed) and, if DURA_HAS_COMPLETION(completion),
 * enqueue it to the orchestrator queue of completion->instance. */
typedef dura_rc dura_ack_work_item_fn(dura_store *store, uint64_t token,
                                      const struct dura_message *completion,
                                      struct dura_err *err);

typedef dura_rc dura_abandon_work_item_fn(dura_store *store, uint64_t token,
                                          uint32_t delay_ms,
                                          struct dura_err *err);

typedef dura_rc dura_renew_work_lock_fn(dura_store *store, uint64_t token,
                                        uint32_t extend_ms,
                                        struct dura_err *err);

typedef void dura_release_work_item_fn(dura_store *store,
                                       struct dura_work_item *item);

/* History of one execution.  Unknown instance or execution: DURA_OK with
 * zero events. */
typedef dura_rc dura_read_history_fn(dura_store *store, const char *instance,
                                     uint64_t execution,
                                     struct dura_history **out,
                                     struct dura_err *err);

typedef void dura_release_history_fn(dura_store *store,
                                     struct dura_history *history);

/* Metadata of an instance.  Unknown instance: DURA_EMPTY, *out NULL. */
typedef dura_rc dura_instance_status_fn(dura_store *store, const char *instance,
                                        struct dura_instance_meta **out,
                                        struct dura_err *err);

typedef void dura_release_instance_status_fn(dura_store *store,
                                             struct dura_instance_meta *meta);

/* Fill counters (see struct dura_stats). */
typedef dura_rc dura_stats_fn(dura_store *store, struct dura_stats *out);

/* One minimal round trip to the backing server (e.g. SELECT 1); the core
 * times it to report the measured distance to networked providers. */
typedef dura_rc dura_ping_fn(dura_store *store, struct dura_err *err);

/* ack_work_item followed by fetch_work_item(lock_ms, wait_ms = 0), in as
 * few round trips as the provider can manage.  The return code is the
 * ack's; *next is NULL when there was nothing to fetch or the fetch part
 * failed (the core then falls back to fetch_work_item). */
typedef dura_rc dura_ack_work_item_and_fetch_fn(dura_store *store,
                                                uint64_t token,
                                                const struct dura_message *completion,
                                                uint32_t lock_ms,
                                                struct dura_work_item **next,
                                                struct dura_err *err);

/* ack_orchestration_item followed by fetch_orchestration_item(lock_ms,
 * wait_ms = 0), likewise. */
typedef dura_rc dura_ack_orchestration_item_and_fetch_fn(dura_store *store,
                                                         uint64_t token,
                                                         const struct dura_orch_ack *ack,
                                                         uint32_t lock_ms,
                                                         struct dura_orch_item **next,
                                                         struct dura_err *err);

/* One line describing the backing store for the report's environment
 * block, e.g. "PostgreSQL 15.18, pool_size 10" or "SQLite 3.40.1,
 * :memory:".  Never includes a password. */
typedef void dura_describe_fn(dura_store *store, char *buf, size_t len);

/* Batch peek-lock: like fetch_work_item, but up to max_items items
 * (oldest first) in one round trip, each with its own token.  The
 * caller provides items[max_items]; on DURA_OK, items[0..*n_items) are
 * set (1 <= *n_items <= max_items) and each is released with
 * release_work_item.  DURA_EMPTY (with *n_items = 0) when nothing was
 * visible after waiting up to wait_ms.  Absent competing fetchers, a
 * batch holds the oldest min(max_items, visible unlocked items) items:
 * a provider must not hand out fewer while more are eligible.  Lets a
 * distant worker pay one round trip for several activities. */
typedef dura_rc dura_fetch_work_items_fn(dura_store *store, uint32_t lock_ms,
                                         uint32_t wait_ms, size_t max_items,
                                         struct dura_work_item **items,
                                         size_t *n_items, struct dura_err *err);

/* Acks n work items and then fetches up to max_next new ones
 * (wait_ms = 0), in one round trip.  Each item is acked as by
 * ack_work_item (delete if tokens[i] still holds it and, if
 * DURA_HAS_COMPLETION(&completions[i]), enqueue completions[i]); results[i]
 * receives DURA_OK or DURA_LOCK_LOST for item i (a lost item enqueues
 * nothing).  completions is NULL when no item has one.  A token given twice in one call is acked once: exactly one
 * of its entries gets DURA_OK (which one is the provider's choice), the
 * other DURA_LOCK_LOST.  All acks of a call commit together.  The
 * fetch part follows the fetch_work_items rule above.  The return code is
 * DURA_OK when the acks were processed (whatever results[] holds); any
 * other code means none was applied.  next[max_next] is caller-provided;
 * *n_next receives the number fetched (0 when max_next is 0 or nothing
 * was visible, or the fetch part failed). */
typedef dura_rc dura_ack_work_items_and_fetch_fn(dura_store *store, size_t n,
                                                 const uint64_t *tokens,
                                                 const struct dura_message *completions,
                                                 dura_rc *results,
                                                 uint32_t lock_ms,
                                                 size_t max_next,
                                                 struct dura_work_item **next,
                                                 size_t *n_next,
                                                 struct dura_err *err);

/* ---- ABI 1.2 ---- */

/* Check option values without opening anything (no connection, no file):
 * the same checks open() makes on each value, so that `durabench check` and
 * `run` refuse a bad value at its file:line before any store is created.
 * options holds the plugin's own keys only (the core's keys and unknown
 * keys are already refused), each at most once; an address option may
 * still read "auto".  On a bad value: DURA_CONFIG, *bad = the index of the
 * offending option (or n_options when it is a combination of options) and
 * err names the key, the value and what is accepted.  Optional: without it
 * a bad value is only refused by open(), at run time, without file:line. */
typedef dura_rc dura_check_options_fn(const struct dura_option *options,
                                      size_t n_options, size_t *bad,
                                      struct dura_err *err);

/* ---- ABI 1.3: scale-out ----
 * Several processes, possibly on several machines, work on one store: the
 * process that opened it names it (store_name), the others attach to it by
 * that name, every one of them fetches and acks as usual and they
 * coordinate only through the store. */

/* A top-level instance that reached a terminal status, as the completion
 * feed returns it.  Both times are read from the store's own clock (the
 * database server's), in microseconds since the Unix epoch, so their
 * difference is a latency that is right whichever machine started the
 * instance or ran it. */
struct dura_completion {
	const char *instance;
	int32_t status;        /* DURA_STATUS_COMPLETED, _FAILED or _TERMINATED */
	int64_t started_us;    /* commit of the start_instances call */
	int64_t completed_us;  /* commit of the terminal ack */
};

/* What take_completions returns (plugin-owned; release with
 * release_completions). */
struct dura_completions {
	const struct dura_completion *items;
	size_t n;
};

/* A small named value shared by every process working on one store (the
 * run's contract, its state, worker counters). */
struct dura_note {
	const char *key;
	struct dura_bytes value;
};

/* What read_notes returns (plugin-owned; release with release_notes). */
struct dura_notes {
	const struct dura_note *items;  /* ascending key */
	size_t n;
};

/* Connect to the existing store `name` (as store_name gave it) with the
 * given options (the same section the creator used; an option that would
 * choose the schema or database is overridden by name).  Never creates:
 * DURA_CONFIG with a message naming the store when it does not exist.  An
 * unreachable server is DURA_RETRY or DURA_CONFIG like open.  The caller
 * closes it with close(store, drop = 0). */
typedef dura_rc dura_attach_fn(const struct dura_option *options, size_t n_options,
                               const char *name, dura_store **out,
                               struct dura_err *err);

/* The name attach() accepts for this store, NUL-terminated in buf (len >=
 * 64 suffices for the shipped plugins).  DURA_CONFIG when the store cannot
 * be shared (an in-memory database): buf then holds the reason, one line. */
typedef dura_rc dura_store_name_fn(dura_store *store, char *buf, size_t len);

/* enqueue_orchestrator for start messages, and in the same transaction
 * records each message's instance as started at the store's clock: when a
 * later ack gives that instance a terminal status (completed, failed,
 * terminated), the same transaction appends it once to the completion
 * feed.  Instances started any other way (sub-orchestrations) never appear
 * in the feed. */
typedef dura_rc dura_start_instances_fn(dura_store *store,
                                        const struct dura_message *msgs, size_t n,
                                        struct dura_err *err);

/* Removes and returns up to max entries of the completion feed, oldest
 * first (DURA_EMPTY with *out NULL when it is empty).  Every entry is
 * returned exactly once: meant for one reader per store (the process that
 * measures the run). */
typedef dura_rc dura_take_completions_fn(dura_store *store, size_t max,
                                         struct dura_completions **out,
                                         struct dura_err *err);
typedef void dura_release_completions_fn(dura_store *store,
                                         struct dura_completions *completions);

/* The completion feed with an acknowledgement (ABI 1.5), for a reader that
 * must not lose entries when a reply is lost (a connection that drops after
 * the store handed entries out).  Calls are numbered by the reader: ack is
 * the number of the last call whose entries it has recorded (0 before the
 * first), and this call's number is ack + 1.  In one transaction the store
 * removes every entry handed out by calls up to ack, then hands out up to
 * max of the remaining entries, oldest first, as call ack + 1 -- entries an
 * earlier call ack + 1 handed out included, so a call whose reply was lost
 * is simply made again with the same ack and returns them again.  DURA_EMPTY
 * with *out NULL when nothing remains (the acknowledged entries are removed
 * all the same).  Release the batch with release_completions.  One reader
 * per store; it uses this operation or take_completions, not both. */
typedef dura_rc dura_take_completions_acked_fn(dura_store *store, uint64_t ack, size_t max,
                                               struct dura_completions **out,
                                               struct dura_err *err);

/* Sets note key (<= 200 bytes, no NUL) to value (<= 64 KB), replacing an
 * earlier value, in its own transaction. */
typedef dura_rc dura_put_note_fn(dura_store *store, const char *key,
                                 struct dura_bytes value, struct dura_err *err);

/* Every note whose key starts with prefix ("" = all), ascending key;
 * DURA_OK with n = 0 when there is none. */
typedef dura_rc dura_read_notes_fn(dura_store *store, const char *prefix,
                                   struct dura_notes **out, struct dura_err *err);
typedef void dura_release_notes_fn(dura_store *store, struct dura_notes *notes);

/* ---- ABI 1.4: bulk prefill ----
 * Fills the store with n completed top-level instances in bulk, before a
 * run (`[run] prefill = N`), by the store's fastest path (one transaction,
 * COPY, a set-returning statement).  Instance ids are prefix followed by
 * the decimal numbers first .. first + n - 1 (prefix "p." and first 0:
 * "p.0", "p.1", ...); each gets the metadata *meta (its execution is
 * meta->execution) and the history events history[0..n_history) in that
 * execution, the same for every instance.  Nothing is queued, locked or
 * appended to the completion feed.  When one of the ids exists already
 * (it has metadata or history): DURA_PERMANENT and nothing is written.  A
 * provider may commit a large prefill in several transactions (the
 * PostgreSQL plugin does, to stay within its call deadline), so after
 * another failure part of it may be in the store; the core then refuses
 * the run.  n = 0 is DURA_OK. */
typedef dura_rc dura_prefill_fn(dura_store *store, const char *prefix, uint64_t first,
                                uint64_t n, const struct dura_instance_meta *meta,
                                const struct dura_event *history, size_t n_history,
                                struct dura_err *err);

/* ---- ABI 1.7: several instances per orchestration round trip ----
 * A dispatcher far from its database pays a round trip per call, so one
 * instance per call bounds it to one turn per round trip.  These two let
 * one round trip carry several turns (docs/remote-emulation.md). */

/* Batch fetch: like fetch_orchestration_item, but up to max_items
 * distinct instances in one round trip, each locked under its own token
 * and returned exactly as fetch_orchestration_item would (its tagged
 * messages, its current execution's history); each is released with
 * release_orchestration_item and acked, abandoned or renewed on its own.
 * The caller provides items[max_items]; on DURA_OK items[0..*n_items) are
 * set (1 <= *n_items <= max_items).  No instance whose lock is live is
 * handed out, and no instance twice in one batch.  Instances come in
 * order of their oldest visible message; absent competing fetchers a
 * batch holds min(max_items, eligible instances): a provider must not
 * hand out fewer while more are eligible.  DURA_EMPTY (*n_items = 0) when
 * nothing was eligible after waiting up to wait_ms (long poll, as above).
 * max_items = 0 is DURA_PERMANENT. */
typedef dura_rc dura_fetch_orchestration_items_fn(dura_store *store, uint32_t lock_ms,
                                                  uint32_t wait_ms, size_t max_items,
                                                  struct dura_orch_item **items,
                                                  size_t *n_items, struct dura_err *err);

/* Acks n turns, then fetches up to max_next instances (as
 * fetch_orchestration_items with wait_ms = 0), in one round trip.  Each
 * ack i is applied as ack_orchestration_item(tokens[i], &acks[i]) would,
 * all of it or none of it, independently of the others: results[i]
 * receives that call's code (DURA_OK applied; DURA_LOCK_LOST or
 * DURA_PERMANENT: nothing of ack i was applied and, for PERMANENT, its
 * lock stays held).  A token given twice in one call is acked once: one
 * entry gets DURA_OK, the other DURA_LOCK_LOST.  The acks are applied in
 * array order and commit together.  The return code is DURA_OK when the
 * acks were processed (whatever results[] holds; err then names the first
 * item whose result is not DURA_OK); any other code means none was
 * applied and nothing was fetched.  next[max_next] is caller-provided;
 * *n_next receives the number fetched (0 when max_next is 0, nothing was
 * eligible, or the fetch part failed): those items are the caller's
 * (locked) whatever results[] holds. */
typedef dura_rc dura_ack_orchestration_items_and_fetch_fn(dura_store *store, size_t n,
                                                          const uint64_t *tokens,
                                                          const struct dura_orch_ack *acks,
                                                          dura_rc *results, uint32_t lock_ms,
                                                          size_t max_next,
                                                          struct dura_orch_item **next,
                                                          size_t *n_next,
                                                          struct dura_err *err);

struct dura_provider_ops {
	/* ---- fixed prefix: never changes ---- */
	uint32_t abi_major;    /* DURA_ABI_MAJOR the plugin was built with */
	uint32_t abi_minor;    /* DURA_ABI_MINOR the plugin was built with */
	uint32_t struct_size;  /* sizeof(struct dura_provider_ops) as built */
	const char *name;      /* short name, e.g. "sqlite" */
	const char *description;

	/* ---- ABI 1.0: required (the core refuses a plugin without them) ---- */

	/* Options the plugin accepts; never NULL (at least the terminator). */
	const struct dura_option_spec *options;

	dura_open_fn *open;
	dura_close_fn *close;
	dura_enqueue_orchestrator_fn *enqueue_orchestrator;
	dura_fetch_orchestration_item_fn *fetch_orchestration_item;
	dura_ack_orchestration_item_fn *ack_orchestration_item;
	dura_abandon_orchestration_item_fn *abandon_orchestration_item;
	dura_renew_orchestration_lock_fn *renew_orchestration_lock;
	dura_release_orchestration_item_fn *release_orchestration_item;
	dura_fetch_work_item_fn *fetch_work_item;
	dura_ack_work_item_fn *ack_work_item;
	dura_abandon_work_item_fn *abandon_work_item;
	dura_renew_work_lock_fn *renew_work_lock;
	dura_release_work_item_fn *release_work_item;
	dura_read_history_fn *read_history;
	dura_release_history_fn *release_history;
	dura_instance_status_fn *instance_status;
	dura_release_instance_status_fn *release_instance_status;

	/* ---- ABI 1.0: optional (may be NULL) ---- */
	dura_stats_fn *stats;         /* without: no provider counters */
	dura_ping_fn *ping;           /* without: no measured distance */
	dura_ack_work_item_and_fetch_fn *ack_work_item_and_fetch;
	                              /* without: ack, then fetch */
	dura_ack_orchestration_item_and_fetch_fn *ack_orchestration_item_and_fetch;
	                              /* without: ack, then fetch */
	dura_describe_fn *describe;   /* without: the plugin's description */

	/* ---- ABI 1.1: optional ---- */
	dura_fetch_work_items_fn *fetch_work_items;
	                              /* without: activity_batch > 1 fetches
	                                 one item at a time */
	dura_ack_work_items_and_fetch_fn *ack_work_items_and_fetch;
	                              /* without: acks one at a time */

	/* ---- ABI 1.2: optional ---- */
	dura_check_options_fn *check_options;
	                              /* without: bad values are found by
	                                 open(), at run time */

	/* Which throwaway local server the core starts when the value of an
	 * address option (DURA_OPT_URL) is "auto": one of DURA_LOCAL_SERVER_*
	 * (the core's recipes), or NULL: "auto" is refused.  The plugin then
	 * receives that server's address in the form DURA_LOCAL_SERVER_* says.
	 * A plugin built before 1.2 that has an address option gets
	 * PostgreSQL, as 1.0 and 1.1 promised. */
	const char *local_server;

	/* ---- ABI 1.3: optional, all eight or none (scale-out) ---- */
	dura_attach_fn *attach;       /* without any: processes = N is refused */
	dura_store_name_fn *store_name;
	dura_start_instances_fn *start_instances;
	dura_take_completions_fn *take_completions;
	dura_release_completions_fn *release_completions;
	dura_put_note_fn *put_note;
	dura_read_notes_fn *read_notes;
	dura_release_notes_fn *release_notes;

	/* ---- ABI 1.4: optional ---- */
	dura_prefill_fn *prefill;     /* without: [run] prefill is refused */

	/* ---- ABI 1.5: optional (with the scale-out operations) ---- */
	dura_take_completions_acked_fn *take_completions_acked;
	                              /* without: take_completions, whose lost
	                                 reply loses the entries it removed */

	/* ---- ABI 1.7: optional, both or neither ---- */
	dura_fetch_orchestration_items_fn *fetch_orchestration_items;
	                              /* without: orch_batch > 1 fetches one
	                                 instance at a time */
	dura_ack_orchestration_items_and_fetch_fn *ack_orchestration_items_and_fetch;
};

/* The local servers the core can start for "auto" (ops->local_server),
 * and the address form the plugin then receives. */
#define DURA_LOCAL_SERVER_POSTGRESQL "postgresql" /* postgresql://user:pw@
                                                     127.0.0.1:port/db */
#define DURA_LOCAL_SERVER_MARIADB "mariadb" /* mariadb://user:pw@
                                               127.0.0.1:port */

/* 1 when a work item's completion message is present (see "No completion"
 * at the top of this file). */
#define DURA_HAS_COMPLETION(m) ((m) != NULL && (m)->instance != NULL)

/* The struct must be at least this large: every required operation. */
#define DURA_OPS_MIN_SIZE \
	(offsetof(struct dura_provider_ops, release_instance_status) + \
	 sizeof(void (*)(void)))

/* For the caller of a plugin: an optional operation, or NULL when the
 * plugin's table (struct_size) ends before it -- a plugin built against an
 * older minor version simply lacks the operations appended since. */
#define DURA_OPT_OP(ops, field) \
	((offsetof(struct dura_provider_ops, field) + sizeof((ops)->field) <= (ops)->struct_size) \
	         ? (ops)->field : NULL)

/* Convenience for a plugin's table: fills the fixed prefix. */
#define DURA_PROVIDER_PREFIX(name_, description_) \
	.abi_major = DURA_ABI_MAJOR, .abi_minor = DURA_ABI_MINOR, \
	.struct_size = (uint32_t)sizeof(struct dura_provider_ops), \
	.name = (name_), .description = (description_)

/* The entry point every plugin defines. */
dura_provider_entry_fn dura_provider_entry;

#ifdef __cplusplus
}
#endif

#endif /* DURABENCH_PROVIDER_H */
