/* Conformance tests: the optional batch work-item operations,
 * fetch_work_items and ack_work_items_and_fetch (skipped when a plugin does
 * not provide them).
 *
 * Per item the contract is that of the single-item operations: the same
 * peek-lock, FIFO, attempts and token rules, with each batch item under its
 * own token.  What the batch adds is checked here: at most max_items (in a
 * quiet store exactly the oldest min(max_items, eligible) items), long
 * polling, per-item ack results with nothing enqueued for a lost item, one
 * commit for all acks of a call, and the fetch part of the ack.
 *
 * The tests run single-threaded except where they test threads, so "the
 * batch takes every eligible item up to max_items" is a fair demand: nobody
 * else is competing for the items. */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Largest batch a test asks for. */
#define MAX_BATCH 8

typedef __typeof__(((struct dura_provider_ops *)0)->fetch_work_items) fetch_batch_fn;
typedef __typeof__(((struct dura_provider_ops *)0)->ack_work_items_and_fetch) ack_batch_fn;

/* How often a DURA_RETRY ("nothing changed, safe to retry") is retried. */
#define RETRIES 20

static fetch_batch_fn batch_fetch_op(const struct dura_vctx *t)
{
	return DURA_OPT_OP(t->ops, fetch_work_items);
}

static ack_batch_fn batch_ack_op(const struct dura_vctx *t)
{
	return DURA_OPT_OP(t->ops, ack_work_items_and_fetch);
}

static void release_items(struct dura_vctx *t, struct dura_work_item **items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dura_vrelease_work(t, items[i]);
		items[i] = NULL;
	}
}

/* "[\"w1\", \"w2\"]" of a batch, for reasons. */
static const char *show_batch(struct dura_work_item *const *items, size_t n, char *buf, size_t len)
{
	size_t w = (size_t)snprintf(buf, len, "[");
	for (size_t i = 0; i < n && w < len; i++) {
		char shown[64];
		w += (size_t)snprintf(buf + w, len - w, "%s%s", i ? ", " : "",
		                      dura_vbytes_show(items[i]->body, shown, sizeof shown));
	}
	if (w < len)
		snprintf(buf + w, len - w, "]");
	return buf;
}

/* Checks a batch an operation returned: n <= max, every item well formed,
 * tokens non-zero and distinct.  0, or -1 with the reason. */
static int check_batch(struct dura_vctx *t, const char *op, struct dura_work_item **items, size_t n,
                       size_t max)
{
	if (n > max)
		return dura_vfail(t, "%s: returned %zu items, more than the %zu asked for", op, n, max);
	for (size_t i = 0; i < n; i++) {
		const struct dura_work_item *w = items[i];
		if (!w)
			return dura_vfail(t, "%s: item %zu of %zu is NULL", op, i, n);
		if (w->token == 0 || !w->instance || (w->body.len && !w->body.data))
			return dura_vfail(t, "%s: item %zu is malformed (token %llu, instance %s)", op, i,
			                  (unsigned long long)w->token, w->instance ? w->instance : "NULL");
		for (size_t j = 0; j < i; j++)
			if (items[j] && items[j]->token == w->token)
				return dura_vfail(t, "%s: items %zu and %zu share token %llu (each item needs its own)",
				                  op, j, i, (unsigned long long)w->token);
	}
	return 0;
}

/* fetch_work_items that must return want; on OK the batch is checked and
 * left in items[0..*n) (the caller releases it), otherwise nothing is
 * left.  0, or -1 with the reason. */
static int vfetch_batch(struct dura_vctx *t, uint32_t lock_ms, uint32_t wait_ms, size_t max,
                        dura_rc want, struct dura_work_item **items, size_t *n)
{
	fetch_batch_fn fn = batch_fetch_op(t);
	struct dura_err err;
	dura_rc rc;
	for (int attempt = 0;; attempt++) {
		memset(&err, 0, sizeof err);
		memset(items, 0, max * sizeof *items);
		*n = 0;
		rc = fn(t->store, lock_ms, wait_ms, max, items, n, &err);
		if (rc != DURA_RETRY || want == DURA_RETRY || attempt >= RETRIES)
			break;
		dura_sleep_ms(10);
	}
	if (rc != DURA_OK) {
		/* Items are only defined on OK: nothing to release. */
		if (dura_vexpect(t, "fetch_work_items", rc, want, &err) != 0)
			return -1;
		if (rc == DURA_EMPTY && *n != 0)
			return dura_vfail(t, "fetch_work_items: returned EMPTY with *n_items = %zu, expected 0", *n);
		*n = 0;
		return 0;
	}
	if (*n == 0)
		return dura_vfail(t, "fetch_work_items: returned OK with *n_items = 0 (EMPTY expected then)");
	if (check_batch(t, "fetch_work_items", items, *n, max) != 0) {
		release_items(t, items, *n < max ? *n : max);
		*n = 0;
		return -1;
	}
	if (want != DURA_OK) {
		char shown[256];
		dura_vfail(t, "fetch_work_items: returned OK with %s, expected %s",
		           show_batch(items, *n, shown, sizeof shown), dura_vrc_name(want));
		release_items(t, items, *n);
		*n = 0;
		return -1;
	}
	return 0;
}

/* fetch_work_items(max) that must return exactly the items with the given
 * bodies, oldest first, each with the given attempt count. */
static int vfetch_batch_is(struct dura_vctx *t, const char *when, uint32_t lock_ms, size_t max,
                           const char *const *bodies, size_t n_bodies, uint32_t attempts,
                           struct dura_work_item **items)
{
	size_t n;
	if (vfetch_batch(t, lock_ms, 0, max, n_bodies ? DURA_OK : DURA_EMPTY, items, &n) != 0)
		return dura_vprefix(t, "%s", when);
	int bad = n != n_bodies;
	for (size_t i = 0; !bad && i < n; i++)
		bad = !dura_vbytes_is(items[i]->body, bodies[i]);
	if (bad) {
		char got[256], want[256];
		size_t w = 0;
		want[0] = 0;
		for (size_t i = 0; i < n_bodies && w < sizeof want; i++)
			w += (size_t)snprintf(want + w, sizeof want - w, "%s\"%s\"", i ? ", " : "", bodies[i]);
		dura_vfail(t, "%s: fetch_work_items(max_items %zu) returned %s, expected [%s]", when, max,
		           show_batch(items, n, got, sizeof got), want);
		release_items(t, items, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (items[i]->attempts != attempts) {
			dura_vfail(t, "%s: item \"%s\" has attempts %u, expected %u", when, bodies[i],
			           items[i]->attempts, attempts);
			release_items(t, items, n);
			return -1;
		}
	}
	return 0;
}

/* ack_work_items_and_fetch that must return OK; results[] are checked to
 * be OK or LOCK_LOST and the fetched batch to be well formed (left in
 * next[0..*n_next) for the caller).  0, or -1 with the reason. */
static int vack_batch(struct dura_vctx *t, size_t n, const uint64_t *tokens,
                      const struct dura_message *completions, dura_rc *results, uint32_t lock_ms,
                      size_t max_next, struct dura_work_item **next, size_t *n_next)
{
	ack_batch_fn fn = batch_ack_op(t);
	struct dura_err err;
	dura_rc rc;
	for (int attempt = 0;; attempt++) {
		memset(&err, 0, sizeof err);
		for (size_t i = 0; i < n; i++)
			results[i] = (dura_rc)-1;
		memset(next, 0, (max_next ? max_next : 1) * sizeof *next);
		*n_next = 0;
		rc = fn(t->store, n, tokens, completions, results, lock_ms, max_next, next, n_next, &err);
		if (rc != DURA_RETRY || attempt >= RETRIES)
			break;
		dura_sleep_ms(10);
	}
	if (dura_vexpect(t, "ack_work_items_and_fetch", rc, DURA_OK, &err) != 0) {
		*n_next = 0; /* nothing is defined after a failure */
		return -1;
	}
	if (check_batch(t, "ack_work_items_and_fetch (fetch part)", next, *n_next, max_next) != 0) {
		release_items(t, next, *n_next < max_next ? *n_next : max_next);
		*n_next = 0;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (results[i] != DURA_OK && results[i] != DURA_LOCK_LOST) {
			dura_vfail(t, "ack_work_items_and_fetch: results[%zu] is %s (%d), expected OK or LOCK_LOST", i,
			           dura_vrc_name(results[i]), (int)results[i]);
			release_items(t, next, *n_next);
			*n_next = 0;
			return -1;
		}
	}
	return 0;
}

/* Acks every item of a batch (without completions) with single acks. */
static int ack_all_single(struct dura_vctx *t, struct dura_work_item **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (dura_vack_work(t, items[i]->token, NULL, DURA_OK) != 0)
			return -1;
	return 0;
}

/* The orchestrator queue holds exactly one item, for instance, whose
 * messages have exactly the given bodies in order; it is acked away. */
static int expect_completions(struct dura_vctx *t, const char *instance, const char *const *bodies,
                              size_t n, const char *why)
{
	struct dura_orch_item *it;
	if (n == 0)
		return dura_vexpect_no_orch(t, why);
	if (dura_vfetch_instance(t, DURA_VLOCK_MS, instance, (size_t)-1, &it) != 0)
		return dura_vprefix(t, "%s", why);
	int bad = it->n_messages != n;
	for (size_t i = 0; !bad && i < n; i++)
		bad = !dura_vbytes_is(it->messages[i].body, bodies[i]);
	if (bad) {
		char got[512], shown[64];
		size_t w = 0;
		got[0] = 0;
		for (size_t i = 0; i < it->n_messages && w < sizeof got; i++)
			w += (size_t)snprintf(got + w, sizeof got - w, "%s%s", i ? ", " : "",
			                      dura_vbytes_show(it->messages[i].body, shown, sizeof shown));
		dura_vfail(t, "%s: the orchestrator queue of '%s' holds [%s], expected %zu completion(s) starting \"%s\"",
		           why, instance, got, n, bodies[0]);
		dura_vrelease(t, it);
		return -1;
	}
	int r = dura_vack_empty(t, it->token, DURA_OK);
	dura_vrelease(t, it);
	if (r != 0)
		return -1;
	return dura_vexpect_no_orch(t, why);
}

#define SKIP_WITHOUT_FETCH(t) \
	do { \
		if (!batch_fetch_op(t)) \
			return dura_vskip((t), "fetch_work_items not provided"); \
	} while (0)
#define SKIP_WITHOUT_BOTH(t) \
	do { \
		if (!batch_fetch_op(t) || !batch_ack_op(t)) \
			return dura_vskip((t), "fetch_work_items or ack_work_items_and_fetch not provided"); \
	} while (0)

/* ------------------------------------------------------------------ tests */

static int batch_fetch_fifo(struct dura_vctx *t)
{
	SKIP_WITHOUT_FETCH(t);
	const char *first[] = { "w1", "w2", "w3" };
	const char *second[] = { "w4", "w5" };
	const char *late[] = { "late" };
	VTRY(dura_vseed_work(t, "a", first, 3, 0));
	dura_sleep_ms(3);
	VTRY(dura_vseed_work(t, "b", second, 2, 0));
	VTRY(dura_vseed_work(t, "c", late, 1, 60000));
	struct dura_work_item *a[MAX_BATCH], *b[MAX_BATCH], *none[MAX_BATCH];
	size_t nb = 0;
	VTRY(vfetch_batch_is(t, "5 visible items", DURA_VLOCK_MS, 3, first, 3, 1, a));
	int r = vfetch_batch_is(t, "after a batch of 3", DURA_VLOCK_MS, MAX_BATCH, second, 2, 1, b);
	if (r == 0)
		nb = 2;
	if (r == 0)
		r = vfetch_batch_is(t, "every visible item locked, one delayed", DURA_VLOCK_MS, MAX_BATCH,
		                    NULL, 0, 0, none);
	for (size_t i = 0; r == 0 && i < 3; i++) {
		if (strcmp(a[i]->instance, "a") != 0)
			r = dura_vfail(t, "batch item %zu has instance '%s', expected 'a'", i, a[i]->instance);
		for (size_t j = 0; r == 0 && j < nb; j++)
			if (a[i]->token == b[j]->token)
				r = dura_vfail(t, "two batches handed out the same token %llu",
				               (unsigned long long)a[i]->token);
	}
	if (r == 0 && (strcmp(b[0]->instance, "b") != 0 || strcmp(b[1]->instance, "b") != 0))
		r = dura_vfail(t, "the second batch's items do not have instance 'b'");
	/* Each token is a lock of its own: single acks take the items away. */
	if (r == 0)
		r = ack_all_single(t, a, 3);
	if (r == 0)
		r = ack_all_single(t, b, nb);
	if (r == 0)
		r = dura_vexpect_no_work(t, "after acking every batch item");
	release_items(t, a, 3);
	release_items(t, b, nb);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

static int batch_locks_exclusive(struct dura_vctx *t)
{
	SKIP_WITHOUT_FETCH(t);
	const char *bodies[] = { "w1", "w2", "w3", "w4" };
	VTRY(dura_vseed_work(t, "a", bodies, 4, 0));
	struct dura_work_item *a[MAX_BATCH], *b[MAX_BATCH], *c[MAX_BATCH], *none[MAX_BATCH];
	struct dura_work_item *single = NULL;
	size_t nb = 0, nc = 0;
	int r;
	/* batch A's lock is cut short once the fetches below have seen it held
	 * (dura_vshorten_lock) */
	VTRY(vfetch_batch_is(t, "batch A", DURA_VLOCK_MS, 2, bodies, 2, 1, a));
	uint64_t old[2] = { a[0]->token, a[1]->token };
	release_items(t, a, 2);
	r = dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &single);
	if (r == 0 && !dura_vbytes_is(single->body, "w3")) {
		char shown[64];
		r = dura_vfail(t, "fetch_work_item while batch A holds w1, w2: returned %s, expected \"w3\"",
		               dura_vbytes_show(single->body, shown, sizeof shown));
	}
	if (r == 0)
		r = vfetch_batch_is(t, "batch B while batch A holds w1, w2 and a single fetch w3", DURA_VLOCK_MS,
		                    4, bodies + 3, 1, 1, b);
	if (r == 0)
		nb = 1;
	if (r == 0)
		r = vfetch_batch_is(t, "every item locked by a batch or a single fetch", DURA_VLOCK_MS, 4, NULL, 0,
		                    0, none);
	if (r == 0)
		r = dura_vexpect_no_work(t, "fetch_work_item while batches hold every item");
	/* Batch A's locks expire: its items come back, the old tokens are dead. */
	for (size_t i = 0; r == 0 && i < 2; i++)
		r = dura_vshorten_lock(t, 1, old[i]);
	dura_sleep_ms(DURA_VPAST_SHORT_LOCK_MS);
	if (r == 0)
		r = vfetch_batch_is(t, "after batch A's lock expired", DURA_VLOCK_MS, 4, bodies, 2, 2, c);
	if (r == 0)
		nc = 2;
	for (size_t i = 0; r == 0 && i < 2; i++)
		if (c[i]->token == old[0] || c[i]->token == old[1])
			r = dura_vfail(t, "the redelivery of %s reused the expired token %llu", bodies[i],
			               (unsigned long long)c[i]->token);
	if (r == 0)
		r = dura_vack_work(t, old[0], NULL, DURA_LOCK_LOST);
	if (r == 0)
		r = dura_vrenew_work(t, old[1], DURA_VLOCK_MS, DURA_LOCK_LOST);
	if (r == 0 && batch_ack_op(t)) {
		struct dura_message comp[2] = { { "a", dura_vstr("stale 1"), 0 }, { "a", dura_vstr("stale 2"), 0 } };
		dura_rc res[2];
		struct dura_work_item *next[1];
		size_t n_next;
		r = vack_batch(t, 2, old, comp, res, DURA_VLOCK_MS, 0, next, &n_next);
		if (r == 0 && (res[0] != DURA_LOCK_LOST || res[1] != DURA_LOCK_LOST))
			r = dura_vfail(t, "ack_work_items_and_fetch with batch A's expired tokens: results %s, %s, expected LOCK_LOST, LOCK_LOST",
			               dura_vrc_name(res[0]), dura_vrc_name(res[1]));
		if (r == 0)
			r = dura_vexpect_no_orch(t, "acks with expired batch tokens enqueued their completions");
	}
	if (r == 0)
		r = ack_all_single(t, c, nc);
	if (r == 0)
		r = ack_all_single(t, b, nb);
	if (r == 0)
		r = dura_vack_work(t, single->token, NULL, DURA_OK);
	release_items(t, b, nb);
	release_items(t, c, nc);
	if (single)
		dura_vrelease_work(t, single);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

static int batch_attempts_like_single(struct dura_vctx *t)
{
	SKIP_WITHOUT_FETCH(t);
	const char *bodies[] = { "x" };
	VTRY(dura_vseed_work(t, "i1", bodies, 1, 0));
	struct dura_work_item *v[MAX_BATCH], *w;
	uint64_t tok;
	VTRY(dura_vfetch_work_expired(t, &tok)); /* single fetch: attempts 1 */
	VTRY(vfetch_batch_is(t, "batch fetch after a single fetch's lock expired", DURA_VSHORT_LOCK_MS, 4,
	                     bodies, 1, 2, v));
	release_items(t, v, 1);
	dura_sleep_ms(DURA_VPAST_SHORT_LOCK_MS);
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
	VCHECK(t, w->attempts == 3, "single fetch after a batch lock expired: attempts %u, expected 3", w->attempts);
	int r = dura_vabandon_work(t, w->token, 0, DURA_OK);
	dura_vrelease_work(t, w);
	VTRY(r);
	VTRY(vfetch_batch_is(t, "batch fetch after abandon", DURA_VLOCK_MS, 4, bodies, 1, 4, v));
	r = dura_vack_work(t, v[0]->token, NULL, DURA_OK);
	release_items(t, v, 1);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

/* A batch fetch waiting in another thread. */
struct batch_poller {
	struct dura_vctx *t;
	uint32_t wait_ms;
	int r;
	size_t n;
	char first[64];
	uint64_t returned_at;
	char reason[DURA_VREASON_MAX];
};

static void *batch_poll_thread(void *arg)
{
	struct batch_poller *p = arg;
	struct dura_vctx t = *p->t; /* own reason buffer */
	struct dura_work_item *v[4];
	p->r = vfetch_batch(&t, DURA_VLOCK_MS, p->wait_ms, 4, DURA_OK, v, &p->n);
	p->returned_at = dura_now_ms();
	if (p->r == 0) {
		dura_vbytes_show(v[0]->body, p->first, sizeof p->first);
		release_items(&t, v, p->n);
	} else {
		snprintf(p->reason, sizeof p->reason, "%s", t.reason);
	}
	return NULL;
}

static int batch_long_poll_wakes(struct dura_vctx *t)
{
	SKIP_WITHOUT_FETCH(t);
	struct batch_poller p = { t, 10000, 0, 0, "", 0, "" };
	pthread_t th;
	uint64_t t0 = dura_now_ms();
	if (pthread_create(&th, NULL, batch_poll_thread, &p) != 0)
		return dura_vfail(t, "cannot create a thread");
	dura_sleep_ms(400); /* let it start waiting */
	const char *bodies[] = { "j1", "j2" };
	int r = dura_vseed_work(t, "producer", bodies, 2, 0);
	uint64_t produced_at = dura_now_ms();
	pthread_join(th, NULL);
	VTRY(r);
	if (p.r != 0)
		return dura_vfail(t, "fetch_work_items(wait_ms 10000) waiting while 2 work items arrived: %s", p.reason);
	VCHECK(t, p.n >= 1 && p.n <= 2 && strcmp(p.first, "\"j1\"") == 0,
	       "fetch_work_items(wait_ms 10000) returned %zu item(s) starting with %s, expected \"j1\" first",
	       p.n, p.first);
	VCHECK(t, p.returned_at < t0 + 9000,
	       "fetch_work_items(wait_ms 10000) returned %llu ms after the work arrived: it did not notice the arrival",
	       (unsigned long long)(p.returned_at - produced_at));
	return DURA_VPASS;
}

static int batch_long_poll_idle(struct dura_vctx *t)
{
	SKIP_WITHOUT_FETCH(t);
	const uint32_t wait = 800;
	struct dura_work_item *v[4];
	size_t n;
	uint64_t t0 = dura_now_ms();
	VTRY(vfetch_batch(t, DURA_VLOCK_MS, wait, 4, DURA_EMPTY, v, &n));
	uint64_t el = dura_now_ms() - t0;
	VCHECK(t, el >= wait / 2,
	       "fetch_work_items(wait_ms %u) on an idle store returned EMPTY after %llu ms: it does not long-poll",
	       wait, (unsigned long long)el);
	VCHECK(t, el < wait + 5000, "fetch_work_items(wait_ms %u) took %llu ms to return EMPTY", wait,
	       (unsigned long long)el);
	return DURA_VPASS;
}

static int batch_ack_lost_token(struct dura_vctx *t)
{
	SKIP_WITHOUT_BOTH(t);
	const char *bodies[] = { "w1", "w2", "w3" };
	VTRY(dura_vseed_work(t, "i1", bodies, 3, 0));
	struct dura_work_item *a[MAX_BATCH], *other = NULL, *next[1];
	VTRY(vfetch_batch_is(t, "3 visible items", DURA_VLOCK_MS, 3, bodies, 3, 1, a));
	/* w2's lock is lost (abandoned) and another worker takes w2. */
	int r = dura_vabandon_work(t, a[1]->token, 0, DURA_OK);
	if (r == 0)
		r = dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &other);
	if (r == 0 && !dura_vbytes_is(other->body, "w2"))
		r = dura_vfail(t, "fetch_work_item after w2 was abandoned did not return w2");
	uint64_t bogus = a[2]->token ^ 0x5a5a5a5a5a5a5a5aull;
	if (r == 0 && (bogus == a[0]->token || bogus == a[1]->token || bogus == other->token || bogus == 0))
		bogus = UINT64_MAX - 1;
	uint64_t tokens[4] = { a[0]->token, a[1]->token, a[2]->token, bogus };
	struct dura_message comp[4] = {
		{ "i1", dura_vstr("done w1"), 0 }, { "i1", dura_vstr("stale w2"), 0 },
		{ "i1", dura_vstr("done w3"), 0 }, { "i1", dura_vstr("bogus"), 0 },
	};
	dura_rc res[4];
	size_t n_next = 0;
	if (r == 0)
		r = vack_batch(t, 4, tokens, comp, res, DURA_VLOCK_MS, 0, next, &n_next);
	if (r == 0 && (res[0] != DURA_OK || res[1] != DURA_LOCK_LOST || res[2] != DURA_OK ||
	               res[3] != DURA_LOCK_LOST))
		r = dura_vfail(t, "ack_work_items_and_fetch(w1, stale token of w2, w3, bogus token): results %s, %s, %s, %s, expected OK, LOCK_LOST, OK, LOCK_LOST",
		               dura_vrc_name(res[0]), dura_vrc_name(res[1]), dura_vrc_name(res[2]),
		               dura_vrc_name(res[3]));
	if (r == 0 && n_next != 0)
		r = dura_vfail(t, "ack_work_items_and_fetch with max_next 0 returned %zu items", n_next);
	const char *want[] = { "done w1", "done w3" };
	if (r == 0)
		r = expect_completions(t, "i1", want, 2,
		                       "completions of exactly the acked items (none for a lost or bogus token)");
	/* The acked items are gone; w2 is still held by the other worker. */
	if (r == 0)
		r = dura_vack_work(t, a[0]->token, NULL, DURA_LOCK_LOST);
	if (r == 0)
		r = dura_vexpect_no_work(t, "a lost token in a batch ack released the item another worker holds");
	if (other && r == 0) {
		struct dura_message c = { "i1", dura_vstr("done w2"), 0 };
		r = dura_vack_work(t, other->token, &c, DURA_OK);
		const char *w2[] = { "done w2" };
		if (r == 0)
			r = expect_completions(t, "i1", w2, 1, "the other worker's ack of w2");
	}
	release_items(t, a, 3);
	if (other)
		dura_vrelease_work(t, other);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

/* Watches the orchestrator queue from another thread while a batch ack
 * commits. */
struct observer {
	struct dura_vctx *t;
	int r;
	size_t n_messages;
	char instance[64];
	char bodies[256];
	char reason[DURA_VREASON_MAX];
};

static void *observe_thread(void *arg)
{
	struct observer *o = arg;
	struct dura_vctx t = *o->t;
	struct dura_orch_item *it = NULL;
	o->r = dura_vfetch(&t, DURA_VLOCK_MS, 10000, DURA_OK, &it);
	if (o->r != 0) {
		snprintf(o->reason, sizeof o->reason, "%s", t.reason);
		return NULL;
	}
	snprintf(o->instance, sizeof o->instance, "%s", it->instance);
	o->n_messages = it->n_messages;
	size_t w = 0;
	for (size_t i = 0; i < it->n_messages && w < sizeof o->bodies; i++) {
		char shown[64];
		w += (size_t)snprintf(o->bodies + w, sizeof o->bodies - w, "%s%s", i ? ", " : "",
		                      dura_vbytes_show(it->messages[i].body, shown, sizeof shown));
	}
	o->r = dura_vack_empty(&t, it->token, DURA_OK);
	if (o->r != 0)
		snprintf(o->reason, sizeof o->reason, "%s", t.reason);
	dura_vrelease(&t, it);
	return NULL;
}

static int batch_ack_commits_together(struct dura_vctx *t)
{
	SKIP_WITHOUT_BOTH(t);
	const char *bodies[] = { "w1", "w2", "w3" };
	VTRY(dura_vseed_work(t, "src", bodies, 3, 0));
	struct dura_work_item *a[MAX_BATCH], *next[1];
	VTRY(vfetch_batch_is(t, "3 visible items", DURA_VLOCK_MS, 3, bodies, 3, 1, a));
	/* A fetcher waits for the completions: if the acks committed one by
	 * one, it would wake at the first and see only part of them. */
	struct observer o = { t, 0, 0, "", "", "" };
	pthread_t th;
	if (pthread_create(&th, NULL, observe_thread, &o) != 0) {
		release_items(t, a, 3);
		return dura_vfail(t, "cannot create a thread");
	}
	dura_sleep_ms(400); /* let it start waiting */
	uint64_t tokens[3] = { a[0]->token, a[1]->token, a[2]->token };
	struct dura_message comp[3] = {
		{ "sink", dura_vstr("r1"), 0 }, { "sink", dura_vstr("r2"), 0 }, { "sink", dura_vstr("r3"), 0 },
	};
	dura_rc res[3];
	size_t n_next = 0;
	int r = vack_batch(t, 3, tokens, comp, res, DURA_VLOCK_MS, 0, next, &n_next);
	pthread_join(th, NULL);
	release_items(t, a, 3);
	VTRY(r);
	VCHECK(t, res[0] == DURA_OK && res[1] == DURA_OK && res[2] == DURA_OK,
	       "ack_work_items_and_fetch of 3 held items: results %s, %s, %s, expected OK for all",
	       dura_vrc_name(res[0]), dura_vrc_name(res[1]), dura_vrc_name(res[2]));
	if (o.r != 0)
		return dura_vfail(t, "a fetcher waiting for the completions: %s", o.reason);
	VCHECK(t, strcmp(o.instance, "sink") == 0 && o.n_messages == 3 &&
	              strcmp(o.bodies, "\"r1\", \"r2\", \"r3\"") == 0,
	       "a fetcher waiting while 3 acks committed saw instance '%s' with [%s]: the acks of one call did not commit together (expected \"r1\", \"r2\", \"r3\")",
	       o.instance, o.bodies);
	VTRY(dura_vexpect_no_work(t, "after the batch ack"));
	VTRY(dura_vexpect_no_orch(t, "after the batch ack"));
	return DURA_VPASS;
}

static int batch_ack_max_next_zero(struct dura_vctx *t)
{
	SKIP_WITHOUT_BOTH(t);
	const char *bodies[] = { "w1", "w2", "w3" };
	VTRY(dura_vseed_work(t, "i1", bodies, 3, 0));
	struct dura_work_item *a[MAX_BATCH], *rest[MAX_BATCH];
	VTRY(vfetch_batch_is(t, "max_items 1", DURA_VLOCK_MS, 1, bodies, 1, 1, a));
	uint64_t tok = a[0]->token;
	release_items(t, a, 1);
	ack_batch_fn fn = batch_ack_op(t);
	struct dura_message comp = { "i1", dura_vstr("done w1"), 0 };
	dura_rc res = (dura_rc)-1;
	struct dura_work_item *next[2] = { NULL, NULL };
	size_t n_next = 99;
	struct dura_err err;
	dura_rc rc;
	for (int attempt = 0;; attempt++) {
		memset(&err, 0, sizeof err);
		rc = fn(t->store, 1, &tok, &comp, &res, DURA_VLOCK_MS, 0, next, &n_next, &err);
		if (rc != DURA_RETRY || attempt >= RETRIES)
			break;
		dura_sleep_ms(10);
	}
	VTRY(dura_vexpect(t, "ack_work_items_and_fetch (max_next 0)", rc, DURA_OK, &err));
	VCHECK(t, res == DURA_OK, "ack_work_items_and_fetch (max_next 0): results[0] is %s, expected OK",
	       dura_vrc_name(res));
	VCHECK(t, n_next == 0, "ack_work_items_and_fetch (max_next 0): *n_next is %zu, expected 0", n_next);
	VCHECK(t, next[0] == NULL && next[1] == NULL, "ack_work_items_and_fetch (max_next 0) wrote into next[]");
	/* Nothing was locked: both remaining items are fetchable at once, on
	 * their first delivery. */
	VTRY(vfetch_batch_is(t, "after an ack with max_next 0", DURA_VLOCK_MS, 4, bodies + 1, 2, 1, rest));
	int r = ack_all_single(t, rest, 2);
	release_items(t, rest, 2);
	VTRY(r);
	const char *want[] = { "done w1" };
	VTRY(expect_completions(t, "i1", want, 1, "the ack with max_next 0"));
	return DURA_VPASS;
}

static int batch_ack_fetches_next(struct dura_vctx *t)
{
	SKIP_WITHOUT_BOTH(t);
	const char *bodies[] = { "w1", "w2", "w3", "w4", "w5" };
	VTRY(dura_vseed_work(t, "i1", bodies, 5, 0));
	struct dura_work_item *a[MAX_BATCH], *next[MAX_BATCH], *more[MAX_BATCH], *single = NULL;
	VTRY(vfetch_batch_is(t, "5 visible items", DURA_VLOCK_MS, 2, bodies, 2, 1, a));
	uint64_t tokens[3] = { a[0]->token, a[1]->token, 0 };
	release_items(t, a, 2);
	struct dura_message comp[3] = {
		{ "i1", dura_vstr("d1"), 0 }, { "i1", dura_vstr("d2"), 0 }, { "i1", dura_vstr("d3"), 0 },
	};
	dura_rc res[3];
	size_t n_next = 0, n_more = 0;
	VTRY(vack_batch(t, 2, tokens, comp, res, DURA_VLOCK_MS, 2, next, &n_next));
	int r = 0;
	if (res[0] != DURA_OK || res[1] != DURA_OK)
		r = dura_vfail(t, "ack_work_items_and_fetch of 2 held items: results %s, %s, expected OK, OK",
		               dura_vrc_name(res[0]), dura_vrc_name(res[1]));
	char shown[256];
	if (r == 0 && (n_next != 2 || !dura_vbytes_is(next[0]->body, "w3") || !dura_vbytes_is(next[1]->body, "w4")))
		r = dura_vfail(t, "ack_work_items_and_fetch(max_next 2) with w3, w4, w5 visible fetched %s, expected [\"w3\", \"w4\"]",
		               show_batch(next, n_next, shown, sizeof shown));
	for (size_t i = 0; r == 0 && i < 2; i++) {
		if (next[i]->attempts != 1)
			r = dura_vfail(t, "fetched next item %zu has attempts %u, expected 1", i, next[i]->attempts);
		else if (next[i]->token == tokens[0] || next[i]->token == tokens[1])
			r = dura_vfail(t, "a fetched next item reuses the token %llu of an acked item",
			               (unsigned long long)next[i]->token);
	}
	/* The fetched items are locked: a single fetch gets w5, then nothing. */
	if (r == 0)
		r = dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &single);
	if (r == 0 && !dura_vbytes_is(single->body, "w5"))
		r = dura_vfail(t, "fetch_work_item after ack-and-fetch took w3, w4 returned %s, expected \"w5\"",
		               dura_vbytes_show(single->body, shown, sizeof shown));
	if (r == 0)
		r = dura_vexpect_no_work(t, "the items fetched by ack_work_items_and_fetch are not locked");
	if (r == 0) {
		uint64_t t3[3] = { next[0]->token, next[1]->token, single->token };
		r = vack_batch(t, 3, t3, comp, res, DURA_VLOCK_MS, 4, more, &n_more);
		if (r == 0 && (res[0] != DURA_OK || res[1] != DURA_OK || res[2] != DURA_OK))
			r = dura_vfail(t, "ack_work_items_and_fetch of 3 held items: results %s, %s, %s, expected OK",
			               dura_vrc_name(res[0]), dura_vrc_name(res[1]), dura_vrc_name(res[2]));
		if (r == 0 && n_more != 0)
			r = dura_vfail(t, "ack_work_items_and_fetch(max_next 4) on an empty queue fetched %s",
			               show_batch(more, n_more, shown, sizeof shown));
	}
	const char *want[] = { "d1", "d2", "d1", "d2", "d3" };
	if (r == 0)
		r = expect_completions(t, "i1", want, 5, "two batch acks");
	release_items(t, next, n_next);
	release_items(t, more, n_more);
	if (single)
		dura_vrelease_work(t, single);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

static int batch_ack_token_twice(struct dura_vctx *t)
{
	SKIP_WITHOUT_BOTH(t);
	const char *bodies[] = { "w1", "w2" };
	VTRY(dura_vseed_work(t, "i1", bodies, 2, 0));
	struct dura_work_item *a[MAX_BATCH], *next[1];
	VTRY(vfetch_batch_is(t, "2 visible items", DURA_VLOCK_MS, 2, bodies, 2, 1, a));
	/* Each entry is acked "as by ack_work_item": w1 is acked once, so
	 * exactly one of its two entries is OK (the contract does not say
	 * which) and only that entry's completion is enqueued. */
	uint64_t tokens[3] = { a[0]->token, a[0]->token, a[1]->token };
	struct dura_message comp[3] = {
		{ "i1", dura_vstr("done w1"), 0 }, { "i1", dura_vstr("again w1"), 0 },
		{ "i1", dura_vstr("done w2"), 0 },
	};
	dura_rc res[3];
	size_t n_next = 0;
	int r = vack_batch(t, 3, tokens, comp, res, DURA_VLOCK_MS, 0, next, &n_next);
	release_items(t, a, 2);
	VTRY(r);
	int first = res[0] == DURA_OK && res[1] == DURA_LOCK_LOST;
	int second = res[0] == DURA_LOCK_LOST && res[1] == DURA_OK;
	VCHECK(t, (first || second) && res[2] == DURA_OK,
	       "ack_work_items_and_fetch(w1, w1 again, w2): results %s, %s, %s, expected one OK and one LOCK_LOST for w1, then OK",
	       dura_vrc_name(res[0]), dura_vrc_name(res[1]), dura_vrc_name(res[2]));
	const char *want[] = { first ? "done w1" : "again w1", "done w2" };
	VTRY(expect_completions(t, "i1", want, 2,
	                        "a token given twice in one call: the completion of the entry that was acked"));
	VTRY(dura_vexpect_no_work(t, "after the batch ack"));
	return DURA_VPASS;
}

/* Batch workers in threads: fetch a batch, then ack it and fetch the next
 * in one call, until every item is done. */
#define BATCH_THREADS 4
#define BATCH_ITEMS 80
#define BATCH_GIVE_UP_MS 20000u

struct batch_shared {
	struct dura_vctx *t;
	pthread_mutex_t mu;
	unsigned seen[BATCH_ITEMS];
	int done, failed;
	char failure[DURA_VREASON_MAX];
	uint64_t give_up_at;
};

static void batch_fail(struct batch_shared *sh, const char *reason)
{
	pthread_mutex_lock(&sh->mu);
	if (!sh->failed) {
		sh->failed = 1;
		size_t n = strlen(reason);
		if (n > sizeof sh->failure - 1)
			n = sizeof sh->failure - 1; /* truncated */
		memcpy(sh->failure, reason, n);
		sh->failure[n] = 0;
	}
	pthread_mutex_unlock(&sh->mu);
}

/* Records the items of a batch; -1 (failure recorded) on a duplicate. */
static int batch_record(struct batch_shared *sh, struct dura_work_item **v, size_t n, int *ids)
{
	char msg[128];
	for (size_t i = 0; i < n; i++) {
		char body[32];
		snprintf(body, sizeof body, "%.*s", (int)(v[i]->body.len < 31 ? v[i]->body.len : 31),
		         (const char *)v[i]->body.data);
		int k = strncmp(body, "item ", 5) == 0 ? atoi(body + 5) : -1;
		pthread_mutex_lock(&sh->mu);
		int dup = -1;
		if (k >= 0 && k < BATCH_ITEMS)
			dup = sh->seen[k]++ ? 1 : 0;
		pthread_mutex_unlock(&sh->mu);
		if (dup != 0) {
			snprintf(msg, sizeof msg, "work item \"%s\" %s", body,
			         dup < 0 ? "was never enqueued" : "was delivered twice (to batch workers)");
			batch_fail(sh, msg);
			return -1;
		}
		ids[i] = k;
	}
	return 0;
}

static void *batch_worker(void *arg)
{
	struct batch_shared *sh = arg;
	struct dura_vctx t = *sh->t;
	struct dura_work_item *cur[4], *next[4];
	size_t n = 0;
	char msg[DURA_VREASON_MAX + 64];
	for (;;) {
		pthread_mutex_lock(&sh->mu);
		int finished = sh->done >= BATCH_ITEMS || sh->failed;
		pthread_mutex_unlock(&sh->mu);
		if (finished)
			break;
		if (dura_now_ms() > sh->give_up_at) {
			batch_fail(sh, "gave up: not every work item was delivered within 20 s");
			break;
		}
		if (n == 0 && vfetch_batch(&t, DURA_VLOCK_MS, 50, 4, DURA_OK, cur, &n) != 0) {
			n = 0;
			if (strstr(t.reason, "returned EMPTY"))
				continue;
			batch_fail(sh, t.reason);
			break;
		}
		int ids[4];
		if (batch_record(sh, cur, n, ids) != 0)
			break;
		dura_sleep_ms(1); /* an activity takes time: widens any race window */
		uint64_t tokens[4];
		struct dura_message comp[4];
		char bodies[4][32];
		for (size_t i = 0; i < n; i++) {
			tokens[i] = cur[i]->token;
			snprintf(bodies[i], sizeof bodies[i], "done %d", ids[i]);
			comp[i] = (struct dura_message){ "sink", dura_vstr(bodies[i]), 0 };
		}
		dura_rc res[4];
		size_t n_next = 0;
		int r = vack_batch(&t, n, tokens, comp, res, DURA_VLOCK_MS, 4, next, &n_next);
		size_t acked = n;
		release_items(&t, cur, n);
		n = 0;
		if (r != 0) {
			batch_fail(sh, t.reason);
			break;
		}
		for (size_t i = 0; i < acked; i++) {
			if (res[i] != DURA_OK) {
				snprintf(msg, sizeof msg, "ack of item %d (held under a 60 s lock) returned %s", ids[i],
				         dura_vrc_name(res[i]));
				batch_fail(sh, msg);
				release_items(&t, next, n_next);
				return NULL;
			}
		}
		pthread_mutex_lock(&sh->mu);
		sh->done += (int)acked;
		pthread_mutex_unlock(&sh->mu);
		memcpy(cur, next, n_next * sizeof *next);
		n = n_next;
	}
	/* Stopped with items in hand (another thread failed): let them go. */
	release_items(&t, cur, n);
	return NULL;
}

static int batch_concurrent_exactly_once(struct dura_vctx *t)
{
	SKIP_WITHOUT_BOTH(t);
	struct batch_shared *sh = dura_xcalloc(1, sizeof *sh);
	sh->t = t;
	pthread_mutex_init(&sh->mu, NULL);
	char (*bodies)[16] = dura_xcalloc(BATCH_ITEMS, sizeof *bodies);
	const char **ptrs = dura_xcalloc(BATCH_ITEMS, sizeof *ptrs);
	for (int i = 0; i < BATCH_ITEMS; i++) {
		snprintf(bodies[i], sizeof bodies[i], "item %d", i);
		ptrs[i] = bodies[i];
	}
	int r = dura_vseed_work(t, "seed-0", ptrs, BATCH_ITEMS / 2, 0);
	if (r == 0)
		r = dura_vseed_work(t, "seed-1", ptrs + BATCH_ITEMS / 2, BATCH_ITEMS / 2, 0);
	if (r == 0) {
		sh->give_up_at = dura_now_ms() + BATCH_GIVE_UP_MS;
		pthread_t th[BATCH_THREADS];
		int started = 0;
		for (int i = 0; i < BATCH_THREADS; i++) {
			if (pthread_create(&th[i], NULL, batch_worker, sh) != 0) {
				batch_fail(sh, "cannot create a test thread");
				break;
			}
			started++;
		}
		for (int i = 0; i < started; i++)
			pthread_join(th[i], NULL);
	}
	/* Every completion arrived exactly once. */
	unsigned done_seen[BATCH_ITEMS] = { 0 };
	size_t completions = 0;
	while (r == 0 && !sh->failed) {
		struct dura_orch_item *it;
		r = dura_vfetch(t, DURA_VLOCK_MS, 0, completions < BATCH_ITEMS ? DURA_OK : DURA_EMPTY, &it);
		if (r != 0 || !it)
			break;
		for (size_t i = 0; r == 0 && i < it->n_messages; i++) {
			char body[32];
			struct dura_bytes b = it->messages[i].body;
			snprintf(body, sizeof body, "%.*s", (int)(b.len < 31 ? b.len : 31), (const char *)b.data);
			int k = strncmp(body, "done ", 5) == 0 ? atoi(body + 5) : -1;
			if (k < 0 || k >= BATCH_ITEMS || done_seen[k]++)
				r = dura_vfail(t, "completion \"%s\" %s", body,
				               k < 0 || k >= BATCH_ITEMS ? "is unknown" : "arrived twice");
		}
		completions += it->n_messages;
		if (r == 0)
			r = dura_vack_empty(t, it->token, DURA_OK);
		dura_vrelease(t, it);
	}
	if (sh->failed)
		r = dura_vfail(t, "%s", sh->failure);
	pthread_mutex_destroy(&sh->mu);
	free(sh);
	free(bodies);
	free(ptrs);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

const struct dura_vtest dura_vtests_batch[] = {
	{ "batch_fetch_fifo", batch_fetch_fifo,
	  "fetch_work_items: at most max_items, oldest first, own non-zero tokens, attempts 1" },
	{ "batch_locks_exclusive", batch_locks_exclusive,
	  "batch-locked items are not handed out again until the lock expires, then attempts 2" },
	{ "batch_attempts_like_single", batch_attempts_like_single,
	  "batch and single fetches count one item's attempts together" },
	{ "batch_long_poll_wakes", batch_long_poll_wakes,
	  "a waiting fetch_work_items returns the items another thread's ack enqueued" },
	{ "batch_long_poll_idle", batch_long_poll_idle,
	  "on an idle store fetch_work_items waits about wait_ms, then returns EMPTY" },
	{ "batch_ack_lost_token", batch_ack_lost_token,
	  "a lost or bogus token in a batch ack: LOCK_LOST for it alone, no completion for it" },
	{ "batch_ack_commits_together", batch_ack_commits_together,
	  "the acks of one ack_work_items_and_fetch call commit together" },
	{ "batch_ack_max_next_zero", batch_ack_max_next_zero,
	  "ack_work_items_and_fetch with max_next 0 fetches and locks nothing" },
	{ "batch_ack_fetches_next", batch_ack_fetches_next,
	  "ack_work_items_and_fetch returns the next items after the acks, locked" },
	{ "batch_ack_token_twice", batch_ack_token_twice,
	  "a token given twice in one call: acked once (one OK, one LOCK_LOST), one completion" },
	{ "batch_concurrent_exactly_once", batch_concurrent_exactly_once,
	  "4 batch-worker threads process 80 items: each exactly once, one completion each" },
	{ NULL, NULL, NULL },
};
