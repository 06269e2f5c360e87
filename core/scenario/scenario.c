/* Scenario files: sections, keys, defaults and cross-checks (scenario.h). */
#include "config.h"

#include "scenario.h"
#include "scenario_faults.h"
#include "base/ini_reader.h"
#include "base/mask.h"
#include "base/units.h"
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORKERS 256
#define MAX_CONFIGS 64
#define MAX_PAYLOAD_BYTES (64ull << 20)
#define MAX_RATE 1e6


/* ---------------------------------------------------------------- ${VAR} */

static int is_var_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static int is_var_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

char *dura_expand_env(const char *s, char *err, size_t errlen)
{
	struct dura_buf out = { 0 }; /* returned as a string, or freed on error */
	for (const char *p = s; *p;) {
		if (p[0] == '$' && p[1] == '$') {
			dura_buf_append(&out, "$", 1);
			p += 2;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			dura_buf_append(&out, p, 1);
			p++;
			continue;
		}
		const char *name = p + 2;
		const char *close = strchr(name, '}');
		if (!close) {
			dura_errbuf(err, errlen, "unterminated '${' (write $$ for a literal '$')");
			goto fail;
		}
		const char *name_end = name;
		while (name_end < close && is_var_char(*name_end))
			name_end++;
		const char *def = NULL; /* ${NAME:-default} */
		if (name_end + 1 < close && name_end[0] == ':' && name_end[1] == '-')
			def = name_end + 2;
		else if (name_end != close)
			name_end = NULL;
		if (!name_end || name_end == name || !is_var_start(*name)) {
			dura_errbuf(err, errlen,
			            "bad variable reference '%.*s' (expected ${NAME} or ${NAME:-default}, "
			            "NAME of letters, digits and '_')",
			            (int)(close - p + 1 > 80 ? 80 : close - p + 1), p);
			goto fail;
		}
		char *var = dura_xstrndup(name, (size_t)(name_end - name));
		const char *val = getenv(var);
		if (def && (!val || !*val)) {
			dura_buf_append(&out, def, (size_t)(close - def));
		} else if (val) {
			dura_buf_append(&out, val, strlen(val));
		} else {
			dura_errbuf(err, errlen,
			            "environment variable '%s' is not set (set it, or write ${%s:-default})",
			            var, var);
			free(var);
			goto fail;
		}
		free(var);
		p = close + 1;
	}
	dura_buf_append(&out, "", 1);
	return (char *)out.data;
fail:
	dura_buf_free(&out);
	return NULL;
}

/* --------------------------------------------------------------- configs */

/* Parses an unsigned decimal at *p (no sign), skipping blanks around. */
static int parse_count(const char **p, unsigned long *out)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	unsigned long v = 0;
	while (isdigit((unsigned char)*s)) {
		if (v > 100000)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		s++;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	*out = v;
	*p = s;
	return 0;
}

int dura_parse_configs(const char *s, struct dura_config_def **out, size_t *n,
                       char *err, size_t errlen)
{
	struct dura_config_def *cfgs = NULL; /* handed to *out on success */
	size_t count = 0;
	const char *p = s ? s : "";
	*out = NULL;
	*n = 0;
	for (;;) {
		const char *item = p;
		unsigned long o, w;
		if (parse_count(&p, &o) != 0 || *p != ':')
			goto syntax;
		p++;
		if (parse_count(&p, &w) != 0 || (*p != ',' && *p != '\0'))
			goto syntax;
		if (o < 1 || o > MAX_WORKERS || w < 1 || w > MAX_WORKERS) {
			dura_errbuf(err, errlen,
			            "config %lu:%lu: worker counts must be between 1 and %d", o, w,
			            MAX_WORKERS);
			goto fail;
		}
		for (size_t i = 0; i < count; i++) {
			if (cfgs[i].orch_workers == o && cfgs[i].activity_workers == w) {
				dura_errbuf(err, errlen, "config %lu:%lu is listed twice", o, w);
				goto fail;
			}
		}
		if (count == MAX_CONFIGS) {
			dura_errbuf(err, errlen, "more than %d configs", MAX_CONFIGS);
			goto fail;
		}
		cfgs = dura_xrealloc(cfgs, (count + 1) * sizeof *cfgs);
		cfgs[count].orch_workers = (unsigned)o;
		cfgs[count].activity_workers = (unsigned)w;
		count++;
		if (*p == '\0')
			break;
		p++; /* ',' */
		continue;
syntax:
		{
			while (*item == ' ' || *item == '\t')
				item++;
			size_t len = strcspn(item, ",");
			dura_errbuf(err, errlen,
			            "bad config '%.*s' in '%.80s' (expected a comma-separated list of "
			            "ORCH:ACTIVITY worker counts, e.g. 1:1, 2:2, 4:4)",
			            (int)(len > 40 ? 40 : len), item, s ? s : "");
		}
		goto fail;
	}
	*out = cfgs;
	*n = count;
	return 0;
fail:
	free(cfgs);
	return -1;
}

/* ------------------------------------------------------------ key tables */

enum value_kind {
	V_DURATION_MS, /* uint64_t, milliseconds */
	V_DURATION_US, /* uint64_t, microseconds */
	V_UINT,        /* unsigned, within [min, max] */
	V_SIZE,        /* uint64_t bytes, at most max */
	V_RATE,        /* double, instances per second */
	V_CONFIGS,
	V_SCENARIO,    /* char *, a workload of the catalogue */
	V_MIX,         /* char *, "name:weight,..." */
};

struct key_spec {
	const char *name;
	enum value_kind kind;
	size_t offset; /* into struct dura_scenario */
	uint64_t min, max;
};

#define SC_OFF(field) offsetof(struct dura_scenario, field)

static const struct key_spec run_keys[] = {
	{ "duration", V_DURATION_MS, SC_OFF(duration_ms), 1, 0 },
	{ "warmup", V_DURATION_MS, SC_OFF(warmup_ms), 0, 0 },
	{ "drain_timeout", V_DURATION_MS, SC_OFF(drain_timeout_ms), 0, 0 },
	{ "verify_timeout", V_DURATION_MS, SC_OFF(verify_timeout_ms), 1, 0 },
	{ "configs", V_CONFIGS, 0, 0, 0 },
	{ "repeat", V_UINT, SC_OFF(repeat), 1, 1000 },
	{ "activity_batch", V_UINT, SC_OFF(activity_batch), 1, 64 },
	{ "orch_batch", V_UINT, SC_OFF(orch_batch), 1, 64 },
	{ "interval", V_DURATION_MS, SC_OFF(interval_ms), 10, 0 },
	{ "processes", V_UINT, SC_OFF(processes), 0, DURA_MAX_PROCESSES },
	{ "prefill", V_UINT, SC_OFF(prefill), 0, DURA_MAX_PREFILL },
	{ "stop_timeout", V_DURATION_MS, SC_OFF(stop_timeout_ms), 1, 0 },
	{ NULL, 0, 0, 0, 0 },
};

static const struct key_spec workload_keys[] = {
	{ "scenario", V_SCENARIO, SC_OFF(workload.scenario), 0, 0 },
	{ "max_concurrent", V_UINT, SC_OFF(workload.max_concurrent), 1, 100000 },
	{ "rate", V_RATE, SC_OFF(workload.rate), 0, 0 },
	{ "tasks_per_instance", V_UINT, SC_OFF(workload.tasks_per_instance), 1, 10000 },
	{ "activity_delay", V_DURATION_US, SC_OFF(workload.activity_delay_us), 0, 0 },
	{ "payload_bytes", V_SIZE, SC_OFF(workload.payload_bytes), 0, MAX_PAYLOAD_BYTES },
	{ "timers", V_UINT, SC_OFF(workload.timers), 0, 1000 },
	{ "timer_delay", V_DURATION_US, SC_OFF(workload.timer_delay_us), 0, 0 },
	{ "children", V_UINT, SC_OFF(workload.children), 0, 1000 },
	{ "iterations", V_UINT, SC_OFF(workload.iterations), 0, 1000000 },
	{ "mix", V_MIX, SC_OFF(workload.mix), 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

#define N_RUN_KEYS (sizeof run_keys / sizeof run_keys[0] - 1)
#define N_WORKLOAD_KEYS (sizeof workload_keys / sizeof workload_keys[0] - 1)

static int parse_rate(const char *s, double *out, char *msg, size_t msglen)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end != s) {
		while (isspace((unsigned char)*end))
			end++;
		if (strcmp(end, "/s") == 0)
			end += 2;
	}
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0 || v > MAX_RATE ||
	    !(isdigit((unsigned char)*s) || *s == '.')) {
		dura_errbuf(msg, msglen,
		            "bad rate '%s' (expected instances per second, e.g. 50 or 50/s; "
		            "0 = closed loop)", s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Parses value for spec into sc.  msg gets the bare reason on error. */
static int apply_key(struct dura_scenario *sc, const struct key_spec *spec, const char *value,
                     char *msg, size_t msglen)
{
	char *field = (char *)sc + spec->offset;
	uint64_t v;
	switch (spec->kind) {
	case V_DURATION_MS:
		if (dura_parse_duration_ms(value, &v, msg, msglen) != 0)
			return -1;
		if (v < spec->min) {
			if (spec->min > 1)
				dura_errbuf(msg, msglen, "must be at least %llums",
				            (unsigned long long)spec->min);
			else
				dura_errbuf(msg, msglen, "must be more than 0");
			return -1;
		}
		memcpy(field, &v, sizeof v);
		return 0;
	case V_DURATION_US:
		if (dura_parse_duration_us(value, &v, msg, msglen) != 0)
			return -1;
		memcpy(field, &v, sizeof v);
		return 0;
	case V_UINT: {
		if (dura_parse_uint(value, spec->min, spec->max, &v, msg, msglen) != 0)
			return -1;
		unsigned u = (unsigned)v;
		memcpy(field, &u, sizeof u);
		return 0;
	}
	case V_SIZE:
		if (dura_parse_size(value, &v, msg, msglen) != 0)
			return -1;
		if (v > spec->max) {
			dura_errbuf(msg, msglen, "'%s' is more than the limit of %llu MB", value,
			            (unsigned long long)(spec->max >> 20));
			return -1;
		}
		memcpy(field, &v, sizeof v);
		return 0;
	case V_RATE: {
		double d;
		if (parse_rate(value, &d, msg, msglen) != 0)
			return -1;
		memcpy(field, &d, sizeof d);
		return 0;
	}
	case V_CONFIGS: {
		struct dura_config_def *cfgs;
		size_t n;
		if (dura_parse_configs(value, &cfgs, &n, msg, msglen) != 0)
			return -1;
		free(sc->configs);
		sc->configs = cfgs;
		sc->n_configs = n;
		return 0;
	}
	case V_SCENARIO:
	case V_MIX: {
		if (spec->kind == V_SCENARIO && !dura_workload_known(value, 0)) {
			char names[256];
			dura_workload_names(0, names, sizeof names);
			dura_errbuf(msg, msglen, "unknown scenario '%s' (expected %s)", value, names);
			return -1;
		}
		struct dura_workload_mix mix;
		if (spec->kind == V_MIX && dura_workload_parse_mix(value, &mix, msg, msglen) != 0)
			return -1;
		char *old;
		memcpy(&old, field, sizeof old);
		free(old);
		char *copy = dura_xstrdup(value);
		memcpy(field, &copy, sizeof copy);
		return 0;
	}
	}
	return -1;
}

/* ---------------------------------------------------------------- loader */

enum section_kind { SEC_RUN, SEC_WORKLOAD, SEC_PROVIDER, SEC_COMPARE, SEC_FAULT };

struct loader {
	struct dura_scenario *sc;
	enum section_kind kind;          /* of the current section */
	int n_events;                    /* sections and keys seen */
	int run_line, workload_line;     /* header lines, 0 = absent */
	int run_set[N_RUN_KEYS];         /* line each key was set on */
	int workload_set[N_WORKLOAD_KEYS];
};

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return 0;
	return 1;
}

/* If section is "WORD" or "WORD NAME", returns the trimmed NAME part ("" for
 * none); NULL if the section does not start with WORD. */
static const char *section_arg(const char *section, const char *word)
{
	size_t n = strlen(word);
	if (strncmp(section, word, n) != 0)
		return NULL;
	const char *rest = section + n;
	if (*rest != '\0' && *rest != ' ' && *rest != '\t')
		return NULL;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	return rest;
}

static int start_section(struct loader *ld, int line, const char *section, char *msg, size_t msglen)
{
	struct dura_scenario *sc = ld->sc;
	const char *arg;
	if ((arg = section_arg(section, "run")) || (arg = section_arg(section, "workload"))) {
		int is_run = section[0] == 'r';
		if (*arg) {
			dura_errbuf(msg, msglen, "section [%s] takes no name", is_run ? "run" : "workload");
			return -1;
		}
		int *first = is_run ? &ld->run_line : &ld->workload_line;
		if (*first) {
			dura_errbuf(msg, msglen, "duplicate section [%s] (first at line %d)",
			            is_run ? "run" : "workload", *first);
			return -1;
		}
		*first = line;
		ld->kind = is_run ? SEC_RUN : SEC_WORKLOAD;
		return 0;
	}
	int is_provider = (arg = section_arg(section, "provider")) != NULL;
	int is_fault = !is_provider && (arg = section_arg(section, "fault")) != NULL;
	if (!is_provider && !is_fault && !(arg = section_arg(section, "compare"))) {
		dura_errbuf(msg, msglen,
		            "unknown section [%.60s] (expected [run], [workload], [provider NAME], "
		            "[compare NAME] or [fault NAME])", section);
		return -1;
	}
	const char *what = is_provider ? "provider" : is_fault ? "fault" : "compare";
	if (!*arg) {
		dura_errbuf(msg, msglen, "[%s] needs a name: [%s NAME]", what, what);
		return -1;
	}
	if (!valid_name(arg)) {
		dura_errbuf(msg, msglen,
		            "bad %s name '%.60s' (letters, digits, '_', '.' and '-' only)", what, arg);
		return -1;
	}
	if (is_fault) {
		ld->kind = SEC_FAULT;
		return dura_fault_section(sc, arg, line, msg, msglen);
	}
	if (is_provider) {
		for (size_t i = 0; i < sc->n_providers; i++) {
			if (strcmp(sc->providers[i].name, arg) == 0) {
				dura_errbuf(msg, msglen, "duplicate provider '%s' (first at line %d)", arg,
				            sc->providers[i].line);
				return -1;
			}
		}
		sc->providers = dura_xrealloc(sc->providers, (sc->n_providers + 1) * sizeof *sc->providers);
		struct dura_provider_def *p = &sc->providers[sc->n_providers++];
		memset(p, 0, sizeof *p);
		p->name = dura_xstrdup(arg);
		p->line = line;
		ld->kind = SEC_PROVIDER;
	} else {
		for (size_t i = 0; i < sc->n_compares; i++) {
			if (strcmp(sc->compares[i].name, arg) == 0) {
				dura_errbuf(msg, msglen, "duplicate compare '%s' (first at line %d)", arg,
				            sc->compares[i].line);
				return -1;
			}
		}
		sc->compares = dura_xrealloc(sc->compares, (sc->n_compares + 1) * sizeof *sc->compares);
		struct dura_compare_def *c = &sc->compares[sc->n_compares++];
		memset(c, 0, sizeof *c);
		c->name = dura_xstrdup(arg);
		c->line = line;
		ld->kind = SEC_COMPARE;
	}
	return 0;
}

static void list_keys(const struct key_spec *keys, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; keys[i].name && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", keys[i].name);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static int table_key(struct loader *ld, int line, const char *section, const struct key_spec *keys,
                     int *set_lines, const char *key, const char *value, char *msg, size_t msglen)
{
	for (size_t i = 0; keys[i].name; i++) {
		if (strcmp(keys[i].name, key) != 0)
			continue;
		if (set_lines[i]) {
			dura_errbuf(msg, msglen, "duplicate key '%s' in [%s] (first at line %d)", key,
			            section, set_lines[i]);
			return -1;
		}
		set_lines[i] = line;
		char why[384];
		if (apply_key(ld->sc, &keys[i], value, why, sizeof why) != 0) {
			dura_errbuf(msg, msglen, "[%s] %s: %s", section, key, why);
			return -1;
		}
		return 0;
	}
	char accepted[256];
	list_keys(keys, accepted, sizeof accepted);
	dura_errbuf(msg, msglen, "unknown key '%.60s' in [%s] (accepted: %s)", key, section, accepted);
	return -1;
}

/* A count the core reads from a provider section: once per section
 * (*key_line records where), 0..max. */
static int provider_count(const struct dura_provider_def *p, int line, const char *key,
                          const char *value, uint64_t max, int *key_line, uint64_t *out,
                          char *msg, size_t msglen)
{
	char why[200];
	if (*key_line) {
		dura_errbuf(msg, msglen, "duplicate key '%s' in [provider %s] (first at line %d)", key,
		            p->name, *key_line);
		return -1;
	}
	if (dura_parse_uint(value, 0, max, out, why, sizeof why) != 0) {
		dura_errbuf(msg, msglen, "[provider %s] %s: %s", p->name, key, why);
		return -1;
	}
	*key_line = line;
	return 0;
}

static int provider_key(struct dura_provider_def *p, int line, const char *key, const char *value,
                        char *msg, size_t msglen)
{
	if (strcmp(key, "plugin") == 0) {
		if (p->plugin) {
			dura_errbuf(msg, msglen,
			            "duplicate key 'plugin' in [provider %s] (first at line %d)", p->name,
			            p->plugin_line);
			return -1;
		}
		if (!*value) {
			dura_errbuf(msg, msglen,
			            "[provider %s] plugin: empty (expected a plugin name such as sqlite "
			            "or postgres, or a path to a .so)", p->name);
			return -1;
		}
		p->plugin = dura_xstrdup(value);
		p->plugin_line = line;
		return 0;
	}
	if (strcmp(key, "kill_worker_at") == 0 || strcmp(key, "kill_worker_for") == 0) {
		/* the provider keys of an earlier build: say where the fault went */
		dura_errbuf(msg, msglen, "[provider %s] %s: the kill-worker fault is a [fault NAME] "
		            "section now (action = kill-worker, at, for, worker; docs/faults.md)",
		            p->name, key);
		return -1;
	}
	/* The core's own keys of a provider section, never the plugin's:
	 * scale-out (this provider's runs use worker processes) and cost
	 * growth (its stores are prefilled); each overrides its [run] key. */
	uint64_t v;
	if (strcmp(key, "processes") == 0) {
		if (provider_count(p, line, key, value, DURA_MAX_PROCESSES, &p->processes_line, &v, msg,
		                   msglen) != 0)
			return -1;
		p->processes = (int)v;
		return 0;
	}
	if (strcmp(key, "prefill") == 0) {
		if (provider_count(p, line, key, value, DURA_MAX_PREFILL, &p->prefill_line, &v, msg,
		                   msglen) != 0)
			return -1;
		p->prefill = (unsigned)v;
		return 0;
	}
	for (size_t i = 0; i < p->n_options; i++) {
		if (strcmp(p->options[i].key, key) == 0) {
			dura_errbuf(msg, msglen, "duplicate key '%.60s' in [provider %s] (first at line %d)",
			            key, p->name, p->option_lines[i]);
			return -1;
		}
	}
	p->options = dura_xrealloc(p->options, (p->n_options + 1) * sizeof *p->options);
	p->option_lines = dura_xrealloc(p->option_lines, (p->n_options + 1) * sizeof *p->option_lines);
	p->options[p->n_options].key = dura_xstrdup(key);
	p->options[p->n_options].value = dura_xstrdup(value);
	p->option_lines[p->n_options] = line;
	p->n_options++;
	return 0;
}

static int compare_key(struct dura_compare_def *c, int line, const char *key, const char *value,
                       char *msg, size_t msglen)
{
	int is_subject = strcmp(key, "subject") == 0;
	if (!is_subject && strcmp(key, "baseline") != 0) {
		dura_errbuf(msg, msglen,
		            "unknown key '%.60s' in [compare %s] (accepted: subject, baseline)", key,
		            c->name);
		return -1;
	}
	char **slot = is_subject ? &c->subject : &c->baseline;
	int *slot_line = is_subject ? &c->subject_line : &c->baseline_line;
	if (*slot) {
		dura_errbuf(msg, msglen, "duplicate key '%s' in [compare %s] (first at line %d)", key,
		            c->name, *slot_line);
		return -1;
	}
	if (!*value) {
		dura_errbuf(msg, msglen, "[compare %s] %s: empty (expected a provider name)", c->name,
		            key);
		return -1;
	}
	*slot = dura_xstrdup(value);
	*slot_line = line;
	return 0;
}

static int on_ini(void *user, int line, const char *section, const char *key, const char *value,
                  char *msg, size_t msglen)
{
	struct loader *ld = user;
	ld->n_events++;
	if (!key)
		return start_section(ld, line, section, msg, msglen);

	char why[384];
	char *expanded = dura_expand_env(value, why, sizeof why); /* freed below */
	if (expanded) { /* ${DATABASE_URL} and the like carry passwords too */
		char *pair = dura_xasprintf("%s = %s", key, expanded);
		dura_secret_note(pair);
		free(pair);
	}
	if (!expanded) {
		dura_errbuf(msg, msglen, "[%.80s] %.60s: %s", section, key, why);
		return -1;
	}
	struct dura_scenario *sc = ld->sc;
	int rc;
	switch (ld->kind) {
	case SEC_RUN:
		rc = table_key(ld, line, "run", run_keys, ld->run_set, key, expanded, msg, msglen);
		break;
	case SEC_WORKLOAD:
		rc = table_key(ld, line, "workload", workload_keys, ld->workload_set, key, expanded,
		               msg, msglen);
		break;
	case SEC_PROVIDER:
		rc = provider_key(&sc->providers[sc->n_providers - 1], line, key, expanded, msg, msglen);
		break;
	case SEC_FAULT:
		rc = dura_fault_key(sc, line, key, expanded, msg, msglen);
		break;
	case SEC_COMPARE:
	default:
		rc = compare_key(&sc->compares[sc->n_compares - 1], line, key, expanded, msg, msglen);
		break;
	}
	free(expanded);
	return rc;
}

static const struct dura_provider_def *find_provider(const struct dura_scenario *sc, const char *name)
{
	for (size_t i = 0; i < sc->n_providers; i++)
		if (strcmp(sc->providers[i].name, name) == 0)
			return &sc->providers[i];
	return NULL;
}

static int key_line(const struct loader *ld, const struct key_spec *keys, const int *set,
                    const char *name)
{
	for (size_t i = 0; keys[i].name; i++)
		if (strcmp(keys[i].name, name) == 0)
			return set[i];
	return 0;
}

/* Checks that need the whole file.  Returns 0 or -1 with err filled. */
static int check_whole(const struct loader *ld, char *err, size_t errlen)
{
	const struct dura_scenario *sc = ld->sc;
	const char *path = sc->path;
	if (ld->n_events == 0) {
		dura_errbuf(err, errlen,
		            "%s:0: empty scenario file (only blank lines and comments); it needs at "
		            "least one [provider NAME] section", path);
		return -1;
	}
	for (size_t i = 0; i < sc->n_providers; i++) {
		const struct dura_provider_def *p = &sc->providers[i];
		if (!p->plugin) {
			dura_errbuf(err, errlen,
			            "%s:%d: [provider %s] has no 'plugin' key (e.g. plugin = sqlite)", path,
			            p->line, p->name);
			return -1;
		}
	}
	if (sc->n_providers == 0) {
		dura_errbuf(err, errlen,
		            "%s:0: no [provider NAME] section: a scenario needs at least one provider",
		            path);
		return -1;
	}
	for (size_t i = 0; i < sc->n_compares; i++) {
		const struct dura_compare_def *c = &sc->compares[i];
		const char *names[2] = { c->subject, c->baseline };
		const int lines[2] = { c->subject_line, c->baseline_line };
		const char *keys[2] = { "subject", "baseline" };
		for (int k = 0; k < 2; k++) {
			if (!names[k]) {
				dura_errbuf(err, errlen, "%s:%d: [compare %s] needs '%s = PROVIDER'", path,
				            c->line, c->name, keys[k]);
				return -1;
			}
			if (!find_provider(sc, names[k])) {
				char known[256];
				size_t used = 0;
				known[0] = '\0';
				for (size_t j = 0; j < sc->n_providers && used < sizeof known; j++) {
					int w = snprintf(known + used, sizeof known - used, "%s%s", j ? ", " : "",
					                 sc->providers[j].name);
					if (w < 0)
						break;
					used += (size_t)w;
				}
				dura_errbuf(err, errlen,
				            "%s:%d: [compare %s] %s: no [provider %.60s] in this file "
				            "(providers: %s)", path, lines[k], c->name, keys[k], names[k], known);
				return -1;
			}
		}
		if (strcmp(c->subject, c->baseline) == 0) {
			dura_errbuf(err, errlen,
			            "%s:%d: [compare %s]: subject and baseline are the same provider '%s'",
			            path, c->baseline_line, c->name, c->subject);
			return -1;
		}
	}
	if (sc->warmup_ms >= sc->duration_ms) {
		int line = key_line(ld, run_keys, ld->run_set, "warmup");
		if (!line)
			line = key_line(ld, run_keys, ld->run_set, "duration");
		char w[32], d[32];
		dura_format_duration_us(sc->warmup_ms * 1000, w, sizeof w);
		dura_format_duration_us(sc->duration_ms * 1000, d, sizeof d);
		dura_errbuf(err, errlen,
		            "%s:%d: [run] warmup (%s) must be shorter than duration (%s): the "
		            "measurement window is duration minus warmup", path, line, w, d);
		return -1;
	}
	return dura_scenario_check_faults(sc, err, errlen);
}

static void set_defaults(struct dura_scenario *sc)
{
	sc->duration_ms = 10000;
	sc->warmup_ms = 1000;
	sc->drain_timeout_ms = 30000;
	sc->verify_timeout_ms = 60000;
	sc->stop_timeout_ms = 30000;
	char unused[8];
	(void)dura_parse_configs("1:1,2:2,4:4", &sc->configs, &sc->n_configs, unused, sizeof unused);
	sc->repeat = 1;
	sc->activity_batch = DURA_DEFAULT_ACTIVITY_BATCH;
	sc->orch_batch = DURA_DEFAULT_ORCH_BATCH;
	sc->interval_ms = 1000;
	struct dura_workload_def *w = &sc->workload;
	w->scenario = dura_xstrdup(DURA_WORKLOAD_DEFAULT);
	w->max_concurrent = 20;
	w->rate = 0;
	w->tasks_per_instance = 5;
	w->activity_delay_us = 10000;
	w->payload_bytes = 0;
	w->timers = 1;
	w->timer_delay_us = 10000;
	w->children = 3;
	w->iterations = 5;
	w->mix = NULL;
}

int dura_scenario_load(const char *path, struct dura_scenario *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	out->path = dura_xstrdup(path);
	set_defaults(out);
	struct loader ld;
	memset(&ld, 0, sizeof ld);
	ld.sc = out;
	if (dura_ini_parse_file(path, on_ini, &ld, err, errlen) != 0)
		return -1;
	return check_whole(&ld, err, errlen);
}

void dura_scenario_free(struct dura_scenario *sc)
{
	if (!sc)
		return;
	free(sc->path);
	free(sc->configs);
	free(sc->workload.scenario);
	free(sc->workload.mix);
	for (size_t i = 0; i < sc->n_providers; i++) {
		struct dura_provider_def *p = &sc->providers[i];
		free(p->name);
		free(p->plugin);
		for (size_t j = 0; j < p->n_options; j++) {
			free((char *)p->options[j].key);
			free((char *)p->options[j].value);
		}
		free(p->options);
		free(p->option_lines);
	}
	free(sc->providers);
	for (size_t i = 0; i < sc->n_compares; i++) {
		free(sc->compares[i].name);
		free(sc->compares[i].subject);
		free(sc->compares[i].baseline);
	}
	free(sc->compares);
	dura_faults_free(sc);
	memset(sc, 0, sizeof *sc);
}

unsigned dura_scenario_prefill(const struct dura_scenario *sc, const struct dura_provider_def *p)
{
	return p->prefill_line ? p->prefill : sc->prefill;
}
