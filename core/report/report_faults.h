/*
 * The fault and timeline parts of the reports: the Faults table and the
 * recovery comparison under the Markdown tables, the faults CSV section,
 * the --timeline-csv file and the timeline line charts of --svg.
 */
#ifndef DURA_REPORT_FAULTS_H
#define DURA_REPORT_FAULTS_H

#include <stdio.h>

#include "report.h"

/* XML-escaped text (report_svg.c). */
void dura_report_xml_text(FILE *f, const char *s);

/* "## Faults" table (Provider, Config, Fault, At, For, Recovery, Max
 * latency, Failures, Lost) and, for each [compare], the recovery times of
 * subject and baseline per fault and config.  Nothing when no run had a
 * fault. */
void dura_report_markdown_faults(FILE *f, const struct dura_report *r);

/* The same Faults table as HTML (--html); nothing when no run had a fault. */
void dura_report_html_faults(FILE *f, const struct dura_report *r);

/* 1 if some run has a fault / a timeline. */
int dura_report_has_faults(const struct dura_report *r);
int dura_report_has_timeline(const struct dura_report *r);

/* Sets the "interval_s", "timeline" and "faults" keys of a run's object. */
struct json_t;
void dura_report_json_faults(struct json_t *run_obj, const struct dura_report_run *run);

/* `--timeline-csv FILE`: header plus one row per run x interval. */
void dura_report_timeline_csv_write(FILE *f, const struct dura_report *r);
int dura_report_timeline_csv(const struct dura_report *r, const char *path, char *err,
                             size_t errlen);

/* `--faults-csv FILE`: header plus one row per run x fault. */
void dura_report_faults_csv_write(FILE *f, const struct dura_report *r);
int dura_report_faults_csv(const struct dura_report *r, const char *path, char *err,
                           size_t errlen);

/* The timeline charts of --svg: one per config (orch/s over time, one line
 * per provider, fault windows shaded; p99 on a second panel), each a nested
 * <svg> placed at y within a document `width` wide.  Returns the height
 * used (0 when no run has a timeline). */
double dura_report_timeline_svg(FILE *f, const struct dura_report *r, double y, double width);
/* Height dura_report_timeline_svg will take. */
double dura_report_timeline_svg_height(const struct dura_report *r);

#endif
