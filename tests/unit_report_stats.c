/* Confidence intervals of ratios on synthetic repeats with known answers,
 * the t quantiles behind them, medians, and how a comparison and the
 * baseline gate use them (Markdown marker, JSON fields, noise). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/report_baseline.h"
#include "report/report_stats.h"
#include "tap.h"

static int near(double a, double b, double rel)
{
	return fabs(a - b) <= rel * fabs(b);
}

static void set_run(struct dura_report_run *r, const char *prov, unsigned rep, double orch,
                    double p99)
{
	memset(r, 0, sizeof *r);
	r->provider = prov;
	r->plugin = "sqlite";
	r->orch_workers = r->activity_workers = 1;
	r->repeat_index = rep;
	r->ran = 1;
	r->result.launched = r->result.completed = r->result.verified = 10;
	r->result.success_pct = 100;
	r->result.orch_per_sec = orch;
	r->result.latency.count = 10;
	r->result.latency.p50_ms = p99 / 2;
	r->result.latency.p99_ms = p99;
}

static char *markdown_of(const struct dura_report *rep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	dura_report_markdown(f, rep);
	fclose(f);
	return buf;
}

int main(void)
{
	/* ---- t quantiles: table values and the limit ---- */
	tap_ok(dura_stats_t975(1) == 12.706 && dura_stats_t975(4) == 2.776 &&
	       dura_stats_t975(30) == 2.042, "t(0.975): table values at df 1, 4, 30");
	tap_ok(near(dura_stats_t975(1e9), 1.960, 1e-3) && dura_stats_t975(4.5) < 2.776 &&
	       dura_stats_t975(4.5) > 2.571, "t(0.975): normal limit, fractional df in between");

	/* ---- medians and ranges ---- */
	double v[] = { 5, 1, 4, 2 }, lo, hi;
	dura_stats_range(v, 4, &lo, &hi);
	tap_ok(dura_stats_median(v, 4) == 3 && lo == 1 && hi == 5, "median of 4 values, range");
	double w[] = { 9, 7, 8 };
	tap_ok(dura_stats_median(w, 3) == 8 && isnan(dura_stats_median(w, 0)), "median of 3, of none");

	/* ---- a known answer: logs 1,2,3 over logs 0,1,2 ----
	 * d = 1, se = sqrt(1/3 + 1/3), Welch df = 4, t = 2.776:
	 * [exp(1 - 2.776 * 0.81650), exp(1 + 2.776 * 0.81650)] = [0.28181, 26.2226] */
	double s1[] = { exp(1), exp(2), exp(3) }, b1[] = { exp(0), exp(1), exp(2) }, ci[2];
	int rc = dura_stats_ratio_ci(s1, 3, b1, 3, ci);
	tap_ok(rc == 0 && near(ci[0], 0.28181, 1e-4) &&
	       near(ci[1], 26.2226, 1e-4), "ratio CI of a known set: [%.5f, %.4f]", ci[0], ci[1]);

	/* unequal spreads and sizes: logs 0,0.2 (n 2, var 0.02) over logs
	 * 0,0.1,0.2,0.3 (n 4, var 1/60): d = -0.05, se^2 = 0.01 + 1/240,
	 * df = se^4 / (0.01^2/1 + (1/240)^2/3) = 1.897..., t between 4.303 and 12.706 */
	double s2[] = { 1, exp(0.2) }, b2[] = { 1, exp(0.1), exp(0.2), exp(0.3) };
	double se = sqrt(0.01 + 1.0 / 240), df = pow(0.01 + 1.0 / 240, 2) /
	            (0.0001 + pow(1.0 / 240, 2) / 3);
	double t = dura_stats_t975(df);
	rc = dura_stats_ratio_ci(s2, 2, b2, 4, ci);
	tap_ok(rc == 0 && t > 4.303 && t < 12.706 &&
	       near(ci[0], exp(-0.05 - t * se), 1e-9) && near(ci[1], exp(-0.05 + t * se), 1e-9),
	       "ratio CI with Welch df %.3f: [%.4f, %.4f]", df, ci[0], ci[1]);

	double same[] = { 50, 50, 50 }, dbl[] = { 100, 100, 100 };
	tap_ok(dura_stats_ratio_ci(dbl, 3, same, 3, ci) == 0 && near(ci[0], 2, 1e-12) && near(ci[1], 2, 1e-12),
	       "no variation: the interval is the point ratio");
	tap_ok(dura_stats_ratio_ci(dbl, 1, same, 3, ci) == -1 && isnan(ci[0]),
	       "one repeat: no interval");
	double bad[] = { 100, 0 };
	tap_ok(dura_stats_ratio_ci(bad, 2, same, 3, ci) == -1, "a zero figure: no interval");

	/* ---- a comparison of 5 repeats: same figures in another order ---- */
	struct dura_report_run runs[20];
	double base[5] = { 100, 120, 90, 110, 105 }, sub_same[5] = { 110, 90, 105, 100, 120 };
	double sub_fast[5] = { 300, 310, 290, 305, 295 };
	for (unsigned i = 0; i < 5; i++) {
		set_run(&runs[2 * i], "a", i, sub_same[i], 10);
		set_run(&runs[2 * i + 1], "b", i, base[i], 10 + i);
	}
	struct dura_compare_def cmp = { .name = "a-vs-b", .subject = "a", .baseline = "b" };
	struct dura_config_def cfg = { 1, 1 };
	struct dura_scenario sc;
	memset(&sc, 0, sizeof sc);
	sc.path = "/somewhere/conf/x.ini";
	sc.configs = &cfg;
	sc.n_configs = 1;
	sc.repeat = 5;
	sc.compares = &cmp;
	sc.n_compares = 1;
	struct dura_report rep = { .scenario = &sc, .runs = runs, .n_runs = 10 };
	struct dura_compare_row *rows;
	size_t n = dura_report_compare_rows(&rep, &cmp, &rows);
	tap_ok(n == 1 && rows[0].throughput_ratio == 1.0 && rows[0].no_difference == 1 &&
	       rows[0].throughput_ratio_ci[0] < 1 && rows[0].throughput_ratio_ci[1] > 1 &&
	       near(rows[0].throughput_ratio_ci[0] * rows[0].throughput_ratio_ci[1], 1, 1e-9),
	       "same figures reordered: ratio 1.00, interval symmetric around 1 (log scale), "
	       "no difference");
	tap_ok(isfinite(rows[0].latency_p99_ratio_ci[0]) && rows[0].latency_p99_ratio_ci[0] < 1,
	       "p99 ratio gets its own interval");
	free(rows);
	char *md = markdown_of(&rep);
	tap_ok(strstr(md, "no difference detected") && strstr(md, "Throughput ratio (95 % CI)") &&
	       strstr(md, "| a | 1:1 | 5 | 105.0 (90.0\u2013120.0) \u00b128.6 % |"),
	       "markdown: intervals, the marker, median (range) and spread of repeats");
	free(md);
	/* spread = (max - min) / median of each figure */
	struct dura_pair_summary ps;
	dura_report_pair_summary(&rep, "b", 1, 1, &ps);
	tap_ok(ps.runs == 5 && near(ps.p50_spread, 2.0 / 6.0, 1e-9) && ps.p50_median == 6 &&
	       near(ps.p99_spread, 4.0 / 12.0, 1e-9),
	       "spread of p50 (5 ... 7 ms, median 6) and p99: %.4f, %.4f", ps.p50_spread,
	       ps.p99_spread);
	dura_report_pair_summary(&rep, "a", 1, 1, &ps);
	tap_ok(near(ps.orch_spread, 30.0 / 105.0, 1e-9) && ps.p50_spread == 0,
	       "spread of orch/s (90 ... 120, median 105): %.4f; equal figures: 0", ps.orch_spread);
	char *js = dura_report_json_text(&rep);
	tap_ok(js && strstr(js, "\"repeats\"") && strstr(js, "\"spread_pct\": 28.57142857") &&
	       strstr(js, "\"spread_pct\": 33.33333333"),
	       "JSON: repeats carry median, range and spread_pct per (provider, config)");
	free(js);

	for (unsigned i = 0; i < 5; i++)
		runs[2 * i].result.orch_per_sec = sub_fast[i];
	n = dura_report_compare_rows(&rep, &cmp, &rows);
	tap_ok(n == 1 && rows[0].no_difference == 0 && rows[0].throughput_ratio_ci[0] > 2.4 &&
	       rows[0].throughput_ratio_ci[1] < 3.4, "3x faster: interval [%.2f, %.2f] excludes 1",
	       rows[0].throughput_ratio_ci[0], rows[0].throughput_ratio_ci[1]);
	free(rows);
	md = markdown_of(&rep);
	tap_ok(strstr(md, "subject faster") != NULL, "markdown: a real difference is named");
	free(md);

	/* ---- the baseline gate: a drop inside the noise is no regression ---- */
	const char *hist =
		"{\"format\":\"durabench-track/1\",\"runs\":["
		"{\"provider\":\"b\",\"config\":\"1:1\",\"orch_per_sec\":150,\"latency_p99_ms\":1},"
		"{\"provider\":\"b\",\"config\":\"1:1\",\"orch_per_sec\":60,\"latency_p99_ms\":1},"
		"{\"provider\":\"b\",\"config\":\"1:1\",\"orch_per_sec\":130,\"latency_p99_ms\":1}]}\n";
	struct dura_baseline bl;
	char err[512];
	tap_ok(dura_baseline_parse(hist, strlen(hist), "h", &bl, err, sizeof err) == 0,
	       "noisy baseline parses: %s", err);
	struct dura_gate g = { .max_drop_pct = 5, .max_latency_rise_pct = -1 };
	struct dura_baseline_row *br;
	n = dura_baseline_compare(&rep, &bl, &g, &br);
	/* b now: mean 105 vs baseline mean 113.3: -7 %, beyond 5 %, but the
	 * baseline's own spread (60-150) makes the interval include 1 */
	tap_ok(n == 1 && strcmp(br[0].provider, "b") == 0 && br[0].within_noise &&
	       !br[0].throughput_regressed && br[0].ratio_ci[0] < 1 && br[0].ratio_ci[1] > 1,
	       "gate: a %.1f %% drop inside the noise is not a regression",
	       n ? br[0].orch_change_pct : NAN);
	free(br);
	dura_baseline_free(&bl);
	const char *tight =
		"{\"format\":\"durabench-track/1\",\"runs\":["
		"{\"provider\":\"b\",\"config\":\"1:1\",\"orch_per_sec\":200,\"latency_p99_ms\":1},"
		"{\"provider\":\"b\",\"config\":\"1:1\",\"orch_per_sec\":201,\"latency_p99_ms\":1}]}\n";
	dura_baseline_parse(tight, strlen(tight), "t", &bl, err, sizeof err);
	n = dura_baseline_compare(&rep, &bl, &g, &br);
	tap_ok(n == 1 && br[0].throughput_regressed && !br[0].within_noise,
	       "gate: a drop beyond the noise is a regression");
	free(br);
	dura_baseline_free(&bl);
	return tap_done();
}
