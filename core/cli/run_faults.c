/* Faults bound to providers (run_faults.h). */
#include "config.h"

#include "run_faults.h"
#include "base/util.h"
#include "services/local_server.h"
#include "services/proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void dura_fault_caps_of(const struct dura_provider_ops *ops, const struct dura_option *opts,
                        size_t n_opts, struct dura_fault_caps *out)
{
	memset(out, 0, sizeof *out);
	const struct dura_option_spec *url = NULL;
	for (const struct dura_option_spec *s = ops->options; s && s->name; s++)
		if (s->flags & DURA_OPT_URL)
			url = s;
	if (!url)
		return;
	out->networked = 1;
	const char *value = url->default_value;
	for (size_t i = 0; i < n_opts; i++) {
		if (strcmp(opts[i].key, url->name) == 0)
			value = opts[i].value;
		if (strncmp(opts[i].key, "emulate_", 8) == 0)
			out->emulating = 1;
	}
	/* url = auto starts a server of the core (core/services) that can be
	 * stopped, restarted and paused */
	const struct dura_local_recipe *r = dura_local_recipe_find(dura_plugin_local_server(ops));
	out->auto_server = value && strcasecmp(value, "auto") == 0 && r && r->down && r->up &&
	                   r->pause;
	out->server_kills = out->auto_server && r->kill_connections;
}

/* 1 if a provider with caps c can take the action; *why says what it lacks. */
static int can_take(enum dura_fault_action a, const struct dura_fault_caps *c, const char **why)
{
	switch (a) {
	case DURA_FAULT_RESTART_SERVER:
	case DURA_FAULT_STOP_SERVER:
	case DURA_FAULT_PAUSE_SERVER:
		*why = "only a server durabench started itself (url = auto) can be restarted, "
		       "stopped or paused";
		return c->auto_server;
	case DURA_FAULT_KILL_CONNECTIONS:
	case DURA_FAULT_PARTITION:
	case DURA_FAULT_LATENCY:
		*why = "it has no network connection (an in-process store)";
		return c->networked;
	case DURA_FAULT_KILL_WORKER:
		*why = "its runs have no worker processes to kill (set processes = N in [run] or "
		       "in its section; workers joined with --external-workers cannot be killed)";
		return c->worker_processes > 0;
	default:
		*why = "unknown action";
		return 0;
	}
}

/* The proxy cuts what the server cannot: a non-auto server's connections
 * (kill-connections), and every partition or latency spike. */
static int action_needs_proxy(enum dura_fault_action a, const struct dura_fault_caps *c)
{
	return a == DURA_FAULT_PARTITION || a == DURA_FAULT_LATENCY ||
	       (a == DURA_FAULT_KILL_CONNECTIONS && !c->server_kills);
}

int dura_fault_applies(const struct dura_fault_def *f, const char *name,
                       const struct dura_fault_caps *c)
{
	const char *why;
	if (f->providers)
		return dura_fault_lists_provider(f, name);
	return can_take(f->action, c, &why);
}

int dura_faults_check_providers(const struct dura_scenario *sc, const char *const *names,
                                const struct dura_fault_caps *caps, size_t n, char *err,
                                size_t errlen)
{
	for (size_t i = 0; i < sc->n_faults; i++) {
		const struct dura_fault_def *f = &sc->faults[i];
		const char *action = dura_fault_action_name(f->action);
		size_t takers = 0;
		for (size_t j = 0; j < n; j++) {
			const char *why;
			int ok = can_take(f->action, &caps[j], &why);
			if (f->providers && dura_fault_lists_provider(f, names[j]) && !ok) {
				dura_errbuf(err, errlen,
				            "%s:%d: [fault %s] provider %s cannot take %s: %s (leave it "
				            "out of 'providers')", sc->path, f->line, f->name, names[j],
				            action, why);
				return -1;
			}
			takers += ok && dura_fault_lists_provider(f, names[j]);
			if (ok && dura_fault_lists_provider(f, names[j]) &&
			    f->action == DURA_FAULT_KILL_WORKER &&
			    f->worker >= caps[j].worker_processes) {
				dura_errbuf(err, errlen,
				            "%s:%d: [fault %s] worker = %u, but the runs of provider "
				            "%s have %u worker process(es), numbered from 0",
				            sc->path, f->worker_line ? f->worker_line : f->line, f->name,
				            f->worker, names[j], caps[j].worker_processes);
				return -1;
			}
		}
		if (takers == 0 && n > 0 && !f->providers) {
			const char *why;
			can_take(f->action, &caps[0], &why);
			dura_errbuf(err, errlen,
			            "%s:%d: [fault %s] no provider of this run can take %s (%s)",
			            sc->path, f->line, f->name, action, why);
			return -1;
		}
	}
	return 0;
}

int dura_faults_need_proxy(const struct dura_scenario *sc, const char *name,
                           const struct dura_fault_caps *c)
{
	if (c->emulating || !c->networked)
		return 0;
	for (size_t i = 0; i < sc->n_faults; i++) {
		const struct dura_fault_def *f = &sc->faults[i];
		if (dura_fault_applies(f, name, c) && action_needs_proxy(f->action, c))
			return 1;
	}
	return 0;
}

/* ---- actions ---- */

static int act_begin(void *arg, size_t i, char *err, size_t errlen)
{
	struct dura_run_faults *rf = arg;
	const struct dura_fault_def *f = rf->defs[i];
	if (f->action == DURA_FAULT_KILL_WORKER) { /* the driver kills its own workers */
		dura_errbuf(err, errlen, "kill-worker: the run has no worker processes");
		return -1;
	}
	int needs_proxy = f->action == DURA_FAULT_PARTITION || f->action == DURA_FAULT_LATENCY ||
	                  (f->action == DURA_FAULT_KILL_CONNECTIONS && rf->proxy);
	if (needs_proxy && !rf->proxy) {
		dura_errbuf(err, errlen, "the provider has no delay proxy");
		return -1;
	}
	const struct dura_local_recipe *r = rf->server.recipe;
	void *srv = rf->server.server;
	if (!needs_proxy && (!r || !srv)) {
		dura_errbuf(err, errlen, "the provider has no url = auto server");
		return -1;
	}
	unsigned killed;
	switch (f->action) {
	case DURA_FAULT_KILL_CONNECTIONS:
		/* Through the proxy when there is one: the client side is what
		 * the proxy can reach for any provider. */
		if (rf->proxy) {
			dura_proxy_reset_all(rf->proxy);
			return 0;
		}
		if (!r->kill_connections) {
			dura_errbuf(err, errlen, "the %s server cannot end connections itself",
			            r->what);
			return -1;
		}
		return r->kill_connections(srv, &killed, err, errlen);
	case DURA_FAULT_RESTART_SERVER:
		if (r->down(srv, err, errlen) != 0)
			return -1;
		return r->up(srv, err, errlen);
	case DURA_FAULT_STOP_SERVER:
		return r->down(srv, err, errlen);
	case DURA_FAULT_PAUSE_SERVER:
		return r->pause(srv, 1, err, errlen);
	case DURA_FAULT_PARTITION:
		dura_proxy_set_partition(rf->proxy, 1);
		return 0;
	case DURA_FAULT_LATENCY:
		dura_proxy_set_extra_rtt(rf->proxy, f->rtt_us);
		return 0;
	default:
		dura_errbuf(err, errlen, "%s is not available", dura_fault_action_name(f->action));
		return -1;
	}
}

static int act_end(void *arg, size_t i, char *err, size_t errlen)
{
	struct dura_run_faults *rf = arg;
	const struct dura_fault_def *f = rf->defs[i];
	switch (f->action) {
	case DURA_FAULT_STOP_SERVER:
		return rf->server.recipe->up(rf->server.server, err, errlen);
	case DURA_FAULT_PAUSE_SERVER:
		return rf->server.recipe->pause(rf->server.server, 0, err, errlen);
	case DURA_FAULT_PARTITION:
		dura_proxy_set_partition(rf->proxy, 0);
		return 0;
	case DURA_FAULT_LATENCY:
		dura_proxy_set_extra_rtt(rf->proxy, 0);
		return 0;
	default:
		return 0;
	}
}

static int cmp_at(const void *a, const void *b)
{
	const struct dura_fault_def *x = *(const struct dura_fault_def *const *)a;
	const struct dura_fault_def *y = *(const struct dura_fault_def *const *)b;
	return x->at_ms < y->at_ms ? -1 : x->at_ms > y->at_ms;
}

void dura_run_faults_init(struct dura_run_faults *rf, const struct dura_scenario *sc,
                          const char *name, const struct dura_fault_caps *c,
                          struct dura_local_server server, struct dura_proxy *proxy)
{
	memset(rf, 0, sizeof *rf);
	rf->server = server;
	rf->proxy = proxy;
	rf->defs = dura_xcalloc(sc->n_faults + 1, sizeof *rf->defs);
	size_t n = 0;
	for (size_t i = 0; i < sc->n_faults; i++)
		if (dura_fault_applies(&sc->faults[i], name, c))
			rf->defs[n++] = &sc->faults[i];
	qsort(rf->defs, n, sizeof *rf->defs, cmp_at);
	rf->steps = dura_xcalloc(n + 1, sizeof *rf->steps);
	for (size_t i = 0; i < n; i++) {
		const struct dura_fault_def *f = rf->defs[i];
		rf->steps[i].name = f->name;
		rf->steps[i].action = dura_fault_action_name(f->action);
		rf->steps[i].at_ms = f->at_ms;
		rf->steps[i].for_ms = dura_fault_length_ms(f);
		rf->steps[i].kill_worker = f->action == DURA_FAULT_KILL_WORKER;
		rf->steps[i].worker = f->worker;
	}
	rf->plan.steps = rf->steps;
	rf->plan.n = n;
	rf->plan.begin = act_begin;
	rf->plan.end = act_end;
	rf->plan.arg = rf;
}

void dura_run_faults_free(struct dura_run_faults *rf)
{
	free(rf->steps);
	free(rf->defs);
	memset(rf, 0, sizeof *rf);
}
