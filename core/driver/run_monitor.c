/* The sampler and fault threads of a run (run_monitor.h). */
#include "config.h"

#include "run_monitor.h"
#include "driver.h"
#include "base/util.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dura_run_monitor {
	pthread_mutex_t mu;
	pthread_cond_t cv;         /* CLOCK_MONOTONIC; signalled by finish */
	int finishing;             /* under mu */
	uint64_t t0_ns, interval_ns;

	void (*sample)(void *, struct dura_timeline_sample *);
	void *sample_arg;
	struct dura_timeline_sample *samples; /* owned until finish hands them over */
	size_t n_samples, cap_samples;
	pthread_t sampler;
	int sampler_started;

	const struct dura_fault_plan *plan;
	struct dura_fault_result *results;    /* [plan->n], owned */
	pthread_t faulter;
	int faulter_started;
};

/* Sleeps until deadline_ns or finish.  Returns 1 when finishing. */
static int sleep_until(struct dura_run_monitor *m, uint64_t deadline_ns)
{
	pthread_mutex_lock(&m->mu);
	while (!m->finishing && dura_now_ns() < deadline_ns) {
		struct timespec ts;
		ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
		ts.tv_nsec = (long)(deadline_ns % 1000000000u);
		pthread_cond_timedwait(&m->cv, &m->mu, &ts);
	}
	int fin = m->finishing;
	pthread_mutex_unlock(&m->mu);
	return fin;
}

static void take_sample(struct dura_run_monitor *m)
{
	if (m->n_samples == m->cap_samples) {
		m->cap_samples = m->cap_samples ? m->cap_samples * 2 : 64;
		m->samples = dura_xrealloc(m->samples, m->cap_samples * sizeof *m->samples);
	}
	struct dura_timeline_sample *s = &m->samples[m->n_samples++];
	memset(s, 0, sizeof *s);
	s->t_ns = dura_now_ns();
	m->sample(m->sample_arg, s);
}

static void *sampler_main(void *arg)
{
	struct dura_run_monitor *m = arg;
	take_sample(m);
	for (uint64_t k = 1;; k++) {
		if (sleep_until(m, m->t0_ns + k * m->interval_ns))
			break;
		take_sample(m);
	}
	take_sample(m); /* launching ended: the last, partial interval */
	return NULL;
}

static double rel_s(const struct dura_run_monitor *m, uint64_t t)
{
	return (double)(t - m->t0_ns) / 1e9;
}

static void *faulter_main(void *arg)
{
	struct dura_run_monitor *m = arg;
	const struct dura_fault_plan *plan = m->plan;
	int finishing = 0;
	for (size_t i = 0; i < plan->n && !finishing; i++) {
		const struct dura_fault_step *st = &plan->steps[i];
		struct dura_fault_result *res = &m->results[i];
		if (sleep_until(m, m->t0_ns + st->at_ms * 1000000u))
			break;
		res->begin_s = rel_s(m, dura_now_ns());
		if (plan->begin(plan->arg, i, res->error, sizeof res->error) != 0) {
			res->end_s = rel_s(m, dura_now_ns());
			continue;
		}
		res->applied = 1;
		if (st->for_ms > 0) {
			/* a run that ends early still gets its network and server back */
			finishing = sleep_until(m, m->t0_ns + (st->at_ms + st->for_ms) * 1000000u);
			char err[256] = "";
			if (plan->end(plan->arg, i, err, sizeof err) != 0 && !res->error[0])
				snprintf(res->error, sizeof res->error, "lifting it: %s", err);
		}
		res->end_s = rel_s(m, dura_now_ns());
	}
	return NULL;
}

struct dura_run_monitor *dura_run_monitor_start(
	uint64_t t0_ns, uint64_t interval_ns,
	void (*sample)(void *arg, struct dura_timeline_sample *s), void *sample_arg,
	const struct dura_fault_plan *plan)
{
	if (interval_ns == 0 && (!plan || plan->n == 0))
		return NULL;
	/* Owned by the caller until dura_run_monitor_finish frees it. */
	struct dura_run_monitor *m = dura_xcalloc(1, sizeof *m);
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* dura_now_ns's clock */
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	m->t0_ns = t0_ns;
	m->interval_ns = interval_ns;
	m->sample = sample;
	m->sample_arg = sample_arg;
	m->plan = plan && plan->n ? plan : NULL;
	if (m->plan) {
		m->results = dura_xcalloc(plan->n, sizeof *m->results);
		for (size_t i = 0; i < plan->n; i++) {
			m->results[i].begin_s = m->results[i].end_s = NAN;
		}
		m->faulter_started = pthread_create(&m->faulter, NULL, faulter_main, m) == 0;
		if (!m->faulter_started)
			for (size_t i = 0; i < plan->n; i++)
				snprintf(m->results[i].error, sizeof m->results[i].error,
				         "cannot start the fault thread");
	}
	if (interval_ns > 0 && sample)
		m->sampler_started = pthread_create(&m->sampler, NULL, sampler_main, m) == 0;
	return m;
}

void dura_run_monitor_finish(struct dura_run_monitor *m, struct dura_timeline_sample **samples,
                             size_t *n_samples, struct dura_fault_result *results)
{
	*samples = NULL;
	*n_samples = 0;
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->finishing = 1;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	if (m->faulter_started)
		pthread_join(m->faulter, NULL);
	if (m->sampler_started)
		pthread_join(m->sampler, NULL);
	if (m->plan) {
		for (size_t i = 0; i < m->plan->n; i++) {
			const struct dura_fault_step *st = &m->plan->steps[i];
			struct dura_fault_result *r = &m->results[i];
			r->name = st->name;
			r->action = st->action;
			r->at_s = (double)st->at_ms / 1e3;
			r->for_s = (double)st->for_ms / 1e3;
			if (!r->applied && !r->error[0] && isnan(r->begin_s))
				snprintf(r->error, sizeof r->error, "not applied: the run ended first");
			results[i] = *r;
		}
	}
	*samples = m->samples;
	*n_samples = m->n_samples;
	free(m->results);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

void dura_run_result_release(struct dura_run_result *r)
{
	free(r->timeline);
	free(r->faults);
	r->timeline = NULL;
	r->faults = NULL;
	r->n_timeline = r->n_faults = 0;
}
