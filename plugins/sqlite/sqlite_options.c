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

static const char *find_value(const struct dura_option *options, size_t n,
                              const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (options[i].key && strcmp(options[i].key, key) == 0)
			return options[i].value ? options[i].value : "";
	for (const struct dura_option_spec *sp = dura_sqlite_option_specs; sp->name; sp++)
		if (strcmp(sp->name, key) == 0)
			return sp->default_value;
	return "";
}

dura_rc dura_sqlite_config_parse(const struct dura_option *options, size_t n,
                                 struct dura_sqlite_config *cfg,
                                 struct dura_err *err)
{
	memset(cfg, 0, sizeof *cfg);
	if (n && !options) {
		dura_sqlite_err(err, "sqlite: option array is NULL");
		return DURA_CONFIG;
	}
	for (size_t i = 0; i < n; i++) {
		const char *key = options[i].key;
		const struct dura_option_spec *sp = dura_sqlite_option_specs;
		if (!key) {
			dura_sqlite_err(err, "sqlite: option %zu has no key", i);
			return DURA_CONFIG;
		}
		while (sp->name && strcmp(sp->name, key) != 0)
			sp++;
		if (!sp->name) {
			dura_sqlite_err(err, "sqlite: unknown option '%s' (accepted: "
			                "database, synchronous, busy_timeout)", key);
			return DURA_CONFIG;
		}
		for (size_t j = 0; j < i; j++) {
			if (options[j].key && strcmp(options[j].key, key) == 0) {
				dura_sqlite_err(err, "sqlite: option '%s' given twice", key);
				return DURA_CONFIG;
			}
		}
	}

	const char *db = find_value(options, n, "database");
	if (*db == '\0') {
		dura_sqlite_err(err, "sqlite: option database is empty "
		                "(use ':memory:' or a file path)");
		return DURA_CONFIG;
	}
	const char *sync = find_value(options, n, "synchronous");
	for (size_t i = 0; synchronous_values[i]; i++)
		if (strcasecmp(sync, synchronous_values[i]) == 0)
			cfg->synchronous = synchronous_values[i];
	if (!cfg->synchronous) {
		dura_sqlite_err(err, "sqlite: option synchronous = '%s' is not one of "
		                "OFF, NORMAL, FULL, EXTRA", sync);
		return DURA_CONFIG;
	}
	const char *busy = find_value(options, n, "busy_timeout");
	if (parse_ms(busy, &cfg->busy_timeout_ms) != 0) {
		dura_sqlite_err(err, "sqlite: option busy_timeout = '%s' is not a "
		                "duration in milliseconds (e.g. 5000, 5000ms, 5s; "
		                "at most one day)", busy);
		return DURA_CONFIG;
	}
	cfg->in_memory = strcmp(db, ":memory:") == 0;
	cfg->database = strdup(db);
	if (!cfg->database) {
		dura_sqlite_err(err, "sqlite: out of memory");
		return DURA_CONFIG;
	}
	return DURA_OK;
}

void dura_sqlite_config_free(struct dura_sqlite_config *cfg)
{
	free(cfg->database);
	cfg->database = NULL;
}
