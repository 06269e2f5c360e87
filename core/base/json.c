/* durabench on top of jansson (see json.h). */
#include "config.h"

#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static json_t *must(json_t *v)
{
	if (!v) {
		fprintf(stderr, "durabench: out of memory\n");
		abort(); /* same policy as dura_xmalloc */
	}
	return v;
}

json_t *dura_jobject(void) { return must(json_object()); }
json_t *dura_jarray(void) { return must(json_array()); }
json_t *dura_jbool(int v) { return must(json_boolean(v)); }
json_t *dura_jint(int64_t v) { return must(json_integer((json_int_t)v)); }

json_t *dura_jnumber(double v)
{
	return must(isfinite(v) ? json_real(v) : json_null());
}

json_t *dura_juint(uint64_t v)
{
	return must(json_integer(v > INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)v));
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

json_t *dura_jstring(const char *s)
{
	if (!s)
		return must(json_null());
	json_t *v = json_string(s);
	if (v)
		return v;
	/* jansson refuses invalid UTF-8: replace each bad byte by U+FFFD
	 * (3 bytes), so the text a provider gave us still shows */
	size_t len = strlen(s), k = 0;
	char *clean = dura_xmalloc(3 * len + 1);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = dura_utf8_len(p, SIZE_MAX);
		if (n == 0) {
			memcpy(clean + k, "\xef\xbf\xbd", 3);
			k += 3;
			p++;
			continue;
		}
		memcpy(clean + k, p, n);
		k += n;
		p += n;
	}
	clean[k] = '\0';
	v = must(json_string(clean));
	free(clean);
	return v;
}

void dura_jset(json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, v) != 0)
		must(NULL);
}

void dura_jpush(json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, v) != 0)
		must(NULL);
}

char *dura_json_text(const json_t *doc, int pretty)
{
	size_t flags = JSON_REAL_PRECISION(10) | (pretty ? JSON_INDENT(2) : JSON_COMPACT);
	char *s = json_dumps(doc, flags);
	if (!s)
		must(NULL);
	if (!pretty)
		return s;
	char *t = dura_xasprintf("%s\n", s);
	free(s);
	return t;
}

static unsigned depth_of(const json_t *v)
{
	unsigned d = 0, k;
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			if ((k = depth_of(x)) > d)
				d = k;
		return d + 1;
	}
	if (json_is_object(v)) {
		const char *key;
		json_t *x;
		json_object_foreach((json_t *)v, key, x)
			if ((k = depth_of(x)) > d)
				d = k;
		return d + 1;
	}
	return 0;
}

int dura_json_parse(const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
	json_error_t je;
	/* jansson bounds its own recursion (2048 levels); ours is lower */
	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!*out) {
		dura_errbuf(err, errlen, "line %d, column %d: %s", je.line, je.column, je.text);
		return -1;
	}
	if (depth_of(*out) > DURA_JSON_MAX_DEPTH) {
		dura_errbuf(err, errlen, "nesting deeper than %d levels", DURA_JSON_MAX_DEPTH);
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int dura_json_number_of(const json_t *v, double *out)
{
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 0;
}
