/*
 * Log-linear latency histogram (the HdrHistogram layout): values below 2^7
 * are counted exactly; above, every power of two is split into 128 equal
 * sub-buckets, so a bucket is at most 1/128 of its lower bound wide and the
 * reported midpoint is within 0.4 % of any value in it.
 *
 * Recording is lock-free (relaxed atomic adds on the buckets), so completion
 * callbacks on many dispatcher threads can record into one histogram.
 * Reads (percentiles, mean) are meant for when recording has stopped; taken
 * during recording they are approximate but never crash.
 */
#ifndef DURA_HISTOGRAM_H
#define DURA_HISTOGRAM_H

#include <stdint.h>

struct dura_histogram;

/* A new empty histogram (values are plain integers, e.g. nanoseconds).
 * Free with dura_histogram_free. */
struct dura_histogram *dura_histogram_new(void);
void dura_histogram_free(struct dura_histogram *h);

/* Thread-safe. */
void dura_histogram_record(struct dura_histogram *h, uint64_t value);

/* Adds every count of src to dst (src unchanged). */
void dura_histogram_merge(struct dura_histogram *dst, const struct dura_histogram *src);
void dura_histogram_reset(struct dura_histogram *h);

uint64_t dura_histogram_count(const struct dura_histogram *h);
uint64_t dura_histogram_max(const struct dura_histogram *h);   /* exact; 0 if empty */
uint64_t dura_histogram_min(const struct dura_histogram *h);   /* exact; 0 if empty */
double dura_histogram_mean(const struct dura_histogram *h);    /* exact; 0 if empty */

/* The 1-based nearest rank of percentile p (0 < p <= 100) among n > 0
 * sorted values: ceil(p / 100 * n), within [1, n].  Shared by the
 * histogram and the exact percentiles over samples. */
uint64_t dura_nearest_rank(uint64_t n, double p);

/* Nearest-rank percentile (0 < p <= 100): the smallest recorded value v such
 * that at least p % of the values are <= v, within 0.4 %.  0 if empty. */
double dura_histogram_percentile(const struct dura_histogram *h, double p);

#endif
