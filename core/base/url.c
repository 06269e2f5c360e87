/*
 * libpq addresses: postgresql:// URLs and key=value conninfo strings
 * (url.h).  The parsing follows libpq's own rules (fe-connect.c:
 * conninfo_parse, conninfo_uri_parse_options) closely enough that the
 * endpoint we compute is the one libpq will connect to, and a rewritten
 * string differs from the original only in host, hostaddr and port.
 */
#include "config.h"

#include "url.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_HOST "localhost"
#define DEFAULT_PORT "5432"

/* One key=value item: a URL query parameter or a conninfo pair. */
struct item {
	size_t key_off, key_len; /* raw spans in the input */
	size_t val_off, val_len; /* raw value, with quotes or %-escapes */
	char *key;               /* decoded (owned) */
	char *value;             /* decoded (owned) */
};

struct parsed {
	int is_url;
	/* URL only: the first host of the authority */
	size_t host_off, host_len;  /* raw host (with [ ]); host_len 0 = none */
	int has_port_colon;
	size_t port_off, port_len;  /* raw port after ':' */
	char *auth_host;            /* decoded, or NULL (owned) */
	char *auth_port;            /* or NULL (owned) */
	int multi_host;             /* "h1,h2" in the authority */
	int dangling_escape;        /* conninfo ends in a lone '\\' */
	int has_query;
	size_t query_off;           /* first byte after '?' */
	/* URL query parameters or conninfo pairs, in order */
	struct item *items;
	size_t n_items;
};

static void parsed_free(struct parsed *pp)
{
	for (size_t i = 0; i < pp->n_items; i++) {
		free(pp->items[i].key);
		free(pp->items[i].value);
	}
	free(pp->items);
	free(pp->auth_host);
	free(pp->auth_port);
	memset(pp, 0, sizeof *pp);
}

/* Length of a libpq URI prefix at s, or 0 (libpq compares case-sensitively). */
static size_t uri_prefix_len(const char *s)
{
	if (strncmp(s, "postgresql://", 13) == 0)
		return 13;
	if (strncmp(s, "postgres://", 11) == 0)
		return 11;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes n bytes (libpq rejects %00 and malformed escapes too).
 * Returns a new string or NULL with err filled. */
static char *pct_decode(const char *p, size_t n, char *err, size_t errlen)
{
	char *out = dura_xmalloc(n + 1); /* returned to the caller */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '%') {
			out[k++] = p[i];
			continue;
		}
		int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
		int lo = i + 2 < n ? hexval(p[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			/* no echo: the text may be part of a password */
			dura_errbuf(err, errlen,
			            "bad percent-encoding in the URL ('%%' must be followed by two hex "
			            "digits; %%00 is not allowed)");
			free(out);
			return NULL;
		}
		out[k++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[k] = '\0';
	return out;
}

static void add_item(struct parsed *pp, size_t ko, size_t kl, size_t vo, size_t vl,
                     char *key, char *value)
{
	pp->items = dura_xrealloc(pp->items, (pp->n_items + 1) * sizeof *pp->items);
	pp->items[pp->n_items++] = (struct item){ ko, kl, vo, vl, key, value };
}

/* URL query "k=v&k2=v2" starting at s + off.  Same strictness as libpq. */
static int parse_query(const char *s, size_t off, struct parsed *pp, char *err, size_t errlen)
{
	size_t pos = off;
	size_t end = strlen(s);
	while (pos < end) {
		size_t seg_end = pos + strcspn(s + pos, "&");
		const char *eq = memchr(s + pos, '=', seg_end - pos);
		if (!eq) {
			dura_errbuf(err, errlen,
			            "URL query parameter at byte %zu has no '=' (expected key=value; "
			            "write '&' inside a value as %%26)", pos);
			return -1;
		}
		size_t eq_off = (size_t)(eq - s);
		if (memchr(eq + 1, '=', seg_end - eq_off - 1)) {
			dura_errbuf(err, errlen,
			            "URL query parameter at byte %zu has two '=' (write '=' inside a "
			            "value as %%3D)", pos);
			return -1;
		}
		char *key = pct_decode(s + pos, eq_off - pos, err, errlen);
		if (!key)
			return -1;
		char *value = pct_decode(eq + 1, seg_end - eq_off - 1, err, errlen);
		if (!value) {
			free(key);
			return -1;
		}
		add_item(pp, pos, eq_off - pos, eq_off + 1, seg_end - eq_off - 1, key, value);
		pos = seg_end + (s[seg_end] == '&');
	}
	return 0;
}

static int parse_url(const char *s, struct parsed *pp, char *err, size_t errlen)
{
	size_t start = uri_prefix_len(s);
	size_t auth_end = start + strcspn(s + start, "/?");
	size_t hosts = start;
	for (size_t i = auth_end; i > start; i--) { /* the last '@' ends userinfo */
		if (s[i - 1] == '@') {
			hosts = i;
			break;
		}
	}
	pp->host_off = hosts;
	if (memchr(s + hosts, ',', auth_end - hosts)) {
		pp->multi_host = 1;
	} else {
		size_t h = hosts, after;
		if (h < auth_end && s[h] == '[') {
			const char *close = memchr(s + h, ']', auth_end - h);
			if (!close) {
				dura_errbuf(err, errlen, "unterminated '[' in the host of the URL");
				return -1;
			}
			after = (size_t)(close - s) + 1;
			pp->auth_host = pct_decode(s + h + 1, after - h - 2, err, errlen);
		} else {
			after = h + strcspn(s + h, ":/?");
			if (after > auth_end)
				after = auth_end;
			pp->auth_host = pct_decode(s + h, after - h, err, errlen);
		}
		if (!pp->auth_host)
			return -1;
		pp->host_len = after - h;
		if (after < auth_end) {
			if (s[after] != ':') {
				dura_errbuf(err, errlen, "unexpected '%c' after the host in the URL", s[after]);
				return -1;
			}
			pp->has_port_colon = 1;
			pp->port_off = after + 1;
			pp->port_len = auth_end - after - 1;
			pp->auth_port = dura_xstrndup(s + pp->port_off, pp->port_len);
		}
	}
	size_t q = auth_end;
	if (s[q] == '/')
		q += strcspn(s + q, "?");
	if (s[q] == '?') {
		pp->has_query = 1;
		pp->query_off = q + 1;
		return parse_query(s, q + 1, pp, err, errlen);
	}
	return 0;
}

/* libpq's conninfo_parse, keeping raw spans. */
static int parse_conninfo(const char *s, struct parsed *pp, char *err, size_t errlen)
{
	size_t i = 0;
	for (;;) {
		while (isspace((unsigned char)s[i]))
			i++;
		if (!s[i])
			return 0;
		size_t ko = i;
		while (s[i] && s[i] != '=' && !isspace((unsigned char)s[i]))
			i++;
		size_t kl = i - ko;
		while (isspace((unsigned char)s[i]))
			i++;
		if (s[i] != '=') {
			/* no echo: a stray word may be half of an unquoted password */
			dura_errbuf(err, errlen,
			            "missing '=' after the word at byte %zu of the connection string "
			            "(expected a postgresql:// URL or key=value pairs; quote values with "
			            "blanks: key='a b')", ko);
			return -1;
		}
		if (kl == 0) {
			dura_errbuf(err, errlen, "missing key before '=' in the connection string");
			return -1;
		}
		i++;
		while (isspace((unsigned char)s[i]))
			i++;
		size_t vo = i;
		struct dura_buf v = { 0 }; /* becomes the item's value */
		if (s[i] == '\'') {
			i++;
			for (;;) {
				if (!s[i]) {
					dura_buf_free(&v);
					dura_errbuf(err, errlen, "unterminated quoted value of '%.*s'",
					            (int)(kl > 60 ? 60 : kl), s + ko);
					return -1;
				}
				if (s[i] == '\\') {
					i++;
					if (s[i])
						dura_buf_append(&v, s + i++, 1);
				} else if (s[i] == '\'') {
					i++;
					break;
				} else {
					dura_buf_append(&v, s + i++, 1);
				}
			}
		} else {
			while (s[i] && !isspace((unsigned char)s[i])) {
				if (s[i] == '\\') {
					i++;
					if (s[i])
						dura_buf_append(&v, s + i++, 1);
					else
						pp->dangling_escape = 1;
				} else {
					dura_buf_append(&v, s + i++, 1);
				}
			}
		}
		dura_buf_append(&v, "", 1);
		add_item(pp, ko, kl, vo, i - vo, dura_xstrndup(s + ko, kl), (char *)v.data);
	}
}

static int parse(const char *s, struct parsed *pp, char *err, size_t errlen)
{
	memset(pp, 0, sizeof *pp);
	pp->is_url = uri_prefix_len(s) != 0;
	int rc = pp->is_url ? parse_url(s, pp, err, errlen) : parse_conninfo(s, pp, err, errlen);
	if (rc != 0)
		parsed_free(pp);
	return rc;
}

/* The last item named key (libpq: the last one wins), or NULL. */
static const struct item *last_item(const struct parsed *pp, const char *key)
{
	const struct item *found = NULL;
	for (size_t i = 0; i < pp->n_items; i++)
		if (strcmp(pp->items[i].key, key) == 0)
			found = &pp->items[i];
	return found;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

/* Effective host, hostaddr and port values as libpq would see them before
 * its own defaults (NULL = not given).  Query parameters override the URL
 * authority because libpq stores them later. */
static void effective(const struct parsed *pp, const char **host, const char **hostaddr,
                      const char **port)
{
	const struct item *it;
	*host = (it = last_item(pp, "host")) ? it->value : pp->auth_host;
	*hostaddr = (it = last_item(pp, "hostaddr")) ? it->value : NULL;
	*port = (it = last_item(pp, "port")) ? it->value : pp->auth_port;
}

static int check_single(const struct parsed *pp, const char *host, const char *hostaddr,
                        const char *port, char *err, size_t errlen)
{
	if (pp->multi_host || (host && strchr(host, ',')) || (hostaddr && strchr(hostaddr, ',')) ||
	    (port && strchr(port, ','))) {
		dura_errbuf(err, errlen,
		            "several hosts are given; only a single host can be put behind the delay "
		            "proxy");
		return -1;
	}
	return 0;
}

/* "5432" -> 5432; -1 if not a TCP port number. */
static int port_number(const char *s)
{
	if (!s || !*s || strlen(s) > 5)
		return -1;
	int v = 0;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

int dura_url_endpoint(const char *url, char *host, size_t hostlen, int *port,
                      char *err, size_t errlen)
{
	struct parsed pp;
	if (parse(url ? url : "", &pp, err, errlen) != 0)
		return -1;
	const char *h, *ha, *p;
	effective(&pp, &h, &ha, &p);
	int rc = -1;
	if (check_single(&pp, h, ha, p, err, errlen) != 0)
		goto out;
	if (!nonempty(h) && !nonempty(ha) && last_item(&pp, "service")) {
		dura_errbuf(err, errlen,
		            "the address comes from a pg_service.conf service; give host and port "
		            "explicitly to put it behind the delay proxy");
		goto out;
	}
	/* libpq: hostaddr (or $PGHOSTADDR) is what it connects to, host only
	 * names it; without either, $PGHOST, then (our choice, documented) TCP
	 * localhost rather than the default Unix socket. */
	const char *addr = nonempty(ha);
	if (!addr && !last_item(&pp, "hostaddr"))
		addr = nonempty(getenv("PGHOSTADDR"));
	const char *name = nonempty(h) ? h : nonempty(getenv("PGHOST"));
	if (!addr)
		addr = name ? name : DEFAULT_HOST;
	if (strchr(addr, ',')) {
		dura_errbuf(err, errlen,
		            "several hosts are given ('%.60s'); only a single host can be put behind "
		            "the delay proxy", addr);
		goto out;
	}
	if (addr[0] == '/' || addr[0] == '@') {
		dura_errbuf(err, errlen,
		            "host '%.100s' is a Unix-domain socket, which cannot be proxied; give a TCP "
		            "host (e.g. host=127.0.0.1 or postgresql://localhost/...)", addr);
		goto out;
	}
	const char *port_s = nonempty(p) ? p : nonempty(getenv("PGPORT"));
	if (!port_s)
		port_s = DEFAULT_PORT;
	int n = port_number(port_s);
	if (n < 0) {
		dura_errbuf(err, errlen, "bad port '%.30s' (expected 1..65535)", port_s);
		goto out;
	}
	if (strlen(addr) >= hostlen) {
		dura_errbuf(err, errlen, "host name too long (%zu bytes)", strlen(addr));
		goto out;
	}
	strcpy(host, addr);
	*port = n;
	rc = 0;
out:
	parsed_free(&pp);
	return rc;
}

/* ------------------------------------------------------------- rewriting */

struct edit {
	size_t off, len; /* replaced span of the input (len 0 = insertion) */
	char *text;      /* owned */
};

static void add_edit(struct edit **edits, size_t *n, size_t off, size_t len, char *text)
{
	*edits = dura_xrealloc(*edits, (*n + 1) * sizeof **edits);
	(*edits)[(*n)++] = (struct edit){ off, len, text };
}

static int unreserved(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static void pct_encode(struct dura_buf *b, const char *s, const char *also_safe)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved((char)*p) || (also_safe && *p && strchr(also_safe, *p)))
			dura_buf_append(b, p, 1);
		else
			dura_buf_printf(b, "%%%02X", *p);
	}
}

static char *url_host_text(const char *host)
{
	struct dura_buf b = { 0 };
	if (strchr(host, ':')) { /* IPv6 literal */
		dura_buf_append(&b, "[", 1);
		pct_encode(&b, host, ":");
		dura_buf_append(&b, "]", 1);
	} else {
		pct_encode(&b, host, NULL);
	}
	dura_buf_append(&b, "", 1);
	return (char *)b.data;
}

static char *query_text(const char *v)
{
	struct dura_buf b = { 0 };
	pct_encode(&b, v, ":/");
	dura_buf_append(&b, "", 1);
	return (char *)b.data;
}

/* v as a conninfo value: quoted when it must be, or when the value it
 * replaces was quoted (libpq lets the next key follow a closing quote
 * directly, so dropping the quotes could glue the two together). */
static char *conninfo_value(const char *v, int force_quotes)
{
	int quote = !*v || force_quotes;
	for (const char *p = v; *p; p++)
		if (isspace((unsigned char)*p) || *p == '\'' || *p == '\\')
			quote = 1;
	if (!quote)
		return dura_xstrdup(v);
	struct dura_buf b = { 0 };
	dura_buf_append(&b, "'", 1);
	for (const char *p = v; *p; p++) {
		if (*p == '\'' || *p == '\\')
			dura_buf_append(&b, "\\", 1);
		dura_buf_append(&b, p, 1);
	}
	dura_buf_append(&b, "'", 2); /* with the NUL */
	return (char *)b.data;
}

static int is_numeric_address(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int cmp_edit(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

char *dura_url_rewrite(const char *url, const char *host, int port, char *err, size_t errlen)
{
	if (!url)
		url = "";
	if (!host || !*host || strchr(host, ',') || port < 1 || port > 65535) {
		dura_errbuf(err, errlen, "rewrite: need a host and a port in 1..65535");
		return NULL;
	}
	struct parsed pp;
	if (parse(url, &pp, err, errlen) != 0)
		return NULL;
	const char *h, *ha, *p;
	effective(&pp, &h, &ha, &p);
	char *result = NULL;
	struct edit *edits = NULL;
	size_t n_edits = 0;
	if (check_single(&pp, h, ha, p, err, errlen) != 0)
		goto out;
	int hostaddr_given = last_item(&pp, "hostaddr") != NULL;
	/* libpq would connect to $PGHOSTADDR and bypass the new host. */
	int add_hostaddr = !hostaddr_given && nonempty(getenv("PGHOSTADDR"));
	if ((hostaddr_given || add_hostaddr) && !is_numeric_address(host)) {
		dura_errbuf(err, errlen,
		            "the address has a hostaddr, so the new host '%.60s' must be numeric", host);
		goto out;
	}
	char port_s[8];
	snprintf(port_s, sizeof port_s, "%d", port);
	int host_item = 0, port_item = 0;
	for (size_t i = 0; i < pp.n_items; i++) {
		const struct item *it = &pp.items[i];
		int is_host = strcmp(it->key, "host") == 0 || strcmp(it->key, "hostaddr") == 0;
		int is_port = strcmp(it->key, "port") == 0;
		if (!is_host && !is_port)
			continue;
		host_item |= strcmp(it->key, "host") == 0;
		port_item |= is_port;
		const char *v = is_port ? port_s : host;
		add_edit(&edits, &n_edits, it->val_off, it->val_len,
		         pp.is_url ? query_text(v)
		                   : conninfo_value(v, it->val_len && url[it->val_off] == '\''));
	}
	struct dura_buf tail = { 0 }; /* appended parameters */
	if (pp.is_url) {
		int host_in_authority = pp.host_len > 0;
		if (host_in_authority) {
			add_edit(&edits, &n_edits, pp.host_off, pp.host_len, url_host_text(host));
		} else if (!host_item) {
			add_edit(&edits, &n_edits, pp.host_off, 0, url_host_text(host));
			host_in_authority = 1;
		}
		if (pp.has_port_colon)
			add_edit(&edits, &n_edits, pp.port_off, pp.port_len, dura_xstrdup(port_s));
		else if (host_in_authority && !port_item)
			add_edit(&edits, &n_edits, pp.host_off + pp.host_len, 0,
			         dura_xasprintf(":%s", port_s));
		else if (!port_item)
			dura_buf_printf(&tail, "port=%s", port_s);
		if (add_hostaddr) {
			char *q = query_text(host);
			dura_buf_printf(&tail, "%shostaddr=%s", tail.len ? "&" : "", q);
			free(q);
		}
		if (tail.len) {
			size_t end = strlen(url);
			const char *sep = !pp.has_query ? "?" : (pp.query_off == end ? "" : "&");
			dura_buf_append(&tail, "", 1);
			add_edit(&edits, &n_edits, end, 0, dura_xasprintf("%s%s", sep, (char *)tail.data));
		}
	} else {
		char *hq = conninfo_value(host, 0);
		if (!host_item)
			dura_buf_printf(&tail, " host=%s", hq);
		if (!port_item)
			dura_buf_printf(&tail, " port=%s", port_s);
		if (add_hostaddr)
			dura_buf_printf(&tail, " hostaddr=%s", hq);
		free(hq);
		if (tail.len && pp.dangling_escape) {
			/* anything appended would be escaped into the last value */
			dura_buf_free(&tail);
			dura_errbuf(err, errlen,
			            "the connection string ends with a lone '\\'; cannot add host and port");
			goto out;
		}
		int spelled_empty = 0;
		if (tail.len && pp.n_items) {
			/* "k=" at the very end: libpq would take what we append as
			 * its value, so spell the empty value out (unless it is a
			 * value we replace anyway) */
			const struct item *last = &pp.items[pp.n_items - 1];
			int replaced = strcmp(last->key, "host") == 0 || strcmp(last->key, "hostaddr") == 0 ||
			               strcmp(last->key, "port") == 0;
			if (!replaced && last->val_len == 0 && url[last->val_off] == '\0') {
				add_edit(&edits, &n_edits, last->val_off, 0, dura_xstrdup("''"));
				spelled_empty = 1;
			}
		}
		if (tail.len) {
			size_t end = strlen(url);
			/* No separator at the start or after blanks that are not
			 * part of the last value (an escaped "\ " is). */
			size_t last_end = pp.n_items ? pp.items[pp.n_items - 1].val_off +
			                               pp.items[pp.n_items - 1].val_len : 0;
			size_t skip = !spelled_empty && (end == 0 || end > last_end) ? 1 : 0;
			dura_buf_append(&tail, "", 1);
			add_edit(&edits, &n_edits, end, 0, dura_xstrdup((char *)tail.data + skip));
		}
	}
	dura_buf_free(&tail);

	/* Edits never overlap; insertions at the same offset keep their order. */
	for (size_t i = 1; i < n_edits; i++)
		for (size_t j = i; j > 0 && cmp_edit(&edits[j - 1], &edits[j]) > 0; j--) {
			struct edit t = edits[j];
			edits[j] = edits[j - 1];
			edits[j - 1] = t;
		}
	struct dura_buf out = { 0 };
	size_t pos = 0;
	for (size_t i = 0; i < n_edits; i++) {
		dura_buf_append(&out, url + pos, edits[i].off - pos);
		dura_buf_append(&out, edits[i].text, strlen(edits[i].text));
		pos = edits[i].off + edits[i].len;
	}
	dura_buf_append(&out, url + pos, strlen(url + pos) + 1);
	result = (char *)out.data;
out:
	for (size_t i = 0; i < n_edits; i++)
		free(edits[i].text);
	free(edits);
	parsed_free(&pp);
	return result;
}

/* --------------------------------------------------------------- masking */

static const char *const secret_keys[] = { "password", "sslpassword", NULL };

static int is_secret_key(const char *k, size_t n)
{
	for (size_t i = 0; secret_keys[i]; i++)
		if (strlen(secret_keys[i]) == n && strncasecmp(k, secret_keys[i], n) == 0)
			return 1;
	return 0;
}

/* For text we could not parse: masks whatever follows "password =" or
 * "sslpassword =" at a word start, up to a blank, '&' or closing quote. */
static void mask_loose(struct dura_buf *b, const char *s)
{
	size_t i = 0, n = strlen(s);
	while (i < n) {
		int word_start = i == 0 || isspace((unsigned char)s[i - 1]) || strchr("&?;,", s[i - 1]);
		size_t kl = 0;
		if (word_start) {
			if (strncasecmp(s + i, "sslpassword", 11) == 0)
				kl = 11;
			else if (strncasecmp(s + i, "password", 8) == 0)
				kl = 8;
		}
		size_t j = i + kl;
		while (kl && isspace((unsigned char)s[j]))
			j++;
		if (!kl || s[j] != '=') {
			dura_buf_append(b, s + i, 1);
			i++;
			continue;
		}
		j++;
		while (isspace((unsigned char)s[j]))
			j++;
		dura_buf_append(b, s + i, j - i);
		dura_buf_append(b, "***", 3);
		if (s[j] == '\'') {
			for (j++; s[j] && s[j] != '\''; j++)
				if (s[j] == '\\' && s[j + 1])
					j++;
			if (s[j])
				j++;
		} else {
			while (s[j] && !isspace((unsigned char)s[j]) && s[j] != '&')
				j++;
		}
		i = j;
	}
}

/* Index of the '?' that starts the query, or the end: a '?' followed by an
 * '@' before any '=' or '&' is part of an (unencoded) password instead. */
static size_t url_query_start(const char *s, size_t from)
{
	size_t q = from + strcspn(s + from, "?");
	while (s[q] == '?') {
		size_t k = q + 1 + strcspn(s + q + 1, "@=&");
		if (s[k] != '@')
			return q;
		q = k + 1 + strcspn(s + k + 1, "?");
	}
	return q;
}

struct span {
	size_t from, to; /* hidden bytes [from, to) */
};

static void add_span(struct span **v, size_t *n, size_t from, size_t to)
{
	*v = dura_xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = (struct span){ from, to };
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->from < y->from ? -1 : x->from > y->from;
}

/* A URL can be read more than one way when it is not well formed (libpq
 * itself ends the userinfo at the first '@' before the first '/', even if
 * that '@' sits in the query).  Every reading marks what it would consider
 * secret; the union is hidden.  Over-masking a malformed URL is harmless,
 * showing a password is not. */
static void mask_url(struct dura_buf *b, const char *s)
{
	struct span *spans = NULL; /* freed below */
	size_t n_spans = 0;
	size_t start = 0;
	while (s[start] && s[start] != ':')
		start++;
	start += 3; /* "://", checked by the caller */

	/* userinfo "user:password@": libpq's reading and the last '@' before
	 * the query (a password with an unencoded '/', '?' or '@') */
	size_t slash = start + strcspn(s + start, "/");
	const char *ats[2];
	ats[0] = memchr(s + start, '@', slash - start);
	ats[1] = NULL;
	size_t q0 = url_query_start(s, start);
	for (size_t i = q0; i > start; i--) {
		if (s[i - 1] == '@') {
			ats[1] = s + i - 1;
			break;
		}
	}
	for (int k = 0; k < 2; k++) {
		if (!ats[k])
			continue;
		const char *colon = memchr(s + start, ':', (size_t)(ats[k] - (s + start)));
		if (colon)
			add_span(&spans, &n_spans, (size_t)(colon - s) + 1, (size_t)(ats[k] - s));
	}

	/* parameters: every "key=value" after the first '?', split at '?' and
	 * '&'; a piece without '=' after a secret belongs to it */
	size_t pos = start + strcspn(s + start, "?");
	int in_secret = 0;
	while (s[pos]) {
		pos++; /* the separator */
		size_t seg = strcspn(s + pos, "?&");
		const char *eq = memchr(s + pos, '=', seg);
		if (eq) {
			size_t kl = (size_t)(eq - (s + pos));
			char unused[8];
			char *key = pct_decode(s + pos, kl, unused, sizeof unused);
			in_secret = key ? is_secret_key(key, strlen(key)) : is_secret_key(s + pos, kl);
			free(key);
			if (in_secret)
				add_span(&spans, &n_spans, (size_t)(eq - s) + 1, pos + seg);
		} else if (in_secret) {
			add_span(&spans, &n_spans, pos, pos + seg);
		}
		pos += seg;
	}

	/* output: each run of hidden bytes (merged spans) becomes "***" */
	if (n_spans > 1)
		qsort(spans, n_spans, sizeof *spans, cmp_span);
	size_t done = 0;
	for (size_t i = 0; i < n_spans;) {
		size_t from = spans[i].from, to = spans[i].to;
		for (i++; i < n_spans && spans[i].from <= to; i++)
			if (spans[i].to > to)
				to = spans[i].to;
		if (from < done)
			from = done;
		dura_buf_append(b, s + done, from - done);
		dura_buf_append(b, "***", 3);
		done = to > done ? to : done;
	}
	dura_buf_append(b, s + done, strlen(s + done));
	free(spans);
}

static int starts_like_url(const char *s)
{
	return strncasecmp(s, "postgresql://", 13) == 0 || strncasecmp(s, "postgres://", 11) == 0;
}

static void mask_conninfo(struct dura_buf *b, const char *s)
{
	struct parsed pp;
	char unused[8];
	memset(&pp, 0, sizeof pp);
	size_t done = 0; /* input consumed so far */
	/* On a parse error the items before it are kept; the rest is masked
	 * loosely below. */
	(void)parse_conninfo(s, &pp, unused, sizeof unused);
	for (size_t i = 0; i < pp.n_items; i++) {
		const struct item *it = &pp.items[i];
		dura_buf_append(b, s + done, it->val_off - done);
		if (is_secret_key(it->key, strlen(it->key))) {
			dura_buf_append(b, "***", 3);
		} else if (starts_like_url(it->value) && strchr(it->value, '@')) {
			/* dbname=postgresql://u:p@h/db, which libpq can expand */
			struct dura_buf inner = { 0 };
			mask_url(&inner, it->value);
			dura_buf_append(&inner, "", 1);
			char *t = conninfo_value((char *)inner.data, 0);
			dura_buf_append(b, t, strlen(t));
			free(t);
			dura_buf_free(&inner);
		} else {
			dura_buf_append(b, s + it->val_off, it->val_len);
		}
		done = it->val_off + it->val_len;
	}
	mask_loose(b, s + done); /* the rest: blanks, or what did not parse */
	parsed_free(&pp);
}

char *dura_url_mask(const char *url)
{
	struct dura_buf b = { 0 }; /* returned as a string */
	if (!url)
		url = "";
	if (starts_like_url(url))
		mask_url(&b, url);
	else
		mask_conninfo(&b, url);
	dura_buf_append(&b, "", 1);
	return (char *)b.data;
}
