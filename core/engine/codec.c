/* The record codec: see codec.h for the wire format. */
#include "config.h"

#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fields a kind carries (encoded in this bit order). */
enum {
	F_EXEC = 1u << 0,
	F_ID = 1u << 1,
	F_NUMBER = 1u << 2,
	F_CATEGORY = 1u << 3,
	F_NAME = 1u << 4,
	F_INSTANCE = 1u << 5,
	F_DATA = 1u << 6
};

struct kind_info {
	const char *name;
	unsigned fields;
};

/* Indexed by kind; a NULL name marks an unknown kind. */
static const struct kind_info kinds[DURA_WORK_ITEM + 1] = {
	[DURA_EV_EXECUTION_STARTED] = { "ExecutionStarted",
		F_ID | F_NUMBER | F_NAME | F_INSTANCE | F_DATA },
	[DURA_EV_TASK_SCHEDULED] = { "TaskScheduled", F_NAME | F_DATA },
	[DURA_EV_TASK_COMPLETED] = { "TaskCompleted", F_ID | F_DATA },
	[DURA_EV_TASK_FAILED] = { "TaskFailed", F_ID | F_CATEGORY | F_DATA },
	[DURA_EV_TIMER_CREATED] = { "TimerCreated", F_NUMBER },
	[DURA_EV_TIMER_FIRED] = { "TimerFired", F_ID },
	[DURA_EV_SUBORCH_SCHEDULED] = { "SubOrchestrationScheduled",
		F_NAME | F_INSTANCE | F_DATA },
	[DURA_EV_SUBORCH_COMPLETED] = { "SubOrchestrationCompleted", F_ID | F_DATA },
	[DURA_EV_SUBORCH_FAILED] = { "SubOrchestrationFailed",
		F_ID | F_CATEGORY | F_DATA },
	[DURA_EV_EXECUTION_COMPLETED] = { "ExecutionCompleted", F_DATA },
	[DURA_EV_EXECUTION_FAILED] = { "ExecutionFailed", F_CATEGORY | F_DATA },
	[DURA_EV_CONTINUED_AS_NEW] = { "ContinuedAsNew", F_DATA },
	[DURA_MSG_START] = { "StartExecution",
		F_EXEC | F_ID | F_NUMBER | F_NAME | F_INSTANCE | F_DATA },
	[DURA_MSG_TASK_COMPLETED] = { "ActivityCompletedMessage",
		F_EXEC | F_ID | F_DATA },
	[DURA_MSG_TASK_FAILED] = { "ActivityFailedMessage",
		F_EXEC | F_ID | F_CATEGORY | F_DATA },
	[DURA_MSG_TIMER_FIRED] = { "TimerFiredMessage", F_EXEC | F_ID },
	[DURA_MSG_SUBORCH_COMPLETED] = { "SubOrchestrationCompletedMessage",
		F_EXEC | F_ID | F_DATA },
	[DURA_MSG_SUBORCH_FAILED] = { "SubOrchestrationFailedMessage",
		F_EXEC | F_ID | F_CATEGORY | F_DATA },
	[DURA_MSG_CORRUPT_WORK_ITEM] = { "CorruptWorkItemMessage", F_DATA },
	[DURA_WORK_ITEM] = { "WorkItem",
		F_EXEC | F_ID | F_NAME | F_INSTANCE | F_DATA },
};

static const struct kind_info *kind_lookup(int kind)
{
	if (kind < 0 || kind > DURA_WORK_ITEM || !kinds[kind].name)
		return NULL;
	return &kinds[kind];
}

const char *dura_codec_kind_name(int kind)
{
	const struct kind_info *k = kind_lookup(kind);
	return k ? k->name : "?";
}

int dura_codec_is_event(int kind)
{
	return kind >= DURA_EV_EXECUTION_STARTED && kind <= DURA_EV_CONTINUED_AS_NEW;
}

int dura_codec_is_message(int kind)
{
	return kind >= DURA_MSG_START && kind <= DURA_MSG_CORRUPT_WORK_ITEM;
}

struct dura_slice dura_slice_str(const char *s)
{
	struct dura_slice sl = { (const uint8_t *)s, s ? strlen(s) : 0 };
	return sl;
}

int dura_slice_eq_str(struct dura_slice a, const char *s)
{
	size_t n = strlen(s);
	return a.len == n && (n == 0 || memcmp(a.data, s, n) == 0);
}

/* ---- encoding ---- */

static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static uint8_t *put_bytes(uint8_t *p, struct dura_slice s)
{
	p = put_varint(p, s.len);
	if (s.len)
		memcpy(p, s.data, s.len);
	return p + s.len;
}

static void invalid(const char *what, int kind)
{
	/* Only reachable through a bug in the core: the engine builds every
	 * record itself. */
	fprintf(stderr, "durabench: codec: refusing to encode %s (%s)\n",
	        dura_codec_kind_name(kind), what);
	abort();
}

static int has_nul(struct dura_slice s)
{
	return s.len && memchr(s.data, 0, s.len) != NULL;
}

size_t dura_codec_encoded_size(const struct dura_rec *r)
{
	const struct kind_info *k = kind_lookup(r->kind);
	if (!k)
		invalid("unknown kind", r->kind);
	size_t n = 2;
	if (k->fields & F_EXEC)
		n += varint_size(r->execution);
	if (k->fields & F_ID)
		n += varint_size(r->id);
	if (k->fields & F_NUMBER)
		n += varint_size(r->number);
	if (k->fields & F_CATEGORY)
		n += 1;
	if (k->fields & F_NAME)
		n += varint_size(r->name.len) + r->name.len;
	if (k->fields & F_INSTANCE)
		n += varint_size(r->instance.len) + r->instance.len;
	if (k->fields & F_DATA)
		n += varint_size(r->data.len) + r->data.len;
	return n;
}

void dura_codec_encode(struct dura_buf *out, const struct dura_rec *r)
{
	const struct kind_info *k = kind_lookup(r->kind);
	if (!k)
		invalid("unknown kind", r->kind);
	if ((k->fields & F_NAME) && (r->name.len == 0 || has_nul(r->name)))
		invalid("empty name or NUL in name", r->kind);
	if ((k->fields & F_INSTANCE) && has_nul(r->instance))
		invalid("NUL in instance id", r->kind);
	if ((k->fields & F_CATEGORY) && (r->category < 1 || r->category > DURA_CODEC_MAX_CATEGORY))
		invalid("bad failure category", r->kind);

	size_t n = dura_codec_encoded_size(r);
	dura_buf_reserve(out, n);
	uint8_t *p = out->data + out->len;
	*p++ = DURA_CODEC_VERSION;
	*p++ = r->kind;
	if (k->fields & F_EXEC)
		p = put_varint(p, r->execution);
	if (k->fields & F_ID)
		p = put_varint(p, r->id);
	if (k->fields & F_NUMBER)
		p = put_varint(p, r->number);
	if (k->fields & F_CATEGORY)
		*p++ = r->category;
	if (k->fields & F_NAME)
		p = put_bytes(p, r->name);
	if (k->fields & F_INSTANCE)
		p = put_bytes(p, r->instance);
	if (k->fields & F_DATA)
		p = put_bytes(p, r->data);
	out->len += n;
}

/* ---- decoding ---- */

struct reader {
	const uint8_t *p;
	size_t left;
	const char *why;
};

static int get_varint(struct reader *rd, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 10; i++) {
		if (rd->left == 0) {
			rd->why = "truncated varint";
			return -1;
		}
		uint8_t b = *rd->p++;
		rd->left--;
		/* The tenth byte may only hold the top bit of a 64-bit value. */
		if (i == 9 && b > 1) {
			rd->why = "varint overflows 64 bits";
			return -1;
		}
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (b == 0 && i > 0) {
				rd->why = "overlong varint";
				return -1;
			}
			*out = v;
			return 0;
		}
	}
	rd->why = "varint too long";
	return -1;
}

static int get_bytes(struct reader *rd, struct dura_slice *out)
{
	uint64_t len;
	if (get_varint(rd, &len) != 0)
		return -1;
	if (len > rd->left) {
		rd->why = "length prefix beyond end of input";
		return -1;
	}
	out->data = rd->p;
	out->len = (size_t)len;
	rd->p += len;
	rd->left -= (size_t)len;
	return 0;
}

int dura_codec_decode(const uint8_t *p, size_t n, struct dura_rec *out,
                      const char **why)
{
	struct reader rd = { p, n, NULL };
	memset(out, 0, sizeof *out);
	if (n < 2 || !p) {
		rd.why = "record shorter than its header";
		goto bad;
	}
	if (p[0] != DURA_CODEC_VERSION) {
		rd.why = "unknown codec version";
		goto bad;
	}
	const struct kind_info *k = kind_lookup(p[1]);
	if (!k) {
		rd.why = "unknown record kind";
		goto bad;
	}
	out->kind = p[1];
	rd.p += 2;
	rd.left -= 2;
	if ((k->fields & F_EXEC) && get_varint(&rd, &out->execution) != 0)
		goto bad;
	if ((k->fields & F_ID) && get_varint(&rd, &out->id) != 0)
		goto bad;
	if ((k->fields & F_NUMBER) && get_varint(&rd, &out->number) != 0)
		goto bad;
	if (k->fields & F_CATEGORY) {
		if (rd.left == 0) {
			rd.why = "truncated category";
			goto bad;
		}
		out->category = *rd.p++;
		rd.left--;
		if (out->category < 1 || out->category > DURA_CODEC_MAX_CATEGORY) {
			rd.why = "bad failure category";
			goto bad;
		}
	}
	if (k->fields & F_NAME) {
		if (get_bytes(&rd, &out->name) != 0)
			goto bad;
		if (out->name.len == 0 || has_nul(out->name)) {
			rd.why = "empty name or NUL in name";
			goto bad;
		}
	}
	if (k->fields & F_INSTANCE) {
		if (get_bytes(&rd, &out->instance) != 0)
			goto bad;
		if (has_nul(out->instance)) {
			rd.why = "NUL in instance id";
			goto bad;
		}
	}
	if ((k->fields & F_DATA) && get_bytes(&rd, &out->data) != 0)
		goto bad;
	if (rd.left != 0) {
		rd.why = "trailing bytes after record";
		goto bad;
	}
	return 0;
bad:
	if (why)
		*why = rd.why;
	memset(out, 0, sizeof *out);
	return -1;
}
