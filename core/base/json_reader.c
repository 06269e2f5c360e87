/* Strict, bounds-checked JSON reader (see json_reader.h).  Recursive
 * descent; recursion depth is bounded by lim->max_depth.  Every partially
 * built value stays freeable, so an error anywhere frees the tree once. */
#include "config.h"

#include "json_reader.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h" /* dura_utf8_len */
#include "util.h"

const struct dura_jlimits dura_jlimits_default = {
	.max_depth = 64,
	.max_values = 1000000,
	.max_number_len = 64,
};

/* Number literals are copied into a stack buffer for strtod; longer ones are
 * refused whatever the limits say. */
#define NUMBER_BUF 256

struct parser {
	const unsigned char *s;
	size_t len;
	size_t pos;
	const struct dura_jlimits *lim;
	size_t values;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct parser *ps, const char *fmt, ...)
{
	/* Position is computed only on error: the happy path never counts lines. */
	size_t line = 1, col = 1;
	for (size_t i = 0; i < ps->pos && i < ps->len; i++) {
		if (ps->s[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dura_errbuf(ps->err, ps->errlen, "line %zu, column %zu: %s", line, col, msg);
	return -1;
}

/* Describes the byte at pos for an error message. */
static void describe_byte(const struct parser *ps, char *buf, size_t len)
{
	if (ps->pos >= ps->len)
		snprintf(buf, len, "end of input");
	else if (ps->s[ps->pos] >= 0x20 && ps->s[ps->pos] < 0x7f)
		snprintf(buf, len, "'%c'", ps->s[ps->pos]);
	else
		snprintf(buf, len, "byte 0x%02x", ps->s[ps->pos]);
}

static void skip_ws(struct parser *ps)
{
	while (ps->pos < ps->len) {
		unsigned char c = ps->s[ps->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		ps->pos++;
	}
}

static void free_contents(struct dura_jval *v)
{
	switch (v->type) {
	case DURA_JSTRING:
		free(v->u.str.s);
		break;
	case DURA_JARRAY:
		for (size_t i = 0; i < v->u.arr.n; i++)
			free_contents(&v->u.arr.items[i]);
		free(v->u.arr.items);
		break;
	case DURA_JOBJECT:
		for (size_t i = 0; i < v->u.obj.n; i++) {
			free(v->u.obj.members[i].key);
			free_contents(&v->u.obj.members[i].value);
		}
		free(v->u.obj.members);
		break;
	default:
		break;
	}
	v->type = DURA_JNULL;
}

void dura_jval_free(struct dura_jval *v)
{
	if (!v)
		return;
	free_contents(v);
	free(v);
}

/* Grows an array of elem-sized items so that index n fits. */
static void *grow(void *items, size_t n, size_t *cap, size_t elem)
{
	if (n < *cap)
		return items;
	size_t nc = *cap ? *cap * 2 : 4;
	if (nc > SIZE_MAX / elem)
		abort(); /* unreachable: max_values bounds n far below this */
	*cap = nc;
	return dura_xrealloc(items, nc * elem);
}

static int hex4(struct parser *ps, unsigned *out)
{
	if (ps->len - ps->pos < 4)
		return fail(ps, "truncated \\u escape");
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = ps->s[ps->pos + (size_t)i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(ps, "bad hex digit in \\u escape");
	}
	ps->pos += 4;
	*out = v;
	return 0;
}

static void put_utf8(struct dura_buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	dura_buf_append(b, u, n);
}

static int parse_escape(struct parser *ps, struct dura_buf *b)
{
	ps->pos++; /* the backslash */
	if (ps->pos >= ps->len)
		return fail(ps, "unterminated string");
	unsigned char c = ps->s[ps->pos++];
	char simple = 0;
	switch (c) {
	case '"': simple = '"'; break;
	case '\\': simple = '\\'; break;
	case '/': simple = '/'; break;
	case 'b': simple = '\b'; break;
	case 'f': simple = '\f'; break;
	case 'n': simple = '\n'; break;
	case 'r': simple = '\r'; break;
	case 't': simple = '\t'; break;
	case 'u': break;
	default:
		ps->pos--;
		return fail(ps, "invalid escape '\\%c'", c >= 0x20 && c < 0x7f ? c : '?');
	}
	if (simple) {
		dura_buf_append(b, &simple, 1);
		return 0;
	}
	unsigned hi;
	if (hex4(ps, &hi) != 0)
		return -1;
	if (hi == 0)
		return fail(ps, "\\u0000 is not accepted");
	uint32_t cp = hi;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail(ps, "unpaired low surrogate \\u%04x", hi);
	if (hi >= 0xd800 && hi <= 0xdbff) {
		unsigned lo;
		if (ps->len - ps->pos < 2 || ps->s[ps->pos] != '\\' || ps->s[ps->pos + 1] != 'u')
			return fail(ps, "high surrogate \\u%04x not followed by a low one", hi);
		ps->pos += 2;
		if (hex4(ps, &lo) != 0)
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(ps, "high surrogate \\u%04x followed by \\u%04x", hi, lo);
		cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
	}
	put_utf8(b, cp);
	return 0;
}

/* At an opening quote: decodes the string into a new NUL-terminated buffer
 * (*out, caller frees). */
static int parse_string(struct parser *ps, char **out, size_t *outlen)
{
	struct dura_buf b = { 0 };
	size_t start_pos = ps->pos;
	ps->pos++; /* opening quote */
	for (;;) {
		/* copy a run of plain ASCII in one append */
		size_t run = ps->pos;
		while (run < ps->len && ps->s[run] >= 0x20 && ps->s[run] < 0x80 &&
		       ps->s[run] != '"' && ps->s[run] != '\\')
			run++;
		if (run > ps->pos)
			dura_buf_append(&b, ps->s + ps->pos, run - ps->pos);
		ps->pos = run;
		if (ps->pos >= ps->len) {
			ps->pos = start_pos;
			dura_buf_free(&b);
			return fail(ps, "unterminated string");
		}
		unsigned char c = ps->s[ps->pos];
		if (c == '"') {
			ps->pos++;
			break;
		}
		if (c == '\\') {
			if (parse_escape(ps, &b) != 0) {
				dura_buf_free(&b);
				return -1;
			}
			continue;
		}
		if (c < 0x20) {
			dura_buf_free(&b);
			return fail(ps, "control character 0x%02x in string (must be escaped)", c);
		}
		size_t n = dura_utf8_len(ps->s + ps->pos, ps->len - ps->pos);
		if (n == 0) {
			dura_buf_free(&b);
			return fail(ps, "invalid UTF-8 in string");
		}
		dura_buf_append(&b, ps->s + ps->pos, n);
		ps->pos += n;
	}
	*outlen = b.len;
	dura_buf_append(&b, "", 1);
	*out = (char *)b.data;
	return 0;
}

static int is_digit(const struct parser *ps, size_t i)
{
	return i < ps->len && ps->s[i] >= '0' && ps->s[i] <= '9';
}

static int parse_number(struct parser *ps, struct dura_jval *v)
{
	size_t i = ps->pos;
	if (i < ps->len && ps->s[i] == '-')
		i++;
	if (!is_digit(ps, i)) {
		ps->pos = i;
		return fail(ps, "expected a digit");
	}
	if (ps->s[i] == '0') {
		i++;
		if (is_digit(ps, i)) {
			ps->pos = i;
			return fail(ps, "leading zero in number");
		}
	} else {
		while (is_digit(ps, i))
			i++;
	}
	if (i < ps->len && ps->s[i] == '.') {
		i++;
		if (!is_digit(ps, i)) {
			ps->pos = i;
			return fail(ps, "expected a digit after the decimal point");
		}
		while (is_digit(ps, i))
			i++;
	}
	if (i < ps->len && (ps->s[i] == 'e' || ps->s[i] == 'E')) {
		i++;
		if (i < ps->len && (ps->s[i] == '+' || ps->s[i] == '-'))
			i++;
		if (!is_digit(ps, i)) {
			ps->pos = i;
			return fail(ps, "expected a digit in the exponent");
		}
		while (is_digit(ps, i))
			i++;
	}
	size_t n = i - ps->pos;
	if (n > ps->lim->max_number_len || n >= NUMBER_BUF)
		return fail(ps, "number longer than %zu characters",
		            ps->lim->max_number_len < NUMBER_BUF - 1 ? ps->lim->max_number_len
		                                                    : (size_t)NUMBER_BUF - 1);
	char buf[NUMBER_BUF];
	memcpy(buf, ps->s + ps->pos, n);
	buf[n] = '\0';
	/* The grammar was checked above; strtod only converts.  durabench never
	 * calls setlocale(), so the decimal point is '.'. */
	char *end;
	double d = strtod(buf, &end);
	if (end != buf + n || !isfinite(d))
		return fail(ps, "number out of range");
	v->type = DURA_JNUMBER;
	v->u.number = d;
	ps->pos = i;
	return 0;
}

static int literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	if (ps->len - ps->pos < n || memcmp(ps->s + ps->pos, word, n) != 0)
		return fail(ps, "invalid literal (expected '%s')", word);
	ps->pos += n;
	return 0;
}

static int parse_value(struct parser *ps, struct dura_jval *v, unsigned depth);

static int parse_array(struct parser *ps, struct dura_jval *v, unsigned depth)
{
	if (depth > ps->lim->max_depth)
		return fail(ps, "nesting deeper than %u levels", ps->lim->max_depth);
	size_t cap = 0;
	v->type = DURA_JARRAY;
	v->u.arr.items = NULL;
	v->u.arr.n = 0;
	ps->pos++; /* '[' */
	skip_ws(ps);
	if (ps->pos < ps->len && ps->s[ps->pos] == ']') {
		ps->pos++;
		return 0;
	}
	for (;;) {
		v->u.arr.items = grow(v->u.arr.items, v->u.arr.n, &cap, sizeof *v->u.arr.items);
		struct dura_jval *item = &v->u.arr.items[v->u.arr.n++];
		item->type = DURA_JNULL; /* counted before parsing: freeable on error */
		if (parse_value(ps, item, depth) != 0)
			return -1;
		skip_ws(ps);
		if (ps->pos < ps->len && ps->s[ps->pos] == ',') {
			ps->pos++;
			continue;
		}
		if (ps->pos < ps->len && ps->s[ps->pos] == ']') {
			ps->pos++;
			return 0;
		}
		char what[32];
		describe_byte(ps, what, sizeof what);
		return fail(ps, "expected ',' or ']' in array, found %s", what);
	}
}

static int parse_object(struct parser *ps, struct dura_jval *v, unsigned depth)
{
	if (depth > ps->lim->max_depth)
		return fail(ps, "nesting deeper than %u levels", ps->lim->max_depth);
	size_t cap = 0;
	v->type = DURA_JOBJECT;
	v->u.obj.members = NULL;
	v->u.obj.n = 0;
	ps->pos++; /* '{' */
	skip_ws(ps);
	if (ps->pos < ps->len && ps->s[ps->pos] == '}') {
		ps->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(ps);
		if (ps->pos >= ps->len || ps->s[ps->pos] != '"') {
			char what[32];
			describe_byte(ps, what, sizeof what);
			return fail(ps, "expected a string key in object, found %s", what);
		}
		char *key;
		size_t key_len;
		if (parse_string(ps, &key, &key_len) != 0)
			return -1;
		v->u.obj.members = grow(v->u.obj.members, v->u.obj.n, &cap, sizeof *v->u.obj.members);
		struct dura_jmember *m = &v->u.obj.members[v->u.obj.n++];
		m->key = key;
		m->key_len = key_len;
		m->value.type = DURA_JNULL;
		skip_ws(ps);
		if (ps->pos >= ps->len || ps->s[ps->pos] != ':') {
			char what[32];
			describe_byte(ps, what, sizeof what);
			return fail(ps, "expected ':' after object key, found %s", what);
		}
		ps->pos++;
		if (parse_value(ps, &m->value, depth) != 0)
			return -1;
		skip_ws(ps);
		if (ps->pos < ps->len && ps->s[ps->pos] == ',') {
			ps->pos++;
			continue;
		}
		if (ps->pos < ps->len && ps->s[ps->pos] == '}') {
			ps->pos++;
			return 0;
		}
		char what[32];
		describe_byte(ps, what, sizeof what);
		return fail(ps, "expected ',' or '}' in object, found %s", what);
	}
}

/* depth: containers already open around this value. */
static int parse_value(struct parser *ps, struct dura_jval *v, unsigned depth)
{
	skip_ws(ps);
	if (ps->pos >= ps->len)
		return fail(ps, "unexpected end of input (expected a value)");
	if (++ps->values > ps->lim->max_values)
		return fail(ps, "more than %zu values", ps->lim->max_values);
	unsigned char c = ps->s[ps->pos];
	switch (c) {
	case '{':
		return parse_object(ps, v, depth + 1);
	case '[':
		return parse_array(ps, v, depth + 1);
	case '"': {
		char *s;
		size_t n;
		if (parse_string(ps, &s, &n) != 0)
			return -1;
		v->type = DURA_JSTRING;
		v->u.str.s = s;
		v->u.str.len = n;
		return 0;
	}
	case 't':
	case 'f':
		if (literal(ps, c == 't' ? "true" : "false") != 0)
			return -1;
		v->type = DURA_JBOOL;
		v->u.boolean = c == 't';
		return 0;
	case 'n':
		if (literal(ps, "null") != 0)
			return -1;
		v->type = DURA_JNULL;
		return 0;
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(ps, v);
		char what[32];
		describe_byte(ps, what, sizeof what);
		return fail(ps, "unexpected %s (expected a value)", what);
	}
}

int dura_jval_parse(const char *text, size_t len, const struct dura_jlimits *lim,
                    struct dura_jval **out, char *err, size_t errlen)
{
	struct parser ps = {
		.s = (const unsigned char *)text,
		.len = text ? len : 0,
		.lim = lim ? lim : &dura_jlimits_default,
		.err = err,
		.errlen = errlen,
	};
	struct dura_jval *v = dura_xcalloc(1, sizeof *v);
	v->type = DURA_JNULL;
	*out = NULL;
	if (parse_value(&ps, v, 0) != 0) {
		dura_jval_free(v);
		return -1;
	}
	skip_ws(&ps);
	if (ps.pos != ps.len) {
		char what[32];
		describe_byte(&ps, what, sizeof what);
		fail(&ps, "unexpected %s after the JSON value", what);
		dura_jval_free(v);
		return -1;
	}
	*out = v;
	return 0;
}

const struct dura_jval *dura_jval_get(const struct dura_jval *v, const char *key)
{
	if (!v || v->type != DURA_JOBJECT || !key)
		return NULL;
	for (size_t i = 0; i < v->u.obj.n; i++)
		if (strcmp(v->u.obj.members[i].key, key) == 0)
			return &v->u.obj.members[i].value;
	return NULL;
}

const struct dura_jval *dura_jval_at(const struct dura_jval *v, size_t i)
{
	if (!v || v->type != DURA_JARRAY || i >= v->u.arr.n)
		return NULL;
	return &v->u.arr.items[i];
}

int dura_jval_number(const struct dura_jval *v, double *out)
{
	if (!v || v->type != DURA_JNUMBER)
		return -1;
	*out = v->u.number;
	return 0;
}

const char *dura_jval_string(const struct dura_jval *v)
{
	return v && v->type == DURA_JSTRING ? v->u.str.s : NULL;
}

size_t dura_jval_count(const struct dura_jval *v)
{
	if (!v)
		return 0;
	if (v->type == DURA_JARRAY)
		return v->u.arr.n;
	if (v->type == DURA_JOBJECT)
		return v->u.obj.n;
	return 0;
}
