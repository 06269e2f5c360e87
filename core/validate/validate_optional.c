/* Conformance tests: the optional operations (skipped when a plugin does
 * not provide them) and the release_* contract. */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <string.h>

static int ack_and_fetch_orchestration(struct dura_vctx *t)
{
	__typeof__(t->ops->ack_orchestration_item_and_fetch) fn =
		DURA_OPT_OP(t->ops, ack_orchestration_item_and_fetch);
	if (!fn)
		return dura_vskip(t, "ack_orchestration_item_and_fetch not provided");
	VTRY(dura_venqueue(t, "first", "a", 0));
	dura_sleep_ms(3);
	VTRY(dura_venqueue(t, "second", "b", 0));
	struct dura_orch_item *it, *next = NULL;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "first", 1, &it));
	struct dura_event ev = { 1, dura_vstr("e1") };
	struct dura_message w = { "first", dura_vstr("job"), 0 };
	struct dura_orch_ack ack = { .execution = 1, .history = &ev, .n_history = 1,
	                             .work_items = &w, .n_work_items = 1 };
	struct dura_err err;
	memset(&err, 0, sizeof err);
	dura_rc rc = fn(t->store, it->token, &ack, DURA_VLOCK_MS, &next, &err);
	VTRY(dura_vexpect(t, "ack_orchestration_item_and_fetch", rc, DURA_OK, &err));
	dura_vrelease(t, it);
	VCHECK(t, next != NULL, "ack_orchestration_item_and_fetch: no next item although 'second' was eligible");
	VCHECK(t, strcmp(next->instance, "second") == 0 && next->n_messages == 1 && next->token != 0,
	       "ack_orchestration_item_and_fetch: next item is '%s', expected 'second' with 1 message",
	       next->instance ? next->instance : "NULL");
	const uint64_t ids[] = { 1 };
	VTRY(dura_vexpect_history(t, "first", 1, ids, NULL, 1));
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, NULL));
	/* The fetched item is properly locked and acked like any other. */
	VTRY(dura_vexpect_no_orch(t, "the item returned by ack-and-fetch is not locked"));
	struct dura_orch_item *none = NULL;
	struct dura_orch_ack empty = { .execution = 1 };
	memset(&err, 0, sizeof err);
	rc = fn(t->store, next->token, &empty, DURA_VLOCK_MS, &none, &err);
	VTRY(dura_vexpect(t, "ack_orchestration_item_and_fetch (nothing left)", rc, DURA_OK, &err));
	dura_vrelease(t, next);
	VCHECK(t, none == NULL, "ack_orchestration_item_and_fetch returned an item from an empty queue ('%s')",
	       none->instance);
	/* A dead token is refused like a plain ack. */
	memset(&err, 0, sizeof err);
	rc = fn(t->store, 987654321u, &empty, DURA_VLOCK_MS, &none, &err);
	if (none)
		dura_vrelease(t, none);
	VTRY(dura_vexpect(t, "ack_orchestration_item_and_fetch with a bogus token", rc, DURA_LOCK_LOST, &err));
	return DURA_VPASS;
}

static int ack_and_fetch_work(struct dura_vctx *t)
{
	__typeof__(t->ops->ack_work_item_and_fetch) fn = DURA_OPT_OP(t->ops, ack_work_item_and_fetch);
	if (!fn)
		return dura_vskip(t, "ack_work_item_and_fetch not provided");
	const char *bodies[] = { "w1", "w2" };
	VTRY(dura_vseed_work(t, "i1", bodies, 2, 0));
	struct dura_work_item *w, *next = NULL;
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
	struct dura_message c = { "i1", dura_vstr("done 1"), 0 };
	struct dura_err err;
	memset(&err, 0, sizeof err);
	dura_rc rc = fn(t->store, w->token, &c, DURA_VLOCK_MS, &next, &err);
	VTRY(dura_vexpect(t, "ack_work_item_and_fetch", rc, DURA_OK, &err));
	dura_vrelease_work(t, w);
	VCHECK(t, next && dura_vbytes_is(next->body, "w2") && next->token != 0 && next->attempts == 1,
	       "ack_work_item_and_fetch: expected the next item \"w2\" (attempts 1)");
	VTRY(dura_vexpect_no_work(t, "the item returned by ack-and-fetch is not locked"));
	struct dura_work_item *none = NULL;
	struct dura_message c2 = { "i1", dura_vstr("done 2"), 0 };
	memset(&err, 0, sizeof err);
	rc = fn(t->store, next->token, &c2, DURA_VLOCK_MS, &none, &err);
	VTRY(dura_vexpect(t, "ack_work_item_and_fetch (nothing left)", rc, DURA_OK, &err));
	dura_vrelease_work(t, next);
	VCHECK(t, none == NULL, "ack_work_item_and_fetch returned an item from an empty queue");
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 2, &it));
	VCHECK(t, dura_vbytes_is(it->messages[0].body, "done 1") && dura_vbytes_is(it->messages[1].body, "done 2"),
	       "the two completions are not \"done 1\", \"done 2\" in order");
	dura_vrelease(t, it);
	memset(&err, 0, sizeof err);
	rc = fn(t->store, 987654321u, &c2, DURA_VLOCK_MS, &none, &err);
	if (none)
		dura_vrelease_work(t, none);
	VTRY(dura_vexpect(t, "ack_work_item_and_fetch with a bogus token", rc, DURA_LOCK_LOST, &err));
	return DURA_VPASS;
}

#define STAT_FIELDS(X) X(round_trips) X(commits) X(empty_fetches) X(lock_conflicts) X(retries) X(reconnects)

static int stats_monotonic(struct dura_vctx *t)
{
	__typeof__(t->ops->stats) fn = DURA_OPT_OP(t->ops, stats);
	if (!fn)
		return dura_vskip(t, "stats not provided");
	struct dura_stats a, b;
	memset(&a, 0, sizeof a);
	a.struct_size = sizeof a;
	dura_rc rc = fn(t->store, &a);
	VCHECK(t, rc == DURA_OK, "stats: returned %s", dura_vrc_name(rc));
	/* Some traffic of every kind. */
	VTRY(dura_vfetch(t, DURA_VLOCK_MS, 0, DURA_EMPTY, NULL));
	const char *bodies[] = { "w" };
	VTRY(dura_vseed_work(t, "i1", bodies, 1, 0));
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, NULL));
	memset(&b, 0, sizeof b);
	b.struct_size = sizeof b;
	rc = fn(t->store, &b);
	VCHECK(t, rc == DURA_OK, "stats: returned %s", dura_vrc_name(rc));
#define CHECK_GROWS(f) \
	VCHECK(t, b.f >= a.f, "stats: %s went down from %llu to %llu", #f, (unsigned long long)a.f, \
	       (unsigned long long)b.f);
	STAT_FIELDS(CHECK_GROWS)
#undef CHECK_GROWS
	VCHECK(t, b.struct_size == sizeof b, "stats: struct_size changed to %u", b.struct_size);
	return DURA_VPASS;
}

static int stats_respects_struct_size(struct dura_vctx *t)
{
	__typeof__(t->ops->stats) fn = DURA_OPT_OP(t->ops, stats);
	if (!fn)
		return dura_vskip(t, "stats not provided");
	/* An older core knows only the first two counters: the plugin must not
	 * write past them. */
	union {
		struct dura_stats s;
		unsigned char raw[sizeof(struct dura_stats) + 16];
	} u;
	memset(&u, 0xA5, sizeof u);
	size_t known = offsetof(struct dura_stats, commits) + sizeof u.s.commits;
	memset(&u, 0, known);
	u.s.struct_size = (uint32_t)known;
	VTRY(dura_venqueue(t, "i1", "m", 0));
	dura_rc rc = fn(t->store, &u.s);
	VCHECK(t, rc == DURA_OK, "stats: returned %s", dura_vrc_name(rc));
	for (size_t i = known; i < sizeof u.raw; i++)
		VCHECK(t, u.raw[i] == 0xA5, "stats with struct_size %zu wrote byte %zu beyond it", known, i);
	return DURA_VPASS;
}

static int ping_and_describe(struct dura_vctx *t)
{
	__typeof__(t->ops->ping) ping = DURA_OPT_OP(t->ops, ping);
	__typeof__(t->ops->describe) describe = DURA_OPT_OP(t->ops, describe);
	if (!ping && !describe)
		return dura_vskip(t, "neither ping nor describe provided");
	if (ping) {
		struct dura_err err;
		memset(&err, 0, sizeof err);
		VTRY(dura_vexpect(t, "ping", ping(t->store, &err), DURA_OK, &err));
	}
	if (describe) {
		char buf[256];
		memset(buf, 0x5A, sizeof buf);
		describe(t->store, buf, 200);
		VCHECK(t, memchr(buf, 0, 200) != NULL, "describe: no NUL within the 200 bytes given");
		for (size_t i = 200; i < sizeof buf; i++)
			VCHECK(t, (unsigned char)buf[i] == 0x5A, "describe wrote beyond len (byte %zu)", i);
		VCHECK(t, buf[0] != 0, "describe: empty description");
		memset(buf, 0x5A, sizeof buf);
		describe(t->store, buf, 8); /* a small buffer is truncated, not overrun */
		VCHECK(t, memchr(buf, 0, 8) != NULL, "describe(len 8): not NUL-terminated within len");
		for (size_t i = 8; i < sizeof buf; i++)
			VCHECK(t, (unsigned char)buf[i] == 0x5A, "describe(len 8) wrote beyond len (byte %zu)", i);
	}
	return DURA_VPASS;
}

static int release_accepts_null(struct dura_vctx *t)
{
	/* "release_* operation (which accepts NULL)": must not crash. */
	t->ops->release_orchestration_item(t->store, NULL);
	t->ops->release_work_item(t->store, NULL);
	t->ops->release_history(t->store, NULL);
	t->ops->release_instance_status(t->store, NULL);
	return DURA_VPASS;
}

const struct dura_vtest dura_vtests_optional[] = {
	{ "ack_and_fetch_orchestration", ack_and_fetch_orchestration,
	  "ack_orchestration_item_and_fetch acts like an ack followed by a fetch" },
	{ "ack_and_fetch_work", ack_and_fetch_work,
	  "ack_work_item_and_fetch acts like an ack followed by a fetch" },
	{ "stats_monotonic", stats_monotonic, "stats counters never go down" },
	{ "stats_respects_struct_size", stats_respects_struct_size,
	  "stats writes nothing beyond the caller's struct_size" },
	{ "ping_and_describe", ping_and_describe,
	  "ping returns OK; describe writes a NUL-terminated line within len" },
	{ "release_accepts_null", release_accepts_null, "every release_* operation accepts NULL" },
	{ NULL, NULL, NULL },
};
