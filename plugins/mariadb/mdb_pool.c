/*
 * Connections and the fixed-size pool.
 *
 * Every connection gets client-side connect/read/write timeouts (a stalled
 * server fails the call with CR_SERVER_LOST instead of hanging it), the
 * session settings the procedures rely on (READ COMMITTED, UTC, a short
 * innodb_lock_wait_timeout) and CLIENT_FOUND_ROWS (ROW_COUNT() = rows
 * matched, so a renewal that changes nothing still counts).  Statements are
 * prepared on a connection's first use of each.  A slot whose connection
 * broke is closed and reconnected on its next acquire (stats.reconnects).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdb_internal.h"

/* mysql_init is not thread-safe until the library is initialised, and
 * what the library allocates then must be freed (mysql_library_end) before
 * the plugin is unloaded: a count of open stores decides both. */
static pthread_mutex_t library_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned library_users;

int dura_mdb_library_acquire(void)
{
	int rc = 0;
	pthread_mutex_lock(&library_mu);
	if (library_users == 0 && mysql_library_init(0, NULL, NULL) != 0)
		rc = -1;
	else
		library_users++;
	pthread_mutex_unlock(&library_mu);
	return rc;
}

void dura_mdb_library_release(void)
{
	pthread_mutex_lock(&library_mu);
	if (library_users > 0 && --library_users == 0)
		mysql_library_end();
	pthread_mutex_unlock(&library_mu);
}

static unsigned whole_seconds(uint32_t ms)
{
	unsigned s = (unsigned)((ms + 999) / 1000);
	return s ? s : 1;
}

MYSQL *dura_mdb_connect(struct dura_store *st, const char *db, struct dura_err *err)
{
	MYSQL *m = mysql_init(NULL);
	if (!m) {
		dura_mdb_err(err, "cannot initialise the MariaDB client library");
		return NULL;
	}
	const struct dura_mdb_options *o = &st->opt;
	unsigned connect_s = whole_seconds(o->connect_timeout_ms);
	unsigned io_s = whole_seconds(o->statement_timeout_ms);
	char init[160];
	snprintf(init, sizeof init,
	         "SET SESSION tx_isolation = 'READ-COMMITTED', time_zone = '+00:00', "
	         "innodb_lock_wait_timeout = %u", (unsigned)o->lock_wait_timeout_s);
	mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
	mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &io_s);
	mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &io_s);
	mysql_optionsv(m, MYSQL_INIT_COMMAND, init);
	mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "binary");
	/* never read option files: the URL says everything */
	if (!mysql_real_connect(m, o->host, o->user, o->password, db, o->port, NULL,
	                        CLIENT_FOUND_ROWS | CLIENT_MULTI_RESULTS)) {
		dura_mdb_err(err, "cannot connect to MariaDB at %s (user %s): %s", st->endpoint,
		             o->user, mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

dura_rc dura_mdb_pool_init(struct dura_store *st, struct dura_err *err)
{
	struct dura_mdb_pool *p = &st->pool;
	p->size = st->opt.pool_size;
	p->slots = calloc(p->size, sizeof *p->slots);
	if (!p->slots) {
		dura_mdb_err(err, "out of memory");
		return DURA_CONFIG;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	return DURA_OK;
}

void dura_mdb_conn_reset(struct dura_mdb_conn *c)
{
	for (int i = 0; i < MDB_STMT_COUNT; i++) {
		if (c->stmts[i])
			mysql_stmt_close(c->stmts[i]);
		c->stmts[i] = NULL;
	}
	if (c->mysql)
		mysql_close(c->mysql);
	c->mysql = NULL;
	c->broken = 0;
}

dura_rc dura_mdb_pool_acquire(struct dura_store *st, struct dura_mdb_conn **out,
                              int *unreachable, struct dura_err *err)
{
	if (unreachable)
		*unreachable = 0;
	struct dura_mdb_pool *p = &st->pool;
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += st->opt.acquire_timeout_ms / 1000;
	deadline.tv_nsec += (long)(st->opt.acquire_timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	struct dura_mdb_conn *c = NULL;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		/* prefer a connected slot: reconnecting costs round trips */
		for (unsigned i = 0; i < p->size && !c; i++)
			if (!p->slots[i].in_use && p->slots[i].mysql && !p->slots[i].broken)
				c = &p->slots[i];
		for (unsigned i = 0; i < p->size && !c; i++)
			if (!p->slots[i].in_use)
				c = &p->slots[i];
		if (c)
			break;
		if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&p->mu);
			dura_mdb_err(err, "no free MariaDB connection within %u ms (pool_size %u)",
			             (unsigned)st->opt.acquire_timeout_ms, p->size);
			return DURA_RETRY;
		}
	}
	c->in_use = 1;
	pthread_mutex_unlock(&p->mu);
	if (c->broken || !c->mysql) {
		int was_connected = c->mysql != NULL;
		dura_mdb_conn_reset(c);
		c->mysql = dura_mdb_connect(st, st->opt.database, err);
		atomic_fetch_add(&st->stats.round_trips, 1);
		if (!c->mysql) {
			dura_mdb_pool_release(st, c);
			if (unreachable)
				*unreachable = 1;
			return DURA_RETRY;
		}
		if (was_connected)
			atomic_fetch_add(&st->stats.reconnects, 1);
	}
	*out = c;
	return DURA_OK;
}

void dura_mdb_pool_release(struct dura_store *st, struct dura_mdb_conn *c)
{
	struct dura_mdb_pool *p = &st->pool;
	pthread_mutex_lock(&p->mu);
	c->in_use = 0;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

dura_rc dura_mdb_stmt(struct dura_store *st, struct dura_mdb_conn *c, enum dura_mdb_stmt s,
                      MYSQL_STMT **out, struct dura_err *err)
{
	if (c->stmts[s]) {
		*out = c->stmts[s];
		return DURA_OK;
	}
	MYSQL_STMT *stmt = mysql_stmt_init(c->mysql);
	if (!stmt) {
		dura_mdb_err(err, "out of memory");
		return DURA_PERMANENT;
	}
	const char *sql = dura_mdb_stmt_sql(s);
	atomic_fetch_add(&st->stats.round_trips, 1);
	if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) {
		unsigned e = mysql_stmt_errno(stmt);
		dura_mdb_err(err, "preparing %s: MariaDB error %u: %s", sql, e,
		             mysql_stmt_error(stmt));
		mysql_stmt_close(stmt);
		if (dura_mdb_errno_broken(e))
			c->broken = 1;
		return dura_mdb_errno_rc(e);
	}
	c->stmts[s] = stmt;
	*out = stmt;
	return DURA_OK;
}

void dura_mdb_pool_destroy(struct dura_store *st)
{
	struct dura_mdb_pool *p = &st->pool;
	if (!p->slots)
		return;
	for (unsigned i = 0; i < p->size; i++)
		dura_mdb_conn_reset(&p->slots[i]);
	free(p->slots);
	p->slots = NULL;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}
