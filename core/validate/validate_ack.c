/* Conformance tests: what one orchestration ack commits — everything at
 * once, or (duplicate event id) nothing at all — and execution isolation. */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <string.h>

/* Collects every visible orchestrator item (wait 0), acking each empty, and
 * checks that exactly the expected (instance, body) pairs came.  Used after
 * an ack to see what it enqueued. */
static int expect_orch_messages(struct dura_vctx *t, const char *const *instances,
                                const char *const *bodies, size_t n, const char *context)
{
	unsigned char found[16] = { 0 };
	size_t got = 0;
	for (;;) {
		struct dura_orch_item *it;
		VTRY(dura_vfetch(t, DURA_VLOCK_MS, 0, (got < n) ? DURA_OK : DURA_EMPTY, &it));
		if (!it)
			break;
		for (size_t m = 0; m < it->n_messages; m++) {
			size_t k = 0;
			while (k < n && (found[k] || strcmp(instances[k], it->instance) != 0 ||
			                 !dura_vbytes_is(it->messages[m].body, bodies[k])))
				k++;
			char shown[128];
			VCHECK(t, k < n, "%s: unexpected message %s for instance '%s'", context,
			       dura_vbytes_show(it->messages[m].body, shown, sizeof shown), it->instance);
			found[k] = 1;
			got++;
		}
		VTRY(dura_vack_empty(t, it->token, DURA_OK));
		dura_vrelease(t, it);
		if (got > n)
			break;
	}
	for (size_t k = 0; k < n; k++)
		VCHECK(t, found[k], "%s: message \"%s\" for instance '%s' is missing", context, bodies[k],
		       instances[k]);
	return 0;
}

static int expect_work_items(struct dura_vctx *t, const char *const *bodies, size_t n,
                             const char *context)
{
	for (size_t k = 0; k < n; k++) {
		struct dura_work_item *w;
		if (dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w) != 0)
			return dura_vprefix(t, "%s: work item %zu (\"%s\") missing", context, k, bodies[k]);
		char shown[128];
		VCHECK(t, dura_vbytes_is(w->body, bodies[k]), "%s: work item %zu is %s, expected \"%s\"",
		       context, k, dura_vbytes_show(w->body, shown, sizeof shown), bodies[k]);
		VTRY(dura_vack_work(t, w->token, NULL, DURA_OK));
		dura_vrelease_work(t, w);
	}
	VTRY(dura_vexpect_no_work(t, context));
	return 0;
}

static int ack_multi_operation(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "parent", "start", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "parent", 1, &it));
	struct dura_event ev[] = { { 1, dura_vstr("started") }, { 2, dura_vstr("scheduled a") },
	                           { 3, dura_vstr("scheduled b") } };
	struct dura_message work[] = { { "parent", dura_vstr("activity a"), 0 },
	                               { "parent", dura_vstr("activity b"), 0 } };
	struct dura_message orch[] = { { "child-1", dura_vstr("start child 1"), 0 },
	                               { "child-2", dura_vstr("start child 2"), 0 },
	                               { "parent", dura_vstr("note to self"), 0 } };
	struct dura_instance_meta meta = { "fanout", DURA_STATUS_RUNNING, dura_vstr(""), NULL, 1 };
	struct dura_orch_ack ack = { 1, ev, 3, work, 2, orch, 3, &meta };
	VTRY(dura_vack(t, it->token, &ack, DURA_OK));
	dura_vrelease(t, it);

	const uint64_t ids[] = { 1, 2, 3 };
	const char *bodies[] = { "started", "scheduled a", "scheduled b" };
	VTRY(dura_vexpect_history(t, "parent", 1, ids, bodies, 3));
	struct dura_instance_meta *m;
	VTRY(dura_vstatus(t, "parent", DURA_OK, &m));
	VCHECK(t, m->status == DURA_STATUS_RUNNING && m->execution == 1 && m->name &&
	          strcmp(m->name, "fanout") == 0,
	       "metadata after the ack: name %s status %d execution %llu, expected fanout/1/1",
	       m->name ? m->name : "NULL", (int)m->status, (unsigned long long)m->execution);
	dura_vrelease_status(t, m);
	const char *wb[] = { "activity a", "activity b" };
	VTRY(expect_work_items(t, wb, 2, "work items of the ack"));
	const char *oi[] = { "child-1", "child-2", "parent" };
	const char *ob[] = { "start child 1", "start child 2", "note to self" };
	VTRY(expect_orch_messages(t, oi, ob, 3, "orchestrator items of the ack"));
	return DURA_VPASS;
}

/* Runs one turn of "i1" that writes events 1 and 2 and metadata. */
static int first_turn(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "start", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	struct dura_event ev[] = { { 1, dura_vstr("e1") }, { 2, dura_vstr("e2") } };
	struct dura_instance_meta meta = { "orch", DURA_STATUS_RUNNING, dura_vstr(""), NULL, 1 };
	struct dura_orch_ack ack = { .execution = 1, .history = ev, .n_history = 2, .meta = &meta };
	VTRY(dura_vack(t, it->token, &ack, DURA_OK));
	dura_vrelease(t, it);
	return 0;
}

/* The state after a refused ack must be exactly the state before it. */
static int expect_untouched(struct dura_vctx *t, const char *context)
{
	const uint64_t ids[] = { 1, 2 };
	const char *bodies[] = { "e1", "e2" };
	if (dura_vexpect_history(t, "i1", 1, ids, bodies, 2) != 0)
		return dura_vprefix(t, "%s: history changed", context);
	struct dura_instance_meta *m;
	VTRY(dura_vstatus(t, "i1", DURA_OK, &m));
	int same = m->status == DURA_STATUS_RUNNING && m->output.len == 0;
	int32_t status = m->status;
	dura_vrelease_status(t, m);
	VCHECK(t, same, "%s: metadata changed (status %d, expected %d)", context, (int)status,
	       DURA_STATUS_RUNNING);
	char why[256];
	snprintf(why, sizeof why, "%s: work items were enqueued", context);
	VTRY(dura_vexpect_no_work(t, why));
	/* i1 stays locked and no other instance got a message. */
	snprintf(why, sizeof why, "%s: the lock was released or orchestrator items were enqueued", context);
	VTRY(dura_vexpect_no_orch(t, why));
	VTRY(dura_vstatus(t, "other", DURA_EMPTY, NULL));
	return 0;
}

static int ack_duplicate_event_rolls_back(struct dura_vctx *t)
{
	VTRY(first_turn(t));
	VTRY(dura_venqueue(t, "i1", "second", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	/* Event 3 is new, event 2 already exists: nothing may stick. */
	struct dura_event bad[] = { { 3, dura_vstr("e3") }, { 2, dura_vstr("dup") } };
	struct dura_message work = { "i1", dura_vstr("work"), 0 };
	struct dura_message orch[] = { { "other", dura_vstr("to other"), 0 },
	                               { "i1", dura_vstr("to self"), 0 } };
	struct dura_instance_meta done = { "orch", DURA_STATUS_COMPLETED, dura_vstr("out"), NULL, 1 };
	struct dura_orch_ack ack = { 1, bad, 2, &work, 1, orch, 2, &done };
	VTRY(dura_vack(t, it->token, &ack, DURA_PERMANENT));
	VTRY(expect_untouched(t, "after the refused ack"));
	/* The lock is kept: the same token acks a corrected turn, and the
	 * queue message is still there to be consumed by it. */
	struct dura_event good[] = { { 3, dura_vstr("e3") }, { 4, dura_vstr("e4") } };
	struct dura_orch_ack fixed = { 1, good, 2, &work, 1, NULL, 0, &done };
	VTRY(dura_vack(t, it->token, &fixed, DURA_OK));
	dura_vrelease(t, it);
	const uint64_t ids[] = { 1, 2, 3, 4 };
	const char *bodies[] = { "e1", "e2", "e3", "e4" };
	VTRY(dura_vexpect_history(t, "i1", 1, ids, bodies, 4));
	VTRY(dura_vexpect_no_orch(t, "the corrected ack left the turn's message in the queue"));
	const char *wb[] = { "work" };
	VTRY(expect_work_items(t, wb, 1, "work of the corrected ack"));
	return DURA_VPASS;
}

static int ack_duplicate_within_ack_rolls_back(struct dura_vctx *t)
{
	VTRY(first_turn(t));
	VTRY(dura_venqueue(t, "i1", "second", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	struct dura_event bad[] = { { 5, dura_vstr("e5") }, { 6, dura_vstr("e6") }, { 5, dura_vstr("again") } };
	struct dura_message work = { "i1", dura_vstr("work"), 0 };
	struct dura_message orch = { "other", dura_vstr("to other"), 0 };
	struct dura_instance_meta done = { "orch", DURA_STATUS_FAILED, dura_vstr("x"), NULL, 1 };
	struct dura_orch_ack ack = { 1, bad, 3, &work, 1, &orch, 1, &done };
	VTRY(dura_vack(t, it->token, &ack, DURA_PERMANENT));
	VTRY(expect_untouched(t, "after an ack with event id 5 twice"));
	VTRY(dura_vack_empty(t, it->token, DURA_OK));
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int continue_as_new_isolation(struct dura_vctx *t)
{
	VTRY(first_turn(t)); /* execution 1: events 1, 2 */
	VTRY(dura_venqueue(t, "i1", "go on", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VCHECK(t, it->execution == 1 && it->n_history == 2,
	       "turn 2: execution %llu with %zu events, expected execution 1 with 2",
	       (unsigned long long)it->execution, it->n_history);
	/* Continue as new: close execution 1, switch metadata to execution 2
	 * and send the new start to self, in one ack. */
	struct dura_event last = { 3, dura_vstr("continued as new") };
	struct dura_message restart = { "i1", dura_vstr("start #2"), 0 };
	struct dura_instance_meta m2 = { "orch", DURA_STATUS_RUNNING, dura_vstr(""), NULL, 2 };
	struct dura_orch_ack can = { 1, &last, 1, NULL, 0, &restart, 1, &m2 };
	VTRY(dura_vack(t, it->token, &can, DURA_OK));
	dura_vrelease(t, it);

	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VCHECK(t, it->execution == 2, "after continue-as-new: execution %llu, expected 2",
	       (unsigned long long)it->execution);
	VCHECK(t, it->n_history == 0, "execution 2 starts with %zu history events, expected 0",
	       it->n_history);
	VCHECK(t, dura_vbytes_is(it->messages[0].body, "start #2"), "expected the new start message");
	/* Event ids restart per execution. */
	struct dura_event ev2[] = { { 1, dura_vstr("x2-e1") }, { 2, dura_vstr("x2-e2") } };
	struct dura_orch_ack a2 = { .execution = 2, .history = ev2, .n_history = 2 };
	VTRY(dura_vack(t, it->token, &a2, DURA_OK));
	dura_vrelease(t, it);

	const uint64_t ids1[] = { 1, 2, 3 };
	const char *b1[] = { "e1", "e2", "continued as new" };
	VTRY(dura_vexpect_history(t, "i1", 1, ids1, b1, 3));
	const uint64_t ids2[] = { 1, 2 };
	const char *b2[] = { "x2-e1", "x2-e2" };
	VTRY(dura_vexpect_history(t, "i1", 2, ids2, b2, 2));
	VTRY(dura_venqueue(t, "i1", "later", 0));
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VCHECK(t, it->execution == 2 && it->n_history == 2 && it->history[0].event_id == 1 &&
	          dura_vbytes_is(it->history[0].body, "x2-e1"),
	       "turn 4: execution %llu with %zu events, expected execution 2 with its own 2 events",
	       (unsigned long long)it->execution, it->n_history);
	dura_vrelease(t, it);
	return DURA_VPASS;
}

const struct dura_vtest dura_vtests_ack[] = {
	{ "ack_multi_operation", ack_multi_operation,
	  "one ack writes history, work items, orchestrator items (self and others) and metadata" },
	{ "ack_duplicate_event_rolls_back", ack_duplicate_event_rolls_back,
	  "a duplicate event id refuses the whole ack (PERMANENT), keeps the lock; a fixed ack succeeds" },
	{ "ack_duplicate_within_ack_rolls_back", ack_duplicate_within_ack_rolls_back,
	  "the same event id twice in one ack refuses all of it" },
	{ "continue_as_new_isolation", continue_as_new_isolation,
	  "a new execution starts with empty history; the old one stays readable" },
	{ NULL, NULL, NULL },
};
