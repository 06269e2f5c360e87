/* Clocks, fatal-on-OOM allocation, byte buffers, error text. */
#include "config.h"

#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t dura_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t dura_now_ms(void)
{
	return dura_now_ns() / 1000000u;
}

int64_t dura_wall_time(void)
{
	return (int64_t)time(NULL);
}

void dura_sleep_ms(uint32_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void oom(size_t n)
{
	fprintf(stderr, "durabench: out of memory allocating %zu bytes\n", n);
	abort();
}

void *dura_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *dura_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *dura_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *dura_xstrdup(const char *s)
{
	return dura_xstrndup(s, strlen(s));
}

char *dura_xstrndup(const char *s, size_t n)
{
	char *p = dura_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *dura_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	char *p = dura_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void dura_err_set(struct dura_err *err, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

void dura_errbuf(char *buf, size_t len, const char *fmt, ...)
{
	if (!buf || !len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

void dura_buf_reserve(struct dura_buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra)
		cap *= 2;
	b->data = dura_xrealloc(b->data, cap);
	b->cap = cap;
}

void dura_buf_append(struct dura_buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	dura_buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void dura_buf_printf(struct dura_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	/* +1 for vsnprintf's terminator, which is not counted in len. */
	dura_buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void dura_buf_reset(struct dura_buf *b)
{
	b->len = 0;
}

void dura_buf_free(struct dura_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

uint64_t dura_rand64(void)
{
	static _Thread_local uint64_t state;
	if (state == 0) {
		state = dura_now_ns() ^ ((uint64_t)(uintptr_t)&state << 17) ^
		        (uint64_t)pthread_self();
		if (state == 0)
			state = 0x9e3779b97f4a7c15ull;
	}
	/* xorshift64* */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return state * 0x2545f4914f6cdd1dull;
}
