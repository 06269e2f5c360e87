/* Indexed binary min-heap over nodes embedded in the objects they order. */

#include "null_store.h"

#include <stdlib.h>

static int less(const struct null_hnode *a, const struct null_hnode *b)
{
	return a->k1 < b->k1 || (a->k1 == b->k1 && a->k2 < b->k2);
}

static void place(struct null_heap *h, size_t i, struct null_hnode *x)
{
	h->v[i] = x;
	x->pos = i;
}

static void sift_up(struct null_heap *h, size_t i)
{
	struct null_hnode *x = h->v[i];
	while (i > 1 && less(x, h->v[i / 2])) {
		place(h, i, h->v[i / 2]);
		i /= 2;
	}
	place(h, i, x);
}

static void sift_down(struct null_heap *h, size_t i)
{
	struct null_hnode *x = h->v[i];
	for (;;) {
		size_t c = 2 * i;
		if (c > h->n)
			break;
		if (c + 1 <= h->n && less(h->v[c + 1], h->v[c]))
			c++;
		if (!less(h->v[c], x))
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, x);
}

int null_heap_push(struct null_heap *h, struct null_hnode *x)
{
	if (h->n + 1 >= h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct null_hnode **v = realloc(h->v, cap * sizeof *v);
		if (!v)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	h->v[++h->n] = x;
	x->pos = h->n;
	sift_up(h, h->n);
	return 0;
}

void null_heap_remove(struct null_heap *h, struct null_hnode *x)
{
	size_t i = x->pos;
	if (i == 0)
		return;
	x->pos = 0;
	struct null_hnode *last = h->v[h->n--];
	if (last == x)
		return;
	place(h, i, last);
	sift_up(h, i);
	sift_down(h, last->pos);
}

void null_heap_update(struct null_heap *h, struct null_hnode *x, uint64_t k1, uint64_t k2)
{
	x->k1 = k1;
	x->k2 = k2;
	sift_up(h, x->pos);
	sift_down(h, x->pos);
}

struct null_hnode *null_heap_top(const struct null_heap *h)
{
	return h->n ? h->v[1] : NULL;
}

void null_heap_free(struct null_heap *h)
{
	free(h->v);
	*h = (struct null_heap){ 0 };
}
