/* Conformance tests: the worker queue — FIFO, peek-lock, expiry, acks with
 * completions, abandon, renew, attempts. */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <string.h>

static int work_fifo(struct dura_vctx *t)
{
	const char *first[] = { "w1", "w2", "w3" };
	const char *second[] = { "w4", "w5" };
	VTRY(dura_vseed_work(t, "a", first, 3, 0));
	dura_sleep_ms(3);
	VTRY(dura_vseed_work(t, "b", second, 2, 0));
	const char *want[] = { "w1", "w2", "w3", "w4", "w5" };
	for (int i = 0; i < 5; i++) {
		struct dura_work_item *w;
		VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
		char shown[128];
		VCHECK(t, dura_vbytes_is(w->body, want[i]), "fetch %d returned %s, expected \"%s\" (oldest first)",
		       i + 1, dura_vbytes_show(w->body, shown, sizeof shown), want[i]);
		VCHECK(t, w->attempts == 1, "first delivery of %s has attempts %u, expected 1", want[i], w->attempts);
		VCHECK(t, strcmp(w->instance, i < 3 ? "a" : "b") == 0, "work item %s has instance '%s', expected '%s'",
		       want[i], w->instance, i < 3 ? "a" : "b");
		VTRY(dura_vack_work(t, w->token, NULL, DURA_OK));
		dura_vrelease_work(t, w);
	}
	VTRY(dura_vexpect_no_work(t, "after acking every item"));
	return DURA_VPASS;
}

static int work_peek_lock(struct dura_vctx *t)
{
	const char *bodies[] = { "w1", "w2" };
	VTRY(dura_vseed_work(t, "a", bodies, 2, 0));
	struct dura_work_item *w1, *w2;
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w1));
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w2));
	VCHECK(t, dura_vbytes_is(w1->body, "w1") && dura_vbytes_is(w2->body, "w2"),
	       "the second fetch did not skip the locked item");
	VTRY(dura_vexpect_no_work(t, "both items are locked"));
	VTRY(dura_vack_work(t, w1->token, NULL, DURA_OK));
	VTRY(dura_vexpect_no_work(t, "after acking one, the other is still locked"));
	VTRY(dura_vack_work(t, w2->token, NULL, DURA_OK));
	dura_vrelease_work(t, w1);
	dura_vrelease_work(t, w2);
	return DURA_VPASS;
}

static int work_lock_expiry_redelivers(struct dura_vctx *t)
{
	const char *bodies[] = { "w1" };
	VTRY(dura_vseed_work(t, "a", bodies, 1, 0));
	uint64_t old;
	VTRY(dura_vfetch_work_expired(t, &old));
	struct dura_work_item *w;
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
	VCHECK(t, dura_vbytes_is(w->body, "w1") && w->attempts == 2,
	       "after lock expiry: attempts %u, expected the same item with attempts 2", w->attempts);
	VCHECK(t, w->token != old, "redelivery reused token %llu", (unsigned long long)old);
	VTRY(dura_vack_work(t, old, NULL, DURA_LOCK_LOST));
	VTRY(dura_vack_work(t, w->token, NULL, DURA_OK));
	dura_vrelease_work(t, w);
	return DURA_VPASS;
}

static int work_ack_with_completion(struct dura_vctx *t)
{
	const char *bodies[] = { "task" };
	VTRY(dura_vseed_work(t, "i1", bodies, 1, 0));
	struct dura_work_item *w;
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
	VTRY(dura_vexpect_no_orch(t, "before the ack"));
	struct dura_message c = { "i1", dura_vstr("result"), 0 };
	VTRY(dura_vack_work(t, w->token, &c, DURA_OK));
	dura_vrelease_work(t, w);
	VTRY(dura_vexpect_no_work(t, "the acked item is still there"));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VCHECK(t, dura_vbytes_is(it->messages[0].body, "result"), "the completion body differs");
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int work_ack_stale_token_enqueues_nothing(struct dura_vctx *t)
{
	const char *bodies[] = { "task" };
	VTRY(dura_vseed_work(t, "i1", bodies, 1, 0));
	uint64_t stale;
	VTRY(dura_vfetch_work_expired(t, &stale));
	struct dura_work_item *w;
	struct dura_message c = { "i1", dura_vstr("late result"), 0 };
	VTRY(dura_vack_work(t, stale, &c, DURA_LOCK_LOST));
	VTRY(dura_vexpect_no_orch(t, "an ack with an expired token enqueued its completion"));
	/* A second worker takes the item; the stale token still fails. */
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
	VTRY(dura_vack_work(t, stale, &c, DURA_LOCK_LOST));
	VTRY(dura_vexpect_no_orch(t, "a stale ack enqueued its completion while another worker held the item"));
	struct dura_message c2 = { "i1", dura_vstr("result"), 0 };
	VTRY(dura_vack_work(t, w->token, &c2, DURA_OK));
	dura_vrelease_work(t, w);
	/* Exactly one completion. */
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	VCHECK(t, dura_vbytes_is(it->messages[0].body, "result"), "the completion is not the valid ack's");
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int work_ack_twice(struct dura_vctx *t)
{
	const char *bodies[] = { "task" };
	VTRY(dura_vseed_work(t, "i1", bodies, 1, 0));
	struct dura_work_item *w;
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
	struct dura_message c = { "i1", dura_vstr("result"), 0 };
	VTRY(dura_vack_work(t, w->token, &c, DURA_OK));
	VTRY(dura_vack_work(t, w->token, &c, DURA_LOCK_LOST));
	VTRY(dura_vabandon_work(t, w->token, 0, DURA_LOCK_LOST));
	VTRY(dura_vrenew_work(t, w->token, DURA_VLOCK_MS, DURA_LOCK_LOST));
	dura_vrelease_work(t, w);
	VTRY(dura_vexpect_no_work(t, "after the ack"));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int work_ack_without_completion(struct dura_vctx *t)
{
	const char *bodies[] = { "fire and forget" };
	VTRY(dura_vseed_work(t, "i1", bodies, 1, 0));
	struct dura_work_item *w;
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
	VTRY(dura_vack_work(t, w->token, NULL, DURA_OK));
	dura_vrelease_work(t, w);
	VTRY(dura_vexpect_no_work(t, "after the ack"));
	VTRY(dura_vexpect_no_orch(t, "an ack without completion enqueued something"));
	return DURA_VPASS;
}

static int work_completion_delay(struct dura_vctx *t)
{
	const char *bodies[] = { "task" };
	VTRY(dura_vseed_work(t, "i1", bodies, 1, 0));
	struct dura_work_item *w;
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
	struct dura_message c = { "i1", dura_vstr("retry timer"), 1200 };
	VTRY(dura_vack_work(t, w->token, &c, DURA_OK));
	dura_vrelease_work(t, w);
	VTRY(dura_vexpect_no_orch(t, "completion with delay 1200 ms was visible at once"));
	struct dura_orch_item *it;
	VTRY(dura_vfetch(t, DURA_VLOCK_MS, 8000, DURA_OK, &it));
	VCHECK(t, strcmp(it->instance, "i1") == 0, "fetched '%s', expected 'i1'", it->instance);
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int work_abandon(struct dura_vctx *t)
{
	const char *bodies[] = { "w1" };
	VTRY(dura_vseed_work(t, "a", bodies, 1, 0));
	struct dura_work_item *w;
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
	VTRY(dura_vabandon_work(t, w->token, 0, DURA_OK));
	VTRY(dura_vabandon_work(t, w->token, 0, DURA_LOCK_LOST));
	dura_vrelease_work(t, w);
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
	VCHECK(t, w->attempts == 2, "after abandon(0): attempts %u, expected 2", w->attempts);
	VTRY(dura_vabandon_work(t, w->token, 1500, DURA_OK));
	dura_vrelease_work(t, w);
	VTRY(dura_vexpect_no_work(t, "work item abandoned with delay 1500 ms was visible at once"));
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 8000, DURA_OK, &w));
	VCHECK(t, w->attempts == 3, "after abandon(1500): attempts %u, expected 3", w->attempts);
	VTRY(dura_vack_work(t, w->token, NULL, DURA_OK));
	dura_vrelease_work(t, w);
	return DURA_VPASS;
}

static int work_bogus_token_rejected(struct dura_vctx *t)
{
	const char *bodies[] = { "w1" };
	VTRY(dura_vseed_work(t, "i1", bodies, 1, 0));
	struct dura_work_item *w;
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
	uint64_t bogus[] = { w->token + 7919, w->token ^ 0x5a5a5a5a5a5a5a5aull, UINT64_MAX, 0 };
	struct dura_message c = { "i1", dura_vstr("result"), 0 };
	for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
		if (bogus[i] == w->token)
			continue;
		VTRY(dura_vack_work(t, bogus[i], &c, DURA_LOCK_LOST));
		VTRY(dura_vabandon_work(t, bogus[i], 0, DURA_LOCK_LOST));
		VTRY(dura_vrenew_work(t, bogus[i], DURA_VLOCK_MS, DURA_LOCK_LOST));
	}
	VTRY(dura_vexpect_no_orch(t, "an ack with a bogus token enqueued its completion"));
	VTRY(dura_vexpect_no_work(t, "a bogus abandon released the item"));
	VTRY(dura_vack_work(t, w->token, NULL, DURA_OK));
	dura_vrelease_work(t, w);
	return DURA_VPASS;
}

static int work_renew_extends_lock(struct dura_vctx *t)
{
	const char *bodies[] = { "long task" };
	VTRY(dura_vseed_work(t, "i1", bodies, 1, 0));
	struct dura_work_item *w;
	VTRY(dura_vfetch_work(t, DURA_VSHORT_LOCK_MS * 2, 0, DURA_OK, &w));
	VTRY(dura_vrenew_work(t, w->token, DURA_VLOCK_MS, DURA_OK));
	dura_sleep_ms(DURA_VSHORT_LOCK_MS * 2 + DURA_VPAST_SHORT_LOCK_MS);
	VTRY(dura_vexpect_no_work(t, "renewed work lock was lost at the original expiry"));
	VTRY(dura_vack_work(t, w->token, NULL, DURA_OK));
	dura_vrelease_work(t, w);
	return DURA_VPASS;
}

static int work_renew_expired_lock(struct dura_vctx *t)
{
	const char *bodies[] = { "task" };
	VTRY(dura_vseed_work(t, "i1", bodies, 1, 0));
	uint64_t tok;
	VTRY(dura_vfetch_work_expired(t, &tok));
	struct dura_work_item *w;
	VTRY(dura_vrenew_work(t, tok, DURA_VLOCK_MS, DURA_LOCK_LOST));
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
	VCHECK(t, w->attempts == 2, "redelivery after expiry has attempts %u, expected 2", w->attempts);
	dura_vrelease_work(t, w);
	return DURA_VPASS;
}

static int work_attempts_per_item(struct dura_vctx *t)
{
	const char *bodies[] = { "a", "b" };
	VTRY(dura_vseed_work(t, "i1", bodies, 2, 0));
	/* "a" is abandoned twice, "b" once: counts do not leak between items. */
	uint32_t want_a = 1, want_b = 1;
	for (int round = 0; round < 3; round++) {
		struct dura_work_item *w;
		VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
		int is_a = dura_vbytes_is(w->body, "a");
		uint32_t want = is_a ? want_a : want_b;
		VCHECK(t, w->attempts == want, "round %d: item \"%s\" has attempts %u, expected %u", round,
		       is_a ? "a" : "b", w->attempts, want);
		if (is_a)
			want_a++;
		else
			want_b++;
		VTRY(dura_vabandon_work(t, w->token, 0, DURA_OK));
		dura_vrelease_work(t, w);
	}
	return DURA_VPASS;
}

const struct dura_vtest dura_vtests_work[] = {
	{ "work_fifo", work_fifo, "work items come oldest first, attempts 1, with their instance" },
	{ "work_peek_lock", work_peek_lock, "a locked work item is not handed out twice" },
	{ "work_lock_expiry_redelivers", work_lock_expiry_redelivers,
	  "an expired work lock redelivers the item with attempts + 1; the old token is dead" },
	{ "work_ack_with_completion", work_ack_with_completion,
	  "ack deletes the item and enqueues the completion" },
	{ "work_ack_stale_token_enqueues_nothing", work_ack_stale_token_enqueues_nothing,
	  "an ack with an expired token is LOCK_LOST and enqueues no completion" },
	{ "work_ack_twice", work_ack_twice,
	  "a second ack/abandon/renew with the same token is LOCK_LOST, one completion only" },
	{ "work_ack_without_completion", work_ack_without_completion,
	  "ack with completion = NULL deletes and enqueues nothing" },
	{ "work_completion_delay", work_completion_delay, "a completion's delay_ms is honoured" },
	{ "work_abandon", work_abandon, "abandon with and without delay redelivers with attempts + 1" },
	{ "work_bogus_token_rejected", work_bogus_token_rejected,
	  "ack/abandon/renew with a bogus token: LOCK_LOST, nothing changed" },
	{ "work_renew_extends_lock", work_renew_extends_lock,
	  "renew keeps the item locked past the original expiry" },
	{ "work_renew_expired_lock", work_renew_expired_lock, "renew of an expired work lock is LOCK_LOST" },
	{ "work_attempts_per_item", work_attempts_per_item, "attempt counts are per work item" },
	{ NULL, NULL, NULL },
};
