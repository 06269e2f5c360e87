/* The null provider's store: lifecycle, instances, the orchestrator
 * queue's bookkeeping, timers, lock expiry and the long poll. */

#include "null_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t null_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t null_begin(dura_store *s)
{
	pthread_mutex_lock(&s->mu);
	s->st.round_trips++;
	return null_now_ms();
}

dura_rc null_commit(dura_store *s, pthread_cond_t *cond, unsigned waiters)
{
	s->st.commits++;
	null_wake(cond, waiters);
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
}

void null_err(struct dura_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

static int id_eq(const struct null_mnode *x, const void *key)
{
	return strcmp(NULL_CONTAINER(x, struct null_inst, by_id)->id, key) == 0;
}

struct null_inst *null_instance(dura_store *s, const char *id, int create)
{
	uint64_t h = null_hash_str(id);
	struct null_mnode *x = null_map_get(&s->insts, h, id_eq, id);
	if (x || !create)
		return x ? NULL_CONTAINER(x, struct null_inst, by_id) : NULL;
	size_t len = strlen(id);
	/* Owned by the store until close. */
	struct null_inst *in = calloc(1, sizeof *in + len + 1);
	if (!in)
		return NULL;
	memcpy(in->id, id, len + 1);
	if (null_map_put(&s->insts, &in->by_id, h) != 0) {
		free(in);
		return NULL;
	}
	return in;
}

void null_reready(dura_store *s, struct null_inst *in)
{
	struct null_msg *m = in->head;
	while (m && m->timer.pos)
		m = m->next; /* delayed: not visible yet */
	if (!m || in->token) {
		null_heap_remove(&s->ready, &in->ready);
		return;
	}
	if (!in->ready.pos) {
		in->ready.k1 = m->seq;
		in->ready.k2 = 0;
		if (null_heap_push(&s->ready, &in->ready) != 0)
			in->ready.pos = 0; /* out of memory: found again by the next reready */
	} else if (in->ready.k1 != m->seq) {
		null_heap_update(&s->ready, &in->ready, m->seq, 0);
	}
}

/* A visible message of an unlocked instance may make it ready, or older. */
static void message_visible(dura_store *s, struct null_msg *m)
{
	struct null_inst *in = m->inst;
	if (in->token)
		return;
	if (!in->ready.pos || m->seq < in->ready.k1)
		null_reready(s, in);
}

int null_push_message(dura_store *s, const struct dura_message *m, uint64_t now)
{
	struct null_inst *in = null_instance(s, m->instance, 1);
	/* Owned by its instance's queue until an ack deletes it. */
	struct null_msg *x = in ? malloc(sizeof *x + m->body.len) : NULL;
	if (!x)
		return -1;
	memset(x, 0, sizeof *x);
	if (m->body.len)
		memcpy(x->body, m->body.data, m->body.len);
	x->len = m->body.len;
	x->inst = in;
	x->seq = s->next_seq++;
	if (m->delay_ms > 0) {
		x->timer.k1 = now + (uint64_t)m->delay_ms;
		x->timer.k2 = x->seq;
		if (null_heap_push(&s->orch_timers, &x->timer) != 0) {
			free(x);
			return -1;
		}
	}
	x->prev = in->tail;
	if (in->tail)
		in->tail->next = x;
	else
		in->head = x;
	in->tail = x;
	if (!x->timer.pos)
		message_visible(s, x);
	return 0;
}

void null_settle(dura_store *s, uint64_t now)
{
	struct null_hnode *h;
	while ((h = null_heap_top(&s->orch_timers)) && h->k1 <= now) {
		null_heap_remove(&s->orch_timers, h);
		message_visible(s, NULL_CONTAINER(h, struct null_msg, timer));
	}
	while ((h = null_heap_top(&s->orch_locks)) && h->k1 <= now) {
		struct null_inst *in = NULL_CONTAINER(h, struct null_inst, lock);
		null_heap_remove(&s->orch_locks, h);
		/* The token dies with the lock: any later use is LOCK_LOST. */
		null_map_remove(&s->orch_tokens, &in->by_token);
		in->token = 0;
		null_reready(s, in);
	}
}

static uint64_t earliest(const struct null_heap *a, const struct null_heap *b, uint64_t t)
{
	const struct null_hnode *x = null_heap_top(a), *y = null_heap_top(b);
	if (x && x->k1 < t)
		t = x->k1;
	if (y && y->k1 < t)
		t = y->k1;
	return t;
}

void null_wait(dura_store *s, pthread_cond_t *cond, unsigned *waiters, uint64_t deadline)
{
	if (cond == &s->orch_cond)
		deadline = earliest(&s->orch_timers, &s->orch_locks, deadline);
	else
		deadline = earliest(&s->work_timers, &s->work_locks, deadline);
	struct timespec ts = { (time_t)(deadline / 1000u), (long)(deadline % 1000u) * 1000000L };
	(*waiters)++;
	pthread_cond_timedwait(cond, &s->mu, &ts);
	(*waiters)--;
}

void null_wake(pthread_cond_t *cond, unsigned waiters)
{
	if (waiters)
		pthread_cond_broadcast(cond);
}

int null_in_template(const dura_store *s, const void *p)
{
	for (const struct null_template *t = s->templates; t; t = t->next)
		if ((const uint8_t *)p >= t->begin && (const uint8_t *)p <= t->end)
			return 1;
	return 0;
}

void null_free_instance(dura_store *s, struct null_inst *in)
{
	for (struct null_msg *m = in->head, *next; m; m = next) {
		next = m->next;
		free(m);
	}
	for (size_t i = 0; i < in->n_execs; i++) {
		struct null_exec *ex = &in->execs[i];
		for (size_t k = 0; ex->cap && k < ex->n; k++)
			if (!null_in_template(s, ex->events[k].body.data))
				free((void *)ex->events[k].body.data);
		if (ex->cap)
			free(ex->events);
	}
	free(in->execs);
	free(in->name);
	free(in->parent);
	free(in->output);
	free(in);
}
