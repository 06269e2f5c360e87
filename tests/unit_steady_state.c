/* The steady-state method on synthetic streams (core/driver/steady_state.c):
 * ramp-up staggering and the window throughput, with and without waves. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

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
	test_edges();
	test_ramp();
	return tap_done();
}
