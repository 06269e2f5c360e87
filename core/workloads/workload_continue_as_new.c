/* Workload "continue_as_new": a counter.  Each execution fans out
 * tasks_per_instance activities, then continues as new with counter + 1
 * until it has done so `iterations` times (history reset each time: the
 * final execution is iterations + 1).  Input: seq, k, running digest. */
#include "config.h"

#include "workload_kinds.h"

#include <inttypes.h>

#define ORCH "continue_as_new"
#define ACTIVITY "continue_as_new.work"
#define SALT_BASE 1000u /* execution k uses salt SALT_BASE + k */

static uint64_t step_digest(uint64_t acc, uint64_t seq, uint32_t k, unsigned tasks)
{
	return dura_wl_mix64(acc ^ dura_wl_fanout_digest(seq, SALT_BASE + k, tasks));
}

/* The output of the final execution (orchestration and verification). */
static void can_output(struct dura_buf *out, uint64_t seq, uint32_t k, uint64_t acc)
{
	dura_buf_printf(out, "continue_as_new:%" PRIu64 ":%u:%016" PRIx64, seq, k, acc);
}

static enum dura_orch_rc can_orch(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                  void *user)
{
	const struct dura_wl_env *env = user;
	uint64_t seq, acc, digest = 0;
	uint32_t k;
	enum dura_orch_rc rc;
	if (dura_wl_get_u64(&input, &len, &seq) != 0 || dura_wl_get_u32(&input, &len, &k) != 0 ||
	    dura_wl_get_u64(&input, &len, &acc) != 0)
		return dura_fail(ctx, "continue_as_new: bad input");
	if (dura_execution_id(ctx) != (uint64_t)k + 1)
		return dura_fail(ctx, "continue_as_new: execution id does not follow the counter");
	if (!dura_wl_fanout_await(ctx, ACTIVITY, seq, SALT_BASE + k, env->def.tasks_per_instance,
	                          env->def.payload_bytes, &digest, &rc))
		return rc;
	acc = step_digest(acc, seq, k, env->def.tasks_per_instance);
	struct dura_buf b = { 0 };
	if (k < env->def.iterations) {
		dura_wl_put_u64(&b, seq);
		dura_wl_put_u32(&b, k + 1);
		dura_wl_put_u64(&b, acc);
		rc = dura_continue_as_new(ctx, b.data, b.len);
		dura_buf_free(&b);
		return rc;
	}
	can_output(&b, seq, k, acc);
	return dura_wl_complete_buf(ctx, &b);
}

static void can_register(struct dura_registry *reg, struct dura_wl_env *env)
{
	dura_registry_add_orchestration(reg, ORCH, can_orch, env);
	dura_registry_add_activity(reg, ACTIVITY, dura_wl_work_activity, env);
}

static const char *can_input(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *in)
{
	(void)env;
	dura_wl_put_u64(in, seq);
	dura_wl_put_u32(in, 0);
	dura_wl_put_u64(in, 0);
	return ORCH;
}

static void can_expected(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *out)
{
	uint64_t acc = 0;
	for (uint32_t k = 0; k <= env->def.iterations; k++)
		acc = step_digest(acc, seq, k, env->def.tasks_per_instance);
	can_output(out, seq, env->def.iterations, acc);
}

static int can_verify(const struct dura_wl_env *env, uint64_t seq, const char *instance,
                      const struct dura_wl_reader *rd, char *err, size_t errlen)
{
	unsigned n = env->def.tasks_per_instance;
	uint64_t last = (uint64_t)env->def.iterations + 1, exec = 0;
	struct dura_buf want = { 0 };
	can_expected(env, seq, &want);
	int rc = dura_wl_check_completed(rd, instance, want.data, want.len, &exec, err, errlen);
	dura_buf_free(&want);
	if (rc != 0)
		return -1;
	if (exec != last) {
		dura_errbuf(err, errlen, "instance %s: current execution %" PRIu64 ", expected %" PRIu64,
		            instance, exec, last);
		return -1;
	}
	/* every execution keeps its own history: the earlier ones end with
	 * ContinuedAsNew, the last with Completed */
	for (uint64_t e = 1; e <= last; e++) {
		struct dura_history_shape got, shape = {
			.started = 1, .activities_scheduled = n, .activities_completed = n,
			.terminal = 1,
			.terminal_status = e == last ? DURA_STATUS_COMPLETED
			                             : DURA_STATUS_CONTINUED_AS_NEW,
		};
		if (dura_wl_read_shape(rd, instance, e, &got, err, errlen) != 0 ||
		    dura_wl_expect_shape(instance, e, &got, &shape, err, errlen) != 0)
			return -1;
	}
	return 0;
}

static double can_activities(const struct dura_workload_def *def)
{
	return ((double)def->iterations + 1) * def->tasks_per_instance;
}

static double can_min_latency(const struct dura_workload_def *def)
{
	return def->tasks_per_instance
	               ? ((double)def->iterations + 1) * (double)def->activity_delay_us
	               : 0;
}

const struct dura_wl_kind dura_wl_continue_as_new = {
	.scenario = "continue_as_new",
	.register_fns = can_register,
	.input = can_input,
	.expected_output = can_expected,
	.verify = can_verify,
	.activities_per_instance = can_activities,
	.min_latency_us = can_min_latency,
};
