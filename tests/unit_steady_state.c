/* The steady-state method on synthetic streams (core/driver/steady_state.c):
 * ramp-up staggering and the window throughput, with and without waves. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/histogram.h"
#include "driver/driver.h"
#include "driver/steady_state.h"
#include "engine/orchestration.h"
#include "tap.h"

#define MS 1000000ull
#define S 1000000000ull

/* A closed loop of `slots` instances of latency `lat` started all at once
 * at t = 0 (the harness without a ramp-up): every cycle ends in one wave of
 * `slots` completions, `jitter` apart inside the wave.  *n records. */
static struct dura_inst_record *waves(unsigned slots, uint64_t lat, uint64_t jitter,
                                      uint64_t until, size_t *n)
{
	size_t cap = (size_t)(until / lat + 1) * slots, k = 0;
	struct dura_inst_record *r = calloc(cap, sizeof *r);
	for (unsigned s = 0; s < slots; s++) {
		/* slot s ends its j-th instance at j * lat + s * jitter; the
		 * next one starts right then */
		uint64_t start = 0;
		for (uint64_t j = 1; j * lat + s * jitter <= until; j++) {
			uint64_t end = j * lat + s * jitter;
			r[k++] = (struct dura_inst_record){ .start_ns = start, .end_ns = end,
			                                    .outcome = DURA_OUTCOME_COMPLETED };
			start = end;
		}
	}
	*n = k;
	return r;
}

/* A closed loop whose `slots` slots are staggered evenly over one cycle:
 * a steady stream of completions lat / slots apart. */
static struct dura_inst_record *staggered(unsigned slots, uint64_t lat, uint64_t until,
                                          size_t *n)
{
	size_t cap = (size_t)(until / lat + 2) * slots, k = 0;
	struct dura_inst_record *r = calloc(cap, sizeof *r);
	for (unsigned s = 0; s < slots; s++)
		for (uint64_t start = s * lat / slots; start + lat <= until; start += lat)
			r[k++] = (struct dura_inst_record){ .start_ns = start, .end_ns = start + lat,
			                                    .outcome = DURA_OUTCOME_COMPLETED };
	*n = k;
	return r;
}

static void test_waves(void)
{
	/* 20 in flight, 1 s latency: the true rate is 20/s.  Waves of 20 at
	 * 1, 2, 3 ... s, 1 ms apart inside a wave. */
	size_t n;
	struct dura_inst_record *r = waves(20, 1 * S, 1 * MS, 12 * S, &n);
	struct dura_steady_rate x;
	/* a window [0.5 s, 5.7 s] holds 5 waves: the wall clock says 19.2/s */
	dura_steady_rate_compute(r, n, 500 * MS, 5700 * MS, 20, &x);
	tap_ok(x.completions == 100, "waves: 100 completions in the window (%llu)",
	       (unsigned long long)x.completions);
	tap_ok(fabs(x.counted_rate - 100 / 5.2) < 1e-9,
	       "waves: the wall-clock rate is off by a fraction of a wave (%.3f)", x.counted_rate);
	tap_ok(fabs(x.stream_rate - 20.0) < 0.02,
	       "waves: the stream rate over whole cycles is the true rate (%.4f)", x.stream_rate);
	tap_ok(x.stream_gaps == 80, "waves: 4 cycles of 20 completions counted (%llu)",
	       (unsigned long long)x.stream_gaps);
	struct dura_latency l;
	dura_steady_latency_compute(r, n, 500 * MS, 5700 * MS, 20, &l);
	tap_ok(l.count == x.stream_gaps && fabs(l.p50_ms - 1000.0) < 1e-9,
	       "waves: the latency figures are of the completions the rate counts (%llu)",
	       (unsigned long long)l.count);
	/* a window that starts inside a wave and ends inside another: the
	 * count changes, the rate does not */
	dura_steady_rate_compute(r, n, 1010 * MS, 6005 * MS, 20, &x);
	tap_ok(fabs(x.stream_rate - 20.0) < 0.02 && fabs(x.counted_rate - 20.0) > 0.5,
	       "waves: a window starting inside a wave: stream %.4f, wall clock %.3f",
	       x.stream_rate, x.counted_rate);
	/* the naive (n - 1) / (t_last - t_first) spans a part of a wave */
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < n; i++)
		if (r[i].end_ns >= 1010 * MS && r[i].end_ns <= 6005 * MS) {
			lo = r[i].end_ns < lo ? r[i].end_ns : lo;
			hi = r[i].end_ns > hi ? r[i].end_ns : hi;
		}
	double naive = (double)(x.completions - 1) / ((double)(hi - lo) / 1e9);
	tap_ok(fabs(naive - 20.0) > 0.4, "waves: (n - 1) / (t_last - t_first) is off (%.3f)", naive);
	tap_ok(fabs(x.little_rate - 20.0) < 0.5,
	       "waves: Little's law (in flight %.2f / latency %.4f s) agrees (%.3f)",
	       x.mean_in_flight, x.mean_latency_s, x.little_rate);
	free(r);
}

/* A closed loop as the runtime serves the anchor workload: `slots`
 * instances of `tasks` activities of `act` ns, `workers` activity workers
 * that each fetch up to `batch` queued activities (FIFO), run them in
 * order and ack them together at the batch's end.  An instance completes
 * at the end of the batch that holds its last activity, and its slot
 * starts the next instance then (orchestration turns take no time).
 * Every slot starts at t = 0; worker i first fetches at i * skew (the
 * workers' phases are whatever the run gave them).  *n records until
 * `until`. */
static struct dura_inst_record *batched_loop(unsigned slots, unsigned tasks, uint64_t act,
                                             unsigned workers, unsigned batch, uint64_t skew,
                                             uint64_t until, size_t *n)
{
	size_t cap = (size_t)(until / act + 1) * workers + slots, k = 0;
	struct dura_inst_record *r = calloc(cap, sizeof *r);
	unsigned *left = calloc(cap, sizeof *left);       /* activities not acked */
	size_t *queue = calloc(cap * tasks, sizeof *queue); /* instance of each item */
	size_t qhead = 0, qtail = 0;
	uint64_t busy_until[8] = { 0 };
	size_t held[8][64], nheld[8] = { 0 };
	for (unsigned i = 0; i < workers; i++)
		busy_until[i] = i * skew;
	for (unsigned s = 0; s < slots; s++) {
		r[k] = (struct dura_inst_record){ .start_ns = 0, .outcome = DURA_INST_RUNNING };
		left[k] = tasks;
		for (unsigned t = 0; t < tasks; t++)
			queue[qtail++] = k;
		k++;
	}
	for (;;) {
		unsigned w = 0; /* the worker whose batch ends first */
		for (unsigned i = 1; i < workers; i++)
			if (busy_until[i] < busy_until[w])
				w = i;
		uint64_t now = busy_until[w];
		if (now > until)
			break;
		for (size_t i = 0; i < nheld[w]; i++) {
			size_t in = held[w][i];
			if (--left[in] > 0)
				continue;
			r[in].end_ns = now;
			r[in].outcome = DURA_OUTCOME_COMPLETED;
			r[k] = (struct dura_inst_record){ .start_ns = now, .outcome = DURA_INST_RUNNING };
			left[k] = tasks;
			for (unsigned t = 0; t < tasks; t++)
				queue[qtail++] = k;
			k++;
		}
		nheld[w] = 0;
		while (nheld[w] < batch && qhead < qtail)
			held[w][nheld[w]++] = queue[qhead++];
		busy_until[w] = now + nheld[w] * act;
		if (nheld[w] == 0)
			break; /* more workers than work: not a case this models */
	}
	free(left);
	free(queue);
	*n = k;
	return r;
}

/* The exact median of the completions a 10 s window from `from` counts
 * (whole cycles of 20): how far it moves over windows that open at 10 ms
 * steps across one cycle. */
static double median_swing_ms(const struct dura_inst_record *r, size_t n, uint64_t from,
                              uint64_t cycle, double *lo_ms, double *hi_ms)
{
	*lo_ms = INFINITY;
	*hi_ms = -INFINITY;
	for (uint64_t off = 0; off < cycle; off += 10 * MS) {
		struct dura_latency l;
		dura_steady_latency_compute(r, n, from + off, from + off + 10 * S, 20, &l);
		*lo_ms = l.p50_ms < *lo_ms ? l.p50_ms : *lo_ms;
		*hi_ms = l.p50_ms > *hi_ms ? l.p50_ms : *hi_ms;
	}
	return *hi_ms - *lo_ms;
}

static void test_batched(void)
{
	size_t n;
	double lo, hi;
	/* anchor at 1:1 with batches of 8: a cycle's 100 activities are 12.5
	 * batches, so instances wait 12 or 13 batches (960 / 1040 ms): two
	 * modes 80 ms apart with half the completions in each, the median on
	 * the edge between them (one completion more on either side moves it
	 * by a whole batch) */
	struct dura_inst_record *r = batched_loop(20, 5, 10 * MS, 1, 8, 0, 14 * S, &n);
	struct dura_latency l;
	dura_steady_latency_compute(r, n, 2 * S, 12 * S, 20, &l);
	size_t short_ones = 0, long_ones = 0, other = 0;
	for (size_t i = 0; i < n; i++) {
		if (r[i].outcome != DURA_OUTCOME_COMPLETED || r[i].end_ns < 2 * S ||
		    r[i].end_ns > 12 * S)
			continue;
		uint64_t lat = r[i].end_ns - r[i].start_ns;
		*(lat == 960 * MS ? &short_ones : lat == 1040 * MS ? &long_ones : &other) += 1;
	}
	tap_ok(other == 0 && short_ones * 100 >= l.count * 45 && long_ones * 100 >= l.count * 45,
	       "batch 8, 1:1: latencies of 12 or 13 batches only, half each (%zu x 960 ms, "
	       "%zu x 1040 ms, %zu other)", short_ones, long_ones, other);
	double swing = median_swing_ms(r, n, 2 * S, 1 * S, &lo, &hi);
	tap_ok((fabs(l.p50_ms - 960.0) < 1e-9 || fabs(l.p50_ms - 1040.0) < 1e-9) &&
	       fabs(l.avg_ms - 1000.0) < 1.0 && swing >= 80.0 - 1e-9,
	       "batch 8, 1:1: p50 is one mode or the other, even over whole cycles: it jumps "
	       "%.1f..%.1f ms with the window's start, the mean stays between (%.1f ms)", lo, hi,
	       l.avg_ms);
	struct dura_steady_rate x;
	dura_steady_rate_compute(r, n, 2 * S, 12 * S, 20, &x);
	tap_ok(fabs(x.stream_rate - 20.0) < 0.05, "batch 8, 1:1: the stream rate is 20/s (%.4f)",
	       x.stream_rate);
	free(r);

	/* batches of 5 (one instance's fan-out): 20 batches per cycle, which
	 * 1, 2 and 4 workers share evenly (a slot's next instance goes to the
	 * same worker a cycle later), so every instance waits the same cycle
	 * whatever the workers' phases, and the median is the latency at any
	 * window */
	for (unsigned w = 1; w <= 4; w *= 2) {
		r = batched_loop(20, 5, 10 * MS, w, 5, 7 * MS, 14 * S, &n);
		uint64_t cycle = 1 * S / w;
		dura_steady_latency_compute(r, n, 2 * S, 12 * S, 20, &l);
		swing = median_swing_ms(r, n, 2 * S, cycle, &lo, &hi);
		dura_steady_rate_compute(r, n, 2 * S, 12 * S, 20, &x);
		tap_ok(swing == 0 && fabs(l.p50_ms - (double)cycle / 1e6) < 1e-9 &&
		       fabs(l.max_ms - l.p50_ms) < 1e-9 && fabs(x.stream_rate - 20.0 * w) < 1e-6,
		       "batch 5, %u:%u: p50 = max = the cycle (%.1f ms) at every window start, "
		       "the stream rate is the true %u/s (%.4f)",
		       w, w, l.p50_ms, 20 * w, x.stream_rate);
		free(r);
	}
}

/* Exact percentiles over the samples: the values themselves, not the
 * histogram's buckets (4.2 ms wide at 1 s). */
static void test_latency_exact(void)
{
	enum { N = 101 };
	struct dura_inst_record r[N + 2];
	/* latencies 1000.000 .. 1000.100 ms in 1 us steps, in scrambled order */
	for (unsigned i = 0; i < N; i++) {
		unsigned v = (i * 37) % N;
		r[i] = (struct dura_inst_record){ .start_ns = 1 * S, .end_ns = 2 * S + v * 1000,
		                                  .outcome = DURA_OUTCOME_COMPLETED };
	}
	/* a warm-up completion (left out) and a drain one with its own latency
	 * from the runtime (kept: 2 s, the new maximum) */
	r[N] = (struct dura_inst_record){ .start_ns = 0, .end_ns = 500 * MS,
	                                  .outcome = DURA_OUTCOME_COMPLETED };
	r[N + 1] = (struct dura_inst_record){ .start_ns = 10 * S, .end_ns = 13 * S,
	                                      .latency_ns = 2 * S,
	                                      .outcome = DURA_OUTCOME_COMPLETED };
	struct dura_latency l;
	/* a window [1 s, 12 s] of a loop of 200: less than one cycle, so every
	 * completion from its start counts, the drain's too; 102 values:
	 * ranks 51, 97, 101 */
	dura_steady_latency_compute(r, N + 2, 1 * S, 12 * S, 200, &l);
	tap_ok(l.count == 102 && fabs(l.p50_ms - 1000.050) < 1e-9 &&
	       fabs(l.p95_ms - 1000.096) < 1e-9 && fabs(l.p99_ms - 1000.100) < 1e-9 &&
	       fabs(l.max_ms - 2000.0) < 1e-9,
	       "exact percentiles: p50 %.3f, p95 %.3f, p99 %.3f, max %.3f ms of %llu", l.p50_ms,
	       l.p95_ms, l.p99_ms, l.max_ms, (unsigned long long)l.count);
	dura_steady_latency_compute(r, N + 2, 20 * S, 30 * S, 200, &l);
	tap_ok(l.count == 0 && l.p50_ms == 0, "no completion after the window's start: all 0");
	/* a loop of 20: the window holds whole cycles, and only the 100 after
	 * its first completion count (the drain's 2 s one does not) */
	dura_steady_latency_compute(r, N + 2, 1 * S, 12 * S, 20, &l);
	tap_ok(l.count == 100 && fabs(l.p50_ms - 1000.050) < 1e-9 &&
	       fabs(l.max_ms - 1000.100) < 1e-9,
	       "whole cycles: the 100 completions after the window's first (p50 %.3f, max %.3f "
	       "ms of %llu), neither the warm-up's nor the drain's",
	       l.p50_ms, l.max_ms, (unsigned long long)l.count);
	tap_ok(dura_nearest_rank(100, 95) == 95 && dura_nearest_rank(4, 50) == 2 &&
	       dura_nearest_rank(5, 50) == 3 && dura_nearest_rank(1, 99) == 1,
	       "nearest rank: ceil(p / 100 * n)");
}

static void test_steady(void)
{
	size_t n;
	/* 4:4 anchor: 20 in flight, 250 ms latency, 80/s */
	struct dura_inst_record *r = staggered(20, 250 * MS, 12 * S, &n);
	struct dura_steady_rate x;
	for (uint64_t off = 0; off < 50 * MS; off += 7 * MS) {
		dura_steady_rate_compute(r, n, 2 * S + off, 10 * S + off, 20, &x);
		if (fabs(x.stream_rate - 80.0) > 1e-6 || fabs(x.little_rate - 80.0) > 0.2)
			break;
	}
	tap_ok(fabs(x.stream_rate - 80.0) < 1e-6,
	       "staggered: the stream rate is the true rate at every window offset (%.6f)",
	       x.stream_rate);
	tap_ok(fabs(x.little_rate - 80.0) < 0.2 && fabs(x.mean_in_flight - 20.0) < 0.05,
	       "staggered: Little's law gives it too (in flight %.3f, %.3f/s)", x.mean_in_flight,
	       x.little_rate);
	free(r);
}

/* A store that stalls: 1,000 completions/s until it stops, then none for the
 * rest of the window (or none until late in it).  The completions before
 * the stall must not stand for the window: the rate is the wall-clock
 * count, which shows the stall. */
static void test_stall(void)
{
	size_t n;
	struct dura_inst_record *r = staggered(64, 64 * MS, 300 * MS, &n);
	struct dura_steady_rate x;
	dura_steady_rate_compute(r, n, 0, 3 * S, 64, &x);
	tap_ok(x.stream_span_s == 0 && fabs(x.stream_rate - x.counted_rate) < 1e-9 &&
	       fabs(x.counted_rate - (double)x.completions / 3.0) < 1e-9 && x.completions > 200 &&
	       x.stream_rate < 100,
	       "a stall after 0.3 s of a 3 s window: the wall-clock rate (%.1f/s of %llu "
	       "completions), not the 1,000/s before it", x.stream_rate,
	       (unsigned long long)x.completions);
	dura_steady_rate_compute(r, n, 0, 300 * MS, 64, &x);
	tap_ok(x.stream_span_s > 0 && fabs(x.stream_rate - 1000.0) < 1e-6,
	       "the same stream in a window it fills: the stream rate (%.3f/s)", x.stream_rate);
	for (size_t i = 0; i < n; i++) { /* the store answers only from 2.7 s on */
		r[i].start_ns += 2700 * MS;
		r[i].end_ns += 2700 * MS;
	}
	dura_steady_rate_compute(r, n, 0, 3 * S, 64, &x);
	tap_ok(x.stream_span_s == 0 && x.stream_rate < 100,
	       "a store that answers only late in the window: the wall-clock rate (%.1f/s)",
	       x.stream_rate);
	free(r);
}

static void test_edges(void)
{
	struct dura_inst_record r[] = {
		{ .start_ns = 0, .end_ns = 1 * S, .outcome = DURA_OUTCOME_COMPLETED },
		{ .start_ns = 0, .end_ns = 2 * S, .outcome = DURA_OUTCOME_FAILED_APP },
		{ .start_ns = 0, .end_ns = 3 * S, .outcome = DURA_OUTCOME_COMPLETED },
		{ .start_ns = 1 * S, .end_ns = 0, .outcome = DURA_INST_TIMEOUT },
	};
	struct dura_steady_rate x;
	dura_steady_rate_compute(r, 4, 5 * S, 5 * S, 20, &x);
	tap_ok(isnan(x.stream_rate) && isnan(x.counted_rate) && isnan(x.little_rate) &&
	       x.completions == 0, "an empty window: every rate unknown (NaN)");
	dura_steady_rate_compute(r, 4, 4 * S, 6 * S, 20, &x);
	tap_ok(isnan(x.stream_rate) && x.counted_rate == 0 && x.completions == 0 &&
	       fabs(x.mean_in_flight - 1.0) < 1e-9,
	       "no completion in the window: 0 counted, stream rate unknown, the timed-out "
	       "one in flight throughout (%.3f)", x.mean_in_flight);
	dura_steady_rate_compute(r, 4, 0, 4 * S, 20, &x);
	tap_ok(x.completions == 2 && fabs(x.stream_rate - 0.5) < 1e-9 && x.stream_span_s == 0,
	       "fewer completions than one cycle: the wall-clock rate, failures not counted "
	       "(%.3f)", x.stream_rate);
	dura_steady_rate_compute(r, 4, 0, 4 * S, 1, &x);
	tap_ok(x.stream_gaps == 1 && fabs(x.stream_rate - 0.5) < 1e-9 && x.stream_span_s == 2.0,
	       "open loop (period 1): one gap between the two completions (%.3f)", x.stream_rate);
}

static void test_ramp(void)
{
	tap_ok(dura_ramp_length_ns(20, 20.0, 2 * S) == 1 * S,
	       "ramp: one cycle (20 in flight at 20/s: 1 s) within half of a 2 s warm-up");
	tap_ok(dura_ramp_length_ns(20, 20.0, 1 * S) == 500 * MS,
	       "ramp: at most half the warm-up");
	tap_ok(dura_ramp_length_ns(20, 80.0, 2 * S) == 250 * MS, "ramp: 4:4 anchor cycle 250 ms");
	tap_ok(dura_ramp_length_ns(20, 0, 2 * S) == 1 * S, "ramp: no bound: half the warm-up");
	tap_ok(dura_ramp_length_ns(20, 20.0, 0) == 0 && dura_ramp_length_ns(1, 20.0, 2 * S) == 0,
	       "ramp: none without a warm-up or with one slot");

	unsigned slots = 20;
	uint64_t ramp = 1 * S;
	tap_ok(dura_ramp_open_slots(slots, ramp, 0) == 1, "ramp: the first instance starts at once");
	tap_ok(dura_ramp_open_slots(slots, 0, 0) == slots, "no ramp: every slot open at once");
	tap_ok(dura_ramp_open_slots(slots, ramp, ramp) == slots, "ramp: all open at its end");
	/* walk the ramp by its own next-open times: slot k opens at k * 50 ms */
	uint64_t t = 0;
	unsigned opened = 1, even = 1;
	for (;;) {
		uint64_t next = dura_ramp_next_open_ns(slots, ramp, t);
		if (next == UINT64_MAX)
			break;
		unsigned o = dura_ramp_open_slots(slots, ramp, next);
		if (o != opened + 1 || next != opened * 50 * MS ||
		    dura_ramp_open_slots(slots, ramp, next - 1) != opened)
			even = 0;
		opened = o;
		t = next;
	}
	tap_ok(even && opened == slots,
	       "ramp: slots open one by one, 50 ms apart, and the next-open time is exact (%u)",
	       opened);
	tap_ok(dura_ramp_next_open_ns(3, 10, 0) == 4 && dura_ramp_open_slots(3, 10, 3) == 1 &&
	       dura_ramp_open_slots(3, 10, 4) == 2,
	       "ramp: uneven division rounds the opening up (3 slots over 10 ns)");
}

int main(void)
{
	test_waves();
	test_steady();
	test_stall();
	test_edges();
	test_ramp();
	test_batched();
	test_latency_exact();
	return tap_done();
}
