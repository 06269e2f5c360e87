/*
 * A small, strict JSON reader (RFC 8259) for durabench's own documents:
 * `--json` reports and `--track` history lines read back by the baseline
 * gate.  It builds a tree; every read is bounds-checked against the given
 * length (the text needs no terminating NUL), and nesting depth, value count
 * and number length are limited so hostile input cannot exhaust the stack
 * or memory.
 *
 * Strict means: no comments, no trailing commas, no leading zeros, no
 * NaN/Infinity, no BOM, no control characters inside strings, valid UTF-8
 * only, \u escapes with correctly paired surrogates, nothing but whitespace
 * after the top-level value.  Two deliberate restrictions: "\u0000" is
 * refused (strings are handed out as C strings), and numbers must fit a
 * finite double.  Duplicate object keys are kept; lookups return the first.
 */
#ifndef DURA_JSON_READER_H
#define DURA_JSON_READER_H

#include <stddef.h>

enum dura_jtype {
	DURA_JNULL,
	DURA_JBOOL,
	DURA_JNUMBER,
	DURA_JSTRING,
	DURA_JARRAY,
	DURA_JOBJECT,
};

struct dura_jmember;

struct dura_jval {
	enum dura_jtype type;
	union {
		int boolean;                 /* DURA_JBOOL: 0 or 1 */
		double number;               /* DURA_JNUMBER: always finite */
		struct {
			char *s;             /* NUL-terminated, valid UTF-8 */
			size_t len;
		} str;                       /* DURA_JSTRING */
		struct {
			struct dura_jval *items;
			size_t n;
		} arr;                       /* DURA_JARRAY */
		struct {
			struct dura_jmember *members;
			size_t n;
		} obj;                       /* DURA_JOBJECT, in document order */
	} u;
};

struct dura_jmember {
	char *key;                           /* NUL-terminated */
	size_t key_len;
	struct dura_jval value;
};

struct dura_jlimits {
	unsigned max_depth;    /* arrays/objects nested deeper are refused */
	size_t max_values;     /* total values in the document */
	size_t max_number_len; /* characters of one number literal */
};

/* Defaults: depth 64, 1,000,000 values, 64-character numbers. */
extern const struct dura_jlimits dura_jlimits_default;

/* Parses text[0..len) into a tree.  On success returns 0 and *out (free with
 * dura_jval_free).  On error returns -1, *out = NULL, and err says what and
 * where ("line L, column C: ...").  lim NULL means the defaults. */
int dura_jval_parse(const char *text, size_t len, const struct dura_jlimits *lim,
                    struct dura_jval **out, char *err, size_t errlen);

/* Frees a tree returned by dura_jval_parse (NULL is fine). */
void dura_jval_free(struct dura_jval *v);

/* Member `key` of an object, NULL if v is not an object or has no such key. */
const struct dura_jval *dura_jval_get(const struct dura_jval *v, const char *key);

/* Item i of an array, NULL if v is not an array or i is out of range. */
const struct dura_jval *dura_jval_at(const struct dura_jval *v, size_t i);

/* The number, string or bool, or NULL/0 when v is absent or another type. */
int dura_jval_number(const struct dura_jval *v, double *out); /* 0 ok, -1 not a number */
const char *dura_jval_string(const struct dura_jval *v);
size_t dura_jval_count(const struct dura_jval *v); /* items/members; 0 otherwise */

#endif
