/*
 * Steady-state measurement of a run: the ramp-up that staggers the first
 * instances of a closed loop, and the throughput of the steady window
 * taken from the completion stream rather than from the wall clock.
 * Pure functions over times and instance records, so the method is tested
 * on synthetic streams (tests/unit_steady_state.c); docs/benchmarks.md
 * ("Repeatable figures") explains why each piece exists.
 */
#ifndef DURA_STEADY_STATE_H
#define DURA_STEADY_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "timeline.h"

/* How long the ramp-up of a closed loop of `slots` instances lasts: one
 * cycle (slots / bound seconds: the time an instance takes at the bound),
 * but at most half the warm-up, so the loop has the other half to settle;
 * half the warm-up when the workload has no bound; 0 without a warm-up
 * (no ramp-up: nothing would hide it) or with at most one slot. */
uint64_t dura_ramp_length_ns(unsigned slots, double bound_orch_per_sec, uint64_t warmup_ns);

/* Slots open `elapsed_ns` after launching began: slot k (0-based) opens at
 * k * ramp_ns / slots, so the first instance starts at once and the last
 * slot opens just before the ramp ends.  All slots with ramp_ns == 0. */
unsigned dura_ramp_open_slots(unsigned slots, uint64_t ramp_ns, uint64_t elapsed_ns);

/* When (elapsed ns) the next slot opens after `elapsed_ns`; UINT64_MAX when
 * every slot is open. */
uint64_t dura_ramp_next_open_ns(unsigned slots, uint64_t ramp_ns, uint64_t elapsed_ns);

/* Throughput of the window [win_start_ns, win_end_ns] of a run. */
struct dura_steady_rate {
	uint64_t completions;   /* completed instances whose end is in the window */
	/* The headline: completions per second between two completions of the
	 * stream that are a whole number of periods apart (see
	 * dura_steady_rate_compute); NaN when the window holds no completion. */
	double stream_rate;
	uint64_t stream_gaps;   /* completions counted by stream_rate */
	double stream_span_s;   /* the time they took (0: fell back to counted) */
	double counted_rate;    /* completions / window length (the wall-clock
	                           method, for comparison); NaN for an empty window */
	/* Little's law, the cross-check: mean number in flight over the window
	 * / mean latency of the window's completions; NaN when either is 0. */
	double little_rate;
	double mean_in_flight;
	double mean_latency_s;
};

/* How many cycles of the window may pass without a counted completion (at
 * its two ends together) before the stream no longer stands for it and the
 * rate falls back to the wall-clock count.  A steady stream leaves about
 * one cycle in all (the window opens and closes at some phase of the
 * cycle; waves or an even stream alike); 2.5 leaves room for jitter, and
 * more is a stall. */
#define DURA_STREAM_MAX_UNCOVERED_CYCLES 2.5

/* Fills *out from n instance records.  period: the number of completions
 * after which a closed loop's completion pattern repeats (its
 * max_concurrent: every slot completes once per cycle); 1 for an open
 * loop.  stream_rate = q * period / (t[q * period] - t[0]) over the sorted
 * end times t[] of the window's completed instances, with the largest q
 * that fits: both ends are completions at the same phase of the cycle, so
 * a window that catches a wave more or less counts neither.  With fewer
 * than period + 1 completions (a window shorter than a cycle), or when the
 * counted completions leave more than DURA_STREAM_MAX_UNCOVERED_CYCLES
 * cycles of the window uncovered (the store stalled), it falls back to
 * counted_rate. */
void dura_steady_rate_compute(const struct dura_inst_record *inst, size_t n,
                              uint64_t win_start_ns, uint64_t win_end_ns, unsigned period,
                              struct dura_steady_rate *out);

/* Latency of a run, exact, over the completions the steady window counts:
 * the ones stream_rate counts (the whole cycles of `period` completions
 * after the window's first, dura_steady_rate_compute), so the figures
 * describe the same completions as the throughput, every slot of a closed
 * loop the same number of times, and neither the warm-up's nor the
 * drain's.  A window with fewer than period + 1 completions (an instance
 * takes longer than the window) holds too few, and the early ones only;
 * then every completion from the window's start on counts, the drain's
 * included.  Each completion's latency_ns (end_ns - start_ns when 0);
 * p50/p95/p99 are nearest-rank percentiles of the sorted latencies
 * themselves, not of histogram buckets: p50 is the latency of the
 * ceil(n / 2)-th fastest.  All 0 when there is none. */
struct dura_latency;
void dura_steady_latency_compute(const struct dura_inst_record *inst, size_t n,
                                 uint64_t win_start_ns, uint64_t win_end_ns, unsigned period,
                                 struct dura_latency *out);

#endif
