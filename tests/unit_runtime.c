/*
 * Runtime tests on the real SQLite provider (dlopened from the build tree,
 * path from DURA_TEST_SQLITE_PLUGIN or $DURA_UNIT_RUNTIME_PLUGIN):
 * fan-out under 1:1 and 3:2, timer, sub-orchestration, continue-as-new,
 * activity failure, unregistered names, lock renewal of a long activity,
 * retries and poison through a fault-injecting wrapper, and a stop with
 * work in flight followed by a second runtime that finishes the rest.
 * Batched activity work (activity_batch = 4): fan-out at 1:1 and 3:2 through
 * a counting wrapper (proves the batch operations are used), batched
 * instance starts, renewal of locks waiting in a batch, a lock lost in the
 * middle of a batch, transient and permanent batch-ack errors (poison), and
 * the fallback to single items on providers without the batch operations
 * (memstore, and SQLite with them hidden).
 */
#include "config.h"

#include "driver/feed_failure.h"

#include "engine/codec.h"
#include "engine/orchestration.h"
#include "loader/plugin_loader.h"
#include "runtime/runtime.h"
#include "runtime/runtime_int.h"
#include "tap.h"
#include "base/util.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef DURA_TEST_SQLITE_PLUGIN
#define DURA_TEST_SQLITE_PLUGIN "plugins/sqlite/.libs/sqlite.so"
#endif
#ifndef DURA_TEST_MEMSTORE_PLUGIN
#define DURA_TEST_MEMSTORE_PLUGIN "tests/plugins/.libs/memstore.so"
#endif

static const struct dura_provider_ops *real_ops;

/* ------------------------------------------------ completion tracking */

#define MAX_DONE 512
struct done {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t n;
	char *instance[MAX_DONE];
	enum dura_outcome outcome[MAX_DONE];
	char *output[MAX_DONE];
};

static void done_init(struct done *d)
{
	memset(d, 0, sizeof *d);
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
}

static void done_free(struct done *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->instance[i]);
		free(d->output[i]);
	}
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
}

static void on_done(void *arg, const char *instance, enum dura_outcome outcome,
                    const uint8_t *output, size_t len)
{
	struct done *d = arg;
	pthread_mutex_lock(&d->mu);
	if (d->n < MAX_DONE) {
		d->instance[d->n] = dura_xstrdup(instance);
		d->outcome[d->n] = outcome;
		d->output[d->n] = dura_xstrndup((const char *)output, len);
		d->n++;
	}
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/* Waits until n instances (any) completed or timeout_ms passed. */
static size_t done_wait(struct done *d, size_t n, uint32_t timeout_ms)
{
	uint64_t until = dura_now_ms() + timeout_ms;
	pthread_mutex_lock(&d->mu);
	while (d->n < n && dura_now_ms() < until) {
		pthread_mutex_unlock(&d->mu);
		dura_sleep_ms(5);
		pthread_mutex_lock(&d->mu);
	}
	size_t got = d->n;
	pthread_mutex_unlock(&d->mu);
	return got;
}

/* Index of instance in d, -1 if absent; counts duplicates into *count. */
static int done_find(struct done *d, const char *instance, int *count)
{
	int idx = -1, c = 0;
	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->instance[i], instance) == 0) {
			idx = (int)i;
			c++;
		}
	pthread_mutex_unlock(&d->mu);
	if (count)
		*count = c;
	return idx;
}

/* ------------------------------------------------------ the workloads */

static _Atomic int upper_runs;
static _Atomic int batch_long_runs;
/* every activity run since the last fixture_start, for settled_stats */
static _Atomic uint64_t activity_runs;

static int act_upper(const uint8_t *in, size_t len, struct dura_buf *out, void *user)
{
	atomic_fetch_add(&activity_runs, 1);
	atomic_fetch_add(&upper_runs, 1);
	for (size_t i = 0; i < len; i++) {
		char c = (char)in[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		dura_buf_append(out, &c, 1);
	}
	return 0;
}

static int act_slow(const uint8_t *in, size_t len, struct dura_buf *out, void *user)
{
	dura_sleep_ms(40);
	return act_upper(in, len, out, user);
}

/* Lock renewal (test_lock_renewal): renewal_ops counts the renewals of
 * each work item's lock, and notes on each worker thread the item it
 * fetched last, whose activity that thread runs. */
#define HELD_LOCK_MS 1000u
#define MAX_RENEWED 16
static struct {
	uint64_t token;
	unsigned renewals;
} renewed[MAX_RENEWED];
static pthread_mutex_t renew_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t renew_cv = PTHREAD_COND_INITIALIZER;
static _Thread_local uint64_t held_token;
static _Atomic int held_runs, held_unrenewed;

/* Renewals of token's lock so far; the caller holds renew_mu. */
static unsigned renewals_of(uint64_t token)
{
	for (size_t i = 0; i < MAX_RENEWED; i++)
		if (renewed[i].token == token)
			return renewed[i].renewals;
	return 0;
}

/* Runs until the renewer has renewed the lock of its work item twice.  A
 * lock is renewed once half of it is used up, so by then the activity has
 * outlived the whole lock it was fetched with: without renewal another
 * worker would have run it again.  It waits for the renewals rather than
 * for a fixed multiple of the lock, so a renewer that runs late on a
 * loaded machine makes it longer, not a lock lost, as long as it renews
 * before the lock ends; after 5 locks without them it gives up (counted:
 * the renewer is not renewing). */
static int act_held(const uint8_t *in, size_t len, struct dura_buf *out, void *user)
{
	atomic_fetch_add(&activity_runs, 1);
	atomic_fetch_add(&held_runs, 1);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until); /* the clock of renew_cv */
	until.tv_sec += 5 * HELD_LOCK_MS / 1000;
	pthread_mutex_lock(&renew_mu);
	int rc = 0;
	while (renewals_of(held_token) < 2 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&renew_cv, &renew_mu, &until);
	if (renewals_of(held_token) < 2)
		atomic_fetch_add(&held_unrenewed, 1);
	pthread_mutex_unlock(&renew_mu);
	dura_buf_append(out, "held", 4);
	return 0;
}

/* 1.5x the work lock of the batch renewal test: a batch of four waits
 * 6x the lock for its ack.  The lock is 600 ms, so the renewer (every
 * quarter lock, once half of it is used) has 150 ms to spare on a loaded
 * machine. */
static int act_long900(const uint8_t *in, size_t len, struct dura_buf *out, void *user)
{
	atomic_fetch_add(&batch_long_runs, 1);
	dura_sleep_ms(900);
	return act_upper(in, len, out, user);
}

static int act_fail(const uint8_t *in, size_t len, struct dura_buf *out, void *user)
{
	atomic_fetch_add(&activity_runs, 1);
	dura_buf_printf(out, "disk on fire");
	return 1;
}

/* Input: "<activity>:<prefix>"; calls the activity 5 times with
 * prefix0..prefix4 and completes with the results joined by ','. */
static enum dura_orch_rc orch_fan(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                  void *user)
{
	char act[32], prefix[64], buf[96];
	const char *colon = memchr(input, ':', len);
	if (!colon)
		return dura_fail(ctx, "bad input");
	snprintf(act, sizeof act, "%.*s", (int)(colon - (const char *)input), (const char *)input);
	snprintf(prefix, sizeof prefix, "%.*s", (int)(len - (size_t)(colon + 1 - (const char *)input)),
	         colon + 1);
	dura_task t[5];
	for (int i = 0; i < 5; i++) {
		int n = snprintf(buf, sizeof buf, "%s%d", prefix, i);
		t[i] = dura_call_activity(ctx, act, buf, (size_t)n);
	}
	struct dura_buf out = { 0 };
	for (int i = 0; i < 5; i++) {
		enum dura_task_state st = dura_task_state(ctx, t[i]);
		const uint8_t *d;
		size_t dl;
		if (st == DURA_TASK_PENDING) {
			dura_buf_free(&out);
			return DURA_ORCH_PENDING;
		}
		if (dura_task_result(ctx, t[i], &d, &dl) != 0)
			dl = 0; /* a call that failed itself (config error) */
		if (st == DURA_TASK_FAILED) {
			char why[128];
			snprintf(why, sizeof why, "task %d: %.*s", i, (int)dl, (const char *)d);
			dura_buf_free(&out);
			return dura_fail(ctx, why);
		}
		if (i)
			dura_buf_append(&out, ",", 1);
		dura_buf_append(&out, d, dl);
	}
	enum dura_orch_rc rc = dura_complete(ctx, out.data, out.len);
	dura_buf_free(&out);
	return rc;
}

static enum dura_orch_rc orch_timer(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                    void *user)
{
	dura_task t = dura_create_timer(ctx, 50);
	if (dura_task_state(ctx, t) != DURA_TASK_COMPLETED)
		return DURA_ORCH_PENDING;
	dura_task a = dura_call_activity(ctx, "upper", "after", 5);
	const uint8_t *d;
	size_t dl;
	if (dura_task_result(ctx, a, &d, &dl) != 0)
		return DURA_ORCH_PENDING;
	return dura_complete(ctx, d, dl);
}

static enum dura_orch_rc orch_parent(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                     void *user)
{
	dura_task a = dura_call_sub_orchestration(ctx, "fan", NULL, "upper:a", 7);
	dura_task b = dura_call_sub_orchestration(ctx, "fan", NULL, "upper:b", 7);
	const uint8_t *da, *db;
	size_t la, lb;
	if (dura_task_result(ctx, a, &da, &la) != 0 || dura_task_result(ctx, b, &db, &lb) != 0)
		return DURA_ORCH_PENDING;
	if (dura_task_state(ctx, a) != DURA_TASK_COMPLETED ||
	    dura_task_state(ctx, b) != DURA_TASK_COMPLETED)
		return dura_fail(ctx, "child failed");
	char out[128];
	int n = snprintf(out, sizeof out, "%.*s|%.*s", (int)la, (const char *)da, (int)lb,
	                 (const char *)db);
	return dura_complete(ctx, out, (size_t)n);
}

static enum dura_orch_rc orch_counter(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                      void *user)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%.*s", (int)len, (const char *)input);
	int n = atoi(buf);
	dura_task t = dura_call_activity(ctx, "upper", "x", 1);
	if (dura_task_state(ctx, t) == DURA_TASK_PENDING)
		return DURA_ORCH_PENDING;
	if (n >= 5)
		return dura_complete(ctx, buf, strlen(buf));
	int k = snprintf(buf, sizeof buf, "%d", n + 1);
	return dura_continue_as_new(ctx, buf, (size_t)k);
}

static struct dura_registry *make_registry(void)
{
	struct dura_registry *reg = dura_registry_new();
	dura_registry_add_activity(reg, "upper", act_upper, NULL);
	dura_registry_add_activity(reg, "slow", act_slow, NULL);
	dura_registry_add_activity(reg, "held", act_held, NULL);
	dura_registry_add_activity(reg, "fail", act_fail, NULL);
	dura_registry_add_activity(reg, "long900", act_long900, NULL);
	dura_registry_add_orchestration(reg, "fan", orch_fan, NULL);
	dura_registry_add_orchestration(reg, "timer", orch_timer, NULL);
	dura_registry_add_orchestration(reg, "parent", orch_parent, NULL);
	dura_registry_add_orchestration(reg, "counter", orch_counter, NULL);
	return reg;
}

/* ------------------------------------------------------------ helpers */

/* The ops of the provider plugin at path, dlopened into *h (for dlclose
 * after the test); NULL when it cannot be loaded (why is reported, nothing
 * left open). */
static const struct dura_provider_ops *load_plugin(const char *path, void **h)
{
	*h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	dura_provider_entry_fn *entry = NULL;
	if (*h)
		*(void **)&entry = dlsym(*h, DURA_PROVIDER_ENTRY_SYMBOL);
	const struct dura_provider_ops *ops = entry ? entry() : NULL;
	if (!ops) {
		const char *why = dlerror();
		tap_diag("%s: %s", path, why ? why : "its entry point returned no operations");
		if (*h)
			dlclose(*h);
	}
	return ops;
}

static dura_store *open_store(const struct dura_provider_ops *ops)
{
	/* database = :memory: for SQLite; other providers (via
	 * $DURA_UNIT_RUNTIME_PLUGIN) get their defaults. */
	struct dura_option opt = { "database", ":memory:" };
	size_t n_opt = 0;
	for (const struct dura_option_spec *o = ops->options; o && o->name; o++)
		n_opt |= strcmp(o->name, "database") == 0;
	struct dura_err err;
	dura_store *store = NULL;
	if (ops->open(&opt, n_opt, &store, &err) != DURA_OK) {
		tap_diag("open: %s", err.msg);
		return NULL;
	}
	return store;
}

static void close_store(const struct dura_provider_ops *ops, dura_store *store)
{
	struct dura_err err;
	if (store)
		ops->close(store, 1, &err);
}

/* What every runtime test sets up: a fresh store of ops (NULL when open
 * failed, reported), the test registry and a completion collector. */
struct fixture {
	const struct dura_provider_ops *ops;
	dura_store *store;
	struct dura_registry *reg;
	struct done d;
};

static void fixture_open(struct fixture *f, const struct dura_provider_ops *ops)
{
	f->ops = ops;
	f->store = open_store(ops);
	f->reg = make_registry();
	done_init(&f->d);
}

/* Closes (and drops) the store, frees the registry and the collector. */
static void fixture_close(struct fixture *f)
{
	close_store(f->ops, f->store);
	dura_registry_free(f->reg);
	done_free(&f->d);
}

/* Starts an o:w runtime with cfg (NULL: the defaults) on f's store; NULL
 * when f has no store or the start failed (reported). */
static struct dura_runtime *fixture_start(struct fixture *f, unsigned o, unsigned w,
                                          const struct dura_runtime_config *cfg_in)
{
	if (!f->store)
		return NULL;
	struct dura_runtime_config cfg;
	if (cfg_in)
		cfg = *cfg_in;
	else
		dura_runtime_config_defaults(&cfg);
	cfg.orch_workers = o;
	cfg.activity_workers = w;
	atomic_store(&activity_runs, 0);
	struct dura_runtime *rt = NULL;
	char err[256];
	if (dura_runtime_start(f->ops, f->store, f->reg, &cfg, on_done, &f->d, &rt, err,
	                       sizeof err) != 0)
		tap_diag("runtime start: %s", err);
	return rt;
}

/* The runtime's stats once every activity that ran has been settled.  An
 * instance is reported done when its last turn is stored, which needs the
 * last activity's ack, but the worker counts that activity (executed, lock
 * lost or not acked: dura_rt_settle_work_item) only after its ack call
 * returns, so a read right after the completion can miss it.  Polls until
 * the settled activities reach the runs, at most 10 s (then returns what
 * it has, and the test's checks report it). */
static void settled_stats(struct dura_runtime *rt, struct dura_runtime_stats *st)
{
	uint64_t until = dura_now_ms() + 10000;
	for (;;) {
		dura_runtime_get_stats(rt, st);
		if (st->activities_executed + st->lock_lost + st->infra_errors >=
		            atomic_load(&activity_runs) ||
		    !rt || dura_now_ms() >= until)
			return;
		dura_sleep_ms(1);
	}
}

static int start_inst(struct dura_runtime *rt, const char *id, const char *name,
                      const char *input)
{
	char err[256];
	if (dura_runtime_start_orchestration(rt, id, name, input, strlen(input), err,
	                                     sizeof err) != 0) {
		tap_diag("%s", err);
		return -1;
	}
	return 0;
}

/* Runs an o:w runtime with cfg on f until instance id (orchestration "fan"
 * with input) finished, at most 20 s; *st gets the stats at the end.
 * Returns the number of completions (0 or 1). */
static size_t run_one_fan(struct fixture *f, struct dura_runtime_config *cfg, unsigned o,
                          unsigned w, const char *id, const char *input,
                          struct dura_runtime_stats *st)
{
	struct dura_runtime *rt = fixture_start(f, o, w, cfg);
	int ok = rt && start_inst(rt, id, "fan", input) == 0;
	size_t got = ok ? done_wait(&f->d, 1, 20000) : 0;
	settled_stats(rt, st);
	dura_runtime_stop(rt);
	return got;
}

/* Checks one finished instance's outcome and output. */
static int expect(struct done *d, const char *id, enum dura_outcome outcome,
                  const char *output_part)
{
	int count;
	int i = done_find(d, id, &count);
	if (i < 0 || count != 1) {
		tap_diag("%s: reported %d times", id, count);
		return 0;
	}
	if (d->outcome[i] != outcome || !strstr(d->output[i], output_part)) {
		tap_diag("%s: outcome %d output '%s', expected %d with '%s'", id,
		         (int)d->outcome[i], d->output[i], (int)outcome, output_part);
		return 0;
	}
	return 1;
}

/* ------------------------------------------------------------- tests */

/* Starts instances "<prefix><i>" (i < n) of "fan" with input
 * "<act>:i<i>.", in groups of `group` per dura_runtime_start_orchestrations
 * call (0: one dura_runtime_start_orchestration call each). */
static int start_fans(struct dura_runtime *rt, const char *prefix, const char *act, int n,
                      int group)
{
	char err[256];
	struct dura_start st[64];
	memset(st, 0, sizeof st);
	int rc = 0;
	for (int i = 0; i < n && rc == 0;) {
		int k = group > 0 ? group : 1;
		if (k > 64)
			k = 64;
		if (k > n - i)
			k = n - i;
		for (int j = 0; j < k; j++) {
			dura_buf_reset(&st[j].instance);
			dura_buf_printf(&st[j].instance, "%s%d", prefix, i + j);
			dura_buf_reset(&st[j].input);
			dura_buf_printf(&st[j].input, "%s:i%d.", act, i + j);
			st[j].orchestration = "fan";
		}
		rc = group > 0
		     ? dura_runtime_start_orchestrations(rt, (size_t)k, st, err, sizeof err)
		     : dura_runtime_start_orchestration(rt, (const char *)st[0].instance.data, "fan",
		                                        st[0].input.data, st[0].input.len, err,
		                                        sizeof err);
		if (rc != 0)
			tap_diag("%s", err);
		i += k;
	}
	for (int j = 0; j < 64; j++) {
		dura_buf_free(&st[j].instance);
		dura_buf_free(&st[j].input);
	}
	return rc == 0 ? 0 : -1;
}

/* Checks that instances "<prefix><i>" (i < n) started by start_fans with
 * activity "upper" each completed once with "I<i>.0,...,I<i>.4". */
static int expect_fans(struct done *d, const char *prefix, int n)
{
	char id[32], want[128];
	int ok = 1;
	for (int i = 0; ok && i < n; i++) {
		snprintf(id, sizeof id, "%s%d", prefix, i);
		snprintf(want, sizeof want, "I%d.0,I%d.1,I%d.2,I%d.3,I%d.4", i, i, i, i, i);
		ok = expect(d, id, DURA_OUTCOME_COMPLETED, want);
	}
	return ok;
}

/* Fan-out of N instances under o:w with activity_batch `batch`; instances
 * started `group` at a time (see start_fans). */
static void test_fanout_with(const struct dura_provider_ops *ops, const char *what, unsigned o,
                             unsigned w, unsigned batch, int group)
{
	struct fixture f;
	fixture_open(&f, ops);
	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.activity_batch = batch;
	atomic_store(&upper_runs, 0);
	struct dura_runtime *rt = fixture_start(&f, o, w, &cfg);
	enum { N = 40 };
	int ok = rt != NULL && start_fans(rt, "fan-", "upper", N, group) == 0;
	size_t got = ok ? done_wait(&f.d, N, 20000) : 0;
	struct dura_runtime_stats st;
	settled_stats(rt, &st);
	dura_runtime_stop(rt);
	ok = ok && expect_fans(&f.d, "fan-", N);
	tap_ok(ok && got == N,
	       "%s%u:%u fan-out: %zu/%d instances completed once with the right output",
	       what, o, w, got, N);
	tap_ok(st.activities_executed == 5 * N && atomic_load(&upper_runs) == 5 * N &&
	       st.turns >= 2 * N && st.poisoned == 0 && st.infra_errors == 0 && st.lock_lost == 0,
	       "%s%u:%u stats: %llu activities (%d runs), %llu turns, %llu ignored", what, o, w,
	       (unsigned long long)st.activities_executed, atomic_load(&upper_runs),
	       (unsigned long long)st.turns, (unsigned long long)st.ignored_messages);

	/* Stored status agrees with the callback. */
	struct dura_instance_meta *meta = NULL;
	struct dura_err err;
	int meta_ok = f.store && ops->instance_status(f.store, "fan-7", &meta, &err) == DURA_OK && meta &&
	              meta->status == DURA_STATUS_COMPLETED && meta->execution == 1 &&
	              meta->output.len == strlen("I7.0,I7.1,I7.2,I7.3,I7.4");
	if (meta)
		ops->release_instance_status(f.store, meta);
	tap_ok(meta_ok, "%s%u:%u stored metadata: completed, execution 1, output", what, o, w);
	fixture_close(&f);
}

static void test_fanout(unsigned o, unsigned w)
{
	test_fanout_with(real_ops, "", o, w, 1, 0);
}

/* What the scale-out driver learns of a failure a worker process stored
 * (driver/feed_failure.h): its category and text, read back. */
static int read_back(const struct dura_provider_ops *ops, dura_store *store, const char *instance,
                     enum dura_outcome want, const char *text_has)
{
	char text[512];
	enum dura_outcome got = dura_feed_failure(ops, store, instance, text, sizeof text);
	if (got == want && strstr(text, text_has))
		return 1;
	tap_diag("%s: category %d (want %d), text '%s'", instance, (int)got, (int)want, text);
	return 0;
}

static void test_features(void)
{
	const struct dura_provider_ops *ops = real_ops;
	struct fixture f;
	fixture_open(&f, ops);
	struct dura_runtime *rt = fixture_start(&f, 2, 2, NULL);
	int ok = rt && start_inst(rt, "timer", "timer", "") == 0 &&
	         start_inst(rt, "parent", "parent", "") == 0 &&
	         start_inst(rt, "counter", "counter", "1") == 0 &&
	         start_inst(rt, "failing", "fan", "fail:z") == 0 &&
	         start_inst(rt, "no-act", "fan", "nosuch:z") == 0 &&
	         start_inst(rt, "no-orch", "nosuch", "") == 0;
	/* parent + its two children count as three completions */
	size_t got = ok ? done_wait(&f.d, 8, 20000) : 0;
	dura_runtime_stop(rt);
	tap_ok(got == 8, "feature instances all finished (%zu/8)", got);
	tap_ok(expect(&f.d, "timer", DURA_OUTCOME_COMPLETED, "AFTER"), "timer then activity completes");
	tap_ok(expect(&f.d, "parent", DURA_OUTCOME_COMPLETED, "A0,A1,A2,A3,A4|B0,B1,B2,B3,B4") &&
	       expect(&f.d, "parent/2", DURA_OUTCOME_COMPLETED, "A0") &&
	       expect(&f.d, "parent/3", DURA_OUTCOME_COMPLETED, "B0"),
	       "sub-orchestrations complete and the parent combines their outputs");
	tap_ok(expect(&f.d, "counter", DURA_OUTCOME_COMPLETED, "5"), "continue-as-new reaches 5");
	struct dura_instance_meta *meta = NULL;
	struct dura_history *h = NULL;
	struct dura_err err;
	struct dura_history_shape sh = { 0 };
	char serr[128];
	int cok = f.store && ops->instance_status(f.store, "counter", &meta, &err) == DURA_OK && meta &&
	          meta->execution == 5 && meta->status == DURA_STATUS_COMPLETED &&
	          ops->read_history(f.store, "counter", 5, &h, &err) == DURA_OK &&
	          dura_history_shape(h->events, h->n_events, &sh, serr, sizeof serr) == 0 &&
	          sh.started == 1 && sh.activities_completed == 1 &&
	          sh.terminal_status == DURA_STATUS_COMPLETED;
	if (h)
		ops->release_history(f.store, h);
	h = NULL;
	int old_ok = f.store && ops->read_history(f.store, "counter", 4, &h, &err) == DURA_OK &&
	             dura_history_shape(h->events, h->n_events, &sh, serr, sizeof serr) == 0 &&
	             sh.terminal_status == DURA_STATUS_CONTINUED_AS_NEW;
	if (h)
		ops->release_history(f.store, h);
	if (meta)
		ops->release_instance_status(f.store, meta);
	tap_ok(cok && old_ok, "continue-as-new: execution 5 stored, execution 4 ended as continued");
	tap_ok(expect(&f.d, "failing", DURA_OUTCOME_FAILED_APP, "task 0: disk on fire"),
	       "activity failure fails the orchestration (app)");
	tap_ok(expect(&f.d, "no-act", DURA_OUTCOME_FAILED_CONFIG, "not registered"),
	       "unregistered activity: config failure");
	tap_ok(expect(&f.d, "no-orch", DURA_OUTCOME_FAILED_CONFIG, "not registered"),
	       "unregistered orchestration: config failure");
	tap_ok(f.store && read_back(ops, f.store, "failing", DURA_OUTCOME_FAILED_APP, "disk on fire") &&
	       read_back(ops, f.store, "no-act", DURA_OUTCOME_FAILED_CONFIG, "not registered") &&
	       read_back(ops, f.store, "no-orch", DURA_OUTCOME_FAILED_CONFIG, "not registered"),
	       "read back from the store (scale-out feed): app and config failures keep their "
	       "category and text");
	fixture_close(&f);
}

static struct dura_provider_ops renewal_ops;

static dura_rc renewal_fetch(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                             struct dura_work_item **out, struct dura_err *err)
{
	dura_rc rc = real_ops->fetch_work_item(s, lock_ms, wait_ms, out, err);
	if (rc == DURA_OK)
		held_token = (*out)->token;
	return rc;
}

static dura_rc renewal_ack_fetch(dura_store *s, uint64_t token,
                                 const struct dura_message *completion, uint32_t lock_ms,
                                 struct dura_work_item **next, struct dura_err *err)
{
	dura_rc rc = real_ops->ack_work_item_and_fetch(s, token, completion, lock_ms, next, err);
	if (*next)
		held_token = (*next)->token;
	return rc;
}

static dura_rc renewal_renew(dura_store *s, uint64_t token, uint32_t extend_ms,
                             struct dura_err *err)
{
	dura_rc rc = real_ops->renew_work_lock(s, token, extend_ms, err);
	if (rc != DURA_OK)
		return rc;
	pthread_mutex_lock(&renew_mu);
	size_t i = 0;
	while (i < MAX_RENEWED - 1 && renewed[i].token && renewed[i].token != token)
		i++;
	renewed[i].token = token;
	renewed[i].renewals++;
	pthread_cond_broadcast(&renew_cv);
	pthread_mutex_unlock(&renew_mu);
	return rc;
}

/* Five activities that outlive their lock on three workers (act_held): the
 * lock is long enough (1 s; the renewer looks every 250 ms and renews at
 * half the lock) for a renewer kept off the CPU for a while to renew in
 * time, and the third worker, idle in the second round, would take an
 * item whose lock ran out. */
static void test_lock_renewal(void)
{
	renewal_ops = *real_ops;
	renewal_ops.fetch_work_item = renewal_fetch;
	renewal_ops.renew_work_lock = renewal_renew;
	if (DURA_OPT_OP(real_ops, ack_work_item_and_fetch))
		renewal_ops.ack_work_item_and_fetch = renewal_ack_fetch;
	memset(renewed, 0, sizeof renewed);
	atomic_store(&held_runs, 0);
	atomic_store(&held_unrenewed, 0);
	struct fixture f;
	fixture_open(&f, &renewal_ops);
	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.work_lock_ms = HELD_LOCK_MS;
	cfg.poll_wait_ms = 20;
	struct dura_runtime_stats st;
	size_t got = run_one_fan(&f, &cfg, 1, 3, "held", "held:", &st);
	tap_ok(got == 1 && expect(&f.d, "held", DURA_OUTCOME_COMPLETED, "held,held,held,held,held") &&
	       atomic_load(&held_runs) == 5 && st.lock_lost == 0 &&
	       atomic_load(&held_unrenewed) == 0,
	       "activities that outlive their lock (each until its lock is renewed twice) run "
	       "exactly once (%d runs, %llu lost, %d not renewed)", atomic_load(&held_runs),
	       (unsigned long long)st.lock_lost, atomic_load(&held_unrenewed));
	fixture_close(&f);
}

static void test_stop_in_flight(void)
{
	const struct dura_provider_ops *ops = real_ops;
	struct fixture f;
	fixture_open(&f, ops);
	enum { N = 12 };
	char id[32];
	struct dura_runtime *rt = fixture_start(&f, 2, 2, NULL);
	int ok = rt != NULL;
	for (int i = 0; ok && i < N; i++) {
		snprintf(id, sizeof id, "stop-%d", i);
		ok = start_inst(rt, id, "fan", "slow:s") == 0;
	}
	dura_sleep_ms(150); /* some activities are running now */
	uint64_t t0 = dura_now_ms();
	dura_runtime_stop(rt);
	uint64_t stop_ms = dura_now_ms() - t0;
	size_t before = f.d.n;
	tap_ok(ok && before < N, "stop with work in flight returns (%llu ms, %zu/%d done)",
	       (unsigned long long)stop_ms, before, N);
	/* Nothing was lost: a new runtime on the same store finishes the rest. */
	rt = ok ? fixture_start(&f, 2, 2, NULL) : NULL;
	size_t got = rt ? done_wait(&f.d, N, 20000) : 0;
	dura_runtime_stop(rt);
	int all = got == N;
	for (int i = 0; all && i < N; i++) {
		snprintf(id, sizeof id, "stop-%d", i);
		all = expect(&f.d, id, DURA_OUTCOME_COMPLETED, "S0,S1,S2,S3,S4");
	}
	tap_ok(all, "after a restart every instance completes exactly once (%zu/%d)", got, N);
	fixture_close(&f);
}

/* ---------------------------------------------------- fault injection */

/* The ops table has no user pointer, so the wrapper's state is file-global
 * (test only). */
static struct dura_provider_ops fault_ops;
static _Atomic unsigned fault_acks;
static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t poison_tokens[64];
static size_t n_poison_tokens;

static dura_rc fault_fetch(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                           struct dura_orch_item **out, struct dura_err *err)
{
	dura_rc rc = real_ops->fetch_orchestration_item(s, lock_ms, wait_ms, out, err);
	if (rc == DURA_OK && strcmp((*out)->instance, "poison") == 0) {
		pthread_mutex_lock(&fault_mu);
		poison_tokens[n_poison_tokens++ % 64] = (*out)->token;
		pthread_mutex_unlock(&fault_mu);
	}
	return rc;
}

static dura_rc fault_ack(dura_store *s, uint64_t token, const struct dura_orch_ack *ack,
                         struct dura_err *err)
{
	int poison = 0;
	pthread_mutex_lock(&fault_mu);
	for (size_t i = 0; i < 64; i++)
		poison |= poison_tokens[i] == token;
	pthread_mutex_unlock(&fault_mu);
	/* The "poison" instance can only store its own failure. */
	if (poison && !(ack->meta && ack->meta->status == DURA_STATUS_FAILED)) {
		dura_err_set(err, "injected permanent error");
		return DURA_PERMANENT;
	}
	/* Every third ack fails transiently (nothing changed). */
	if (atomic_fetch_add(&fault_acks, 1) % 3 == 2) {
		dura_err_set(err, "injected busy");
		return DURA_RETRY;
	}
	return real_ops->ack_orchestration_item(s, token, ack, err);
}

static void test_faults(void)
{
	fault_ops = *real_ops;
	fault_ops.fetch_orchestration_item = fault_fetch;
	fault_ops.ack_orchestration_item = fault_ack;
	fault_ops.ack_orchestration_item_and_fetch = NULL;
	fault_ops.ack_work_item_and_fetch = NULL;
	const struct dura_provider_ops *ops = &fault_ops;
	struct fixture f;
	fixture_open(&f, ops);
	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.max_attempts = 3;
	cfg.retry_base_ms = 1;
	cfg.poll_wait_ms = 20;
	struct dura_runtime *rt = fixture_start(&f, 2, 2, &cfg);
	int ok = rt && start_inst(rt, "poison", "fan", "upper:p") == 0;
	char id[32];
	for (int i = 0; ok && i < 10; i++) {
		snprintf(id, sizeof id, "busy-%d", i);
		ok = start_inst(rt, id, "fan", "upper:b") == 0;
	}
	size_t got = ok ? done_wait(&f.d, 11, 20000) : 0;
	struct dura_runtime_stats st;
	settled_stats(rt, &st);
	dura_runtime_stop(rt);
	int all = got == 11;
	for (int i = 0; all && i < 10; i++) {
		snprintf(id, sizeof id, "busy-%d", i);
		all = expect(&f.d, id, DURA_OUTCOME_COMPLETED, "B0,B1,B2,B3,B4");
	}
	tap_ok(all && st.retries > 0, "transient ack errors are retried (%llu retries), all complete",
	       (unsigned long long)st.retries);
	tap_ok(expect(&f.d, "poison", DURA_OUTCOME_FAILED_INFRA, "poison") && st.poisoned == 1 &&
	       st.abandons >= 3,
	       "a turn that can never be stored is abandoned, then poisoned (infra) after "
	       "max_attempts (%llu abandons)", (unsigned long long)st.abandons);
	struct dura_instance_meta *meta = NULL;
	struct dura_err err;
	int mok = f.store && real_ops->instance_status(f.store, "poison", &meta, &err) == DURA_OK &&
	          meta && meta->status == DURA_STATUS_FAILED;
	if (meta)
		real_ops->release_instance_status(f.store, meta);
	tap_ok(mok, "the poisoned instance is stored as failed");
	tap_ok(f.store && read_back(real_ops, f.store, "poison", DURA_OUTCOME_FAILED_INFRA, "poison"),
	       "read back from the store (scale-out feed): the poison failure is infra");
	fixture_close(&f);
}

/* A terminal ack whose commit succeeds but whose reply is lost (the
 * connection drops during the commit): the provider says RETRY, the retry
 * finds the token gone.  The completion must still reach the driver. */
static _Atomic unsigned lost_replies;

static dura_rc lost_reply_ack(dura_store *s, uint64_t token, const struct dura_orch_ack *ack,
                              struct dura_err *err)
{
	dura_rc rc = real_ops->ack_orchestration_item(s, token, ack, err);
	if (rc == DURA_OK && ack->meta && ack->meta->status == DURA_STATUS_COMPLETED) {
		atomic_fetch_add(&lost_replies, 1);
		dura_err_set(err, "injected: connection lost during commit");
		return DURA_RETRY;
	}
	return rc;
}

static void test_uncertain_commit(void)
{
	fault_ops = *real_ops;
	fault_ops.ack_orchestration_item = lost_reply_ack;
	fault_ops.ack_orchestration_item_and_fetch = NULL;
	const struct dura_provider_ops *ops = &fault_ops;
	struct fixture f;
	fixture_open(&f, ops);
	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.retry_base_ms = 1;
	cfg.poll_wait_ms = 20;
	struct dura_runtime *rt = fixture_start(&f, 2, 2, &cfg);
	char id[32];
	int ok = rt != NULL;
	for (int i = 0; ok && i < 6; i++) {
		snprintf(id, sizeof id, "lost-%d", i);
		ok = start_inst(rt, id, "fan", "upper:l") == 0;
	}
	size_t got = ok ? done_wait(&f.d, 6, 20000) : 0;
	struct dura_runtime_stats st;
	settled_stats(rt, &st);
	dura_runtime_stop(rt);
	int all = got == 6;
	for (int i = 0; all && i < 6; i++) {
		snprintf(id, sizeof id, "lost-%d", i);
		all = expect(&f.d, id, DURA_OUTCOME_COMPLETED, "L0,L1,L2,L3,L4");
	}
	tap_ok(all && atomic_load(&lost_replies) == 6,
	       "a terminal ack that committed but answered RETRY is recognised from storage: "
	       "all %zu completions reported once (%u lost replies)", got,
	       atomic_load(&lost_replies));
	fixture_close(&f);
}

/* ------------------------------------------------ batched activities */

/* A wrapper around a provider's batch operations that counts their use and
 * injects faults (file-global like the fault wrapper above: the ops table
 * has no user pointer). */
static struct dura_provider_ops bw_ops;
static const struct dura_provider_ops *bw_base;
static _Atomic unsigned bw_fetch_calls, bw_ack_calls, bw_max_items, bw_single_fetches;
static _Atomic int bw_lose_once;   /* next ack of >= 2 items: steal item 1's lock */
static _Atomic unsigned bw_retry_every; /* every n-th batch ack: RETRY */
static _Atomic int bw_poison;      /* acks carrying a "wpoison" completion that is
                                      not a failure: PERMANENT */

static void bw_seen(size_t n)
{
	unsigned m = atomic_load(&bw_max_items);
	while (n > m && !atomic_compare_exchange_weak(&bw_max_items, &m, (unsigned)n))
		;
}

static dura_rc bw_fetch(dura_store *s, uint32_t lock_ms, uint32_t wait_ms, size_t max,
                        struct dura_work_item **items, size_t *n, struct dura_err *err)
{
	atomic_fetch_add(&bw_fetch_calls, 1);
	dura_rc rc = bw_base->fetch_work_items(s, lock_ms, wait_ms, max, items, n, err);
	if (rc == DURA_OK)
		bw_seen(*n);
	return rc;
}

static dura_rc bw_single_fetch(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                               struct dura_work_item **out, struct dura_err *err)
{
	atomic_fetch_add(&bw_single_fetches, 1);
	return bw_base->fetch_work_item(s, lock_ms, wait_ms, out, err);
}

static dura_rc bw_ack(dura_store *s, size_t n, const uint64_t *tokens,
                      const struct dura_message *completions, dura_rc *results,
                      uint32_t lock_ms, size_t max_next, struct dura_work_item **next,
                      size_t *n_next, struct dura_err *err)
{
	unsigned call = atomic_fetch_add(&bw_ack_calls, 1);
	unsigned every = atomic_load(&bw_retry_every);
	*n_next = 0;
	if (every && call % every == every - 1) {
		dura_err_set(err, "injected busy (batch ack)");
		return DURA_RETRY;
	}
	for (size_t i = 0; atomic_load(&bw_poison) && completions && i < n; i++) {
		struct dura_rec r;
		if (completions[i].instance && strcmp(completions[i].instance, "wpoison") == 0 &&
		    (dura_codec_decode(completions[i].body.data, completions[i].body.len, &r,
		                       NULL) != 0 || r.kind != DURA_MSG_TASK_FAILED)) {
			dura_err_set(err, "injected permanent error (batch ack)");
			return DURA_PERMANENT;
		}
	}
	if (n >= 2 && atomic_exchange(&bw_lose_once, 0)) {
		/* another worker's view: the lock of item 1 is gone */
		struct dura_err e;
		bw_base->abandon_work_item(s, tokens[1], 0, &e);
	}
	dura_rc rc = bw_base->ack_work_items_and_fetch(s, n, tokens, completions, results,
	                                               lock_ms, max_next, next, n_next, err);
	bw_seen(*n_next);
	return rc;
}

static const struct dura_provider_ops *bw_wrap(const struct dura_provider_ops *base)
{
	bw_base = base;
	bw_ops = *base;
	bw_ops.fetch_work_items = base->fetch_work_items ? bw_fetch : NULL;
	bw_ops.ack_work_items_and_fetch = base->ack_work_items_and_fetch ? bw_ack : NULL;
	bw_ops.fetch_work_item = bw_single_fetch;
	atomic_store(&bw_fetch_calls, 0);
	atomic_store(&bw_ack_calls, 0);
	atomic_store(&bw_max_items, 0);
	atomic_store(&bw_single_fetches, 0);
	atomic_store(&bw_lose_once, 0);
	atomic_store(&bw_retry_every, 0);
	atomic_store(&bw_poison, 0);
	return &bw_ops;
}

static void test_batch_fanout(unsigned o, unsigned w)
{
	const struct dura_provider_ops *ops = bw_wrap(real_ops);
	char what[32];
	snprintf(what, sizeof what, "batch 4, %s ", o == 1 ? "single starts," : "batched starts,");
	test_fanout_with(ops, what, o, w, 4, o == 1 ? 0 : 8);
	tap_ok(atomic_load(&bw_fetch_calls) > 0 && atomic_load(&bw_ack_calls) > 0 &&
	       atomic_load(&bw_max_items) > 1 && atomic_load(&bw_max_items) <= 4 &&
	       atomic_load(&bw_single_fetches) == 0,
	       "batch 4, %u:%u: the batch operations carried the work (%u fetches, %u acks, "
	       "up to %u items, %u single fetches)", o, w, atomic_load(&bw_fetch_calls),
	       atomic_load(&bw_ack_calls), atomic_load(&bw_max_items),
	       atomic_load(&bw_single_fetches));
}

/* Four 300 ms items with a 200 ms lock in one batch: the items waiting in
 * the batch (to run, or for the ack) would expire without renewal, and the
 * second worker would run them again. */
static void test_batch_renewal(void)
{
	const struct dura_provider_ops *ops = bw_wrap(real_ops);
	struct fixture f;
	fixture_open(&f, ops);
	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.work_lock_ms = 600;
	cfg.poll_wait_ms = 20;
	cfg.activity_batch = 4;
	atomic_store(&batch_long_runs, 0);
	struct dura_runtime_stats st;
	size_t got = run_one_fan(&f, &cfg, 1, 2, "blong", "long900:q", &st);
	tap_ok(got == 1 && expect(&f.d, "blong", DURA_OUTCOME_COMPLETED, "Q0,Q1,Q2,Q3,Q4") &&
	       atomic_load(&batch_long_runs) == 5 && st.lock_lost == 0 &&
	       atomic_load(&bw_max_items) == 4,
	       "batch of four 900 ms items under a 600 ms lock: renewed, each runs exactly once "
	       "(%d runs, %llu lost, batch up to %u)", atomic_load(&batch_long_runs),
	       (unsigned long long)st.lock_lost, atomic_load(&bw_max_items));
	fixture_close(&f);
}

/* A lock lost in the middle of a batch, transient batch-ack errors, and a
 * batch ack that can never be stored (poison per item). */
static void test_batch_faults(void)
{
	const struct dura_provider_ops *ops = bw_wrap(real_ops);
	struct fixture f;
	fixture_open(&f, ops);
	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.activity_batch = 4;
	cfg.max_attempts = 3;
	cfg.retry_base_ms = 1;
	cfg.poll_wait_ms = 20;
	atomic_store(&bw_lose_once, 1);
	atomic_store(&bw_retry_every, 3);
	atomic_store(&upper_runs, 0);
	struct dura_runtime *rt = fixture_start(&f, 2, 1, &cfg);
	enum { N = 10 };
	int ok = rt && start_fans(rt, "bf-", "upper", N, 5) == 0;
	size_t got = ok ? done_wait(&f.d, N, 20000) : 0;
	struct dura_runtime_stats st;
	settled_stats(rt, &st);
	int all = got == N && expect_fans(&f.d, "bf-", N);
	tap_ok(all && atomic_load(&bw_lose_once) == 0 && st.lock_lost == 1 &&
	       st.activities_executed == 5 * N && atomic_load(&upper_runs) == 5 * N + 1,
	       "a lock lost mid-batch: counted once, that item alone runs again, every instance "
	       "completes once (%llu lost, %d runs)", (unsigned long long)st.lock_lost,
	       atomic_load(&upper_runs));
	tap_ok(all && st.retries > 0 && st.infra_errors == 0,
	       "transient batch-ack errors are retried (%llu retries)",
	       (unsigned long long)st.retries);

	/* now an instance whose activities' completions can never be stored */
	atomic_store(&bw_retry_every, 0);
	atomic_store(&bw_poison, 1);
	ok = rt && start_inst(rt, "wpoison", "fan", "upper:p") == 0;
	got = ok ? done_wait(&f.d, N + 1, 20000) : 0;
	settled_stats(rt, &st);
	dura_runtime_stop(rt);
	tap_ok(got == N + 1 && expect(&f.d, "wpoison", DURA_OUTCOME_FAILED_INFRA, "poison") &&
	       st.poisoned >= 1 && st.abandons >= 3,
	       "a batch ack that always fails: items abandoned, then poisoned (infra) "
	       "after max_attempts (%llu abandons, %llu poisoned)", (unsigned long long)st.abandons,
	       (unsigned long long)st.poisoned);
	fixture_close(&f);
}

/* activity_batch = 4 on providers without (both) batch operations. */
static void test_batch_fallback(void)
{
	/* SQLite with the batch ack hidden: half the pair is not enough */
	struct dura_provider_ops half = *real_ops;
	half.ack_work_items_and_fetch = NULL;
	const struct dura_provider_ops *ops = bw_wrap(&half);
	test_fanout_with(ops, "batch 4 without batch ack, ", 2, 2, 4, 8);
	tap_ok(atomic_load(&bw_fetch_calls) == 0 && atomic_load(&bw_single_fetches) > 0,
	       "without ack_work_items_and_fetch the runtime falls back to single items "
	       "(%u batch fetches, %u single)", atomic_load(&bw_fetch_calls),
	       atomic_load(&bw_single_fetches));

	void *h;
	const struct dura_provider_ops *ms = load_plugin(DURA_TEST_MEMSTORE_PLUGIN, &h);
	if (!tap_ok(ms != NULL, "load memstore %s", DURA_TEST_MEMSTORE_PLUGIN))
		return;
	/* A plugin built before the batch operations were appended: its
	 * struct_size ends before them, so the runtime must not use them even
	 * though this copy of the table has them. */
	struct dura_provider_ops old = *ms;
	old.struct_size = (uint32_t)offsetof(struct dura_provider_ops, fetch_work_items);
	tap_ok(DURA_OPT_OP(&old, fetch_work_items) == NULL &&
	       DURA_OPT_OP(&old, ack_work_items_and_fetch) == NULL,
	       "a table whose struct_size ends before the batch operations has none");
	test_fanout_with(&old, "memstore as built before the batch operations, batch 4, ", 2, 2,
	                 4, 8);
	dlclose(h);
}

/* ------------------------------------- batched orchestration items */

/* A wrapper around memstore's ABI 1.7 operations: counts the calls and
 * the largest batch, and injects faults into the batch ack. */
static struct dura_provider_ops ob_ops;
static const struct dura_provider_ops *ob_base;
static _Atomic unsigned ob_fetch_calls, ob_ack_calls, ob_max_items, ob_single_fetches;
static _Atomic int ob_lose_once;        /* next ack of >= 2 items: item 1's lock is
                                           lost (given back, not applied) */
static _Atomic unsigned ob_retry_every; /* every n-th batch ack: RETRY */
static _Atomic int ob_refuse;           /* the ack of "opoison" that is not its
                                           failure: PERMANENT for that item alone */

static void ob_seen(size_t n)
{
	unsigned m = atomic_load(&ob_max_items);
	while (n > m && !atomic_compare_exchange_weak(&ob_max_items, &m, (unsigned)n))
		;
}

/* Tokens of the "opoison" items handed out (the acks only carry tokens). */
static pthread_mutex_t ob_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t ob_poison_tokens[64];
static size_t ob_n_poison;

static void ob_note(struct dura_orch_item *const *items, size_t n)
{
	pthread_mutex_lock(&ob_mu);
	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i]->instance, "opoison") == 0)
			ob_poison_tokens[ob_n_poison++ % 64] = items[i]->token;
	pthread_mutex_unlock(&ob_mu);
}

/* The "opoison" instance can only store its own failure. */
static int ob_is_refused(uint64_t token, const struct dura_orch_ack *ack)
{
	int poison = 0;
	pthread_mutex_lock(&ob_mu);
	for (size_t i = 0; i < 64; i++)
		poison |= ob_poison_tokens[i] == token;
	pthread_mutex_unlock(&ob_mu);
	return poison && !(ack->meta && ack->meta->status == DURA_STATUS_FAILED);
}

static dura_rc ob_fetch(dura_store *s, uint32_t lock_ms, uint32_t wait_ms, size_t max,
                        struct dura_orch_item **items, size_t *n, struct dura_err *err)
{
	atomic_fetch_add(&ob_fetch_calls, 1);
	dura_rc rc = ob_base->fetch_orchestration_items(s, lock_ms, wait_ms, max, items, n, err);
	if (rc == DURA_OK) {
		ob_seen(*n);
		ob_note(items, *n);
	}
	return rc;
}

static dura_rc ob_single_fetch(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                               struct dura_orch_item **out, struct dura_err *err)
{
	atomic_fetch_add(&ob_single_fetches, 1);
	return ob_base->fetch_orchestration_item(s, lock_ms, wait_ms, out, err);
}

static dura_rc ob_ack(dura_store *s, size_t n, const uint64_t *tokens,
                      const struct dura_orch_ack *acks, dura_rc *results, uint32_t lock_ms,
                      size_t max_next, struct dura_orch_item **next, size_t *n_next,
                      struct dura_err *err)
{
	unsigned call = atomic_fetch_add(&ob_ack_calls, 1);
	unsigned every = atomic_load(&ob_retry_every);
	*n_next = 0;
	if (every && call % every == every - 1) {
		dura_err_set(err, "injected busy (orchestration batch ack)");
		return DURA_RETRY;
	}
	/* The items the base store applies, and the ones the wrapper fails. */
	uint64_t tok[64];
	struct dura_orch_ack sub[64];
	dura_rc sub_res[64];
	size_t map[64], k = 0;
	int lose = n >= 2 && atomic_exchange(&ob_lose_once, 0);
	for (size_t i = 0; i < n && i < 64; i++) {
		if (lose && i == 1) {
			/* another dispatcher's view: the lock of item 1 is gone */
			struct dura_err e;
			ob_base->abandon_orchestration_item(s, tokens[1], 0, &e);
			results[i] = DURA_LOCK_LOST;
		} else if (atomic_load(&ob_refuse) && ob_is_refused(tokens[i], &acks[i])) {
			results[i] = DURA_PERMANENT;
		} else {
			tok[k] = tokens[i];
			sub[k] = acks[i];
			map[k++] = i;
			continue;
		}
		dura_err_set(err, "injected failure of item %zu", i);
	}
	dura_rc rc = ob_base->ack_orchestration_items_and_fetch(s, k, tok, sub, sub_res, lock_ms,
	                                                        max_next, next, n_next, err);
	for (size_t j = 0; rc == DURA_OK && j < k; j++)
		results[map[j]] = sub_res[j];
	if (rc == DURA_OK) {
		ob_seen(*n_next);
		ob_note(next, *n_next);
	}
	return rc;
}

/* memstore with its batch operations counted; NULL when it cannot be
 * loaded or lacks them (reported, nothing left open).  *h: dlclose it
 * after the test. */
static const struct dura_provider_ops *ob_wrap(void **h)
{
	ob_base = load_plugin(DURA_TEST_MEMSTORE_PLUGIN, h);
	if (!tap_ok(ob_base != NULL && DURA_OPT_OP(ob_base, fetch_orchestration_items) &&
	            DURA_OPT_OP(ob_base, ack_orchestration_items_and_fetch),
	            "load memstore with the orchestration batch operations")) {
		if (ob_base) {
			tap_diag("operations missing");
			dlclose(*h);
		}
		return NULL;
	}
	ob_ops = *ob_base;
	ob_ops.fetch_orchestration_items = ob_fetch;
	ob_ops.ack_orchestration_items_and_fetch = ob_ack;
	ob_ops.fetch_orchestration_item = ob_single_fetch;
	atomic_store(&ob_fetch_calls, 0);
	atomic_store(&ob_ack_calls, 0);
	atomic_store(&ob_max_items, 0);
	atomic_store(&ob_single_fetches, 0);
	atomic_store(&ob_lose_once, 0);
	atomic_store(&ob_retry_every, 0);
	atomic_store(&ob_refuse, 0);
	memset(ob_poison_tokens, 0, sizeof ob_poison_tokens);
	ob_n_poison = 0;
	return &ob_ops;
}

/* orch_batch = 4 on memstore: 40 fan-outs, 8 started per call, so a
 * single dispatcher's fetch finds several instances at once. */
static void test_orch_batch_fanout(unsigned o, unsigned w)
{
	void *h;
	const struct dura_provider_ops *ops = ob_wrap(&h);
	if (!ops)
		return;
	struct fixture f;
	fixture_open(&f, ops);
	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.orch_batch = 4;
	cfg.activity_batch = 4;
	cfg.retry_base_ms = 1;
	struct dura_runtime *rt = fixture_start(&f, o, w, &cfg);
	enum { N = 40 };
	int ok = rt && start_fans(rt, "ob-", "upper", N, 8) == 0;
	size_t got = ok ? done_wait(&f.d, N, 20000) : 0;
	struct dura_runtime_stats st;
	dura_runtime_get_stats(rt, &st);
	dura_runtime_stop(rt);
	ok = ok && expect_fans(&f.d, "ob-", N);
	tap_ok(ok && got == N && st.turns >= 2 * N && st.lock_lost == 0 && st.infra_errors == 0,
	       "orch_batch 4, %u:%u: %zu/%d fan-outs completed once with the right output "
	       "(%llu turns)", o, w, got, N, (unsigned long long)st.turns);
	unsigned most = atomic_load(&ob_max_items);
	tap_ok(atomic_load(&ob_fetch_calls) > 0 && atomic_load(&ob_ack_calls) > 0 &&
	       most <= 4 && (o > 1 || most > 1) && atomic_load(&ob_single_fetches) == 0,
	       "orch_batch 4, %u:%u: the batch operations carried the turns (%u fetches, %u acks, "
	       "up to %u instances, %u single fetches)", o, w, atomic_load(&ob_fetch_calls),
	       atomic_load(&ob_ack_calls), most, atomic_load(&ob_single_fetches));
	fixture_close(&f);
	dlclose(h);
}

/* Faults in the batch ack: a lock lost in the middle of a batch, a call
 * that fails transiently, an item whose ack is always refused. */
static void test_orch_batch_faults(void)
{
	void *h;
	const struct dura_provider_ops *ops = ob_wrap(&h);
	if (!ops)
		return;
	struct fixture f;
	fixture_open(&f, ops);
	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.orch_batch = 4;
	cfg.max_attempts = 3;
	cfg.retry_base_ms = 1;
	cfg.poll_wait_ms = 20;
	atomic_store(&ob_lose_once, 1);
	atomic_store(&ob_retry_every, 5);
	atomic_store(&ob_refuse, 1);
	atomic_store(&upper_runs, 0);
	struct dura_runtime *rt = fixture_start(&f, 1, 2, &cfg);
	enum { N = 16 };
	int ok = rt && start_inst(rt, "opoison", "fan", "upper:p") == 0 &&
	         start_fans(rt, "obf-", "upper", N, 8) == 0;
	size_t got = ok ? done_wait(&f.d, N + 1, 20000) : 0;
	struct dura_runtime_stats st;
	dura_runtime_get_stats(rt, &st);
	dura_runtime_stop(rt);
	int all = got == N + 1 && expect_fans(&f.d, "obf-", N);
	tap_ok(all && atomic_load(&ob_lose_once) == 0 && st.lock_lost == 1 && st.retries > 0,
	       "orch batch faults: every instance completes once; a lock lost mid-batch is "
	       "counted once and that turn alone runs again (%llu lost); transient batch-ack "
	       "errors are retried (%llu retries)", (unsigned long long)st.lock_lost,
	       (unsigned long long)st.retries);
	tap_ok(expect(&f.d, "opoison", DURA_OUTCOME_FAILED_INFRA, "poison") && st.poisoned == 1 &&
	       st.abandons >= 3,
	       "an item whose ack is always refused is given back alone, then poisoned (infra) "
	       "after max_attempts (%llu abandons)", (unsigned long long)st.abandons);
	fixture_close(&f);
	dlclose(h);
}

/* orch_batch = 4 without the ABI 1.7 operations: one instance at a time. */
static void test_orch_batch_fallback(void)
{
	void *h;
	const struct dura_provider_ops *ops = ob_wrap(&h);
	if (!ops)
		return;
	/* a plugin built before 1.7: its struct_size ends before them */
	struct dura_provider_ops old = ob_ops;
	old.struct_size = (uint32_t)offsetof(struct dura_provider_ops, fetch_orchestration_items);
	tap_ok(DURA_OPT_OP(&old, fetch_orchestration_items) == NULL &&
	       DURA_OPT_OP(&old, ack_orchestration_items_and_fetch) == NULL,
	       "a table whose struct_size ends before ABI 1.7 has no orchestration batch");
	struct fixture f;
	fixture_open(&f, &old);
	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.orch_batch = 4;
	struct dura_runtime_stats st;
	size_t got = run_one_fan(&f, &cfg, 2, 2, "ob-old", "upper:o", &st);
	tap_ok(got == 1 && expect(&f.d, "ob-old", DURA_OUTCOME_COMPLETED, "O0,O1,O2,O3,O4") &&
	       atomic_load(&ob_fetch_calls) == 0 && atomic_load(&ob_single_fetches) > 0,
	       "without the ABI 1.7 operations orch_batch 4 falls back to single instances "
	       "(%u batch fetches, %u single)", atomic_load(&ob_fetch_calls),
	       atomic_load(&ob_single_fetches));
	fixture_close(&f);
	dlclose(h);
}

/* dura_runtime_start_orchestrations: argument checks, all or nothing. */
static void test_start_many(void)
{
	const struct dura_provider_ops *ops = real_ops;
	struct fixture f;
	fixture_open(&f, ops);
	struct dura_runtime *rt = fixture_start(&f, 1, 1, NULL);
	char err[256] = "";
	/* sm-a, then an empty id; then sm-b and sm-c */
	struct dura_start st[2];
	memset(st, 0, sizeof st);
	for (int i = 0; i < 2; i++) {
		st[i].orchestration = "fan";
		dura_buf_printf(&st[i].input, "upper:%c", 'a' + i);
	}
	dura_buf_printf(&st[0].instance, "sm-a");
	int rc_bad = rt ? dura_runtime_start_orchestrations(rt, 2, st, err, sizeof err) : 0;
	int rc_zero = rt ? dura_runtime_start_orchestrations(rt, 0, NULL, err, sizeof err) : -1;
	for (int i = 0; i < 2; i++) {
		dura_buf_reset(&st[i].instance);
		dura_buf_printf(&st[i].instance, "sm-%c", 'b' + i);
	}
	int rc_good = rt ? dura_runtime_start_orchestrations(rt, 2, st, err, sizeof err) : -1;
	for (int i = 0; i < 2; i++) {
		dura_buf_free(&st[i].instance);
		dura_buf_free(&st[i].input);
	}
	size_t got = rc_good == 0 ? done_wait(&f.d, 2, 20000) : 0;
	dura_sleep_ms(50); /* a wrongly enqueued sm-a would finish meanwhile */
	dura_runtime_stop(rt);
	struct dura_instance_meta *meta = NULL;
	struct dura_err e;
	dura_rc src = f.store ? ops->instance_status(f.store, "sm-a", &meta, &e) : DURA_OK;
	if (meta)
		ops->release_instance_status(f.store, meta);
	tap_ok(rc_bad == -1 && src == DURA_EMPTY && rc_zero == 0,
	       "start_orchestrations: an empty id refuses the whole call (nothing started), "
	       "n = 0 is a no-op");
	tap_ok(got == 2 && expect(&f.d, "sm-b", DURA_OUTCOME_COMPLETED, "A0,A1,A2,A3,A4") &&
	       expect(&f.d, "sm-c", DURA_OUTCOME_COMPLETED, "B0,B1,B2,B3,B4"),
	       "start_orchestrations: two instances, each with its own input");
	fixture_close(&f);
}

/* ------------------------------------------------- idle long polls */

/* The wait_ms of every orchestration fetch, in call order. */
#define MAX_POLLS 64
static uint32_t poll_waits[MAX_POLLS];
static _Atomic size_t n_polls;

static dura_rc recording_fetch_orch(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                                    struct dura_orch_item **out, struct dura_err *err)
{
	size_t i = atomic_fetch_add(&n_polls, 1);
	if (i < MAX_POLLS)
		poll_waits[i] = wait_ms;
	return real_ops->fetch_orchestration_item(s, lock_ms, wait_ms, out, err);
}

static void test_idle_polls(void)
{
	tap_ok(dura_rt_poll_wait(100, 1000, 0) == 100 &&
	       dura_rt_poll_wait(100, 1000, DURA_RT_IDLE_POLLS) == 100 &&
	       dura_rt_poll_wait(100, 1000, DURA_RT_IDLE_POLLS + 1) == 200 &&
	       dura_rt_poll_wait(100, 1000, DURA_RT_IDLE_POLLS + 3) == 800 &&
	       dura_rt_poll_wait(100, 1000, DURA_RT_IDLE_POLLS + 4) == 1000 &&
	       dura_rt_poll_wait(100, 1000, 4000000000u) == 1000,
	       "idle polls: %u at the base wait, then doubling up to the cap",
	       DURA_RT_IDLE_POLLS);
	tap_ok(dura_rt_poll_wait(0, 1000, 50) == 0 && dura_rt_poll_wait(100, 0, 50) == 100 &&
	       dura_rt_poll_wait(100, 50, 50) == 100,
	       "idle polls: no long poll stays without; a cap below the base is the base");

	/* One dispatcher on an idle store: its waits grow; a start wakes it
	 * at once (the provider's own long poll) and the waits start over. */
	struct dura_provider_ops ops = *real_ops;
	ops.fetch_orchestration_item = recording_fetch_orch;
	atomic_store(&n_polls, 0);
	struct fixture f;
	fixture_open(&f, &ops);
	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.poll_wait_ms = 20; /* keeps the idle phase short */
	cfg.poll_wait_max_ms = 100;
	struct dura_runtime *rt = fixture_start(&f, 1, 1, &cfg);
	size_t idle = DURA_RT_IDLE_POLLS + 5;
	while (rt && atomic_load(&n_polls) < idle)
		dura_sleep_ms(10);
	size_t before = atomic_load(&n_polls);
	int ok = rt && start_inst(rt, "idle-fan", "fan", "upper:x") == 0;
	size_t got = ok ? done_wait(&f.d, 1, 20000) : 0;
	/* the first poll after the work: back at the base wait */
	while (rt && atomic_load(&n_polls) < before + 4 && atomic_load(&n_polls) < MAX_POLLS)
		dura_sleep_ms(5);
	dura_runtime_stop(rt);
	size_t n = atomic_load(&n_polls);
	int grew = n >= idle;
	for (size_t i = 0; grew && i < idle; i++)
		grew = poll_waits[i] == dura_rt_poll_wait(20, 100, (unsigned)i);
	int reset = 0;
	for (size_t i = before; i < n && i < MAX_POLLS; i++)
		if (poll_waits[i] == 20)
			reset = 1;
	tap_ok(grew, "idle dispatcher: %zu polls with waits 20 ... 20, 40, 80, 100 ms (%u, %u, %u)",
	       idle, poll_waits[0], poll_waits[DURA_RT_IDLE_POLLS + 1],
	       poll_waits[idle - 1]);
	tap_ok(got == 1 && expect(&f.d, "idle-fan", DURA_OUTCOME_COMPLETED, "X"),
	       "a start after the idle phase completes (%zu)", got);
	tap_ok(reset, "after work the waits start over at 20 ms");
	fixture_close(&f);
}

int main(void)
{
	const char *path = getenv("DURA_UNIT_RUNTIME_PLUGIN");
	if (!path || !*path)
		path = DURA_TEST_SQLITE_PLUGIN;
	void *h;
	real_ops = load_plugin(path, &h);
	if (!tap_ok(real_ops != NULL && real_ops->abi_major == DURA_ABI_MAJOR,
	            "load provider %s", path)) {
		if (real_ops)
			dlclose(h);
		return tap_done();
	}
	test_fanout(1, 1);
	test_fanout(3, 2);
	test_features();
	test_lock_renewal();
	test_stop_in_flight();
	test_faults();
	test_uncertain_commit();
	test_start_many();
	test_batch_fanout(1, 1);
	test_batch_fanout(3, 2);
	test_batch_renewal();
	test_batch_faults();
	test_batch_fallback();
	test_orch_batch_fanout(1, 1);
	test_orch_batch_fanout(3, 2);
	test_orch_batch_faults();
	test_orch_batch_fallback();
	test_idle_polls();
	dlclose(h);
	return tap_done();
}
