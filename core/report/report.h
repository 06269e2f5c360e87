/*
 * Reports: Markdown tables on stdout, JSON file (its field names, listed in
 * docs/reporting.md, are an interface: add fields, never rename or remove
 * one).
 */
#ifndef DURA_REPORT_H
#define DURA_REPORT_H

#include <stdio.h>

#include "driver/driver.h"
#include "driver/prefill.h"
#include "scenario/scenario.h"

struct dura_report_run {
	const char *provider;      /* [provider NAME] */
	const char *plugin;        /* plugin name from its ops */
	unsigned orch_workers;
	unsigned activity_workers;
	unsigned repeat_index;     /* 0-based */
	unsigned processes;        /* local worker processes planned (0: in
	                              process): the label of a run that did not
	                              run */
	int ran;                   /* 0: could not run (error holds why) */
	char error[512];
	char store[256];           /* the provider's describe() of this run's own
	                              store (its schema, its file), "" if none */
	struct dura_run_result result;
	struct dura_prefill_result prefill; /* [run] prefill: written, read back */
};

/* What the environment block says about one provider. */
struct dura_report_provider {
	const char *name;
	const char *plugin;
	const char *plugin_path;
	const char *description;   /* ops->describe(), or "" */
	const char *url;           /* masked address used, or NULL */
	const char *target_url;    /* masked real address behind the proxy, or NULL */
	double rtt_ms;             /* median measured round trip, < 0 unknown */
	double emulated_rtt_ms;    /* configured emulate_rtt, 0 none */
};

struct dura_report {
	const struct dura_scenario *scenario;
	const char *version;       /* dura_version_string() */
	const char *commit;
	int cpus;
	const char *sqlite_version;
	const char *hostname;
	long long started_at;      /* wall clock, seconds since epoch */
	struct dura_report_run *runs;
	size_t n_runs;
	struct dura_report_provider *providers;
	size_t n_providers;
	int interrupted;           /* the command was interrupted (Ctrl-C) */
	size_t planned_runs;       /* runs the command meant to do */
};

/* ---- added by the reports (shared by Markdown and JSON) ---- */

/* One config of a [compare]: repeats averaged over the runs that ran. */
struct dura_compare_row {
	unsigned orch_workers, activity_workers;
	unsigned subject_runs, baseline_runs;    /* runs averaged on each side */
	double subject_orch_per_sec, baseline_orch_per_sec;
	double subject_p50_ms, baseline_p50_ms;
	double subject_p99_ms, baseline_p99_ms;
	double subject_success_pct, baseline_success_pct;
	double throughput_ratio;   /* subject / baseline; NaN when undefined */
	double latency_p50_ratio;
	double latency_p99_ratio;
	/* 95 % confidence intervals of the ratios, [low, high] (NaN when fewer
	 * than 2 runs on a side: see dura_ratio_interval) */
	double throughput_ratio_ci[2];
	double latency_p50_ratio_ci[2];
	double latency_p99_ratio_ci[2];
	/* 1: the throughput interval includes 1.0 ("no difference detected"),
	 * 0: it does not, -1: no interval */
	int no_difference;
};

/* Rows of one comparison, one per config either side has a run for, in run
 * order.  *rows is malloc'ed (caller frees), returns the count. */
size_t dura_report_compare_rows(const struct dura_report *r, const struct dura_compare_def *c,
                                struct dura_compare_row **rows);

/* The repeats of one (provider, config): median and range over the runs
 * that ran (NaN when none has the figure), and the spread (max - min) /
 * median of each figure (NaN with fewer than 2 values): how repeatable
 * it is, the figure docs/benchmarks.md's 3 % target is about. */
struct dura_pair_summary {
	size_t runs;
	double orch_median, orch_lo, orch_hi, orch_spread;
	double p50_median, p50_lo, p50_hi, p50_spread;
	double p99_median, p99_lo, p99_hi, p99_spread;
};
void dura_report_pair_summary(const struct dura_report *r, const char *provider,
                              unsigned orch_workers, unsigned activity_workers,
                              struct dura_pair_summary *s);
/* Walks the (provider, config) pairs of r, each once at its first repeat:
 * the next such run at index >= *i (*i moves past it) with its summary in
 * *s, or NULL after the last.  Start with *i = 0. */
const struct dura_report_run *dura_report_next_pair(const struct dura_report *r, size_t *i,
                                                    struct dura_pair_summary *s);

/* Failed instances of a run in all categories
 * (infra+corrupt+config+app+timeout). */
uint64_t dura_report_failed(const struct dura_run_result *x);

/* Round trips per completed orchestration, NaN without provider stats. */
double dura_report_round_trips_per_orch(const struct dura_run_result *x);

/* A run's figures as the JSON, CSV and track reports give them: NaN where
 * the JSON report writes null (and the CSV an empty field): the run did
 * not run, has no latency sample, no bound, no provider stats or nothing
 * completed. */
struct dura_report_figures {
	double success_pct, orch_per_sec, activities_per_sec;
	double bound_orch_per_sec, bound_fraction;
	double p50_ms, p95_ms, p99_ms, avg_ms, max_ms;
	double round_trips_per_orch, cpu_ms_per_orch;
};
void dura_report_run_figures(const struct dura_report_run *run, struct dura_report_figures *v);

/* "O:W" of a config. */
void dura_report_config_string(char *buf, size_t len, unsigned orch_workers,
                               unsigned activity_workers);

/* When the report started, in UTC: ISO 8601 for JSON ("" when unknown, the
 * callers write null), or "2024-01-31 12:00:00 UTC" for Markdown ("unknown"
 * when unknown). */
enum dura_report_date_style { DURA_DATE_ISO, DURA_DATE_TEXT };
void dura_report_date(const struct dura_report *r, enum dura_report_date_style style,
                      char *buf, size_t len);

/* v with `decimals` decimals and a unit suffix, "n/a" when not finite; the
 * sign is forced when `sign`. */
void dura_report_fmt_number(char *buf, size_t len, double v, int decimals, int sign,
                            const char *unit);

/* "102.3 (95.1–110.2)": a median and its range, "n/a" when unknown. */
void dura_report_fmt_median_range(char *buf, size_t len, double med, double lo, double hi,
                                  int decimals, const char *unit);
/* The figures of a pair summary as the repeats tables show them:
 * "102.3 (95.1–110.2) ±7.1 %", median (range) and the spread (max − min) /
 * median (left out when unknown); latencies in ms with 2 decimals. */
struct dura_pair_text {
	char orch[96], p50[96], p99[96];
};
void dura_report_fmt_pair_summary(const struct dura_pair_summary *s, struct dura_pair_text *t);

/* A 95 % interval as "[0.88, 1.03]" (2 decimals), "-" when unknown. */
void dura_report_fmt_interval(char *buf, size_t len, const double ci[2]);

/* Text content or attribute value for SVG and HTML: markup characters
 * escaped, control characters (not allowed in XML 1.0) and invalid UTF-8
 * become '?'. */
void dura_report_xml_text(FILE *f, const char *str);

/* How many repeats the runs of r have (the highest repeat index + 1). */
unsigned dura_report_repeats(const struct dura_report *r);

/* What went wrong first in a run, "" when nothing did: it did not run,
 * verification failed, instances failed (count, category and message of
 * the first failure) or were left unverified.  The Markdown and HTML
 * reports print it under the per-run table. */
void dura_report_run_problem(char *buf, size_t len, const struct dura_report_run *run);

/* What the throughput interval of a comparison row says: "no difference
 * detected", "subject faster", "subject slower", or "too few repeats". */
const char *dura_report_compare_verdict(const struct dura_compare_row *w);

/* Text inside a Markdown table cell: a '|' or a line break would split the
 * row, so '|' is escaped and line breaks become spaces. */
void dura_report_md_cell(FILE *f, const char *s);

/* Writes r with write_fn to path ("-" = stdout); -1 with err naming path
 * when it cannot be opened or written (the --json, --csv and --svg files). */
int dura_report_write_file(const struct dura_report *r, const char *path,
                           void (*write_fn)(FILE *f, const struct dura_report *r),
                           char *err, size_t errlen);

/* A provider option value safe to print: secret-looking keys give "***",
 * passwords inside URLs/conninfo are masked.  Caller frees. */
char *dura_report_option_display(const char *key, const char *value);

/* Per-run table, one ratio table per [compare] (subject / baseline, repeats
 * averaged, per config), then the environment block. */
void dura_report_markdown(FILE *f, const struct dura_report *r);

/* Writes the JSON document; -1 with err on I/O failure. */
int dura_report_json(const struct dura_report *r, const char *path,
                     char *err, size_t errlen);

/* ---- added by the report extras (CSV, SVG, track history) ---- */

struct json_t;

/* The "format" key of the JSON report and of a history entry: bumped when
 * a field changes meaning (adding fields does not bump it). */
#define DURA_REPORT_FORMAT "durabench-report/1"
#define DURA_TRACK_FORMAT "durabench-track/1"

/* The whole JSON report as text (pretty, ends in a newline); caller frees. */
char *dura_report_json_text(const struct dura_report *r);

/* One element of a "providers" array of the environment (the track
 * history reuses it): name, plugin, [plugin_path, description,] url,
 * [target_url,] rtt_ms (null when unknown), emulated_rtt_ms; the bracketed
 * fields only when `detail`.  New reference (json_decref). */
struct json_t *dura_report_json_provider(const struct dura_report_provider *p, int detail);
/* The object of one run of a "runs" array (the track history reuses it)
 * holding the fields that name it: provider, plugin, config ("O:W"). */
struct json_t *dura_report_json_run_head(const struct dura_report_run *run);
/* The "scenario" object of the JSON report (the track history reuses it). */
struct json_t *dura_report_json_scenario(const struct dura_scenario *sc);

/* `--csv FILE`: header line plus one RFC 4180 row per run ("-" = stdout);
 * -1 with err on I/O failure.  The _write form writes to an open stream. */
int dura_report_csv(const struct dura_report *r, const char *path, char *err, size_t errlen);
void dura_report_csv_write(FILE *f, const struct dura_report *r);

/* `--svg FILE`: self-contained SVG bar chart of Orch/s per provider per
 * config ("-" = stdout); -1 with err on I/O failure. */
int dura_report_svg(const struct dura_report *r, const char *path, char *err, size_t errlen);
void dura_report_svg_write(FILE *f, const struct dura_report *r);
/* The <svg> element alone (no XML declaration), for embedding in HTML. */
void dura_report_svg_chart(FILE *f, const struct dura_report *r);

/* `--html FILE`: one self-contained page (no network access, inline SVG)
 * with the run, repeat and ratio tables, the chart and the environment
 * ("-" = stdout); -1 with err on I/O failure. */
int dura_report_html(const struct dura_report *r, const char *path, char *err, size_t errlen);
void dura_report_html_write(FILE *f, const struct dura_report *r);

/* `--track FILE`: appends one JSON Lines entry (see docs/reporting.md) to
 * the history FILE, creating it.  The line goes out in one write() under an
 * exclusive flock() on an O_APPEND descriptor, so concurrent appenders never
 * interleave; a previous line missing its newline is terminated first.  -1
 * with err on failure. */
int dura_report_track(const struct dura_report *r, const char *path, char *err, size_t errlen);
/* The entry itself, one line without the newline; caller frees. */
char *dura_report_track_line(const struct dura_report *r);

#endif
