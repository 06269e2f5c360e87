/* Timelines and recovery figures on synthetic data (core/driver/timeline.c). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "driver/timeline.h"
#include "engine/orchestration.h"
#include "tap.h"

#define S 1000000000ull

/* A timeline of 1 s intervals with the given orch/s. */
static struct dura_timeline_point *synthetic(const double *rates, size_t n)
{
	struct dura_timeline_point *tl = calloc(n, sizeof *tl);
	for (size_t k = 0; k < n; k++) {
		tl[k].t_s = (double)k;
		tl[k].len_s = 1;
		tl[k].orch_per_sec = rates[k];
		tl[k].retries = k;
		tl[k].reconnects = 1;
	}
	return tl;
}

static void test_recovery(void)
{
	/* warmup 1 s; steady 100 (one 130 outlier), fault [5, 7], slow
	 * climb, back at >= 90 from t = 9 */
	const double r[] = { 10, 100, 130, 98, 100, 0, 0, 40, 89.9, 95, 100, 100 };
	size_t n = sizeof r / sizeof r[0];
	struct dura_timeline_point *tl = synthetic(r, n);
	struct dura_window w[] = { { 5.0, 7.0 } };
	struct dura_recovery rec;
	dura_recovery_compute(tl, n, 1.0, w, 1, 0, &rec);
	tap_ok(rec.before_orch_per_sec == 100, "before = median of steady intervals (%.1f)",
	       rec.before_orch_per_sec);
	tap_ok(fabs(rec.recovery_s - 2.0) < 1e-9, "recovered 2 s after the end (%.3f)", rec.recovery_s);
	tap_ok(fabs(rec.settled_s - 10.0) < 1e-9, "settled at the end of that interval (%.3f)",
	       rec.settled_s);

	/* a fault ending mid-interval in an interval already back at 90 % */
	struct dura_window w2[] = { { 5.0, 8.5 } };
	dura_recovery_compute(tl, n, 1.0, w2, 1, 0, &rec);
	tap_ok(isnan(rec.recovery_s) == 0 && rec.recovery_s == 0.5,
	       "first interval ending after the end counts from its start (%.3f)", rec.recovery_s);

	/* an earlier fault's window is left out of "before" */
	const double r2[] = { 100, 100, 100, 0, 0, 0, 100, 100, 100, 100, 0, 50, 50, 50 };
	size_t n2 = sizeof r2 / sizeof r2[0];
	struct dura_timeline_point *tl2 = synthetic(r2, n2);
	struct dura_window two[] = { { 3.0, 5.5 }, { 10.0, 10.5 } };
	dura_recovery_compute(tl2, n2, 0, two, 2, 1, &rec);
	tap_ok(rec.before_orch_per_sec == 100, "before ignores the first fault's intervals (%.1f)",
	       rec.before_orch_per_sec);
	tap_ok(isnan(rec.recovery_s), "never back at 90 %%: not recovered");
	tap_ok(rec.settled_s == 14.0, "not recovered: settled at the end of the timeline");
	uint64_t retries, reconnects;
	dura_timeline_sum_stats(tl2, n2, 10.0, rec.settled_s, &retries, &reconnects);
	tap_ok(retries == 10 + 11 + 12 + 13 && reconnects == 4,
	       "retries and reconnects summed over the fault and after (%llu, %llu)",
	       (unsigned long long)retries, (unsigned long long)reconnects);

	/* a fault before any steady interval: falls back to what precedes */
	struct dura_window early[] = { { 1.0, 1.5 } };
	dura_recovery_compute(tl, n, 5.0, early, 1, 0, &rec);
	tap_ok(rec.before_orch_per_sec == 10, "no steady interval before: uses the warmup (%.1f)",
	       rec.before_orch_per_sec);
	struct dura_window first[] = { { 0.0, 0.5 } };
	dura_recovery_compute(tl, n, 0, first, 1, 0, &rec);
	tap_ok(isnan(rec.before_orch_per_sec) && isnan(rec.recovery_s),
	       "nothing before the fault: before and recovery unknown");
	free(tl);
	free(tl2);
}

static void test_build(void)
{
	uint64_t t0 = 5 * S;
	/* instance: start, end (relative, ms), outcome */
	const struct { unsigned s, e; int o; } spec[] = {
		{ 0, 100, DURA_OUTCOME_COMPLETED },
		{ 0, 300, DURA_OUTCOME_COMPLETED },
		{ 200, 1500, DURA_OUTCOME_COMPLETED },   /* spans the first boundary */
		{ 900, 1100, DURA_OUTCOME_FAILED_INFRA },
		{ 1000, 0, DURA_INST_TIMEOUT },          /* never ended */
		{ 1200, 1900, DURA_OUTCOME_COMPLETED },
		{ 2100, 2200, DURA_OUTCOME_COMPLETED },  /* the last, short interval */
	};
	size_t n = sizeof spec / sizeof spec[0];
	struct dura_inst_record inst[16];
	memset(inst, 0, sizeof inst);
	for (size_t i = 0; i < n; i++) {
		inst[i].start_ns = t0 + spec[i].s * 1000000ull;
		inst[i].end_ns = spec[i].e ? t0 + spec[i].e * 1000000ull : 0;
		inst[i].outcome = (int8_t)spec[i].o;
	}
	struct dura_timeline_sample smp[3];
	memset(smp, 0, sizeof smp);
	for (int k = 0; k < 3; k++) {
		smp[k].t_ns = t0 + (uint64_t)k * S;
		smp[k].activities = (uint64_t)k * 50;
		smp[k].have_stats = 1;
		smp[k].stats.round_trips = (uint64_t)k * 7;
		smp[k].stats.reconnects = k == 2 ? 3 : 0;
	}
	struct dura_timeline_point *tl;
	size_t m = dura_timeline_build(inst, n, t0, t0 + 2500 * 1000000ull, S, smp, 3, &tl);
	tap_ok(m == 3, "2.5 s in 1 s intervals: 3 intervals (%zu)", m);
	tap_ok(tl[0].completed == 2 && tl[1].completed == 2 && tl[2].completed == 1,
	       "completions counted in the interval they ended in");
	tap_ok(tl[0].orch_per_sec == 2 && fabs(tl[2].orch_per_sec - 2.0) < 1e-9,
	       "rates use each interval's own length (%.3f)", tl[2].orch_per_sec);
	tap_ok(tl[0].p50_ms == 100 && tl[0].p99_ms == 300, "p50/p99 of the interval's completions");
	tap_ok(tl[1].p50_ms == 700 && tl[1].p99_ms == 1300, "latency spans the boundary (%.0f, %.0f)",
	       tl[1].p50_ms, tl[1].p99_ms);
	tap_ok(tl[1].failed.infra == 1 && tl[0].failed.infra == 0, "failure counted where it ended");
	tap_ok(tl[0].in_flight == 2 && tl[1].in_flight == 1 && tl[2].in_flight == 1,
	       "in flight at each interval's end (%llu %llu %llu)",
	       (unsigned long long)tl[0].in_flight, (unsigned long long)tl[1].in_flight,
	       (unsigned long long)tl[2].in_flight);
	tap_ok(tl[0].activities_per_sec == 50 && isnan(tl[2].activities_per_sec),
	       "activities/s from samples; unknown without one");
	tap_ok(tl[1].have_stats && tl[1].round_trips == 7 && tl[1].reconnects == 3,
	       "provider stats as deltas between samples");

	struct dura_fault_instances fi;
	dura_fault_instances(inst, n, t0 + 950 * 1000000ull, t0 + 1050 * 1000000ull,
	                     t0 + 4000 * 1000000ull, &fi);
	tap_ok(fi.count == 3, "3 instances in flight during [0.95, 1.05] s (%llu)",
	       (unsigned long long)fi.count);
	tap_ok(fi.failed.infra == 1 && fi.failed.timeout == 1 && fi.lost == 1,
	       "their failures by category, the timed-out one lost");
	tap_ok(fi.max_latency_ms == 3000, "an unfinished one counts until the end (%.0f ms)",
	       fi.max_latency_ms);
	free(tl);
}

int main(void)
{
	test_recovery();
	test_build();
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}
