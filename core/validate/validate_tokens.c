/*
 * The token matrix and atomicity: every operation that takes a token
 * (ack, abandon, renew; orchestration items, work items, the batch ack)
 * against every state a token can be in, and every refused operation
 * checked to have changed nothing at all (a whole-store snapshot compared
 * with the same store without the call; see validate_snapshot.c).
 *
 * The outcomes are those of include/durabench/provider.h ("Tokens"):
 *
 *   token state                  ack / abandon / renew / batch-ack entry
 *   valid (live lock)            OK, applied
 *   expired (nobody re-took it)  LOCK_LOST, nothing changed
 *   expired and re-taken         LOCK_LOST, the new holder's lock and
 *                                messages untouched
 *   released (acked, abandoned)  LOCK_LOST, nothing changed
 *   never issued                 LOCK_LOST, nothing changed
 *
 * A refused call gets a body that would show if it were applied anyway:
 * the ack writes history, work, orchestrator items to a witness instance
 * and metadata; abandon and renew use 60 s, which hides messages or keeps
 * an instance locked through the snapshot.
 */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tstate { T_EXPIRED, T_RETAKEN, T_ACKED, T_ABANDONED, T_NEVER, T_VALID, T_NSTATES };
static const char *const state_name[T_NSTATES] = {
	"expired", "expired and re-taken", "released by ack", "released by abandon",
	"never issued", "valid",
};
enum top { OP_ACK, OP_ABANDON, OP_RENEW, OP_BATCH, T_NOPS };
static const char *const op_name[T_NOPS] = { "ack", "abandon", "renew", "batch ack" };

/* Enqueue (and fetch) order: the re-taken ones first, so that after the
 * locks expire the oldest-first rule hands exactly them out again. */
static const enum tstate fetch_order[T_NSTATES] = {
	T_RETAKEN, T_EXPIRED, T_ACKED, T_ABANDONED, T_NEVER, T_VALID,
};

#define WITNESS "tm-witness"
/* A token no provider is asked to hand out: it is compared with every
 * token seen and changed if it collides. */
#define NEVER_TOKEN 0x5eed0f7e57ull

struct matrix {
	int work;                        /* 0: orchestration items, 1: work items */
	size_t n_ops;                    /* ack, abandon, renew (+ batch for work) */
	uint64_t token[T_NOPS][T_NSTATES];
	char name[T_NOPS][T_NSTATES][32];
	const char *names[T_NOPS * T_NSTATES + 1];
	size_t n_names;
};

static int short_lock(enum tstate s)
{
	return s == T_EXPIRED || s == T_RETAKEN;
}

/* A token no fetch returned. */
static uint64_t never_token(const struct matrix *m)
{
	uint64_t tok = NEVER_TOKEN;
	for (int again = 1; again;) {
		again = 0;
		for (size_t o = 0; o < T_NOPS; o++)
			for (size_t s = 0; s < T_NSTATES; s++)
				if (s != T_NEVER && m->token[o][s] == tok) {
					tok += 7919;
					again = 1;
				}
	}
	return tok;
}

/* Item k of the enqueue/fetch order (grouped by state): its (op, state). */
static void cell_of(const struct matrix *m, size_t k, size_t *o, size_t *s)
{
	*o = k % m->n_ops;
	*s = fetch_order[k / m->n_ops];
}

static int fetch_cell(struct dura_vctx *t, struct matrix *m, size_t o, size_t s, uint32_t lock)
{
	if (m->work) {
		struct dura_work_item *w;
		if (dura_vfetch_work(t, lock, 0, DURA_OK, &w) != 0)
			return -1;
		int ok = strcmp(w->instance, m->name[o][s]) == 0;
		if (!ok)
			dura_vfail(t, "fetch_work_item returned the item of '%s', expected '%s' (oldest first)",
			           w->instance, m->name[o][s]);
		m->token[o][s] = w->token;
		dura_vrelease_work(t, w);
		return ok ? 0 : -1;
	}
	struct dura_orch_item *it;
	if (dura_vfetch_instance(t, lock, m->name[o][s], 1, &it) != 0)
		return -1;
	m->token[o][s] = it->token;
	dura_vrelease(t, it);
	return 0;
}

static int release_cell(struct dura_vctx *t, const struct matrix *m, size_t o, size_t s)
{
	uint64_t tok = m->token[o][s];
	if (s == T_ACKED)
		return m->work ? dura_vack_work(t, tok, NULL, DURA_OK) : dura_vack_empty(t, tok, DURA_OK);
	if (s == T_ABANDONED)
		return m->work ? dura_vabandon_work(t, tok, 0, DURA_OK) : dura_vabandon(t, tok, 0, DURA_OK);
	return 0;
}

/* Puts every cell's token in its state.  Deterministic apart from the
 * token values, so both runs of the twin build the same store. */
static int matrix_setup(struct dura_vctx *t, void *ctx)
{
	struct matrix *m = ctx;
	size_t n = m->n_ops * T_NSTATES;
	memset(m->token, 0, sizeof m->token);
	if (m->work) {
		const char *bodies[T_NOPS * T_NSTATES];
		for (size_t k = 0; k < n; k++) {
			size_t o, s;
			cell_of(m, k, &o, &s);
			bodies[k] = m->name[o][s];
		}
		/* each item's instance is its own name: seed them one by one */
		for (size_t k = 0; k < n; k++)
			if (dura_vseed_work(t, bodies[k], &bodies[k], 1, 0) != 0)
				return -1;
	} else {
		for (size_t k = 0; k < n; k++) {
			size_t o, s;
			cell_of(m, k, &o, &s);
			if (dura_venqueue(t, m->name[o][s], m->name[o][s], 0) != 0)
				return -1;
		}
	}
	/* Every cell is fetched under a long lock and the short ones are cut
	 * to DURA_VSHORT_LOCK_MS by a renew once all are fetched: a short lock
	 * taken by the first fetch could expire before the last fetch (the
	 * 18 fetches take longer than that through an emulated link on a
	 * loaded machine, or when one opens a connection), which then hands
	 * out the expired cell instead of its own. */
	for (size_t k = 0; k < n; k++) {
		size_t o, s;
		cell_of(m, k, &o, &s);
		if (fetch_cell(t, m, o, s, DURA_VLOCK_MS) != 0)
			return -1;
	}
	for (size_t k = 0; k < n; k++) {
		size_t o, s;
		cell_of(m, k, &o, &s);
		if (s == T_ACKED && release_cell(t, m, o, s) != 0)
			return -1;
		if (short_lock((enum tstate)s) && dura_vshorten_lock(t, m->work, m->token[o][s]) != 0)
			return -1;
	}
	dura_sleep_ms(DURA_VPAST_SHORT_LOCK_MS);
	/* Re-take: the re-taken cells hold the oldest messages. */
	uint64_t old[T_NOPS];
	for (size_t o = 0; o < m->n_ops; o++) {
		old[o] = m->token[o][T_RETAKEN];
		uint64_t keep[T_NOPS][T_NSTATES];
		memcpy(keep, m->token, sizeof keep);
		if (fetch_cell(t, m, o, T_RETAKEN, DURA_VLOCK_MS) != 0)
			return dura_vprefix(t, "re-taking an expired lock");
		uint64_t fresh = m->token[o][T_RETAKEN];
		memcpy(m->token, keep, sizeof keep);
		m->token[o][T_RETAKEN] = old[o];
		if (fresh == old[o])
			return dura_vfail(t, "a re-take after expiry returned the expired token %llu again",
			                  (unsigned long long)fresh);
	}
	for (size_t k = 0; k < n; k++) {
		size_t o, s;
		cell_of(m, k, &o, &s);
		if (s == T_ABANDONED && release_cell(t, m, o, s) != 0)
			return -1;
	}
	uint64_t never = never_token(m);
	for (size_t o = 0; o < m->n_ops; o++)
		m->token[o][T_NEVER] = never + o;
	/* The valid cells: applied, with the outcome the header names. */
	for (size_t o = 0; o < m->n_ops; o++) {
		uint64_t tok = m->token[o][T_VALID];
		int r = 0;
		switch (o) {
		case OP_ACK:
			r = m->work ? dura_vack_work(t, tok, NULL, DURA_OK) : dura_vack_empty(t, tok, DURA_OK);
			break;
		case OP_ABANDON:
			r = m->work ? dura_vabandon_work(t, tok, 0, DURA_OK) : dura_vabandon(t, tok, 0, DURA_OK);
			break;
		case OP_RENEW:
			r = m->work ? dura_vrenew_work(t, tok, DURA_VLOCK_MS, DURA_OK)
			            : dura_vrenew(t, tok, DURA_VLOCK_MS, DURA_OK);
			break;
		case OP_BATCH: {
			dura_rc res = DURA_PERMANENT;
			struct dura_err err;
			memset(&err, 0, sizeof err);
			size_t n_next = 0;
			dura_rc rc = t->ops->ack_work_items_and_fetch(t->store, 1, &tok, NULL, &res,
			                                              DURA_VLOCK_MS, 0, NULL, &n_next, &err);
			r = dura_vexpect(t, "ack_work_items_and_fetch", rc, DURA_OK, &err);
			if (r == 0 && res != DURA_OK)
				r = dura_vfail(t, "ack_work_items_and_fetch: a valid token's result is %s, expected OK",
				               dura_vrc_name(res));
			break;
		}
		}
		if (r != 0)
			return dura_vprefix(t, "%s with a valid token", op_name[o]);
	}
	return 0;
}

/* Applies every refused cell: each must say LOCK_LOST. */
static int matrix_op(struct dura_vctx *t, void *ctx)
{
	struct matrix *m = ctx;
	struct dura_event ev = { 999, dura_vstr("must not be written") };
	struct dura_message out = { WITNESS, dura_vstr("must not be sent"), 0 };
	struct dura_instance_meta meta = { "must-not", DURA_STATUS_FAILED, dura_vstr("x"), NULL, 7 };
	struct dura_orch_ack ack = { .execution = 1, .history = &ev, .n_history = 1,
	                             .work_items = &out, .n_work_items = 1,
	                             .orch_items = &out, .n_orch_items = 1, .meta = &meta };
	for (size_t o = 0; o < m->n_ops; o++) {
		if (o == OP_BATCH) {
			/* All refused tokens in one call: each result LOCK_LOST. */
			uint64_t toks[T_NSTATES];
			struct dura_message comp[T_NSTATES];
			dura_rc res[T_NSTATES];
			size_t n = 0;
			for (size_t s = 0; s < T_NSTATES; s++)
				if (s != T_VALID) {
					toks[n] = m->token[o][s];
					comp[n] = out;
					res[n++] = DURA_OK;
				}
			struct dura_err err;
			memset(&err, 0, sizeof err);
			size_t n_next = 0;
			dura_rc rc = t->ops->ack_work_items_and_fetch(t->store, n, toks, comp, res,
			                                              DURA_VLOCK_MS, 0, NULL, &n_next, &err);
			if (dura_vexpect(t, "ack_work_items_and_fetch", rc, DURA_OK, &err) != 0)
				return -1;
			for (size_t i = 0, s = 0; s < T_NSTATES; s++) {
				if (s == T_VALID)
					continue;
				if (res[i] != DURA_LOCK_LOST)
					return dura_vfail(t, "ack_work_items_and_fetch with a token %s: result %s, expected LOCK_LOST",
					                  state_name[s], dura_vrc_name(res[i]));
				i++;
			}
			continue;
		}
		for (size_t s = 0; s < T_NSTATES; s++) {
			if (s == T_VALID)
				continue;
			uint64_t tok = m->token[o][s];
			int r;
			if (o == OP_ACK)
				r = m->work ? dura_vack_work(t, tok, &out, DURA_LOCK_LOST)
				            : dura_vack(t, tok, &ack, DURA_LOCK_LOST);
			else if (o == OP_ABANDON)
				r = m->work ? dura_vabandon_work(t, tok, DURA_VLOCK_MS, DURA_LOCK_LOST)
				            : dura_vabandon(t, tok, DURA_VLOCK_MS, DURA_LOCK_LOST);
			else
				r = m->work ? dura_vrenew_work(t, tok, DURA_VLOCK_MS, DURA_LOCK_LOST)
				            : dura_vrenew(t, tok, DURA_VLOCK_MS, DURA_LOCK_LOST);
			if (r != 0)
				return dura_vprefix(t, "%s with a token %s", op_name[o], state_name[s]);
		}
	}
	return 0;
}

static int token_matrix(struct dura_vctx *t, int work, int batch)
{
	struct matrix *m = dura_xcalloc(1, sizeof *m);
	m->work = work;
	m->n_ops = batch ? T_NOPS : OP_BATCH;
	for (size_t o = 0; o < m->n_ops; o++)
		for (size_t s = 0; s < T_NSTATES; s++) {
			snprintf(m->name[o][s], sizeof m->name[o][s], "tm-%zu-%zu", o, s);
			m->names[m->n_names++] = m->name[o][s];
		}
	m->names[m->n_names++] = WITNESS;
	struct dura_vtwin_spec spec = {
		work ? "the refused work-item calls" : "the refused orchestration calls",
		matrix_setup, matrix_op, m->names, m->n_names,
	};
	int r = dura_vtwin(t, &spec, m);
	free(m);
	return r == 0 ? DURA_VPASS : DURA_VFAIL;
}

static int token_matrix_orch(struct dura_vctx *t)
{
	return token_matrix(t, 0, 0);
}

static int token_matrix_work(struct dura_vctx *t)
{
	return token_matrix(t, 1, 0);
}

static int token_matrix_batch(struct dura_vctx *t)
{
	if (!DURA_OPT_OP(t->ops, ack_work_items_and_fetch))
		return dura_vskip(t, "ack_work_items_and_fetch not provided");
	return token_matrix(t, 1, 1);
}

/* ---- refused acks on a held lock: a duplicate event id ---- */

struct dup {
	uint64_t token;
};
static const char *const dup_names[] = { "dup", "dup-other", NULL };

static int dup_setup(struct dura_vctx *t, void *ctx)
{
	struct dup *d = ctx;
	struct dura_orch_item *it;
	if (dura_venqueue(t, "dup", "start", 0) != 0 ||
	    dura_vfetch_instance(t, DURA_VLOCK_MS, "dup", 1, &it) != 0)
		return -1;
	struct dura_event ev[3] = { { 1, dura_vstr("e1") }, { 2, dura_vstr("e2") }, { 3, dura_vstr("e3") } };
	struct dura_message w = { "dup", dura_vstr("w1"), 0 };
	struct dura_instance_meta meta = { "orch", DURA_STATUS_RUNNING, dura_vstr(""), NULL, 1 };
	struct dura_orch_ack ack = { .execution = 1, .history = ev, .n_history = 3,
	                             .work_items = &w, .n_work_items = 1, .meta = &meta };
	int r = dura_vack(t, it->token, &ack, DURA_OK);
	dura_vrelease(t, it);
	/* A second turn holds the lock when the refused ack comes. */
	if (r != 0 || dura_venqueue(t, "dup", "more", 0) != 0 ||
	    dura_vfetch_instance(t, DURA_VLOCK_MS, "dup", 1, &it) != 0)
		return -1;
	d->token = it->token;
	dura_vrelease(t, it);
	return 0;
}

static int dup_op(struct dura_vctx *t, void *ctx)
{
	struct dup *d = ctx;
	struct dura_event ev[2] = { { 4, dura_vstr("e4") }, { 2, dura_vstr("e2 again") } };
	struct dura_message w[2] = { { "dup", dura_vstr("w2"), 0 }, { "dup", dura_vstr("w3"), 0 } };
	struct dura_message o[2] = { { "dup", dura_vstr("self"), 0 }, { "dup-other", dura_vstr("other"), 0 } };
	struct dura_instance_meta meta = { "orch", DURA_STATUS_COMPLETED, dura_vstr("out"), NULL, 1 };
	struct dura_orch_ack ack = { .execution = 1, .history = ev, .n_history = 2,
	                             .work_items = w, .n_work_items = 2,
	                             .orch_items = o, .n_orch_items = 2, .meta = &meta };
	return dura_vack(t, d->token, &ack, DURA_PERMANENT);
}

static int atomic_ack_duplicate(struct dura_vctx *t)
{
	struct dup d = { 0 };
	struct dura_vtwin_spec spec = { "ack refused for a duplicate event id", dup_setup, dup_op,
	                                dup_names, 2 };
	return dura_vtwin(t, &spec, &d) == 0 ? DURA_VPASS : DURA_VFAIL;
}

const struct dura_vtest dura_vtests_atomic[] = {
	{ "token_matrix_orch", token_matrix_orch,
	  "ack/abandon/renew x expired, re-taken, released, never issued tokens: LOCK_LOST, store unchanged" },
	{ "token_matrix_work", token_matrix_work,
	  "the same matrix for work items: LOCK_LOST, store unchanged (full snapshot)" },
	{ "token_matrix_batch", token_matrix_batch,
	  "ack_work_items_and_fetch with every refused token state: LOCK_LOST each, store unchanged" },
	{ "atomic_ack_duplicate", atomic_ack_duplicate,
	  "an ack refused for a duplicate event id leaves the whole store (and the lock) as before" },
	{ NULL, NULL, NULL },
};
