/* Options the SQLite provider accepts, and their parsing. */

#include "sqlite_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct dura_option_spec dura_sqlite_option_specs[] = {
	{ "database", ":memory:",
	  "':memory:' for a private in-memory database, or a file path.  A file "
	  "is created if missing; an existing file is reused only if it holds "
	  "nothing but durabench tables, which are dropped and recreated "
	  "(close with drop removes the file and its -wal/-shm)", 0 },
	{ "synchronous", "NORMAL",
	  "file databases: PRAGMA synchronous, one of OFF, NORMAL, FULL, EXTRA "
	  "(the journal is always WAL)", 0 },
	{ "busy_timeout", "5000",
	  "milliseconds to wait for a file locked by another process before an "
	  "operation returns RETRY (suffix ms or s allowed)", 0 },
	{ "shared", "false",
	  "file databases: let worker processes on this machine attach to the "
	  "store (scale-out: locking_mode NORMAL instead of EXCLUSIVE, and long "
	  "polls look at the file every 10 ms for other processes' work)", 0 },
	{ "max_size", "0",
	  "bound the database to this many bytes (suffix KiB, MiB or GiB; 0 = "
	  "no bound; PRAGMA max_page_count): a write past it fails.  A file "
	  "store rolls that transaction back; an in-memory store, which keeps "
	  "no rollback journal, then refuses every later call", 0 },
	{ NULL, NULL, NULL, 0 },
};

static const char *const synchronous_values[] = {
	"OFF", "NORMAL", "FULL", "EXTRA", NULL,
};

/* Parses "N", "Nms" or "Ns" into milliseconds (at most one day). */
static int parse_ms(const char *v, uint32_t *out)
{
	char *end;
	if (!v || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno)
		return -1;
	if (*end == 's' && end[1] == '\0')
		n *= 1000;
	else if (!(*end == '\0' || strcmp(end, "ms") == 0))
		return -1;
	if (n > 86400000ull)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

/* Parses "N", "NKiB", "NMiB" or "NGiB" into bytes (at most 1 TiB). */
static int parse_bytes(const char *v, uint64_t *out)
{
	static const struct { const char *suffix; unsigned shift; } units[] = {
		{ "", 0 }, { "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 },
	};
	char *end;
	if (!v || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || n > (1ull << 40))
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(end, units[i].suffix) == 0) {
			if (n > (1ull << (40 - units[i].shift)))
				return -1;
			*out = (uint64_t)n << units[i].shift;
			return 0;
		}
	return -1;
}

/* Checks one value and stores it in cfg; DURA_CONFIG names key, value and
 * what is accepted.  The one place each value is parsed (open() and
 * check_options both come here). */
static dura_rc apply(struct dura_sqlite_config *cfg, const char *key, const char *value,
                     struct dura_err *err)
{
	if (strcmp(key, "database") == 0) {
		if (*value == '\0') {
			dura_sqlite_err(err, "sqlite: option database is empty "
			                "(use ':memory:' or a file path)");
			return DURA_CONFIG;
		}
		char *db = strdup(value);
		if (!db) {
			dura_sqlite_err(err, "sqlite: out of memory");
			return DURA_CONFIG;
		}
		free(cfg->database);
		cfg->database = db;
		cfg->in_memory = strcmp(db, ":memory:") == 0;
	} else if (strcmp(key, "synchronous") == 0) {
		cfg->synchronous = NULL;
		for (size_t i = 0; synchronous_values[i]; i++)
			if (strcasecmp(value, synchronous_values[i]) == 0)
				cfg->synchronous = synchronous_values[i];
		if (!cfg->synchronous) {
			dura_sqlite_err(err, "sqlite: option synchronous = '%.80s' is not one of "
			                "OFF, NORMAL, FULL, EXTRA", value);
			return DURA_CONFIG;
		}
	} else if (strcmp(key, "busy_timeout") == 0) {
		if (parse_ms(value, &cfg->busy_timeout_ms) != 0) {
			dura_sqlite_err(err, "sqlite: option busy_timeout = '%.80s' is not a "
			                "duration in milliseconds (e.g. 5000, 5000ms, 5s; "
			                "at most one day)", value);
			return DURA_CONFIG;
		}
	} else if (strcmp(key, "max_size") == 0) {
		if (parse_bytes(value, &cfg->max_size) != 0) {
			dura_sqlite_err(err, "sqlite: option max_size = '%.80s' is not a size in "
			                "bytes (e.g. 0, 65536, 64MiB, 2GiB; at most 1 TiB)", value);
			return DURA_CONFIG;
		}
	} else if (strcmp(key, "shared") == 0) {
		if (strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0 ||
		    strcasecmp(value, "yes") == 0) {
			cfg->shared = 1;
		} else if (strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0 ||
		           strcasecmp(value, "no") == 0) {
			cfg->shared = 0;
		} else {
			dura_sqlite_err(err, "sqlite: option shared = '%.80s' is not a boolean "
			                "(true/false)", value);
			return DURA_CONFIG;
		}
	}
	return DURA_OK;
}

/* What no single value says: a shared in-memory database. */
static dura_rc check_combination(const struct dura_sqlite_config *cfg, struct dura_err *err)
{
	if (cfg->in_memory && cfg->shared) {
		dura_sqlite_err(err, "sqlite: shared = true needs a file database: ':memory:' "
		                "cannot be shared between processes");
		return DURA_CONFIG;
	}
	return DURA_OK;
}

/* Keys known, each given once; *bad = index of the first offender. */
static dura_rc check_keys(const struct dura_option *options, size_t n, size_t *bad,
                          struct dura_err *err)
{
	if (n && !options) {
		dura_sqlite_err(err, "sqlite: option array is NULL");
		return DURA_CONFIG;
	}
	for (size_t i = 0; i < n; i++) {
		const char *key = options[i].key;
		const struct dura_option_spec *sp = dura_sqlite_option_specs;
		*bad = i;
		if (!key || !options[i].value) {
			dura_sqlite_err(err, "sqlite: option %zu has no key or no value", i);
			return DURA_CONFIG;
		}
		while (sp->name && strcmp(sp->name, key) != 0)
			sp++;
		if (!sp->name) {
			dura_sqlite_err(err, "sqlite: unknown option '%s' (accepted: "
			                "database, synchronous, busy_timeout, shared, max_size)", key);
			return DURA_CONFIG;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(options[j].key, key) == 0) {
				dura_sqlite_err(err, "sqlite: option '%s' given twice", key);
				return DURA_CONFIG;
			}
		}
	}
	return DURA_OK;
}

dura_rc dura_sqlite_config_parse(const struct dura_option *options, size_t n,
                                 struct dura_sqlite_config *cfg,
                                 struct dura_err *err)
{
	memset(cfg, 0, sizeof *cfg);
	size_t bad;
	dura_rc rc = check_keys(options, n, &bad, err);
	/* defaults first, then the given values, through the same parser */
	for (const struct dura_option_spec *sp = dura_sqlite_option_specs;
	     rc == DURA_OK && sp->name; sp++)
		rc = apply(cfg, sp->name, sp->default_value, err);
	for (size_t i = 0; rc == DURA_OK && i < n; i++)
		rc = apply(cfg, options[i].key, options[i].value, err);
	if (rc == DURA_OK)
		rc = check_combination(cfg, err);
	if (rc != DURA_OK)
		dura_sqlite_config_free(cfg);
	return rc;
}

dura_rc dura_sqlite_check_options(const struct dura_option *options, size_t n, size_t *bad,
                                  struct dura_err *err)
{
	*bad = n;
	dura_rc rc = check_keys(options, n, bad, err);
	struct dura_sqlite_config cfg;
	memset(&cfg, 0, sizeof cfg);
	for (size_t i = 0; rc == DURA_OK && i < n; i++) {
		*bad = i;
		rc = apply(&cfg, options[i].key, options[i].value, err);
	}
	if (rc == DURA_OK) {
		*bad = n;
		rc = check_combination(&cfg, err);
	}
	dura_sqlite_config_free(&cfg);
	return rc;
}

void dura_sqlite_config_free(struct dura_sqlite_config *cfg)
{
	free(cfg->database);
	cfg->database = NULL;
}
