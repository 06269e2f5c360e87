/*
 * The guardian of a throwaway PostgreSQL server: runs initdb and the server
 * as its children, reports readiness, and stops the server and removes its
 * directory when the parent closes the control pipe (or dies).
 *
 * This code runs in a child forked from a process that may have other
 * threads; it relies on glibc keeping malloc and stdio usable after fork
 * (glibc resets their locks in the child) and otherwise uses plain system
 * calls.  It never returns: every path ends in _exit, so no atexit handler,
 * stdio flush or sanitizer leak report of the parent runs twice.
 */
#include "config.h"

#include "pgserver_guardian.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

#define INITDB_TIMEOUT_MS 180000u /* initdb on a slow disk, under load */
#define READY_TIMEOUT_MS 60000u   /* from exec of postgres to accepting */
#define FAST_STOP_MS 15000u       /* SIGINT (fast shutdown) before SIGQUIT */
#define QUIT_STOP_MS 5000u        /* SIGQUIT (immediate) before SIGKILL */
#define STARTUP_ATTEMPTS 5        /* retries when someone takes our port */
#define POLL_MS 10

/* Set by SIGTERM: dura_pgserver_stop (or an administrator) asks for cleanup
 * now, even if a forked child of the parent still holds the control pipe.
 * A signal handler can only report through a global. */
static volatile sig_atomic_t stop_requested;

/* The signal that asks the server (or its init step) to stop quickly and
 * cleanly: SIGINT is PostgreSQL's fast shutdown. */
static int stop_signal(const struct dura_pg_plan *plan)
{
	return plan->engine ? plan->engine->stop_signal : SIGINT;
}

static const char *init_name(const struct dura_pg_plan *plan)
{
	return plan->engine ? plan->engine->init_name : "initdb";
}

static const char *server_name(const struct dura_pg_plan *plan)
{
	return plan->engine ? plan->engine->server_name : "postgres";
}

static void on_sigterm(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Waits up to ms (forever if ms < 0) for news on the control pipe.  Returns 1
 * when the parent is gone or asked us to stop.  SIGTERM is blocked outside
 * ppoll, so a stop request cannot slip in between the check and the wait. */
static int parent_gone(int ctl_fd, int ms)
{
	if (stop_requested)
		return 1;
	struct pollfd p = { .fd = ctl_fd, .events = POLLIN };
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	sigset_t none;
	sigemptyset(&none);
	int r = ppoll(&p, 1, ms < 0 ? NULL : &ts, &none);
	if (r > 0)
		return 1; /* EOF/POLLHUP (or a stray byte): either way, clean up */
	if (r < 0 && errno != EINTR)
		return 1; /* a broken pipe fd would make us spin: treat as gone */
	return stop_requested;
}

static void set_signals_for_guardian(void)
{
	/* Handlers inherited from the parent point into code that is not meant
	 * to run here; start from the defaults. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* Ctrl-C, terminal hangups and stop keys are for the parent; writing to
	 * a parent that died must not kill us before we clean up. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigterm; /* no SA_RESTART: interrupt the wait */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_SETMASK, &mask, NULL);
}

/* Moves fd to 3 or above so that reopening 0..2 cannot clobber it. */
static int move_above_stdio(int fd)
{
	if (fd > 2)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved;
}

static void close_range_compat(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	if (close_range(lo, hi, 0) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (unsigned fd = lo; fd <= hi && fd < (unsigned)max; fd++)
		close((int)fd);
}

/* Closes every descriptor except 0..2, a and b: the guardian must hold no
 * copy of the parent's pipes, sockets or other servers' control pipes (a
 * copy would keep them open after the parent closes or dies). */
static void close_fds_except(int a, int b)
{
	unsigned lo = (unsigned)(a < b ? a : b), hi = (unsigned)(a < b ? b : a);
	close_range_compat(3, lo - 1);
	close_range_compat(lo + 1, hi - 1);
	close_range_compat(hi + 1, ~0u);
}

/* stdin/stdout/stderr of the guardian become /dev/null: holding the
 * parent's terminal or pipes would make a shell pipeline or a test harness
 * wait for us. */
static void null_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

/* fork + (drop privileges) + exec with stdout/stderr to the log.  Returns
 * the child pid, or -1 with errno. */
static pid_t spawn(const struct dura_pg_plan *plan, char *const argv[], int log_fd)
{
	pid_t guardian = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* Own process group: a signal aimed at the guardian's group or at a
	 * terminal's foreground group never reaches the server directly. */
	setpgid(0, 0);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL); /* SIG_IGN would survive exec */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(log_fd, 1);
	dup2(log_fd, 2);
	if (plan->drop_privileges) {
		/* initdb and postgres refuse to run as root. */
		if (setgroups((size_t)plan->n_groups, plan->groups) != 0 ||
		    setgid(plan->gid) != 0 || setuid(plan->uid) != 0) {
			dprintf(2, "durabench: cannot switch to the server user (uid %ld): %s\n",
			        (long)plan->uid, strerror(errno));
			_exit(126);
		}
	}
#ifdef __linux__
	/* Should the guardian itself be killed (kill -9), the server must not
	 * run on forever: SIGINT is a fast shutdown for postgres.  Set after the
	 * uid change, which clears it; the getppid check closes the race with a
	 * guardian that died before the prctl. */
	if (prctl(PR_SET_PDEATHSIG, stop_signal(plan)) != 0 || getppid() != guardian)
		_exit(125);
#endif
	if (access(plan->dir, W_OK | X_OK) != 0) {
		dprintf(2, "durabench: the server user (uid %ld) cannot write %s: %s; "
		        "set TMPDIR to a directory it can reach\n",
		        (long)getuid(), plan->dir, strerror(errno));
		_exit(126);
	}
	execve(argv[0], argv, plan->envp);
	dprintf(2, "durabench: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Polls for the exit of pid for up to ms.  Returns 1 (exited, *status
 * filled) or 0 (still running). */
static int wait_exit(pid_t pid, uint32_t ms, int *status)
{
	uint64_t deadline = dura_now_ms() + ms;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return 1;
		if (dura_now_ms() >= deadline)
			return 0;
		dura_sleep_ms(POLL_MS);
	}
}

/* Sends SIGCONT to every child of pid: PostgreSQL backends run in
 * sessions of their own, so no process group reaches them all. */
static void continue_children(pid_t pid)
{
	DIR *proc = opendir("/proc");
	if (!proc)
		return;
	struct dirent *e;
	while ((e = readdir(proc)) != NULL) {
		char path[300], buf[512];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* "pid (comm) state ppid ...": comm may hold spaces and ')' */
		const char *close_paren = strrchr(buf, ')');
		long ppid = 0;
		if (close_paren && sscanf(close_paren + 1, " %*c %ld", &ppid) == 1 && ppid == pid)
			kill((pid_t)atol(e->d_name), SIGCONT);
	}
	closedir(proc);
}

/* Stops a child: SIGINT (fast shutdown for postgres, clean abort for
 * initdb), then SIGQUIT (immediate shutdown), then SIGKILL; always reaps. */
static void stop_child(const struct dura_pg_plan *plan, pid_t pid)
{
	int status;
	if (pid <= 0)
		return;
	/* A server someone paused (SIGSTOP, a fault test) would take the
	 * signals below only when resumed. */
	continue_children(pid);
	kill(pid, SIGCONT);
	kill(pid, stop_signal(plan));
	if (wait_exit(pid, FAST_STOP_MS, &status))
		return;
	kill(pid, SIGQUIT);
	if (wait_exit(pid, QUIT_STOP_MS, &status))
		return;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Reads the log from offset `from` on (at most its last buf_len-1 bytes)
 * into buf.  Returns the length read (0 if none). */
static size_t read_log(const char *path, off_t from, char *buf, size_t buf_len)
{
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	off_t end = lseek(fd, 0, SEEK_END);
	off_t start = end - (off_t)(buf_len - 1);
	if (start < from)
		start = from;
	if (start < 0)
		start = 0;
	ssize_t n = end > start ? pread(fd, buf, buf_len - 1, start) : 0;
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (size_t)n;
}

/* The last few lines of the log since `from`, on one line (" | " between
 * lines), ending-first if too long: the FATAL that explains a failure is at
 * the end. */
static void log_tail(const char *path, off_t from, char *out, size_t outlen)
{
	char buf[2048];
	size_t n = read_log(path, from, buf, sizeof buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	size_t begin = n;
	for (int lines = 0; begin > 0; begin--) {
		if (buf[begin - 1] == '\n' && ++lines == 4)
			break;
	}
	char joined[2048];
	size_t j = 0;
	for (size_t i = begin; i < n && j + 4 < sizeof joined; i++) {
		if (buf[i] == '\n') {
			memcpy(joined + j, " | ", 3);
			j += 3;
		} else if (buf[i] != '\r') {
			joined[j++] = buf[i] == '\t' ? ' ' : buf[i];
		}
	}
	joined[j] = '\0';
	if (j == 0) {
		snprintf(out, outlen, "(log empty)");
	} else if (j < outlen) {
		memcpy(out, joined, j + 1);
	} else if (outlen > 4) {
		memcpy(out, "...", 3);
		memcpy(out + 3, joined + (j - (outlen - 4)), outlen - 3); /* with the NUL */
	}
}

static int log_contains(const char *path, off_t from, const char *needle)
{
	char buf[8192];
	read_log(path, from, buf, sizeof buf);
	return strstr(buf, needle) != NULL;
}

static off_t log_size(int log_fd)
{
	struct stat st;
	return fstat(log_fd, &st) == 0 ? st.st_size : 0;
}

/* A free loopback port: bind port 0, read it back, close.  Another process
 * may take it before the server binds; the caller retries then. */
static int pick_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

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

/* Ready = the postmaster wrote "ready" as the status line (line 8) of
 * postmaster.pid, as pg_ctl -w checks, and the port accepts connections. */
static int server_ready(const struct dura_pg_plan *plan, int port, off_t log_from)
{
	if (plan->engine)
		return log_contains(plan->logpath, log_from, plan->engine->ready_text) &&
		       tcp_answers(port);
	FILE *f = fopen(plan->pidfile, "re");
	if (!f)
		return 0;
	char line[256];
	int n = 0, ready = 0;
	while (fgets(line, sizeof line, f)) {
		if (++n == 8) {
			ready = strncmp(line, "ready", 5) == 0;
			break;
		}
	}
	fclose(f);
	return ready && tcp_answers(port);
}

static void describe_exit(int status, char *out, size_t outlen)
{
	if (WIFEXITED(status))
		snprintf(out, outlen, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, outlen, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(out, outlen, "status %d", status);
}

enum step { STEP_OK, STEP_FAILED, STEP_PARENT_GONE };

/* Waits for initdb (pid) to finish. */
static enum step wait_initdb(const struct dura_pg_plan *plan, int ctl_fd, pid_t pid,
                             char *msg, size_t msglen)
{
	uint64_t deadline = dura_now_ms() + INITDB_TIMEOUT_MS;
	int status;
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (parent_gone(ctl_fd, POLL_MS)) {
			stop_child(plan, pid);
			return STEP_PARENT_GONE;
		}
		if (dura_now_ms() >= deadline) {
			stop_child(plan, pid);
			char tail[400];
			log_tail(plan->logpath, 0, tail, sizeof tail);
			snprintf(msg, msglen, "%s did not finish within %u s; log: %s",
			         init_name(plan), INITDB_TIMEOUT_MS / 1000, tail);
			return STEP_FAILED;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return STEP_OK;
	char how[64], tail[400];
	describe_exit(status, how, sizeof how);
	log_tail(plan->logpath, 0, tail, sizeof tail);
	snprintf(msg, msglen, "%s failed (%s): %s", init_name(plan), how, tail);
	return STEP_FAILED;
}

static enum step run_initdb(const struct dura_pg_plan *plan, int ctl_fd, int log_fd,
                            char *msg, size_t msglen)
{
	if (plan->engine) {
		pid_t pid = spawn(plan, plan->engine->init_argv, log_fd);
		if (pid >= 0)
			return wait_initdb(plan, ctl_fd, pid, msg, msglen);
		snprintf(msg, msglen, "cannot fork %s: %s", init_name(plan), strerror(errno));
		return STEP_FAILED;
	}
	/* TCP (every user of this machine can reach 127.0.0.1) only with the
	 * random password, over scram-sha-256.  The Unix socket is trusted: it
	 * sits in our 0700 directory, so only the server's own OS user (who
	 * owns the data files anyway) and root can reach it.  The password
	 * travels in a file, never on a command line. */
	char pwfile_arg[4200];
	snprintf(pwfile_arg, sizeof pwfile_arg, "--pwfile=%s", plan->pwfile);
	char *const argv[] = {
		(char *)plan->initdb, "-D", (char *)plan->datadir,
		"--auth-host=scram-sha-256", "--auth-local=trust", pwfile_arg,
		"-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync", NULL,
	};
	pid_t pid = spawn(plan, argv, log_fd);
	if (pid >= 0) {
		enum step s = wait_initdb(plan, ctl_fd, pid, msg, msglen);
		unlink(plan->pwfile);
		return s;
	}
	unlink(plan->pwfile);
	snprintf(msg, msglen, "cannot fork initdb: %s", strerror(errno));
	return STEP_FAILED;
}

/* One attempt: exec postgres on port and wait until it is ready.  On a
 * port race (the log says the address is in use) returns STEP_FAILED with
 * *retry set. */
static enum step start_once(const struct dura_pg_plan *plan, int ctl_fd, int log_fd,
                            int port, pid_t *server, int *retry, char *msg, size_t msglen)
{
	char port_arg[16];
	char sock_arg[4200];
	snprintf(port_arg, sizeof port_arg, "%d", port);
	snprintf(sock_arg, sizeof sock_arg, "unix_socket_directories=%s", plan->sockdir);
	/* Throwaway server: durability off (fsync, synchronous commit, full
	 * page writes) since nothing here outlives the process; enough
	 * connections for pool_size x several providers; modest memory.  No
	 * timed checkpoint (every 5 minutes by default) lands inside one run
	 * of an invocation and not in the next: checkpoints only come from WAL
	 * volume, which the same run produces the same way each time. */
	char *const argv[] = {
		(char *)plan->postgres, "-D", (char *)plan->datadir, "-p", port_arg,
		"-c", "listen_addresses=127.0.0.1",
		"-c", sock_arg,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		"-c", "shared_buffers=64MB",
		"-c", "max_wal_size=1GB",
		"-c", "checkpoint_timeout=1d",
		NULL,
	};
	char *engine_argv[64];
	char engine_buf[8192];
	if (plan->engine)
		plan->engine->server_argv(plan, port, engine_argv,
		                          sizeof engine_argv / sizeof engine_argv[0], engine_buf,
		                          sizeof engine_buf);
	*retry = 0;
	off_t from = log_size(log_fd);
	pid_t pid = spawn(plan, plan->engine ? engine_argv : argv, log_fd);
	if (pid < 0) {
		snprintf(msg, msglen, "cannot fork %s: %s", server_name(plan), strerror(errno));
		return STEP_FAILED;
	}
	uint64_t deadline = dura_now_ms() + READY_TIMEOUT_MS;
	for (;;) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			char how[64], tail[400];
			*retry = log_contains(plan->logpath, from, "already in use");
			describe_exit(status, how, sizeof how);
			log_tail(plan->logpath, from, tail, sizeof tail);
			snprintf(msg, msglen, "the server exited during startup (%s): %s", how, tail);
			return STEP_FAILED;
		}
		if (server_ready(plan, port, from)) {
			*server = pid;
			return STEP_OK;
		}
		if (parent_gone(ctl_fd, POLL_MS)) {
			stop_child(plan, pid);
			return STEP_PARENT_GONE;
		}
		if (dura_now_ms() >= deadline) {
			stop_child(plan, pid);
			char tail[400];
			log_tail(plan->logpath, from, tail, sizeof tail);
			snprintf(msg, msglen, "the server did not accept connections within %u s: %s",
			         READY_TIMEOUT_MS / 1000, tail);
			return STEP_FAILED;
		}
	}
}

static enum step start_server(const struct dura_pg_plan *plan, int ctl_fd, int log_fd,
                              pid_t *server, int *port, char *msg, size_t msglen)
{
	for (int attempt = 1;; attempt++) {
		*port = pick_port();
		if (*port <= 0) {
			snprintf(msg, msglen, "cannot find a free port on 127.0.0.1: %s",
			         strerror(errno));
			return STEP_FAILED;
		}
		int retry;
		enum step s = start_once(plan, ctl_fd, log_fd, *port, server, &retry, msg, msglen);
		if (s != STEP_FAILED || !retry || attempt == STARTUP_ATTEMPTS)
			return s;
	}
}

/* Writes one status line (the pipe stays open for the next one). */
static void report(int status_fd, const char *text)
{
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(status_fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* parent gone (EPIPE): nothing to tell */
		off += (size_t)w;
	}
}

/* Next request on the control pipe: 'D' (server down) or 'U' (up), or -1
 * when the parent is gone or asked for the final cleanup. */
static int next_command(int ctl_fd)
{
	for (;;) {
		if (parent_gone(ctl_fd, -1) == 0)
			continue;
		if (stop_requested)
			return -1;
		unsigned char c;
		ssize_t r = read(ctl_fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		return r == 1 && (c == 'D' || c == 'U') ? c : -1;
	}
}

/* Serves fault requests until the parent is gone: 'D' stops the server
 * (fast shutdown: clients see their connections end), 'U' starts it again
 * on the same port, so the parent's URL stays valid.  Each request is
 * answered with one line: "OK <server pid>" (0 when down) or "ERR <why>". */
static void serve(const struct dura_pg_plan *plan, int ctl_fd, int status_fd, int log_fd,
                  pid_t *server, int port)
{
	char msg[DURA_PG_STATUS_MAX - 8], status[DURA_PG_STATUS_MAX];
	int cmd;
	while ((cmd = next_command(ctl_fd)) > 0) {
		msg[0] = '\0';
		int ok = 1;
		if (cmd == 'D') {
			stop_child(plan, *server);
			*server = -1;
		} else if (*server < 0) {
			/* the old server's port may linger for a moment: retry */
			for (int attempt = 1;; attempt++) {
				int retry;
				enum step s = start_once(plan, ctl_fd, log_fd, port, server, &retry, msg,
				                         sizeof msg);
				if (s == STEP_PARENT_GONE)
					return;
				ok = s == STEP_OK;
				if (ok || !retry || attempt == STARTUP_ATTEMPTS)
					break;
				dura_sleep_ms(200);
			}
		}
		for (char *c = msg; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
		if (ok)
			snprintf(status, sizeof status, "OK %ld\n", (long)(*server > 0 ? *server : 0));
		else
			snprintf(status, sizeof status, "ERR %s\n", msg);
		report(status_fd, status);
	}
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	/* Keep going on failure: remove as much as we can. */
	remove(path);
	return 0;
}

int dura_pg_remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	struct stat st;
	return lstat(dir, &st) == 0 ? -1 : 0;
}

_Noreturn void dura_pg_guardian_main(const struct dura_pg_plan *plan, int ctl_fd,
                                     int status_fd)
{
	/* A session of our own: no controlling terminal, so neither Ctrl-C nor
	 * a terminal hangup is delivered to us or our children. */
	setsid();
	set_signals_for_guardian();
	ctl_fd = move_above_stdio(ctl_fd);
	status_fd = move_above_stdio(status_fd);
	close_fds_except(ctl_fd, status_fd);
	null_stdio();

	char msg[DURA_PG_STATUS_MAX - 8];
	char status[DURA_PG_STATUS_MAX];
	pid_t server = -1;
	int port = 0;
	enum step s;
	int log_fd = open(plan->logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
	if (log_fd < 0) {
		unlink(plan->pwfile);
		snprintf(msg, sizeof msg, "cannot create %s: %s", plan->logpath, strerror(errno));
		s = STEP_FAILED;
	} else {
		s = run_initdb(plan, ctl_fd, log_fd, msg, sizeof msg);
		if (s == STEP_OK)
			s = start_server(plan, ctl_fd, log_fd, &server, &port, msg, sizeof msg);
	}
	if (s == STEP_OK) {
		snprintf(status, sizeof status, "OK %d %ld\n", port, (long)server);
		report(status_fd, status);
		serve(plan, ctl_fd, status_fd, log_fd, &server, port);
		stop_child(plan, server);
	} else if (s == STEP_FAILED) {
		for (char *c = msg; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' '; /* the report is one line */
		snprintf(status, sizeof status, "ERR %s\n", msg);
		report(status_fd, status);
	}
	dura_pg_remove_tree(plan->dir);
	_exit(s == STEP_FAILED ? 1 : 0);
}
