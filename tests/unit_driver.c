/*
 * The driver, driven directly on the reference provider (memstore,
 * dlopened from the build tree): a closed-loop run where every instance
 * completes and verifies; a stop request after the first launch (exactly
 * the first round is launched, drained and verified, the run reports
 * itself interrupted), also during the warm-up (empty window: rates are
 * unknown, not 0); an instance the store loses times out once; starts the
 * store refuses count as infra failures; the open loop never runs ahead of
 * its schedule; the throughput bound of the workloads layer; and a run
 * without a workload is refused.  The faults come from a wrapper around
 * memstore's enqueue_orchestrator, set per test.
 */
#include "config.h"

#include "driver/driver.h"
#include "tap.h"
#include "workloads/workload.h"

#include <dlfcn.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#ifndef DURA_TEST_MEMSTORE_PLUGIN
#define DURA_TEST_MEMSTORE_PLUGIN "tests/plugins/.libs/memstore.so"
#endif

static const struct dura_provider_ops *memstore;
static struct dura_provider_ops wrapped;

/* What the enqueue wrapper does, set by each test before its run. */
static volatile sig_atomic_t stop_flag;
static int stop_after_enqueue;  /* set stop_flag after a successful enqueue */
static int refuse_enqueue;      /* every enqueue fails permanently */
static const char *lose_instance; /* this instance's start is dropped */

static dura_rc wrapped_enqueue(dura_store *store, const struct dura_message *msgs, size_t n,
                               struct dura_err *err)
{
	if (refuse_enqueue) {
		snprintf(err->msg, sizeof err->msg, "refused by the test");
		return DURA_PERMANENT;
	}
	struct dura_message kept[64];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (lose_instance && strcmp(msgs[i].instance, lose_instance) == 0)
			continue;
		if (k == sizeof kept / sizeof kept[0]) {
			snprintf(err->msg, sizeof err->msg, "test wrapper: batch too large");
			return DURA_PERMANENT;
		}
		kept[k++] = msgs[i];
	}
	dura_rc rc = k ? memstore->enqueue_orchestrator(store, kept, k, err) : DURA_OK;
	if (rc == DURA_OK && stop_after_enqueue)
		stop_flag = 1;
	return rc;
}

static dura_store *open_store(void)
{
	struct dura_err err;
	dura_store *store = NULL;
	if (wrapped.open(NULL, 0, &store, &err) != DURA_OK) {
		tap_diag("open: %s", err.msg);
		return NULL;
	}
	return store;
}

static struct dura_workload_def fanout(unsigned max_concurrent)
{
	struct dura_workload_def wd;
	memset(&wd, 0, sizeof wd);
	wd.scenario = "fanout";
	wd.max_concurrent = max_concurrent;
	wd.tasks_per_instance = 3;
	return wd;
}

/* One run on a fresh store; the store is dropped afterwards.  Returns the
 * driver's return code (-2 when the store did not open). */
static int run(const struct dura_workload_def *wd, uint64_t duration_ms, uint64_t warmup_ms,
               uint64_t drain_ms, const char *prefix, struct dura_run_result *res)
{
	dura_store *store = open_store();
	if (!store)
		return -2;
	struct dura_run_params p = {
		.orch_workers = 2, .activity_workers = 2,
		.duration_ms = duration_ms, .warmup_ms = warmup_ms, .drain_timeout_ms = drain_ms,
		.workload = wd, .instance_prefix = prefix, .stop = &stop_flag,
	};
	char err[256] = "";
	int rc = dura_driver_run(&wrapped, store, &p, res, err, sizeof err);
	if (rc != 0)
		tap_diag("driver: %s", err);
	struct dura_err e;
	wrapped.close(store, 1, &e);
	stop_flag = 0;
	stop_after_enqueue = 0;
	refuse_enqueue = 0;
	lose_instance = NULL;
	return rc;
}

/* Every launched instance is in exactly one outcome bucket. */
static int accounted(const struct dura_run_result *r)
{
	return r->launched == r->completed + r->failed_app + r->failed_config +
	                      r->failed_infra + r->timed_out;
}

static void test_closed_loop(void)
{
	struct dura_workload_def wd = fanout(8);
	struct dura_run_result r;
	int rc = run(&wd, 400, 100, 20000, "cl.", &r);
	tap_ok(rc == 0 && r.launched > 0 && r.completed == r.launched && accounted(&r) &&
	       r.timed_out == 0 && r.success_pct == 100.0,
	       "closed loop: every launched instance completes (%llu)",
	       (unsigned long long)r.launched);
	tap_ok(rc == 0 && r.verified == r.completed && r.verify_failures == 0 &&
	       r.first_failure[0] == '\0',
	       "closed loop: every completed instance verifies against storage (%llu)",
	       (unsigned long long)r.verified);
	tap_ok(rc == 0 && r.in_flight_at_end <= 8 && r.window_completed <= r.completed &&
	       r.latency.count <= r.completed && !r.interrupted && fabs(r.window_s - 0.3) < 1e-9,
	       "closed loop: at most max_concurrent in flight, window = duration - warmup "
	       "(%.3f s), window and latency count only completed instances", r.window_s);
	tap_ok(rc == 0 && r.bound_orch_per_sec == 0 && r.bound_fraction == 0,
	       "closed loop: no bound without activity delays");
}

static void test_stop(void)
{
	struct dura_workload_def wd = fanout(6);
	struct dura_run_result r;
	stop_after_enqueue = 1;
	int rc = run(&wd, 60000, 0, 20000, "st.", &r);
	tap_ok(rc == 0 && r.interrupted && r.launched == 6 && r.completed == 6 &&
	       r.verified == 6 && accounted(&r),
	       "a stop request after the first launch: its 6 instances are launched, drained "
	       "and verified, nothing more (%llu launched)", (unsigned long long)r.launched);
	tap_ok(rc == 0 && r.interrupted_after_s < 60 && r.window_s < 60 && r.window_s >= 0 &&
	       !isnan(r.orch_per_sec),
	       "a stop request ends the window at the stop (%.3f s)", r.window_s);

	stop_after_enqueue = 1;
	rc = run(&wd, 60000, 30000, 20000, "sw.", &r);
	/* the ramp-up (half of the 30 s warm-up) opened one slot of six before
	 * the stop */
	tap_ok(rc == 0 && r.interrupted && r.window_s == 0 && isnan(r.orch_per_sec) &&
	       isnan(r.activities_per_sec) && isnan(r.counted_orch_per_sec) &&
	       r.launched == 1 && r.completed == r.launched && r.verified == r.launched &&
	       r.latency.count == 0,
	       "a stop during the warm-up and its ramp-up: one instance launched, empty "
	       "window, rates unknown (NaN), no latency, the instance still verified "
	       "(%llu launched)", (unsigned long long)r.launched);
}

static void test_lost_instance(void)
{
	struct dura_workload_def wd = fanout(4);
	struct dura_run_result r;
	lose_instance = "lost.1";
	int rc = run(&wd, 200, 0, 300, "lost.", &r);
	tap_ok(rc == 0 && r.timed_out == 1 && r.completed == r.launched - 1 && accounted(&r) &&
	       r.verified == r.completed && strstr(r.first_failure, "drain timeout") != NULL,
	       "an instance the store loses times out, once (%llu of %llu): %s",
	       (unsigned long long)r.timed_out, (unsigned long long)r.launched, r.first_failure);
}

static void test_refused_starts(void)
{
	struct dura_workload_def wd = fanout(4);
	struct dura_run_result r;
	refuse_enqueue = 1;
	int rc = run(&wd, 150, 0, 1000, "rf.", &r);
	tap_ok(rc == 0 && r.launched > 0 && r.failed_infra == r.launched && r.completed == 0 &&
	       accounted(&r) && strstr(r.first_failure, "start failed") != NULL &&
	       strstr(r.first_failure, "refused by the test") != NULL,
	       "starts the store refuses are infra failures: %s", r.first_failure);
}

static void test_open_loop(void)
{
	struct dura_workload_def wd = fanout(4);
	wd.rate = 40;
	struct dura_run_result r;
	int rc = run(&wd, 300, 0, 20000, "ol.", &r);
	/* instance n is due at n / rate: within 300 ms at most n = 0..12 */
	tap_ok(rc == 0 && r.launched >= 1 && r.launched <= 13 && r.completed == r.launched &&
	       r.verified == r.completed,
	       "open loop at 40/s for 300 ms never runs ahead of its schedule (%llu launched)",
	       (unsigned long long)r.launched);
}

static void test_bound(void)
{
	struct dura_workload_def wd = fanout(8);
	wd.tasks_per_instance = 4;
	wd.activity_delay_us = 1000;
	double b = dura_workload_bound(&wd, 2);
	tap_ok(fabs(b - 500.0) < 1e-9,
	       "bound: 2 workers, 4 activities of 1 ms per instance -> 500 orch/s (%g)", b);
	wd.rate = 100;
	b = dura_workload_bound(&wd, 2);
	tap_ok(fabs(b - 100.0) < 1e-9, "bound: an open loop at 100/s is bound by its rate (%g)",
	       b);
}

static void test_no_workload(void)
{
	struct dura_run_params p = { .duration_ms = 10, .stop = &stop_flag };
	struct dura_run_result r;
	char err[128] = "";
	int rc = dura_driver_run(&wrapped, NULL, &p, &r, err, sizeof err);
	tap_ok(rc == -1 && strstr(err, "no workload") != NULL,
	       "a run without a workload is refused: %s", err);
}

int main(void)
{
	void *h = dlopen(DURA_TEST_MEMSTORE_PLUGIN, RTLD_NOW | RTLD_LOCAL);
	const struct dura_provider_ops *(*entry)(void) = NULL;
	if (h)
		*(void **)&entry = dlsym(h, DURA_PROVIDER_ENTRY_SYMBOL);
	memstore = entry ? entry() : NULL;
	if (!tap_ok(memstore != NULL, "load memstore %s", DURA_TEST_MEMSTORE_PLUGIN)) {
		tap_diag("%s", dlerror());
		return tap_done();
	}
	wrapped = *memstore;
	wrapped.enqueue_orchestrator = wrapped_enqueue;

	test_closed_loop();
	test_stop();
	test_lost_instance();
	test_refused_starts();
	test_open_loop();
	test_bound();
	test_no_workload();
	dlclose(h);
	return tap_done();
}
