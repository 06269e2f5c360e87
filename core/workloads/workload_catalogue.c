/*
 * The workload catalogue: the one list of workloads, which the scenario
 * parser, the mix parser and the workload objects all read.  Adding a
 * workload is one file that defines `const struct dura_wl_kind
 * dura_wl_NAME` (see workload_kinds.h) plus one line in the list below
 * (and the file in workloads.am).
 */
#include "config.h"

#include "workload_kinds.h"

#include <stdio.h>
#include <string.h>

/* In the order users see them listed. */
#define CATALOGUE(X) \
	X(fanout) \
	X(timers) \
	X(suborch) \
	X(continue_as_new) \
	X(payload) \
	X(mixed)

#define DECLARE(name) extern const struct dura_wl_kind dura_wl_##name;
CATALOGUE(DECLARE)
#undef DECLARE

#define ENTRY(name) &dura_wl_##name,
static const struct dura_wl_kind *const catalogue[] = { CATALOGUE(ENTRY) };
#undef ENTRY

#define N_KINDS (sizeof catalogue / sizeof catalogue[0])

const struct dura_wl_kind *dura_wl_find_kind(const char *name, int mixable_only)
{
	for (size_t i = 0; name && i < N_KINDS; i++)
		if (strcmp(catalogue[i]->scenario, name) == 0)
			return mixable_only && catalogue[i]->draws_from_mix ? NULL : catalogue[i];
	return NULL;
}

const char *dura_workload_name(const struct dura_workload_def *def)
{
	return def && def->scenario ? def->scenario : DURA_WORKLOAD_DEFAULT;
}

int dura_workload_known(const char *name, int mixable_only)
{
	return dura_wl_find_kind(name, mixable_only) != NULL;
}

void dura_workload_names(int mixable_only, char *buf, size_t len)
{
	size_t n = 0, used = 0;
	for (size_t i = 0; i < N_KINDS; i++)
		n += !(mixable_only && catalogue[i]->draws_from_mix);
	if (len)
		buf[0] = '\0';
	for (size_t i = 0, k = 0; i < N_KINDS; i++) {
		if (mixable_only && catalogue[i]->draws_from_mix)
			continue;
		const char *sep = k == 0 ? "" : k + 1 == n ? " or " : ", ";
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", sep,
			                         catalogue[i]->scenario);
		k++;
	}
}
