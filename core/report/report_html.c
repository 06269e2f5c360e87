/* `--html FILE`: one self-contained page with everything a reader needs to
 * judge a run: the per-run table (first failure of each run), the repeats'
 * medians and ranges, one ratio table per [compare] with 95 % intervals,
 * the throughput chart as inline SVG, and the environment.  No scripts, no
 * fonts, stylesheets or images fetched: it opens offline, from a CI
 * artifact or a mail attachment, and renders the same everywhere.  All
 * text is escaped (dura_report_xml_text). */
#include "config.h"

#include "report.h"
#include "report_faults.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char style[] =
	"body{font-family:sans-serif;margin:24px;color:#1a1a1a;max-width:1400px}"
	"h1{font-size:22px}h2{font-size:17px;margin-top:28px}"
	"table{border-collapse:collapse;margin:8px 0;font-size:13px}"
	"th,td{border:1px solid #c8c8c8;padding:3px 8px;text-align:left}"
	"th{background:#eef2f6}td.n{text-align:right;font-variant-numeric:tabular-nums}"
	"tr.bad td{background:#fdecea}td.same{color:#555}td.diff{font-weight:bold}"
	"p.note{color:#555;font-size:12px}ul.env{font-size:13px}";

static void text(FILE *f, const char *s)
{
	dura_report_xml_text(f, s);
}

static void cell(FILE *f, const char *s)
{
	fputs("<td>", f);
	text(f, s);
	fputs("</td>", f);
}

static void num(FILE *f, const char *s)
{
	fputs("<td class=\"n\">", f);
	text(f, s);
	fputs("</td>", f);
}

static void head_row(FILE *f, const char *const *names, size_t n)
{
	fputs("<tr>", f);
	for (size_t i = 0; i < n; i++) {
		fputs("<th>", f);
		text(f, names[i]);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
}

static void ms(char *buf, size_t len, const struct dura_run_result *x, double v)
{
	dura_report_fmt_number(buf, len, x->latency.count ? v : NAN, 2, 0, " ms");
}

static void runs_table(FILE *f, const struct dura_report *r)
{
	static const char *const names[] = {
		"Provider", "Config", "Repeat", "Completed", "Failed", "Success %", "Orch/s",
		"Activity/s", "p50", "p95", "p99", "% of bound", "First failure",
	};
	fputs("<h2>Runs</h2>\n<table>\n", f);
	head_row(f, names, sizeof names / sizeof names[0]);
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		const struct dura_run_result *x = &run->result;
		struct dura_report_figures v;
		dura_report_run_figures(run, &v);
		char cfg[32], rep[16], c[32], fl[32], s[32], o[32], a[32], p50[32], p95[32], p99[32],
			b[32], problem[1200];
		dura_report_config_string(cfg, sizeof cfg, run->orch_workers, run->activity_workers);
		snprintf(rep, sizeof rep, "%u", run->repeat_index + 1);
		snprintf(c, sizeof c, "%" PRIu64, x->completed);
		snprintf(fl, sizeof fl, "%" PRIu64, dura_report_failed(x));
		dura_report_fmt_number(s, sizeof s, v.success_pct, 1, 0, "");
		dura_report_fmt_number(o, sizeof o, v.orch_per_sec, 1, 0, "");
		dura_report_fmt_number(a, sizeof a, v.activities_per_sec, 1, 0, "");
		ms(p50, sizeof p50, x, v.p50_ms);
		ms(p95, sizeof p95, x, v.p95_ms);
		ms(p99, sizeof p99, x, v.p99_ms);
		dura_report_fmt_number(b, sizeof b, 100.0 * v.bound_fraction, 1, 0, " %");
		dura_report_run_problem(problem, sizeof problem, run);
		if (!problem[0] && run->ran && x->interrupted)
			snprintf(problem, sizeof problem, "interrupted after %.1f s",
			         x->interrupted_after_s);
		int bad = !run->ran || x->verify_failures || dura_report_failed(x);
		fputs(bad ? "<tr class=\"bad\">" : "<tr>", f);
		cell(f, run->provider ? run->provider : "?");
		cell(f, cfg);
		num(f, rep);
		num(f, run->ran ? c : "-");
		num(f, run->ran ? fl : "-");
		num(f, s);
		num(f, o);
		num(f, a);
		num(f, p50);
		num(f, p95);
		num(f, p99);
		num(f, b);
		cell(f, problem);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n<p class=\"note\">Latency: start call to committed completion, "
	      "completed instances after warmup. Orch/s and Activity/s: steady window after "
	      "warmup. % of bound: orch/s / theoretical maximum of the workload.</p>\n", f);
}

static void repeats_table(FILE *f, const struct dura_report *r)
{
	static const char *const names[] = { "Provider", "Config", "Runs", "Orch/s", "p50", "p99" };
	fprintf(f, "<h2>Over %u repeats: median (min\u2013max) \u00b1spread</h2>\n"
	        "<p class=\"note\">spread = (max \u2212 min) / median</p>\n<table>\n",
	        dura_report_repeats(r));
	head_row(f, names, sizeof names / sizeof names[0]);
	struct dura_pair_summary s;
	const struct dura_report_run *run;
	for (size_t i = 0; (run = dura_report_next_pair(r, &i, &s)) != NULL;) {
		char cfg[32], n[16];
		dura_report_config_string(cfg, sizeof cfg, run->orch_workers, run->activity_workers);
		snprintf(n, sizeof n, "%zu", s.runs);
		struct dura_pair_text t;
		dura_report_fmt_pair_summary(&s, &t);
		fputs("<tr>", f);
		cell(f, run->provider);
		cell(f, cfg);
		num(f, n);
		num(f, t.orch);
		num(f, t.p50);
		num(f, t.p99);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* "0.95x [0.88, 1.03]" */
static void ratio_cell(FILE *f, double v, const double ci[2])
{
	char r[32], i[64], both[100];
	dura_report_fmt_number(r, sizeof r, v, 2, 0, "x");
	dura_report_fmt_interval(i, sizeof i, ci);
	snprintf(both, sizeof both, "%s %s", r, isfinite(ci[0]) ? i : "");
	num(f, both);
}

static void compare_table(FILE *f, const struct dura_report *r, const struct dura_compare_def *c)
{
	struct dura_compare_row *rows;
	size_t n = dura_report_compare_rows(r, c, &rows);
	fputs("<h2>Compare ", f);
	text(f, c->name);
	fputs(": ", f);
	text(f, c->subject);
	fputs(" / ", f);
	text(f, c->baseline);
	fputs("</h2>\n<table>\n<tr><th>Config</th><th>", f);
	text(f, c->subject);
	fputs(" orch/s</th><th>", f);
	text(f, c->baseline);
	fputs(" orch/s</th><th>Throughput ratio (95 % CI)</th><th>p50 ratio (95 % CI)</th>"
	      "<th>p99 ratio (95 % CI)</th><th>Throughput</th></tr>\n", f);
	for (size_t k = 0; k < n; k++) {
		const struct dura_compare_row *w = &rows[k];
		char cfg[32], so[32], bo[32];
		dura_report_config_string(cfg, sizeof cfg, w->orch_workers, w->activity_workers);
		dura_report_fmt_number(so, sizeof so, w->subject_orch_per_sec, 1, 0, "");
		dura_report_fmt_number(bo, sizeof bo, w->baseline_orch_per_sec, 1, 0, "");
		fputs("<tr>", f);
		cell(f, cfg);
		num(f, so);
		num(f, bo);
		ratio_cell(f, w->throughput_ratio, w->throughput_ratio_ci);
		ratio_cell(f, w->latency_p50_ratio, w->latency_p50_ratio_ci);
		ratio_cell(f, w->latency_p99_ratio, w->latency_p99_ratio_ci);
		fprintf(f, "<td class=\"%s\">", w->no_difference == 0 ? "diff" : "same");
		text(f, dura_report_compare_verdict(w));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
	free(rows);
}

static void environment(FILE *f, const struct dura_report *r)
{
	char date[64];
	dura_report_date(r, DURA_DATE_TEXT, date, sizeof date);
	fputs("<h2>Environment</h2>\n<ul class=\"env\">\n<li>durabench: ", f);
	text(f, r->version ? r->version : "unknown");
	fputs("</li>\n<li>commit: ", f);
	text(f, r->commit ? r->commit : "unknown");
	fputs("</li>\n<li>date: ", f);
	text(f, date);
	fprintf(f, "</li>\n<li>host: ");
	text(f, r->hostname ? r->hostname : "unknown");
	fprintf(f, ", %d CPUs</li>\n<li>SQLite: ", r->cpus);
	text(f, r->sqlite_version ? r->sqlite_version : "unknown");
	fputs("</li>\n", f);
	for (size_t i = 0; i < r->n_providers; i++) {
		const struct dura_report_provider *p = &r->providers[i];
		fputs("<li>provider ", f);
		text(f, p->name);
		fputs(": ", f);
		text(f, p->description && *p->description ? p->description : p->plugin);
		if (p->url) {
			fputs("; address ", f);
			text(f, p->url); /* masked by the caller */
		}
		if (p->rtt_ms >= 0)
			fprintf(f, "; measured RTT %.3f ms", p->rtt_ms);
		if (p->emulated_rtt_ms > 0)
			fprintf(f, "; emulated RTT %.3f ms", p->emulated_rtt_ms);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
}

void dura_report_html_write(FILE *f, const struct dura_report *r)
{
	const struct dura_scenario *sc = r->scenario;
	const char *name = sc && sc->workload.scenario ? sc->workload.scenario : "fanout";
	const char *file = sc && sc->path ? sc->path : NULL;
	if (file && strrchr(file, '/'))
		file = strrchr(file, '/') + 1;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", f);
	/* nothing may be fetched: no network, no surprises in a CI artifact */
	fputs("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\">\n<title>durabench: ", f);
	text(f, name);
	if (file) {
		fputs(" (", f);
		text(f, file);
		fputs(")", f);
	}
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>durabench: ", style);
	text(f, name);
	if (file) {
		fputs(" (", f);
		text(f, file);
		fputs(")", f);
	}
	fputs("</h1>\n", f);
	if (r->interrupted)
		fprintf(f, "<p><strong>Interrupted:</strong> %zu of %zu planned runs started.</p>\n",
		        r->n_runs, r->planned_runs);
	runs_table(f, r);
	if (dura_report_repeats(r) > 1)
		repeats_table(f, r);
	for (size_t i = 0; sc && i < sc->n_compares; i++)
		compare_table(f, r, &sc->compares[i]);
	if (sc && sc->n_compares)
		fputs("<p class=\"note\">Ratios of averages; [low, high] is the 95 % confidence "
		      "interval over the repeats (Welch's t on log values). \"no difference "
		      "detected\": the throughput interval includes 1.00.</p>\n", f);
	/* the chart carries the per-interval timeline charts (fault windows
	 * shaded) below the bars when the runs have timelines */
	fputs(dura_report_has_timeline(r) ? "<h2>Throughput and timelines</h2>\n<figure>\n"
	                                  : "<h2>Throughput</h2>\n<figure>\n", f);
	dura_report_svg_chart(f, r);
	fputs("</figure>\n", f);
	dura_report_html_faults(f, r);
	environment(f, r);
	fputs("</body>\n</html>\n", f);
}

int dura_report_html(const struct dura_report *r, const char *path, char *err, size_t errlen)
{
	return dura_report_write_file(r, path, dura_report_html_write, err, errlen);
}
