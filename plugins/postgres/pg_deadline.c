/*
 * Client-side deadlines for every SQL call.
 *
 * A stalled server (SIGSTOP, a hung disk) keeps its TCP connection alive:
 * the kernel acknowledges our bytes, so neither keepalives nor
 * tcp_user_timeout ever fire, and libpq's blocking PQexec/PQgetResult wait
 * in poll(-1) forever.  Every call therefore runs in non-blocking mode and
 * waits with poll() until its deadline; when the deadline passes the
 * caller drops the connection (the server rolls back whatever it had not
 * committed) and the operation returns RETRY.  Keepalives and
 * tcp_user_timeout (set at connect, pg_pool.c) cover the other half: a
 * peer that vanished from the network.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "pg_internal.h"

/* Waits until conn's socket is ready for events, or the deadline (ns,
 * CLOCK_MONOTONIC).  Returns 1 ready, 0 deadline passed, -1 error. */
static int wait_socket(PGconn *conn, short events, uint64_t deadline_ns)
{
	int fd = PQsocket(conn);
	if (fd < 0)
		return -1;
	for (;;) {
		uint64_t now = dura_pg_now_ns();
		if (now >= deadline_ns)
			return 0;
		uint64_t left_ms = (deadline_ns - now + 999999u) / 1000000u;
		struct pollfd pfd = { .fd = fd, .events = events };
		int r = poll(&pfd, 1, left_ms > 60000 ? 60000 : (int)left_ms);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

PGresult *dura_pg_await(PGconn *conn, uint32_t timeout_ms, int *timed_out)
{
	*timed_out = 0;
	uint64_t deadline = dura_pg_now_ns() + (uint64_t)timeout_ms * 1000000u;
	/* The request may still sit in libpq's buffer (non-blocking send). */
	int f;
	while ((f = PQflush(conn)) == 1) {
		int w = wait_socket(conn, POLLOUT | POLLIN, deadline);
		if (w == 0) {
			*timed_out = 1;
			return NULL;
		}
		if (w < 0 || !PQconsumeInput(conn))
			break; /* the error surfaces through PQgetResult */
	}
	/* Every result of the call; the first error (or the last result) is
	 * kept, as the blocking loop did. */
	PGresult *keep = NULL;
	for (;;) {
		while (PQisBusy(conn)) {
			int w = wait_socket(conn, POLLIN, deadline);
			if (w == 0) {
				PQclear(keep);
				*timed_out = 1;
				return NULL;
			}
			if (w < 0 || !PQconsumeInput(conn))
				break; /* PQgetResult reports the broken link */
		}
		PGresult *r = PQgetResult(conn);
		if (!r)
			break;
		if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
			PQclear(r);
			continue;
		}
		PQclear(keep);
		keep = r;
		if (PQstatus(conn) != CONNECTION_OK)
			break; /* no more results will come */
	}
	return keep;
}

PGresult *dura_pg_exec(PGconn *conn, const char *sql, uint32_t timeout_ms, int *timed_out)
{
	*timed_out = 0;
	if (!PQsendQuery(conn, sql))
		return NULL;
	return dura_pg_await(conn, timeout_ms, timed_out);
}

void dura_pg_timeout_err(struct dura_err *err, const char *what, uint32_t timeout_ms)
{
	dura_pg_err(err, "%s: no reply from PostgreSQL within call_timeout (%u ms); "
	            "connection dropped", what, (unsigned)timeout_ms);
}
