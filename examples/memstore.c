/*
 * memstore: a small, correct, in-memory reference provider.
 *
 * It exists for two reasons: it is the worked example of
 * docs/writing-a-provider.md (everything a provider must do, nothing more:
 * one mutex, one condition variable, a few arrays), and the conformance
 * suite's own test subject.  Built with one of the MEMSTORE_BUG_* macros it
 * becomes a deliberately broken provider, and tests/validate_broken.sh checks
 * that `durabench validate` fails it on the right test:
 *
 *   MEMSTORE_BUG_IGNORE_LOCKS       fetch hands out instances that are locked
 *   MEMSTORE_BUG_DELETE_ALL_ON_ACK  ack deletes messages that arrived during
 *                                   the turn, not only the tagged ones
 *   MEMSTORE_BUG_NO_ROLLBACK        a duplicate event id leaves the writes
 *                                   made before it in place
 *   MEMSTORE_BUG_RENEW_EXPIRED      renew accepts a token whose lock expired
 *   MEMSTORE_BUG_RACE_EMPTY         fetch gives up (EMPTY) when the oldest
 *                                   message's instance is locked
 *   MEMSTORE_BUG_STALE_COMPLETION   ack_work_item with a stale token still
 *                                   enqueues the completion
 *   MEMSTORE_BUG_NO_ATTEMPTS        attempt counts never grow
 *   MEMSTORE_BUG_IGNORE_DELAY       delay_ms is ignored (visible at once)
 *   MEMSTORE_BUG_SHARED_HISTORY     history is not separated by execution
 *   MEMSTORE_BUG_HANG               renew_work_lock never returns
 *   MEMSTORE_BUG_RELEASE_NULL       release_orchestration_item(NULL) crashes
 *   MEMSTORE_BUG_BATCH_ACK_LOST_ENQUEUES
 *                                   ack_work_items_and_fetch enqueues the
 *                                   completion of an item whose lock is lost
 *   MEMSTORE_BUG_BATCH_DOUBLE_HANDOUT
 *                                   fetch_work_items ignores the locks of
 *                                   items another batch fetch holds
 *   MEMSTORE_BUG_BATCH_ACK_SEPARATE ack_work_items_and_fetch commits each
 *                                   ack on its own, not all together
 *   MEMSTORE_BUG_HISTORY_LIMIT      histories are read with "LIMIT 100"
 *   MEMSTORE_BUG_MESSAGE_LIMIT      a fetch tags every visible message but
 *                                   returns only the first 64
 *   MEMSTORE_BUG_BATCH_CAP          fetch_work_items hands out at most 16
 *   MEMSTORE_BUG_INSTANCE_ID_64     instance ids are compared on their first
 *                                   64 bytes (a VARCHAR(64) key)
 *   MEMSTORE_BUG_EXPIRED_ACK_DELETES
 *                                   an ack whose lock expired deletes its
 *                                   tagged messages, then says LOCK_LOST
 *   MEMSTORE_BUG_DUP_APPLIES_META   an ack refused for a duplicate event id
 *                                   still writes the metadata
 *   MEMSTORE_BUG_STALE_ABANDON_DELAYS
 *                                   a refused abandon (stale token) still
 *                                   applies its delay to the messages
 *   MEMSTORE_BUG_RENEW_UNKNOWN_OK   renew_orchestration_lock of a token that
 *                                   holds nothing says OK (rows not checked)
 *   MEMSTORE_BUG_WORK_ABANDON_UNKNOWN_OK
 *                                   abandon_work_item likewise
 *   MEMSTORE_BUG_BATCH_ACK_EXPIRED  ack_work_items_and_fetch accepts tokens
 *                                   whose lock expired
 *   MEMSTORE_BUG_ABANDON_TO_BACK    abandon re-queues the messages behind
 *                                   the ones enqueued later
 *   MEMSTORE_BUG_ORDER_BY_VISIBLE   a turn's messages come ordered by
 *                                   visibility time, not enqueue order
 *   MEMSTORE_BUG_HISTORY_TEXT_ORDER histories are sorted by the event id's
 *                                   decimal text ("10" before "9")
 *   MEMSTORE_BUG_GLOBAL_STORE       every open() shares one global store
 *   MEMSTORE_BUG_DROP_KEEPS         close(drop) keeps the data for the next
 *                                   open()
 *   MEMSTORE_BUG_NO_WAKE_ON_ACK     ack_orchestration_item wakes no waiting
 *                                   fetch (forgotten wake-up)
 *   MEMSTORE_BUG_WAIT_IGNORES_DELAY a waiting fetch does not wake when a
 *                                   delayed message becomes due
 *   MEMSTORE_BUG_WAIT_IGNORES_EXPIRY
 *                                   a waiting fetch does not wake when a
 *                                   lock expires
 *   MEMSTORE_BUG_TAG_NEW_WHEN_LOCKED
 *                                   messages an ack sends to an instance
 *                                   that is locked get that lock's tag (and
 *                                   vanish with its ack)
 *   MEMSTORE_BUG_NO_LONG_POLL       fetches return EMPTY at once, whatever
 *                                   wait_ms says
 *   MEMSTORE_BUG_COMPLETION_TO_ITEM_INSTANCE
 *                                   ack_work_item sends the completion to
 *                                   the work item's instance, not to
 *                                   completion->instance
 *   MEMSTORE_NEWER_MINOR            (not a bug) claims an ABI minor newer
 *                                   than the header's, with one extra op
 *   MEMSTORE_NO_BATCH               (not a bug) leaves out the optional
 *                                   batch operations, like an older plugin
 *   MEMSTORE_NO_ORCH_BATCH          (not a bug) leaves out the ABI 1.7
 *                                   orchestration batch operations
 *
 * Design: everything lives in one struct guarded by one mutex.  Queues are
 * arrays kept in enqueue order, so "oldest first" is a front-to-back scan.
 * A fetch that finds nothing waits on a condition variable that every write
 * broadcasts, bounded by wait_ms and by the next time a delayed message or
 * an expiring lock could make something eligible.  Linear scans keep the
 * code obvious; this is a reference, not a fast store.
 */
#define _POSIX_C_SOURCE 200809L /* built alone, like any plugin: see the top */

#include <durabench/provider.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- helpers */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void set_err(struct dura_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_err(struct dura_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

/* Out of memory in a plugin: report it as a transient failure rather than
 * crash the harness. */
static void *xdup(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);
	if (q && n)
		memcpy(q, p, n);
	return q;
}

static char *xstrdup_or_null(const char *s)
{
	return s ? xdup(s, strlen(s) + 1) : NULL;
}

/* Grows *arr (of *cap elements of size sz) so that it holds n + 1. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, ncap * sz);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* ------------------------------------------------------------------ model */

/* A queued message: orchestrator queue or worker queue. */
struct msg {
	char *instance;
	uint8_t *body;
	size_t len;
	uint64_t visible_at;   /* now_ms() when it may be fetched */
	uint64_t token;        /* orchestrator: tag of the fetch that took it;
	                          worker: current peek-lock token; 0 = none */
	uint64_t locked_until; /* worker queue only */
	uint32_t attempts;
	unsigned char batch_lock; /* worker queue: locked by fetch_work_items */
};

struct event {
	uint64_t event_id;
	uint8_t *body;
	size_t len;
};

struct execution {
	uint64_t id;
	struct event *events; /* ascending event_id */
	size_t n, cap;
};

struct instance {
	char *id;
	uint64_t token;        /* live lock while locked_until > now */
	uint64_t locked_until;
	int has_meta;
	char *name;
	int32_t status;
	uint8_t *output;
	size_t output_len;
	char *parent;
	uint64_t current;      /* current execution, 0 without metadata */
	struct execution *execs;
	size_t n_execs, cap_execs;
};

struct dura_store {
	pthread_mutex_t mu;
	pthread_cond_t changed; /* broadcast on every write (long poll) */
	struct msg *orch;       /* enqueue order */
	size_t n_orch, cap_orch;
	struct msg *work;       /* enqueue order */
	size_t n_work, cap_work;
	struct instance *insts;
	size_t n_insts, cap_insts;
	uint64_t next_token;
	unsigned sleep_us;      /* option: artificial latency per operation */
	struct dura_stats st;
};

/* Instance ids are equal (the 64-byte variant truncates like a
 * VARCHAR(64) column). */
static int same_id(const char *a, const char *b)
{
#ifdef MEMSTORE_BUG_INSTANCE_ID_64
	return strncmp(a, b, 64) == 0;
#else
	return strcmp(a, b) == 0;
#endif
}

static struct instance *find_instance(dura_store *s, const char *id)
{
	for (size_t i = 0; i < s->n_insts; i++)
		if (same_id(s->insts[i].id, id))
			return &s->insts[i];
	return NULL;
}

static struct instance *get_instance(dura_store *s, const char *id)
{
	struct instance *in = find_instance(s, id);
	if (in)
		return in;
	if (grow((void **)&s->insts, &s->cap_insts, s->n_insts, sizeof *s->insts) != 0)
		return NULL;
	in = &s->insts[s->n_insts];
	memset(in, 0, sizeof *in);
	if (!(in->id = xstrdup_or_null(id)))
		return NULL;
	s->n_insts++;
	return in;
}

static int lock_live(uint64_t token, uint64_t locked_until, uint64_t now)
{
	return token != 0 && locked_until > now;
}

/* The instance holding token under a live lock, or NULL. */
static struct instance *instance_by_token(dura_store *s, uint64_t token, uint64_t now)
{
	if (token == 0)
		return NULL;
	for (size_t i = 0; i < s->n_insts; i++)
		if (s->insts[i].token == token && lock_live(token, s->insts[i].locked_until, now))
			return &s->insts[i];
	return NULL;
}

static struct execution *find_execution(struct instance *in, uint64_t id)
{
#ifdef MEMSTORE_BUG_SHARED_HISTORY
	id = 0; /* every execution shares one history */
#endif
	for (size_t i = 0; i < in->n_execs; i++)
		if (in->execs[i].id == id)
			return &in->execs[i];
	return NULL;
}

static struct execution *get_execution(struct instance *in, uint64_t id)
{
	struct execution *ex = find_execution(in, id);
	if (ex)
		return ex;
	if (grow((void **)&in->execs, &in->cap_execs, in->n_execs, sizeof *in->execs) != 0)
		return NULL;
	ex = &in->execs[in->n_execs++];
	memset(ex, 0, sizeof *ex);
#ifdef MEMSTORE_BUG_SHARED_HISTORY
	id = 0;
#endif
	ex->id = id;
	return ex;
}

static int has_event(const struct execution *ex, uint64_t event_id)
{
	for (size_t i = 0; ex && i < ex->n; i++)
		if (ex->events[i].event_id == event_id)
			return 1;
	return 0;
}

/* a sorts after b in history order. */
static int event_after(uint64_t a, uint64_t b)
{
#ifdef MEMSTORE_BUG_HISTORY_TEXT_ORDER
	char x[24], y[24];
	snprintf(x, sizeof x, "%" PRIu64, a);
	snprintf(y, sizeof y, "%" PRIu64, b);
	return strcmp(x, y) > 0;
#else
	return a > b;
#endif
}

/* How many of an execution's n events a read returns. */
static size_t history_count(size_t n)
{
#ifdef MEMSTORE_BUG_HISTORY_LIMIT
	return n > 100 ? 100 : n;
#else
	return n;
#endif
}

/* Inserts keeping ascending order; the caller checked for duplicates. */
static int add_event(struct execution *ex, const struct dura_event *e)
{
	if (grow((void **)&ex->events, &ex->cap, ex->n, sizeof *ex->events) != 0)
		return -1;
	uint8_t *body = xdup(e->body.data, e->body.len);
	if (!body)
		return -1;
	size_t at = ex->n;
	while (at > 0 && event_after(ex->events[at - 1].event_id, e->event_id))
		at--;
	memmove(&ex->events[at + 1], &ex->events[at], (ex->n - at) * sizeof *ex->events);
	ex->events[at] = (struct event){ e->event_id, body, e->body.len };
	ex->n++;
	return 0;
}

static uint64_t visible_at(uint64_t now, int64_t delay_ms)
{
#ifdef MEMSTORE_BUG_IGNORE_DELAY
	delay_ms = 0;
#endif
	return delay_ms > 0 ? now + (uint64_t)delay_ms : now;
}

/* Appends a message to a queue (orchestrator or worker). */
static int push_msg(struct msg **q, size_t *n, size_t *cap, const struct dura_message *m, uint64_t now)
{
	if (grow((void **)q, cap, *n, sizeof **q) != 0)
		return -1;
	struct msg *x = &(*q)[*n];
	memset(x, 0, sizeof *x);
	x->instance = xstrdup_or_null(m->instance ? m->instance : "");
	x->body = xdup(m->body.data, m->body.len);
	if (!x->instance || !x->body) {
		free(x->instance);
		free(x->body);
		return -1;
	}
	x->len = m->body.len;
	x->visible_at = visible_at(now, m->delay_ms);
	(*n)++;
	return 0;
}

static void free_msg(struct msg *m)
{
	free(m->instance);
	free(m->body);
}

/* Removes queue entries for which drop[i] is set, keeping order. */
static void compact(struct msg *q, size_t *n, const unsigned char *drop)
{
	size_t w = 0;
	for (size_t r = 0; r < *n; r++) {
		if (drop[r])
			free_msg(&q[r]);
		else
			q[w++] = q[r];
	}
	*n = w;
}

static uint32_t bump(uint32_t attempts)
{
#ifdef MEMSTORE_BUG_NO_ATTEMPTS
	(void)attempts;
	return 1;
#else
	return attempts + 1;
#endif
}

static void op_latency(dura_store *s)
{
	if (s->sleep_us) {
		struct timespec ts = { (time_t)(s->sleep_us / 1000000u), (long)(s->sleep_us % 1000000u) * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* Waits on the condition until deadline (monotonic ms).  Caller holds mu. */
static void wait_until(dura_store *s, uint64_t deadline)
{
	struct timespec ts;
	ts.tv_sec = (time_t)(deadline / 1000u);
	ts.tv_nsec = (long)(deadline % 1000u) * 1000000L;
	pthread_cond_timedwait(&s->changed, &s->mu, &ts);
}

/* ---------------------------------------------------------------- options */

static const struct dura_option_spec memstore_options[] = {
	{ "sleep_us", "0", "artificial latency added to every operation, in microseconds", 0 },
	{ NULL, NULL, NULL, 0 },
};

/* The operations, declared with the ABI's types so that the compiler
 * checks every definition below against <durabench/provider.h>. */
static dura_open_fn ms_open;
static dura_close_fn ms_close;
static dura_enqueue_orchestrator_fn ms_enqueue_orchestrator;
static dura_fetch_orchestration_item_fn ms_fetch_orch;
static dura_ack_orchestration_item_fn ms_ack_orch;
static dura_abandon_orchestration_item_fn ms_abandon_orch;
static dura_renew_orchestration_lock_fn ms_renew_orch;
static dura_release_orchestration_item_fn release_orch;
static dura_fetch_work_item_fn ms_fetch_work;
static dura_ack_work_item_fn ms_ack_work;
static dura_abandon_work_item_fn ms_abandon_work;
static dura_renew_work_lock_fn ms_renew_work;
static dura_release_work_item_fn ms_release_work;
static dura_read_history_fn ms_read_history;
static dura_release_history_fn ms_release_history;
static dura_instance_status_fn ms_instance_status;
static dura_release_instance_status_fn ms_release_status;
static dura_stats_fn ms_stats;
static dura_ping_fn ms_ping;
static dura_ack_work_item_and_fetch_fn ms_ack_work_and_fetch;
static dura_ack_orchestration_item_and_fetch_fn ms_ack_orch_and_fetch;
static dura_describe_fn ms_describe;
#ifndef MEMSTORE_NO_BATCH
static dura_fetch_work_items_fn ms_fetch_work_items;
static dura_ack_work_items_and_fetch_fn ms_ack_work_items_and_fetch;
#endif
#ifndef MEMSTORE_NO_ORCH_BATCH
static dura_fetch_orchestration_items_fn ms_fetch_orch_items;
static dura_ack_orchestration_items_and_fetch_fn ms_ack_orch_items_and_fetch;
#endif

#if defined MEMSTORE_BUG_GLOBAL_STORE || defined MEMSTORE_BUG_DROP_KEEPS
/* The bugs' process-wide store (a singleton connection, a file that close
 * does not remove). */
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static dura_store *shared;
static unsigned shared_refs;
#endif

static dura_rc ms_open(const struct dura_option *options, size_t n_options,
                       dura_store **out, struct dura_err *err)
{
	unsigned sleep_us = 0;
	for (size_t i = 0; i < n_options; i++) {
		if (strcmp(options[i].key, "sleep_us") == 0) {
			char *end;
			errno = 0;
			unsigned long v = strtoul(options[i].value, &end, 10);
			if (errno || end == options[i].value || *end || v > 10000000ul) {
				set_err(err, "memstore: sleep_us = '%s': expected 0..10000000", options[i].value);
				return DURA_CONFIG;
			}
			sleep_us = (unsigned)v;
		} else {
			set_err(err, "memstore: unknown option '%s' (accepted: sleep_us)", options[i].key);
			return DURA_CONFIG;
		}
	}
#if defined MEMSTORE_BUG_GLOBAL_STORE || defined MEMSTORE_BUG_DROP_KEEPS
	pthread_mutex_lock(&shared_mu);
	if (shared) { /* broken: the same store again */
		*out = shared;
		shared_refs++;
		pthread_mutex_unlock(&shared_mu);
		return DURA_OK;
	}
	pthread_mutex_unlock(&shared_mu);
#endif
	dura_store *s = calloc(1, sizeof *s);
	if (!s) {
		set_err(err, "memstore: out of memory");
		return DURA_RETRY;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines use now_ms() */
	pthread_cond_init(&s->changed, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->mu, NULL);
	s->next_token = 1;
	s->sleep_us = sleep_us;
	*out = s;
#ifdef MEMSTORE_BUG_GLOBAL_STORE
	pthread_mutex_lock(&shared_mu);
	shared = s;
	shared_refs = 1;
	pthread_mutex_unlock(&shared_mu);
#endif
	return DURA_OK;
}

static dura_rc ms_close(dura_store *s, int drop, struct dura_err *err)
{
	(void)drop; /* memory: nothing survives close either way */
	(void)err;
#if defined MEMSTORE_BUG_GLOBAL_STORE || defined MEMSTORE_BUG_DROP_KEEPS
	pthread_mutex_lock(&shared_mu);
#ifdef MEMSTORE_BUG_DROP_KEEPS
	shared = s; /* broken: kept for the next open() */
	shared_refs = 0;
	pthread_mutex_unlock(&shared_mu);
	return DURA_OK;
#else
	if (shared == s && --shared_refs > 0) {
		pthread_mutex_unlock(&shared_mu);
		return DURA_OK;
	}
	if (shared == s)
		shared = NULL;
	pthread_mutex_unlock(&shared_mu);
#endif
#endif
	for (size_t i = 0; i < s->n_orch; i++)
		free_msg(&s->orch[i]);
	for (size_t i = 0; i < s->n_work; i++)
		free_msg(&s->work[i]);
	for (size_t i = 0; i < s->n_insts; i++) {
		struct instance *in = &s->insts[i];
		for (size_t j = 0; j < in->n_execs; j++) {
			for (size_t k = 0; k < in->execs[j].n; k++)
				free(in->execs[j].events[k].body);
			free(in->execs[j].events);
		}
		free(in->execs);
		free(in->id);
		free(in->name);
		free(in->output);
		free(in->parent);
	}
	free(s->orch);
	free(s->work);
	free(s->insts);
	pthread_cond_destroy(&s->changed);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return DURA_OK;
}

/* Starts an operation: the configured latency, then the store's mutex
 * (the operation unlocks it) with one round trip counted.  Returns the
 * time the operation works with. */
static uint64_t begin_op(dura_store *s)
{
	op_latency(s);
	pthread_mutex_lock(&s->mu);
	s->st.round_trips++;
	return now_ms();
}

/* Ends an operation that changed the store: counts the commit, wakes the
 * long polls and unlocks. */
static dura_rc commit_changed(dura_store *s)
{
	s->st.commits++;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
}

/* Ends an operation whose token holds no live lock of kind what. */
static dura_rc lock_lost(dura_store *s, struct dura_err *err, uint64_t token, const char *what)
{
	pthread_mutex_unlock(&s->mu);
	set_err(err, "memstore: token %" PRIu64 " holds no live %s lock", token, what);
	return DURA_LOCK_LOST;
}

/* ------------------------------------------------------ orchestrator queue */

static dura_rc ms_enqueue_orchestrator(dura_store *s, const struct dura_message *msgs, size_t n,
                                       struct dura_err *err)
{
	uint64_t now = begin_op(s);
	size_t before = s->n_orch;
	for (size_t i = 0; i < n; i++) {
		if (!get_instance(s, msgs[i].instance) ||
		    push_msg(&s->orch, &s->n_orch, &s->cap_orch, &msgs[i], now) != 0) {
			while (s->n_orch > before) /* all or nothing */
				free_msg(&s->orch[--s->n_orch]);
			pthread_mutex_unlock(&s->mu);
			set_err(err, "memstore: out of memory");
			return DURA_RETRY;
		}
	}
	return commit_changed(s);
}


/* Queue indexes of the first n messages tagged with token, in the order a
 * turn returns them (enqueue order).  Caller frees; NULL on OOM. */
static size_t *message_order(dura_store *s, uint64_t token, size_t n)
{
	size_t *order = malloc((n ? n : 1) * sizeof *order);
	size_t k = 0;
	for (size_t i = 0; order && i < s->n_orch && k < n; i++)
		if (s->orch[i].token == token)
			order[k++] = i;
#ifdef MEMSTORE_BUG_ORDER_BY_VISIBLE
	for (size_t a = 1; order && a < k; a++) /* insertion sort by visible_at */
		for (size_t b = a; b > 0 && s->orch[order[b - 1]].visible_at > s->orch[order[b]].visible_at; b--) {
			size_t x = order[b];
			order[b] = order[b - 1];
			order[b - 1] = x;
		}
#endif
	return order;
}

/* Builds the item for instance `in` locked under `token`.  NULL on OOM. */
static struct dura_orch_item *make_orch_item(dura_store *s, struct instance *in, uint64_t token)
{
	struct dura_orch_item *it = calloc(1, sizeof *it);
	if (!it)
		return NULL;
	it->token = token;
	it->instance = xstrdup_or_null(in->id);
	it->execution = in->has_meta ? in->current : 0;
	size_t n = 0;
	for (size_t i = 0; i < s->n_orch; i++)
		n += s->orch[i].token == token;
#ifdef MEMSTORE_BUG_MESSAGE_LIMIT
	if (n > 64)
		n = 64; /* broken: all n are tagged (and deleted by the ack) */
#endif
	struct dura_fetched_message *m = calloc(n, sizeof *m);
	it->messages = m;
	size_t *order = message_order(s, token, n);
	if (!order)
		goto oom;
	for (size_t k = 0, j = 0; m && k < n; k++) {
		size_t i = order[k];
		m[j].body.data = xdup(s->orch[i].body, s->orch[i].len);
		m[j].body.len = s->orch[i].len;
		m[j].attempts = s->orch[i].attempts;
		if (m[j].attempts > it->attempts)
			it->attempts = m[j].attempts;
		if (!m[j].body.data) {
			free(order);
			goto oom;
		}
		it->n_messages = ++j;
	}
	free(order);
	const struct execution *ex = find_execution(in, it->execution);
	if (ex && ex->n) {
		struct dura_event *h = calloc(ex->n, sizeof *h);
		it->history = h;
		if (!h)
			goto oom;
		for (size_t i = 0; i < history_count(ex->n); i++) {
			h[i].event_id = ex->events[i].event_id;
			h[i].body.data = xdup(ex->events[i].body, ex->events[i].len);
			h[i].body.len = ex->events[i].len;
			if (!h[i].body.data)
				goto oom;
			it->n_history = i + 1;
		}
	}
	if (!it->instance || !m)
		goto oom;
	return it;
oom:
	release_orch(s, it);
	return NULL;
}

/* One attempt to lock an instance; caller holds mu.  *next_change is set to
 * the earliest time something now ineligible may become eligible. */
static dura_rc try_fetch_orch(dura_store *s, uint32_t lock_ms, struct dura_orch_item **out,
                              uint64_t *next_change, struct dura_err *err)
{
	uint64_t now = now_ms();
	*next_change = UINT64_MAX;
	for (size_t i = 0; i < s->n_orch; i++) {
		struct msg *m = &s->orch[i];
		if (m->visible_at > now) {
#ifndef MEMSTORE_BUG_WAIT_IGNORES_DELAY
			if (m->visible_at < *next_change)
				*next_change = m->visible_at;
#endif
			continue;
		}
		struct instance *in = find_instance(s, m->instance);
		if (!in)
			continue; /* cannot happen: enqueue creates it */
#ifndef MEMSTORE_BUG_IGNORE_LOCKS
		if (lock_live(in->token, in->locked_until, now)) {
#ifndef MEMSTORE_BUG_WAIT_IGNORES_EXPIRY
			if (in->locked_until < *next_change)
				*next_change = in->locked_until;
#endif
			s->st.lock_conflicts++;
#ifdef MEMSTORE_BUG_RACE_EMPTY
			break; /* gives up instead of looking at the next instance */
#else
			continue;
#endif
		}
#endif
		uint64_t token = s->next_token++;
		in->token = token;
		in->locked_until = now + lock_ms;
		/* Tag every visible message of the instance, including ones
		 * tagged by an earlier fetch whose lock expired. */
		for (size_t j = 0; j < s->n_orch; j++) {
			struct msg *x = &s->orch[j];
			if (x->visible_at <= now && same_id(x->instance, in->id)) {
				x->token = token;
				x->attempts = bump(x->attempts);
			}
		}
		*out = make_orch_item(s, in, token);
		if (!*out) {
			set_err(err, "memstore: out of memory");
			return DURA_RETRY;
		}
		return DURA_OK;
	}
	return DURA_EMPTY;
}

/* Locks up to max instances, one try_fetch_orch after the other (each
 * skips the instances the ones before it locked); caller holds mu.  The
 * single and the batch fetch share it, so a batch is exactly "max single
 * fetches in one go".  DURA_OK with *n >= 1, or the first try's code. */
static dura_rc try_fetch_orchs(dura_store *s, uint32_t lock_ms, size_t max,
                               struct dura_orch_item **items, size_t *n,
                               uint64_t *next_change, struct dura_err *err)
{
	dura_rc rc = DURA_EMPTY;
	*n = 0;
	while (*n < max) {
		uint64_t change;
		rc = try_fetch_orch(s, lock_ms, &items[*n], &change, err);
		if (*n == 0)
			*next_change = change;
		if (rc != DURA_OK)
			break;
		++*n;
	}
	if (*n == 0)
		return rc;
	s->st.commits++;
	return DURA_OK;
}

/* The long poll around try_fetch_orchs, for the single and batch fetch. */
static dura_rc fetch_orch_wait(dura_store *s, uint32_t lock_ms, uint32_t wait_ms, size_t max,
                               struct dura_orch_item **items, size_t *n, struct dura_err *err)
{
	op_latency(s);
	*n = 0;
#ifdef MEMSTORE_BUG_NO_LONG_POLL
	wait_ms = 0;
#endif
	uint64_t deadline = now_ms() + wait_ms;
	pthread_mutex_lock(&s->mu);
	s->st.round_trips++;
	for (;;) {
		uint64_t next_change;
		dura_rc rc = try_fetch_orchs(s, lock_ms, max, items, n, &next_change, err);
		if (rc != DURA_EMPTY || now_ms() >= deadline) {
			if (rc == DURA_EMPTY)
				s->st.empty_fetches++;
			pthread_mutex_unlock(&s->mu);
			return rc;
		}
		wait_until(s, next_change < deadline ? next_change : deadline);
	}
}

static dura_rc ms_fetch_orch(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                             struct dura_orch_item **out, struct dura_err *err)
{
	size_t n;
	*out = NULL;
	return fetch_orch_wait(s, lock_ms, wait_ms, 1, out, &n, err);
}

static void release_orch(dura_store *s, struct dura_orch_item *it)
{
	(void)s;
#ifndef MEMSTORE_BUG_RELEASE_NULL
	if (!it)
		return;
#endif
	for (size_t i = 0; i < it->n_messages; i++)
		free((void *)it->messages[i].body.data);
	for (size_t i = 0; i < it->n_history; i++)
		free((void *)it->history[i].body.data);
	free((void *)it->messages);
	free((void *)it->history);
	free((void *)it->instance);
	free(it);
}

static int set_meta(struct instance *in, const struct dura_instance_meta *meta)
{
	char *name = xstrdup_or_null(meta->name);
	char *parent = xstrdup_or_null(meta->parent);
	uint8_t *output = xdup(meta->output.data, meta->output.len);
	if ((meta->name && !name) || (meta->parent && !parent) || !output) {
		free(name);
		free(parent);
		free(output);
		return -1;
	}
	free(in->name);
	free(in->parent);
	free(in->output);
	in->name = name;
	in->parent = parent;
	in->output = output;
	in->output_len = meta->output.len;
	in->status = meta->status;
	in->current = meta->execution;
	in->has_meta = 1;
	return 0;
}

/* Checks an ack's history delta: 0, or -1 with the duplicate id in *dup. */
static int find_duplicate(struct instance *in, const struct dura_orch_ack *ack, uint64_t *dup)
{
	const struct execution *ex = find_execution(in, ack->execution);
	for (size_t i = 0; i < ack->n_history; i++) {
		uint64_t id = ack->history[i].event_id;
		int seen = has_event(ex, id);
		for (size_t j = 0; j < i && !seen; j++)
			seen = ack->history[j].event_id == id;
		if (seen) {
			*dup = id;
			return -1;
		}
	}
	return 0;
}

/* The bug MEMSTORE_BUG_TAG_NEW_WHEN_LOCKED: a message sent by an ack to an
 * instance that is locked gets that lock's tag, as if the fetch had
 * handed it out.  A no-op in the correct store. */
static void tag_if_locked(dura_store *s, struct msg *m, uint64_t now)
{
#ifdef MEMSTORE_BUG_TAG_NEW_WHEN_LOCKED
	struct instance *in = find_instance(s, m->instance);
	if (in && lock_live(in->token, in->locked_until, now))
		m->token = in->token;
#else
	(void)s;
	(void)m;
	(void)now;
#endif
}

/* One turn's ack, all or nothing; caller holds mu (and keeps it). */
static dura_rc apply_ack(dura_store *s, uint64_t token, const struct dura_orch_ack *ack,
                         uint64_t now, struct dura_err *err)
{
	struct instance *in = instance_by_token(s, token, now);
	if (!in) {
#ifdef MEMSTORE_BUG_EXPIRED_ACK_DELETES
		/* broken: the delete runs before the lock check */
		unsigned char *gone = calloc(s->n_orch ? s->n_orch : 1, 1);
		for (size_t i = 0; gone && token && i < s->n_orch; i++)
			gone[i] = s->orch[i].token == token;
		if (gone)
			compact(s->orch, &s->n_orch, gone);
		free(gone);
#endif
		set_err(err, "memstore: token %" PRIu64 " holds no live instance lock", token);
		return DURA_LOCK_LOST;
	}
	/* Validate everything first, then apply: the ack is all or nothing.
	 * (Out of memory half-way would break that; a reference store for
	 * tests accepts the risk to stay short.) */
	uint64_t dup;
	if (find_duplicate(in, ack, &dup) != 0) {
#ifdef MEMSTORE_BUG_NO_ROLLBACK
		/* Broken: the writes made before the duplicate stay. */
		for (size_t i = 0; i < ack->n_work_items; i++)
			push_msg(&s->work, &s->n_work, &s->cap_work, &ack->work_items[i], now);
		struct execution *bad = get_execution(in, ack->execution);
		for (size_t i = 0; bad && i < ack->n_history && !has_event(bad, ack->history[i].event_id); i++)
			add_event(bad, &ack->history[i]);
#endif
#ifdef MEMSTORE_BUG_DUP_APPLIES_META
		if (ack->meta) /* broken: written before the check refused the ack */
			set_meta(in, ack->meta);
#endif
		set_err(err, "memstore: duplicate event id %" PRIu64 " for instance '%s' execution %" PRIu64,
		        dup, in->id, ack->execution);
		return DURA_PERMANENT;
	}
	struct execution *ex = ack->n_history ? get_execution(in, ack->execution) : NULL;
	for (size_t i = 0; ex && i < ack->n_history; i++)
		add_event(ex, &ack->history[i]);
	for (size_t i = 0; i < ack->n_work_items; i++)
		push_msg(&s->work, &s->n_work, &s->cap_work, &ack->work_items[i], now);
	/* Delete the messages this turn consumed, and only those. */
	unsigned char *drop = calloc(s->n_orch ? s->n_orch : 1, 1);
	for (size_t i = 0; drop && i < s->n_orch; i++) {
#ifdef MEMSTORE_BUG_DELETE_ALL_ON_ACK
		drop[i] = strcmp(s->orch[i].instance, in->id) == 0 && s->orch[i].visible_at <= now;
#else
		drop[i] = s->orch[i].token == token;
#endif
	}
	if (drop)
		compact(s->orch, &s->n_orch, drop);
	free(drop);
	size_t idx = (size_t)(in - s->insts);
	for (size_t i = 0; i < ack->n_orch_items; i++) {
		get_instance(s, ack->orch_items[i].instance);
		if (push_msg(&s->orch, &s->n_orch, &s->cap_orch, &ack->orch_items[i], now) == 0)
			tag_if_locked(s, &s->orch[s->n_orch - 1], now);
	}
	/* get_instance may have moved the array; indexes stay valid. */
	in = &s->insts[idx];
	if (ack->meta)
		set_meta(in, ack->meta);
	in->token = 0;
	in->locked_until = 0;
	return DURA_OK;
}

/* Ends an operation whose acks committed: counts the commit and (but for
 * the bug) wakes the long polls; mu stays held. */
static void acks_committed(dura_store *s)
{
	s->st.commits++;
#ifndef MEMSTORE_BUG_NO_WAKE_ON_ACK
	pthread_cond_broadcast(&s->changed); /* the bug: waiting fetches sleep on */
#endif
}

static dura_rc ms_ack_orch(dura_store *s, uint64_t token, const struct dura_orch_ack *ack,
                           struct dura_err *err)
{
	uint64_t now = begin_op(s);
	dura_rc rc = apply_ack(s, token, ack, now, err);
	if (rc == DURA_OK)
		acks_committed(s);
	pthread_mutex_unlock(&s->mu);
	return rc;
}


#ifdef MEMSTORE_BUG_ABANDON_TO_BACK
/* The bug: abandon as "delete and re-insert" puts the messages behind the
 * ones enqueued after them. */
static void move_tagged_to_back(dura_store *s, uint64_t token)
{
	struct msg *tagged = malloc((s->n_orch ? s->n_orch : 1) * sizeof *tagged);
	if (!tagged)
		return;
	size_t w = 0, k = 0;
	for (size_t r = 0; r < s->n_orch; r++) {
		if (s->orch[r].token == token)
			tagged[k++] = s->orch[r];
		else
			s->orch[w++] = s->orch[r];
	}
	memcpy(&s->orch[w], tagged, k * sizeof *tagged);
	free(tagged);
}
#endif

static dura_rc ms_abandon_orch(dura_store *s, uint64_t token, uint32_t delay_ms, struct dura_err *err)
{
	uint64_t now = begin_op(s);
	struct instance *in = instance_by_token(s, token, now);
#ifdef MEMSTORE_BUG_STALE_ABANDON_DELAYS
	/* broken: the messages are updated before the lock is checked */
	for (size_t i = 0; !in && token && i < s->n_orch; i++)
		if (s->orch[i].token == token)
			s->orch[i].visible_at = visible_at(now, delay_ms);
#endif
	if (!in) {
		return lock_lost(s, err, token, "instance");
	}
#ifdef MEMSTORE_BUG_ABANDON_TO_BACK
	move_tagged_to_back(s, token);
#endif
	for (size_t i = 0; i < s->n_orch; i++) {
		if (s->orch[i].token == token) {
			s->orch[i].token = 0;
			s->orch[i].visible_at = visible_at(now, delay_ms);
		}
	}
	in->token = 0;
	in->locked_until = 0;
	return commit_changed(s);
}

static dura_rc ms_renew_orch(dura_store *s, uint64_t token, uint32_t extend_ms, struct dura_err *err)
{
	uint64_t now = begin_op(s);
	struct instance *in = instance_by_token(s, token, now);
#ifdef MEMSTORE_BUG_RENEW_EXPIRED
	for (size_t i = 0; !in && token && i < s->n_insts; i++)
		if (s->insts[i].token == token)
			in = &s->insts[i];
#endif
#ifdef MEMSTORE_BUG_RENEW_UNKNOWN_OK
	if (!in) { /* broken: "UPDATE ... WHERE token = ?" changed no row */
		pthread_mutex_unlock(&s->mu);
		return DURA_OK;
	}
#endif
	if (!in) {
		return lock_lost(s, err, token, "instance");
	}
	in->locked_until = now + extend_ms;
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
}

/* ------------------------------------------------------------ worker queue */

/* Copies worker item w out for the caller (token and attempts are set
 * when the lock is taken).  NULL on OOM. */
static struct dura_work_item *make_work_item(const struct msg *w)
{
	struct dura_work_item *it = calloc(1, sizeof *it);
	uint8_t *body = xdup(w->body, w->len);
	char *inst = xstrdup_or_null(w->instance);
	if (!it || !body || !inst) {
		free(it);
		free(body);
		free(inst);
		return NULL;
	}
	*it = (struct dura_work_item){ 0, inst, { body, w->len }, 0 };
	return it;
}


/* Peek-locks up to max oldest eligible work items, each under its own
 * token; caller holds mu.  The single and the batch fetch share it, so a
 * batch is exactly "max single fetches in one go".  On DURA_EMPTY
 * *next_change is the earliest time a delayed item becomes visible or a
 * lock expires.  batch marks the locks as taken by a batch fetch (only the
 * MEMSTORE_BUG_BATCH_DOUBLE_HANDOUT variant looks at that). */
static dura_rc try_fetch_work(dura_store *s, uint32_t lock_ms, size_t max, int batch,
                              struct dura_work_item **items, size_t *n_items,
                              uint64_t *next_change, struct dura_err *err)
{
	uint64_t now = now_ms();
	*n_items = 0;
	*next_change = UINT64_MAX;
	/* First pick and copy, then lock: out of memory changes nothing. */
	size_t cap = max < s->n_work ? max : s->n_work;
	size_t *picked = malloc((cap ? cap : 1) * sizeof *picked);
	if (!picked)
		goto oom;
	size_t n = 0;
	for (size_t i = 0; i < s->n_work && n < max; i++) {
		struct msg *w = &s->work[i];
		uint64_t ready = w->visible_at;
		int locked = lock_live(w->token, w->locked_until, now);
#ifdef MEMSTORE_BUG_BATCH_DOUBLE_HANDOUT
		if (batch && w->batch_lock)
			locked = 0; /* broken: another batch's lock is ignored */
#endif
		if (locked && w->locked_until > ready)
			ready = w->locked_until;
		if (ready > now) {
			int counts = 1;
#ifdef MEMSTORE_BUG_WAIT_IGNORES_DELAY
			counts = locked; /* a delay alone does not end the wait */
#endif
#ifdef MEMSTORE_BUG_WAIT_IGNORES_EXPIRY
			counts = !locked; /* an expiring lock does not end the wait */
#endif
			if (counts && ready < *next_change)
				*next_change = ready;
			continue;
		}
		if (!(items[n] = make_work_item(w))) {
			for (size_t j = 0; j < n; j++) {
				ms_release_work(s, items[j]);
				items[j] = NULL;
			}
			free(picked);
			goto oom;
		}
		picked[n++] = i;
	}
	for (size_t j = 0; j < n; j++) {
		struct msg *w = &s->work[picked[j]];
		w->token = s->next_token++;
		w->locked_until = now + lock_ms;
		w->attempts = bump(w->attempts);
		w->batch_lock = (unsigned char)(batch != 0);
		items[j]->token = w->token;
		items[j]->attempts = w->attempts;
	}
	free(picked);
	*n_items = n;
	if (n == 0)
		return DURA_EMPTY;
	s->st.commits++;
	return DURA_OK;
oom:
	set_err(err, "memstore: out of memory");
	return DURA_RETRY;
}

/* The long poll around try_fetch_work, for the single and batch fetch. */
static dura_rc fetch_work_wait(dura_store *s, uint32_t lock_ms, uint32_t wait_ms, size_t max,
                               int batch, struct dura_work_item **items, size_t *n_items,
                               struct dura_err *err)
{
	op_latency(s);
	*n_items = 0;
#ifdef MEMSTORE_BUG_NO_LONG_POLL
	wait_ms = 0;
#endif
	uint64_t deadline = now_ms() + wait_ms;
	pthread_mutex_lock(&s->mu);
	s->st.round_trips++;
	for (;;) {
		uint64_t next_change;
		dura_rc rc = try_fetch_work(s, lock_ms, max, batch, items, n_items, &next_change, err);
		if (rc != DURA_EMPTY || now_ms() >= deadline) {
			if (rc == DURA_EMPTY)
				s->st.empty_fetches++;
			pthread_mutex_unlock(&s->mu);
			return rc;
		}
		wait_until(s, next_change < deadline ? next_change : deadline);
	}
}

static dura_rc ms_fetch_work(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                             struct dura_work_item **out, struct dura_err *err)
{
	size_t n;
	*out = NULL;
	return fetch_work_wait(s, lock_ms, wait_ms, 1, 0, out, &n, err);
}

/* Index of the worker item held by token under a live lock, or -1. */
static long work_by_token(dura_store *s, uint64_t token, uint64_t now)
{
	for (size_t i = 0; token && i < s->n_work; i++)
		if (s->work[i].token == token && lock_live(token, s->work[i].locked_until, now))
			return (long)i;
	return -1;
}

static dura_rc ms_ack_work(dura_store *s, uint64_t token, const struct dura_message *completion,
                           struct dura_err *err)
{
	uint64_t now = begin_op(s);
	long i = work_by_token(s, token, now);
#ifdef MEMSTORE_BUG_COMPLETION_TO_ITEM_INSTANCE
	struct dura_message redirected;
	if (i >= 0 && completion) { /* broken: the item's instance, not the completion's */
		redirected = *completion;
		redirected.instance = s->work[i].instance;
		completion = &redirected;
	}
#endif
	if (i < 0) {
#ifdef MEMSTORE_BUG_STALE_COMPLETION
		if (completion && get_instance(s, completion->instance))
			push_msg(&s->orch, &s->n_orch, &s->cap_orch, completion, now);
#endif
		return lock_lost(s, err, token, "work item");
	}
	if (completion && (!get_instance(s, completion->instance) ||
	                   push_msg(&s->orch, &s->n_orch, &s->cap_orch, completion, now) != 0)) {
		pthread_mutex_unlock(&s->mu);
		set_err(err, "memstore: out of memory");
		return DURA_RETRY;
	}
	if (completion)
		tag_if_locked(s, &s->orch[s->n_orch - 1], now);
	free_msg(&s->work[i]);
	memmove(&s->work[i], &s->work[i + 1], (s->n_work - (size_t)i - 1) * sizeof *s->work);
	s->n_work--;
	return commit_changed(s);
}

static dura_rc ms_abandon_work(dura_store *s, uint64_t token, uint32_t delay_ms, struct dura_err *err)
{
	uint64_t now = begin_op(s);
	long i = work_by_token(s, token, now);
#ifdef MEMSTORE_BUG_WORK_ABANDON_UNKNOWN_OK
	if (i < 0) { /* broken: "UPDATE ... WHERE token = ?" changed no row */
		pthread_mutex_unlock(&s->mu);
		return DURA_OK;
	}
#endif
	if (i < 0) {
		return lock_lost(s, err, token, "work item");
	}
	s->work[i].token = 0;
	s->work[i].locked_until = 0;
	s->work[i].visible_at = visible_at(now, delay_ms);
	return commit_changed(s);
}

static dura_rc ms_renew_work(dura_store *s, uint64_t token, uint32_t extend_ms, struct dura_err *err)
{
#ifdef MEMSTORE_BUG_HANG
	for (;;) {
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);
	}
#endif
	uint64_t now = begin_op(s);
	long i = work_by_token(s, token, now);
#ifdef MEMSTORE_BUG_RENEW_EXPIRED
	for (size_t j = 0; i < 0 && token && j < s->n_work; j++)
		if (s->work[j].token == token)
			i = (long)j;
#endif
	if (i < 0) {
		return lock_lost(s, err, token, "work item");
	}
	s->work[i].locked_until = now + extend_ms;
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
}

static void ms_release_work(dura_store *s, struct dura_work_item *it)
{
	(void)s;
	if (!it)
		return;
	free((void *)it->instance);
	free((void *)it->body.data);
	free(it);
}

/* ------------------------------------------------------------------ reads */

static dura_rc ms_read_history(dura_store *s, const char *instance, uint64_t execution,
                               struct dura_history **out, struct dura_err *err)
{
	op_latency(s);
	*out = NULL;
	struct dura_history *h = calloc(1, sizeof *h);
	if (!h)
		goto oom;
	pthread_mutex_lock(&s->mu);
	s->st.round_trips++;
	struct instance *in = find_instance(s, instance);
	const struct execution *ex = in ? find_execution(in, execution) : NULL;
	if (ex && ex->n) {
		struct dura_event *ev = calloc(ex->n, sizeof *ev);
		h->events = ev;
		for (size_t i = 0; ev && i < history_count(ex->n); i++) {
			ev[i].event_id = ex->events[i].event_id;
			ev[i].body.len = ex->events[i].len;
			ev[i].body.data = xdup(ex->events[i].body, ex->events[i].len);
			if (!ev[i].body.data)
				break;
			h->n_events = i + 1;
		}
		if (h->n_events != history_count(ex->n)) {
			pthread_mutex_unlock(&s->mu);
			goto oom;
		}
	}
	pthread_mutex_unlock(&s->mu);
	*out = h;
	return DURA_OK;
oom:
	if (h) {
		for (size_t i = 0; i < h->n_events; i++)
			free((void *)h->events[i].body.data);
		free((void *)h->events);
		free(h);
	}
	set_err(err, "memstore: out of memory");
	return DURA_RETRY;
}

static void ms_release_history(dura_store *s, struct dura_history *h)
{
	(void)s;
	if (!h)
		return;
	for (size_t i = 0; i < h->n_events; i++)
		free((void *)h->events[i].body.data);
	free((void *)h->events);
	free(h);
}

static void ms_release_status(dura_store *s, struct dura_instance_meta *m)
{
	(void)s;
	if (!m)
		return;
	free((void *)m->name);
	free((void *)m->parent);
	free((void *)m->output.data);
	free(m);
}

static dura_rc ms_instance_status(dura_store *s, const char *instance,
                                  struct dura_instance_meta **out, struct dura_err *err)
{
	op_latency(s);
	*out = NULL;
	pthread_mutex_lock(&s->mu);
	s->st.round_trips++;
	struct instance *in = find_instance(s, instance);
	if (!in || !in->has_meta) {
		pthread_mutex_unlock(&s->mu);
		return DURA_EMPTY;
	}
	if (!DURA_STATUS_STORABLE(in->status) || in->current < 1) {
		/* a stored row that decodes to nothing an ack writes (ABI 1.4) */
		set_err(err, "memstore: instances row of instance %.200s cannot be decoded: "
		        "status %d, execution %llu", instance, (int)in->status,
		        (unsigned long long)in->current);
		pthread_mutex_unlock(&s->mu);
		return DURA_CORRUPT;
	}
	struct dura_instance_meta *m = calloc(1, sizeof *m);
	int oom = !m;
	if (m) {
		m->name = xstrdup_or_null(in->name);
		m->parent = xstrdup_or_null(in->parent);
		m->output.data = xdup(in->output, in->output_len);
		m->output.len = in->output_len;
		m->status = in->status;
		m->execution = in->current;
		oom = (in->name && !m->name) || (in->parent && !m->parent) || !m->output.data;
	}
	pthread_mutex_unlock(&s->mu);
	if (oom) {
		ms_release_status(s, m);
		set_err(err, "memstore: out of memory");
		return DURA_RETRY;
	}
	*out = m;
	return DURA_OK;
}

/* ------------------------------------------------------ optional operations */

static dura_rc ms_stats(dura_store *s, struct dura_stats *out)
{
	pthread_mutex_lock(&s->mu);
	struct dura_stats st = s->st;
	pthread_mutex_unlock(&s->mu);
	/* Copy only what the caller's struct has room for: it may be an
	 * older, shorter struct dura_stats. */
	st.struct_size = out->struct_size;
	memcpy(out, &st, out->struct_size < sizeof st ? out->struct_size : sizeof st);
	return DURA_OK;
}

static dura_rc ms_ping(dura_store *s, struct dura_err *err)
{
	(void)s;
	(void)err;
	return DURA_OK;
}

static dura_rc ms_ack_work_and_fetch(dura_store *s, uint64_t token,
                                     const struct dura_message *completion, uint32_t lock_ms,
                                     struct dura_work_item **next, struct dura_err *err)
{
	*next = NULL;
	dura_rc rc = ms_ack_work(s, token, completion, err);
	if (rc == DURA_OK) {
		struct dura_err ignored;
		ms_fetch_work(s, lock_ms, 0, next, &ignored);
	}
	return rc;
}

#ifndef MEMSTORE_NO_BATCH
static dura_rc ms_fetch_work_items(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                                   size_t max_items, struct dura_work_item **items,
                                   size_t *n_items, struct dura_err *err)
{
	*n_items = 0;
	if (max_items == 0) {
		set_err(err, "memstore: fetch_work_items: max_items is 0");
		return DURA_PERMANENT;
	}
#ifdef MEMSTORE_BUG_BATCH_CAP
	if (max_items > 16)
		max_items = 16; /* broken: a fixed-size array of 16 */
#endif
	return fetch_work_wait(s, lock_ms, wait_ms, max_items, 1, items, n_items, err);
}

/* The acks of ack_work_items_and_fetch, all or nothing; caller holds mu.
 * Decides every result first (a token given twice acks once: the second
 * finds the item gone), then appends the completions (undone on OOM), then
 * deletes the acked items. */
static dura_rc ack_many(dura_store *s, size_t n, const uint64_t *tokens,
                        const struct dura_message *completions, dura_rc *results,
                        uint64_t now, struct dura_err *err)
{
	unsigned char *drop = calloc(s->n_work ? s->n_work : 1, 1);
	dura_rc *res = calloc(n ? n : 1, sizeof *res);
	if (!drop || !res)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		long w = work_by_token(s, tokens[i], now);
#ifdef MEMSTORE_BUG_BATCH_ACK_EXPIRED
		for (size_t j = 0; w < 0 && tokens[i] && j < s->n_work; j++)
			if (s->work[j].token == tokens[i])
				w = (long)j; /* broken: the expiry is not checked */
#endif
		res[i] = w >= 0 && !drop[w] ? DURA_OK : DURA_LOCK_LOST;
		if (res[i] == DURA_OK)
			drop[w] = 1;
	}
	size_t before = s->n_orch;
	for (size_t i = 0; completions && i < n; i++) {
		int enqueue = res[i] == DURA_OK;
#ifdef MEMSTORE_BUG_BATCH_ACK_LOST_ENQUEUES
		enqueue = 1; /* broken: a lost item's completion goes out too */
#endif
		if (!enqueue || !completions[i].instance)
			continue;
		if (!get_instance(s, completions[i].instance) ||
		    push_msg(&s->orch, &s->n_orch, &s->cap_orch, &completions[i], now) != 0) {
			while (s->n_orch > before)
				free_msg(&s->orch[--s->n_orch]);
			goto oom;
		}
	}
	compact(s->work, &s->n_work, drop);
	if (n)
		memcpy(results, res, n * sizeof *res);
	free(drop);
	free(res);
	return DURA_OK;
oom:
	free(drop);
	free(res);
	set_err(err, "memstore: out of memory");
	return DURA_RETRY;
}

static dura_rc ms_ack_work_items_and_fetch(dura_store *s, size_t n, const uint64_t *tokens,
                                           const struct dura_message *completions,
                                           dura_rc *results, uint32_t lock_ms, size_t max_next,
                                           struct dura_work_item **next, size_t *n_next,
                                           struct dura_err *err)
{
	*n_next = 0;
#ifdef MEMSTORE_BUG_BATCH_ACK_SEPARATE
	/* Broken: each ack is its own transaction (with a round trip in
	 * between), so others can see some of the call's acks without the
	 * rest. */
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			struct timespec gap = { 0, 100 * 1000000L };
			nanosleep(&gap, NULL);
		}
		uint64_t now = begin_op(s);
		dura_rc rc = ack_many(s, 1, &tokens[i], completions ? &completions[i] : NULL,
		                      &results[i], now, err);
		if (rc != DURA_OK) {
			pthread_mutex_unlock(&s->mu);
			return rc;
		}
		commit_changed(s);
	}
	op_latency(s);
	pthread_mutex_lock(&s->mu);
#else
	uint64_t now = begin_op(s);
	dura_rc rc = ack_many(s, n, tokens, completions, results, now, err);
	if (rc != DURA_OK) {
		pthread_mutex_unlock(&s->mu);
		return rc;
	}
	/* The acks stand whatever the fetch part does; a failed fetch just
	 * returns nothing. */
	s->st.commits++;
	pthread_cond_broadcast(&s->changed);
#endif
	if (max_next > 0) {
		uint64_t ignored_change;
		struct dura_err ignored;
		if (try_fetch_work(s, lock_ms, max_next, 1, next, n_next, &ignored_change, &ignored) ==
		    DURA_EMPTY)
			s->st.empty_fetches++;
	}
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
}

#endif /* MEMSTORE_NO_BATCH */

static dura_rc ms_ack_orch_and_fetch(dura_store *s, uint64_t token, const struct dura_orch_ack *ack,
                                     uint32_t lock_ms, struct dura_orch_item **next,
                                     struct dura_err *err)
{
	*next = NULL;
	dura_rc rc = ms_ack_orch(s, token, ack, err);
	if (rc == DURA_OK) {
		struct dura_err ignored;
		ms_fetch_orch(s, lock_ms, 0, next, &ignored);
	}
	return rc;
}

#ifndef MEMSTORE_NO_ORCH_BATCH
static dura_rc ms_fetch_orch_items(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                                   size_t max_items, struct dura_orch_item **items,
                                   size_t *n_items, struct dura_err *err)
{
	*n_items = 0;
	if (max_items == 0) {
		set_err(err, "memstore: fetch_orchestration_items: max_items is 0");
		return DURA_PERMANENT;
	}
	return fetch_orch_wait(s, lock_ms, wait_ms, max_items, items, n_items, err);
}

/* Every ack on its own (apply_ack is all or nothing), under one mutex
 * hold, so they commit together; then the fetch. */
static dura_rc ms_ack_orch_items_and_fetch(dura_store *s, size_t n, const uint64_t *tokens,
                                           const struct dura_orch_ack *acks, dura_rc *results,
                                           uint32_t lock_ms, size_t max_next,
                                           struct dura_orch_item **next, size_t *n_next,
                                           struct dura_err *err)
{
	*n_next = 0;
	uint64_t now = begin_op(s);
	int applied = 0, reported = 0;
	for (size_t i = 0; i < n; i++) {
		struct dura_err item_err;
		results[i] = apply_ack(s, tokens[i], &acks[i], now, &item_err);
		applied |= results[i] == DURA_OK;
		if (results[i] != DURA_OK && !reported++)
			snprintf(err->msg, sizeof err->msg, "item %zu: %.400s", i, item_err.msg);
	}
	if (applied)
		acks_committed(s);
	if (max_next > 0) {
		uint64_t ignored_change;
		struct dura_err ignored;
		if (try_fetch_orchs(s, lock_ms, max_next, next, n_next, &ignored_change, &ignored) ==
		    DURA_EMPTY)
			s->st.empty_fetches++;
	}
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
}
#endif /* MEMSTORE_NO_ORCH_BATCH */

static void ms_describe(dura_store *s, char *buf, size_t len)
{
	snprintf(buf, len, "memstore (in-memory reference provider), sleep_us %u", s->sleep_us);
}

static const struct dura_provider_ops memstore_ops = {
	DURA_PROVIDER_PREFIX("memstore", "in-memory reference provider (test and example)"),
	.options = memstore_options,
	.open = ms_open,
	.close = ms_close,
	.enqueue_orchestrator = ms_enqueue_orchestrator,
	.fetch_orchestration_item = ms_fetch_orch,
	.ack_orchestration_item = ms_ack_orch,
	.abandon_orchestration_item = ms_abandon_orch,
	.renew_orchestration_lock = ms_renew_orch,
	.release_orchestration_item = release_orch,
	.fetch_work_item = ms_fetch_work,
	.ack_work_item = ms_ack_work,
	.abandon_work_item = ms_abandon_work,
	.renew_work_lock = ms_renew_work,
	.release_work_item = ms_release_work,
	.read_history = ms_read_history,
	.release_history = ms_release_history,
	.instance_status = ms_instance_status,
	.release_instance_status = ms_release_status,
	.stats = ms_stats,
	.ping = ms_ping,
	.ack_work_item_and_fetch = ms_ack_work_and_fetch,
	.ack_orchestration_item_and_fetch = ms_ack_orch_and_fetch,
	.describe = ms_describe,
#ifndef MEMSTORE_NO_BATCH
	.fetch_work_items = ms_fetch_work_items,
	.ack_work_items_and_fetch = ms_ack_work_items_and_fetch,
#endif
#ifndef MEMSTORE_NO_ORCH_BATCH
	.fetch_orchestration_items = ms_fetch_orch_items,
	.ack_orchestration_items_and_fetch = ms_ack_orch_items_and_fetch,
#endif
};

#ifdef MEMSTORE_NEWER_MINOR
/* The table of a plugin built against a future provider.h: a newer minor
 * and one more operation than this header knows.  The core must load it,
 * say so and run it with the operations it knows. */
static void ms_future_op(void)
{
}

static struct {
	struct dura_provider_ops ops;
	void (*future_op)(void);
} newer_ops;

const struct dura_provider_ops *dura_provider_entry(void)
{
	newer_ops.ops = memstore_ops;
	newer_ops.ops.abi_minor = DURA_ABI_MINOR + 1;
	newer_ops.ops.struct_size = (uint32_t)sizeof newer_ops;
	newer_ops.future_op = ms_future_op;
	return &newer_ops.ops;
}
#else
const struct dura_provider_ops *dura_provider_entry(void)
{
	return &memstore_ops;
}
#endif
