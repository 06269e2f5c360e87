/* Conformance tests: many fetcher threads on one store, races, and long
 * polling (wait_ms) across threads.
 *
 * Each thread works on its own copy of the test context (same store, own
 * reason buffer) so the helpers can be used from threads; the first failure
 * is copied back into the test's reason.  Every thread is joined before the
 * test returns: the store is closed right after. */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 6
/* A test that has not finished by then fails (well before the runner's
 * time limit, so the reason is precise). */
#define GIVE_UP_MS 20000u

struct shared {
	struct dura_vctx *t;
	pthread_mutex_t mu;
	char failure[DURA_VREASON_MAX]; /* first failure, under mu */
	int failed;
	/* concurrent_fetchers_exclusive */
	int n_instances, turns;
	unsigned char *held;      /* instance currently held by a fetcher */
	unsigned *seen;           /* [instance * turns + turn] deliveries */
	int done;                 /* turns completed */
	uint64_t give_up_at;
	/* work items */
	int n_items;
	unsigned *work_seen;
	int work_done;
	/* lost race: fetchers wait for go, then start together */
	pthread_cond_t start;
	int go;
};

static void shared_init(struct shared *sh, struct dura_vctx *t)
{
	memset(sh, 0, sizeof *sh);
	sh->t = t;
	pthread_mutex_init(&sh->mu, NULL);
	sh->give_up_at = dura_now_ms() + GIVE_UP_MS;
}

static void shared_fail(struct shared *sh, const char *reason)
{
	pthread_mutex_lock(&sh->mu);
	if (!sh->failed) {
		sh->failed = 1;
		size_t n = strnlen(reason, sizeof sh->failure - 1);
		memcpy(sh->failure, reason, n);
		sh->failure[n] = 0;
	}
	pthread_mutex_unlock(&sh->mu);
}

/* Starts n threads running fn(sh) and joins them all. */
static void run_threads(struct shared *sh, int n, void *(*fn)(void *))
{
	pthread_t th[THREADS * 2];
	int started = 0;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&th[i], NULL, fn, sh) != 0) {
			shared_fail(sh, "cannot create a test thread");
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

static int parse_instance(const char *s)
{
	return strncmp(s, "c-", 2) == 0 ? atoi(s + 2) : -1;
}

static void *exclusive_worker(void *arg)
{
	struct shared *sh = arg;
	struct dura_vctx t = *sh->t; /* own reason buffer */
	char msg[DURA_VREASON_MAX + 128];
	for (;;) {
		pthread_mutex_lock(&sh->mu);
		int finished = sh->done >= sh->n_instances * sh->turns || sh->failed;
		pthread_mutex_unlock(&sh->mu);
		if (finished)
			return NULL;
		if (dura_now_ms() > sh->give_up_at) {
			shared_fail(sh, "gave up: not every turn was delivered within 20 s");
			return NULL;
		}
		struct dura_orch_item *it;
		if (dura_vfetch(&t, DURA_VLOCK_MS, 50, DURA_OK, &it) != 0) {
			if (strstr(t.reason, "returned EMPTY"))
				continue; /* others hold the remaining instances */
			shared_fail(sh, t.reason);
			return NULL;
		}
		int inst = parse_instance(it->instance);
		int turn = (int)it->n_history; /* 0-based turn number */
		pthread_mutex_lock(&sh->mu);
		const char *bad = NULL;
		if (inst < 0 || inst >= sh->n_instances)
			bad = "unknown instance";
		else if (sh->held[inst])
			bad = "handed to a second fetcher while the first still held its lock";
		else if (turn >= sh->turns || it->n_messages != 1)
			bad = "came with unexpected history or messages (a turn was processed twice?)";
		else if (sh->seen[inst * sh->turns + turn]++)
			bad = "turn delivered twice";
		if (!bad)
			sh->held[inst] = 1;
		pthread_mutex_unlock(&sh->mu);
		if (bad) {
			snprintf(msg, sizeof msg, "instance '%s' (history %zu, %zu messages): %s", it->instance,
			         it->n_history, it->n_messages, bad);
			dura_vrelease(&t, it);
			shared_fail(sh, msg);
			return NULL;
		}
		dura_sleep_ms(2); /* a turn takes time: widens any race window */
		char body[64];
		snprintf(body, sizeof body, "turn %d", turn + 1);
		struct dura_event ev = { (uint64_t)turn + 1, dura_vstr(body) };
		struct dura_message next = { it->instance, dura_vstr(body), 0 };
		/* Metadata makes execution 1 current, so the next fetch brings
		 * the history that numbers the turn. */
		struct dura_instance_meta meta = { "turns", DURA_STATUS_RUNNING, dura_vstr(""), NULL, 1 };
		struct dura_orch_ack ack = { .execution = 1, .history = &ev, .n_history = 1,
		                             .orch_items = &next, .n_orch_items = turn + 1 < sh->turns,
		                             .meta = &meta };
		/* Release our mark before the ack: after the ack another fetcher
		 * may legitimately take the instance. */
		pthread_mutex_lock(&sh->mu);
		sh->held[inst] = 0;
		pthread_mutex_unlock(&sh->mu);
		int r = dura_vack(&t, it->token, &ack, DURA_OK);
		dura_vrelease(&t, it);
		if (r != 0) {
			snprintf(msg, sizeof msg, "turn %d of instance c-%d: %s", turn + 1, inst, t.reason);
			shared_fail(sh, msg);
			return NULL;
		}
		pthread_mutex_lock(&sh->mu);
		sh->done++;
		pthread_mutex_unlock(&sh->mu);
	}
}

static int concurrent_fetchers_exclusive(struct dura_vctx *t)
{
	struct shared sh;
	shared_init(&sh, t);
	sh.n_instances = 24;
	sh.turns = 4;
	sh.held = dura_xcalloc((size_t)sh.n_instances, 1);
	sh.seen = dura_xcalloc((size_t)(sh.n_instances * sh.turns), sizeof *sh.seen);
	struct dura_message *start = dura_xcalloc((size_t)sh.n_instances, sizeof *start);
	char (*names)[16] = dura_xcalloc((size_t)sh.n_instances, sizeof *names);
	for (int i = 0; i < sh.n_instances; i++) {
		snprintf(names[i], sizeof names[i], "c-%d", i);
		start[i] = (struct dura_message){ names[i], dura_vstr("turn 0"), 0 };
	}
	int r = dura_venqueue_msgs(t, start, (size_t)sh.n_instances);
	if (r == 0)
		run_threads(&sh, THREADS, exclusive_worker);
	for (int i = 0; r == 0 && !sh.failed && i < sh.n_instances; i++) {
		uint64_t ids[4] = { 1, 2, 3, 4 };
		r = dura_vexpect_history(t, names[i], 1, ids, NULL, (size_t)sh.turns);
	}
	if (r == 0 && !sh.failed)
		r = dura_vexpect_no_orch(t, "after all turns");
	free(start);
	free(names);
	free(sh.held);
	free(sh.seen);
	pthread_mutex_destroy(&sh.mu);
	if (sh.failed)
		return dura_vfail(t, "%s", sh.failure);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

static void *work_worker(void *arg)
{
	struct shared *sh = arg;
	struct dura_vctx t = *sh->t;
	char msg[DURA_VREASON_MAX + 128];
	for (;;) {
		pthread_mutex_lock(&sh->mu);
		int finished = sh->work_done >= sh->n_items || sh->failed;
		pthread_mutex_unlock(&sh->mu);
		if (finished)
			return NULL;
		if (dura_now_ms() > sh->give_up_at) {
			shared_fail(sh, "gave up: not every work item was delivered within 20 s");
			return NULL;
		}
		struct dura_work_item *w;
		if (dura_vfetch_work(&t, DURA_VLOCK_MS, 50, DURA_OK, &w) != 0) {
			if (strstr(t.reason, "returned EMPTY"))
				continue;
			shared_fail(sh, t.reason);
			return NULL;
		}
		char body[32];
		snprintf(body, sizeof body, "%.*s", (int)(w->body.len < 31 ? w->body.len : 31),
		         (const char *)w->body.data);
		int k = strncmp(body, "item ", 5) == 0 ? atoi(body + 5) : -1;
		pthread_mutex_lock(&sh->mu);
		int dup = -1;
		if (k >= 0 && k < sh->n_items)
			dup = sh->work_seen[k]++ ? 1 : 0;
		pthread_mutex_unlock(&sh->mu);
		if (dup != 0) {
			snprintf(msg, sizeof msg, "work item \"%s\" %s", body,
			         dup < 0 ? "was never enqueued" : "was delivered twice");
			dura_vrelease_work(&t, w);
			shared_fail(sh, msg);
			return NULL;
		}
		struct dura_message done = { "sink", dura_vstr(body), 0 };
		int r = dura_vack_work(&t, w->token, &done, DURA_OK);
		dura_vrelease_work(&t, w);
		if (r != 0) {
			shared_fail(sh, t.reason);
			return NULL;
		}
		pthread_mutex_lock(&sh->mu);
		sh->work_done++;
		pthread_mutex_unlock(&sh->mu);
	}
}

static int concurrent_work_exactly_once(struct dura_vctx *t)
{
	struct shared sh;
	shared_init(&sh, t);
	sh.n_items = 90;
	sh.work_seen = dura_xcalloc((size_t)sh.n_items, sizeof *sh.work_seen);
	char (*bodies)[16] = dura_xcalloc((size_t)sh.n_items, sizeof *bodies);
	const char **ptrs = dura_xcalloc((size_t)sh.n_items, sizeof *ptrs);
	for (int i = 0; i < sh.n_items; i++) {
		snprintf(bodies[i], sizeof bodies[i], "item %d", i);
		ptrs[i] = bodies[i];
	}
	int r = 0;
	for (int batch = 0; r == 0 && batch < 3; batch++) {
		char inst[16];
		snprintf(inst, sizeof inst, "seed-%d", batch);
		r = dura_vseed_work(t, inst, ptrs + batch * 30, 30, 0);
	}
	if (r == 0)
		run_threads(&sh, THREADS, work_worker);
	/* Every completion arrived exactly once, in one or more turns of
	 * "sink". */
	size_t completions = 0;
	while (r == 0 && !sh.failed) {
		struct dura_orch_item *it;
		r = dura_vfetch(t, DURA_VLOCK_MS, 0, completions < (size_t)sh.n_items ? DURA_OK : DURA_EMPTY, &it);
		if (r != 0 || !it)
			break;
		completions += it->n_messages;
		r = dura_vack_empty(t, it->token, DURA_OK);
		dura_vrelease(t, it);
		if (completions > (size_t)sh.n_items) {
			r = dura_vfail(t, "%zu completions for %d work items", completions, sh.n_items);
			break;
		}
	}
	free(bodies);
	free(ptrs);
	free(sh.work_seen);
	pthread_mutex_destroy(&sh.mu);
	if (sh.failed)
		return dura_vfail(t, "%s", sh.failure);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

/* Each thread fetches once, all at the same moment; there is exactly one
 * eligible item per thread, so none may come back EMPTY. */
struct race_slot {
	struct shared *sh;
	int work;                       /* 1: worker queue */
	struct dura_orch_item *item;
	struct dura_work_item *witem;
	char reason[DURA_VREASON_MAX];
};

static void *race_fetcher(void *arg)
{
	struct race_slot *slot = arg;
	struct dura_vctx t = *slot->sh->t;
	pthread_mutex_lock(&slot->sh->mu);
	while (!slot->sh->go)
		pthread_cond_wait(&slot->sh->start, &slot->sh->mu);
	pthread_mutex_unlock(&slot->sh->mu);
	int r = slot->work ? dura_vfetch_work(&t, DURA_VLOCK_MS, 0, DURA_OK, &slot->witem)
	                   : dura_vfetch(&t, DURA_VLOCK_MS, 0, DURA_OK, &slot->item);
	if (r != 0)
		snprintf(slot->reason, sizeof slot->reason, "%s", t.reason);
	return NULL;
}

static int race_round(struct dura_vctx *t, struct shared *sh, int work, int round)
{
	struct race_slot slots[THREADS];
	pthread_t th[THREADS];
	memset(slots, 0, sizeof slots);
	pthread_cond_init(&sh->start, NULL);
	sh->go = 0;
	int started = 0;
	for (int i = 0; i < THREADS; i++) {
		slots[i].sh = sh;
		slots[i].work = work;
		if (pthread_create(&th[i], NULL, race_fetcher, &slots[i]) != 0)
			break;
		started++;
	}
	/* Everyone is parked on the gate: open it at once. */
	pthread_mutex_lock(&sh->mu);
	sh->go = 1;
	pthread_cond_broadcast(&sh->start);
	pthread_mutex_unlock(&sh->mu);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_cond_destroy(&sh->start);
	int r = started == THREADS ? 0 : dura_vfail(t, "cannot create %d test threads", THREADS);
	for (int i = 0; i < THREADS; i++) {
		if (r == 0 && slots[i].reason[0])
			r = dura_vfail(t, "round %d: %d fetchers raced for %d eligible %s; one got: %s", round,
			               THREADS, THREADS, work ? "work items" : "instances", slots[i].reason);
		for (int j = 0; r == 0 && j < i; j++) {
			if (!work && slots[i].item && slots[j].item &&
			    strcmp(slots[i].item->instance, slots[j].item->instance) == 0)
				r = dura_vfail(t, "round %d: two racing fetchers both got instance '%s'", round,
				               slots[i].item->instance);
			if (work && slots[i].witem && slots[j].witem &&
			    dura_vbytes_eq(slots[i].witem->body, slots[j].witem->body))
				r = dura_vfail(t, "round %d: two racing fetchers got the same work item", round);
		}
	}
	for (int i = 0; i < THREADS; i++) {
		if (slots[i].item) {
			if (r == 0)
				r = dura_vack_empty(t, slots[i].item->token, DURA_OK);
			dura_vrelease(t, slots[i].item);
		}
		if (slots[i].witem) {
			if (r == 0)
				r = dura_vack_work(t, slots[i].witem->token, NULL, DURA_OK);
			dura_vrelease_work(t, slots[i].witem);
		}
	}
	return r;
}

static int lost_race_returns_other_work(struct dura_vctx *t)
{
	struct shared sh;
	shared_init(&sh, t);
	int r = 0;
	for (int round = 1; r == 0 && round <= 5; round++) {
		struct dura_message msgs[THREADS];
		char names[THREADS][24];
		for (int i = 0; i < THREADS; i++) {
			snprintf(names[i], sizeof names[i], "race-%d-%d", round, i);
			msgs[i] = (struct dura_message){ names[i], dura_vstr("go"), 0 };
		}
		r = dura_venqueue_msgs(t, msgs, THREADS);
		if (r == 0)
			r = race_round(t, &sh, 0, round);
	}
	for (int round = 1; r == 0 && round <= 5; round++) {
		const char *bodies[THREADS];
		char b[THREADS][24];
		for (int i = 0; i < THREADS; i++) {
			snprintf(b[i], sizeof b[i], "race %d.%d", round, i);
			bodies[i] = b[i];
		}
		r = dura_vseed_work(t, "race-seed", bodies, THREADS, 0);
		if (r == 0)
			r = race_round(t, &sh, 1, round);
	}
	pthread_mutex_destroy(&sh.mu);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

/* Long poll: a fetch waiting in another thread while work arrives. */
struct poller {
	struct shared *sh;
	int work;
	uint32_t wait_ms;
	int r;
	uint64_t returned_at;
	char reason[DURA_VREASON_MAX];
	char instance[64];
};

static void *poll_fetcher(void *arg)
{
	struct poller *p = arg;
	struct dura_vctx t = *p->sh->t;
	if (p->work) {
		struct dura_work_item *w = NULL;
		p->r = dura_vfetch_work(&t, DURA_VLOCK_MS, p->wait_ms, DURA_OK, &w);
		if (w) {
			snprintf(p->instance, sizeof p->instance, "%s", w->instance);
			dura_vrelease_work(&t, w);
		}
	} else {
		struct dura_orch_item *it = NULL;
		p->r = dura_vfetch(&t, DURA_VLOCK_MS, p->wait_ms, DURA_OK, &it);
		if (it) {
			snprintf(p->instance, sizeof p->instance, "%s", it->instance);
			dura_vrelease(&t, it);
		}
	}
	p->returned_at = dura_now_ms();
	if (p->r != 0)
		snprintf(p->reason, sizeof p->reason, "%s", t.reason);
	return NULL;
}

static int long_poll_wakes(struct dura_vctx *t, int work)
{
	struct shared sh;
	shared_init(&sh, t);
	struct poller p = { &sh, work, 10000, 0, 0, "", "" };
	pthread_t th;
	uint64_t t0 = dura_now_ms();
	if (pthread_create(&th, NULL, poll_fetcher, &p) != 0)
		return dura_vfail(t, "cannot create a thread");
	dura_sleep_ms(400); /* let it start waiting */
	int r;
	if (work) {
		/* Work is produced by an orchestration turn in this thread. */
		r = dura_venqueue(t, "producer", "start", 0);
		struct dura_orch_item *it = NULL;
		if (r == 0)
			r = dura_vfetch_instance(t, DURA_VLOCK_MS, "producer", 1, &it);
		if (r == 0) {
			struct dura_message w = { "producer", dura_vstr("job"), 0 };
			struct dura_orch_ack ack = { .execution = 1, .work_items = &w, .n_work_items = 1 };
			r = dura_vack(t, it->token, &ack, DURA_OK);
			dura_vrelease(t, it);
		}
	} else {
		r = dura_venqueue(t, "arrival", "start", 0);
	}
	uint64_t produced_at = dura_now_ms();
	pthread_join(th, NULL);
	pthread_mutex_destroy(&sh.mu);
	if (r != 0)
		return DURA_VFAIL;
	const char *op = work ? "fetch_work_item" : "fetch_orchestration_item";
	const char *want = work ? "producer" : "arrival";
	if (p.r != 0 && strstr(p.reason, "returned EMPTY, expected OK"))
		return dura_vfail(t, "%s(wait_ms 10000) returned EMPTY after %llu ms although %s arrived "
		                  "after 400 ms: it does not long-poll (see \"Long poll is required\" in "
		                  "provider.h)", op, (unsigned long long)(p.returned_at - t0),
		                  work ? "a work item" : "a message");
	if (p.r != 0)
		return dura_vfail(t, "%s(wait_ms 10000) waiting while %s arrived: %s", op,
		                  work ? "a work item" : "a message", p.reason);
	VCHECK(t, strcmp(p.instance, want) == 0, "%s returned '%s', expected '%s'", op, p.instance, want);
	VCHECK(t, p.returned_at < t0 + 9000,
	       "%s(wait_ms 10000) returned %llu ms after the work arrived: it did not notice the arrival",
	       op, (unsigned long long)(p.returned_at - produced_at));
	return DURA_VPASS;
}

static int long_poll_wakes_on_enqueue(struct dura_vctx *t)
{
	return long_poll_wakes(t, 0);
}

static int long_poll_wakes_on_work(struct dura_vctx *t)
{
	return long_poll_wakes(t, 1);
}

static int long_poll_idle_returns_empty(struct dura_vctx *t)
{
	const uint32_t wait = 800;
	for (int work = 0; work <= 1; work++) {
		const char *op = work ? "fetch_work_item" : "fetch_orchestration_item";
		uint64_t t0 = dura_now_ms();
		if (work)
			VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, wait, DURA_EMPTY, NULL));
		else
			VTRY(dura_vfetch(t, DURA_VLOCK_MS, wait, DURA_EMPTY, NULL));
		uint64_t el = dura_now_ms() - t0;
		VCHECK(t, el >= wait / 2, "%s(wait_ms %u) on an idle store returned EMPTY after %llu ms: it does not long-poll",
		       op, wait, (unsigned long long)el);
		VCHECK(t, el < wait + 5000, "%s(wait_ms %u) took %llu ms to return EMPTY", op, wait,
		       (unsigned long long)el);
	}
	return DURA_VPASS;
}

const struct dura_vtest dura_vtests_concurrency[] = {
	{ "concurrent_fetchers_exclusive", concurrent_fetchers_exclusive,
	  "6 threads run 24 instances x 4 turns: never one instance twice, every turn once" },
	{ "concurrent_work_exactly_once", concurrent_work_exactly_once,
	  "6 threads process 90 work items: each exactly once, one completion each" },
	{ "lost_race_returns_other_work", lost_race_returns_other_work,
	  "6 simultaneous fetches for 6 eligible items: none gets EMPTY" },
	{ "long_poll_wakes_on_enqueue", long_poll_wakes_on_enqueue,
	  "a waiting orchestration fetch returns the message enqueued by another thread" },
	{ "long_poll_wakes_on_work", long_poll_wakes_on_work,
	  "a waiting work fetch returns the item enqueued by another thread's ack" },
	{ "long_poll_idle_returns_empty", long_poll_idle_returns_empty,
	  "on an idle store a fetch waits about wait_ms, then returns EMPTY" },
	{ NULL, NULL, NULL },
};
