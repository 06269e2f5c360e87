/* Workload "mixed": every instance is one of the other scenarios, drawn by
 * weight from `mix` with a hash of its seq (so the draw is reproducible and
 * needs no per-instance state). */
#include "config.h"

#include "workload_kinds.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MIX "fanout:40,timers:20,suborch:20,continue_as_new:10,payload:10"

int dura_wl_parse_mix(const char *mix, struct dura_wl_env *env, char *err, size_t errlen)
{
	if (!mix || !*mix)
		mix = DEFAULT_MIX;
	env->n_mix = 0;
	env->mix_total = 0;
	const char *p = mix;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *colon = strchr(p, ':');
		const char *comma = strchr(p, ',');
		if (!comma)
			comma = p + strlen(p);
		if (!colon || colon > comma) {
			dura_errbuf(err, errlen, "mix '%s': expected NAME:WEIGHT entries separated by commas",
			            mix);
			return -1;
		}
		size_t nl = (size_t)(colon - p);
		while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
			nl--;
		char name[64];
		if (nl == 0 || nl >= sizeof name) {
			dura_errbuf(err, errlen, "mix '%s': bad scenario name", mix);
			return -1;
		}
		memcpy(name, p, nl);
		name[nl] = '\0';
		const struct dura_wl_kind *k = dura_wl_find_kind(name);
		if (!k || k == &dura_wl_mixed) {
			dura_errbuf(err, errlen,
			            "mix '%s': unknown scenario '%s' (fanout, timers, suborch, continue_as_new, payload)",
			            mix, name);
			return -1;
		}
		char *end;
		unsigned long w = strtoul(colon + 1, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (end == colon + 1 || end != comma || w > 1000000) {
			dura_errbuf(err, errlen, "mix '%s': bad weight for '%s'", mix, name);
			return -1;
		}
		for (unsigned i = 0; i < env->n_mix; i++)
			if (env->mix_kind[i] == k) {
				dura_errbuf(err, errlen, "mix '%s': '%s' given twice", mix, name);
				return -1;
			}
		if (env->n_mix == DURA_WL_MAX_MIX) {
			dura_errbuf(err, errlen, "mix '%s': too many entries", mix);
			return -1;
		}
		env->mix_kind[env->n_mix] = k;
		env->mix_weight[env->n_mix] = (unsigned)w;
		env->n_mix++;
		env->mix_total += (unsigned)w;
		p = *comma ? comma + 1 : comma;
	}
	if (env->mix_total == 0) {
		dura_errbuf(err, errlen, "mix '%s': the weights add up to 0", mix);
		return -1;
	}
	return 0;
}

static const struct dura_wl_kind *pick(const struct dura_wl_env *env, uint64_t seq)
{
	unsigned r = (unsigned)(dura_wl_mix64(seq ^ 0x6d6978656400ull) % env->mix_total);
	for (unsigned i = 0; i < env->n_mix; i++) {
		if (r < env->mix_weight[i])
			return env->mix_kind[i];
		r -= env->mix_weight[i];
	}
	return env->mix_kind[0]; /* not reached */
}

static void mixed_register(struct dura_registry *reg, struct dura_wl_env *env)
{
	for (unsigned i = 0; i < env->n_mix; i++)
		if (env->mix_weight[i] > 0)
			env->mix_kind[i]->register_fns(reg, env);
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
	struct dura_wl_env env;
	memset(&env, 0, sizeof env);
	if (dura_wl_parse_mix(def->mix, &env, NULL, 0) != 0)
		return -1;
	double sum = 0;
	for (unsigned i = 0; i < env.n_mix; i++) {
		const struct dura_wl_kind *k = env.mix_kind[i];
		sum += env.mix_weight[i] *
		       (latency ? k->min_latency_us(def) : k->activities_per_instance(def));
	}
	return sum / env.mix_total;
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
	.register_fns = mixed_register,
	.input = mixed_input,
	.expected_output = mixed_expected,
	.verify = mixed_verify,
	.activities_per_instance = mixed_activities,
	.min_latency_us = mixed_min_latency,
};
