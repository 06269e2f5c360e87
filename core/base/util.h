/*
 * Small helpers every part of the core uses: clocks, allocation that treats
 * out-of-memory as fatal, growable byte buffers, error text.
 */
#ifndef DURA_UTIL_H
#define DURA_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

/* Monotonic clock. */
uint64_t dura_now_ns(void);
uint64_t dura_now_ms(void);
/* Wall clock, seconds since the epoch (for report dates only). */
int64_t dura_wall_time(void);
void dura_sleep_ms(uint32_t ms);

/* Allocation: a benchmark harness cannot do anything useful without memory,
 * so these print a message and abort instead of returning NULL (the redis
 * zmalloc approach).  Free with free(). */
void *dura_xmalloc(size_t n);
void *dura_xcalloc(size_t n, size_t size);
void *dura_xrealloc(void *p, size_t n);
char *dura_xstrdup(const char *s);
char *dura_xstrndup(const char *s, size_t n);
char *dura_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write a formatted one-line message into a provider error buffer. */
void dura_err_set(struct dura_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same into a plain buffer (snprintf that tolerates buf == NULL). */
void dura_errbuf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Growable byte buffer.  Zero-initialise; owns data; dura_buf_free frees. */
struct dura_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};
void dura_buf_reserve(struct dura_buf *b, size_t extra);
void dura_buf_append(struct dura_buf *b, const void *p, size_t n);
void dura_buf_printf(struct dura_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void dura_buf_reset(struct dura_buf *b); /* len = 0, keeps memory */
void dura_buf_free(struct dura_buf *b);

/* Cheap thread-safe pseudo random numbers (xorshift seeded per thread from
 * the clock and thread id); not for secrets. */
uint64_t dura_rand64(void);

#endif
