/* The null provider's worker queue: a FIFO of visible items, locked items
 * by token, delayed items and locks in heaps. */

#include "null_store.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void fifo_append(dura_store *s, struct null_work *w)
{
	w->next = NULL;
	w->prev = s->work_tail;
	if (s->work_tail)
		s->work_tail->next = w;
	else
		s->work_head = w;
	s->work_tail = w;
}

static void fifo_unlink(dura_store *s, struct null_work *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		s->work_head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		s->work_tail = w->prev;
	w->prev = w->next = NULL;
}

int null_push_work(dura_store *s, const struct dura_message *m, uint64_t now)
{
	const char *inst = m->instance ? m->instance : "";
	size_t ilen = strlen(inst) + 1;
	/* Owned by the queue until an ack deletes it. */
	struct null_work *w = malloc(sizeof *w + ilen + m->body.len);
	if (!w)
		return -1;
	memset(w, 0, sizeof *w);
	w->instance = w->data;
	memcpy(w->instance, inst, ilen);
	w->body = (uint8_t *)w->data + ilen;
	if (m->body.len)
		memcpy(w->body, m->body.data, m->body.len);
	w->len = m->body.len;
	w->seq = s->next_seq++;
	if (m->delay_ms > 0) {
		w->timer.k1 = now + (uint64_t)m->delay_ms;
		w->timer.k2 = w->seq;
		if (null_heap_push(&s->work_timers, &w->timer) != 0) {
			free(w);
			return -1;
		}
		return 0;
	}
	fifo_append(s, w);
	return 0;
}

void null_settle_work(dura_store *s, uint64_t now)
{
	struct null_hnode *h;
	while ((h = null_heap_top(&s->work_timers)) && h->k1 <= now) {
		null_heap_remove(&s->work_timers, h);
		fifo_append(s, NULL_CONTAINER(h, struct null_work, timer));
	}
	while ((h = null_heap_top(&s->work_locks)) && h->k1 <= now) {
		struct null_work *w = NULL_CONTAINER(h, struct null_work, lock);
		null_heap_remove(&s->work_locks, h);
		null_map_remove(&s->work_tokens, &w->by_token);
		w->token = 0; /* the token dies with the lock */
		fifo_append(s, w);
	}
}

/* A copy of w for the caller (one allocation); NULL on OOM. */
static struct dura_work_item *copy_out(const struct null_work *w)
{
	size_t ilen = strlen(w->instance) + 1;
	struct dura_work_item *it = malloc(sizeof *it + ilen + w->len);
	if (!it)
		return NULL;
	char *inst = (char *)(it + 1);
	uint8_t *body = (uint8_t *)inst + ilen;
	memcpy(inst, w->instance, ilen);
	memcpy(body, w->body, w->len);
	*it = (struct dura_work_item){ 0, inst, { body, w->len }, 0 };
	return it;
}

/* Peek-locks up to max items from the front of the FIFO; caller holds
 * mu. */
static dura_rc take_work(dura_store *s, uint32_t lock_ms, size_t max, uint64_t now,
                         struct dura_work_item **items, size_t *n_items, struct dura_err *err)
{
	null_settle_work(s, now);
	size_t n = 0;
	while (n < max && s->work_head) {
		struct null_work *w = s->work_head;
		uint64_t token = s->next_token++;
		w->lock.k1 = now + lock_ms;
		w->lock.k2 = token;
		struct dura_work_item *it = copy_out(w);
		if (!it || null_heap_push(&s->work_locks, &w->lock) != 0) {
			free(it);
			if (n)
				break; /* hand out what was taken */
			null_err(err, "null: out of memory");
			return DURA_RETRY;
		}
		null_map_put(&s->work_tokens, &w->by_token, null_hash_u64(token));
		fifo_unlink(s, w);
		w->token = token;
		w->attempts++;
		it->token = token;
		it->attempts = w->attempts;
		items[n++] = it;
	}
	*n_items = n;
	if (!n)
		return DURA_EMPTY;
	s->st.commits++;
	return DURA_OK;
}

static dura_rc fetch_wait(dura_store *s, uint32_t lock_ms, uint32_t wait_ms, size_t max,
                          struct dura_work_item **items, size_t *n_items, struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	s->st.round_trips++;
	uint64_t now = null_now_ms(), deadline = now + wait_ms;
	dura_rc rc;
	while ((rc = take_work(s, lock_ms, max, now, items, n_items, err)) == DURA_EMPTY &&
	       now < deadline) {
		null_wait(s, &s->work_cond, &s->work_waiters, deadline);
		now = null_now_ms();
	}
	if (rc == DURA_EMPTY)
		s->st.empty_fetches++;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

dura_rc null_fetch_work(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                        struct dura_work_item **out, struct dura_err *err)
{
	size_t n = 0;
	*out = NULL;
	return fetch_wait(s, lock_ms, wait_ms, 1, out, &n, err);
}

dura_rc null_fetch_work_items(dura_store *s, uint32_t lock_ms, uint32_t wait_ms, size_t max_items,
                              struct dura_work_item **items, size_t *n_items,
                              struct dura_err *err)
{
	*n_items = 0;
	if (max_items == 0) {
		null_err(err, "null: fetch_work_items: max_items is 0");
		return DURA_PERMANENT;
	}
	return fetch_wait(s, lock_ms, wait_ms, max_items, items, n_items, err);
}

void null_release_work(dura_store *s, struct dura_work_item *it)
{
	(void)s;
	free(it);
}

/* The item token holds under a live lock, or NULL. */
static struct null_work *work_by_token(dura_store *s, uint64_t token, uint64_t now)
{
	struct null_mnode *x = token ? null_map_get(&s->work_tokens, null_hash_u64(token), NULL, NULL)
	                             : NULL;
	struct null_work *w = x ? NULL_CONTAINER(x, struct null_work, by_token) : NULL;
	return w && w->token == token && w->lock.k1 > now ? w : NULL;
}

static void delete_work(dura_store *s, struct null_work *w)
{
	null_heap_remove(&s->work_locks, &w->lock);
	null_map_remove(&s->work_tokens, &w->by_token);
	free(w);
}

static dura_rc work_lost(dura_store *s, uint64_t token, struct dura_err *err)
{
	pthread_mutex_unlock(&s->mu);
	null_err(err, "null: token %" PRIu64 " holds no live work item lock", token);
	return DURA_LOCK_LOST;
}

dura_rc null_ack_work(dura_store *s, uint64_t token, const struct dura_message *completion,
                      struct dura_err *err)
{
	uint64_t now = null_begin(s);
	struct null_work *w = work_by_token(s, token, now);
	if (!w)
		return work_lost(s, token, err);
	if (DURA_HAS_COMPLETION(completion)) {
		if (null_push_message(s, completion, now) != 0) {
			pthread_mutex_unlock(&s->mu);
			null_err(err, "null: out of memory");
			return DURA_RETRY;
		}
		null_wake(&s->orch_cond, s->orch_waiters);
	}
	delete_work(s, w);
	s->st.commits++;
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
}

dura_rc null_ack_work_and_fetch(dura_store *s, uint64_t token, const struct dura_message *completion,
                                uint32_t lock_ms, struct dura_work_item **next, struct dura_err *err)
{
	*next = NULL;
	dura_rc rc = null_ack_work(s, token, completion, err);
	if (rc == DURA_OK) {
		struct dura_err ignored;
		null_fetch_work(s, lock_ms, 0, next, &ignored);
	}
	return rc;
}

dura_rc null_ack_work_items_and_fetch(dura_store *s, size_t n, const uint64_t *tokens,
                                      const struct dura_message *completions, dura_rc *results,
                                      uint32_t lock_ms, size_t max_next,
                                      struct dura_work_item **next, size_t *n_next,
                                      struct dura_err *err)
{
	*n_next = 0;
	uint64_t now = null_begin(s);
	/* Decide every result first; a token given twice finds its item
	 * already claimed (token cleared) the second time. */
	struct null_work **hit = calloc(n ? n : 1, sizeof *hit);
	if (!hit) {
		pthread_mutex_unlock(&s->mu);
		null_err(err, "null: out of memory");
		return DURA_RETRY;
	}
	for (size_t i = 0; i < n; i++) {
		hit[i] = work_by_token(s, tokens[i], now);
		if (hit[i])
			null_map_remove(&s->work_tokens, &hit[i]->by_token);
	}
	int oom = 0;
	for (size_t i = 0; i < n; i++) {
		results[i] = hit[i] ? DURA_OK : DURA_LOCK_LOST;
		if (hit[i] && completions && DURA_HAS_COMPLETION(&completions[i]))
			oom |= null_push_message(s, &completions[i], now);
		if (hit[i]) {
			null_heap_remove(&s->work_locks, &hit[i]->lock);
			free(hit[i]);
		}
	}
	free(hit);
	s->st.commits++;
	null_wake(&s->orch_cond, s->orch_waiters);
	if (max_next > 0) {
		struct dura_err ignored;
		if (take_work(s, lock_ms, max_next, now, next, n_next, &ignored) == DURA_EMPTY)
			s->st.empty_fetches++;
	}
	pthread_mutex_unlock(&s->mu);
	if (oom) {
		null_err(err, "null: out of memory during a batch ack (partly applied)");
		return DURA_PERMANENT;
	}
	return DURA_OK;
}

dura_rc null_abandon_work(dura_store *s, uint64_t token, uint32_t delay_ms, struct dura_err *err)
{
	uint64_t now = null_begin(s);
	struct null_work *w = work_by_token(s, token, now);
	if (!w)
		return work_lost(s, token, err);
	null_heap_remove(&s->work_locks, &w->lock);
	null_map_remove(&s->work_tokens, &w->by_token);
	w->token = 0;
	w->timer.k1 = now + delay_ms;
	w->timer.k2 = w->seq;
	if (delay_ms == 0 || null_heap_push(&s->work_timers, &w->timer) != 0)
		fifo_append(s, w);
	return null_commit(s, &s->work_cond, s->work_waiters);
}

dura_rc null_renew_work(dura_store *s, uint64_t token, uint32_t extend_ms, struct dura_err *err)
{
	uint64_t now = null_begin(s);
	struct null_work *w = work_by_token(s, token, now);
	if (!w)
		return work_lost(s, token, err);
	null_heap_update(&s->work_locks, &w->lock, now + extend_ms, token);
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
}

void null_free_work(dura_store *s)
{
	for (struct null_work *w = s->work_head, *next; w; w = next) {
		next = w->next;
		free(w);
	}
	for (size_t i = 1; i <= s->work_locks.n; i++)
		free(NULL_CONTAINER(s->work_locks.v[i], struct null_work, lock));
	for (size_t i = 1; i <= s->work_timers.n; i++)
		free(NULL_CONTAINER(s->work_timers.v[i], struct null_work, timer));
}
