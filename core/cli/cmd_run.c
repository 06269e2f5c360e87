/*
 * `durabench run FILE` and `durabench check FILE`: the glue that turns a
 * scenario file into runs and reports.
 *
 * Order of work, chosen so that configuration errors surface before any
 * measurement starts and ratios stay honest:
 *   1. parse the file, apply command-line overrides, select providers;
 *   2. load every plugin and check every option (exit 2 on any problem);
 *   3. resolve core services (url = auto server, delay proxies) once;
 *   4. for each repeat, for each config, for each provider: a fresh store,
 *      one driver run, close(drop).  Providers are interleaved per config so
 *      slow drift of the machine affects subject and baseline alike;
 *   5. print tables (and JSON); exit 1 if any run lost or failed anything.
 *
 * Ctrl-C (SIGINT) or SIGTERM during step 4 does not throw the measurements
 * away: the run in progress stops launching, drains and verifies, no later
 * run starts, the reports cover the runs that happened (the cut-short one
 * marked "interrupted") and the usual cleanup runs; exit status 130.  A
 * second signal exits at once (the url = auto server's guardian process
 * still removes the server).
 */
#include "config.h"

#include "commands.h"
#include "run_scaleout.h"
#include "section_options.h"
#include "dura_commit.h"
#include "driver/driver.h"
#include "driver/progress.h"
#include "services/address_resolve.h"
#include "loader/plugin_loader.h"
#include "report/report.h"
#include "report/report_faults.h"
#include "run_faults.h"
#include "run_outputs.h"
#include "run_prefill.h"
#include "scenario/scenario.h"
#include "base/mask.h"
#include "base/units.h"
#include "base/util.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct run_args {
	const char *file;
	const char *json_path;
	const char *timeline_csv_path; /* --timeline-csv */
	const char *faults_csv_path;   /* --faults-csv */
	struct dura_report_extras extras; /* --csv, --svg, --track, --baseline gate */
	const char *plugin_dir;
	const char *database_url;
	const char *duration;
	const char *warmup;
	const char *configs;
	const char *repeat;
	const char *activity_batch;
	const char *orch_batch;
	double min_orch_per_sec;  /* --min-orch-per-sec gate, 0 = none */
	const char **only;        /* --provider NAME (may repeat) */
	size_t n_only;
	const char *progress_every; /* --progress D: a plain line every D */
	int quiet;
	int no_progress;
	int check_only;
	const char *processes;    /* --processes N: overrides every provider's */
	int external_workers;     /* --external-workers: workers join from
	                             other machines (durabench worker --join) */
	const char *join_wait;    /* --join-wait D: how long to wait for them */
	uint64_t join_wait_ms;
};

/* Everything known about one selected provider for the whole command. */
struct provider_slot {
	const struct dura_provider_def *def;
	struct dura_plugin plugin;
	struct dura_prepared prepared;
	int prepared_ok;
	char description[256];
	double rtt_ms;
	struct dura_fault_caps fault_caps; /* what its faults can act on */
	/* runtime threads were abandoned inside this plugin (stop_timeout):
	 * its code stays mapped (never unloaded) until the process ends */
	int in_use;
};

/* ---- interruption (SIGINT, SIGTERM) ----
 *
 * A signal handler can only report through a global: these two are the
 * only mutable globals of the command, written before the handler is
 * installed (notice_newline) or by the handler alone (interrupt_count),
 * and read through dura_run_params.stop by the driver. */
static volatile sig_atomic_t interrupt_count;
static volatile sig_atomic_t notice_newline; /* a progress line may be half drawn */
/* The store of the run in progress, for the last words of a forced quit
 * (which leaves it behind): written by the main thread into the slot the
 * handler does not read, then published by flipping store_slot. */
static char store_note[2][600];
static volatile sig_atomic_t store_slot;

static void note_current_store(const char *label, const char *store)
{
	int next = !store_slot;
	store_note[next][0] = '\0';
	if (store && *store) {
		/* the handler writes to fd 2 directly, past the masking stream */
		char *shown = dura_text_mask(store);
		snprintf(store_note[next], sizeof store_note[next], "; left behind by %.200s: %.255s",
		         label, shown);
		free(shown);
	}
	store_slot = next;
}

static void say(const char *s, size_t n)
{
	/* write(2) is async-signal-safe; a notice that cannot be written is
	 * not worth failing over */
	ssize_t w = write(STDERR_FILENO, s, n);
	(void)w;
}

static void on_interrupt(int sig)
{
	(void)sig;
	int saved_errno = errno;
	if (interrupt_count) {
		static const char bye[] = "\ndurabench: interrupted again, quitting now";
		say(bye, sizeof bye - 1);
		const char *left = store_note[store_slot];
		say(left, strlen(left)); /* strlen is async-signal-safe */
		say("\n", 1);
		_exit(DURA_EXIT_INTERRUPTED); /* no cleanup: the guardian stops the server */
	}
	interrupt_count = 1;
	static const char notice[] =
		"durabench: interrupted \xe2\x80\x94 finishing the current run, "
		"Ctrl-C again to quit now\n";
	if (notice_newline)
		say("\n", 1);
	say(notice, sizeof notice - 1);
	errno = saved_errno;
}

struct interrupt_handlers {
	struct sigaction old_int, old_term;
};

/* From here on, SIGINT and SIGTERM set interrupt_count instead of killing
 * the process.  SA_RESTART: the signal must not make a provider's read or
 * write fail with EINTR in the middle of a measured run.  A SIGINT ignored
 * on entry stays ignored: a shell starts background commands that way so
 * that Ctrl-C meant for the foreground does not reach them. */
static void interrupts_catch(struct interrupt_handlers *h, int progress_line)
{
	interrupt_count = 0;
	notice_newline = progress_line;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_interrupt;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT); /* one handler at a time */
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaction(SIGINT, NULL, &h->old_int);
	if ((h->old_int.sa_flags & SA_SIGINFO) || h->old_int.sa_handler != SIG_IGN)
		sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, &h->old_term);
}

static void interrupts_restore(const struct interrupt_handlers *h)
{
	sigaction(SIGINT, &h->old_int, NULL);
	sigaction(SIGTERM, &h->old_term, NULL);
}

static void run_usage(FILE *f, int check)
{
	if (check) {
		fprintf(f,
		        "usage: durabench check FILE [--plugin-dir DIR]\n"
		        "Parses FILE, loads every plugin it names and checks every option,\n"
		        "without starting servers or running anything.  Exit 0 when valid, 2 otherwise.\n");
		return;
	}
	fprintf(f,
	        "usage: durabench run FILE [options]\n"
	        "Runs the scenario of FILE on each of its providers under each config and\n"
	        "prints per-run tables, ratio tables for each [compare] and the environment.\n\n"
	        "  --duration D        override [run] duration (e.g. 5s)\n"
	        "  --warmup D          override [run] warmup\n"
	        "  --configs LIST      override [run] configs (e.g. 1:1,2:2)\n"
	        "  --repeat N          override [run] repeat\n"
	        "  --activity-batch N  override [run] activity_batch\n"
	        "  --orch-batch N      override [run] orch_batch\n"
	        "  --provider NAME     run only this provider (may repeat)\n"
	        "  --database-url URL  use URL for every networked provider (e.g. PostgreSQL)\n"
	        "  --plugin-dir DIR    look for plugins in DIR first\n"
	        "  --json FILE         also write the results as JSON (\"-\": stdout; the\n"
	        "                      tables then go to stderr, likewise for --csv/--svg/--html -)\n"
	        "  --csv FILE          also write one CSV row per run\n"
	        "  --svg FILE          also write an SVG bar chart of Orch/s, and a timeline\n"
	        "                      chart per config (orch/s and p99 over time, faults shaded)\n"
	        "  --timeline-csv FILE also write one CSV row per run and interval\n"
	        "  --faults-csv FILE   also write one CSV row per run and fault\n"
	        "  --html FILE         also write one self-contained HTML page (tables, chart,\n"
	        "                      environment; nothing fetched from the network)\n"
	        "  --track FILE        append a dated entry to a JSON Lines results history\n"
	        "  --baseline FILE     compare with a --json report or --track history (its\n"
	        "                      last valid entry); needs --max-drop\n"
	        "  --max-drop P        fail (exit 1) if a run's orch/s is more than P%% below\n"
	        "                      the baseline's (\"20\" or \"20%%\"), unless the drop is\n"
	        "                      inside the noise (both sides repeated, 95 %% interval\n"
	        "                      of the ratio includes 1)\n"
	        "  --max-latency-rise P  with --baseline, also fail if a run's p99 latency is\n"
	        "                      more than P%% above the baseline's\n"
	        "  --min-orch-per-sec R  fail (exit 1) if any run's throughput is below R\n"
	        "  --processes N       run the dispatchers in N worker processes (0: in this\n"
	        "                      process); overrides [run] and [provider] processes\n"
	        "  --external-workers  start no workers: print the command that joins the\n"
	        "                      run from another machine and wait for one\n"
	        "  --join-wait D       with --external-workers: give up after D (default 5m)\n"
	        "  --quiet             no progress display or informational messages\n"
	        "  --no-progress       no live progress display\n"
	        "  --progress D        a plain progress line every D (e.g. 5s) on stderr,\n"
	        "                      terminal or not (for logs and CI)\n"
	        "  --help              this text\n\n"
	        "Ctrl-C (or SIGTERM) finishes the current run early (no new instances,\n"
	        "in-flight ones drained and verified), starts no other and reports what\n"
	        "ran, that run marked interrupted; a second Ctrl-C quits at once.\n\n"
	        "Exit status: 0 all runs completed every instance and verified, 1 a run\n"
	        "lost, failed or mis-verified instances or regressed against --baseline,\n"
	        "2 bad usage or configuration (including an unusable baseline),\n"
	        "130 interrupted.\n"
	        "See docs/reporting.md for every report field, the history and the gate.\n");
}

static int is_stdout(const char *path)
{
	return path && strcmp(path, "-") == 0;
}

/* How many machine-readable outputs go to stdout: with one, the Markdown
 * tables go to stderr so stdout stays parseable (jq, python -m json.tool). */
static int stdout_writers(const struct run_args *a)
{
	return is_stdout(a->json_path) + is_stdout(a->extras.csv_path) +
	       is_stdout(a->extras.svg_path) + is_stdout(a->extras.html_path);
}

static int parse_run_args(int argc, char **argv, struct run_args *a, int check)
{
	enum { O_DURATION = 256, O_WARMUP, O_CONFIGS, O_REPEAT, O_PROVIDER, O_DBURL,
	       O_PLUGINDIR, O_JSON, O_QUIET, O_NOPROGRESS, O_HELP, O_MINTPUT, O_BATCH,
	       O_CSV, O_SVG, O_TRACK, O_BASELINE, O_MAXDROP, O_MAXLAT, O_PROGRESS,
	       O_TIMELINE_CSV, O_FAULTS_CSV,
	       O_PROCESSES, O_EXTERNAL, O_JOINWAIT, O_HTML, O_ORCH_BATCH };
	static const struct option run_opts[] = {
		{ "duration", required_argument, NULL, O_DURATION },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "configs", required_argument, NULL, O_CONFIGS },
		{ "repeat", required_argument, NULL, O_REPEAT },
		{ "activity-batch", required_argument, NULL, O_BATCH },
		{ "orch-batch", required_argument, NULL, O_ORCH_BATCH },
		{ "provider", required_argument, NULL, O_PROVIDER },
		{ "database-url", required_argument, NULL, O_DBURL },
		{ "plugin-dir", required_argument, NULL, O_PLUGINDIR },
		{ "json", required_argument, NULL, O_JSON },
		{ "csv", required_argument, NULL, O_CSV },
		{ "svg", required_argument, NULL, O_SVG },
		{ "timeline-csv", required_argument, NULL, O_TIMELINE_CSV },
		{ "faults-csv", required_argument, NULL, O_FAULTS_CSV },
		{ "html", required_argument, NULL, O_HTML },
		{ "track", required_argument, NULL, O_TRACK },
		{ "baseline", required_argument, NULL, O_BASELINE },
		{ "max-drop", required_argument, NULL, O_MAXDROP },
		{ "max-latency-rise", required_argument, NULL, O_MAXLAT },
		{ "min-orch-per-sec", required_argument, NULL, O_MINTPUT },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "no-progress", no_argument, NULL, O_NOPROGRESS },
		{ "progress", required_argument, NULL, O_PROGRESS },
		{ "processes", required_argument, NULL, O_PROCESSES },
		{ "external-workers", no_argument, NULL, O_EXTERNAL },
		{ "join-wait", required_argument, NULL, O_JOINWAIT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option check_opts[] = {
		{ "plugin-dir", required_argument, NULL, O_PLUGINDIR },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	memset(a, 0, sizeof *a);
	a->check_only = check;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", check ? check_opts : run_opts, NULL)) != -1) {
		switch (c) {
		case O_DURATION: a->duration = optarg; break;
		case O_WARMUP: a->warmup = optarg; break;
		case O_CONFIGS: a->configs = optarg; break;
		case O_REPEAT: a->repeat = optarg; break;
		case O_BATCH: a->activity_batch = optarg; break;
		case O_ORCH_BATCH: a->orch_batch = optarg; break;
		case O_PROVIDER:
			a->only = dura_xrealloc(a->only, (a->n_only + 1) * sizeof *a->only);
			a->only[a->n_only++] = optarg;
			break;
		case O_DBURL: a->database_url = optarg; break;
		case O_PLUGINDIR: a->plugin_dir = optarg; break;
		case O_JSON: a->json_path = optarg; break;
		case O_CSV: a->extras.csv_path = optarg; break;
		case O_SVG: a->extras.svg_path = optarg; break;
		case O_TIMELINE_CSV: a->timeline_csv_path = optarg; break;
		case O_FAULTS_CSV: a->faults_csv_path = optarg; break;
		case O_HTML: a->extras.html_path = optarg; break;
		case O_TRACK: a->extras.track_path = optarg; break;
		case O_BASELINE: a->extras.baseline_path = optarg; break;
		case O_MAXDROP: a->extras.max_drop = optarg; break;
		case O_MAXLAT: a->extras.max_latency_rise = optarg; break;
		case O_MINTPUT: {
			char *end;
			a->min_orch_per_sec = strtod(optarg, &end);
			if (end == optarg || *end || !(a->min_orch_per_sec >= 0)) {
				fprintf(stderr, "durabench run: --min-orch-per-sec: bad number '%s'\n", optarg);
				return -1;
			}
			break;
		}
		case O_QUIET: a->quiet = 1; break;
		case O_NOPROGRESS: a->no_progress = 1; break;
		case O_PROGRESS: a->progress_every = optarg; break;
		case O_PROCESSES: a->processes = optarg; break;
		case O_EXTERNAL: a->external_workers = 1; break;
		case O_JOINWAIT: a->join_wait = optarg; break;
		case O_HELP: run_usage(stdout, check); return 1;
		default:
			fprintf(stderr, "durabench %s: unknown or incomplete option '%s'\n",
			        argv[0], argv[optind - 1]);
			run_usage(stderr, check);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "durabench %s: expected exactly one scenario FILE\n", argv[0]);
		run_usage(stderr, check);
		return -1;
	}
	a->file = argv[optind];
	if (!check && stdout_writers(a) > 1) {
		fprintf(stderr, "durabench run: only one of --json, --csv, --svg, --html may write to "
		                "stdout ('-')\n");
		return -1;
	}
	if (!check && dura_report_extras_check(&a->extras, stderr) != 0)
		return -1;
	return 0;
}

/* Applies --duration, --warmup, --configs, --repeat. */
static int apply_overrides(const struct run_args *a, struct dura_scenario *sc)
{
	char err[256];
	uint64_t v;
	if (a->duration) {
		/* v is set only when the text parses */
		if (dura_parse_duration_ms(a->duration, &v, err, sizeof err) != 0) {
			fprintf(stderr, "durabench run: --duration: %s\n", err);
			return -1;
		}
		if (v == 0) {
			fprintf(stderr, "durabench run: --duration: must be > 0\n");
			return -1;
		}
		sc->duration_ms = v;
	}
	if (a->warmup) {
		if (dura_parse_duration_ms(a->warmup, &v, err, sizeof err) != 0) {
			fprintf(stderr, "durabench run: --warmup: %s\n", err);
			return -1;
		}
		sc->warmup_ms = v;
	}
	if (sc->warmup_ms >= sc->duration_ms) {
		fprintf(stderr, "durabench run: warmup (%llums) must be shorter than duration (%llums)\n",
		        (unsigned long long)sc->warmup_ms, (unsigned long long)sc->duration_ms);
		return -1;
	}
	if (a->configs) {
		struct dura_config_def *cfgs;
		size_t n;
		if (dura_parse_configs(a->configs, &cfgs, &n, err, sizeof err) != 0) {
			fprintf(stderr, "durabench run: --configs: %s\n", err);
			return -1;
		}
		free(sc->configs);
		sc->configs = cfgs;
		sc->n_configs = n;
	}
	if (a->repeat) {
		if (dura_parse_uint(a->repeat, 1, 1000, &v, err, sizeof err) != 0) {
			fprintf(stderr, "durabench run: --repeat: %s\n", err);
			return -1;
		}
		sc->repeat = (unsigned)v;
	}
	if (a->activity_batch) {
		if (dura_parse_uint(a->activity_batch, 1, 64, &v, err, sizeof err) != 0) {
			fprintf(stderr, "durabench run: --activity-batch: %s\n", err);
			return -1;
		}
		sc->activity_batch = (unsigned)v;
	}
	if (a->orch_batch) {
		if (dura_parse_uint(a->orch_batch, 1, 64, &v, err, sizeof err) != 0) {
			fprintf(stderr, "durabench run: --orch-batch: %s\n", err);
			return -1;
		}
		sc->orch_batch = (unsigned)v;
	}
	return 0;
}

static int provider_selected(const struct run_args *a, const char *name)
{
	if (!a->n_only)
		return 1;
	for (size_t i = 0; i < a->n_only; i++)
		if (strcmp(a->only[i], name) == 0)
			return 1;
	return 0;
}

/* The options of a provider as given in the file, with --database-url
 * replacing the address of a networked provider, and emulate_rtt = 0ms
 * added when a fault needs the delay proxy in front of it.  Fills
 * s->fault_caps.  Returns a new array whose strings are borrowed (caller
 * frees the array only). */
static struct dura_option *effective_options(const struct run_args *a,
                                             const struct dura_scenario *sc,
                                             struct provider_slot *s, size_t *n)
{
	struct dura_option *opts = dura_section_options(s->def, s->plugin.ops, a->database_url, n);
	dura_fault_caps_of(s->plugin.ops, opts, *n, &s->fault_caps);
	s->fault_caps.worker_processes = a->external_workers ? 0 : dura_scaleout_processes(sc, s->def);
	if (dura_faults_need_proxy(sc, s->def->name, &s->fault_caps)) {
		opts = dura_xrealloc(opts, (*n + 1) * sizeof *opts);
		opts[*n].key = "emulate_rtt";
		opts[*n].value = "0ms";
		(*n)++;
	}
	return opts;
}

/* Reports an option error at the line of the option it is about (index
 * `at` into the effective options, whose first n_options are the file's
 * in order), else at the section header. */
static void option_error(const struct dura_scenario *sc, const struct provider_slot *s,
                         size_t at, const char *msg)
{
	int line = s->def->line;
	if (at < s->def->n_options && s->def->option_lines)
		line = s->def->option_lines[at];
	fprintf(stderr, "%s:%d: [provider %s]: %s\n", sc->path, line, s->def->name, msg);
}

/* Median of n timed pings, in ms; < 0 if the provider cannot ping. */
static double measure_rtt(const struct dura_provider_ops *ops, dura_store *store)
{
	dura_ping_fn *ping = DURA_OPT_OP(ops, ping);
	if (!ping)
		return -1;
	enum { N = 21 };
	double t[N];
	struct dura_err err;
	if (ping(store, &err) != DURA_OK) /* warm the connection */
		return -1;
	for (int i = 0; i < N; i++) {
		uint64_t t0 = dura_now_ns();
		if (ping(store, &err) != DURA_OK)
			return -1;
		t[i] = (double)(dura_now_ns() - t0) / 1e6;
	}
	for (int i = 1; i < N; i++) /* insertion sort: 21 values */
		for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
			double x = t[j];
			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	return t[N / 2];
}

/* 1 when the plugin accepts an option of that name. */
static int declares_option(const struct provider_slot *s, const char *key)
{
	for (const struct dura_option_spec *o = s->plugin.ops->options; o && o->name; o++)
		if (strcmp(o->name, key) == 0)
			return 1;
	return 0;
}

/* Which store open_store opens. */
enum store_use {
	STORE_PROBE, /* before the runs: reachability, description, distance */
	STORE_RUN    /* the store of one run */
};

/* The options one store is opened with (a shallow copy of the prepared
 * ones: owned array, borrowed strings, name in namebuf).  A probe store is
 * a throwaway: it gets no "schema" (a fresh random one) and keep = false,
 * so it never takes a name a run needs nor stays behind.  With
 * schema = NAME and more than one run in the file, run k (1-based, in run
 * order) gets schema NAME_r<k>: every run needs a store of its own, and
 * keep = true leaves each of them under a predictable name. */
static struct dura_option *store_options(const struct provider_slot *s, enum store_use use,
                                         size_t run, size_t total, char *namebuf,
                                         size_t namelen, size_t *n_out)
{
	const struct dura_prepared *p = &s->prepared;
	struct dura_option *o = dura_xcalloc(p->n_options + 1, sizeof *o);
	size_t n = 0;
	for (size_t i = 0; i < p->n_options; i++) {
		o[n] = p->options[i];
		int schema = strcmp(o[n].key, "schema") == 0 && o[n].value && o[n].value[0];
		if (use == STORE_PROBE && schema)
			continue;
		if (use == STORE_PROBE && strcmp(o[n].key, "keep") == 0)
			o[n].value = "false";
		if (use == STORE_RUN && schema && total > 1) {
			snprintf(namebuf, namelen, "%s_r%zu", o[n].value, run + 1);
			o[n].value = namebuf;
		}
		n++;
	}
	*n_out = n;
	return o;
}

static int open_store(const struct provider_slot *s, enum store_use use, size_t run,
                      size_t total, dura_store **store, char *err, size_t errlen)
{
	struct dura_err perr = { .msg = "" };
	char name[256];
	size_t n;
	struct dura_option *opts = store_options(s, use, run, total, name, sizeof name, &n);
	dura_rc rc = s->plugin.ops->open(opts, n, store, &perr);
	free(opts);
	if (rc != DURA_OK) {
		dura_errbuf(err, errlen, "cannot open provider '%s' (%s%s%s): %s", s->def->name,
		            s->plugin.ops->name, s->prepared.display_url ? ", " : "",
		            s->prepared.display_url ? s->prepared.display_url : "", perr.msg);
		return -1;
	}
	return 0;
}

static void close_store(const struct provider_slot *s, dura_store *store, int quiet)
{
	struct dura_err perr = { .msg = "" };
	if (s->plugin.ops->close(store, 1, &perr) != DURA_OK && !quiet)
		fprintf(stderr, "durabench: warning: closing provider '%s': %s\n", s->def->name,
		        perr.msg);
}

/* 1 when the provider was told to keep its store at close (an option
 * "keep" with a true value, as the postgres plugin has). */
static int keeps_store(const struct provider_slot *s)
{
	for (size_t i = 0; i < s->prepared.n_options; i++) {
		const struct dura_option *o = &s->prepared.options[i];
		if (strcmp(o->key, "keep") == 0)
			return strcasecmp(o->value, "true") == 0 || strcmp(o->value, "1") == 0 ||
			       strcasecmp(o->value, "yes") == 0 || strcasecmp(o->value, "on") == 0;
	}
	return 0;
}

/* Loads plugins and checks options (no servers started).  Returns 0 or -1
 * after printing the error. */
static int load_providers(const struct run_args *a, const struct dura_scenario *sc,
                          struct provider_slot *slots, size_t n)
{
	char err[1024];
	for (size_t i = 0; i < n; i++) {
		struct provider_slot *s = &slots[i];
		if (dura_plugin_load(s->def->plugin, a->plugin_dir, &s->plugin, err, sizeof err) != 0) {
			fprintf(stderr, "%s:%d: [provider %s]: %s\n", sc->path, s->def->plugin_line,
			        s->def->name, err);
			return -1;
		}
		if (dura_plugin_newer_minor(&s->plugin, err, sizeof err))
			fprintf(stderr, "%s:%d: [provider %s]: note: %s\n", sc->path,
			        s->def->plugin_line, s->def->name, err);
		if (dura_run_prefill_supported(sc, s->def, s->plugin.ops, err, sizeof err) != 0) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
		size_t nopt;
		struct dura_option *opts = effective_options(a, sc, s, &nopt);
		struct dura_prepared checked;
		size_t at;
		int rc = dura_env_prepare(NULL, s->plugin.ops, opts, nopt, &checked, &at, err,
		                          sizeof err);
		free(opts);
		if (rc != 0) {
			option_error(sc, s, at, err);
			return -1;
		}
		dura_prepared_free(&checked);
	}
	const char **names = dura_xcalloc(n + 1, sizeof *names);
	struct dura_fault_caps *caps = dura_xcalloc(n + 1, sizeof *caps);
	for (size_t i = 0; i < n; i++) {
		names[i] = slots[i].def->name;
		caps[i] = slots[i].fault_caps;
	}
	int rc = dura_faults_check_providers(sc, names, caps, n, err, sizeof err);
	free(names);
	free(caps);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int prepare_providers(const struct run_args *a, const struct dura_scenario *sc,
                             struct dura_env *env, struct provider_slot *slots, size_t n)
{
	char err[1024];
	for (size_t i = 0; i < n; i++) {
		struct provider_slot *s = &slots[i];
		size_t nopt;
		struct dura_option *opts = effective_options(a, sc, s, &nopt);
		size_t at;
		int rc = dura_env_prepare(env, s->plugin.ops, opts, nopt, &s->prepared, &at, err,
		                          sizeof err);
		free(opts);
		if (rc != 0) {
			option_error(sc, s, at, err);
			return -1;
		}
		s->prepared_ok = 1;
		/* One probe store per provider: proves the database is reachable
		 * before anything is measured, and measures distance. */
		dura_store *store;
		if (open_store(s, STORE_PROBE, 0, 0, &store, err, sizeof err) != 0) {
			fprintf(stderr, "durabench run: %s\n", err);
			return -1;
		}
		dura_describe_fn *describe = DURA_OPT_OP(s->plugin.ops, describe);
		if (describe && declares_option(s, "keep")) {
			/* a store that may be kept names itself (a schema): this one
			 * is the probe's, which is dropped; every run's own store is
			 * listed apart */
			char d[sizeof s->description - 32];
			describe(store, d, sizeof d);
			snprintf(s->description, sizeof s->description, "%s (probe store, dropped)", d);
		} else if (describe) {
			describe(store, s->description, sizeof s->description);
		}
		s->rtt_ms = s->prepared.networked ? measure_rtt(s->plugin.ops, store) : -1;
		if (dura_scaleout_probe(s->plugin.ops, store, sc, s->def, a->external_workers, err,
		                        sizeof err) != 0) {
			fprintf(stderr, "%s:%d: %s\n", sc->path, s->def->processes_line
			        ? s->def->processes_line : s->def->line, err);
			close_store(s, store, a->quiet);
			return -1;
		}
		close_store(s, store, a->quiet);
		if (!a->quiet)
			fprintf(stderr, "durabench: provider %s: %s%s%s%s\n", s->def->name,
			        s->description[0] ? s->description : s->plugin.ops->name,
			        s->prepared.display_url ? " at " : "",
			        s->prepared.display_url ? s->prepared.display_url : "",
			        s->prepared.proxied ? " (through the delay proxy)" : "");
	}
	return 0;
}

/* The SQLite version is what a SQLite provider of this run says it links
 * (its description starts "SQLite <version>"): the core itself does not link
 * SQLite.  NULL when no provider is a SQLite one. */
static const char *sqlite_version_of(const struct provider_slot *slots, size_t n, char *buf,
                                     size_t len)
{
	for (size_t i = 0; i < n; i++) {
		const char *d = slots[i].description;
		if (strncmp(d, "SQLite ", 7) != 0)
			continue;
		size_t k = strcspn(d + 7, ", ");
		if (k == 0 || k >= len)
			continue;
		memcpy(buf, d + 7, k);
		buf[k] = '\0';
		return buf;
	}
	return NULL;
}

static int run_is_clean(const struct dura_report_run *r)
{
	const struct dura_run_result *x = &r->result;
	for (size_t k = 0; k < x->n_faults; k++)
		if (!x->faults[k].applied || x->faults[k].error[0] || x->faults[k].lost)
			return 0; /* not the run the scenario asked for, or a loss */
	return r->ran && x->launched > 0 && x->completed == x->launched &&
	       x->abandoned_threads == 0 &&
	       x->verify_failures == 0 && x->verified == x->launched;
}

/* Runs everything and fills report->runs, until *stop is set: the run in
 * progress then finishes early (the driver polls stop) and no other one
 * starts, so report->n_runs counts the runs that started.  Returns the
 * number of runs that were not clean; an interrupted run is neither clean
 * nor unclean (its window was cut short by the user, not by the provider). */
static size_t run_all(const struct run_args *a, const struct dura_scenario *sc,
                      struct provider_slot *slots, size_t n, struct dura_report *report,
                      struct dura_progress *pg, int live, const volatile sig_atomic_t *stop)
{
	size_t total = (size_t)sc->repeat * sc->n_configs * n, k = 0, unclean = 0;
	report->runs = dura_xcalloc(total ? total : 1, sizeof *report->runs);
	for (unsigned rep = 0; rep < sc->repeat && !*stop; rep++) {
		for (size_t c = 0; c < sc->n_configs && !*stop; c++) {
			for (size_t i = 0; i < n && !*stop; i++, k++) {
				struct provider_slot *s = &slots[i];
				struct dura_report_run *r = &report->runs[k];
				r->provider = s->def->name;
				r->plugin = s->plugin.ops->name;
				r->orch_workers = sc->configs[c].orch_workers;
				r->activity_workers = sc->configs[c].activity_workers;
				r->repeat_index = rep;
				report->n_runs = k + 1;

				char label[256], prefix[32];
				unsigned procs = dura_scaleout_processes(sc, s->def);
				r->processes = a->external_workers ? 0 : procs;
				if (procs && !a->external_workers)
					snprintf(label, sizeof label, "%s %ux%u:%u", s->def->name, procs,
					         r->orch_workers, r->activity_workers);
				else
					snprintf(label, sizeof label, "%s %u:%u", s->def->name, r->orch_workers,
					         r->activity_workers);
				snprintf(prefix, sizeof prefix, "r%zu.", k);
				dura_store *store;
				if (open_store(s, STORE_RUN, k, total, &store, r->error,
				               sizeof r->error) != 0) {
					fprintf(stderr, "durabench run: %s\n", r->error);
					unclean++;
					continue;
				}
				struct dura_scaleout_params sp;
				char *worker_options = NULL;
				int scaled = dura_scaleout_plan(sc, s->def, &s->prepared, a->plugin_dir,
				                                a->external_workers, a->join_wait_ms, &sp,
				                                &worker_options, r->error, sizeof r->error);
				sp.quiet = a->quiet || live;
				if (scaled < 0) {
					fprintf(stderr, "durabench run: %s: %s\n", label, r->error);
					close_store(s, store, a->quiet);
					unclean++;
					continue;
				}
				struct dura_run_faults rf;
				dura_run_faults_init(&rf, sc, s->def->name, &s->fault_caps,
				                     s->prepared.local, s->prepared.proxy);
				dura_describe_fn *describe = DURA_OPT_OP(s->plugin.ops, describe);
				if (describe)
					describe(store, r->store, sizeof r->store);
				note_current_store(label, r->store);
				struct dura_run_params p = {
					.orch_workers = r->orch_workers,
					.activity_workers = r->activity_workers,
					.duration_ms = sc->duration_ms,
					.warmup_ms = sc->warmup_ms,
					.drain_timeout_ms = sc->drain_timeout_ms,
					.verify_timeout_ms = sc->verify_timeout_ms,
					.stop_timeout_ms = sc->stop_timeout_ms,
					.workload = &sc->workload,
					.instance_prefix = prefix,
					.activity_batch = sc->activity_batch,
					.orch_batch = sc->orch_batch,
					.progress = pg,
					.interval_ms = sc->interval_ms,
					.faults = &rf.plan,
					.stop = stop,
					.scaleout = scaled ? &sp : NULL,
				};
				if (dura_run_prefill(sc, s->def, s->plugin.ops, store, label, r, a->quiet) != 0) {
					fprintf(stderr, "durabench run: %s\n", r->error);
					free(worker_options);
					close_store(s, store, a->quiet);
					dura_run_faults_free(&rf);
					unclean++;
					continue;
				}
				if (!a->quiet && !live)
					fprintf(stderr, "durabench: running %s (%zu/%zu)\n", label, k + 1, total);
				dura_progress_begin_run(pg, k, label, (double)sc->duration_ms / 1e3);
				if (dura_driver_run(s->plugin.ops, store, &p, &r->result, r->error,
				                    sizeof r->error) == 0)
					r->ran = 1;
				dura_progress_end_run(pg);
				dura_run_prefill_verify(sc, s->def, s->plugin.ops, store, r);
				if (!r->ran)
					fprintf(stderr, "durabench run: %s: %s\n", label, r->error);
				free(worker_options);
				if (r->ran && r->result.abandoned_threads) {
					/* threads are still inside the plugin: closing the
					 * store or unloading the plugin under them could
					 * crash; the process exit ends them */
					s->in_use = 1;
					fprintf(stderr, "durabench run: %s: %u runtime thread(s) still in a "
					        "provider call %.0f s after the drain (stop_timeout): "
					        "abandoned, the store is left open\n", label,
					        r->result.abandoned_threads, (double)sc->stop_timeout_ms / 1e3);
				} else
					close_store(s, store, a->quiet);
				dura_run_faults_free(&rf);
				for (size_t q = 0; r->ran && q < r->result.n_faults; q++)
					if (r->result.faults[q].error[0])
						fprintf(stderr, "durabench run: %s: fault %s: %s\n", label,
						        r->result.faults[q].name, r->result.faults[q].error);
				note_current_store(label, NULL);
				if (keeps_store(s) && r->store[0])
					fprintf(stderr, "durabench: %s: store kept (keep = true): %s\n", label,
					        r->store);
				if (r->ran && r->result.interrupted) {
					/* verification still ran over what completed: a loss
					 * is a loss, whatever the window */
					if (r->result.verify_failures)
						fprintf(stderr, "durabench run: %s: verification failed: %s\n",
						        label, r->result.verify_error);
				} else if (r->ran && r->result.orch_per_sec < a->min_orch_per_sec) {
					fprintf(stderr, "durabench run: %s: %.2f orch/s is below --min-orch-per-sec %.2f\n",
					        label, r->result.orch_per_sec, a->min_orch_per_sec);
					unclean++;
				} else if (!run_is_clean(r)) {
					unclean++;
					if (r->ran && r->result.verify_failures)
						fprintf(stderr, "durabench run: %s: verification failed: %s\n",
						        label, r->result.verify_error);
				}
			}
		}
	}
	return unclean;
}

static int run_or_check(int argc, char **argv, int check)
{
	struct run_args a;
	int prc = parse_run_args(argc, argv, &a, check);
	if (prc != 0) {
		free(a.only);
		return prc > 0 ? DURA_EXIT_OK : DURA_EXIT_USAGE;
	}
	int exit_code = DURA_EXIT_USAGE;
	struct dura_scenario sc;
	struct dura_env *env = NULL;
	struct provider_slot *slots = NULL;
	size_t n = 0;
	struct dura_report report;
	memset(&report, 0, sizeof report);
	char err[1024];
	struct dura_progress *pg = NULL;
	uint64_t progress_ms = 0;
	struct interrupt_handlers handlers;
	int catching = 0; /* handlers installed: restore them before returning */

	if (dura_scenario_load(a.file, &sc, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out_scenario;
	}
	if (!check && apply_overrides(&a, &sc) != 0)
		goto out_scenario;
	if (a.progress_every) {
		int bad = dura_parse_duration_ms(a.progress_every, &progress_ms, err, sizeof err);
		if (bad || progress_ms == 0) {
			fprintf(stderr, "durabench run: --progress: %s\n", bad ? err : "must be > 0");
			goto out_scenario;
		}
	}
	if (!check && dura_scenario_check_faults(&sc, err, sizeof err) != 0) {
		fprintf(stderr, "%s (with --duration %s)\n", err, a.duration ? a.duration : "");
		goto out_scenario;
	}
	for (size_t i = 0; i < a.n_only; i++) {
		int found = 0;
		for (size_t j = 0; j < sc.n_providers; j++)
			found |= strcmp(sc.providers[j].name, a.only[i]) == 0;
		if (!found) {
			fprintf(stderr, "durabench run: --provider %s: no [provider %s] in %s\n",
			        a.only[i], a.only[i], sc.path);
			goto out_scenario;
		}
	}
	slots = dura_xcalloc(sc.n_providers, sizeof *slots);
	for (size_t j = 0; j < sc.n_providers; j++)
		if (provider_selected(&a, sc.providers[j].name))
			slots[n++].def = &sc.providers[j];
	if (!check && dura_scaleout_overrides(a.processes, a.external_workers, a.join_wait, &sc, n,
	                                      &a.join_wait_ms) != 0)
		goto out;
	if (load_providers(&a, &sc, slots, n) != 0)
		goto out;
	if (check) {
		printf("%s: ok (%zu providers, %zu configs, %zu comparisons", sc.path,
		       sc.n_providers, sc.n_configs, sc.n_compares);
		if (sc.n_faults)
			printf(", %zu faults", sc.n_faults);
		printf(")\n");
		exit_code = DURA_EXIT_OK;
		goto out;
	}

	env = dura_env_new();
	if (prepare_providers(&a, &sc, env, slots, n) != 0)
		goto out;

	char hostname[256] = "unknown", sqlite_ver[32];
	gethostname(hostname, sizeof hostname - 1);
	report.scenario = &sc;
	report.version = dura_version_string();
	report.commit = DURA_GIT_COMMIT;
	report.cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	report.sqlite_version = sqlite_version_of(slots, n, sqlite_ver, sizeof sqlite_ver);
	report.hostname = hostname;
	report.started_at = dura_wall_time();
	report.providers = dura_xcalloc(n ? n : 1, sizeof *report.providers);
	report.n_providers = n;
	for (size_t i = 0; i < n; i++) {
		struct dura_report_provider *rp = &report.providers[i];
		rp->name = slots[i].def->name;
		rp->plugin = slots[i].plugin.ops->name;
		rp->plugin_path = slots[i].plugin.path;
		rp->description = slots[i].description;
		rp->url = slots[i].prepared.display_url;
		rp->target_url = slots[i].prepared.target_display;
		rp->rtt_ms = slots[i].rtt_ms;
		rp->emulated_rtt_ms = (double)slots[i].prepared.emulate_rtt_us / 1000.0;
	}

	enum dura_progress_mode mode = a.quiet ? DURA_PROGRESS_OFF
	                               : a.progress_every ? DURA_PROGRESS_PERIODIC
	                               : !a.no_progress && isatty(STDERR_FILENO) ? DURA_PROGRESS_LIVE
	                                                                         : DURA_PROGRESS_OFF;
	size_t planned = (size_t)sc.repeat * sc.n_configs * n;
	pg = dura_progress_new(mode, progress_ms, planned);
	interrupts_catch(&handlers, mode == DURA_PROGRESS_LIVE);
	catching = 1;
	size_t unclean = run_all(&a, &sc, slots, n, &report, pg, mode == DURA_PROGRESS_LIVE,
	                         &interrupt_count);
	/* from here on a first signal changes only the exit status: the
	 * reports and the cleanup are what it would otherwise cost */
	int cut_short = interrupt_count != 0;
	fflush(stderr);
	report.interrupted = cut_short;
	report.planned_runs = planned;
	FILE *tables = stdout_writers(&a) ? stderr : stdout;
	dura_report_markdown(tables, &report);
	fflush(tables);
	exit_code = unclean ? DURA_EXIT_FAIL : DURA_EXIT_OK;
	if (a.json_path && dura_report_json(&report, a.json_path, err, sizeof err) != 0) {
		fprintf(stderr, "durabench run: --json %s: %s\n", a.json_path, err);
		exit_code = DURA_EXIT_FAIL;
	}
	struct dura_report_extras extras = a.extras;
	if (cut_short && extras.track_path) {
		/* an entry missing runs, or with a shortened window, would become
		 * the baseline of the next comparison */
		fprintf(stderr, "durabench run: --track %s: not appended, the run was interrupted\n",
		        extras.track_path);
		extras.track_path = NULL;
	}
	int extras_rc = dura_report_extras_write(&report, &extras, tables, stderr);
	const char *fault_files[2] = { a.timeline_csv_path, a.faults_csv_path };
	int (*fault_writers[2])(const struct dura_report *, const char *, char *, size_t) = {
		dura_report_timeline_csv, dura_report_faults_csv,
	};
	for (int w = 0; w < 2; w++) {
		if (fault_files[w] && fault_writers[w](&report, fault_files[w], err, sizeof err) != 0) {
			fprintf(stderr, "durabench run: %s: %s\n", w ? "--faults-csv" : "--timeline-csv",
			        err);
			exit_code = DURA_EXIT_FAIL;
		}
	}
	if (extras_rc > exit_code)
		exit_code = extras_rc;
	if (unclean)
		fprintf(stderr, "durabench run: %zu of %zu runs did not complete and verify every instance\n",
		        unclean, report.n_runs);
	if (cut_short)
		fprintf(stderr, "durabench run: interrupted: %zu of %zu planned runs started, "
		        "reported above\n", report.n_runs, planned);
out:
	for (size_t i = 0; i < n; i++) {
		if (slots[i].prepared_ok)
			dura_prepared_free(&slots[i].prepared);
		if (slots[i].plugin.ops && slots[i].in_use)
			dura_plugin_forget(&slots[i].plugin);
		else if (slots[i].plugin.ops)
			dura_plugin_unload(&slots[i].plugin);
	}
	dura_env_free(env); /* stops the url = auto server and the proxies */
	free(slots);
	for (size_t i = 0; i < report.n_runs; i++)
		dura_run_result_release(&report.runs[i].result);
	free(report.runs);
	free(report.providers);
	dura_progress_free(pg);
	if (catching) {
		if (interrupt_count)
			exit_code = DURA_EXIT_INTERRUPTED;
		interrupts_restore(&handlers);
	}
out_scenario:
	dura_scenario_free(&sc);
	free(a.only);
	return exit_code;
}

int dura_cmd_run(int argc, char **argv)
{
	return run_or_check(argc, argv, 0);
}

int dura_cmd_check(int argc, char **argv)
{
	return run_or_check(argc, argv, 1);
}
