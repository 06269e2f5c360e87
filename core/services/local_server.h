/*
 * Recipes for the throwaway local servers behind "auto" (an address option
 * whose value is "auto").  A plugin names the recipe it wants in
 * ops->local_server (DURA_LOCAL_SERVER_*); the core looks it up here,
 * starts that server once per process and hands the plugin its address.
 *
 * Adding a recipe (e.g. a throwaway mariadbd): write start/address/stop
 * for it in its own file of core/services, add one row to the table in
 * local_server.c, and name it in provider.h (DURA_LOCAL_SERVER_*).  The
 * server must listen on loopback only, need no password or print none,
 * and be cleaned up when this process dies in any way (see pgserver.h's
 * guardian).
 */
#ifndef DURA_LOCAL_SERVER_H
#define DURA_LOCAL_SERVER_H

#include <stddef.h>

#include <durabench/provider.h>

struct dura_local_recipe {
	const char *name; /* DURA_LOCAL_SERVER_* */
	const char *what; /* for messages, e.g. "PostgreSQL" */
	/* Starts a server (blocking until it accepts connections): 0 with
	 * *server set, or -1 with a one-line reason in err. */
	int (*start)(void **server, char *err, size_t errlen);
	/* Its address in the form the plugin expects (owned by the server). */
	const char *(*address)(const void *server);
	/* Stops it and removes its files; NULL is a no-op. */
	void (*stop)(void *server);
	/* Faults (core/cli/run_faults.c), each 0 or -1 with err: down stops
	 * the server, up starts it again on the same port, pause(1)/pause(0)
	 * SIGSTOPs/resumes it. */
	int (*down)(void *server, char *err, size_t errlen);
	int (*up)(void *server, char *err, size_t errlen);
	int (*pause)(void *server, int paused, char *err, size_t errlen);
	/* Ends every client connection from the server's side; NULL when the
	 * server has no cheap way to (the delay proxy in front cuts them). */
	int (*kill_connections)(void *server, unsigned *killed, char *err, size_t errlen);
};

/* A started local server and its recipe (what faults act on). */
struct dura_local_server {
	const struct dura_local_recipe *recipe; /* NULL: none */
	void *server;
};

/* The recipe called name, or NULL when this core has none by that name. */
const struct dura_local_recipe *dura_local_recipe_find(const char *name);

/* Which recipe "auto" means for a plugin: ops->local_server when its table
 * has that field, else (a plugin built before ABI 1.2) PostgreSQL, as 1.0
 * and 1.1 promised.  NULL: the plugin declares no local server. */
const char *dura_plugin_local_server(const struct dura_provider_ops *ops);

/* Names of every recipe this core has, comma separated, for messages. */
void dura_local_recipe_names(char *buf, size_t len);

#endif
