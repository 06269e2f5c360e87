/* `--csv FILE`: one row per run, the per-run JSON fields flattened
 * (docs/reporting.md lists the columns).  RFC 4180: CRLF line ends, fields
 * holding a comma, quote, CR or LF are quoted with inner quotes doubled.
 * Numbers keep 10 significant digits like the JSON report, so both agree;
 * a value the JSON writes as null is an empty field here; booleans (ran,
 * interrupted) are 1 or 0. */
#include "config.h"

#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "base/util.h"

static const char *const columns[] = {
	"provider", "plugin", "config", "orch_workers", "activity_workers", "repeat",
	"launched", "completed", "failed_infra", "failed_config", "failed_app",
	"failed_timeout", "in_flight_at_end", "success_pct", "orch_per_sec",
	"activities_per_sec", "bound_fraction", "latency_p50_ms", "latency_p95_ms",
	"latency_p99_ms", "latency_avg_ms", "latency_max_ms", "round_trips_per_orch",
	"cpu_ms_per_orch", "drain_ms", "ran", "interrupted", "error", "first_failure",
	"first_failure_category", "failed_corrupt", "orch_spread_pct", "p50_spread_pct",
	"p99_spread_pct",
};

static void field_string(FILE *f, const char *s, int first)
{
	if (!first)
		fputc(',', f);
	if (!s)
		return;
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

static void field_uint(FILE *f, uint64_t v)
{
	fprintf(f, ",%" PRIu64, v);
}

static void field_number(FILE *f, double v)
{
	fputc(',', f);
	if (isfinite(v))
		fprintf(f, "%.10g", v);
}

static void write_row(FILE *f, const struct dura_report *r, const struct dura_report_run *run)
{
	const struct dura_run_result *x = &run->result;
	struct dura_report_figures v;
	dura_report_run_figures(run, &v); /* NaN exactly where the JSON has null */
	char cfg[32];
	dura_report_config_string(cfg, sizeof cfg, run->orch_workers, run->activity_workers);
	field_string(f, run->provider, 1);
	field_string(f, run->plugin, 0);
	field_string(f, cfg, 0);
	field_uint(f, run->orch_workers);
	field_uint(f, run->activity_workers);
	field_uint(f, run->repeat_index);
	field_uint(f, x->launched);
	field_uint(f, x->completed);
	field_uint(f, x->failed_infra);
	field_uint(f, x->failed_config);
	field_uint(f, x->failed_app);
	field_uint(f, x->timed_out);
	field_uint(f, x->in_flight_at_end);
	field_number(f, v.success_pct);
	field_number(f, v.orch_per_sec);
	field_number(f, v.activities_per_sec);
	field_number(f, v.bound_fraction);
	field_number(f, v.p50_ms);
	field_number(f, v.p95_ms);
	field_number(f, v.p99_ms);
	field_number(f, v.avg_ms);
	field_number(f, v.max_ms);
	field_number(f, v.round_trips_per_orch);
	field_number(f, v.cpu_ms_per_orch);
	field_number(f, x->drain_ms);
	fputs(run->ran ? ",1" : ",0", f);
	fputs(run->ran && x->interrupted ? ",1" : ",0", f);
	field_string(f, run->ran ? NULL : run->error, 0);
	field_string(f, x->first_failure[0] ? x->first_failure : NULL, 0);
	field_string(f, x->first_failure_category[0] ? x->first_failure_category : NULL, 0);
	field_uint(f, x->failed_corrupt);
	/* the spread of the run's (provider, config) over its repeats, on each
	 * of their rows; empty without repeats */
	struct dura_pair_summary s = { .orch_spread = NAN, .p50_spread = NAN,
	                               .p99_spread = NAN };
	if (dura_report_repeats(r) >= 2 && run->provider)
		dura_report_pair_summary(r, run->provider, run->orch_workers, run->activity_workers,
		                         &s);
	field_number(f, 100.0 * s.orch_spread);
	field_number(f, 100.0 * s.p50_spread);
	field_number(f, 100.0 * s.p99_spread);
	fputs("\r\n", f);
}

void dura_report_csv_write(FILE *f, const struct dura_report *r)
{
	for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++)
		fprintf(f, "%s%s", i ? "," : "", columns[i]);
	fputs("\r\n", f);
	for (size_t i = 0; i < r->n_runs; i++)
		write_row(f, r, &r->runs[i]);
}

int dura_report_csv(const struct dura_report *r, const char *path, char *err, size_t errlen)
{
	return dura_report_write_file(r, path, dura_report_csv_write, err, errlen);
}
