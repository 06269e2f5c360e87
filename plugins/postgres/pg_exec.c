
/*
 * One provider operation = one prepared call on a pooled connection = one
 * round trip and one implicit transaction.  If the connection drops, the
 * server rolls the call back (the transaction never committed) unless the
 * commit itself raced the drop; that one ambiguous case is why writes are
 * only retried here when the request surely never ran:
 *   - it could not be sent at all;
 *   - the server reported a rollback-class error (serialization failure,
 *     deadlock, lock not available) on a live connection.
 * Fetches and reads are retried on any transient error: a lost reply to a
 * fetch costs at most a lock that expires.  So are writes that carry an
 * idempotency key (enqueue, see pg_enqueue_keys.c).  Everything else is returned as
 * DURA_RETRY for the caller's own backoff.  A call with no reply within
 * call_timeout drops its connection and returns DURA_RETRY at once.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pg_internal.h"

#define MAX_ATTEMPTS 3

static void backoff(int attempt)
{
	if (attempt == 0)
		return; /* first retry: a fresh connection, right away */
	struct timespec ts = { 0, (long)(2000000L << (attempt - 1)) };
	nanosleep(&ts, NULL);
}

dura_rc dura_pg_call(struct dura_store *st, enum dura_pg_stmt s,
                     struct dura_pg_params *p, enum dura_pg_retry policy,
                     PGresult **out, struct dura_err *err)
{
	*out = NULL;
	if (dura_pg_params_finish(p) != 0) {
		dura_pg_err(err, "out of memory building the parameters of %s",
		            dura_pg_stmt_name(s));
		return DURA_RETRY;
	}
	const char *name = dura_pg_stmt_name(s);
	dura_rc rc = DURA_RETRY;
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		if (attempt > 0) {
			atomic_fetch_add(&st->stats.retries, 1);
			backoff(attempt - 1);
		}
		struct dura_pg_conn *c;
		rc = dura_pg_pool_acquire(st, &c, err);
		if (rc != DURA_OK) {
			if (rc == DURA_RETRY)
				continue; /* nothing was sent */
			return rc;
		}
		atomic_fetch_add(&st->stats.round_trips, 1);
		if (!PQsendQueryPrepared(c->conn, name, p->n, p->values, p->lengths,
		                         p->formats, 1)) {
			rc = dura_pg_result_error(c->conn, NULL, name, err);
			if (rc == DURA_PERMANENT)
				rc = DURA_RETRY; /* could not send: the link is gone */
			c->broken = 1;
			dura_pg_pool_release(st, c);
			continue; /* unsent: always safe to retry */
		}
		int timed_out;
		PGresult *res = dura_pg_await(c->conn, st->opt.call_timeout_ms, &timed_out);
		if (timed_out) {
			/* The server may yet run (or have run) the call, and a
			 * server that stalls once stalls again: no retry here, the
			 * caller decides (a retry would multiply the deadline). */
			dura_pg_timeout_err(err, name, st->opt.call_timeout_ms);
			c->broken = 1;
			dura_pg_pool_release(st, c);
			return DURA_RETRY;
		}
		ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
		if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
			dura_pg_pool_release(st, c);
			*out = res;
			return DURA_OK;
		}
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		int rolled_back = dura_pg_sqlstate_rolled_back(state) &&
		                  PQstatus(c->conn) == CONNECTION_OK;
		rc = dura_pg_result_error(c->conn, res, name, err);
		if (PQstatus(c->conn) != CONNECTION_OK)
			c->broken = 1;
		PQclear(res);
		dura_pg_pool_release(st, c);
		if (rc != DURA_RETRY)
			return rc;
		if (!rolled_back && policy == PG_RETRY_IF_UNSENT)
			return rc;
	}
	return rc;
}

dura_rc dura_pg_call_commit(struct dura_store *st, enum dura_pg_stmt s,
                            struct dura_pg_params *p, enum dura_pg_retry policy,
                            struct dura_err *err)
{
	PGresult *res;
	dura_rc rc = dura_pg_call(st, s, p, policy, &res, err);
	dura_pg_params_free(p);
	if (rc != DURA_OK)
		return rc;
	PQclear(res);
	atomic_fetch_add(&st->stats.commits, 1);
	return DURA_OK;
}
