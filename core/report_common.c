/* What the Markdown and JSON reports compute alike: comparison rows
 * (repeats averaged), failure totals, option masking. */
#include "config.h"

#include "report.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "url.h"
#include "util.h"

uint64_t dura_report_failed(const struct dura_run_result *x)
{
	return x->failed_infra + x->failed_config + x->failed_app + x->timed_out;
}

double dura_report_round_trips_per_orch(const struct dura_run_result *x)
{
	if (!x->have_provider_stats || x->completed == 0)
		return NAN;
	return (double)x->provider_stats.round_trips / (double)x->completed;
}

static double ratio(double a, double b)
{
	return b > 0 && isfinite(a) && isfinite(b) ? a / b : NAN;
}

struct side {
	unsigned n;
	double orch, p50, p99, success;
};

static void add_run(struct side *s, const struct dura_run_result *x)
{
	s->n++;
	s->orch += x->orch_per_sec;
	s->p50 += x->latency.p50_ms;
	s->p99 += x->latency.p99_ms;
	s->success += x->success_pct;
}

static void average(struct side *s)
{
	if (s->n == 0) {
		s->orch = s->p50 = s->p99 = s->success = NAN;
		return;
	}
	s->orch /= s->n;
	s->p50 /= s->n;
	s->p99 /= s->n;
	s->success /= s->n;
}

size_t dura_report_compare_rows(const struct dura_report *r, const struct dura_compare_def *c,
                                struct dura_compare_row **rows)
{
	size_t n = 0;
	*rows = dura_xcalloc(r->n_runs ? r->n_runs : 1, sizeof **rows);
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		if (!run->provider || (strcmp(run->provider, c->subject) != 0 &&
		                       strcmp(run->provider, c->baseline) != 0))
			continue;
		size_t k;
		for (k = 0; k < n; k++)
			if ((*rows)[k].orch_workers == run->orch_workers &&
			    (*rows)[k].activity_workers == run->activity_workers)
				break;
		if (k < n)
			continue;
		struct dura_compare_row *row = &(*rows)[n++];
		row->orch_workers = run->orch_workers;
		row->activity_workers = run->activity_workers;
		struct side sub = { 0 }, base = { 0 };
		for (size_t j = 0; j < r->n_runs; j++) {
			const struct dura_report_run *o = &r->runs[j];
			if (!o->ran || !o->provider || o->orch_workers != run->orch_workers ||
			    o->activity_workers != run->activity_workers)
				continue;
			/* subject == baseline would be silly but must not crash */
			if (strcmp(o->provider, c->subject) == 0)
				add_run(&sub, &o->result);
			if (strcmp(o->provider, c->baseline) == 0)
				add_run(&base, &o->result);
		}
		average(&sub);
		average(&base);
		row->subject_runs = sub.n;
		row->baseline_runs = base.n;
		row->subject_orch_per_sec = sub.orch;
		row->baseline_orch_per_sec = base.orch;
		row->subject_p50_ms = sub.p50;
		row->baseline_p50_ms = base.p50;
		row->subject_p99_ms = sub.p99;
		row->baseline_p99_ms = base.p99;
		row->subject_success_pct = sub.success;
		row->baseline_success_pct = base.success;
		row->throughput_ratio = ratio(sub.orch, base.orch);
		row->latency_p50_ratio = ratio(sub.p50, base.p50);
		row->latency_p99_ratio = ratio(sub.p99, base.p99);
	}
	return n;
}

static int secret_key(const char *key)
{
	static const char *const words[] = { "pass", "secret", "token", "credential" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasestr(key, words[i]))
			return 1;
	return 0;
}

char *dura_report_option_display(const char *key, const char *value)
{
	if (!value)
		return dura_xstrdup("");
	if (key && secret_key(key))
		return dura_xstrdup("***");
	return dura_url_mask(value);
}
