/* Medians, ranges and ratio intervals of repeats (see report_stats.h). */
#include "config.h"

#include "report_stats.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double dura_stats_median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void dura_stats_range(const double *v, size_t n, double *lo, double *hi)
{
	*lo = *hi = NAN;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || v[i] < *lo)
			*lo = v[i];
		if (i == 0 || v[i] > *hi)
			*hi = v[i];
	}
}

double dura_stats_t975(double df)
{
	/* t(0.975, df) for df = 1..30 */
	static const double small[30] = {
		12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
	};
	static const struct { double df, t; } large[] = {
		{ 30, 2.042 }, { 40, 2.021 }, { 60, 2.000 }, { 120, 1.980 }, { INFINITY, 1.960 },
	};
	if (!(df >= 1))
		df = 1;
	if (df <= 30) {
		int k = (int)df;
		if (k == 30 || df == k)
			return small[k - 1];
		/* between two integers: interpolate in 1/df, where t is nearly linear */
		double w = (1.0 / k - 1.0 / df) / (1.0 / k - 1.0 / (k + 1));
		return small[k - 1] + w * (small[k] - small[k - 1]);
	}
	for (size_t i = 0; i + 1 < sizeof large / sizeof large[0]; i++) {
		if (df <= large[i + 1].df) {
			double a = 1.0 / large[i].df, b = isinf(large[i + 1].df) ? 0 : 1.0 / large[i + 1].df;
			double w = (a - 1.0 / df) / (a - b);
			return large[i].t + w * (large[i + 1].t - large[i].t);
		}
	}
	return 1.960;
}

/* Mean and sample variance of ln(v); -1 when a value is not > 0. */
static int log_moments(const double *v, size_t n, double *mean, double *var)
{
	double s = 0, ss = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]) || !(v[i] > 0))
			return -1;
		s += log(v[i]);
	}
	*mean = s / (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (log(v[i]) - *mean) * (log(v[i]) - *mean);
	*var = ss / (double)(n - 1);
	return 0;
}

int dura_stats_ratio_ci(const double *subject, size_t n_subject, const double *baseline,
                        size_t n_baseline, double ci[2])
{
	ci[0] = ci[1] = NAN;
	double ma, va, mb, vb;
	if (n_subject < 2 || n_baseline < 2 || log_moments(subject, n_subject, &ma, &va) != 0 ||
	    log_moments(baseline, n_baseline, &mb, &vb) != 0)
		return -1;
	double qa = va / (double)n_subject, qb = vb / (double)n_baseline;
	double se = sqrt(qa + qb), d = ma - mb;
	double half = 0;
	if (se > 0) {
		double df = (qa + qb) * (qa + qb) /
		            (qa * qa / (double)(n_subject - 1) + qb * qb / (double)(n_baseline - 1));
		half = dura_stats_t975(df) * se;
	}
	ci[0] = exp(d - half);
	ci[1] = exp(d + half);
	return 0;
}
