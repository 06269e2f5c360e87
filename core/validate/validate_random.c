/*
 * Randomised model checking (`durabench validate --random SEED`): a
 * sequence of operations drawn from the seed runs against the provider,
 * each call made by one of several threads, and against a reference model
 * of the ABI kept here.  After every step the provider's answer is compared
 * with the model's and one instance's history and metadata are read back,
 * so a message lost, duplicated or reordered, an instance handed to two
 * lock holders, or a history gone wrong is caught at the step that did it.
 * At the end both queues are drained and must hold exactly what the model
 * holds.
 *
 * The steps run one at a time (thread k waits for its turn), which keeps
 * the run a pure function of the seed: a failure reproduces with the same
 * seed, and is shrunk by dropping steps while it still fails.  Concurrency
 * proper is the business of validate_concurrency.c; this is about the
 * sequences nobody thought to write down.
 *
 * What the model leaves open, it does not check: which of several
 * instances comes first once an instance's messages were handed out before
 * (an abandon may put them at the back), and the place of a work item that
 * came back (provider.h, "Order").
 */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_INST 6
#define MAX_MSGS 4096
#define MAX_HELD 64
#define SHRINK_BUDGET_MS 15000u

static struct dura_vrandom_opts params = { 1, DURA_VRANDOM_DEFAULT_OPS, DURA_VRANDOM_DEFAULT_THREADS };

void dura_validate_set_random(const struct dura_vrandom_opts *r)
{
	params = *r;
}

enum kind { R_ENQUEUE, R_FETCH, R_ACK, R_ABANDON, R_FETCH_WORK, R_ACK_WORK, R_ABANDON_WORK,
	    R_DEAD_ACK, R_DEAD_ACK_WORK, R_NKINDS };
static const char *const kind_name[R_NKINDS] = {
	"enqueue", "fetch", "ack", "abandon", "fetch_work", "ack_work", "abandon_work",
	"ack(released token)", "ack_work(released token)",
};
/* Draw weights: fetches and acks often enough to keep the queues moving. */
static const unsigned weight[R_NKINDS] = { 5, 5, 4, 1, 4, 3, 1, 1, 1 };

struct step {
	enum kind kind;
	unsigned thread;
	uint32_t a, b, c; /* kind-specific random choices */
};

/* ---- the model ---- */

struct mmsg {
	int live;
	unsigned inst;
	char body[80];
	uint32_t attempts;
	int held;    /* orch: index+1 of the held item that took it; work: likewise */
	int delayed; /* enqueued with a delay far beyond the run: never visible */
};

struct mheld {
	int live;
	uint64_t token;
	unsigned inst; /* orch */
	size_t msg;    /* work: index in work[] */
};

struct model {
	struct mmsg orch[MAX_MSGS], work[MAX_MSGS];
	size_t n_orch, n_work;
	struct mheld oheld[MAX_HELD], wheld[MAX_HELD];
	int locked[N_INST];              /* held index + 1, or 0 */
	uint64_t n_events[N_INST];       /* history: events 1..n_events of execution 1 */
	int has_meta[N_INST];
	uint64_t turns[N_INST];
	uint64_t dead_orch[MAX_HELD], dead_work[MAX_HELD];
	size_t n_dead_orch, n_dead_work;
	unsigned counter;                /* for unique bodies */
};

struct run {
	struct dura_vctx *t;
	struct model *m;
	const struct step *steps;
	size_t n, failed_at;
	unsigned threads;
	pthread_mutex_t mu;
	pthread_cond_t turn;
	size_t next;
	int stop;
};

static const char *inst_name(unsigned i)
{
	static const char *const names[N_INST] = { "r0", "r1", "r2", "r3", "r4", "r5" };
	return names[i % N_INST];
}

static void event_body(char *buf, size_t len, unsigned inst, uint64_t id)
{
	snprintf(buf, len, "e%u.%llu", inst, (unsigned long long)id);
}

static int free_held(struct mheld *h)
{
	for (int i = 0; i < MAX_HELD; i++)
		if (!h[i].live)
			return i;
	return -1;
}

/* The k-th live held item (k taken modulo their number), or -1. */
static int pick_held(const struct mheld *h, uint32_t k)
{
	int n = 0;
	for (int i = 0; i < MAX_HELD; i++)
		n += h[i].live;
	if (n == 0)
		return -1;
	k %= (uint32_t)n;
	for (int i = 0; i < MAX_HELD; i++)
		if (h[i].live && k-- == 0)
			return i;
	return -1;
}

static size_t add_msg(struct mmsg *q, size_t *n, unsigned inst, const char *body, int delayed)
{
	struct mmsg *x = &q[(*n)++];
	memset(x, 0, sizeof *x);
	x->live = 1;
	x->inst = inst;
	x->delayed = delayed;
	snprintf(x->body, sizeof x->body, "%s", body);
	return *n - 1;
}

/* ---- checks against the model ---- */

static int check_reads(struct dura_vctx *t, const struct model *m, unsigned inst)
{
	uint64_t n = m->n_events[inst];
	uint64_t *ids = dura_xcalloc(n ? n : 1, sizeof *ids);
	char (*b)[32] = dura_xcalloc(n ? n : 1, sizeof *b);
	const char **bodies = dura_xcalloc(n ? n : 1, sizeof *bodies);
	for (uint64_t i = 0; i < n; i++) {
		ids[i] = i + 1;
		event_body(b[i], sizeof b[i], inst, i + 1);
		bodies[i] = b[i];
	}
	int r = dura_vexpect_history(t, inst_name(inst), 1, ids, bodies, (size_t)n);
	free(ids);
	free(b);
	free(bodies);
	if (r != 0)
		return -1;
	struct dura_instance_meta *meta = NULL;
	if (dura_vstatus(t, inst_name(inst), m->has_meta[inst] ? DURA_OK : DURA_EMPTY, &meta) != 0)
		return -1;
	if (meta) {
		char want[32];
		snprintf(want, sizeof want, "turn %llu", (unsigned long long)m->turns[inst]);
		int ok = meta->execution == 1 && dura_vbytes_is(meta->output, want);
		dura_vrelease_status(t, meta);
		VCHECK(t, ok, "instance_status('%s'): output or execution differs from the last ack's ('%s')",
		       inst_name(inst), want);
	}
	return 0;
}

/* The instance the model allows a fetch to return, checked against what
 * the provider returned (got, or N_INST for EMPTY). */
static int check_pick(struct dura_vctx *t, const struct model *m, unsigned got)
{
	int eligible[N_INST] = { 0 };
	size_t oldest[N_INST];
	int fresh[N_INST];
	for (unsigned i = 0; i < N_INST; i++)
		fresh[i] = 1;
	for (size_t k = 0; k < m->n_orch; k++) {
		const struct mmsg *x = &m->orch[k];
		if (!x->live || x->delayed || m->locked[x->inst])
			continue;
		if (!eligible[x->inst])
			oldest[x->inst] = k;
		eligible[x->inst] = 1;
		if (x->attempts)
			fresh[x->inst] = 0;
	}
	int any = 0;
	for (unsigned i = 0; i < N_INST; i++)
		any |= eligible[i];
	if (got == N_INST)
		return any ? dura_vfail(t, "fetch_orchestration_item returned EMPTY, but the model has visible messages for an unlocked instance") : 0;
	if (!any || !eligible[got]) {
		if (m->locked[got])
			return dura_vfail(t, "fetch_orchestration_item handed out '%s', which another fetch holds locked",
			                  inst_name(got));
		return dura_vfail(t, "fetch_orchestration_item handed out '%s', which has no visible message in the model",
		                  inst_name(got));
	}
	for (unsigned i = 0; fresh[got] && i < N_INST; i++)
		if (eligible[i] && fresh[i] && oldest[i] < oldest[got])
			return dura_vfail(t, "fetch_orchestration_item handed out '%s' before '%s', whose oldest message is older",
			                  inst_name(got), inst_name(i));
	return 0;
}

/* ---- the steps ---- */

static int do_enqueue(struct run *rn, const struct step *s)
{
	struct model *m = rn->m;
	size_t n = 1 + s->b % 3;
	struct dura_message msgs[3];
	char bodies[3][24];
	for (size_t i = 0; i < n; i++) {
		unsigned inst = (s->a + (unsigned)i) % N_INST;
		int delayed = (s->c >> i) % 8 == 0;
		snprintf(bodies[i], sizeof bodies[i], "q%u", ++m->counter);
		msgs[i] = (struct dura_message){ inst_name(inst), dura_vstr(bodies[i]), delayed ? 3600000 : 0 };
	}
	if (m->n_orch + n > MAX_MSGS)
		return 0;
	if (dura_venqueue_msgs(rn->t, msgs, n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		add_msg(m->orch, &m->n_orch, (s->a + (unsigned)i) % N_INST, bodies[i], msgs[i].delay_ms != 0);
	return 0;
}

static unsigned inst_index(const char *name)
{
	for (unsigned i = 0; i < N_INST; i++)
		if (strcmp(name, inst_name(i)) == 0)
			return i;
	return N_INST + 1;
}

static int do_fetch(struct run *rn)
{
	struct model *m = rn->m;
	struct dura_vctx *t = rn->t;
	int h = free_held(m->oheld);
	if (h < 0)
		return 0;
	struct dura_err err;
	memset(&err, 0, sizeof err);
	struct dura_orch_item *it = NULL;
	dura_rc rc = t->ops->fetch_orchestration_item(t->store, DURA_VLOCK_MS, 0, &it, &err);
	if (rc == DURA_EMPTY)
		return check_pick(t, m, N_INST);
	if (dura_vexpect(t, "fetch_orchestration_item", rc, DURA_OK, &err) != 0)
		return -1;
	unsigned inst = inst_index(it->instance);
	int r = inst < N_INST ? check_pick(t, m, inst)
	                      : dura_vfail(t, "fetch_orchestration_item returned unknown instance '%s'", it->instance);
	/* exactly its visible messages, in enqueue order, attempts + 1 */
	size_t j = 0;
	for (size_t k = 0; r == 0 && k < m->n_orch; k++) {
		struct mmsg *x = &m->orch[k];
		if (!x->live || x->delayed || x->inst != inst)
			continue;
		if (j >= it->n_messages) {
			r = dura_vfail(t, "fetch of '%s': %zu messages, the model has more (next \"%s\")",
			               inst_name(inst), it->n_messages, x->body);
			break;
		}
		char shown[64];
		if (!dura_vbytes_is(it->messages[j].body, x->body) || it->messages[j].attempts != x->attempts + 1)
			r = dura_vfail(t, "fetch of '%s': message %zu is %s (attempts %u), the model says \"%s\" (attempts %u)",
			               inst_name(inst), j, dura_vbytes_show(it->messages[j].body, shown, sizeof shown),
			               (unsigned)it->messages[j].attempts, x->body, (unsigned)x->attempts + 1);
		j++;
	}
	if (r == 0 && j != it->n_messages)
		r = dura_vfail(t, "fetch of '%s': %zu messages, the model has %zu", inst_name(inst), it->n_messages, j);
	if (r == 0 && it->n_history != m->n_events[inst] && m->has_meta[inst])
		r = dura_vfail(t, "fetch of '%s': %zu history events, the model has %llu", inst_name(inst),
		               it->n_history, (unsigned long long)m->n_events[inst]);
	if (r == 0) {
		for (size_t k = 0; k < m->n_orch; k++) {
			struct mmsg *x = &m->orch[k];
			if (x->live && !x->delayed && x->inst == inst) {
				x->attempts++;
				x->held = h + 1;
			}
		}
		m->oheld[h] = (struct mheld){ 1, it->token, inst, 0 };
		m->locked[inst] = h + 1;
	}
	dura_vrelease(t, it);
	return r;
}

static void forget(uint64_t *dead, size_t *n, uint64_t token)
{
	if (*n < MAX_HELD)
		dead[(*n)++] = token;
	else
		dead[token % MAX_HELD] = token;
}

static int do_ack(struct run *rn, const struct step *s, int empty)
{
	struct model *m = rn->m;
	int h = pick_held(m->oheld, s->a);
	if (h < 0)
		return 0;
	unsigned inst = m->oheld[h].inst;
	size_t n_ev = empty ? 0 : s->b % 3, n_w = empty ? 0 : (s->b / 3) % 3, n_o = empty ? 0 : (s->c % 3);
	if (m->n_work + n_w > MAX_MSGS || m->n_orch + n_o > MAX_MSGS)
		n_w = n_o = 0;
	struct dura_event ev[2];
	char eb[2][32], wb[2][24], ob[2][24], out[32];
	struct dura_message w[2], o[2];
	for (size_t i = 0; i < n_ev; i++) {
		event_body(eb[i], sizeof eb[i], inst, m->n_events[inst] + i + 1);
		ev[i] = (struct dura_event){ m->n_events[inst] + i + 1, dura_vstr(eb[i]) };
	}
	for (size_t i = 0; i < n_w; i++) {
		snprintf(wb[i], sizeof wb[i], "w%u", ++m->counter);
		w[i] = (struct dura_message){ inst_name(inst), dura_vstr(wb[i]), 0 };
	}
	for (size_t i = 0; i < n_o; i++) {
		snprintf(ob[i], sizeof ob[i], "o%u", ++m->counter);
		o[i] = (struct dura_message){ inst_name((s->c / 3 + (unsigned)i) % N_INST), dura_vstr(ob[i]), 0 };
	}
	snprintf(out, sizeof out, "turn %llu", (unsigned long long)m->turns[inst] + 1);
	struct dura_instance_meta meta = { "random", DURA_STATUS_RUNNING, dura_vstr(out), NULL, 1 };
	struct dura_orch_ack ack = { .execution = 1, .history = ev, .n_history = n_ev,
	                             .work_items = w, .n_work_items = n_w,
	                             .orch_items = o, .n_orch_items = n_o, .meta = &meta };
	if (dura_vack(rn->t, m->oheld[h].token, &ack, DURA_OK) != 0)
		return -1;
	for (size_t k = 0; k < m->n_orch; k++)
		if (m->orch[k].live && m->orch[k].held == h + 1)
			m->orch[k].live = 0;
	m->n_events[inst] += n_ev;
	for (size_t i = 0; i < n_w; i++)
		add_msg(m->work, &m->n_work, inst, wb[i], 0);
	for (size_t i = 0; i < n_o; i++)
		add_msg(m->orch, &m->n_orch, (s->c / 3 + (unsigned)i) % N_INST, ob[i], 0);
	m->has_meta[inst] = 1;
	m->turns[inst]++;
	m->locked[inst] = 0;
	m->oheld[h].live = 0;
	forget(m->dead_orch, &m->n_dead_orch, m->oheld[h].token);
	return 0;
}

static int do_abandon(struct run *rn, const struct step *s)
{
	struct model *m = rn->m;
	int h = pick_held(m->oheld, s->a);
	if (h < 0)
		return 0;
	if (dura_vabandon(rn->t, m->oheld[h].token, 0, DURA_OK) != 0)
		return -1;
	for (size_t k = 0; k < m->n_orch; k++)
		if (m->orch[k].held == h + 1)
			m->orch[k].held = 0;
	m->locked[m->oheld[h].inst] = 0;
	m->oheld[h].live = 0;
	forget(m->dead_orch, &m->n_dead_orch, m->oheld[h].token);
	return 0;
}

static int do_fetch_work(struct run *rn)
{
	struct model *m = rn->m;
	struct dura_vctx *t = rn->t;
	int h = free_held(m->wheld);
	if (h < 0)
		return 0;
	struct dura_err err;
	memset(&err, 0, sizeof err);
	struct dura_work_item *w = NULL;
	dura_rc rc = t->ops->fetch_work_item(t->store, DURA_VLOCK_MS, 0, &w, &err);
	size_t oldest_fresh = MAX_MSGS, any = 0;
	for (size_t k = 0; k < m->n_work; k++)
		if (m->work[k].live && !m->work[k].held) {
			any++;
			if (!m->work[k].attempts && oldest_fresh == MAX_MSGS)
				oldest_fresh = k;
		}
	if (rc == DURA_EMPTY)
		return any ? dura_vfail(t, "fetch_work_item returned EMPTY, the model has %zu unlocked work items", any) : 0;
	if (dura_vexpect(t, "fetch_work_item", rc, DURA_OK, &err) != 0)
		return -1;
	size_t k;
	for (k = 0; k < m->n_work; k++)
		if (m->work[k].live && dura_vbytes_is(w->body, m->work[k].body))
			break;
	char shown[64];
	int r = 0;
	if (k == m->n_work)
		r = dura_vfail(t, "fetch_work_item returned %s, which the model does not hold (lost or duplicated)",
		               dura_vbytes_show(w->body, shown, sizeof shown));
	else if (m->work[k].held)
		r = dura_vfail(t, "fetch_work_item returned \"%s\", which another fetch holds locked", m->work[k].body);
	else if (!m->work[k].attempts && k != oldest_fresh)
		r = dura_vfail(t, "fetch_work_item returned \"%s\" before the older \"%s\"", m->work[k].body,
		               m->work[oldest_fresh].body);
	else if (w->attempts != m->work[k].attempts + 1)
		r = dura_vfail(t, "fetch_work_item returned \"%s\" with attempts %u, the model says %u", m->work[k].body,
		               (unsigned)w->attempts, (unsigned)m->work[k].attempts + 1);
	else if (strcmp(w->instance, inst_name(m->work[k].inst)) != 0)
		r = dura_vfail(t, "fetch_work_item returned \"%s\" for instance '%s', expected '%s'", m->work[k].body,
		               w->instance, inst_name(m->work[k].inst));
	if (r == 0) {
		m->work[k].attempts++;
		m->work[k].held = h + 1;
		m->wheld[h] = (struct mheld){ 1, w->token, 0, k };
	}
	dura_vrelease_work(t, w);
	return r;
}

static int do_ack_work(struct run *rn, const struct step *s, int no_completion)
{
	struct model *m = rn->m;
	int h = pick_held(m->wheld, s->a);
	if (h < 0)
		return 0;
	int with = !no_completion && s->b % 4 != 0 && m->n_orch < MAX_MSGS;
	unsigned to = s->c % N_INST;
	char body[24];
	snprintf(body, sizeof body, "c%u", ++m->counter);
	struct dura_message c = { inst_name(to), dura_vstr(body), 0 };
	if (dura_vack_work(rn->t, m->wheld[h].token, with ? &c : NULL, DURA_OK) != 0)
		return -1;
	m->work[m->wheld[h].msg].live = 0;
	if (with)
		add_msg(m->orch, &m->n_orch, to, body, 0);
	m->wheld[h].live = 0;
	forget(m->dead_work, &m->n_dead_work, m->wheld[h].token);
	return 0;
}

static int do_abandon_work(struct run *rn, const struct step *s)
{
	struct model *m = rn->m;
	int h = pick_held(m->wheld, s->a);
	if (h < 0)
		return 0;
	if (dura_vabandon_work(rn->t, m->wheld[h].token, 0, DURA_OK) != 0)
		return -1;
	m->work[m->wheld[h].msg].held = 0;
	m->wheld[h].live = 0;
	forget(m->dead_work, &m->n_dead_work, m->wheld[h].token);
	return 0;
}

static int do_dead(struct run *rn, const struct step *s, int work)
{
	struct model *m = rn->m;
	size_t n = work ? m->n_dead_work : m->n_dead_orch;
	if (n == 0)
		return 0;
	uint64_t tok = (work ? m->dead_work : m->dead_orch)[s->a % n];
	struct dura_message c = { inst_name(s->c % N_INST), dura_vstr("stale"), 0 };
	struct dura_event ev = { 1, dura_vstr("stale") };
	struct dura_orch_ack ack = { .execution = 1, .history = &ev, .n_history = 1, .orch_items = &c,
	                             .n_orch_items = 1, .work_items = &c, .n_work_items = 1 };
	return work ? dura_vack_work(rn->t, tok, &c, DURA_LOCK_LOST) : dura_vack(rn->t, tok, &ack, DURA_LOCK_LOST);
}

static int run_step(struct run *rn, const struct step *s)
{
	switch (s->kind) {
	case R_ENQUEUE: return do_enqueue(rn, s);
	case R_FETCH: return do_fetch(rn);
	case R_ACK: return do_ack(rn, s, 0);
	case R_ABANDON: return do_abandon(rn, s);
	case R_FETCH_WORK: return do_fetch_work(rn);
	case R_ACK_WORK: return do_ack_work(rn, s, 0);
	case R_ABANDON_WORK: return do_abandon_work(rn, s);
	case R_DEAD_ACK: return do_dead(rn, s, 0);
	case R_DEAD_ACK_WORK: return do_dead(rn, s, 1);
	case R_NKINDS: break;
	}
	return 0;
}

/* Each thread runs the steps assigned to it, in turn. */
static void *worker(void *arg)
{
	struct run *rn = ((struct run **)arg)[0];
	unsigned me = (unsigned)(uintptr_t)((void **)arg)[1];
	struct dura_vctx local = *rn->t; /* own reason buffer; same store */
	for (size_t i = 0; i < rn->n; i++) {
		if (rn->steps[i].thread != me)
			continue;
		pthread_mutex_lock(&rn->mu);
		while (rn->next != i && !rn->stop)
			pthread_cond_wait(&rn->turn, &rn->mu);
		if (rn->stop) {
			pthread_mutex_unlock(&rn->mu);
			break;
		}
		pthread_mutex_unlock(&rn->mu);
		struct dura_vctx *saved = rn->t;
		rn->t = &local;
		int r = run_step(rn, &rn->steps[i]);
		if (r == 0)
			r = check_reads(&local, rn->m, rn->steps[i].a % N_INST);
		rn->t = saved;
		pthread_mutex_lock(&rn->mu);
		if (r != 0) {
			rn->stop = 1;
			rn->failed_at = i;
			memcpy(rn->t->reason, local.reason, sizeof local.reason);
		}
		rn->next = i + 1;
		pthread_cond_broadcast(&rn->turn);
		pthread_mutex_unlock(&rn->mu);
	}
	return NULL;
}

/* Releases every lock and drains both queues: they must hold exactly what
 * the model holds. */
static int drain(struct run *rn)
{
	struct model *m = rn->m;
	for (int h = 0; h < MAX_HELD; h++) {
		struct step s = { R_ABANDON, 0, (uint32_t)0, 0, 0 };
		if (pick_held(m->oheld, 0) >= 0 && do_abandon(rn, &s) != 0)
			return dura_vprefix(rn->t, "drain");
		if (pick_held(m->wheld, 0) >= 0 && do_abandon_work(rn, &s) != 0)
			return dura_vprefix(rn->t, "drain");
	}
	for (size_t guard = 0; guard < 2 * MAX_MSGS; guard++) {
		size_t before = 0;
		for (size_t k = 0; k < m->n_orch; k++)
			before += m->orch[k].live && !m->orch[k].delayed;
		if (do_fetch(rn) != 0)
			return dura_vprefix(rn->t, "drain");
		if (before == 0)
			break;
		struct step s = { R_ACK, 0, 0, 0, 0 };
		if (do_ack(rn, &s, 1) != 0)
			return dura_vprefix(rn->t, "drain");
	}
	for (size_t guard = 0; guard < 2 * MAX_MSGS; guard++) {
		size_t before = 0;
		for (size_t k = 0; k < m->n_work; k++)
			before += m->work[k].live;
		if (do_fetch_work(rn) != 0)
			return dura_vprefix(rn->t, "drain");
		if (before == 0)
			break;
		struct step s = { R_ACK_WORK, 0, 0, 0, 0 };
		if (do_ack_work(rn, &s, 1) != 0)
			return dura_vprefix(rn->t, "drain");
	}
	return 0;
}

/* Runs steps[0..n) on the test's (fresh) store.  0, or -1 with the reason
 * and *failed_at (n when the final drain failed). */
static int run_steps(struct dura_vctx *t, const struct step *steps, size_t n, unsigned threads,
                     size_t *failed_at)
{
	struct run rn = { .t = t, .steps = steps, .n = n, .threads = threads };
	rn.m = dura_xcalloc(1, sizeof *rn.m);
	pthread_mutex_init(&rn.mu, NULL);
	pthread_cond_init(&rn.turn, NULL);
	pthread_t th[16];
	void *args[16][2];
	unsigned started = 0;
	for (unsigned k = 0; k < threads; k++) {
		args[k][0] = &rn;
		args[k][1] = (void *)(uintptr_t)k;
		if (pthread_create(&th[k], NULL, worker, args[k]) != 0)
			break;
		started++;
	}
	for (unsigned k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	int r = 0;
	if (started < threads) {
		r = dura_vfail(t, "cannot create a thread");
	} else if (rn.stop) {
		r = -1;
		*failed_at = rn.failed_at;
	} else if (drain(&rn) != 0) {
		r = -1;
		*failed_at = n;
	}
	pthread_cond_destroy(&rn.turn);
	pthread_mutex_destroy(&rn.mu);
	free(rn.m);
	return r;
}

static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void draw(uint64_t seed, struct step *steps, size_t n, unsigned threads)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
	unsigned total = 0;
	for (int k = 0; k < R_NKINDS; k++)
		total += weight[k];
	for (size_t i = 0; i < n; i++) {
		unsigned w = (unsigned)(next_rand(&x) % total);
		int k = 0;
		while (w >= weight[k])
			w -= weight[k++];
		steps[i].kind = (enum kind)k;
		steps[i].thread = (unsigned)(next_rand(&x) % threads);
		steps[i].a = (uint32_t)next_rand(&x);
		steps[i].b = (uint32_t)next_rand(&x);
		steps[i].c = (uint32_t)next_rand(&x);
	}
}

/* Drops chunks of steps while the run still fails, within a time budget. */
static size_t shrink(struct dura_vctx *t, struct step *steps, size_t n, unsigned threads)
{
	uint64_t end = dura_now_ms() + SHRINK_BUDGET_MS;
	struct step *trial = dura_xcalloc(n ? n : 1, sizeof *trial);
	char keep[DURA_VREASON_MAX];
	memcpy(keep, t->reason, sizeof keep);
	for (size_t chunk = n / 2; chunk >= 1 && dura_now_ms() < end; chunk /= 2) {
		for (size_t at = 0; at < n && dura_now_ms() < end;) {
			size_t len = at + chunk <= n ? chunk : n - at, m = 0;
			for (size_t i = 0; i < n; i++)
				if (i < at || i >= at + len)
					trial[m++] = steps[i];
			size_t fa = 0;
			if (dura_vreopen(t) != 0)
				goto out;
			if (run_steps(t, trial, m, threads, &fa) != 0 && strstr(t->reason, "cannot create") == NULL) {
				memcpy(steps, trial, m * sizeof *trial);
				n = fa < m ? fa + 1 : m; /* nothing after the failing step matters */
				memcpy(keep, t->reason, sizeof keep);
			} else {
				at += len;
			}
		}
		if (chunk == 1)
			break;
	}
out:
	memcpy(t->reason, keep, sizeof keep);
	free(trial);
	return n;
}

static int random_ops(struct dura_vctx *t)
{
	const struct dura_vrandom_opts *p = &params;
	unsigned threads = p->threads ? p->threads : 1;
	if (threads > 16)
		threads = 16;
	size_t n = p->ops;
	struct step *steps = dura_xcalloc(n ? n : 1, sizeof *steps);
	draw(p->seed, steps, n, threads);
	size_t failed_at = 0;
	if (run_steps(t, steps, n, threads, &failed_at) == 0) {
		free(steps);
		return DURA_VPASS;
	}
	char first[DURA_VREASON_MAX];
	snprintf(first, sizeof first, "%s", t->reason);
	size_t m = shrink(t, steps, failed_at < n ? failed_at + 1 : n, threads);
	struct dura_buf b = { 0 };
	dura_buf_printf(&b, "seed %llu (--random %llu --ops %zu --threads %u): step %zu of %zu failed: %s; "
	                "shortened to %zu step(s):", (unsigned long long)p->seed, (unsigned long long)p->seed,
	                n, threads, failed_at + 1, n, first, m);
	for (size_t i = 0; i < m && b.len < DURA_VREASON_MAX; i++)
		dura_buf_printf(&b, " %s[t%u a%u b%u c%u]", kind_name[steps[i].kind], steps[i].thread,
		                (unsigned)(steps[i].a % 1000), (unsigned)(steps[i].b % 1000), (unsigned)(steps[i].c % 1000));
	dura_buf_printf(&b, "; fails with: %s", t->reason);
	dura_buf_append(&b, "", 1);
	dura_vfail(t, "%s", (const char *)b.data);
	dura_buf_free(&b);
	free(steps);
	return DURA_VFAIL;
}

const struct dura_vtest dura_vtests_random[] = {
	{ "random_ops", random_ops,
	  "random operations from several threads agree with a reference model after every step (--random)" },
	{ NULL, NULL, NULL },
};
