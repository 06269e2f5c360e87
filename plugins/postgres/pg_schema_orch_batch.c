
/*
 * The PL/pgSQL functions of the orchestration batch (ABI 1.7), created
 * with the rest of the schema (pg_schema.c appends this text).
 *
 * dura_fetch_orchs      up to p_max instances, each taken exactly as
 *                       dura_fetch_orch takes one (it is called p_max times
 *                       in one transaction: an instance locked by an
 *                       earlier call is no longer eligible for the next);
 *                       with p_wait_ms > 0 it waits in the server, looking
 *                       again every p_step_ms, until one is eligible (the
 *                       long poll of a client far from the server, see
 *                       pg_ops_orch_batch.c)
 * dura_ack_fetch_orchs  n acks, each one dura_ack_orch call inside its own
 *                       subtransaction (a BEGIN ... EXCEPTION block): a
 *                       lost lock (DBL01) or a duplicate event id (23505)
 *                       rolls back that ack alone and is reported in
 *                       o_results; then dura_fetch_orchs
 *
 * One round trip per call.  Items come back as one row of parallel arrays
 * (several instances' messages and histories cannot nest in SQL arrays):
 * per instance its token, id and execution, and the number of its messages
 * and history events, whose bodies follow each other in o_bodies and
 * o_hist_bodies.  The acks come in the same flattened form: per ack the
 * counts of its history events, work items and orchestrator messages, the
 * elements themselves concatenated in ack order.
 */
#include "pg_internal.h"

/* The fetch part, shared by both functions' declarations. */
#define FETCH_ORCHS_OUT \
"  OUT o_tokens bigint[], OUT o_instances text[], OUT o_executions bigint[],\n" \
"  OUT o_msg_n integer[], OUT o_bodies bytea[], OUT o_attempts integer[],\n" \
"  OUT o_hist_n integer[], OUT o_hist_ids bigint[], OUT o_hist_bodies bytea[],\n" \
"  OUT o_lost integer, OUT o_next_ms bigint, OUT o_blocked boolean"

const char dura_pg_orch_batch_ddl[] =
"CREATE FUNCTION dura_fetch_orchs(p_lock_ms integer, p_max integer,\n"
"  p_wait_ms integer, p_step_ms integer,\n"
FETCH_ORCHS_OUT ")\n"
"LANGUAGE plpgsql AS $fn$\n"
"DECLARE\n"
"  f record;\n"
"  v_deadline timestamptz := clock_timestamp() + greatest(p_wait_ms, 0) * interval '1 millisecond';\n"
"BEGIN\n"
"  o_tokens := '{}'; o_instances := '{}'; o_executions := '{}';\n"
"  o_msg_n := '{}'; o_bodies := '{}'; o_attempts := '{}';\n"
"  o_hist_n := '{}'; o_hist_ids := '{}'; o_hist_bodies := '{}';\n"
"  o_lost := 0;\n"
"  LOOP\n"
"    FOR i IN 1 .. greatest(p_max, 0) LOOP\n"
"      SELECT * INTO f FROM dura_fetch_orch(p_lock_ms);\n"
"      o_lost := o_lost + coalesce(f.o_lost, 0);\n"
"      IF f.o_token IS NULL THEN\n"
"        o_next_ms := f.o_next_ms;\n"
"        o_blocked := f.o_blocked;\n"
"        EXIT;\n"
"      END IF;\n"
"      o_tokens := o_tokens || f.o_token;\n"
"      o_instances := o_instances || f.o_instance;\n"
"      o_executions := o_executions || f.o_execution;\n"
"      o_msg_n := o_msg_n || cardinality(f.o_bodies);\n"
"      o_bodies := o_bodies || f.o_bodies;\n"
"      o_attempts := o_attempts || f.o_attempts;\n"
"      o_hist_n := o_hist_n || coalesce(cardinality(f.o_hist_ids), 0);\n"
"      o_hist_ids := o_hist_ids || coalesce(f.o_hist_ids, '{}');\n"
"      o_hist_bodies := o_hist_bodies || coalesce(f.o_hist_bodies, '{}');\n"
"    END LOOP;\n"
/* the server-side long poll of a far client (p_wait_ms > 0): look again
 * every p_step_ms until something is eligible or the wait is over; each
 * statement sees what committed meanwhile (READ COMMITTED) */
"    IF cardinality(o_tokens) > 0 OR clock_timestamp() >= v_deadline THEN\n"
"      RETURN;\n"
"    END IF;\n"
"    PERFORM pg_sleep(least(greatest(p_step_ms, 1),\n"
"        extract(epoch FROM v_deadline - clock_timestamp()) * 1000) / 1000.0);\n"
"  END LOOP;\n"
"END $fn$;\n"
"\n"
"CREATE FUNCTION dura_ack_fetch_orchs(p_tokens bigint[], p_executions bigint[],\n"
"  p_hist_n integer[], p_hist_ids bigint[], p_hist_bodies bytea[],\n"
"  p_work_n integer[], p_work_inst text[], p_work_bodies bytea[], p_work_delays bigint[],\n"
"  p_orch_n integer[], p_orch_inst text[], p_orch_bodies bytea[], p_orch_delays bigint[],\n"
"  p_has_meta boolean[], p_names text[], p_status integer[], p_outputs bytea[],\n"
"  p_parents text[], p_meta_executions bigint[], p_notify boolean,\n"
"  p_lock_ms integer, p_max integer,\n"
"  OUT o_results integer[], OUT o_errors text[], OUT o_more boolean,\n"
FETCH_ORCHS_OUT ")\n"
"LANGUAGE plpgsql AS $fn$\n"
"DECLARE\n"
"  v_h integer := 0;\n"
"  v_w integer := 0;\n"
"  v_o integer := 0;\n"
"  v_more boolean;\n"
"  f record;\n"
"BEGIN\n"
"  o_results := '{}';\n"
"  o_errors := '{}';\n"
"  o_more := false;\n"
"  FOR i IN 1 .. coalesce(cardinality(p_tokens), 0) LOOP\n"
"    BEGIN\n"
"      v_more := dura_ack_orch(p_tokens[i], p_executions[i],\n"
"          p_hist_ids[v_h + 1 : v_h + p_hist_n[i]], p_hist_bodies[v_h + 1 : v_h + p_hist_n[i]],\n"
"          p_work_inst[v_w + 1 : v_w + p_work_n[i]], p_work_bodies[v_w + 1 : v_w + p_work_n[i]],\n"
"          p_work_delays[v_w + 1 : v_w + p_work_n[i]],\n"
"          p_orch_inst[v_o + 1 : v_o + p_orch_n[i]], p_orch_bodies[v_o + 1 : v_o + p_orch_n[i]],\n"
"          p_orch_delays[v_o + 1 : v_o + p_orch_n[i]],\n"
"          p_has_meta[i], p_names[i], p_status[i], p_outputs[i], p_parents[i],\n"
"          p_meta_executions[i], p_notify);\n"
"      o_more := o_more OR v_more;\n"
"      o_results := o_results || 0;\n"
"      o_errors := o_errors || NULL::text;\n"
"    EXCEPTION\n"
"      WHEN SQLSTATE 'DBL01' THEN\n"
"        o_results := o_results || 3;\n"
"        o_errors := o_errors || SQLERRM;\n"
"      WHEN unique_violation THEN\n"
"        o_results := o_results || 4;\n"
"        o_errors := o_errors || SQLERRM;\n"
"    END;\n"
"    v_h := v_h + p_hist_n[i];\n"
"    v_w := v_w + p_work_n[i];\n"
"    v_o := v_o + p_orch_n[i];\n"
"  END LOOP;\n"
"  SELECT * INTO f FROM dura_fetch_orchs(p_lock_ms, p_max, 0, 0);\n"
"  o_tokens := f.o_tokens; o_instances := f.o_instances; o_executions := f.o_executions;\n"
"  o_msg_n := f.o_msg_n; o_bodies := f.o_bodies; o_attempts := f.o_attempts;\n"
"  o_hist_n := f.o_hist_n; o_hist_ids := f.o_hist_ids; o_hist_bodies := f.o_hist_bodies;\n"
"  o_lost := f.o_lost; o_next_ms := f.o_next_ms; o_blocked := f.o_blocked;\n"
"END $fn$;\n";
