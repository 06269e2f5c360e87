/* Streaming JSON writer (see json_writer.h). */
#include "config.h"

#include "json_writer.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void dura_json_init(struct dura_json *j, FILE *f, int pretty)
{
	memset(j, 0, sizeof *j);
	j->f = f;
	j->pretty = pretty;
}

static void newline_indent(struct dura_json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Separator and indentation before a value (or key) at the current level. */
static void before_value(struct dura_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0) {
		if (j->count[j->depth - 1]++ > 0)
			fputc(',', j->f);
		newline_indent(j);
	}
}

static void open_level(struct dura_json *j, char c)
{
	before_value(j);
	fputc(c, j->f);
	if (j->depth < DURA_JSON_MAX_DEPTH) {
		j->count[j->depth] = 0;
		j->depth++;
	}
}

static void close_level(struct dura_json *j, char c)
{
	if (j->depth > 0) {
		j->depth--;
		if (j->count[j->depth] > 0)
			newline_indent(j);
	}
	fputc(c, j->f);
	if (j->depth == 0 && j->pretty)
		fputc('\n', j->f);
}

void dura_json_begin_object(struct dura_json *j) { open_level(j, '{'); }
void dura_json_end_object(struct dura_json *j) { close_level(j, '}'); }
void dura_json_begin_array(struct dura_json *j) { open_level(j, '['); }
void dura_json_end_array(struct dura_json *j) { close_level(j, ']'); }

void dura_json_key(struct dura_json *j, const char *key)
{
	before_value(j);
	dura_json_write_escaped(j->f, key ? key : "");
	fputs(j->pretty ? ": " : ":", j->f);
	j->after_key = 1;
}

size_t dura_utf8_len(const unsigned char *s, size_t avail)
{
	unsigned c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void dura_json_write_escaped(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', f);
	while (*s) {
		unsigned c = *s;
		switch (c) {
		case '"': fputs("\\\"", f); s++; continue;
		case '\\': fputs("\\\\", f); s++; continue;
		case '\n': fputs("\\n", f); s++; continue;
		case '\r': fputs("\\r", f); s++; continue;
		case '\t': fputs("\\t", f); s++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			s++;
			continue;
		}
		size_t n = dura_utf8_len(s, SIZE_MAX);
		if (n == 0) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		fwrite(s, 1, n, f);
		s += n;
	}
	fputc('"', f);
}

void dura_json_string(struct dura_json *j, const char *s)
{
	if (!s) {
		dura_json_null(j);
		return;
	}
	before_value(j);
	dura_json_write_escaped(j->f, s);
}

void dura_json_number(struct dura_json *j, double v)
{
	if (!isfinite(v)) {
		dura_json_null(j);
		return;
	}
	before_value(j);
	/* %.10g: integral values print without exponent up to 1e10, and never
	 * produce "nan"/"inf" (excluded above); "-0" is valid JSON. */
	fprintf(j->f, "%.10g", v);
}

void dura_json_uint(struct dura_json *j, uint64_t v)
{
	before_value(j);
	fprintf(j->f, "%" PRIu64, v);
}

void dura_json_int(struct dura_json *j, int64_t v)
{
	before_value(j);
	fprintf(j->f, "%" PRId64, v);
}

void dura_json_bool(struct dura_json *j, int v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->f);
}

void dura_json_null(struct dura_json *j)
{
	before_value(j);
	fputs("null", j->f);
}

void dura_json_kv_string(struct dura_json *j, const char *key, const char *s)
{
	dura_json_key(j, key);
	dura_json_string(j, s);
}

void dura_json_kv_number(struct dura_json *j, const char *key, double v)
{
	dura_json_key(j, key);
	dura_json_number(j, v);
}

void dura_json_kv_uint(struct dura_json *j, const char *key, uint64_t v)
{
	dura_json_key(j, key);
	dura_json_uint(j, v);
}

void dura_json_kv_int(struct dura_json *j, const char *key, int64_t v)
{
	dura_json_key(j, key);
	dura_json_int(j, v);
}

void dura_json_kv_bool(struct dura_json *j, const char *key, int v)
{
	dura_json_key(j, key);
	dura_json_bool(j, v);
}
