/*
 * `[run] prefill = N` in `durabench run`: the check that every provider can
 * prefill, the fill before each measured run and the read-back after it
 * (core/driver/prefill.h does the work).
 */
#ifndef DURA_RUN_PREFILL_H
#define DURA_RUN_PREFILL_H

#include <stddef.h>

#include <durabench/provider.h>

#include "report/report.h"
#include "scenario/scenario.h"

/* The provider def's prefill (its own key, else [run] prefill; see
 * dura_scenario_prefill) decides everything below.  0 when it is 0 or the
 * plugin has the operation; else -1 with err = "FILE:LINE: ... prefill =
 * N: [provider NAME] ..." (the caller exits 2 before anything runs). */
int dura_run_prefill_supported(const struct dura_scenario *sc, const struct dura_provider_def *def,
                               const struct dura_provider_ops *ops, char *err, size_t errlen);

/* Before run r: fills its store (r->prefill).  0, or -1 with r->error. */
int dura_run_prefill(const struct dura_scenario *sc, const struct dura_provider_def *def,
                     const struct dura_provider_ops *ops, dura_store *store, const char *label,
                     struct dura_report_run *r, int quiet);

/* After run r, on the same store: the prefilled instances read back; one
 * that is missing or differs is a verification failure of the run. */
void dura_run_prefill_verify(const struct dura_scenario *sc, const struct dura_provider_def *def,
                             const struct dura_provider_ops *ops, dura_store *store,
                             struct dura_report_run *r);

#endif
