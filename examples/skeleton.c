/*
 * skeleton.c -- the smallest complete durabench provider: a template to
 * copy when writing your own (in the spirit of fio's skeleton_external.c).
 *
 * It keeps everything in memory behind one mutex, so each operation below
 * is a few lines of plain C that show *what* the operation must do; replace
 * the bodies with calls to your store.  It passes `durabench validate`, and
 * runs in a scenario.
 *
 * Build it against the installed header:
 *
 *     cc -std=c11 -O2 -Wall $(pkg-config --cflags durabench) \
 *        -shared -fPIC -o skeleton.so skeleton.c -lpthread
 *     durabench validate --plugin ./skeleton.so
 *
 * Each operation is marked REQUIRED (the core refuses a plugin where it is
 * NULL) or OPTIONAL (may be NULL; the comment says what the core does
 * then).  The contract of every operation is in <durabench/provider.h>,
 * next to its typedef; docs/writing-a-provider.md walks through it.
 */
#define _POSIX_C_SOURCE 200809L /* strdup, clock_gettime, condattr_setclock */

#include <durabench/provider.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the store: the plugin's private state ---- */

struct msg {                 /* an orchestrator message or a work item */
	char *instance;
	struct dura_bytes body;  /* owned copy */
	int64_t visible_at;      /* ms, monotonic clock */
	uint64_t token;          /* lock that holds it (0: none) */
	int64_t lock_until;      /* work items: their own lock's expiry */
	uint32_t attempts;
};

struct instance {
	char *id;
	uint64_t lock_token;     /* 0: unlocked */
	int64_t lock_until;
	int has_meta;
	struct dura_instance_meta meta; /* owned strings and output */
	struct event { uint64_t execution; struct dura_event ev; } *history;
	size_t n_history;
};

struct dura_store {
	pthread_mutex_t mu;      /* guards everything below */
	pthread_cond_t changed;  /* broadcast on every enqueue and unlock */
	struct msg *orch, *work; /* in enqueue order: oldest first */
	size_t n_orch, n_work;
	struct instance *inst;
	size_t n_inst;
	uint64_t last_token;     /* tokens are never reused */
	uint32_t poll_ms;        /* option poll_ms */
};

/* ---- helpers ---- */

static void fail(struct dura_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Allocation helpers abort on out-of-memory to keep the template short (a
 * real provider returns DURA_RETRY or DURA_CONFIG instead). */
static void *zalloc(size_t size)
{
	void *p = calloc(1, size);
	if (!p)
		abort();
	return p;
}

/* Grows *arr by one zeroed element. */
static void *grow(void *arr, size_t *n, size_t size)
{
	char *p = realloc(arr, (*n + 1) * size);
	if (!p)
		abort();
	memset(p + *n * size, 0, size);
	(*n)++;
	return p;
}

static struct dura_bytes copy_bytes(struct dura_bytes b)
{
	uint8_t *p = malloc(b.len ? b.len : 1);
	if (!p)
		abort();
	if (b.len)
		memcpy(p, b.data, b.len);
	return (struct dura_bytes){ p, b.len };
}

static char *copy_str(const char *s)
{
	char *p = s ? strdup(s) : NULL;
	if (s && !p)
		abort();
	return p;
}

static struct instance *find_instance(struct dura_store *s, const char *id, int create)
{
	for (size_t i = 0; i < s->n_inst; i++)
		if (strcmp(s->inst[i].id, id) == 0)
			return &s->inst[i];
	if (!create)
		return NULL;
	s->inst = grow(s->inst, &s->n_inst, sizeof *s->inst);
	s->inst[s->n_inst - 1].id = copy_str(id);
	return &s->inst[s->n_inst - 1];
}

/* Appends a message; a negative delay means now (see provider.h). */
static void push(struct msg **q, size_t *n, const struct dura_message *m, int64_t now)
{
	*q = grow(*q, n, sizeof **q);
	struct msg *x = &(*q)[*n - 1];
	x->instance = copy_str(m->instance);
	x->body = copy_bytes(m->body);
	x->visible_at = now + (m->delay_ms > 0 ? m->delay_ms : 0);
}

static void remove_at(struct msg *q, size_t *n, size_t i)
{
	free(q[i].instance);
	free((void *)q[i].body.data);
	memmove(&q[i], &q[i + 1], (*n - i - 1) * sizeof *q);
	(*n)--;
}

/* Long poll (required): wait until something changes or wait_ms passes.
 * Re-checks every poll_ms too, for delays and locks that expire.  Returns
 * 0 when the deadline has passed. */
static int wait_for_work(struct dura_store *s, int64_t deadline)
{
	int64_t now = now_ms();
	if (now >= deadline)
		return 0;
	int64_t until = now + s->poll_ms < deadline ? now + s->poll_ms : deadline;
	struct timespec ts = { (time_t)(until / 1000), (long)(until % 1000) * 1000000 };
	pthread_cond_timedwait(&s->changed, &s->mu, &ts);
	return 1;
}

/* ---- options ---- */

static const struct dura_option_spec skeleton_options[] = {
	{ "poll_ms", "10", "how often a waiting fetch re-checks (1 to 1000 ms)", 0 },
	{ NULL, NULL, NULL, 0 },
};

/* OPTIONAL (ABI 1.2): check values before a run, so a bad one is reported
 * at its file:line.  Without it, open() refuses it at run time. */
static dura_check_options_fn sk_check_options;
static dura_rc sk_check_options(const struct dura_option *options, size_t n, size_t *bad,
                                struct dura_err *err)
{
	for (size_t i = 0; i < n; i++) {
		*bad = i;
		if (strcmp(options[i].key, "poll_ms") != 0) {
			fail(err, "skeleton: unknown option '%.60s' (accepted: poll_ms)", options[i].key);
			return DURA_CONFIG;
		}
		char *end;
		errno = 0;
		long v = strtol(options[i].value, &end, 10);
		if (errno || *end || end == options[i].value || v < 1 || v > 1000) {
			fail(err, "poll_ms = '%.60s' is not a number from 1 to 1000", options[i].value);
			return DURA_CONFIG;
		}
	}
	*bad = n;
	return DURA_OK;
}

/* ---- lifecycle ---- */

/* REQUIRED.  A fresh, empty store.  The core has already refused unknown
 * keys; check the values again (a plugin may be driven by anything). */
static dura_open_fn sk_open;
static dura_rc sk_open(const struct dura_option *options, size_t n, dura_store **out,
                       struct dura_err *err)
{
	size_t bad;
	if (sk_check_options(options, n, &bad, err) != DURA_OK)
		return DURA_CONFIG;
	struct dura_store *s = calloc(1, sizeof *s);
	if (!s) {
		fail(err, "skeleton: out of memory");
		return DURA_CONFIG;
	}
	s->poll_ms = 10;
	for (size_t i = 0; i < n; i++)
		if (strcmp(options[i].key, "poll_ms") == 0)
			s->poll_ms = (uint32_t)atoi(options[i].value);
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->changed, &ca);
	pthread_condattr_destroy(&ca);
	*out = s;
	return DURA_OK;
}

/* REQUIRED.  Frees everything; drop is moot for memory (a real store
 * deletes its file or schema when drop != 0). */
static dura_close_fn sk_close;
static dura_rc sk_close(dura_store *s, int drop, struct dura_err *err)
{
	(void)drop, (void)err;
	while (s->n_orch)
		remove_at(s->orch, &s->n_orch, s->n_orch - 1);
	while (s->n_work)
		remove_at(s->work, &s->n_work, s->n_work - 1);
	for (size_t i = 0; i < s->n_inst; i++) {
		struct instance *in = &s->inst[i];
		for (size_t k = 0; k < in->n_history; k++)
			free((void *)in->history[k].ev.body.data);
		free(in->history);
		free((char *)in->meta.name);
		free((char *)in->meta.parent);
		free((void *)in->meta.output.data);
		free(in->id);
	}
	free(s->orch);
	free(s->work);
	free(s->inst);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return DURA_OK;
}

/* ---- orchestrations ---- */

/* REQUIRED.  All messages in one transaction. */
static dura_enqueue_orchestrator_fn sk_enqueue_orchestrator;
static dura_rc sk_enqueue_orchestrator(dura_store *s, const struct dura_message *msgs, size_t n,
                                       struct dura_err *err)
{
	(void)err;
	pthread_mutex_lock(&s->mu);
	int64_t now = now_ms();
	for (size_t i = 0; i < n; i++)
		push(&s->orch, &s->n_orch, &msgs[i], now);
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
}

/* What fetch hands out: the item and copies of everything it points at,
 * in one allocation owner (freed by release). */
struct orch_copy {
	struct dura_orch_item item;  /* first: release casts back */
	struct dura_fetched_message *msgs;
	struct dura_event *events;
};

static int by_event_id(const void *a, const void *b)
{
	uint64_t x = ((const struct dura_event *)a)->event_id;
	uint64_t y = ((const struct dura_event *)b)->event_id;
	return x < y ? -1 : x > y;
}

static int live(const struct instance *in, int64_t now)
{
	return in->lock_token && in->lock_until > now;
}

/* Locks the instance of the oldest visible message whose instance is not
 * locked, tags its visible messages; NULL when there is none. */
static struct orch_copy *try_fetch_orch(struct dura_store *s, uint32_t lock_ms, int64_t now)
{
	struct instance *in = NULL;
	for (size_t i = 0; i < s->n_orch && !in; i++) {
		struct instance *c = find_instance(s, s->orch[i].instance, 1);
		if (s->orch[i].visible_at <= now && !live(c, now))
			in = c;
	}
	if (!in)
		return NULL;
	struct orch_copy *c = zalloc(sizeof *c);
	c->item.token = in->lock_token = ++s->last_token;
	in->lock_until = now + lock_ms;
	c->item.instance = copy_str(in->id);
	c->item.execution = in->has_meta ? in->meta.execution : 0;
	for (size_t i = 0; i < s->n_orch; i++) {
		struct msg *m = &s->orch[i];
		if (strcmp(m->instance, in->id) != 0 || m->visible_at > now)
			continue;
		m->token = in->lock_token;
		m->attempts++;
		c->msgs = grow(c->msgs, &c->item.n_messages, sizeof *c->msgs);
		c->msgs[c->item.n_messages - 1] = (struct dura_fetched_message){ copy_bytes(m->body),
		                                                                 m->attempts };
		if (m->attempts > c->item.attempts)
			c->item.attempts = m->attempts;
	}
	for (size_t k = 0; k < in->n_history; k++) {
		if (in->history[k].execution != c->item.execution)
			continue;
		c->events = grow(c->events, &c->item.n_history, sizeof *c->events);
		c->events[c->item.n_history - 1] = (struct dura_event){
			in->history[k].ev.event_id, copy_bytes(in->history[k].ev.body) };
	}
	if (c->item.n_history) /* acks may append ids out of order */
		qsort(c->events, c->item.n_history, sizeof *c->events, by_event_id);
	c->item.messages = c->msgs;
	c->item.history = c->events;
	return c;
}

/* REQUIRED.  Long poll: wait up to wait_ms before DURA_EMPTY. */
static dura_fetch_orchestration_item_fn sk_fetch_orchestration_item;
static dura_rc sk_fetch_orchestration_item(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                                           struct dura_orch_item **out, struct dura_err *err)
{
	(void)err;
	pthread_mutex_lock(&s->mu);
	int64_t deadline = now_ms() + wait_ms;
	struct orch_copy *c;
	while (!(c = try_fetch_orch(s, lock_ms, now_ms())) && wait_for_work(s, deadline))
		;
	pthread_mutex_unlock(&s->mu);
	if (!c)
		return DURA_EMPTY;
	*out = &c->item;
	return DURA_OK;
}

/* REQUIRED.  Accepts NULL. */
static dura_release_orchestration_item_fn sk_release_orchestration_item;
static void sk_release_orchestration_item(dura_store *s, struct dura_orch_item *item)
{
	(void)s;
	if (!item)
		return;
	struct orch_copy *c = (struct orch_copy *)item;
	for (size_t i = 0; i < item->n_messages; i++)
		free((void *)c->msgs[i].body.data);
	for (size_t i = 0; i < item->n_history; i++)
		free((void *)c->events[i].body.data);
	free(c->msgs);
	free(c->events);
	free((char *)item->instance);
	free(c);
}

/* The instance whose live lock token is, or NULL. */
static struct instance *locked_by(struct dura_store *s, uint64_t token, int64_t now)
{
	for (size_t i = 0; i < s->n_inst; i++)
		if (s->inst[i].lock_token == token && live(&s->inst[i], now))
			return &s->inst[i];
	return NULL;
}

/* 1 when ack would append an event id that exists (or twice). */
static int duplicate_event(const struct instance *in, const struct dura_orch_ack *ack)
{
	for (size_t a = 0; a < ack->n_history; a++) {
		uint64_t id = ack->history[a].event_id;
		for (size_t b = 0; b < a; b++)
			if (ack->history[b].event_id == id)
				return 1;
		for (size_t k = 0; k < in->n_history; k++)
			if (in->history[k].execution == ack->execution && in->history[k].ev.event_id == id)
				return 1;
	}
	return 0;
}

static void set_meta(struct instance *in, const struct dura_instance_meta *m)
{
	free((char *)in->meta.name);
	free((char *)in->meta.parent);
	free((void *)in->meta.output.data);
	in->meta = *m;
	in->meta.name = copy_str(m->name);
	in->meta.parent = copy_str(m->parent);
	in->meta.output = copy_bytes(m->output);
	in->has_meta = 1;
}

/* REQUIRED.  One transaction: everything or nothing (check first, then
 * change: nothing below the checks can fail). */
static dura_ack_orchestration_item_fn sk_ack_orchestration_item;
static dura_rc sk_ack_orchestration_item(dura_store *s, uint64_t token,
                                         const struct dura_orch_ack *ack, struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	int64_t now = now_ms();
	struct instance *in = locked_by(s, token, now);
	dura_rc rc = DURA_OK;
	if (!in) {
		fail(err, "skeleton: token %llu holds no lock", (unsigned long long)token);
		rc = DURA_LOCK_LOST;
	} else if (duplicate_event(in, ack)) {
		fail(err, "skeleton: duplicate event id in %s", in->id);
		rc = DURA_PERMANENT; /* nothing changed, the lock stays held */
	}
	if (rc != DURA_OK) {
		pthread_mutex_unlock(&s->mu);
		return rc;
	}
	for (size_t i = s->n_orch; i-- > 0;)
		if (s->orch[i].token == token)
			remove_at(s->orch, &s->n_orch, i);
	for (size_t a = 0; a < ack->n_history; a++) {
		in->history = grow(in->history, &in->n_history, sizeof *in->history);
		in->history[in->n_history - 1].execution = ack->execution;
		in->history[in->n_history - 1].ev = (struct dura_event){
			ack->history[a].event_id, copy_bytes(ack->history[a].body) };
	}
	for (size_t i = 0; i < ack->n_work_items; i++)
		push(&s->work, &s->n_work, &ack->work_items[i], now);
	for (size_t i = 0; i < ack->n_orch_items; i++)
		push(&s->orch, &s->n_orch, &ack->orch_items[i], now);
	if (ack->meta)
		set_meta(in, ack->meta);
	in->lock_token = 0;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
}

/* REQUIRED.  Unlock; the tagged messages come back after delay_ms. */
static dura_abandon_orchestration_item_fn sk_abandon_orchestration_item;
static dura_rc sk_abandon_orchestration_item(dura_store *s, uint64_t token, uint32_t delay_ms,
                                             struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	int64_t now = now_ms();
	struct instance *in = locked_by(s, token, now);
	if (in) {
		for (size_t i = 0; i < s->n_orch; i++) {
			if (s->orch[i].token == token) {
				s->orch[i].token = 0;
				s->orch[i].visible_at = now + delay_ms;
			}
		}
		in->lock_token = 0;
		pthread_cond_broadcast(&s->changed);
	} else {
		fail(err, "skeleton: token %llu holds no lock", (unsigned long long)token);
	}
	pthread_mutex_unlock(&s->mu);
	return in ? DURA_OK : DURA_LOCK_LOST;
}

/* REQUIRED. */
static dura_renew_orchestration_lock_fn sk_renew_orchestration_lock;
static dura_rc sk_renew_orchestration_lock(dura_store *s, uint64_t token, uint32_t extend_ms,
                                           struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	int64_t now = now_ms();
	struct instance *in = locked_by(s, token, now);
	if (in)
		in->lock_until = now + extend_ms;
	else
		fail(err, "skeleton: token %llu holds no lock", (unsigned long long)token);
	pthread_mutex_unlock(&s->mu);
	return in ? DURA_OK : DURA_LOCK_LOST;
}

/* ---- activities (work items) ---- */

/* The work item token holds with a live lock, or NULL. */
static struct msg *work_locked_by(struct dura_store *s, uint64_t token, int64_t now)
{
	for (size_t i = 0; i < s->n_work; i++)
		if (s->work[i].token == token && s->work[i].lock_until > now)
			return &s->work[i];
	return NULL;
}

/* REQUIRED.  Peek-lock the oldest visible, unlocked item; long poll. */
static dura_fetch_work_item_fn sk_fetch_work_item;
static dura_rc sk_fetch_work_item(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                                  struct dura_work_item **out, struct dura_err *err)
{
	(void)err;
	pthread_mutex_lock(&s->mu);
	int64_t deadline = now_ms() + wait_ms;
	struct msg *m = NULL;
	do {
		int64_t now = now_ms();
		for (size_t i = 0; i < s->n_work && !m; i++)
			if (s->work[i].visible_at <= now && s->work[i].lock_until <= now)
				m = &s->work[i];
		if (m) {
			m->token = ++s->last_token;
			m->lock_until = now + lock_ms;
			m->attempts++;
		}
	} while (!m && wait_for_work(s, deadline));
	struct dura_work_item *w = m ? zalloc(sizeof *w) : NULL;
	if (w) {
		*w = (struct dura_work_item){ m->token, copy_str(m->instance), copy_bytes(m->body),
		                              m->attempts };
	}
	pthread_mutex_unlock(&s->mu);
	if (!w)
		return DURA_EMPTY;
	*out = w;
	return DURA_OK;
}

/* REQUIRED.  Delete the item and enqueue its completion, atomically. */
static dura_ack_work_item_fn sk_ack_work_item;
static dura_rc sk_ack_work_item(dura_store *s, uint64_t token,
                                const struct dura_message *completion, struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	int64_t now = now_ms();
	struct msg *m = work_locked_by(s, token, now);
	if (m) {
		remove_at(s->work, &s->n_work, (size_t)(m - s->work));
		if (DURA_HAS_COMPLETION(completion))
			push(&s->orch, &s->n_orch, completion, now);
		pthread_cond_broadcast(&s->changed);
	} else {
		fail(err, "skeleton: work token %llu holds no lock", (unsigned long long)token);
	}
	pthread_mutex_unlock(&s->mu);
	return m ? DURA_OK : DURA_LOCK_LOST;
}

/* REQUIRED. */
static dura_abandon_work_item_fn sk_abandon_work_item;
static dura_rc sk_abandon_work_item(dura_store *s, uint64_t token, uint32_t delay_ms,
                                    struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	int64_t now = now_ms();
	struct msg *m = work_locked_by(s, token, now);
	if (m) {
		m->token = 0;
		m->lock_until = 0;
		m->visible_at = now + delay_ms;
		pthread_cond_broadcast(&s->changed);
	} else {
		fail(err, "skeleton: work token %llu holds no lock", (unsigned long long)token);
	}
	pthread_mutex_unlock(&s->mu);
	return m ? DURA_OK : DURA_LOCK_LOST;
}

/* REQUIRED. */
static dura_renew_work_lock_fn sk_renew_work_lock;
static dura_rc sk_renew_work_lock(dura_store *s, uint64_t token, uint32_t extend_ms,
                                  struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	int64_t now = now_ms();
	struct msg *m = work_locked_by(s, token, now);
	if (m)
		m->lock_until = now + extend_ms;
	else
		fail(err, "skeleton: work token %llu holds no lock", (unsigned long long)token);
	pthread_mutex_unlock(&s->mu);
	return m ? DURA_OK : DURA_LOCK_LOST;
}

/* REQUIRED.  Accepts NULL. */
static dura_release_work_item_fn sk_release_work_item;
static void sk_release_work_item(dura_store *s, struct dura_work_item *item)
{
	(void)s;
	if (!item)
		return;
	free((char *)item->instance);
	free((void *)item->body.data);
	free(item);
}

/* ---- reads (the core verifies every instance with them) ---- */

/* REQUIRED.  Unknown instance or execution: DURA_OK, no events. */
static dura_read_history_fn sk_read_history;
static dura_rc sk_read_history(dura_store *s, const char *instance, uint64_t execution,
                               struct dura_history **out, struct dura_err *err)
{
	(void)err;
	struct dura_history *h = zalloc(sizeof *h);
	struct dura_event *ev = NULL;
	pthread_mutex_lock(&s->mu);
	struct instance *in = find_instance(s, instance, 0);
	for (size_t k = 0; in && k < in->n_history; k++) {
		if (in->history[k].execution != execution)
			continue;
		ev = grow(ev, &h->n_events, sizeof *ev);
		ev[h->n_events - 1] = (struct dura_event){ in->history[k].ev.event_id,
		                                           copy_bytes(in->history[k].ev.body) };
	}
	pthread_mutex_unlock(&s->mu);
	if (h->n_events)
		qsort(ev, h->n_events, sizeof *ev, by_event_id);
	h->events = ev;
	*out = h;
	return DURA_OK;
}

/* REQUIRED.  Accepts NULL. */
static dura_release_history_fn sk_release_history;
static void sk_release_history(dura_store *s, struct dura_history *h)
{
	(void)s;
	if (!h)
		return;
	for (size_t i = 0; i < h->n_events; i++)
		free((void *)h->events[i].body.data);
	free((void *)h->events);
	free(h);
}

/* REQUIRED.  Unknown instance (or no metadata yet): DURA_EMPTY. */
static dura_instance_status_fn sk_instance_status;
static dura_rc sk_instance_status(dura_store *s, const char *instance,
                                  struct dura_instance_meta **out, struct dura_err *err)
{
	(void)err;
	struct dura_instance_meta *m = NULL;
	pthread_mutex_lock(&s->mu);
	struct instance *in = find_instance(s, instance, 0);
	if (in && in->has_meta) {
		m = zalloc(sizeof *m);
		*m = in->meta;
		m->name = copy_str(in->meta.name);
		m->parent = copy_str(in->meta.parent);
		m->output = copy_bytes(in->meta.output);
	}
	pthread_mutex_unlock(&s->mu);
	if (!m)
		return DURA_EMPTY;
	*out = m;
	return DURA_OK;
}

/* REQUIRED.  Accepts NULL. */
static dura_release_instance_status_fn sk_release_instance_status;
static void sk_release_instance_status(dura_store *s, struct dura_instance_meta *m)
{
	(void)s;
	if (!m)
		return;
	free((char *)m->name);
	free((char *)m->parent);
	free((void *)m->output.data);
	free(m);
}

/* OPTIONAL, left NULL here (see provider.h for each contract):
 *   stats                     no provider counters in the report
 *   ping                      no measured round trip in the report
 *   ack_work_item_and_fetch   the core acks, then fetches: one more call
 *   ack_orchestration_item_and_fetch   likewise for orchestration turns
 *   describe                  the report shows this plugin's description
 *   fetch_work_items, ack_work_items_and_fetch
 *                             activity_batch > 1 falls back to one item
 *                             per call (the core uses the pair only when
 *                             both are there)
 *   local_server              "url = auto" is refused (only for plugins
 *                             with a DURA_OPT_URL option) */

static const struct dura_provider_ops skeleton_ops = {
	DURA_PROVIDER_PREFIX("skeleton", "in-memory template provider (examples/skeleton.c)"),
	.options = skeleton_options,
	.open = sk_open,
	.close = sk_close,
	.enqueue_orchestrator = sk_enqueue_orchestrator,
	.fetch_orchestration_item = sk_fetch_orchestration_item,
	.ack_orchestration_item = sk_ack_orchestration_item,
	.abandon_orchestration_item = sk_abandon_orchestration_item,
	.renew_orchestration_lock = sk_renew_orchestration_lock,
	.release_orchestration_item = sk_release_orchestration_item,
	.fetch_work_item = sk_fetch_work_item,
	.ack_work_item = sk_ack_work_item,
	.abandon_work_item = sk_abandon_work_item,
	.renew_work_lock = sk_renew_work_lock,
	.release_work_item = sk_release_work_item,
	.read_history = sk_read_history,
	.release_history = sk_release_history,
	.instance_status = sk_instance_status,
	.release_instance_status = sk_release_instance_status,
	.check_options = sk_check_options,
};

/* The one exported symbol. */
const struct dura_provider_ops *dura_provider_entry(void)
{
	return &skeleton_ops;
}
