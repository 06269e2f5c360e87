/* `durabench validate`: run the conformance suite on one plugin. */
#include "config.h"

#include "commands.h"
#include "services/address_resolve.h"
#include "loader/plugin_loader.h"
#include "base/units.h"
#include "base/util.h"
#include "validate/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: durabench validate --plugin NAME|PATH [--option key=value]...\n"
	        "                          [--plugin-dir DIR] [--only SUBSTRING] [--timeout SECONDS]\n"
	        "                          [--random SEED [--ops N] [--threads T]]\n"
	        "                          [--in-process] [--list] [--help]\n"
	        "\n"
	        "Runs the provider conformance suite: %zu contract tests that call the\n"
	        "plugin's operations directly, each on a fresh store (open, test,\n"
	        "close with drop).  Prints 'ok N name' or 'not ok N name: reason' per\n"
	        "test (TAP), then 'P passed, F failed, S skipped'.\n"
	        "\n"
	        "  --plugin NAME|PATH   plugin name (looked up in the search path) or .so path\n"
	        "  --option key=value   an option for open() (repeatable); 'url = auto' and\n"
	        "                       emulate_rtt/emulate_jitter/emulate_bandwidth work as\n"
	        "                       in a scenario file\n"
	        "  --plugin-dir DIR     search DIR first\n"
	        "  --only SUBSTRING     run only the tests whose name contains SUBSTRING\n"
	        "                       (repeatable: tests matching any of them)\n"
	        "  --random SEED        run only random_ops: random operations drawn from SEED,\n"
	        "                       from several threads, checked against a reference\n"
	        "                       model after every step; a failure prints the seed and\n"
	        "                       a shortened sequence of steps\n"
	        "  --ops N              steps of a random run (default %u)\n"
	        "  --threads T          threads the steps are dealt to (1..16, default %u)\n"
	        "  --timeout SECONDS    time limit per test (default %u); a test that runs\n"
	        "                       longer fails with 'timed out'\n"
	        "  --in-process         run tests in this process without time limit (for a\n"
	        "                       debugger; a crashing plugin then ends the run)\n"
	        "  --list               list the tests and exit\n"
	        "  --help               this text\n"
	        "\n"
	        "Exit status: 0 all passed, 1 a test failed, 2 usage error or plugin refused.\n",
	        dura_validate_count(), DURA_VRANDOM_DEFAULT_OPS, DURA_VRANDOM_DEFAULT_THREADS,
	        DURA_VALIDATE_DEFAULT_TIMEOUT_S);
}

/* Parsed command line.  Option strings point into argv (not owned). */
struct args {
	const char *plugin;
	const char *plugin_dir;
	const char **only;   /* owned array of argv strings */
	size_t n_only;
	unsigned timeout_s;
	int in_process;
	int random;                     /* --random given */
	struct dura_vrandom_opts rnd;
	int list;
	struct dura_option *options; /* owned array; keys are owned copies */
	size_t n_options;
};

static void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n_options; i++)
		free((char *)a->options[i].key);
	free(a->options);
	free(a->only);
}

/* Returns 0, 1 (--help printed) or -1 (error printed). */
static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof *a);
	a->rnd = (struct dura_vrandom_opts){ 1, DURA_VRANDOM_DEFAULT_OPS, DURA_VRANDOM_DEFAULT_THREADS };
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = NULL;
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(arg, "--list") == 0) {
			a->list = 1;
			continue;
		}
		if (strcmp(arg, "--in-process") == 0) {
			a->in_process = 1;
			continue;
		}
		/* Every other flag takes a value: "--flag value" or "--flag=value". */
		static const char *const valued[] = { "--plugin", "--option", "--plugin-dir", "--only",
		                                      "--timeout", "--random", "--ops", "--threads", NULL };
		size_t k;
		const char *eq = strchr(arg, '=');
		size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
		for (k = 0; valued[k]; k++)
			if (strlen(valued[k]) == name_len && strncmp(arg, valued[k], name_len) == 0)
				break;
		if (!valued[k]) {
			fprintf(stderr, "durabench validate: unknown argument '%s' (see --help)\n", arg);
			return -1;
		}
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			fprintf(stderr, "durabench validate: %s needs a value\n", valued[k]);
			return -1;
		}
		switch (k) {
		case 0: a->plugin = val; break;
		case 1: {
			const char *e = strchr(val, '=');
			if (!e || e == val) {
				fprintf(stderr, "durabench validate: --option '%s': expected key=value\n", val);
				return -1;
			}
			a->options = dura_xrealloc(a->options, (a->n_options + 1) * sizeof *a->options);
			a->options[a->n_options].key = dura_xstrndup(val, (size_t)(e - val));
			a->options[a->n_options].value = e + 1;
			a->n_options++;
			break;
		}
		case 2: a->plugin_dir = val; break;
		case 3:
			a->only = dura_xrealloc(a->only, (a->n_only + 1) * sizeof *a->only);
			a->only[a->n_only++] = val;
			break;
		case 4: {
			uint64_t v;
			char why[256];
			if (dura_parse_uint(val, 1, 3600, &v, why, sizeof why) != 0) {
				fprintf(stderr, "durabench validate: --timeout: %s\n", why);
				return -1;
			}
			a->timeout_s = (unsigned)v;
			break;
		}
		case 5:
		case 6:
		case 7: {
			static const uint64_t max[] = { UINT64_MAX, 1000000, 16 };
			uint64_t v;
			char why[256];
			if (dura_parse_uint(val, k == 5 ? 0 : 1, max[k - 5], &v, why, sizeof why) != 0) {
				fprintf(stderr, "durabench validate: %s: %s\n", valued[k], why);
				return -1;
			}
			if (k == 5) {
				a->random = 1;
				a->rnd.seed = v;
			} else if (k == 6) {
				a->rnd.ops = (size_t)v;
			} else {
				a->rnd.threads = (unsigned)v;
			}
			break;
		}
		}
	}
	return 0;
}

/* Opens and drops one store; 0, or -1 with the plugin's message. */
static int probe_open(const struct dura_provider_ops *ops, const struct dura_prepared *prep,
                      char *why, size_t len)
{
	struct dura_err err;
	memset(&err, 0, sizeof err);
	dura_store *store = NULL;
	dura_rc rc = ops->open(prep->options, prep->n_options, &store, &err);
	if (rc != DURA_OK) {
		dura_errbuf(why, len, "open failed (%s): %.*s", dura_vrc_name(rc),
		            (int)strnlen(err.msg, sizeof err.msg), err.msg);
		return -1;
	}
	memset(&err, 0, sizeof err);
	rc = ops->close(store, 1, &err);
	if (rc != DURA_OK) {
		dura_errbuf(why, len, "close(drop = 1) failed (%s): %.*s", dura_vrc_name(rc),
		            (int)strnlen(err.msg, sizeof err.msg), err.msg);
		return -1;
	}
	return 0;
}

int dura_cmd_validate(int argc, char **argv)
{
	struct args a;
	int pr = parse_args(argc, argv, &a);
	if (pr != 0) {
		args_free(&a);
		return pr > 0 ? DURA_EXIT_OK : DURA_EXIT_USAGE;
	}
	dura_validate_set_random(&a.rnd);
	if (a.random) { /* the random run alone */
		a.only = dura_xrealloc(a.only, sizeof *a.only);
		a.only[0] = "random_ops";
		a.n_only = 1;
	}
	if (a.list) {
		dura_validate_list(stdout);
		args_free(&a);
		return DURA_EXIT_OK;
	}
	if (!a.plugin) {
		fprintf(stderr, "durabench validate: --plugin NAME|PATH is required (see --help)\n");
		args_free(&a);
		return DURA_EXIT_USAGE;
	}
	struct dura_plugin plugin;
	char err[1024];
	if (dura_plugin_load(a.plugin, a.plugin_dir, &plugin, err, sizeof err) != 0) {
		fprintf(stderr, "durabench validate: %s\n", err);
		args_free(&a);
		return DURA_EXIT_USAGE;
	}
	if (dura_plugin_newer_minor(&plugin, err, sizeof err))
		fprintf(stderr, "durabench validate: note: %s\n", err);
	struct dura_env *env = dura_env_new();
	struct dura_prepared prep;
	if (dura_env_prepare(env, plugin.ops, a.options, a.n_options, &prep, NULL, err,
	                     sizeof err) != 0) {
		fprintf(stderr, "durabench validate: %s\n", err);
		dura_env_free(env);
		dura_plugin_unload(&plugin);
		args_free(&a);
		return DURA_EXIT_USAGE;
	}
	printf("# validating plugin '%s' (ABI %u.%u) from %s\n", plugin.ops->name,
	       (unsigned)plugin.ops->abi_major, (unsigned)plugin.ops->abi_minor, plugin.path);
	if (prep.display_url)
		printf("# address: %s%s%s\n", prep.display_url, prep.target_display ? " -> " : "",
		       prep.target_display ? prep.target_display : "");
	for (size_t i = 0; i < prep.n_options; i++) {
		const struct dura_option_spec *spec = NULL;
		for (const struct dura_option_spec *s = plugin.ops->options; s->name; s++)
			if (strcmp(s->name, prep.options[i].key) == 0)
				spec = s;
		/* Addresses are shown masked above; secrets never. */
		if (spec && (spec->flags & (DURA_OPT_URL | DURA_OPT_SECRET)))
			continue;
		printf("# option %s = %s\n", prep.options[i].key, prep.options[i].value);
	}
	fflush(stdout);
	/* A store that cannot be opened at all is a configuration problem
	 * (bad value, unreachable server): say so once, exit 2, instead of
	 * failing every test with the same message. */
	char why[1024];
	if (probe_open(plugin.ops, &prep, why, sizeof why) != 0) {
		fprintf(stderr, "durabench validate: plugin '%s': %s\n", plugin.ops->name, why);
		dura_prepared_free(&prep);
		dura_env_free(env);
		dura_plugin_unload(&plugin);
		args_free(&a);
		return DURA_EXIT_USAGE;
	}
	struct dura_validate_opts vo = {
		.ops = plugin.ops,
		.options = prep.options,
		.n_options = prep.n_options,
		.only = a.only,
		.n_only = a.n_only,
		.timeout_s = a.timeout_s,
		.in_process = a.in_process,
	};
	int failed = dura_validate_run(&vo, stdout);
	int rc = DURA_EXIT_OK;
	if (failed < 0) {
		fprintf(stderr, "durabench validate: no test name contains %s'%s' (see --list)\n",
		        a.n_only > 1 ? "any of the --only strings, e.g. " : "", a.only[0]);
		rc = DURA_EXIT_USAGE;
	} else if (failed > 0) {
		rc = DURA_EXIT_FAIL;
	}
	dura_prepared_free(&prep);
	dura_env_free(env);
	dura_plugin_unload(&plugin);
	args_free(&a);
	return rc;
}
