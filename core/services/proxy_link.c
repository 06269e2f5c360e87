/* Delay queue for one direction of an emulated link (see proxy_link.h). */
#include "config.h"

#include "proxy_link.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

/* Largest chunk without a bandwidth cap: one read's worth. */
#define LINK_CHUNK_MAX 65536u

void dura_link_init(struct dura_link *l, const struct dura_link_params *par)
{
	memset(l, 0, sizeof *l);
	l->par = *par;
}

/* With a cap, chunks hold about 2 ms of link time (at least 1 KiB) so that a
 * large read trickles out instead of arriving in one late burst. */
static size_t chunk_limit(const struct dura_link *l)
{
	if (l->par.bandwidth_bps == 0)
		return LINK_CHUNK_MAX;
	uint64_t n = l->par.bandwidth_bps / 500;
	if (n < 1024)
		n = 1024;
	if (n > LINK_CHUNK_MAX)
		n = LINK_CHUNK_MAX;
	return (size_t)n;
}

/* Release time for n bytes handed to the link at now_ns. */
static uint64_t stamp(struct dura_link *l, size_t n, uint64_t now_ns)
{
	uint64_t arrive = now_ns;
	if (l->par.bandwidth_bps) {
		uint64_t start = l->link_free_ns > now_ns ? l->link_free_ns : now_ns;
		/* n <= 64 KiB, so n * 1e9 cannot overflow */
		uint64_t busy = ((uint64_t)n * 1000000000u + l->par.bandwidth_bps - 1) /
		                l->par.bandwidth_bps;
		l->link_free_ns = start + busy;
		arrive = l->link_free_ns;
	}
	uint64_t release = arrive + l->par.delay_ns;
	if (l->par.jitter_ns) {
		uint64_t span = 2 * l->par.jitter_ns + 1;
		uint64_t r = dura_rand64() % span;
		if (r >= l->par.jitter_ns)
			release += r - l->par.jitter_ns;
		else if (l->par.jitter_ns - r <= release - arrive)
			release -= l->par.jitter_ns - r;
		else
			release = arrive; /* jitter larger than the delay: no time travel */
	}
	/* Never overtake an earlier chunk: a byte stream keeps its order. */
	if (release < l->last_release_ns)
		release = l->last_release_ns;
	l->last_release_ns = release;
	return release;
}

static void append(struct dura_link *l, const void *data, size_t n, uint64_t now_ns)
{
	/* Owned by the link until consume/pop/clear frees it. */
	struct dura_link_chunk *c = dura_xmalloc(sizeof *c + n);
	c->next = NULL;
	c->len = n;
	c->off = 0;
	if (n)
		memcpy(c->data, data, n);
	c->release_ns = stamp(l, n, now_ns);
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->queued_bytes += n;
}

void dura_link_push(struct dura_link *l, const void *data, size_t n, uint64_t now_ns)
{
	const unsigned char *p = data;
	size_t limit = chunk_limit(l);
	while (n > 0) {
		size_t take = n < limit ? n : limit;
		append(l, p, take, now_ns);
		p += take;
		n -= take;
	}
}

void dura_link_push_fin(struct dura_link *l, uint64_t now_ns)
{
	if (l->fin_queued)
		return;
	l->fin_queued = 1;
	append(l, NULL, 0, now_ns);
}

uint64_t dura_link_next_due(const struct dura_link *l)
{
	return l->head ? l->head->release_ns : UINT64_MAX;
}

int dura_link_due_iov(const struct dura_link *l, uint64_t now_ns, struct iovec *iov, int max)
{
	int n = 0;
	for (const struct dura_link_chunk *c = l->head;
	     c && n < max && c->len > 0 && c->release_ns <= now_ns; c = c->next) {
		iov[n].iov_base = (void *)(c->data + c->off);
		iov[n].iov_len = c->len - c->off;
		n++;
	}
	return n;
}

void dura_link_pop(struct dura_link *l)
{
	struct dura_link_chunk *c = l->head;
	if (!c)
		return;
	l->head = c->next;
	if (!l->head)
		l->tail = NULL;
	l->queued_bytes -= c->len - c->off;
	free(c);
}

void dura_link_consume(struct dura_link *l, size_t n)
{
	while (n > 0 && l->head) {
		struct dura_link_chunk *c = l->head;
		size_t left = c->len - c->off;
		if (n < left) {
			c->off += n;
			l->queued_bytes -= n;
			return;
		}
		n -= left;
		dura_link_pop(l);
	}
}

int dura_link_fin_due(const struct dura_link *l, uint64_t now_ns)
{
	return l->head && l->head->len == 0 && l->head->release_ns <= now_ns;
}

void dura_link_clear(struct dura_link *l)
{
	while (l->head)
		dura_link_pop(l);
}
