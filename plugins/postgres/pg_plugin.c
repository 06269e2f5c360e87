
/*
 * PostgreSQL provider plugin: the ops table and the store's life cycle.
 *
 * open:  parse options -> connect -> create schema (tables + functions, one
 *        transaction) -> set up the first pooled connection -> start the
 *        LISTEN connection.  Any failure undoes what was done (the schema
 *        is dropped) and frees everything.
 * attach: the same, but the schema must exist already (another process
 *        created it: scale-out) and is never dropped by this handle.
 * close: stop the listener, drop the schema unless kept, close the pool.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

static dura_open_fn pg_open;
static dura_close_fn pg_close;
static dura_stats_fn pg_stats;
static dura_ping_fn pg_ping;
static dura_describe_fn pg_describe;

static void store_free(struct dura_store *st)
{
	if (!st)
		return;
	dura_pg_listener_stop(st);
	dura_pg_pool_destroy(st);
	dura_pg_waitq_destroy(&st->waitq);
	dura_pg_keys_destroy(&st->keys);
	dura_pg_options_free(&st->opt);
	free(st->quoted_schema);
	free(st->setup_script);
	free(st);
}

static dura_rc drop_schema(struct dura_store *st, struct dura_err *err)
{
	struct dura_pg_conn *c;
	dura_rc rc = dura_pg_pool_acquire(st, &c, err);
	if (rc != DURA_OK)
		return rc;
	atomic_fetch_add(&st->stats.round_trips, 1);
	rc = dura_pg_schema_drop(c->conn, st->opt.schema, st->opt.call_timeout_ms, err);
	if (rc == DURA_RETRY)
		c->broken = 1; /* timed out: the reply may still come on this link */
	dura_pg_pool_release(st, c);
	return rc;
}

/* open (attach = 0: create the schema) or attach (attach = 1: the schema
 * named by the options must hold a store already; it is never dropped). */
static dura_rc store_open(const struct dura_option *options, size_t n_options, int attach,
                          dura_store **out, struct dura_err *err)
{
	*out = NULL;
	struct dura_store *st = calloc(1, sizeof *st);
	if (!st) {
		dura_pg_err(err, "out of memory");
		return DURA_CONFIG;
	}
	dura_pg_waitq_init(&st->waitq);
	if (attach) /* the store's creator, at least, works on this schema */
		atomic_store(&st->waitq.peers, 1);
	dura_pg_keys_init(&st->keys);
	dura_rc rc = dura_pg_options_parse(options, n_options, &st->opt, err);
	if (rc != DURA_OK)
		goto fail;
	rc = dura_pg_pool_init(st, err);
	if (rc != DURA_OK)
		goto fail;

	char msg[DURA_ERR_MAX];
	PGconn *conn = dura_pg_connect(st, msg, sizeof msg);
	if (!conn) {
		dura_pg_err(err, "%s", msg);
		rc = DURA_CONFIG;
		goto fail;
	}
	snprintf(st->endpoint, sizeof st->endpoint, "%s:%s", PQhost(conn), PQport(conn));
	st->server_version = PQserverVersion(conn);
	if (st->server_version < 100000) {
		dura_pg_err(err, "PostgreSQL at %s is version %d; durabench needs 10 or later",
		            st->endpoint, st->server_version);
		PQfinish(conn);
		rc = DURA_CONFIG;
		goto fail;
	}
	char *q = PQescapeIdentifier(conn, st->opt.schema, strlen(st->opt.schema));
	st->quoted_schema = q ? strdup(q) : NULL;
	PQfreemem(q);
	st->setup_script = st->quoted_schema ? dura_pg_setup_script(st->quoted_schema) : NULL;
	if (!st->setup_script) {
		dura_pg_err(err, "out of memory");
		PQfinish(conn);
		rc = DURA_CONFIG;
		goto fail;
	}
	atomic_fetch_add(&st->stats.round_trips, 1);
	rc = attach ? dura_pg_schema_check(conn, st->opt.schema, st->opt.call_timeout_ms, err)
	            : dura_pg_schema_create(conn, st->opt.schema, st->opt.call_timeout_ms, err);
	if (rc != DURA_OK) {
		PQfinish(conn);
		goto fail;
	}
	st->schema_created = !attach;
	/* the first connection becomes pool slot 0 */
	st->pool.slots[0].conn = conn;
	rc = dura_pg_conn_setup(st, &st->pool.slots[0], err);
	if (rc != DURA_OK)
		goto fail;
	rc = dura_pg_listener_start(st, err);
	if (rc != DURA_OK)
		goto fail;
	*out = st;
	return DURA_OK;

fail:
	if (st->schema_created) {
		struct dura_err ignored;
		drop_schema(st, &ignored);
	}
	if (rc == DURA_OK || rc == DURA_EMPTY)
		rc = DURA_CONFIG;
	store_free(st);
	return rc;
}

static dura_rc pg_open(const struct dura_option *options, size_t n_options,
                       dura_store **out, struct dura_err *err)
{
	return store_open(options, n_options, 0, out, err);
}

/* The section's options with schema = name (validated by the option parser
 * like a schema given in the file). */
static dura_rc pg_attach(const struct dura_option *options, size_t n_options, const char *name,
                         dura_store **out, struct dura_err *err)
{
	*out = NULL;
	struct dura_option *opts = calloc(n_options + 1, sizeof *opts);
	if (!opts) {
		dura_pg_err(err, "out of memory");
		return DURA_CONFIG;
	}
	size_t n = 0;
	for (size_t i = 0; i < n_options; i++)
		if (!options[i].key || strcmp(options[i].key, "schema") != 0)
			opts[n++] = options[i];
	opts[n].key = "schema";
	opts[n++].value = name ? name : "";
	dura_rc rc = store_open(opts, n, 1, out, err);
	free(opts);
	return rc;
}

static dura_rc pg_store_name(dura_store *st, char *buf, size_t len)
{
	snprintf(buf, len, "%s", st->opt.schema);
	return strlen(st->opt.schema) < len ? DURA_OK : DURA_CONFIG;
}

static dura_rc pg_close(dura_store *st, int drop, struct dura_err *err)
{
	if (!st)
		return DURA_OK;
	dura_pg_listener_stop(st);
	dura_rc rc = DURA_OK;
	if (drop && !st->opt.keep && st->schema_created)
		rc = drop_schema(st, err);
	store_free(st);
	return rc;
}

#define FITS(out, field) \
	((out)->struct_size >= offsetof(struct dura_stats, field) + sizeof (out)->field)

static dura_rc pg_stats(dura_store *st, struct dura_stats *out)
{
	if (FITS(out, round_trips))
		out->round_trips = atomic_load(&st->stats.round_trips);
	if (FITS(out, commits))
		out->commits = atomic_load(&st->stats.commits);
	if (FITS(out, empty_fetches))
		out->empty_fetches = atomic_load(&st->stats.empty_fetches);
	if (FITS(out, lock_conflicts))
		out->lock_conflicts = atomic_load(&st->stats.lock_conflicts);
	if (FITS(out, retries))
		out->retries = atomic_load(&st->stats.retries);
	if (FITS(out, reconnects))
		out->reconnects = atomic_load(&st->stats.reconnects);
	return DURA_OK;
}

static dura_rc pg_ping(dura_store *st, struct dura_err *err)
{
	struct dura_pg_params p;
	dura_pg_params_init(&p);
	PGresult *res;
	dura_rc rc = dura_pg_call(st, PG_STMT_PING, &p, PG_RETRY_ALWAYS, &res, err);
	dura_pg_params_free(&p);
	if (rc == DURA_OK)
		PQclear(res);
	return rc;
}

static void pg_describe(dura_store *st, char *buf, size_t len)
{
	int v = st->server_version;
	snprintf(buf, len, "PostgreSQL %d.%d, pool_size %u, schema %s", v / 10000, v % 10000,
	         st->pool.size, st->opt.schema);
}

static const struct dura_provider_ops pg_ops = {
	DURA_PROVIDER_PREFIX("postgres",
	                     "PostgreSQL through libpq: one schema per run, PL/pgSQL "
	                     "functions (one round trip per operation), connection pool, "
	                     "LISTEN/NOTIFY long polling"),
	.options = dura_pg_option_specs,
	.local_server = DURA_LOCAL_SERVER_POSTGRESQL, /* url = auto */
	.check_options = dura_pg_check_options,
	.open = pg_open,
	.close = pg_close,
	.enqueue_orchestrator = dura_pg_enqueue_orchestrator,
	.fetch_orchestration_item = dura_pg_fetch_orchestration_item,
	.ack_orchestration_item = dura_pg_ack_orchestration_item,
	.abandon_orchestration_item = dura_pg_abandon_orchestration_item,
	.renew_orchestration_lock = dura_pg_renew_orchestration_lock,
	.release_orchestration_item = dura_pg_release_orchestration_item,
	.fetch_work_item = dura_pg_fetch_work_item,
	.ack_work_item = dura_pg_ack_work_item,
	.abandon_work_item = dura_pg_abandon_work_item,
	.renew_work_lock = dura_pg_renew_work_lock,
	.release_work_item = dura_pg_release_work_item,
	.read_history = dura_pg_read_history,
	.release_history = dura_pg_release_history,
	.instance_status = dura_pg_instance_status,
	.release_instance_status = dura_pg_release_instance_status,
	.stats = pg_stats,
	.ping = pg_ping,
	.ack_work_item_and_fetch = dura_pg_ack_work_item_and_fetch,
	.ack_orchestration_item_and_fetch = dura_pg_ack_orchestration_item_and_fetch,
	.describe = pg_describe,
	.fetch_work_items = dura_pg_fetch_work_items,
	.ack_work_items_and_fetch = dura_pg_ack_work_items_and_fetch,
	.attach = pg_attach,
	.store_name = pg_store_name,
	.start_instances = dura_pg_start_instances,
	.take_completions = dura_pg_take_completions,
	.release_completions = dura_pg_release_completions,
	.put_note = dura_pg_put_note,
	.read_notes = dura_pg_read_notes,
	.release_notes = dura_pg_release_notes,
	.prefill = dura_pg_prefill,
	.take_completions_acked = dura_pg_take_completions_acked,
	.fetch_orchestration_items = dura_pg_fetch_orchestration_items,
	.ack_orchestration_items_and_fetch = dura_pg_ack_orchestration_items_and_fetch,
};

const struct dura_provider_ops *dura_provider_entry(void)
{
	return &pg_ops;
}
