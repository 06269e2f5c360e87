/*
 * A throwaway local MariaDB server (url = auto for the mariadb plugin):
 * mariadb-install-db into a fresh temporary directory, then mariadbd on a
 * free port of 127.0.0.1 only, with a random per-server password for the
 * one TCP account (durabench@127.0.0.1), no name resolution, its Unix
 * socket inside the 0700 directory (unreachable by other users) and
 * durability relaxed as for the PostgreSQL server (nothing here outlives
 * the process).  As root, the server runs as the "mysql" user (mariadbd
 * refuses root).  The same guardian process as the PostgreSQL server's
 * (pgserver_guardian.c) runs it and removes everything when this process
 * ends in any way: dura_mariadbserver_stop, Ctrl-C, a crash, kill -9.
 */
#ifndef DURA_MARIADBSERVER_H
#define DURA_MARIADBSERVER_H

#include <stddef.h>

struct dura_mariadbserver;

/* bindir: directory holding mariadbd, or NULL to search
 * $DURABENCH_MARIADB_BINDIR, /usr/sbin, /usr/bin and $PATH (the install
 * program is looked for beside it, then in /usr/bin and $PATH).  An
 * explicit bindir (argument or environment) is used alone.  Blocks until
 * the server accepts connections.  Returns 0, or -1 with a message naming
 * what failed (missing programs, the log tail of a failed start).  Free
 * with dura_mariadbserver_stop. */
int dura_mariadbserver_start(const char *bindir, struct dura_mariadbserver **out, char *err,
                             size_t errlen);

/* mariadb://durabench:PASSWORD@127.0.0.1:PORT (owned by the server). */
const char *dura_mariadbserver_url(const struct dura_mariadbserver *srv);
int dura_mariadbserver_port(const struct dura_mariadbserver *srv);
/* The temporary directory (data/, server.log, socket); for tests. */
const char *dura_mariadbserver_dir(const struct dura_mariadbserver *srv);

/* Stops the server, removes its directory, frees srv; blocks until done.
 * Safe with NULL.  In a forked child it only frees the child's copy. */
void dura_mariadbserver_stop(struct dura_mariadbserver *srv);

/* Faults (the caller's process only): down stops the server (clients see
 * their connections end), up starts it again on the same port and data,
 * so the URL stays valid; pause(1) SIGSTOPs it, pause(0) resumes it.  0,
 * or -1 with err. */
int dura_mariadbserver_down(struct dura_mariadbserver *srv, char *err, size_t errlen);
int dura_mariadbserver_up(struct dura_mariadbserver *srv, char *err, size_t errlen);
int dura_mariadbserver_pause(struct dura_mariadbserver *srv, int paused, char *err,
                             size_t errlen);

#endif
