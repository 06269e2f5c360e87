/* The null provider's orchestrator queue: enqueue, fetch, ack, abandon,
 * renew. */

#include "null_store.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

dura_rc null_enqueue_orchestrator(dura_store *s, const struct dura_message *msgs, size_t n,
                                  struct dura_err *err)
{
	uint64_t now = null_begin(s);
	for (size_t i = 0; i < n; i++) {
		if (null_push_message(s, &msgs[i], now) != 0) {
			/* Undo this call's messages: all or nothing. */
			for (size_t k = 0; k < i; k++) {
				struct null_inst *in = null_instance(s, msgs[k].instance, 0);
				struct null_msg *m = in->tail;
				null_heap_remove(&s->orch_timers, &m->timer);
				in->tail = m->prev;
				if (in->tail)
					in->tail->next = NULL;
				else
					in->head = NULL;
				free(m);
				null_reready(s, in);
			}
			pthread_mutex_unlock(&s->mu);
			null_err(err, "null: out of memory");
			return DURA_RETRY;
		}
	}
	return null_commit(s, &s->orch_cond, s->orch_waiters);
}

struct null_exec *null_find_exec(struct null_inst *in, uint64_t id)
{
	for (size_t i = in->n_execs; i-- > 0;) /* the current one is last */
		if (in->execs[i].id == id)
			return &in->execs[i];
	return NULL;
}

struct null_exec *null_add_exec(struct null_inst *in, uint64_t id)
{
	if (in->n_execs == in->cap_execs) {
		size_t cap = in->cap_execs ? in->cap_execs * 2 : 1;
		struct null_exec *v = realloc(in->execs, cap * sizeof *v);
		if (!v)
			return NULL;
		in->execs = v;
		in->cap_execs = cap;
	}
	struct null_exec *ex = &in->execs[in->n_execs++];
	*ex = (struct null_exec){ .id = id };
	return ex;
}

/* The item for instance in, whose visible messages carry token: one
 * allocation (messages, history array, instance id, message bodies); the
 * history bodies point into the store, which never frees an event before
 * close. */
static struct dura_orch_item *make_item(struct null_inst *in, uint64_t token)
{
	size_t n_msgs = 0, bytes = 0;
	for (struct null_msg *m = in->head; m; m = m->next) {
		if (m->tag == token) {
			n_msgs++;
			bytes += m->len;
		}
	}
	uint64_t execution = in->has_meta ? in->current : 0;
	const struct null_exec *ex = null_find_exec(in, execution);
	size_t n_hist = ex ? ex->n : 0, idlen = strlen(in->id) + 1;
	struct dura_orch_item *it = malloc(sizeof *it + n_msgs * sizeof(struct dura_fetched_message) +
	                                   n_hist * sizeof(struct dura_event) + idlen + bytes);
	if (!it)
		return NULL;
	struct dura_fetched_message *msgs = (void *)(it + 1);
	struct dura_event *hist = (void *)(msgs + n_msgs);
	char *id = (char *)(hist + n_hist);
	uint8_t *body = (uint8_t *)id + idlen;
	memcpy(id, in->id, idlen);
	*it = (struct dura_orch_item){ .token = token, .instance = id, .execution = execution,
	                               .messages = msgs, .n_messages = n_msgs,
	                               .history = hist, .n_history = n_hist };
	size_t k = 0;
	for (struct null_msg *m = in->head; m; m = m->next) {
		if (m->tag != token)
			continue;
		memcpy(body, m->body, m->len);
		msgs[k++] = (struct dura_fetched_message){ { body, m->len }, m->attempts };
		body += m->len;
		if (m->attempts > it->attempts)
			it->attempts = m->attempts;
	}
	if (n_hist)
		memcpy(hist, ex->events, n_hist * sizeof *hist);
	return it;
}

/* Locks the ready instance with the oldest visible message; caller holds
 * mu.  DURA_EMPTY when none is ready. */
static dura_rc take_instance(dura_store *s, uint32_t lock_ms, uint64_t now,
                             struct dura_orch_item **out, struct dura_err *err)
{
	null_settle(s, now);
	struct null_hnode *h = null_heap_top(&s->ready);
	if (!h)
		return DURA_EMPTY;
	struct null_inst *in = NULL_CONTAINER(h, struct null_inst, ready);
	uint64_t token = s->next_token++;
	in->lock.k1 = now + lock_ms;
	in->lock.k2 = token;
	if (null_heap_push(&s->orch_locks, &in->lock) != 0 ||
	    null_map_put(&s->orch_tokens, &in->by_token, null_hash_u64(token)) != 0) {
		null_heap_remove(&s->orch_locks, &in->lock);
		null_err(err, "null: out of memory");
		return DURA_RETRY;
	}
	null_heap_remove(&s->ready, h);
	in->token = token;
	in->locked_until = now + lock_ms;
	/* Every visible message, also those an expired lock had tagged. */
	for (struct null_msg *m = in->head; m; m = m->next) {
		if (!m->timer.pos) {
			m->tag = token;
			m->attempts++;
		}
	}
	if (!(*out = make_item(in, token))) {
		/* Out of memory: hand nothing out; the lock expires on its own. */
		null_err(err, "null: out of memory");
		return DURA_RETRY;
	}
	s->st.commits++;
	return DURA_OK;
}

dura_rc null_fetch_orch(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                        struct dura_orch_item **out, struct dura_err *err)
{
	*out = NULL;
	pthread_mutex_lock(&s->mu);
	s->st.round_trips++;
	uint64_t now = null_now_ms(), deadline = now + wait_ms;
	dura_rc rc;
	while ((rc = take_instance(s, lock_ms, now, out, err)) == DURA_EMPTY && now < deadline) {
		null_wait(s, &s->orch_cond, &s->orch_waiters, deadline);
		now = null_now_ms();
	}
	if (rc == DURA_EMPTY)
		s->st.empty_fetches++;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void null_release_orch(dura_store *s, struct dura_orch_item *it)
{
	(void)s;
	free(it);
}

/* The instance whose live lock token holds, or NULL. */
static struct null_inst *by_token(dura_store *s, uint64_t token, uint64_t now)
{
	struct null_mnode *x = token ? null_map_get(&s->orch_tokens, null_hash_u64(token), NULL, NULL)
	                             : NULL;
	struct null_inst *in = x ? NULL_CONTAINER(x, struct null_inst, by_token) : NULL;
	return in && in->token == token && in->locked_until > now ? in : NULL;
}

static void unlock(dura_store *s, struct null_inst *in)
{
	null_heap_remove(&s->orch_locks, &in->lock);
	null_map_remove(&s->orch_tokens, &in->by_token);
	in->token = 0;
	null_reready(s, in);
}

static dura_rc lock_lost(dura_store *s, uint64_t token, struct dura_err *err)
{
	pthread_mutex_unlock(&s->mu);
	null_err(err, "null: token %" PRIu64 " holds no live instance lock", token);
	return DURA_LOCK_LOST;
}

/* An event id of the delta that exists already or repeats within it. */
static int duplicate(const struct null_exec *ex, const struct dura_orch_ack *ack, uint64_t *dup)
{
	uint64_t last = ex && ex->n ? ex->events[ex->n - 1].event_id : 0;
	int have_last = ex && ex->n;
	for (size_t i = 0; i < ack->n_history; i++) {
		uint64_t id = ack->history[i].event_id;
		if (!have_last || id > last) { /* the usual case: ascending */
			last = id;
			have_last = 1;
			continue;
		}
		for (size_t k = 0; ex && k < ex->n; k++)
			if (ex->events[k].event_id == id)
				goto found;
		for (size_t k = 0; k < i; k++)
			if (ack->history[k].event_id == id)
				goto found;
		continue;
	found:
		*dup = id;
		return 1;
	}
	return 0;
}

/* Inserts an event keeping ascending order (appends in the usual case). */
static int add_event(struct null_inst *in, uint64_t execution, const struct dura_event *e)
{
	struct null_exec *ex = null_find_exec(in, execution);
	if (!ex && !(ex = null_add_exec(in, execution)))
		return -1;
	if (ex->n == ex->cap) {
		/* A prefill template's array is shared: copy it first. */
		size_t cap = ex->cap ? ex->cap * 2 : ex->n + 16;
		struct dura_event *v = ex->cap ? realloc(ex->events, cap * sizeof *v)
		                               : malloc(cap * sizeof *v);
		if (!v)
			return -1;
		if (!ex->cap && ex->n)
			memcpy(v, ex->events, ex->n * sizeof *v);
		ex->events = v;
		ex->cap = cap;
	}
	uint8_t *body = malloc(e->body.len ? e->body.len : 1);
	if (!body)
		return -1;
	if (e->body.len)
		memcpy(body, e->body.data, e->body.len);
	size_t at = ex->n;
	while (at > 0 && ex->events[at - 1].event_id > e->event_id)
		at--;
	memmove(&ex->events[at + 1], &ex->events[at], (ex->n - at) * sizeof *ex->events);
	ex->events[at] = (struct dura_event){ e->event_id, { body, e->body.len } };
	ex->n++;
	return 0;
}

int null_set_meta(struct null_inst *in, const struct dura_instance_meta *meta)
{
	char *name = meta->name ? strdup(meta->name) : NULL;
	char *parent = meta->parent ? strdup(meta->parent) : NULL;
	uint8_t *output = malloc(meta->output.len ? meta->output.len : 1);
	if ((meta->name && !name) || (meta->parent && !parent) || !output) {
		free(name);
		free(parent);
		free(output);
		return -1;
	}
	if (meta->output.len)
		memcpy(output, meta->output.data, meta->output.len);
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

dura_rc null_ack_orch(dura_store *s, uint64_t token, const struct dura_orch_ack *ack,
                      struct dura_err *err)
{
	uint64_t now = null_begin(s);
	struct null_inst *in = by_token(s, token, now);
	if (!in)
		return lock_lost(s, token, err);
	/* Validate first, then write: the ack is all or nothing.  (Out of
	 * memory half-way through the writes is reported, not undone: on a
	 * machine where malloc fails the baseline has nothing to measure.) */
	uint64_t dup;
	if (duplicate(null_find_exec(in, ack->execution), ack, &dup)) {
		pthread_mutex_unlock(&s->mu);
		null_err(err, "null: duplicate event id %" PRIu64 " for instance '%s' execution %" PRIu64,
		         dup, in->id, ack->execution);
		return DURA_PERMANENT;
	}
	int oom = 0;
	for (size_t i = 0; i < ack->n_history; i++)
		oom |= add_event(in, ack->execution, &ack->history[i]);
	for (size_t i = 0; i < ack->n_work_items; i++)
		oom |= null_push_work(s, &ack->work_items[i], now);
	/* Delete the messages this turn consumed, and only those. */
	for (struct null_msg *m = in->head, *next; m; m = next) {
		next = m->next;
		if (m->tag != token)
			continue;
		if (m->prev)
			m->prev->next = m->next;
		else
			in->head = m->next;
		if (m->next)
			m->next->prev = m->prev;
		else
			in->tail = m->prev;
		free(m);
	}
	/* Unlocked before its own new messages arrive, so they make it ready. */
	unlock(s, in);
	for (size_t i = 0; i < ack->n_orch_items; i++)
		oom |= null_push_message(s, &ack->orch_items[i], now);
	if (ack->meta)
		oom |= null_set_meta(in, ack->meta);
	s->st.commits++;
	null_wake(&s->orch_cond, s->orch_waiters);
	if (ack->n_work_items)
		null_wake(&s->work_cond, s->work_waiters);
	pthread_mutex_unlock(&s->mu);
	if (oom) {
		null_err(err, "null: out of memory during an ack (partly applied)");
		return DURA_PERMANENT;
	}
	return DURA_OK;
}

dura_rc null_ack_orch_and_fetch(dura_store *s, uint64_t token, const struct dura_orch_ack *ack,
                                uint32_t lock_ms, struct dura_orch_item **next,
                                struct dura_err *err)
{
	*next = NULL;
	dura_rc rc = null_ack_orch(s, token, ack, err);
	if (rc == DURA_OK) {
		struct dura_err ignored;
		null_fetch_orch(s, lock_ms, 0, next, &ignored);
	}
	return rc;
}

dura_rc null_abandon_orch(dura_store *s, uint64_t token, uint32_t delay_ms, struct dura_err *err)
{
	uint64_t now = null_begin(s);
	struct null_inst *in = by_token(s, token, now);
	if (!in)
		return lock_lost(s, token, err);
	for (struct null_msg *m = in->head; m; m = m->next) {
		if (m->tag != token)
			continue;
		m->tag = 0;
		if (delay_ms > 0 && !m->timer.pos) {
			m->timer.k1 = now + delay_ms;
			m->timer.k2 = m->seq;
			null_heap_push(&s->orch_timers, &m->timer); /* OOM: visible at once */
		}
	}
	unlock(s, in);
	return null_commit(s, &s->orch_cond, s->orch_waiters);
}

dura_rc null_renew_orch(dura_store *s, uint64_t token, uint32_t extend_ms, struct dura_err *err)
{
	uint64_t now = null_begin(s);
	struct null_inst *in = by_token(s, token, now);
	if (!in)
		return lock_lost(s, token, err);
	in->locked_until = now + extend_ms;
	null_heap_update(&s->orch_locks, &in->lock, in->locked_until, token);
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
}
