/*
 * TCP delay proxy (see proxy.h).  One thread runs an epoll loop over the
 * listener, a wake-up eventfd, a timerfd and both sockets of every relayed
 * connection.  Bytes read from either side go into that direction's delay
 * queue (proxy_link.c) and are written once due; the timerfd is armed for the
 * earliest due chunk over all connections (proxy_heap.c).
 *
 * Backpressure: a direction holding more than READ_PAUSE_BYTES stops reading
 * its source (EPOLLIN removed) until it drains below READ_RESUME_BYTES, so a
 * fast sender is slowed by TCP flow control instead of growing our memory.
 *
 * Faults (dura_proxy_reset_all, _set_partition, _set_extra_rtt) are
 * requests from other threads: the caller posts one under ctl_mu, wakes the
 * thread through the eventfd and waits until the thread has applied it, so
 * when the call returns the network really is in the new state.
 *
 * Ownership: struct dura_proxy owns every fd and connection; connections are
 * freed at the end of the loop iteration that closed them (later events of
 * the same epoll batch may still point at them), or by dura_proxy_stop.
 */
#include "config.h"

#include "proxy.h"
#include "proxy_heap.h"
#include "proxy_link.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#define READ_PAUSE_BYTES (4u << 20)
#define READ_RESUME_BYTES (1u << 20)
#define SCRATCH_BYTES 65536u
#define READS_PER_EVENT 16    /* fairness: then let other sockets run */
#define ACCEPTS_PER_EVENT 64
#define MAX_EVENTS 256
#define MAX_IOV 64
#define MAX_TARGET_ADDRS 8
#define MAX_DELAY_US (3600ull * 1000000u) /* an hour: anything more is a typo */

enum side { SIDE_CLIENT = 0, SIDE_TARGET = 1 };
enum tag_kind { TAG_LISTEN, TAG_WAKE, TAG_TIMER, TAG_SOCK };

/* What an epoll event refers to (epoll_data.ptr). */
struct tag {
	enum tag_kind kind;
	struct conn *conn;   /* TAG_SOCK only */
	enum side side;
};

/* Bytes read from side `from` on their way to the other side. */
struct dir {
	struct dura_link link;
	struct dura_heap_entry timer; /* queued while the head waits to be due */
	int src_eof;   /* source gave EOF: no more reads */
	int paused;    /* source reads stopped: too much held */
	int blocked;   /* destination said EAGAIN: waiting for EPOLLOUT */
	int done;      /* end of stream delivered (shutdown sent) */
	struct conn *conn; /* back pointer, to get from a heap entry to its conn */
};

struct conn {
	struct dura_proxy *p;
	struct conn *prev, *next;   /* live list, or graveyard (next only) */
	int fd[2];
	uint32_t registered[2];     /* epoll mask now registered, 0 = none */
	struct tag tag[2];
	struct dir dir[2];          /* dir[s] carries bytes read from side s */
	int connecting;             /* target connect() in progress */
	size_t addr_idx;            /* target address being tried */
	int closed;
	char client_desc[64];
};

struct dura_proxy {
	struct dura_link_params par[2];  /* per direction (index = source side) */
	void (*log)(void *, const char *);
	void *log_arg;
	struct sockaddr_storage target_addr[MAX_TARGET_ADDRS];
	socklen_t target_len[MAX_TARGET_ADDRS];
	size_t n_targets;
	char target_desc[300];

	int listen_fd, epoll_fd, wake_fd, timer_fd;
	int spare_fd;          /* reserved so EMFILE can still drain the backlog */
	int port;
	uint64_t armed_ns;     /* timerfd deadline, 0 = disarmed */
	pthread_t thread;
	int thread_started;

	struct dura_heap heap;
	struct conn *live;
	struct conn *graveyard;
	unsigned char *scratch;  /* owned read buffer */
	struct tag listen_tag, wake_tag, timer_tag;

	atomic_uint_least64_t accepted, connect_failures, bytes_dir[2], open;

	/* Fault requests (see the top of the file).  ctl_mu and ctl_cv are
	 * shared with callers; the fields below them too, under ctl_mu. */
	pthread_mutex_t ctl_mu;
	pthread_cond_t ctl_cv;
	int stopping;            /* dura_proxy_stop: leave the loop */
	int req_pending;         /* a request waits for the thread */
	enum { REQ_RESET, REQ_PARTITION, REQ_RTT } req;
	uint64_t req_value;      /* partition on/off, or the extra rtt in us */
	uint64_t req_result;     /* connections reset */
	/* Proxy thread only: */
	int partitioned;         /* nothing read, written or accepted */
	uint64_t base_delay_ns[2]; /* the configured one-way delays */
};

static void format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		dura_errbuf(buf, buflen, "?");
		return;
	}
	if (sa->sa_family == AF_INET6)
		dura_errbuf(buf, buflen, "[%s]:%s", host, serv);
	else
		dura_errbuf(buf, buflen, "%s:%s", host, serv);
}

static void logf_(struct dura_proxy *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct dura_proxy *p, const char *fmt, ...)
{
	if (!p->log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	p->log(p->log_arg, line);
}

/* ---- epoll registration ---- */

static int ep_ctl(struct dura_proxy *p, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };
	return epoll_ctl(p->epoll_fd, op, fd, &ev);
}

/* Registers exactly the events each socket needs now.  A socket we need
 * nothing from is removed from epoll entirely, so a hang-up we cannot act on
 * yet (reads paused) does not make epoll_wait spin. */
static void update_interest(struct conn *c)
{
	for (int s = 0; s < 2; s++) {
		if (c->fd[s] < 0)
			continue;
		uint32_t want = 0;
		int target_ready = !(s == SIDE_TARGET && c->connecting);
		if (c->p->partitioned) {
			/* blackholed: nothing read, nothing written (a connect in
			 * progress may finish: that happened before the cut) */
			want = target_ready ? 0 : EPOLLOUT;
		} else {
			if (target_ready && !c->dir[s].src_eof && !c->dir[s].paused)
				want |= EPOLLIN;
			if (!target_ready || c->dir[1 - s].blocked)
				want |= EPOLLOUT;
		}
		if (want == c->registered[s])
			continue;
		int op = want == 0 ? EPOLL_CTL_DEL
		       : c->registered[s] == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
		/* Cannot fail for a valid open socket and our own epoll fd. */
		(void)ep_ctl(c->p, op, c->fd[s], want, &c->tag[s]);
		c->registered[s] = want;
	}
}

/* ---- connection lifecycle ---- */

/* Deregisters explicitly before closing: if another thread of the process
 * forks (pg_ctl, initdb) a child briefly holds a duplicate of fd, close()
 * alone would then leave the registration alive and a later event would
 * point at a freed connection. */
static void close_sock(struct conn *c, int s)
{
	if (c->fd[s] < 0)
		return;
	if (c->registered[s])
		(void)ep_ctl(c->p, EPOLL_CTL_DEL, c->fd[s], 0, NULL);
	close(c->fd[s]);
	c->fd[s] = -1;
	c->registered[s] = 0;
}

static void schedule_dir(struct conn *c, int d)
{
	struct dir *dir = &c->dir[d];
	int can_send = !dir->done && !dir->blocked && dir->link.head &&
	               !(d == SIDE_CLIENT && c->connecting) && !c->p->partitioned;
	if (can_send)
		dura_heap_set(&c->p->heap, &dir->timer, dura_link_next_due(&dir->link));
	else
		dura_heap_remove(&c->p->heap, &dir->timer);
}

static void close_conn(struct conn *c)
{
	struct dura_proxy *p = c->p;
	if (c->closed)
		return;
	c->closed = 1;
	for (int s = 0; s < 2; s++) {
		dura_heap_remove(&p->heap, &c->dir[s].timer);
		dura_link_clear(&c->dir[s].link);
		close_sock(c, s);
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		p->live = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = p->graveyard;
	p->graveyard = c;
	atomic_fetch_sub_explicit(&p->open, 1, memory_order_relaxed);
}

static void free_graveyard(struct dura_proxy *p)
{
	while (p->graveyard) {
		struct conn *c = p->graveyard;
		p->graveyard = c->next;
		free(c);
	}
}

static void set_nodelay(int fd)
{
	/* We forward chunks as they come due; Nagle's algorithm would hold small
	 * ones back for an ACK and add delay we did not ask for. */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void fail_connect(struct conn *c, int err)
{
	struct dura_proxy *p = c->p;
	atomic_fetch_add_explicit(&p->connect_failures, 1, memory_order_relaxed);
	logf_(p, "client %s: cannot connect to %s: %s", c->client_desc, p->target_desc,
	      strerror(err));
	close_conn(c);
}

/* Starts a non-blocking connect to the current target address, moving on to
 * the next address when one fails at once.  Returns 0 if a connect is in
 * progress or done, else the errno of the last failure. */
static int start_connect(struct conn *c)
{
	struct dura_proxy *p = c->p;
	int last = ECONNREFUSED;
	for (; c->addr_idx < p->n_targets; c->addr_idx++) {
		const struct sockaddr_storage *sa = &p->target_addr[c->addr_idx];
		int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			last = errno;
			continue;
		}
		set_nodelay(fd);
		if (connect(fd, (const struct sockaddr *)sa, p->target_len[c->addr_idx]) == 0 ||
		    errno == EINPROGRESS) {
			c->fd[SIDE_TARGET] = fd;
			c->registered[SIDE_TARGET] = 0;
			c->connecting = 1;
			return 0;
		}
		last = errno;
		close(fd);
	}
	return last;
}

/* The target socket became writable or failed: see how connect() ended. */
static void finish_connect(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(c->fd[SIDE_TARGET], SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == 0) {
		c->connecting = 0;
		schedule_dir(c, SIDE_CLIENT); /* client bytes may already wait */
		update_interest(c);
		return;
	}
	close_sock(c, SIDE_TARGET);
	c->addr_idx++;
	int again = start_connect(c);
	if (again != 0) {
		fail_connect(c, err);
		return;
	}
	update_interest(c);
}

static void accept_clients(struct dura_proxy *p)
{
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof from;
		int fd = accept4(p->listen_fd, (struct sockaddr *)&from, &fromlen,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && p->spare_fd >= 0) {
				/* Out of descriptors: take the client with the spare
				 * one and drop it, so the backlog does not make us spin
				 * (the libev/nginx trick). */
				close(p->spare_fd);
				int victim = accept(p->listen_fd, NULL, NULL);
				if (victim >= 0)
					close(victim);
				p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				logf_(p, "out of file descriptors: dropped a client connection");
				atomic_fetch_add_explicit(&p->connect_failures, 1, memory_order_relaxed);
				continue;
			}
			return; /* EAGAIN, or nothing sensible to do */
		}
		atomic_fetch_add_explicit(&p->accepted, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->open, 1, memory_order_relaxed);
		set_nodelay(fd);

		/* Owned by p (live list) until close_conn + free_graveyard. */
		struct conn *c = dura_xcalloc(1, sizeof *c);
		c->p = p;
		c->fd[SIDE_CLIENT] = fd;
		c->fd[SIDE_TARGET] = -1;
		format_addr((struct sockaddr *)&from, fromlen, c->client_desc, sizeof c->client_desc);
		for (int s = 0; s < 2; s++) {
			c->tag[s] = (struct tag){ .kind = TAG_SOCK, .conn = c, .side = (enum side)s };
			dura_link_init(&c->dir[s].link, &p->par[s]);
			dura_heap_entry_init(&c->dir[s].timer);
			c->dir[s].conn = c;
		}
		c->next = p->live;
		if (p->live)
			p->live->prev = c;
		p->live = c;

		int err = start_connect(c);
		if (err != 0) {
			fail_connect(c, err);
			continue;
		}
		update_interest(c);
	}
}

/* ---- moving bytes ---- */

static void read_side(struct conn *c, int s)
{
	struct dura_proxy *p = c->p;
	struct dir *dir = &c->dir[s];
	for (int i = 0; i < READS_PER_EVENT && !dir->paused && !dir->src_eof; i++) {
		ssize_t n = read(c->fd[s], p->scratch, SCRATCH_BYTES);
		if (n > 0) {
			dura_link_push(&dir->link, p->scratch, (size_t)n, dura_now_ns());
			if (dir->link.queued_bytes >= READ_PAUSE_BYTES)
				dir->paused = 1;
			if ((size_t)n < SCRATCH_BYTES)
				break; /* drained for now; saves an EAGAIN round */
			continue;
		}
		if (n == 0) {
			/* The sender's FIN crosses the link like data. */
			dir->src_eof = 1;
			dura_link_push_fin(&dir->link, dura_now_ns());
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		close_conn(c); /* reset by peer or similar: nothing left to relay */
		return;
	}
	schedule_dir(c, s);
}

/* Writes every due byte of direction d; handles the end marker. */
static void flush_dir(struct conn *c, int d, uint64_t now)
{
	struct dura_proxy *p = c->p;
	struct dir *dir = &c->dir[d];
	int dst = c->fd[1 - d];
	if (dir->done || (d == SIDE_CLIENT && c->connecting) || p->partitioned)
		return;
	while (!dir->blocked) {
		if (dura_link_fin_due(&dir->link, now)) {
			dura_link_pop(&dir->link);
			/* Propagate the half-close; the peer may already be gone,
			 * which is fine: nothing more goes this way. */
			(void)shutdown(dst, SHUT_WR);
			dir->done = 1;
			break;
		}
		struct iovec iov[MAX_IOV];
		int n = dura_link_due_iov(&dir->link, now, iov, MAX_IOV);
		if (n == 0)
			break;
		ssize_t w = writev(dst, iov, n);
		if (w >= 0) {
			dura_link_consume(&dir->link, (size_t)w);
			atomic_fetch_add_explicit(&p->bytes_dir[d], (uint64_t)w, memory_order_relaxed);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			dir->blocked = 1;
			break;
		}
		close_conn(c); /* EPIPE / ECONNRESET: the destination is gone */
		return;
	}
	if (dir->paused && dir->link.queued_bytes < READ_RESUME_BYTES)
		dir->paused = 0;
	schedule_dir(c, d);
	if (c->dir[0].done && c->dir[1].done)
		close_conn(c);
}

static void handle_sock(struct conn *c, int s, uint32_t ev)
{
	if (c->closed)
		return;
	if (s == SIDE_TARGET && c->connecting) {
		if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			finish_connect(c);
		return;
	}
	if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (c->registered[s] & EPOLLIN))
		read_side(c, s);
	if (c->closed)
		return;
	int into = 1 - s; /* the direction writing into this socket */
	if ((ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && c->dir[into].blocked) {
		c->dir[into].blocked = 0;
		flush_dir(c, into, dura_now_ns());
	}
	if (!c->closed)
		update_interest(c);
}

/* Flushes every direction whose head is due, then re-arms the timer. */
static void run_due(struct dura_proxy *p)
{
	uint64_t now = dura_now_ns();
	struct dura_heap_entry *e;
	while ((e = dura_heap_min(&p->heap)) && e->due_ns <= now) {
		struct dir *dir = (struct dir *)((char *)e - offsetof(struct dir, timer));
		struct conn *c = dir->conn;
		int d = (int)(dir - c->dir);
		flush_dir(c, d, now);
		if (!c->closed)
			update_interest(c);
		now = dura_now_ns();
	}
	e = dura_heap_min(&p->heap);
	uint64_t next = e ? e->due_ns : 0;
	if (next == p->armed_ns)
		return;
	struct itimerspec its = { 0 };
	its.it_value.tv_sec = (time_t)(next / 1000000000u);
	its.it_value.tv_nsec = (long)(next % 1000000000u);
	(void)timerfd_settime(p->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
	p->armed_ns = next;
}

/* ---- fault requests (proxy thread) ---- */

/* Resets every relayed connection: both sockets closed with SO_LINGER 0,
 * so each side sees a reset rather than an orderly end.  Returns how many. */
static uint64_t reset_all(struct dura_proxy *p)
{
	uint64_t n = 0;
	struct linger hard = { .l_onoff = 1, .l_linger = 0 };
	while (p->live) {
		struct conn *c = p->live;
		for (int s = 0; s < 2; s++)
			if (c->fd[s] >= 0)
				(void)setsockopt(c->fd[s], SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
		close_conn(c);
		n++;
	}
	return n;
}

static void set_partition(struct dura_proxy *p, int on)
{
	if (p->partitioned == on)
		return;
	p->partitioned = on;
	/* New clients wait in the kernel's backlog: their connect succeeds but
	 * nothing answers, as behind a blackhole. */
	if (on)
		(void)ep_ctl(p, EPOLL_CTL_DEL, p->listen_fd, 0, NULL);
	else
		(void)ep_ctl(p, EPOLL_CTL_ADD, p->listen_fd, EPOLLIN, &p->listen_tag);
	for (struct conn *c = p->live; c; c = c->next) {
		schedule_dir(c, SIDE_CLIENT);
		schedule_dir(c, SIDE_TARGET);
		update_interest(c);
	}
}

static void set_extra_rtt(struct dura_proxy *p, uint64_t extra_us)
{
	uint64_t extra_ns = extra_us * 1000u;
	uint64_t add[2] = { extra_ns / 2, extra_ns - extra_ns / 2 };
	for (int s = 0; s < 2; s++)
		p->par[s].delay_ns = p->base_delay_ns[s] + add[s];
	/* Bytes already held keep their release time; a link never releases
	 * earlier than the chunk before it, so order is kept either way. */
	for (struct conn *c = p->live; c; c = c->next)
		for (int s = 0; s < 2; s++)
			c->dir[s].link.par.delay_ns = p->par[s].delay_ns;
}

/* Applies a posted request, if any.  Returns 1 when the proxy must stop. */
static int serve_requests(struct dura_proxy *p)
{
	pthread_mutex_lock(&p->ctl_mu);
	int stop = p->stopping;
	if (p->req_pending) {
		switch (p->req) {
		case REQ_RESET: p->req_result = reset_all(p); break;
		case REQ_PARTITION: set_partition(p, p->req_value != 0); break;
		case REQ_RTT: set_extra_rtt(p, p->req_value); break;
		}
		p->req_pending = 0;
		pthread_cond_broadcast(&p->ctl_cv);
	}
	pthread_mutex_unlock(&p->ctl_mu);
	return stop;
}

static void *proxy_thread(void *arg)
{
	struct dura_proxy *p = arg;
	struct epoll_event evs[MAX_EVENTS];
	for (;;) {
		int n = epoll_wait(p->epoll_fd, evs, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			logf_(p, "epoll_wait: %s; proxy stopped", strerror(errno));
			break;
		}
		int stop = 0;
		for (int i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;
			uint64_t junk;
			switch (t->kind) {
			case TAG_LISTEN:
				accept_clients(p);
				break;
			case TAG_WAKE:
				(void)!read(p->wake_fd, &junk, sizeof junk);
				stop = serve_requests(p);
				break;
			case TAG_TIMER:
				/* Clear the expiry; run_due below does the work. */
				(void)!read(p->timer_fd, &junk, sizeof junk);
				p->armed_ns = 0;
				break;
			case TAG_SOCK:
				handle_sock(t->conn, t->side, evs[i].events);
				break;
			}
		}
		run_due(p);
		free_graveyard(p);
		if (stop)
			break;
	}
	return NULL;
}

/* ---- setup and teardown ---- */

static int resolve_target(struct dura_proxy *p, const struct dura_proxy_config *cfg,
                          char *err, size_t errlen)
{
	char port[16];
	snprintf(port, sizeof port, "%d", cfg->target_port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                          .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	int rc = getaddrinfo(cfg->target_host, port, &hints, &res);
	if (rc != 0) {
		dura_errbuf(err, errlen, "cannot resolve target '%s': %s", cfg->target_host,
		            gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai && p->n_targets < MAX_TARGET_ADDRS; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof p->target_addr[0])
			continue;
		memcpy(&p->target_addr[p->n_targets], ai->ai_addr, ai->ai_addrlen);
		p->target_len[p->n_targets++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (p->n_targets == 0) {
		dura_errbuf(err, errlen, "target '%s' has no usable address", cfg->target_host);
		return -1;
	}
	if (strchr(cfg->target_host, ':'))
		dura_errbuf(p->target_desc, sizeof p->target_desc, "[%s]:%d", cfg->target_host,
		            cfg->target_port);
	else
		dura_errbuf(p->target_desc, sizeof p->target_desc, "%s:%d", cfg->target_host,
		            cfg->target_port);
	return 0;
}

static int open_listener(struct dura_proxy *p, const struct dura_proxy_config *cfg,
                         char *err, size_t errlen)
{
	const char *host = cfg->listen_host ? cfg->listen_host : "127.0.0.1";
	char port[16];
	snprintf(port, sizeof port, "%d", cfg->listen_port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                          .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		dura_errbuf(err, errlen, "cannot resolve listen address '%s': %s", host,
		            gai_strerror(rc));
		return -1;
	}
	int last = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			last = errno;
			continue;
		}
		int one = 1;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
			struct sockaddr_storage ss;
			socklen_t len = sizeof ss;
			if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
				p->port = ntohs(ss.ss_family == AF_INET6
				                ? ((struct sockaddr_in6 *)&ss)->sin6_port
				                : ((struct sockaddr_in *)&ss)->sin_port);
			p->listen_fd = fd;
			freeaddrinfo(res);
			return 0;
		}
		last = errno;
		close(fd);
	}
	freeaddrinfo(res);
	dura_errbuf(err, errlen, "cannot listen on %s:%d: %s", host, cfg->listen_port,
	            strerror(last));
	return -1;
}

/* Frees p and everything it owns; the thread must not be running. */
static void destroy(struct dura_proxy *p)
{
	while (p->live)
		close_conn(p->live);
	free_graveyard(p);
	int *fds[] = { &p->listen_fd, &p->epoll_fd, &p->wake_fd, &p->timer_fd, &p->spare_fd };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	dura_heap_free(&p->heap);
	free(p->scratch);
	pthread_cond_destroy(&p->ctl_cv);
	pthread_mutex_destroy(&p->ctl_mu);
	free(p);
}

int dura_proxy_start(const struct dura_proxy_config *cfg, struct dura_proxy **out,
                     char *err, size_t errlen)
{
	*out = NULL;
	if (!cfg->target_host || !*cfg->target_host) {
		dura_errbuf(err, errlen, "no target host");
		return -1;
	}
	if (cfg->target_port < 1 || cfg->target_port > 65535 || cfg->listen_port < 0 ||
	    cfg->listen_port > 65535) {
		dura_errbuf(err, errlen, "port out of range (target %d, listen %d)",
		            cfg->target_port, cfg->listen_port);
		return -1;
	}
	if (cfg->rtt_us > MAX_DELAY_US || cfg->jitter_us > MAX_DELAY_US) {
		dura_errbuf(err, errlen, "rtt/jitter larger than an hour");
		return -1;
	}

	/* Owned by the caller after success (dura_proxy_stop frees it). */
	struct dura_proxy *p = dura_xcalloc(1, sizeof *p);
	p->listen_fd = p->epoll_fd = p->wake_fd = p->timer_fd = p->spare_fd = -1;
	p->log = cfg->log;
	p->log_arg = cfg->log_arg;
	uint64_t rtt_ns = cfg->rtt_us * 1000u;
	/* The round trip is split over both ways; the odd nanosecond, if any,
	 * goes to the reply. */
	p->par[SIDE_CLIENT] = (struct dura_link_params){ rtt_ns / 2, cfg->jitter_us * 1000u,
	                                                 cfg->bandwidth_bps };
	p->par[SIDE_TARGET] = (struct dura_link_params){ rtt_ns - rtt_ns / 2,
	                                                 cfg->jitter_us * 1000u,
	                                                 cfg->bandwidth_bps };
	p->base_delay_ns[SIDE_CLIENT] = p->par[SIDE_CLIENT].delay_ns;
	p->base_delay_ns[SIDE_TARGET] = p->par[SIDE_TARGET].delay_ns;
	pthread_mutex_init(&p->ctl_mu, NULL);
	pthread_cond_init(&p->ctl_cv, NULL);
	p->scratch = dura_xmalloc(SCRATCH_BYTES);
	p->listen_tag.kind = TAG_LISTEN;
	p->wake_tag.kind = TAG_WAKE;
	p->timer_tag.kind = TAG_TIMER;

	if (resolve_target(p, cfg, err, errlen) != 0 || open_listener(p, cfg, err, errlen) != 0)
		goto fail;
	p->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (p->epoll_fd < 0 || p->wake_fd < 0 || p->timer_fd < 0) {
		dura_errbuf(err, errlen, "cannot create proxy event descriptors: %s", strerror(errno));
		goto fail;
	}
	if (ep_ctl(p, EPOLL_CTL_ADD, p->listen_fd, EPOLLIN, &p->listen_tag) != 0 ||
	    ep_ctl(p, EPOLL_CTL_ADD, p->wake_fd, EPOLLIN, &p->wake_tag) != 0 ||
	    ep_ctl(p, EPOLL_CTL_ADD, p->timer_fd, EPOLLIN, &p->timer_tag) != 0) {
		dura_errbuf(err, errlen, "epoll_ctl: %s", strerror(errno));
		goto fail;
	}
	int rc = pthread_create(&p->thread, NULL, proxy_thread, p);
	if (rc != 0) {
		dura_errbuf(err, errlen, "cannot start the proxy thread: %s", strerror(rc));
		goto fail;
	}
	p->thread_started = 1;
	*out = p;
	return 0;
fail:
	destroy(p);
	return -1;
}

int dura_proxy_port(const struct dura_proxy *p)
{
	return p->port;
}

uint64_t dura_proxy_connect_failures(const struct dura_proxy *p)
{
	return atomic_load_explicit(&p->connect_failures, memory_order_relaxed);
}

void dura_proxy_get_stats(const struct dura_proxy *p, struct dura_proxy_stats *out)
{
	out->accepted = atomic_load_explicit(&p->accepted, memory_order_relaxed);
	out->connect_failures = atomic_load_explicit(&p->connect_failures, memory_order_relaxed);
	out->bytes_to_target = atomic_load_explicit(&p->bytes_dir[SIDE_CLIENT], memory_order_relaxed);
	out->bytes_to_client = atomic_load_explicit(&p->bytes_dir[SIDE_TARGET], memory_order_relaxed);
	out->open_connections = atomic_load_explicit(&p->open, memory_order_relaxed);
}

void dura_proxy_stop(struct dura_proxy *p)
{
	if (!p)
		return;
	if (p->thread_started) {
		pthread_mutex_lock(&p->ctl_mu);
		p->stopping = 1;
		pthread_mutex_unlock(&p->ctl_mu);
		uint64_t one = 1;
		/* An eventfd write only fails if the counter would overflow. */
		(void)!write(p->wake_fd, &one, sizeof one);
		pthread_join(p->thread, NULL);
	}
	destroy(p);
}

/* Posts a request and waits until the proxy thread has applied it. */
static uint64_t request(struct dura_proxy *p, int req, uint64_t value)
{
	pthread_mutex_lock(&p->ctl_mu);
	while (p->req_pending) /* one request at a time */
		pthread_cond_wait(&p->ctl_cv, &p->ctl_mu);
	p->req = req;
	p->req_value = value;
	p->req_pending = 1;
	uint64_t one = 1;
	(void)!write(p->wake_fd, &one, sizeof one);
	while (p->req_pending)
		pthread_cond_wait(&p->ctl_cv, &p->ctl_mu);
	uint64_t result = p->req_result;
	pthread_mutex_unlock(&p->ctl_mu);
	return result;
}

uint64_t dura_proxy_reset_all(struct dura_proxy *p)
{
	return request(p, REQ_RESET, 0);
}

void dura_proxy_set_partition(struct dura_proxy *p, int on)
{
	request(p, REQ_PARTITION, on ? 1 : 0);
}

void dura_proxy_set_extra_rtt(struct dura_proxy *p, uint64_t rtt_us)
{
	request(p, REQ_RTT, rtt_us);
}
