/*
 * `durabench worker FILE --provider NAME --join STORE`: one worker process
 * of a scale-out run (docs/scale-out.md).  It attaches to the store the
 * driver created, checks the run's contract against its own scenario file
 * and build, runs the run's O:W dispatchers until the driver marks the run
 * done (or SIGTERM), and keeps its counters in a note of the store, which
 * is the only thing it shares with the driver.
 *
 * Exit status: 0 the run ended (or SIGTERM), 1 the worker lost the
 * database during the run, 2 bad usage, a refused contract or a database it
 * could not reach at all.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "section_options.h"
#include "base/util.h"
#include "driver/run_notes.h"
#include "engine/orchestration.h"
#include "loader/plugin_loader.h"
#include "runtime/runtime.h"
#include "scenario/scenario.h"
#include "services/address_resolve.h"
#include "workloads/workload.h"

/* How long a worker keeps working while every note write fails before it
 * decides the database is gone. */
#define LOST_AFTER_MS 5000u
#define NOTE_EVERY_MS 200u

struct worker_args {
	const char *file;
	const char *provider;
	const char *join;
	const char *worker_id;
	const char *plugin_dir;
	const char *database_url;
	int quiet;
};

/* Set by SIGTERM/SIGINT: the one mutable global of the command. */
static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void worker_usage(FILE *f)
{
	fprintf(f,
	        "usage: durabench worker FILE --provider NAME --join STORE [options]\n"
	        "Joins the run whose store is STORE (printed by `durabench run FILE\n"
	        "--external-workers`) and runs its O:W dispatchers until the run ends.\n"
	        "FILE must be the run's scenario file and this durabench the run's build.\n\n"
	        "  --provider NAME     the [provider NAME] section the run uses\n"
	        "  --join STORE        the run's store (a PostgreSQL schema, a SQLite file)\n"
	        "  --database-url URL  the database address, replacing the section's\n"
	        "  --worker-id ID      name in the run's notes (default HOST.PID)\n"
	        "  --plugin-dir DIR    look for plugins in DIR first\n"
	        "  --quiet             no informational messages\n\n"
	        "Exit status: 0 the run ended, 1 the database was lost during the run,\n"
	        "2 bad usage, a refused run or an unreachable database.\n");
}

static int parse_args(int argc, char **argv, struct worker_args *a)
{
	enum { O_PROVIDER = 256, O_JOIN, O_ID, O_PLUGINDIR, O_DBURL, O_QUIET, O_HELP };
	static const struct option opts[] = {
		{ "provider", required_argument, NULL, O_PROVIDER },
		{ "join", required_argument, NULL, O_JOIN },
		{ "worker-id", required_argument, NULL, O_ID },
		{ "plugin-dir", required_argument, NULL, O_PLUGINDIR },
		{ "database-url", required_argument, NULL, O_DBURL },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	memset(a, 0, sizeof *a);
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_PROVIDER: a->provider = optarg; break;
		case O_JOIN: a->join = optarg; break;
		case O_ID: a->worker_id = optarg; break;
		case O_PLUGINDIR: a->plugin_dir = optarg; break;
		case O_DBURL: a->database_url = optarg; break;
		case O_QUIET: a->quiet = 1; break;
		case O_HELP: worker_usage(stdout); return 1;
		default:
			fprintf(stderr, "durabench worker: unknown or incomplete option '%s'\n",
			        argv[optind - 1]);
			worker_usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1 || !a->provider || !a->join || !*a->join) {
		fprintf(stderr, "durabench worker: expected FILE, --provider NAME and --join STORE\n");
		worker_usage(stderr);
		return -1;
	}
	a->file = argv[optind];
	return 0;
}

/* The options a driver on this machine resolved for us ("key=value"
 * lines), read to the end from the pipe DURABENCH_WORKER_OPTIONS_FD names
 * (core/driver/worker_procs.c: never the environment, which would show the
 * password).  Returns the text (caller frees), or NULL with err filled. */
static char *options_from_pipe(const char *fd_text, char *err, size_t errlen)
{
	char *end;
	long fd = strtol(fd_text, &end, 10);
	if (*fd_text == '\0' || *end != '\0' || fd < 0 || fd > 1024) {
		dura_errbuf(err, errlen, "DURABENCH_WORKER_OPTIONS_FD='%.20s' is not a descriptor",
		            fd_text);
		return NULL;
	}
	struct dura_buf b = { 0 };
	char chunk[4096];
	ssize_t got;
	while ((got = read((int)fd, chunk, sizeof chunk)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			dura_errbuf(err, errlen, "cannot read the options from the driver "
			            "(descriptor %ld): %s", fd, strerror(errno));
			dura_buf_free(&b);
			close((int)fd);
			return NULL;
		}
		dura_buf_append(&b, chunk, (size_t)got);
	}
	close((int)fd);
	dura_buf_append(&b, "", 1);
	char *text = dura_xstrdup((const char *)b.data);
	dura_buf_free(&b);
	return text;
}

/* Splits the driver's "key=value" lines in place into an options array
 * (its strings live in text; the caller frees both). */
static struct dura_option *options_from_text(char *text, size_t *n)
{
	size_t cap = 1;
	for (const char *p = text; *p; p++)
		cap += *p == '\n';
	struct dura_option *o = dura_xcalloc(cap, sizeof *o);
	size_t k = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		o[k].key = line;
		o[k].value = eq + 1;
		k++;
	}
	*n = k;
	return o;
}

/* The section's options (with --database-url), resolved like `run` does
 * (a delay proxy on this machine if the section emulates distance); url =
 * auto is refused: it would start a server of our own, not join the run's. */
static int options_from_file(const struct worker_args *a, const struct dura_provider_def *def,
                             const struct dura_provider_ops *ops, struct dura_env *env,
                             struct dura_prepared *out, char *err, size_t errlen)
{
	const char *url_key = dura_url_option(ops);
	size_t n;
	struct dura_option *opts = dura_section_options(def, ops, a->database_url, &n);
	for (size_t i = 0; url_key && i < n; i++) {
		if (strcmp(opts[i].key, url_key) == 0 && strcmp(opts[i].value, "auto") == 0) {
			dura_errbuf(err, errlen, "[provider %s]: %s = auto starts a server on this "
			            "machine instead of joining the run's: give the run's database "
			            "address (--database-url, or ${VAR} in the file)", def->name, url_key);
			free(opts);
			return -1;
		}
	}
	int rc = dura_env_prepare(env, ops, opts, n, out, NULL, err, errlen);
	free(opts);
	return rc;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

struct worker {
	const struct worker_args *a;
	const struct dura_provider_ops *ops;
	dura_store *store;
	struct dura_workload *wl;
	struct dura_runtime *rt;
	char id[128];
};

static void counts_now(struct worker *w, int done, char *buf, size_t len)
{
	struct dura_worker_counts c;
	memset(&c, 0, sizeof c);
	struct dura_runtime_stats rs;
	dura_runtime_get_stats(w->rt, &rs);
	c.activities = dura_workload_activities_run(w->wl);
	c.turns = rs.turns;
	c.infra_errors = rs.infra_errors;
	c.stats.struct_size = sizeof c.stats;
	dura_rc (*stats)(dura_store *, struct dura_stats *) = DURA_OPT_OP(w->ops, stats);
	if (stats)
		stats(w->store, &c.stats);
	c.done = done;
	dura_worker_counts_format(&c, buf, len);
}

/* Until the run is done, SIGTERM, or the database is gone (returns 1). */
static int work_loop(struct worker *w)
{
	char key[256], text[1024], state[64], err[1024];
	snprintf(key, sizeof key, DURA_NOTE_WORKER_PREFIX "%s", w->id);
	uint64_t failing_since = 0;
	while (!stop_requested) {
		counts_now(w, 0, text, sizeof text);
		int ok = dura_note_put(w->ops, w->store, key, text, err, sizeof err) == 0;
		int got = ok ? dura_note_get(w->ops, w->store, DURA_NOTE_STATE, state, sizeof state,
		                             err, sizeof err) : -1;
		if (got == 0 && strcmp(state, DURA_STATE_DONE) == 0)
			return 0;
		if (got < 0) {
			uint64_t now = dura_now_ns();
			if (!failing_since)
				failing_since = now;
			if (now - failing_since > (uint64_t)LOST_AFTER_MS * 1000000u) {
				fprintf(stderr, "durabench worker %s: lost the database (no answer for "
				        "%u s): %s\n", w->id, LOST_AFTER_MS / 1000, err);
				return 1;
			}
		} else {
			failing_since = 0;
		}
		sleep_ms(NOTE_EVERY_MS);
	}
	return 0;
}

/* Attaches, checks the contract and runs.  Returns the exit status. */
static int join_run(const struct worker_args *a, const struct dura_scenario *sc,
                    const struct dura_plugin *plugin, const struct dura_prepared *prep)
{
	const struct dura_provider_ops *ops = plugin->ops;
	char err[1024];
	struct dura_err perr = { .msg = "" };
	dura_store *store = NULL;
	if (DURA_OPT_OP(ops, attach)(prep->options, prep->n_options, a->join, &store, &perr) !=
	    DURA_OK) {
		fprintf(stderr, "durabench worker: cannot join run %s (%s%s%s): %s\n", a->join,
		        ops->name, prep->display_url ? " at " : "",
		        prep->display_url ? prep->display_url : "", perr.msg);
		return DURA_EXIT_USAGE;
	}
	int exit_code = DURA_EXIT_USAGE;
	char run_contract[2048], mine[2048];
	unsigned o = 0, w_ = 0;
	int got = dura_note_get(ops, store, DURA_NOTE_CONTRACT, run_contract, sizeof run_contract,
	                        err, sizeof err);
	if (got != 0) {
		fprintf(stderr, "durabench worker: %s is not a durabench run to join: %s\n", a->join,
		        got > 0 ? "it has no contract note" : err);
		goto out;
	}
	if (dura_contract_make(sc, dura_version_string(), 1, 1, mine, sizeof mine, err,
	                       sizeof err) != 0 ||
	    dura_contract_check(run_contract, mine, &o, &w_, err, sizeof err) != 0) {
		fprintf(stderr, "durabench worker: refusing to join run %s: %s\n", a->join, err);
		goto out;
	}
	struct worker wk = { .a = a, .ops = ops, .store = store };
	if (a->worker_id) {
		snprintf(wk.id, sizeof wk.id, "%s", a->worker_id);
	} else {
		char host[64] = "host";
		gethostname(host, sizeof host - 1);
		snprintf(wk.id, sizeof wk.id, "%s.%ld", host, (long)getpid());
	}
	if (dura_workload_new(&sc->workload, &wk.wl, err, sizeof err) != 0) {
		fprintf(stderr, "durabench worker: %s\n", err);
		goto out;
	}
	struct dura_registry *reg = dura_registry_new();
	dura_workload_register(wk.wl, reg);
	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.orch_workers = o;
	cfg.activity_workers = w_;
	cfg.activity_batch = sc->activity_batch ? sc->activity_batch : 1;
	cfg.orch_batch = sc->orch_batch ? sc->orch_batch : 1;
	if (dura_runtime_start(ops, store, reg, &cfg, NULL, NULL, &wk.rt, err, sizeof err) != 0) {
		fprintf(stderr, "durabench worker: %s\n", err);
	} else {
		if (!a->quiet)
			fprintf(stderr, "durabench worker %s: joined run %s with %u:%u\n", wk.id, a->join,
			        o, w_);
		exit_code = work_loop(&wk) ? DURA_EXIT_FAIL : DURA_EXIT_OK;
		/* The final counters are read while the runtime still exists (the
		 * run is over: its threads have nothing left to count); stopping
		 * frees it. */
		char key[256], text[1024];
		if (exit_code == DURA_EXIT_OK)
			counts_now(&wk, 1, text, sizeof text);
		dura_runtime_stop(wk.rt);
		wk.rt = NULL;
		if (exit_code == DURA_EXIT_OK) {
			snprintf(key, sizeof key, DURA_NOTE_WORKER_PREFIX "%s", wk.id);
			if (dura_note_put(ops, store, key, text, err, sizeof err) != 0)
				fprintf(stderr, "durabench worker %s: final counters lost: %s\n", wk.id, err);
		}
	}
	dura_registry_free(reg);
	dura_workload_free(wk.wl);
out:
	ops->close(store, 0, &perr);
	return exit_code;
}

/* A worker started by a driver on this machine dies with it. */
static int follow_parent(void)
{
	const char *parent = getenv("DURABENCH_WORKER_PARENT");
	if (!parent)
		return 0;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	return getppid() == (pid_t)strtol(parent, NULL, 10) ? 0 : -1;
}

int dura_cmd_worker(int argc, char **argv)
{
	struct worker_args a;
	int prc = parse_args(argc, argv, &a);
	if (prc != 0)
		return prc > 0 ? DURA_EXIT_OK : DURA_EXIT_USAGE;
	if (follow_parent() != 0)
		return DURA_EXIT_FAIL; /* the driver is already gone */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int exit_code = DURA_EXIT_USAGE;
	char err[1024];
	struct dura_scenario sc;
	struct dura_plugin plugin = { 0 };
	struct dura_env *env = NULL;
	struct dura_prepared prep;
	int prepared = 0;
	struct dura_option *env_opts = NULL;
	char *env_text = NULL;
	if (dura_scenario_load(a.file, &sc, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	const struct dura_provider_def *def = NULL;
	for (size_t i = 0; i < sc.n_providers; i++)
		if (strcmp(sc.providers[i].name, a.provider) == 0)
			def = &sc.providers[i];
	if (!def) {
		fprintf(stderr, "durabench worker: --provider %s: no [provider %s] in %s\n", a.provider,
		        a.provider, sc.path);
		goto out;
	}
	if (dura_plugin_load(def->plugin, a.plugin_dir, &plugin, err, sizeof err) != 0) {
		fprintf(stderr, "%s:%d: [provider %s]: %s\n", sc.path, def->plugin_line, def->name, err);
		goto out;
	}
	if (!dura_scaleout_supported(plugin.ops)) {
		fprintf(stderr, "durabench worker: plugin '%s' cannot share a store between "
		        "processes (it lacks the ABI 1.3 scale-out operations)\n", plugin.ops->name);
		goto out;
	}
	const char *from_driver = getenv("DURABENCH_WORKER_OPTIONS_FD");
	if (from_driver) {
		memset(&prep, 0, sizeof prep);
		if (!(env_text = options_from_pipe(from_driver, err, sizeof err))) {
			fprintf(stderr, "durabench worker: %s\n", err);
			goto out;
		}
		env_opts = options_from_text(env_text, &prep.n_options);
		prep.options = env_opts;
	} else {
		env = dura_env_new();
		if (options_from_file(&a, def, plugin.ops, env, &prep, err, sizeof err) != 0) {
			fprintf(stderr, "durabench worker: %s\n", err);
			goto out;
		}
		prepared = 1;
	}
	exit_code = join_run(&a, &sc, &plugin, &prep);
out:
	if (prepared)
		dura_prepared_free(&prep);
	free(env_opts);
	free(env_text);
	dura_env_free(env);
	if (plugin.ops)
		dura_plugin_unload(&plugin);
	dura_scenario_free(&sc);
	return exit_code;
}
