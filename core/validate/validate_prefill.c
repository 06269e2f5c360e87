/* Conformance tests: the bulk prefill of ABI 1.4 (skipped when a plugin
 * does not provide it): the instances it writes read back whole, nothing
 * is queued, and a call that meets an existing instance writes nothing. */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <stdio.h>
#include <string.h>

static const uint64_t ids[] = { 1, 2, 3, 10 }; /* 10 after 3: numeric order */
static const char *const bodies[] = { "started", "scheduled", "done", "completed" };
#define N_EVENTS 4

static dura_rc prefill(struct dura_vctx *t, const char *prefix, uint64_t first, uint64_t n,
                       struct dura_err *err)
{
	struct dura_event ev[N_EVENTS];
	/* given out of order: a provider keeps histories in event id order */
	static const size_t given[N_EVENTS] = { 3, 0, 2, 1 };
	for (size_t i = 0; i < N_EVENTS; i++)
		ev[i] = (struct dura_event){ ids[given[i]], dura_vstr(bodies[given[i]]) };
	struct dura_instance_meta meta = { "prefilled", DURA_STATUS_COMPLETED, dura_vstr("output"),
	                                   NULL, 1 };
	memset(err, 0, sizeof *err);
	return DURA_OPT_OP(t->ops, prefill)(t->store, prefix, first, n, &meta, ev, N_EVENTS, err);
}

/* Instance prefix+i holds the prefilled metadata and history. */
static int expect_prefilled(struct dura_vctx *t, const char *prefix, uint64_t i)
{
	char id[64];
	snprintf(id, sizeof id, "%s%llu", prefix, (unsigned long long)i);
	struct dura_instance_meta *m;
	VTRY(dura_vstatus(t, id, DURA_OK, &m));
	int ok = m->status == DURA_STATUS_COMPLETED && m->execution == 1 && m->name &&
	         strcmp(m->name, "prefilled") == 0 && dura_vbytes_is(m->output, "output") && !m->parent;
	dura_vrelease_status(t, m);
	VCHECK(t, ok, "instance_status('%s') after prefill: metadata differs from the prefill's", id);
	if (dura_vexpect_history(t, id, 1, ids, bodies, N_EVENTS) != 0)
		return dura_vprefix(t, "history of prefilled '%s'", id);
	return 0;
}

static int prefill_bulk(struct dura_vctx *t)
{
	if (!DURA_OPT_OP(t->ops, prefill))
		return dura_vskip(t, "no prefill operation");
	struct dura_err err;
	VTRY(dura_vexpect(t, "prefill(n = 0)", prefill(t, "p.", 0, 0, &err), DURA_OK, &err));
	VTRY(dura_vstatus(t, "p.0", DURA_EMPTY, NULL));
	VTRY(dura_vexpect(t, "prefill('p.', 0, 250)", prefill(t, "p.", 0, 250, &err), DURA_OK, &err));
	for (uint64_t i = 0; i < 250; i++)
		VTRY(expect_prefilled(t, "p.", i));
	VTRY(dura_vstatus(t, "p.250", DURA_EMPTY, NULL));
	/* a second range next to it */
	VTRY(dura_vexpect(t, "prefill('p.', 1000, 3)", prefill(t, "p.", 1000, 3, &err), DURA_OK, &err));
	VTRY(expect_prefilled(t, "p.", 1002));
	VTRY(dura_vstatus(t, "p.1003", DURA_EMPTY, NULL));
	/* nothing is queued, and new work is not mixed up with the prefilled */
	VTRY(dura_vexpect_no_orch(t, "after prefill"));
	VTRY(dura_vexpect_no_work(t, "after prefill"));
	VTRY(dura_venqueue(t, "p.x", "start", 0));
	struct dura_orch_item *it;
	VTRY(dura_vfetch_instance(t, DURA_VLOCK_MS, "p.x", 1, &it));
	int fresh = it->execution == 0 && it->n_history == 0;
	VTRY(dura_vack_empty(t, it->token, DURA_OK));
	dura_vrelease(t, it);
	VCHECK(t, fresh, "a new instance after prefill came with execution/history");
	return DURA_VPASS;
}

static int prefill_all_or_nothing(struct dura_vctx *t)
{
	if (!DURA_OPT_OP(t->ops, prefill))
		return dura_vskip(t, "no prefill operation");
	struct dura_err err;
	VTRY(dura_vexpect(t, "prefill('q.', 5, 5)", prefill(t, "q.", 5, 5, &err), DURA_OK, &err));
	/* q.5 .. q.9 exist */
	VTRY(dura_vexpect(t, "prefill('q.', 0, 10) over existing instances", prefill(t, "q.", 0, 10, &err),
	                  DURA_PERMANENT, &err));
	for (uint64_t i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof id, "q.%llu", (unsigned long long)i);
		if (dura_vstatus(t, id, DURA_EMPTY, NULL) != 0)
			return dura_vprefix(t, "a refused prefill wrote '%s'", id);
	}
	for (uint64_t i = 5; i < 10; i++)
		VTRY(expect_prefilled(t, "q.", i));
	return DURA_VPASS;
}

const struct dura_vtest dura_vtests_prefill[] = {
	{ "prefill_bulk", prefill_bulk,
	  "prefill writes completed instances that read back whole; nothing is queued" },
	{ "prefill_all_or_nothing", prefill_all_or_nothing,
	  "a prefill that meets an existing instance is PERMANENT and writes nothing" },
	{ NULL, NULL, NULL },
};
