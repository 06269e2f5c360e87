/*
 * PostgreSQL provider: bulk prefill (ABI 1.4).  One statement per chunk
 * generates the rows in the server (generate_series for the instance
 * numbers, unnest for the history events), so the client sends the
 * template once per chunk, not once per row.  Chunks keep each call well
 * inside call_timeout; one check first refuses a range that meets an
 * existing instance, so such a call writes nothing.
 */
#include <stdio.h>

#include "pg_internal.h"

/* Instances per call: ~ a second of server work on a small machine. */
#define CHUNK 20000

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
	return rc;
}
