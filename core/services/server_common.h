/*
 * What every throwaway local server (url = auto: PostgreSQL in pgserver.c,
 * MariaDB in mariadbserver.c) needs on the parent's side before and after
 * handing it to its guardian (pgserver_guardian.c): the OS user it runs as
 * when we are root, a small environment, a random password, a secret file
 * only the server user can read, and the guardian's status line.
 */
#ifndef DURA_SERVER_COMMON_H
#define DURA_SERVER_COMMON_H

#include <stddef.h>
#include <sys/types.h>

/* uid/gid/supplementary groups of an OS user. */
struct dura_server_user {
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* owned; free with dura_server_user_free */
	int n_groups;
};

/* Looks up user (we are root and `program` refuses to run as root).
 * Returns 0, or -1 with a message naming the user and the Debian package
 * that creates it. */
int dura_server_user_lookup(const char *user, const char *program, const char *package,
                            struct dura_server_user *out, char *err, size_t errlen);
void dura_server_user_free(struct dura_server_user *u);

/* A small, predictable environment for server programs: C locale for the
 * messages we may grep, PATH, TZ, nothing else of the user's.  env must
 * hold DURA_SERVER_ENV_MAX entries; entries are allocated (free with
 * dura_server_env_free). */
#define DURA_SERVER_ENV_MAX 5
void dura_server_env(char *env[DURA_SERVER_ENV_MAX]);
void dura_server_env_free(char *env[DURA_SERVER_ENV_MAX]);

/* A fresh random password of hex digits (URL- and SQL-safe, nothing to
 * escape).  out must hold DURA_SERVER_PASSWORD_LEN bytes.  0, or -1. */
#define DURA_SERVER_PASSWORD_BYTES 24 /* 192 random bits */
#define DURA_SERVER_PASSWORD_LEN (2 * DURA_SERVER_PASSWORD_BYTES + 1)
int dura_server_password(char *out, size_t outlen, char *err, size_t errlen);

/* Writes text to a new file (exclusive, mode 0600, no symlink followed),
 * owned by uid/gid when chown_to_user.  0, or -1 with err (the file is
 * removed). */
int dura_server_write_secret(const char *path, const char *text, int chown_to_user,
                             uid_t uid, gid_t gid, char *err, size_t errlen);

/* A new 0700 directory $TMPDIR/<prefix>XXXXXX, handed to uid/gid when
 * chown_to_user.  Caller frees (and removes).  NULL with err. */
char *dura_server_tempdir(const char *prefix, int chown_to_user, uid_t uid, gid_t gid,
                          char *err, size_t errlen);

/* waitpid, retried on EINTR.  Returns the wait status (0 if none). */
int dura_server_reap(pid_t pid);

/* Reads the guardian's one-line status report into buf (newline removed).
 * Stops at the newline rather than waiting for EOF: a child forked
 * meanwhile by another thread of ours may hold a copy of the write end. */
void dura_server_read_status(int fd, char *buf, size_t len);

/* ---- the guardian (pgserver_guardian.h) from the parent's side ---- */

struct dura_pg_plan;

/* A running guardian. */
struct dura_server_guard {
	pid_t guardian;  /* our child; reaped by dura_server_guard_stop */
	pid_t owner;     /* the process that started it */
	int ctl_fd;      /* write end of its control pipe (CLOEXEC) */
	int status_fd;   /* read end of its status pipe, -1 once closed */
};

/* Forks the guardian for plan and waits for its first status line
 * ("OK <port> <server pid>").  Returns 0 with *g, *port and *server filled
 * (g->status_fd stays open for the answers to dura_server_guard_request),
 * or -1 with err set (the guardian's "ERR" text); on failure the guardian
 * is reaped and plan->dir removed. */
int dura_server_guard_start(const struct dura_pg_plan *plan, struct dura_server_guard *g,
                            int *port, pid_t *server, char *err, size_t errlen);

/* Closes the control pipe (the stop request) and, in the owner process,
 * signals and reaps the guardian: returns once the server is down and dir
 * removed (removed here if the guardian was killed before it could).  A
 * forked child only closes its copies. */
void dura_server_guard_stop(struct dura_server_guard *g, const char *dir);

/* Fault requests to the guardian (needs keep_status at start): 'D' stops
 * the server, 'U' starts it again on the same port.  *server receives the
 * server's pid afterwards (0 while down).  0, or -1 with err. */
int dura_server_guard_request(struct dura_server_guard *g, char cmd, pid_t *server, char *err,
                              size_t errlen);

/* Processes a pause fault stopped (SIGSTOP), owned. */
struct dura_server_pause {
	pid_t *pids; /* the server first, then its children */
	size_t n;    /* 0: not paused */
};
/* paused = 1: SIGSTOPs server and its child processes and returns once all
 * have stopped (a no-op when already paused); 0: resumes them.  0, or -1
 * with err (nothing left stopped). */
int dura_server_pause(struct dura_server_pause *p, pid_t server, int paused, char *err,
                      size_t errlen);

/* A running url = auto server as every engine keeps it (pgserver.c,
 * mariadbserver.c): all fields owned; its fault requests and its stop are
 * the same whatever the engine. */
struct dura_guarded_server {
	char *dir;  /* temporary directory; the guardian removes it */
	char *url;  /* the server's address, password included */
	int port;
	struct dura_server_guard guard; /* its status pipe answers 'D'/'U' */
	pid_t server;                   /* the server, 0 while stopped by a fault */
	struct dura_server_pause pause; /* what a pause fault stopped */
};
/* The faults: down stops the server (resuming it first if paused: a
 * stopped server cannot shut down), up starts it again on the same port,
 * pause(1)/pause(0) SIGSTOPs/resumes it.  0, or -1 with err. */
int dura_guarded_server_down(struct dura_guarded_server *s, char *err, size_t errlen);
int dura_guarded_server_up(struct dura_guarded_server *s, char *err, size_t errlen);
int dura_guarded_server_pause(struct dura_guarded_server *s, int paused, char *err,
                              size_t errlen);
/* Stops the server and removes its directory (dura_server_guard_stop),
 * then frees the fields (not s itself). */
void dura_guarded_server_stop(struct dura_guarded_server *s);

#endif
