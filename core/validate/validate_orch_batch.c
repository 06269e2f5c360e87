/* Conformance tests: the optional orchestration batch operations (ABI 1.7),
 * fetch_orchestration_items and ack_orchestration_items_and_fetch (skipped
 * when a plugin does not provide both).
 *
 * Per item the contract is that of the single-item operations; what the
 * batch adds is checked here: at most max_items distinct instances, oldest
 * first, never one whose lock is live; each item under its own lock (renew
 * and expiry per item); per-item ack results, where a failed ack changes
 * nothing of its own and nothing of the others; and the fetch part of the
 * ack.  Single-threaded: nobody competes for the instances. */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <pthread.h>
#include <string.h>

/* Largest batch a test asks for. */
#define MAX_BATCH 8

static int have_both(const struct dura_vctx *t)
{
	return DURA_OPT_OP(t->ops, fetch_orchestration_items) &&
	       DURA_OPT_OP(t->ops, ack_orchestration_items_and_fetch);
}

#define SKIP_WITHOUT_BOTH(t) \
	do { \
		if (!have_both(t)) \
			return dura_vskip((t), "fetch_orchestration_items or " \
			                       "ack_orchestration_items_and_fetch not provided"); \
	} while (0)

static void release_items(struct dura_vctx *t, struct dura_orch_item **items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dura_vrelease(t, items[i]);
		items[i] = NULL;
	}
}

/* fetch_orchestration_items(max) that must return exactly the instances
 * want[0..n_want) in that order (n_want 0: EMPTY), each item well formed
 * with its own token.  On success the items stay in items[] (the caller
 * releases n_want of them); otherwise none.  0, or -1 with the reason. */
static int vfetch_batch_is(struct dura_vctx *t, const char *when, uint32_t lock_ms, size_t max,
                           const char *const *want, size_t n_want, struct dura_orch_item **items)
{
	dura_fetch_orchestration_items_fn *fetch = DURA_OPT_OP(t->ops, fetch_orchestration_items);
	struct dura_err err;
	size_t n = 0;
	dura_rc rc = fetch(t->store, lock_ms, 0, max, items, &n, &err);
	if (dura_vexpect(t, "fetch_orchestration_items", rc, n_want ? DURA_OK : DURA_EMPTY, &err) != 0) {
		if (rc == DURA_OK)
			release_items(t, items, n <= max ? n : max);
		return dura_vprefix(t, "%s", when);
	}
	int r = 0;
	if (n != n_want)
		r = dura_vfail(t, "%s: fetch_orchestration_items(max_items %zu) returned %zu items, "
		               "expected %zu", when, max, n, n_want);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct dura_orch_item *it = items[i];
		if (!it || it->token == 0 || !it->instance || it->n_messages < 1)
			r = dura_vfail(t, "%s: item %zu is malformed", when, i);
		else if (strcmp(it->instance, want[i]) != 0)
			r = dura_vfail(t, "%s: item %zu is instance '%s', expected '%s' (oldest first)", when,
			               i, it->instance, want[i]);
		for (size_t j = 0; r == 0 && j < i; j++)
			if (items[j]->token == it->token || strcmp(items[j]->instance, it->instance) == 0)
				r = dura_vfail(t, "%s: items %zu and %zu share a token or an instance", when, j, i);
	}
	if (r != 0 && rc == DURA_OK)
		release_items(t, items, n <= max ? n : max);
	return r;
}

/* One history event (id, body) per ack, execution 1. */
struct one_event {
	struct dura_event ev[2];
	struct dura_orch_ack ack;
};

static void ack_with_event(struct one_event *o, uint64_t id, const char *body, int duplicate)
{
	memset(o, 0, sizeof *o);
	o->ev[0].event_id = id;
	o->ev[0].body = dura_vstr(body);
	o->ev[1] = o->ev[0]; /* the same id twice: refused as a whole */
	o->ack.execution = 1;
	o->ack.history = o->ev;
	o->ack.n_history = duplicate ? 2 : 1;
}

/* ack_orchestration_items_and_fetch that must return DURA_OK with the
 * per-item results want[0..n).  *n_next gets what it fetched. */
static int vack_batch(struct dura_vctx *t, const char *when, size_t n, const uint64_t *tokens,
                      const struct dura_orch_ack *acks, const dura_rc *want, size_t max_next,
                      struct dura_orch_item **next, size_t *n_next)
{
	dura_ack_orchestration_items_and_fetch_fn *ack =
		DURA_OPT_OP(t->ops, ack_orchestration_items_and_fetch);
	dura_rc results[MAX_BATCH];
	struct dura_err err;
	*n_next = 0;
	for (size_t i = 0; i < n; i++)
		results[i] = (dura_rc)-1;
	dura_rc rc = ack(t->store, n, tokens, acks, results, DURA_VLOCK_MS, max_next, next, n_next,
	                 &err);
	if (dura_vexpect(t, "ack_orchestration_items_and_fetch", rc, DURA_OK, &err) != 0)
		return dura_vprefix(t, "%s", when);
	if (*n_next > max_next)
		return dura_vfail(t, "%s: fetched %zu items with max_next %zu", when, *n_next, max_next);
	for (size_t i = 0; i < n; i++)
		if (results[i] != want[i])
			return dura_vfail(t, "%s: results[%zu] is %s, expected %s", when, i,
			                  dura_vrc_name(results[i]), dura_vrc_name(want[i]));
	return 0;
}

/* Enqueues one message to each instance, oldest first. */
static int enqueue_each(struct dura_vctx *t, const char *const *instances, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (dura_venqueue(t, instances[i], "m", 0) != 0)
			return -1;
		dura_sleep_ms(2); /* distinct enqueue times: a clear oldest-first order */
	}
	return 0;
}

/* ------------------------------------------------------------------ tests */

static int multi_orch_limit(struct dura_vctx *t)
{
	SKIP_WITHOUT_BOTH(t);
	const char *ids[] = { "a", "b", "c", "d", "e" };
	VTRY(enqueue_each(t, ids, 5));
	VTRY(dura_venqueue(t, "a", "m2", 0)); /* a second message: still one item */
	struct dura_orch_item *x[MAX_BATCH], *y[MAX_BATCH], *z[MAX_BATCH];
	VTRY(vfetch_batch_is(t, "5 eligible instances, max_items 3", DURA_VLOCK_MS, 3, ids, 3, x));
	int r = x[0]->n_messages == 2 ? 0
	        : dura_vfail(t, "instance a's item has %zu messages, expected both (2)",
	                     x[0]->n_messages);
	if (r == 0)
		r = vfetch_batch_is(t, "2 left, max_items 8", DURA_VLOCK_MS, MAX_BATCH, ids + 3, 2, y);
	if (r == 0) {
		r = vfetch_batch_is(t, "every instance locked", DURA_VLOCK_MS, MAX_BATCH, NULL, 0, z);
		if (r == 0)
			r = dura_vexpect_no_orch(t, "fetch_orchestration_item while batches hold every instance");
		release_items(t, y, 2);
	}
	release_items(t, x, 3);
	if (r != 0)
		return DURA_VFAIL;
	dura_fetch_orchestration_items_fn *fetch = DURA_OPT_OP(t->ops, fetch_orchestration_items);
	struct dura_err err;
	size_t n = 0;
	dura_rc rc = fetch(t->store, DURA_VLOCK_MS, 0, 0, z, &n, &err);
	VCHECK(t, rc == DURA_PERMANENT && n == 0,
	       "fetch_orchestration_items(max_items 0): returned %s with %zu items, expected PERMANENT",
	       dura_vrc_name(rc), n);
	return DURA_VPASS;
}

static int multi_orch_skips_locked(struct dura_vctx *t)
{
	SKIP_WITHOUT_BOTH(t);
	const char *ids[] = { "a", "b", "c" };
	VTRY(enqueue_each(t, ids, 3));
	struct dura_orch_item *held = NULL, *x[MAX_BATCH], *none[MAX_BATCH];
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "a", 1, &held));
	VTRY(dura_venqueue(t, "a", "late", 0)); /* visible, but a is locked */
	int r = vfetch_batch_is(t, "a locked by a single fetch", DURA_VLOCK_MS, MAX_BATCH, ids + 1, 2, x);
	if (r == 0) {
		r = vfetch_batch_is(t, "a, b, c all locked", DURA_VLOCK_MS, MAX_BATCH, NULL, 0, none);
		release_items(t, x, 2);
	}
	dura_vrelease(t, held);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

static int multi_orch_ack_per_item(struct dura_vctx *t)
{
	SKIP_WITHOUT_BOTH(t);
	const char *ids[] = { "a", "b", "c" };
	VTRY(enqueue_each(t, ids, 3));
	struct dura_orch_item *x[MAX_BATCH], *next[MAX_BATCH];
	VTRY(vfetch_batch_is(t, "3 instances", DURA_VLOCK_MS, 3, ids, 3, x));
	uint64_t tok_a = x[0]->token, tok_b = x[1]->token, tok_c = x[2]->token;
	release_items(t, x, 3);
	/* b's lock is lost: another holder abandoned it (as if it expired) */
	VTRY(dura_vabandon(t, tok_b, 0, DURA_OK));
	struct one_event e[3];
	ack_with_event(&e[0], 1, "a1", 0);
	ack_with_event(&e[1], 1, "b1", 0);
	ack_with_event(&e[2], 1, "c1", 1);
	uint64_t tokens[4] = { tok_a, tok_b, tok_c, tok_a };
	struct dura_orch_ack acks[4] = { e[0].ack, e[1].ack, e[2].ack, e[0].ack };
	dura_rc want[4] = { DURA_OK, DURA_LOCK_LOST, DURA_PERMANENT, DURA_LOCK_LOST };
	size_t n_next = 0;
	VTRY(vack_batch(t, "a valid, b lost, c a duplicate event id, a's token again", 4, tokens,
	                acks, want, 0, next, &n_next));
	VCHECK(t, n_next == 0, "max_next 0 fetched %zu items", n_next);
	const uint64_t one = 1;
	const char *a1[] = { "a1" };
	if (dura_vexpect_history(t, "a", 1, &one, a1, 1) != 0)
		return dura_vprefix(t, "the applied ack of a");
	if (dura_vexpect_history(t, "b", 1, NULL, NULL, 0) != 0 ||
	    dura_vexpect_history(t, "c", 1, NULL, NULL, 0) != 0)
		return dura_vprefix(t, "a failed ack of the batch wrote history");
	/* c's refused ack keeps its lock (PERMANENT: nothing changed) */
	VTRY(dura_vrenew(t, tok_c, DURA_VLOCK_MS, DURA_OK));
	/* b's message is back, unconsumed; c's is still held */
	struct dura_orch_item *b = NULL;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "b", 1, &b));
	VTRY(dura_vack_empty(t, b->token, DURA_OK));
	dura_vrelease(t, b);
	VTRY(dura_vack_empty(t, tok_c, DURA_OK));
	VTRY(dura_vexpect_no_orch(t, "after every instance was acked"));
	return DURA_VPASS;
}

static int multi_orch_ack_fetches_next(struct dura_vctx *t)
{
	SKIP_WITHOUT_BOTH(t);
	const char *first[] = { "a", "b" };
	const char *later[] = { "c", "d", "e" };
	VTRY(enqueue_each(t, first, 2));
	struct dura_orch_item *x[MAX_BATCH], *next[MAX_BATCH], *none[MAX_BATCH];
	VTRY(vfetch_batch_is(t, "a, b", DURA_VLOCK_MS, MAX_BATCH, first, 2, x));
	uint64_t tokens[2] = { x[0]->token, x[1]->token };
	release_items(t, x, 2);
	VTRY(enqueue_each(t, later, 3));
	struct one_event e[2];
	ack_with_event(&e[0], 1, "a1", 0);
	ack_with_event(&e[1], 1, "b1", 0);
	struct dura_orch_ack acks[2] = { e[0].ack, e[1].ack };
	dura_rc want[2] = { DURA_OK, DURA_OK };
	size_t n_next = 0;
	VTRY(vack_batch(t, "two acks, max_next 2", 2, tokens, acks, want, 2, next, &n_next));
	int r = 0;
	if (n_next != 2)
		r = dura_vfail(t, "the fetch part returned %zu items with c, d, e eligible and "
		               "max_next 2, expected 2", n_next);
	for (size_t i = 0; r == 0 && i < n_next; i++)
		if (!next[i] || next[i]->token == 0 || strcmp(next[i]->instance, later[i]) != 0)
			r = dura_vfail(t, "fetched item %zu is not instance '%s' with a token", i, later[i]);
	/* they are locked: only e is left */
	if (r == 0)
		r = vfetch_batch_is(t, "c, d fetched along with the ack", DURA_VLOCK_MS, MAX_BATCH,
		                    later + 2, 1, none);
	if (r == 0)
		release_items(t, none, 1);
	release_items(t, next, n_next <= MAX_BATCH ? n_next : MAX_BATCH);
	if (r != 0)
		return DURA_VFAIL;
	const uint64_t one = 1;
	const char *b1[] = { "b1" };
	if (dura_vexpect_history(t, "b", 1, &one, b1, 1) != 0)
		return dura_vprefix(t, "after the batch ack");
	return DURA_VPASS;
}

static int multi_orch_lock_expiry(struct dura_vctx *t)
{
	SKIP_WITHOUT_BOTH(t);
	const char *ids[] = { "a", "b" };
	VTRY(enqueue_each(t, ids, 2));
	struct dura_orch_item *x[MAX_BATCH], *y[MAX_BATCH], *next[MAX_BATCH];
	VTRY(vfetch_batch_is(t, "a, b under a short lock", DURA_VSHORT_LOCK_MS, MAX_BATCH, ids, 2, x));
	uint64_t tok_a = x[0]->token, tok_b = x[1]->token;
	release_items(t, x, 2);
	/* renewing a extends a's lock alone */
	VTRY(dura_vrenew(t, tok_a, DURA_VLOCK_MS, DURA_OK));
	dura_sleep_ms(DURA_VPAST_SHORT_LOCK_MS);
	VTRY(vfetch_batch_is(t, "b's lock expired, a's renewed", DURA_VLOCK_MS, MAX_BATCH, ids + 1, 1,
	                     y));
	uint64_t tok_b2 = y[0]->token;
	int r = y[0]->attempts == 2 ? 0
	        : dura_vfail(t, "b fetched again after its lock expired has attempts %u, expected 2",
	                     y[0]->attempts);
	release_items(t, y, 1);
	if (r != 0)
		return DURA_VFAIL;
	struct one_event e[2];
	ack_with_event(&e[0], 1, "a1", 0);
	ack_with_event(&e[1], 1, "b-stale", 0);
	uint64_t tokens[2] = { tok_a, tok_b };
	struct dura_orch_ack acks[2] = { e[0].ack, e[1].ack };
	dura_rc want[2] = { DURA_OK, DURA_LOCK_LOST };
	size_t n_next = 0;
	VTRY(vack_batch(t, "a renewed, b's old token expired and re-taken", 2, tokens, acks, want, 0,
	                next, &n_next));
	if (dura_vexpect_history(t, "b", 1, NULL, NULL, 0) != 0)
		return dura_vprefix(t, "the expired token's ack wrote history");
	/* the new holder of b is untouched */
	VTRY(dura_vack_empty(t, tok_b2, DURA_OK));
	VTRY(dura_vexpect_no_orch(t, "after both were acked"));
	return DURA_VPASS;
}

/* A batch fetch waiting in another thread. */
struct poller {
	struct dura_vctx *t;
	dura_rc rc;
	size_t n;
	char first[64];
	uint64_t returned_at;
};

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	dura_fetch_orchestration_items_fn *fetch = DURA_OPT_OP(p->t->ops, fetch_orchestration_items);
	struct dura_orch_item *v[4];
	struct dura_err err;
	p->rc = fetch(p->t->store, DURA_VLOCK_MS, 10000, 4, v, &p->n, &err);
	p->returned_at = dura_now_ms();
	if (p->rc == DURA_OK) {
		snprintf(p->first, sizeof p->first, "%s", v[0]->instance ? v[0]->instance : "(null)");
		for (size_t i = 0; i < p->n && i < 4; i++)
			p->t->ops->release_orchestration_item(p->t->store, v[i]);
	}
	return NULL;
}

static int multi_orch_long_poll(struct dura_vctx *t)
{
	SKIP_WITHOUT_BOTH(t);
	struct dura_orch_item *none[MAX_BATCH];
	/* one call without a wait first: a provider may choose how to wait
	 * from what calls cost (PostgreSQL far from its client) */
	VTRY(vfetch_batch_is(t, "an empty store", DURA_VLOCK_MS, 4, NULL, 0, none));
	struct poller p = { t, DURA_EMPTY, 0, "", 0 };
	pthread_t th;
	uint64_t t0 = dura_now_ms();
	if (pthread_create(&th, NULL, poll_thread, &p) != 0)
		return dura_vfail(t, "cannot create a thread");
	dura_sleep_ms(400); /* let it start waiting */
	int r = dura_venqueue(t, "x", "m", 0);
	uint64_t produced_at = dura_now_ms();
	pthread_join(th, NULL);
	VTRY(r);
	VCHECK(t, p.rc == DURA_OK && p.n == 1 && strcmp(p.first, "x") == 0,
	       "fetch_orchestration_items(wait_ms 10000) while a message for 'x' arrived: "
	       "returned %s with %zu item(s), first '%s', expected OK with 'x'",
	       dura_vrc_name(p.rc), p.n, p.first);
	VCHECK(t, p.returned_at < t0 + 9000,
	       "fetch_orchestration_items(wait_ms 10000) returned %llu ms after the message arrived: "
	       "it did not notice the arrival", (unsigned long long)(p.returned_at - produced_at));
	return DURA_VPASS;
}

const struct dura_vtest dura_vtests_orch_batch[] = {
	{ "multi_orch_limit", multi_orch_limit,
	  "fetch_orchestration_items: at most max_items distinct instances, oldest first, all "
	  "their messages, own tokens; max_items 0 is PERMANENT" },
	{ "multi_orch_skips_locked", multi_orch_skips_locked,
	  "fetch_orchestration_items never hands out an instance whose lock is live" },
	{ "multi_orch_ack_per_item", multi_orch_ack_per_item,
	  "ack_orchestration_items_and_fetch: a lost token, a duplicate event id and a token "
	  "given twice fail alone (per-item results); the valid ack applies" },
	{ "multi_orch_ack_fetches_next", multi_orch_ack_fetches_next,
	  "ack_orchestration_items_and_fetch returns up to max_next further instances, locked" },
	{ "multi_orch_long_poll", multi_orch_long_poll,
	  "a waiting fetch_orchestration_items returns the instance a message arrived for" },
	{ "multi_orch_lock_expiry", multi_orch_lock_expiry,
	  "items of a batch expire and renew one by one; an expired token's ack is LOCK_LOST" },
	{ NULL, NULL, NULL },
};
