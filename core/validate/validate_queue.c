/* Conformance tests: orchestrator queue semantics — ordering, messages
 * arriving during a turn, delayed visibility, attempt counts, instances
 * without history. */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <string.h>

static int orch_messages_in_order(struct dura_vctx *t)
{
	struct dura_message batch[5];
	char bodies[5][8];
	for (int i = 0; i < 5; i++) {
		snprintf(bodies[i], sizeof bodies[i], "m%d", i + 1);
		batch[i] = (struct dura_message){ "i1", dura_vstr(bodies[i]), 0 };
	}
	VTRY(dura_venqueue_msgs(t, batch, 3));
	VTRY(dura_venqueue_msgs(t, batch + 3, 2));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 5, &it));
	char shown[128];
	for (int i = 0; i < 5; i++)
		VCHECK(t, dura_vbytes_is(it->messages[i].body, bodies[i]),
		       "message %d is %s, expected \"%s\" (messages must come in enqueue order)", i,
		       dura_vbytes_show(it->messages[i].body, shown, sizeof shown), bodies[i]);
	VTRY(dura_vack_empty(t, it->token, DURA_OK));
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int orch_oldest_instance_first(struct dura_vctx *t)
{
	const char *order[] = { "bravo", "alpha", "charlie", "delta" };
	for (int i = 0; i < 4; i++) {
		VTRY(dura_venqueue(t, order[i], "m", 0));
		dura_sleep_ms(3); /* distinct enqueue times on coarse clocks */
	}
	/* A newer message to an older instance does not change its place. */
	VTRY(dura_venqueue(t, "bravo", "m2", 0));
	for (int i = 0; i < 4; i++) {
		struct dura_orch_item *it;
		VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, order[i], (size_t)-1, &it));
		VTRY(dura_vack_empty(t, it->token, DURA_OK));
		dura_vrelease(t, it);
	}
	return DURA_VPASS;
}

static int messages_during_turn_survive_ack(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "before", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	/* Arrives while the turn runs: not part of it. */
	VTRY(dura_venqueue(t, "i1", "during", 0));
	struct dura_event ev = { 1, dura_vstr("e1") };
	struct dura_instance_meta meta = { "orch", DURA_STATUS_RUNNING, dura_vstr(""), NULL, 1 };
	struct dura_orch_ack ack = { .execution = 1, .history = &ev, .n_history = 1, .meta = &meta };
	VTRY(dura_vack(t, it->token, &ack, DURA_OK));
	dura_vrelease(t, it);
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	char shown[128];
	VCHECK(t, dura_vbytes_is(it->messages[0].body, "during"),
	       "next turn got %s, expected the message that arrived during the turn (\"during\")",
	       dura_vbytes_show(it->messages[0].body, shown, sizeof shown));
	VCHECK(t, it->messages[0].attempts == 1, "the surviving message has attempts %u, expected 1",
	       it->messages[0].attempts);
	VCHECK(t, it->n_history == 1, "next turn has %zu history events, expected 1", it->n_history);
	VTRY(dura_vack_empty(t, it->token, DURA_OK));
	dura_vrelease(t, it);
	VTRY(dura_vexpect_no_orch(t, "after both turns"));
	return DURA_VPASS;
}

static int delayed_message_visibility(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "timer", "fire", 1200));
	VTRY(dura_vexpect_no_orch(t, "message with delay_ms 1200 was visible at once"));
	struct dura_orch_item *it;
	VTRY(dura_vfetch(t, DURA_VLOCK_MS, 8000, DURA_OK, &it));
	VCHECK(t, strcmp(it->instance, "timer") == 0, "fetched '%s', expected 'timer'", it->instance);
	dura_vrelease(t, it);
	/* A delayed message for an instance that has a visible one is not
	 * part of its batch and survives the ack. */
	VTRY(dura_venqueue(t, "i2", "now", 0));
	VTRY(dura_venqueue(t, "i2", "later", 1200));
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i2", 1, &it));
	VCHECK(t, dura_vbytes_is(it->messages[0].body, "now"), "the batch held the delayed message");
	VTRY(dura_vack_empty(t, it->token, DURA_OK));
	dura_vrelease(t, it);
	VTRY(dura_vexpect_no_orch(t, "delayed message visible before its time"));
	VTRY(dura_vfetch(t, DURA_VLOCK_MS, 8000, DURA_OK, &it));
	VCHECK(t, strcmp(it->instance, "i2") == 0 && dura_vbytes_is(it->messages[0].body, "later"),
	       "after the delay fetched '%s', expected 'i2' with \"later\"", it->instance);
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int delayed_items_from_ack(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "start", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	struct dura_message w = { "i1", dura_vstr("delayed-work"), 1200 };
	struct dura_message o = { "i1", dura_vstr("timer-fired"), 1200 };
	struct dura_orch_ack ack = { .execution = 1, .work_items = &w, .n_work_items = 1,
	                             .orch_items = &o, .n_orch_items = 1 };
	VTRY(dura_vack(t, it->token, &ack, DURA_OK));
	dura_vrelease(t, it);
	VTRY(dura_vexpect_no_orch(t, "timer message (delay 1200 ms) from an ack was visible at once"));
	VTRY(dura_vexpect_no_work(t, "work item with delay 1200 ms was visible at once"));
	VTRY(dura_vfetch(t, DURA_VLOCK_MS, 8000, DURA_OK, &it));
	VCHECK(t, dura_vbytes_is(it->messages[0].body, "timer-fired"), "expected the timer message");
	dura_vrelease(t, it);
	struct dura_work_item *wi;
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 8000, DURA_OK, &wi));
	VCHECK(t, dura_vbytes_is(wi->body, "delayed-work"), "expected the delayed work item");
	dura_vrelease_work(t, wi);
	return DURA_VPASS;
}

static int attempts_per_message(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "old", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VTRY(dura_vabandon(t, it->token, 0, DURA_OK));
	dura_vrelease(t, it);
	VTRY(dura_venqueue(t, "i1", "new", 0));
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 2, &it));
	VCHECK(t, it->messages[0].attempts == 2 && it->messages[1].attempts == 1,
	       "attempts %u and %u, expected 2 (redelivered) and 1 (new)", it->messages[0].attempts,
	       it->messages[1].attempts);
	VCHECK(t, it->attempts == 2, "item attempts %u, expected 2 (the max over its messages)", it->attempts);
	VTRY(dura_vabandon(t, it->token, 0, DURA_OK));
	dura_vrelease(t, it);
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 2, &it));
	VCHECK(t, it->messages[0].attempts == 3 && it->messages[1].attempts == 2 && it->attempts == 3,
	       "after a second abandon attempts %u and %u (item %u), expected 3 and 2 (item 3)",
	       it->messages[0].attempts, it->messages[1].attempts, it->attempts);
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int unknown_instance_messages_acked_away(struct dura_vctx *t)
{
	/* Messages for instances that never started (no history, no
	 * metadata), oldest first: they must neither block others nor stay. */
	VTRY(dura_venqueue(t, "ghost-1", "stray completion", 0));
	dura_sleep_ms(3);
	VTRY(dura_venqueue(t, "ghost-2", "stray timer", 0));
	dura_sleep_ms(3);
	VTRY(dura_venqueue(t, "real", "start", 0));
	struct dura_orch_item *g1, *g2, *r;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "ghost-1", 1, &g1));
	VCHECK(t, g1->execution == 0 && g1->n_history == 0,
	       "unknown instance came with execution %llu and %zu events, expected 0 and 0",
	       (unsigned long long)g1->execution, g1->n_history);
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "ghost-2", 1, &g2));
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "real", 1, &r));
	/* Dropping a stray message is an ack with nothing in it. */
	struct dura_orch_ack drop = { .execution = 0 };
	VTRY(dura_vack(t, g1->token, &drop, DURA_OK));
	VTRY(dura_vack(t, g2->token, &drop, DURA_OK));
	VTRY(dura_vack_empty(t, r->token, DURA_OK));
	dura_vrelease(t, g1);
	dura_vrelease(t, g2);
	dura_vrelease(t, r);
	VTRY(dura_vexpect_no_orch(t, "stray messages acked away are still there"));
	VTRY(dura_vstatus(t, "ghost-1", DURA_EMPTY, NULL));
	return DURA_VPASS;
}

static int fetch_history_matches_reads(struct dura_vctx *t)
{
	/* Three turns appending events, out of order within one ack: fetch
	 * and read_history both return the whole history ascending. */
	const uint64_t ids[] = { 1, 2, 3, 4, 5 };
	const char *bodies[] = { "e1", "e2", "e3", "e4", "e5" };
	struct dura_event turn1[] = { { 2, dura_vstr("e2") }, { 1, dura_vstr("e1") } };
	struct dura_event turn2[] = { { 4, dura_vstr("e4") }, { 3, dura_vstr("e3") }, { 5, dura_vstr("e5") } };
	struct dura_instance_meta meta = { "o", DURA_STATUS_RUNNING, dura_vstr(""), NULL, 1 };
	struct dura_orch_item *it;
	VTRY(dura_venqueue(t, "i1", "start", 0));
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	struct dura_orch_ack a1 = { .execution = 1, .history = turn1, .n_history = 2, .meta = &meta };
	VTRY(dura_vack(t, it->token, &a1, DURA_OK));
	dura_vrelease(t, it);
	VTRY(dura_venqueue(t, "i1", "next", 0));
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VCHECK(t, it->execution == 1, "execution %llu, expected 1", (unsigned long long)it->execution);
	VCHECK(t, it->n_history == 2 && it->history[0].event_id == 1 && it->history[1].event_id == 2 &&
	          dura_vbytes_is(it->history[0].body, "e1") && dura_vbytes_is(it->history[1].body, "e2"),
	       "fetch returned %zu history events, expected ids 1,2 ascending with their bodies", it->n_history);
	struct dura_orch_ack a2 = { .execution = 1, .history = turn2, .n_history = 3 };
	VTRY(dura_vack(t, it->token, &a2, DURA_OK));
	dura_vrelease(t, it);
	VTRY(dura_vexpect_history(t, "i1", 1, ids, bodies, 5));
	VTRY(dura_venqueue(t, "i1", "again", 0));
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VCHECK(t, it->n_history == 5, "fetch returned %zu history events, expected 5", it->n_history);
	for (size_t i = 0; i < 5; i++)
		VCHECK(t, it->history[i].event_id == ids[i] && dura_vbytes_is(it->history[i].body, bodies[i]),
		       "fetch history event %zu has id %llu, expected %llu (ascending, with body)", i,
		       (unsigned long long)it->history[i].event_id, (unsigned long long)ids[i]);
	dura_vrelease(t, it);
	return DURA_VPASS;
}

const struct dura_vtest dura_vtests_queue[] = {
	{ "orch_messages_in_order", orch_messages_in_order,
	  "an instance's messages come in enqueue order, across enqueue calls" },
	{ "orch_oldest_instance_first", orch_oldest_instance_first,
	  "instances are picked in order of their oldest visible message" },
	{ "messages_during_turn_survive_ack", messages_during_turn_survive_ack,
	  "a message arriving during a turn is not deleted by the ack and comes next" },
	{ "delayed_message_visibility", delayed_message_visibility,
	  "enqueue delay_ms hides a message until then, also from its instance's batch" },
	{ "delayed_items_from_ack", delayed_items_from_ack,
	  "work and orchestrator items from an ack honour delay_ms" },
	{ "attempts_per_message", attempts_per_message,
	  "attempt counts are per message; the item reports the max" },
	{ "unknown_instance_messages_acked_away", unknown_instance_messages_acked_away,
	  "messages for instances without history are fetched and acked away without blocking" },
	{ "fetch_history_matches_reads", fetch_history_matches_reads,
	  "fetch and read_history return the whole history ascending by event id" },
	{ NULL, NULL, NULL },
};
