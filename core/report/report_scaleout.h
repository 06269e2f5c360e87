/*
 * Report sections of scale-out runs (report_scaleout.c).
 */
#ifndef DURA_REPORT_SCALEOUT_H
#define DURA_REPORT_SCALEOUT_H

#include <stdint.h>
#include <stdio.h>

#include "base/json.h"
#include "report.h"

/* Worker processes of a run (0: in-process). */
unsigned dura_report_processes(const struct dura_report_run *run);
/* The Scale-out table under the runs table;
 * nothing when no run used worker processes. */
void dura_report_scaleout_md(FILE *f, const struct dura_report *r);
/* "processes" and, for scale-out runs, "scale_out" of a run object. */
void dura_report_scaleout_json(json_t *o, const struct dura_report_run *run);

#endif
