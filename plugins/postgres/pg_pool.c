
/*
 * Fixed-size connection pool.
 *
 * pool_size slots; a slot is connected on first use (so unused capacity
 * costs nothing, which matters through an emulated long link) and kept for
 * the life of the store.  Acquire blocks up to acquire_timeout for a free
 * slot.  Before handing out an idle connection we poll its socket: an idle
 * connection has nothing to read, so readable data means the server sent
 * a FATAL (pg_terminate_backend, shutdown) or closed it; the slot is then
 * reconnected (statements re-prepared) before use and stats.reconnects
 * counts it.  A call that fails on a dead connection marks its slot broken
 * the same way.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_internal.h"

/* A plugin never prints: libpq's default processor writes notices (e.g.
 * DROP ... CASCADE details, FATAL goodbyes) to stderr. */
static void discard_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

PGconn *dura_pg_connect(struct dura_store *st, char *err, size_t errlen)
{
	char timeout[16];
	/* libpq takes whole seconds (and treats 1 as 2) */
	unsigned secs = (st->opt.connect_timeout_ms + 999) / 1000;
	snprintf(timeout, sizeof timeout, "%u", secs ? secs : 0);
	/* A vanished peer: keepalives probe an idle link, and unacknowledged
	 * data fails after call_timeout (a stalled but reachable server is
	 * caught by the call deadline instead, pg_deadline.c).  These come
	 * before the address, so its own settings win; later keywords
	 * override what the address says. */
	char user_timeout[16];
	snprintf(user_timeout, sizeof user_timeout, "%u", (unsigned)st->opt.call_timeout_ms);
	const char *keys[11], *vals[11];
	int n = 0;
	keys[n] = "keepalives";
	vals[n++] = "1";
	keys[n] = "keepalives_idle";
	vals[n++] = "5";
	keys[n] = "keepalives_interval";
	vals[n++] = "2";
	keys[n] = "keepalives_count";
	vals[n++] = "3";
	keys[n] = "tcp_user_timeout";
	vals[n++] = user_timeout;
	int url_at = n;
	keys[n] = "dbname";
	vals[n++] = st->opt.url && *st->opt.url ? st->opt.url : NULL;
	if (secs) {
		keys[n] = "connect_timeout";
		vals[n++] = timeout;
	}
	if (st->opt.application_name && *st->opt.application_name) {
		keys[n] = "application_name";
		vals[n++] = st->opt.application_name;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	if (!vals[url_at]) {
		/* dbname NULL ends the arrays early: drop it, keep the rest */
		for (int i = url_at; i < n; i++) {
			keys[i] = keys[i + 1];
			vals[i] = vals[i + 1];
		}
	}
	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		dura_pg_connect_error(conn, err, errlen);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, discard_notice, NULL);
	if (PQsetnonblocking(conn, 1) != 0) { /* every wait has a deadline */
		snprintf(err, errlen, "cannot put the connection in non-blocking mode: %s",
		         PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

dura_rc dura_pg_conn_setup(struct dura_store *st, struct dura_pg_conn *c,
                           struct dura_err *err)
{
	if (!c->conn) {
		char msg[DURA_ERR_MAX];
		c->conn = dura_pg_connect(st, msg, sizeof msg);
		if (!c->conn) {
			dura_pg_err(err, "%s", msg);
			return DURA_RETRY;
		}
	}
	atomic_fetch_add(&st->stats.round_trips, 1);
	int timed_out;
	PGresult *res = dura_pg_exec(c->conn, st->setup_script, st->opt.call_timeout_ms,
	                             &timed_out);
	dura_rc rc = DURA_OK;
	if (timed_out) {
		dura_pg_timeout_err(err, "preparing statements", st->opt.call_timeout_ms);
		rc = DURA_RETRY;
	} else if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = dura_pg_result_error(c->conn, res, "preparing statements", err);
	PQclear(res);
	if (rc != DURA_OK) {
		PQfinish(c->conn);
		c->conn = NULL;
		return rc;
	}
	c->broken = 0;
	pthread_mutex_lock(&st->pool.mu);
	c->pid = PQbackendPID(c->conn);
	pthread_mutex_unlock(&st->pool.mu);
	return DURA_OK;
}

dura_rc dura_pg_pool_init(struct dura_store *st, struct dura_err *err)
{
	struct dura_pg_pool *p = &st->pool;
	p->size = st->opt.pool_size;
	p->slots = calloc(p->size, sizeof *p->slots);
	if (!p->slots) {
		dura_pg_err(err, "out of memory");
		return DURA_CONFIG;
	}
	for (unsigned i = 0; i < p->size; i++)
		p->slots[i].index = i;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	return DURA_OK;
}

/* An idle connection must have nothing to read; anything there is the
 * server's goodbye (FATAL 57P01, EOF).  Called without the pool mutex. */
static int idle_conn_alive(PGconn *conn)
{
	if (PQstatus(conn) != CONNECTION_OK)
		return 0;
	int fd = PQsocket(conn);
	if (fd < 0)
		return 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r = poll(&pfd, 1, 0);
	if (r == 0)
		return 1;
	return 0;
}

static struct dura_pg_conn *take_slot(struct dura_pg_pool *p)
{
	/* prefer the most recently released connected slot, then any connected
	 * one, then an unconnected one */
	if (p->next_hint < p->size) {
		struct dura_pg_conn *c = &p->slots[p->next_hint];
		if (!c->in_use && c->conn)
			return c;
	}
	struct dura_pg_conn *empty = NULL;
	for (unsigned i = 0; i < p->size; i++) {
		struct dura_pg_conn *c = &p->slots[i];
		if (c->in_use)
			continue;
		if (c->conn)
			return c;
		if (!empty)
			empty = c;
	}
	return empty;
}

dura_rc dura_pg_pool_acquire(struct dura_store *st, struct dura_pg_conn **out,
                             struct dura_err *err)
{
	struct dura_pg_pool *p = &st->pool;
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	uint64_t ns = (uint64_t)deadline.tv_nsec +
	              (uint64_t)st->opt.acquire_timeout_ms * 1000000u;
	deadline.tv_sec += (time_t)(ns / 1000000000u);
	deadline.tv_nsec = (long)(ns % 1000000000u);

	pthread_mutex_lock(&p->mu);
	struct dura_pg_conn *c;
	while (!(c = take_slot(p))) {
		int r = pthread_cond_timedwait(&p->cv, &p->mu, &deadline);
		if (r == ETIMEDOUT && !(c = take_slot(p))) {
			pthread_mutex_unlock(&p->mu);
			dura_pg_err(err, "no free PostgreSQL connection after %u ms "
			            "(pool_size %u; raise pool_size or acquire_timeout)",
			            st->opt.acquire_timeout_ms, p->size);
			return DURA_RETRY;
		}
		if (c)
			break;
	}
	c->in_use = 1;
	pthread_mutex_unlock(&p->mu);

	int reconnect = 0;
	if (c->conn && (c->broken || !idle_conn_alive(c->conn))) {
		pthread_mutex_lock(&p->mu);
		c->pid = 0;
		pthread_mutex_unlock(&p->mu);
		PQfinish(c->conn);
		c->conn = NULL;
		reconnect = 1;
	}
	if (!c->conn) {
		dura_rc rc = dura_pg_conn_setup(st, c, err);
		if (rc != DURA_OK) {
			c->broken = 0;
			dura_pg_pool_release(st, c);
			return rc == DURA_CONFIG ? DURA_CONFIG : DURA_RETRY;
		}
		if (reconnect)
			atomic_fetch_add(&st->stats.reconnects, 1);
	}
	*out = c;
	return DURA_OK;
}

void dura_pg_pool_release(struct dura_store *st, struct dura_pg_conn *c)
{
	struct dura_pg_pool *p = &st->pool;
	if (c->conn && PQstatus(c->conn) != CONNECTION_OK)
		c->broken = 1;
	pthread_mutex_lock(&p->mu);
	c->in_use = 0;
	if (c->conn && !c->broken)
		p->next_hint = c->index;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

int dura_pg_pool_owns_pid(struct dura_store *st, int pid)
{
	struct dura_pg_pool *p = &st->pool;
	int found = 0;
	pthread_mutex_lock(&p->mu);
	for (unsigned i = 0; i < p->size && !found; i++)
		found = pid != 0 && p->slots[i].pid == pid;
	pthread_mutex_unlock(&p->mu);
	return found;
}

void dura_pg_pool_destroy(struct dura_store *st)
{
	struct dura_pg_pool *p = &st->pool;
	if (!p->slots)
		return;
	for (unsigned i = 0; i < p->size; i++)
		PQfinish(p->slots[i].conn);
	free(p->slots);
	p->slots = NULL;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}
