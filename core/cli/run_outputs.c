/* --csv, --svg, --track and the --baseline gate for `durabench run` (see
 * report_extras.h and docs/reporting.md). */
#include "config.h"

#include "run_outputs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "report/report_baseline.h"
#include "base/util.h"

/* --max-drop 100 would let throughput fall to zero: a gate that cannot
 * fail, so it is refused. */
static int gate_of(const struct dura_report_extras *x, struct dura_gate *g, FILE *errf)
{
	char err[256];
	if (dura_parse_percent(x->max_drop, 100, &g->max_drop_pct, err, sizeof err) != 0) {
		fprintf(errf, "durabench run: --max-drop: %s\n", err);
		return -1;
	}
	if (g->max_drop_pct >= 100) {
		fprintf(errf, "durabench run: --max-drop: %s: must be below 100 %% "
		              "(100 %% would let throughput fall to zero)\n", x->max_drop);
		return -1;
	}
	g->max_latency_rise_pct = -1;
	if (x->max_latency_rise &&
	    dura_parse_percent(x->max_latency_rise, -1, &g->max_latency_rise_pct, err,
	                       sizeof err) != 0) {
		fprintf(errf, "durabench run: --max-latency-rise: %s\n", err);
		return -1;
	}
	return 0;
}

int dura_report_extras_check(const struct dura_report_extras *x, FILE *errf)
{
	if (!x->baseline_path) {
		if (x->max_drop || x->max_latency_rise) {
			fprintf(errf, "durabench run: --%s needs --baseline FILE\n",
			        x->max_drop ? "max-drop" : "max-latency-rise");
			return -1;
		}
		return 0;
	}
	if (!x->max_drop) {
		fprintf(errf, "durabench run: --baseline needs --max-drop P (e.g. --max-drop 20%%)\n");
		return -1;
	}
	struct dura_gate g;
	if (gate_of(x, &g, errf) != 0)
		return -1;
	/* Load it now so a missing or broken baseline fails in a second, not
	 * after the whole benchmark; it is read again after the run. */
	struct dura_baseline b;
	char err[1024];
	if (dura_baseline_load(x->baseline_path, &b, err, sizeof err) != 0) {
		fprintf(errf, "durabench run: --baseline %s\n", err);
		return -1;
	}
	int usable = 0;
	for (size_t i = 0; i < b.n; i++)
		usable |= isfinite(b.entries[i].orch_per_sec);
	if (!usable)
		fprintf(errf, "durabench run: --baseline %s: no run with a throughput figure\n",
		        x->baseline_path);
	dura_baseline_free(&b);
	return usable ? 0 : -1;
}

/* Names the pairs on each side, for the no-overlap message. */
static void list_pairs(FILE *f, const struct dura_report *r, const struct dura_baseline *b)
{
	/* only the entries the gate could use: a pair whose runs all failed or
	 * were interrupted has no figure */
	fprintf(f, "durabench run: baseline has:");
	size_t listed = 0;
	for (size_t i = 0; i < b->n; i++)
		if (isfinite(b->entries[i].orch_per_sec))
			fprintf(f, "%s %s %s", listed++ ? "," : "", b->entries[i].provider,
			        b->entries[i].config);
	fprintf(f, "%s\ndurabench run: this run has:", listed ? "" : " no run with a figure");
	size_t shown = 0;
	for (size_t i = 0; i < r->n_runs; i++) {
		if (!r->runs[i].ran || r->runs[i].repeat_index != 0)
			continue;
		fprintf(f, "%s %s %u:%u", shown++ ? "," : "", r->runs[i].provider,
		        r->runs[i].orch_workers, r->runs[i].activity_workers);
	}
	fprintf(f, "%s\n", shown ? "" : " no completed run");
}

static int baseline_step(const struct dura_report *r, const struct dura_report_extras *x,
                         FILE *out, FILE *errf)
{
	struct dura_gate g;
	if (gate_of(x, &g, errf) != 0)
		return DURA_EXIT_USAGE;
	struct dura_baseline b;
	char err[1024];
	if (dura_baseline_load(x->baseline_path, &b, err, sizeof err) != 0) {
		fprintf(errf, "durabench run: --baseline %s\n", err);
		return DURA_EXIT_USAGE;
	}
	if (b.warning)
		fprintf(errf, "durabench run: warning: --baseline %s\n", b.warning);
	struct dura_baseline_row *rows;
	size_t n = dura_baseline_compare(r, &b, &g, &rows);
	dura_baseline_markdown(out, r, x->baseline_path, &b, &g, rows, n);
	fflush(out);
	int rc = DURA_EXIT_OK;
	if (n == 0) {
		fprintf(errf, "durabench run: --baseline %s: no (provider, config) of this run is in "
		              "the baseline, nothing was compared\n", x->baseline_path);
		list_pairs(errf, r, &b);
		rc = DURA_EXIT_USAGE;
	}
	for (size_t i = 0; i < n; i++) {
		const struct dura_baseline_row *w = &rows[i];
		if (w->throughput_regressed) {
			fprintf(errf, "durabench run: REGRESSION: %s %s: %.1f orch/s vs baseline %.1f "
			              "orch/s (%+.1f %%, allowed drop %g %%)\n",
			        w->provider, w->config, w->cur_orch, w->base_orch, w->orch_change_pct,
			        g.max_drop_pct);
			rc = rc ? rc : DURA_EXIT_FAIL;
		} else if (w->within_noise) {
			fprintf(errf, "durabench run: %s %s: %.1f orch/s vs baseline %.1f orch/s "
			              "(%+.1f %%) is inside the noise (95 %% interval of the ratio "
			              "[%.2f, %.2f] includes 1): not a regression\n",
			        w->provider, w->config, w->cur_orch, w->base_orch, w->orch_change_pct,
			        w->ratio_ci[0], w->ratio_ci[1]);
		}
		if (w->latency_regressed) {
			fprintf(errf, "durabench run: REGRESSION: %s %s: p99 latency %.2f ms vs baseline "
			              "%.2f ms (%+.1f %%, allowed rise %g %%)\n",
			        w->provider, w->config, w->cur_p99, w->base_p99, w->p99_change_pct,
			        g.max_latency_rise_pct);
			rc = rc ? rc : DURA_EXIT_FAIL;
		}
	}
	free(rows);
	dura_baseline_free(&b);
	return rc;
}

static int worse(int a, int b)
{
	return a > b ? a : b;
}

int dura_report_extras_write(const struct dura_report *r, const struct dura_report_extras *x,
                             FILE *out, FILE *errf)
{
	int rc = DURA_EXIT_OK;
	char err[1024];
	if (x->baseline_path)
		rc = baseline_step(r, x, out, errf);
	if (x->csv_path && dura_report_csv(r, x->csv_path, err, sizeof err) != 0) {
		fprintf(errf, "durabench run: --csv %s\n", err);
		rc = worse(rc, DURA_EXIT_FAIL);
	}
	if (x->svg_path && dura_report_svg(r, x->svg_path, err, sizeof err) != 0) {
		fprintf(errf, "durabench run: --svg %s\n", err);
		rc = worse(rc, DURA_EXIT_FAIL);
	}
	if (x->html_path && dura_report_html(r, x->html_path, err, sizeof err) != 0) {
		fprintf(errf, "durabench run: --html %s\n", err);
		rc = worse(rc, DURA_EXIT_FAIL);
	}
	if (x->track_path && dura_report_track(r, x->track_path, err, sizeof err) != 0) {
		fprintf(errf, "durabench run: --track %s\n", err);
		rc = worse(rc, DURA_EXIT_FAIL);
	}
	return rc;
}
