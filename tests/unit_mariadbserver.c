/*
 * The throwaway MariaDB server (url = auto for the mariadb plugin): a clear
 * error without the programs; a real server on 127.0.0.1 whose one TCP
 * account takes exactly the random password from the URL (root has none
 * over TCP), running as the mysql user when we are root, with its socket,
 * data and init file inside a 0700 directory; and
 * nothing left behind after dura_mariadbserver_stop, after kill -9 of its
 * owner and after Ctrl-C to the owner's process group.  Skips when
 * mariadbd is not installed.
 */
#include "config.h"

#include "services/mariadbserver.h"
#include "tap.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#define CLEANUP_WAIT_MS 60000u /* a correctness bound, not a timing */

static int port_answers(int port)
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

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Waits until neither dir exists nor port answers (or the bound passes). */
static int gone(const char *dir, int port)
{
	uint64_t deadline = dura_now_ms() + CLEANUP_WAIT_MS;
	while ((exists(dir) || port_answers(port)) && dura_now_ms() < deadline)
		dura_sleep_ms(50);
	return !exists(dir) && !port_answers(port);
}

/* Runs the mariadb client: 0 if `user` with `password` can run SELECT 1 on
 * port over TCP.  The password goes through the environment, not argv. */
static int client_login(int port, const char *user, const char *password)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		char port_arg[32];
		snprintf(port_arg, sizeof port_arg, "--port=%d", port);
		setenv("MYSQL_PWD", password, 1);
		execlp("mariadb", "mariadb", "--no-defaults", "--protocol=TCP", "--host=127.0.0.1",
		       port_arg, "--user", user, "--connect-timeout=10", "-e", "SELECT 1",
		       (char *)NULL);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static uid_t uid_of(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "re");
	long uid = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Uid: %ld", &uid) == 1)
			break;
	if (f)
		fclose(f);
	return (uid_t)uid;
}

static pid_t server_pid(const char *dir)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/mariadbd.pid", dir);
	FILE *f = fopen(path, "re");
	long pid = -1;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return (pid_t)pid;
}

static void test_missing_programs(void)
{
	char empty[] = "/tmp/unit-mariadbserver-empty-XXXXXX";
	char err[512] = "";
	struct dura_mariadbserver *srv = (struct dura_mariadbserver *)&err;
	if (!mkdtemp(empty)) {
		tap_ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	int rc = dura_mariadbserver_start(empty, &srv, err, sizeof err);
	tap_ok(rc == -1 && srv == NULL && strstr(err, "mariadbd") && strstr(err, empty) &&
	       strstr(err, "mariadb-server"),
	       "empty bindir: start fails with a clear error: %s", err);
	rmdir(empty);
}

static void test_start_stop(void)
{
	char err[1024] = "";
	struct dura_mariadbserver *srv = NULL;
	int rc = dura_mariadbserver_start(NULL, &srv, err, sizeof err);
	tap_ok(rc == 0 && srv, "start: %s", rc == 0 ? "ok" : err);
	if (rc != 0)
		return;
	int port = dura_mariadbserver_port(srv);
	char dir[PATH_MAX], password[64] = "", tail[64], path[PATH_MAX + 32];
	snprintf(dir, sizeof dir, "%s", dura_mariadbserver_dir(srv));
	snprintf(tail, sizeof tail, "@127.0.0.1:%d", port);
	const char *url = dura_mariadbserver_url(srv), *prefix = "mariadb://durabench:";
	size_t plen = strlen(url) > strlen(prefix) + strlen(tail)
	                  ? strlen(url) - strlen(prefix) - strlen(tail) : 0;
	if (plen < sizeof password && strncmp(url, prefix, strlen(prefix)) == 0)
		snprintf(password, plen + 1, "%s", url + strlen(prefix));
	tap_ok(strlen(password) == 48 && strspn(password, "0123456789abcdef") == 48 &&
	       strcmp(url + strlen(url) - strlen(tail), tail) == 0,
	       "url has the form mariadb://durabench:<48 hex digits>%s", tail);
	tap_ok(port_answers(port), "server answers on 127.0.0.1:%d", port);

	struct stat st;
	tap_ok(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700,
	       "directory %s is 0700 (socket, data unreachable by others)", dir);
	snprintf(path, sizeof path, "%s/mariadbd.sock", dir);
	tap_ok(exists(path), "its Unix socket lives inside that directory");
	snprintf(path, sizeof path, "%s/init.sql", dir);
	tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	       "the init file with the password is 0600 inside that directory");
	pid_t pid = server_pid(dir);
	if (geteuid() == 0)
		tap_ok(pid > 0 && uid_of(pid) != 0 && uid_of(pid) != (uid_t)-1,
		       "as root, mariadbd runs as another user (uid %ld)", (long)uid_of(pid));

	if (client_login(port, "root", "") == 127) {
		tap_diag("no mariadb client: login checks skipped");
	} else {
		tap_ok(client_login(port, "durabench", password) == 0,
		       "the URL's account and password log in over TCP");
		tap_ok(client_login(port, "durabench", "wrong") != 0, "a wrong password is refused");
		tap_ok(client_login(port, "root", "") != 0, "root cannot log in over TCP");
	}
	dura_mariadbserver_stop(srv);
	tap_ok(gone(dir, port), "stop: directory removed and port closed");
	tap_ok(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "stop: guardian reaped");
}

/* Forked owner: starts a server, writes "<port> <dir>" to fd, waits. */
_Noreturn static void owner_main(int fd, int own_group)
{
	if (own_group)
		setpgid(0, 0);
	char err[1024], line[PATH_MAX + 64];
	struct dura_mariadbserver *srv;
	if (dura_mariadbserver_start(NULL, &srv, err, sizeof err) != 0)
		snprintf(line, sizeof line, "ERR %s\n", err);
	else
		snprintf(line, sizeof line, "%d %s\n", dura_mariadbserver_port(srv),
		         dura_mariadbserver_dir(srv));
	if (write(fd, line, strlen(line)) < 0)
		_exit(2);
	for (;;)
		pause();
}

/* The owner dies by sig (to its whole process group when own_group, as
 * Ctrl-C does): the guardian stops the server and removes the directory. */
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
		setpgid(child, child);
	close(p[1]);
	char line[PATH_MAX + 1100] = "";
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
	tap_ok(started && port_answers(port), "%s: owner started a server: %s", what, line);
	if (!started) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return;
	}
	kill(own_group ? -child : child, sig);
	int status = 0;
	waitpid(child, &status, 0);
	tap_ok(WIFSIGNALED(status) && WTERMSIG(status) == sig, "%s: owner died by signal %d",
	       what, sig);
	tap_ok(gone(dir, port), "%s: directory removed and port closed", what);
	/* we are the subreaper: the orphaned guardian comes back to us */
	uint64_t deadline = dura_now_ms() + CLEANUP_WAIT_MS;
	while (!(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD) && dura_now_ms() < deadline)
		dura_sleep_ms(20);
	tap_ok(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "%s: guardian exited", what);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_missing_programs();
	if (access("/usr/sbin/mariadbd", X_OK) != 0 && !getenv("DURABENCH_MARIADB_BINDIR")) {
		printf("# mariadbd not installed: server tests skipped\n");
		return tap_done();
	}
#ifdef __linux__
	prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
	test_start_stop();
	test_owner_dies(SIGKILL, 0, "kill -9 of the owner");
	test_owner_dies(SIGINT, 1, "Ctrl-C to the owner's process group");
	return tap_done();
}
