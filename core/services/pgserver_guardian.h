/*
 * The guardian process behind dura_pgserver_start (internal to pgserver*.c).
 *
 * The parent forks the guardian right after creating the temporary
 * directory.  The guardian runs initdb and the server as its own children
 * (so it can reap them), reports "OK <port>" or "ERR <message>" on a status
 * pipe, then waits on a control pipe whose write end only the parent holds.
 * On that pipe the parent may also ask for the server to be stopped ('D')
 * or started again on the same port ('U'), each answered by one line on the
 * status pipe ("OK <server pid>" or "ERR <why>"): the restart-server and
 * stop-server faults.
 * When that pipe closes (dura_pgserver_stop, or the parent dying in any way,
 * kill -9 included) or it receives SIGTERM, it stops the server, removes the
 * directory and exits.  One cleanup path for every way of ending.
 */
#ifndef DURA_PGSERVER_GUARDIAN_H
#define DURA_PGSERVER_GUARDIAN_H

#include <sys/types.h>

/* Everything the guardian needs, prepared by the parent before fork so that
 * the child of a possibly multi-threaded process has little left to build.
 * All strings are owned by the parent (the guardian's copy of its memory
 * simply goes away with _exit). */
struct dura_pg_plan {
	const char *initdb;    /* absolute paths of the binaries */
	const char *postgres;
	const char *dir;       /* the temporary directory, removed at the end */
	const char *datadir;   /* <dir>/data, created by initdb */
	const char *pidfile;   /* <datadir>/postmaster.pid: readiness status */
	const char *logpath;   /* <dir>/server.log: initdb and server output */
	const char *pwfile;    /* <dir>/pwfile: the password for initdb (0600),
	                          removed by the guardian once initdb is done */
	const char *sockdir;   /* unix_socket_directories value ("" = none) */
	int drop_privileges;   /* we are root: run initdb/postgres as uid/gid */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;   /* supplementary groups of that user */
	int n_groups;
	char *const *envp;     /* environment for initdb/postgres */
	/* Another server program than PostgreSQL's, or NULL (initdb and
	 * postgres with the fields above). */
	const struct dura_server_engine *engine;
};

/* What the guardian needs to know of a server program other than
 * PostgreSQL's (e.g. mariadbserver.c).  The life cycle stays the
 * guardian's: init step, start on a free loopback port (retried when
 * someone takes the port), readiness, report, stop on the parent's exit. */
struct dura_server_engine {
	const char *init_name;   /* for messages, e.g. "mariadb-install-db" */
	const char *server_name; /* e.g. "mariadbd" */
	char *const *init_argv;  /* the init step (absolute path first) */
	/* Fills argv (at most max entries, the NULL included) to run the server
	 * on port; the strings may live in buf. */
	void (*server_argv)(const struct dura_pg_plan *plan, int port, char **argv, size_t max,
	                    char *buf, size_t buflen);
	int stop_signal;         /* the server's fast, clean shutdown request */
	/* Ready = the server's output (since this start) contains ready_text
	 * and the port accepts connections. */
	const char *ready_text;
};

/* Size of the status message ("OK <port>" / "ERR <text>"), NUL included. */
#define DURA_PG_STATUS_MAX 1024

/* Runs in the freshly forked child; never returns. ctl_fd: read end of the
 * control pipe; status_fd: write end of the status pipe. */
_Noreturn void dura_pg_guardian_main(const struct dura_pg_plan *plan, int ctl_fd,
                                     int status_fd);

/* Removes a directory tree (nftw, no symlink following, one file system).
 * Returns 0, or -1 if something could not be removed. */
int dura_pg_remove_tree(const char *dir);

#endif
