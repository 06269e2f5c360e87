/* `--svg FILE`: a self-contained SVG bar chart of Orch/s, one group of bars
 * per config, one bar per provider (repeats averaged, like the ratio
 * tables), with a y axis, gridlines, value labels and a legend.  No fonts,
 * stylesheets or scripts are referenced, so the file renders anywhere
 * (browser, GitHub, CI artifact viewer).  All text is XML-escaped. */
#include "config.h"

#include "report.h"
#include "report_faults.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "workloads/workload.h"

/* Okabe-Ito: distinguishable with the common colour-vision deficiencies. */
static const char *const palette[] = {
	"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
};

enum {
	MARGIN_LEFT = 80,
	MARGIN_RIGHT = 24,
	MARGIN_TOP = 56,
	PLOT_H = 260,
	BAR_W = 28,
	BAR_GAP = 4,
	GROUP_GAP = 28,
	LEGEND_ROW = 18,
};

struct chart {
	const char **providers;   /* borrowed names, run order */
	size_t n_providers;
	unsigned (*configs)[2];   /* O, W in run order */
	size_t n_configs;
	double *value;            /* [config * n_providers + provider], NaN none */
};

static size_t index_of_provider(struct chart *c, const char *name)
{
	for (size_t i = 0; i < c->n_providers; i++)
		if (strcmp(c->providers[i], name) == 0)
			return i;
	c->providers[c->n_providers] = name;
	return c->n_providers++;
}

static size_t index_of_config(struct chart *c, unsigned o, unsigned w)
{
	for (size_t i = 0; i < c->n_configs; i++)
		if (c->configs[i][0] == o && c->configs[i][1] == w)
			return i;
	c->configs[c->n_configs][0] = o;
	c->configs[c->n_configs][1] = w;
	return c->n_configs++;
}

/* Fills c from the runs (caller frees the three arrays). */
static void build_chart(const struct dura_report *r, struct chart *c)
{
	size_t n = r->n_runs ? r->n_runs : 1;
	c->providers = dura_xcalloc(n, sizeof *c->providers);
	c->configs = dura_xcalloc(n, sizeof *c->configs);
	c->n_providers = c->n_configs = 0;
	size_t *pi = dura_xcalloc(n, sizeof *pi), *ci = dura_xcalloc(n, sizeof *ci);
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		pi[i] = index_of_provider(c, run->provider ? run->provider : "?");
		ci[i] = index_of_config(c, run->orch_workers, run->activity_workers);
	}
	size_t cells = c->n_configs * c->n_providers;
	c->value = dura_xcalloc(cells ? cells : 1, sizeof *c->value);
	unsigned *count = dura_xcalloc(cells ? cells : 1, sizeof *count);
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		if (!run->ran || !isfinite(run->result.orch_per_sec))
			continue;
		size_t k = ci[i] * c->n_providers + pi[i];
		c->value[k] += run->result.orch_per_sec;
		count[k]++;
	}
	for (size_t k = 0; k < cells; k++)
		c->value[k] = count[k] ? c->value[k] / count[k] : NAN;
	free(count);
	free(pi);
	free(ci);
}

/* A round tick step giving about five gridlines up to max. */
static double nice_step(double max)
{
	if (!(max > 0))
		return 1;
	double raw = max / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
	return mag * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
}

static void value_label(char *buf, size_t len, double v)
{
	if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.1f", v);
}

void dura_report_svg_chart(FILE *f, const struct dura_report *r)
{
	struct chart c;
	build_chart(r, &c);
	size_t P = c.n_providers ? c.n_providers : 1;
	double max = 0;
	for (size_t k = 0; k < c.n_configs * c.n_providers; k++)
		if (isfinite(c.value[k]) && c.value[k] > max)
			max = c.value[k];
	double step = nice_step(max), ymax = max > 0 ? step * ceil(max / step) : 5 * step;
	if (max > ymax * 0.92)
		ymax += step; /* room for the value label of the tallest bar */

	double group_w = (double)P * BAR_W + (double)(P - 1) * BAR_GAP;
	double plot_w = (double)c.n_configs * group_w + (double)(c.n_configs + 1) * GROUP_GAP;
	const char *scen = dura_workload_name(r->scenario ? &r->scenario->workload : NULL);
	/* the file's name only: an absolute path says nothing more to a reader
	 * and would run off the right edge */
	const char *path = r->scenario && r->scenario->path ? r->scenario->path : NULL;
	if (path && strrchr(path, '/'))
		path = strrchr(path, '/') + 1;
	/* the title (about 7.5 px per character at 15 px bold) sets a minimum
	 * width too; the plot then fills whatever width there is */
	size_t title_len = strlen(scen) + (path ? strlen(path) : 0) + 48;
	double min_w = (double)title_len * 7.5 + 40;
	if (plot_w < 320)
		plot_w = 320;
	if (MARGIN_LEFT + plot_w + MARGIN_RIGHT < min_w)
		plot_w = min_w - MARGIN_LEFT - MARGIN_RIGHT;
	double width = MARGIN_LEFT + plot_w + MARGIN_RIGHT;
	/* spread the groups evenly over the plot */
	double gap = (plot_w - (double)c.n_configs * group_w) / (double)(c.n_configs + 1);
	double x0 = MARGIN_LEFT, y0 = MARGIN_TOP, yb = MARGIN_TOP + PLOT_H;
	double legend_y = yb + 60;
	double height = legend_y + (double)c.n_providers * LEGEND_ROW + 16;
	/* the timeline charts (report_timeline_svg.c) go below the bars */
	double bars_h = height, timeline_h = dura_report_timeline_svg_height(r);
	if (timeline_h > 0 && width < 760)
		width = 760;
	height += timeline_h;

	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	           "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
	        width, height, width, height);
	fprintf(f, "<title>durabench: ");
	dura_report_xml_text(f, scen);
	fprintf(f, " orchestrations per second</title>\n");
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n",
	        width, height);
	fprintf(f, "<text x=\"%.1f\" y=\"24\" font-size=\"15\" font-weight=\"bold\">durabench: ",
	        x0);
	dura_report_xml_text(f, scen);
	if (path) {
		fputs(" (", f);
		dura_report_xml_text(f, path);
		fputc(')', f);
	}
	fprintf(f, " - Orch/s by config</text>\n");
	fprintf(f, "<text x=\"%.1f\" y=\"42\" font-size=\"11\" fill=\"#555555\">"
	           "Steady-window throughput, repeats averaged; higher is better.</text>\n", x0);

	/* gridlines and y tick labels */
	for (double t = 0; t <= ymax * 1.0000001; t += step) {
		double y = yb - t / ymax * PLOT_H;
		char lab[32];
		snprintf(lab, sizeof lab, "%g", t);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
		        x0, y, x0 + plot_w, y, t == 0 ? "#000000" : "#dddddd");
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", x0 - 6,
		        y + 4, lab);
	}
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000000\"/>\n",
	        x0, y0, x0, yb);
	fprintf(f, "<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">"
	           "Orch/s</text>\n", y0 + PLOT_H / 2.0);

	/* bars, one group per config */
	for (size_t g = 0; g < c.n_configs; g++) {
		double gx = x0 + gap + (double)g * (group_w + gap);
		for (size_t p = 0; p < c.n_providers; p++) {
			double v = c.value[g * c.n_providers + p];
			double bx = gx + (double)p * (BAR_W + BAR_GAP);
			char lab[32];
			if (!isfinite(v)) {
				fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
				           "font-size=\"10\" fill=\"#555555\">n/a</text>\n",
				        bx + BAR_W / 2.0, yb - 4);
				continue;
			}
			double h = v / ymax * PLOT_H;
			value_label(lab, sizeof lab, v);
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\">"
			           "<title>", bx, yb - h, BAR_W, h,
			        palette[p % (sizeof palette / sizeof palette[0])]);
			dura_report_xml_text(f, c.providers[p]);
			fprintf(f, " %u:%u: %s orch/s</title></rect>\n", c.configs[g][0], c.configs[g][1],
			        lab);
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">"
			           "%s</text>\n", bx + BAR_W / 2.0, yb - h - 4, lab);
		}
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%u:%u</text>\n",
		        gx + group_w / 2, yb + 18, c.configs[g][0], c.configs[g][1]);
	}
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555555\">"
	           "config (orchestration dispatchers : activity workers)</text>\n",
	        x0 + plot_w / 2, yb + 36);

	/* legend */
	for (size_t p = 0; p < c.n_providers; p++) {
		double ly = legend_y + (double)p * LEGEND_ROW;
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n",
		        x0, ly - 10, palette[p % (sizeof palette / sizeof palette[0])]);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x0 + 18, ly);
		dura_report_xml_text(f, c.providers[p]);
		fputs("</text>\n", f);
	}
	if (c.n_configs == 0)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no runs</text>\n",
		        x0 + plot_w / 2, y0 + PLOT_H / 2.0);
	dura_report_timeline_svg(f, r, bars_h, width);
	fputs("</svg>\n", f);
	free(c.providers);
	free(c.configs);
	free(c.value);
}

void dura_report_svg_write(FILE *f, const struct dura_report *r)
{
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	dura_report_svg_chart(f, r);
}

int dura_report_svg(const struct dura_report *r, const char *path, char *err, size_t errlen)
{
	return dura_report_write_file(r, path, dura_report_svg_write, err, errlen);
}
