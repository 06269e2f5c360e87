/*
 * Progress of a `durabench run` on stderr, one object per invocation:
 *   live      one line redrawn in place ('\r') at most every 200 ms, cut to
 *             the terminal's width (read at every redraw, so a resized
 *             window is followed), cleared at the end of each run;
 *   periodic  a plain line every `period` (`--progress 5s`), for logs and
 *             CI, like pgbench -P;
 *   off       every call is a no-op, so callers need no checks.
 * A line says which run of how many, the phase with its own clock (the run
 * against its duration, the drain against its timeout), the completion
 * rate and p50/p99 latency of the last interval (since the previous line),
 * totals, and an estimate of the time left for the whole invocation.
 */
#ifndef DURA_PROGRESS_H
#define DURA_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

enum dura_progress_mode { DURA_PROGRESS_OFF, DURA_PROGRESS_LIVE, DURA_PROGRESS_PERIODIC };

struct dura_progress;

/* n_runs: runs the invocation plans; period_ms: the periodic interval.
 * Free with dura_progress_free. */
struct dura_progress *dura_progress_new(enum dura_progress_mode mode, uint64_t period_ms,
                                        size_t n_runs);
void dura_progress_free(struct dura_progress *p); /* NULL ok */

/* Run k (0-based) starts; label ("sqlite-mem 2:2") is copied; planned_s is
 * its launching time (duration), for the estimate. */
void dura_progress_begin_run(struct dura_progress *p, size_t k, const char *label,
                             double planned_s);
/* The run is over: a live line is cleared; its wall time refines the
 * estimate of the runs still to come. */
void dura_progress_end_run(struct dura_progress *p);

/* 1 when a line is due now (force it with dura_progress_show's force). */
int dura_progress_due(const struct dura_progress *p);

struct dura_progress_figures {
	const char *phase;          /* "run", "drain", "verify" */
	double phase_elapsed_s;     /* on the phase's own clock */
	double phase_total_s;       /* duration, drain timeout; 0: none */
	uint64_t launched, completed, failed, in_flight;  /* totals of the run */
	double p50_ms, p99_ms;      /* of completions since the last line; NaN none */
};

/* Shows a line when one is due or force != 0.  Returns 1 when it did (the
 * caller then starts a new latency interval). */
int dura_progress_show(struct dura_progress *p, const struct dura_progress_figures *f,
                       int force);

/* The text of a line for the given width in columns (0: no limit), as
 * the live and periodic displays print it; for tests.  rate is the
 * interval's completions per second, eta_s < 0 unknown. */
void dura_progress_format(char *buf, size_t len, int width, size_t run_k, size_t n_runs,
                          const char *label, const struct dura_progress_figures *f,
                          double rate, double eta_s);

#endif
