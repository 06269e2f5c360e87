/* Conformance tests: the scale-out operations of ABI 1.3 (skipped when a
 * plugin provides none of them): all or none, the completion feed, notes,
 * attaching to a store by name. */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <string.h>

/* The eight operations, present together or not at all. */
static int present(const struct dura_provider_ops *ops)
{
	return !!DURA_OPT_OP(ops, attach) + !!DURA_OPT_OP(ops, store_name) +
	       !!DURA_OPT_OP(ops, start_instances) + !!DURA_OPT_OP(ops, take_completions) +
	       !!DURA_OPT_OP(ops, release_completions) + !!DURA_OPT_OP(ops, put_note) +
	       !!DURA_OPT_OP(ops, read_notes) + !!DURA_OPT_OP(ops, release_notes);
}

static int all_or_none(struct dura_vctx *t)
{
	int n = present(t->ops);
	if (n == 0)
		return dura_vskip(t, "no scale-out operations");
	VCHECK(t, n == 8, "%d of the 8 scale-out operations are provided: all or none", n);
	return DURA_VPASS;
}

/* Fetches instance's item and acks it with status (a terminal ack when
 * status is COMPLETED/FAILED), appending history event event_id. */
static int finish(struct dura_vctx *t, const char *instance, int32_t status, uint64_t event_id)
{
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, instance, 1, &it));
	struct dura_event ev = { event_id, dura_vstr("done") };
	struct dura_instance_meta meta = { .name = "orch", .status = status,
	                                   .output = dura_vstr("out"), .execution = 1 };
	struct dura_orch_ack ack = { .execution = 1, .history = &ev, .n_history = 1, .meta = &meta };
	int rc = dura_vack(t, it->token, &ack, DURA_OK);
	dura_vrelease(t, it);
	return rc;
}

static int feed_reports_started(struct dura_vctx *t)
{
	if (present(t->ops) != 8)
		return dura_vskip(t, "no scale-out operations");
	dura_start_instances_fn *start = DURA_OPT_OP(t->ops, start_instances);
	dura_take_completions_fn *take = DURA_OPT_OP(t->ops, take_completions);
	dura_release_completions_fn *release = DURA_OPT_OP(t->ops, release_completions);
	struct dura_err err;
	memset(&err, 0, sizeof err);
	struct dura_message m[2] = { { "s1", dura_vstr("start"), 0 }, { "s2", dura_vstr("start"), 0 } };
	VTRY(dura_vexpect(t, "start_instances", start(t->store, m, 2, &err), DURA_OK, &err));
	VTRY(dura_venqueue(t, "plain", "start", 0)); /* not started by start_instances */
	/* fetches come oldest first: s1, s2, plain, then s1 again */
	VTRY(finish(t, "s1", DURA_STATUS_RUNNING, 1)); /* not terminal */
	VTRY(dura_venqueue(t, "s1", "again", 0));
	VTRY(finish(t, "s2", DURA_STATUS_FAILED, 1));
	VTRY(finish(t, "plain", DURA_STATUS_COMPLETED, 1));
	VTRY(finish(t, "s1", DURA_STATUS_COMPLETED, 2));
	struct dura_completions *c = NULL;
	memset(&err, 0, sizeof err);
	VTRY(dura_vexpect(t, "take_completions", take(t->store, 10, &c, &err), DURA_OK, &err));
	VCHECK(t, c && c->n == 2, "take_completions: %zu entries, expected s2 and s1 only",
	       c ? c->n : 0);
	int ok = strcmp(c->items[0].instance, "s2") == 0 &&
	         c->items[0].status == DURA_STATUS_FAILED &&
	         strcmp(c->items[1].instance, "s1") == 0 && c->items[1].status == DURA_STATUS_COMPLETED;
	int times = 1;
	for (size_t i = 0; i < c->n; i++) /* the same clock, within an hour */
		times &= c->items[i].started_us > 0 &&
		         c->items[i].completed_us >= c->items[i].started_us &&
		         c->items[i].completed_us - c->items[i].started_us < INT64_C(3600000000);
	char first[64];
	snprintf(first, sizeof first, "%s", c->items[0].instance);
	release(t->store, c);
	VCHECK(t, ok, "take_completions: expected s2 failed then s1 completed, oldest first "
	       "(first is '%s')", first);
	VCHECK(t, times, "take_completions: started_us/completed_us are not one clock's "
	       "microseconds with completed >= started");
	c = NULL;
	memset(&err, 0, sizeof err);
	dura_rc rc = take(t->store, 10, &c, &err);
	if (rc == DURA_OK)
		release(t->store, c);
	VTRY(dura_vexpect(t, "take_completions (every entry taken already)", rc, DURA_EMPTY, &err));
	return DURA_VPASS;
}

/* take_completions_acked(ack, max): the instances returned, "a,b,..." in
 * buf ("" when DURA_EMPTY).  -1 (test failed) on another result. */
static int take_acked(struct dura_vctx *t, uint64_t ack, size_t max, char *buf, size_t len)
{
	dura_take_completions_acked_fn *take = DURA_OPT_OP(t->ops, take_completions_acked);
	dura_release_completions_fn *release = DURA_OPT_OP(t->ops, release_completions);
	struct dura_completions *c = NULL;
	struct dura_err err;
	memset(&err, 0, sizeof err);
	char what[96];
	snprintf(what, sizeof what, "take_completions_acked(ack %llu, max %zu)",
	         (unsigned long long)ack, max);
	dura_rc rc = take(t->store, ack, max, &c, &err);
	buf[0] = '\0';
	if (rc == DURA_EMPTY && !c)
		return DURA_VPASS;
	VTRY(dura_vexpect(t, what, rc, DURA_OK, &err));
	size_t used = 0;
	for (size_t i = 0; c && i < c->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
		                         c->items[i].instance);
	release(t->store, c);
	return DURA_VPASS;
}

static int feed_acked(struct dura_vctx *t)
{
	if (present(t->ops) != 8 || !DURA_OPT_OP(t->ops, take_completions_acked))
		return dura_vskip(t, "no take_completions_acked (ABI 1.5)");
	dura_start_instances_fn *start = DURA_OPT_OP(t->ops, start_instances);
	struct dura_err err;
	memset(&err, 0, sizeof err);
	struct dura_message m[3] = { { "a1", dura_vstr("start"), 0 }, { "a2", dura_vstr("start"), 0 },
	                             { "a3", dura_vstr("start"), 0 } };
	VTRY(dura_vexpect(t, "start_instances", start(t->store, m, 3, &err), DURA_OK, &err));
	VTRY(finish(t, "a1", DURA_STATUS_COMPLETED, 1));
	VTRY(finish(t, "a2", DURA_STATUS_COMPLETED, 1));
	VTRY(finish(t, "a3", DURA_STATUS_FAILED, 1));
	char got[256];
	/* call 1 hands out a1, a2 -- and its reply is lost */
	VTRY(take_acked(t, 0, 2, got, sizeof got));
	VCHECK(t, strcmp(got, "a1,a2") == 0, "call 1 (ack 0, max 2) returned '%s', expected a1,a2",
	       got);
	/* so call 1 is made again: the same entries, then the rest */
	VTRY(take_acked(t, 0, 10, got, sizeof got));
	VCHECK(t, strcmp(got, "a1,a2,a3") == 0, "call 1 made again after a lost reply returned "
	       "'%s', expected a1,a2,a3 (entries handed out but not acknowledged are lost)", got);
	/* recorded: call 2 acknowledges call 1, nothing is left */
	VTRY(take_acked(t, 1, 10, got, sizeof got));
	VCHECK(t, got[0] == '\0', "call 2 (ack 1) returned '%s', expected nothing: acknowledged "
	       "entries must be removed", got);
	VTRY(take_acked(t, 1, 10, got, sizeof got));
	VCHECK(t, got[0] == '\0', "call 2 made again returned '%s', expected nothing", got);
	return DURA_VPASS;
}

static int notes_by_prefix(struct dura_vctx *t)
{
	if (present(t->ops) != 8)
		return dura_vskip(t, "no scale-out operations");
	dura_put_note_fn *put = DURA_OPT_OP(t->ops, put_note);
	dura_read_notes_fn *read = DURA_OPT_OP(t->ops, read_notes);
	dura_release_notes_fn *release = DURA_OPT_OP(t->ops, release_notes);
	static const char *const kv[][2] = {
		{ "w/b", "2" }, { "w/a", "1" }, { "x", "3" }, { "w/a", "4" },
	};
	struct dura_err err;
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
		memset(&err, 0, sizeof err);
		VTRY(dura_vexpect(t, "put_note", put(t->store, kv[i][0], dura_vstr(kv[i][1]), &err),
		                  DURA_OK, &err));
	}
	struct dura_notes *n = NULL;
	memset(&err, 0, sizeof err);
	VTRY(dura_vexpect(t, "read_notes(\"w/\")", read(t->store, "w/", &n, &err), DURA_OK, &err));
	int ok = n && n->n == 2 && strcmp(n->items[0].key, "w/a") == 0 &&
	         dura_vbytes_is(n->items[0].value, "4") && strcmp(n->items[1].key, "w/b") == 0 &&
	         dura_vbytes_is(n->items[1].value, "2");
	size_t got = n ? n->n : 0;
	release(t->store, n);
	VCHECK(t, ok, "read_notes(\"w/\"): %zu notes, expected w/a=4 (overwritten) then w/b=2", got);
	n = NULL;
	memset(&err, 0, sizeof err);
	VTRY(dura_vexpect(t, "read_notes(\"\")", read(t->store, "", &n, &err), DURA_OK, &err));
	got = n ? n->n : 0;
	release(t->store, n);
	VCHECK(t, got == 3, "read_notes(\"\"): %zu notes, expected all 3", got);
	n = NULL;
	memset(&err, 0, sizeof err);
	VTRY(dura_vexpect(t, "read_notes(\"none/\")", read(t->store, "none/", &n, &err), DURA_OK,
	                  &err));
	got = n ? n->n : 0;
	release(t->store, n);
	VCHECK(t, got == 0, "read_notes(\"none/\"): %zu notes, expected none", got);
	return DURA_VPASS;
}

static int attach_by_name(struct dura_vctx *t)
{
	if (present(t->ops) != 8)
		return dura_vskip(t, "no scale-out operations");
	char name[512];
	if (DURA_OPT_OP(t->ops, store_name)(t->store, name, sizeof name) != DURA_OK)
		return dura_vskip(t, "this store cannot be shared: %.200s", name);
	dura_attach_fn *attach = DURA_OPT_OP(t->ops, attach);
	dura_store *other = NULL;
	struct dura_err err;
	memset(&err, 0, sizeof err);
	VTRY(dura_vexpect(t, "attach(store_name)", attach(t->options, t->n_options, name, &other,
	                                                  &err), DURA_OK, &err));
	/* work enqueued through one handle is fetched through the other */
	struct dura_message m = { "shared", dura_vstr("hello"), 0 };
	memset(&err, 0, sizeof err);
	dura_rc rc = t->ops->enqueue_orchestrator(other, &m, 1, &err);
	if (rc != DURA_OK) {
		struct dura_err e2;
		t->ops->close(other, 0, &e2);
		VTRY(dura_vexpect(t, "enqueue_orchestrator through the attached handle", rc, DURA_OK,
		                  &err));
	}
	memset(&err, 0, sizeof err);
	rc = t->ops->close(other, 0, &err);
	VTRY(dura_vexpect(t, "close(attached, drop = 0)", rc, DURA_OK, &err));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "shared", 1, &it));
	dura_vrelease(t, it);
	/* a name that names no store is refused, never created */
	other = NULL;
	memset(&err, 0, sizeof err);
	rc = attach(t->options, t->n_options, "durabench_no_such_store_0", &other, &err);
	if (rc == DURA_OK) {
		t->ops->close(other, 1, &err);
		return dura_vfail(t, "attach of a store that does not exist returned OK");
	}
	VCHECK(t, err.msg[0] != '\0', "attach of a missing store failed without a message");
	return DURA_VPASS;
}

const struct dura_vtest dura_vtests_scaleout[] = {
	{ "scaleout_all_or_none", all_or_none,
	  "the eight scale-out operations are provided together or not at all" },
	{ "scaleout_feed", feed_reports_started,
	  "a terminal ack of a start_instances instance enters the completion feed once" },
	{ "scaleout_feed_acked", feed_acked,
	  "take_completions_acked hands out again what a lost reply held; an ack removes it" },
	{ "scaleout_notes", notes_by_prefix, "put_note overwrites; read_notes selects by prefix" },
	{ "scaleout_attach", attach_by_name,
	  "attach(store_name) shares the store; a missing store is refused" },
	{ NULL, NULL, NULL },
};
