/* Parent-side helpers shared by the throwaway local servers (see
 * server_common.h). */
#include "config.h"

#include "server_common.h"
#include "pgserver_guardian.h"
#include "proc_tree.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int dura_server_user_lookup(const char *user, const char *program, const char *package,
                            struct dura_server_user *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	struct passwd pw, *found = NULL;
	char buf[4096];
	int rc = getpwnam_r(user, &pw, buf, sizeof buf, &found);
	if (!found) {
		dura_errbuf(err, errlen,
		            "running as root, and %s refuses root, but there is no '%s' user to run "
		            "the server as%s%s (install the Debian package %s, or create the user)",
		            program, user, rc ? ": " : "", rc ? strerror(rc) : "", package);
		return -1;
	}
	int n = 16;
	for (;;) {
		out->groups = dura_xrealloc(out->groups, (size_t)n * sizeof *out->groups);
		int want = n;
		if (getgrouplist(user, pw.pw_gid, out->groups, &want) >= 0) {
			n = want;
			break;
		}
		n = want > n ? want : n * 2;
	}
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	out->n_groups = n;
	return 0;
}

void dura_server_user_free(struct dura_server_user *u)
{
	free(u->groups);
	u->groups = NULL;
	u->n_groups = 0;
}

void dura_server_env(char *env[DURA_SERVER_ENV_MAX])
{
	size_t n = 0;
	const char *path = getenv("PATH");
	const char *tz = getenv("TZ");
	env[n++] = dura_xstrdup("LC_ALL=C");
	env[n++] = dura_xstrdup("LANG=C");
	env[n++] = dura_xasprintf("PATH=%s", path && *path ? path : "/usr/bin:/bin");
	if (tz && *tz)
		env[n++] = dura_xasprintf("TZ=%s", tz);
	while (n < DURA_SERVER_ENV_MAX)
		env[n++] = NULL;
}

void dura_server_env_free(char *env[DURA_SERVER_ENV_MAX])
{
	for (size_t i = 0; i < DURA_SERVER_ENV_MAX; i++) {
		free(env[i]);
		env[i] = NULL;
	}
}

int dura_server_password(char *out, size_t outlen, char *err, size_t errlen)
{
	unsigned char raw[DURA_SERVER_PASSWORD_BYTES];
	size_t got = 0;
	if (outlen < DURA_SERVER_PASSWORD_LEN) {
		dura_errbuf(err, errlen, "password buffer too small");
		return -1;
	}
	while (got < sizeof raw) {
		ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			dura_errbuf(err, errlen, "cannot generate the server password: %s",
			            strerror(errno));
			return -1;
		}
		got += (size_t)r;
	}
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof raw);
	return 0;
}

int dura_server_write_secret(const char *path, const char *text, int chown_to_user,
                             uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		dura_errbuf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	size_t len = strlen(text);
	int ok = (!chown_to_user || fchown(fd, uid, gid) == 0) &&
	         write(fd, text, len) == (ssize_t)len;
	if (!ok)
		dura_errbuf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	close(fd);
	if (!ok)
		unlink(path);
	return ok ? 0 : -1;
}

char *dura_server_tempdir(const char *prefix, int chown_to_user, uid_t uid, gid_t gid,
                          char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	int tmplen = (int)strlen(tmp);
	while (tmplen > 1 && tmp[tmplen - 1] == '/')
		tmplen--;
	char *dir = dura_xasprintf("%.*s/%sXXXXXX", tmplen, tmp, prefix);
	if (!mkdtemp(dir)) {
		dura_errbuf(err, errlen, "cannot create a temporary directory %s: %s", dir,
		            strerror(errno));
		free(dir);
		return NULL;
	}
	if (chown_to_user && chown(dir, uid, gid) != 0) {
		dura_errbuf(err, errlen, "cannot hand %s to the server user: %s", dir,
		            strerror(errno));
		rmdir(dir);
		free(dir);
		return NULL;
	}
	return dir;
}

int dura_server_reap(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

void dura_server_read_status(int fd, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	while (off < len - 1 && !memchr(buf, '\n', off)) {
		ssize_t r = read(fd, buf + off, len - 1 - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	buf[off] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* ---- the guardian from the parent's side ---- */

int dura_server_guard_start(const struct dura_pg_plan *plan, struct dura_server_guard *g,
                            int *port, pid_t *server, char *err, size_t errlen)
{
	char status[DURA_PG_STATUS_MAX];
	int ctl[2] = { -1, -1 }, st[2] = { -1, -1 };
	memset(g, 0, sizeof *g);
	g->ctl_fd = g->status_fd = -1;
	/* CLOEXEC: programs exec'd by this process (or the guardian) must not
	 * hold a copy of either pipe. */
	if (pipe2(ctl, O_CLOEXEC) != 0 || pipe2(st, O_CLOEXEC) != 0) {
		dura_errbuf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	pid_t pid = fork();
	if (pid < 0) {
		dura_errbuf(err, errlen, "cannot fork the server guardian: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		close(ctl[1]);
		close(st[0]);
		dura_pg_guardian_main(plan, ctl[0], st[1]);
	}
	close(ctl[0]);
	close(st[1]);
	ctl[0] = st[1] = -1;
	dura_server_read_status(st[0], status, sizeof status);
	long pid_read = 0;
	if (strncmp(status, "OK ", 3) == 0) {
		g->guardian = pid;
		g->owner = getpid();
		g->ctl_fd = ctl[1];
		g->status_fd = st[0]; /* answers to fault requests */
		if (sscanf(status, "OK %d %ld", port, &pid_read) == 2 && *port > 0) {
			*server = (pid_t)pid_read;
			return 0;
		}
		dura_errbuf(err, errlen, "the server guardian reported '%.80s'", status);
		dura_server_guard_stop(g, plan->dir);
		return -1;
	}
	/* The guardian removes the directory before it exits. */
	close(ctl[1]);
	close(st[0]);
	ctl[1] = st[0] = -1;
	dura_server_reap(pid);
	if (strncmp(status, "ERR ", 4) == 0)
		dura_errbuf(err, errlen, "%s", status + 4);
	else
		dura_errbuf(err, errlen, "the server guardian process died during startup");
fail:
	for (int i = 0; i < 2; i++) {
		if (ctl[i] >= 0)
			close(ctl[i]);
		if (st[i] >= 0)
			close(st[i]);
	}
	dura_pg_remove_tree(plan->dir); /* no-op when the guardian already did */
	return -1;
}

void dura_server_guard_stop(struct dura_server_guard *g, const char *dir)
{
	/* Closing the pipe is the stop request; SIGTERM covers a forked (not
	 * exec'd) child of ours that still holds a copy of it.  The guardian
	 * is our unreaped child, so its pid cannot have been reused. */
	close(g->ctl_fd);
	if (g->status_fd >= 0)
		close(g->status_fd);
	g->ctl_fd = g->status_fd = -1;
	/* A forked child (validate runs each test in one) that frees its copy
	 * must not stop the server its parent still uses, nor wait for a
	 * guardian that is not its child. */
	if (getpid() != g->owner)
		return;
	kill(g->guardian, SIGTERM);
	/* Returns once the server is down and the directory gone. */
	int status = dura_server_reap(g->guardian);
	/* A guardian killed by someone else could not clean up; its death told
	 * the server to shut down (PR_SET_PDEATHSIG): the directory is ours to
	 * remove. */
	if (WIFSIGNALED(status))
		dura_pg_remove_tree(dir);
}

int dura_server_guard_request(struct dura_server_guard *g, char cmd, pid_t *server, char *err,
                              size_t errlen)
{
	if (getpid() != g->owner || g->status_fd < 0) {
		dura_errbuf(err, errlen, "the server belongs to another process");
		return -1;
	}
	if (write(g->ctl_fd, &cmd, 1) != 1) {
		dura_errbuf(err, errlen, "cannot reach the server guardian: %s", strerror(errno));
		return -1;
	}
	char status[DURA_PG_STATUS_MAX];
	dura_server_read_status(g->status_fd, status, sizeof status);
	long pid;
	if (sscanf(status, "OK %ld", &pid) == 1) {
		*server = (pid_t)pid;
		return 0;
	}
	if (strncmp(status, "ERR ", 4) == 0)
		dura_errbuf(err, errlen, "%s", status + 4);
	else
		dura_errbuf(err, errlen, "the server guardian process died");
	return -1;
}

#define PAUSE_WAIT_MS 5000u /* SIGSTOP/SIGCONT taking effect, under load */

static void resume(struct dura_server_pause *p)
{
	/* children first: the parent, resumed last, then finds them all
	 * running again */
	for (size_t i = p->n; i-- > 0;)
		kill(p->pids[i], SIGCONT);
	for (size_t i = 0; i < p->n; i++)
		(void)dura_proc_wait_state(p->pids[i], 0, PAUSE_WAIT_MS);
	free(p->pids);
	p->pids = NULL;
	p->n = 0;
}

int dura_server_pause(struct dura_server_pause *p, pid_t server, int paused, char *err,
                      size_t errlen)
{
	if (!paused) {
		resume(p);
		return 0;
	}
	if (p->n)
		return 0;
	if (server <= 0) {
		dura_errbuf(err, errlen, "the server is not running");
		return -1;
	}
	/* The server first, so that it forks nothing new while its children
	 * are collected (PostgreSQL's backends each lead their own session,
	 * so no process group reaches them all; mariadbd has threads only). */
	if (kill(server, SIGSTOP) != 0) {
		dura_errbuf(err, errlen, "cannot stop the server (pid %ld): %s", (long)server,
		            strerror(errno));
		return -1;
	}
	pid_t *children;
	size_t n = dura_proc_children(server, &children);
	p->pids = dura_xrealloc(children, (n + 1) * sizeof *p->pids);
	memmove(p->pids + 1, p->pids, n * sizeof *p->pids);
	p->pids[0] = server;
	p->n = 1;
	for (size_t i = 0; i < n; i++)
		if (kill(p->pids[i + 1], SIGSTOP) == 0)
			p->pids[p->n++] = p->pids[i + 1];
	/* a signal takes effect after kill() returns: the pause starts when
	 * every process has really stopped */
	for (size_t i = 0; i < p->n; i++)
		if (dura_proc_wait_state(p->pids[i], 1, PAUSE_WAIT_MS) != 0) {
			dura_errbuf(err, errlen, "server process %ld did not stop within %u ms",
			            (long)p->pids[i], PAUSE_WAIT_MS);
			resume(p); /* no half-paused server */
			return -1;
		}
	return 0;
}

/* ---- a running server, whatever its engine ---- */

int dura_guarded_server_down(struct dura_guarded_server *s, char *err, size_t errlen)
{
	dura_server_pause(&s->pause, s->server, 0, NULL, 0);
	return dura_server_guard_request(&s->guard, 'D', &s->server, err, errlen);
}

int dura_guarded_server_up(struct dura_guarded_server *s, char *err, size_t errlen)
{
	return dura_server_guard_request(&s->guard, 'U', &s->server, err, errlen);
}

int dura_guarded_server_pause(struct dura_guarded_server *s, int paused, char *err,
                              size_t errlen)
{
	return dura_server_pause(&s->pause, s->server, paused, err, errlen);
}

void dura_guarded_server_stop(struct dura_guarded_server *s)
{
	/* a stopped server cannot shut down: resume it first (in the process
	 * that paused it; a forked child only closes its copies) */
	if (s->pause.n && getpid() == s->guard.owner)
		dura_server_pause(&s->pause, s->server, 0, NULL, 0);
	dura_server_guard_stop(&s->guard, s->dir);
	free(s->pause.pids);
	free(s->dir);
	free(s->url);
}
