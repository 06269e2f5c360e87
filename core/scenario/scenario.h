/*
 * Scenario files (INI): [run], [workload], [provider NAME]..., [compare NAME]...
 * Parsed by core/ini_reader.c, which counts lines and refuses overlong lines
 * instead of cutting them (Debian's libinih cuts lines at 200 bytes silently
 * and cannot carry a long value at all; see ini_reader.h), so every error
 * names file:line and no value is ever truncated.  The full file reference
 * is docs/scenario-files.md.  [fault NAME] sections are read by
 * scenario_faults.c.
 */
#ifndef DURA_SCENARIO_H
#define DURA_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

#include "workloads/workload.h"

/* The most worker processes one run may start. */
#define DURA_MAX_PROCESSES 64
/* Largest prefill = N (instances written into a store before a run). */
#define DURA_MAX_PREFILL 100000000u

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
	int processes;                 /* processes = N of this section (scale-
	                                  out; only when processes_line != 0) */
	int processes_line;            /* 0: not given, [run] processes applies */
	unsigned prefill;              /* prefill = N of this section (only when
	                                  prefill_line != 0) */
	int prefill_line;              /* 0: not given, [run] prefill applies */
};

struct dura_compare_def {
	char *name;
	char *subject;   /* provider name */
	char *baseline;  /* provider name */
	int line;        /* line of the section header */
	int subject_line;
	int baseline_line;
};

/* What a [fault NAME] section does (docs/faults.md). */
enum dura_fault_action {
	DURA_FAULT_KILL_CONNECTIONS, /* every connection of the run cut */
	DURA_FAULT_RESTART_SERVER,   /* url = auto server: fast stop, start again */
	DURA_FAULT_STOP_SERVER,      /* url = auto server down for `for` */
	DURA_FAULT_PAUSE_SERVER,     /* url = auto server SIGSTOPped for `for` */
	DURA_FAULT_PARTITION,        /* proxy forwards nothing for `for` */
	DURA_FAULT_LATENCY,          /* proxy adds `rtt` for `for` */
	DURA_FAULT_KILL_WORKER,      /* kill -9 of worker process `worker`,
	                                restarted after `for` (optional) */
};

struct dura_fault_def {
	char *name;                  /* section name */
	enum dura_fault_action action;
	uint64_t at_ms;              /* from the start of each run */
	uint64_t for_ms;             /* duration; 0 for instant actions */
	uint64_t rtt_us;             /* latency: added round trip (default 200ms) */
	unsigned worker;             /* kill-worker: which worker process (0) */
	char **providers;            /* explicit list (owned), or NULL = every
	                                provider that can take the action */
	size_t n_providers;
	int line;                    /* section header */
	int action_line, at_line, for_line, rtt_line, worker_line, providers_line; /* 0 = absent */
};

/* [run] activity_batch when the file does not say: activity workers fetch
 * and ack up to this many work items per provider call when the provider
 * has the batch operations (fetch_work_items, ack_work_items_and_fetch);
 * others take one at a time.  Batches cut the calls, commits and round
 * trips per activity (docs/benchmarks.md); 8 covers a 5-activity fan-out
 * with room, and keeps the items a worker holds unstarted small. */
#define DURA_DEFAULT_ACTIVITY_BATCH 8

/* [run] orch_batch when the file does not say: dispatchers fetch and ack up
 * to this many instances per provider call when the provider has the ABI
 * 1.7 operations (fetch_orchestration_items,
 * ack_orchestration_items_and_fetch); others take one at a time.  Chosen
 * by measurement (docs/remote-emulation.md, docs/benchmarks.md). */
#define DURA_DEFAULT_ORCH_BATCH 4

struct dura_scenario {
	char *path;
	/* [run] */
	uint64_t duration_ms;        /* measurement ends (incl. warmup) */
	uint64_t warmup_ms;          /* excluded from throughput */
	uint64_t drain_timeout_ms;   /* max wait for in-flight instances */
	uint64_t verify_timeout_ms;  /* deadline of verification after a run */
	uint64_t stop_timeout_ms;    /* after the drain: how long runtime threads
	                                may stay in a provider call */
	struct dura_config_def *configs;
	size_t n_configs;
	unsigned repeat;
	unsigned activity_batch;     /* work items an activity worker takes per
	                                round trip (1 = one at a time; default
	                                DURA_DEFAULT_ACTIVITY_BATCH) */
	unsigned orch_batch;         /* instances a dispatcher takes per round
	                                trip (1 = one at a time; default
	                                DURA_DEFAULT_ORCH_BATCH) */
	uint64_t interval_ms;        /* timeline interval (default 1s) */
	unsigned processes;          /* worker processes per run (0: the
	                                dispatchers run in the driver process);
	                                a [provider] section may override it */
	unsigned prefill;            /* completed instances written into each
	                                run's store before it (0: none) */
	/* [workload] */
	struct dura_workload_def workload;
	/* [provider ...] / [compare ...] in file order */
	struct dura_provider_def *providers;
	size_t n_providers;
	struct dura_compare_def *compares;
	size_t n_compares;
	/* [fault ...] in file order */
	struct dura_fault_def *faults;
	size_t n_faults;
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

/* Checks every fault against the run's duration and the file's providers
 * (also after command-line overrides changed the duration).  Returns 0, or
 * -1 with err = "FILE:LINE: message". */
int dura_scenario_check_faults(const struct dura_scenario *sc, char *err, size_t errlen);

/* Completed instances prefilled into each run's store for provider p:
 * its own prefill = N, else [run] prefill. */
unsigned dura_scenario_prefill(const struct dura_scenario *sc, const struct dura_provider_def *p);

/* "kill-connections", ... */
const char *dura_fault_action_name(enum dura_fault_action a);
/* 1 if the action lasts `for` (stop, pause, partition, latency). */
int dura_fault_action_has_duration(enum dura_fault_action a);
/* How long fault f lasts: its `for` when the action takes one (kill-worker:
 * the restart after `for`, when given), else 0 (instantaneous). */
uint64_t dura_fault_length_ms(const struct dura_fault_def *f);
/* 1 if fault f covers provider name (explicit list, or no list). */
int dura_fault_lists_provider(const struct dura_fault_def *f, const char *name);

/* "1:1, 2:2,4:4" -> configs (caller frees *out). */
int dura_parse_configs(const char *s, struct dura_config_def **out, size_t *n,
                       char *err, size_t errlen);

/* Expands ${VAR} (and $$ -> $) from the environment; an unset variable is an
 * error naming it.  Caller frees the result. */
char *dura_expand_env(const char *s, char *err, size_t errlen);

#endif
