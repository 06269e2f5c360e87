/* runs[].timeline[] and runs[].faults[] of the JSON report (DESIGN section
 * 8 fixes the names). */
#include "config.h"

#include "report_faults.h"

#include "base/json.h"

static json_t *failed_object(const struct dura_failed_counts *c)
{
	json_t *o = dura_jobject();
	dura_jset(o, "infra", dura_juint(c->infra));
	dura_jset(o, "corrupt", dura_juint(c->corrupt));
	dura_jset(o, "config", dura_juint(c->config));
	dura_jset(o, "app", dura_juint(c->app));
	dura_jset(o, "timeout", dura_juint(c->timeout));
	return o;
}

static json_t *point_object(const struct dura_timeline_point *pt)
{
	json_t *o = dura_jobject();
	dura_jset(o, "t_s", dura_jnumber(pt->t_s));
	dura_jset(o, "len_s", dura_jnumber(pt->len_s));
	dura_jset(o, "completed", dura_juint(pt->completed));
	dura_jset(o, "orch_per_sec", dura_jnumber(pt->orch_per_sec));
	dura_jset(o, "activities_per_sec", dura_jnumber(pt->activities_per_sec));
	dura_jset(o, "p50_ms", dura_jnumber(pt->p50_ms));
	dura_jset(o, "p99_ms", dura_jnumber(pt->p99_ms));
	dura_jset(o, "in_flight", dura_juint(pt->in_flight));
	dura_jset(o, "failed", failed_object(&pt->failed));
	/* null, not 0, when the provider keeps no stats */
	const char *keys[] = { "round_trips", "retries", "reconnects", "lock_conflicts" };
	const uint64_t v[] = { pt->round_trips, pt->retries, pt->reconnects, pt->lock_conflicts };
	for (int i = 0; i < 4; i++)
		dura_jset(o, keys[i], pt->have_stats ? dura_juint(v[i]) : dura_jstring(NULL));
	return o;
}

static json_t *fault_object(const char *provider, const struct dura_fault_result *fr)
{
	json_t *o = dura_jobject();
	dura_jset(o, "name", dura_jstring(fr->name));
	dura_jset(o, "action", dura_jstring(fr->action));
	dura_jset(o, "provider", dura_jstring(provider));
	dura_jset(o, "at_s", dura_jnumber(fr->at_s));
	dura_jset(o, "for_s", dura_jnumber(fr->for_s));
	dura_jset(o, "applied", dura_jbool(fr->applied));
	dura_jset(o, "begin_s", dura_jnumber(fr->begin_s));
	dura_jset(o, "end_s", dura_jnumber(fr->end_s));
	dura_jset(o, "error", dura_jstring(fr->error[0] ? fr->error : NULL));
	dura_jset(o, "before_orch_per_sec", dura_jnumber(fr->before_orch_per_sec));
	dura_jset(o, "recovery_s", dura_jnumber(fr->recovery_s)); /* null: not recovered */
	dura_jset(o, "max_latency_ms", dura_jnumber(fr->max_latency_ms));
	dura_jset(o, "failed", failed_object(&fr->failed));
	dura_jset(o, "retries", dura_juint(fr->retries));
	dura_jset(o, "reconnects", dura_juint(fr->reconnects));
	dura_jset(o, "lost", dura_juint(fr->lost));
	return o;
}

void dura_report_json_faults(json_t *run_obj, const struct dura_report_run *run)
{
	const struct dura_run_result *x = &run->result;
	dura_jset(run_obj, "interval_s", dura_jnumber(x->interval_s));
	json_t *tl = dura_jarray(), *faults = dura_jarray();
	for (size_t k = 0; k < x->n_timeline; k++)
		dura_jpush(tl, point_object(&x->timeline[k]));
	for (size_t k = 0; k < x->n_faults; k++)
		dura_jpush(faults, fault_object(run->provider, &x->faults[k]));
	dura_jset(run_obj, "timeline", tl);
	dura_jset(run_obj, "faults", faults);
}
