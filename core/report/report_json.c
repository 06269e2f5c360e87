/* The JSON report (DESIGN section 8; its field names are an interface:
 * add fields freely, never rename or remove one). */
#include "config.h"

#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_writer.h"
#include "base/util.h"

static void write_scenario(struct dura_json *j, const struct dura_scenario *sc)
{
	dura_json_key(j, "scenario");
	if (!sc) {
		dura_json_null(j);
		return;
	}
	dura_json_begin_object(j);
	dura_json_kv_string(j, "path", sc->path);
	dura_json_kv_string(j, "name", sc->workload.scenario ? sc->workload.scenario : "fanout");

	dura_json_key(j, "run");
	dura_json_begin_object(j);
	dura_json_kv_uint(j, "duration_ms", sc->duration_ms);
	dura_json_kv_uint(j, "warmup_ms", sc->warmup_ms);
	dura_json_kv_uint(j, "drain_timeout_ms", sc->drain_timeout_ms);
	dura_json_key(j, "configs");
	dura_json_begin_array(j);
	for (size_t i = 0; i < sc->n_configs; i++) {
		char c[32];
		dura_report_config_string(c, sizeof c, sc->configs[i].orch_workers, sc->configs[i].activity_workers);
		dura_json_string(j, c);
	}
	dura_json_end_array(j);
	dura_json_kv_uint(j, "repeat", sc->repeat);
	dura_json_kv_uint(j, "activity_batch", sc->activity_batch);
	dura_json_end_object(j);

	const struct dura_workload_def *w = &sc->workload;
	dura_json_key(j, "workload");
	dura_json_begin_object(j);
	dura_json_kv_string(j, "scenario", w->scenario ? w->scenario : "fanout");
	dura_json_kv_uint(j, "max_concurrent", w->max_concurrent);
	dura_json_kv_number(j, "rate", w->rate);
	dura_json_kv_uint(j, "tasks_per_instance", w->tasks_per_instance);
	dura_json_kv_number(j, "activity_delay_ms", (double)w->activity_delay_us / 1e3);
	dura_json_kv_uint(j, "payload_bytes", w->payload_bytes);
	dura_json_kv_uint(j, "timers", w->timers);
	dura_json_kv_number(j, "timer_delay_ms", (double)w->timer_delay_us / 1e3);
	dura_json_kv_uint(j, "children", w->children);
	dura_json_kv_uint(j, "iterations", w->iterations);
	dura_json_kv_string(j, "mix", w->mix);
	dura_json_end_object(j);

	dura_json_key(j, "providers");
	dura_json_begin_array(j);
	for (size_t i = 0; i < sc->n_providers; i++) {
		const struct dura_provider_def *pd = &sc->providers[i];
		dura_json_begin_object(j);
		dura_json_kv_string(j, "name", pd->name);
		dura_json_kv_string(j, "plugin", pd->plugin);
		dura_json_key(j, "options");
		dura_json_begin_object(j);
		for (size_t k = 0; k < pd->n_options; k++) {
			char *v = dura_report_option_display(pd->options[k].key, pd->options[k].value);
			dura_json_kv_string(j, pd->options[k].key, v);
			free(v);
		}
		dura_json_end_object(j);
		dura_json_end_object(j);
	}
	dura_json_end_array(j);

	dura_json_key(j, "compares");
	dura_json_begin_array(j);
	for (size_t i = 0; i < sc->n_compares; i++) {
		dura_json_begin_object(j);
		dura_json_kv_string(j, "name", sc->compares[i].name);
		dura_json_kv_string(j, "subject", sc->compares[i].subject);
		dura_json_kv_string(j, "baseline", sc->compares[i].baseline);
		dura_json_end_object(j);
	}
	dura_json_end_array(j);
	dura_json_end_object(j);
}

/* Also used by the --track history so both describe a scenario alike. */
void dura_report_json_write_scenario(struct dura_json *j, const struct dura_scenario *sc)
{
	write_scenario(j, sc);
}

/* Also used by the --track history (detail = 0). */
void dura_report_json_write_provider(struct dura_json *j, const struct dura_report_provider *p,
                                     int detail)
{
	dura_json_begin_object(j);
	dura_json_kv_string(j, "name", p->name);
	dura_json_kv_string(j, "plugin", p->plugin);
	if (detail) {
		dura_json_kv_string(j, "plugin_path", p->plugin_path);
		dura_json_kv_string(j, "description", p->description);
	}
	dura_json_kv_string(j, "url", p->url);
	if (detail)
		dura_json_kv_string(j, "target_url", p->target_url);
	dura_json_kv_number(j, "rtt_ms", p->rtt_ms >= 0 ? p->rtt_ms : NAN);
	dura_json_kv_number(j, "emulated_rtt_ms", p->emulated_rtt_ms);
	dura_json_end_object(j);
}

static void write_environment(struct dura_json *j, const struct dura_report *r)
{
	char date[64];
	dura_report_date(r, DURA_DATE_ISO, date, sizeof date);
	dura_json_key(j, "environment");
	dura_json_begin_object(j);
	dura_json_kv_string(j, "version", r->version);
	dura_json_kv_string(j, "commit", r->commit);
	dura_json_kv_int(j, "cpus", r->cpus);
	dura_json_kv_string(j, "sqlite_version", r->sqlite_version);
	dura_json_kv_string(j, "hostname", r->hostname);
	dura_json_kv_int(j, "started_at", r->started_at);
	dura_json_kv_string(j, "date", date[0] ? date : NULL);
	dura_json_key(j, "providers");
	dura_json_begin_array(j);
	for (size_t i = 0; i < r->n_providers; i++)
		dura_report_json_write_provider(j, &r->providers[i], 1);
	dura_json_end_array(j);
	dura_json_end_object(j);
}

/* Also used by the --track history. */
void dura_report_json_begin_run(struct dura_json *j, const struct dura_report_run *run)
{
	char cfg[32];
	dura_report_config_string(cfg, sizeof cfg, run->orch_workers, run->activity_workers);
	dura_json_begin_object(j);
	dura_json_kv_string(j, "provider", run->provider);
	dura_json_kv_string(j, "plugin", run->plugin);
	dura_json_kv_string(j, "config", cfg);
}

static void write_run(struct dura_json *j, const struct dura_report_run *run)
{
	const struct dura_run_result *x = &run->result;
	struct dura_report_figures v;
	dura_report_run_figures(run, &v);
	dura_report_json_begin_run(j, run);
	dura_json_kv_uint(j, "orch_workers", run->orch_workers);
	dura_json_kv_uint(j, "activity_workers", run->activity_workers);
	dura_json_kv_uint(j, "repeat", run->repeat_index);
	dura_json_kv_bool(j, "ran", run->ran);
	dura_json_kv_bool(j, "interrupted", run->ran && x->interrupted);
	dura_json_kv_string(j, "error", run->ran ? NULL : run->error);
	dura_json_kv_uint(j, "launched", x->launched);
	dura_json_kv_uint(j, "completed", x->completed);
	dura_json_key(j, "failed");
	dura_json_begin_object(j);
	dura_json_kv_uint(j, "infra", x->failed_infra);
	dura_json_kv_uint(j, "config", x->failed_config);
	dura_json_kv_uint(j, "app", x->failed_app);
	dura_json_kv_uint(j, "timeout", x->timed_out);
	dura_json_end_object(j);
	dura_json_kv_uint(j, "in_flight_at_end", x->in_flight_at_end);
	dura_json_kv_number(j, "success_pct", v.success_pct);
	dura_json_kv_number(j, "orch_per_sec", v.orch_per_sec);
	dura_json_kv_number(j, "activities_per_sec", v.activities_per_sec);
	dura_json_kv_number(j, "bound_orch_per_sec", v.bound_orch_per_sec);
	dura_json_kv_number(j, "bound_fraction", v.bound_fraction);
	dura_json_key(j, "latency_ms");
	dura_json_begin_object(j);
	dura_json_kv_number(j, "avg", v.avg_ms);
	dura_json_kv_number(j, "p50", v.p50_ms);
	dura_json_kv_number(j, "p95", v.p95_ms);
	dura_json_kv_number(j, "p99", v.p99_ms);
	dura_json_kv_number(j, "max", v.max_ms);
	dura_json_kv_uint(j, "count", x->latency.count);
	dura_json_end_object(j);
	dura_json_key(j, "provider_stats");
	dura_json_begin_object(j);
	dura_json_kv_bool(j, "available", x->have_provider_stats);
	dura_json_kv_number(j, "round_trips_per_orch", v.round_trips_per_orch);
	if (x->have_provider_stats) {
		const struct dura_stats *s = &x->provider_stats;
		dura_json_kv_number(j, "commits_per_orch",
		                    x->completed ? (double)s->commits / (double)x->completed : NAN);
		dura_json_kv_uint(j, "round_trips", s->round_trips);
		dura_json_kv_uint(j, "commits", s->commits);
		dura_json_kv_uint(j, "empty_fetches", s->empty_fetches);
		dura_json_kv_uint(j, "lock_conflicts", s->lock_conflicts);
		dura_json_kv_uint(j, "retries", s->retries);
		dura_json_kv_uint(j, "reconnects", s->reconnects);
	}
	dura_json_end_object(j);
	dura_json_kv_number(j, "window_s", x->window_s);
	dura_json_kv_uint(j, "window_completed", x->window_completed);
	dura_json_kv_uint(j, "window_activities", x->window_activities);
	dura_json_kv_number(j, "drain_ms", x->drain_ms);
	dura_json_kv_number(j, "cpu_ms_per_orch", v.cpu_ms_per_orch);
	dura_json_kv_uint(j, "verified", x->verified);
	dura_json_kv_uint(j, "verify_failures", x->verify_failures);
	dura_json_kv_string(j, "verify_error", x->verify_error[0] ? x->verify_error : NULL);
	dura_json_kv_string(j, "first_failure", x->first_failure[0] ? x->first_failure : NULL);
	dura_json_kv_uint(j, "late_completions", x->late_completions);
	const struct dura_runtime_stats *rs = &x->runtime_stats;
	dura_json_key(j, "runtime_stats");
	dura_json_begin_object(j);
	dura_json_kv_uint(j, "turns", rs->turns);
	dura_json_kv_uint(j, "activities_executed", rs->activities_executed);
	dura_json_kv_uint(j, "retries", rs->retries);
	dura_json_kv_uint(j, "abandons", rs->abandons);
	dura_json_kv_uint(j, "lock_lost", rs->lock_lost);
	dura_json_kv_uint(j, "poisoned", rs->poisoned);
	dura_json_kv_uint(j, "infra_errors", rs->infra_errors);
	dura_json_kv_uint(j, "ignored_messages", rs->ignored_messages);
	dura_json_end_object(j);
	dura_json_end_object(j);
}

static void write_comparisons(struct dura_json *j, const struct dura_report *r)
{
	dura_json_key(j, "comparisons");
	dura_json_begin_array(j);
	for (size_t i = 0; r->scenario && i < r->scenario->n_compares; i++) {
		const struct dura_compare_def *c = &r->scenario->compares[i];
		struct dura_compare_row *rows;
		size_t n = dura_report_compare_rows(r, c, &rows);
		dura_json_begin_object(j);
		dura_json_kv_string(j, "name", c->name);
		dura_json_kv_string(j, "subject", c->subject);
		dura_json_kv_string(j, "baseline", c->baseline);
		dura_json_key(j, "rows");
		dura_json_begin_array(j);
		for (size_t k = 0; k < n; k++) {
			const struct dura_compare_row *w = &rows[k];
			char cfg[32];
			dura_report_config_string(cfg, sizeof cfg, w->orch_workers, w->activity_workers);
			dura_json_begin_object(j);
			dura_json_kv_string(j, "config", cfg);
			dura_json_kv_number(j, "throughput_ratio", w->throughput_ratio);
			dura_json_kv_number(j, "latency_p50_ratio", w->latency_p50_ratio);
			dura_json_kv_number(j, "latency_p99_ratio", w->latency_p99_ratio);
			dura_json_kv_number(j, "subject_orch_per_sec", w->subject_orch_per_sec);
			dura_json_kv_number(j, "baseline_orch_per_sec", w->baseline_orch_per_sec);
			dura_json_kv_number(j, "subject_success_pct", w->subject_success_pct);
			dura_json_kv_number(j, "baseline_success_pct", w->baseline_success_pct);
			dura_json_kv_uint(j, "subject_runs", w->subject_runs);
			dura_json_kv_uint(j, "baseline_runs", w->baseline_runs);
			dura_json_end_object(j);
		}
		dura_json_end_array(j);
		dura_json_end_object(j);
		free(rows);
	}
	dura_json_end_array(j);
}

/* Writes the document to f. */
static void write_report(FILE *f, const struct dura_report *r)
{
	struct dura_json j;
	dura_json_init(&j, f, 1);
	dura_json_begin_object(&j);
	dura_json_kv_string(&j, "durabench", r->version);
	write_scenario(&j, r->scenario);
	write_environment(&j, r);
	dura_json_key(&j, "runs");
	dura_json_begin_array(&j);
	for (size_t i = 0; i < r->n_runs; i++)
		write_run(&j, &r->runs[i]);
	dura_json_end_array(&j);
	write_comparisons(&j, r);
	dura_json_end_object(&j);
}

int dura_report_json(const struct dura_report *r, const char *path, char *err, size_t errlen)
{
	if (strcmp(path, "-") == 0) {
		write_report(stdout, r);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			dura_errbuf(err, errlen, "writing JSON to stdout: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		dura_errbuf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	write_report(f, r);
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		dura_errbuf(err, errlen, "%s: write failed: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
