/*
 * Idempotency keys for enqueue_orchestrator.
 *
 * If the connection drops while the server commits, the client cannot
 * know whether the enqueue committed, and a retry could store its
 * messages twice (an ack cannot: once it committed its token is gone, so a
 * repeat is LOCK_LOST and changes nothing).
 *
 * Every enqueue call carries a key the client makes up; dura_enqueue
 * records it in enqueue_keys (primary key) in the same transaction as the
 * messages, and a second attempt with the same key changes nothing.  The
 * key is reused
 *   - by dura_mdb_call's internal retries of the same call
 *     (MDB_RETRY_ALWAYS: even after a lost reply), and
 *   - by the caller's own retry after we returned DURA_RETRY: such a call
 *     is remembered here with a copy of its messages, and the next call
 *     with byte-identical messages (what a retry passes) claims its key.
 * A caller that gets DURA_RETRY believes nothing was enqueued, so a call
 * with identical messages means "have these once" either way.  The same
 * rule as the PostgreSQL provider's (docs/postgres.md).
 *
 * Keys are a random 63-bit base per store plus a counter: unique within
 * the store; two stores on one database collide with negligible
 * probability.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mdb_internal.h"

/* Remembered calls expire well before the server prunes their keys (1 h). */
#define PENDING_TTL_NS (600ull * 1000000000ull)

void dura_mdb_keys_init(struct dura_mdb_keys *k)
{
	memset(k, 0, sizeof *k);
	pthread_mutex_init(&k->mu, NULL);
	uint64_t base = 0;
	if (getrandom(&base, sizeof base, 0) != (ssize_t)sizeof base)
		base = dura_mdb_now_ns() ^ (uint64_t)(uintptr_t)k; /* never in practice */
	atomic_init(&k->next, base >> 1); /* positive as a signed BIGINT */
	atomic_init(&k->n_pending, 0);
}

void dura_mdb_keys_destroy(struct dura_mdb_keys *k)
{
	for (unsigned i = 0; i < MDB_KEYS_PENDING; i++)
		free(k->pending[i].content);
	pthread_mutex_destroy(&k->mu);
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The messages as one byte string (length-prefixed fields).  Caller frees;
 * NULL if memory ran out. */
static uint8_t *serialize(const struct dura_message *m, size_t n, size_t *len)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += 24 + (m[i].instance ? strlen(m[i].instance) : 0) + m[i].body.len;
	uint8_t *buf = malloc(total ? total : 1);
	if (!buf)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		size_t il = m[i].instance ? strlen(m[i].instance) : 0;
		put_u64(buf + o, il);
		memcpy(buf + o + 8, m[i].instance ? m[i].instance : "", il);
		o += 8 + il;
		put_u64(buf + o, m[i].body.len);
		if (m[i].body.len)
			memcpy(buf + o + 8, m[i].body.data, m[i].body.len);
		o += 8 + m[i].body.len;
		put_u64(buf + o, (uint64_t)m[i].delay_ms);
		o += 8;
	}
	*len = total;
	return buf;
}

/* The key of a remembered call with these exact messages (claimed: it is
 * forgotten, and remembered again should this attempt fail too), or 0.
 * Expired entries are dropped on the way. */
static uint64_t claim(struct dura_mdb_keys *k, const uint8_t *content, size_t len)
{
	uint64_t now = dura_mdb_now_ns(), key = 0;
	pthread_mutex_lock(&k->mu);
	for (unsigned i = 0; i < MDB_KEYS_PENDING && !key; i++) {
		struct dura_mdb_pending_key *p = &k->pending[i];
		if (!p->content)
			continue;
		int expired = now - p->at_ns > PENDING_TTL_NS;
		int same = !expired && p->len == len && memcmp(p->content, content, len) == 0;
		if (!expired && !same)
			continue;
		if (same)
			key = p->key;
		free(p->content);
		p->content = NULL;
		atomic_fetch_sub(&k->n_pending, 1);
	}
	pthread_mutex_unlock(&k->mu);
	return key;
}

uint64_t dura_mdb_enqueue_key(struct dura_store *st, const struct dura_message *msgs, size_t n)
{
	struct dura_mdb_keys *k = &st->keys;
	if (atomic_load(&k->n_pending) > 0) {
		size_t len;
		uint8_t *content = serialize(msgs, n, &len);
		uint64_t key = content ? claim(k, content, len) : 0;
		free(content);
		if (key)
			return key;
	}
	uint64_t key;
	do
		key = atomic_fetch_add(&k->next, 1) & INT64_MAX;
	while (key == 0);
	return key;
}

void dura_mdb_enqueue_key_unsettled(struct dura_store *st, const struct dura_message *msgs,
                                    size_t n, uint64_t key)
{
	struct dura_mdb_keys *k = &st->keys;
	size_t len;
	uint8_t *content = serialize(msgs, n, &len);
	if (!content)
		return; /* a retry then gets a new key, as without this */
	uint64_t now = dura_mdb_now_ns();
	pthread_mutex_lock(&k->mu);
	unsigned pick = 0; /* a free slot, else the oldest */
	for (unsigned i = 0; i < MDB_KEYS_PENDING; i++) {
		if (!k->pending[i].content) {
			pick = i;
			break;
		}
		if (k->pending[i].at_ns < k->pending[pick].at_ns)
			pick = i;
	}
	struct dura_mdb_pending_key *p = &k->pending[pick];
	if (p->content)
		free(p->content);
	else
		atomic_fetch_add(&k->n_pending, 1);
	p->content = content;
	p->len = len;
	p->key = key;
	p->at_ns = now;
	pthread_mutex_unlock(&k->mu);
}
