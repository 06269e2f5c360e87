/*
 * A throwaway local MariaDB server (url = auto), parent side: find the
 * programs, create the temporary directory, write the one-time init file
 * (the TCP account and its random password), hand everything to the
 * guardian (pgserver_guardian.c, with the MariaDB engine below) and wait
 * for its "ready" report.
 */
#include "config.h"

#include "mariadbserver.h"
#include "pgserver_guardian.h"
#include "server_common.h"
#include "base/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SERVER_USER "mysql" /* who runs mariadbd when we are root */
#define LOOPBACK "127.0.0.1"
#define ACCOUNT "durabench" /* the one TCP account, @127.0.0.1 only */

struct dura_mariadbserver {
	struct dura_guarded_server s; /* url: mariadb://durabench:PASSWORD@127.0.0.1:PORT;
	                                 server: mariadbd */
};

/* ---- finding the programs ---- */

static char *program_in(const char *dir, const char *name)
{
	char *path = dura_xasprintf("%s/%s", dir, name);
	if (access(path, X_OK) == 0)
		return path;
	free(path);
	return NULL;
}

/* The first of names found in dir, then (unless only_dir) /usr/sbin,
 * /usr/bin and $PATH.  Caller frees; NULL if none. */
static char *find_program(const char *dir, int only_dir, const char *const *names)
{
	for (const char *const *n = names; *n; n++) {
		char *p = dir ? program_in(dir, *n) : NULL;
		if (p || only_dir)
			return p;
	}
	if (only_dir)
		return NULL;
	static const char *const std_dirs[] = { "/usr/sbin", "/usr/bin", NULL };
	for (const char *const *n = names; *n; n++) {
		for (const char *const *d = std_dirs; *d; d++) {
			char *p = program_in(*d, *n);
			if (p)
				return p;
		}
		const char *path = getenv("PATH");
		char *copy = dura_xstrdup(path ? path : ""), *save = NULL;
		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			char *p = program_in(d, *n);
			if (p) {
				free(copy);
				return p;
			}
		}
		free(copy);
	}
	return NULL;
}

/* ---- what the guardian runs ---- */

/* Owns every string the plan points at. */
struct mdb_plan {
	struct dura_pg_plan plan;
	struct dura_server_engine engine;
	struct dura_server_user user;
	char *server, *install, *datadir, *pidfile, *logpath, *socket, *initfile, *tmpdir;
	char *datadir_arg, *tmpdir_arg, *init_args[10];
	char *env[DURA_SERVER_ENV_MAX];
};

static void mdb_plan_free(struct mdb_plan *m)
{
	free(m->server);
	free(m->install);
	free(m->datadir);
	free(m->pidfile);
	free(m->logpath);
	free(m->socket);
	free(m->initfile);
	free(m->tmpdir);
	free(m->datadir_arg);
	free(m->tmpdir_arg);
	dura_server_user_free(&m->user);
	dura_server_env_free(m->env);
}

/* Set by mariadbserver_start before the fork: the guardian's copy of the
 * plan carries the paths, this callback only formats them. */
static void server_argv(const struct dura_pg_plan *plan, int port, char **argv, size_t max,
                        char *buf, size_t buflen)
{
	const struct mdb_plan *m = (const struct mdb_plan *)plan;
	size_t n = 0, used = 0;
#define ARG(...) \
	do { \
		int len_ = snprintf(buf + used, buflen - used, __VA_ARGS__); \
		if (len_ >= 0 && used + (size_t)len_ < buflen && n + 1 < max) { \
			argv[n++] = buf + used; \
			used += (size_t)len_ + 1; \
		} \
	} while (0)
	ARG("%s", m->server);
	ARG("--no-defaults"); /* must come first: no option file of the host */
	ARG("--datadir=%s", m->datadir);
	ARG("--port=%d", port);
	ARG("--bind-address=" LOOPBACK);
	ARG("--socket=%s", m->socket);
	ARG("--pid-file=%s", m->pidfile);
	ARG("%s", m->tmpdir_arg);
	ARG("--init-file=%s", m->initfile);
	ARG("--skip-name-resolve");
	/* a throwaway server: like the PostgreSQL one (fsync=off), no flush
	 * per commit, no binary log, no doublewrite */
	ARG("--skip-log-bin");
	ARG("--innodb-flush-log-at-trx-commit=0");
	ARG("--innodb-doublewrite=0");
	ARG("--innodb-log-file-size=32M");
	ARG("--innodb-buffer-pool-size=128M");
	ARG("--max-connections=300");
	ARG("--skip-ssl");
#undef ARG
	argv[n] = NULL;
}

/* The init file mariadbd runs at every startup (idempotent, so a restart
 * of the same data directory works too): the TCP account with the random
 * password, the only way in over TCP (root has no TCP account).  0600 in
 * the 0700 directory, owned by the server user, who can read the data
 * files (and the account's hash) anyway; removed with the directory. */
static int write_init_file(const struct mdb_plan *m, const char *password, char *err,
                           size_t errlen)
{
	char *sql = dura_xasprintf(
		"CREATE USER IF NOT EXISTS '" ACCOUNT "'@'" LOOPBACK "' IDENTIFIED BY '%s';\n"
		"GRANT ALL PRIVILEGES ON *.* TO '" ACCOUNT "'@'" LOOPBACK "' WITH GRANT OPTION;\n",
		password);
	int rc = dura_server_write_secret(m->initfile, sql, m->plan.drop_privileges, m->plan.uid,
	                                  m->plan.gid, err, errlen);
	explicit_bzero(sql, strlen(sql));
	free(sql);
	return rc;
}

/* <dir>/tmp, 0700, the server user's. */
static int make_tmpdir(const struct mdb_plan *m, char *err, size_t errlen)
{
	if (mkdir(m->tmpdir, 0700) != 0 ||
	    (m->plan.drop_privileges && chown(m->tmpdir, m->plan.uid, m->plan.gid) != 0)) {
		dura_errbuf(err, errlen, "cannot create %s: %s", m->tmpdir, strerror(errno));
		return -1;
	}
	return 0;
}

static int prepare_plan(struct mdb_plan *m, const char *bindir, char *err, size_t errlen)
{
	static const char *const servers[] = { "mariadbd", "mysqld", NULL };
	static const char *const installers[] = { "mariadb-install-db", "mysql_install_db", NULL };
	const char *env = getenv("DURABENCH_MARIADB_BINDIR");
	const char *dir = bindir && *bindir ? bindir : env && *env ? env : NULL;
	m->server = find_program(dir, dir != NULL, servers);
	if (!m->server) {
		dura_errbuf(err, errlen,
		            "MariaDB server not found: no executable mariadbd in %s: install the "
		            "Debian package mariadb-server, or set DURABENCH_MARIADB_BINDIR",
		            dir ? dir : "/usr/sbin, /usr/bin or $PATH");
		return -1;
	}
	m->install = find_program(dir, 0, installers);
	if (!m->install) {
		dura_errbuf(err, errlen, "mariadb-install-db not found (looked beside %s, in "
		            "/usr/sbin, /usr/bin and $PATH): install the Debian package "
		            "mariadb-server", m->server);
		return -1;
	}
	if (geteuid() == 0) {
		if (dura_server_user_lookup(SERVER_USER, "mariadbd", "mariadb-server", &m->user, err,
		                            errlen) != 0)
			return -1;
		m->plan.drop_privileges = 1;
		m->plan.uid = m->user.uid;
		m->plan.gid = m->user.gid;
		m->plan.groups = m->user.groups;
		m->plan.n_groups = m->user.n_groups;
	}
	return 0;
}

static void fill_paths(struct mdb_plan *m, const char *dir)
{
	m->datadir = dura_xasprintf("%s/data", dir);
	m->pidfile = dura_xasprintf("%s/mariadbd.pid", dir);
	m->logpath = dura_xasprintf("%s/server.log", dir);
	m->socket = dura_xasprintf("%s/mariadbd.sock", dir);
	m->initfile = dura_xasprintf("%s/init.sql", dir);
	m->tmpdir = dura_xasprintf("%s/tmp", dir);
	/* temporary files of its own: bootstraps sharing /tmp (several
	 * servers started at once) fail now and then on each other's
	 * "#sql-temptable-..." files */
	m->tmpdir_arg = dura_xasprintf("--tmpdir=%s", m->tmpdir);
	m->datadir_arg = dura_xasprintf("--datadir=%s", m->datadir);
	size_t n = 0;
	m->init_args[n++] = m->install;
	m->init_args[n++] = "--no-defaults";
	m->init_args[n++] = m->datadir_arg;
	m->init_args[n++] = m->tmpdir_arg;
	/* root@localhost over the socket only (unix_socket), no test db */
	m->init_args[n++] = "--auth-root-authentication-method=socket";
	m->init_args[n++] = "--skip-test-db";
	m->init_args[n++] = "--skip-name-resolve";
	m->init_args[n++] = "--innodb-log-file-size=32M";
	m->init_args[n] = NULL;
	m->engine = (struct dura_server_engine){
		.init_name = "mariadb-install-db",
		.server_name = "mariadbd",
		.init_argv = m->init_args,
		.server_argv = server_argv,
		.stop_signal = SIGTERM, /* mariadbd's normal shutdown */
		/* logged after the init file ran: the account exists */
		.ready_text = "ready for connections",
	};
	m->plan.engine = &m->engine;
	m->plan.dir = dir;
	m->plan.datadir = m->datadir;
	m->plan.pidfile = m->pidfile;
	m->plan.logpath = m->logpath;
	m->plan.sockdir = "";
	dura_server_env(m->env);
	m->plan.envp = m->env;
}

int dura_mariadbserver_start(const char *bindir, struct dura_mariadbserver **out, char *err,
                             size_t errlen)
{
	*out = NULL;
	struct mdb_plan m;
	memset(&m, 0, sizeof m);
	char password[DURA_SERVER_PASSWORD_LEN] = "";
	char *dir = NULL;
	if (prepare_plan(&m, bindir, err, errlen) != 0 ||
	    dura_server_password(password, sizeof password, err, errlen) != 0)
		goto fail;
	/* 0700: nobody else reaches the socket, the data or the init file */
	dir = dura_server_tempdir("durabench-mariadb-", m.plan.drop_privileges, m.plan.uid,
	                          m.plan.gid, err, errlen);
	if (!dir)
		goto fail;
	fill_paths(&m, dir);
	if (make_tmpdir(&m, err, errlen) != 0 || write_init_file(&m, password, err, errlen) != 0) {
		dura_pg_remove_tree(dir);
		goto fail;
	}
	struct dura_server_guard guard;
	int port = 0;
	pid_t server = 0;
	if (dura_server_guard_start(&m.plan, &guard, &port, &server, err, errlen) != 0)
		goto fail;
	struct dura_mariadbserver *srv = dura_xcalloc(1, sizeof *srv);
	srv->s.dir = dir;
	srv->s.port = port;
	srv->s.url = dura_xasprintf("mariadb://" ACCOUNT ":%s@" LOOPBACK ":%d", password, port);
	srv->s.guard = guard;
	srv->s.server = server;
	explicit_bzero(password, sizeof password);
	mdb_plan_free(&m);
	*out = srv;
	return 0;
fail:
	explicit_bzero(password, sizeof password);
	free(dir);
	mdb_plan_free(&m);
	return -1;
}

const char *dura_mariadbserver_url(const struct dura_mariadbserver *srv)
{
	return srv->s.url;
}

int dura_mariadbserver_port(const struct dura_mariadbserver *srv)
{
	return srv->s.port;
}

const char *dura_mariadbserver_dir(const struct dura_mariadbserver *srv)
{
	return srv->s.dir;
}

/* ---- faults (the same guardian requests as the PostgreSQL server's) ---- */

int dura_mariadbserver_down(struct dura_mariadbserver *srv, char *err, size_t errlen)
{
	return dura_guarded_server_down(&srv->s, err, errlen);
}

int dura_mariadbserver_up(struct dura_mariadbserver *srv, char *err, size_t errlen)
{
	return dura_guarded_server_up(&srv->s, err, errlen);
}

int dura_mariadbserver_pause(struct dura_mariadbserver *srv, int paused, char *err,
                             size_t errlen)
{
	return dura_guarded_server_pause(&srv->s, paused, err, errlen);
}

void dura_mariadbserver_stop(struct dura_mariadbserver *srv)
{
	if (!srv)
		return;
	dura_guarded_server_stop(&srv->s);
	free(srv);
}
