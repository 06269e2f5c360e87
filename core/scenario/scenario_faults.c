/*
 * [fault NAME] sections: action, at, for, rtt, providers (scenario.h).  Keys
 * are checked as they come; what needs the whole file (the run's duration,
 * the provider names, overlapping faults) is checked by
 * dura_scenario_check_faults, again after command-line overrides.
 */
#include "config.h"

#include "scenario_faults.h"
#include "base/units.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LATENCY_RTT_US 200000u

static const char *const action_names[] = {
	[DURA_FAULT_KILL_CONNECTIONS] = "kill-connections",
	[DURA_FAULT_RESTART_SERVER] = "restart-server",
	[DURA_FAULT_STOP_SERVER] = "stop-server",
	[DURA_FAULT_PAUSE_SERVER] = "pause-server",
	[DURA_FAULT_PARTITION] = "partition",
	[DURA_FAULT_LATENCY] = "latency",
	[DURA_FAULT_KILL_WORKER] = "kill-worker",
};
#define N_ACTIONS (sizeof action_names / sizeof action_names[0])

const char *dura_fault_action_name(enum dura_fault_action a)
{
	return (size_t)a < N_ACTIONS ? action_names[a] : "?";
}

int dura_fault_action_has_duration(enum dura_fault_action a)
{
	return a == DURA_FAULT_STOP_SERVER || a == DURA_FAULT_PAUSE_SERVER ||
	       a == DURA_FAULT_PARTITION || a == DURA_FAULT_LATENCY;
}

uint64_t dura_fault_length_ms(const struct dura_fault_def *f)
{
	if (dura_fault_action_has_duration(f->action) ||
	    (f->action == DURA_FAULT_KILL_WORKER && f->for_line))
		return f->for_ms;
	return 0;
}

int dura_fault_lists_provider(const struct dura_fault_def *f, const char *name)
{
	if (!f->providers)
		return 1;
	for (size_t i = 0; i < f->n_providers; i++)
		if (strcmp(f->providers[i], name) == 0)
			return 1;
	return 0;
}

int dura_fault_section(struct dura_scenario *sc, const char *name, int line, char *msg,
                       size_t msglen)
{
	for (size_t i = 0; i < sc->n_faults; i++) {
		if (strcmp(sc->faults[i].name, name) == 0) {
			dura_errbuf(msg, msglen, "duplicate fault '%s' (first at line %d)", name,
			            sc->faults[i].line);
			return -1;
		}
	}
	sc->faults = dura_xrealloc(sc->faults, (sc->n_faults + 1) * sizeof *sc->faults);
	struct dura_fault_def *f = &sc->faults[sc->n_faults++];
	memset(f, 0, sizeof *f);
	f->name = dura_xstrdup(name);
	f->line = line;
	f->rtt_us = DEFAULT_LATENCY_RTT_US;
	return 0;
}

static int parse_action(const char *value, enum dura_fault_action *out, char *msg, size_t msglen)
{
	for (size_t i = 0; i < N_ACTIONS; i++) {
		if (strcmp(value, action_names[i]) != 0)
			continue;
		*out = (enum dura_fault_action)i;
		return 0;
	}
	dura_errbuf(msg, msglen,
	            "unknown action '%.60s' (expected kill-connections, restart-server, "
	            "stop-server, pause-server, partition, latency or kill-worker)", value);
	return -1;
}

/* "a, b,c" -> names (owned by f). */
static int parse_providers(struct dura_fault_def *f, const char *value, char *msg, size_t msglen)
{
	const char *p = value;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, ",");
		size_t trimmed = len;
		while (trimmed > 0 && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
			trimmed--;
		if (trimmed == 0) {
			dura_errbuf(msg, msglen,
			            "empty provider name in '%.80s' (expected a comma-separated list "
			            "of [provider NAME] names)", value);
			return -1;
		}
		char *name = dura_xstrndup(p, trimmed);
		for (size_t i = 0; i < f->n_providers; i++) {
			if (strcmp(f->providers[i], name) == 0) {
				dura_errbuf(msg, msglen, "provider '%.60s' is listed twice", name);
				free(name);
				return -1;
			}
		}
		f->providers = dura_xrealloc(f->providers, (f->n_providers + 1) * sizeof *f->providers);
		f->providers[f->n_providers++] = name;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

static int *key_line_slot(struct dura_fault_def *f, const char *key)
{
	if (strcmp(key, "action") == 0) return &f->action_line;
	if (strcmp(key, "at") == 0) return &f->at_line;
	if (strcmp(key, "for") == 0) return &f->for_line;
	if (strcmp(key, "rtt") == 0) return &f->rtt_line;
	if (strcmp(key, "worker") == 0) return &f->worker_line;
	if (strcmp(key, "providers") == 0) return &f->providers_line;
	return NULL;
}

int dura_fault_key(struct dura_scenario *sc, int line, const char *key, const char *value,
                   char *msg, size_t msglen)
{
	struct dura_fault_def *f = &sc->faults[sc->n_faults - 1];
	int *slot = key_line_slot(f, key);
	if (!slot) {
		dura_errbuf(msg, msglen,
		            "unknown key '%.60s' in [fault %s] (accepted: action, at, for, rtt, "
		            "worker, providers)", key, f->name);
		return -1;
	}
	if (*slot) {
		dura_errbuf(msg, msglen, "duplicate key '%s' in [fault %s] (first at line %d)", key,
		            f->name, *slot);
		return -1;
	}
	*slot = line;
	char why[256];
	int rc = 0;
	uint64_t v;
	if (strcmp(key, "action") == 0) {
		rc = parse_action(value, &f->action, why, sizeof why);
	} else if (strcmp(key, "at") == 0) {
		rc = dura_parse_duration_ms(value, &f->at_ms, why, sizeof why);
	} else if (strcmp(key, "for") == 0) {
		rc = dura_parse_duration_ms(value, &f->for_ms, why, sizeof why);
		if (rc == 0 && f->for_ms == 0) {
			dura_errbuf(why, sizeof why, "must be more than 0");
			rc = -1;
		}
	} else if (strcmp(key, "rtt") == 0) {
		rc = dura_parse_duration_us(value, &v, why, sizeof why);
		if (rc == 0 && v == 0) {
			dura_errbuf(why, sizeof why, "must be more than 0");
			rc = -1;
		}
		f->rtt_us = v;
	} else if (strcmp(key, "worker") == 0) {
		rc = dura_parse_uint(value, 0, DURA_MAX_PROCESSES - 1, &v, why, sizeof why);
		f->worker = (unsigned)v;
	} else {
		rc = parse_providers(f, value, why, sizeof why);
	}
	if (rc != 0)
		dura_errbuf(msg, msglen, "[fault %s] %s: %s", f->name, key, why);
	return rc;
}

/* 1 if a and b may cover a common provider. */
static int may_share_provider(const struct dura_fault_def *a, const struct dura_fault_def *b)
{
	if (!a->providers || !b->providers)
		return 1;
	for (size_t i = 0; i < a->n_providers; i++)
		if (dura_fault_lists_provider(b, a->providers[i]))
			return 1;
	return 0;
}

static int check_one(const struct dura_scenario *sc, const struct dura_fault_def *f, char *err,
                     size_t errlen)
{
	const char *path = sc->path;
	const char *action = dura_fault_action_name(f->action);
	if (!f->action_line) {
		dura_errbuf(err, errlen,
		            "%s:%d: [fault %s] needs 'action = ...' (kill-connections, "
		            "restart-server, stop-server, pause-server, partition, latency or "
		            "kill-worker)",
		            path, f->line, f->name);
		return -1;
	}
	if (!f->at_line) {
		dura_errbuf(err, errlen,
		            "%s:%d: [fault %s] needs 'at = TIME' (from the start of each run, "
		            "e.g. at = 5s)", path, f->line, f->name);
		return -1;
	}
	int lasts = dura_fault_action_has_duration(f->action);
	int kill_worker = f->action == DURA_FAULT_KILL_WORKER;
	if (lasts && !f->for_line) {
		dura_errbuf(err, errlen, "%s:%d: [fault %s] %s needs 'for = TIME' (how long it lasts)",
		            path, f->line, f->name, action);
		return -1;
	}
	if (!lasts && !kill_worker && f->for_line) {
		dura_errbuf(err, errlen, "%s:%d: [fault %s] for: %s is instantaneous and takes no 'for'",
		            path, f->for_line, f->name, action);
		return -1;
	}
	if (f->rtt_line && f->action != DURA_FAULT_LATENCY) {
		dura_errbuf(err, errlen, "%s:%d: [fault %s] rtt: only a latency fault takes 'rtt'",
		            path, f->rtt_line, f->name);
		return -1;
	}
	if (f->worker_line && !kill_worker) {
		dura_errbuf(err, errlen, "%s:%d: [fault %s] worker: only a kill-worker fault takes "
		            "'worker'", path, f->worker_line, f->name);
		return -1;
	}
	uint64_t end = f->at_ms + dura_fault_length_ms(f);
	if (end >= sc->duration_ms) {
		char e[32], d[32];
		dura_format_duration_us(end * 1000, e, sizeof e);
		dura_format_duration_us(sc->duration_ms * 1000, d, sizeof d);
		dura_errbuf(err, errlen,
		            "%s:%d: [fault %s] ends at %s, not before the run's duration (%s): a "
		            "fault must end while instances are still launched, so that recovery "
		            "can be seen", path, f->for_line ? f->for_line : f->at_line, f->name, e, d);
		return -1;
	}
	for (size_t i = 0; i < f->n_providers; i++) {
		int found = 0;
		for (size_t j = 0; j < sc->n_providers && !found; j++)
			found = strcmp(sc->providers[j].name, f->providers[i]) == 0;
		if (!found) {
			dura_errbuf(err, errlen, "%s:%d: [fault %s] providers: no [provider %.60s] in "
			            "this file", path, f->providers_line, f->name, f->providers[i]);
			return -1;
		}
	}
	return 0;
}

int dura_scenario_check_faults(const struct dura_scenario *sc, char *err, size_t errlen)
{
	for (size_t i = 0; i < sc->n_faults; i++) {
		const struct dura_fault_def *f = &sc->faults[i];
		if (check_one(sc, f, err, errlen) != 0)
			return -1;
		/* Two faults at once on one provider would mix their effects in
		 * one set of recovery figures. */
		uint64_t f_end = f->at_ms + dura_fault_length_ms(f);
		for (size_t j = 0; j < i; j++) {
			const struct dura_fault_def *g = &sc->faults[j];
			uint64_t g_end = g->at_ms + dura_fault_length_ms(g);
			if (f->at_ms <= g_end && g->at_ms <= f_end && may_share_provider(f, g)) {
				dura_errbuf(err, errlen,
				            "%s:%d: [fault %s] overlaps [fault %s] (line %d) on the same "
				            "provider: space faults so that each one's recovery is seen "
				            "on its own", sc->path, f->at_line, f->name, g->name, g->line);
				return -1;
			}
		}
	}
	return 0;
}

void dura_faults_free(struct dura_scenario *sc)
{
	for (size_t i = 0; i < sc->n_faults; i++) {
		struct dura_fault_def *f = &sc->faults[i];
		free(f->name);
		for (size_t j = 0; j < f->n_providers; j++)
			free(f->providers[j]);
		free(f->providers);
	}
	free(sc->faults);
	sc->faults = NULL;
	sc->n_faults = 0;
}
