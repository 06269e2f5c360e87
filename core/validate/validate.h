/*
 * The provider conformance suite behind `durabench validate`.
 *
 * Each test is a function that gets a fresh store (opened with the options
 * under test, closed with drop = 1 afterwards), calls provider operations
 * directly (no runtime) and either passes or fails with a precise reason.
 * Tests are grouped by theme in validate_<theme>.c, each exporting a table
 * ending with {NULL}; validate.c runs them, each in a child process with a
 * time limit so a crashing or hanging provider fails one test instead of
 * taking the suite down.
 *
 * The helpers below call one operation, compare the return code with the
 * expected one (retrying DURA_RETRY a few times, which the ABI defines as
 * "nothing changed, safe to retry") and on a mismatch write the reason,
 * e.g. "ack_orchestration_item: returned OK, expected LOCK_LOST".
 */
#ifndef DURA_VALIDATE_H
#define DURA_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <durabench/provider.h>

struct dura_buf;

/* Lock duration for tests that do not test expiry: long enough that no
 * provider, however slow, loses a lock by accident. */
#define DURA_VLOCK_MS 60000u
/* Short lock for expiry tests, and how long to sleep to be sure it is gone
 * on any provider clock. */
#define DURA_VSHORT_LOCK_MS 200u
#define DURA_VPAST_SHORT_LOCK_MS 600u

#define DURA_VREASON_MAX 4096

/* Results of a test function. */
#define DURA_VPASS 0
#define DURA_VFAIL (-1)
#define DURA_VSKIP 1

struct dura_vctx {
	const struct dura_provider_ops *ops;
	const struct dura_option *options; /* what the store was opened with */
	size_t n_options;
	dura_store *store;                 /* fresh store for this test */
	char reason[DURA_VREASON_MAX];     /* why it failed or was skipped */
};

struct dura_vtest {
	const char *name;
	int (*fn)(struct dura_vctx *t); /* DURA_VPASS / DURA_VFAIL / DURA_VSKIP */
	const char *what;               /* one line for --list */
};

/* The themes, in the order they run (validate_<theme>.c). */
extern const struct dura_vtest dura_vtests_store[];
extern const struct dura_vtest dura_vtests_locks[];
extern const struct dura_vtest dura_vtests_queue[];
extern const struct dura_vtest dura_vtests_ack[];
extern const struct dura_vtest dura_vtests_work[];
extern const struct dura_vtest dura_vtests_concurrency[];
extern const struct dura_vtest dura_vtests_optional[];
extern const struct dura_vtest dura_vtests_batch[];
extern const struct dura_vtest dura_vtests_scaleout[]; /* validate_scaleout.c */
extern const struct dura_vtest dura_vtests_sizes[];
extern const struct dura_vtest dura_vtests_atomic[];
extern const struct dura_vtest dura_vtests_order[];
extern const struct dura_vtest dura_vtests_isolation[];
extern const struct dura_vtest dura_vtests_liveness[];
extern const struct dura_vtest dura_vtests_random[];
extern const struct dura_vtest dura_vtests_prefill[]; /* validate_prefill.c */
extern const struct dura_vtest dura_vtests_orch_batch[]; /* validate_orch_batch.c */

/* ---- running (validate.c) ---- */

struct dura_validate_opts {
	const struct dura_provider_ops *ops;
	const struct dura_option *options; /* prepared options for open() */
	size_t n_options;
	const char *const *only; /* run only tests whose name contains one of */
	size_t n_only;           /* these n_only substrings (0: every test) */
	unsigned timeout_s;   /* per test; 0 = default */
	int in_process;       /* 1: no child process, no time limit (debugging) */
};

#define DURA_VALIDATE_DEFAULT_TIMEOUT_S 30u

/* Runs the selected tests, printing "ok N name" / "not ok N name: reason"
 * per test (TAP, after a "1..N" plan line) and "P passed, F failed, S
 * skipped" last, to out.  Returns the number of
 * failures, or -1 when no test matches opts->only. */
int dura_validate_selected(const struct dura_validate_opts *opts, const char *name);
int dura_validate_run(const struct dura_validate_opts *opts, FILE *out);

/* Prints every test's name and description, one per line. */
void dura_validate_list(FILE *out);

/* Number of tests in the suite. */
size_t dura_validate_count(void);

/* ---- helpers for tests (validate_helpers.c) ---- */

int dura_vfail(struct dura_vctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dura_vskip(struct dura_vctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current reason with a formatted context ("ctx: reason");
 * returns DURA_VFAIL. */
int dura_vprefix(struct dura_vctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *dura_vrc_name(dura_rc rc);

/* Returns DURA_VFAIL from the calling test with a reason when cond is false. */
#define VCHECK(t, cond, ...) \
	do { \
		if (!(cond)) \
			return dura_vfail((t), __VA_ARGS__); \
	} while (0)
/* Returns DURA_VFAIL from the calling test when a helper failed. */
#define VTRY(expr) \
	do { \
		if ((expr) != 0) \
			return DURA_VFAIL; \
	} while (0)

/* Borrowed bytes of a C string (without its NUL). */
struct dura_bytes dura_vstr(const char *s);
int dura_vbytes_eq(struct dura_bytes a, struct dura_bytes b);
int dura_vbytes_is(struct dura_bytes a, const char *s);
/* Short printable form for reasons ("\"abc\"" or "<1048576 bytes>"), in buf. */
const char *dura_vbytes_show(struct dura_bytes b, char *buf, size_t len);

/* Checks rc against want (and that an error code came with a message);
 * 0, or -1 with the reason "<op>: returned X, expected Y (msg)". */
int dura_vexpect(struct dura_vctx *t, const char *op, dura_rc rc, dura_rc want,
                 const struct dura_err *err);

/* Operation wrappers: 0 when the operation returned want, else -1 with the
 * reason.  Out-parameters are set to NULL unless the call returned OK. */
int dura_venqueue(struct dura_vctx *t, const char *instance, const char *body, int64_t delay_ms);
int dura_venqueue_msgs(struct dura_vctx *t, const struct dura_message *msgs, size_t n);
int dura_vfetch(struct dura_vctx *t, uint32_t lock_ms, uint32_t wait_ms, dura_rc want,
                struct dura_orch_item **out);
/* Fetch that must return an item for instance (and, if n_messages is not
 * (size_t)-1, exactly that many messages). */
int dura_vfetch_instance(struct dura_vctx *t, uint32_t lock_ms, const char *instance,
                         size_t n_messages, struct dura_orch_item **out);
int dura_vack(struct dura_vctx *t, uint64_t token, const struct dura_orch_ack *ack, dura_rc want);
/* Ack with nothing in it (execution 1, no history, no items, meta unchanged). */
int dura_vack_empty(struct dura_vctx *t, uint64_t token, dura_rc want);
int dura_vabandon(struct dura_vctx *t, uint64_t token, uint32_t delay_ms, dura_rc want);
int dura_vrenew(struct dura_vctx *t, uint64_t token, uint32_t extend_ms, dura_rc want);
void dura_vrelease(struct dura_vctx *t, struct dura_orch_item *item);

int dura_vfetch_work(struct dura_vctx *t, uint32_t lock_ms, uint32_t wait_ms, dura_rc want,
                     struct dura_work_item **out);
int dura_vack_work(struct dura_vctx *t, uint64_t token, const struct dura_message *completion,
                   dura_rc want);
int dura_vabandon_work(struct dura_vctx *t, uint64_t token, uint32_t delay_ms, dura_rc want);
int dura_vrenew_work(struct dura_vctx *t, uint64_t token, uint32_t extend_ms, dura_rc want);
/* Cuts a held lock (work: a work item's, else an instance's) to expire
 * DURA_VSHORT_LOCK_MS from now, by a renew ("extend the lock to now +
 * extend_ms").  A test that needs a lock to expire takes it long and cuts
 * it once every call that must still see it held is done: a short lock
 * taken first can expire under those calls on a slow machine (valgrind, an
 * emulated link, a loaded CI runner). */
int dura_vshorten_lock(struct dura_vctx *t, int work, uint64_t token);
void dura_vrelease_work(struct dura_vctx *t, struct dura_work_item *item);

/* Puts work items with the given bodies on the worker queue (each with
 * instance `instance`) through one orchestration turn of `instance`, the
 * only way the ABI offers.  Leaves no orchestrator message behind. */
int dura_vseed_work(struct dura_vctx *t, const char *instance, const char *const *bodies,
                    size_t n, int64_t delay_ms);

int dura_vread_history(struct dura_vctx *t, const char *instance, uint64_t execution,
                       struct dura_history **out);
void dura_vrelease_history(struct dura_vctx *t, struct dura_history *h);
/* Checks that (instance, execution) holds exactly the events ids[0..n) with
 * bodies bodies[0..n) (bodies may be NULL: ids only). */
int dura_vexpect_history(struct dura_vctx *t, const char *instance, uint64_t execution,
                         const uint64_t *ids, const char *const *bodies, size_t n);
int dura_vstatus(struct dura_vctx *t, const char *instance, dura_rc want,
                 struct dura_instance_meta **out);
void dura_vrelease_status(struct dura_vctx *t, struct dura_instance_meta *m);

/* Lock expiry set-ups: fetch the item (instance's, with exactly one
 * message; the next work item) under DURA_VSHORT_LOCK_MS, release it and
 * sleep DURA_VPAST_SHORT_LOCK_MS; *token gets the token that expired. */
int dura_vfetch_expired(struct dura_vctx *t, const char *instance, uint64_t *token);
int dura_vfetch_work_expired(struct dura_vctx *t, uint64_t *token);

/* The queues hold nothing visible right now (fetch with wait 0 is EMPTY). */
int dura_vexpect_no_orch(struct dura_vctx *t, const char *why);
int dura_vexpect_no_work(struct dura_vctx *t, const char *why);

/* ---- randomised model checking (validate_random.c) ---- */

/* Parameters of the random_ops test (`validate --random SEED`). */
struct dura_vrandom_opts {
	uint64_t seed;
	size_t ops;       /* steps drawn from the seed */
	unsigned threads; /* threads the steps are dealt to (1..16) */
};
#define DURA_VRANDOM_DEFAULT_OPS 300u
#define DURA_VRANDOM_DEFAULT_THREADS 3u
/* Sets them for the following dura_validate_run (process-wide). */
void dura_validate_set_random(const struct dura_vrandom_opts *r);

/* ---- snapshots (validate_snapshot.c) ---- */

/* 64-bit FNV-1a of the bytes: how snapshots show bodies. */
uint64_t dura_vdigest(struct dura_bytes b);
/* Appends (NUL-terminated) everything the ABI's reads reach: metadata and
 * histories of instances[0..n), then the drained orchestrator and worker
 * queues.  Destructive (it locks what it drains).  0, or -1 with reason. */
int dura_vsnapshot(struct dura_vctx *t, const char *const *instances, size_t n, struct dura_buf *out);
/* Closes the test's store with drop = 1 and opens a fresh one. */
int dura_vreopen(struct dura_vctx *t);

/* "Nothing changed": setup runs on the test's store, a snapshot is taken,
 * the store is replaced by a fresh one, setup runs again followed by op,
 * and the two snapshots must be equal.  setup and op return 0, or -1 with
 * the reason (op checks its own return codes). */
struct dura_vtwin_spec {
	const char *what; /* names op in the failure reason */
	int (*setup)(struct dura_vctx *t, void *ctx);
	int (*op)(struct dura_vctx *t, void *ctx);
	const char *const *instances;
	size_t n_instances;
};
int dura_vtwin(struct dura_vctx *t, const struct dura_vtwin_spec *spec, void *ctx);

#endif
