/*
 * A small streaming JSON writer: tracks nesting so commas and indentation
 * come out right, escapes strings (control characters, quotes, invalid
 * UTF-8 becomes U+FFFD) and writes null for NaN/Inf, so the output is
 * always valid JSON whatever the data.
 */
#ifndef DURA_JSON_WRITER_H
#define DURA_JSON_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DURA_JSON_MAX_DEPTH 32

struct dura_json {
	FILE *f;                             /* borrowed */
	int depth;
	int count[DURA_JSON_MAX_DEPTH];      /* values written at each level */
	int after_key;                       /* a key was written, value next */
	int pretty;                          /* indent two spaces per level */
};

void dura_json_init(struct dura_json *j, FILE *f, int pretty);

void dura_json_begin_object(struct dura_json *j);
void dura_json_end_object(struct dura_json *j);
void dura_json_begin_array(struct dura_json *j);
void dura_json_end_array(struct dura_json *j);
void dura_json_key(struct dura_json *j, const char *key);

void dura_json_string(struct dura_json *j, const char *s);   /* NULL -> null */
void dura_json_number(struct dura_json *j, double v);        /* !finite -> null */
void dura_json_uint(struct dura_json *j, uint64_t v);
void dura_json_int(struct dura_json *j, int64_t v);
void dura_json_bool(struct dura_json *j, int v);
void dura_json_null(struct dura_json *j);

/* key + value in one call */
void dura_json_kv_string(struct dura_json *j, const char *key, const char *s);
void dura_json_kv_number(struct dura_json *j, const char *key, double v);
void dura_json_kv_uint(struct dura_json *j, const char *key, uint64_t v);
void dura_json_kv_int(struct dura_json *j, const char *key, int64_t v);
void dura_json_kv_bool(struct dura_json *j, const char *key, int v);

/* Writes s as a JSON string literal (with quotes) to f. */
void dura_json_write_escaped(FILE *f, const char *s);

/* Length of the valid UTF-8 sequence at s (1 for ASCII), 0 if the bytes
 * there are not one: overlong forms, surrogates, code points above
 * U+10FFFF, a sequence cut short or longer than avail.  For a NUL-terminated
 * string pass SIZE_MAX: the NUL ends any sequence.  The JSON reader and the
 * SVG writer use it too, so all agree on what is valid. */
size_t dura_utf8_len(const unsigned char *s, size_t avail);

#endif
