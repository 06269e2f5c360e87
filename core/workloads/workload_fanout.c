/* Workload "fanout": schedule tasks_per_instance activities at once, wait
 * for all, check every result (the duroxide "parallel orchestrations"
 * anchor: 5 tasks, 10 ms, 20 concurrent). */
#include "config.h"

#include "workload_kinds.h"

#include <inttypes.h>

#define ORCH "fanout"
#define ACTIVITY "fanout.work"
#define SALT 1u

/* The output of a completed instance (orchestration and verification). */
static void fanout_output(struct dura_buf *out, uint64_t seq, uint64_t digest)
{
	dura_buf_printf(out, "fanout:%" PRIu64 ":%016" PRIx64, seq, digest);
}

static enum dura_orch_rc fanout_orch(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                     void *user)
{
	const struct dura_wl_env *env = user;
	uint64_t seq, digest = 0;
	enum dura_orch_rc rc;
	if (dura_wl_get_u64(&input, &len, &seq) != 0)
		return dura_fail(ctx, "fanout: bad input");
	if (!dura_wl_fanout_await(ctx, ACTIVITY, seq, SALT, env->def.tasks_per_instance,
	                          env->def.payload_bytes, &digest, &rc))
		return rc;
	struct dura_buf out = { 0 };
	fanout_output(&out, seq, digest);
	return dura_wl_complete_buf(ctx, &out);
}

static void fanout_register(struct dura_registry *reg, struct dura_wl_env *env)
{
	dura_registry_add_orchestration(reg, ORCH, fanout_orch, env);
	dura_registry_add_activity(reg, ACTIVITY, dura_wl_work_activity, env);
}

static const char *fanout_input(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *in)
{
	(void)env;
	dura_wl_put_u64(in, seq);
	return ORCH;
}

static void fanout_expected(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *out)
{
	fanout_output(out, seq, dura_wl_fanout_digest(seq, SALT, env->def.tasks_per_instance));
}

static int fanout_verify(const struct dura_wl_env *env, uint64_t seq, const char *instance,
                         const struct dura_wl_reader *rd, char *err, size_t errlen)
{
	struct dura_buf want = { 0 };
	fanout_expected(env, seq, &want);
	unsigned n = env->def.tasks_per_instance;
	struct dura_history_shape shape = {
		.started = 1, .activities_scheduled = n, .activities_completed = n,
		.terminal = 1, .terminal_status = DURA_STATUS_COMPLETED,
	};
	int rc = dura_wl_verify_simple(rd, instance, &want, &shape, err, errlen);
	dura_buf_free(&want);
	return rc;
}

static double fanout_activities(const struct dura_workload_def *def)
{
	return def->tasks_per_instance;
}

static double fanout_min_latency(const struct dura_workload_def *def)
{
	return def->tasks_per_instance ? (double)def->activity_delay_us : 0;
}

const struct dura_wl_kind dura_wl_fanout = {
	.scenario = "fanout",
	.register_fns = fanout_register,
	.input = fanout_input,
	.expected_output = fanout_expected,
	.verify = fanout_verify,
	.activities_per_instance = fanout_activities,
	.min_latency_us = fanout_min_latency,
};
