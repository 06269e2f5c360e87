/*
 * Reports: Markdown tables on stdout, JSON file (field names of DESIGN.md
 * section 8 are an interface).
 */
#ifndef DURA_REPORT_H
#define DURA_REPORT_H

#include <stdio.h>

#include "driver.h"
#include "scenario.h"

struct dura_report_run {
	const char *provider;      /* [provider NAME] */
	const char *plugin;        /* plugin name from its ops */
	unsigned orch_workers;
	unsigned activity_workers;
	unsigned repeat_index;     /* 0-based */
	int ran;                   /* 0: could not run (error holds why) */
	char error[512];
	struct dura_run_result result;
};

/* What the environment block says about one provider. */
struct dura_report_provider {
	const char *name;
	const char *plugin;
	const char *plugin_path;
	const char *description;   /* ops->describe(), or "" */
	const char *url;           /* masked address used, or NULL */
	const char *target_url;    /* masked real address behind the proxy, or NULL */
	double rtt_ms;             /* median measured round trip, < 0 unknown */
	double emulated_rtt_ms;    /* configured emulate_rtt, 0 none */
};

struct dura_report {
	const struct dura_scenario *scenario;
	const char *version;       /* dura_version_string() */
	const char *commit;
	int cpus;
	const char *sqlite_version;
	const char *hostname;
	long long started_at;      /* wall clock, seconds since epoch */
	struct dura_report_run *runs;
	size_t n_runs;
	struct dura_report_provider *providers;
	size_t n_providers;
};

/* Per-run table, one ratio table per [compare] (subject / baseline, repeats
 * averaged, per config), then the environment block. */
void dura_report_markdown(FILE *f, const struct dura_report *r);

/* Writes the JSON document; -1 with err on I/O failure. */
int dura_report_json(const struct dura_report *r, const char *path,
                     char *err, size_t errlen);

#endif
