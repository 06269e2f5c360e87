/* Intrusive chained hash table: the nodes live in the objects, so a remove
 * needs no lookup and nothing is allocated per entry. */

#include "null_store.h"

#include <stdlib.h>

uint64_t null_hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

uint64_t null_hash_u64(uint64_t x)
{
	x ^= x >> 33; /* murmur3's finaliser: tokens are consecutive */
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static int grow(struct null_map *m)
{
	size_t nb = m->nb ? m->nb * 2 : 256;
	struct null_mnode **b = calloc(nb, sizeof *b);
	if (!b)
		return -1;
	for (size_t i = 0; i < m->nb; i++) {
		for (struct null_mnode *x = m->b[i], *next; x; x = next) {
			next = x->next;
			x->next = b[x->hash & (nb - 1)];
			b[x->hash & (nb - 1)] = x;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int null_map_put(struct null_map *m, struct null_mnode *x, uint64_t hash)
{
	if (m->n >= m->nb && grow(m) != 0)
		return -1;
	x->hash = hash;
	struct null_mnode **slot = &m->b[hash & (m->nb - 1)];
	x->next = *slot;
	*slot = x;
	m->n++;
	return 0;
}

void null_map_remove(struct null_map *m, struct null_mnode *x)
{
	if (!m->nb)
		return;
	for (struct null_mnode **p = &m->b[x->hash & (m->nb - 1)]; *p; p = &(*p)->next) {
		if (*p == x) {
			*p = x->next;
			x->next = NULL;
			m->n--;
			return;
		}
	}
}

struct null_mnode *null_map_get(const struct null_map *m, uint64_t hash,
                                int (*eq)(const struct null_mnode *, const void *),
                                const void *key)
{
	if (!m->nb)
		return NULL;
	for (struct null_mnode *x = m->b[hash & (m->nb - 1)]; x; x = x->next)
		if (x->hash == hash && (!eq || eq(x, key)))
			return x;
	return NULL;
}

void null_map_free(struct null_map *m)
{
	free(m->b);
	*m = (struct null_map){ 0 };
}
