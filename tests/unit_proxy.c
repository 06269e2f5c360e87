/*
 * Tests of the TCP delay proxy (core/proxy.c) and `durabench proxy`
 * (core/cmd_proxy.c, run in forked children because the durabench program
 * need not link yet).  An echo server of our own stands in for a database.
 *
 * Timing checks are lower bounds implied by the model (a round trip cannot
 * beat the configured delay; n bytes at rate b cannot take less than n/b).
 * That the delay is the configured one, not merely at least it, is checked
 * on the link's release stamps, which take "now" from the caller; the median
 * wall-clock round trip through a live proxy is only printed: on a loaded
 * machine it measures the scheduler (48 ms for 40 ms at load 12), and
 * durabench asserts no timings in tests.
 */
#include "config.h"

#include "services/proxy.h"
#include "services/proxy_heap.h"
#include "services/proxy_link.h"
#include "cli/commands.h"
#include "base/util.h"
#include "tap.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a small blocking echo server, one thread per connection ---- */

struct echo_conn {
	int fd;
	pthread_t thread;
};

struct echo {
	int lfd;
	int port;
	pthread_t acceptor;
	int running;
	pthread_mutex_t lock;
	struct echo_conn **conns; /* owned array of owned entries */
	size_t n;
};

static void *echo_conn_main(void *arg)
{
	int fd = ((struct echo_conn *)arg)->fd;
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return NULL;
			off += w;
		}
	}
	shutdown(fd, SHUT_WR); /* answer a half-close with one */
	return NULL;
}

static void *echo_accept_main(void *arg)
{
	struct echo *e = arg;
	for (;;) {
		int fd = accept(e->lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break; /* listener shut down */
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		/* Entries are allocated one by one so a thread's pointer stays
		 * valid when the array grows; echo_stop frees them. */
		struct echo_conn *ec = dura_xcalloc(1, sizeof *ec);
		ec->fd = fd;
		pthread_mutex_lock(&e->lock);
		e->conns = dura_xrealloc(e->conns, (e->n + 1) * sizeof *e->conns);
		e->conns[e->n++] = ec;
		pthread_create(&ec->thread, NULL, echo_conn_main, ec);
		pthread_mutex_unlock(&e->lock);
	}
	return NULL;
}

static int listen_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 512) != 0)
		return -1;
	socklen_t len = sizeof sa;
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Two steps so the listener can exist before a fork and the threads after. */
static int echo_listen(struct echo *e)
{
	memset(e, 0, sizeof *e);
	pthread_mutex_init(&e->lock, NULL);
	e->lfd = listen_loopback(&e->port);
	return e->lfd < 0 ? -1 : 0;
}

static void echo_run(struct echo *e)
{
	pthread_create(&e->acceptor, NULL, echo_accept_main, e);
	e->running = 1;
}

static void echo_stop(struct echo *e)
{
	shutdown(e->lfd, SHUT_RDWR); /* wakes accept() */
	if (e->running)
		pthread_join(e->acceptor, NULL);
	close(e->lfd);
	for (size_t i = 0; i < e->n; i++)
		shutdown(e->conns[i]->fd, SHUT_RDWR);
	for (size_t i = 0; i < e->n; i++) {
		pthread_join(e->conns[i]->thread, NULL);
		close(e->conns[i]->fd);
		free(e->conns[i]);
	}
	free(e->conns);
	pthread_mutex_destroy(&e->lock);
}

/* ---- client helpers ---- */

static int connect_port(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Reads exactly n bytes within timeout_ms; returns bytes read (short on EOF,
 * error or timeout). */
static size_t read_full(int fd, void *buf, size_t n, int timeout_ms)
{
	size_t got = 0;
	uint64_t deadline = dura_now_ms() + (uint64_t)timeout_ms;
	while (got < n) {
		uint64_t now = dura_now_ms();
		if (now >= deadline)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* Waits for EOF (or a reset, which a client also sees as "closed").
 * Returns 1 on EOF/reset, 0 on timeout or unexpected data. */
static int wait_closed(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	char c;
	ssize_t r = read(fd, &c, 1);
	return r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE));
}

/* Prints multi-line text as TAP comments. */
static void diag_lines(const char *text)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		int len = nl ? (int)(nl - text) : (int)strlen(text);
		if (len > 0)
			tap_diag("%.*s", len, text);
		text += len + (nl ? 1 : 0);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static struct dura_proxy *start_proxy(int target_port, uint64_t rtt_us, uint64_t jitter_us,
                                      uint64_t bw)
{
	struct dura_proxy_config cfg = { .listen_host = "127.0.0.1", .target_host = "127.0.0.1",
	                                 .target_port = target_port, .rtt_us = rtt_us,
	                                 .jitter_us = jitter_us, .bandwidth_bps = bw };
	struct dura_proxy *p;
	char err[256];
	if (dura_proxy_start(&cfg, &p, err, sizeof err) != 0) {
		tap_diag("dura_proxy_start: %s", err);
		return NULL;
	}
	return p;
}

/* ---- pure parts: the delay queue and the heap ---- */

static void test_link(void)
{
	struct dura_link_params par = { .delay_ns = 1000000, .jitter_ns = 900000 };
	struct dura_link l;
	dura_link_init(&l, &par);
	int ordered = 1, bounded = 1;
	uint64_t prev = 0;
	for (uint64_t t = 0; t < 2000; t++) {
		uint8_t b = (uint8_t)t;
		dura_link_push(&l, &b, 1, t * 1000);
		uint64_t r = l.tail->release_ns;
		if (r < prev)
			ordered = 0;
		if (r < t * 1000 + 100000)
			bounded = 0;
		prev = r;
	}
	tap_ok(ordered, "link: jitter never makes release times go backwards");
	tap_ok(bounded, "link: every chunk is held at least delay - jitter");
	struct iovec iov[4];
	int n = dura_link_due_iov(&l, 0, iov, 4);
	tap_ok(n == 0, "link: nothing due before the delay");
	size_t total = 0;
	uint64_t now = prev;
	while ((n = dura_link_due_iov(&l, now, iov, 4)) > 0) {
		for (int i = 0; i < n; i++)
			total += iov[i].iov_len;
		dura_link_consume(&l, iov[0].iov_len); /* partial progress is fine */
	}
	tap_ok(total >= 2000 && l.queued_bytes == 0 && !l.head, "link: all bytes come due and are consumed");
	dura_link_push_fin(&l, now);
	tap_ok(dura_link_fin_due(&l, now + 2000000) && !dura_link_fin_due(&l, now),
	       "link: the end marker is delayed like data");
	dura_link_clear(&l);

	struct dura_link_params bwpar = { .delay_ns = 0, .bandwidth_bps = 1000000 };
	dura_link_init(&l, &bwpar);
	static unsigned char big[100000];
	dura_link_push(&l, big, sizeof big, 0);
	dura_link_push(&l, big, sizeof big, 0);
	tap_ok(l.tail->release_ns >= 200000000ull && l.head != l.tail,
	       "link: 200 kB at 1 MB/s is paced over >= 200 ms in several chunks");
	dura_link_clear(&l);
	/* Without jitter or a cap a chunk is released exactly one delay after
	 * it arrived: the proxy's round trip is the configured rtt plus only
	 * what the machine adds. */
	struct dura_link_params fixed = { .delay_ns = 20000000 };
	dura_link_init(&l, &fixed);
	int exact = 1;
	for (uint64_t t = 0; t < 50; t++) {
		uint8_t b = (uint8_t)t;
		dura_link_push(&l, &b, 1, 1000000000ull + t * 777);
		if (l.tail->release_ns != 1000000000ull + t * 777 + fixed.delay_ns)
			exact = 0;
	}
	tap_ok(exact, "link: without jitter each chunk is due exactly one delay after it came");
	dura_link_clear(&l);
}

static void test_heap(void)
{
	struct dura_heap h = { 0 };
	struct dura_heap_entry e[200];
	for (int i = 0; i < 200; i++) {
		dura_heap_entry_init(&e[i]);
		dura_heap_set(&h, &e[i], (dura_rand64() % 1000) + 1);
	}
	int queued[200];
	for (int i = 0; i < 200; i++)
		queued[i] = 1;
	for (int i = 0; i < 200; i += 3) {
		dura_heap_remove(&h, &e[i]);
		queued[i] = 0;
	}
	for (int i = 1; i < 200; i += 5) {
		dura_heap_set(&h, &e[i], dura_rand64() % 1000); /* update or re-insert */
		queued[i] = 1;
	}
	int expect = 0;
	for (int i = 0; i < 200; i++)
		expect += queued[i];
	uint64_t prev = 0;
	int ok = 1, count = 0;
	struct dura_heap_entry *m;
	while ((m = dura_heap_min(&h))) {
		if (m->due_ns < prev)
			ok = 0;
		prev = m->due_ns;
		dura_heap_remove(&h, m);
		count++;
	}
	tap_ok(ok && count == expect, "heap: pops in order after updates and removals (%d of %d)",
	       count, expect);
	dura_heap_free(&h);
}

/* ---- (1) the configured delay ---- */

static void test_delay(int echo_port)
{
	const uint64_t rtt_us = 40000;
	struct dura_proxy *p = start_proxy(echo_port, rtt_us, 0, 0);
	if (!tap_ok(p != NULL, "delay: proxy starts"))
		return;
	int fd = connect_port(dura_proxy_port(p));
	uint64_t rt[30];
	int ok = fd >= 0;
	for (int i = 0; ok && i < 30; i++) {
		char msg[16], back[16];
		memset(msg, 'a' + i % 26, sizeof msg);
		uint64_t t0 = dura_now_ns();
		ok = write(fd, msg, sizeof msg) == (ssize_t)sizeof msg &&
		     read_full(fd, back, sizeof back, 2000) == sizeof back &&
		     memcmp(msg, back, sizeof msg) == 0;
		rt[i] = (dura_now_ns() - t0) / 1000;
	}
	tap_ok(ok, "delay: 30 sequential round trips echo correctly");
	if (ok) {
		qsort(rt, 30, sizeof rt[0], cmp_u64);
		uint64_t median = (rt[14] + rt[15]) / 2;
		tap_diag("round trip through a 40ms proxy: min %lluus median %lluus max %lluus",
		         (unsigned long long)rt[0], (unsigned long long)median,
		         (unsigned long long)rt[29]);
		tap_ok(rt[0] >= rtt_us - 500, "delay: no round trip beats the configured rtt");
	}
	/* Stop with bytes still held: everything is closed and freed (the
	 * sanitizer build checks the freeing), and the client sees it. */
	int held = fd >= 0 && write(fd, "pending", 7) == 7;
	dura_proxy_stop(p);
	tap_ok(held && wait_closed(fd, 2000), "delay: stop closes live connections");
	if (fd >= 0)
		close(fd);
}

/* ---- (2)/(3) bulk data through concurrent connections ---- */

struct pump_conn {
	int fd;
	unsigned char *data;   /* owned: what we send, and expect back */
	size_t sent, recvd;
	int shut, eof, mismatch;
};

/* Sends n pseudo-random bytes on each of nconn connections, reads the echo
 * back concurrently (nonblocking, one poll loop), half-closes after sending
 * and waits for the echo side's EOF.  Returns 1 if every byte came back in
 * order and every connection saw EOF. */
static int pump(int port, int nconn, size_t n, int timeout_ms, uint64_t *elapsed_us)
{
	struct pump_conn *pc = dura_xcalloc((size_t)nconn, sizeof *pc);
	struct pollfd *pfd = dura_xcalloc((size_t)nconn, sizeof *pfd);
	int ok = 1;
	for (int i = 0; i < nconn; i++) {
		pc[i].fd = connect_port(port);
		if (pc[i].fd < 0)
			ok = 0;
		pc[i].data = dura_xmalloc(n);
		for (size_t j = 0; j < n; j += 8) {
			uint64_t r = dura_rand64();
			memcpy(pc[i].data + j, &r, n - j < 8 ? n - j : 8);
		}
	}
	uint64_t t0 = dura_now_ns(), deadline = dura_now_ms() + (uint64_t)timeout_ms;
	unsigned char *buf = dura_xmalloc(65536);
	int open = nconn;
	while (ok && open > 0 && dura_now_ms() < deadline) {
		for (int i = 0; i < nconn; i++) {
			pfd[i].fd = pc[i].eof ? -1 : pc[i].fd;
			pfd[i].events = (short)(POLLIN | (pc[i].sent < n ? POLLOUT : 0));
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)nconn, 200) < 0)
			break;
		for (int i = 0; i < nconn; i++) {
			struct pump_conn *c = &pc[i];
			if ((pfd[i].revents & POLLOUT) && c->sent < n) {
				size_t chunk = n - c->sent < 65536 ? n - c->sent : 65536;
				ssize_t w = send(c->fd, c->data + c->sent, chunk, MSG_DONTWAIT);
				if (w > 0)
					c->sent += (size_t)w;
			}
			if (c->sent == n && !c->shut) {
				shutdown(c->fd, SHUT_WR);
				c->shut = 1;
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = recv(c->fd, buf, 65536, MSG_DONTWAIT);
				if (r > 0) {
					if (c->recvd + (size_t)r > n ||
					    memcmp(buf, c->data + c->recvd, (size_t)r) != 0)
						c->mismatch = 1;
					c->recvd += (size_t)r;
				} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
					c->eof = 1;
					open--;
				}
			}
		}
	}
	*elapsed_us = (dura_now_ns() - t0) / 1000;
	for (int i = 0; i < nconn; i++) {
		if (!pc[i].eof || pc[i].mismatch || pc[i].recvd != n) {
			if (ok)
				tap_diag("connection %d: sent %zu received %zu eof %d mismatch %d", i,
				         pc[i].sent, pc[i].recvd, pc[i].eof, pc[i].mismatch);
			ok = 0;
		}
		if (pc[i].fd >= 0)
			close(pc[i].fd);
		free(pc[i].data);
	}
	free(buf);
	free(pfd);
	free(pc);
	return ok;
}

static int wait_no_open(struct dura_proxy *p, int timeout_ms)
{
	struct dura_proxy_stats st;
	for (int i = 0; i < timeout_ms / 10; i++) {
		dura_proxy_get_stats(p, &st);
		if (st.open_connections == 0)
			return 1;
		dura_sleep_ms(10);
	}
	return 0;
}

static void test_concurrent(int echo_port)
{
	const int nconn = 32;
	const size_t n = 1u << 20;
	struct dura_proxy *p = start_proxy(echo_port, 10000, 5000, 0);
	if (!tap_ok(p != NULL, "concurrent: proxy starts (rtt 10ms, jitter 5ms)"))
		return;
	uint64_t us;
	int ok = pump(dura_proxy_port(p), nconn, n, 30000, &us);
	tap_ok(ok, "concurrent: %d connections x 1 MiB echoed intact, in order, with EOF "
	       "propagated both ways (%.2fs)", nconn, (double)us / 1e6);
	struct dura_proxy_stats st;
	dura_proxy_get_stats(p, &st);
	tap_ok(st.accepted == (uint64_t)nconn && st.bytes_to_target == nconn * n &&
	       st.bytes_to_client == nconn * n && st.connect_failures == 0,
	       "concurrent: counters (accepted %llu, to target %llu, to client %llu)",
	       (unsigned long long)st.accepted, (unsigned long long)st.bytes_to_target,
	       (unsigned long long)st.bytes_to_client);
	tap_ok(wait_no_open(p, 3000), "concurrent: the proxy closes finished connections");
	/* Hundreds at once (4 descriptors each here, within a 1024 fd limit). */
	ok = pump(dura_proxy_port(p), 200, 16384, 30000, &us);
	tap_ok(ok, "concurrent: 200 connections x 16 KiB echoed intact (%.2fs)", (double)us / 1e6);
	tap_ok(wait_no_open(p, 3000), "concurrent: all 200 closed afterwards");
	dura_proxy_stop(p);
}

/* Byte i of the backpressure stream: position-derived, so nothing is kept. */
static uint8_t stream_byte(uint64_t i)
{
	uint64_t x = (i >> 3) * 0x9E3779B97F4A7C15ull;
	return (uint8_t)((x >> 29) ^ (x >> (8 * (i & 7))));
}

/* A client that writes without reading: the echo server blocks writing
 * back, so the proxy must stop reading instead of buffering everything.
 * Then the client reads it all back (the paused reads must resume). */
static void test_backpressure(int echo_port)
{
	const uint64_t offer = 256ull << 20;
	struct dura_proxy *p = start_proxy(echo_port, 2000, 0, 0);
	if (!tap_ok(p != NULL, "backpressure: proxy starts"))
		return;
	int fd = connect_port(dura_proxy_port(p));
	unsigned char *buf = dura_xmalloc(65536);
	uint64_t sent = 0, recvd = 0, last_progress = dura_now_ms();
	while (fd >= 0 && sent < offer && dura_now_ms() - last_progress < 500) {
		size_t n = 65536;
		for (size_t j = 0; j < n; j++)
			buf[j] = stream_byte(sent + j);
		ssize_t w = send(fd, buf, n, MSG_DONTWAIT);
		if (w > 0) {
			sent += (uint64_t)w;
			last_progress = dura_now_ms();
		} else {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, 50);
		}
	}
	tap_diag("writer stalled after %.1f MiB", (double)sent / (1 << 20));
	tap_ok(sent < offer, "backpressure: a sender that is not read back is stopped "
	       "(%.1f MiB accepted of %.0f)", (double)sent / (1 << 20), (double)offer / (1 << 20));
	if (fd >= 0)
		shutdown(fd, SHUT_WR);
	int intact = fd >= 0, eof = 0;
	uint64_t deadline = dura_now_ms() + 20000;
	while (intact && !eof && dura_now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		ssize_t r = read(fd, buf, 65536);
		if (r <= 0) {
			eof = 1;
			break;
		}
		for (ssize_t j = 0; j < r && intact; j++)
			intact = buf[j] == stream_byte(recvd + (uint64_t)j);
		recvd += (uint64_t)r;
	}
	tap_ok(intact && eof && recvd == sent, "backpressure: all %.1f MiB come back intact after "
	       "reads resume", (double)recvd / (1 << 20));
	free(buf);
	if (fd >= 0)
		close(fd);
	dura_proxy_stop(p);
}

static void test_bandwidth(int echo_port)
{
	const uint64_t bw = 1000000; /* 8 Mbit/s */
	const size_t n = 1u << 20;
	struct dura_proxy *p = start_proxy(echo_port, 2000, 0, bw);
	if (!tap_ok(p != NULL, "bandwidth: proxy starts (8Mbit)"))
		return;
	uint64_t us;
	int ok = pump(dura_proxy_port(p), 1, n, 20000, &us);
	tap_ok(ok, "bandwidth: 1 MiB echoed intact");
	/* The link model makes n bytes occupy the link for n/bw seconds. */
	uint64_t floor_us = (uint64_t)n * 1000000u / bw;
	tap_ok(us >= floor_us * 95 / 100, "bandwidth: 1 MiB at 8 Mbit/s took %.2fs (>= %.2fs)",
	       (double)us / 1e6, (double)floor_us / 1e6);
	dura_proxy_stop(p);
}

/* ---- (4) a target that refuses ---- */

struct logbuf {
	pthread_mutex_t lock;
	char text[2048];
	int lines;
};

static void capture_log(void *arg, const char *msg)
{
	struct logbuf *lb = arg;
	pthread_mutex_lock(&lb->lock);
	size_t len = strlen(lb->text);
	snprintf(lb->text + len, sizeof lb->text - len, "%s\n", msg);
	lb->lines++;
	pthread_mutex_unlock(&lb->lock);
}

static int closed_port(void)
{
	int port = 0;
	int fd = listen_loopback(&port);
	close(fd); /* nothing listens there now */
	return port;
}

static void test_refused(void)
{
	struct logbuf lb = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct dura_proxy_config cfg = { .listen_host = "127.0.0.1", .target_host = "127.0.0.1",
	                                 .target_port = closed_port(), .rtt_us = 1000,
	                                 .log = capture_log, .log_arg = &lb };
	struct dura_proxy *p;
	char err[256];
	if (!tap_ok(dura_proxy_start(&cfg, &p, err, sizeof err) == 0, "refused: proxy starts"))
		return;
	for (int i = 0; i < 2; i++) {
		int fd = connect_port(dura_proxy_port(p));
		tap_ok(fd >= 0 && wait_closed(fd, 5000), "refused: client %d sees its connection closed", i + 1);
		if (fd >= 0)
			close(fd);
	}
	tap_ok(dura_proxy_connect_failures(p) == 2, "refused: failures counted (%llu)",
	       (unsigned long long)dura_proxy_connect_failures(p));
	pthread_mutex_lock(&lb.lock);
	tap_ok(lb.lines == 2 && strstr(lb.text, "cannot connect to 127.0.0.1:") &&
	       strstr(lb.text, "refused"), "refused: one clear line per failure");
	diag_lines(lb.text);
	pthread_mutex_unlock(&lb.lock);
	tap_ok(wait_no_open(p, 2000), "refused: nothing left open");
	dura_proxy_stop(p);

	/* Configuration errors come back from start, not from the thread. */
	cfg.target_port = 0;
	tap_ok(dura_proxy_start(&cfg, &p, err, sizeof err) != 0 && p == NULL,
	       "start: bad target port rejected (%s)", err);
	int busy_port;
	int busy = listen_loopback(&busy_port);
	cfg.target_port = 5432;
	cfg.listen_port = busy_port;
	int rc = dura_proxy_start(&cfg, &p, err, sizeof err);
	tap_ok(rc != 0 && strstr(err, "cannot listen"), "start: busy listen port rejected (%s)", err);
	close(busy);
	dura_proxy_stop(NULL); /* documented as safe */
}

/* ---- (5) the standalone command, in forked children ---- */

struct child {
	pid_t pid;
	int out, err; /* read ends of its stdout/stderr */
};

static struct child spawn_cmd(char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	int o[2], e[2];
	struct child ch = { -1, -1, -1 };
	if (pipe(o) != 0 || pipe(e) != 0)
		return ch;
	fflush(stdout);
	fflush(stderr);
	ch.pid = fork();
	if (ch.pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(o[0]);
		close(o[1]);
		close(e[0]);
		close(e[1]);
		int rc = dura_cmd_proxy(argc, argv);
		fflush(stdout);
		exit(rc); /* exit, not _exit: lets the leak checker run */
	}
	close(o[1]);
	close(e[1]);
	ch.out = o[0];
	ch.err = e[0];
	return ch;
}

/* Reads fd into buf (NUL-terminated) until EOF or 10 s.  With one_line,
 * only the first line (the "listening on" banner, newline left out), byte
 * by byte so nothing after it is consumed. */
static void read_text(int fd, char *buf, size_t len, int one_line)
{
	size_t got = 0;
	uint64_t deadline = dura_now_ms() + 10000;
	while (got + 1 < len && dura_now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		ssize_t r = read(fd, buf + got, one_line ? 1 : len - 1 - got);
		if (r <= 0 || (one_line && buf[got] == '\n'))
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
}

static int finish(struct child *ch, char *errtext, size_t errlen)
{
	char outrest[2048];
	read_text(ch->out, outrest, sizeof outrest, 0);
	read_text(ch->err, errtext, errlen, 0);
	int status = 0;
	waitpid(ch->pid, &status, 0);
	close(ch->out);
	close(ch->err);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int listened_port(const char *banner)
{
	const char *at = strstr(banner, "listening on 127.0.0.1:");
	return at ? atoi(at + strlen("listening on 127.0.0.1:")) : -1;
}

static void test_cmd_usage(void)
{
	char *help[] = { "proxy", "--help", NULL };
	char *no_target[] = { "proxy", "--rtt", "10ms", NULL };
	char *bad_rtt[] = { "proxy", "--target", "127.0.0.1:5432", "--rtt", "banana", NULL };
	char *bad_target[] = { "proxy", "--target", "127.0.0.1", NULL };
	char *bad_bw[] = { "proxy", "--target=127.0.0.1:5432", "--bandwidth", "fast", NULL };
	char *unknown[] = { "proxy", "--target", "127.0.0.1:5432", "--frobnicate", NULL };
	char *missing[] = { "proxy", "--target", NULL };
	struct { char **argv; int want; const char *what; } cases[] = {
		{ help, 0, "--help exits 0" },
		{ no_target, 2, "missing --target exits 2" },
		{ bad_rtt, 2, "bad --rtt exits 2" },
		{ bad_target, 2, "target without a port exits 2" },
		{ bad_bw, 2, "bad --bandwidth exits 2" },
		{ unknown, 2, "unknown option exits 2" },
		{ missing, 2, "option without a value exits 2" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct child ch = spawn_cmd(cases[i].argv);
		char text[4096];
		int rc = finish(&ch, text, sizeof text);
		tap_ok(rc == cases[i].want && (rc == 0 || strstr(text, "durabench proxy: ")),
		       "cmd: %s (got %d)", cases[i].what, rc);
	}
}

/* Both children are forked before any thread exists in this process; the
 * echo server's listener is inherited but only the parent accepts on it. */
static void test_cmd_run(void)
{
	struct echo e;
	if (!tap_ok(echo_listen(&e) == 0, "cmd: echo listener"))
		return;
	char target[64], refused[64];
	snprintf(target, sizeof target, "127.0.0.1:%d", e.port);
	snprintf(refused, sizeof refused, "127.0.0.1:%d", closed_port());
	char *relay_argv[] = { "proxy", "--listen", "127.0.0.1:0", "--target", target,
	                       "--rtt", "20ms", "--jitter", "1ms", "--bandwidth", "100Mbit", NULL };
	char *refused_argv[] = { "proxy", "--target", refused, "--rtt", "5ms", NULL };
	struct child relay = spawn_cmd(relay_argv);
	struct child ref = spawn_cmd(refused_argv);
	echo_run(&e);

	char banner[512], errtext[4096];
	read_text(relay.out, banner, sizeof banner, 1);
	tap_diag("%s", banner);
	int port = listened_port(banner);
	tap_ok(port > 0 && strstr(banner, target), "cmd: prints where it listens and forwards");
	int fd = port > 0 ? connect_port(port) : -1;
	char back[5] = { 0 };
	uint64_t t0 = dura_now_ns();
	int relayed = fd >= 0 && write(fd, "hello", 5) == 5 && read_full(fd, back, 5, 5000) == 5 &&
	              memcmp(back, "hello", 5) == 0;
	uint64_t us = (dura_now_ns() - t0) / 1000;
	/* 20ms +- 1ms jitter each way: never below 18ms */
	tap_ok(relayed && us >= 18000, "cmd: relays with the delay (%lluus)", (unsigned long long)us);
	if (fd >= 0)
		close(fd);
	kill(relay.pid, SIGTERM);
	int rc = finish(&relay, errtext, sizeof errtext);
	tap_ok(rc == 0, "cmd: exits 0 on SIGTERM (got %d)", rc);

	read_text(ref.out, banner, sizeof banner, 1);
	port = listened_port(banner);
	fd = port > 0 ? connect_port(port) : -1;
	tap_ok(fd >= 0 && wait_closed(fd, 5000), "cmd: client of a refusing target sees EOF");
	if (fd >= 0)
		close(fd);
	kill(ref.pid, SIGINT);
	rc = finish(&ref, errtext, sizeof errtext);
	diag_lines(errtext);
	tap_ok(rc == 0 && strstr(errtext, "cannot connect to 127.0.0.1:") &&
	       strstr(errtext, "Connection refused"),
	       "cmd: prints a clear line for the refused connection and exits 0 on SIGINT");
	echo_stop(&e);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_cmd_usage();
	test_cmd_run();
	test_link();
	test_heap();

	struct echo e;
	if (!tap_ok(echo_listen(&e) == 0, "echo server listens"))
		return tap_done();
	echo_run(&e);
	test_delay(e.port);
	test_concurrent(e.port);
	test_bandwidth(e.port);
	test_backpressure(e.port);
	echo_stop(&e);
	test_refused();
	return tap_done();
}
