/* Endpoint and proxy rewrite of provider addresses (see address_rewrite.h). */
#include "config.h"

#include "address_rewrite.h"
#include "base/url.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#ifdef DURA_HAVE_POSTGRES
#include <libpq-fe.h>
#endif

/* ---------------------------------------------------------- the forms */

/* Length of "scheme://" at the start of s, or 0. */
static size_t scheme_len(const char *s)
{
	size_t i = 0;
	while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
		i++;
	return i > 0 && strncmp(s + i, "://", 3) == 0 ? i + 3 : 0;
}

static int is_libpq(const char *s)
{
	size_t n = scheme_len(s);
	if (n)
		return (n == 13 && strncmp(s, "postgresql://", n) == 0) ||
		       (n == 11 && strncmp(s, "postgres://", n) == 0);
	/* no scheme: a conninfo has key=value pairs (or is empty) */
	return strchr(s, '=') != NULL || *s == '\0';
}

/* host[:port] or [v6][:port] in s[0..n): the host span and the port
 * (-1 when absent).  0, or -1 with a message. */
static int split_hostport(const char *s, size_t n, size_t *host_off, size_t *host_len,
                          int *port, char *err, size_t errlen)
{
	size_t h_end;
	const char *rest;
	if (memchr(s, ',', n)) {
		dura_errbuf(err, errlen,
		            "several hosts are given ('%.*s'); only a single host can be put behind "
		            "the delay proxy", (int)n, s);
		return -1;
	}
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close) {
			dura_errbuf(err, errlen, "'[' without ']' in '%.*s'", (int)n, s);
			return -1;
		}
		*host_off = 1;
		*host_len = (size_t)(close - s) - 1;
		h_end = (size_t)(close - s) + 1;
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s))) {
			dura_errbuf(err, errlen, "'%.*s': an IPv6 address needs brackets ([::1]:port)",
			            (int)n, s);
			return -1;
		}
		*host_off = 0;
		*host_len = colon ? (size_t)(colon - s) : n;
		h_end = *host_len;
	}
	if (*host_len == 0) {
		dura_errbuf(err, errlen, "no host in '%.*s'", (int)n, s);
		return -1;
	}
	rest = s + h_end;
	*port = -1;
	if (h_end < n) {
		if (*rest != ':' || h_end + 1 == n) {
			dura_errbuf(err, errlen, "bad port in '%.*s'", (int)n, s);
			return -1;
		}
		int v = 0;
		for (const char *p = rest + 1; p < s + n; p++) {
			if (!isdigit((unsigned char)*p) || (v = v * 10 + (*p - '0')) > 65535) {
				dura_errbuf(err, errlen, "bad port in '%.*s' (expected 1..65535)", (int)n, s);
				return -1;
			}
		}
		if (v < 1) {
			dura_errbuf(err, errlen, "bad port in '%.*s' (expected 1..65535)", (int)n, s);
			return -1;
		}
		*port = v;
	}
	return 0;
}

/* A non-libpq address: the span of host[:port] in it.  0 or -1. */
static int generic_span(const char *s, size_t *off, size_t *len, char *err, size_t errlen)
{
	size_t start = scheme_len(s);
	if (!start) {
		if (strpbrk(s, " \t/@")) {
			dura_errbuf(err, errlen,
			            "'%.60s' is neither scheme://host:port/... nor host:port", s);
			return -1;
		}
		*off = 0;
		*len = strlen(s);
		return 0;
	}
	size_t end = start + strcspn(s + start, "/?#");
	size_t at = start;
	for (size_t i = start; i < end; i++) /* userinfo ends at the last '@' */
		if (s[i] == '@')
			at = i + 1;
	*off = at;
	*len = end - at;
	return 0;
}

static int generic_endpoint(const char *s, char *host, size_t hostlen, int *port, char *err,
                            size_t errlen)
{
	size_t off, len, h_off, h_len;
	int p;
	if (generic_span(s, &off, &len, err, errlen) != 0 ||
	    split_hostport(s + off, len, &h_off, &h_len, &p, err, errlen) != 0)
		return -1;
	if (p < 0) {
		dura_errbuf(err, errlen,
		            "no port in '%.*s': give it (host:PORT) to put the address behind the "
		            "delay proxy", (int)len, s + off);
		return -1;
	}
	if (h_len >= hostlen) {
		dura_errbuf(err, errlen, "host name too long (%zu bytes)", h_len);
		return -1;
	}
	memcpy(host, s + off + h_off, h_len);
	host[h_len] = '\0';
	*port = p;
	return 0;
}

static char *generic_rewrite(const char *s, const char *host, int port, char *err, size_t errlen)
{
	char h[256];
	int p;
	if (generic_endpoint(s, h, sizeof h, &p, err, errlen) != 0)
		return NULL;
	size_t off, len;
	generic_span(s, &off, &len, err, errlen);
	struct dura_buf b = { 0 };
	dura_buf_append(&b, s, off);
	dura_buf_printf(&b, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
	dura_buf_append(&b, s + off + len, strlen(s + off + len) + 1);
	return (char *)b.data;
}

/* ---------------------------------------------------- libpq addresses */

#ifdef DURA_HAVE_POSTGRES
static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

/* The given values of host, hostaddr, port and service (NULL if not
 * given).  Returns the parsed options (PQconninfoFree) or NULL. */
static PQconninfoOption *libpq_parse(const char *s, const char **host, const char **hostaddr,
                                     const char **port, char *err, size_t errlen)
{
	char *why = NULL;
	PQconninfoOption *opts = PQconninfoParse(s, &why);
	if (!opts) {
		dura_errbuf(err, errlen, "not a libpq address: %s", why ? why : "out of memory");
		PQfreemem(why);
		return NULL;
	}
	*host = *hostaddr = *port = NULL;
	const char *service = NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, "host") == 0)
			*host = nonempty(o->val);
		else if (strcmp(o->keyword, "hostaddr") == 0)
			*hostaddr = nonempty(o->val);
		else if (strcmp(o->keyword, "port") == 0)
			*port = nonempty(o->val);
		else if (strcmp(o->keyword, "service") == 0)
			service = nonempty(o->val);
	}
	if (service && !*host && !*hostaddr) {
		dura_errbuf(err, errlen,
		            "the address comes from a pg_service.conf service; give host and port "
		            "explicitly to put it behind the delay proxy");
		PQconninfoFree(opts);
		return NULL;
	}
	return opts;
}

/* libpq: hostaddr (or $PGHOSTADDR) is what it connects to, host only
 * names it; without either, $PGHOST, then (documented) TCP localhost rather
 * than the default Unix socket. */
static int libpq_endpoint(const char *s, char *host, size_t hostlen, int *port, char *err,
                          size_t errlen)
{
	const char *h, *ha, *p;
	PQconninfoOption *opts = libpq_parse(s, &h, &ha, &p, err, errlen);
	if (!opts)
		return -1;
	const char *addr = ha ? ha : !h ? nonempty(getenv("PGHOSTADDR")) : NULL;
	if (!addr)
		addr = h ? h : nonempty(getenv("PGHOST")) ? getenv("PGHOST") : "localhost";
	const char *port_s = p ? p : nonempty(getenv("PGPORT")) ? getenv("PGPORT") : "5432";
	int rc = -1;
	size_t h_off, h_len;
	int n;
	if (addr[0] == '/' || addr[0] == '@') {
		dura_errbuf(err, errlen,
		            "host '%.100s' is a Unix-domain socket, which cannot be proxied; give a TCP "
		            "host (e.g. host=127.0.0.1 or postgresql://localhost/...)", addr);
	} else if (strchr(addr, ',') || strchr(port_s, ',')) {
		dura_errbuf(err, errlen,
		            "several hosts are given ('%.60s'); only a single host can be put behind "
		            "the delay proxy", addr);
	} else {
		/* reuse the host:port checks on "addr:port" ([v6] not needed:
		 * libpq values are bare) */
		char *hp = dura_xasprintf(strchr(addr, ':') ? "[%s]:%s" : "%s:%s", addr, port_s);
		if (split_hostport(hp, strlen(hp), &h_off, &h_len, &n, err, errlen) == 0) {
			if (strlen(addr) >= hostlen) {
				dura_errbuf(err, errlen, "host name too long (%zu bytes)", strlen(addr));
			} else {
				strcpy(host, addr);
				*port = n;
				rc = 0;
			}
		}
		free(hp);
	}
	PQconninfoFree(opts);
	return rc;
}

static void conninfo_pair(struct dura_buf *b, const char *key, const char *value)
{
	dura_buf_printf(b, "%s%s='", b->len ? " " : "", key);
	for (const char *p = value; *p; p++) {
		if (*p == '\'' || *p == '\\')
			dura_buf_append(b, "\\", 1);
		dura_buf_append(b, p, 1);
	}
	dura_buf_append(b, "'", 1);
}

/* Every given option as key='value', then host kept (the name TLS and
 * .pgpass match), hostaddr and port set to the proxy. */
static char *libpq_rewrite(const char *s, const char *host, int port, char *err, size_t errlen)
{
	char target[256];
	int target_port;
	if (libpq_endpoint(s, target, sizeof target, &target_port, err, errlen) != 0)
		return NULL;
	unsigned char probe[16];
	if (inet_pton(AF_INET, host, probe) != 1 && inet_pton(AF_INET6, host, probe) != 1) {
		dura_errbuf(err, errlen, "proxy address '%s' is not numeric", host);
		return NULL;
	}
	const char *h, *ha, *p;
	PQconninfoOption *opts = libpq_parse(s, &h, &ha, &p, err, errlen);
	if (!opts)
		return NULL;
	struct dura_buf b = { 0 };
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0 ||
		    strcmp(o->keyword, "port") == 0)
			continue;
		conninfo_pair(&b, o->keyword, o->val);
	}
	/* The name the server is known by: given, $PGHOST, or the endpoint. */
	const char *name = h ? h : ha ? NULL : nonempty(getenv("PGHOST")) ? getenv("PGHOST") : target;
	if (name)
		conninfo_pair(&b, "host", name);
	conninfo_pair(&b, "hostaddr", host);
	char port_s[16];
	snprintf(port_s, sizeof port_s, "%d", port);
	conninfo_pair(&b, "port", port_s);
	dura_buf_append(&b, "", 1);
	PQconninfoFree(opts);
	return (char *)b.data;
}
#else
/* Built without libpq: the hand-written libpq parser of base/url.c. */
static int libpq_endpoint(const char *s, char *host, size_t hostlen, int *port, char *err,
                          size_t errlen)
{
	return dura_url_endpoint(s, host, hostlen, port, err, errlen);
}

static char *libpq_rewrite(const char *s, const char *host, int port, char *err, size_t errlen)
{
	return dura_url_rewrite(s, host, port, err, errlen);
}
#endif

/* ------------------------------------------------------------- public */

int dura_address_endpoint(const char *addr, char *host, size_t hostlen, int *port,
                          char *err, size_t errlen)
{
	const char *s = addr ? addr : "";
	return is_libpq(s) ? libpq_endpoint(s, host, hostlen, port, err, errlen)
	                   : generic_endpoint(s, host, hostlen, port, err, errlen);
}

char *dura_address_rewrite(const char *addr, const char *host, int port, char *err,
                           size_t errlen)
{
	const char *s = addr ? addr : "";
	return is_libpq(s) ? libpq_rewrite(s, host, port, err, errlen)
	                   : generic_rewrite(s, host, port, err, errlen);
}
