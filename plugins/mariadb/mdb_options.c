/*
 * Options of the MariaDB provider: declaration (listed by `durabench
 * plugins`), parsing, and the server address
 *     mariadb://USER:PASSWORD@HOST:PORT[/DATABASE]   (or mysql://...)
 * User and password may be percent-encoded; a database path is accepted
 * but not used (each store creates its own database).  The core already rejects
 * undeclared keys, but a plugin may be driven by anything, so open() checks
 * again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "mdb_internal.h"

#define DEFAULT_POOL_SIZE 10u
#define MAX_POOL_SIZE 1000u

const struct dura_option_spec dura_mdb_option_specs[] = {
	{ "url", "mariadb://root@127.0.0.1:3306",
	  "server address mariadb://user:password@host:port (\"auto\": a "
	  "throwaway local server started by durabench)", DURA_OPT_URL },
	{ "database", NULL,
	  "database to create for this run (^[a-z_][a-z0-9_]{0,63}$); default "
	  "durabench_<random hex>; when NAME exists, the first free of NAME_2, "
	  "NAME_3 ... is created (an existing database is never used)", 0 },
	{ "keep", "false", "keep the database at close instead of dropping it", 0 },
	{ "pool_size", "0",
	  "connections in the pool (0 = choose: 10); a dispatcher thread holds "
	  "one only for the duration of a call", 0 },
	{ "acquire_timeout", "30000",
	  "how long a call waits for a free pooled connection (ms, or 500ms / 5s)", 0 },
	{ "connect_timeout", "10000",
	  "timeout of one connection attempt (ms or with unit; whole seconds, at least 1 s)", 0 },
	{ "statement_timeout", "30000",
	  "client-side read/write timeout of one call: a stalled server fails "
	  "the call (and the connection is re-established) instead of hanging "
	  "(ms or with unit; whole seconds, at least 1 s)", 0 },
	{ "lock_wait_timeout", "5",
	  "innodb_lock_wait_timeout of each session in seconds (1..3600); a "
	  "timed-out wait is retried", 0 },
	{ "poll_interval", "50ms",
	  "longest sleep of an idle long-poll fetch between two server fetches "
	  "(work from other processes is seen at least this often)", 0 },
	{ NULL, NULL, NULL, 0 },
};

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on", NULL };
	static const char *const no[] = { "0", "false", "no", "off", NULL };
	for (size_t i = 0; yes[i]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Milliseconds: "250", "250ms", "2s", "1m". */
static int parse_ms(const char *s, uint32_t *out)
{
	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned long long mul;
	if (*end == '\0' || strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mul = 60000;
	else
		return -1;
	if (v > UINT32_MAX / mul)
		return -1;
	*out = (uint32_t)(v * mul);
	return 0;
}

/* ^[a-z_][a-z0-9_]{0,63}$: needs no quoting, but is quoted anyway. */
static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DURA_MDB_NAME_MAX)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

static void random_name(char *dst, size_t len)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		r = (uint64_t)(uintptr_t)dst ^ (uint64_t)rand();
	snprintf(dst, len, "durabench_%016llx", (unsigned long long)r);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decoded copy of s[0..n), or NULL (bad escape, %00, memory). */
static char *decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		int hi = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
		int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

/* mariadb://[user[:password]@]host[:port][/database] */
static dura_rc parse_url(struct dura_mdb_options *o, const char *url, struct dura_err *err)
{
	const char *p;
	if (strncasecmp(url, "mariadb://", 10) == 0)
		p = url + 10;
	else if (strncasecmp(url, "mysql://", 8) == 0)
		p = url + 8;
	else {
		dura_mdb_err(err, "option url: expected mariadb://user:password@host:port "
		             "(or mysql://..., or auto)");
		return DURA_CONFIG;
	}
	const char *end = p + strcspn(p, "/?#");
	if (*end == '?' || *end == '#' || (*end == '/' && strpbrk(end, "?#"))) {
		dura_mdb_err(err, "option url: no parameters are accepted (see the plugin's "
		             "options: durabench plugins)");
		return DURA_CONFIG;
	}
	/* a /database path is accepted and not used: every store creates and
	 * uses its own database (option database) */
	const char *at = NULL;
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			at = q;
	const char *hostp = p;
	free(o->user);
	free(o->password);
	o->user = o->password = NULL;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		o->user = decode(p, (size_t)((colon ? colon : at) - p));
		o->password = colon ? decode(colon + 1, (size_t)(at - colon - 1)) : strdup("");
		hostp = at + 1;
	} else {
		o->user = strdup("root");
		o->password = strdup("");
	}
	if (!o->user || !o->password) {
		dura_mdb_err(err, "option url: bad percent-encoding in the user or password");
		return DURA_CONFIG;
	}
	const char *hend, *portp = NULL;
	if (*hostp == '[') { /* [::1]:3306 */
		hend = memchr(hostp, ']', (size_t)(end - hostp));
		if (!hend) {
			dura_mdb_err(err, "option url: unterminated [ in the host");
			return DURA_CONFIG;
		}
		hostp++;
		if (hend + 1 < end && hend[1] == ':')
			portp = hend + 2;
		else if (hend + 1 != end) {
			dura_mdb_err(err, "option url: unexpected text after the host");
			return DURA_CONFIG;
		}
	} else {
		hend = memchr(hostp, ':', (size_t)(end - hostp));
		if (hend)
			portp = hend + 1;
		else
			hend = end;
	}
	free(o->host);
	o->host = hend > hostp ? strndup(hostp, (size_t)(hend - hostp)) : strdup("127.0.0.1");
	o->port = 3306;
	if (portp) {
		char buf[16];
		size_t n = (size_t)(end - portp);
		unsigned long long v;
		if (n == 0 || n >= sizeof buf) {
			dura_mdb_err(err, "option url: bad port");
			return DURA_CONFIG;
		}
		memcpy(buf, portp, n);
		buf[n] = '\0';
		if (parse_uint(buf, 65535, &v) != 0 || v == 0) {
			dura_mdb_err(err, "option url: bad port '%s'", buf);
			return DURA_CONFIG;
		}
		o->port = (unsigned)v;
	}
	if (!o->host) {
		dura_mdb_err(err, "out of memory");
		return DURA_CONFIG;
	}
	return DURA_OK;
}

static const struct dura_option_spec *find_spec(const char *key)
{
	for (const struct dura_option_spec *s = dura_mdb_option_specs; s->name; s++)
		if (strcmp(s->name, key) == 0)
			return s;
	return NULL;
}

static dura_rc bad_duration(const char *key, const char *value, struct dura_err *err)
{
	dura_mdb_err(err, "option %s: '%.80s' is not a duration (milliseconds, or 500ms / 5s)",
	             key, value);
	return DURA_CONFIG;
}

static dura_rc apply(struct dura_mdb_options *o, const char *key, const char *value,
                     struct dura_err *err)
{
	unsigned long long u;
	if (strcmp(key, "url") == 0) {
		if (strcasecmp(value, "auto") == 0) {
			dura_mdb_err(err, "option url: 'auto' must be resolved by the durabench "
			             "core before the plugin is opened");
			return DURA_CONFIG;
		}
		return parse_url(o, value, err);
	}
	if (strcmp(key, "database") == 0) {
		if (!*value)
			return DURA_OK; /* empty = generate */
		if (!valid_name(value)) {
			dura_mdb_err(err, "option database: '%.80s' is not a valid name (lower case "
			             "letters, digits and _, not starting with a digit, at most "
			             "64 characters)", value);
			return DURA_CONFIG;
		}
		snprintf(o->database, sizeof o->database, "%s", value);
		o->database_given = 1;
	} else if (strcmp(key, "keep") == 0) {
		if (parse_bool(value, &o->keep) != 0) {
			dura_mdb_err(err, "option keep: '%.80s' is not a boolean (true/false)", value);
			return DURA_CONFIG;
		}
	} else if (strcmp(key, "pool_size") == 0) {
		if (parse_uint(value, MAX_POOL_SIZE, &u) != 0) {
			dura_mdb_err(err, "option pool_size: '%.80s' is not a number from 0 to %u",
			             value, MAX_POOL_SIZE);
			return DURA_CONFIG;
		}
		o->pool_size = u ? (unsigned)u : DEFAULT_POOL_SIZE;
	} else if (strcmp(key, "lock_wait_timeout") == 0) {
		if (parse_uint(value, 3600, &u) != 0 || u == 0) {
			dura_mdb_err(err, "option lock_wait_timeout: '%.80s' is not a number of "
			             "seconds from 1 to 3600", value);
			return DURA_CONFIG;
		}
		o->lock_wait_timeout_s = (uint32_t)u;
	} else {
		uint32_t *dst = strcmp(key, "acquire_timeout") == 0   ? &o->acquire_timeout_ms
		                : strcmp(key, "connect_timeout") == 0 ? &o->connect_timeout_ms
		                : strcmp(key, "statement_timeout") == 0 ? &o->statement_timeout_ms
		                                                        : &o->poll_interval_ms;
		if (parse_ms(value, dst) != 0)
			return bad_duration(key, value, err);
		if (dst == &o->poll_interval_ms && *dst == 0) {
			dura_mdb_err(err, "option poll_interval: must be at least 1ms");
			return DURA_CONFIG;
		}
	}
	return DURA_OK;
}

dura_rc dura_mdb_options_parse(const struct dura_option *options, size_t n,
                               struct dura_mdb_options *o, struct dura_err *err)
{
	memset(o, 0, sizeof *o);
	/* defaults first, then the given values, so both go through one parser */
	for (const struct dura_option_spec *s = dura_mdb_option_specs; s->name; s++) {
		if (s->default_value) {
			dura_rc rc = apply(o, s->name, s->default_value, err);
			if (rc != DURA_OK)
				return rc;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!options[i].key || !options[i].value) {
			dura_mdb_err(err, "option %zu has no key or no value", i);
			return DURA_CONFIG;
		}
		if (!find_spec(options[i].key)) {
			dura_mdb_err(err, "unknown option '%.60s' for plugin 'mariadb' (accepted: "
			             "url, database, keep, pool_size, acquire_timeout, "
			             "connect_timeout, statement_timeout, lock_wait_timeout, "
			             "poll_interval)", options[i].key);
			return DURA_CONFIG;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(options[j].key, options[i].key) == 0) {
				dura_mdb_err(err, "option '%.60s' given twice", options[i].key);
				return DURA_CONFIG;
			}
		}
		dura_rc rc = apply(o, options[i].key, options[i].value, err);
		if (rc != DURA_OK)
			return rc;
	}
	if (!o->database_given)
		random_name(o->database, sizeof o->database);
	return DURA_OK;
}

dura_rc dura_mdb_check_options(const struct dura_option *options, size_t n, size_t *bad,
                               struct dura_err *err)
{
	struct dura_mdb_options o;
	memset(&o, 0, sizeof o);
	dura_rc rc = DURA_OK;
	for (size_t i = 0; rc == DURA_OK && i < n; i++) {
		*bad = i;
		if (!options[i].key || !options[i].value || !find_spec(options[i].key)) {
			dura_mdb_err(err, "option %zu: unknown or incomplete", i);
			rc = DURA_CONFIG;
		} else if (strcmp(options[i].key, "url") == 0 &&
		           strcasecmp(options[i].value, "auto") == 0) {
			continue; /* resolved by the core */
		} else {
			rc = apply(&o, options[i].key, options[i].value, err);
		}
	}
	dura_mdb_options_free(&o);
	if (rc == DURA_OK)
		*bad = n;
	return rc;
}

void dura_mdb_options_free(struct dura_mdb_options *o)
{
	free(o->host);
	free(o->user);
	if (o->password) /* do not leave the secret in freed memory */
		explicit_bzero(o->password, strlen(o->password));
	free(o->password);
	o->host = o->user = o->password = NULL;
}
