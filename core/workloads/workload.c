/* Workload objects: the catalogue's kind a def names, and dispatch to it
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

/* The kind def names, with its mix parsed into *mix when it draws from one.
 * NULL with err when either is bad. */
static const struct dura_wl_kind *resolve(const struct dura_workload_def *def,
                                          struct dura_workload_mix *mix, char *err,
                                          size_t errlen)
{
	const char *name = dura_workload_name(def);
	const struct dura_wl_kind *k = dura_wl_find_kind(name, 0);
	if (!k) {
		char names[256];
		dura_workload_names(0, names, sizeof names);
		dura_errbuf(err, errlen, "unknown scenario '%s' (expected %s)", name, names);
		return NULL;
	}
	memset(mix, 0, sizeof *mix);
	if (k->draws_from_mix && dura_workload_parse_mix(def->mix, mix, err, errlen) != 0)
		return NULL;
	return k;
}

int dura_workload_check(const struct dura_workload_def *def, char *err, size_t errlen)
{
	struct dura_workload_mix mix;
	return resolve(def, &mix, err, errlen) ? 0 : -1;
}

int dura_workload_new(const struct dura_workload_def *def, struct dura_workload **out,
                      char *err, size_t errlen)
{
	*out = NULL;
	struct dura_workload_mix mix;
	const struct dura_wl_kind *k = resolve(def, &mix, err, errlen);
	if (!k)
		return -1;
	struct dura_workload *wl = dura_xcalloc(1, sizeof *wl);
	wl->kind = k;
	wl->env.def = *def;
	/* the strings stay with the caller; nothing reads them after this */
	wl->env.def.scenario = NULL;
	wl->env.def.mix = NULL;
	wl->env.mix = mix;
	atomic_init(&wl->env.activities, 0);
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
	int unreadable = 0, corrupt = 0;
	struct dura_wl_reader rd = { .ops = ops, .store = store, .unreadable = &unreadable,
	                             .corrupt = &corrupt };
	int r = wl->kind->verify(&wl->env, seq, instance, &rd, err, errlen);
	return r == 0       ? DURA_VERIFY_OK
	       : corrupt    ? DURA_VERIFY_CORRUPT
	       : unreadable ? DURA_VERIFY_UNREADABLE
	                    : DURA_VERIFY_MISMATCH;
}

uint64_t dura_workload_activities_run(const struct dura_workload *wl)
{
	return atomic_load_explicit(&wl->env.activities, memory_order_relaxed);
}

double dura_workload_activities_per_instance(const struct dura_workload_def *def)
{
	const struct dura_wl_kind *k = dura_wl_find_kind(dura_workload_name(def), 0);
	return k ? k->activities_per_instance(def) : -1;
}

double dura_workload_min_latency_us(const struct dura_workload_def *def)
{
	const struct dura_wl_kind *k = dura_wl_find_kind(dura_workload_name(def), 0);
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
