/* Indexed min-heap of deadlines (see proxy_heap.h). */
#include "config.h"

#include "proxy_heap.h"
#include "base/util.h"

#include <stdlib.h>

void dura_heap_entry_init(struct dura_heap_entry *e)
{
	e->due_ns = 0;
	e->pos = DURA_HEAP_NONE;
}

static void place(struct dura_heap *h, size_t i, struct dura_heap_entry *e)
{
	h->items[i] = e;
	e->pos = i;
}

static void sift_up(struct dura_heap *h, size_t i)
{
	struct dura_heap_entry *e = h->items[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->items[parent]->due_ns <= e->due_ns)
			break;
		place(h, i, h->items[parent]);
		i = parent;
	}
	place(h, i, e);
}

static void sift_down(struct dura_heap *h, size_t i)
{
	struct dura_heap_entry *e = h->items[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= h->len)
			break;
		if (child + 1 < h->len && h->items[child + 1]->due_ns < h->items[child]->due_ns)
			child++;
		if (e->due_ns <= h->items[child]->due_ns)
			break;
		place(h, i, h->items[child]);
		i = child;
	}
	place(h, i, e);
}

void dura_heap_set(struct dura_heap *h, struct dura_heap_entry *e, uint64_t due_ns)
{
	if (e->pos != DURA_HEAP_NONE) {
		uint64_t old = e->due_ns;
		e->due_ns = due_ns;
		if (due_ns < old)
			sift_up(h, e->pos);
		else if (due_ns > old)
			sift_down(h, e->pos);
		return;
	}
	if (h->len == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->items = dura_xrealloc(h->items, h->cap * sizeof *h->items);
	}
	e->due_ns = due_ns;
	place(h, h->len++, e);
	sift_up(h, e->pos);
}

void dura_heap_remove(struct dura_heap *h, struct dura_heap_entry *e)
{
	size_t i = e->pos;
	if (i == DURA_HEAP_NONE)
		return;
	e->pos = DURA_HEAP_NONE;
	struct dura_heap_entry *last = h->items[--h->len];
	if (i == h->len)
		return;
	place(h, i, last);
	if (i > 0 && h->items[(i - 1) / 2]->due_ns > last->due_ns)
		sift_up(h, i);
	else
		sift_down(h, i);
}

struct dura_heap_entry *dura_heap_min(const struct dura_heap *h)
{
	return h->len ? h->items[0] : NULL;
}

void dura_heap_free(struct dura_heap *h)
{
	free(h->items);
	h->items = NULL;
	h->len = h->cap = 0;
}
