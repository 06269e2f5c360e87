/*
 * The regression gate: `--baseline FILE --max-drop P [--max-latency-rise P2]`.
 * FILE is a `--json` report or a `--track` history (its last entry).  Every
 * (provider, config) present on both sides is compared, repeats averaged on
 * each side; throughput below baseline x (1 - P/100), or p99 latency above
 * baseline x (1 + P2/100) when asked, is a regression.  When both sides
 * have at least 2 runs of a pair, a throughput drop whose 95 % interval
 * (report_stats.h) still includes 1.0 is inside the noise: reported as
 * such, not a regression.
 */
#ifndef DURA_REPORT_BASELINE_H
#define DURA_REPORT_BASELINE_H

#include <stddef.h>
#include <stdio.h>

#include "report.h"

/* One (provider, config) of the baseline, repeats averaged. */
struct dura_baseline_entry {
	char *provider;
	char *config;          /* "O:W" */
	double orch_per_sec;   /* NaN when no run of the pair has a figure */
	double p99_ms;         /* NaN when unknown */
	unsigned runs;         /* runs averaged into orch_per_sec */
	double *orch_values;   /* the runs' figures (runs of them), owned */
};

/* A loaded baseline; owns every string.  Free with dura_baseline_free. */
struct dura_baseline {
	char *source;          /* "JSON report" / "track history, entry 7 (line 7)" */
	char *date;            /* when the baseline ran, NULL if unknown */
	char *commit;          /* its durabench commit, NULL if unknown */
	char *warning;         /* damaged lines skipped at the end of a history,
	                          NULL when none: the caller prints it */
	struct dura_baseline_entry *entries;
	size_t n;
};

/* Largest baseline file accepted (a long history of daily entries is a few
 * MiB; anything bigger is not one of ours). */
#define DURA_BASELINE_MAX_BYTES ((size_t)64 << 20)

/* Reads and parses FILE.  -1 with err (naming the file and what is wrong:
 * missing, empty, too large, not JSON, not a durabench document) on error. */
int dura_baseline_load(const char *path, struct dura_baseline *b, char *err, size_t errlen);

/* The same from text already in memory; name is used in messages. */
int dura_baseline_parse(const char *text, size_t len, const char *name,
                        struct dura_baseline *b, char *err, size_t errlen);

void dura_baseline_free(struct dura_baseline *b);

struct dura_gate {
	double max_drop_pct;          /* throughput may fall at most this much */
	double max_latency_rise_pct;  /* p99 may rise at most this much; < 0: not checked */
};

/* One compared pair. */
struct dura_baseline_row {
	const char *provider;         /* borrowed from the report */
	char config[32];
	double base_orch, cur_orch, orch_change_pct;  /* change NaN if base is 0 */
	double base_p99, cur_p99, p99_change_pct;     /* NaN when unknown */
	unsigned base_runs, cur_runs;
	double ratio_ci[2];           /* 95 % interval of cur/base orch/s, NaN
	                                 unless both sides have >= 2 runs */
	int within_noise;             /* below the allowed drop, but the interval
	                                 includes 1.0: not a regression */
	int throughput_regressed;
	int latency_regressed;
};

/* Pairs of the report (in run order, repeats averaged, runs that did not run
 * skipped) that the baseline has a throughput figure for.  *rows is
 * malloc'ed (caller frees); returns the count. */
size_t dura_baseline_compare(const struct dura_report *r, const struct dura_baseline *b,
                             const struct dura_gate *g, struct dura_baseline_row **rows);

/* The "Baseline comparison" Markdown section (rows from dura_baseline_compare
 * on r), with a note naming the pairs of r that were not compared. */
void dura_baseline_markdown(FILE *f, const struct dura_report *r, const char *path,
                            const struct dura_baseline *b, const struct dura_gate *g,
                            const struct dura_baseline_row *rows, size_t n);

/* Parses "20" or "20%" (also "12.5 %") into *out, refusing anything outside
 * [0, max] (max < 0: no upper bound) or not a plain decimal number. */
int dura_parse_percent(const char *s, double max, double *out, char *err, size_t errlen);

#endif
