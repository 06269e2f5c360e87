/*
 * Indexed binary min-heap of deadlines, so the proxy's single thread finds
 * the next chunk due among hundreds of connections in O(1) and reschedules in
 * O(log n).  Entries are embedded in their owners (no allocation per entry);
 * the heap stores pointers and keeps each entry's position for removal.
 */
#ifndef DURA_PROXY_HEAP_H
#define DURA_PROXY_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define DURA_HEAP_NONE SIZE_MAX

struct dura_heap_entry {
	uint64_t due_ns;
	size_t pos;      /* index in the heap, DURA_HEAP_NONE when not queued */
};

struct dura_heap {
	struct dura_heap_entry **items; /* owned array; entries are not owned */
	size_t len, cap;
};

void dura_heap_entry_init(struct dura_heap_entry *e);
/* Inserts e with due_ns, or moves it there if already queued. */
void dura_heap_set(struct dura_heap *h, struct dura_heap_entry *e, uint64_t due_ns);
/* Removes e if queued. */
void dura_heap_remove(struct dura_heap *h, struct dura_heap_entry *e);
/* Earliest entry, or NULL. */
struct dura_heap_entry *dura_heap_min(const struct dura_heap *h);
/* Frees the array (not the entries). */
void dura_heap_free(struct dura_heap *h);

#endif
