
/*
 * The statements every pooled connection prepares once, right after it
 * connects: one simple-query message with the search_path and one SQL
 * PREPARE per statement, so setting up a connection costs one round trip
 * (it matters through an emulated 150 ms link).  Calls then use
 * PQsendQueryPrepared with binary parameters and binary results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

struct stmt_def {
	const char *name;
	const char *types;  /* parameter types, as in PREPARE name (types) */
	const char *sql;
};

#define ACK_ORCH_TYPES \
	"bigint, bigint, bigint[], bytea[], text[], bytea[], bigint[], " \
	"text[], bytea[], bigint[], boolean, text, integer, bytea, text, " \
	"bigint, boolean"
#define ACK_ORCH_ARGS \
	"$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, " \
	"$16, $17"
#define FETCH_ORCH_COLS \
	"o_token, o_instance, o_execution, o_bodies, o_attempts, o_hist_ids, " \
	"o_hist_bodies, o_lost, o_next_ms, o_blocked"
#define FETCH_ORCHS_COLS \
	"o_tokens, o_instances, o_executions, o_msg_n, o_bodies, o_attempts, o_hist_n, " \
	"o_hist_ids, o_hist_bodies, o_lost, o_next_ms, o_blocked"
#define FETCH_WORK_COLS "o_token, o_instance, o_body, o_attempts, o_next_ms"
#define FETCH_WORKS_COLS "o_tokens, o_instances, o_bodies, o_attempts, o_next_ms"

static const struct stmt_def stmts[PG_STMT_COUNT] = {
	[PG_STMT_ENQUEUE] = { "dura_enqueue", "bigint, text[], bytea[], bigint[], boolean, boolean",
		"SELECT dura_enqueue($1, $2, $3, $4, $5, $6)" },
	[PG_STMT_FETCH_ORCH] = { "dura_fetch_orch", "integer",
		"SELECT " FETCH_ORCH_COLS " FROM dura_fetch_orch($1)" },
	[PG_STMT_ACK_ORCH] = { "dura_ack_orch", ACK_ORCH_TYPES,
		"SELECT dura_ack_orch(" ACK_ORCH_ARGS ")" },
	[PG_STMT_ACK_FETCH_ORCH] = { "dura_ack_fetch_orch", ACK_ORCH_TYPES ", integer",
		"SELECT " FETCH_ORCH_COLS ", o_more FROM dura_ack_fetch_orch(" ACK_ORCH_ARGS ", $18)" },
	[PG_STMT_ABANDON_ORCH] = { "dura_abandon_orch", "bigint, integer, boolean",
		"SELECT dura_abandon_orch($1, $2, $3)" },
	[PG_STMT_RENEW_ORCH] = { "dura_renew_orch", "bigint, integer",
		"SELECT dura_renew_orch($1, $2)" },
	[PG_STMT_FETCH_WORK] = { "dura_fetch_work", "integer",
		"SELECT " FETCH_WORK_COLS " FROM dura_fetch_work($1)" },
	[PG_STMT_ACK_WORK] = { "dura_ack_work", "bigint, text, bytea, bigint, boolean",
		"SELECT dura_ack_work($1, $2, $3, $4, $5)" },
	[PG_STMT_ACK_FETCH_WORK] = { "dura_ack_fetch_work",
		"bigint, text, bytea, bigint, boolean, integer",
		"SELECT " FETCH_WORK_COLS " FROM dura_ack_fetch_work($1, $2, $3, $4, $5, $6)" },
	[PG_STMT_FETCH_WORKS] = { "dura_fetch_works", "integer, integer",
		"SELECT " FETCH_WORKS_COLS " FROM dura_fetch_works($1, $2)" },
	[PG_STMT_ACK_FETCH_WORKS] = { "dura_ack_fetch_works",
		"bigint[], text[], bytea[], bigint[], boolean, integer, integer",
		"SELECT o_acked, " FETCH_WORKS_COLS
		" FROM dura_ack_fetch_works($1, $2, $3, $4, $5, $6, $7)" },
	[PG_STMT_ABANDON_WORK] = { "dura_abandon_work", "bigint, integer, boolean",
		"SELECT dura_abandon_work($1, $2, $3)" },
	[PG_STMT_RENEW_WORK] = { "dura_renew_work", "bigint, integer",
		"SELECT dura_renew_work($1, $2)" },
	[PG_STMT_HISTORY] = { "dura_history", "text, bigint",
		"SELECT e.id, e.body FROM history h, unnest(h.event_ids, h.bodies) AS e(id, body) "
		"WHERE h.instance = $1 AND h.execution = $2 ORDER BY e.id" },
	[PG_STMT_STATUS] = { "dura_status", "text",
		"SELECT name, status, output, parent, execution FROM instances "
		"WHERE instance = $1" },
	[PG_STMT_PING] = { "dura_ping", NULL, "SELECT 1" },
	/* scale-out: oldest first; SKIP LOCKED keeps a second reader from
	 * waiting, though one reader per store is the contract */
	[PG_STMT_TAKE_COMPLETIONS] = { "dura_take_completions", "integer",
		"DELETE FROM completion_feed f WHERE f.seq IN (SELECT c.seq FROM completion_feed c "
		"ORDER BY c.seq LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING f.seq, f.instance, "
		"f.status, (extract(epoch FROM f.started_at) * 1000000)::bigint, "
		"(extract(epoch FROM f.completed_at) * 1000000)::bigint" },
	[PG_STMT_TAKE_COMPLETIONS_ACKED] = { "dura_take_completions_acked", "bigint, integer",
		"SELECT * FROM dura_take_completions_acked($1, $2)" },
	[PG_STMT_PUT_NOTE] = { "dura_put_note", "text, bytea",
		"INSERT INTO notes (key, value) VALUES ($1, $2) "
		"ON CONFLICT (key) DO UPDATE SET value = excluded.value" },
	[PG_STMT_READ_NOTES] = { "dura_read_notes", "text",
		"SELECT key, value FROM notes WHERE left(key, length($1)) = $1 ORDER BY key" },
	/* prefill: $1 prefix, $2 first number, $3 count; the ids are prefix ||
	 * number, generated in the server */
	[PG_STMT_PREFILL_EXISTS] = { "dura_prefill_exists", "text, bigint, bigint",
		"SELECT EXISTS (SELECT 1 FROM generate_series($2, $2 + $3 - 1) AS g "
		"WHERE EXISTS (SELECT 1 FROM instances i WHERE i.instance = $1 || g) "
		"OR EXISTS (SELECT 1 FROM history h WHERE h.instance = $1 || g))" },
	/* ... $4..$8 the metadata, $9 / $10 the event ids and bodies */
	[PG_STMT_PREFILL] = { "dura_prefill",
		"text, bigint, bigint, text, integer, bytea, text, bigint, bigint[], bytea[]",
		"WITH ids AS (SELECT $1 || g AS inst FROM generate_series($2, $2 + $3 - 1) AS g), "
		"meta AS (INSERT INTO instances (instance, name, status, output, parent, execution) "
		"SELECT inst, $4, $5, $6, $7, $8 FROM ids) "
		"INSERT INTO history (instance, execution, first_event, event_ids, bodies) "
		"SELECT ids.inst, $8, $9[1], $9, $10 FROM ids WHERE cardinality($9) > 0" },
	/* orchestration batch (pg_ops_orch_batch.c, pg_schema_orch_batch.c) */
	[PG_STMT_FETCH_ORCHS] = { "dura_fetch_orchs", "integer, integer, integer, integer",
		"SELECT " FETCH_ORCHS_COLS " FROM dura_fetch_orchs($1, $2, $3, $4)" },
	[PG_STMT_ACK_FETCH_ORCHS] = { "dura_ack_fetch_orchs",
		"bigint[], bigint[], integer[], bigint[], bytea[], integer[], text[], bytea[], "
		"bigint[], integer[], text[], bytea[], bigint[], boolean[], text[], integer[], "
		"bytea[], text[], bigint[], boolean, integer, integer",
		"SELECT o_results, o_errors, o_more, " FETCH_ORCHS_COLS
		" FROM dura_ack_fetch_orchs($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
		"$14, $15, $16, $17, $18, $19, $20, $21, $22)" },
};

const char *dura_pg_stmt_name(enum dura_pg_stmt s)
{
	return stmts[s].name;
}

char *dura_pg_setup_script(const char *quoted_schema)
{
	size_t len = 256 + strlen(quoted_schema);
	for (int i = 0; i < PG_STMT_COUNT; i++)
		len += 64 + strlen(stmts[i].name) +
		       (stmts[i].types ? strlen(stmts[i].types) : 0) + strlen(stmts[i].sql);
	char *s = malloc(len);
	if (!s)
		return NULL;
	/* the identifier comes from PQescapeIdentifier; a pooled connection
	 * runs nothing but our statements, so session settings are ours */
	size_t o = (size_t)snprintf(s, len, "SET search_path TO %s;\n", quoted_schema);
	for (int i = 0; i < PG_STMT_COUNT; i++) {
		if (stmts[i].types)
			o += (size_t)snprintf(s + o, len - o, "PREPARE %s (%s) AS %s;\n",
			                      stmts[i].name, stmts[i].types, stmts[i].sql);
		else
			o += (size_t)snprintf(s + o, len - o, "PREPARE %s AS %s;\n",
			                      stmts[i].name, stmts[i].sql);
	}
	return s;
}
