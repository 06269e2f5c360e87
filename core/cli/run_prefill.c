/* `[run] prefill` in the run command (run_prefill.h). */
#include "config.h"

#include "run_prefill.h"

#include "base/util.h"
#include "driver/prefill.h"

#include <stdio.h>
#include <string.h>

int dura_run_prefill_supported(const struct dura_scenario *sc, const struct dura_provider_def *def,
                               const struct dura_provider_ops *ops, char *err, size_t errlen)
{
	unsigned n = dura_scenario_prefill(sc, def);
	if (!n || DURA_OPT_OP(ops, prefill))
		return 0;
	dura_errbuf(err, errlen, "%s:%d: prefill = %u: [provider %s] (plugin %s) cannot prefill "
	            "(no prefill operation, ABI 1.4); set prefill = 0 in that section or leave "
	            "the provider out", sc->path, def->prefill_line ? def->prefill_line : def->line,
	            n, def->name, ops->name);
	return -1;
}

int dura_run_prefill(const struct dura_scenario *sc, const struct dura_provider_def *def,
                     const struct dura_provider_ops *ops, dura_store *store, const char *label,
                     struct dura_report_run *r, int quiet)
{
	unsigned n = dura_scenario_prefill(sc, def);
	if (!n)
		return 0;
	char err[sizeof r->error];
	if (dura_prefill_fill(ops, store, n, &sc->workload, &r->prefill, err, sizeof err) != 0) {
		dura_errbuf(r->error, sizeof r->error, "%s: %s", label, err);
		return -1;
	}
	if (!quiet)
		fprintf(stderr, "durabench: %s: prefilled %u completed instances in %.2f s (%.0f/s; "
		        "%.2f s of durabench's CPU)\n", label, n, r->prefill.seconds,
		        r->prefill.seconds > 0 ? n / r->prefill.seconds : 0.0, r->prefill.cpu_seconds);
	return 0;
}

void dura_run_prefill_verify(const struct dura_scenario *sc, const struct dura_provider_def *def,
                             const struct dura_provider_ops *ops, dura_store *store,
                             struct dura_report_run *r)
{
	unsigned n = dura_scenario_prefill(sc, def);
	if (!n || !r->ran)
		return;
	char err[sizeof r->result.verify_error];
	if (dura_prefill_verify(ops, store, n, &sc->workload, &r->prefill, err, sizeof err) == 0)
		return;
	if (r->result.verify_failures++ == 0)
		dura_errbuf(r->result.verify_error, sizeof r->result.verify_error, "%s", err);
}
