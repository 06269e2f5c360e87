/* Workload "payload": large bodies through every path.  The parent fans out
 * tasks_per_instance activities and, at the same time, starts one child
 * ("<parent>/p") whose input is a payload and whose output is the result of
 * an activity on it, so payload bytes travel in activity inputs, results,
 * sub-orchestration inputs and outputs.  payload_bytes 0 means 16 KiB. */
#include "config.h"

#include "workload_kinds.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define ORCH "payload"
#define CHILD "payload.child"
#define ACTIVITY "payload.work"
#define SALT 3u
#define CHILD_SALT 4u
#define DEFAULT_PAYLOAD 16384u

static size_t payload_size(const struct dura_workload_def *def)
{
	return def->payload_bytes ? (size_t)def->payload_bytes : DEFAULT_PAYLOAD;
}

/* The parent's output (orchestration and verification). */
static void parent_output(struct dura_buf *out, uint64_t seq, size_t payload, uint64_t digest)
{
	dura_buf_printf(out, "payload:%" PRIu64 ":%zu:%016" PRIx64, seq, payload, digest);
}

/* Instance id of parent's child (orchestration and verification). */
static void child_id(char *id, size_t cap, const char *parent)
{
	snprintf(id, cap, "%s/p", parent);
}

/* Child input: seq, then the payload the child's activity gets. */
static enum dura_orch_rc child_orch(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                    void *user)
{
	const struct dura_wl_env *env = user;
	size_t n = payload_size(&env->def);
	uint64_t seq;
	if (dura_wl_get_u64(&input, &len, &seq) != 0)
		return dura_fail(ctx, "payload child: bad input");
	/* the activity input is built from what the parent sent (not
	 * regenerated), so a damaged child input shows up as a wrong result */
	struct dura_buf b = { 0 };
	dura_wl_put_u64(&b, seq);
	dura_wl_put_u32(&b, CHILD_SALT);
	dura_wl_put_u32(&b, 0);
	dura_buf_append(&b, input, len);
	dura_task t = dura_call_activity(ctx, ACTIVITY, b.data, b.len);
	dura_buf_free(&b);
	if (t < 0)
		return dura_fail(ctx, "payload child: scheduling the activity failed");
	enum dura_task_state st = dura_task_state(ctx, t);
	if (st == DURA_TASK_PENDING)
		return DURA_ORCH_PENDING;
	const uint8_t *d = NULL;
	size_t l = 0;
	dura_task_result(ctx, t, &d, &l);
	if (st == DURA_TASK_FAILED)
		return dura_fail(ctx, "payload child: activity failed");
	if (!dura_wl_work_result_ok(d, l, seq, CHILD_SALT, 0, n))
		return dura_fail(ctx, "payload child: activity returned a wrong result");
	return dura_complete(ctx, d, l);
}

static enum dura_orch_rc parent_orch(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                     void *user)
{
	const struct dura_wl_env *env = user;
	size_t n = payload_size(&env->def);
	uint64_t seq, digest = 0;
	enum dura_orch_rc rc;
	char id[512];
	if (dura_wl_get_u64(&input, &len, &seq) != 0)
		return dura_fail(ctx, "payload: bad input");
	/* child first, so it runs alongside the fan-out */
	struct dura_buf b = { 0 };
	dura_wl_work_input(&b, seq, CHILD_SALT, 0, n);
	/* work input = seq, salt, idx, payload: the child wants seq, payload */
	struct dura_buf cin = { 0 };
	dura_wl_put_u64(&cin, seq);
	dura_buf_append(&cin, b.data + 16, b.len - 16);
	dura_buf_free(&b);
	child_id(id, sizeof id, dura_instance_id(ctx));
	dura_task child = dura_call_sub_orchestration(ctx, CHILD, id, cin.data, cin.len);
	dura_buf_free(&cin);
	if (child < 0)
		return dura_fail(ctx, "payload: starting the child failed");
	if (!dura_wl_fanout_await(ctx, ACTIVITY, seq, SALT, env->def.tasks_per_instance, n,
	                          &digest, &rc))
		return rc;
	enum dura_task_state st = dura_task_state(ctx, child);
	if (st == DURA_TASK_PENDING)
		return DURA_ORCH_PENDING;
	const uint8_t *d = NULL;
	size_t l = 0;
	dura_task_result(ctx, child, &d, &l);
	if (st == DURA_TASK_FAILED)
		return dura_fail(ctx, "payload: child failed");
	if (!dura_wl_work_result_ok(d, l, seq, CHILD_SALT, 0, n))
		return dura_fail(ctx, "payload: child returned a wrong output");
	struct dura_buf out = { 0 };
	parent_output(&out, seq, n, digest);
	return dura_wl_complete_buf(ctx, &out);
}

static void payload_register(struct dura_registry *reg, struct dura_wl_env *env)
{
	dura_registry_add_orchestration(reg, ORCH, parent_orch, env);
	dura_registry_add_orchestration(reg, CHILD, child_orch, env);
	dura_registry_add_activity(reg, ACTIVITY, dura_wl_work_activity, env);
}

static const char *payload_input(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *in)
{
	(void)env;
	dura_wl_put_u64(in, seq);
	return ORCH;
}

static void payload_expected(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *out)
{
	parent_output(out, seq, payload_size(&env->def),
	              dura_wl_fanout_digest(seq, SALT, env->def.tasks_per_instance));
}

static int payload_verify(const struct dura_wl_env *env, uint64_t seq, const char *instance,
                          const struct dura_wl_reader *rd, char *err, size_t errlen)
{
	unsigned n = env->def.tasks_per_instance;
	struct dura_buf want = { 0 };
	payload_expected(env, seq, &want);
	struct dura_history_shape parent = {
		.started = 1, .activities_scheduled = n, .activities_completed = n,
		.suborchs_scheduled = 1, .suborchs_completed = 1,
		.terminal = 1, .terminal_status = DURA_STATUS_COMPLETED,
	};
	struct dura_history_shape child = {
		.started = 1, .activities_scheduled = 1, .activities_completed = 1,
		.terminal = 1, .terminal_status = DURA_STATUS_COMPLETED,
	};
	int rc = dura_wl_verify_simple(rd, instance, &want, &parent, err, errlen);
	if (rc == 0) {
		char id[512];
		child_id(id, sizeof id, instance);
		dura_wl_work_result(&want, seq, CHILD_SALT, 0, payload_size(&env->def));
		rc = dura_wl_verify_simple(rd, id, &want, &child, err, errlen);
	}
	dura_buf_free(&want);
	return rc;
}

static double payload_activities(const struct dura_workload_def *def)
{
	return (double)def->tasks_per_instance + 1;
}

static double payload_min_latency(const struct dura_workload_def *def)
{
	return (double)def->activity_delay_us;
}

const struct dura_wl_kind dura_wl_payload = {
	.scenario = "payload",
	.register_fns = payload_register,
	.input = payload_input,
	.expected_output = payload_expected,
	.verify = payload_verify,
	.activities_per_instance = payload_activities,
	.min_latency_us = payload_min_latency,
};
