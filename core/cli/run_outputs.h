/*
 * The report extras of `durabench run`: --csv, --svg, --track and the
 * --baseline gate, as one unit so the run command needs only two calls:
 * a check of the flags before any run (so a bad gate costs nothing) and the
 * writing after the standard reports.
 */
#ifndef DURA_RUN_OUTPUTS_H
#define DURA_RUN_OUTPUTS_H

#include <stdio.h>

#include "report/report.h"

/* The flags as given on the command line (borrowed strings; NULL = absent). */
struct dura_report_extras {
	const char *csv_path;
	const char *svg_path;
	const char *html_path;
	const char *track_path;
	const char *baseline_path;
	const char *max_drop;          /* "20" or "20%" */
	const char *max_latency_rise;  /* optional, same syntax */
};

/* Before any run: flag combinations (--baseline needs --max-drop and vice
 * versa), percentages, and that the baseline file loads.  Returns 0, or -1
 * after printing one clear line to errf (the caller exits 2). */
int dura_report_extras_check(const struct dura_report_extras *x, FILE *errf);

/* After the Markdown and JSON reports: the baseline comparison table on out
 * and regression lines on errf, then the CSV, SVG and track files (the
 * track entry is appended after the baseline was read, so one history file
 * can serve as both).  Returns the exit code this contributes:
 *   0  nothing to say
 *   1  a regression, or a file could not be written
 *   2  the baseline cannot be used (unreadable, unparseable, or no
 *      (provider, config) in common with this run: a gate that compares
 *      nothing must not pass). */
int dura_report_extras_write(const struct dura_report *r, const struct dura_report_extras *x,
                             FILE *out, FILE *errf);

#endif
