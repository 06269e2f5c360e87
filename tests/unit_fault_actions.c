/*
 * Fault actions measured on the real thing: through the delay proxy every
 * connection really is reset, a partition really holds bytes both ways while
 * the connection stays open, a latency spike really delays a round trip; on
 * a url = auto server, down really stops it (port closed, process gone), up
 * brings it back on the same port, pause really stops every server process
 * (state T) and resume lets them go, kill_backends really ends a client's
 * backend.  No timing upper bounds: only what must hold on any machine.
 */
#include "config.h"

#include "services/pgserver.h"
#include "services/proc_tree.h"
#include "services/proxy.h"
#include "tap.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- an echo server on loopback ---- */

struct echo {
	int listen_fd;
	int port;
	pthread_t thread;
};

static void *echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	close(fd);
	return NULL;
}

static void *echo_accept(void *arg)
{
	struct echo *e = arg;
	for (;;) {
		int fd = accept(e->listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		pthread_t t;
		if (pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)fd) == 0)
			pthread_detach(t);
		else
			close(fd);
	}
}

static int echo_start(struct echo *e)
{
	e->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	if (bind(e->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(e->listen_fd, 16) != 0 ||
	    getsockname(e->listen_fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	e->port = ntohs(sa.sin_port);
	return pthread_create(&e->thread, NULL, echo_accept, e);
}

static int tcp_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits up to ms for fd to be readable; then reads.  Returns bytes read, 0
 * at EOF, -1 with errno on error, -2 when nothing came. */
static ssize_t read_within(int fd, char *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, ms) <= 0)
		return -2;
	return read(fd, buf, len);
}

static void test_proxy(void)
{
	struct echo e;
	if (echo_start(&e) != 0) {
		tap_ok(0, "echo server");
		return;
	}
	struct dura_proxy_config cfg = { .listen_host = "127.0.0.1", .target_host = "127.0.0.1",
	                                 .target_port = e.port };
	struct dura_proxy *p;
	char err[256];
	if (!tap_ok(dura_proxy_start(&cfg, &p, err, sizeof err) == 0, "proxy starts: %s", err))
		return;
	int port = dura_proxy_port(p);
	char buf[64];

	/* reset: both connections see a reset */
	int a = tcp_connect(port), b = tcp_connect(port);
	ssize_t n1 = write(a, "x", 1) == 1 ? read_within(a, buf, sizeof buf, 30000) : -1;
	ssize_t n2 = write(b, "y", 1) == 1 ? read_within(b, buf, sizeof buf, 30000) : -1;
	tap_ok(n1 == 1 && n2 == 1, "two connections echo through the proxy");
	uint64_t reset = dura_proxy_reset_all(p);
	tap_ok(reset == 2, "reset_all reports 2 connections (%llu)", (unsigned long long)reset);
	errno = 0;
	ssize_t r1 = read_within(a, buf, sizeof buf, 30000);
	int e1 = errno;
	tap_ok(r1 == -1 && e1 == ECONNRESET, "the client sees a reset, not an orderly end (%zd, %s)",
	       r1, strerror(e1));
	struct dura_proxy_stats st;
	dura_proxy_get_stats(p, &st);
	tap_ok(st.open_connections == 0, "no connection left open");
	close(a);
	close(b);

	/* partition: nothing forwarded, connection kept, bytes delivered after */
	a = tcp_connect(port);
	n1 = write(a, "1", 1) == 1 ? read_within(a, buf, sizeof buf, 30000) : -1;
	dura_proxy_set_partition(p, 1);
	ssize_t w = write(a, "abc", 3);
	ssize_t during = read_within(a, buf, sizeof buf, 500);
	int c = tcp_connect(port); /* a new client: the kernel accepts, nothing answers */
	ssize_t wc = c >= 0 ? write(c, "n", 1) : -1;
	ssize_t new_during = c >= 0 ? read_within(c, buf, sizeof buf, 300) : -1;
	dura_proxy_get_stats(p, &st);
	tap_ok(n1 == 1 && w == 3 && during == -2 && st.open_connections == 1,
	       "partitioned: nothing comes back and the connection stays open (%zd)", during);
	tap_ok(wc == 1 && new_during == -2 && st.accepted == 3,
	       "partitioned: a new client is not served (accepted %llu)",
	       (unsigned long long)st.accepted);
	dura_proxy_set_partition(p, 0);
	ssize_t after = read_within(a, buf, sizeof buf, 30000);
	char buf2[64];
	ssize_t new_after = c >= 0 ? read_within(c, buf2, sizeof buf2, 30000) : -1;
	tap_ok(after == 3 && memcmp(buf, "abc", 3) == 0, "healed: the held bytes arrive (%zd)",
	       after);
	tap_ok(new_after == 1, "healed: the new client is served");
	close(a);
	if (c >= 0)
		close(c);

	/* latency: a round trip takes at least the added rtt */
	a = tcp_connect(port);
	dura_proxy_set_extra_rtt(p, 200000);
	uint64_t t0 = dura_now_ns();
	n1 = write(a, "z", 1) == 1 ? read_within(a, buf, sizeof buf, 30000) : -1;
	double ms = (double)(dura_now_ns() - t0) / 1e6;
	tap_ok(n1 == 1 && ms >= 200, "latency 200ms: an echo takes %.1f ms (>= 200)", ms);
	dura_proxy_set_extra_rtt(p, 0);
	n1 = write(a, "z", 1) == 1 ? read_within(a, buf, sizeof buf, 30000) : -1;
	tap_ok(n1 == 1, "latency lifted: the connection still echoes");
	close(a);
	dura_proxy_stop(p);
	shutdown(e.listen_fd, SHUT_RDWR);
	close(e.listen_fd);
	pthread_join(e.thread, NULL);
}

/* ---- url = auto server ---- */

static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return '?';
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *close_paren = strrchr(buf, ')');
	return close_paren && close_paren[1] == ' ' ? close_paren[2] : '?';
}

/* 1 if pid and every live child of it are in state `want` ('T' stopped),
 * or (want == 0) none is.  A child that is exiting (zombie) or gone by
 * the time it is read takes no signal and does not count. */
static int all_in_state(pid_t pid, char want, size_t *count)
{
	pid_t *kids;
	size_t n = dura_proc_children(pid, &kids);
	int ok = want ? proc_state(pid) == want : proc_state(pid) != 'T';
	for (size_t i = 0; i < n; i++) {
		char st = proc_state(kids[i]);
		if (st == 'Z' || st == 'X' || st == '?')
			continue;
		if (want ? st != want : st == 'T')
			tap_diag("pid %ld in state %c", (long)kids[i], st);
		ok &= want ? st == want : st != 'T';
	}
	free(kids);
	*count = n + 1;
	return ok;
}

static char *find_psql(void)
{
	const char *cands[] = { "/usr/lib/postgresql/15/bin/psql", "/usr/bin/psql", NULL };
	for (size_t i = 0; cands[i]; i++)
		if (access(cands[i], X_OK) == 0)
			return dura_xstrdup(cands[i]);
	return NULL;
}

static size_t client_backends(pid_t pm)
{
	pid_t *kids;
	size_t n = dura_proc_children(pm, &kids), k = 0;
	for (size_t i = 0; i < n; i++) {
		char title[512];
		dura_proc_cmdline(kids[i], title, sizeof title);
		k += strstr(title, "127.0.0.1(") != NULL;
	}
	free(kids);
	return k;
}

static void test_server(void)
{
	struct dura_pgserver *srv;
	char err[1024];
	if (dura_pgserver_start(NULL, &srv, err, sizeof err) != 0) {
		if (strstr(err, "not found"))
			tap_ok(1, "# SKIP no PostgreSQL server binaries: %s", err);
		else
			tap_ok(0, "server starts: %s", err);
		return;
	}
	int port = dura_pgserver_port(srv);
	pid_t pm = dura_pgserver_pid(srv);
	tap_ok(pm > 0 && kill(pm, 0) == 0, "the postmaster's pid is known (%ld)", (long)pm);

	/* kill_backends: a psql session's backend is ended */
	char *psql = find_psql();
	if (psql) {
		pid_t child = fork();
		if (child == 0) {
			int devnull = open("/dev/null", O_WRONLY);
			dup2(devnull, 1);
			dup2(devnull, 2);
			execl(psql, "psql", "-X", "-w", dura_pgserver_url(srv), "-c",
			      "select pg_sleep(60)", (char *)NULL);
			_exit(127);
		}
		uint64_t deadline = dura_now_ms() + 30000;
		while (client_backends(pm) == 0 && dura_now_ms() < deadline)
			dura_sleep_ms(20);
		size_t before = client_backends(pm);
		unsigned killed = 0;
		int rc = dura_pgserver_kill_backends(srv, &killed, err, sizeof err);
		int status = 0;
		waitpid(child, &status, 0);
		deadline = dura_now_ms() + 30000;
		while (client_backends(pm) > 0 && dura_now_ms() < deadline)
			dura_sleep_ms(20);
		tap_ok(rc == 0 && before == 1 && killed == 1 && client_backends(pm) == 0,
		       "kill_backends ended the psql session's backend (%zu before, %u killed)",
		       before, killed);
		tap_ok(WIFEXITED(status) && WEXITSTATUS(status) != 0,
		       "the client saw its connection end (psql exit %d)",
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		free(psql);
	} else {
		tap_ok(1, "# SKIP no psql for a client backend");
		tap_ok(1, "# SKIP no psql for a client backend");
	}

	/* pause: every server process stopped, then running again */
	size_t n_procs = 0;
	int rc = dura_pgserver_pause(srv, 1, err, sizeof err);
	int stopped = all_in_state(pm, 'T', &n_procs);
	tap_ok(rc == 0 && stopped && n_procs > 1,
	       "paused: the postmaster and its %zu children are stopped (state T)", n_procs - 1);
	rc = dura_pgserver_pause(srv, 0, err, sizeof err);
	int running = all_in_state(pm, 0, &n_procs);
	tap_ok(rc == 0 && running, "resumed: none is stopped any more");

	/* down / up */
	rc = dura_pgserver_down(srv, err, sizeof err);
	int gone = kill(pm, 0) != 0 && errno == ESRCH;
	int fd = tcp_connect(port);
	tap_ok(rc == 0 && gone && fd < 0 && dura_pgserver_pid(srv) == 0,
	       "down: the postmaster is gone and the port refuses connections: %s",
	       rc ? err : "ok");
	if (fd >= 0)
		close(fd);
	rc = dura_pgserver_up(srv, err, sizeof err);
	pid_t pm2 = dura_pgserver_pid(srv);
	fd = tcp_connect(port);
	tap_ok(rc == 0 && pm2 > 0 && pm2 != pm && fd >= 0,
	       "up: a new postmaster (%ld) accepts on the same port: %s", (long)pm2,
	       rc ? err : "ok");
	if (fd >= 0)
		close(fd);
	/* paused when stopped for good: the stop still completes */
	dura_pgserver_pause(srv, 1, err, sizeof err);
	dura_pgserver_stop(srv);
	tap_ok(kill(pm2, 0) != 0, "a paused server is still stopped by dura_pgserver_stop");
}

int main(void)
{
	alarm(300); /* a hang fails the test instead of blocking make check */
	signal(SIGPIPE, SIG_IGN);
	test_proxy();
	test_server();
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}
