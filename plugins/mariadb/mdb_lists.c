/*
 * Variable-length lists as one bound parameter.  MariaDB procedures have no
 * array parameters, so a list of messages or events travels as a JSON
 * array that the procedure unpacks with JSON_TABLE.  Every byte string in
 * it is base64 (FROM_BASE64 on the server), so the JSON holds only digits,
 * brackets and base64 characters: binary-safe, nothing to escape, and the
 * value is a parameter, never part of the SQL text.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdb_internal.h"

static void reserve(struct dura_mdb_json *j, size_t more)
{
	if (j->oom || j->len + more + 1 <= j->cap)
		return;
	size_t cap = j->cap ? j->cap : 256;
	while (cap < j->len + more + 1)
		cap *= 2;
	char *d = realloc(j->data, cap);
	if (!d) {
		j->oom = 1;
		return;
	}
	j->data = d;
	j->cap = cap;
}

static void put(struct dura_mdb_json *j, const char *s, size_t n)
{
	reserve(j, n);
	if (j->oom)
		return;
	memcpy(j->data + j->len, s, n);
	j->len += n;
	j->data[j->len] = '\0';
}

static void put_int(struct dura_mdb_json *j, int64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%" PRId64, v);
	put(j, buf, (size_t)n);
}

/* "base64" of n bytes (standard alphabet, padded) */
static void put_b64(struct dura_mdb_json *j, const uint8_t *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	reserve(j, 4 * ((n + 2) / 3) + 2);
	if (j->oom)
		return;
	char *o = j->data + j->len;
	*o++ = '"';
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
		*o++ = tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o++ = '"';
	j->len = (size_t)(o - j->data);
	j->data[j->len] = '\0';
}

void dura_mdb_json_messages(struct dura_mdb_json *j, const struct dura_message *m, size_t n)
{
	put(j, "[", 1);
	for (size_t i = 0; i < n; i++) {
		put(j, i ? ",[" : "[", i ? 2 : 1);
		const char *inst = m[i].instance ? m[i].instance : "";
		put_b64(j, (const uint8_t *)inst, strlen(inst));
		put(j, ",", 1);
		put_b64(j, m[i].body.data, m[i].body.len);
		put(j, ",", 1);
		put_int(j, m[i].delay_ms);
		put(j, "]", 1);
	}
	put(j, "]", 1);
}

void dura_mdb_json_events(struct dura_mdb_json *j, const struct dura_event *e, size_t n)
{
	put(j, "[", 1);
	for (size_t i = 0; i < n; i++) {
		put(j, i ? ",[" : "[", i ? 2 : 1);
		/* event ids are unsigned; the column is a signed BIGINT */
		put_int(j, (int64_t)e[i].event_id);
		put(j, ",", 1);
		put_b64(j, e[i].body.data, e[i].body.len);
		put(j, "]", 1);
	}
	put(j, "]", 1);
}

void dura_mdb_json_free(struct dura_mdb_json *j)
{
	free(j->data);
	memset(j, 0, sizeof *j);
}

void dura_mdb_json_acks(struct dura_mdb_json *j, const uint64_t *tokens,
                        const struct dura_message *completions, size_t n)
{
	put(j, "[", 1);
	for (size_t i = 0; i < n; i++) {
		put(j, i ? ",[" : "[", i ? 2 : 1);
		put_int(j, (int64_t)tokens[i]);
		const struct dura_message *c = completions ? &completions[i] : NULL;
		if (DURA_HAS_COMPLETION(c)) {
			put(j, ",", 1);
			put_b64(j, (const uint8_t *)c->instance, strlen(c->instance));
			put(j, ",", 1);
			put_b64(j, c->body.data, c->body.len);
			put(j, ",", 1);
			put_int(j, c->delay_ms);
		} else {
			put(j, ",null,\"\",0", 10);
		}
		put(j, "]", 1);
	}
	put(j, "]", 1);
}
