/* The Faults table, the recovery comparison, the timeline tables of the
 * Markdown report and the faults CSV (report_faults.h). */
#include "config.h"

#include "report_faults.h"
#include "report_scaleout.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

int dura_report_has_faults(const struct dura_report *r)
{
	for (size_t i = 0; i < r->n_runs; i++)
		if (r->runs[i].ran && r->runs[i].result.n_faults)
			return 1;
	return 0;
}

int dura_report_has_timeline(const struct dura_report *r)
{
	for (size_t i = 0; i < r->n_runs; i++)
		if (r->runs[i].ran && r->runs[i].result.n_timeline)
			return 1;
	return 0;
}

static void failures_text(char *buf, size_t len, const struct dura_failed_counts *c)
{
	const char *names[] = { "infra", "corrupt", "config", "app", "timeout" };
	const uint64_t v[] = { c->infra, c->corrupt, c->config, c->app, c->timeout };
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		if (!v[i])
			continue;
		int w = snprintf(buf + used, len - used, "%s%s %" PRIu64, used ? ", " : "", names[i],
		                 v[i]);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
	if (!used)
		snprintf(buf, len, "0");
}

static void recovery_text(char *buf, size_t len, const struct dura_fault_result *fr)
{
	if (!fr->applied)
		snprintf(buf, len, "not applied");
	else if (isnan(fr->before_orch_per_sec))
		snprintf(buf, len, "unknown (no interval before)");
	else if (isnan(fr->recovery_s))
		snprintf(buf, len, "not recovered");
	else
		snprintf(buf, len, "%.2f s", fr->recovery_s);
}

/* The text of one Faults-table row, shared by the Markdown and HTML tables. */
struct fault_row {
	char cfg[32], rec[64], fail[128], at[32], dur[32], latency[32], lost[24];
};

static void fault_row_fill(struct fault_row *w, const struct dura_report_run *run,
                           const struct dura_fault_result *fr)
{
	char cfg[24];
	dura_report_config_string(cfg, sizeof cfg, run->orch_workers, run->activity_workers);
	if (dura_report_processes(run)) /* scale-out: "2x1:1" as in the runs table */
		snprintf(w->cfg, sizeof w->cfg, "%ux%s", dura_report_processes(run), cfg);
	else
		snprintf(w->cfg, sizeof w->cfg, "%s", cfg);
	recovery_text(w->rec, sizeof w->rec, fr);
	failures_text(w->fail, sizeof w->fail, &fr->failed);
	snprintf(w->at, sizeof w->at, "-");
	snprintf(w->dur, sizeof w->dur, "-");
	if (!isnan(fr->begin_s))
		snprintf(w->at, sizeof w->at, "%.2f s", fr->begin_s);
	if (!isnan(fr->begin_s) && !isnan(fr->end_s))
		snprintf(w->dur, sizeof w->dur, "%.2f s", fr->end_s - fr->begin_s);
	snprintf(w->latency, sizeof w->latency, "%.1f ms", fr->max_latency_ms);
	snprintf(w->lost, sizeof w->lost, "%" PRIu64, fr->lost);
}

static const char faults_note[] =
	"At/For: when the action started and how long until it was over (lifted, "
	"or the restart done), from the start of the run. Recovery: from its end "
	"until the first interval at >= 90 % of the median orch/s of the intervals "
	"before it. Max latency, Failures, Lost: instances in flight during it.";

static void faults_table(FILE *f, const struct dura_report *r)
{
	fprintf(f, "\n### Faults\n\n");
	fprintf(f, "| Provider | Config | Fault | At | For | Recovery | Max latency | Failures "
	           "| Lost |\n");
	fprintf(f, "|---|---|---|---:|---:|---:|---:|---|---:|\n");
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		for (size_t k = 0; run->ran && k < run->result.n_faults; k++) {
			const struct dura_fault_result *fr = &run->result.faults[k];
			struct fault_row w;
			fault_row_fill(&w, run, fr);
			fputs("| ", f);
			dura_report_md_cell(f, run->provider);
			fprintf(f, " | %s | ", w.cfg);
			dura_report_md_cell(f, fr->name);
			fprintf(f, " (%s) | %s | %s | %s | %s | %s | %s |\n", fr->action, w.at, w.dur,
			        w.rec, w.latency, w.fail, w.lost);
		}
	}
	fprintf(f, "\n%s\n", faults_note);
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		for (size_t k = 0; run->ran && k < run->result.n_faults; k++)
			if (run->result.faults[k].error[0])
				fprintf(f, "- %s %u:%u: fault %s: %s\n", run->provider, run->orch_workers,
				        run->activity_workers, run->result.faults[k].name,
				        run->result.faults[k].error);
	}
}

static void html_cell(FILE *f, const char *s)
{
	fputs("<td>", f);
	dura_report_xml_text(f, s);
	fputs("</td>", f);
}

void dura_report_html_faults(FILE *f, const struct dura_report *r)
{
	static const char *const head[] = { "Provider", "Config", "Fault", "At", "For",
		                            "Recovery", "Max latency", "Failures", "Lost" };
	if (!dura_report_has_faults(r))
		return;
	fputs("<h2>Faults</h2>\n<table>\n<tr>", f);
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
		fprintf(f, "<th>%s</th>", head[i]);
	fputs("</tr>\n", f);
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		for (size_t k = 0; run->ran && k < run->result.n_faults; k++) {
			const struct dura_fault_result *fr = &run->result.faults[k];
			struct fault_row w;
			char fault[256];
			fault_row_fill(&w, run, fr);
			snprintf(fault, sizeof fault, "%s (%s)", fr->name, fr->action);
			fputs(fr->lost || !fr->applied ? "<tr class=\"bad\">" : "<tr>", f);
			const char *cells[] = { run->provider, w.cfg, fault, w.at, w.dur,
				                w.rec, w.latency, w.fail, w.lost };
			for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++)
				html_cell(f, cells[c]);
			fputs("</tr>\n", f);
			if (fr->error[0]) {
				fputs("<tr class=\"bad\"><td colspan=\"9\">", f);
				dura_report_xml_text(f, fr->error);
				fputs("</td></tr>\n", f);
			}
		}
	}
	fputs("</table>\n<p class=\"note\">", f);
	dura_report_xml_text(f, faults_note);
	fputs("</p>\n", f);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median recovery of fault `name` over the runs of provider at config o:w;
 * NaN when none recovered (or none ran).  *runs counts the runs seen. */
static double median_recovery(const struct dura_report *r, const char *provider,
                              const char *name, unsigned o, unsigned w, unsigned *runs)
{
	double *v = dura_xcalloc(r->n_runs + 1, sizeof *v);
	size_t n = 0;
	*runs = 0;
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		if (!run->ran || strcmp(run->provider, provider) != 0 || run->orch_workers != o ||
		    run->activity_workers != w)
			continue;
		for (size_t k = 0; k < run->result.n_faults; k++) {
			const struct dura_fault_result *fr = &run->result.faults[k];
			if (strcmp(fr->name, name) != 0)
				continue;
			(*runs)++;
			if (fr->applied && !isnan(fr->recovery_s))
				v[n++] = fr->recovery_s;
		}
	}
	double med = NAN;
	if (n > 0 && n == *runs) { /* one unrecovered run: not recovered */
		qsort(v, n, sizeof *v, cmp_double);
		med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	}
	free(v);
	return med;
}

static void fmt_recovery(char *buf, size_t len, double v, unsigned runs)
{
	if (runs == 0)
		snprintf(buf, len, "-");
	else if (isnan(v))
		snprintf(buf, len, "not recovered");
	else
		snprintf(buf, len, "%.2f s", v);
}

/* One row per fault and config both sides took. */
static void recovery_compare(FILE *f, const struct dura_report *r, const struct dura_compare_def *c)
{
	int header = 0;
	const struct dura_scenario *sc = r->scenario;
	for (size_t fi = 0; fi < sc->n_faults; fi++) {
		const char *name = sc->faults[fi].name;
		for (size_t ci = 0; ci < sc->n_configs; ci++) {
			unsigned o = sc->configs[ci].orch_workers, w = sc->configs[ci].activity_workers;
			unsigned ns, nb;
			double s = median_recovery(r, c->subject, name, o, w, &ns);
			double b = median_recovery(r, c->baseline, name, o, w, &nb);
			if (!ns || !nb)
				continue;
			if (!header) {
				fprintf(f, "\n### Recovery: %s (%s / %s)\n\n", c->name, c->subject,
				        c->baseline);
				fprintf(f, "| Config | Fault | %s | %s | Ratio |\n", c->subject, c->baseline);
				fprintf(f, "|---|---|---:|---:|---:|\n");
				header = 1;
			}
			char sv[32], bv[32], ratio[32] = "n/a";
			fmt_recovery(sv, sizeof sv, s, ns);
			fmt_recovery(bv, sizeof bv, b, nb);
			/* a ratio of recoveries shorter than an interval is noise */
			if (!isnan(s) && !isnan(b) && b > 0)
				snprintf(ratio, sizeof ratio, "%.2fx", s / b);
			fprintf(f, "| %u:%u | %s | %s | %s | %s |\n", o, w, name, sv, bv, ratio);
		}
	}
}

/* Orch/s (p99) per interval and provider, one table per config, first
 * repeat, rows inside a fault window marked with its name. */
static void timeline_tables(FILE *f, const struct dura_report *r)
{
	const struct dura_scenario *sc = r->scenario;
	for (size_t ci = 0; ci < sc->n_configs; ci++) {
		unsigned o = sc->configs[ci].orch_workers, w = sc->configs[ci].activity_workers;
		const struct dura_report_run **cols = dura_xcalloc(r->n_runs + 1, sizeof *cols);
		size_t nc = 0, rows = 0;
		for (size_t i = 0; i < r->n_runs; i++) {
			const struct dura_report_run *run = &r->runs[i];
			if (run->ran && run->repeat_index == 0 && run->orch_workers == o &&
			    run->activity_workers == w && run->result.n_timeline) {
				cols[nc++] = run;
				if (run->result.n_timeline > rows)
					rows = run->result.n_timeline;
			}
		}
		if (nc) {
			fprintf(f, "\n### Timeline %u:%u (orch/s, p99 in ms, per %.3g s interval)\n\n| t |",
			        o, w, cols[0]->result.interval_s);
			for (size_t c = 0; c < nc; c++) {
				fputc(' ', f);
				dura_report_md_cell(f, cols[c]->provider);
				fputs(" |", f);
			}
			fputs(" Faults |\n|---:|", f);
			for (size_t c = 0; c < nc; c++)
				fputs("---:|", f);
			fputs("---|\n", f);
		}
		for (size_t k = 0; k < rows; k++) {
			double t = NAN;
			for (size_t c = 0; c < nc; c++)
				if (k < cols[c]->result.n_timeline)
					t = cols[c]->result.timeline[k].t_s;
			fprintf(f, "| %.2f |", t);
			for (size_t c = 0; c < nc; c++) {
				const struct dura_run_result *x = &cols[c]->result;
				if (k >= x->n_timeline) {
					fputs(" |", f);
					continue;
				}
				const struct dura_timeline_point *pt = &x->timeline[k];
				if (isnan(pt->p99_ms))
					fprintf(f, " %.1f (-) |", pt->orch_per_sec);
				else
					fprintf(f, " %.1f (%.0f) |", pt->orch_per_sec, pt->p99_ms);
			}
			fputc(' ', f);
			const struct dura_run_result *x = &cols[0]->result;
			double len = k < x->n_timeline ? x->timeline[k].len_s : x->interval_s;
			int marked = 0;
			for (size_t q = 0; q < x->n_faults; q++) {
				const struct dura_fault_result *fr = &x->faults[q];
				if (!fr->applied || !(fr->begin_s < t + len && fr->end_s >= t))
					continue;
				fprintf(f, "%s%s", marked++ ? ", " : "", fr->name);
			}
			fputs(" |\n", f);
		}
		free(cols);
	}
}

void dura_report_markdown_faults(FILE *f, const struct dura_report *r)
{
	if (!r->scenario || !dura_report_has_faults(r))
		return;
	faults_table(f, r);
	for (size_t i = 0; i < r->scenario->n_compares; i++)
		recovery_compare(f, r, &r->scenario->compares[i]);
	timeline_tables(f, r);
	fputc('\n', f);
}

/* ---- CSV ---- */

static void csv_number(FILE *f, double v)
{
	fputc(',', f);
	if (isfinite(v))
		fprintf(f, "%.10g", v);
}

/* A name as a CSV field: quoted when it holds a comma, quote or line end. */
static void csv_name(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void csv_run_head(FILE *f, const struct dura_report_run *run)
{
	char cfg[32];
	dura_report_config_string(cfg, sizeof cfg, run->orch_workers, run->activity_workers);
	csv_name(f, run->provider);
	fprintf(f, ",%s,%u", cfg, run->repeat_index + 1);
}

void dura_report_faults_csv_write(FILE *f, const struct dura_report *r)
{
	fputs("provider,config,repeat,fault,action,at_s,for_s,begin_s,end_s,applied,"
	      "before_orch_per_sec,recovery_s,max_latency_ms,failed_infra,failed_config,"
	      "failed_app,failed_timeout,retries,reconnects,lost,error\r\n", f);
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		for (size_t k = 0; run->ran && k < run->result.n_faults; k++) {
			const struct dura_fault_result *fr = &run->result.faults[k];
			csv_run_head(f, run);
			fputc(',', f);
			csv_name(f, fr->name);
			fprintf(f, ",%s", fr->action);
			csv_number(f, fr->at_s);
			csv_number(f, fr->for_s);
			csv_number(f, fr->begin_s);
			csv_number(f, fr->end_s);
			fprintf(f, ",%d", fr->applied);
			csv_number(f, fr->before_orch_per_sec);
			csv_number(f, fr->recovery_s);
			csv_number(f, fr->max_latency_ms);
			fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			        ",%" PRIu64 ",%" PRIu64 ",", fr->failed.infra, fr->failed.config,
			        fr->failed.app, fr->failed.timeout, fr->retries, fr->reconnects, fr->lost);
			csv_name(f, fr->error);
			fputs("\r\n", f);
		}
	}
}

void dura_report_timeline_csv_write(FILE *f, const struct dura_report *r)
{
	fputs("provider,config,repeat,t_s,len_s,completed,orch_per_sec,activities_per_sec,"
	      "p50_ms,p99_ms,in_flight,failed_infra,failed_config,failed_app,failed_timeout,"
	      "round_trips,retries,reconnects,lock_conflicts\r\n", f);
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		for (size_t k = 0; run->ran && k < run->result.n_timeline; k++) {
			const struct dura_timeline_point *pt = &run->result.timeline[k];
			csv_run_head(f, run);
			csv_number(f, pt->t_s);
			csv_number(f, pt->len_s);
			fprintf(f, ",%" PRIu64, pt->completed);
			csv_number(f, pt->orch_per_sec);
			csv_number(f, pt->activities_per_sec);
			csv_number(f, pt->p50_ms);
			csv_number(f, pt->p99_ms);
			fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
			        pt->in_flight, pt->failed.infra, pt->failed.config, pt->failed.app,
			        pt->failed.timeout);
			if (pt->have_stats)
				fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, pt->round_trips,
				        pt->retries, pt->reconnects, pt->lock_conflicts);
			else
				fputs(",,,,", f);
			fputs("\r\n", f);
		}
	}
}

int dura_report_timeline_csv(const struct dura_report *r, const char *path, char *err,
                             size_t errlen)
{
	return dura_report_write_file(r, path, dura_report_timeline_csv_write, err, errlen);
}

int dura_report_faults_csv(const struct dura_report *r, const char *path, char *err,
                           size_t errlen)
{
	return dura_report_write_file(r, path, dura_report_faults_csv_write, err, errlen);
}
