#include "config.h"

/*
 * Direct tests of the MariaDB provider plugin: dlopen the built .so and
 * call it against a throwaway mariadbd (started as url = auto does), with
 * an admin connection of its own to look at what was stored.  Skipped when
 * the plugin is not built or mariadbd is not installed.  What the
 * conformance suite (validate) cannot see from outside:
 *   - an enqueue whose reply is lost after the commit returns RETRY, and
 *     the caller's retry with the same messages stores nothing twice (the
 *     idempotency key is carried across the caller's retries); a later
 *     call with the same messages is a new enqueue;
 *   - database = NAME with keep = true: a second open of the same NAME
 *     gets NAME_2, both are kept at close, neither existing database is
 *     ever written into, and without keep each store is dropped.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include <durabench/provider.h>

#include "services/mariadbserver.h"
#include "services/proxy.h"
#include "tap.h"

static const struct dura_provider_ops *ops;
static char url[512];
static char password[128];
static int port;
static MYSQL *admin;

static void msleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* One integer from a query of the admin connection; -1 on error. */
static long long admin_int(const char *sql)
{
	if (mysql_query(admin, sql) != 0) {
		tap_diag("admin query failed: %s", mysql_error(admin));
		return -1;
	}
	MYSQL_RES *r = mysql_store_result(admin);
	MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
	long long v = row && row[0] ? atoll(row[0]) : -1;
	mysql_free_result(r);
	return v;
}

static int database_exists(const char *name)
{
	char sql[256];
	snprintf(sql, sizeof sql,
	         "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '%s'",
	         name); /* names below are constants of this test */
	return (int)admin_int(sql);
}

static long long queued_for(const char *database, const char *instance)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM `%s`.orch_queue WHERE instance = '%s'",
	         database, instance);
	return admin_int(sql);
}

/* The store's database name from describe ("..., database NAME"). */
static void store_database(dura_store *st, char *out, size_t len)
{
	char d[512] = "";
	ops->describe(st, d, sizeof d);
	const char *p = strstr(d, "database ");
	snprintf(out, len, "%s", p ? p + strlen("database ") : "?");
}

static dura_store *open_with(const char *u, const char *k1, const char *v1, const char *k2,
                             const char *v2, struct dura_err *err)
{
	struct dura_option o[3] = { { "url", u } };
	size_t n = 1;
	if (k1)
		o[n++] = (struct dura_option){ k1, v1 };
	if (k2)
		o[n++] = (struct dura_option){ k2, v2 };
	dura_store *st = NULL;
	if (ops->open(o, n, &st, err) != DURA_OK)
		return NULL;
	return st;
}

/* ---- database = NAME, keep = true, opened twice ---- */

static void test_fixed_database_keep(void)
{
	struct dura_err err = { "" };
	mysql_query(admin, "DROP DATABASE IF EXISTS durabench_unit_keep");
	mysql_query(admin, "DROP DATABASE IF EXISTS durabench_unit_keep_2");
	dura_store *a = open_with(url, "database", "durabench_unit_keep", "keep", "true", &err);
	tap_ok(a != NULL, "first open of database = durabench_unit_keep, keep = true (%s)",
	       a ? "ok" : err.msg);
	dura_store *b = open_with(url, "database", "durabench_unit_keep", "keep", "true", &err);
	tap_ok(b != NULL, "second open of the same name succeeds (%s)", b ? "ok" : err.msg);
	char da[128] = "", db[128] = "";
	if (a)
		store_database(a, da, sizeof da);
	if (b)
		store_database(b, db, sizeof db);
	tap_ok(strcmp(da, "durabench_unit_keep") == 0 && strcmp(db, "durabench_unit_keep_2") == 0,
	       "the second store is durabench_unit_keep_2 (%s, %s)", da, db);
	if (a && b) {
		struct dura_message m = { "K", { (const uint8_t *)"x", 1 }, 0 };
		ops->enqueue_orchestrator(b, &m, 1, &err);
		tap_ok(queued_for("durabench_unit_keep", "K") == 0 &&
		       queued_for("durabench_unit_keep_2", "K") == 1,
		       "each store writes only its own database");
	}
	if (a)
		ops->close(a, 1, &err);
	if (b)
		ops->close(b, 1, &err);
	tap_ok(database_exists("durabench_unit_keep") == 1 &&
	       database_exists("durabench_unit_keep_2") == 1,
	       "keep = true: both databases are left at close");
	mysql_query(admin, "DROP DATABASE IF EXISTS durabench_unit_keep_2");

	/* without keep: the existing (kept) one is never used nor dropped */
	dura_store *c = open_with(url, "database", "durabench_unit_keep", NULL, NULL, &err);
	char dc[128] = "";
	if (c)
		store_database(c, dc, sizeof dc);
	tap_ok(c && strcmp(dc, "durabench_unit_keep_2") == 0,
	       "an existing database is skipped, not reused (%s)", c ? dc : err.msg);
	if (c)
		ops->close(c, 1, &err);
	tap_ok(database_exists("durabench_unit_keep_2") == 0 &&
	       database_exists("durabench_unit_keep") == 1,
	       "without keep the store's own database is dropped, the other one left");
	mysql_query(admin, "DROP DATABASE IF EXISTS durabench_unit_keep");
}

/* ---- a commit whose reply is lost: the enqueue idempotency key ---- */

struct enq_call {
	dura_store *st;
	struct dura_message m;
	dura_rc rc;
	struct dura_err err;
};

static void *enqueue_thread(void *arg)
{
	struct enq_call *c = arg;
	c->rc = ops->enqueue_orchestrator(c->st, &c->m, 1, &c->err);
	return NULL;
}

/* Through a delay proxy (the store is created at full speed, then 2 s of
 * round trip are added: a second each way), the proxy is stopped as soon
 * as the server has committed an enqueue (seen through the admin
 * connection): the reply is lost on its way back, so the call fails with
 * RETRY although its message is stored.  Waiting for the commit rather
 * than a fixed time keeps a loaded machine from stopping the proxy before
 * the request got through (nothing committed) or after the reply did.
 * The caller's retry with the same message must not store it twice. */
static void test_uncertain_commit(void)
{
	struct dura_proxy_config pc = { .listen_host = "127.0.0.1", .target_host = "127.0.0.1",
	                                .target_port = port };
	struct dura_proxy *px = NULL;
	char perr[256] = "";
	if (!tap_ok(dura_proxy_start(&pc, &px, perr, sizeof perr) == 0, "delay proxy started %s",
	            perr))
		return;
	pc.listen_port = dura_proxy_port(px);
	char purl[512];
	snprintf(purl, sizeof purl, "mariadb://durabench:%s@127.0.0.1:%d", password,
	         pc.listen_port);
	struct dura_err err = { "" };
	/* connect_timeout: how long a call waits for a server that refuses
	 * connections before it returns RETRY */
	dura_store *st = open_with(purl, "pool_size", "1", "connect_timeout", "1000", &err);
	if (!tap_ok(st != NULL, "open through the proxy (%s)", st ? "ok" : err.msg)) {
		dura_proxy_stop(px);
		return;
	}
	char dbname[128];
	store_database(st, dbname, sizeof dbname);
	/* the first call prepares the statement (a round trip of its own) */
	struct dura_message warm = { "W", { (const uint8_t *)"w", 1 }, 0 };
	ops->enqueue_orchestrator(st, &warm, 1, &err);
	dura_proxy_set_extra_rtt(px, 2000000);
	struct enq_call c = { st, { "U", { (const uint8_t *)"once", 4 }, 0 }, DURA_CONFIG, { "" } };
	pthread_t t;
	pthread_create(&t, NULL, enqueue_thread, &c);
	for (int i = 0; i < 2000 && queued_for(dbname, "U") < 1; i++)
		msleep(5);
	dura_proxy_stop(px);
	pthread_join(t, NULL);
	tap_ok(c.rc == DURA_RETRY, "enqueue whose reply was lost: RETRY (%s)", c.err.msg);
	tap_ok(queued_for(dbname, "U") == 1, "... although it committed");
	px = NULL;
	if (dura_proxy_start(&pc, &px, perr, sizeof perr) != 0)
		tap_diag("proxy restart: %s", perr);
	dura_rc rc = DURA_RETRY;
	for (int i = 0; i < 20 && rc == DURA_RETRY; i++) {
		rc = ops->enqueue_orchestrator(st, &c.m, 1, &err);
		if (rc == DURA_RETRY)
			msleep(100);
	}
	tap_ok(rc == DURA_OK && queued_for(dbname, "U") == 1,
	       "the caller's retry with the same message is a no-op (rc %d %s)", (int)rc,
	       rc == DURA_OK ? "" : err.msg);
	rc = ops->enqueue_orchestrator(st, &c.m, 1, &err);
	tap_ok(rc == DURA_OK && queued_for(dbname, "U") == 2,
	       "a later call with the same message enqueues it again");
	ops->close(st, 1, &err);
	dura_proxy_stop(px);
}

static int start_server(struct dura_mariadbserver **srv)
{
	char err[1024];
	if (dura_mariadbserver_start(NULL, srv, err, sizeof err) != 0) {
		printf("1..0 # SKIP cannot start mariadbd: %s\n", err);
		return -1;
	}
	snprintf(url, sizeof url, "%s", dura_mariadbserver_url(*srv));
	port = dura_mariadbserver_port(*srv);
	const char *p = strchr(url + strlen("mariadb://"), ':'), *at = strrchr(url, '@');
	if (p && at && at > p && (size_t)(at - p) < sizeof password)
		snprintf(password, (size_t)(at - p), "%s", p + 1);
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *with = getenv("DURA_WITH_MARIADB");
	if (with && strcmp(with, "0") == 0) {
		printf("1..0 # SKIP MariaDB provider not built\n");
		return 0;
	}
	if (access("/usr/sbin/mariadbd", X_OK) != 0 && !getenv("DURABENCH_MARIADB_BINDIR")) {
		printf("1..0 # SKIP mariadbd not installed\n");
		return 0;
	}
	char path[4096];
	const char *bd = getenv("top_builddir");
	snprintf(path, sizeof path, "%s/plugins/mariadb/.libs/mariadb.so", bd ? bd : ".");
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!tap_ok(h != NULL, "dlopen %s", path))
		return tap_done();
	dura_provider_entry_fn *entry =
		(dura_provider_entry_fn *)dlsym(h, DURA_PROVIDER_ENTRY_SYMBOL);
	ops = entry ? entry() : NULL;
	if (!tap_ok(ops && ops->abi_major == DURA_ABI_MAJOR, "entry point"))
		return tap_done();
	struct dura_mariadbserver *srv = NULL;
	if (start_server(&srv) != 0)
		return 0;
	admin = mysql_init(NULL);
	if (!tap_ok(admin && mysql_real_connect(admin, "127.0.0.1", "durabench", password, NULL,
	                                        (unsigned)port, NULL, 0),
	            "admin connection")) {
		dura_mariadbserver_stop(srv);
		return tap_done();
	}
	/* a store open throughout keeps the plugin's client library initialised
	 * (the last store to close ends it), which the admin connection shares */
	struct dura_err err = { "" };
	dura_store *holder = open_with(url, NULL, NULL, NULL, NULL, &err);
	tap_ok(holder != NULL, "a store open for the whole test (%s)", holder ? "ok" : err.msg);
	test_fixed_database_keep();
	test_uncertain_commit();
	if (holder)
		ops->close(holder, 1, &err);
	mysql_close(admin);
	mysql_library_end();
	dura_mariadbserver_stop(srv);
	dlclose(h);
	return tap_done();
}
