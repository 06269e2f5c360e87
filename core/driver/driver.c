/*
 * The stress driver (DESIGN section 6): keeps max_concurrent instances in
 * flight (or launches at a fixed rate), measures latency from the start call
 * to the committed terminal ack, counts throughput over the steady window,
 * drains, classifies every instance exactly once, then verifies every
 * completed instance against storage.
 *
 * Threads: the calling thread launches; the runtime's dispatcher threads
 * report completions through on_complete().  Everything both touch lives in
 * struct driver under one mutex (completions are a few thousand per second
 * at most, so a mutex is cheap); the latency histogram is lock-free.
 */
#include "config.h"

#include "driver.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/histogram.h"
#include "progress.h"
#include "base/util.h"
#include "workloads/workload.h"

/* Outcome of one instance: enum dura_outcome, or one of these. */
#define OUT_RUNNING (-1)
#define OUT_TIMEOUT 4
#define N_OUTCOMES 5

#define VERIFY_THREADS 4

struct inst {
	uint64_t start_ns;
	int8_t outcome;
};

struct driver {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* signalled on every completion */
	const char *prefix;
	size_t prefix_len;

	/* all below under mu */
	struct inst *inst;          /* [launched], owned */
	size_t cap;
	uint64_t launched;
	uint64_t in_flight;
	uint64_t outcomes[N_OUTCOMES];
	uint64_t window_completed;
	uint64_t win_start_ns, win_end_ns;
	uint64_t last_completion_ns;
	int closed;                 /* after the drain: later callbacks are late */
	uint64_t duplicates;        /* second terminal callback for an instance */
	uint64_t late;              /* completions after the drain timeout */
	char duplicate_msg[256];
	char first_failure[512];

	struct dura_histogram *latency_ns;
};

static void record_failure(struct driver *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Keeps the first failure text (caller holds mu). */
static void record_failure(struct driver *d, const char *fmt, ...)
{
	if (d->first_failure[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->first_failure, sizeof d->first_failure, fmt, ap);
	va_end(ap);
}

/* "<prefix><decimal seq>" -> seq; anything else (sub-orchestrations
 * "<prefix>12/c0", other runs) is not ours. */
static int parse_seq(const struct driver *d, const char *instance, uint64_t *seq)
{
	if (strncmp(instance, d->prefix, d->prefix_len) != 0)
		return -1;
	const char *s = instance + d->prefix_len;
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*seq = v;
	return 0;
}

static const char *outcome_name(int o)
{
	switch (o) {
	case DURA_OUTCOME_COMPLETED: return "completed";
	case DURA_OUTCOME_FAILED_APP: return "app";
	case DURA_OUTCOME_FAILED_CONFIG: return "config";
	case DURA_OUTCOME_FAILED_INFRA: return "infra";
	case OUT_TIMEOUT: return "timeout";
	default: return "?";
	}
}

static void on_complete(void *arg, const char *instance, enum dura_outcome outcome,
                        const uint8_t *output, size_t output_len)
{
	struct driver *d = arg;
	uint64_t now = dura_now_ns(), seq;
	if (parse_seq(d, instance, &seq) != 0)
		return;
	int o = (int)outcome;
	if (o < DURA_OUTCOME_COMPLETED || o > DURA_OUTCOME_FAILED_INFRA)
		o = DURA_OUTCOME_FAILED_INFRA; /* an outcome we do not know is no success */
	pthread_mutex_lock(&d->mu);
	if (seq >= d->launched) {
		pthread_mutex_unlock(&d->mu);
		return;
	}
	if (d->closed) {
		d->late++;
		pthread_mutex_unlock(&d->mu);
		return;
	}
	struct inst *in = &d->inst[seq];
	if (in->outcome != OUT_RUNNING) {
		/* the runtime reported this instance twice: never count it again,
		 * but make the run fail verification */
		if (d->duplicates++ == 0)
			snprintf(d->duplicate_msg, sizeof d->duplicate_msg,
			         "instance %s: terminal completion reported twice (%s, then %s)",
			         instance, outcome_name(in->outcome), outcome_name(o));
		pthread_mutex_unlock(&d->mu);
		return;
	}
	in->outcome = (int8_t)o;
	d->in_flight--;
	d->outcomes[o]++;
	d->last_completion_ns = now;
	if (o == DURA_OUTCOME_COMPLETED) {
		if (now >= d->win_start_ns && now <= d->win_end_ns)
			d->window_completed++;
		/* warmup completions carry cold-start effects; keep them out */
		if (now >= d->win_start_ns)
			dura_histogram_record(d->latency_ns, now - in->start_ns);
	} else {
		record_failure(d, "instance %s failed (%s): %.*s", instance, outcome_name(o),
		               (int)(output_len > 300 ? 300 : output_len),
		               output ? (const char *)output : "");
	}
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/* Waits on the condition variable until deadline_ns at the latest (mu held). */
static void wait_until(struct driver *d, uint64_t deadline_ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = dura_now_ns();
	uint64_t wait = deadline_ns > now ? deadline_ns - now : 0;
	uint64_t ns = (uint64_t)ts.tv_nsec + wait;
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

static double cpu_ms(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
	       (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

static void progress(struct driver *d, struct dura_progress *pg, const char *phase,
                     uint64_t t0, double total_s, int force)
{
	/* caller holds mu */
	uint64_t failed = d->outcomes[DURA_OUTCOME_FAILED_APP] +
	                  d->outcomes[DURA_OUTCOME_FAILED_CONFIG] +
	                  d->outcomes[DURA_OUTCOME_FAILED_INFRA];
	dura_progress_update(pg, phase, (double)(dura_now_ns() - t0) / 1e9, total_s, d->launched,
	                     d->outcomes[DURA_OUTCOME_COMPLETED], failed, d->in_flight, force);
}

/* The launching thread's reusable buffers: one input and one id per
 * instance a single launch may start.  Owned by dura_driver_run (freed by
 * launch_bufs_free). */
struct launch_bufs {
	size_t cap;
	struct dura_buf *input;
	struct dura_buf *id;
	const char **ids;
	const void **inputs;
	size_t *lens;
	const char **names;
};

static void launch_bufs_grow(struct launch_bufs *lb, size_t k)
{
	if (k <= lb->cap)
		return;
	lb->input = dura_xrealloc(lb->input, k * sizeof *lb->input);
	lb->id = dura_xrealloc(lb->id, k * sizeof *lb->id);
	memset(lb->input + lb->cap, 0, (k - lb->cap) * sizeof *lb->input);
	memset(lb->id + lb->cap, 0, (k - lb->cap) * sizeof *lb->id);
	lb->ids = dura_xrealloc(lb->ids, k * sizeof *lb->ids);
	lb->inputs = dura_xrealloc(lb->inputs, k * sizeof *lb->inputs);
	lb->lens = dura_xrealloc(lb->lens, k * sizeof *lb->lens);
	lb->names = dura_xrealloc(lb->names, k * sizeof *lb->names);
	lb->cap = k;
}

static void launch_bufs_free(struct launch_bufs *lb)
{
	for (size_t i = 0; i < lb->cap; i++) {
		dura_buf_free(&lb->input[i]);
		dura_buf_free(&lb->id[i]);
	}
	free(lb->input);
	free(lb->id);
	free(lb->ids);
	free(lb->inputs);
	free(lb->lens);
	free(lb->names);
}

/* Starts instances number launched .. launched + k - 1.  Consecutive ones
 * of the same orchestration go in one dura_runtime_start_orchestrations
 * call (one round trip): a closed loop refilling k free slots pays one
 * round trip, not k.  Each instance's start time is taken just before the
 * call that starts it.  Called without mu. */
static void launch_many(struct driver *d, struct dura_runtime *rt, const struct dura_workload *wl,
                        struct launch_bufs *lb, size_t k)
{
	if (k == 0)
		return;
	launch_bufs_grow(lb, k);
	/* Only this thread changes launched, so seq0 stays valid unlocked. */
	pthread_mutex_lock(&d->mu);
	uint64_t seq0 = d->launched;
	if (seq0 + k > d->cap) {
		size_t cap = d->cap ? d->cap : 4096;
		while (cap < seq0 + k)
			cap *= 2;
		d->inst = dura_xrealloc(d->inst, cap * sizeof *d->inst);
		d->cap = cap;
	}
	pthread_mutex_unlock(&d->mu);

	for (size_t i = 0; i < k; i++) {
		lb->names[i] = dura_workload_input(wl, seq0 + i, &lb->input[i]);
		dura_buf_reset(&lb->id[i]);
		dura_buf_printf(&lb->id[i], "%s%" PRIu64, d->prefix, seq0 + i);
		lb->ids[i] = (const char *)lb->id[i].data;
		lb->inputs[i] = lb->input[i].data;
		lb->lens[i] = lb->input[i].len;
	}

	for (size_t i = 0; i < k;) {
		size_t j = i + 1;
		while (j < k && strcmp(lb->names[j], lb->names[i]) == 0)
			j++;
		pthread_mutex_lock(&d->mu);
		uint64_t now = dura_now_ns(); /* just before the start call */
		for (size_t m = i; m < j; m++) {
			d->inst[seq0 + m].outcome = OUT_RUNNING;
			d->inst[seq0 + m].start_ns = now;
		}
		d->launched += j - i;
		d->in_flight += j - i;
		pthread_mutex_unlock(&d->mu);

		char err[512];
		if (dura_runtime_start_orchestrations(rt, j - i, lb->ids + i, lb->names[i],
		                                      lb->inputs + i, lb->lens + i, err,
		                                      sizeof err) != 0) {
			pthread_mutex_lock(&d->mu);
			for (size_t m = i; m < j; m++) {
				struct inst *in = &d->inst[seq0 + m];
				if (in->outcome != OUT_RUNNING)
					continue;
				in->outcome = DURA_OUTCOME_FAILED_INFRA;
				d->outcomes[DURA_OUTCOME_FAILED_INFRA]++;
				d->in_flight--;
				record_failure(d, "instance %s: start failed: %s", lb->ids[m], err);
			}
			pthread_mutex_unlock(&d->mu);
		}
		i = j;
	}
}

/* Blocks SIGINT and SIGTERM in the calling thread (old mask into *old) so
 * that the threads it creates next inherit the block: an interrupt handler
 * (see dura_run_params.stop) then runs on the launching thread only, and
 * the system calls of runtime and verification threads never fail with
 * EINTR because of it.  The caller restores *old right after creating. */
static void block_interrupts(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

static void restore_mask(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- verification ---- */

struct verifier {
	const struct driver *d;
	const struct dura_workload *wl;
	const struct dura_provider_ops *ops;
	dura_store *store;
	_Atomic uint64_t next;
	_Atomic uint64_t verified;
	_Atomic uint64_t failures;
	pthread_mutex_t mu;
	char first_error[512];
};

static void *verify_thread(void *arg)
{
	struct verifier *v = arg;
	char id[512], err[512];
	for (;;) {
		uint64_t seq = atomic_fetch_add(&v->next, 1);
		if (seq >= v->d->launched)
			break;
		if (v->d->inst[seq].outcome != DURA_OUTCOME_COMPLETED)
			continue;
		snprintf(id, sizeof id, "%s%" PRIu64, v->d->prefix, seq);
		err[0] = '\0';
		if (dura_workload_verify(v->wl, seq, id, v->ops, v->store, err, sizeof err) == 0) {
			atomic_fetch_add(&v->verified, 1);
			continue;
		}
		atomic_fetch_add(&v->failures, 1);
		pthread_mutex_lock(&v->mu);
		if (!v->first_error[0])
			snprintf(v->first_error, sizeof v->first_error, "%s",
			         err[0] ? err : "verification failed");
		pthread_mutex_unlock(&v->mu);
	}
	return NULL;
}

/* Verifies every completed instance (launching and callbacks are over, so
 * d is read without its lock). */
static void verify_all(const struct driver *d, const struct dura_workload *wl,
                       const struct dura_provider_ops *ops, dura_store *store,
                       struct dura_run_result *out)
{
	struct verifier v;
	memset(&v, 0, sizeof v);
	v.d = d;
	v.wl = wl;
	v.ops = ops;
	v.store = store;
	atomic_init(&v.next, 0);
	atomic_init(&v.verified, 0);
	atomic_init(&v.failures, 0);
	pthread_mutex_init(&v.mu, NULL);
	pthread_t th[VERIFY_THREADS];
	int started = 0;
	sigset_t old;
	block_interrupts(&old);
	for (int i = 0; i < VERIFY_THREADS; i++) {
		if (pthread_create(&th[i], NULL, verify_thread, &v) != 0)
			break;
		started++;
	}
	restore_mask(&old);
	if (started == 0)
		verify_thread(&v);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&v.mu);
	out->verified = atomic_load(&v.verified);
	out->verify_failures += atomic_load(&v.failures);
	if (!out->verify_error[0] && v.first_error[0])
		snprintf(out->verify_error, sizeof out->verify_error, "%s", v.first_error);
}

/* ---- the run ---- */

double dura_workload_bound(const struct dura_workload_def *wl, unsigned activity_workers)
{
	double bound = 0;
	double act = dura_workload_activities_per_instance(wl);
	/* W workers each run at most 1e6 / delay_us activities per second */
	if (act > 0 && wl->activity_delay_us > 0)
		bound = (double)activity_workers * 1e6 / (double)wl->activity_delay_us / act;
	/* Little's law: max_concurrent instances, none faster than the delays
	 * it must sit through in sequence (binds for timers, rarely else) */
	double lat = dura_workload_min_latency_us(wl);
	if (wl->rate <= 0 && lat > 0 && wl->max_concurrent > 0) {
		double little = (double)wl->max_concurrent * 1e6 / lat;
		if (bound == 0 || little < bound)
			bound = little;
	}
	if (wl->rate > 0 && bound > 0 && wl->rate < bound)
		bound = wl->rate;
	return bound;
}

static void get_provider_stats(const struct dura_provider_ops *ops, dura_store *store,
                               struct dura_stats *st, int *have)
{
	dura_rc (*fn)(dura_store *, struct dura_stats *) = DURA_OPT_OP(ops, stats);
	memset(st, 0, sizeof *st);
	st->struct_size = sizeof *st;
	*have = fn && fn(store, st) == DURA_OK;
}

static void stats_delta(struct dura_stats *after, const struct dura_stats *before)
{
#define D(f) after->f = after->f >= before->f ? after->f - before->f : 0
	D(round_trips); D(commits); D(empty_fetches); D(lock_conflicts); D(retries); D(reconnects);
#undef D
}

int dura_driver_run(const struct dura_provider_ops *ops, dura_store *store,
                    const struct dura_run_params *p, struct dura_run_result *out,
                    char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!p->workload) {
		dura_errbuf(err, errlen, "no workload given");
		return -1;
	}
	const struct dura_workload_def *wd = p->workload;
	struct dura_workload *wl;
	if (dura_workload_new(wd, &wl, err, errlen) != 0)
		return -1;
	struct dura_registry *reg = dura_registry_new();
	dura_workload_register(wl, reg);

	struct driver d;
	memset(&d, 0, sizeof d);
	pthread_mutex_init(&d.mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* matches wait_until */
	pthread_cond_init(&d.cv, &ca);
	pthread_condattr_destroy(&ca);
	d.prefix = p->instance_prefix ? p->instance_prefix : "";
	d.prefix_len = strlen(d.prefix);
	d.latency_ns = dura_histogram_new();
	/* nothing is in the window until the launch loop sets it */
	d.win_start_ns = UINT64_MAX;

	struct dura_stats pstats_before;
	int have_before = 0;
	get_provider_stats(ops, store, &pstats_before, &have_before);

	struct dura_runtime_config cfg;
	dura_runtime_config_defaults(&cfg);
	cfg.orch_workers = p->orch_workers ? p->orch_workers : 1;
	cfg.activity_workers = p->activity_workers ? p->activity_workers : 1;
	cfg.activity_batch = p->activity_batch ? p->activity_batch : 1;
	struct dura_runtime *rt = NULL;
	sigset_t old_mask;
	block_interrupts(&old_mask);
	int rt_rc = dura_runtime_start(ops, store, reg, &cfg, on_complete, &d, &rt, err, errlen);
	restore_mask(&old_mask);
	if (rt_rc != 0) {
		dura_registry_free(reg);
		dura_workload_free(wl);
		dura_histogram_free(d.latency_ns);
		pthread_cond_destroy(&d.cv);
		pthread_mutex_destroy(&d.mu);
		return -1;
	}

	struct dura_progress *pg = dura_progress_new(p->label, p->progress);
	uint64_t duration_ns = p->duration_ms * 1000000u;
	uint64_t warmup_ns = p->warmup_ms < p->duration_ms ? p->warmup_ms * 1000000u : 0;
	double total_s = (double)p->duration_ms / 1e3;
	unsigned max_conc = wd->max_concurrent ? wd->max_concurrent : 1;
	struct launch_bufs lb = { 0 };
	double cpu0 = cpu_ms();
	uint64_t t0 = dura_now_ns(), end = t0 + duration_ns;
	pthread_mutex_lock(&d.mu);
	d.win_start_ns = t0 + warmup_ns;
	d.win_end_ns = end;
	pthread_mutex_unlock(&d.mu);

	/* activities in the window: the workload counts executions; sample it
	 * when the window opens and closes */
	uint64_t act_at_start = 0, act_at_end = 0;
	int window_open = warmup_ns == 0;
	uint64_t open_loop_n = 0;
	uint64_t stopped_at = 0; /* when *p->stop ended launching, 0 if it did not */
	for (;;) {
		uint64_t now = dura_now_ns();
		if (!window_open && now >= t0 + warmup_ns) {
			act_at_start = dura_workload_activities_run(wl);
			window_open = 1;
		}
		if (now >= end)
			break;
		pthread_mutex_lock(&d.mu);
		if (p->stop && *p->stop) {
			/* The window closes now, under mu, so on_complete counts
			 * exactly the completions before this moment in it. */
			stopped_at = dura_now_ns();
			if (stopped_at < d.win_end_ns)
				d.win_end_ns = stopped_at;
			pthread_mutex_unlock(&d.mu);
			break;
		}
		progress(&d, pg, "run", t0, total_s, 0);
		uint64_t next_wake = now + 100000000u; /* 100 ms: progress, warmup edge */
		if (!window_open && t0 + warmup_ns < next_wake)
			next_wake = t0 + warmup_ns;
		if (next_wake > end)
			next_wake = end;
		size_t go; /* instances to start now */
		if (wd->rate > 0) {
			uint64_t due = t0 + (uint64_t)((double)open_loop_n * 1e9 / wd->rate);
			go = now >= due;
			if (!go && due < next_wake)
				next_wake = due;
		} else {
			/* every free slot at once: one start call refills them all */
			go = d.in_flight < max_conc ? (size_t)(max_conc - d.in_flight) : 0;
		}
		if (!go) {
			wait_until(&d, next_wake);
			pthread_mutex_unlock(&d.mu);
			continue;
		}
		pthread_mutex_unlock(&d.mu);
		launch_many(&d, rt, wl, &lb, go);
		open_loop_n += go;
	}
	act_at_end = dura_workload_activities_run(wl);
	if (!window_open)
		act_at_start = act_at_end;

	/* drain */
	pthread_mutex_lock(&d.mu);
	uint64_t launch_end = dura_now_ns();
	out->in_flight_at_end = d.in_flight;
	uint64_t drain_deadline = launch_end + p->drain_timeout_ms * 1000000u;
	while (d.in_flight > 0 && dura_now_ns() < drain_deadline &&
	       !(p->stop && *p->stop >= 2)) {
		progress(&d, pg, "drain", t0, total_s, 0);
		uint64_t w = dura_now_ns() + 100000000u;
		wait_until(&d, w < drain_deadline ? w : drain_deadline);
	}
	uint64_t drained_at = d.in_flight > 0 ? dura_now_ns()
	                      : (d.last_completion_ns > launch_end ? d.last_completion_ns : launch_end);
	out->drain_ms = (double)(drained_at - launch_end) / 1e6;
	/* whatever is still running now timed out; later callbacks are ignored */
	d.closed = 1;
	for (uint64_t i = 0; i < d.launched; i++)
		if (d.inst[i].outcome == OUT_RUNNING) {
			d.inst[i].outcome = OUT_TIMEOUT;
			d.outcomes[OUT_TIMEOUT]++;
		}
	if (d.outcomes[OUT_TIMEOUT] > 0)
		record_failure(&d, "%" PRIu64 " instance(s) still running after the drain timeout",
		               d.outcomes[OUT_TIMEOUT]);
	d.in_flight = 0;
	progress(&d, pg, "drain", t0, total_s, 1);
	pthread_mutex_unlock(&d.mu);
	double cpu_used = cpu_ms() - cpu0;

	dura_runtime_get_stats(rt, &out->runtime_stats);
	dura_runtime_stop(rt);
	dura_progress_done(pg);

	int have_after = 0;
	get_provider_stats(ops, store, &out->provider_stats, &have_after);
	if (have_after && have_before)
		stats_delta(&out->provider_stats, &pstats_before);
	out->have_provider_stats = have_after;

	/* results (no other thread touches d any more) */
	out->launched = d.launched;
	out->completed = d.outcomes[DURA_OUTCOME_COMPLETED];
	out->failed_app = d.outcomes[DURA_OUTCOME_FAILED_APP];
	out->failed_config = d.outcomes[DURA_OUTCOME_FAILED_CONFIG];
	out->failed_infra = d.outcomes[DURA_OUTCOME_FAILED_INFRA];
	out->timed_out = d.outcomes[OUT_TIMEOUT];
	out->success_pct = d.launched ? 100.0 * (double)out->completed / (double)d.launched : 0;
	/* [warmup, duration], or [warmup, stop] when interrupted (possibly
	 * empty: a rate over no time is unknown, not 0) */
	out->interrupted = stopped_at != 0;
	out->interrupted_after_s = stopped_at ? (double)(stopped_at - t0) / 1e9 : 0;
	out->window_s = d.win_end_ns > d.win_start_ns
		? (double)(d.win_end_ns - d.win_start_ns) / 1e9 : 0;
	double no_rate = out->interrupted ? NAN : 0;
	out->window_completed = d.window_completed;
	out->window_activities = act_at_end - act_at_start;
	out->orch_per_sec = out->window_s > 0 ? (double)d.window_completed / out->window_s : no_rate;
	out->activities_per_sec =
		out->window_s > 0 ? (double)out->window_activities / out->window_s : no_rate;
	out->bound_orch_per_sec = dura_workload_bound(wd, cfg.activity_workers);
	out->bound_fraction =
		out->bound_orch_per_sec > 0 ? out->orch_per_sec / out->bound_orch_per_sec : 0;
	out->latency.count = dura_histogram_count(d.latency_ns);
	out->latency.avg_ms = dura_histogram_mean(d.latency_ns) / 1e6;
	out->latency.p50_ms = dura_histogram_percentile(d.latency_ns, 50) / 1e6;
	out->latency.p95_ms = dura_histogram_percentile(d.latency_ns, 95) / 1e6;
	out->latency.p99_ms = dura_histogram_percentile(d.latency_ns, 99) / 1e6;
	out->latency.max_ms = (double)dura_histogram_max(d.latency_ns) / 1e6;
	out->cpu_ms_per_orch = out->completed ? cpu_used / (double)out->completed : 0;
	out->late_completions = d.late;
	snprintf(out->first_failure, sizeof out->first_failure, "%s", d.first_failure);

	if (d.duplicates) {
		out->verify_failures += d.duplicates;
		snprintf(out->verify_error, sizeof out->verify_error, "%s", d.duplicate_msg);
	}
	struct dura_progress *vpg = dura_progress_new(p->label, p->progress);
	dura_progress_update(vpg, "verify", (double)(dura_now_ns() - t0) / 1e9, total_s,
	                     d.launched, out->completed, d.launched - out->completed, 0, 1);
	verify_all(&d, wl, ops, store, out);
	dura_progress_done(vpg);

	launch_bufs_free(&lb);
	free(d.inst);
	dura_histogram_free(d.latency_ns);
	pthread_cond_destroy(&d.cv);
	pthread_mutex_destroy(&d.mu);
	dura_registry_free(reg);
	dura_workload_free(wl);
	return 0;
}
