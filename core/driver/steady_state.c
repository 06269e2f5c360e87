/* Ramp-up and steady-window throughput (steady_state.h). */
#include "config.h"

#include "steady_state.h"

#include <math.h>
#include <stdlib.h>

#include "base/histogram.h"
#include "base/util.h"
#include "driver.h"
#include "engine/orchestration.h"

uint64_t dura_ramp_length_ns(unsigned slots, double bound_orch_per_sec, uint64_t warmup_ns)
{
	if (slots <= 1 || warmup_ns == 0)
		return 0;
	uint64_t half = warmup_ns / 2;
	if (!(bound_orch_per_sec > 0))
		return half;
	double cycle_ns = (double)slots / bound_orch_per_sec * 1e9;
	return cycle_ns < (double)half ? (uint64_t)cycle_ns : half;
}

unsigned dura_ramp_open_slots(unsigned slots, uint64_t ramp_ns, uint64_t elapsed_ns)
{
	if (ramp_ns == 0 || elapsed_ns >= ramp_ns)
		return slots;
	/* slot k is open once elapsed >= k * ramp / slots */
	double k = floor((double)elapsed_ns * slots / (double)ramp_ns);
	return k + 1 < (double)slots ? (unsigned)k + 1 : slots;
}

uint64_t dura_ramp_next_open_ns(unsigned slots, uint64_t ramp_ns, uint64_t elapsed_ns)
{
	unsigned open = dura_ramp_open_slots(slots, ramp_ns, elapsed_ns);
	if (open >= slots)
		return UINT64_MAX;
	/* the first elapsed time at which slot `open` is open */
	uint64_t at = (uint64_t)ceil((double)open * (double)ramp_ns / slots);
	while (dura_ramp_open_slots(slots, ramp_ns, at) <= open) /* rounding */
		at++;
	return at;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sum of the time each instance was in flight inside [ws, we]: Little's
 * L times the window's length. */
static double in_flight_ns(const struct dura_inst_record *inst, size_t n, uint64_t ws,
                           uint64_t we)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = inst[i].start_ns, b = inst[i].end_ns ? inst[i].end_ns : we;
		if (a < ws)
			a = ws;
		if (b > we)
			b = we;
		if (b > a)
			sum += (double)(b - a);
	}
	return sum;
}

void dura_steady_rate_compute(const struct dura_inst_record *inst, size_t n,
                              uint64_t win_start_ns, uint64_t win_end_ns, unsigned period,
                              struct dura_steady_rate *out)
{
	*out = (struct dura_steady_rate){ .stream_rate = NAN, .counted_rate = NAN,
	                                  .little_rate = NAN };
	if (win_end_ns <= win_start_ns)
		return;
	double window_ns = (double)(win_end_ns - win_start_ns);
	/* the window's completion times, sorted (owned here) */
	uint64_t *t = dura_xcalloc(n ? n : 1, sizeof *t);
	size_t m = 0;
	double latency_sum_ns = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t e = inst[i].end_ns;
		if (inst[i].outcome != DURA_OUTCOME_COMPLETED || e < win_start_ns || e > win_end_ns)
			continue;
		t[m++] = e;
		latency_sum_ns += e > inst[i].start_ns ? (double)(e - inst[i].start_ns) : 0;
	}
	qsort(t, m, sizeof *t, cmp_u64);
	out->completions = m;
	out->counted_rate = (double)m / window_ns * 1e9;
	if (period == 0)
		period = 1;
	if (m >= (size_t)period + 1) {
		size_t gaps = (m - 1) / period * period;
		uint64_t span = t[gaps] - t[0];
		/* The stream stands for the window only if it fills it: at
		 * each end a closed loop leaves at most about one cycle (a
		 * wave) without a counted completion.  A store that stalls
		 * (stopped, full, locked) leaves more, and the rate of the
		 * completions before the stall must not be reported as the
		 * window's: the wall-clock count is then the honest figure. */
		uint64_t uncovered = (t[0] - win_start_ns) + (win_end_ns - t[gaps]);
		double cycle_ns = span > 0 ? (double)span / (double)gaps * period : 0;
		if (span > 0 && (double)uncovered <= DURA_STREAM_MAX_UNCOVERED_CYCLES * cycle_ns) {
			out->stream_gaps = gaps;
			out->stream_span_s = (double)span / 1e9;
			out->stream_rate = (double)gaps / out->stream_span_s;
		}
	}
	if (isnan(out->stream_rate) && m > 0) {
		out->stream_gaps = m;
		out->stream_rate = out->counted_rate;
	}
	out->mean_in_flight = in_flight_ns(inst, n, win_start_ns, win_end_ns) / window_ns;
	out->mean_latency_s = m ? latency_sum_ns / (double)m / 1e9 : 0;
	if (out->mean_in_flight > 0 && out->mean_latency_s > 0)
		out->little_rate = out->mean_in_flight / out->mean_latency_s;
	free(t);
}

/* A completion from the window's start on: when it ended, its latency. */
struct ended {
	uint64_t end_ns, latency_ns;
};

static int cmp_ended(const void *a, const void *b)
{
	const struct ended *x = a, *y = b;
	if (x->end_ns != y->end_ns)
		return x->end_ns < y->end_ns ? -1 : 1;
	return x->latency_ns < y->latency_ns ? -1 : x->latency_ns > y->latency_ns;
}

/* Fills out from the latencies lat[0..m) (sorted here). */
static void summarize(uint64_t *lat, size_t m, struct dura_latency *out)
{
	if (m == 0)
		return;
	double sum = 0;
	for (size_t i = 0; i < m; i++)
		sum += (double)lat[i];
	qsort(lat, m, sizeof *lat, cmp_u64);
	out->count = m;
	out->avg_ms = sum / (double)m / 1e6;
	out->p50_ms = (double)lat[dura_nearest_rank(m, 50) - 1] / 1e6;
	out->p95_ms = (double)lat[dura_nearest_rank(m, 95) - 1] / 1e6;
	out->p99_ms = (double)lat[dura_nearest_rank(m, 99) - 1] / 1e6;
	out->max_ms = (double)lat[m - 1] / 1e6;
}

void dura_steady_latency_compute(const struct dura_inst_record *inst, size_t n,
                                 uint64_t win_start_ns, uint64_t win_end_ns, unsigned period,
                                 struct dura_latency *out)
{
	*out = (struct dura_latency){ 0 };
	/* the completions from the window's start on, by end time (owned) */
	struct ended *e = dura_xcalloc(n ? n : 1, sizeof *e);
	size_t m = 0, in_window = 0;
	for (size_t i = 0; i < n; i++) {
		const struct dura_inst_record *r = &inst[i];
		if (r->outcome != DURA_OUTCOME_COMPLETED || r->end_ns < win_start_ns)
			continue;
		uint64_t l = r->latency_ns ? r->latency_ns
		             : r->end_ns > r->start_ns ? r->end_ns - r->start_ns : 0;
		e[m++] = (struct ended){ r->end_ns, l };
		in_window += r->end_ns <= win_end_ns;
	}
	qsort(e, m, sizeof *e, cmp_ended);
	/* the window's completions come first; the stream rate counts
	 * e[1..gaps], whole cycles after the first (dura_steady_rate_compute) */
	if (period == 0)
		period = 1;
	size_t first = 0, count = m;
	if (in_window >= (size_t)period + 1) {
		first = 1;
		count = (in_window - 1) / period * period;
	}
	uint64_t *lat = dura_xcalloc(count ? count : 1, sizeof *lat); /* owned */
	for (size_t i = 0; i < count; i++)
		lat[i] = e[first + i].latency_ns;
	summarize(lat, count, out);
	free(lat);
	free(e);
}
