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

struct dura_pgserver {
	struct dura_guarded_server s; /* url: libpq URL; server: the postmaster */
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
	char password[DURA_SERVER_PASSWORD_LEN];
	if (dura_server_password(password, sizeof password, err, errlen) != 0)
		goto fail;
	if (geteuid() == 0 && lookup_server_user(&s, err, errlen) != 0)
		goto fail;

	/* 0700: it holds the socket (trusted, see run_initdb) and, briefly,
	 * the password file */
	dir = dura_server_tempdir("durabench-pg-", s.plan.drop_privileges, s.plan.uid, s.plan.gid,
	                          err, errlen);
	if (!dir)
		goto fail;
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

	struct dura_server_guard guard;
	int port = 0;
	pid_t server = 0;
	if (dura_server_guard_start(&s.plan, &guard, &port, &server, err, errlen) != 0)
		goto fail; /* the guardian removed the directory */
	struct dura_pgserver *srv = dura_xcalloc(1, sizeof *srv);
	srv->s.dir = dir;
	srv->s.port = port;
	srv->s.url = dura_xasprintf("postgresql://postgres:%s@" LOOPBACK ":%d/postgres", password,
	                          port);
	srv->s.guard = guard;
	srv->s.server = server;
	explicit_bzero(password, sizeof password);
	plan_storage_free(&s);
	*out = srv;
	return 0;
fail_rmdir:
	dura_pg_remove_tree(dir);
fail:
	explicit_bzero(password, sizeof password);
	free(dir);
	plan_storage_free(&s);
	return -1;
}

const char *dura_pgserver_url(const struct dura_pgserver *srv)
{
	return srv->s.url;
}

const char *dura_pgserver_host(const struct dura_pgserver *srv)
{
	(void)srv;
	return LOOPBACK;
}

int dura_pgserver_port(const struct dura_pgserver *srv)
{
	return srv->s.port;
}

const char *dura_pgserver_dir(const struct dura_pgserver *srv)
{
	return srv->s.dir;
}

/* ---- faults ---- */

int dura_pgserver_down(struct dura_pgserver *srv, char *err, size_t errlen)
{
	return dura_guarded_server_down(&srv->s, err, errlen);
}

int dura_pgserver_up(struct dura_pgserver *srv, char *err, size_t errlen)
{
	return dura_guarded_server_up(&srv->s, err, errlen);
}

pid_t dura_pgserver_pid(const struct dura_pgserver *srv)
{
	return srv->s.server;
}

int dura_pgserver_pause(struct dura_pgserver *srv, int paused, char *err, size_t errlen)
{
	return dura_guarded_server_pause(&srv->s, paused, err, errlen);
}

int dura_pgserver_kill_backends(struct dura_pgserver *srv, unsigned *killed, char *err,
                                size_t errlen)
{
	*killed = 0;
	if (srv->s.server <= 0) {
		dura_errbuf(err, errlen, "the server is not running");
		return -1;
	}
	pid_t *children;
	size_t n = dura_proc_children(srv->s.server, &children);
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
	dura_guarded_server_stop(&srv->s);
	free(srv);
}
