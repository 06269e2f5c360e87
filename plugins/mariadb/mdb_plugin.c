/*
 * MariaDB/MySQL provider plugin: the ops table and the store's life cycle.
 *
 * open:  parse options -> connect -> create the store's database (tables +
 *        procedures) -> that connection becomes pool slot 0.  Any failure
 *        drops what was created and frees everything.
 * close: drop the database unless kept, close the pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdb_internal.h"

static void store_free(struct dura_store *st)
{
	if (!st)
		return;
	dura_mdb_pool_destroy(st);
	dura_mdb_waitq_destroy(&st->waitq);
	dura_mdb_keys_destroy(&st->keys);
	dura_mdb_options_free(&st->opt);
	if (st->library_held)
		dura_mdb_library_release(); /* after every connection is closed */
	free(st);
}

static dura_rc drop_database(struct dura_store *st, struct dura_err *err)
{
	struct dura_mdb_conn *c;
	dura_rc rc = dura_mdb_pool_acquire(st, &c, NULL, err);
	if (rc != DURA_OK)
		return rc;
	atomic_fetch_add(&st->stats.round_trips, 1);
	rc = dura_mdb_schema_drop(c->mysql, st->opt.database, err);
	dura_mdb_pool_release(st, c);
	return rc;
}

static dura_open_fn mdb_open;
static dura_close_fn mdb_close;
static dura_stats_fn mdb_stats;
static dura_ping_fn mdb_ping;
static dura_describe_fn mdb_describe;

static dura_rc mdb_open(const struct dura_option *options, size_t n_options, dura_store **out,
                        struct dura_err *err)
{
	*out = NULL;
	struct dura_store *st = calloc(1, sizeof *st);
	if (!st) {
		dura_mdb_err(err, "out of memory");
		return DURA_CONFIG;
	}
	dura_mdb_waitq_init(&st->waitq);
	dura_mdb_keys_init(&st->keys);
	dura_rc rc = dura_mdb_options_parse(options, n_options, &st->opt, err);
	if (rc != DURA_OK)
		goto fail;
	if (dura_mdb_library_acquire() != 0) {
		dura_mdb_err(err, "cannot initialise the MariaDB client library");
		rc = DURA_CONFIG;
		goto fail;
	}
	st->library_held = 1;
	snprintf(st->endpoint, sizeof st->endpoint, strchr(st->opt.host, ':') ? "[%s]:%u" : "%s:%u",
	         st->opt.host, st->opt.port);
	rc = dura_mdb_pool_init(st, err);
	if (rc != DURA_OK)
		goto fail;
	MYSQL *conn = dura_mdb_connect(st, NULL, err);
	atomic_fetch_add(&st->stats.round_trips, 1);
	if (!conn) {
		rc = DURA_CONFIG;
		goto fail;
	}
	snprintf(st->server_version, sizeof st->server_version, "%s", mysql_get_server_info(conn));
	if (mysql_get_server_version(conn) < 100600) {
		dura_mdb_err(err, "MariaDB at %s is version %s; durabench needs 10.6 or later "
		             "(SKIP LOCKED, JSON_TABLE)", st->endpoint, st->server_version);
		mysql_close(conn);
		rc = DURA_CONFIG;
		goto fail;
	}
	st->pool.slots[0].mysql = conn; /* owned by the pool from here on */
	atomic_fetch_add(&st->stats.round_trips, 1);
	/* a database that existed is someone else's: never dropped */
	rc = dura_mdb_schema_create(conn, st->opt.database, st->opt.database_given,
	                            &st->database_created, err);
	if (rc != DURA_OK)
		goto fail;
	*out = st;
	return DURA_OK;

fail:
	if (st->database_created) {
		struct dura_err ignored;
		drop_database(st, &ignored);
	}
	if (rc == DURA_OK || rc == DURA_EMPTY)
		rc = DURA_CONFIG;
	store_free(st);
	return rc;
}

static dura_rc mdb_close(dura_store *st, int drop, struct dura_err *err)
{
	if (!st)
		return DURA_OK;
	dura_rc rc = DURA_OK;
	if (drop && !st->opt.keep && st->database_created)
		rc = drop_database(st, err);
	store_free(st);
	return rc;
}

#define FITS(out, field) \
	((out)->struct_size >= offsetof(struct dura_stats, field) + sizeof (out)->field)

static dura_rc mdb_stats(dura_store *st, struct dura_stats *out)
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

static dura_rc mdb_ping(dura_store *st, struct dura_err *err)
{
	struct dura_mdb_params p;
	dura_mdb_params_init(&p);
	return dura_mdb_call(st, MDB_PING, &p, MDB_RETRY_ALWAYS, NULL, err);
}

static void mdb_describe(dura_store *st, char *buf, size_t len)
{
	snprintf(buf, len, "MariaDB %s, pool_size %u, database %s", st->server_version,
	         st->pool.size, st->opt.database);
}

static const struct dura_provider_ops mdb_ops = {
	DURA_PROVIDER_PREFIX("mariadb",
	                     "MariaDB/MySQL through libmariadb: one database per run, InnoDB, "
	                     "stored procedures (one round trip per operation), SKIP LOCKED, "
	                     "connection pool, long polling"),
	.options = dura_mdb_option_specs,
	.open = mdb_open,
	.close = mdb_close,
	.enqueue_orchestrator = dura_mdb_enqueue_orchestrator,
	.fetch_orchestration_item = dura_mdb_fetch_orchestration_item,
	.ack_orchestration_item = dura_mdb_ack_orchestration_item,
	.abandon_orchestration_item = dura_mdb_abandon_orchestration_item,
	.renew_orchestration_lock = dura_mdb_renew_orchestration_lock,
	.release_orchestration_item = dura_mdb_release_orchestration_item,
	.fetch_work_item = dura_mdb_fetch_work_item,
	.ack_work_item = dura_mdb_ack_work_item,
	.abandon_work_item = dura_mdb_abandon_work_item,
	.renew_work_lock = dura_mdb_renew_work_lock,
	.release_work_item = dura_mdb_release_work_item,
	.read_history = dura_mdb_read_history,
	.release_history = dura_mdb_release_history,
	.instance_status = dura_mdb_instance_status,
	.release_instance_status = dura_mdb_release_instance_status,
	.stats = mdb_stats,
	.ping = mdb_ping,
	.ack_work_item_and_fetch = dura_mdb_ack_work_item_and_fetch,
	.ack_orchestration_item_and_fetch = dura_mdb_ack_orchestration_item_and_fetch,
	.fetch_work_items = dura_mdb_fetch_work_items,
	.ack_work_items_and_fetch = dura_mdb_ack_work_items_and_fetch,
	.describe = mdb_describe,
	.check_options = dura_mdb_check_options,
	.local_server = DURA_LOCAL_SERVER_MARIADB, /* url = auto */
};

const struct dura_provider_ops *dura_provider_entry(void)
{
	return &mdb_ops;
}
