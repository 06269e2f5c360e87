/* Hiding passwords in free text: patterns plus noted secrets (mask.h). */
#include "config.h"

#include "mask.h"
#include "util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MASK "***"

/* ------------------------------------------------------------ spans */

struct span {
	size_t from, to; /* hidden bytes [from, to) */
};

struct spans {
	struct span *v; /* owned */
	size_t n;
};

static void spans_add(struct spans *sp, size_t from, size_t to)
{
	if (to <= from)
		return;
	sp->v = dura_xrealloc(sp->v, (sp->n + 1) * sizeof *sp->v);
	sp->v[sp->n++] = (struct span){ from, to };
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->from < y->from ? -1 : x->from > y->from;
}

/* ---------------------------------------------------------- patterns */

static int scheme_char(char c)
{
	return isalnum((unsigned char)c) || c == '+' || c == '-' || c == '.';
}

/* Where an address in free text ends: at a blank, and with quotes_end also
 * at a quote or angle bracket (text around it: "...", '...', <...>). */
static size_t token_end(const char *s, size_t from, size_t n, int quotes_end)
{
	size_t i = from;
	while (i < n && !isspace((unsigned char)s[i]) &&
	       !(quotes_end && strchr("\"'<>`", s[i])))
		i++;
	return i;
}

static const char *last_at(const char *s, size_t from, size_t to)
{
	for (size_t i = to; i > from; i--)
		if (s[i - 1] == '@')
			return s + i - 1;
	return NULL;
}

/* "scheme://user:password@...": hides what lies between the first ':' of
 * the authority and its last '@' (a password may hold '@', '/', '?' or
 * brackets when the address is malformed).  whole: s is one address, so it
 * ends at n; otherwise it ends at a blank or quote, or, when that reading
 * finds no '@' (a quote inside the password), at a blank. */
static void find_userinfo(const char *s, size_t n, int whole, struct spans *sp)
{
	for (const char *p = s; (p = strstr(p, "://")) != NULL && (size_t)(p - s) < n; p += 3) {
		size_t i = (size_t)(p - s), b = i;
		while (b > 0 && scheme_char(s[b - 1]))
			b--;
		if (b == i || !isalpha((unsigned char)s[b]))
			continue;
		size_t start = i + 3;
		const char *at = last_at(s, start, whole ? n : token_end(s, start, n, 1));
		if (!at && !whole)
			at = last_at(s, start, token_end(s, start, n, 0));
		if (!at)
			continue;
		const char *colon = memchr(s + start, ':', (size_t)(at - (s + start)));
		if (colon)
			spans_add(sp, (size_t)(colon - s) + 1, (size_t)(at - s));
	}
}

static const char *const secret_keys[] = { "sslpassword", "password", NULL };

/* Length of the secret key word at s[i] (0 if none): at a word start, so
 * "mypassword=" is not one. */
static size_t secret_key_at(const char *s, size_t i)
{
	if (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_'))
		return 0;
	for (size_t k = 0; secret_keys[k]; k++) {
		size_t kl = strlen(secret_keys[k]);
		if (strncasecmp(s + i, secret_keys[k], kl) == 0 &&
		    !isalnum((unsigned char)s[i + kl]) && s[i + kl] != '_')
			return kl;
	}
	return 0;
}

/* End of a quoted value starting after its opening quote q at j (the
 * closing quote's index, or n); a backslash escapes the next byte. */
static size_t quoted_end(const char *s, size_t j, size_t n, char q)
{
	while (j < n && s[j] != q) {
		if (s[j] == '\\' && j + 1 < n)
			j++;
		j++;
	}
	return j;
}

/* "password = value", "sslpassword='v a l'", "?password=v&", and the JSON
 * or INI-echo forms "password": "v" / password: v after a quoted key. */
static void find_key_values(const char *s, size_t n, struct spans *sp)
{
	for (size_t i = 0; i < n; i++) {
		size_t kl = secret_key_at(s, i);
		if (!kl)
			continue;
		size_t j = i + kl;
		int quoted_key = j < n && (s[j] == '"' || s[j] == '\'');
		if (quoted_key)
			j++;
		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j >= n || !(s[j] == '=' || (quoted_key && s[j] == ':')))
			continue;
		j++;
		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		size_t from = j, to;
		if (j < n && (s[j] == '\'' || s[j] == '"')) {
			from = j + 1;
			to = quoted_end(s, from, n, s[j]);
		} else {
			to = j;
			while (to < n && !isspace((unsigned char)s[to]) && !strchr("&\"'", s[to]))
				to++;
		}
		spans_add(sp, from, to);
		i = to > i ? to - 1 : i;
	}
}

/* ----------------------------------------------------- noted secrets */

static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static char **secrets;    /* owned; lives as long as the process */
static size_t n_secrets;

void dura_secret_note_exact(const char *secret)
{
	if (!secret || strlen(secret) < DURA_SECRET_MIN_LEN)
		return;
	pthread_mutex_lock(&secrets_lock);
	size_t i = 0;
	while (i < n_secrets && strcmp(secrets[i], secret) != 0)
		i++;
	if (i == n_secrets) {
		secrets = dura_xrealloc(secrets, (n_secrets + 1) * sizeof *secrets);
		secrets[n_secrets++] = dura_xstrdup(secret);
	}
	pthread_mutex_unlock(&secrets_lock);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The %-decoded form of s[0..n) where it decodes (bad escapes kept). */
static char *pct_decoded(const char *s, size_t n)
{
	char *out = dura_xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n &&
		    (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0 && (hi || lo)) {
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* Notes secret and each piece of it between URL delimiters: a parser that
 * misreads a malformed address quotes pieces ("bench:S3CRET/mark@h" gives
 * host "bench", port "S3CRET", database "mark@h"). */
static void note_with_pieces(const char *secret)
{
	dura_secret_note_exact(secret);
	static const char delimiters[] = "/?#@:[]&=,;'\" \t";
	size_t n = strlen(secret);
	if (strcspn(secret, delimiters) == n)
		return;
	char *copy = dura_xstrdup(secret), *save = NULL;
	for (char *t = strtok_r(copy, delimiters, &save); t; t = strtok_r(NULL, delimiters, &save))
		dura_secret_note_exact(t);
	free(copy);
}

void dura_secret_note(const char *value)
{
	if (!value)
		return;
	size_t n = strlen(value);
	struct spans sp = { 0 };
	find_userinfo(value, n, 1, &sp);
	find_key_values(value, n, &sp);
	for (size_t i = 0; i < sp.n; i++) {
		size_t len = sp.v[i].to - sp.v[i].from;
		char *raw = dura_xmalloc(len + 1);
		memcpy(raw, value + sp.v[i].from, len);
		raw[len] = '\0';
		char *decoded = pct_decoded(raw, len);
		note_with_pieces(raw);
		note_with_pieces(decoded);
		free(raw);
		free(decoded);
	}
	free(sp.v);
}

static void find_noted(const char *s, size_t n, struct spans *sp)
{
	pthread_mutex_lock(&secrets_lock);
	for (size_t k = 0; k < n_secrets; k++) {
		size_t len = strlen(secrets[k]);
		for (const char *p = s; (p = strstr(p, secrets[k])) != NULL && (size_t)(p - s) < n;
		     p += len)
			spans_add(sp, (size_t)(p - s), (size_t)(p - s) + len);
	}
	pthread_mutex_unlock(&secrets_lock);
}

/* ---------------------------------------------------------- masking */

/* Appends s[0..n) to b with every span hidden (merged runs become one
 * "***"). */
static void apply_spans(struct dura_buf *b, const char *s, size_t n, struct spans *sp)
{
	if (sp->n > 1)
		qsort(sp->v, sp->n, sizeof *sp->v, cmp_span);
	size_t done = 0;
	for (size_t i = 0; i < sp->n;) {
		size_t from = sp->v[i].from, to = sp->v[i].to;
		for (i++; i < sp->n && sp->v[i].from <= to; i++)
			if (sp->v[i].to > to)
				to = sp->v[i].to;
		if (to <= done)
			continue;
		if (from < done)
			from = done;
		dura_buf_append(b, s + done, from - done);
		dura_buf_append(b, MASK, strlen(MASK));
		done = to;
	}
	dura_buf_append(b, s + done, n - done);
}

/* Masks s[0..n) into b; s[n] must be '\0' (the searches use strstr). */
void dura_mask_append(struct dura_buf *b, const char *s, size_t n)
{
	struct spans sp = { 0 };
	find_userinfo(s, n, 0, &sp);
	find_key_values(s, n, &sp);
	find_noted(s, n, &sp);
	apply_spans(b, s, n, &sp);
	free(sp.v);
}

char *dura_text_mask(const char *text)
{
	struct dura_buf b = { 0 }; /* returned as a string */
	if (!text)
		text = "";
	dura_mask_append(&b, text, strlen(text));
	dura_buf_append(&b, "", 1);
	return (char *)b.data;
}
