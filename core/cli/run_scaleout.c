/*
 * The run command's scale-out settings (see run_scaleout.h).
 */
#include "config.h"

#include "run_scaleout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "base/units.h"
#include "base/util.h"

#define DEFAULT_JOIN_WAIT_MS 300000u

int dura_scaleout_overrides(const char *processes, int external, const char *join_wait,
                            struct dura_scenario *sc, size_t n_selected,
                            uint64_t *join_wait_ms)
{
	char err[256];
	uint64_t v;
	*join_wait_ms = DEFAULT_JOIN_WAIT_MS;
	if (processes) {
		if (dura_parse_uint(processes, 0, DURA_MAX_PROCESSES, &v, err, sizeof err) != 0) {
			fprintf(stderr, "durabench run: --processes: %s\n", err);
			return -1;
		}
		sc->processes = (unsigned)v;
		for (size_t i = 0; i < sc->n_providers; i++)
			sc->providers[i].processes_line = 0;
	}
	if (join_wait) {
		if (!external) {
			fprintf(stderr, "durabench run: --join-wait needs --external-workers\n");
			return -1;
		}
		if (dura_parse_duration_ms(join_wait, &v, err, sizeof err) != 0 || v == 0) {
			fprintf(stderr, "durabench run: --join-wait: %s\n", v == 0 ? "must be > 0" : err);
			return -1;
		}
		*join_wait_ms = v;
	}
	if (external && (n_selected != 1 || sc->n_configs != 1 || sc->repeat != 1)) {
		fprintf(stderr, "durabench run: --external-workers joins workers to one store: "
		        "select one provider, one config and one repeat (--provider NAME "
		        "--configs O:W --repeat 1); this file makes %zu x %zu x %u runs\n",
		        n_selected, sc->n_configs, sc->repeat);
		return -1;
	}
	return 0;
}

unsigned dura_scaleout_processes(const struct dura_scenario *sc,
                                 const struct dura_provider_def *def)
{
	return def->processes_line ? (unsigned)def->processes : sc->processes;
}

int dura_scaleout_plan(const struct dura_scenario *sc, const struct dura_provider_def *def,
                       const struct dura_prepared *prepared, const char *plugin_dir,
                       int external, uint64_t join_wait_ms, struct dura_scaleout_params *sp,
                       char **options_text, char *err, size_t errlen)
{
	*options_text = NULL;
	memset(sp, 0, sizeof *sp);
	unsigned n = external ? 0 : dura_scaleout_processes(sc, def);
	if (!external && n == 0)
		return 0;
	/* "key=value" lines: the environment a local worker reads */
	struct dura_buf b = { 0 };
	for (size_t i = 0; i < prepared->n_options; i++) {
		const struct dura_option *o = &prepared->options[i];
		if (strchr(o->key, '\n') || strchr(o->key, '=') || strchr(o->value, '\n')) {
			dura_errbuf(err, errlen, "option '%s' cannot be handed to worker processes "
			            "(it contains a line break)", o->key);
			dura_buf_free(&b);
			return -1;
		}
		dura_buf_printf(&b, "%s=%s\n", o->key, o->value);
	}
	*options_text = dura_xstrdup(b.data ? (const char *)b.data : "");
	dura_buf_free(&b);
	sp->processes = n;
	sp->external = external;
	sp->join_wait_ms = join_wait_ms;
	sp->scenario = sc;
	sp->build = dura_version_string();
	/* a wrapper (a profiler, a slow start in the tests) may run the
	 * workers; it ends by running this same build (the contract says so) */
	const char *exe = getenv("DURABENCH_WORKER_EXE");
	sp->spawn.exe = exe && *exe ? exe : NULL;
	sp->spawn.file = sc->path;
	sp->spawn.provider = def->name;
	sp->spawn.plugin_dir = plugin_dir;
	sp->spawn.options = *options_text;
	return 1;
}

int dura_scaleout_probe(const struct dura_provider_ops *ops, dura_store *store,
                        const struct dura_scenario *sc, const struct dura_provider_def *def,
                        int external, char *err, size_t errlen)
{
	if (!external && dura_scaleout_processes(sc, def) == 0)
		return 0;
	if (!dura_scaleout_supported(ops)) {
		dura_errbuf(err, errlen, "[provider %s]: plugin '%s' cannot share a store between "
		            "processes (it lacks the ABI 1.3 scale-out operations): use processes = 0",
		            def->name, ops->name);
		return -1;
	}
	char name[512];
	if (DURA_OPT_OP(ops, store_name)(store, name, sizeof name) != DURA_OK) {
		dura_errbuf(err, errlen, "[provider %s]: worker processes need a shared store: %s",
		            def->name, name);
		return -1;
	}
	return 0;
}
