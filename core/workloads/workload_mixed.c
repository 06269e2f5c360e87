/* Workload "mixed": every instance is one of the other scenarios, drawn by
 * weight from `mix` with a hash of its seq (so the draw is reproducible and
 * needs no per-instance state). */
#include "config.h"

#include "workload_kinds.h"

#include <stdlib.h>
#include <string.h>

static const struct dura_wl_kind *pick(const struct dura_wl_env *env, uint64_t seq)
{
	const struct dura_workload_mix *m = &env->mix;
	unsigned r = (unsigned)(dura_wl_mix64(seq ^ 0x6d6978656400ull) % m->total);
	for (unsigned i = 0; i < m->n; i++) {
		if (r < m->weight[i])
			return m->kind[i];
		r -= m->weight[i];
	}
	return m->kind[0]; /* not reached */
}

static void mixed_register(struct dura_registry *reg, struct dura_wl_env *env)
{
	for (unsigned i = 0; i < env->mix.n; i++)
		env->mix.kind[i]->register_fns(reg, env);
}

static const char *mixed_input(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *in)
{
	return pick(env, seq)->input(env, seq, in);
}

static void mixed_expected(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *out)
{
	pick(env, seq)->expected_output(env, seq, out);
}

static int mixed_verify(const struct dura_wl_env *env, uint64_t seq, const char *instance,
                        const struct dura_wl_reader *rd, char *err, size_t errlen)
{
	return pick(env, seq)->verify(env, seq, instance, rd, err, errlen);
}

/* Weighted averages over the mix (a bad mix gives -1). */
static double mixed_average(const struct dura_workload_def *def, int latency)
{
	struct dura_workload_mix m;
	if (dura_workload_parse_mix(def->mix, &m, NULL, 0) != 0)
		return -1;
	double sum = 0;
	for (unsigned i = 0; i < m.n; i++) {
		const struct dura_wl_kind *k = m.kind[i];
		sum += m.weight[i] *
		       (latency ? k->min_latency_us(def) : k->activities_per_instance(def));
	}
	return sum / m.total;
}

static double mixed_activities(const struct dura_workload_def *def)
{
	return mixed_average(def, 0);
}

static double mixed_min_latency(const struct dura_workload_def *def)
{
	return mixed_average(def, 1);
}

const struct dura_wl_kind dura_wl_mixed = {
	.scenario = "mixed",
	.draws_from_mix = 1,
	.register_fns = mixed_register,
	.input = mixed_input,
	.expected_output = mixed_expected,
	.verify = mixed_verify,
	.activities_per_instance = mixed_activities,
	.min_latency_us = mixed_min_latency,
};
