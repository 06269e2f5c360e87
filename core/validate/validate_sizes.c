/*
 * Sizes beyond the small fixtures: histories across the 9/10, 99/100 and
 * 999/1000 boundaries and beyond a thousand events, turns with hundreds of
 * messages, batches of the full requested size, bodies of several MB and
 * long instance ids.  Every read is checked whole: every event and every
 * message, in order, byte for byte (a LIMIT or a truncating column type
 * changes a count or a byte somewhere, never only the first element).
 */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A deterministic body for item k of a set: its length varies with k (0
 * bytes included) and its bytes with k and position. */
static struct dura_bytes make_body(uint8_t *buf, size_t cap, uint64_t k)
{
	size_t len = (size_t)((k * 37u) % 61u);
	if (len > cap)
		len = cap;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(k * 131u + i * 7u);
	return (struct dura_bytes){ buf, len };
}

/* Checks events[0..n) against ids[0..n) with make_body bodies. */
static int check_events(struct dura_vctx *t, const char *what, const struct dura_event *ev, size_t got,
                        const uint64_t *ids, size_t n)
{
	VCHECK(t, got == n, "%s: %zu events, expected %zu", what, got, n);
	uint8_t buf[64];
	char shown[128], want[128];
	for (size_t i = 0; i < n; i++) {
		VCHECK(t, ev[i].event_id == ids[i], "%s: event %zu has id %llu, expected %llu", what, i,
		       (unsigned long long)ev[i].event_id, (unsigned long long)ids[i]);
		struct dura_bytes b = make_body(buf, sizeof buf, ids[i]);
		VCHECK(t, dura_vbytes_eq(ev[i].body, b), "%s: event %llu has body %s, expected %s", what,
		       (unsigned long long)ids[i], dura_vbytes_show(ev[i].body, shown, sizeof shown),
		       dura_vbytes_show(b, want, sizeof want));
	}
	return 0;
}

/* Writes events ids[0..n) to inst (execution 1) in turns of at most
 * per_turn events, then reads them back through read_history and through
 * a fetch.  ids are ascending. */
static int history_round_trip(struct dura_vctx *t, const char *inst, const uint64_t *ids, size_t n,
                              size_t per_turn)
{
	struct dura_event *ev = dura_xcalloc(per_turn, sizeof *ev);
	uint8_t (*bufs)[64] = dura_xcalloc(per_turn, sizeof *bufs);
	int r = 0;
	for (size_t done = 0; r == 0 && done < n;) {
		size_t k = n - done < per_turn ? n - done : per_turn;
		for (size_t i = 0; i < k; i++)
			ev[i] = (struct dura_event){ ids[done + i], make_body(bufs[i], 64, ids[done + i]) };
		struct dura_orch_item *it;
		r = dura_venqueue(t, inst, "turn", 0);
		if (r == 0)
			r = dura_vfetch_instance(t, DURA_VLOCK_MS, inst, 1, &it);
		if (r != 0)
			break;
		r = check_events(t, "history handed out by fetch", it->history, it->n_history, ids, done);
		if (r == 0 && done && it->execution != 1)
			r = dura_vfail(t, "fetch: execution %llu, expected 1", (unsigned long long)it->execution);
		/* metadata: a fetch hands out the current execution's history */
		struct dura_instance_meta meta = { "sizes", DURA_STATUS_RUNNING, dura_vstr(""), NULL, 1 };
		struct dura_orch_ack ack = { .execution = 1, .history = ev, .n_history = k, .meta = &meta };
		if (r == 0)
			r = dura_vack(t, it->token, &ack, DURA_OK);
		dura_vrelease(t, it);
		done += k;
	}
	free(ev);
	free(bufs);
	if (r != 0)
		return dura_vprefix(t, "instance '%s' (%zu events)", inst, n);
	struct dura_history *h;
	if (dura_vread_history(t, inst, 1, &h) != 0)
		return -1;
	char what[96];
	snprintf(what, sizeof what, "read_history('%s') of %zu events", inst, n);
	r = check_events(t, what, h->events, h->n_events, ids, n);
	dura_vrelease_history(t, h);
	if (r != 0)
		return -1;
	/* and once more through a fetch */
	struct dura_orch_item *it;
	if (dura_venqueue(t, inst, "last", 0) != 0 || dura_vfetch_instance(t, DURA_VLOCK_MS, inst, 1, &it) != 0)
		return -1;
	snprintf(what, sizeof what, "fetch of '%s' with %zu events", inst, n);
	r = check_events(t, what, it->history, it->n_history, ids, n);
	if (r == 0)
		r = dura_vack_empty(t, it->token, DURA_OK);
	dura_vrelease(t, it);
	return r;
}

static int history_sizes(struct dura_vctx *t)
{
	static const size_t sizes[] = { 1, 9, 10, 11, 99, 100, 101, 1037 };
	uint64_t *ids = dura_xcalloc(1037, sizeof *ids);
	for (size_t i = 0; i < 1037; i++)
		ids[i] = i + 1;
	int r = 0;
	for (size_t s = 0; r == 0 && s < sizeof sizes / sizeof sizes[0]; s++) {
		char inst[32];
		snprintf(inst, sizeof inst, "h%zu", sizes[s]);
		/* the big one in two turns: 1000 events, then 37 more */
		r = history_round_trip(t, inst, ids, sizes[s], sizes[s] > 1000 ? 1000 : sizes[s]);
	}
	free(ids);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

static int history_sparse_ids(struct dura_vctx *t)
{
	/* ids across every decimal length boundary, written one event per turn
	 * in ascending order: text order and numeric order differ */
	static const uint64_t ids[] = { 1, 2, 9, 10, 11, 99, 100, 101, 999, 1000, 1001, 9999, 10000,
		                        65535, 65536, 4294967295ull, 4294967296ull, 1099511627776ull,
		                        9007199254740993ull };
	size_t n = sizeof ids / sizeof ids[0];
	return history_round_trip(t, "sparse", ids, n, 1) == 0 ? DURA_VPASS : DURA_VFAIL;
}

#define MANY 300

static int turn_many_messages(struct dura_vctx *t)
{
	/* 300 messages in three enqueue calls, all handed out in one turn */
	struct dura_message *m = dura_xcalloc(MANY, sizeof *m);
	char (*text)[24] = dura_xcalloc(MANY, sizeof *text);
	for (size_t i = 0; i < MANY; i++) {
		snprintf(text[i], sizeof text[i], "msg %zu", i);
		m[i] = (struct dura_message){ "many", dura_vstr(text[i]), 0 };
	}
	int r = 0;
	for (size_t k = 0; r == 0 && k < MANY; k += 100)
		r = dura_venqueue_msgs(t, m + k, 100);
	struct dura_orch_item *it = NULL;
	if (r == 0)
		r = dura_vfetch_instance(t, DURA_VLOCK_MS, "many", MANY, &it);
	for (size_t i = 0; r == 0 && i < MANY; i++)
		if (!dura_vbytes_is(it->messages[i].body, text[i]) || it->messages[i].attempts != 1) {
			char shown[128];
			r = dura_vfail(t, "message %zu of %d is %s (attempts %u), expected \"%s\" (attempts 1)",
			               i, MANY, dura_vbytes_show(it->messages[i].body, shown, sizeof shown),
			               (unsigned)it->messages[i].attempts, text[i]);
		}
	/* The ack sends 300 work items; all come back, in order. */
	for (size_t i = 0; i < MANY; i++)
		m[i].instance = "many";
	struct dura_orch_ack ack = { .execution = 1, .work_items = m, .n_work_items = MANY };
	if (r == 0)
		r = dura_vack(t, it->token, &ack, DURA_OK);
	if (it)
		dura_vrelease(t, it);
	if (r == 0)
		r = dura_vexpect_no_orch(t, "after acking the 300-message turn");
	for (size_t i = 0; r == 0 && i < MANY; i++) {
		struct dura_work_item *w;
		r = dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w);
		if (r != 0) {
			dura_vprefix(t, "work item %zu of %d", i, MANY);
			break;
		}
		if (!dura_vbytes_is(w->body, text[i])) {
			char shown[128];
			r = dura_vfail(t, "work item %zu of %d is %s, expected \"%s\"", i, MANY,
			               dura_vbytes_show(w->body, shown, sizeof shown), text[i]);
		}
		dura_vrelease_work(t, w);
	}
	if (r == 0)
		r = dura_vexpect_no_work(t, "after fetching the 300 work items");
	free(m);
	free(text);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

static int batch_full_size(struct dura_vctx *t)
{
	if (!DURA_OPT_OP(t->ops, fetch_work_items))
		return dura_vskip(t, "fetch_work_items not provided");
	enum { N = 150, MAX = 100 };
	const char **bodies = dura_xcalloc(N, sizeof *bodies);
	char (*text)[16] = dura_xcalloc(N, sizeof *text);
	for (size_t i = 0; i < N; i++) {
		snprintf(text[i], sizeof text[i], "b%zu", i);
		bodies[i] = text[i];
	}
	int r = dura_vseed_work(t, "full", bodies, N, 0);
	struct dura_work_item **items = dura_xcalloc(MAX, sizeof *items);
	size_t next = 0;
	for (size_t round = 0; r == 0 && round < 2; round++) {
		size_t want = round == 0 ? MAX : N - MAX, got = 0;
		struct dura_err err;
		memset(&err, 0, sizeof err);
		dura_rc rc = t->ops->fetch_work_items(t->store, DURA_VLOCK_MS, 0, MAX, items, &got, &err);
		r = dura_vexpect(t, "fetch_work_items", rc, DURA_OK, &err);
		if (r != 0)
			break;
		if (got != want)
			r = dura_vfail(t, "fetch_work_items(max_items %d) with %zu visible items returned %zu, expected %zu",
			               MAX, N - next, got, want);
		for (size_t i = 0; i < got; i++) {
			if (r == 0 && !dura_vbytes_is(items[i]->body, text[next])) {
				char shown[64];
				r = dura_vfail(t, "fetch_work_items: item %zu is %s, expected \"%s\" (oldest first)",
				               next, dura_vbytes_show(items[i]->body, shown, sizeof shown), text[next]);
			}
			next++;
			dura_vrelease_work(t, items[i]);
		}
	}
	free(items);
	free(bodies);
	free(text);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

/* Several MB in every place a body travels. */
static int body_several_mb(struct dura_vctx *t)
{
	const size_t len = 3u * 1024u * 1024u + 17u;
	uint8_t *big = dura_xmalloc(len);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < len; i++) { /* no repeating pattern to hide a cut */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		big[i] = (uint8_t)x;
	}
	struct dura_bytes b = { big, len };
	struct dura_message m = { "big", b, 0 };
	struct dura_orch_item *it = NULL;
	struct dura_work_item *w = NULL;
	struct dura_history *h = NULL;
	struct dura_instance_meta *meta = NULL;
	int r = dura_venqueue_msgs(t, &m, 1);
	if (r == 0)
		r = dura_vfetch_instance(t, DURA_VLOCK_MS, "big", 1, &it);
	if (r == 0 && !dura_vbytes_eq(it->messages[0].body, b))
		r = dura_vfail(t, "a 3 MiB message came back as %zu different bytes", it->messages[0].body.len);
	struct dura_event ev = { 1, b };
	struct dura_instance_meta mo = { "big", DURA_STATUS_COMPLETED, b, NULL, 1 };
	struct dura_orch_ack ack = { .execution = 1, .history = &ev, .n_history = 1,
	                             .work_items = &m, .n_work_items = 1, .meta = &mo };
	if (r == 0)
		r = dura_vack(t, it->token, &ack, DURA_OK);
	if (it)
		dura_vrelease(t, it);
	if (r == 0)
		r = dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w);
	if (r == 0 && !dura_vbytes_eq(w->body, b))
		r = dura_vfail(t, "a 3 MiB work item came back as %zu different bytes", w->body.len);
	if (w)
		dura_vrelease_work(t, w);
	if (r == 0)
		r = dura_vread_history(t, "big", 1, &h);
	if (r == 0 && (h->n_events != 1 || !dura_vbytes_eq(h->events[0].body, b)))
		r = dura_vfail(t, "a 3 MiB history event came back changed (%zu events)", h->n_events);
	if (h)
		dura_vrelease_history(t, h);
	if (r == 0)
		r = dura_vstatus(t, "big", DURA_OK, &meta);
	if (r == 0 && !dura_vbytes_eq(meta->output, b))
		r = dura_vfail(t, "a 3 MiB output came back as %zu different bytes", meta->output.len);
	if (meta)
		dura_vrelease_status(t, meta);
	free(big);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

/* Ids of the longest allowed length that differ only in their last byte. */
static int long_instance_ids(struct dura_vctx *t)
{
	enum { L = DURA_INSTANCE_ID_MAX };
	char id[2][L + 1];
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < L; i++)
			id[k][i] = (char)('a' + i % 26);
		id[k][L - 1] = k ? 'Y' : 'X';
		id[k][L] = 0;
	}
	for (int k = 0; k < 2; k++)
		VTRY(dura_venqueue(t, id[k], k ? "for Y" : "for X", 0));
	for (int k = 0; k < 2; k++) {
		struct dura_orch_item *it;
		VTRY(dura_vfetch(t, DURA_VLOCK_MS, 0, DURA_OK, &it));
		int ok = strcmp(it->instance, id[k]) == 0 && it->n_messages == 1 &&
		         dura_vbytes_is(it->messages[0].body, k ? "for Y" : "for X");
		size_t got_len = strlen(it->instance), n = it->n_messages;
		struct dura_event ev = { 1, dura_vstr(k ? "Y" : "X") };
		struct dura_instance_meta meta = { k ? "Y" : "X", DURA_STATUS_RUNNING, dura_vstr(""), NULL, 1 };
		struct dura_orch_ack ack = { .execution = 1, .history = &ev, .n_history = 1, .meta = &meta };
		int r = ok ? dura_vack(t, it->token, &ack, DURA_OK) : 0;
		dura_vrelease(t, it);
		VCHECK(t, ok, "fetch %d: instance id of %zu bytes with %zu message(s); expected the %d-byte id "
		       "ending in '%c' with its one message (ids differing only in the last byte got mixed up)",
		       k + 1, got_len, n, L, k ? 'Y' : 'X');
		VTRY(r);
	}
	for (int k = 0; k < 2; k++) {
		const uint64_t one = 1;
		const char *body = k ? "Y" : "X";
		VTRY(dura_vexpect_history(t, id[k], 1, &one, &body, 1));
		struct dura_instance_meta *m;
		VTRY(dura_vstatus(t, id[k], DURA_OK, &m));
		int same = m->name && strcmp(m->name, body) == 0;
		dura_vrelease_status(t, m);
		VCHECK(t, same, "instance_status of the %d-byte id ending in '%s' returned the other's metadata", L, body);
	}
	return DURA_VPASS;
}

const struct dura_vtest dura_vtests_sizes[] = {
	{ "history_sizes", history_sizes,
	  "histories of 1, 9, 10, 11, 99, 100, 101 and 1037 events come back whole, in order, byte for byte" },
	{ "history_sparse_ids", history_sparse_ids,
	  "event ids across every decimal boundary up to 2^53+1 come back in numeric order" },
	{ "turn_many_messages", turn_many_messages,
	  "300 messages come in one turn in order; its 300 work items all come back in order" },
	{ "batch_full_size", batch_full_size,
	  "fetch_work_items(100) with 150 visible items returns exactly 100, then 50, oldest first" },
	{ "body_several_mb", body_several_mb,
	  "a 3 MiB body survives message, work item, history and output byte for byte" },
	{ "long_instance_ids", long_instance_ids,
	  "instance ids of DURA_INSTANCE_ID_MAX bytes differing in the last byte stay apart everywhere" },
	{ NULL, NULL, NULL },
};
