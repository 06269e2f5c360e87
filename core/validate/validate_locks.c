/* Conformance tests: instance locks, tokens, lock expiry, renew and
 * abandon on the orchestrator side. */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <string.h>

static int fetch_returns_message(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "start", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	char shown[128];
	VCHECK(t, dura_vbytes_is(it->messages[0].body, "start"), "message body %s, expected \"start\"",
	       dura_vbytes_show(it->messages[0].body, shown, sizeof shown));
	VCHECK(t, it->execution == 0, "execution %llu for an instance without metadata, expected 0",
	       (unsigned long long)it->execution);
	VCHECK(t, it->n_history == 0, "%zu history events for a new instance, expected 0", it->n_history);
	VCHECK(t, it->messages[0].attempts == 1 && it->attempts == 1,
	       "attempts %u (message %u) on first delivery, expected 1", it->attempts,
	       it->messages[0].attempts);
	VTRY(dura_vack_empty(t, it->token, DURA_OK));
	dura_vrelease(t, it);
	VTRY(dura_vexpect_no_orch(t, "after the ack the message is still there"));
	return DURA_VPASS;
}

static int instance_lock_exclusive(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "m1", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VTRY(dura_vexpect_no_orch(t, "second fetch while 'i1' is locked"));
	VTRY(dura_venqueue(t, "i1", "m2", 0));
	VTRY(dura_vexpect_no_orch(t, "fetch after a new message for locked 'i1'"));
	VTRY(dura_vack_empty(t, it->token, DURA_OK));
	dura_vrelease(t, it);
	/* Unlocked now: the new message is delivered. */
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VCHECK(t, dura_vbytes_is(it->messages[0].body, "m2"), "after the ack expected message \"m2\"");
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int fetch_skips_locked_instance(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "first", "a", 0));
	dura_sleep_ms(5);
	VTRY(dura_venqueue(t, "second", "b", 0));
	struct dura_orch_item *a, *b;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "first", 1, &a));
	/* The oldest visible message belongs to a locked instance: the next
	 * eligible instance must be returned, not EMPTY. */
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "second", 1, &b));
	dura_vrelease(t, a);
	dura_vrelease(t, b);
	return DURA_VPASS;
}

static int instance_lock_expiry(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "m1", 0));
	uint64_t old;
	VTRY(dura_vfetch_expired(t, "i1", &old));
	struct dura_orch_item *it;
	/* The lock expired: another fetcher gets the instance again. */
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VCHECK(t, it->token != old, "the refetch after expiry reused token %llu", (unsigned long long)old);
	VCHECK(t, it->messages[0].attempts == 2, "redelivered message has attempts %u, expected 2",
	       it->messages[0].attempts);
	VTRY(dura_vack_empty(t, old, DURA_LOCK_LOST));
	VTRY(dura_vack_empty(t, it->token, DURA_OK));
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int tokens_unique(struct dura_vctx *t)
{
	enum { N = 12 };
	uint64_t seen[3 * N];
	size_t n = 0;
	char inst[32];
	for (int i = 0; i < N; i++) {
		snprintf(inst, sizeof inst, "i%d", i);
		VTRY(dura_venqueue(t, inst, "m", 0));
	}
	/* First delivery, redelivery after abandon, and work items. */
	for (int round = 0; round < 2; round++) {
		struct dura_orch_item *items[N];
		for (int i = 0; i < N; i++) {
			VTRY(dura_vfetch(t, DURA_VLOCK_MS, 0, DURA_OK, &items[i]));
			seen[n++] = items[i]->token;
		}
		for (int i = 0; i < N; i++) {
			if (round == 0) {
				VTRY(dura_vabandon(t, items[i]->token, 0, DURA_OK));
			} else {
				struct dura_message w = { items[i]->instance, dura_vstr("w"), 0 };
				struct dura_orch_ack ack = { .execution = 1, .work_items = &w, .n_work_items = 1 };
				VTRY(dura_vack(t, items[i]->token, &ack, DURA_OK));
			}
			dura_vrelease(t, items[i]);
		}
	}
	for (int i = 0; i < N; i++) {
		struct dura_work_item *w;
		VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
		seen[n++] = w->token;
		dura_vrelease_work(t, w);
	}
	for (size_t i = 0; i < n; i++) {
		VCHECK(t, seen[i] != 0, "fetch %zu returned token 0", i);
		for (size_t j = 0; j < i; j++)
			VCHECK(t, seen[i] != seen[j], "fetches %zu and %zu returned the same token %llu", j, i,
			       (unsigned long long)seen[i]);
	}
	return DURA_VPASS;
}

static int orch_bogus_token_rejected(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "m1", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	uint64_t bogus[] = { it->token + 7919, it->token ^ 0x5a5a5a5a5a5a5a5aull, UINT64_MAX, 0 };
	struct dura_event ev = { 1, dura_vstr("e") };
	struct dura_orch_ack ack = { .execution = 1, .history = &ev, .n_history = 1 };
	for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
		if (bogus[i] == it->token)
			continue;
		VTRY(dura_vack(t, bogus[i], &ack, DURA_LOCK_LOST));
		VTRY(dura_vabandon(t, bogus[i], 0, DURA_LOCK_LOST));
		VTRY(dura_vrenew(t, bogus[i], DURA_VLOCK_MS, DURA_LOCK_LOST));
	}
	/* Nothing changed: the real token still works and nothing was written. */
	VTRY(dura_vexpect_history(t, "i1", 1, NULL, NULL, 0));
	VTRY(dura_vexpect_no_orch(t, "a rejected abandon released the lock"));
	VTRY(dura_vack(t, it->token, &ack, DURA_OK));
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int orch_expired_token_rejected(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "m1", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VSHORT_LOCK_MS, "i1", 1, &it));
	dura_sleep_ms(DURA_VPAST_SHORT_LOCK_MS);
	struct dura_event ev = { 1, dura_vstr("e") };
	struct dura_message w = { "i1", dura_vstr("w"), 0 };
	struct dura_orch_ack ack = { .execution = 1, .history = &ev, .n_history = 1,
	                             .work_items = &w, .n_work_items = 1 };
	VTRY(dura_vack(t, it->token, &ack, DURA_LOCK_LOST));
	VTRY(dura_vabandon(t, it->token, 0, DURA_LOCK_LOST));
	dura_vrelease(t, it);
	/* The rejected ack changed nothing: no history, no work, message kept. */
	VTRY(dura_vexpect_history(t, "i1", 1, NULL, NULL, 0));
	VTRY(dura_vexpect_no_work(t, "an ack with an expired token enqueued work"));
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int orch_token_dead_after_ack(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "m1", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	uint64_t tok = it->token;
	VTRY(dura_vack_empty(t, tok, DURA_OK));
	dura_vrelease(t, it);
	VTRY(dura_vack_empty(t, tok, DURA_LOCK_LOST));
	VTRY(dura_vabandon(t, tok, 0, DURA_LOCK_LOST));
	VTRY(dura_vrenew(t, tok, DURA_VLOCK_MS, DURA_LOCK_LOST));
	/* The old token must not touch the instance's next turn either. */
	VTRY(dura_venqueue(t, "i1", "m2", 0));
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VTRY(dura_vack_empty(t, tok, DURA_LOCK_LOST));
	VTRY(dura_vack_empty(t, it->token, DURA_OK));
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int orch_renew_extends_lock(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "m1", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VSHORT_LOCK_MS * 2, "i1", 1, &it));
	VTRY(dura_vrenew(t, it->token, DURA_VLOCK_MS, DURA_OK));
	dura_sleep_ms(DURA_VSHORT_LOCK_MS * 2 + DURA_VPAST_SHORT_LOCK_MS);
	/* Past the original expiry: still locked. */
	VTRY(dura_vexpect_no_orch(t, "renewed lock was lost at the original expiry"));
	VTRY(dura_vrenew(t, it->token, DURA_VLOCK_MS, DURA_OK));
	VTRY(dura_vack_empty(t, it->token, DURA_OK));
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int orch_renew_expired_lock(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "m1", 0));
	uint64_t tok;
	VTRY(dura_vfetch_expired(t, "i1", &tok));
	struct dura_orch_item *it;
	VTRY(dura_vrenew(t, tok, DURA_VLOCK_MS, DURA_LOCK_LOST));
	/* The instance is free for another fetcher. */
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int orch_abandon_redelivers(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "m1", 0));
	struct dura_orch_item *it;
	for (uint32_t attempt = 1; attempt <= 4; attempt++) {
		VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
		VCHECK(t, it->messages[0].attempts == attempt && it->attempts == attempt,
		       "delivery %u: attempts %u (item %u), expected %u", attempt,
		       it->messages[0].attempts, it->attempts, attempt);
		VCHECK(t, dura_vbytes_is(it->messages[0].body, "m1"), "delivery %u: wrong body", attempt);
		VTRY(dura_vabandon(t, it->token, 0, DURA_OK));
		VTRY(dura_vabandon(t, it->token, 0, DURA_LOCK_LOST));
		dura_vrelease(t, it);
	}
	VTRY(dura_vexpect_history(t, "i1", 1, NULL, NULL, 0));
	return DURA_VPASS;
}

static int orch_abandon_with_delay(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "m1", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VTRY(dura_vabandon(t, it->token, 1500, DURA_OK));
	dura_vrelease(t, it);
	VTRY(dura_vexpect_no_orch(t, "message abandoned with delay 1500 ms was visible at once"));
	/* Long poll up to well past the delay. */
	VTRY(dura_vfetch(t, DURA_VLOCK_MS, 8000, DURA_OK, &it));
	VCHECK(t, strcmp(it->instance, "i1") == 0 && it->messages[0].attempts == 2,
	       "after the abandon delay: instance '%s' attempts %u, expected 'i1' attempts 2",
	       it->instance, it->messages[0].attempts);
	dura_vrelease(t, it);
	return DURA_VPASS;
}

const struct dura_vtest dura_vtests_locks[] = {
	{ "fetch_returns_message", fetch_returns_message,
	  "a fetch returns the message, execution 0, no history, attempts 1" },
	{ "instance_lock_exclusive", instance_lock_exclusive,
	  "a locked instance is not handed out again, even with new messages" },
	{ "fetch_skips_locked_instance", fetch_skips_locked_instance,
	  "when the oldest message's instance is locked, the next instance is returned" },
	{ "instance_lock_expiry", instance_lock_expiry,
	  "an expired instance lock lets another fetch take it; the old token is dead" },
	{ "tokens_unique", tokens_unique,
	  "every fetch (and refetch) returns a new non-zero token" },
	{ "orch_bogus_token_rejected", orch_bogus_token_rejected,
	  "ack/abandon/renew with a bogus token: LOCK_LOST, nothing changed" },
	{ "orch_expired_token_rejected", orch_expired_token_rejected,
	  "ack/abandon with an expired token: LOCK_LOST, nothing written" },
	{ "orch_token_dead_after_ack", orch_token_dead_after_ack,
	  "after an ack its token is rejected by ack, abandon and renew" },
	{ "orch_renew_extends_lock", orch_renew_extends_lock,
	  "renew keeps the instance locked past the original expiry" },
	{ "orch_renew_expired_lock", orch_renew_expired_lock,
	  "renew of an expired lock is LOCK_LOST" },
	{ "orch_abandon_redelivers", orch_abandon_redelivers,
	  "abandon(0) redelivers at once with attempts + 1" },
	{ "orch_abandon_with_delay", orch_abandon_with_delay,
	  "abandon(delay) hides the messages until the delay has passed" },
	{ NULL, NULL, NULL },
};
