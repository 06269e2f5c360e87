/*
 * Local worker processes of a scale-out run (see worker_procs.h).
 */
#include "config.h"

#include "worker_procs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

extern char **environ;

struct dura_workers {
	pthread_mutex_t mu;  /* pid[], killed[], generation[], failure: the
	                        launching thread watches while a fault thread
	                        kills and restarts */
	struct dura_worker_spawn sp; /* strings owned (copies) */
	char *exe;
	unsigned n;
	pid_t *pid;          /* 0: not running */
	unsigned *generation; /* restarts of each slot: a fresh worker id */
	int *killed;         /* killed by us: its exit is expected */
	char failure[256];
};

static char *dup_or_null(const char *s)
{
	return s ? dura_xstrdup(s) : NULL;
}

/* The descriptor on which a worker reads its options (the provider's
 * resolved options, url = auto's password among them): a pipe, not the
 * environment, which every process the worker starts inherits and which
 * /proc shows for as long as the worker lives. */
#define OPTIONS_FD 3

/* The environment of a worker: ours, plus where its options are and our
 * pid (the worker asks to die with us).  Owned by the caller (free_env). */
static char **worker_env(const struct dura_workers *w)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = dura_xcalloc(n + 3, sizeof *env);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "DURABENCH_WORKER_", 17) != 0)
			env[k++] = dura_xstrdup(environ[i]);
	env[k++] = dura_xasprintf("DURABENCH_WORKER_OPTIONS_FD=%d", OPTIONS_FD);
	env[k++] = dura_xasprintf("DURABENCH_WORKER_PARENT=%ld", (long)getpid());
	env[k] = NULL;
	return env;
}

static void free_env(char **env)
{
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

/* A pipe already holding the options text and closed for writing: its
 * read end in *rfd (close-on-exec here; the spawn moves it to OPTIONS_FD).
 * The text fits the pipe's buffer (64 KiB on Linux, at least PIPE_BUF
 * anywhere), so writing it before the worker runs cannot block. */
static int options_pipe(const char *text, int *rfd, char *err, size_t errlen)
{
	size_t len = text ? strlen(text) : 0;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		dura_errbuf(err, errlen, "cannot make a pipe for a worker's options: %s",
		            strerror(errno));
		return -1;
	}
	int cap = fcntl(fds[1], F_GETPIPE_SZ);
	if (len >= (size_t)(cap > PIPE_BUF ? cap : PIPE_BUF)) {
		dura_errbuf(err, errlen, "the provider's options (%zu bytes) are too long to hand "
		            "to a worker process", len);
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	ssize_t put = len ? write(fds[1], text, len) : 0;
	int saved = errno;
	close(fds[1]);
	if (put != (ssize_t)len) {
		dura_errbuf(err, errlen, "cannot hand a worker its options: %s",
		            put < 0 ? strerror(saved) : "short write");
		close(fds[0]);
		return -1;
	}
	*rfd = fds[0];
	return 0;
}

static int spawn_one(struct dura_workers *w, unsigned i, char *err, size_t errlen)
{
	char id[64];
	snprintf(id, sizeof id, "local%u.%u", i, w->generation[i]);
	const char *argv[16];
	size_t a = 0;
	argv[a++] = w->exe;
	argv[a++] = "worker";
	argv[a++] = w->sp.file;
	argv[a++] = "--provider";
	argv[a++] = w->sp.provider;
	argv[a++] = "--join";
	argv[a++] = w->sp.join;
	argv[a++] = "--worker-id";
	argv[a++] = id;
	argv[a++] = "--quiet";
	if (w->sp.plugin_dir) {
		argv[a++] = "--plugin-dir";
		argv[a++] = w->sp.plugin_dir;
	}
	argv[a] = NULL;
	int rfd;
	if (options_pipe(w->sp.options, &rfd, err, errlen) != 0)
		return -1;
	char **env = worker_env(w);
	pid_t pid;
	posix_spawn_file_actions_t fa;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc == 0) {
		rc = posix_spawn_file_actions_adddup2(&fa, rfd, OPTIONS_FD);
		if (rc == 0)
			rc = posix_spawn(&pid, w->exe, &fa, NULL, (char *const *)argv, env);
		posix_spawn_file_actions_destroy(&fa);
	}
	close(rfd);
	free_env(env);
	if (rc != 0) {
		dura_errbuf(err, errlen, "cannot start worker %u (%s worker): %s", i, w->exe,
		            strerror(rc));
		return -1;
	}
	w->pid[i] = pid;
	w->killed[i] = 0;
	return 0;
}

int dura_workers_start(const struct dura_worker_spawn *sp, unsigned n,
                       struct dura_workers **out, char *err, size_t errlen)
{
	*out = NULL;
	struct dura_workers *w = dura_xcalloc(1, sizeof *w);
	pthread_mutex_init(&w->mu, NULL);
	w->sp.file = dup_or_null(sp->file);
	w->sp.provider = dup_or_null(sp->provider);
	w->sp.plugin_dir = dup_or_null(sp->plugin_dir);
	w->sp.join = dup_or_null(sp->join);
	w->sp.options = dup_or_null(sp->options);
	if (sp->exe) {
		w->exe = dura_xstrdup(sp->exe);
	} else {
		char path[4096];
		ssize_t len = readlink("/proc/self/exe", path, sizeof path - 1);
		if (len <= 0) {
			dura_errbuf(err, errlen, "cannot find the durabench binary (/proc/self/exe): %s",
			            strerror(errno));
			dura_workers_stop(w, 0);
			return -1;
		}
		path[len] = '\0';
		w->exe = dura_xstrdup(path);
	}
	w->n = n;
	w->pid = dura_xcalloc(n ? n : 1, sizeof *w->pid);
	w->generation = dura_xcalloc(n ? n : 1, sizeof *w->generation);
	w->killed = dura_xcalloc(n ? n : 1, sizeof *w->killed);
	for (unsigned i = 0; i < n; i++) {
		if (spawn_one(w, i, err, errlen) != 0) {
			dura_workers_stop(w, 0);
			return -1;
		}
	}
	*out = w;
	return 0;
}

static void note_exit(struct dura_workers *w, unsigned i, int status)
{
	if (w->killed[i] || w->failure[0])
		return;
	if (WIFEXITED(status))
		snprintf(w->failure, sizeof w->failure, "worker %u (pid %ld) exited with status %d",
		         i, (long)w->pid[i], WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(w->failure, sizeof w->failure, "worker %u (pid %ld) was killed by signal %d",
		         i, (long)w->pid[i], WTERMSIG(status));
}

/* dura_workers_alive with mu held. */
static unsigned alive_locked(struct dura_workers *w)
{
	unsigned alive = 0;
	for (unsigned i = 0; i < w->n; i++) {
		if (!w->pid[i])
			continue;
		int status;
		pid_t r = waitpid(w->pid[i], &status, WNOHANG);
		if (r == w->pid[i] || (r < 0 && errno == ECHILD)) {
			if (r == w->pid[i])
				note_exit(w, i, status);
			w->pid[i] = 0;
			continue;
		}
		alive++;
	}
	return alive;
}

unsigned dura_workers_alive(struct dura_workers *w)
{
	pthread_mutex_lock(&w->mu);
	unsigned alive = alive_locked(w);
	pthread_mutex_unlock(&w->mu);
	return alive;
}

unsigned dura_workers_count(const struct dura_workers *w)
{
	return w->n;
}

int dura_workers_kill(struct dura_workers *w, unsigned index)
{
	pthread_mutex_lock(&w->mu);
	int rc = -1;
	if (index < w->n && w->pid[index]) {
		w->killed[index] = 1;
		kill(w->pid[index], SIGKILL);
		int status;
		waitpid(w->pid[index], &status, 0);
		w->pid[index] = 0;
		rc = 0;
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int dura_workers_restart(struct dura_workers *w, unsigned index, char *err, size_t errlen)
{
	if (index >= w->n) {
		dura_errbuf(err, errlen, "no worker %u", index);
		return -1;
	}
	pthread_mutex_lock(&w->mu);
	int rc = 0;
	if (!w->pid[index]) {
		w->generation[index]++;
		rc = spawn_one(w, index, err, errlen);
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void dura_workers_failure(struct dura_workers *w, char *buf, size_t len)
{
	pthread_mutex_lock(&w->mu);
	snprintf(buf, len, "%s", w->failure);
	pthread_mutex_unlock(&w->mu);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Waits up to ms for every worker to exit; 1 if all did. */
static int wait_all(struct dura_workers *w, uint64_t ms)
{
	uint64_t deadline = dura_now_ns() + ms * 1000000u;
	for (;;) {
		if (dura_workers_alive(w) == 0)
			return 1;
		if (dura_now_ns() >= deadline)
			return 0;
		sleep_ms(10);
	}
}

static void signal_all(struct dura_workers *w, int sig)
{
	pthread_mutex_lock(&w->mu);
	for (unsigned i = 0; i < w->n; i++)
		if (w->pid[i]) {
			w->killed[i] = 1; /* stopping it: not a failure */
			kill(w->pid[i], sig);
		}
	pthread_mutex_unlock(&w->mu);
}

void dura_workers_stop(struct dura_workers *w, uint64_t grace_ms)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	for (unsigned i = 0; w->killed && i < w->n; i++)
		w->killed[i] = 1; /* from now on an exit is expected */
	pthread_mutex_unlock(&w->mu);
	if (w->pid && !wait_all(w, grace_ms)) {
		signal_all(w, SIGTERM);
		if (!wait_all(w, grace_ms ? grace_ms : 1000)) {
			signal_all(w, SIGKILL);
			wait_all(w, 5000);
		}
	}
	free((char *)w->sp.file);
	free((char *)w->sp.provider);
	free((char *)w->sp.plugin_dir);
	free((char *)w->sp.join);
	free((char *)w->sp.options);
	free(w->exe);
	free(w->pid);
	free(w->generation);
	free(w->killed);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
