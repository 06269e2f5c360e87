/*
 * Scenario files (INI): [run], [workload], [provider NAME]..., [compare NAME]...
 * Parsed by core/ini_reader.c, which counts lines and refuses overlong lines
 * instead of cutting them (Debian's libinih cuts lines at 200 bytes silently
 * and cannot carry a long value at all; see ini_reader.h), so every error
 * names file:line and no value is ever truncated.  The full file reference
 * is docs/scenario-files.md.
 */
#ifndef DURA_SCENARIO_H
#define DURA_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

#include "workloads/workload.h"

struct dura_config_def {
	unsigned orch_workers;
	unsigned activity_workers;
};

struct dura_provider_def {
	char *name;                    /* section name: "sqlite-mem" */
	char *plugin;                  /* "sqlite", "postgres" or a path */
	struct dura_option *options;   /* every key but "plugin", ${VAR}
	                                  expanded, in file order (owned) */
	size_t n_options;
	int *option_lines;             /* option_lines[i]: file line of
	                                  options[i] (owned) */
	int line;                      /* line of the section header */
	int plugin_line;               /* line of the plugin key */
};

struct dura_compare_def {
	char *name;
	char *subject;   /* provider name */
	char *baseline;  /* provider name */
	int line;        /* line of the section header */
	int subject_line;
	int baseline_line;
};

struct dura_scenario {
	char *path;
	/* [run] */
	uint64_t duration_ms;        /* measurement ends (incl. warmup) */
	uint64_t warmup_ms;          /* excluded from throughput */
	uint64_t drain_timeout_ms;   /* max wait for in-flight instances */
	uint64_t verify_timeout_ms;  /* deadline of verification after a run */
	struct dura_config_def *configs;
	size_t n_configs;
	unsigned repeat;
	unsigned activity_batch;     /* work items an activity worker takes per
	                                round trip (1 = one at a time) */
	/* [workload] */
	struct dura_workload_def workload;
	/* [provider ...] / [compare ...] in file order */
	struct dura_provider_def *providers;
	size_t n_providers;
	struct dura_compare_def *compares;
	size_t n_compares;
};

/* Parses and checks a file.  On error returns -1 and err holds
 * "FILE:LINE: message" (LINE may be 0 for whole-file problems such as a
 * missing [workload] key with no default).  Defaults for absent keys:
 * duration 10s, warmup 1s, drain_timeout 30s, configs 1:1,2:2,4:4, repeat 1,
 * scenario fanout, max_concurrent 20, tasks_per_instance 5, activity_delay
 * 10ms, payload_bytes 0, timers 1, timer_delay 10ms, children 3,
 * iterations 5.  Free with dura_scenario_free (also on error). */
int dura_scenario_load(const char *path, struct dura_scenario *out,
                       char *err, size_t errlen);
void dura_scenario_free(struct dura_scenario *sc);

/* "1:1, 2:2,4:4" -> configs (caller frees *out). */
int dura_parse_configs(const char *s, struct dura_config_def **out, size_t *n,
                       char *err, size_t errlen);

/* Expands ${VAR} (and $$ -> $) from the environment; an unset variable is an
 * error naming it.  Caller frees the result. */
char *dura_expand_env(const char *s, char *err, size_t errlen);

#endif
