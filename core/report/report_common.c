/* What the report writers compute and print alike: comparison rows
 * (repeats averaged), failure totals, per-run figures and their null
 * conditions, dates, number and Markdown cell formatting, option masking,
 * writing a report file. */
#include "config.h"

#include "report.h"
#include "report_stats.h"

#include <ctype.h>
#include <inttypes.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/mask.h"
#include "base/json.h" /* dura_utf8_len */
#include "base/url.h"
#include "base/util.h"

uint64_t dura_report_failed(const struct dura_run_result *x)
{
	return x->failed_infra + x->failed_corrupt + x->failed_config + x->failed_app +
	       x->timed_out;
}

double dura_report_round_trips_per_orch(const struct dura_run_result *x)
{
	if (!x->have_provider_stats || x->completed == 0)
		return NAN;
	return (double)x->provider_stats.round_trips / (double)x->completed;
}

void dura_report_run_figures(const struct dura_report_run *run, struct dura_report_figures *v)
{
	const struct dura_run_result *x = &run->result;
	int lat = x->latency.count > 0;
	v->success_pct = run->ran ? x->success_pct : NAN;
	v->orch_per_sec = run->ran ? x->orch_per_sec : NAN;
	v->activities_per_sec = run->ran ? x->activities_per_sec : NAN;
	v->bound_orch_per_sec = x->bound_orch_per_sec > 0 ? x->bound_orch_per_sec : NAN;
	v->bound_fraction = run->ran && x->bound_orch_per_sec > 0 ? x->bound_fraction : NAN;
	v->p50_ms = lat ? x->latency.p50_ms : NAN;
	v->p95_ms = lat ? x->latency.p95_ms : NAN;
	v->p99_ms = lat ? x->latency.p99_ms : NAN;
	v->avg_ms = lat ? x->latency.avg_ms : NAN;
	v->max_ms = lat ? x->latency.max_ms : NAN;
	v->round_trips_per_orch = dura_report_round_trips_per_orch(x);
	v->cpu_ms_per_orch = x->completed ? x->cpu_ms_per_orch : NAN;
}

void dura_report_config_string(char *buf, size_t len, unsigned orch_workers,
                               unsigned activity_workers)
{
	snprintf(buf, len, "%u:%u", orch_workers, activity_workers);
}

void dura_report_date(const struct dura_report *r, enum dura_report_date_style style,
                      char *buf, size_t len)
{
	time_t t = (time_t)r->started_at;
	struct tm tm;
	snprintf(buf, len, "%s", style == DURA_DATE_ISO ? "" : "unknown");
	if (r->started_at <= 0 || !gmtime_r(&t, &tm))
		return;
	if (style == DURA_DATE_ISO)
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

void dura_report_fmt_number(char *buf, size_t len, double v, int decimals, int sign,
                            const char *unit)
{
	if (!isfinite(v))
		snprintf(buf, len, "n/a");
	else if (sign)
		snprintf(buf, len, "%+.*f%s", decimals, v, unit);
	else
		snprintf(buf, len, "%.*f%s", decimals, v, unit);
}

unsigned dura_report_repeats(const struct dura_report *r)
{
	unsigned m = 0;
	for (size_t i = 0; i < r->n_runs; i++)
		if (r->runs[i].repeat_index + 1 > m)
			m = r->runs[i].repeat_index + 1;
	return m;
}

void dura_report_run_problem(char *buf, size_t len, const struct dura_report_run *run)
{
	const struct dura_run_result *x = &run->result;
	buf[0] = '\0';
	if (!run->ran)
		snprintf(buf, len, "did not run: %s", run->error);
	else if (x->verify_failures)
		snprintf(buf, len, "VERIFICATION FAILED (%" PRIu64 "): %s", x->verify_failures,
		         x->verify_error);
	else if (dura_report_failed(x))
		snprintf(buf, len, "%" PRIu64 " of %" PRIu64 " instances did not complete; "
		         "first failure [%s]: %s", dura_report_failed(x), x->launched,
		         x->first_failure_category[0] ? x->first_failure_category : "?",
		         x->first_failure);
	else if (x->unverified)
		snprintf(buf, len, "%" PRIu64 " instance(s) unverified (%s)", x->unverified,
		         x->unverified_reason);
	else if (x->abandoned_threads)
		snprintf(buf, len, "%u runtime thread(s) never returned from a provider call "
		         "(abandoned after stop_timeout; the store was left open)",
		         x->abandoned_threads);
}

const char *dura_report_compare_verdict(const struct dura_compare_row *w)
{
	if (w->no_difference < 0)
		return "too few repeats";
	if (w->no_difference)
		return "no difference detected";
	return w->throughput_ratio_ci[0] > 1.0 ? "subject faster" : "subject slower";
}

/* "102.3 (95.1–110.2)": median and range, "n/a" when unknown. */
void dura_report_fmt_median_range(char *buf, size_t len, double med, double lo, double hi,
                                  int decimals, const char *unit)
{
	if (!isfinite(med) || !isfinite(lo) || !isfinite(hi))
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.*f%s (%.*f\u2013%.*f)", decimals, med, unit, decimals, lo,
		         decimals, hi);
}

static void fmt_median_spread(char *buf, size_t len, double med, double lo, double hi,
                              double spread, int decimals, const char *unit)
{
	dura_report_fmt_median_range(buf, len, med, lo, hi, decimals, unit);
	size_t used = strlen(buf);
	if (isfinite(med) && isfinite(spread) && used < len)
		snprintf(buf + used, len - used, " \u00b1%.1f %%", 100.0 * spread);
}

void dura_report_fmt_pair_summary(const struct dura_pair_summary *s, struct dura_pair_text *t)
{
	fmt_median_spread(t->orch, sizeof t->orch, s->orch_median, s->orch_lo, s->orch_hi,
	                  s->orch_spread, 1, "");
	fmt_median_spread(t->p50, sizeof t->p50, s->p50_median, s->p50_lo, s->p50_hi,
	                  s->p50_spread, 2, " ms");
	fmt_median_spread(t->p99, sizeof t->p99, s->p99_median, s->p99_lo, s->p99_hi,
	                  s->p99_spread, 2, " ms");
}

void dura_report_fmt_interval(char *buf, size_t len, const double ci[2])
{
	if (!isfinite(ci[0]) || !isfinite(ci[1]))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "[%.2f, %.2f]", ci[0], ci[1]);
}

void dura_report_xml_text(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	while (*s) {
		unsigned c = *s;
		if (c == '&') fputs("&amp;", f);
		else if (c == '<') fputs("&lt;", f);
		else if (c == '>') fputs("&gt;", f);
		else if (c == '"') fputs("&quot;", f);
		else if (c == '\'') fputs("&apos;", f);
		else if (c < 0x20 || c == 0x7f) fputc('?', f);
		else if (c < 0x80) fputc((int)c, f);
		else {
			/* a valid 2-4 byte sequence passes, anything else is '?' */
			size_t n = dura_utf8_len(s, SIZE_MAX);
			if (n == 0) {
				fputc('?', f);
				s++;
				continue;
			}
			fwrite(s, 1, n, f);
			s += n;
			continue;
		}
		s++;
	}
}

void dura_report_md_cell(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

int dura_report_write_file(const struct dura_report *r, const char *path,
                           void (*write_fn)(FILE *f, const struct dura_report *r),
                           char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : dura_mask_fopen(path);
	if (!f) {
		dura_errbuf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	write_fn(f, r);
	int bad = fflush(f) != 0 || ferror(f);
	if (f != stdout && fclose(f) != 0)
		bad = 1;
	if (bad) {
		dura_errbuf(err, errlen, "%s: write failed: %s",
		            f == stdout ? "standard output" : path, strerror(errno));
		return -1;
	}
	return 0;
}

static double ratio(double a, double b)
{
	return b > 0 && isfinite(a) && isfinite(b) ? a / b : NAN;
}

/* The repeats of one side of a comparison row (runs that ran). */
struct side {
	unsigned n;
	double *orch, *p50, *p99, *success;  /* n values each, owned */
};

static void side_add(struct side *s, const struct dura_run_result *x, size_t cap)
{
	if (!s->orch) {
		s->orch = dura_xcalloc(cap, sizeof *s->orch);
		s->p50 = dura_xcalloc(cap, sizeof *s->p50);
		s->p99 = dura_xcalloc(cap, sizeof *s->p99);
		s->success = dura_xcalloc(cap, sizeof *s->success);
	}
	s->orch[s->n] = x->orch_per_sec;
	s->p50[s->n] = x->latency.count ? x->latency.p50_ms : NAN;
	s->p99[s->n] = x->latency.count ? x->latency.p99_ms : NAN;
	s->success[s->n] = x->success_pct;
	s->n++;
}

static double mean(const double *v, unsigned n)
{
	double t = 0;
	for (unsigned i = 0; i < n; i++)
		t += v[i];
	return n ? t / n : NAN;
}

static void side_free(struct side *s)
{
	free(s->orch);
	free(s->p50);
	free(s->p99);
	free(s->success);
}

/* Averages, ratios and intervals of a row from both sides' repeats. */
static void fill_row(struct dura_compare_row *row, const struct side *sub, const struct side *base)
{
	row->subject_runs = sub->n;
	row->baseline_runs = base->n;
	row->subject_orch_per_sec = mean(sub->orch, sub->n);
	row->baseline_orch_per_sec = mean(base->orch, base->n);
	row->subject_p50_ms = mean(sub->p50, sub->n);
	row->baseline_p50_ms = mean(base->p50, base->n);
	row->subject_p99_ms = mean(sub->p99, sub->n);
	row->baseline_p99_ms = mean(base->p99, base->n);
	row->subject_success_pct = mean(sub->success, sub->n);
	row->baseline_success_pct = mean(base->success, base->n);
	row->throughput_ratio = ratio(row->subject_orch_per_sec, row->baseline_orch_per_sec);
	row->latency_p50_ratio = ratio(row->subject_p50_ms, row->baseline_p50_ms);
	row->latency_p99_ratio = ratio(row->subject_p99_ms, row->baseline_p99_ms);
	dura_stats_ratio_ci(sub->orch, sub->n, base->orch, base->n, row->throughput_ratio_ci);
	dura_stats_ratio_ci(sub->p50, sub->n, base->p50, base->n, row->latency_p50_ratio_ci);
	dura_stats_ratio_ci(sub->p99, sub->n, base->p99, base->n, row->latency_p99_ratio_ci);
	const double *ci = row->throughput_ratio_ci;
	row->no_difference = !isfinite(ci[0]) ? -1 : ci[0] <= 1.0 && ci[1] >= 1.0;
}

static void median_range(double *v, size_t n, double *med, double *lo, double *hi,
                         double *spread)
{
	dura_stats_range(v, n, lo, hi);
	*med = dura_stats_median(v, n);
	*spread = n >= 2 && *med > 0 ? (*hi - *lo) / *med : NAN;
}

void dura_report_pair_summary(const struct dura_report *r, const char *provider,
                              unsigned orch_workers, unsigned activity_workers,
                              struct dura_pair_summary *s)
{
	size_t cap = r->n_runs ? r->n_runs : 1, n = 0, n_lat = 0;
	double *orch = dura_xcalloc(cap, sizeof *orch);
	double *p50 = dura_xcalloc(cap, sizeof *p50);
	double *p99 = dura_xcalloc(cap, sizeof *p99);
	for (size_t j = 0; j < r->n_runs; j++) {
		const struct dura_report_run *o = &r->runs[j];
		if (!o->ran || !o->provider || strcmp(o->provider, provider) != 0 ||
		    o->orch_workers != orch_workers || o->activity_workers != activity_workers)
			continue;
		orch[n++] = o->result.orch_per_sec;
		if (o->result.latency.count) {
			p50[n_lat] = o->result.latency.p50_ms;
			p99[n_lat++] = o->result.latency.p99_ms;
		}
	}
	s->runs = n;
	median_range(orch, n, &s->orch_median, &s->orch_lo, &s->orch_hi, &s->orch_spread);
	median_range(p50, n_lat, &s->p50_median, &s->p50_lo, &s->p50_hi, &s->p50_spread);
	median_range(p99, n_lat, &s->p99_median, &s->p99_lo, &s->p99_hi, &s->p99_spread);
	free(orch);
	free(p50);
	free(p99);
}

const struct dura_report_run *dura_report_next_pair(const struct dura_report *r, size_t *i,
                                                    struct dura_pair_summary *s)
{
	for (; *i < r->n_runs; (*i)++) {
		const struct dura_report_run *run = &r->runs[*i];
		if (run->repeat_index != 0 || !run->provider)
			continue;
		dura_report_pair_summary(r, run->provider, run->orch_workers, run->activity_workers, s);
		(*i)++;
		return run;
	}
	return NULL;
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
				side_add(&sub, &o->result, r->n_runs);
			if (strcmp(o->provider, c->baseline) == 0)
				side_add(&base, &o->result, r->n_runs);
		}
		fill_row(row, &sub, &base);
		side_free(&sub);
		side_free(&base);
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
