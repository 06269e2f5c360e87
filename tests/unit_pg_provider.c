#include "config.h"

/*
 * Direct tests of the PostgreSQL provider plugin: dlopen the built .so and
 * call its operations against a real server, either $DURA_PG_TEST_URL or a
 * throwaway one started like url = auto.  Skipped (TAP skip_all) when the
 * provider is not built.
 *
 * Checks: options and error messages (unknown option, bad schema,
 * unreachable server with the password masked), every operation, delayed
 * visibility, duplicate-event rollback with the lock kept, lock expiry and
 * stale tokens, abandon with delay, long polling, the combined ack+fetch
 * operations, 8 concurrent fetcher threads (each instance processed exactly
 * once, never by two threads at a time), the batch work operations (FIFO,
 * max respected, a lost token mid-batch, completions enqueued iff acked,
 * one round trip each, all-or-nothing acks, lock expiry, long poll) and 4
 * threads batching over 200 items (each processed exactly once), no lost
 * wake-ups (idle fetchers woken within half the 1 s safety re-check, by this
 * store and by another connection's NOTIFY, also for a message that arrives
 * while an ack releases its instance lock; idle fetchers do not poll the
 * server), an
 * enqueue whose reply is lost after the commit (its retry stores nothing
 * twice), a killed backend followed by a
 * successful retry with the reconnect counted, and schema drop/keep.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <durabench/provider.h>

#include "services/pgserver.h"
#include "services/proxy.h"
#include "tap.h"
#include "base/url.h"
#include "base/util.h"

static const struct dura_provider_ops *ops;
static const char *url;
static PGconn *admin;

static void msleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static dura_store *open_store(const char *extra_key, const char *extra_val,
                              const char *appname)
{
	struct dura_option o[4] = {
		{ "url", url },
		{ "application_name", appname ? appname : "unit_pg_provider" },
	};
	size_t n = 2;
	if (extra_key)
		o[n++] = (struct dura_option){ extra_key, extra_val };
	dura_store *st = NULL;
	struct dura_err err = { "" };
	dura_rc rc = ops->open(o, n, &st, &err);
	if (rc != DURA_OK)
		tap_diag("open failed: %s", err.msg);
	return st;
}

static int schema_exists(const char *schema)
{
	const char *vals[1] = { schema };
	PGresult *r = PQexecParams(admin, "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
	                           1, NULL, vals, NULL, NULL, 0);
	int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return n;
}

static struct dura_message msg(const char *inst, const char *body, int64_t delay)
{
	return (struct dura_message){ inst, { (const uint8_t *)body, strlen(body) }, delay };
}

static int body_is(struct dura_bytes b, const char *s)
{
	return b.len == strlen(s) && memcmp(b.data, s, b.len) == 0;
}

static void test_options(void)
{
	struct dura_err err = { "" };
	dura_store *st = NULL;
	struct dura_option bad[] = { { "url", url }, { "colour", "blue" } };
	tap_ok(ops->open(bad, 2, &st, &err) == DURA_CONFIG && strstr(err.msg, "colour"),
	       "unknown option refused: %s", err.msg);
	struct dura_option badschema[] = { { "url", url }, { "schema", "Robert'); DROP" } };
	tap_ok(ops->open(badschema, 2, &st, &err) == DURA_CONFIG && strstr(err.msg, "schema"),
	       "invalid schema name refused: %s", err.msg);
	struct dura_option badpool[] = { { "url", url }, { "pool_size", "lots" } };
	tap_ok(ops->open(badpool, 2, &st, &err) == DURA_CONFIG, "bad pool_size refused");
	struct dura_option down[] = {
		{ "url", "postgresql://bob:secretpw@127.0.0.1:1/postgres" },
		{ "connect_timeout", "2s" },
	};
	dura_rc rc = ops->open(down, 2, &st, &err);
	tap_ok((rc == DURA_CONFIG || rc == DURA_RETRY) && strstr(err.msg, "127.0.0.1:1") &&
	       !strstr(err.msg, "secretpw"),
	       "unreachable server named, password masked: %s", err.msg);
	tap_ok(ops->options && ops->options[0].name && strcmp(ops->name, "postgres") == 0,
	       "name and options declared");
}

static void test_basic(void)
{
	dura_store *st = open_store(NULL, NULL, NULL);
	if (!tap_ok(st != NULL, "open"))
		return;
	struct dura_err err = { "" };
	char desc[200];
	ops->describe(st, desc, sizeof desc);
	tap_ok(strstr(desc, "PostgreSQL ") && strstr(desc, "pool_size 10") && strstr(desc, "durabench_"),
	       "describe: %s", desc);
	tap_ok(ops->ping(st, &err) == DURA_OK, "ping");

	/* enqueue: A (two now, one delayed), B */
	struct dura_message m[4] = {
		msg("A", "a1", 0), msg("B", "b1", 0), msg("A", "a2", 0), msg("A", "a3-late", 400),
	};
	tap_ok(ops->enqueue_orchestrator(st, m, 4, &err) == DURA_OK, "enqueue 4 messages");

	struct dura_orch_item *a = NULL, *b = NULL, *none = NULL;
	dura_rc rc = ops->fetch_orchestration_item(st, 30000, 0, &a, &err);
	tap_ok(rc == DURA_OK && a && strcmp(a->instance, "A") == 0 && a->n_messages == 2 &&
	       body_is(a->messages[0].body, "a1") && body_is(a->messages[1].body, "a2") &&
	       a->attempts == 1 && a->execution == 0 && a->n_history == 0 && a->token,
	       "fetch: oldest instance A with its two visible messages in order");
	rc = ops->fetch_orchestration_item(st, 30000, 0, &b, &err);
	tap_ok(rc == DURA_OK && b && strcmp(b->instance, "B") == 0 && b->n_messages == 1 &&
	       b->token != a->token, "fetch: B next (A is locked), new token");
	rc = ops->fetch_orchestration_item(st, 30000, 0, &none, &err);
	tap_ok(rc == DURA_EMPTY && !none, "fetch: nothing else eligible -> EMPTY");

	/* a message that arrives during A's turn survives the ack */
	struct dura_message during = msg("A", "a-during", 0);
	ops->enqueue_orchestrator(st, &during, 1, &err);

	struct dura_event hist[2] = { { 1, { (const uint8_t *)"e1", 2 } },
	                              { 2, { (const uint8_t *)"e2", 2 } } };
	struct dura_message work[2] = { msg("A", "w1", 0), msg("A", "w2", 0) };
	struct dura_message self = msg("A", "timer", 300);
	struct dura_instance_meta meta = { "orchA", DURA_STATUS_RUNNING,
	                                   { (const uint8_t *)"", 0 }, NULL, 1 };
	struct dura_orch_ack ack = { 1, hist, 2, work, 2, &self, 1, &meta };
	tap_ok(ops->ack_orchestration_item(st, a->token, &ack, &err) == DURA_OK, "ack A: %s", err.msg);
	tap_ok(ops->ack_orchestration_item(st, a->token, &ack, &err) == DURA_LOCK_LOST,
	       "second ack with the same token: LOCK_LOST (%s)", err.msg);
	ops->release_orchestration_item(st, a);
	struct dura_orch_ack empty_ack = { 0 };
	tap_ok(ops->ack_orchestration_item(st, b->token, &empty_ack, &err) == DURA_OK, "ack B");
	ops->release_orchestration_item(st, b);

	struct dura_instance_meta *im = NULL;
	rc = ops->instance_status(st, "A", &im, &err);
	tap_ok(rc == DURA_OK && im && strcmp(im->name, "orchA") == 0 &&
	       im->status == DURA_STATUS_RUNNING && im->execution == 1 && im->parent == NULL &&
	       im->output.len == 0, "instance_status A");
	ops->release_instance_status(st, im);
	im = NULL;
	tap_ok(ops->instance_status(st, "nobody", &im, &err) == DURA_EMPTY && !im,
	       "instance_status of unknown instance: EMPTY");
	struct dura_history *h = NULL;
	rc = ops->read_history(st, "A", 1, &h, &err);
	tap_ok(rc == DURA_OK && h && h->n_events == 2 && h->events[0].event_id == 1 &&
	       body_is(h->events[1].body, "e2"), "read_history A/1");
	ops->release_history(st, h);
	h = NULL;
	rc = ops->read_history(st, "A", 7, &h, &err);
	tap_ok(rc == DURA_OK && h && h->n_events == 0, "read_history of unknown execution: empty");
	ops->release_history(st, h);

	/* A again: the message that arrived during the turn, with history */
	rc = ops->fetch_orchestration_item(st, 30000, 0, &a, &err);
	tap_ok(rc == DURA_OK && strcmp(a->instance, "A") == 0 && a->n_messages == 1 &&
	       body_is(a->messages[0].body, "a-during") && a->execution == 1 && a->n_history == 2,
	       "message enqueued during the turn survived; history returned");

	/* duplicate event id: whole ack rolls back, lock kept */
	struct dura_event dup[2] = { { 3, { (const uint8_t *)"e3", 2 } },
	                             { 1, { (const uint8_t *)"dup", 3 } } };
	struct dura_message w3 = msg("A", "w3", 0);
	struct dura_orch_ack bad = { 1, dup, 2, &w3, 1, NULL, 0, NULL };
	rc = ops->ack_orchestration_item(st, a->token, &bad, &err);
	tap_ok(rc == DURA_PERMANENT, "duplicate event id: PERMANENT (%s)", err.msg);
	tap_ok(ops->renew_orchestration_lock(st, a->token, 30000, &err) == DURA_OK,
	       "lock still held after the rolled back ack");
	rc = ops->read_history(st, "A", 1, &h, &err);
	tap_ok(rc == DURA_OK && h->n_events == 2, "history unchanged after rollback");
	ops->release_history(st, h);

	/* work items FIFO (w3 must not exist) */
	struct dura_work_item *w = NULL;
	rc = ops->fetch_work_item(st, 30000, 0, &w, &err);
	tap_ok(rc == DURA_OK && body_is(w->body, "w1") && strcmp(w->instance, "A") == 0 &&
	       w->attempts == 1, "fetch work: w1 first");
	struct dura_work_item *w2 = NULL;
	rc = ops->fetch_work_item(st, 30000, 0, &w2, &err);
	tap_ok(rc == DURA_OK && body_is(w2->body, "w2"), "fetch work: w2 second");
	struct dura_work_item *w_none = NULL;
	tap_ok(ops->fetch_work_item(st, 30000, 0, &w_none, &err) == DURA_EMPTY,
	       "no third work item (rolled back ack left nothing)");
	struct dura_message done1 = msg("A", "done1", 0);
	tap_ok(ops->ack_work_item(st, w->token, &done1, &err) == DURA_OK, "ack work w1 with completion");
	tap_ok(ops->ack_work_item(st, w->token, &done1, &err) == DURA_LOCK_LOST, "ack w1 again: LOCK_LOST");
	tap_ok(ops->renew_work_lock(st, w2->token, 30000, &err) == DURA_OK, "renew w2");
	tap_ok(ops->abandon_work_item(st, w2->token, 0, &err) == DURA_OK, "abandon w2");
	ops->release_work_item(st, w);
	ops->release_work_item(st, w2);
	rc = ops->fetch_work_item(st, 30000, 0, &w2, &err);
	tap_ok(rc == DURA_OK && body_is(w2->body, "w2") && w2->attempts == 2,
	       "abandoned w2 redelivered with attempts 2");
	/* combined ack + fetch: nothing left -> next NULL */
	struct dura_work_item *wn = (struct dura_work_item *)1;
	struct dura_message done2 = msg("A", "done2", 0);
	rc = ops->ack_work_item_and_fetch(st, w2->token, &done2, 30000, &wn, &err);
	tap_ok(rc == DURA_OK && wn == NULL, "ack_work_item_and_fetch: acked, nothing next");
	ops->release_work_item(st, w2);

	/* ack A with combined fetch: A's completions are waiting -> A again */
	struct dura_event e3 = { 3, { (const uint8_t *)"e3", 2 } };
	struct dura_orch_ack ok3 = { 1, &e3, 1, NULL, 0, NULL, 0, &meta };
	struct dura_orch_item *next = NULL;
	rc = ops->ack_orchestration_item_and_fetch(st, a->token, &ok3, 30000, &next, &err);
	tap_ok(rc == DURA_OK && next && strcmp(next->instance, "A") == 0 && next->n_messages == 2 &&
	       body_is(next->messages[0].body, "done1") && next->n_history == 3,
	       "ack_orchestration_item_and_fetch returns A's completions (%s)", err.msg);
	ops->release_orchestration_item(st, a);

	/* abandon with delay */
	rc = ops->abandon_orchestration_item(st, next->token, 300, &err);
	tap_ok(rc == DURA_OK, "abandon with 300 ms delay");
	ops->release_orchestration_item(st, next);
	struct dura_orch_item *x = NULL;
	tap_ok(ops->fetch_orchestration_item(st, 30000, 0, &x, &err) == DURA_EMPTY,
	       "abandoned messages invisible during the delay (the timer too)");
	/* long poll: the abandoned messages, the timer and a3-late become
	 * visible over the next 400 ms; collect them all */
	int got_done1 = 0, got_late = 0, polls = 0, all_ok = 1;
	uint32_t done1_attempts = 0;
	while ((!got_done1 || !got_late) && polls++ < 10) {
		rc = ops->fetch_orchestration_item(st, 30000, 3000, &x, &err);
		if (rc != DURA_OK) {
			all_ok = 0;
			break;
		}
		for (size_t i = 0; i < x->n_messages; i++) {
			if (body_is(x->messages[i].body, "done1")) {
				got_done1 = 1;
				done1_attempts = x->messages[i].attempts;
			}
			if (body_is(x->messages[i].body, "a3-late"))
				got_late = 1;
		}
		struct dura_orch_ack nothing = { 1, NULL, 0, NULL, 0, NULL, 0, NULL };
		if (ops->ack_orchestration_item(st, x->token, &nothing, &err) != DURA_OK)
			all_ok = 0;
		ops->release_orchestration_item(st, x);
		x = NULL;
	}
	tap_ok(all_ok && got_done1 && got_late && done1_attempts == 2,
	       "long polls wake for delayed visibility; abandoned message redelivered "
	       "with attempts %u", done1_attempts);
	/* lock expiry */
	struct dura_orch_item *y = NULL, *z = NULL;
	struct dura_orch_ack nothing = { 1, NULL, 0, NULL, 0, NULL, 0, NULL };
	struct dura_message c1 = msg("C", "c1", 0);
	ops->enqueue_orchestrator(st, &c1, 1, &err);
	rc = ops->fetch_orchestration_item(st, 200, 0, &y, &err);
	tap_ok(rc == DURA_OK && strcmp(y->instance, "C") == 0, "fetch C with a 200 ms lock");
	tap_ok(ops->fetch_orchestration_item(st, 30000, 0, &z, &err) == DURA_EMPTY,
	       "C locked: EMPTY");
	msleep(350);
	tap_ok(ops->renew_orchestration_lock(st, y->token, 1000, &err) == DURA_LOCK_LOST,
	       "renew after expiry: LOCK_LOST");
	rc = ops->fetch_orchestration_item(st, 30000, 0, &z, &err);
	tap_ok(rc == DURA_OK && strcmp(z->instance, "C") == 0 && z->attempts == 2 &&
	       z->token != y->token, "expired lock: C refetched with attempts 2");
	tap_ok(ops->ack_orchestration_item(st, y->token, &nothing, &err) == DURA_LOCK_LOST,
	       "ack with the expired token: LOCK_LOST");
	tap_ok(ops->ack_orchestration_item(st, z->token, &nothing, &err) == DURA_OK,
	       "ack with the new token");
	ops->release_orchestration_item(st, y);
	ops->release_orchestration_item(st, z);
	tap_ok(ops->abandon_orchestration_item(st, 123456789, 0, &err) == DURA_LOCK_LOST,
	       "abandon with an unknown token: LOCK_LOST");
	tap_ok(ops->abandon_work_item(st, 123456789, 0, &err) == DURA_LOCK_LOST,
	       "abandon work with an unknown token: LOCK_LOST");

	struct dura_stats s = { .struct_size = sizeof s };
	ops->stats(st, &s);
	tap_ok(s.round_trips > 20 && s.commits > 10 && s.empty_fetches >= 3,
	       "stats: %llu round trips, %llu commits, %llu empty",
	       (unsigned long long)s.round_trips, (unsigned long long)s.commits,
	       (unsigned long long)s.empty_fetches);
	char schema[80];
	const char *p = strstr(desc, "schema ");
	snprintf(schema, sizeof schema, "%s", p ? p + 7 : "?");
	tap_ok(schema_exists(schema) == 1, "schema %s exists while open", schema);
	tap_ok(ops->close(st, 1, &err) == DURA_OK, "close(drop)");
	tap_ok(schema_exists(schema) == 0, "schema dropped at close");
}

/* ---- long poll woken by another thread ---- */

struct poller {
	dura_store *st;
	dura_rc rc;
	struct dura_work_item *item;
};

static void *poll_work(void *arg)
{
	struct poller *p = arg;
	struct dura_err err;
	p->rc = ops->fetch_work_item(p->st, 30000, 5000, &p->item, &err);
	return NULL;
}

static void test_long_poll(void)
{
	dura_store *st = open_store(NULL, NULL, NULL);
	if (!st)
		return;
	struct dura_err err;
	struct poller p = { st, DURA_CONFIG, NULL };
	pthread_t t;
	pthread_create(&t, NULL, poll_work, &p);
	msleep(200);
	struct dura_orch_item *o = NULL;
	struct dura_message start = msg("L", "start", 0);
	ops->enqueue_orchestrator(st, &start, 1, &err);
	ops->fetch_orchestration_item(st, 30000, 1000, &o, &err);
	struct dura_message w = msg("L", "work", 0);
	struct dura_orch_ack ack = { 1, NULL, 0, &w, 1, NULL, 0, NULL };
	if (o)
		ops->ack_orchestration_item(st, o->token, &ack, &err);
	ops->release_orchestration_item(st, o);
	pthread_join(t, NULL);
	tap_ok(p.rc == DURA_OK && p.item && body_is(p.item->body, "work"),
	       "a waiting work fetcher is woken by an ack that creates work");
	ops->release_work_item(st, p.item);
	ops->close(st, 1, &err);
}

/* ---- 8 threads ---- */

#define N_INST 200
#define N_THREADS 8

struct conc {
	dura_store *st;
	atomic_int busy[N_INST];    /* being processed by an orchestration turn */
	atomic_int turns[N_INST];
	atomic_int works[N_INST];
	atomic_int double_lock;
	atomic_int failures;
	atomic_int done;            /* completed instances */
};

/* The fetch of a worker loop returned rc: 1 if it handed out an item; an
 * empty fetch counts as idle, anything else as a failure. */
static int fetched(struct conc *c, dura_rc rc, int *idle)
{
	if (rc == DURA_OK)
		return 1;
	if (rc == DURA_EMPTY)
		(*idle)++;
	else
		atomic_fetch_add(&c->failures, 1);
	return 0;
}

static void *orch_thread(void *arg)
{
	struct conc *c = arg;
	struct dura_err err;
	struct dura_orch_item *it = NULL;
	int idle = 0;
	while (atomic_load(&c->done) < N_INST && idle < 50) {
		if (!it && !fetched(c, ops->fetch_orchestration_item(c->st, 30000, 100, &it, &err),
		                    &idle))
			continue;
		idle = 0;
		int i = atoi(it->instance + 1);
		if (atomic_fetch_add(&c->busy[i], 1) != 0)
			atomic_fetch_add(&c->double_lock, 1);
		int turn = atomic_fetch_add(&c->turns[i], 1);
		struct dura_orch_ack ack = { 1, NULL, 0, NULL, 0, NULL, 0, NULL };
		struct dura_event ev = { (uint64_t)turn + 1, { (const uint8_t *)"ev", 2 } };
		struct dura_message w = msg(it->instance, "job", 0);
		ack.history = &ev;
		ack.n_history = 1;
		if (turn == 0) {
			ack.work_items = &w;
			ack.n_work_items = 1;
		} else {
			atomic_fetch_add(&c->done, 1);
		}
		atomic_fetch_sub(&c->busy[i], 1);
		struct dura_orch_item *next = NULL;
		dura_rc rc = ops->ack_orchestration_item_and_fetch(c->st, it->token, &ack, 30000,
		                                                    &next, &err);
		if (rc != DURA_OK)
			atomic_fetch_add(&c->failures, 1);
		ops->release_orchestration_item(c->st, it);
		it = next;
	}
	ops->release_orchestration_item(c->st, it);
	return NULL;
}

static void *work_thread(void *arg)
{
	struct conc *c = arg;
	struct dura_err err;
	struct dura_work_item *it = NULL;
	int idle = 0;
	while (atomic_load(&c->done) < N_INST && idle < 50) {
		if (!it && !fetched(c, ops->fetch_work_item(c->st, 30000, 100, &it, &err), &idle))
			continue;
		idle = 0;
		int i = atoi(it->instance + 1);
		atomic_fetch_add(&c->works[i], 1);
		struct dura_message done = msg(it->instance, "done", 0);
		struct dura_work_item *next = NULL;
		if (ops->ack_work_item_and_fetch(c->st, it->token, &done, 30000, &next, &err) != DURA_OK)
			atomic_fetch_add(&c->failures, 1);
		ops->release_work_item(c->st, it);
		it = next;
	}
	ops->release_work_item(c->st, it);
	return NULL;
}

static void test_concurrency(void)
{
	dura_store *st = open_store(NULL, NULL, NULL);
	if (!st)
		return;
	struct dura_err err;
	struct conc *c = calloc(1, sizeof *c);
	c->st = st;
	static char names[N_INST][8];
	struct dura_message m[N_INST];
	for (int i = 0; i < N_INST; i++) {
		snprintf(names[i], sizeof names[i], "i%d", i);
		m[i] = msg(names[i], "start", 0);
	}
	tap_ok(ops->enqueue_orchestrator(st, m, N_INST, &err) == DURA_OK, "enqueue %d starts", N_INST);
	pthread_t t[2 * N_THREADS];
	for (int i = 0; i < N_THREADS; i++) {
		pthread_create(&t[i], NULL, orch_thread, c);
		pthread_create(&t[N_THREADS + i], NULL, work_thread, c);
	}
	for (int i = 0; i < 2 * N_THREADS; i++)
		pthread_join(t[i], NULL);
	int bad_turns = 0, bad_works = 0;
	for (int i = 0; i < N_INST; i++) {
		bad_turns += c->turns[i] != 2;
		bad_works += c->works[i] != 1;
	}
	tap_ok(atomic_load(&c->done) == N_INST && bad_turns == 0 && bad_works == 0,
	       "%d threads x2: every instance exactly 2 turns and 1 activity (bad turns %d, bad works %d)",
	       N_THREADS, bad_turns, bad_works);
	tap_ok(atomic_load(&c->double_lock) == 0, "no instance processed by two threads at once");
	tap_ok(atomic_load(&c->failures) == 0, "no failed operation");
	struct dura_history *h = NULL;
	ops->read_history(st, "i7", 1, &h, &err);
	tap_ok(h && h->n_events == 2, "history of i7 has both turns");
	ops->release_history(st, h);
	struct dura_stats s = { .struct_size = sizeof s };
	ops->stats(st, &s);
	tap_diag("concurrency stats: round trips %llu, commits %llu, empty %llu, conflicts %llu "
	         "(%.1f round trips per instance)",
	         (unsigned long long)s.round_trips, (unsigned long long)s.commits,
	         (unsigned long long)s.empty_fetches, (unsigned long long)s.lock_conflicts,
	         (double)s.round_trips / N_INST);
	ops->close(st, 1, &err);
	free(c);
}

/* ---- batch work operations ---- */

static const char *schema_of(dura_store *st, char *buf, size_t len)
{
	char desc[200];
	ops->describe(st, desc, sizeof desc);
	const char *p = strstr(desc, "schema ");
	snprintf(buf, len, "%s", p ? p + 7 : "?");
	return buf;
}

/* SELECT what FROM <the store's schema>.table [WHERE cond] on the admin
 * connection: one integer, -1 on error. */
static long long store_count(dura_store *st, const char *what, const char *table,
                             const char *cond)
{
	char schema[80], sql[512];
	schema_of(st, schema, sizeof schema);
	snprintf(sql, sizeof sql, "SELECT %s FROM %s.%s%s%s", what, schema, table,
	         cond ? " WHERE " : "", cond ? cond : "");
	PGresult *r = PQexec(admin, sql);
	long long v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
	              ? atoll(PQgetvalue(r, 0, 0)) : -1;
	if (v < 0)
		tap_diag("%s: %s", sql, PQerrorMessage(admin));
	PQclear(r);
	return v;
}

static uint64_t round_trips(dura_store *st)
{
	struct dura_stats s = { .struct_size = sizeof s };
	ops->stats(st, &s);
	return s.round_trips;
}

/* Puts work items with the given bodies (and delays) on the worker queue
 * through one orchestration turn of instance `inst`. */
static int make_work(dura_store *st, const char *inst, char (*bodies)[8], const int64_t *delays,
                     size_t n)
{
	struct dura_err err;
	struct dura_message start = msg(inst, "start", 0);
	if (ops->enqueue_orchestrator(st, &start, 1, &err) != DURA_OK)
		return 0;
	struct dura_orch_item *o = NULL;
	if (ops->fetch_orchestration_item(st, 30000, 0, &o, &err) != DURA_OK)
		return 0;
	struct dura_message *w = calloc(n, sizeof *w);
	for (size_t i = 0; i < n; i++)
		w[i] = msg(inst, bodies[i], delays ? delays[i] : 0);
	struct dura_orch_ack ack = { 1, NULL, 0, w, n, NULL, 0, NULL };
	dura_rc rc = ops->ack_orchestration_item(st, o->token, &ack, &err);
	ops->release_orchestration_item(st, o);
	free(w);
	return rc == DURA_OK;
}

static void release_items(dura_store *st, struct dura_work_item **items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ops->release_work_item(st, items[i]);
		items[i] = NULL;
	}
}

static void test_batch(void)
{
	dura_store *st = open_store(NULL, NULL, NULL);
	if (!tap_ok(st != NULL, "batch: open"))
		return;
	tap_ok(ops->fetch_work_items && ops->ack_work_items_and_fetch,
	       "batch operations offered");
	struct dura_err err = { "" };
	struct dura_work_item *it[8] = { 0 };
	size_t n = 99;
	dura_rc rc = ops->fetch_work_items(st, 30000, 0, 4, it, &n, &err);
	tap_ok(rc == DURA_EMPTY && n == 0, "fetch_work_items on an empty queue: EMPTY, 0 items");

	char bodies[6][8] = { "w0", "w1", "w2", "w3", "w4", "w5" };
	tap_ok(make_work(st, "B", bodies, NULL, 6), "6 work items queued");

	uint64_t rt0 = round_trips(st);
	rc = ops->fetch_work_items(st, 30000, 0, 4, it, &n, &err);
	int fifo = rc == DURA_OK && n == 4;
	for (size_t i = 0; fifo && i < n; i++)
		fifo = body_is(it[i]->body, bodies[i]) && strcmp(it[i]->instance, "B") == 0 &&
		       it[i]->attempts == 1 && it[i]->token != 0;
	tap_ok(fifo, "fetch_work_items(max 4): w0..w3 in queue order, attempts 1 (rc %d, n %zu)",
	       (int)rc, n);
	tap_ok(round_trips(st) - rt0 == 1, "the batch fetch took one round trip");
	int distinct = 1;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			distinct &= it[i]->token != it[j]->token;
	tap_ok(distinct, "each item has its own token");
	/* each token works with the single-item operations too */
	tap_ok(ops->renew_work_lock(st, it[2]->token, 30000, &err) == DURA_OK,
	       "renew_work_lock on a batch-fetched item");

	/* ack 5 slots: w0 (completion to C0), w1 lost (abandoned first), a
	 * bogus token, w2 (no completion), w3 (completion to C3); fetch up to
	 * 3 more: w4, w5, then the abandoned w1 (attempts 2) */
	tap_ok(ops->abandon_work_item(st, it[1]->token, 0, &err) == DURA_OK, "abandon w1");
	uint64_t tokens[5] = { it[0]->token, it[1]->token, 987654321, it[2]->token, it[3]->token };
	struct dura_message comp[5] = {
		msg("C0", "done0", 0), msg("C1", "done1", 0), msg("Cx", "bogus", 0),
		{ NULL, { NULL, 0 }, 0 }, msg("C3", "done3", 0),
	};
	dura_rc results[5] = { DURA_CONFIG, DURA_CONFIG, DURA_CONFIG, DURA_CONFIG, DURA_CONFIG };
	struct dura_work_item *next[4] = { 0 };
	size_t n_next = 99;
	rt0 = round_trips(st);
	rc = ops->ack_work_items_and_fetch(st, 5, tokens, comp, results, 30000, 3, next, &n_next,
	                                   &err);
	tap_ok(rc == DURA_OK, "ack_work_items_and_fetch with a lost token mid-batch: OK %s",
	       rc == DURA_OK ? "" : err.msg);
	tap_ok(round_trips(st) - rt0 == 1, "the batch ack + fetch took one round trip");
	tap_ok(results[0] == DURA_OK && results[1] == DURA_LOCK_LOST &&
	       results[2] == DURA_LOCK_LOST && results[3] == DURA_OK && results[4] == DURA_OK,
	       "per-item results: OK, LOCK_LOST, LOCK_LOST, OK, OK (%d %d %d %d %d)",
	       results[0], results[1], results[2], results[3], results[4]);
	tap_ok(n_next == 3 && body_is(next[0]->body, "w4") && body_is(next[1]->body, "w5") &&
	       body_is(next[2]->body, "w1") && next[2]->attempts == 2 && next[0]->attempts == 1,
	       "fetch part after the acks: w4, w5, then the abandoned w1 with attempts 2");
	tap_ok(store_count(st, "count(*)", "orch_queue", "instance IN ('C0', 'C3')") == 2 &&
	       store_count(st, "count(*)", "orch_queue", "instance IN ('C1', 'Cx')") == 0 &&
	       store_count(st, "count(*)", "orch_queue", NULL) == 2,
	       "completions enqueued exactly for the acked items that carry one");
	tap_ok(store_count(st, "count(*)", "work_queue", NULL) == 3,
	       "acked items deleted, 3 left (locked by the fetch part)");
	release_items(st, it, 4);

	/* an error in the middle of the call applies no ack at all: w4 has a
	 * good completion, w5's delay overflows the server's interval range */
	uint64_t t2[2] = { next[0]->token, next[1]->token };
	struct dura_message c2[2] = { msg("D4", "done4", 0), msg("D5", "done5", INT64_MAX) };
	dura_rc r2[2];
	size_t n2 = 99;
	struct dura_work_item *more[2] = { 0 };
	rc = ops->ack_work_items_and_fetch(st, 2, t2, c2, r2, 30000, 2, more, &n2, &err);
	tap_ok(rc != DURA_OK && rc != DURA_RETRY && n2 == 0,
	       "a failing item fails the whole call (rc %d: %s)", (int)rc, err.msg);
	tap_ok(ops->renew_work_lock(st, next[0]->token, 30000, &err) == DURA_OK &&
	       store_count(st, "count(*)", "orch_queue", "instance = 'D4'") == 0,
	       "... and applied none of its acks (w4 still locked, no completion)");

	/* acks without fetching (max_next 0), w1's completion delayed */
	uint64_t t3[3] = { next[0]->token, next[1]->token, next[2]->token };
	struct dura_message c3[3] = { msg("E", "e4", 0), msg("E", "e5", 0), msg("E", "e1", 60000) };
	dura_rc r3[3];
	size_t n3 = 99;
	rc = ops->ack_work_items_and_fetch(st, 3, t3, c3, r3, 30000, 0, NULL, &n3, &err);
	tap_ok(rc == DURA_OK && n3 == 0 && r3[0] == DURA_OK && r3[1] == DURA_OK && r3[2] == DURA_OK,
	       "ack 3 without fetching");
	tap_ok(store_count(st, "count(*)", "orch_queue", "instance = 'E'") == 3 &&
	       store_count(st, "count(*)", "work_queue", NULL) == 0,
	       "their completions enqueued, the worker queue empty");
	struct dura_orch_item *o = NULL;
	int order_ok = 1, seen = 0;
	while (ops->fetch_orchestration_item(st, 30000, 0, &o, &err) == DURA_OK) {
		if (strcmp(o->instance, "E") == 0)
			order_ok = o->n_messages == 2 && body_is(o->messages[0].body, "e4") &&
			           body_is(o->messages[1].body, "e5");
		seen++;
		struct dura_orch_ack nothing = { 1, NULL, 0, NULL, 0, NULL, 0, NULL };
		ops->ack_orchestration_item(st, o->token, &nothing, &err);
		ops->release_orchestration_item(st, o);
		o = NULL;
	}
	tap_ok(order_ok && seen == 3, "completions visible in ack order, the delayed one not yet "
	       "(%d instances)", seen);
	release_items(st, next, 3);

	/* ack of nothing + fetch = a fetch; lock expiry on the server clock */
	char b2[3][8] = { "x0", "x1", "x2" };
	make_work(st, "X", b2, NULL, 3);
	rc = ops->ack_work_items_and_fetch(st, 0, NULL, NULL, NULL, 200, 8, next, &n_next, &err);
	tap_ok(rc == DURA_OK && n_next == 3, "ack of nothing with max_next 8: fetches the 3 items");
	msleep(350);
	uint64_t t4[3] = { next[0]->token, next[1]->token, next[2]->token };
	struct dura_message c4[3] = { msg("Y", "y", 0), msg("Y", "y", 0), msg("Y", "y", 0) };
	dura_rc r4[3];
	rc = ops->ack_work_items_and_fetch(st, 3, t4, c4, r4, 30000, 2, it, &n, &err);
	tap_ok(rc == DURA_OK && r4[0] == DURA_LOCK_LOST && r4[1] == DURA_LOCK_LOST &&
	       r4[2] == DURA_LOCK_LOST, "acks after the 200 ms locks expired: all LOCK_LOST");
	tap_ok(n == 2 && body_is(it[0]->body, "x0") && it[0]->attempts == 2 &&
	       body_is(it[1]->body, "x1") &&
	       store_count(st, "count(*)", "orch_queue", "instance = 'Y'") == 0,
	       "expired items refetched in order with attempts 2 (max 2 respected), no completion");
	release_items(st, next, 3);
	uint64_t t5[2] = { it[0]->token, it[1]->token };
	dura_rc r5[2];
	ops->ack_work_items_and_fetch(st, 2, t5, NULL, r5, 30000, 0, NULL, &n_next, &err);
	release_items(st, it, n);
	rc = ops->fetch_work_items(st, 30000, 0, 8, it, &n, &err);
	tap_ok(rc == DURA_OK && n == 1 && body_is(it[0]->body, "x2"), "last item left");
	uint64_t t6 = it[0]->token;
	ops->ack_work_items_and_fetch(st, 1, &t6, NULL, r5, 30000, 0, NULL, &n_next, &err);
	release_items(st, it, n);

	/* long poll for a delayed item */
	char b3[1][8] = { "late" };
	int64_t d3 = 300;
	make_work(st, "L", b3, &d3, 1);
	rc = ops->fetch_work_items(st, 30000, 0, 4, it, &n, &err);
	tap_ok(rc == DURA_EMPTY && n == 0, "delayed item invisible at first");
	rc = ops->fetch_work_items(st, 30000, 3000, 4, it, &n, &err);
	tap_ok(rc == DURA_OK && n == 1 && body_is(it[0]->body, "late"),
	       "fetch_work_items long poll wakes when the delayed item becomes visible");
	release_items(st, it, n);
	ops->close(st, 1, &err);
}

/* ---- 4 threads batching over 200 items ---- */

#define N_BATCH_ITEMS 200
#define N_BATCH_THREADS 4
#define BATCH 5

struct batch_conc {
	dura_store *st;
	atomic_int processed[N_BATCH_ITEMS];
	atomic_int total;
	atomic_int lost;
	atomic_int failures;
};

/* k of a body "j<k>" (bodies are not NUL-terminated); -1 if malformed */
static int body_index(struct dura_bytes b)
{
	if (b.len < 2 || b.len > 6 || b.data[0] != 'j')
		return -1;
	int k = 0;
	for (size_t i = 1; i < b.len; i++) {
		if (b.data[i] < '0' || b.data[i] > '9')
			return -1;
		k = k * 10 + (b.data[i] - '0');
	}
	return k;
}

static void *batch_thread(void *arg)
{
	struct batch_conc *c = arg;
	struct dura_err err;
	struct dura_work_item *cur[BATCH] = { 0 }, *next[BATCH] = { 0 };
	size_t n = 0;
	int idle = 0;
	while (atomic_load(&c->total) < N_BATCH_ITEMS && idle < 30) {
		if (n == 0) {
			dura_rc rc = ops->fetch_work_items(c->st, 30000, 100, BATCH, cur, &n, &err);
			if (rc == DURA_EMPTY) {
				idle++;
				continue;
			}
			if (rc != DURA_OK) {
				atomic_fetch_add(&c->failures, 1);
				continue;
			}
		}
		idle = 0;
		uint64_t tokens[BATCH];
		struct dura_message comp[BATCH];
		dura_rc results[BATCH];
		for (size_t i = 0; i < n; i++) {
			int k = body_index(cur[i]->body);
			if (k >= 0 && k < N_BATCH_ITEMS)
				atomic_fetch_add(&c->processed[k], 1);
			tokens[i] = cur[i]->token;
			comp[i] = (struct dura_message){ "R", cur[i]->body, 0 };
		}
		size_t n_next = 0;
		if (ops->ack_work_items_and_fetch(c->st, n, tokens, comp, results, 30000, BATCH,
		                                  next, &n_next, &err) != DURA_OK) {
			atomic_fetch_add(&c->failures, 1);
		} else {
			for (size_t i = 0; i < n; i++) {
				if (results[i] == DURA_OK)
					atomic_fetch_add(&c->total, 1);
				else
					atomic_fetch_add(&c->lost, 1);
			}
		}
		release_items(c->st, cur, n);
		memcpy(cur, next, sizeof cur);
		memset(next, 0, sizeof next);
		n = n_next;
	}
	release_items(c->st, cur, n);
	return NULL;
}

static void test_batch_concurrency(void)
{
	dura_store *st = open_store(NULL, NULL, NULL);
	if (!st)
		return;
	struct dura_err err;
	static char bodies[N_BATCH_ITEMS][8];
	for (int i = 0; i < N_BATCH_ITEMS; i++)
		snprintf(bodies[i], sizeof bodies[i], "j%d", i);
	tap_ok(make_work(st, "P", bodies, NULL, N_BATCH_ITEMS), "%d work items queued",
	       N_BATCH_ITEMS);
	struct batch_conc *c = calloc(1, sizeof *c);
	c->st = st;
	uint64_t rt0 = round_trips(st);
	pthread_t t[N_BATCH_THREADS];
	for (int i = 0; i < N_BATCH_THREADS; i++)
		pthread_create(&t[i], NULL, batch_thread, c);
	for (int i = 0; i < N_BATCH_THREADS; i++)
		pthread_join(t[i], NULL);
	uint64_t used = round_trips(st) - rt0;
	int bad = 0;
	for (int i = 0; i < N_BATCH_ITEMS; i++)
		bad += atomic_load(&c->processed[i]) != 1;
	tap_ok(bad == 0 && atomic_load(&c->total) == N_BATCH_ITEMS,
	       "%d threads batching by %d: each of %d items processed exactly once "
	       "(%d not once, %d acked)", N_BATCH_THREADS, BATCH, N_BATCH_ITEMS, bad,
	       atomic_load(&c->total));
	tap_ok(atomic_load(&c->lost) == 0 && atomic_load(&c->failures) == 0,
	       "no lost lock, no failed call (%d lost, %d failures)", atomic_load(&c->lost),
	       atomic_load(&c->failures));
	tap_ok(store_count(st, "count(*)", "orch_queue", "instance = 'R'") ==
	               N_BATCH_ITEMS &&
	       store_count(st, "count(DISTINCT body)", "orch_queue", "instance = 'R'") ==
	               N_BATCH_ITEMS &&
	       store_count(st, "count(*)", "work_queue", NULL) == 0,
	       "one completion per item, worker queue empty");
	tap_diag("batch concurrency: %llu round trips for %d items",
	         (unsigned long long)used, N_BATCH_ITEMS);
	ops->close(st, 1, &err);
	free(c);
}

/* ---- a commit whose reply is lost: the enqueue idempotency key ---- */

struct enq_call {
	dura_store *st;
	struct dura_message m;
	dura_rc rc;
	struct dura_err err;
};

static void *enqueue_thread(void *arg)
{
	struct enq_call *c = arg;
	c->rc = ops->enqueue_orchestrator(c->st, &c->m, 1, &c->err);
	return NULL;
}

/* Through the delay proxy, an enqueue is sent with a 2 s round trip added
 * (a second each way) and the proxy is stopped as soon as the server has
 * committed it (seen through the direct connection): the reply is lost on
 * its way back, so the call fails with RETRY although its messages are
 * stored.  Waiting for the commit rather than a fixed time keeps a loaded
 * machine from stopping the proxy before the request got through (the
 * call then never committed) or after the reply did.  The caller's retry
 * with the same messages must not store them twice. */
static void test_uncertain_commit(void)
{
	char host[256], perr[256] = "";
	int port;
	if (dura_url_endpoint(url, host, sizeof host, &port, perr, sizeof perr) != 0) {
		tap_ok(0, "endpoint of the test server: %s", perr);
		return;
	}
	struct dura_proxy_config pc = { .listen_host = "127.0.0.1", .target_host = host,
	                                .target_port = port, .rtt_us = 300000 };
	struct dura_proxy *px = NULL;
	if (!tap_ok(dura_proxy_start(&pc, &px, perr, sizeof perr) == 0, "delay proxy started %s",
	            perr))
		return;
	pc.listen_port = dura_proxy_port(px);
	char *purl = dura_url_rewrite(url, "127.0.0.1", pc.listen_port, perr, sizeof perr);
	struct dura_option o[] = { { "url", purl }, { "application_name", "unit_pg_uncertain" } };
	dura_store *st = NULL;
	struct dura_err err;
	if (!tap_ok(purl && ops->open(o, 2, &st, &err) == DURA_OK, "open through the proxy")) {
		dura_proxy_stop(px);
		free(purl);
		return;
	}
	ops->ping(st, &err); /* a warm pooled connection */
	struct enq_call c = { st, msg("U", "once", 0), DURA_CONFIG, { "" } };
	dura_proxy_set_extra_rtt(px, 2000000);
	pthread_t t;
	pthread_create(&t, NULL, enqueue_thread, &c);
	for (int i = 0; i < 2000 && store_count(st, "count(*)", "orch_queue", "instance = 'U'") < 1;
	     i++)
		msleep(5);
	dura_proxy_stop(px);
	pthread_join(t, NULL);
	tap_ok(c.rc == DURA_RETRY, "enqueue whose reply was lost: RETRY (%s)", c.err.msg);
	tap_ok(store_count(st, "count(*)", "orch_queue", "instance = 'U'") == 1,
	       "... although it committed");
	px = NULL;
	if (dura_proxy_start(&pc, &px, perr, sizeof perr) != 0)
		tap_diag("proxy restart: %s", perr);
	dura_rc rc = DURA_RETRY;
	for (int i = 0; i < 20 && rc == DURA_RETRY; i++) {
		rc = ops->enqueue_orchestrator(st, &c.m, 1, &err);
		if (rc == DURA_RETRY)
			msleep(100);
	}
	tap_ok(rc == DURA_OK && store_count(st, "count(*)", "orch_queue", "instance = 'U'") == 1,
	       "the caller's retry with the same message is a no-op (rc %d)", (int)rc);
	rc = ops->enqueue_orchestrator(st, &c.m, 1, &err);
	tap_ok(rc == DURA_OK && store_count(st, "count(*)", "orch_queue", "instance = 'U'") == 2,
	       "a later call with the same message enqueues it again");
	ops->close(st, 1, &err);
	dura_proxy_stop(px);
	free(purl);
}

/* ---- no lost wake-ups ----
 *
 * While the queue is "known empty" an idle long poll does not query the
 * server; only a wake-up (local, or a NOTIFY from another connection) or
 * the safety re-check (1 s) makes it look again.  A lost wake-up therefore
 * shows as a message fetched about a second late.  The bound below is half
 * the safety interval: generous for a loaded machine, yet a lost wake-up
 * cannot pass it. */

#define WAKE_BOUND_MS 500
#define WAKE_ROUNDS 30
#define WAKE_FETCHERS 3

/* Empty ack: releases the instance lock, creates nothing. */
static dura_rc ack_nothing(dura_store *st, struct dura_orch_item *it)
{
	struct dura_err err;
	struct dura_orch_ack ack = { 1, NULL, 0, NULL, 0, NULL, 0, NULL };
	return ops->ack_orchestration_item(st, it->token, &ack, &err);
}

struct wake_ctx {
	dura_store *st;
	atomic_int stop;
	atomic_int got_round;             /* round of the last fetched message */
	atomic_uint_fast64_t got_ns;      /* when it was fetched */
	atomic_int failures;
};

/* An idle dispatcher as the runtime runs it: 100 ms long polls in a loop;
 * each message fetched is recorded and acked. */
static void *wake_fetcher(void *arg)
{
	struct wake_ctx *c = arg;
	struct dura_err err;
	while (!atomic_load(&c->stop)) {
		struct dura_orch_item *it = NULL;
		dura_rc rc = ops->fetch_orchestration_item(c->st, 30000, 100, &it, &err);
		if (rc == DURA_EMPTY)
			continue;
		if (rc != DURA_OK) {
			atomic_fetch_add(&c->failures, 1);
			msleep(10);
			continue;
		}
		atomic_store(&c->got_ns, dura_now_ns());
		atomic_store(&c->got_round, atoi(it->instance + 1));
		if (ack_nothing(c->st, it) != DURA_OK)
			atomic_fetch_add(&c->failures, 1);
		ops->release_orchestration_item(c->st, it);
	}
	return NULL;
}

/* Another client of the schema (its own connection, search_path set to the
 * schema as the provider's connections have it, so dura_enqueue NOTIFYs the
 * schema's channel): it can only wake our fetchers by NOTIFY. */
static PGconn *connect_elsewhere(dura_store *st)
{
	char schema[80], sql[128];
	schema_of(st, schema, sizeof schema);
	PGconn *conn = PQconnectdb(url);
	snprintf(sql, sizeof sql, "SET search_path = %s", schema);
	PQclear(PQexec(conn, sql));
	return conn;
}

static int enqueue_elsewhere(PGconn *conn, const char *inst, int64_t key)
{
	char keys[32];
	snprintf(keys, sizeof keys, "%lld", (long long)key);
	const char *vals[2] = { keys, inst };
	PGresult *r = PQexecParams(conn,
	                           "SELECT dura_enqueue($1::bigint, ARRAY[$2::text], "
	                           "ARRAY['x'::bytea], ARRAY[0::bigint], true)",
	                           2, NULL, vals, NULL, NULL, 0);
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		tap_diag("enqueue from another connection: %s", PQerrorMessage(conn));
	PQclear(r);
	return ok;
}

static void test_no_lost_wakeup_rounds(dura_store *st)
{
	struct wake_ctx *c = calloc(1, sizeof *c);
	c->st = st;
	atomic_store(&c->got_round, -1);
	PGconn *other = connect_elsewhere(st);
	pthread_t t[WAKE_FETCHERS];
	for (int i = 0; i < WAKE_FETCHERS; i++)
		pthread_create(&t[i], NULL, wake_fetcher, c);
	struct dura_err err;
	uint64_t worst = 0;
	int late = 0, lost = 0;
	for (int r = 0; r < WAKE_ROUNDS; r++) {
		/* idle long enough for the fetchers to settle on "known empty"
		 * (varied, so the enqueue lands at different points of a poll) */
		msleep(20 + (unsigned)(r * 7) % 40);
		char inst[16];
		snprintf(inst, sizeof inst, "w%d", r);
		uint64_t t0 = dura_now_ns();
		int ok;
		if (r % 2 == 0) {
			struct dura_message m = msg(inst, "x", 0);
			ok = ops->enqueue_orchestrator(st, &m, 1, &err) == DURA_OK;
		} else {
			ok = enqueue_elsewhere(other, inst, (int64_t)(dura_rand64() >> 1));
		}
		if (!ok) {
			lost++;
			continue;
		}
		while (atomic_load(&c->got_round) != r && dura_now_ns() - t0 < 3000000000ull)
			msleep(1);
		if (atomic_load(&c->got_round) != r) {
			lost++;
			continue;
		}
		uint64_t ms = (atomic_load(&c->got_ns) - t0) / 1000000ull;
		if (ms > worst)
			worst = ms;
		if (ms >= WAKE_BOUND_MS) {
			late++;
			tap_diag("round %d (%s): fetched after %llu ms", r,
			         r % 2 ? "another connection" : "this store", (unsigned long long)ms);
		}
	}
	/* idle dispatchers must not hammer the server: with 100 ms polls, 3
	 * fetchers that queried every poll would make ~30 round trips here */
	msleep(300);
	uint64_t rt0 = round_trips(st);
	msleep(1000);
	uint64_t idle_rt = round_trips(st) - rt0;
	atomic_store(&c->stop, 1);
	for (int i = 0; i < WAKE_FETCHERS; i++)
		pthread_join(t[i], NULL);
	PQfinish(other);
	tap_ok(lost == 0 && late == 0 && atomic_load(&c->failures) == 0,
	       "idle fetchers woken for each of %d messages (this store / another connection) "
	       "within %d ms: late %d, lost %d, worst %llu ms", WAKE_ROUNDS, WAKE_BOUND_MS, late,
	       lost, (unsigned long long)worst);
	tap_ok(idle_rt <= 3 * WAKE_FETCHERS + 3,
	       "%d idle fetchers: %llu round trips in 1 s (no busy polling)", WAKE_FETCHERS,
	       (unsigned long long)idle_rt);
	free(c);
}

/* The lost wake-up at an instance lock release.  A message for instance X
 * arrives while a dispatcher D holds X, after D's ack checked for such
 * messages but before it committed; a fetcher F then sees the message
 * blocked by D's lock and notes the queue empty.  D's commit makes the
 * message fetchable; unless the release itself wakes F, nothing does.
 * Made deterministic by holding D's ack_and_fetch between those points: its
 * fetch part takes instance Y (expired lock, message visible) and then
 * needs the row lock of Y's message, to tag it, that the admin connection
 * holds. */

struct held_ack {
	dura_store *st;
	uint64_t token;
	dura_rc rc;
	struct dura_orch_item *next;
	uint64_t done_ns;
};

static void *held_ack_fetch(void *arg)
{
	struct held_ack *h = arg;
	struct dura_err err;
	struct dura_orch_ack ack = { 1, NULL, 0, NULL, 0, NULL, 0, NULL };
	h->rc = ops->ack_orchestration_item_and_fetch(h->st, h->token, &ack, 30000, &h->next, &err);
	h->done_ns = dura_now_ns();
	return NULL;
}

struct long_fetch {
	dura_store *st;
	dura_rc rc;
	struct dura_orch_item *it;
	uint64_t got_ns;
};

static void *long_fetch(void *arg)
{
	struct long_fetch *f = arg;
	struct dura_err err;
	uint64_t end = dura_now_ns() + 5000000000ull;
	do
		f->rc = ops->fetch_orchestration_item(f->st, 30000, 100, &f->it, &err);
	while (f->rc == DURA_EMPTY && dura_now_ns() < end);
	f->got_ns = dura_now_ns();
	return NULL;
}

/* Number of lock waits the server shows (another connection). */
static int lock_waits(PGconn *conn)
{
	PGresult *r = PQexec(conn, "SELECT count(*) FROM pg_locks WHERE NOT granted");
	int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return n;
}

static int release_race_round(dura_store *st, PGconn *admin2, int round, uint64_t *ms)
{
	struct dura_err err;
	char x[16], y[16], schema[80], sql[256];
	snprintf(x, sizeof x, "X%d", round);
	snprintf(y, sizeof y, "Y%d", round);
	schema_of(st, schema, sizeof schema);
	*ms = 0;
	/* D holds X; Y's message is visible again behind an expired lock */
	struct dura_message mx = msg(x, "x1", 0), my = msg(y, "y", 0), mx2 = msg(x, "x2", 0);
	struct dura_orch_item *ix = NULL, *iy = NULL;
	if (ops->enqueue_orchestrator(st, &mx, 1, &err) != DURA_OK ||
	    ops->fetch_orchestration_item(st, 30000, 0, &ix, &err) != DURA_OK ||
	    strcmp(ix->instance, x) != 0 ||
	    ops->enqueue_orchestrator(st, &my, 1, &err) != DURA_OK ||
	    ops->fetch_orchestration_item(st, 1, 0, &iy, &err) != DURA_OK ||
	    strcmp(iy->instance, y) != 0) {
		tap_diag("release race: setup failed: %s", err.msg);
		ops->release_orchestration_item(st, ix);
		ops->release_orchestration_item(st, iy);
		return 0;
	}
	ops->release_orchestration_item(st, iy);
	msleep(20);
	PQclear(PQexec(admin, "BEGIN"));
	snprintf(sql, sizeof sql, "SELECT 1 FROM %s.orch_queue WHERE instance = $1 FOR UPDATE",
	         schema);
	const char *vals[1] = { y };
	PQclear(PQexecParams(admin, sql, 1, NULL, vals, NULL, NULL, 0));
	struct held_ack d = { st, ix->token, DURA_CONFIG, NULL, 0 };
	ops->release_orchestration_item(st, ix);
	pthread_t td, tf;
	pthread_create(&td, NULL, held_ack_fetch, &d);
	uint64_t t0 = dura_now_ns();
	while (lock_waits(admin2) < 1 && dura_now_ns() - t0 < 3000000000ull)
		msleep(2);
	int held = lock_waits(admin2) >= 1;
	/* the message for X: committed, visible, but X is still locked */
	dura_rc erc = ops->enqueue_orchestrator(st, &mx2, 1, &err);
	struct long_fetch f = { st, DURA_CONFIG, NULL, 0 };
	pthread_create(&tf, NULL, long_fetch, &f);
	msleep(100); /* F fetches nothing (X locked, Y being taken) and waits */
	PQclear(PQexec(admin, "COMMIT"));
	pthread_join(td, NULL);
	pthread_join(tf, NULL);
	int ok = held && erc == DURA_OK && d.rc == DURA_OK && d.next &&
	         strcmp(d.next->instance, y) == 0 && f.rc == DURA_OK && f.it &&
	         strcmp(f.it->instance, x) == 0;
	if (!ok)
		tap_diag("release race round %d: held %d, enqueue rc %d, D rc %d next %s, F rc %d got %s",
		         round, held, (int)erc, (int)d.rc, d.next ? d.next->instance : "-", (int)f.rc,
		         f.it ? f.it->instance : "-");
	else
		*ms = f.got_ns > d.done_ns ? (f.got_ns - d.done_ns) / 1000000ull : 0;
	if (d.next) {
		ack_nothing(st, d.next);
		ops->release_orchestration_item(st, d.next);
	}
	if (f.it) {
		ack_nothing(st, f.it);
		ops->release_orchestration_item(st, f.it);
	}
	return ok;
}

static void test_no_lost_wakeup_release(dura_store *st)
{
	PGconn *admin2 = PQconnectdb(url);
	int ok = 0, late = 0;
	uint64_t worst = 0;
	const int rounds = 3;
	for (int r = 0; r < rounds; r++) {
		uint64_t ms;
		if (!release_race_round(st, admin2, r, &ms))
			continue;
		ok++;
		if (ms > worst)
			worst = ms;
		if (ms >= WAKE_BOUND_MS) {
			late++;
			tap_diag("release race round %d: X fetched %llu ms after D's commit", r,
			         (unsigned long long)ms);
		}
	}
	tap_ok(ok == rounds, "release race staged %d/%d times (D held mid-ack, F saw X locked)",
	       ok, rounds);
	tap_ok(ok > 0 && late == 0,
	       "a message that arrived during an ack is fetched once the ack commits, within "
	       "%d ms (worst %llu ms)", WAKE_BOUND_MS, (unsigned long long)worst);
	PQfinish(admin2);
}

static void test_no_lost_wakeup(void)
{
	dura_store *st = open_store(NULL, NULL, NULL);
	if (!tap_ok(st != NULL, "wake-ups: open"))
		return;
	struct dura_err err;
	test_no_lost_wakeup_release(st);
	test_no_lost_wakeup_rounds(st);
	ops->close(st, 1, &err);
}

/* ---- killed backends ---- */

static int kill_backends(const char *appname)
{
	const char *vals[1] = { appname };
	PGresult *r = PQexecParams(admin,
	                           "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
	                           "WHERE application_name = $1",
	                           1, NULL, vals, NULL, NULL, 0);
	int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return n;
}

static void test_killed_backend(void)
{
	const char *app = "unit_pg_kill";
	dura_store *st = open_store(NULL, NULL, app);
	if (!st)
		return;
	struct dura_err err;
	tap_ok(ops->ping(st, &err) == DURA_OK, "ping before the kill");
	int n = kill_backends(app);
	tap_ok(n >= 2, "terminated %d backends (pool + listener)", n);
	msleep(200);
	struct dura_message m = msg("K", "k1", 0);
	dura_rc rc = DURA_RETRY;
	int tries = 0;
	while (rc == DURA_RETRY && tries++ < 5)
		rc = ops->enqueue_orchestrator(st, &m, 1, &err);
	tap_ok(rc == DURA_OK, "enqueue succeeds after the kill (%d tries)", tries);
	struct dura_orch_item *it = NULL;
	rc = ops->fetch_orchestration_item(st, 30000, 0, &it, &err);
	tap_ok(rc == DURA_OK && it && body_is(it->messages[0].body, "k1"), "fetch after the kill");
	ops->release_orchestration_item(st, it);
	/* kill in the middle of use, then retry as a caller would */
	kill_backends(app);
	rc = ops->ping(st, &err);
	int retried = 0;
	while (rc == DURA_RETRY && retried++ < 5)
		rc = ops->ping(st, &err);
	tap_ok(rc == DURA_OK, "ping after a second kill (%d caller retries)", retried);
	msleep(800); /* the listener reconnects after its back-off */
	struct dura_stats s = { .struct_size = sizeof s };
	ops->stats(st, &s);
	tap_ok(s.reconnects >= 2, "reconnects counted: %llu (retries %llu)",
	       (unsigned long long)s.reconnects, (unsigned long long)s.retries);
	ops->close(st, 1, &err);
}

static void test_keep(void)
{
	dura_store *st = open_store("schema", "dura_unit_keep", NULL);
	struct dura_err err;
	dura_store *st2 = open_store("schema", "dura_unit_keep", NULL);
	tap_ok(st && !st2, "an existing schema is refused");
	if (st)
		ops->close(st, 1, &err);
	tap_ok(schema_exists("dura_unit_keep") == 0, "given schema dropped");
	struct dura_option o[] = { { "url", url }, { "schema", "dura_unit_keep" }, { "keep", "true" } };
	st = NULL;
	dura_rc rc = ops->open(o, 3, &st, &err);
	if (st)
		ops->close(st, 1, &err);
	tap_ok(rc == DURA_OK && schema_exists("dura_unit_keep") == 1, "keep = true keeps the schema");
	/* attaching checks the store's layout: the kept store is attached, one
	 * whose format comment is missing (a store of a durabench from before
	 * the format comment) or another is refused, naming the store */
	rc = ops->attach(o, 1, "dura_unit_keep", &st, &err);
	tap_ok(rc == DURA_OK, "the kept store is attached: %s", rc == DURA_OK ? "" : err.msg);
	if (rc == DURA_OK)
		ops->close(st, 0, &err);
	PQclear(PQexec(admin, "COMMENT ON SCHEMA dura_unit_keep IS NULL"));
	st = NULL;
	rc = ops->attach(o, 1, "dura_unit_keep", &st, &err);
	tap_ok(rc == DURA_CONFIG && !st && strstr(err.msg, "dura_unit_keep") &&
	       strstr(err.msg, "older or unknown layout"),
	       "a store of another layout is refused: %s", err.msg);
	if (st)
		ops->close(st, 0, &err);
	PQclear(PQexec(admin, "DROP SCHEMA dura_unit_keep CASCADE"));
}

int main(int argc, char **argv)
{
	const char *with = getenv("DURA_WITH_POSTGRES");
	if (with && strcmp(with, "0") == 0) {
		printf("1..0 # SKIP PostgreSQL provider not built\n");
		return 0;
	}
	char path[4096];
	const char *bd = getenv("top_builddir");
	if (argc > 1)
		snprintf(path, sizeof path, "%s", argv[1]);
	else
		snprintf(path, sizeof path, "%s/plugins/postgres/.libs/postgres.so", bd ? bd : ".");
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("not ok 1 - dlopen %s: %s\n1..1\n", path, dlerror());
		return 1;
	}
	dura_provider_entry_fn *entry =
		(dura_provider_entry_fn *)dlsym(h, DURA_PROVIDER_ENTRY_SYMBOL);
	ops = entry ? entry() : NULL;
	if (!tap_ok(ops && ops->abi_major == DURA_ABI_MAJOR, "entry point"))
		return tap_done();

	struct dura_pgserver *srv = NULL;
	url = getenv("DURA_PG_TEST_URL");
	if (!url) {
		char err[1024];
		if (dura_pgserver_start(NULL, &srv, err, sizeof err) != 0) {
			printf("1..0 # SKIP cannot start a PostgreSQL server: %s\n", err);
			return 0;
		}
		url = dura_pgserver_url(srv);
	}
	admin = PQconnectdb(url);
	PQclear(PQexec(admin, "SET client_min_messages = warning"));
	if (!tap_ok(PQstatus(admin) == CONNECTION_OK, "admin connection")) {
		dura_pgserver_stop(srv);
		return tap_done();
	}
	test_options();
	test_basic();
	test_long_poll();
	test_concurrency();
	test_batch();
	test_batch_concurrency();
	test_no_lost_wakeup();
	test_killed_backend();
	test_uncertain_commit();
	test_keep();
	PQfinish(admin);
	dura_pgserver_stop(srv);
	dlclose(h);
	return tap_done();
}
