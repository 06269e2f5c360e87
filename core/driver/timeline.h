/*
 * Per-interval timelines of a run and the recovery figures of its faults
 * (DESIGN section 8: runs[].timeline[], runs[].faults[]).
 *
 * Pure computations over what the driver recorded: one record per instance
 * (start, end, outcome) and one sample per interval boundary (activities
 * run, provider stats).  No clocks, no threads, so they are unit-tested on
 * synthetic data (tests/unit_timeline.c).
 */
#ifndef DURA_TIMELINE_H
#define DURA_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

/* Outcome of an instance record: enum dura_outcome (0..3), or these. */
#define DURA_INST_RUNNING (-1)
#define DURA_INST_TIMEOUT 5

struct dura_inst_record {
	uint64_t start_ns;   /* just before its start call */
	uint64_t end_ns;     /* terminal callback, 0 when none came */
	uint64_t latency_ns; /* start call to committed terminal ack as the
	                        runtime measured it; 0: end_ns - start_ns */
	int8_t outcome;      /* DURA_INST_RUNNING, enum dura_outcome, DURA_INST_TIMEOUT */
	uint8_t lost;        /* verification found it missing or wrong */
};

struct dura_failed_counts {
	uint64_t infra, config, app, timeout, corrupt;
};

/* Taken at (about) each interval boundary while instances are launched. */
struct dura_timeline_sample {
	uint64_t t_ns;          /* when taken */
	uint64_t activities;    /* activities run so far */
	int have_stats;
	struct dura_stats stats; /* provider counters so far */
};

struct dura_timeline_point {
	double t_s;             /* interval start, from the start of the run */
	double len_s;           /* its length (the last may be shorter) */
	uint64_t completed;     /* instances completed in it */
	double orch_per_sec;
	double activities_per_sec; /* NaN when not sampled */
	double p50_ms, p99_ms;  /* of the completions in it; NaN when none */
	uint64_t in_flight;     /* at its end */
	struct dura_failed_counts failed; /* instances that failed in it */
	int have_stats;         /* deltas below are known */
	uint64_t round_trips, retries, reconnects, lock_conflicts;
};

/* Builds the timeline of [t0, end) in intervals of interval_ns from the
 * instance records and the samples (samples[k] taken at the end of interval
 * k, about t0 + (k+1) * interval; a sample at t0 comes first).  *out is
 * malloc'ed (caller frees); returns the number of intervals. */
size_t dura_timeline_build(const struct dura_inst_record *inst, size_t n_inst, uint64_t t0_ns,
                           uint64_t end_ns, uint64_t interval_ns,
                           const struct dura_timeline_sample *samples, size_t n_samples,
                           struct dura_timeline_point **out);

/* A time window of a run, seconds from its start. */
struct dura_window {
	double begin_s, end_s;
};

struct dura_recovery {
	double before_orch_per_sec; /* median of the earlier steady intervals,
	                               NaN when there is none */
	double recovery_s;          /* from the fault's end until an interval at
	                               >= 90 % of before begins; NaN = not
	                               recovered within the timeline */
	double settled_s;           /* end of that interval (the end of the
	                               timeline when not recovered) */
};

/* Recovery of the fault `fault` (one of busy[]: every fault window of the
 * run, which "before" leaves out) on a timeline.  Intervals that start
 * before warmup_s or are shorter than a full interval are left out of
 * "before" unless nothing else precedes the fault.  The first interval that
 * ends after the fault's end with orch/s >= 90 % of before marks recovery,
 * at max(0, its start - the fault's end). */
void dura_recovery_compute(const struct dura_timeline_point *tl, size_t n, double warmup_s,
                           const struct dura_window *busy, size_t n_busy, size_t fault,
                           struct dura_recovery *out);

/* Figures of the instances in flight at some moment of [begin_ns, end_ns]:
 * the longest latency (an unfinished one counts until last_ns), failures by
 * category and how many were lost (timed out, or failed verification). */
struct dura_fault_instances {
	double max_latency_ms;       /* 0 when none was in flight */
	struct dura_failed_counts failed;
	uint64_t lost;
	uint64_t count;
};
void dura_fault_instances(const struct dura_inst_record *inst, size_t n_inst, uint64_t begin_ns,
                          uint64_t end_ns, uint64_t last_ns, struct dura_fault_instances *out);

/* Sums the retries and reconnects of the intervals overlapping [from_s, to_s]. */
void dura_timeline_sum_stats(const struct dura_timeline_point *tl, size_t n, double from_s,
                             double to_s, uint64_t *retries, uint64_t *reconnects);

#endif
