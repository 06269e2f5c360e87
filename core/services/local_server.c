/* The table of local-server recipes behind "auto" (see local_server.h). */
#include "config.h"

#include "local_server.h"
#include "mariadbserver.h"
#include "pgserver.h"
#include "base/util.h"

#include <string.h>

static int pg_start(void **server, char *err, size_t errlen)
{
	struct dura_pgserver *srv;
	if (dura_pgserver_start(NULL, &srv, err, errlen) != 0)
		return -1;
	*server = srv;
	return 0;
}

static const char *pg_address(const void *server)
{
	return dura_pgserver_url(server);
}

static void pg_stop(void *server)
{
	dura_pgserver_stop(server);
}

static int pg_down(void *server, char *err, size_t errlen)
{
	return dura_pgserver_down(server, err, errlen);
}

static int pg_up(void *server, char *err, size_t errlen)
{
	return dura_pgserver_up(server, err, errlen);
}

static int pg_pause(void *server, int paused, char *err, size_t errlen)
{
	return dura_pgserver_pause(server, paused, err, errlen);
}

static int pg_kill(void *server, unsigned *killed, char *err, size_t errlen)
{
	return dura_pgserver_kill_backends(server, killed, err, errlen);
}

static int mariadb_start(void **server, char *err, size_t errlen)
{
	struct dura_mariadbserver *srv;
	if (dura_mariadbserver_start(NULL, &srv, err, errlen) != 0)
		return -1;
	*server = srv;
	return 0;
}

static const char *mariadb_address(const void *server)
{
	return dura_mariadbserver_url(server);
}

static void mariadb_stop(void *server)
{
	dura_mariadbserver_stop(server);
}

static int mariadb_down(void *server, char *err, size_t errlen)
{
	return dura_mariadbserver_down(server, err, errlen);
}

static int mariadb_up(void *server, char *err, size_t errlen)
{
	return dura_mariadbserver_up(server, err, errlen);
}

static int mariadb_pause(void *server, int paused, char *err, size_t errlen)
{
	return dura_mariadbserver_pause(server, paused, err, errlen);
}

/* One row per server the core can start.  A new recipe is one more row. */
static const struct dura_local_recipe recipes[] = {
	{ DURA_LOCAL_SERVER_POSTGRESQL, "PostgreSQL", pg_start, pg_address, pg_stop, pg_down,
	  pg_up, pg_pause, pg_kill },
	/* mariadbd's connections are threads: kill-connections goes through
	 * the delay proxy */
	{ DURA_LOCAL_SERVER_MARIADB, "MariaDB", mariadb_start, mariadb_address, mariadb_stop,
	  mariadb_down, mariadb_up, mariadb_pause, NULL },
};

const struct dura_local_recipe *dura_local_recipe_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof recipes / sizeof recipes[0]; i++)
		if (strcmp(recipes[i].name, name) == 0)
			return &recipes[i];
	return NULL;
}

const char *dura_plugin_local_server(const struct dura_provider_ops *ops)
{
	if (offsetof(struct dura_provider_ops, local_server) + sizeof ops->local_server <=
	    ops->struct_size)
		return ops->local_server;
	return DURA_LOCAL_SERVER_POSTGRESQL;
}

void dura_local_recipe_names(char *buf, size_t len)
{
	struct dura_buf b = { 0 };
	for (size_t i = 0; i < sizeof recipes / sizeof recipes[0]; i++)
		dura_buf_printf(&b, "%s%s", i ? ", " : "", recipes[i].name);
	dura_buf_append(&b, "", 1);
	dura_errbuf(buf, len, "%s", (const char *)b.data);
	dura_buf_free(&b);
}
