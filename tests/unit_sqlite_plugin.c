/*
 * Smoke test of the SQLite provider plugin, through dlopen like the core:
 * every operation, the lock/tag/ack rules, the duplicate-event rollback,
 * lock expiry, delayed visibility, long polls woken by another thread,
 * several threads processing concurrently, file databases, and the batch
 * work operations (fetch_work_items, ack_work_items_and_fetch).  The full
 * contract suite is `durabench validate`; this one keeps the plugin honest
 * on its own.  With DURA_SQLITE_BENCH=N it also times N fetch+ack pairs.
 */
#include "config.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <durabench/provider.h>

#include "tap.h"

static const struct dura_provider_ops *P;

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static struct dura_bytes B(const char *s)
{
	struct dura_bytes b = { (const uint8_t *)s, strlen(s) };
	return b;
}

static int body_is(struct dura_bytes b, const char *s)
{
	return b.len == strlen(s) && memcmp(b.data, s, b.len) == 0;
}

static dura_store *open_store(const char *db)
{
	struct dura_option o[] = { { "database", db } };
	struct dura_err err = { "" };
	dura_store *s = NULL;
	dura_rc rc = P->open(o, db ? 1 : 0, &s, &err);
	if (rc != DURA_OK)
		tap_diag("open %s: %d %s", db ? db : "(default)", rc, err.msg);
	return s;
}

static dura_rc enqueue1(dura_store *s, const char *inst, const char *body, int64_t delay)
{
	struct dura_message m = { inst, B(body), delay };
	struct dura_err err;
	return P->enqueue_orchestrator(s, &m, 1, &err);
}

static void test_options(void)
{
	struct dura_err err = { "" };
	dura_store *s = NULL;
	struct dura_option bad_key[] = { { "databse", ":memory:" } };
	tap_ok(P->open(bad_key, 1, &s, &err) == DURA_CONFIG && !s &&
	       strstr(err.msg, "databse"), "unknown option refused: %s", err.msg);
	struct dura_option bad_sync[] = { { "synchronous", "SOMETIMES" } };
	tap_ok(P->open(bad_sync, 1, &s, &err) == DURA_CONFIG && strstr(err.msg, "synchronous"),
	       "bad synchronous refused: %s", err.msg);
	struct dura_option bad_busy[] = { { "busy_timeout", "soon" } };
	tap_ok(P->open(bad_busy, 1, &s, &err) == DURA_CONFIG, "bad busy_timeout refused");
	struct dura_option twice[] = { { "database", ":memory:" }, { "database", ":memory:" } };
	tap_ok(P->open(twice, 2, &s, &err) == DURA_CONFIG, "duplicate option refused");
	struct dura_option good[] = { { "synchronous", "full" }, { "busy_timeout", "2s" } };
	tap_ok(P->open(good, 2, &s, &err) == DURA_OK && s, "valid options accepted");
	char desc[128] = "";
	P->describe(s, desc, sizeof desc);
	tap_ok(strncmp(desc, "SQLite 3.", 9) == 0 && strstr(desc, ":memory:"),
	       "describe: %s", desc);
	P->close(s, 1, &err);
}

static void test_orchestration(void)
{
	dura_store *s = open_store(NULL);
	struct dura_err err = { "" };
	struct dura_orch_item *a = NULL, *b = NULL, *x = NULL;
	if (!s)
		return;

	struct dura_message start[] = {
		{ "a", B("a1"), 0 }, { "b", B("b1"), 0 }, { "a", B("a2"), 0 },
	};
	tap_ok(P->enqueue_orchestrator(s, start, 3, &err) == DURA_OK, "enqueue 3 messages");
	tap_ok(P->fetch_orchestration_item(s, 30000, 0, &a, &err) == DURA_OK &&
	       strcmp(a->instance, "a") == 0 && a->n_messages == 2 &&
	       body_is(a->messages[0].body, "a1") && body_is(a->messages[1].body, "a2") &&
	       a->messages[0].attempts == 1 && a->attempts == 1 && a->execution == 0 &&
	       a->n_history == 0 && a->token != 0,
	       "fetch picks the oldest instance with all its messages in order");
	tap_ok(P->fetch_orchestration_item(s, 30000, 0, &b, &err) == DURA_OK &&
	       strcmp(b->instance, "b") == 0 && b->token != a->token,
	       "second fetch skips the locked instance");
	tap_ok(P->fetch_orchestration_item(s, 30000, 0, &x, &err) == DURA_EMPTY && !x,
	       "third fetch is empty");
	tap_ok(enqueue1(s, "a", "a3", 0) == DURA_OK, "message arrives during a's turn");
	tap_ok(P->fetch_orchestration_item(s, 30000, 0, &x, &err) == DURA_EMPTY,
	       "locked instance with a new message stays unfetchable");

	struct dura_event ev[] = { { 1, B("e1") }, { 2, B("e2") } };
	struct dura_message work[] = { { "a", B("w1"), 0 }, { "a", B("w2"), 0 } };
	struct dura_instance_meta meta = { "orch", DURA_STATUS_RUNNING, B(""), NULL, 1 };
	struct dura_orch_ack ack = { 1, ev, 2, work, 2, NULL, 0, &meta };
	tap_ok(P->ack_orchestration_item(s, a->token, &ack, &err) == DURA_OK, "ack a");
	tap_ok(P->ack_orchestration_item(s, a->token, &ack, &err) == DURA_LOCK_LOST,
	       "second ack with the same token: LOCK_LOST");
	tap_ok(P->ack_orchestration_item(s, 12345, &ack, &err) == DURA_LOCK_LOST,
	       "bogus token: LOCK_LOST (%s)", err.msg);
	uint64_t old_token = a->token;
	P->release_orchestration_item(s, a);
	a = NULL;

	tap_ok(P->fetch_orchestration_item(s, 30000, 0, &a, &err) == DURA_OK &&
	       strcmp(a->instance, "a") == 0 && a->n_messages == 1 &&
	       body_is(a->messages[0].body, "a3") && a->execution == 1 &&
	       a->n_history == 2 && a->history[0].event_id == 1 &&
	       body_is(a->history[1].body, "e2") && a->token != old_token,
	       "message that arrived during the turn survived; history returned");

	/* Duplicate event id: everything rolls back and the lock stays. */
	struct dura_event dup[] = { { 3, B("e3") }, { 2, B("dup") } };
	struct dura_message more_work[] = { { "a", B("w3"), 0 } };
	struct dura_message orch_out[] = { { "c", B("c1"), 0 } };
	struct dura_instance_meta done = { "orch", DURA_STATUS_COMPLETED, B("out"), NULL, 1 };
	struct dura_orch_ack bad = { 1, dup, 2, more_work, 1, orch_out, 1, &done };
	tap_ok(P->ack_orchestration_item(s, a->token, &bad, &err) == DURA_PERMANENT,
	       "duplicate event id: PERMANENT (%s)", err.msg);
	tap_ok(P->renew_orchestration_lock(s, a->token, 30000, &err) == DURA_OK,
	       "lock still held after the failed ack");
	tap_ok(P->fetch_orchestration_item(s, 30000, 0, &x, &err) == DURA_EMPTY,
	       "rolled-back orchestrator item was not enqueued (b still locked)");
	struct dura_instance_meta *m = NULL;
	tap_ok(P->instance_status(s, "a", &m, &err) == DURA_OK &&
	       m->status == DURA_STATUS_RUNNING && strcmp(m->name, "orch") == 0 &&
	       m->parent == NULL && m->execution == 1 && m->output.len == 0,
	       "metadata unchanged by the failed ack");
	P->release_instance_status(s, m);
	struct dura_history *h = NULL;
	tap_ok(P->read_history(s, "a", 1, &h, &err) == DURA_OK && h->n_events == 2,
	       "history unchanged by the failed ack");
	P->release_history(s, h);

	struct dura_orch_ack good = { 1, dup, 1, more_work, 1, orch_out, 1, &done };
	tap_ok(P->ack_orchestration_item(s, a->token, &good, &err) == DURA_OK,
	       "corrected ack succeeds");
	P->release_orchestration_item(s, a);
	tap_ok(P->instance_status(s, "a", &m, &err) == DURA_OK &&
	       m->status == DURA_STATUS_COMPLETED && body_is(m->output, "out"),
	       "metadata upserted");
	P->release_instance_status(s, m);
	tap_ok(P->read_history(s, "a", 1, &h, &err) == DURA_OK && h->n_events == 3 &&
	       h->events[2].event_id == 3, "history appended");
	P->release_history(s, h);
	tap_ok(P->read_history(s, "nobody", 1, &h, &err) == DURA_OK && h->n_events == 0,
	       "read_history of an unknown instance: OK, no events");
	P->release_history(s, h);
	tap_ok(P->instance_status(s, "nobody", &m, &err) == DURA_EMPTY && !m,
	       "instance_status of an unknown instance: EMPTY");

	/* Instance "c" has messages but no metadata: fetch and ack it away. */
	tap_ok(P->fetch_orchestration_item(s, 30000, 0, &x, &err) == DURA_OK &&
	       strcmp(x->instance, "c") == 0 && x->execution == 0,
	       "instance without metadata is fetchable");
	struct dura_orch_ack empty = { 0 };
	tap_ok(P->ack_orchestration_item(s, x->token, &empty, &err) == DURA_OK,
	       "and can be acked away");
	P->release_orchestration_item(s, x);

	/* Abandon b with a delay: invisible, then visible through a long poll
	 * that must wake for the delay by itself. */
	tap_ok(P->abandon_orchestration_item(s, b->token, 400, &err) == DURA_OK, "abandon b");
	tap_ok(P->abandon_orchestration_item(s, b->token, 0, &err) == DURA_LOCK_LOST,
	       "abandon twice: LOCK_LOST");
	P->release_orchestration_item(s, b);
	tap_ok(P->fetch_orchestration_item(s, 30000, 0, &x, &err) == DURA_EMPTY,
	       "abandoned messages invisible during the delay");
	tap_ok(P->fetch_orchestration_item(s, 30000, 5000, &x, &err) == DURA_OK &&
	       strcmp(x->instance, "b") == 0 && x->attempts == 2,
	       "long poll returns b after the delay, attempts 2");

	/* Lock expiry. */
	uint64_t t = x->token;
	P->release_orchestration_item(s, x);
	tap_ok(P->renew_orchestration_lock(s, t, 50, &err) == DURA_OK, "renew to 50 ms");
	sleep_ms(80);
	tap_ok(P->renew_orchestration_lock(s, t, 1000, &err) == DURA_LOCK_LOST,
	       "renew after expiry: LOCK_LOST");
	tap_ok(P->ack_orchestration_item(s, t, &empty, &err) == DURA_LOCK_LOST,
	       "ack after expiry: LOCK_LOST");
	tap_ok(P->fetch_orchestration_item(s, 30000, 0, &x, &err) == DURA_OK &&
	       strcmp(x->instance, "b") == 0 && x->attempts == 3 && x->token != t,
	       "expired lock: instance fetchable again, attempts 3");
	tap_ok(P->ack_orchestration_item(s, t, &empty, &err) == DURA_LOCK_LOST,
	       "old token still rejected after refetch");

	/* ack_orchestration_item_and_fetch */
	tap_ok(enqueue1(s, "d", "d1", 0) == DURA_OK, "enqueue d");
	struct dura_orch_item *next = NULL;
	tap_ok(P->ack_orchestration_item_and_fetch(s, x->token, &empty, 30000, &next, &err) ==
	       DURA_OK && next && strcmp(next->instance, "d") == 0,
	       "ack_orchestration_item_and_fetch returns the next item");
	P->release_orchestration_item(s, x);
	x = NULL;
	tap_ok(P->ack_orchestration_item_and_fetch(s, next->token, &empty, 30000, &x, &err) ==
	       DURA_OK && !x, "and NULL when nothing is left");
	P->release_orchestration_item(s, next);

	struct dura_stats st = { .struct_size = sizeof st };
	dura_rc src = P->stats(s, &st);
	tap_ok(src == DURA_OK && st.round_trips > 20 && st.commits > 5 &&
	       st.empty_fetches >= 4, "stats: %" PRIu64 " ops, %" PRIu64 " commits, %"
	       PRIu64 " empty", st.round_trips, st.commits, st.empty_fetches);
	tap_ok(P->close(s, 1, &err) == DURA_OK, "close");
}

static void test_work(void)
{
	dura_store *s = open_store(":memory:");
	struct dura_err err = { "" };
	struct dura_orch_item *o = NULL;
	struct dura_work_item *w1 = NULL, *w2 = NULL, *w = NULL;
	if (!s)
		return;
	enqueue1(s, "i", "start", 0);
	P->fetch_orchestration_item(s, 30000, 0, &o, &err);
	struct dura_message work[] = {
		{ "i", B("w1"), 0 }, { "i", B("w2"), 0 }, { "i", B("w3"), 0 }, { "i", B("late"), 800 },
	};
	struct dura_orch_ack ack = { 1, NULL, 0, work, 4, NULL, 0, NULL };
	tap_ok(o && P->ack_orchestration_item(s, o->token, &ack, &err) == DURA_OK,
	       "ack enqueues 4 work items");
	P->release_orchestration_item(s, o);

	tap_ok(P->fetch_work_item(s, 30000, 0, &w1, &err) == DURA_OK && body_is(w1->body, "w1") &&
	       strcmp(w1->instance, "i") == 0 && w1->attempts == 1, "FIFO: w1 first");
	tap_ok(P->fetch_work_item(s, 30000, 0, &w2, &err) == DURA_OK && body_is(w2->body, "w2"),
	       "peek-lock: w2 next");
	tap_ok(P->abandon_work_item(s, w1->token, 0, &err) == DURA_OK, "abandon w1");
	tap_ok(P->ack_work_item(s, w1->token, NULL, &err) == DURA_LOCK_LOST,
	       "ack after abandon: LOCK_LOST");
	P->release_work_item(s, w1);
	tap_ok(P->fetch_work_item(s, 30000, 0, &w1, &err) == DURA_OK && body_is(w1->body, "w1") &&
	       w1->attempts == 2, "abandoned w1 comes back first, attempts 2");
	struct dura_message done = { "i", B("completed"), 0 };
	tap_ok(P->ack_work_item(s, w2->token, &done, &err) == DURA_OK, "ack w2 with completion");
	tap_ok(P->ack_work_item(s, w2->token, NULL, &err) == DURA_LOCK_LOST, "ack w2 twice: LOCK_LOST");
	tap_ok(P->fetch_orchestration_item(s, 30000, 0, &o, &err) == DURA_OK &&
	       o->n_messages == 1 && body_is(o->messages[0].body, "completed"),
	       "completion reached the orchestrator queue");
	P->release_orchestration_item(s, o);
	P->release_work_item(s, w2);

	/* lock expiry on a work item */
	tap_ok(P->fetch_work_item(s, 30000, 0, &w, &err) == DURA_OK && body_is(w->body, "w3"),
	       "w3 while w1 is locked");
	tap_ok(P->renew_work_lock(s, w1->token, 40, &err) == DURA_OK, "renew w1 to 40 ms");
	sleep_ms(70);
	tap_ok(P->renew_work_lock(s, w1->token, 1000, &err) == DURA_LOCK_LOST,
	       "renew expired work lock: LOCK_LOST");
	struct dura_work_item *again = NULL;
	tap_ok(P->fetch_work_item(s, 30000, 0, &again, &err) == DURA_OK &&
	       body_is(again->body, "w1") && again->attempts == 3, "expired w1 redelivered, attempts 3");
	tap_ok(P->ack_work_item(s, w1->token, NULL, &err) == DURA_LOCK_LOST,
	       "old w1 token rejected");
	P->release_work_item(s, w1);

	struct dura_work_item *next = NULL;
	tap_ok(P->ack_work_item_and_fetch(s, again->token, NULL, 30000, &next, &err) == DURA_OK &&
	       next == NULL, "ack_and_fetch: delayed item not yet visible");
	P->release_work_item(s, again);
	uint64_t t0 = mono_ms();
	tap_ok(P->fetch_work_item(s, 30000, 3000, &next, &err) == DURA_OK &&
	       body_is(next->body, "late"), "long poll wakes for the delayed item");
	tap_diag("delayed item arrived after %" PRIu64 " ms of long poll", mono_ms() - t0);
	struct dura_work_item *n2 = NULL;
	tap_ok(P->ack_work_item_and_fetch(s, w->token, NULL, 30000, &n2, &err) == DURA_OK && !n2,
	       "ack_work_item_and_fetch on an empty queue");
	P->release_work_item(s, w);
	tap_ok(P->ack_work_item(s, next->token, NULL, &err) == DURA_OK, "ack last item");
	P->release_work_item(s, next);
	P->close(s, 1, &err);
}

/* ---- batch operations: fetch_work_items, ack_work_items_and_fetch ---- */

static void release_all(dura_store *s, struct dura_work_item **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		P->release_work_item(s, v[i]);
		v[i] = NULL;
	}
}

/* Orchestration fetch of instance "i": the bodies of its messages joined
 * by ',' into buf ("" when nothing is there); the item is acked away. */
static void drain_orch(dura_store *s, char *buf, size_t len)
{
	struct dura_err err;
	struct dura_orch_item *o = NULL;
	buf[0] = '\0';
	if (P->fetch_orchestration_item(s, 30000, 0, &o, &err) != DURA_OK)
		return;
	size_t at = 0;
	for (size_t i = 0; i < o->n_messages && at + 1 < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%.*s", i ? "," : "",
		                       (int)o->messages[i].body.len,
		                       (const char *)o->messages[i].body.data);
	struct dura_orch_ack ack = { o->execution ? o->execution : 1, NULL, 0, NULL, 0,
	                             NULL, 0, NULL };
	P->ack_orchestration_item(s, o->token, &ack, &err);
	P->release_orchestration_item(s, o);
}

static void test_work_batch(void)
{
	dura_store *s = open_store(":memory:");
	struct dura_err err = { "" };
	struct dura_orch_item *o = NULL;
	struct dura_work_item *a[8] = { 0 }, *b[8] = { 0 }, *c[8] = { 0 };
	size_t na = 0, nb = 0, nc = 0;
	char text[256];
	if (!s)
		return;
	tap_ok(P->fetch_work_items != NULL && P->ack_work_items_and_fetch != NULL,
	       "batch: the plugin offers both batch operations");
	enqueue1(s, "i", "start", 0);
	P->fetch_orchestration_item(s, 30000, 0, &o, &err);
	struct dura_message work[] = {
		{ "i", B("w0"), 0 }, { "i", B("w1"), 0 }, { "i", B("w2"), 0 }, { "i", B("w3"), 0 },
		{ "i", B("w4"), 0 }, { "i", B("w5"), 0 }, { "i", B("w6"), 0 }, { "i", B("late"), 700 },
	};
	struct dura_orch_ack ack = { 1, NULL, 0, work, 8, NULL, 0, NULL };
	tap_ok(o && P->ack_orchestration_item(s, o->token, &ack, &err) == DURA_OK,
	       "batch: ack enqueues 8 work items (one delayed)");
	P->release_orchestration_item(s, o);

	dura_rc rc = P->fetch_work_items(s, 30000, 0, 3, a, &na, &err);
	tap_ok(rc == DURA_OK && na == 3 && body_is(a[0]->body, "w0") && body_is(a[1]->body, "w1") &&
	       body_is(a[2]->body, "w2") && a[0]->attempts == 1 && a[2]->attempts == 1 &&
	       strcmp(a[1]->instance, "i") == 0 && a[3] == NULL,
	       "fetch_work_items: max_items 3 gives w0,w1,w2 in FIFO order, attempts 1");
	tap_ok(na == 3 && a[0]->token && a[0]->token != a[1]->token &&
	       a[1]->token != a[2]->token && a[0]->token != a[2]->token,
	       "fetch_work_items: one distinct token per item");
	rc = P->fetch_work_items(s, 30000, 0, 8, b, &nb, &err);
	tap_ok(rc == DURA_OK && nb == 4 && body_is(b[0]->body, "w3") && body_is(b[3]->body, "w6"),
	       "fetch_work_items: the next batch skips locked items, stops at invisible ones "
	       "(%zu items)", nb);
	rc = P->fetch_work_items(s, 30000, 0, 4, c, &nc, &err);
	tap_ok(rc == DURA_EMPTY && nc == 0, "fetch_work_items: EMPTY when all are locked");
	tap_ok(P->fetch_work_item(s, 30000, 0, &c[0], &err) == DURA_EMPTY,
	       "batch-locked items are locked for fetch_work_item too");

	/* a lost token in the middle of a batch */
	tap_ok(na == 3 && P->abandon_work_item(s, a[1]->token, 0, &err) == DURA_OK,
	       "abandon w1: its token is lost");
	uint64_t tokens[4] = { a[0]->token, a[1]->token, a[2]->token, 0 };
	struct dura_message comp[3] = {
		{ "i", B("c0"), 0 }, { "i", B("c1"), 0 }, { NULL, B(""), 0 },
	};
	dura_rc res[3] = { DURA_CONFIG, DURA_CONFIG, DURA_CONFIG };
	rc = P->ack_work_items_and_fetch(s, 3, tokens, comp, res, 30000, 2, c, &nc, &err);
	tap_ok(rc == DURA_OK && res[0] == DURA_OK && res[1] == DURA_LOCK_LOST && res[2] == DURA_OK,
	       "ack_work_items_and_fetch: per-item results OK, LOCK_LOST, OK (rc %d: %d %d %d)",
	       rc, res[0], res[1], res[2]);
	tap_ok(nc == 1 && body_is(c[0]->body, "w1") && c[0]->attempts == 2 &&
	       c[0]->token != a[1]->token,
	       "the fetch part returns the abandoned w1 (attempts 2), not more than is visible");
	drain_orch(s, text, sizeof text);
	tap_ok(strcmp(text, "c0") == 0,
	       "completions enqueued iff acked: only c0 reached the orchestrator (got '%s')", text);
	tap_ok(P->ack_work_item(s, a[0]->token, NULL, &err) == DURA_LOCK_LOST &&
	       P->ack_work_item(s, a[2]->token, NULL, &err) == DURA_LOCK_LOST,
	       "acked items are gone: their tokens are used up");
	release_all(s, a, na);

	/* duplicate token within one call; no fetch asked */
	uint64_t dup[2] = { b[0]->token, b[0]->token };
	struct dura_message dcomp[2] = { { "i", B("d0"), 0 }, { "i", B("d1"), 0 } };
	dura_rc dres[2] = { DURA_CONFIG, DURA_CONFIG };
	struct dura_work_item *none[1] = { NULL };
	size_t nn = 99;
	rc = P->ack_work_items_and_fetch(s, 2, dup, dcomp, dres, 30000, 0, none, &nn, &err);
	drain_orch(s, text, sizeof text);
	tap_ok(rc == DURA_OK && dres[0] == DURA_OK && dres[1] == DURA_LOCK_LOST && nn == 0 &&
	       !none[0] && strcmp(text, "d0") == 0,
	       "the same token twice in one call: acked once, one completion; max_next 0 "
	       "fetches nothing");

	/* lock expiry, as for single items */
	uint64_t rest[3] = { b[1]->token, b[2]->token, b[3]->token };
	tap_ok(P->renew_work_lock(s, b[1]->token, 40, &err) == DURA_OK &&
	       P->renew_work_lock(s, b[2]->token, 40, &err) == DURA_OK &&
	       P->renew_work_lock(s, b[3]->token, 40, &err) == DURA_OK,
	       "renew a batch's locks to 40 ms, one by one");
	sleep_ms(70);
	struct dura_work_item *d[4] = { 0 };
	size_t nd = 0;
	rc = P->fetch_work_items(s, 30000, 0, 4, d, &nd, &err);
	tap_ok(rc == DURA_OK && nd == 3 && body_is(d[0]->body, "w4") && d[0]->attempts == 2 &&
	       body_is(d[2]->body, "w6") && d[2]->attempts == 2,
	       "expired batch locks: items redelivered in order with attempts 2 (%zu)", nd);
	dura_rc rres[3];
	struct dura_message rcomp[3] = { { "i", B("x"), 0 }, { "i", B("y"), 0 },
	                                 { "i", B("z"), 0 } };
	rc = P->ack_work_items_and_fetch(s, 3, rest, rcomp, rres, 30000, 4, c + 1, &nn, &err);
	drain_orch(s, text, sizeof text);
	tap_ok(rc == DURA_OK && rres[0] == DURA_LOCK_LOST && rres[1] == DURA_LOCK_LOST &&
	       rres[2] == DURA_LOCK_LOST && nn == 0 && text[0] == '\0',
	       "old tokens of an expired batch: all LOCK_LOST, nothing enqueued");
	release_all(s, b, nb);

	/* ack everything left, with the fetch part reaching the delayed item
	 * through a long poll afterwards */
	uint64_t left[4] = { c[0]->token, d[0]->token, d[1]->token, d[2]->token };
	struct dura_message lcomp[4] = { { "i", B("l0"), 0 }, { "i", B("l1"), 0 },
	                                 { "i", B("l2"), 0 }, { "i", B("l3"), 0 } };
	dura_rc lres[4];
	struct dura_work_item *e[2] = { 0 };
	size_t ne = 9;
	rc = P->ack_work_items_and_fetch(s, 4, left, lcomp, lres, 30000, 2, e, &ne, &err);
	drain_orch(s, text, sizeof text);
	tap_ok(rc == DURA_OK && lres[0] == DURA_OK && lres[3] == DURA_OK && ne == 0 &&
	       strcmp(text, "l0,l1,l2,l3") == 0,
	       "four acks in one call: all completions in order, nothing visible to fetch "
	       "(got '%s')", text);
	release_all(s, c, 1);
	release_all(s, d, nd);
	uint64_t t0 = mono_ms();
	rc = P->fetch_work_items(s, 30000, 3000, 4, e, &ne, &err);
	tap_ok(rc == DURA_OK && ne == 1 && body_is(e[0]->body, "late"),
	       "fetch_work_items long poll wakes for the delayed item");
	tap_diag("delayed item arrived after %" PRIu64 " ms of batch long poll", mono_ms() - t0);
	dura_rc one;
	rc = P->ack_work_items_and_fetch(s, 1, &e[0]->token, NULL, &one, 30000, 2, e + 1, &ne,
	                                 &err);
	tap_ok(rc == DURA_OK && one == DURA_OK && ne == 0,
	       "ack without completions (completions NULL)");
	release_all(s, e, 1);
	t0 = mono_ms();
	rc = P->fetch_work_items(s, 1000, 150, 4, e, &ne, &err);
	tap_ok(rc == DURA_EMPTY && ne == 0 && mono_ms() - t0 >= 140,
	       "idle fetch_work_items returns EMPTY after wait_ms");
	P->close(s, 1, &err);
}

/* A batch long poll woken by another thread's ack. */
struct batch_poller {
	dura_store *s;
	dura_rc rc;
	size_t n;
	uint64_t waited_ms;
};

static void *batch_poll_thread(void *arg)
{
	struct batch_poller *p = arg;
	struct dura_err err;
	struct dura_work_item *v[4] = { 0 };
	uint64_t t0 = mono_ms();
	p->rc = P->fetch_work_items(p->s, 30000, 10000, 4, v, &p->n, &err);
	p->waited_ms = mono_ms() - t0;
	release_all(p->s, v, p->n);
	return NULL;
}

static void test_batch_long_poll(void)
{
	dura_store *s = open_store(NULL);
	struct dura_err err;
	if (!s)
		return;
	struct batch_poller p = { s, DURA_CONFIG, 0, 0 };
	pthread_t th;
	pthread_create(&th, NULL, batch_poll_thread, &p);
	sleep_ms(100);
	struct dura_orch_item *o = NULL;
	enqueue1(s, "z", "1", 0);
	P->fetch_orchestration_item(s, 30000, 0, &o, &err);
	struct dura_message w[] = { { "z", B("w1"), 0 }, { "z", B("w2"), 0 } };
	struct dura_orch_ack ack = { 1, NULL, 0, w, 2, NULL, 0, NULL };
	P->ack_orchestration_item(s, o->token, &ack, &err);
	P->release_orchestration_item(s, o);
	pthread_join(th, NULL);
	tap_ok(p.rc == DURA_OK && p.n >= 1 && p.n <= 2 && p.waited_ms >= 90 && p.waited_ms < 10000,
	       "fetch_work_items long poll woken by an ack (%zu items after %" PRIu64 " ms)",
	       p.n, p.waited_ms);
	P->close(s, 1, &err);
}

/* ---- long poll woken by another thread ---- */

struct poller {
	dura_store *s;
	int orch;
	dura_rc rc;
	uint64_t waited_ms;
};

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	struct dura_err err;
	uint64_t t0 = mono_ms();
	if (p->orch) {
		struct dura_orch_item *o = NULL;
		p->rc = P->fetch_orchestration_item(p->s, 30000, 10000, &o, &err);
		P->release_orchestration_item(p->s, o);
	} else {
		struct dura_work_item *w = NULL;
		p->rc = P->fetch_work_item(p->s, 30000, 10000, &w, &err);
		P->release_work_item(p->s, w);
	}
	p->waited_ms = mono_ms() - t0;
	return NULL;
}

static void test_long_poll(void)
{
	dura_store *s = open_store(NULL);
	struct dura_err err;
	if (!s)
		return;
	struct poller p[3] = { { s, 1, DURA_CONFIG, 0 }, { s, 1, DURA_CONFIG, 0 },
	                       { s, 0, DURA_CONFIG, 0 } };
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, poll_thread, &p[i]);
	sleep_ms(100);
	struct dura_message m[] = { { "x", B("1"), 0 }, { "y", B("1"), 0 } };
	P->enqueue_orchestrator(s, m, 2, &err);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	tap_ok(p[0].rc == DURA_OK && p[1].rc == DURA_OK && p[0].waited_ms < 10000 &&
	       p[1].waited_ms < 10000, "two orchestration long polls woken by one enqueue");
	/* the work poller: feed it through an ack */
	struct dura_orch_item *o = NULL;
	enqueue1(s, "z", "1", 0);
	P->fetch_orchestration_item(s, 30000, 0, &o, &err);
	struct dura_message w = { "z", B("w"), 0 };
	struct dura_orch_ack ack = { 1, NULL, 0, &w, 1, NULL, 0, NULL };
	P->ack_orchestration_item(s, o->token, &ack, &err);
	P->release_orchestration_item(s, o);
	pthread_join(th[2], NULL);
	tap_ok(p[2].rc == DURA_OK && p[2].waited_ms < 10000, "work long poll woken by an ack");
	uint64_t t0 = mono_ms();
	struct dura_work_item *wi = NULL;
	tap_ok(P->fetch_work_item(s, 1000, 150, &wi, &err) == DURA_EMPTY && !wi &&
	       mono_ms() - t0 >= 140, "idle long poll returns EMPTY after wait_ms");
	P->close(s, 1, &err);
}

/* ---- several threads: orchestrators and workers ---- */

#define N_INSTANCES 400
#define N_THREADS 4

struct shared {
	dura_store *s;
	atomic_int busy[N_INSTANCES];
	atomic_int turns[N_INSTANCES];
	atomic_int completed;
	atomic_int violations;
	atomic_int errors;
};

static int inst_index(const char *name)
{
	return atoi(name + 1);
}

static void *orch_thread(void *arg)
{
	struct shared *sh = arg;
	struct dura_err err;
	while (atomic_load(&sh->completed) < N_INSTANCES) {
		struct dura_orch_item *o = NULL;
		dura_rc rc = P->fetch_orchestration_item(sh->s, 30000, 50, &o, &err);
		if (rc == DURA_EMPTY)
			continue;
		if (rc != DURA_OK) {
			atomic_fetch_add(&sh->errors, 1);
			continue;
		}
		int i = inst_index(o->instance);
		if (atomic_fetch_add(&sh->busy[i], 1) != 0)
			atomic_fetch_add(&sh->violations, 1);
		/* turn 1: schedule an activity; turn 2: complete */
		int turn = atomic_fetch_add(&sh->turns[i], 1) + 1;
		struct dura_event ev = { (uint64_t)o->n_history + 1, B("ev") };
		struct dura_message w = { o->instance, B("act"), 0 };
		struct dura_instance_meta meta = { "o", turn >= 2 ? DURA_STATUS_COMPLETED :
		                                   DURA_STATUS_RUNNING, B(""), NULL, 1 };
		struct dura_orch_ack ack = { 1, &ev, 1, &w, turn == 1, NULL, 0, &meta };
		atomic_fetch_sub(&sh->busy[i], 1);
		rc = P->ack_orchestration_item(sh->s, o->token, &ack, &err);
		if (rc != DURA_OK)
			atomic_fetch_add(&sh->errors, 1);
		else if (turn == 2)
			atomic_fetch_add(&sh->completed, 1);
		P->release_orchestration_item(sh->s, o);
	}
	return NULL;
}

static void *work_thread(void *arg)
{
	struct shared *sh = arg;
	struct dura_err err;
	while (atomic_load(&sh->completed) < N_INSTANCES) {
		struct dura_work_item *w = NULL;
		dura_rc rc = P->fetch_work_item(sh->s, 30000, 50, &w, &err);
		if (rc == DURA_EMPTY)
			continue;
		if (rc != DURA_OK) {
			atomic_fetch_add(&sh->errors, 1);
			continue;
		}
		struct dura_message done = { w->instance, B("done"), 0 };
		if (P->ack_work_item(sh->s, w->token, &done, &err) != DURA_OK)
			atomic_fetch_add(&sh->errors, 1);
		P->release_work_item(sh->s, w);
	}
	return NULL;
}

static void test_threads(const char *db)
{
	static struct shared sh;
	memset(&sh, 0, sizeof sh);
	sh.s = open_store(db);
	struct dura_err err;
	if (!sh.s)
		return;
	pthread_t th[2 * N_THREADS];
	for (int i = 0; i < N_THREADS; i++) {
		pthread_create(&th[i], NULL, orch_thread, &sh);
		pthread_create(&th[N_THREADS + i], NULL, work_thread, &sh);
	}
	for (int i = 0; i < N_INSTANCES; i++) {
		char name[16];
		snprintf(name, sizeof name, "i%d", i);
		enqueue1(sh.s, name, "start", 0);
	}
	for (int i = 0; i < 2 * N_THREADS; i++)
		pthread_join(th[i], NULL);
	int bad_turns = 0, bad_history = 0;
	for (int i = 0; i < N_INSTANCES; i++) {
		char name[16];
		snprintf(name, sizeof name, "i%d", i);
		if (atomic_load(&sh.turns[i]) != 2)
			bad_turns++;
		struct dura_history *h = NULL;
		if (P->read_history(sh.s, name, 1, &h, &err) != DURA_OK || h->n_events != 2)
			bad_history++;
		P->release_history(sh.s, h);
	}
	tap_ok(atomic_load(&sh.violations) == 0 && atomic_load(&sh.errors) == 0 &&
	       bad_turns == 0 && bad_history == 0,
	       "%d orchestrator + %d worker threads, %d instances (%s): violations %d, "
	       "errors %d, bad turns %d, bad histories %d", N_THREADS, N_THREADS,
	       N_INSTANCES, db, atomic_load(&sh.violations), atomic_load(&sh.errors),
	       bad_turns, bad_history);
	P->close(sh.s, 1, &err);
}

/* ---- file databases ---- */

static void test_file(void)
{
	char path[] = "/tmp/dura-sqlite-test-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		tap_ok(0, "mkstemp");
		return;
	}
	close(fd);
	unlink(path);
	struct dura_err err;
	dura_store *s = open_store(path);
	tap_ok(s != NULL, "open a new file database");
	if (!s)
		return;
	char desc[256];
	P->describe(s, desc, sizeof desc);
	tap_ok(strstr(desc, "WAL") != NULL, "describe: %s", desc);
	struct dura_orch_item *o = NULL;
	enqueue1(s, "f", "1", 0);
	tap_ok(P->fetch_orchestration_item(s, 30000, 0, &o, &err) == DURA_OK &&
	       strcmp(o->instance, "f") == 0, "fetch from the file");
	P->release_orchestration_item(s, o);
	struct dura_option o2[] = { { "database", path }, { "busy_timeout", "0" } };
	dura_store *s2 = NULL;
	dura_rc rc = P->open(o2, 2, &s2, &err);
	tap_ok(rc != DURA_OK && !s2, "a file in use by another store is refused (%d: %s)", rc, err.msg);
	tap_ok(P->close(s, 0, &err) == DURA_OK && access(path, F_OK) == 0,
	       "close without drop keeps the file");
	s = open_store(path);
	tap_ok(s && P->fetch_orchestration_item(s, 30000, 0, &o, &err) == DURA_EMPTY,
	       "reopening resets the store");
	tap_ok(s && P->close(s, 1, &err) == DURA_OK && access(path, F_OK) != 0,
	       "close with drop removes the file");

	/* a file with a foreign table is refused and left alone */
	sqlite3 *db = NULL;
	sqlite3_open(path, &db);
	sqlite3_exec(db, "CREATE TABLE precious(x)", NULL, NULL, NULL);
	sqlite3_close(db);
	s = NULL;
	struct dura_option o3[] = { { "database", path } };
	rc = P->open(o3, 1, &s, &err);
	tap_ok(rc == DURA_CONFIG && !s && strstr(err.msg, "precious"),
	       "foreign table refused: %s", err.msg);
	sqlite3_open(path, &db);
	int n = -1;
	sqlite3_stmt *st = NULL;
	sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	tap_ok(n == 1, "the foreign file was not modified");
	unlink(path);

	/* not a database at all */
	FILE *f = fopen(path, "w");
	fputs("this is not an SQLite database, not even close; just some text....", f);
	for (int i = 0; i < 100; i++)
		fputs("padding padding padding padding\n", f);
	fclose(f);
	rc = P->open(o3, 1, &s, &err);
	tap_ok(rc == DURA_CONFIG, "a non-database file is refused: %s", err.msg);
	unlink(path);
}

/* ---- throughput (informational, never asserted) ---- */

static void bench(const char *db, int n)
{
	dura_store *s = open_store(db);
	struct dura_err err;
	if (!s)
		return;
	char name[32];
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "inst-%d", i);
		enqueue1(s, name, "start-message-body-of-some-length", 0);
	}
	struct dura_event ev = { 1, B("an event body of a typical small size.....") };
	struct dura_message w = { "x", B("work"), 0 };
	struct dura_instance_meta meta = { "bench", DURA_STATUS_RUNNING, B(""), NULL, 1 };
	uint64_t t0 = mono_ms();
	int done = 0;
	for (int i = 0; i < n; i++) {
		struct dura_orch_item *o = NULL;
		if (P->fetch_orchestration_item(s, 30000, 0, &o, &err) != DURA_OK)
			break;
		struct dura_orch_ack ack = { 1, &ev, 1, &w, 1, NULL, 0, &meta };
		if (P->ack_orchestration_item(s, o->token, &ack, &err) != DURA_OK)
			break;
		P->release_orchestration_item(s, o);
		done++;
	}
	uint64_t t1 = mono_ms();
	int wdone = 0;
	for (;;) {
		struct dura_work_item *wi = NULL;
		if (P->fetch_work_item(s, 30000, 0, &wi, &err) != DURA_OK)
			break;
		if (P->ack_work_item(s, wi->token, NULL, &err) != DURA_OK)
			break;
		P->release_work_item(s, wi);
		wdone++;
	}
	uint64_t t2 = mono_ms();
	tap_diag("bench %s: %d orchestration fetch+ack pairs in %" PRIu64 " ms (%.0f/s); "
	         "%d work fetch+ack pairs in %" PRIu64 " ms (%.0f/s)", db, done, t1 - t0,
	         done * 1000.0 / (double)(t1 - t0 + 1), wdone, t2 - t1,
	         wdone * 1000.0 / (double)(t2 - t1 + 1));
	P->close(s, 1, &err);
}

int main(void)
{
	void *h = dlopen(DURA_SQLITE_PLUGIN_SO, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		tap_ok(0, "dlopen %s: %s", DURA_SQLITE_PLUGIN_SO, dlerror());
		return tap_done();
	}
	dura_provider_entry_fn *entry =
		(dura_provider_entry_fn *)dlsym(h, DURA_PROVIDER_ENTRY_SYMBOL);
	P = entry ? entry() : NULL;
	if (!tap_ok(P && P->abi_major == DURA_ABI_MAJOR &&
	            P->struct_size == sizeof(struct dura_provider_ops) &&
	            strcmp(P->name, "sqlite") == 0 && P->options && P->options[0].name,
	            "entry point and prefix"))
		return tap_done();
	tap_ok(dlsym(h, "dura_sqlite_open") == NULL, "internal symbols are not exported");

	test_options();
	test_orchestration();
	test_work();
	test_work_batch();
	test_long_poll();
	test_batch_long_poll();
	test_threads(":memory:");
	test_file();
	{
		char path[] = "/tmp/dura-sqlite-threads-XXXXXX";
		int fd = mkstemp(path);
		if (fd >= 0) {
			close(fd);
			unlink(path);
			test_threads(path);
		}
	}
	const char *nb = getenv("DURA_SQLITE_BENCH");
	bench(":memory:", nb ? atoi(nb) : 2000);
	{
		char path[] = "/tmp/dura-sqlite-bench-XXXXXX";
		int fd = mkstemp(path);
		if (fd >= 0) {
			close(fd);
			unlink(path);
			bench(path, nb ? atoi(nb) : 2000);
		}
	}
	dlclose(h);
	return tap_done();
}
