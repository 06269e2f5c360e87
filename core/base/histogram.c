/* Log-linear histogram with atomic buckets (see histogram.h). */
#include "config.h"

#include "histogram.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "util.h"

/* 2^SUB_BITS sub-buckets per power of two: relative width 1/128. */
#define SUB_BITS 7
#define SUB_COUNT (1u << SUB_BITS)
/* Exact buckets 0..127, then 128 buckets for each exponent 7..63. */
#define N_BUCKETS (SUB_COUNT + (64 - SUB_BITS) * SUB_COUNT)

struct dura_histogram {
	_Atomic uint64_t count;
	_Atomic uint64_t sum;   /* wraps only after ~584 years of nanoseconds */
	_Atomic uint64_t max;
	_Atomic uint64_t min;   /* UINT64_MAX while empty */
	_Atomic uint64_t buckets[N_BUCKETS];
};

static unsigned bucket_of(uint64_t v)
{
	if (v < SUB_COUNT)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS */
	unsigned sub = (unsigned)(v >> (e - SUB_BITS)) - SUB_COUNT;
	return SUB_COUNT + (e - SUB_BITS) * SUB_COUNT + sub;
}

/* Lowest value of bucket b and its width. */
static void bucket_range(unsigned b, uint64_t *lo, uint64_t *width)
{
	if (b < SUB_COUNT) {
		*lo = b;
		*width = 1;
		return;
	}
	unsigned e = (b - SUB_COUNT) / SUB_COUNT + SUB_BITS;
	uint64_t sub = (b - SUB_COUNT) % SUB_COUNT;
	*width = (uint64_t)1 << (e - SUB_BITS);
	*lo = (SUB_COUNT + sub) << (e - SUB_BITS);
}

struct dura_histogram *dura_histogram_new(void)
{
	struct dura_histogram *h = dura_xmalloc(sizeof *h);
	dura_histogram_reset(h);
	return h;
}

void dura_histogram_free(struct dura_histogram *h)
{
	free(h);
}

void dura_histogram_reset(struct dura_histogram *h)
{
	atomic_init(&h->count, 0);
	atomic_init(&h->sum, 0);
	atomic_init(&h->max, 0);
	atomic_init(&h->min, UINT64_MAX);
	for (unsigned i = 0; i < N_BUCKETS; i++)
		atomic_init(&h->buckets[i], 0);
}

static void atomic_max(_Atomic uint64_t *a, uint64_t v)
{
	uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
	while (v > cur &&
	       !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
	                                              memory_order_relaxed))
		;
}

static void atomic_min(_Atomic uint64_t *a, uint64_t v)
{
	uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
	while (v < cur &&
	       !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
	                                              memory_order_relaxed))
		;
}

void dura_histogram_record(struct dura_histogram *h, uint64_t value)
{
	atomic_fetch_add_explicit(&h->buckets[bucket_of(value)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum, value, memory_order_relaxed);
	atomic_max(&h->max, value);
	atomic_min(&h->min, value);
	/* count last, with release: a reader that sees the count sees the rest */
	atomic_fetch_add_explicit(&h->count, 1, memory_order_release);
}

void dura_histogram_merge(struct dura_histogram *dst, const struct dura_histogram *src)
{
	uint64_t n = atomic_load_explicit(&src->count, memory_order_acquire);
	if (n == 0)
		return;
	for (unsigned i = 0; i < N_BUCKETS; i++) {
		uint64_t c = atomic_load_explicit(&src->buckets[i], memory_order_relaxed);
		if (c)
			atomic_fetch_add_explicit(&dst->buckets[i], c, memory_order_relaxed);
	}
	atomic_fetch_add_explicit(&dst->sum, atomic_load(&src->sum), memory_order_relaxed);
	atomic_max(&dst->max, atomic_load(&src->max));
	atomic_min(&dst->min, atomic_load(&src->min));
	atomic_fetch_add_explicit(&dst->count, n, memory_order_release);
}

uint64_t dura_histogram_count(const struct dura_histogram *h)
{
	return atomic_load_explicit(&h->count, memory_order_acquire);
}

uint64_t dura_histogram_max(const struct dura_histogram *h)
{
	return dura_histogram_count(h) ? atomic_load(&h->max) : 0;
}

uint64_t dura_histogram_min(const struct dura_histogram *h)
{
	return dura_histogram_count(h) ? atomic_load(&h->min) : 0;
}

double dura_histogram_mean(const struct dura_histogram *h)
{
	uint64_t n = dura_histogram_count(h);
	return n ? (double)atomic_load(&h->sum) / (double)n : 0.0;
}

uint64_t dura_nearest_rank(uint64_t n, double p)
{
	/* p * n before the division: 95 * 100 / 100 is exactly 95, where
	 * 0.95 * 100 may not be */
	double want = p * (double)n / 100.0;
	uint64_t rank = (uint64_t)want;
	if ((double)rank < want)
		rank++; /* ceil without libm */
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return rank;
}

double dura_histogram_percentile(const struct dura_histogram *h, double p)
{
	uint64_t n = dura_histogram_count(h);
	if (n == 0 || !(p > 0))
		return n ? (double)dura_histogram_min(h) : 0.0;
	if (p > 100)
		p = 100;
	uint64_t rank = dura_nearest_rank(n, p);
	uint64_t seen = 0;
	for (unsigned b = 0; b < N_BUCKETS; b++) {
		seen += atomic_load_explicit(&h->buckets[b], memory_order_relaxed);
		if (seen >= rank) {
			uint64_t lo, width;
			bucket_range(b, &lo, &width);
			double mid = (double)lo + (double)(width - 1) / 2.0;
			/* the exact extremes beat a bucket midpoint */
			double mx = (double)dura_histogram_max(h), mn = (double)dura_histogram_min(h);
			if (mid > mx)
				mid = mx;
			if (mid < mn)
				mid = mn;
			return mid;
		}
	}
	return (double)dura_histogram_max(h);
}
