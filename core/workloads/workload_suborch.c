/* Workload "suborch": a parent starts `children` sub-orchestrations at once
 * (ids "<parent>/c<i>"), each a fan-out of tasks_per_instance activities,
 * and checks every child's output.  Verification checks the children in
 * storage too. */
#include "config.h"

#include "workload_kinds.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORCH "suborch"
#define CHILD "suborch.child"
#define ACTIVITY "suborch.work"
#define SALT_BASE 100u /* child i uses salt SALT_BASE + i */

static void child_output(struct dura_buf *out, uint64_t seq, unsigned i, unsigned tasks)
{
	dura_buf_reset(out);
	dura_buf_printf(out, "child:%" PRIu64 ":%u:%016" PRIx64, seq, i,
	                dura_wl_fanout_digest(seq, SALT_BASE + i, tasks));
}

static uint64_t parent_digest(uint64_t seq, unsigned children, unsigned tasks)
{
	uint64_t d = dura_wl_mix64(seq ^ 0x5u);
	for (unsigned i = 0; i < children; i++)
		d = dura_wl_mix64(d ^ dura_wl_fanout_digest(seq, SALT_BASE + i, tasks));
	return d;
}

/* The parent's output (orchestration and verification). */
static void parent_output(struct dura_buf *out, uint64_t seq, unsigned children, unsigned tasks)
{
	dura_buf_printf(out, "suborch:%" PRIu64 ":%u:%016" PRIx64, seq, children,
	                parent_digest(seq, children, tasks));
}

/* Instance id of child i of parent (orchestration and verification). */
static void child_id(char *id, size_t cap, const char *parent, unsigned i)
{
	snprintf(id, cap, "%s/c%u", parent, i);
}

static enum dura_orch_rc child_orch(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                    void *user)
{
	const struct dura_wl_env *env = user;
	uint64_t seq, digest = 0;
	uint32_t idx;
	enum dura_orch_rc rc;
	if (dura_wl_get_u64(&input, &len, &seq) != 0 || dura_wl_get_u32(&input, &len, &idx) != 0)
		return dura_fail(ctx, "suborch child: bad input");
	if (!dura_wl_fanout_await(ctx, ACTIVITY, seq, SALT_BASE + idx, env->def.tasks_per_instance,
	                          env->def.payload_bytes, &digest, &rc))
		return rc;
	struct dura_buf out = { 0 };
	child_output(&out, seq, idx, env->def.tasks_per_instance);
	return dura_wl_complete_buf(ctx, &out);
}

static enum dura_orch_rc parent_orch(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                     void *user)
{
	const struct dura_wl_env *env = user;
	unsigned n = env->def.children, tasks = env->def.tasks_per_instance;
	uint64_t seq;
	if (dura_wl_get_u64(&input, &len, &seq) != 0)
		return dura_fail(ctx, "suborch: bad input");
	enum dura_orch_rc rc = DURA_ORCH_PENDING;
	char why[300];
	why[0] = '\0';
	dura_task *t = dura_xcalloc(n ? n : 1, sizeof *t);
	struct dura_buf b = { 0 }, want = { 0 };
	int pending = 0, failed = 0;
	for (unsigned i = 0; i < n && !failed; i++) {
		char id[512];
		child_id(id, sizeof id, dura_instance_id(ctx), i);
		dura_buf_reset(&b);
		dura_wl_put_u64(&b, seq);
		dura_wl_put_u32(&b, i);
		t[i] = dura_call_sub_orchestration(ctx, CHILD, id, b.data, b.len);
		if (t[i] < 0) {
			dura_errbuf(why, sizeof why, "suborch: starting child %u failed", i);
			failed = 1;
		}
	}
	for (unsigned i = 0; i < n && !failed; i++) {
		enum dura_task_state st = dura_task_state(ctx, t[i]);
		const uint8_t *d = NULL;
		size_t l = 0;
		if (st == DURA_TASK_PENDING) {
			pending = 1;
			continue;
		}
		dura_task_result(ctx, t[i], &d, &l);
		if (st == DURA_TASK_FAILED) {
			dura_errbuf(why, sizeof why, "suborch: child %u failed: %.*s", i,
			            (int)(l > 200 ? 200 : l), d ? (const char *)d : "");
			failed = 1;
			break;
		}
		child_output(&want, seq, i, tasks);
		if (l != want.len || memcmp(d, want.data, l) != 0) {
			dura_errbuf(why, sizeof why, "suborch: child %u returned a wrong output", i);
			failed = 1;
		}
	}
	if (failed) {
		rc = dura_fail(ctx, why);
	} else if (!pending) {
		dura_buf_reset(&b);
		parent_output(&b, seq, n, tasks);
		rc = dura_complete(ctx, b.data, b.len);
	}
	free(t);
	dura_buf_free(&b);
	dura_buf_free(&want);
	return rc;
}

static void suborch_register(struct dura_registry *reg, struct dura_wl_env *env)
{
	dura_registry_add_orchestration(reg, ORCH, parent_orch, env);
	dura_registry_add_orchestration(reg, CHILD, child_orch, env);
	dura_registry_add_activity(reg, ACTIVITY, dura_wl_work_activity, env);
}

static const char *suborch_input(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *in)
{
	(void)env;
	dura_wl_put_u64(in, seq);
	return ORCH;
}

static void suborch_expected(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *out)
{
	parent_output(out, seq, env->def.children, env->def.tasks_per_instance);
}

static int suborch_verify(const struct dura_wl_env *env, uint64_t seq, const char *instance,
                          const struct dura_wl_reader *rd, char *err, size_t errlen)
{
	unsigned n = env->def.children, tasks = env->def.tasks_per_instance;
	struct dura_buf want = { 0 };
	suborch_expected(env, seq, &want);
	struct dura_history_shape parent = {
		.started = 1, .suborchs_scheduled = n, .suborchs_completed = n,
		.terminal = 1, .terminal_status = DURA_STATUS_COMPLETED,
	};
	struct dura_history_shape child = {
		.started = 1, .activities_scheduled = tasks, .activities_completed = tasks,
		.terminal = 1, .terminal_status = DURA_STATUS_COMPLETED,
	};
	int rc = dura_wl_verify_simple(rd, instance, &want, &parent, err, errlen);
	for (unsigned i = 0; i < n && rc == 0; i++) {
		char id[512];
		child_id(id, sizeof id, instance, i);
		child_output(&want, seq, i, tasks);
		rc = dura_wl_verify_simple(rd, id, &want, &child, err, errlen);
	}
	dura_buf_free(&want);
	return rc;
}

static double suborch_activities(const struct dura_workload_def *def)
{
	return (double)def->children * def->tasks_per_instance;
}

static double suborch_min_latency(const struct dura_workload_def *def)
{
	return def->children && def->tasks_per_instance ? (double)def->activity_delay_us : 0;
}

const struct dura_wl_kind dura_wl_suborch = {
	.scenario = "suborch",
	.register_fns = suborch_register,
	.input = suborch_input,
	.expected_output = suborch_expected,
	.verify = suborch_verify,
	.activities_per_instance = suborch_activities,
	.min_latency_us = suborch_min_latency,
};
