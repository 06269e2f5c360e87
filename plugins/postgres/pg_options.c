
/*
 * Options of the PostgreSQL provider: declaration (listed by `durabench
 * plugins`) and parsing.  The core already rejects undeclared keys, but a
 * plugin may be driven by anything, so open() checks again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "pg_internal.h"

#define DEFAULT_POOL_SIZE 10u
#define MAX_POOL_SIZE 1000u

const struct dura_option_spec dura_pg_option_specs[] = {
	{ "url", "",
	  "libpq URL or key=value conninfo (\"auto\": a throwaway local server "
	  "started by durabench); empty = the PG* environment variables",
	  DURA_OPT_URL },
	{ "schema", NULL,
	  "schema to create for this run (^[a-z_][a-z0-9_]{0,62}$); default "
	  "durabench_<random hex>; must not exist yet.  With several runs in "
	  "one file, run k uses NAME_r<k>", 0 },
	{ "keep", "false", "keep the schema at close instead of dropping it", 0 },
	{ "pool_size", "0",
	  "connections in the pool (0 = choose: 10); each dispatcher thread "
	  "holds one only for the duration of a call", 0 },
	{ "acquire_timeout", "30000",
	  "how long a call waits for a free pooled connection (ms, or with "
	  "unit: 500ms, 5s)", 0 },
	{ "connect_timeout", "10000",
	  "timeout of one connection attempt (ms, or with unit; libpq rounds "
	  "up to whole seconds, at least 2 s)", 0 },
	{ "call_timeout", "15000",
	  "client-side deadline of one SQL call, reply included (ms, or with unit); "
	  "when it passes the connection is dropped and the operation returns "
	  "RETRY. Also the TCP user timeout; keepalives probe idle links", 0 },
	{ "application_name", "durabench",
	  "application_name reported to the server (pg_stat_activity)", 0 },
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

static int parse_uint(const char *s, unsigned long long max,
                      unsigned long long *out)
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
	unsigned long long mul = 1;
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

/* ^[a-z_][a-z0-9_]{0,62}$ */
static int valid_schema(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DURA_PG_SCHEMA_MAX)
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

static void random_schema(char *dst, size_t len)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
		/* getrandom cannot fail for 8 bytes after boot; fall back anyway */
		r = (uint64_t)(uintptr_t)dst ^ (uint64_t)rand();
	}
	snprintf(dst, len, "durabench_%016llx", (unsigned long long)r);
}

static const struct dura_option_spec *find_spec(const char *key)
{
	for (const struct dura_option_spec *s = dura_pg_option_specs; s->name; s++)
		if (strcmp(s->name, key) == 0)
			return s;
	return NULL;
}

static dura_rc apply(struct dura_pg_options *o, const char *key,
                     const char *value, struct dura_err *err)
{
	unsigned long long u;
	uint32_t ms;
	if (strcmp(key, "url") == 0) {
		free(o->url);
		o->url = strdup(value);
		if (!o->url)
			goto oom;
	} else if (strcmp(key, "schema") == 0) {
		if (!*value)
			return DURA_OK; /* empty = generate */
		if (!valid_schema(value)) {
			dura_pg_err(err, "option schema: '%.80s' is not a valid schema name "
			            "(lower case letters, digits and _, not starting with a "
			            "digit, at most 63 characters)", value);
			return DURA_CONFIG;
		}
		snprintf(o->schema, sizeof o->schema, "%s", value);
		o->schema_given = 1;
	} else if (strcmp(key, "keep") == 0) {
		if (parse_bool(value, &o->keep) != 0) {
			dura_pg_err(err, "option keep: '%.80s' is not a boolean (true/false)", value);
			return DURA_CONFIG;
		}
	} else if (strcmp(key, "pool_size") == 0) {
		if (parse_uint(value, MAX_POOL_SIZE, &u) != 0) {
			dura_pg_err(err, "option pool_size: '%.80s' is not a number from 0 to %u",
			            value, MAX_POOL_SIZE);
			return DURA_CONFIG;
		}
		o->pool_size = u ? (unsigned)u : DEFAULT_POOL_SIZE;
	} else if (strcmp(key, "acquire_timeout") == 0) {
		if (parse_ms(value, &ms) != 0) {
			dura_pg_err(err, "option acquire_timeout: '%.80s' is not a duration "
			            "(milliseconds, or 500ms / 5s)", value);
			return DURA_CONFIG;
		}
		o->acquire_timeout_ms = ms;
	} else if (strcmp(key, "connect_timeout") == 0) {
		if (parse_ms(value, &ms) != 0) {
			dura_pg_err(err, "option connect_timeout: '%.80s' is not a duration "
			            "(milliseconds, or 500ms / 5s)", value);
			return DURA_CONFIG;
		}
		o->connect_timeout_ms = ms;
	} else if (strcmp(key, "call_timeout") == 0) {
		if (parse_ms(value, &ms) != 0 || ms == 0) {
			dura_pg_err(err, "option call_timeout: '%.80s' is not a positive duration "
			            "(milliseconds, or 500ms / 5s)", value);
			return DURA_CONFIG;
		}
		o->call_timeout_ms = ms;
	} else if (strcmp(key, "application_name") == 0) {
		free(o->application_name);
		o->application_name = strdup(value);
		if (!o->application_name)
			goto oom;
	}
	return DURA_OK;
oom:
	dura_pg_err(err, "out of memory");
	return DURA_CONFIG;
}

dura_rc dura_pg_options_parse(const struct dura_option *options, size_t n,
                              struct dura_pg_options *o, struct dura_err *err)
{
	memset(o, 0, sizeof *o);
	/* defaults first, then the given values, so both go through one parser */
	for (const struct dura_option_spec *s = dura_pg_option_specs; s->name; s++) {
		if (s->default_value) {
			dura_rc rc = apply(o, s->name, s->default_value, err);
			if (rc != DURA_OK)
				return rc;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!options[i].key || !options[i].value) {
			dura_pg_err(err, "option %zu has no key or no value", i);
			return DURA_CONFIG;
		}
		if (!find_spec(options[i].key)) {
			dura_pg_err(err, "unknown option '%.60s' for plugin 'postgres' (accepted: "
			            "url, schema, keep, pool_size, acquire_timeout, "
			            "connect_timeout, call_timeout, application_name)", options[i].key);
			return DURA_CONFIG;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(options[j].key, options[i].key) == 0) {
				dura_pg_err(err, "option '%.60s' given twice", options[i].key);
				return DURA_CONFIG;
			}
		}
		dura_rc rc = apply(o, options[i].key, options[i].value, err);
		if (rc != DURA_OK)
			return rc;
	}
	if (!o->schema_given)
		random_schema(o->schema, sizeof o->schema);
	if (strcmp(o->url, "auto") == 0) {
		dura_pg_err(err, "option url: 'auto' must be resolved by the durabench core "
		            "before the plugin is opened");
		return DURA_CONFIG;
	}
	return DURA_OK;
}

/* The url as libpq will read it: a syntax error is a configuration error
 * before anything connects ("auto" is the core's, empty means PG*). */
static dura_rc check_url(const char *value, struct dura_err *err)
{
	if (!*value || strcmp(value, "auto") == 0)
		return DURA_OK;
	char *why = NULL;
	PQconninfoOption *opts = PQconninfoParse(value, &why);
	if (!opts) {
		char line[DURA_ERR_MAX];
		dura_pg_one_line(line, sizeof line, why ? why : "out of memory", NULL);
		dura_pg_err(err, "option url: not a libpq URL or conninfo: %s", line);
		PQfreemem(why);
		return DURA_CONFIG;
	}
	PQconninfoFree(opts);
	return DURA_OK;
}

dura_rc dura_pg_check_options(const struct dura_option *options, size_t n, size_t *bad,
                              struct dura_err *err)
{
	struct dura_pg_options o;
	memset(&o, 0, sizeof o);
	dura_rc rc = DURA_OK;
	for (size_t i = 0; rc == DURA_OK && i < n; i++) {
		*bad = i;
		if (!options[i].key || !options[i].value || !find_spec(options[i].key)) {
			dura_pg_err(err, "option %zu: unknown or incomplete", i);
			rc = DURA_CONFIG;
		} else if (strcmp(options[i].key, "url") == 0) {
			rc = check_url(options[i].value, err);
		} else {
			rc = apply(&o, options[i].key, options[i].value, err);
		}
	}
	dura_pg_options_free(&o);
	if (rc == DURA_OK)
		*bad = n;
	return rc;
}

void dura_pg_options_free(struct dura_pg_options *o)
{
	free(o->url);
	free(o->application_name);
	o->url = NULL;
	o->application_name = NULL;
}
