/* Conformance tests: store lifecycle, reads of unknown data, instance
 * metadata and opaque bodies. */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <stdlib.h>
#include <string.h>

static int open_rejects_unknown_option(struct dura_vctx *t)
{
	/* The store under test is already open: this opens a second one. */
	size_t n = t->n_options + 1;
	struct dura_option *opts = dura_xcalloc(n, sizeof *opts);
	if (t->n_options) /* options may be NULL when there are none */
		memcpy(opts, t->options, t->n_options * sizeof *opts);
	opts[n - 1] = (struct dura_option){ "durabench_no_such_option", "1" };
	struct dura_err err;
	memset(&err, 0, sizeof err);
	dura_store *s = NULL;
	dura_rc rc = t->ops->open(opts, n, &s, &err);
	free(opts);
	if (rc == DURA_OK) {
		t->ops->close(s, 1, &err);
		return dura_vfail(t, "open with unknown option 'durabench_no_such_option': returned OK, expected CONFIG");
	}
	VTRY(dura_vexpect(t, "open with unknown option 'durabench_no_such_option'", rc, DURA_CONFIG, &err));
	return DURA_VPASS;
}

static int drop_then_reopen_is_empty(struct dura_vctx *t)
{
	VTRY(dura_venqueue(t, "i1", "start", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "i1", 1, &it));
	struct dura_event ev = { 1, dura_vstr("e1") };
	struct dura_message w = { "i1", dura_vstr("w1"), 0 };
	struct dura_message o = { "i2", dura_vstr("o1"), 0 };
	struct dura_instance_meta meta = { "orch", DURA_STATUS_RUNNING, dura_vstr(""), NULL, 1 };
	struct dura_orch_ack ack = { 1, &ev, 1, &w, 1, &o, 1, &meta };
	VTRY(dura_vack(t, it->token, &ack, DURA_OK));
	dura_vrelease(t, it);
	VTRY(dura_venqueue(t, "i3", "late", 0));

	struct dura_err err;
	memset(&err, 0, sizeof err);
	dura_rc rc = t->ops->close(t->store, 1, &err);
	t->store = NULL;
	VTRY(dura_vexpect(t, "close(drop = 1)", rc, DURA_OK, &err));
	memset(&err, 0, sizeof err);
	rc = t->ops->open(t->options, t->n_options, &t->store, &err);
	if (rc != DURA_OK)
		t->store = NULL;
	VTRY(dura_vexpect(t, "open after close(drop = 1)", rc, DURA_OK, &err));
	VTRY(dura_vexpect_no_orch(t, "reopened store still has orchestrator messages"));
	VTRY(dura_vexpect_no_work(t, "reopened store still has work items"));
	VTRY(dura_vexpect_history(t, "i1", 1, NULL, NULL, 0));
	VTRY(dura_vstatus(t, "i1", DURA_EMPTY, NULL));
	return DURA_VPASS;
}

static int unknown_instance_reads(struct dura_vctx *t)
{
	VTRY(dura_vexpect_history(t, "no-such-instance", 1, NULL, NULL, 0));
	VTRY(dura_vexpect_history(t, "no-such-instance", 0, NULL, NULL, 0));
	VTRY(dura_vstatus(t, "no-such-instance", DURA_EMPTY, NULL));
	/* An instance with messages but no metadata is still "unknown". */
	VTRY(dura_venqueue(t, "queued-only", "m", 0));
	VTRY(dura_vstatus(t, "queued-only", DURA_EMPTY, NULL));
	VTRY(dura_vexpect_history(t, "queued-only", 1, NULL, NULL, 0));
	return DURA_VPASS;
}

static int empty_store_fetches_empty(struct dura_vctx *t)
{
	uint64_t t0 = dura_now_ms();
	VTRY(dura_vfetch(t, DURA_VLOCK_MS, 0, DURA_EMPTY, NULL));
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_EMPTY, NULL));
	uint64_t el = dura_now_ms() - t0;
	VCHECK(t, el < 5000, "two fetches with wait_ms = 0 on an empty store took %llu ms (wait_ms = 0 must not wait)",
	       (unsigned long long)el);
	return DURA_VPASS;
}

/* Compares a metadata record field by field. */
static int expect_meta(struct dura_vctx *t, const char *instance, const struct dura_instance_meta *want)
{
	struct dura_instance_meta *m;
	VTRY(dura_vstatus(t, instance, DURA_OK, &m));
	char a[128], b[128];
	int r = DURA_VPASS;
	if (!m->name || !want->name || strcmp(m->name, want->name) != 0)
		r = dura_vfail(t, "instance_status('%s'): name '%s', expected '%s'", instance,
		               m->name ? m->name : "(NULL)", want->name);
	else if (m->status != want->status)
		r = dura_vfail(t, "instance_status('%s'): status %d, expected %d", instance,
		               (int)m->status, (int)want->status);
	else if (!dura_vbytes_eq(m->output, want->output))
		r = dura_vfail(t, "instance_status('%s'): output %s, expected %s", instance,
		               dura_vbytes_show(m->output, a, sizeof a),
		               dura_vbytes_show(want->output, b, sizeof b));
	else if ((m->parent == NULL) != (want->parent == NULL) ||
	         (m->parent && strcmp(m->parent, want->parent) != 0))
		r = dura_vfail(t, "instance_status('%s'): parent %s%s%s, expected %s%s%s", instance,
		               m->parent ? "'" : "", m->parent ? m->parent : "NULL", m->parent ? "'" : "",
		               want->parent ? "'" : "", want->parent ? want->parent : "NULL",
		               want->parent ? "'" : "");
	else if (m->execution != want->execution)
		r = dura_vfail(t, "instance_status('%s'): execution %llu, expected %llu", instance,
		               (unsigned long long)m->execution, (unsigned long long)want->execution);
	dura_vrelease_status(t, m);
	return r;
}

/* One turn of instance that writes meta (and nothing else). */
static int turn_with_meta(struct dura_vctx *t, const char *instance, const struct dura_instance_meta *meta)
{
	VTRY(dura_venqueue(t, instance, "msg", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, instance, 1, &it));
	struct dura_orch_ack ack = { .execution = meta ? meta->execution : 1, .meta = meta };
	int r = dura_vack(t, it->token, &ack, DURA_OK);
	dura_vrelease(t, it);
	return r;
}

static int metadata_round_trip(struct dura_vctx *t)
{
	static const uint8_t out_bytes[] = { 'r', 0, 'e', 0xff, 's' };
	struct dura_instance_meta child = { "child-orch", DURA_STATUS_COMPLETED,
	                                    { out_bytes, sizeof out_bytes }, "parent-1", 1 };
	VTRY(turn_with_meta(t, "child-1", &child));
	VTRY(expect_meta(t, "child-1", &child));
	struct dura_instance_meta top = { "top-orch", DURA_STATUS_RUNNING, dura_vstr(""), NULL, 1 };
	VTRY(turn_with_meta(t, "top-1", &top));
	VTRY(expect_meta(t, "top-1", &top));
	return DURA_VPASS;
}

static int metadata_update_and_keep(struct dura_vctx *t)
{
	struct dura_instance_meta m1 = { "orch", DURA_STATUS_RUNNING, dura_vstr(""), NULL, 1 };
	VTRY(turn_with_meta(t, "i1", &m1));
	/* meta = NULL leaves it unchanged. */
	VTRY(turn_with_meta(t, "i1", NULL));
	VTRY(expect_meta(t, "i1", &m1));
	struct dura_instance_meta m2 = { "orch", DURA_STATUS_FAILED, dura_vstr("boom: activity failed"), NULL, 1 };
	VTRY(turn_with_meta(t, "i1", &m2));
	VTRY(expect_meta(t, "i1", &m2));
	struct dura_instance_meta m3 = { "orch", DURA_STATUS_TERMINATED, dura_vstr("stopped"), NULL, 1 };
	VTRY(turn_with_meta(t, "i1", &m3));
	VTRY(expect_meta(t, "i1", &m3));
	return DURA_VPASS;
}

/* Sends body through every place a provider stores bytes (orchestrator
 * message, history event, work item, completion, output) and checks each
 * copy byte for byte. */
static int round_trip_body(struct dura_vctx *t, struct dura_bytes body, const char *what)
{
	char shown[128];
	struct dura_message m = { "bytes", body, 0 };
	VTRY(dura_venqueue_msgs(t, &m, 1));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "bytes", 1, &it));
	VCHECK(t, dura_vbytes_eq(it->messages[0].body, body),
	       "%s: orchestrator message came back as %s (%zu bytes, sent %zu)", what,
	       dura_vbytes_show(it->messages[0].body, shown, sizeof shown),
	       it->messages[0].body.len, body.len);
	struct dura_event ev = { 1, body };
	struct dura_message w = { "bytes", body, 0 };
	struct dura_instance_meta meta = { "bytes-orch", DURA_STATUS_COMPLETED, body, NULL, 1 };
	struct dura_orch_ack ack = { 1, &ev, 1, &w, 1, NULL, 0, &meta };
	VTRY(dura_vack(t, it->token, &ack, DURA_OK));
	dura_vrelease(t, it);

	struct dura_history *h;
	VTRY(dura_vread_history(t, "bytes", 1, &h));
	int ok = h->n_events == 1 && dura_vbytes_eq(h->events[0].body, body);
	size_t got = h->n_events == 1 ? h->events[0].body.len : 0;
	dura_vrelease_history(t, h);
	VCHECK(t, ok, "%s: history event came back wrong (%zu bytes, sent %zu)", what, got, body.len);

	struct dura_instance_meta *st;
	VTRY(dura_vstatus(t, "bytes", DURA_OK, &st));
	ok = dura_vbytes_eq(st->output, body);
	got = st->output.len;
	dura_vrelease_status(t, st);
	VCHECK(t, ok, "%s: metadata output came back wrong (%zu bytes, sent %zu)", what, got, body.len);

	struct dura_work_item *wi;
	VTRY(dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &wi));
	VCHECK(t, dura_vbytes_eq(wi->body, body), "%s: work item came back wrong (%zu bytes, sent %zu)",
	       what, wi->body.len, body.len);
	VCHECK(t, strcmp(wi->instance, "bytes") == 0, "%s: work item instance '%s', expected 'bytes'",
	       what, wi->instance);
	struct dura_message c = { "bytes", body, 0 };
	VTRY(dura_vack_work(t, wi->token, &c, DURA_OK));
	dura_vrelease_work(t, wi);

	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "bytes", 1, &it));
	VCHECK(t, dura_vbytes_eq(it->messages[0].body, body),
	       "%s: completion message came back wrong (%zu bytes, sent %zu)", what,
	       it->messages[0].body.len, body.len);
	VCHECK(t, it->n_history == 1 && dura_vbytes_eq(it->history[0].body, body),
	       "%s: history returned by fetch came back wrong", what);
	VTRY(dura_vack_empty(t, it->token, DURA_OK));
	dura_vrelease(t, it);
	return DURA_VPASS;
}

static int body_binary_round_trip(struct dura_vctx *t)
{
	uint8_t b[512];
	for (size_t i = 0; i < sizeof b; i++)
		b[i] = (uint8_t)(i * 7 + (i >> 8)); /* every byte value, zeros included */
	b[0] = 0;
	b[sizeof b - 1] = 0;
	return round_trip_body(t, (struct dura_bytes){ b, sizeof b }, "binary body with zero bytes");
}

static int body_large_round_trip(struct dura_vctx *t)
{
	size_t n = 1u << 20;
	uint8_t *b = dura_xmalloc(n);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)x;
	}
	int r = round_trip_body(t, (struct dura_bytes){ b, n }, "1 MiB body");
	free(b);
	return r;
}

static int body_empty_round_trip(struct dura_vctx *t)
{
	static const uint8_t nothing[1] = { 0 };
	return round_trip_body(t, (struct dura_bytes){ nothing, 0 }, "empty body");
}

const struct dura_vtest dura_vtests_store[] = {
	{ "open_rejects_unknown_option", open_rejects_unknown_option,
	  "open() refuses an option it does not declare with CONFIG and a message" },
	{ "drop_then_reopen_is_empty", drop_then_reopen_is_empty,
	  "close(drop = 1) then open() gives an empty store" },
	{ "unknown_instance_reads", unknown_instance_reads,
	  "unknown instance: empty history (OK), status EMPTY" },
	{ "empty_store_fetches_empty", empty_store_fetches_empty,
	  "fetches on an empty store return EMPTY at once with wait_ms = 0" },
	{ "metadata_round_trip", metadata_round_trip,
	  "name, status, output, parent and execution come back as written" },
	{ "metadata_update_and_keep", metadata_update_and_keep,
	  "meta = NULL keeps the metadata; a later ack replaces it" },
	{ "body_binary_round_trip", body_binary_round_trip,
	  "bodies with zero bytes survive every queue, history and output" },
	{ "body_large_round_trip", body_large_round_trip,
	  "a 1 MiB body survives every queue, history and output" },
	{ "body_empty_round_trip", body_empty_round_trip,
	  "an empty body survives every queue, history and output" },
	{ NULL, NULL, NULL },
};
