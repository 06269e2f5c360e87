/* Histogram: percentiles of known distributions against exact nearest-rank
 * percentiles (< 1 % relative error), exact mean/max, merge, threads. */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/histogram.h"
#include "tap.h"

#define N 200000

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static double unit(void)
{
	return ((double)(rng() >> 11) + 0.5) / 9007199254740992.0; /* (0,1) */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* nearest rank on sorted v */
static uint64_t exact_percentile(const uint64_t *v, size_t n, double p)
{
	double want = p / 100.0 * (double)n;
	size_t rank = (size_t)ceil(want);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static double rel_err(double got, double want)
{
	if (want == 0)
		return got == 0 ? 0 : 1;
	return fabs(got - want) / want;
}

/* Records v[0..n) and checks percentiles, mean, max, min. */
static void check_distribution(const char *name, uint64_t *v, size_t n, int check_mean)
{
	struct dura_histogram *h = dura_histogram_new();
	long double sum = 0;
	for (size_t i = 0; i < n; i++) {
		dura_histogram_record(h, v[i]);
		sum += v[i];
	}
	qsort(v, n, sizeof *v, cmp_u64);
	static const double ps[] = { 1, 25, 50, 90, 95, 99, 99.9, 100 };
	double worst = 0, worst_p = 0;
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
		double e = rel_err(dura_histogram_percentile(h, ps[i]),
		                   (double)exact_percentile(v, n, ps[i]));
		if (e > worst) {
			worst = e;
			worst_p = ps[i];
		}
	}
	tap_ok(worst < 0.01, "%s: percentiles within 1 %% (worst %.4f %% at p%g)", name,
	       worst * 100, worst_p);
	tap_ok(dura_histogram_count(h) == n, "%s: count", name);
	tap_ok(dura_histogram_max(h) == v[n - 1], "%s: max exact", name);
	tap_ok(dura_histogram_min(h) == v[0], "%s: min exact", name);
	/* the sum is a uint64_t (584 years of nanoseconds): huge values wrap */
	if (check_mean)
		tap_ok(rel_err(dura_histogram_mean(h), (double)(sum / n)) < 1e-9, "%s: mean exact",
		       name);
	dura_histogram_free(h);
}

struct thread_arg {
	struct dura_histogram *h;
	uint64_t base;
};

static void *recorder(void *arg)
{
	struct thread_arg *a = arg;
	for (uint64_t i = 1; i <= 50000; i++)
		dura_histogram_record(a->h, a->base + i);
	return NULL;
}

int main(void)
{
	uint64_t *v = malloc(N * sizeof *v);

	for (size_t i = 0; i < N; i++)
		v[i] = 1 + rng() % 1000000;
	check_distribution("uniform 1..1e6", v, N, 1);

	for (size_t i = 0; i < N; i++)
		v[i] = (uint64_t)(-log(unit()) * 5e6); /* exponential, mean 5 ms in ns */
	check_distribution("exponential", v, N, 1);

	for (size_t i = 0; i < N; i++) {
		/* log-normal via Box-Muller: latency-like, long tail */
		double z = sqrt(-2 * log(unit())) * cos(6.283185307179586 * unit());
		v[i] = (uint64_t)exp(16.0 + 1.2 * z);
	}
	check_distribution("log-normal", v, N, 1);

	for (size_t i = 0; i < N; i++)
		v[i] = (i % 10 == 0 ? 900000000u : 2000000u) + rng() % 1000;
	check_distribution("bimodal 2 ms / 900 ms", v, N, 1);

	for (size_t i = 0; i < N; i++)
		v[i] = rng() % 128;
	check_distribution("small exact values", v, N, 1);

	for (size_t i = 0; i < N; i++)
		v[i] = 12345678901ull;
	check_distribution("constant", v, N, 1);

	for (size_t i = 0; i < N; i++)
		v[i] = rng() >> (rng() % 60); /* spans 2^4 .. 2^64 */
	check_distribution("all magnitudes", v, N, 0);

	/* empty */
	struct dura_histogram *h = dura_histogram_new();
	tap_ok(dura_histogram_count(h) == 0 && dura_histogram_percentile(h, 50) == 0 &&
	       dura_histogram_mean(h) == 0 && dura_histogram_max(h) == 0,
	       "empty histogram reports zeros");
	dura_histogram_record(h, UINT64_MAX);
	dura_histogram_record(h, 0);
	tap_ok(dura_histogram_max(h) == UINT64_MAX && dura_histogram_min(h) == 0 &&
	       rel_err(dura_histogram_percentile(h, 100), (double)UINT64_MAX) < 0.01 &&
	       dura_histogram_percentile(h, 50) == 0,
	       "extreme values 0 and UINT64_MAX");
	dura_histogram_reset(h);
	tap_ok(dura_histogram_count(h) == 0, "reset empties");

	/* merge equals recording everything in one */
	struct dura_histogram *a = dura_histogram_new(), *b = dura_histogram_new(),
	                      *all = dura_histogram_new();
	for (size_t i = 0; i < N; i++) {
		uint64_t x = (uint64_t)(-log(unit()) * 1e6);
		dura_histogram_record(i % 3 ? a : b, x);
		dura_histogram_record(all, x);
	}
	dura_histogram_merge(a, b);
	int same = dura_histogram_count(a) == dura_histogram_count(all) &&
	           dura_histogram_max(a) == dura_histogram_max(all) &&
	           dura_histogram_min(a) == dura_histogram_min(all) &&
	           dura_histogram_mean(a) == dura_histogram_mean(all);
	for (double p = 1; p <= 100; p += 0.5)
		same = same && dura_histogram_percentile(a, p) == dura_histogram_percentile(all, p);
	tap_ok(same, "merge gives the same histogram as recording all values");
	dura_histogram_free(a);
	dura_histogram_free(b);
	dura_histogram_free(all);

	/* concurrent recording loses nothing */
	pthread_t th[4];
	struct thread_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i].h = h;
		args[i].base = (uint64_t)i * 50000;
		pthread_create(&th[i], NULL, recorder, &args[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	tap_ok(dura_histogram_count(h) == 200000, "4 threads x 50000 records: count %llu",
	       (unsigned long long)dura_histogram_count(h));
	tap_ok(dura_histogram_max(h) == 200000 && dura_histogram_min(h) == 1 &&
	       dura_histogram_mean(h) == 100000.5,
	       "concurrent records: exact min, max and mean");
	tap_ok(rel_err(dura_histogram_percentile(h, 50), 100000) < 0.01,
	       "concurrent records: median %.0f", dura_histogram_percentile(h, 50));
	dura_histogram_free(h);
	free(v);
	return tap_done();
}
