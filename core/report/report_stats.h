/*
 * The statistics behind "is this ratio real?": medians and spreads of
 * repeated runs, and a 95 % confidence interval for the ratio of two sets
 * of repeats.
 *
 * The interval is computed on the log scale (benchmark figures are
 * positive and their noise is multiplicative): with a = ln(subject values),
 * b = ln(baseline values), the difference of means d = mean(a) - mean(b)
 * has standard error se = sqrt(var(a)/n_a + var(b)/n_b) (sample variances)
 * and Welch-Satterthwaite degrees of freedom; the interval is
 * exp(d -/+ t(0.975, df) * se), i.e. an interval for the ratio of the
 * geometric means.  Small repeat counts get Student's t, so 2 repeats give
 * an honestly wide interval rather than a falsely precise one.
 */
#ifndef DURA_REPORT_STATS_H
#define DURA_REPORT_STATS_H

#include <stddef.h>

/* Median of v[0..n) (v is sorted in place); NaN when n == 0. */
double dura_stats_median(double *v, size_t n);

/* Smallest and largest of v[0..n); NaN when n == 0. */
void dura_stats_range(const double *v, size_t n, double *lo, double *hi);

/* The 97.5 % quantile of Student's t with df degrees of freedom (df may
 * be fractional, >= 1): exact table values at integers 1..30, 40, 60, 120
 * and the normal 1.96 beyond, linear in 1/df between (error < 0.3 %). */
double dura_stats_t975(double df);

/* 95 % interval of subject/baseline from the repeats of each side, into
 * ci[0] (low) and ci[1] (high).  -1 (ci NaN) when either side has fewer
 * than 2 values or a value that is not finite and > 0.  Two sides without
 * any variation give the point ratio as both bounds. */
int dura_stats_ratio_ci(const double *subject, size_t n_subject, const double *baseline,
                        size_t n_baseline, double ci[2]);

#endif
