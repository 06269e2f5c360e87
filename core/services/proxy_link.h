/*
 * One direction of an emulated network link: a FIFO of byte chunks, each
 * stamped with the time it may be delivered.  The stamp models a link of
 * fixed one-way delay, optional +- uniform jitter and an optional bandwidth
 * cap (a chunk of n bytes occupies the link for n / bandwidth seconds, so a
 * chunk cannot start crossing before the previous one has finished).  Release
 * times never decrease, so jitter never reorders bytes.
 *
 * Pure bookkeeping: no sockets, no clocks (callers pass "now"), so it can be
 * tested on its own.  Used by the delay proxy (core/proxy.c).
 */
#ifndef DURA_PROXY_LINK_H
#define DURA_PROXY_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct dura_link_params {
	uint64_t delay_ns;      /* one-way delay */
	uint64_t jitter_ns;     /* each chunk's delay is delay +- uniform(jitter) */
	uint64_t bandwidth_bps; /* bytes per second; 0 = unlimited */
};

/* A held chunk.  len == 0 marks the end of the stream (the sender's FIN),
 * which travels with the same delay as data. */
struct dura_link_chunk {
	struct dura_link_chunk *next;
	uint64_t release_ns;
	size_t len;
	size_t off;             /* bytes of data already written */
	unsigned char data[];
};

struct dura_link {
	struct dura_link_params par;
	struct dura_link_chunk *head, *tail; /* owned; freed by consume/clear */
	size_t queued_bytes;    /* data bytes held, not yet written */
	uint64_t last_release_ns;
	uint64_t link_free_ns;  /* when the emulated wire is idle again */
	int fin_queued;         /* push_fin was called */
};

void dura_link_init(struct dura_link *l, const struct dura_link_params *par);
/* Holds a copy of data[0..n) (n > 0) received at now_ns.  With a bandwidth
 * cap the data is split into small chunks so delivery is paced smoothly. */
void dura_link_push(struct dura_link *l, const void *data, size_t n, uint64_t now_ns);
/* Queues the end-of-stream marker (at most once). */
void dura_link_push_fin(struct dura_link *l, uint64_t now_ns);
/* Release time of the first held chunk; UINT64_MAX when empty. */
uint64_t dura_link_next_due(const struct dura_link *l);
/* Points iov[0..max) at the unwritten data of consecutive chunks due at
 * now_ns (stopping at the end marker); returns how many were filled. */
int dura_link_due_iov(const struct dura_link *l, uint64_t now_ns, struct iovec *iov, int max);
/* Marks n bytes as written (n <= what due_iov offered); frees chunks that are
 * done. */
void dura_link_consume(struct dura_link *l, size_t n);
/* 1 if the head is the end marker and due at now_ns. */
int dura_link_fin_due(const struct dura_link *l, uint64_t now_ns);
/* Drops the head chunk (used once the end marker has been acted on). */
void dura_link_pop(struct dura_link *l);
/* Frees everything held. */
void dura_link_clear(struct dura_link *l);

#endif
