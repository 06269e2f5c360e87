/*
 * Running the conformance suite: each test gets a fresh store and runs in a
 * child process under a time limit.
 *
 * Why a child process rather than a thread with a watchdog: the subject is
 * a plugin we are testing precisely because it may be wrong.  A crash (NULL
 * dereference, double free) or a hang inside it must become "not ok N name:
 * crashed (Segmentation fault)" or "timed out", and the suite must go on
 * with the next test.  A hung thread cannot be stopped and would keep
 * running on a store the next test cannot trust; a child can be killed.
 * The cost is that a killed child cannot drop its store (a file or a schema
 * may remain); the report says so.
 */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct dura_vtest *const themes[] = {
	dura_vtests_store, dura_vtests_locks, dura_vtests_queue, dura_vtests_ack,
	dura_vtests_work, dura_vtests_concurrency, dura_vtests_optional,
	dura_vtests_batch, dura_vtests_scaleout, /* appended themes keep the numbers of the others */
	dura_vtests_sizes, dura_vtests_atomic, dura_vtests_order, dura_vtests_isolation,
	dura_vtests_liveness, dura_vtests_random, dura_vtests_prefill, dura_vtests_orch_batch,
};
#define N_THEMES (sizeof themes / sizeof themes[0])

size_t dura_validate_count(void)
{
	size_t n = 0;
	for (size_t i = 0; i < N_THEMES; i++)
		for (const struct dura_vtest *t = themes[i]; t->name; t++)
			n++;
	return n;
}

void dura_validate_list(FILE *out)
{
	size_t n = 0;
	for (size_t i = 0; i < N_THEMES; i++)
		for (const struct dura_vtest *t = themes[i]; t->name; t++)
			fprintf(out, "%3zu %-40s %s\n", ++n, t->name, t->what);
}

/* Opens a fresh store, runs the test, closes with drop = 1.  The result
 * and reason end up in t. */
static int run_in_store(const struct dura_validate_opts *o, const struct dura_vtest *test,
                        struct dura_vctx *t)
{
	memset(t, 0, sizeof *t);
	t->ops = o->ops;
	t->options = o->options;
	t->n_options = o->n_options;
	struct dura_err err;
	memset(&err, 0, sizeof err);
	dura_rc rc = o->ops->open(o->options, o->n_options, &t->store, &err);
	if (rc != DURA_OK) {
		dura_vfail(t, "open: returned %s (%.*s)", dura_vrc_name(rc),
		           (int)strnlen(err.msg, sizeof err.msg), err.msg);
		return DURA_VFAIL;
	}
	if (!t->store)
		return dura_vfail(t, "open: returned OK but no store");
	int r = test->fn(t);
	if (t->store) { /* a test may have closed and reopened it */
		memset(&err, 0, sizeof err);
		rc = o->ops->close(t->store, 1, &err);
		t->store = NULL;
		if (rc != DURA_OK && r != DURA_VFAIL)
			r = dura_vfail(t, "close(drop = 1): returned %s (%.*s)", dura_vrc_name(rc),
			               (int)strnlen(err.msg, sizeof err.msg), err.msg);
	}
	return r;
}

/* What a child sends back: the result, then the reason text. */
struct child_result {
	int result;
	char reason[DURA_VREASON_MAX];
};

static void child_main(const struct dura_validate_opts *o, const struct dura_vtest *test, int fd)
{
	/* Ctrl-C goes to the whole process group: the parent handles it. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	struct dura_vctx *t = dura_xcalloc(1, sizeof *t);
	struct child_result res;
	memset(&res, 0, sizeof res);
	res.result = run_in_store(o, test, t);
	memcpy(res.reason, t->reason, sizeof res.reason);
	res.reason[sizeof res.reason - 1] = 0;
	free(t); /* _exit below frees nothing: leak checkers would see it */
	const char *p = (const char *)&res;
	size_t left = sizeof res;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		left -= (size_t)w;
	}
	/* _exit: no atexit handlers of the parent (servers it owns) may run
	 * in the child. */
	_exit(0);
}

/* Runs one test in a child; fills res.  Never fails itself: a problem
 * becomes a failed test with the reason. */
static void run_forked(const struct dura_validate_opts *o, const struct dura_vtest *test,
                       struct child_result *res)
{
	memset(res, 0, sizeof *res);
	int fds[2];
	if (pipe(fds) != 0) {
		res->result = DURA_VFAIL;
		snprintf(res->reason, sizeof res->reason, "cannot run the test: pipe: %s", strerror(errno));
		return;
	}
	fflush(NULL); /* buffered output must not be written twice */
	pid_t pid = fork();
	if (pid < 0) {
		res->result = DURA_VFAIL;
		snprintf(res->reason, sizeof res->reason, "cannot run the test: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(o, test, fds[1]);
	}
	close(fds[1]);
	unsigned timeout_s = o->timeout_s ? o->timeout_s : DURA_VALIDATE_DEFAULT_TIMEOUT_S;
	uint64_t deadline = dura_now_ms() + (uint64_t)timeout_s * 1000u;
	size_t got = 0;
	int timed_out = 0;
	for (;;) {
		uint64_t now = dura_now_ms();
		if (now >= deadline) {
			timed_out = 1;
			break;
		}
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		int pr = poll(&pfd, 1, (int)(deadline - now));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			continue; /* re-checks the deadline */
		ssize_t n = read(fds[0], (char *)res + got, sizeof *res - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EOF: the child exited (or died) */
		got += (size_t)n;
		if (got == sizeof *res)
			break;
	}
	close(fds[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		res->result = DURA_VFAIL;
		snprintf(res->reason, sizeof res->reason,
		         "timed out after %u s (an operation hung; the test store was not dropped)",
		         timeout_s);
	} else if (got != sizeof *res) {
		res->result = DURA_VFAIL;
		if (WIFSIGNALED(status))
			snprintf(res->reason, sizeof res->reason,
			         "crashed: %s (signal %d) inside the provider or the test",
			         strsignal(WTERMSIG(status)), WTERMSIG(status));
		else
			snprintf(res->reason, sizeof res->reason,
			         "crashed: the test process exited with status %d before reporting "
			         "(exit() or a sanitizer report inside the provider or the test)",
			         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	res->reason[sizeof res->reason - 1] = 0;
}

int dura_validate_selected(const struct dura_validate_opts *o, const char *name)
{
	if (o->n_only == 0)
		return 1;
	for (size_t i = 0; i < o->n_only; i++)
		if (strstr(name, o->only[i]))
			return 1;
	return 0;
}

/* Number of tests opts selects. */
static size_t count_selected(const struct dura_validate_opts *o)
{
	size_t n = 0;
	for (size_t i = 0; i < N_THEMES; i++)
		for (const struct dura_vtest *test = themes[i]; test->name; test++)
			n += (size_t)dura_validate_selected(o, test->name);
	return n;
}

/* Runs one test (in a child unless in_process); one-line reason. */
static void run_one(const struct dura_validate_opts *o, const struct dura_vtest *test,
                    struct child_result *res)
{
	if (o->in_process) {
		struct dura_vctx *t = dura_xcalloc(1, sizeof *t);
		res->result = run_in_store(o, test, t);
		memcpy(res->reason, t->reason, sizeof res->reason);
		free(t);
	} else {
		run_forked(o, test, res);
	}
	/* The reason is one line, whatever the provider wrote. */
	for (char *c = res->reason; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
}

/* The output is TAP (a plan line first, then one line per test, "# skip"
 * directives), so `prove` and any TAP harness read it; the closing line
 * counts passed, failed and skipped apart. */
int dura_validate_run(const struct dura_validate_opts *o, FILE *out)
{
	size_t total = count_selected(o);
	if (total == 0)
		return -1;
	fprintf(out, "1..%zu\n", total);
	size_t n = 0, passed = 0, failed = 0, skipped = 0;
	for (size_t i = 0; i < N_THEMES; i++) {
		for (const struct dura_vtest *test = themes[i]; test->name; test++) {
			if (!dura_validate_selected(o, test->name))
				continue;
			n++;
			struct child_result res;
			memset(&res, 0, sizeof res);
			run_one(o, test, &res);
			if (res.result == DURA_VFAIL) {
				failed++;
				fprintf(out, "not ok %zu %s: %s\n", n, test->name,
				        res.reason[0] ? res.reason : "failed (no reason given)");
			} else if (res.result == DURA_VSKIP) {
				skipped++;
				fprintf(out, "ok %zu %s # skip %s\n", n, test->name, res.reason);
			} else {
				passed++;
				fprintf(out, "ok %zu %s\n", n, test->name);
			}
			fflush(out);
		}
	}
	fprintf(out, "%zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
	fflush(out);
	return (int)failed;
}
