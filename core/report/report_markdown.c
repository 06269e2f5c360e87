/* The Markdown report on stdout: per-run table, details, one ratio table
 * per [compare], environment block (described in docs/reporting.md). */
#include "config.h"

#include "report.h"
#include "report_stats.h"
#include "report_faults.h"
#include "report_scaleout.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "workloads/workload.h"

/* "10s", "1500ms", "250us": the shortest exact form. */
static void fmt_us(char *buf, size_t len, uint64_t us)
{
	if (us == 0)
		snprintf(buf, len, "0");
	else if (us % 1000000u == 0)
		snprintf(buf, len, "%" PRIu64 "s", us / 1000000u);
	else if (us % 1000u == 0)
		snprintf(buf, len, "%" PRIu64 "ms", us / 1000u);
	else
		snprintf(buf, len, "%" PRIu64 "us", us);
}

static void fmt_num(char *buf, size_t len, double v, int decimals)
{
	dura_report_fmt_number(buf, len, v, decimals, 0, "");
}

static void fmt_ratio(char *buf, size_t len, double v)
{
	dura_report_fmt_number(buf, len, v, 2, 0, "x");
}

static void fmt_ms(char *buf, size_t len, const struct dura_run_result *x, double ms)
{
	if (x->latency.count == 0 || !isfinite(ms))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2f ms", ms);
}

static int any_stats(const struct dura_report *r)
{
	for (size_t i = 0; i < r->n_runs; i++)
		if (r->runs[i].ran && r->runs[i].result.have_provider_stats)
			return 1;
	return 0;
}

static void config_label(char *buf, size_t len, const struct dura_report_run *run, int repeats)
{
	char procs[16] = ""; /* scale-out: "2x" = two worker processes */
	if (dura_report_processes(run))
		snprintf(procs, sizeof procs, "%ux", dura_report_processes(run));
	if (repeats)
		snprintf(buf, len, "%s%u:%u #%u", procs, run->orch_workers, run->activity_workers,
		         run->repeat_index + 1);
	else
		snprintf(buf, len, "%s%u:%u", procs, run->orch_workers, run->activity_workers);
}

static void runs_table(FILE *f, const struct dura_report *r)
{
	int stats = any_stats(r), repeats = dura_report_repeats(r) > 1;
	fprintf(f, "| Provider | Config | Completed | Failed | Success %% | Orch/s | Activity/s "
	           "| p50 | p95 | p99 | %% of bound |%s\n",
	        stats ? " Round trips/orch |" : "");
	fprintf(f, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|%s\n",
	        stats ? "---:|" : "");
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		const struct dura_run_result *x = &run->result;
		char cfg[48];
		config_label(cfg, sizeof cfg, run, repeats);
		if (!run->ran) {
			fputs("| ", f);
			dura_report_md_cell(f, run->provider ? run->provider : "?");
			fprintf(f, " | %s | - | - | - | - | - | - | - | - | - |%s\n", cfg,
			        stats ? " - |" : "");
			continue;
		}
		char succ[32], orch[32], act[32], p50[32], p95[32], p99[32], bound[32], rt[32];
		fmt_num(succ, sizeof succ, x->success_pct, 1);
		fmt_num(orch, sizeof orch, x->orch_per_sec, 1);
		fmt_num(act, sizeof act, x->activities_per_sec, 1);
		fmt_ms(p50, sizeof p50, x, x->latency.p50_ms);
		fmt_ms(p95, sizeof p95, x, x->latency.p95_ms);
		fmt_ms(p99, sizeof p99, x, x->latency.p99_ms);
		if (x->bound_orch_per_sec > 0 && isfinite(x->bound_fraction))
			snprintf(bound, sizeof bound, "%.1f %%", 100.0 * x->bound_fraction);
		else
			snprintf(bound, sizeof bound, "-");
		fmt_num(rt, sizeof rt, dura_report_round_trips_per_orch(x), 1);
		fputs("| ", f);
		dura_report_md_cell(f, run->provider ? run->provider : "?");
		fprintf(f, " | %s | %" PRIu64 " | %" PRIu64 " | %s | %s | %s | %s | %s | %s | %s |",
		        cfg, x->completed,
		        dura_report_failed(x), succ, orch, act, p50, p95, p99, bound);
		if (stats)
			fprintf(f, " %s |", x->have_provider_stats ? rt : "-");
		fputc('\n', f);
	}
}

/* With repeats: one row per (provider, config), median and range over the
 * runs that ran, so the spread is seen before any ratio is read. */
static void repeats_table(FILE *f, const struct dura_report *r)
{
	unsigned reps = dura_report_repeats(r);
	if (reps < 2)
		return;
	fprintf(f, "\nOver %u repeats, median (min\u2013max) \u00b1spread of the runs that ran "
	        "(spread = (max \u2212 min) / median):\n\n", reps);
	fprintf(f, "| Provider | Config | Runs | Orch/s | p50 | p99 |\n|---|---|---:|---:|---:|---:|\n");
	struct dura_pair_summary s;
	const struct dura_report_run *run;
	for (size_t i = 0; (run = dura_report_next_pair(r, &i, &s)) != NULL;) {
		struct dura_pair_text t;
		dura_report_fmt_pair_summary(&s, &t);
		fputs("| ", f);
		dura_report_md_cell(f, run->provider);
		fprintf(f, " | %u:%u | %zu | %s | %s | %s |\n", run->orch_workers,
		        run->activity_workers, s.runs, t.orch, t.p50, t.p99);
	}
}

/* The lines under the runs table of an interrupted command: which run was
 * cut short, and why its throughput comes from a shortened window. */
static void interrupted_notes(FILE *f, const struct dura_report *r)
{
	if (!r->interrupted)
		return;
	int repeats = dura_report_repeats(r) > 1;
	fprintf(f, "\nInterrupted: %zu of %zu planned runs started; no later run started.\n",
	        r->n_runs, r->planned_runs);
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		const struct dura_run_result *x = &run->result;
		if (!run->ran || !x->interrupted)
			continue;
		char cfg[48];
		config_label(cfg, sizeof cfg, run, repeats);
		fputs("Run ", f);
		dura_report_md_cell(f, run->provider ? run->provider : "?");
		fprintf(f, " %s was interrupted after %.1f s: launching stopped there, the instances "
		           "in flight were drained and verified. ", cfg, x->interrupted_after_s);
		if (x->window_s > 0)
			fprintf(f, "Its Orch/s and Activity/s come from a shortened window of %.1f s; ",
			        x->window_s);
		else
			fprintf(f, "The interrupt came during the warm-up: it has no throughput window; ");
		fprintf(f, "it counts neither as a success nor as a failure.\n");
	}
}

static void details_table(FILE *f, const struct dura_report *r)
{
	int repeats = dura_report_repeats(r) > 1;
	fprintf(f, "| Provider | Config | Launched | Infra | Corrupt | Config err | App | Timed out "
	           "| In flight at end | Verified | avg | max | Drain | CPU/orch |\n");
	fprintf(f, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		const struct dura_run_result *x = &run->result;
		if (!run->ran)
			continue;
		char cfg[48], avg[32], mx[32];
		config_label(cfg, sizeof cfg, run, repeats);
		fmt_ms(avg, sizeof avg, x, x->latency.avg_ms);
		fmt_ms(mx, sizeof mx, x, x->latency.max_ms);
		fputs("| ", f);
		dura_report_md_cell(f, run->provider ? run->provider : "?");
		fprintf(f, " | %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64
		           " | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %s | %s | %.0f ms | %.3f ms |\n",
		        cfg, x->launched, x->failed_infra, x->failed_corrupt,
		        x->failed_config, x->failed_app, x->timed_out, x->in_flight_at_end,
		        x->verified, avg, mx, x->drain_ms, x->cpu_ms_per_orch);
	}
}

/* Under the runs table, one line per run that did not run, failed
 * verification or did not complete every instance: what went wrong first,
 * with its category (the JSON has the same in first_failure and
 * first_failure_category). */
static void problems(FILE *f, const struct dura_report *r)
{
	int repeats = dura_report_repeats(r) > 1, header = 0;
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		char cfg[48];
		config_label(cfg, sizeof cfg, run, repeats);
		char what[1200];
		dura_report_run_problem(what, sizeof what, run);
		if (!what[0])
			continue;
		if (!header) {
			fprintf(f, "\nProblems:\n\n");
			header = 1;
		}
		fputs("- ", f);
		dura_report_md_cell(f, run->provider ? run->provider : "?");
		fprintf(f, " %s: ", cfg);
		dura_report_md_cell(f, what);
		fputc('\n', f);
	}
}

/* "0.95x [0.88, 1.03]": a ratio with its interval when there is one. */
static void fmt_ratio_ci(char *buf, size_t len, double v, const double ci[2], int with_ci)
{
	char r[32], i[64];
	fmt_ratio(r, sizeof r, v);
	dura_report_fmt_interval(i, sizeof i, ci);
	if (with_ci && isfinite(ci[0]))
		snprintf(buf, len, "%s %s", r, i);
	else
		snprintf(buf, len, "%s", r);
}

static void compare_table(FILE *f, const struct dura_report *r, const struct dura_compare_def *c,
                          int repeats)
{
	struct dura_compare_row *rows;
	size_t n = dura_report_compare_rows(r, c, &rows);
	fprintf(f, "\n### Compare %s: %s / %s\n\n", c->name, c->subject, c->baseline);
	const char *ci = repeats ? " (95 % CI)" : "";
	fprintf(f, "| Config | %s orch/s | %s orch/s | Throughput ratio%s | p50 ratio%s | p99 ratio%s "
	           "| %s success %% | %s success %% |%s\n",
	        c->subject, c->baseline, ci, ci, ci, c->subject, c->baseline,
	        repeats ? " Throughput |" : "");
	fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|%s\n", repeats ? "---|" : "");
	for (size_t k = 0; k < n; k++) {
		const struct dura_compare_row *w = &rows[k];
		char so[32], bo[32], tr[96], r50[96], r99[96], ss[32], bs[32];
		fmt_num(so, sizeof so, w->subject_orch_per_sec, 1);
		fmt_num(bo, sizeof bo, w->baseline_orch_per_sec, 1);
		fmt_ratio_ci(tr, sizeof tr, w->throughput_ratio, w->throughput_ratio_ci, repeats);
		fmt_ratio_ci(r50, sizeof r50, w->latency_p50_ratio, w->latency_p50_ratio_ci, repeats);
		fmt_ratio_ci(r99, sizeof r99, w->latency_p99_ratio, w->latency_p99_ratio_ci, repeats);
		fmt_num(ss, sizeof ss, w->subject_success_pct, 1);
		fmt_num(bs, sizeof bs, w->baseline_success_pct, 1);
		fprintf(f, "| %u:%u | %s | %s | %s | %s | %s | %s | %s |", w->orch_workers,
		        w->activity_workers, so, bo, tr, r50, r99, ss, bs);
		if (repeats)
			fprintf(f, " %s |", dura_report_compare_verdict(w));
		fputc('\n', f);
	}
	if (n == 0)
		fprintf(f, "| (no runs) | | | | | | | |%s\n", repeats ? " |" : "");
	free(rows);
}

static void compare_tables(FILE *f, const struct dura_report *r)
{
	const struct dura_scenario *sc = r->scenario;
	if (!sc)
		return;
	unsigned reps = dura_report_repeats(r);
	for (size_t i = 0; i < sc->n_compares; i++)
		compare_table(f, r, &sc->compares[i], reps > 1);
	if (sc->n_compares && reps > 1)
		fprintf(f, "\nRatios of averages over %u repeats; [low, high] is the 95 %% confidence "
		           "interval of the ratio (Welch's t on log values, see docs/reporting.md). "
		           "\"no difference detected\": the throughput interval includes 1.00.\n",
		        reps);
}

static const struct dura_report_provider *find_provider(const struct dura_report *r,
                                                        const char *name)
{
	for (size_t i = 0; i < r->n_providers; i++)
		if (r->providers[i].name && name && strcmp(r->providers[i].name, name) == 0)
			return &r->providers[i];
	return NULL;
}

static void environment(FILE *f, const struct dura_report *r)
{
	const struct dura_scenario *sc = r->scenario;
	char date[64];
	dura_report_date(r, DURA_DATE_TEXT, date, sizeof date);
	fprintf(f, "\n### Environment\n\n");
	fprintf(f, "- durabench: %s\n", r->version ? r->version : "unknown");
	fprintf(f, "- commit: %s\n", r->commit ? r->commit : "unknown");
	fprintf(f, "- date: %s\n", date);
	fprintf(f, "- host: %s, %d CPUs\n", r->hostname ? r->hostname : "unknown", r->cpus);
	fprintf(f, "- SQLite: %s\n", r->sqlite_version ? r->sqlite_version : "unknown");
	if (!sc)
		return;
	char a[32], b[32], c[32];
	fmt_us(a, sizeof a, sc->duration_ms * 1000u);
	fmt_us(b, sizeof b, sc->warmup_ms * 1000u);
	fmt_us(c, sizeof c, sc->drain_timeout_ms * 1000u);
	fprintf(f, "- scenario file: %s\n", sc->path ? sc->path : "(none)");
	fprintf(f, "- [run] duration = %s, warmup = %s, drain_timeout = %s, configs = ", a, b, c);
	for (size_t i = 0; i < sc->n_configs; i++)
		fprintf(f, "%s%u:%u", i ? ", " : "", sc->configs[i].orch_workers,
		        sc->configs[i].activity_workers);
	fprintf(f, ", repeat = %u, activity_batch = %u, orch_batch = %u", sc->repeat,
	        sc->activity_batch, sc->orch_batch);
	if (sc->prefill)
		fprintf(f, ", prefill = %u", sc->prefill);
	fputc('\n', f);
	const struct dura_workload_def *w = &sc->workload;
	fmt_us(a, sizeof a, w->activity_delay_us);
	fmt_us(b, sizeof b, w->timer_delay_us);
	fprintf(f, "- [workload] scenario = %s, max_concurrent = %u, ",
	        dura_workload_name(w), w->max_concurrent);
	if (w->rate > 0)
		fprintf(f, "rate = %g/s (open loop), ", w->rate);
	else
		fprintf(f, "rate = 0 (closed loop), ");
	fprintf(f, "tasks_per_instance = %u, activity_delay = %s, payload_bytes = %" PRIu64
	           ", timers = %u, timer_delay = %s, children = %u, iterations = %u, mix = %s\n",
	        w->tasks_per_instance, a, w->payload_bytes, w->timers, b, w->children,
	        w->iterations, w->mix ? w->mix : "(default)");
	for (size_t i = 0; i < sc->n_providers; i++) {
		const struct dura_provider_def *pd = &sc->providers[i];
		const struct dura_report_provider *rp = find_provider(r, pd->name);
		fprintf(f, "- [provider %s] plugin %s", pd->name, pd->plugin ? pd->plugin : "?");
		if (rp && rp->plugin_path)
			fprintf(f, " (%s)", rp->plugin_path);
		if (rp && rp->description && *rp->description)
			fprintf(f, "; %s", rp->description);
		for (size_t k = 0; k < pd->n_options; k++) {
			char *v = dura_report_option_display(pd->options[k].key, pd->options[k].value);
			fprintf(f, "%s%s = %s", k ? ", " : "; options: ", pd->options[k].key, v);
			free(v);
		}
		if (rp && rp->url)
			fprintf(f, "; address %s", rp->url);
		if (rp && rp->target_url)
			fprintf(f, "; target %s", rp->target_url);
		if (rp && rp->rtt_ms >= 0)
			fprintf(f, "; measured RTT %.3f ms", rp->rtt_ms);
		if (rp && rp->emulated_rtt_ms > 0)
			fprintf(f, "; emulated RTT %.3f ms", rp->emulated_rtt_ms);
		fputc('\n', f);
	}
	/* Each run writes a store of its own (a schema, a file): where. */
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		if (!run->store[0])
			continue;
		char cfg[48];
		config_label(cfg, sizeof cfg, run, dura_report_repeats(r) > 1);
		fprintf(f, "- run %s %s: ", run->provider ? run->provider : "?", cfg);
		dura_report_md_cell(f, run->store);
		fputc('\n', f);
	}
	for (size_t i = 0; i < sc->n_compares; i++)
		fprintf(f, "- [compare %s] subject = %s, baseline = %s\n", sc->compares[i].name,
		        sc->compares[i].subject, sc->compares[i].baseline);
}

void dura_report_markdown(FILE *f, const struct dura_report *r)
{
	const struct dura_scenario *sc = r->scenario;
	fprintf(f, "## durabench: %s", dura_workload_name(sc ? &sc->workload : NULL));
	if (sc && sc->path)
		fprintf(f, " (%s)", sc->path);
	fprintf(f, "\n\n");
	runs_table(f, r);
	problems(f, r);
	repeats_table(f, r);
	interrupted_notes(f, r);
	dura_report_scaleout_md(f, r);
	fprintf(f, "\nLatency: start call to committed completion, completed instances after "
	           "warmup. Orch/s and Activity/s: steady window after warmup. %% of bound: "
	           "orch/s / theoretical maximum of the workload for W activity workers.\n\n");
	details_table(f, r);
	dura_report_markdown_faults(f, r);
	compare_tables(f, r);
	environment(f, r);
	fflush(f);
}
