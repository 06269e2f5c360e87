/*
 * The throwaway PostgreSQL server (url = auto): clear errors without
 * binaries, initdb failures reported with the log tail and cleaned up, a
 * real server that answers with the settings we asked for, holds none of
 * our descriptors and sits outside our process group, and is gone with its
 * directory after dura_pgserver_stop, after kill -9 of its owner and after
 * Ctrl-C to its owner's process group.
 */
#include "config.h"

#include "services/pgserver.h"
#include "tap.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define CLEANUP_WAIT_MS 60000u /* generous: this is a correctness bound, not a timing */

static int tcp_answers(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static int path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n == 0;
}

static void rm_tree_shallow(const char *dir)
{
	/* Test scratch dirs hold only plain files. */
	DIR *d = opendir(dir);
	if (d) {
		for (struct dirent *e; (e = readdir(d));) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char p[PATH_MAX + 256];
			snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* ppid and process group from /proc/<pid>/stat; 0 on success. */
static int proc_stat(pid_t pid, pid_t *ppid, pid_t *pgrp)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	long pp, pg;
	char state;
	if (!p || sscanf(p + 1, " %c %ld %ld", &state, &pp, &pg) != 3)
		return -1;
	*ppid = (pid_t)pp;
	*pgrp = (pid_t)pg;
	return 0;
}

static pid_t find_child(pid_t parent)
{
	DIR *d = opendir("/proc");
	pid_t found = -1;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));) {
		pid_t pid = (pid_t)atol(e->d_name), pp, pg;
		if (pid > 0 && proc_stat(pid, &pp, &pg) == 0 && pp == parent)
			found = pid;
	}
	closedir(d);
	return found;
}

static pid_t postmaster_pid(const char *dir)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/data/postmaster.pid", dir);
	FILE *f = fopen(path, "re");
	long pid = -1;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return (pid_t)pid;
}

static int fd_target(pid_t pid, int fd, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/fd/%d", (long)pid, fd);
	ssize_t n = readlink(path, out, len - 1);
	if (n < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/* Counts the descriptors of pid that point at `target` (a "pipe:[N]"). */
static int holds(pid_t pid, const char *target)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	DIR *d = opendir(path);
	int n = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));) {
		char t[256];
		if (e->d_name[0] != '.' && fd_target(pid, atoi(e->d_name), t, sizeof t) == 0 &&
		    strcmp(t, target) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static int have_server_binaries(void)
{
	glob_t g;
	int found = glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0;
	if (found)
		globfree(&g);
#ifdef DURA_PG_BINDIR
	if (DURA_PG_BINDIR[0])
		found = 1;
#endif
	return found;
}

/* A psql to cross-check the server with, or NULL.  Caller frees. */
static char *find_psql(void)
{
	glob_t g;
	char *psql = NULL;
	if (glob("/usr/lib/postgresql/*/bin/psql", 0, NULL, &g) == 0) {
		psql = dura_xstrdup(g.gl_pathv[g.gl_pathc - 1]);
		globfree(&g);
	}
	return psql;
}

static void reap_all_children(uint32_t ms)
{
	uint64_t deadline = dura_now_ms() + ms;
	for (;;) {
		pid_t r = waitpid(-1, NULL, WNOHANG);
		if (r < 0 && errno == ECHILD)
			return;
		if (r == 0) {
			if (dura_now_ms() >= deadline)
				return;
			dura_sleep_ms(20);
		}
	}
}

static int no_children_left(void)
{
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

static void test_missing_binaries(void)
{
	char empty[] = "/tmp/unit-pgserver-empty-XXXXXX";
	char err[512] = "";
	struct dura_pgserver *srv = (struct dura_pgserver *)&err; /* must be reset */
	if (!mkdtemp(empty)) {
		tap_ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	int rc = dura_pgserver_start(empty, &srv, err, sizeof err);
	tap_ok(rc == -1 && srv == NULL, "empty bindir: start fails, *out = NULL");
	tap_ok(strstr(err, "not found") && strstr(err, empty) && strstr(err, "initdb"),
	       "empty bindir: error names what is missing and where: %s", err);

	const char *old = getenv("DURABENCH_PG_BINDIR");
	char *saved = old ? dura_xstrdup(old) : NULL;
	setenv("DURABENCH_PG_BINDIR", empty, 1);
	err[0] = '\0';
	rc = dura_pgserver_start(NULL, &srv, err, sizeof err);
	tap_ok(rc == -1 && strstr(err, "DURABENCH_PG_BINDIR") && strstr(err, empty),
	       "DURABENCH_PG_BINDIR without binaries: clear error: %s", err);
	if (saved)
		setenv("DURABENCH_PG_BINDIR", saved, 1);
	else
		unsetenv("DURABENCH_PG_BINDIR");
	free(saved);
	rmdir(empty);
}

static int write_script(const char *dir, const char *name, const char *body)
{
	char path[PATH_MAX + 256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	return chmod(path, 0755);
}

/* initdb fails: the error carries the log tail and the temporary directory
 * is removed (TMPDIR points at a scratch dir we can inspect). */
static void test_initdb_failure(void)
{
	char bindir[] = "/tmp/unit-pgserver-bin-XXXXXX";
	char tmpdir[] = "/tmp/unit-pgserver-tmp-XXXXXX";
	if (!mkdtemp(bindir) || !mkdtemp(tmpdir)) {
		tap_ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	/* As root the scripts run as postgres: let that user in. */
	chmod(bindir, 0755);
	chmod(tmpdir, 0755);
	write_script(bindir, "initdb", "echo 'fake initdb failure: disk on fire' >&2\nexit 3");
	write_script(bindir, "postgres", "exit 1");
	const char *old = getenv("TMPDIR");
	char *saved = old ? dura_xstrdup(old) : NULL;
	setenv("TMPDIR", tmpdir, 1);

	char err[512] = "";
	struct dura_pgserver *srv = NULL;
	int rc = dura_pgserver_start(bindir, &srv, err, sizeof err);
	tap_ok(rc == -1 && srv == NULL, "failing initdb: start fails");
	tap_ok(strstr(err, "initdb failed") && strstr(err, "exit status 3") &&
	       strstr(err, "fake initdb failure: disk on fire"),
	       "failing initdb: error has the exit status and the log tail: %s", err);
	tap_ok(dir_is_empty(tmpdir), "failing initdb: temporary directory removed");
	tap_ok(no_children_left(), "failing initdb: guardian reaped");

	if (saved)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
	rm_tree_shallow(bindir);
	rm_tree_shallow(tmpdir);
}

/* Runs in a forked child: starts a server, tells the test "<port> <dir>"
 * on fd, then waits to be killed. */
_Noreturn static void owner_main(int fd, int own_group)
{
	if (own_group)
		setpgid(0, 0);
	char err[512];
	struct dura_pgserver *srv;
	char line[PATH_MAX + 64];
	if (dura_pgserver_start(NULL, &srv, err, sizeof err) != 0)
		snprintf(line, sizeof line, "ERR %s\n", err);
	else
		snprintf(line, sizeof line, "%d %s\n", dura_pgserver_port(srv), dura_pgserver_dir(srv));
	if (write(fd, line, strlen(line)) < 0)
		_exit(2);
	for (;;)
		pause();
}

/* The owner of a server dies by `sig` (sent to its process group when
 * own_group): the guardian must stop the server and remove its directory. */
static void test_owner_dies(int sig, int own_group, const char *what)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		tap_ok(0, "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		close(p[0]);
		owner_main(p[1], own_group);
	}
	if (own_group)
		setpgid(child, child); /* both sides: no race with the kill below */
	close(p[1]);
	char line[PATH_MAX + 600] = "";
	size_t off = 0;
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	while (off < sizeof line - 1 && poll(&pfd, 1, 180000) > 0) {
		ssize_t r = read(p[0], line + off, sizeof line - 1 - off);
		if (r <= 0)
			break;
		off += (size_t)r;
		if (line[off - 1] == '\n')
			break;
	}
	line[off] = '\0';
	line[strcspn(line, "\n")] = '\0';
	close(p[0]);
	int port = 0;
	char dir[PATH_MAX] = "";
	int started = sscanf(line, "%d %4095s", &port, dir) == 2 && port > 0;
	tap_ok(started, "%s: owner started a server: %s", what, line);
	if (!started) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return;
	}
	tap_ok(tcp_answers(port) && path_exists(dir), "%s: server answers on port %d", what, port);

	kill(own_group ? -child : child, sig);
	int status = 0;
	waitpid(child, &status, 0);
	tap_ok(WIFSIGNALED(status) && WTERMSIG(status) == sig, "%s: owner died by signal %d",
	       what, sig);

	uint64_t deadline = dura_now_ms() + CLEANUP_WAIT_MS;
	while ((path_exists(dir) || tcp_answers(port)) && dura_now_ms() < deadline)
		dura_sleep_ms(50);
	tap_ok(!path_exists(dir), "%s: directory %s removed", what, dir);
	tap_ok(!tcp_answers(port), "%s: port %d no longer answers", what, port);
	/* We are the subreaper: the orphaned guardian comes back to us. */
	reap_all_children(CLEANUP_WAIT_MS);
	tap_ok(no_children_left(), "%s: guardian exited, nothing left behind", what);
}

static void test_start_stop(void)
{
	/* An inheritable pipe: neither the guardian nor the server may hold it
	 * (if they did, closing it here would not be seen by its reader). */
	int canary[2];
	if (pipe(canary) != 0) {
		tap_ok(0, "pipe: %s", strerror(errno));
		return;
	}
	char canary_target[256] = "", stdout_target[256] = "";
	fd_target(getpid(), canary[1], canary_target, sizeof canary_target);
	fd_target(getpid(), 1, stdout_target, sizeof stdout_target);

	char err[512] = "";
	struct dura_pgserver *srv = NULL;
	int rc = dura_pgserver_start(NULL, &srv, err, sizeof err);
	tap_ok(rc == 0 && srv, "start: %s", rc == 0 ? "ok" : err);
	if (rc != 0)
		return;
	int port = dura_pgserver_port(srv);
	char tail[64], dir[PATH_MAX], password[64] = "";
	snprintf(tail, sizeof tail, "@127.0.0.1:%d/postgres", port);
	snprintf(dir, sizeof dir, "%s", dura_pgserver_dir(srv));
	const char *url = dura_pgserver_url(srv);
	const char *prefix = "postgresql://postgres:";
	size_t plen = strlen(url) > strlen(prefix) + strlen(tail)
	                  ? strlen(url) - strlen(prefix) - strlen(tail) : 0;
	if (plen < sizeof password && strncmp(url, prefix, strlen(prefix)) == 0)
		snprintf(password, plen + 1, "%s", url + strlen(prefix));
	tap_ok(port > 0 && port < 65536 && strlen(password) == 48 &&
	       strspn(password, "0123456789abcdef") == 48 &&
	       strcmp(url + strlen(url) - strlen(tail), tail) == 0,
	       "url has the expected form: postgresql://postgres:<48 hex digits>%s", tail);
	struct stat dst;
	char pwfile[PATH_MAX + 8];
	snprintf(pwfile, sizeof pwfile, "%s/pwfile", dir);
	tap_ok(stat(dir, &dst) == 0 && (dst.st_mode & 07777) == 0700 && !path_exists(pwfile),
	       "the directory (socket, data) is mode 0700 and the password file is gone");
	tap_ok(strcmp(dura_pgserver_host(srv), "127.0.0.1") == 0, "host is 127.0.0.1");
	tap_ok(path_exists(dir) && tcp_answers(port), "directory %s exists, port %d answers",
	       dir, port);

	char *psql = find_psql();
	if (psql) {
		char cmd[1024], out[256] = "";
		snprintf(cmd, sizeof cmd,
		         "'%s' -X -At -d '%s' -c \"select current_setting('fsync') || ',' || "
		         "current_setting('listen_addresses') || ',' || current_setting('max_connections') "
		         "|| ',' || current_user\" 2>&1",
		         psql, dura_pgserver_url(srv));
		FILE *f = popen(cmd, "r");
		if (f) {
			size_t n = fread(out, 1, sizeof out - 1, f);
			out[n] = '\0';
			pclose(f);
		}
		out[strcspn(out, "\n")] = '\0';
		tap_ok(strcmp(out, "off,127.0.0.1,200,postgres") == 0,
		       "psql via the url: fsync, listen_addresses, max_connections, user: %s", out);
		/* The same without the password, and with a wrong one: refused. */
		snprintf(cmd, sizeof cmd,
		         "PGPASSWORD= '%s' -X -At -w -h 127.0.0.1 -p %d -U postgres -d postgres "
		         "-c 'select 1' 2>&1; PGPASSWORD=wrong '%s' -X -At -w -h 127.0.0.1 -p %d "
		         "-U postgres -d postgres -c 'select 1' 2>&1",
		         psql, port, psql, port);
		memset(out, 0, sizeof out);
		f = popen(cmd, "r");
		if (f) {
			size_t n = fread(out, 1, sizeof out - 1, f);
			out[n] = '\0';
			pclose(f);
		}
		tap_ok(strstr(out, "no password supplied") &&
		       strstr(out, "password authentication failed") && !strstr(out, "\n1\n"),
		       "TCP without the password or with a wrong one is refused: %.200s", out);
		free(psql);
	} else {
		tap_ok(1, "# SKIP no psql to cross-check with");
		tap_ok(1, "# SKIP no psql to try a connection without the password");
	}

	pid_t guardian = find_child(getpid());
	pid_t pm = postmaster_pid(dir);
	pid_t pp = 0, pg = 0, gpp = 0, gpg = 0;
	tap_ok(guardian > 0 && pm > 0 && proc_stat(pm, &pp, &pg) == 0 && pp == guardian &&
	       proc_stat(guardian, &gpp, &gpg) == 0,
	       "the guardian (%ld) is our child and the postmaster's (%ld) parent",
	       (long)guardian, (long)pm);
	tap_ok(gpg != getpgrp() && pg != getpgrp(),
	       "guardian and server are outside our process group (Ctrl-C does not reach them)");
	tap_ok(holds(guardian, canary_target) == 0 && holds(pm, canary_target) == 0,
	       "guardian and server hold none of our inheritable descriptors");
	int stdio_leak = 0;
	if (strncmp(stdout_target, "pipe:", 5) == 0 || strncmp(stdout_target, "socket:", 7) == 0) {
		stdio_leak = holds(guardian, stdout_target) != 0 || holds(pm, stdout_target) != 0;
	}
	tap_ok(!stdio_leak, "guardian and server do not hold our stdout (%s)", stdout_target);

	/* A forked child freeing its copy (validate forks per test) must not
	 * stop the server its parent uses. */
	fflush(stdout);
	pid_t copy = fork();
	if (copy == 0) {
		dura_pgserver_stop(srv);
		_exit(0);
	}
	waitpid(copy, NULL, 0);
	/* A wrong stop would show within moments as a shutdown request in the
	 * log (or the directory gone); a right one never does. */
	dura_sleep_ms(300);
	char logpath[PATH_MAX + 32], logbuf[8192] = "";
	snprintf(logpath, sizeof logpath, "%s/server.log", dir);
	FILE *lf = fopen(logpath, "re");
	if (lf) {
		logbuf[fread(logbuf, 1, sizeof logbuf - 1, lf)] = '\0';
		fclose(lf);
	}
	tap_ok(lf && !strstr(logbuf, "shutdown request") && tcp_answers(port),
	       "stop in a forked child leaves the parent's server running");

	/* A forked child still holding the control pipe must not make stop
	 * hang (the SIGTERM path); alarm() in main turns a hang into a failure. */
	pid_t holder = fork();
	if (holder == 0) {
		for (;;)
			pause();
	}
	dura_pgserver_stop(srv);
	tap_ok(!path_exists(dir), "stop removed %s (while a forked child holds the pipe)", dir);
	tap_ok(!tcp_answers(port), "stop: port %d no longer answers", port);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	tap_ok(no_children_left(), "stop: no child process (zombie) left");
	dura_pgserver_stop(NULL);
	close(canary[0]);
	close(canary[1]);
}

/* Someone kills the guardian itself: the server shuts down on its own
 * (parent-death signal) and stop still removes the directory. */
static void test_guardian_killed(void)
{
	char err[512] = "";
	struct dura_pgserver *srv = NULL;
	if (dura_pgserver_start(NULL, &srv, err, sizeof err) != 0) {
		tap_ok(0, "start: %s", err);
		return;
	}
	int port = dura_pgserver_port(srv);
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", dura_pgserver_dir(srv));
	pid_t guardian = find_child(getpid());
	tap_ok(guardian > 0 && kill(guardian, SIGKILL) == 0, "guardian %ld killed", (long)guardian);
	uint64_t deadline = dura_now_ms() + CLEANUP_WAIT_MS;
	while (tcp_answers(port) && dura_now_ms() < deadline)
		dura_sleep_ms(50);
	tap_ok(!tcp_answers(port), "guardian killed: the server shut down by itself");
	dura_pgserver_stop(srv);
	tap_ok(!path_exists(dir), "guardian killed: stop still removed %s", dir);
	reap_all_children(CLEANUP_WAIT_MS);
	tap_ok(no_children_left(), "guardian killed: nothing left behind");
}

int main(void)
{
	alarm(600); /* a hang (stop never returning) fails the test instead */
	test_missing_binaries();
	test_initdb_failure();
	if (!have_server_binaries()) {
		tap_ok(1, "# SKIP PostgreSQL server binaries not installed");
		return tap_done();
	}
#ifdef __linux__
	/* Orphaned guardians are reparented to us, so we can see them exit. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
	test_owner_dies(SIGKILL, 0, "kill -9 of the owner");
	test_owner_dies(SIGINT, 1, "Ctrl-C to the owner's process group");
	test_start_stop();
	test_guardian_killed();
	return tap_done();
}
