/* Workload objects: scenario lookup and dispatch to the per-scenario tables
 * (see workload.h). */
#include "config.h"

#include "workload.h"

#include <stdlib.h>
#include <string.h>

#include "workload_kinds.h"

struct dura_workload {
	const struct dura_wl_kind *kind;
	struct dura_wl_env env; /* registry user pointer of every function */
};

static const struct dura_wl_kind *const kinds[] = {
	&dura_wl_fanout, &dura_wl_timers, &dura_wl_suborch,
	&dura_wl_continue_as_new, &dura_wl_payload, &dura_wl_mixed,
};

const struct dura_wl_kind *dura_wl_find_kind(const char *scenario)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (scenario && strcmp(kinds[i]->scenario, scenario) == 0)
			return kinds[i];
	return NULL;
}

int dura_workload_check(const struct dura_workload_def *def, char *err, size_t errlen)
{
	const char *name = def->scenario ? def->scenario : "fanout";
	const struct dura_wl_kind *k = dura_wl_find_kind(name);
	if (!k) {
		dura_errbuf(err, errlen,
		            "unknown scenario '%s' (fanout, timers, suborch, continue_as_new, payload, mixed)",
		            name);
		return -1;
	}
	if (k == &dura_wl_mixed) {
		struct dura_wl_env env;
		memset(&env, 0, sizeof env);
		return dura_wl_parse_mix(def->mix, &env, err, errlen);
	}
	return 0;
}

int dura_workload_new(const struct dura_workload_def *def, struct dura_workload **out,
                      char *err, size_t errlen)
{
	*out = NULL;
	if (dura_workload_check(def, err, errlen) != 0)
		return -1;
	struct dura_workload *wl = dura_xcalloc(1, sizeof *wl);
	wl->kind = dura_wl_find_kind(def->scenario ? def->scenario : "fanout");
	wl->env.def = *def;
	/* the strings stay with the caller; nothing reads them after this */
	wl->env.def.scenario = NULL;
	wl->env.def.mix = NULL;
	atomic_init(&wl->env.activities, 0);
	if (wl->kind == &dura_wl_mixed &&
	    dura_wl_parse_mix(def->mix, &wl->env, err, errlen) != 0) {
		free(wl);
		return -1;
	}
	*out = wl;
	return 0;
}

void dura_workload_free(struct dura_workload *wl)
{
	free(wl);
}

void dura_workload_register(struct dura_workload *wl, struct dura_registry *reg)
{
	wl->kind->register_fns(reg, &wl->env);
}

const char *dura_workload_input(const struct dura_workload *wl, uint64_t seq,
                                struct dura_buf *in)
{
	dura_buf_reset(in);
	return wl->kind->input(&wl->env, seq, in);
}

void dura_workload_expected_output(const struct dura_workload *wl, uint64_t seq,
                                   struct dura_buf *out)
{
	dura_buf_reset(out);
	wl->kind->expected_output(&wl->env, seq, out);
}

int dura_workload_verify(const struct dura_workload *wl, uint64_t seq, const char *instance,
                         const struct dura_provider_ops *ops, dura_store *store,
                         char *err, size_t errlen)
{
	int unreadable = 0;
	struct dura_wl_reader rd = { .ops = ops, .store = store, .unreadable = &unreadable };
	int r = wl->kind->verify(&wl->env, seq, instance, &rd, err, errlen);
	return r == 0 ? DURA_VERIFY_OK : unreadable ? DURA_VERIFY_UNREADABLE : DURA_VERIFY_MISMATCH;
}

uint64_t dura_workload_activities_run(const struct dura_workload *wl)
{
	return atomic_load_explicit(&wl->env.activities, memory_order_relaxed);
}

double dura_workload_activities_per_instance(const struct dura_workload_def *def)
{
	const struct dura_wl_kind *k = dura_wl_find_kind(def->scenario ? def->scenario : "fanout");
	return k ? k->activities_per_instance(def) : -1;
}

double dura_workload_min_latency_us(const struct dura_workload_def *def)
{
	const struct dura_wl_kind *k = dura_wl_find_kind(def->scenario ? def->scenario : "fanout");
	return k ? k->min_latency_us(def) : -1;
}

double dura_workload_bound(const struct dura_workload_def *def, unsigned activity_workers)
{
	double bound = 0;
	double act = dura_workload_activities_per_instance(def);
	/* W workers each run at most 1e6 / delay_us activities per second */
	if (act > 0 && def->activity_delay_us > 0)
		bound = (double)activity_workers * 1e6 / (double)def->activity_delay_us / act;
	/* Little's law: max_concurrent instances, none faster than the delays
	 * it must sit through in sequence (binds for timers, rarely else) */
	double lat = dura_workload_min_latency_us(def);
	if (def->rate <= 0 && lat > 0 && def->max_concurrent > 0) {
		double little = (double)def->max_concurrent * 1e6 / lat;
		if (bound == 0 || little < bound)
			bound = little;
	}
	if (def->rate > 0 && bound > 0 && def->rate < bound)
		bound = def->rate;
	return bound;
}
