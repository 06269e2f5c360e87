/*
 * durabench's use of jansson (the Debian JSON library): building the
 * documents it writes (reports, history lines) and reading back the ones it
 * wrote (baselines).  The helpers below exist for the two things jansson
 * leaves to the caller:
 *   - values that are not JSON: a NaN or infinite figure becomes null, a
 *     NULL string becomes null, invalid UTF-8 in a string (a provider's
 *     error text) is replaced by U+FFFD instead of making the document fail;
 *   - out of memory: jansson returns NULL, durabench aborts (the policy of
 *     dura_xmalloc), so builders never have to check.
 * Reading is strict: duplicate keys are refused (jq and Python would take
 * the last, a first-wins reader the first: such a document is ambiguous),
 * nesting is limited, and errors say line and column.
 */
#ifndef DURA_JSON_H
#define DURA_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting deeper than this is refused when reading (durabench's own
 * documents nest 4 levels). */
#define DURA_JSON_MAX_DEPTH 64

json_t *dura_jobject(void);
json_t *dura_jarray(void);
json_t *dura_jnumber(double v);        /* null when not finite */
json_t *dura_juint(uint64_t v);        /* capped at INT64_MAX */
json_t *dura_jint(int64_t v);
json_t *dura_jbool(int v);
json_t *dura_jstring(const char *s);   /* null when s is NULL */

/* obj[key] = v, taking ownership of v. */
void dura_jset(json_t *obj, const char *key, json_t *v);
/* arr.append(v), taking ownership of v. */
void dura_jpush(json_t *arr, json_t *v);

/* The document as text: pretty (two-space indent, newline at the end) or
 * compact (one line, no newline).  Numbers keep 10 significant digits.
 * Caller frees. */
char *dura_json_text(const json_t *doc, int pretty);

/* Parses text[0..len) strictly (see above).  0 with *out (json_decref it),
 * or -1 with err ("line L, column C: ...") and *out = NULL. */
int dura_json_parse(const char *text, size_t len, json_t **out, char *err, size_t errlen);

/* The number of v (integer or real) in *out: 0, or -1 when v is absent or
 * not a number. */
int dura_json_number_of(const json_t *v, double *out);

/* Length of the valid UTF-8 sequence at s (1 for ASCII), 0 if the bytes
 * there are not one: overlong forms, surrogates, code points above
 * U+10FFFF, a sequence cut short or longer than avail.  For a NUL-terminated
 * string pass SIZE_MAX: the NUL ends any sequence.  The SVG and HTML
 * writers use it too, so all agree on what is valid. */
size_t dura_utf8_len(const unsigned char *s, size_t avail);

#endif
