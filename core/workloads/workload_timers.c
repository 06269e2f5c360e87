/* Workload "timers": `timers` durable timers of timer_delay one after
 * another, then a fan-out of tasks_per_instance activities. */
#include "config.h"

#include "workload_kinds.h"

#include <inttypes.h>

#define ORCH "timers"
#define ACTIVITY "timers.work"
#define SALT 2u

/* The output of a completed instance (orchestration and verification). */
static void timers_output(struct dura_buf *out, uint64_t seq, unsigned timers, uint64_t digest)
{
	dura_buf_printf(out, "timers:%" PRIu64 ":%u:%016" PRIx64, seq, timers, digest);
}

static enum dura_orch_rc timers_orch(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                     void *user)
{
	const struct dura_wl_env *env = user;
	uint64_t seq, digest = 0;
	enum dura_orch_rc rc;
	if (dura_wl_get_u64(&input, &len, &seq) != 0)
		return dura_fail(ctx, "timers: bad input");
	/* sequential: each timer is created only once the previous one fired,
	 * so the instance takes at least timers x timer_delay */
	for (unsigned i = 0; i < env->def.timers; i++) {
		dura_task t = dura_create_timer(ctx, env->def.timer_delay_us / 1000u);
		if (t < 0)
			return dura_fail(ctx, "timers: creating a timer failed");
		enum dura_task_state st = dura_task_state(ctx, t);
		if (st == DURA_TASK_PENDING)
			return DURA_ORCH_PENDING;
		if (st == DURA_TASK_FAILED)
			return dura_fail(ctx, "timers: a timer failed");
	}
	if (!dura_wl_fanout_await(ctx, ACTIVITY, seq, SALT, env->def.tasks_per_instance,
	                          env->def.payload_bytes, &digest, &rc))
		return rc;
	struct dura_buf out = { 0 };
	timers_output(&out, seq, env->def.timers, digest);
	return dura_wl_complete_buf(ctx, &out);
}

static void timers_register(struct dura_registry *reg, struct dura_wl_env *env)
{
	dura_registry_add_orchestration(reg, ORCH, timers_orch, env);
	dura_registry_add_activity(reg, ACTIVITY, dura_wl_work_activity, env);
}

static const char *timers_input(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *in)
{
	(void)env;
	dura_wl_put_u64(in, seq);
	return ORCH;
}

static void timers_expected(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *out)
{
	timers_output(out, seq, env->def.timers,
	              dura_wl_fanout_digest(seq, SALT, env->def.tasks_per_instance));
}

static int timers_verify(const struct dura_wl_env *env, uint64_t seq, const char *instance,
                         const struct dura_wl_reader *rd, char *err, size_t errlen)
{
	struct dura_buf want = { 0 };
	timers_expected(env, seq, &want);
	unsigned n = env->def.tasks_per_instance, t = env->def.timers;
	struct dura_history_shape shape = {
		.started = 1, .activities_scheduled = n, .activities_completed = n,
		.timers_created = t, .timers_fired = t,
		.terminal = 1, .terminal_status = DURA_STATUS_COMPLETED,
	};
	int rc = dura_wl_verify_simple(rd, instance, &want, &shape, err, errlen);
	dura_buf_free(&want);
	return rc;
}

static double timers_activities(const struct dura_workload_def *def)
{
	return def->tasks_per_instance;
}

static double timers_min_latency(const struct dura_workload_def *def)
{
	return (double)def->timers * (double)(def->timer_delay_us / 1000u * 1000u) +
	       (def->tasks_per_instance ? (double)def->activity_delay_us : 0);
}

const struct dura_wl_kind dura_wl_timers = {
	.scenario = "timers",
	.register_fns = timers_register,
	.input = timers_input,
	.expected_output = timers_expected,
	.verify = timers_verify,
	.activities_per_instance = timers_activities,
	.min_latency_us = timers_min_latency,
};
