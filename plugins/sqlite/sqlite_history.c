/*
 * SQLite provider: history stored as one row per ack (layout in
 * sqlite_schema.c): packing a turn's events into one row, the duplicate
 * event id check that the per-event primary key used to make, and reading
 * an execution's rows back as events in ascending id order.
 *
 * Packed events: for each event, ascending by id, the event id (8 bytes,
 * big-endian), the body length (4 bytes, big-endian), the body.
 */

#include "sqlite_store.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_HEAD 12 /* id (8) + body length (4) */
#define ON_STACK 32   /* acks with up to this many events sort without malloc */

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* The event at *pos of a packed row of len bytes: its id, and where its
 * body starts and how long it is; advances *pos.  -1 when the row is
 * damaged (an event running past the end). */
static int next_event(const uint8_t *row, size_t len, size_t *pos, uint64_t *id,
                      size_t *body_off, size_t *body_len)
{
	if (len - *pos < EVENT_HEAD)
		return -1;
	*id = get_be(row + *pos, 8);
	*body_len = (size_t)get_be(row + *pos + 8, 4);
	*body_off = *pos + EVENT_HEAD;
	if (len - *body_off < *body_len)
		return -1;
	*pos = *body_off + *body_len;
	return 0;
}

static int cmp_event_ptr(const void *a, const void *b)
{
	uint64_t x = (*(const struct dura_event *const *)a)->event_id;
	uint64_t y = (*(const struct dura_event *const *)b)->event_id;
	return x < y ? -1 : x > y;
}

int dura_sqlite_history_pack(const struct dura_event *ev, size_t n, struct dura_sqlite_buf *out,
                             uint64_t *dup)
{
	const struct dura_event *stack[ON_STACK];
	const struct dura_event **order = n <= ON_STACK ? stack : malloc(n * sizeof *order);
	if (!order)
		return -1;
	for (size_t i = 0; i < n; i++)
		order[i] = &ev[i];
	/* acks almost always list their events in ascending order already */
	int sorted = 1;
	for (size_t i = 1; i < n && sorted; i++)
		sorted = order[i - 1]->event_id < order[i]->event_id;
	if (!sorted)
		qsort(order, n, sizeof *order, cmp_event_ptr);
	int rc = 0;
	out->len = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i && order[i - 1]->event_id == order[i]->event_id) {
			*dup = order[i]->event_id;
			rc = 1;
			break;
		}
		uint8_t head[EVENT_HEAD];
		put_be(head, order[i]->event_id, 8);
		put_be(head + 8, order[i]->body.len, 4);
		if (dura_sqlite_buf_append(out, head, sizeof head) != 0 ||
		    dura_sqlite_buf_append(out, order[i]->body.data, order[i]->body.len) != 0)
			rc = -1;
	}
	if (order != stack)
		free(order);
	return rc;
}

void dura_sqlite_history_range(const struct dura_sqlite_buf *packed, uint64_t *first,
                               uint64_t *last)
{
	/* sorted: the first and the last event hold the range */
	*first = *last = get_be(packed->data, 8);
	size_t pos = 0, off, blen;
	while (pos < packed->len &&
	       next_event(packed->data, packed->len, &pos, last, &off, &blen) == 0)
		;
}

/* 1 when the packed row holds one of the ack's event ids (*dup set). */
static int row_has_any(const uint8_t *row, size_t len, const struct dura_event *ev, size_t n,
                       uint64_t *dup)
{
	size_t pos = 0, off, blen;
	uint64_t id;
	while (pos < len && next_event(row, len, &pos, &id, &off, &blen) == 0)
		for (size_t i = 0; i < n; i++)
			if (ev[i].event_id == id) {
				*dup = id;
				return 1;
			}
	return 0;
}

/* The stored rows of (inst, execution) whose id range meets [lo, hi]: 1 and
 * *dup set when one of them holds an id of the ack.  Only rows whose ranges
 * overlap are unpacked, which appending turns never do. */
static dura_rc find_stored_dup(struct dura_store *s, const char *inst, uint64_t execution,
                               const struct dura_event *ev, size_t n, uint64_t lo, uint64_t hi,
                               uint64_t *dup, int *found, struct dura_err *err)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_HISTORY_RANGES);
	sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)execution);
	*found = 0;
	int src;
	while (!*found && (src = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t first = (uint64_t)sqlite3_column_int64(st, 0);
		uint64_t last = (uint64_t)sqlite3_column_int64(st, 1);
		if (first > hi || last < lo)
			continue;
		const uint8_t *row = sqlite3_column_blob(st, 2);
		*found = row_has_any(row, (size_t)sqlite3_column_bytes(st, 2), ev, n, dup);
	}
	dura_rc rc = DURA_OK;
	if (!*found && src != SQLITE_DONE)
		rc = dura_sqlite_fail(s, src, "reading history ranges", err);
	sqlite3_reset(st);
	return rc;
}

static dura_rc duplicate(struct dura_err *err, const char *inst, uint64_t execution, uint64_t id)
{
	dura_sqlite_err(err, "sqlite: duplicate event id %" PRIu64 " for instance "
	                "'%s' execution %" PRIu64 ": ack rolled back, lock kept",
	                id, inst, execution);
	return DURA_PERMANENT;
}

dura_rc dura_sqlite_history_check(struct dura_store *s, const char *inst, uint64_t execution,
                                  const struct dura_event *ev, size_t n, struct dura_err *err)
{
	s->pack.len = 0;
	if (n == 0)
		return DURA_OK;
	uint64_t dup = 0;
	int prc = dura_sqlite_history_pack(ev, n, &s->pack, &dup);
	if (prc < 0) {
		dura_sqlite_err(err, "sqlite: out of memory packing history");
		return DURA_RETRY;
	}
	if (prc > 0)
		return duplicate(err, inst, execution, dup);
	uint64_t lo, hi;
	dura_sqlite_history_range(&s->pack, &lo, &hi);
	int found;
	dura_rc rc = find_stored_dup(s, inst, execution, ev, n, lo, hi, &dup, &found, err);
	if (rc != DURA_OK)
		return rc;
	if (found)
		return duplicate(err, inst, execution, dup);
	return DURA_OK;
}

dura_rc dura_sqlite_history_insert(struct dura_store *s, const char *inst, uint64_t execution,
                                   struct dura_err *err)
{
	if (s->pack.len == 0)
		return DURA_OK;
	uint64_t lo, hi;
	dura_sqlite_history_range(&s->pack, &lo, &hi);
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_HISTORY_INSERT);
	sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)execution);
	sqlite3_bind_int64(st, 3, (int64_t)lo);
	sqlite3_bind_int64(st, 4, (int64_t)hi);
	sqlite3_bind_blob(st, 5, s->pack.data, (int)s->pack.len, SQLITE_STATIC);
	return dura_sqlite_exec(s, st, "appending history", err);
}

static int cmp_span(const void *a, const void *b)
{
	uint64_t x = ((const struct dura_sqlite_span *)a)->id;
	uint64_t y = ((const struct dura_sqlite_span *)b)->id;
	return x < y ? -1 : x > y;
}

/* Unpacks the row just appended to s->scratch at base into s->spans.  A
 * damaged row (not a blob, or an event running past its end) becomes one
 * event with the row's first id and an empty body, which no valid record
 * has: the core then fails the instance as corrupt. */
static int unpack_row(struct dura_store *s, size_t base, uint64_t first, int is_blob)
{
	size_t len = s->scratch.len - base, n0 = s->spans.n, pos = 0;
	while (is_blob && pos < len) {
		struct dura_sqlite_span sp = { 0 };
		size_t off;
		if (next_event(s->scratch.data + base, len, &pos, &sp.id, &off, &sp.len) != 0)
			break;
		sp.off = base + off;
		if (dura_sqlite_spans_push(&s->spans, &sp) != 0)
			return -1;
	}
	if (is_blob && pos == len && len > 0)
		return 0;
	s->spans.n = n0;
	struct dura_sqlite_span broken = { .off = base, .len = 0, .id = first };
	return dura_sqlite_spans_push(&s->spans, &broken);
}

dura_rc dura_sqlite_collect_history(struct dura_store *s, const char *instance,
                                    uint64_t execution, struct dura_err *err)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_HISTORY_GET);
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)execution);
	s->spans.n = 0;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		/* rows: first event id, packed events */
		size_t base = s->scratch.len;
		int is_blob = sqlite3_column_type(st, 1) == SQLITE_BLOB;
		const void *row = sqlite3_column_blob(st, 1);
		if (dura_sqlite_buf_append(&s->scratch, row, (size_t)sqlite3_column_bytes(st, 1)) != 0 ||
		    unpack_row(s, base, (uint64_t)sqlite3_column_int64(st, 0), is_blob) != 0) {
			sqlite3_reset(st);
			dura_sqlite_err(err, "sqlite: out of memory reading history");
			return DURA_RETRY;
		}
	}
	dura_rc rc = DURA_OK;
	if (src != SQLITE_DONE)
		rc = dura_sqlite_fail(s, src, "reading history", err);
	sqlite3_reset(st);
	/* Rows come in first-id order, so events are sorted unless two turns'
	 * id ranges interleave (or ids pass 2^63, where SQLite's order is
	 * signed). */
	int sorted = 1;
	for (size_t i = 1; i < s->spans.n && sorted; i++)
		sorted = s->spans.v[i - 1].id < s->spans.v[i].id;
	if (!sorted)
		qsort(s->spans.v, s->spans.n, sizeof *s->spans.v, cmp_span);
	return rc;
}
