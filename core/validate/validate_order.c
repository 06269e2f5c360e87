/*
 * Ordering under delay, abandonment and redelivery: an instance's messages
 * come back in enqueue order whatever happened to them before, and the
 * worker queue stays oldest first when an item comes back.
 */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

/* Fetches inst and checks its messages are bodies[0..n) with attempts[]. */
static int expect_turn(struct dura_vctx *t, const char *inst, const char *const *bodies,
                       const uint32_t *attempts, size_t n, uint64_t *token)
{
	struct dura_orch_item *it;
	if (dura_vfetch_instance(t, DURA_VLOCK_MS, inst, n, &it) != 0)
		return -1;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!dura_vbytes_is(it->messages[i].body, bodies[i]) ||
		    (attempts && it->messages[i].attempts != attempts[i])) {
			char shown[128];
			r = dura_vfail(t, "message %zu is %s (attempts %u), expected \"%s\" (attempts %u): "
			               "not in enqueue order", i,
			               dura_vbytes_show(it->messages[i].body, shown, sizeof shown),
			               (unsigned)it->messages[i].attempts, bodies[i],
			               attempts ? (unsigned)attempts[i] : 0u);
		}
	}
	*token = it->token;
	dura_vrelease(t, it);
	return r;
}

static int order_with_delays(struct dura_vctx *t)
{
	/* Enqueued with delays 300, 0, 150, 0 ms; fetched when all are due. */
	static const char *const b[] = { "a +300ms", "b now", "c +150ms", "d now" };
	static const int64_t delay[] = { 300, 0, 150, 0 };
	for (size_t i = 0; i < 4; i++)
		VTRY(dura_venqueue(t, "delays", b[i], delay[i]));
	dura_sleep_ms(DURA_VPAST_SHORT_LOCK_MS);
	uint64_t tok;
	if (expect_turn(t, "delays", b, NULL, 4, &tok) != 0)
		return dura_vprefix(t, "messages enqueued with delays 300, 0, 150, 0 ms");
	VTRY(dura_vack_empty(t, tok, DURA_OK));
	return DURA_VPASS;
}

static int order_after_abandon(struct dura_vctx *t)
{
	static const char *const b[] = { "m1", "m2", "m3", "m4" };
	static const uint32_t att[] = { 3, 3, 2, 1 };
	uint64_t tok;
	VTRY(dura_venqueue(t, "ab", b[0], 0));
	VTRY(dura_venqueue(t, "ab", b[1], 0));
	VTRY(expect_turn(t, "ab", b, NULL, 2, &tok));
	VTRY(dura_venqueue(t, "ab", b[2], 0));
	/* abandoned at once: m1, m2 keep their place before m3 */
	VTRY(dura_vabandon(t, tok, 0, DURA_OK));
	if (expect_turn(t, "ab", b, NULL, 3, &tok) != 0)
		return dura_vprefix(t, "after abandon(0) with a message that arrived during the turn");
	VTRY(dura_venqueue(t, "ab", b[3], 0));
	/* abandoned with a delay: when it has passed, still m1..m4 */
	VTRY(dura_vabandon(t, tok, 200, DURA_OK));
	dura_sleep_ms(DURA_VPAST_SHORT_LOCK_MS);
	if (expect_turn(t, "ab", b, att, 4, &tok) != 0)
		return dura_vprefix(t, "after abandon(200 ms) and a wait");
	VTRY(dura_vack_empty(t, tok, DURA_OK));
	return DURA_VPASS;
}

static int order_after_redelivery(struct dura_vctx *t)
{
	static const char *const b[] = { "r1", "r2", "r3" };
	static const uint32_t att[] = { 2, 2, 1 };
	uint64_t tok;
	VTRY(dura_venqueue(t, "re", b[0], 0));
	VTRY(dura_venqueue(t, "re", b[1], 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VSHORT_LOCK_MS, "re", 2, &it));
	dura_vrelease(t, it);
	VTRY(dura_venqueue(t, "re", b[2], 0));
	dura_sleep_ms(DURA_VPAST_SHORT_LOCK_MS); /* the lock expires: redelivery */
	if (expect_turn(t, "re", b, att, 3, &tok) != 0)
		return dura_vprefix(t, "after the lock expired");
	VTRY(dura_vack_empty(t, tok, DURA_OK));
	return DURA_VPASS;
}

/* Fetches the next work item and checks its body. */
static int expect_work(struct dura_vctx *t, const char *body, uint32_t attempts, uint32_t lock_ms,
                       uint64_t *token)
{
	struct dura_work_item *w;
	if (dura_vfetch_work(t, lock_ms, 0, DURA_OK, &w) != 0)
		return -1;
	int r = 0;
	if (!dura_vbytes_is(w->body, body) || w->attempts != attempts) {
		char shown[64];
		r = dura_vfail(t, "fetch_work_item returned %s (attempts %u), expected \"%s\" (attempts %u): "
		               "the oldest visible item", dura_vbytes_show(w->body, shown, sizeof shown),
		               (unsigned)w->attempts, body, (unsigned)attempts);
	}
	*token = w->token;
	dura_vrelease_work(t, w);
	return r;
}

/* The worker queue: items never handed out come oldest first, also past
 * an item that was abandoned or whose lock expired (which may come back
 * before or after them: the header leaves its place to the provider). */
static int work_order_past_redelivery(struct dura_vctx *t)
{
	static const char *const b[] = { "w1", "w2", "w3", "w4" };
	VTRY(dura_vseed_work(t, "wo", b, 4, 0));
	uint64_t tok, tok2;
	VTRY(expect_work(t, "w1", 1, DURA_VLOCK_MS, &tok));
	VTRY(expect_work(t, "w2", 1, DURA_VSHORT_LOCK_MS, &tok2));
	VTRY(dura_vabandon_work(t, tok, 0, DURA_OK));
	dura_sleep_ms(DURA_VPAST_SHORT_LOCK_MS); /* w2's lock expires */
	/* Now w1 (abandoned), w2 (expired), w3 and w4 are visible: w3 comes
	 * before w4, each exactly once, w1 and w2 with attempts 2. */
	int seen[4] = { 0 }, last_fresh = 1;
	for (int k = 0; k < 4; k++) {
		struct dura_work_item *w;
		VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w));
		int idx = -1;
		for (int i = 0; i < 4; i++)
			if (dura_vbytes_is(w->body, b[i]))
				idx = i;
		uint32_t att = w->attempts;
		dura_vrelease_work(t, w);
		VCHECK(t, idx >= 0 && !seen[idx], "fetch %d after abandon and expiry: an unknown or repeated item", k + 1);
		seen[idx] = 1;
		VCHECK(t, att == (idx < 2 ? 2u : 1u), "%s came with attempts %u, expected %u", b[idx], (unsigned)att,
		       idx < 2 ? 2u : 1u);
		if (idx >= 2) {
			VCHECK(t, idx > last_fresh, "%s came before %s: items never handed out must stay oldest first",
			       b[idx], b[last_fresh]);
			last_fresh = idx;
		}
	}
	return dura_vexpect_no_work(t, "after all four came back") == 0 ? DURA_VPASS : DURA_VFAIL;
}

const struct dura_vtest dura_vtests_order[] = {
	{ "order_with_delays", order_with_delays,
	  "messages enqueued with different delays come in enqueue order once all are due" },
	{ "order_after_abandon", order_after_abandon,
	  "abandoned messages (at once and with a delay) keep their place before later ones" },
	{ "order_after_redelivery", order_after_redelivery,
	  "after a lock expiry the redelivered messages come before later ones, attempts 2, 2, 1" },
	{ "work_order_past_redelivery", work_order_past_redelivery,
	  "after an abandon and a lock expiry, items never handed out still come oldest first, each once" },
	{ NULL, NULL, NULL },
};
