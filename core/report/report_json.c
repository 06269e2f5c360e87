/* The JSON report (fields listed in docs/reporting.md; their names are an
 * interface: add fields freely, never rename or remove one), built as a
 * jansson tree and written in one go. */
#include "config.h"

#include "report.h"
#include "report_faults.h"
#include "report_scaleout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "workloads/workload.h"

static json_t *run_section(const struct dura_scenario *sc)
{
	json_t *run = dura_jobject();
	dura_jset(run, "duration_ms", dura_juint(sc->duration_ms));
	dura_jset(run, "warmup_ms", dura_juint(sc->warmup_ms));
	dura_jset(run, "drain_timeout_ms", dura_juint(sc->drain_timeout_ms));
	dura_jset(run, "verify_timeout_ms", dura_juint(sc->verify_timeout_ms));
	dura_jset(run, "stop_timeout_ms", dura_juint(sc->stop_timeout_ms));
	json_t *configs = dura_jarray();
	for (size_t i = 0; i < sc->n_configs; i++) {
		char c[32];
		dura_report_config_string(c, sizeof c, sc->configs[i].orch_workers,
		                          sc->configs[i].activity_workers);
		dura_jpush(configs, dura_jstring(c));
	}
	dura_jset(run, "configs", configs);
	dura_jset(run, "repeat", dura_juint(sc->repeat));
	dura_jset(run, "activity_batch", dura_juint(sc->activity_batch));
	dura_jset(run, "orch_batch", dura_juint(sc->orch_batch));
	dura_jset(run, "prefill", dura_juint(sc->prefill));
	return run;
}

static json_t *workload_section(const struct dura_workload_def *w)
{
	json_t *o = dura_jobject();
	dura_jset(o, "scenario", dura_jstring(dura_workload_name(w)));
	dura_jset(o, "max_concurrent", dura_juint(w->max_concurrent));
	dura_jset(o, "rate", dura_jnumber(w->rate));
	dura_jset(o, "tasks_per_instance", dura_juint(w->tasks_per_instance));
	dura_jset(o, "activity_delay_ms", dura_jnumber((double)w->activity_delay_us / 1e3));
	dura_jset(o, "payload_bytes", dura_juint(w->payload_bytes));
	dura_jset(o, "timers", dura_juint(w->timers));
	dura_jset(o, "timer_delay_ms", dura_jnumber((double)w->timer_delay_us / 1e3));
	dura_jset(o, "children", dura_juint(w->children));
	dura_jset(o, "iterations", dura_juint(w->iterations));
	dura_jset(o, "mix", dura_jstring(w->mix));
	return o;
}

/* Also used by the --track history so both describe a scenario alike. */
json_t *dura_report_json_scenario(const struct dura_scenario *sc)
{
	if (!sc)
		return dura_jstring(NULL);
	json_t *o = dura_jobject();
	dura_jset(o, "path", dura_jstring(sc->path));
	dura_jset(o, "name", dura_jstring(dura_workload_name(&sc->workload)));
	dura_jset(o, "run", run_section(sc));
	dura_jset(o, "workload", workload_section(&sc->workload));
	json_t *providers = dura_jarray();
	for (size_t i = 0; i < sc->n_providers; i++) {
		const struct dura_provider_def *pd = &sc->providers[i];
		json_t *p = dura_jobject(), *opts = dura_jobject();
		dura_jset(p, "name", dura_jstring(pd->name));
		dura_jset(p, "plugin", dura_jstring(pd->plugin));
		for (size_t k = 0; k < pd->n_options; k++) {
			char *v = dura_report_option_display(pd->options[k].key, pd->options[k].value);
			dura_jset(opts, pd->options[k].key, dura_jstring(v));
			free(v);
		}
		dura_jset(p, "options", opts);
		dura_jpush(providers, p);
	}
	dura_jset(o, "providers", providers);
	json_t *compares = dura_jarray();
	for (size_t i = 0; i < sc->n_compares; i++) {
		json_t *c = dura_jobject();
		dura_jset(c, "name", dura_jstring(sc->compares[i].name));
		dura_jset(c, "subject", dura_jstring(sc->compares[i].subject));
		dura_jset(c, "baseline", dura_jstring(sc->compares[i].baseline));
		dura_jpush(compares, c);
	}
	dura_jset(o, "compares", compares);
	return o;
}

/* Also used by the --track history (detail = 0). */
json_t *dura_report_json_provider(const struct dura_report_provider *p, int detail)
{
	json_t *o = dura_jobject();
	dura_jset(o, "name", dura_jstring(p->name));
	dura_jset(o, "plugin", dura_jstring(p->plugin));
	if (detail) {
		dura_jset(o, "plugin_path", dura_jstring(p->plugin_path));
		dura_jset(o, "description", dura_jstring(p->description));
	}
	dura_jset(o, "url", dura_jstring(p->url));
	if (detail)
		dura_jset(o, "target_url", dura_jstring(p->target_url));
	dura_jset(o, "rtt_ms", dura_jnumber(p->rtt_ms >= 0 ? p->rtt_ms : NAN));
	dura_jset(o, "emulated_rtt_ms", dura_jnumber(p->emulated_rtt_ms));
	return o;
}

static json_t *environment(const struct dura_report *r)
{
	char date[64];
	dura_report_date(r, DURA_DATE_ISO, date, sizeof date);
	json_t *o = dura_jobject();
	dura_jset(o, "version", dura_jstring(r->version));
	dura_jset(o, "commit", dura_jstring(r->commit));
	dura_jset(o, "cpus", dura_jint(r->cpus));
	dura_jset(o, "sqlite_version", dura_jstring(r->sqlite_version));
	dura_jset(o, "hostname", dura_jstring(r->hostname));
	dura_jset(o, "started_at", dura_jint(r->started_at));
	dura_jset(o, "date", dura_jstring(date[0] ? date : NULL));
	json_t *providers = dura_jarray();
	for (size_t i = 0; i < r->n_providers; i++)
		dura_jpush(providers, dura_report_json_provider(&r->providers[i], 1));
	dura_jset(o, "providers", providers);
	return o;
}

/* Also used by the --track history. */
json_t *dura_report_json_run_head(const struct dura_report_run *run)
{
	char cfg[32];
	dura_report_config_string(cfg, sizeof cfg, run->orch_workers, run->activity_workers);
	json_t *o = dura_jobject();
	dura_jset(o, "provider", dura_jstring(run->provider));
	dura_jset(o, "plugin", dura_jstring(run->plugin));
	dura_jset(o, "config", dura_jstring(cfg));
	return o;
}

static json_t *failed_object(const struct dura_run_result *x)
{
	json_t *o = dura_jobject();
	dura_jset(o, "infra", dura_juint(x->failed_infra));
	dura_jset(o, "corrupt", dura_juint(x->failed_corrupt));
	dura_jset(o, "config", dura_juint(x->failed_config));
	dura_jset(o, "app", dura_juint(x->failed_app));
	dura_jset(o, "timeout", dura_juint(x->timed_out));
	return o;
}

static json_t *latency_object(const struct dura_run_result *x, const struct dura_report_figures *v)
{
	json_t *o = dura_jobject();
	dura_jset(o, "avg", dura_jnumber(v->avg_ms));
	dura_jset(o, "p50", dura_jnumber(v->p50_ms));
	dura_jset(o, "p95", dura_jnumber(v->p95_ms));
	dura_jset(o, "p99", dura_jnumber(v->p99_ms));
	dura_jset(o, "max", dura_jnumber(v->max_ms));
	dura_jset(o, "count", dura_juint(x->latency.count));
	return o;
}

static json_t *provider_stats_object(const struct dura_run_result *x,
                                     const struct dura_report_figures *v)
{
	json_t *o = dura_jobject();
	dura_jset(o, "available", dura_jbool(x->have_provider_stats));
	dura_jset(o, "round_trips_per_orch", dura_jnumber(v->round_trips_per_orch));
	if (x->have_provider_stats) {
		const struct dura_stats *s = &x->provider_stats;
		dura_jset(o, "commits_per_orch",
		          dura_jnumber(x->completed ? (double)s->commits / (double)x->completed : NAN));
		dura_jset(o, "round_trips", dura_juint(s->round_trips));
		dura_jset(o, "commits", dura_juint(s->commits));
		dura_jset(o, "empty_fetches", dura_juint(s->empty_fetches));
		dura_jset(o, "lock_conflicts", dura_juint(s->lock_conflicts));
		dura_jset(o, "retries", dura_juint(s->retries));
		dura_jset(o, "reconnects", dura_juint(s->reconnects));
	}
	return o;
}

static json_t *runtime_stats_object(const struct dura_runtime_stats *rs)
{
	json_t *o = dura_jobject();
	dura_jset(o, "turns", dura_juint(rs->turns));
	dura_jset(o, "activities_executed", dura_juint(rs->activities_executed));
	dura_jset(o, "retries", dura_juint(rs->retries));
	dura_jset(o, "abandons", dura_juint(rs->abandons));
	dura_jset(o, "lock_lost", dura_juint(rs->lock_lost));
	dura_jset(o, "poisoned", dura_juint(rs->poisoned));
	dura_jset(o, "infra_errors", dura_juint(rs->infra_errors));
	dura_jset(o, "ignored_messages", dura_juint(rs->ignored_messages));
	dura_jset(o, "corrupt_work_items", dura_juint(rs->corrupt));
	return o;
}

/* null without a prefill; else what was written, how fast, and how many
 * of the prefilled instances were read back intact after the run. */
static json_t *prefill_object(const struct dura_prefill_result *p)
{
	if (!p->instances)
		return dura_jstring(NULL);
	json_t *o = dura_jobject();
	dura_jset(o, "instances", dura_juint(p->instances));
	dura_jset(o, "seconds", dura_jnumber(p->seconds));
	dura_jset(o, "per_sec", dura_jnumber(p->seconds > 0 ? (double)p->instances / p->seconds : 0));
	/* durabench's own CPU: all of an in-process store's, none of a
	 * server's */
	dura_jset(o, "cpu_seconds", dura_jnumber(p->cpu_seconds));
	dura_jset(o, "verified", dura_juint(p->verified));
	return o;
}

static json_t *run_object(const struct dura_report_run *run)
{
	const struct dura_run_result *x = &run->result;
	struct dura_report_figures v;
	dura_report_run_figures(run, &v);
	json_t *o = dura_report_json_run_head(run);
	dura_jset(o, "orch_workers", dura_juint(run->orch_workers));
	dura_jset(o, "activity_workers", dura_juint(run->activity_workers));
	dura_jset(o, "repeat", dura_juint(run->repeat_index));
	dura_report_scaleout_json(o, run);
	dura_jset(o, "ran", dura_jbool(run->ran));
	dura_jset(o, "store", dura_jstring(run->store[0] ? run->store : NULL));
	dura_jset(o, "prefill", prefill_object(&run->prefill));
	dura_jset(o, "interrupted", dura_jbool(run->ran && x->interrupted));
	dura_jset(o, "error", dura_jstring(run->ran ? NULL : run->error));
	dura_jset(o, "launched", dura_juint(x->launched));
	dura_jset(o, "completed", dura_juint(x->completed));
	dura_jset(o, "failed", failed_object(x));
	dura_jset(o, "in_flight_at_end", dura_juint(x->in_flight_at_end));
	dura_jset(o, "success_pct", dura_jnumber(v.success_pct));
	dura_jset(o, "orch_per_sec", dura_jnumber(v.orch_per_sec));
	dura_jset(o, "activities_per_sec", dura_jnumber(v.activities_per_sec));
	dura_jset(o, "bound_orch_per_sec", dura_jnumber(v.bound_orch_per_sec));
	dura_jset(o, "bound_fraction", dura_jnumber(v.bound_fraction));
	dura_jset(o, "latency_ms", latency_object(x, &v));
	dura_jset(o, "provider_stats", provider_stats_object(x, &v));
	dura_jset(o, "window_s", dura_jnumber(x->window_s));
	dura_jset(o, "window_completed", dura_juint(x->window_completed));
	dura_jset(o, "window_activities", dura_juint(x->window_activities));
	dura_jset(o, "counted_orch_per_sec", dura_jnumber(run->ran ? x->counted_orch_per_sec : NAN));
	dura_jset(o, "little_orch_per_sec", dura_jnumber(run->ran ? x->little_orch_per_sec : NAN));
	dura_jset(o, "mean_in_flight", dura_jnumber(run->ran ? x->mean_in_flight : NAN));
	dura_jset(o, "stream_span_s", dura_jnumber(x->stream_span_s));
	dura_jset(o, "drain_ms", dura_jnumber(x->drain_ms));
	dura_jset(o, "cpu_ms_per_orch", dura_jnumber(v.cpu_ms_per_orch));
	dura_jset(o, "run_cpu_ms_per_orch", dura_jnumber(run->ran ? x->run_cpu_ms_per_orch : NAN));
	dura_jset(o, "verified", dura_juint(x->verified));
	dura_jset(o, "verify_failures", dura_juint(x->verify_failures));
	dura_jset(o, "verify_error", dura_jstring(x->verify_error[0] ? x->verify_error : NULL));
	dura_jset(o, "unverified", dura_juint(x->unverified));
	dura_jset(o, "unverified_reason",
	          dura_jstring(x->unverified_reason[0] ? x->unverified_reason : NULL));
	dura_jset(o, "first_failure", dura_jstring(x->first_failure[0] ? x->first_failure : NULL));
	dura_jset(o, "first_failure_category",
	          dura_jstring(x->first_failure_category[0] ? x->first_failure_category : NULL));
	dura_jset(o, "late_completions", dura_juint(x->late_completions));
	dura_jset(o, "abandoned_threads", dura_juint(x->abandoned_threads));
	dura_jset(o, "runtime_stats", runtime_stats_object(&x->runtime_stats));
	dura_report_json_faults(o, run);
	return o;
}

/* [low, high] of an interval, null when it is unknown. */
static json_t *interval(const double ci[2])
{
	if (!isfinite(ci[0]) || !isfinite(ci[1]))
		return dura_jstring(NULL);
	json_t *a = dura_jarray();
	dura_jpush(a, dura_jnumber(ci[0]));
	dura_jpush(a, dura_jnumber(ci[1]));
	return a;
}

static json_t *compare_row_object(const struct dura_compare_row *w)
{
	char cfg[32];
	dura_report_config_string(cfg, sizeof cfg, w->orch_workers, w->activity_workers);
	json_t *o = dura_jobject();
	dura_jset(o, "config", dura_jstring(cfg));
	dura_jset(o, "throughput_ratio", dura_jnumber(w->throughput_ratio));
	dura_jset(o, "latency_p50_ratio", dura_jnumber(w->latency_p50_ratio));
	dura_jset(o, "latency_p99_ratio", dura_jnumber(w->latency_p99_ratio));
	dura_jset(o, "throughput_ratio_ci", interval(w->throughput_ratio_ci));
	dura_jset(o, "latency_p50_ratio_ci", interval(w->latency_p50_ratio_ci));
	dura_jset(o, "latency_p99_ratio_ci", interval(w->latency_p99_ratio_ci));
	/* null: too few repeats to tell */
	dura_jset(o, "no_difference", w->no_difference < 0 ? dura_jstring(NULL)
	                                                   : dura_jbool(w->no_difference));
	dura_jset(o, "subject_orch_per_sec", dura_jnumber(w->subject_orch_per_sec));
	dura_jset(o, "baseline_orch_per_sec", dura_jnumber(w->baseline_orch_per_sec));
	dura_jset(o, "subject_success_pct", dura_jnumber(w->subject_success_pct));
	dura_jset(o, "baseline_success_pct", dura_jnumber(w->baseline_success_pct));
	dura_jset(o, "subject_runs", dura_juint(w->subject_runs));
	dura_jset(o, "baseline_runs", dura_juint(w->baseline_runs));
	return o;
}

static json_t *comparisons(const struct dura_report *r)
{
	json_t *a = dura_jarray();
	for (size_t i = 0; r->scenario && i < r->scenario->n_compares; i++) {
		const struct dura_compare_def *c = &r->scenario->compares[i];
		struct dura_compare_row *rows;
		size_t n = dura_report_compare_rows(r, c, &rows);
		json_t *o = dura_jobject(), *ja = dura_jarray();
		dura_jset(o, "name", dura_jstring(c->name));
		dura_jset(o, "subject", dura_jstring(c->subject));
		dura_jset(o, "baseline", dura_jstring(c->baseline));
		for (size_t k = 0; k < n; k++)
			dura_jpush(ja, compare_row_object(&rows[k]));
		dura_jset(o, "rows", ja);
		dura_jpush(a, o);
		free(rows);
	}
	return a;
}

static json_t *figure_summary(double med, double lo, double hi, double spread)
{
	json_t *o = dura_jobject();
	dura_jset(o, "median", dura_jnumber(med));
	dura_jset(o, "min", dura_jnumber(lo));
	dura_jset(o, "max", dura_jnumber(hi));
	dura_jset(o, "spread_pct", dura_jnumber(100.0 * spread));
	return o;
}

/* With repeats: one entry per (provider, config), the figures' medians,
 * ranges and spreads (an empty array without repeats). */
static json_t *repeats(const struct dura_report *r)
{
	json_t *a = dura_jarray();
	if (dura_report_repeats(r) < 2)
		return a;
	struct dura_pair_summary s;
	const struct dura_report_run *run;
	for (size_t i = 0; (run = dura_report_next_pair(r, &i, &s)) != NULL;) {
		char cfg[32];
		dura_report_config_string(cfg, sizeof cfg, run->orch_workers, run->activity_workers);
		json_t *o = dura_jobject();
		dura_jset(o, "provider", dura_jstring(run->provider));
		dura_jset(o, "config", dura_jstring(cfg));
		dura_jset(o, "runs", dura_juint(s.runs));
		dura_jset(o, "orch_per_sec",
		          figure_summary(s.orch_median, s.orch_lo, s.orch_hi, s.orch_spread));
		dura_jset(o, "latency_p50_ms",
		          figure_summary(s.p50_median, s.p50_lo, s.p50_hi, s.p50_spread));
		dura_jset(o, "latency_p99_ms",
		          figure_summary(s.p99_median, s.p99_lo, s.p99_hi, s.p99_spread));
		dura_jpush(a, o);
	}
	return a;
}

char *dura_report_json_text(const struct dura_report *r)
{
	json_t *doc = dura_jobject();
	dura_jset(doc, "format", dura_jstring(DURA_REPORT_FORMAT));
	dura_jset(doc, "durabench", dura_jstring(r->version));
	dura_jset(doc, "scenario", dura_report_json_scenario(r->scenario));
	dura_jset(doc, "environment", environment(r));
	json_t *runs = dura_jarray();
	for (size_t i = 0; i < r->n_runs; i++)
		dura_jpush(runs, run_object(&r->runs[i]));
	dura_jset(doc, "runs", runs);
	dura_jset(doc, "repeats", repeats(r));
	dura_jset(doc, "comparisons", comparisons(r));
	dura_jset(doc, "interrupted", dura_jbool(r->interrupted));
	dura_jset(doc, "planned_runs", dura_juint(r->planned_runs));
	char *text = dura_json_text(doc, 1);
	json_decref(doc);
	return text;
}

static void write_report(FILE *f, const struct dura_report *r)
{
	char *text = dura_report_json_text(r);
	fputs(text, f);
	free(text);
}

int dura_report_json(const struct dura_report *r, const char *path, char *err, size_t errlen)
{
	return dura_report_write_file(r, path, write_report, err, errlen);
}
