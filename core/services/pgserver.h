/*
 * A throwaway local PostgreSQL server (url = auto): initdb and pg_ctl in a
 * fresh temporary directory (mode 0700, holding the trusted Unix socket),
 * listening on a free port on 127.0.0.1 only, with a random password.
 * As root, the server runs as the "postgres" user.  The server is stopped
 * and its directory removed by dura_pgserver_stop, and also when this
 * process dies in any way (Ctrl-C, crash, kill -9): a small guardian
 * process watches a pipe from us and cleans up when it closes.
 */
#ifndef DURA_PGSERVER_H
#define DURA_PGSERVER_H

#include <stddef.h>
#include <sys/types.h>

struct dura_pgserver;

/* bindir: directory holding initdb/pg_ctl/postgres, or NULL to search
 * $DURABENCH_PG_BINDIR, the configure-time PG_BINDIR, then
 * /usr/lib/postgresql/<highest>/bin and $PATH.  Blocks until the server
 * accepts connections.  Returns 0, or -1 with a message naming what failed
 * (missing binaries, initdb output tail, ...).  Free with dura_pgserver_stop.
 * An explicit bindir (argument or $DURABENCH_PG_BINDIR) is used alone.
 * Forks a guardian child: a forked (not exec'd) child of this process keeps
 * a copy of the guardian's pipe; dura_pgserver_stop still works (it also
 * signals the guardian), but the parent dying then only cleans up once that
 * child is gone too. */
int dura_pgserver_start(const char *bindir, struct dura_pgserver **out,
                        char *err, size_t errlen);

/* libpq URL of the server, postgresql://postgres:PASSWORD@127.0.0.1:PORT/postgres
 * (owned by the server object).  PASSWORD is random per server; TCP accepts
 * nothing else (scram-sha-256).  Print it only through dura_url_mask. */
const char *dura_pgserver_url(const struct dura_pgserver *srv);
const char *dura_pgserver_host(const struct dura_pgserver *srv);
int dura_pgserver_port(const struct dura_pgserver *srv);

/* The temporary directory holding data/, server.log and the socket (for
 * diagnostics and tests; removed by dura_pgserver_stop). */
const char *dura_pgserver_dir(const struct dura_pgserver *srv);

/* Faults (called by the process that started the server; each returns once
 * done, 0 or -1 with a message):
 * down: fast shutdown of the server (every connection ends), directory kept;
 * up: the server again on the same port (same URL), once it accepts
 *   connections;
 * pause(1): SIGSTOP to the postmaster and every process it has forked, so
 *   connections stay open but nothing answers; pause(0): SIGCONT to them;
 * kill_backends: SIGTERM to every client backend (pg_terminate_backend's
 *   signal), *killed says how many;
 * pid: the postmaster's pid, 0 while down. */
int dura_pgserver_down(struct dura_pgserver *srv, char *err, size_t errlen);
int dura_pgserver_up(struct dura_pgserver *srv, char *err, size_t errlen);
int dura_pgserver_pause(struct dura_pgserver *srv, int paused, char *err, size_t errlen);
int dura_pgserver_kill_backends(struct dura_pgserver *srv, unsigned *killed, char *err,
                                size_t errlen);
pid_t dura_pgserver_pid(const struct dura_pgserver *srv);

/* Stops the server (fast shutdown), removes its directory, frees srv.
 * Blocks until both are done.  Safe with NULL.  Called in a forked child
 * (not the process that started the server), it only frees the child's
 * copy: the server keeps running for the parent. */
void dura_pgserver_stop(struct dura_pgserver *srv);

#endif
