/* Timelines and recovery figures (timeline.h). */
#include "config.h"

#include "timeline.h"
#include "base/histogram.h"
#include "base/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/orchestration.h"

#define RECOVERED_FRACTION 0.9

static void count_failure(struct dura_failed_counts *f, int outcome)
{
	switch (outcome) {
	case DURA_OUTCOME_FAILED_INFRA: f->infra++; break;
	case DURA_OUTCOME_FAILED_CONFIG: f->config++; break;
	case DURA_OUTCOME_FAILED_APP: f->app++; break;
	case DURA_OUTCOME_FAILED_CORRUPT: f->corrupt++; break;
	case DURA_INST_TIMEOUT: f->timeout++; break;
	default: break;
	}
}

/* (interval, latency) of one completion, sorted to take percentiles. */
struct completion {
	size_t k;
	uint64_t latency_ns;
};

static int cmp_completion(const void *a, const void *b)
{
	const struct completion *x = a, *y = b;
	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return x->latency_ns < y->latency_ns ? -1 : x->latency_ns > y->latency_ns;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double percentile_ms(const struct completion *v, size_t n, double pct)
{
	size_t rank = (size_t)dura_nearest_rank(n, pct);
	return (double)v[rank - 1].latency_ns / 1e6;
}

static void stats_delta(struct dura_timeline_point *pt, const struct dura_timeline_sample *a,
                        const struct dura_timeline_sample *b)
{
	pt->have_stats = a->have_stats && b->have_stats;
	if (!pt->have_stats)
		return;
#define D(f) (b->stats.f >= a->stats.f ? b->stats.f - a->stats.f : 0)
	pt->round_trips = D(round_trips);
	pt->retries = D(retries);
	pt->reconnects = D(reconnects);
	pt->lock_conflicts = D(lock_conflicts);
#undef D
}

size_t dura_timeline_build(const struct dura_inst_record *inst, size_t n_inst, uint64_t t0_ns,
                           uint64_t end_ns, uint64_t interval_ns,
                           const struct dura_timeline_sample *samples, size_t n_samples,
                           struct dura_timeline_point **out)
{
	*out = NULL;
	if (end_ns <= t0_ns || interval_ns == 0)
		return 0;
	size_t n = (size_t)((end_ns - t0_ns + interval_ns - 1) / interval_ns);
	struct dura_timeline_point *tl = dura_xcalloc(n, sizeof *tl); /* handed to *out */
	/* in_flight by difference: +1 from the interval of a start, -1 from
	 * the interval of an end */
	int64_t *delta = dura_xcalloc(n + 1, sizeof *delta);
	struct completion *done = dura_xmalloc((n_inst ? n_inst : 1) * sizeof *done);
	size_t n_done = 0;
	for (size_t i = 0; i < n_inst; i++) {
		const struct dura_inst_record *r = &inst[i];
		if (r->start_ns >= end_ns)
			continue;
		size_t ks = r->start_ns > t0_ns ? (size_t)((r->start_ns - t0_ns) / interval_ns) : 0;
		delta[ks]++;
		if (r->end_ns == 0 || r->end_ns >= end_ns)
			continue;
		size_t ke = r->end_ns > t0_ns ? (size_t)((r->end_ns - t0_ns) / interval_ns) : 0;
		delta[ke]--;
		if (r->outcome == DURA_OUTCOME_COMPLETED) {
			tl[ke].completed++;
			done[n_done].k = ke;
			done[n_done].latency_ns = r->end_ns - r->start_ns;
			n_done++;
		} else {
			count_failure(&tl[ke].failed, r->outcome);
		}
	}
	qsort(done, n_done, sizeof *done, cmp_completion);
	int64_t running = 0;
	size_t d = 0;
	for (size_t k = 0; k < n; k++) {
		struct dura_timeline_point *pt = &tl[k];
		uint64_t from = t0_ns + k * interval_ns;
		uint64_t to = from + interval_ns < end_ns ? from + interval_ns : end_ns;
		pt->t_s = (double)(from - t0_ns) / 1e9;
		pt->len_s = (double)(to - from) / 1e9;
		running += delta[k];
		pt->in_flight = running > 0 ? (uint64_t)running : 0;
		pt->orch_per_sec = (double)pt->completed / pt->len_s;
		size_t first = d;
		while (d < n_done && done[d].k == k)
			d++;
		pt->p50_ms = d > first ? percentile_ms(done + first, d - first, 50) : NAN;
		pt->p99_ms = d > first ? percentile_ms(done + first, d - first, 99) : NAN;
		pt->activities_per_sec = NAN;
		if (k + 1 < n_samples) {
			const struct dura_timeline_sample *a = &samples[k], *b = &samples[k + 1];
			double span = b->t_ns > a->t_ns ? (double)(b->t_ns - a->t_ns) / 1e9 : 0;
			if (span > 0)
				pt->activities_per_sec = (double)(b->activities - a->activities) / span;
			stats_delta(pt, a, b);
		}
	}
	free(done);
	free(delta);
	*out = tl;
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int overlaps_busy(const struct dura_timeline_point *pt, const struct dura_window *busy,
                         size_t n_busy)
{
	for (size_t i = 0; i < n_busy; i++)
		if (pt->t_s < busy[i].end_s && pt->t_s + pt->len_s > busy[i].begin_s)
			return 1;
	return 0;
}

/* Median orch/s of the intervals that end by `before_s`; strict = only
 * full ones after the warmup that overlap no fault.  NaN when none. */
static double median_before(const struct dura_timeline_point *tl, size_t n, double before_s,
                            double warmup_s, double full_s, const struct dura_window *busy,
                            size_t n_busy, int strict)
{
	double *v = dura_xmalloc((n ? n : 1) * sizeof *v);
	size_t m = 0;
	for (size_t k = 0; k < n; k++) {
		const struct dura_timeline_point *pt = &tl[k];
		if (pt->t_s + pt->len_s > before_s + 1e-9)
			break;
		if (strict && (pt->t_s + 1e-9 < warmup_s || pt->len_s + 1e-9 < full_s ||
		               overlaps_busy(pt, busy, n_busy)))
			continue;
		v[m++] = pt->orch_per_sec;
	}
	double med = NAN;
	if (m > 0) {
		qsort(v, m, sizeof *v, cmp_double);
		med = m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
	}
	free(v);
	return med;
}

void dura_recovery_compute(const struct dura_timeline_point *tl, size_t n, double warmup_s,
                           const struct dura_window *busy, size_t n_busy, size_t fault,
                           struct dura_recovery *out)
{
	out->before_orch_per_sec = NAN;
	out->recovery_s = NAN;
	out->settled_s = n ? tl[n - 1].t_s + tl[n - 1].len_s : 0;
	if (n == 0 || fault >= n_busy)
		return;
	const struct dura_window *w = &busy[fault];
	double full_s = tl[0].len_s;
	double before = median_before(tl, n, w->begin_s, warmup_s, full_s, busy, n_busy, 1);
	if (isnan(before))
		before = median_before(tl, n, w->begin_s, warmup_s, full_s, busy, n_busy, 0);
	out->before_orch_per_sec = before;
	if (isnan(before))
		return;
	for (size_t k = 0; k < n; k++) {
		const struct dura_timeline_point *pt = &tl[k];
		if (pt->t_s + pt->len_s <= w->end_s + 1e-9)
			continue;
		if (pt->orch_per_sec >= RECOVERED_FRACTION * before) {
			out->recovery_s = pt->t_s > w->end_s ? pt->t_s - w->end_s : 0;
			out->settled_s = pt->t_s + pt->len_s;
			return;
		}
	}
}

void dura_fault_instances(const struct dura_inst_record *inst, size_t n_inst, uint64_t begin_ns,
                          uint64_t end_ns, uint64_t last_ns, struct dura_fault_instances *out)
{
	memset(out, 0, sizeof *out);
	uint64_t max_ns = 0;
	for (size_t i = 0; i < n_inst; i++) {
		const struct dura_inst_record *r = &inst[i];
		uint64_t finish = r->end_ns ? r->end_ns : last_ns;
		if (r->start_ns > end_ns || finish < begin_ns)
			continue;
		out->count++;
		uint64_t lat = finish > r->start_ns ? finish - r->start_ns : 0;
		if (lat > max_ns)
			max_ns = lat;
		count_failure(&out->failed, r->outcome);
		if (r->lost || r->outcome == DURA_INST_TIMEOUT || r->outcome == DURA_INST_RUNNING)
			out->lost++;
	}
	out->max_latency_ms = (double)max_ns / 1e6;
}

void dura_timeline_sum_stats(const struct dura_timeline_point *tl, size_t n, double from_s,
                             double to_s, uint64_t *retries, uint64_t *reconnects)
{
	*retries = 0;
	*reconnects = 0;
	for (size_t k = 0; k < n; k++) {
		if (tl[k].t_s + tl[k].len_s <= from_s || tl[k].t_s > to_s)
			continue;
		*retries += tl[k].retries;
		*reconnects += tl[k].reconnects;
	}
}
