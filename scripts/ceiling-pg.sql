-- pgbench script of scripts/bench.sh ceiling: the work of one 5-activity
-- fan-out orchestration, done with the PostgreSQL provider's own functions
-- (plugins/postgres/pg_schema.c) and chained exactly as durabench's
-- runtime chains them at its best: per transaction the start enqueue, two
-- orchestration turns and one batch of work items, four calls in all.
--
-- * A turn acks the turn the client holds and fetches the next one in the
--   same call (dura_ack_fetch_orch); only a client holding nothing (the
--   queue was empty) fetches alone.  The first turn of an instance
--   schedules its 5 activities; later ones record the completions they
--   received and complete the instance once all five are in.
-- * Work items go in batches of up to 8 (the runtime's activity_batch
--   default): the held batch is acked with its completions together with
--   the next fetch (dura_ack_fetch_works).
--
-- What a client holds (turn token, instance, history and message counts;
-- the batch's tokens and instances) stays in its pgbench variables from
-- one transaction to the next, exactly as a dispatcher carries a turn from
-- one call to the next; bench.sh starts them empty with -D.  Turns and
-- work items come from the shared queues, so a client works on any
-- client's instances.  Bodies are 48 bytes.  Run with -M prepared and
-- search_path set to the store's schema.
\set key random(1, 9000000000000000000)
\set seq random(1, 9000000000000000000)
SELECT dura_enqueue(:key, ARRAY['pgbench.' || :seq], ARRAY['\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea], ARRAY[0::bigint], false) AS enqueued \gset
\if :tok = 0
SELECT coalesce(o_token, 0) AS tok, coalesce(o_instance, '') AS oi, coalesce(cardinality(o_hist_ids), 0) AS nh, coalesce(cardinality(o_bodies), 0) AS nm FROM dura_fetch_orch(30000) \gset
\elif :nh = 0
SELECT coalesce(o_token, 0) AS tok, coalesce(o_instance, '') AS oi, coalesce(cardinality(o_hist_ids), 0) AS nh, coalesce(cardinality(o_bodies), 0) AS nm FROM dura_ack_fetch_orch(:tok, 1, ARRAY[1, 2, 3, 4, 5, 6]::bigint[], array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[6]), array_fill(:oi::text, ARRAY[5]), array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[5]), array_fill(0::bigint, ARRAY[5]), '{}'::text[], '{}'::bytea[], '{}'::bigint[], true, 'fanout', 1, ''::bytea, NULL, 1, false, 30000) \gset
\else
SELECT coalesce(o_token, 0) AS tok, coalesce(o_instance, '') AS oi, coalesce(cardinality(o_hist_ids), 0) AS nh, coalesce(cardinality(o_bodies), 0) AS nm FROM dura_ack_fetch_orch(:tok, 1, ARRAY(SELECT generate_series(:nh::bigint + 1, :nh::bigint + :nm::bigint)), array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[:nm::int]), '{}'::text[], '{}'::bytea[], '{}'::bigint[], '{}'::text[], '{}'::bytea[], '{}'::bigint[], true, 'fanout', CASE WHEN :nh::int + :nm::int >= 11 THEN 2 ELSE 1 END, ''::bytea, NULL, 1, false, 30000) \gset
\endif
\if :wn = 0
SELECT coalesce(cardinality(o_tokens), 0) AS wn, coalesce(o_tokens::text, '{}') AS wtoks, coalesce(o_instances::text, '{}') AS winsts FROM dura_fetch_works(30000, 8) \gset
\else
SELECT coalesce(cardinality(o_tokens), 0) AS wn, coalesce(o_tokens::text, '{}') AS wtoks, coalesce(o_instances::text, '{}') AS winsts FROM dura_ack_fetch_works(:wtoks::bigint[], :winsts::text[], array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[:wn::int]), array_fill(0::bigint, ARRAY[:wn::int]), false, 30000, 8) \gset
\endif
\if :tok = 0
SELECT coalesce(o_token, 0) AS tok, coalesce(o_instance, '') AS oi, coalesce(cardinality(o_hist_ids), 0) AS nh, coalesce(cardinality(o_bodies), 0) AS nm FROM dura_fetch_orch(30000) \gset
\elif :nh = 0
SELECT coalesce(o_token, 0) AS tok, coalesce(o_instance, '') AS oi, coalesce(cardinality(o_hist_ids), 0) AS nh, coalesce(cardinality(o_bodies), 0) AS nm FROM dura_ack_fetch_orch(:tok, 1, ARRAY[1, 2, 3, 4, 5, 6]::bigint[], array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[6]), array_fill(:oi::text, ARRAY[5]), array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[5]), array_fill(0::bigint, ARRAY[5]), '{}'::text[], '{}'::bytea[], '{}'::bigint[], true, 'fanout', 1, ''::bytea, NULL, 1, false, 30000) \gset
\else
SELECT coalesce(o_token, 0) AS tok, coalesce(o_instance, '') AS oi, coalesce(cardinality(o_hist_ids), 0) AS nh, coalesce(cardinality(o_bodies), 0) AS nm FROM dura_ack_fetch_orch(:tok, 1, ARRAY(SELECT generate_series(:nh::bigint + 1, :nh::bigint + :nm::bigint)), array_fill('\x30313233343536373839616263646566303132333435363738396162636465663031323334353637383961626364656630'::bytea, ARRAY[:nm::int]), '{}'::text[], '{}'::bytea[], '{}'::bigint[], '{}'::text[], '{}'::bytea[], '{}'::bigint[], true, 'fanout', CASE WHEN :nh::int + :nm::int >= 11 THEN 2 ELSE 1 END, ''::bytea, NULL, 1, false, 30000) \gset
\endif
