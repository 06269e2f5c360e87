-- pgbench script of scripts/bench.sh ceiling: the work of one 5-activity
-- fan-out orchestration, done with the PostgreSQL provider's own functions
-- (plugins/postgres/pg_schema.c) and nothing else: the start enqueue, two
-- orchestration turns (fetch + ack; the first fetched turn of an instance
-- schedules its 5 activities, the later ones record completions and
-- complete it after the fifth) and five work items (fetch, then ack with
-- the completion and fetch the next, the last one acked alone).  Turns and
-- work items are taken from the shared queues, so a client works on any
-- client's instances, as the runtime's dispatchers do.  Bodies are 48
-- bytes.  Run with -M prepared and search_path set to the store's schema.
\set key random(1, 9000000000000000000)
\set seq random(1, 9000000000000000000)
SELECT dura_enqueue(:key, ARRAY['pgbench.' || :seq], ARRAY['\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea], ARRAY[0::bigint], false) AS enqueued \gset
SELECT coalesce(o_token, 0) AS tok, coalesce(o_instance, '') AS oi, coalesce(cardinality(o_hist_ids), 0) AS nh, coalesce(cardinality(o_bodies), 0) AS nm FROM dura_fetch_orch(30000) \gset
\if :tok != 0
\if :nh = 0
SELECT dura_ack_orch(:tok, 1, ARRAY[1, 2, 3, 4, 5, 6]::bigint[], array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[6]), array_fill(:oi::text, ARRAY[5]), array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[5]), array_fill(0::bigint, ARRAY[5]), '{}'::text[], '{}'::bytea[], '{}'::bigint[], true, 'fanout', 1, ''::bytea, NULL, 1, false) AS more \gset
\else
SELECT dura_ack_orch(:tok, 1, ARRAY(SELECT generate_series(:nh::bigint + 1, :nh::bigint + :nm::bigint)), array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[:nm::int]), '{}'::text[], '{}'::bytea[], '{}'::bigint[], '{}'::text[], '{}'::bytea[], '{}'::bigint[], true, 'fanout', CASE WHEN :nh::int + :nm::int >= 11 THEN 2 ELSE 1 END, ''::bytea, NULL, 1, false) AS more \gset
\endif
\endif
SELECT coalesce(o_token, 0) AS wt, coalesce(o_instance, '') AS wi FROM dura_fetch_work(30000) \gset
\if :wt != 0
SELECT coalesce(o_token, 0) AS wt, coalesce(o_instance, '') AS wi FROM dura_ack_fetch_work(:wt, :wi::text, '\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, 0, false, 30000) \gset
\endif
\if :wt != 0
SELECT coalesce(o_token, 0) AS wt, coalesce(o_instance, '') AS wi FROM dura_ack_fetch_work(:wt, :wi::text, '\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, 0, false, 30000) \gset
\endif
\if :wt != 0
SELECT coalesce(o_token, 0) AS wt, coalesce(o_instance, '') AS wi FROM dura_ack_fetch_work(:wt, :wi::text, '\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, 0, false, 30000) \gset
\endif
\if :wt != 0
SELECT coalesce(o_token, 0) AS wt, coalesce(o_instance, '') AS wi FROM dura_ack_fetch_work(:wt, :wi::text, '\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, 0, false, 30000) \gset
\endif
\if :wt != 0
SELECT dura_ack_work(:wt, :wi::text, '\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, 0, false);
\endif
SELECT coalesce(o_token, 0) AS tok, coalesce(o_instance, '') AS oi, coalesce(cardinality(o_hist_ids), 0) AS nh, coalesce(cardinality(o_bodies), 0) AS nm FROM dura_fetch_orch(30000) \gset
\if :tok != 0
\if :nh = 0
SELECT dura_ack_orch(:tok, 1, ARRAY[1, 2, 3, 4, 5, 6]::bigint[], array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[6]), array_fill(:oi::text, ARRAY[5]), array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[5]), array_fill(0::bigint, ARRAY[5]), '{}'::text[], '{}'::bytea[], '{}'::bigint[], true, 'fanout', 1, ''::bytea, NULL, 1, false) AS more \gset
\else
SELECT dura_ack_orch(:tok, 1, ARRAY(SELECT generate_series(:nh::bigint + 1, :nh::bigint + :nm::bigint)), array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[:nm::int]), '{}'::text[], '{}'::bytea[], '{}'::bigint[], '{}'::text[], '{}'::bytea[], '{}'::bigint[], true, 'fanout', CASE WHEN :nh::int + :nm::int >= 11 THEN 2 ELSE 1 END, ''::bytea, NULL, 1, false) AS more \gset
\endif
\endif
