/*
 * Whole-store snapshots through the ABI's read operations, and the "twin"
 * comparison built on them: the tool behind the atomicity and token-matrix
 * tests.
 *
 * The ABI has no "list everything" operation, so a snapshot reads what it
 * can reach: the metadata and every history of the instances the test
 * names, then drains both queues with wait-0 fetches under a long lock,
 * recording each item (instance, execution, messages with attempts, history
 * length; work items with instance and attempts) in the order the provider
 * hands them out.  Draining changes the store, so a snapshot is taken once,
 * at the end.  Locked instances and work items are not drained: a lock
 * that is (still) held shows up as data missing from the queues, which is
 * exactly what a wrongly released or wrongly taken lock changes.
 *
 * "Nothing changed" is then checked without the test describing the state
 * by hand: the same set-up runs twice on fresh stores, once followed by
 * the operation under test, and the two snapshots must be equal line for
 * line.  Tokens differ between the runs and never appear in a snapshot;
 * bodies appear as length and 64-bit FNV-1a digest.
 */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <stdlib.h>
#include <string.h>

/* Enough for every queue a test builds; a provider that keeps handing out
 * items beyond it is reported instead of looping. */
#define MAX_DRAIN 20000

uint64_t dura_vdigest(struct dura_bytes b)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < b.len; i++) {
		h ^= b.data[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void put_bytes(struct dura_buf *s, struct dura_bytes b)
{
	dura_buf_printf(s, "%zu:%016llx", b.len, (unsigned long long)dura_vdigest(b));
}

static int snap_history(struct dura_vctx *t, struct dura_buf *s, const char *inst, uint64_t ex)
{
	struct dura_history *h;
	if (dura_vread_history(t, inst, ex, &h) != 0)
		return -1;
	dura_buf_printf(s, "history %s %llu: %zu events\n", inst, (unsigned long long)ex, h->n_events);
	for (size_t i = 0; i < h->n_events; i++) {
		dura_buf_printf(s, "  event %llu ", (unsigned long long)h->events[i].event_id);
		put_bytes(s, h->events[i].body);
		dura_buf_printf(s, "\n");
	}
	dura_vrelease_history(t, h);
	return 0;
}

static int snap_instance(struct dura_vctx *t, struct dura_buf *s, const char *inst)
{
	struct dura_err err;
	struct dura_instance_meta *m = NULL;
	memset(&err, 0, sizeof err);
	dura_rc rc = t->ops->instance_status(t->store, inst, &m, &err);
	uint64_t last = 1;
	if (rc == DURA_OK && m) {
		dura_buf_printf(s, "status %s: name '%s' status %d parent '%s' execution %llu output ", inst,
		                m->name ? m->name : "(null)", (int)m->status,
		                m->parent ? m->parent : "(null)", (unsigned long long)m->execution);
		put_bytes(s, m->output);
		dura_buf_printf(s, "\n");
		if (m->execution > last)
			last = m->execution;
		t->ops->release_instance_status(t->store, m);
	} else {
		dura_buf_printf(s, "status %s: %s\n", inst, dura_vrc_name(rc));
	}
	/* Every execution up to the current one, and the one after it. */
	for (uint64_t ex = 1; ex <= last + 1; ex++)
		if (snap_history(t, s, inst, ex) != 0)
			return -1;
	return 0;
}

static int drain_orch(struct dura_vctx *t, struct dura_buf *s)
{
	for (size_t k = 0; k < MAX_DRAIN; k++) {
		struct dura_orch_item *it;
		if (dura_vfetch(t, DURA_VLOCK_MS, 0, DURA_OK, &it) != 0) {
			if (strstr(t->reason, "returned EMPTY, expected OK")) {
				t->reason[0] = 0;
				return 0;
			}
			return -1;
		}
		dura_buf_printf(s, "orch item %s execution %llu history %zu attempts %u\n", it->instance,
		                (unsigned long long)it->execution, it->n_history, (unsigned)it->attempts);
		for (size_t i = 0; i < it->n_messages; i++) {
			dura_buf_printf(s, "  message attempts %u ", (unsigned)it->messages[i].attempts);
			put_bytes(s, it->messages[i].body);
			dura_buf_printf(s, "\n");
		}
		dura_vrelease(t, it);
	}
	return dura_vfail(t, "snapshot: the orchestrator queue still hands out items after %d fetches",
	                  MAX_DRAIN);
}

static int drain_work(struct dura_vctx *t, struct dura_buf *s)
{
	for (size_t k = 0; k < MAX_DRAIN; k++) {
		struct dura_work_item *w;
		if (dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_OK, &w) != 0) {
			if (strstr(t->reason, "returned EMPTY, expected OK")) {
				t->reason[0] = 0;
				return 0;
			}
			return -1;
		}
		dura_buf_printf(s, "work item %s attempts %u ", w->instance, (unsigned)w->attempts);
		put_bytes(s, w->body);
		dura_buf_printf(s, "\n");
		dura_vrelease_work(t, w);
	}
	return dura_vfail(t, "snapshot: the worker queue still hands out items after %d fetches",
	                  MAX_DRAIN);
}

int dura_vsnapshot(struct dura_vctx *t, const char *const *instances, size_t n, struct dura_buf *out)
{
	for (size_t i = 0; i < n; i++)
		if (snap_instance(t, out, instances[i]) != 0)
			return dura_vprefix(t, "snapshot");
	if (drain_orch(t, out) != 0 || drain_work(t, out) != 0)
		return dura_vprefix(t, "snapshot");
	dura_buf_append(out, "", 1);
	return 0;
}

/* The first line where a and b (NUL-terminated) differ, as a reason. */
static int report_difference(struct dura_vctx *t, const char *what, const char *a, const char *b)
{
	size_t line = 1;
	const char *la = a, *lb = b;
	while (*a && *a == *b) {
		if (*a == '\n') {
			line++;
			la = a + 1;
			lb = b + 1;
		}
		a++;
		b++;
	}
	int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
	return dura_vfail(t, "%s: the store differs from the same store without it, line %zu: "
	                  "without '%.*s', with '%.*s'", what, line, na > 200 ? 200 : na,
	                  *la ? la : "(end)", nb > 200 ? 200 : nb, *lb ? lb : "(end)");
}

/* Closes the test's store (drop = 1) and opens a fresh one. */
int dura_vreopen(struct dura_vctx *t)
{
	struct dura_err err;
	memset(&err, 0, sizeof err);
	dura_rc rc = t->ops->close(t->store, 1, &err);
	t->store = NULL;
	if (dura_vexpect(t, "close(drop = 1)", rc, DURA_OK, &err) != 0)
		return -1;
	memset(&err, 0, sizeof err);
	rc = t->ops->open(t->options, t->n_options, &t->store, &err);
	if (rc != DURA_OK)
		t->store = NULL;
	return dura_vexpect(t, "open", rc, DURA_OK, &err);
}

int dura_vtwin(struct dura_vctx *t, const struct dura_vtwin_spec *spec, void *ctx)
{
	struct dura_buf without = { 0 }, with = { 0 };
	int r = -1;
	if (spec->setup(t, ctx) != 0) {
		dura_vprefix(t, "set-up (first run)");
		goto out;
	}
	if (dura_vsnapshot(t, spec->instances, spec->n_instances, &without) != 0 ||
	    dura_vreopen(t) != 0)
		goto out;
	if (spec->setup(t, ctx) != 0) {
		dura_vprefix(t, "set-up (second run)");
		goto out;
	}
	if (spec->op(t, ctx) != 0)
		goto out;
	if (dura_vsnapshot(t, spec->instances, spec->n_instances, &with) != 0)
		goto out;
	if (strcmp((const char *)without.data, (const char *)with.data) != 0) {
		report_difference(t, spec->what, (const char *)without.data, (const char *)with.data);
		goto out;
	}
	r = 0;
out:
	dura_buf_free(&without);
	dura_buf_free(&with);
	return r;
}
