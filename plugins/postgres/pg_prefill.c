/*
 * PostgreSQL provider: bulk prefill (ABI 1.4).  One statement per chunk
 * generates the rows in the server (generate_series for the instance
 * numbers, unnest for the history events), so the client sends the
 * template once per chunk, not once per row.  Chunks keep each call well
 * inside call_timeout; one check first refuses a range that meets an
 * existing instance, so such a call writes nothing.  A VACUUM (ANALYZE)
 * of the loaded tables and a CHECKPOINT end it (settle).
 */
#include <stdio.h>
#include <string.h>

#include "pg_internal.h"

/* Instances per call: ~ a second of server work on a small machine. */
#define CHUNK 20000
/* The VACUUM after the load: minutes for tens of millions of rows on a
 * loaded machine, far more than one call's call_timeout. */
#define SETTLE_TIMEOUT_MS 600000u

/* After a bulk load the tables' statistics describe an empty store and
 * every new row waits for autovacuum (13 rows per instance: 13 million for
 * a million).  Left alone, autovacuum's VACUUM and ANALYZE of them run
 * inside the measured run, on the same cores, and the planner plans for
 * empty tables until then; pgbench vacuums after its load for the same
 * reason.  The names are the store's own tables (search_path). */
static dura_rc settle_step(struct dura_store *st, struct dura_pg_conn *c, const char *sql,
                           const char *what, uint32_t ms, struct dura_err *err)
{
	int timed_out;
	atomic_fetch_add(&st->stats.round_trips, 1);
	PGresult *res = dura_pg_exec(c->conn, sql, ms, &timed_out);
	dura_rc rc = DURA_OK;
	if (timed_out) {
		dura_pg_timeout_err(err, what, ms);
		c->broken = 1;
		rc = DURA_RETRY;
	} else if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		/* CHECKPOINT needs superuser or pg_checkpoint: without it the
		 * run just starts with the load's dirty buffers */
		if (strcmp(sql, "CHECKPOINT") != 0 || !state || strcmp(state, "42501") != 0)
			rc = dura_pg_result_error(c->conn, res, what, err);
		c->broken = PQstatus(c->conn) != CONNECTION_OK;
	}
	PQclear(res);
	return rc;
}

/* The load and the VACUUM leave shared_buffers full of dirty pages; the
 * CHECKPOINT writes them out, so the measured run's backends do not have
 * to (pg_stat_bgwriter over the measured run after a 300,000-instance
 * load: 1,057 buffers written by backends before, 0 with it). */
static dura_rc settle(struct dura_store *st, struct dura_err *err)
{
	struct dura_pg_conn *c;
	dura_rc rc = dura_pg_pool_acquire(st, &c, err);
	if (rc != DURA_OK)
		return rc;
	uint32_t ms = st->opt.call_timeout_ms > SETTLE_TIMEOUT_MS ? st->opt.call_timeout_ms
	                                                          : SETTLE_TIMEOUT_MS;
	rc = settle_step(st, c, "VACUUM (ANALYZE) instances, history",
	                 "prefill: VACUUM (ANALYZE) after the load", ms, err);
	if (rc == DURA_OK)
		rc = settle_step(st, c, "CHECKPOINT", "prefill: CHECKPOINT after the load", ms, err);
	dura_pg_pool_release(st, c);
	return rc;
}

dura_rc dura_pg_prefill(dura_store *st, const char *prefix, uint64_t first, uint64_t n,
                        const struct dura_instance_meta *meta, const struct dura_event *history,
                        size_t n_history, struct dura_err *err)
{
	if (n == 0)
		return DURA_OK;
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	dura_pg_param_text(&p, prefix);
	dura_pg_param_int8(&p, (int64_t)first);
	dura_pg_param_int8(&p, (int64_t)n);
	PGresult *res;
	dura_rc rc = dura_pg_call(st, PG_STMT_PREFILL_EXISTS, &p, PG_RETRY_ALWAYS, &res, err);
	dura_pg_params_free(&p);
	if (rc != DURA_OK)
		return rc;
	int exists = PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 1 && PQgetvalue(res, 0, 0)[0];
	PQclear(res);
	if (exists) {
		dura_pg_err(err, "prefill: an instance %s<%llu..%llu> exists already", prefix,
		            (unsigned long long)first, (unsigned long long)(first + n - 1));
		return DURA_PERMANENT;
	}
	for (uint64_t done = 0; done < n && rc == DURA_OK; done += CHUNK) {
		uint64_t k = n - done < CHUNK ? n - done : CHUNK;
		dura_pg_params_init(&p);
		dura_pg_param_text(&p, prefix);
		dura_pg_param_int8(&p, (int64_t)(first + done));
		dura_pg_param_int8(&p, (int64_t)k);
		dura_pg_param_text(&p, meta->name ? meta->name : "");
		dura_pg_param_int4(&p, meta->status);
		dura_pg_param_bytea(&p, meta->output.data, meta->output.len);
		dura_pg_param_text(&p, meta->parent);
		dura_pg_param_int8(&p, (int64_t)meta->execution);
		struct dura_pg_array *ids = dura_pg_param_array(&p, PG_OID_INT8);
		struct dura_pg_array *bodies = dura_pg_param_array(&p, PG_OID_BYTEA);
		for (size_t i = 0; i < n_history; i++) {
			dura_pg_array_add_int8(ids, (int64_t)history[i].event_id);
			dura_pg_array_add(bodies, history[i].body.data, history[i].body.len);
		}
		/* a plain insert: retried only when it surely never ran */
		rc = dura_pg_call_commit(st, PG_STMT_PREFILL, &p, PG_RETRY_IF_UNSENT, err);
	}
	return rc == DURA_OK ? settle(st, err) : rc;
}
