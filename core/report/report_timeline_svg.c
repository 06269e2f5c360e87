/* The timeline charts of --svg (report_faults.h): per config, orch/s per
 * interval over the run (one line per provider, first repeat), fault
 * windows shaded and named, and p99 latency on a second panel below on the
 * same time axis. */
#include "config.h"

#include "report_faults.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* Okabe-Ito, in the bar chart's order so a provider keeps its colour. */
static const char *const line_colours[] = {
	"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
};
#define N_COLOURS (sizeof line_colours / sizeof line_colours[0])

enum { LEFT = 80, RIGHT = 24, TITLE_H = 40, TOP_H = 200, GAP_H = 34, LOW_H = 110,
       AXIS_H = 40, LEGEND_ROW = 18 };

struct config_runs {
	unsigned o, w;
	const struct dura_report_run **runs; /* first repeat, one per provider */
	size_t n;
};

/* The configs that have a timeline, in scenario order (caller frees each
 * runs array and the result). */
static size_t collect(const struct dura_report *r, struct config_runs **out)
{
	const struct dura_scenario *sc = r->scenario;
	size_t nc = sc ? sc->n_configs : 0, m = 0;
	struct config_runs *cr = dura_xcalloc(nc + 1, sizeof *cr);
	for (size_t c = 0; c < nc; c++) {
		struct config_runs *x = &cr[m];
		x->o = sc->configs[c].orch_workers;
		x->w = sc->configs[c].activity_workers;
		x->runs = dura_xcalloc(r->n_runs + 1, sizeof *x->runs);
		for (size_t i = 0; i < r->n_runs; i++) {
			const struct dura_report_run *run = &r->runs[i];
			if (run->ran && run->repeat_index == 0 && run->orch_workers == x->o &&
			    run->activity_workers == x->w && run->result.n_timeline)
				x->runs[x->n++] = run;
		}
		if (x->n)
			m++;
		else
			free(x->runs);
	}
	*out = cr;
	return m;
}

static void free_collected(struct config_runs *cr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cr[i].runs);
	free(cr);
}

/* The index of a provider in the report's provider list: its colour. */
static size_t colour_of(const struct dura_report *r, const char *provider)
{
	for (size_t i = 0; i < r->n_providers; i++)
		if (strcmp(r->providers[i].name, provider) == 0)
			return i % N_COLOURS;
	return 0;
}

static double chart_height(size_t n_lines)
{
	return TITLE_H + TOP_H + GAP_H + LOW_H + AXIS_H + (double)n_lines * LEGEND_ROW + 12;
}

double dura_report_timeline_svg_height(const struct dura_report *r)
{
	struct config_runs *cr;
	size_t n = collect(r, &cr);
	double h = 0;
	for (size_t i = 0; i < n; i++)
		h += chart_height(cr[i].n);
	free_collected(cr, n);
	return h;
}

static double nice_step(double max)
{
	if (!(max > 0))
		return 1;
	double raw = max / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
	return mag * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
}

/* A panel's frame: gridlines with labels, and the axis title. */
static void panel_axes(FILE *f, double x0, double y0, double w, double h, double ymax,
                       double step, const char *label)
{
	for (double t = 0; t <= ymax * 1.0000001; t += step) {
		double y = y0 + h - t / ymax * h;
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
		        x0, y, x0 + w, y, t == 0 ? "#000000" : "#dddddd");
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", x0 - 6,
		        y + 4, t);
	}
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000000\"/>\n",
	        x0, y0, x0, y0 + h);
	fprintf(f, "<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">"
	           "%s</text>\n", y0 + h / 2, label);
}

/* One line (a polyline per run of defined values). which: 0 orch/s, 1 p99. */
static void series(FILE *f, const struct dura_run_result *x, int which, double x0, double xs,
                   double y0, double h, double ymax, const char *colour)
{
	int open = 0;
	for (size_t k = 0; k < x->n_timeline; k++) {
		const struct dura_timeline_point *pt = &x->timeline[k];
		double v = which ? pt->p99_ms : pt->orch_per_sec;
		if (!isfinite(v)) {
			if (open)
				fputs("\"/>\n", f);
			open = 0;
			continue;
		}
		if (!open)
			fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
			        colour);
		double px = x0 + (pt->t_s + pt->len_s / 2) * xs;
		double py = y0 + h - (v > ymax ? ymax : v) / ymax * h;
		fprintf(f, "%s%.1f,%.1f", open ? " " : "", px, py);
		open = 1;
	}
	if (open)
		fputs("\"/>\n", f);
}

static double chart(FILE *f, const struct dura_report *r, const struct config_runs *c, double y,
                    double width)
{
	double height = chart_height(c->n), plot_w = width - LEFT - RIGHT;
	double tmax = 0, omax = 0, pmax = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct dura_run_result *x = &c->runs[i]->result;
		const struct dura_timeline_point *last = &x->timeline[x->n_timeline - 1];
		if (last->t_s + last->len_s > tmax)
			tmax = last->t_s + last->len_s;
		for (size_t k = 0; k < x->n_timeline; k++) {
			if (x->timeline[k].orch_per_sec > omax)
				omax = x->timeline[k].orch_per_sec;
			if (isfinite(x->timeline[k].p99_ms) && x->timeline[k].p99_ms > pmax)
				pmax = x->timeline[k].p99_ms;
		}
	}
	double ostep = nice_step(omax), pstep = nice_step(pmax);
	double oymax = omax > 0 ? ostep * ceil(omax * 1.05 / ostep) : 5 * ostep;
	double pymax = pmax > 0 ? pstep * ceil(pmax * 1.05 / pstep) : 5 * pstep;
	double xs = tmax > 0 ? plot_w / tmax : 1;
	double top = TITLE_H, low = TITLE_H + TOP_H + GAP_H;

	fprintf(f, "<svg x=\"0\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\">\n", y, width, height);
	fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"14\" font-weight=\"bold\">Timeline %u:%u"
	           " - orch/s per %.3g s interval (first repeat); shaded: faults</text>\n",
	        LEFT, c->o, c->w, c->runs[0]->result.interval_s);
	/* fault windows of the first run (every run takes the same ones) */
	const struct dura_run_result *x0r = &c->runs[0]->result;
	for (size_t q = 0; q < x0r->n_faults; q++) {
		const struct dura_fault_result *fr = &x0r->faults[q];
		if (!fr->applied || isnan(fr->begin_s))
			continue;
		double bx = LEFT + fr->begin_s * xs;
		double bw = (fr->end_s - fr->begin_s) * xs;
		if (bw < 3)
			bw = 3; /* an instant action still shows */
		fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.0f\" fill=\"#d55e00\" "
		           "fill-opacity=\"0.15\"><title>", bx, TITLE_H, bw,
		        (double)(TOP_H + GAP_H + LOW_H));
		dura_report_xml_text(f, fr->name);
		fprintf(f, " (%s)</title></rect>\n", fr->action);
		fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"10\" fill=\"#8a3400\">", bx + 2,
		        top + 11 + (double)(q % 2) * 11);
		dura_report_xml_text(f, fr->name);
		fputs("</text>\n", f);
	}
	panel_axes(f, LEFT, top, plot_w, TOP_H, oymax, ostep, "Orch/s");
	panel_axes(f, LEFT, low, plot_w, LOW_H, pymax, pstep, "p99 ms");
	for (size_t i = 0; i < c->n; i++) {
		const char *colour = line_colours[colour_of(r, c->runs[i]->provider)];
		series(f, &c->runs[i]->result, 0, LEFT, xs, top, TOP_H, oymax, colour);
		series(f, &c->runs[i]->result, 1, LEFT, xs, low, LOW_H, pymax, colour);
	}
	/* time axis under the lower panel */
	double tstep = nice_step(tmax), ay = low + LOW_H;
	for (double t = 0; t <= tmax * 1.0000001; t += tstep)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
		        LEFT + t * xs, ay + 16, t);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555555\">"
	           "seconds from the start of the run</text>\n", LEFT + plot_w / 2, ay + 32);
	for (size_t i = 0; i < c->n; i++) {
		double ly = ay + AXIS_H + 12 + (double)i * LEGEND_ROW;
		fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n",
		        LEFT, ly - 10, line_colours[colour_of(r, c->runs[i]->provider)]);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\">", LEFT + 18, ly);
		dura_report_xml_text(f, c->runs[i]->provider);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
	return height;
}

double dura_report_timeline_svg(FILE *f, const struct dura_report *r, double y, double width)
{
	struct config_runs *cr;
	size_t n = collect(r, &cr);
	double used = 0;
	for (size_t i = 0; i < n; i++)
		used += chart(f, r, &cr[i], y + used, width);
	free_collected(cr, n);
	return used;
}
