/*
 * A throwaway local PostgreSQL server (url = auto), parent side: find the
 * server binaries, create the temporary directory, fork the guardian that
 * runs and later removes everything (pgserver_guardian.c), wait for its
 * "ready" report.
 */
#include "config.h"

#include "pgserver.h"
#include "pgserver_guardian.h"
#include "server_common.h"
#include "proc_tree.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SERVER_USER "postgres" /* who runs initdb/postgres when we are root */
#define LOOPBACK "127.0.0.1"
#define PAUSE_WAIT_MS 5000u /* SIGSTOP/SIGCONT taking effect, under load */

struct dura_pgserver {
	char *dir;      /* temporary directory; the guardian removes it */
	char *url;      /* libpq URL of the server, password included */
	int port;
	pid_t guardian; /* our child; reaped by dura_pgserver_stop */
	pid_t owner;    /* the process that started it (see dura_pgserver_stop) */
	int ctl_fd;     /* write end of the guardian's control pipe (CLOEXEC) */
	int reply_fd;   /* read end of its status pipe: answers to 'D'/'U' */
	pid_t server;   /* the postmaster, 0 while stopped by a fault */
	pid_t *paused;  /* processes SIGSTOPped by dura_pgserver_pause (owned) */
	size_t n_paused;
};

/* ---- finding initdb/postgres ---- */

static int has_server_binaries(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/initdb", dir);
	if (access(path, X_OK) != 0)
		return 0;
	snprintf(path, sizeof path, "%s/postgres", dir);
	return access(path, X_OK) == 0;
}

/* /usr/lib/postgresql/<highest version>/bin, or NULL.  Caller frees. */
static char *debian_bindir(void)
{
	glob_t g;
	char *best = NULL;
	double best_version = -1;
	if (glob("/usr/lib/postgresql/*/bin", GLOB_ONLYDIR, NULL, &g) != 0)
		return NULL;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *p = g.gl_pathv[i];
		double v = strtod(p + strlen("/usr/lib/postgresql/"), NULL); /* 9.6 < 10 < 15 */
		if (v > best_version && has_server_binaries(p)) {
			best_version = v;
			free(best);
			best = dura_xstrdup(p);
		}
	}
	globfree(&g);
	return best;
}

/* Returns the directory holding initdb and postgres (caller frees), or NULL
 * with err naming every place looked at.  An explicit choice (the bindir
 * argument or $DURABENCH_PG_BINDIR) is used alone: silently falling back to
 * another installation would hide a typo. */
static char *find_bindir(const char *bindir, char *err, size_t errlen)
{
	if (bindir && *bindir) {
		if (has_server_binaries(bindir))
			return dura_xstrdup(bindir);
		dura_errbuf(err, errlen,
		            "PostgreSQL server binaries not found: no executable initdb and postgres in %s",
		            bindir);
		return NULL;
	}
	const char *env = getenv("DURABENCH_PG_BINDIR");
	if (env && *env) {
		if (has_server_binaries(env))
			return dura_xstrdup(env);
		dura_errbuf(err, errlen,
		            "PostgreSQL server binaries not found: no executable initdb and postgres in "
		            "%s (from DURABENCH_PG_BINDIR)", env);
		return NULL;
	}
	struct dura_buf looked = { 0 };
#ifdef DURA_PG_BINDIR
	if (DURA_PG_BINDIR[0]) {
		if (has_server_binaries(DURA_PG_BINDIR))
			return dura_xstrdup(DURA_PG_BINDIR);
		dura_buf_printf(&looked, "%s, ", DURA_PG_BINDIR);
	}
#endif
	char *deb = debian_bindir();
	if (deb) {
		dura_buf_free(&looked);
		return deb;
	}
	dura_buf_printf(&looked, "/usr/lib/postgresql/*/bin");
	const char *path = getenv("PATH");
	if (path) {
		char *copy = dura_xstrdup(path), *save = NULL;
		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			if (has_server_binaries(d)) {
				char *found = dura_xstrdup(d);
				free(copy);
				dura_buf_free(&looked);
				return found;
			}
		}
		free(copy);
		dura_buf_printf(&looked, ", $PATH");
	}
	dura_errbuf(err, errlen,
	            "PostgreSQL server binaries (initdb, postgres) not found (looked in %s): "
	            "install the Debian package postgresql, or set DURABENCH_PG_BINDIR",
	            (const char *)looked.data);
	dura_buf_free(&looked);
	return NULL;
}

/* ---- the plan handed to the guardian ---- */

/* Owns every string and array the plan points at. */
struct plan_storage {
	struct dura_pg_plan plan;
	char *initdb, *postgres, *datadir, *pidfile, *logpath, *pwfile;
	struct dura_server_user user; /* when we are root */
	char *env[DURA_SERVER_ENV_MAX];
};

static void plan_storage_free(struct plan_storage *s)
{
	free(s->initdb);
	free(s->postgres);
	free(s->datadir);
	free(s->pidfile);
	free(s->logpath);
	free(s->pwfile);
	dura_server_user_free(&s->user);
	dura_server_env_free(s->env);
}

/* As root: the uid/gid/groups of the postgres user (initdb refuses root). */
static int lookup_server_user(struct plan_storage *s, char *err, size_t errlen)
{
	if (dura_server_user_lookup(SERVER_USER, "initdb", "postgresql", &s->user, err,
	                            errlen) != 0)
		return -1;
	s->plan.drop_privileges = 1;
	s->plan.uid = s->user.uid;
	s->plan.gid = s->user.gid;
	s->plan.groups = s->user.groups;
	s->plan.n_groups = s->user.n_groups;
	return 0;
}

/* The unix socket path must fit sockaddr_un (~107 bytes) and the directory
 * must survive the comma-separated unix_socket_directories syntax; else
 * the server listens on TCP only, which is all we use anyway. */
static const char *socket_dir_for(const char *dir)
{
	if (strlen(dir) + sizeof "/.s.PGSQL.65535.lock" > 100)
		return "";
	for (const char *p = dir; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-", *p))
			return "";
	return dir;
}

/* Writes the password for initdb --pwfile: created exclusively, mode 0600,
 * owned by the server user, inside the 0700 temporary directory; the
 * guardian removes it as soon as initdb is done.  Returns 0 or -1. */
static int write_pwfile(const struct plan_storage *s, const char *password,
                        char *err, size_t errlen)
{
	char line[DURA_SERVER_PASSWORD_LEN + 1];
	snprintf(line, sizeof line, "%s\n", password);
	int rc = dura_server_write_secret(s->pwfile, line, s->plan.drop_privileges, s->plan.uid,
	                                  s->plan.gid, err, errlen);
	explicit_bzero(line, sizeof line);
	return rc;
}

/* ---- start / stop ---- */

int dura_pgserver_start(const char *bindir, struct dura_pgserver **out,
                        char *err, size_t errlen)
{
	*out = NULL;
	char *bin = find_bindir(bindir, err, errlen);
	if (!bin)
		return -1;
	struct plan_storage s;
	memset(&s, 0, sizeof s);
	s.initdb = dura_xasprintf("%s/initdb", bin);
	s.postgres = dura_xasprintf("%s/postgres", bin);
	free(bin);
	char *dir = NULL;
	int ctl[2] = { -1, -1 }, st[2] = { -1, -1 };
	char password[DURA_SERVER_PASSWORD_LEN];
	if (dura_server_password(password, sizeof password, err, errlen) != 0)
		goto fail;
	if (geteuid() == 0 && lookup_server_user(&s, err, errlen) != 0)
		goto fail;

	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	int tmplen = (int)strlen(tmp);
	while (tmplen > 1 && tmp[tmplen - 1] == '/')
		tmplen--;
	dir = dura_xasprintf("%.*s/durabench-pg-XXXXXX", tmplen, tmp);
	if (!mkdtemp(dir)) {
		dura_errbuf(err, errlen, "cannot create a temporary directory %s: %s", dir,
		            strerror(errno));
		free(dir);
		dir = NULL;
		goto fail;
	}
	/* mkdtemp made it 0700: it holds the socket (trusted, see
	 * run_initdb) and, briefly, the password file. */
	if (s.plan.drop_privileges && chown(dir, s.plan.uid, s.plan.gid) != 0) {
		dura_errbuf(err, errlen, "cannot hand %s to the %s user: %s", dir, SERVER_USER,
		            strerror(errno));
		goto fail_rmdir;
	}
	s.datadir = dura_xasprintf("%s/data", dir);
	s.pidfile = dura_xasprintf("%s/postmaster.pid", s.datadir);
	s.logpath = dura_xasprintf("%s/server.log", dir);
	s.pwfile = dura_xasprintf("%s/pwfile", dir);
	if (write_pwfile(&s, password, err, errlen) != 0)
		goto fail_rmdir;
	s.plan.initdb = s.initdb;
	s.plan.postgres = s.postgres;
	s.plan.dir = dir;
	s.plan.datadir = s.datadir;
	s.plan.pidfile = s.pidfile;
	s.plan.logpath = s.logpath;
	s.plan.pwfile = s.pwfile;
	s.plan.sockdir = socket_dir_for(dir);
	dura_server_env(s.env);
	s.plan.envp = s.env;

	/* CLOEXEC: programs exec'd by this process (or the guardian) must not
	 * hold a copy of either pipe. */
	if (pipe2(ctl, O_CLOEXEC) != 0 || pipe2(st, O_CLOEXEC) != 0) {
		dura_errbuf(err, errlen, "pipe: %s", strerror(errno));
		goto fail_rmdir;
	}
	pid_t pid = fork();
	if (pid < 0) {
		dura_errbuf(err, errlen, "cannot fork the server guardian: %s", strerror(errno));
		goto fail_rmdir;
	}
	if (pid == 0) {
		close(ctl[1]);
		close(st[0]);
		dura_pg_guardian_main(&s.plan, ctl[0], st[1]);
	}
	close(ctl[0]);
	close(st[1]);
	ctl[0] = st[1] = -1;

	char status[DURA_PG_STATUS_MAX];
	dura_server_read_status(st[0], status, sizeof status);
	int port = 0;
	long server = 0;
	if (sscanf(status, "OK %d %ld", &port, &server) == 2 && port > 0) {
		struct dura_pgserver *srv = dura_xcalloc(1, sizeof *srv);
		srv->dir = dir;
		srv->port = port;
		srv->url = dura_xasprintf("postgresql://postgres:%s@" LOOPBACK ":%d/postgres",
		                          password, port);
		srv->guardian = pid;
		srv->owner = getpid();
		srv->ctl_fd = ctl[1];
		explicit_bzero(password, sizeof password);
		srv->reply_fd = st[0];
		srv->server = (pid_t)server;
		plan_storage_free(&s);
		*out = srv;
		return 0;
	}
	/* The guardian removes the directory before it exits. */
	close(st[0]);
	st[0] = -1;
	close(ctl[1]);
	ctl[1] = -1;
	dura_server_reap(pid);
	if (strncmp(status, "ERR ", 4) == 0)
		dura_errbuf(err, errlen, "%s", status + 4);
	else
		dura_errbuf(err, errlen, "the server guardian process died during startup");
fail_rmdir:
	for (int i = 0; i < 2; i++) {
		if (ctl[i] >= 0)
			close(ctl[i]);
		if (st[i] >= 0)
			close(st[i]);
	}
	dura_pg_remove_tree(dir); /* no-op when the guardian already did */
fail:
	explicit_bzero(password, sizeof password);
	free(dir);
	plan_storage_free(&s);
	return -1;
}

const char *dura_pgserver_url(const struct dura_pgserver *srv)
{
	return srv->url;
}

const char *dura_pgserver_host(const struct dura_pgserver *srv)
{
	(void)srv;
	return LOOPBACK;
}

int dura_pgserver_port(const struct dura_pgserver *srv)
{
	return srv->port;
}

const char *dura_pgserver_dir(const struct dura_pgserver *srv)
{
	return srv->dir;
}

/* ---- faults ---- */

/* Sends a 'D'/'U' request to the guardian and reads its answer. */
static int guardian_request(struct dura_pgserver *srv, char cmd, char *err, size_t errlen)
{
	if (getpid() != srv->owner) {
		dura_errbuf(err, errlen, "the server belongs to another process");
		return -1;
	}
	if (write(srv->ctl_fd, &cmd, 1) != 1) {
		dura_errbuf(err, errlen, "cannot reach the server guardian: %s", strerror(errno));
		return -1;
	}
	char status[DURA_PG_STATUS_MAX];
	dura_server_read_status(srv->reply_fd, status, sizeof status);
	long pid;
	if (sscanf(status, "OK %ld", &pid) == 1) {
		srv->server = (pid_t)pid;
		return 0;
	}
	if (strncmp(status, "ERR ", 4) == 0)
		dura_errbuf(err, errlen, "%s", status + 4);
	else
		dura_errbuf(err, errlen, "the server guardian process died");
	return -1;
}

int dura_pgserver_down(struct dura_pgserver *srv, char *err, size_t errlen)
{
	if (srv->n_paused)
		dura_pgserver_pause(srv, 0, err, errlen);
	return guardian_request(srv, 'D', err, errlen);
}

int dura_pgserver_up(struct dura_pgserver *srv, char *err, size_t errlen)
{
	return guardian_request(srv, 'U', err, errlen);
}

pid_t dura_pgserver_pid(const struct dura_pgserver *srv)
{
	return srv->server;
}

int dura_pgserver_pause(struct dura_pgserver *srv, int paused, char *err, size_t errlen)
{
	if (!paused) {
		/* children first: the postmaster, resumed last, then finds them
		 * all running again */
		for (size_t i = srv->n_paused; i-- > 0;)
			kill(srv->paused[i], SIGCONT);
		for (size_t i = 0; i < srv->n_paused; i++)
			(void)dura_proc_wait_state(srv->paused[i], 0, PAUSE_WAIT_MS);
		free(srv->paused);
		srv->paused = NULL;
		srv->n_paused = 0;
		return 0;
	}
	if (srv->n_paused)
		return 0;
	if (srv->server <= 0) {
		dura_errbuf(err, errlen, "the server is not running");
		return -1;
	}
	/* The postmaster first, so that it forks nothing new while its
	 * children are collected; each backend leads its own session, so
	 * no process group reaches them all. */
	if (kill(srv->server, SIGSTOP) != 0) {
		dura_errbuf(err, errlen, "cannot stop the server (pid %ld): %s", (long)srv->server,
		            strerror(errno));
		return -1;
	}
	pid_t *children;
	size_t n = dura_proc_children(srv->server, &children);
	srv->paused = dura_xrealloc(children, (n + 1) * sizeof *srv->paused);
	memmove(srv->paused + 1, srv->paused, n * sizeof *srv->paused);
	srv->paused[0] = srv->server;
	srv->n_paused = 1;
	for (size_t i = 0; i < n; i++)
		if (kill(srv->paused[i + 1], SIGSTOP) == 0)
			srv->paused[srv->n_paused++] = srv->paused[i + 1];
	/* a signal takes effect after kill() returns: the pause starts when
	 * every process has really stopped */
	for (size_t i = 0; i < srv->n_paused; i++)
		if (dura_proc_wait_state(srv->paused[i], 1, PAUSE_WAIT_MS) != 0) {
			dura_errbuf(err, errlen, "server process %ld did not stop within %u ms",
			            (long)srv->paused[i], PAUSE_WAIT_MS);
			dura_pgserver_pause(srv, 0, NULL, 0); /* no half-paused server */
			return -1;
		}
	return 0;
}

int dura_pgserver_kill_backends(struct dura_pgserver *srv, unsigned *killed, char *err,
                                size_t errlen)
{
	*killed = 0;
	if (srv->server <= 0) {
		dura_errbuf(err, errlen, "the server is not running");
		return -1;
	}
	pid_t *children;
	size_t n = dura_proc_children(srv->server, &children);
	for (size_t i = 0; i < n; i++) {
		/* A client backend's title is "postgres: USER DB HOST(PORT) ...";
		 * background processes (checkpointer, walwriter, ...) have none. */
		char title[512];
		dura_proc_cmdline(children[i], title, sizeof title);
		if (strncmp(title, "postgres: ", 10) != 0 ||
		    (!strstr(title, LOOPBACK "(") && !strstr(title, "[local]")))
			continue;
		/* what pg_terminate_backend does */
		if (kill(children[i], SIGTERM) == 0)
			(*killed)++;
	}
	free(children);
	return 0;
}

void dura_pgserver_stop(struct dura_pgserver *srv)
{
	if (!srv)
		return;
	if (srv->n_paused && getpid() == srv->owner)
		dura_pgserver_pause(srv, 0, NULL, 0); /* a stopped server cannot shut down */
	/* Closing the pipe is the stop request; SIGTERM covers a forked (not
	 * exec'd) child of ours that still holds a copy of it.  The guardian
	 * is our unreaped child, so its pid cannot have been reused. */
	close(srv->ctl_fd);
	close(srv->reply_fd);
	/* A forked child (validate runs each test in one) that frees its copy
	 * must not stop the server its parent still uses, nor wait for a
	 * guardian that is not its child. */
	if (getpid() == srv->owner) {
		kill(srv->guardian, SIGTERM);
		/* Returns once the server is down and the directory gone. */
		int status = dura_server_reap(srv->guardian);
		/* A guardian killed by someone else could not clean up; its death
		 * told the server to shut down (PR_SET_PDEATHSIG), the directory is
		 * ours to remove. */
		if (WIFSIGNALED(status))
			dura_pg_remove_tree(srv->dir);
	}
	free(srv->paused);
	free(srv->dir);
	free(srv->url);
	free(srv);
}
