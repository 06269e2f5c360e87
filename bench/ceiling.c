/*
 * The ceiling of one provider: what its own operations allow for the work
 * of one orchestration, with no harness.
 *
 * One thread drives the provider's operations directly, in the mix a
 * 5-activity fan-out needs (the task count is an option): a start message,
 * the first turn (history: started + one "scheduled" event per activity;
 * one work item per activity), each activity fetched and acked with its
 * completion, and the completion turns until the instance is completed.
 * It uses the same operations the runtime uses by default (ack and fetch
 * combined when the plugin has them, one work item at a time) and the same
 * lock durations, so every statement, transaction and commit is the
 * provider's own, but there is no codec, no replay, no dispatcher threads,
 * no driver and no verification: the bodies are fixed 48-byte strings.
 * A durabench run's throughput divided by this figure is the fraction of
 * the provider's ceiling the harness reaches (docs/benchmarks.md).
 *
 * usage: bench/ceiling --plugin NAME|PATH [--option key=value]...
 *                      [--duration SECONDS] [--warmup SECONDS]
 *                      [--in-flight N] [--tasks N] [--orchestrations N]
 *                      [--setup-only]
 * --orchestrations N ends the run once N instances have completed, whatever
 * the duration: a fixed amount of work, for instruction counts that do not
 * depend on how fast a loaded machine runs it (valgrind --tool=callgrind).
 * --setup-only opens a store and closes it without dropping it (with the
 * postgres plugin's keep = true: a schema for pgbench to call).
 * prints one line: key value pairs (orch_per_sec over the wall clock,
 * orch_per_cpu_sec = completed / CPU seconds of this process: what one core
 * of its own allows, the figure to compare with on a shared machine,
 * cpu_ms_per_orch, commits_per_orch, round_trips_per_orch, completed).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <durabench/provider.h>

#include "loader/plugin_loader.h"

#define LOCK_MS 30000u
#define BODY "0123456789abcdef0123456789abcdef0123456789abcdef"
#define MAX_TASKS 64
#define MAX_OPTIONS 16

struct ceiling {
	const struct dura_provider_ops *ops;
	dura_store *store;
	dura_ack_orchestration_item_and_fetch_fn *ack_orch_fetch;
	dura_ack_work_item_and_fetch_fn *ack_work_fetch;
	unsigned tasks;
	uint64_t started, completed;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, dura_rc rc, const struct dura_err *err)
{
	fprintf(stderr, "ceiling: %s: rc %d: %s\n", what, (int)rc, err->msg);
	exit(1);
}

static const struct dura_bytes body = { (const uint8_t *)BODY, sizeof BODY - 1 };

static void start_one(struct ceiling *c)
{
	char id[64];
	snprintf(id, sizeof id, "ceiling-%llu", (unsigned long long)c->started++);
	struct dura_message m = { id, body, 0 };
	struct dura_err err;
	dura_rc rc = c->ops->enqueue_orchestrator(c->store, &m, 1, &err);
	if (rc != DURA_OK)
		die("enqueue_orchestrator", rc, &err);
}

/* The ack of one turn: the first schedules every activity; later ones
 * record the completions and complete the instance after the last. */
static dura_rc ack_turn(struct ceiling *c, const struct dura_orch_item *it,
                        struct dura_orch_item **next)
{
	struct dura_event ev[MAX_TASKS + 1];
	struct dura_message work[MAX_TASKS];
	struct dura_instance_meta meta = { "fanout", DURA_STATUS_RUNNING, { NULL, 0 }, NULL, 1 };
	struct dura_orch_ack ack = { .execution = 1, .history = ev, .meta = &meta };
	if (it->execution == 0) {
		for (unsigned i = 0; i <= c->tasks; i++)
			ev[i] = (struct dura_event){ i + 1, body };
		for (unsigned i = 0; i < c->tasks; i++)
			work[i] = (struct dura_message){ it->instance, body, 0 };
		ack.n_history = c->tasks + 1;
		ack.work_items = work;
		ack.n_work_items = c->tasks;
	} else {
		size_t n = it->n_messages < MAX_TASKS ? it->n_messages : MAX_TASKS;
		for (size_t i = 0; i < n; i++)
			ev[i] = (struct dura_event){ it->n_history + i + 1, body };
		ack.n_history = n;
		if (it->n_history + n >= 2u * c->tasks + 1) {
			meta.status = DURA_STATUS_COMPLETED;
			c->completed++;
		}
	}
	struct dura_err err;
	dura_rc rc;
	if (c->ack_orch_fetch) {
		rc = c->ack_orch_fetch(c->store, it->token, &ack, LOCK_MS, next, &err);
	} else {
		rc = c->ops->ack_orchestration_item(c->store, it->token, &ack, &err);
		if (rc == DURA_OK && c->ops->fetch_orchestration_item(c->store, LOCK_MS, 0, next, &err) ==
		                         DURA_EMPTY)
			*next = NULL;
	}
	if (rc != DURA_OK)
		die("ack_orchestration_item", rc, &err);
	return rc;
}

static void run_turns(struct ceiling *c)
{
	struct dura_orch_item *it = NULL;
	struct dura_err err;
	dura_rc rc = c->ops->fetch_orchestration_item(c->store, LOCK_MS, 0, &it, &err);
	if (rc != DURA_OK && rc != DURA_EMPTY)
		die("fetch_orchestration_item", rc, &err);
	while (it) {
		struct dura_orch_item *next = NULL;
		ack_turn(c, it, &next);
		c->ops->release_orchestration_item(c->store, it);
		it = next;
	}
}

static void run_work(struct ceiling *c)
{
	struct dura_work_item *w = NULL;
	struct dura_err err;
	dura_rc rc = c->ops->fetch_work_item(c->store, LOCK_MS, 0, &w, &err);
	if (rc != DURA_OK && rc != DURA_EMPTY)
		die("fetch_work_item", rc, &err);
	while (w) {
		struct dura_message done = { w->instance, body, 0 };
		struct dura_work_item *next = NULL;
		if (c->ack_work_fetch) {
			rc = c->ack_work_fetch(c->store, w->token, &done, LOCK_MS, &next, &err);
		} else {
			rc = c->ops->ack_work_item(c->store, w->token, &done, &err);
			if (rc == DURA_OK &&
			    c->ops->fetch_work_item(c->store, LOCK_MS, 0, &next, &err) == DURA_EMPTY)
				next = NULL;
		}
		if (rc != DURA_OK)
			die("ack_work_item", rc, &err);
		c->ops->release_work_item(c->store, w);
		w = next;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: ceiling --plugin NAME|PATH [--option key=value]... [--duration S]\n"
	                "               [--warmup S] [--in-flight N] [--tasks N] [--orchestrations N]\n"
	                "               [--setup-only]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *plugin = NULL;
	struct dura_option opts[MAX_OPTIONS];
	char *owned[MAX_OPTIONS];
	size_t n_opts = 0;
	double duration = 5, warmup = 1;
	unsigned in_flight = 64, tasks = 5;
	uint64_t max_done = 0; /* --orchestrations: 0 = until the duration ends */
	int setup_only = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--setup-only") == 0) {
			setup_only = 1;
			continue;
		}
		if (!v)
			usage();
		if (strcmp(a, "--plugin") == 0) {
			plugin = v;
		} else if (strcmp(a, "--option") == 0 && n_opts < MAX_OPTIONS) {
			char *eq = strchr(v, '=');
			if (!eq)
				usage();
			owned[n_opts] = strdup(v); /* freed at exit */
			owned[n_opts][eq - v] = '\0';
			opts[n_opts] = (struct dura_option){ owned[n_opts], owned[n_opts] + (eq - v) + 1 };
			n_opts++;
		} else if (strcmp(a, "--duration") == 0) {
			duration = atof(v);
		} else if (strcmp(a, "--warmup") == 0) {
			warmup = atof(v);
		} else if (strcmp(a, "--in-flight") == 0) {
			in_flight = (unsigned)atoi(v);
		} else if (strcmp(a, "--tasks") == 0) {
			tasks = (unsigned)atoi(v);
		} else if (strcmp(a, "--orchestrations") == 0) {
			max_done = strtoull(v, NULL, 10);
		} else {
			usage();
		}
		i++;
	}
	if (!plugin || duration <= 0 || warmup < 0 || in_flight == 0 || tasks == 0 ||
	    tasks >= MAX_TASKS)
		usage();

	struct dura_plugin p;
	char why[512];
	if (dura_plugin_load(plugin, NULL, &p, why, sizeof why) != 0) {
		fprintf(stderr, "ceiling: %s\n", why);
		return 2;
	}
	struct ceiling c = { .ops = p.ops, .tasks = tasks };
	c.ack_orch_fetch = DURA_OPT_OP(p.ops, ack_orchestration_item_and_fetch);
	c.ack_work_fetch = DURA_OPT_OP(p.ops, ack_work_item_and_fetch);
	struct dura_err err;
	dura_rc rc = p.ops->open(opts, n_opts, &c.store, &err);
	if (rc != DURA_OK)
		die("open", rc, &err);
	if (setup_only) {
		rc = p.ops->close(c.store, 0, &err);
		dura_plugin_unload(&p);
		for (size_t i = 0; i < n_opts; i++)
			free(owned[i]);
		return rc == DURA_OK ? 0 : 1;
	}

	double t0 = now_s(), t_measure = t0 + warmup, t_end = t_measure + duration;
	double cpu0 = 0, t1 = 0;
	uint64_t done0 = 0;
	struct dura_stats st0 = { .struct_size = sizeof st0 }, st1 = { .struct_size = sizeof st1 };
	dura_stats_fn *stats = DURA_OPT_OP(p.ops, stats);
	int measuring = warmup == 0;
	if (measuring) {
		cpu0 = cpu_s();
		if (stats)
			stats(c.store, &st0);
	}
	for (;;) {
		double t = now_s();
		if (!measuring && t >= t_measure) {
			measuring = 1;
			cpu0 = cpu_s();
			done0 = c.completed;
			t_measure = t;
			if (stats)
				stats(c.store, &st0);
		}
		if (t >= t_end || (max_done && c.completed >= max_done)) {
			t1 = t;
			break;
		}
		while (c.started - c.completed < in_flight)
			start_one(&c);
		run_turns(&c);
		run_work(&c);
	}
	double cpu = cpu_s() - cpu0;
	if (stats)
		stats(c.store, &st1);
	uint64_t done = c.completed - done0;
	double secs = t1 - t_measure;
	printf("ceiling %s orch_per_sec %.1f orch_per_cpu_sec %.1f cpu_ms_per_orch %.4f "
	       "commits_per_orch %.2f round_trips_per_orch %.2f completed %llu\n",
	       p.ops->name, secs > 0 ? (double)done / secs : 0.0, cpu > 0 ? (double)done / cpu : 0.0,
	       done ? cpu * 1000.0 / (double)done : 0.0,
	       done && stats ? (double)(st1.commits - st0.commits) / (double)done : 0.0,
	       done && stats ? (double)(st1.round_trips - st0.round_trips) / (double)done : 0.0,
	       (unsigned long long)done);
	p.ops->close(c.store, 1, &err);
	dura_plugin_unload(&p);
	for (size_t i = 0; i < n_opts; i++)
		free(owned[i]);
	return 0;
}
