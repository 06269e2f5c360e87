/*
 * The driver's shared state (struct driver, see driver_int.h): the
 * completion callback that classifies every instance exactly once and
 * stamps its latency, and the small helpers the phases share.
 */
#include "config.h"

#include "driver_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/util.h"

void dura_drv_init(struct driver *d, const char *prefix)
{
	memset(d, 0, sizeof *d);
	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* matches dura_drv_wait_until */
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	d->prefix = prefix ? prefix : "";
	d->prefix_len = strlen(d->prefix);
	d->interval_ns = dura_histogram_new();
	/* nothing is in the window until the launch loop sets it */
	d->win_start_ns = UINT64_MAX;
}

void dura_drv_destroy(struct driver *d)
{
	free(d->inst);
	dura_histogram_free(d->interval_ns);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
}

/* Keeps the first failure text and its category (caller holds mu). */
void dura_drv_record_failure(struct driver *d, const char *category, const char *fmt, ...)
{
	if (d->first_failure[0])
		return;
	snprintf(d->first_failure_category, sizeof d->first_failure_category, "%s", category);
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
	case DURA_OUTCOME_FAILED_CORRUPT: return "corrupt";
	case DURA_DRV_TIMEOUT: return "timeout";
	default: return "?";
	}
}

void dura_drv_on_complete(void *arg, const char *instance, enum dura_outcome outcome,
                          const uint8_t *output, size_t output_len)
{
	dura_drv_complete(arg, instance, outcome, UINT64_MAX, output, output_len);
}

void dura_drv_on_feed(void *arg, const char *instance, enum dura_outcome outcome,
                      uint64_t latency_ns, const char *text)
{
	dura_drv_complete(arg, instance, outcome, latency_ns, (const uint8_t *)text, strlen(text));
}

void dura_drv_complete(struct driver *d, const char *instance, enum dura_outcome outcome,
                       uint64_t latency_ns, const uint8_t *output, size_t output_len)
{
	uint64_t now = dura_now_ns(), seq;
	if (parse_seq(d, instance, &seq) != 0)
		return;
	int o = (int)outcome;
	if (o < DURA_OUTCOME_COMPLETED || o > DURA_OUTCOME_FAILED_CORRUPT)
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
	struct dura_inst_record *in = &d->inst[seq];
	if (in->outcome != DURA_DRV_RUNNING) {
		/* the runtime reported this instance twice: never count it again,
		 * but make the run fail verification */
		if (d->duplicates++ == 0)
			snprintf(d->duplicate_msg, sizeof d->duplicate_msg,
			         "instance %s: terminal completion reported twice (%s, then %s%s%.*s)",
			         instance, outcome_name(in->outcome), outcome_name(o),
			         o != DURA_OUTCOME_COMPLETED && output_len ? ": " : "",
			         o != DURA_OUTCOME_COMPLETED ? (int)(output_len > 160 ? 160 : output_len) : 0,
			         output ? (const char *)output : "");
		pthread_mutex_unlock(&d->mu);
		return;
	}
	in->outcome = (int8_t)o;
	in->end_ns = now;
	d->in_flight--;
	d->outcomes[o]++;
	d->last_completion_ns = now;
	if (o == DURA_OUTCOME_COMPLETED) {
		if (now >= d->win_start_ns && now <= d->win_end_ns)
			d->window_completed++;
		/* kept per instance: the report takes exact percentiles over the
		 * completions the steady window counts (steady_state.c) */
		uint64_t lat = latency_ns != UINT64_MAX ? latency_ns : now - in->start_ns;
		in->latency_ns = lat;
		dura_histogram_record(d->interval_ns, lat);
	} else {
		dura_drv_record_failure(d, outcome_name(o), "instance %s failed (%s): %.*s", instance,
		                        outcome_name(o), (int)(output_len > 300 ? 300 : output_len),
		                        output ? (const char *)output : "");
	}
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/* Waits on the condition variable until deadline_ns at the latest (mu held). */
void dura_drv_wait_until(struct driver *d, uint64_t deadline_ns)
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

/* A progress line when one is due (caller holds mu): the phase on its own
 * clock, and the latency of what completed since the previous line. */
void dura_drv_progress(struct driver_run *r, const char *phase, int force)
{
	struct driver *d = &r->d;
	if (!force && !dura_progress_due(r->pg))
		return;
	int lat = dura_histogram_count(d->interval_ns) > 0;
	struct dura_progress_figures f = {
		.phase = phase,
		.phase_elapsed_s = (double)(dura_now_ns() - r->phase_start_ns) / 1e9,
		.phase_total_s = r->phase_total_s,
		.launched = d->launched,
		.completed = d->outcomes[DURA_OUTCOME_COMPLETED],
		.failed = d->outcomes[DURA_OUTCOME_FAILED_APP] +
		          d->outcomes[DURA_OUTCOME_FAILED_CONFIG] +
		          d->outcomes[DURA_OUTCOME_FAILED_INFRA] +
		          d->outcomes[DURA_OUTCOME_FAILED_CORRUPT],
		.in_flight = d->in_flight,
		.p50_ms = lat ? dura_histogram_percentile(d->interval_ns, 50) / 1e6 : NAN,
		.p99_ms = lat ? dura_histogram_percentile(d->interval_ns, 99) / 1e6 : NAN,
	};
	if (dura_progress_show(r->pg, &f, force))
		dura_histogram_reset(d->interval_ns);
}

double dura_drv_cpu_ms(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
	       (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

/* Blocks SIGINT and SIGTERM in the calling thread (old mask into *old) so
 * that the threads it creates next inherit the block: an interrupt handler
 * (see dura_run_params.stop) then runs on the launching thread only, and
 * the system calls of runtime and verification threads never fail with
 * EINTR because of it.  The caller restores *old right after creating. */
void dura_drv_block_interrupts(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

void dura_drv_restore_mask(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}
