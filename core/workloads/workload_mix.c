/*
 * The one parser of `mix` (workload "mixed"), used by the scenario file
 * parser to refuse a bad value at its line and by the mixed workload to
 * build its draw.  The rules: NAME:WEIGHT entries separated by commas,
 * blanks allowed around names, weights and commas; NAME a workload of the
 * catalogue other than mixed, each named once; WEIGHT a whole number from
 * 1 to 1000000 (a weight of 0 would only name a workload that never runs,
 * so it is refused rather than silently dropped); an empty text is refused.
 */
#include "config.h"

#include "workload_kinds.h"

#include <string.h>

#define MAX_WEIGHT 1000000u

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Reads NAME at *pp into name (NUL-terminated), leaves *pp after it. */
static int read_name(const char **pp, char *name, size_t cap)
{
	const char *p = skip_blanks(*pp), *start = p;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
	       *p == '_')
		p++;
	size_t len = (size_t)(p - start);
	if (len == 0 || len >= cap)
		return -1;
	memcpy(name, start, len);
	name[len] = '\0';
	*pp = skip_blanks(p);
	return 0;
}

/* Reads a decimal WEIGHT (1..MAX_WEIGHT) at *pp; leaves *pp after it. */
static int read_weight(const char **pp, unsigned *w)
{
	const char *p = skip_blanks(*pp);
	if (*p < '0' || *p > '9')
		return -1;
	unsigned long v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > MAX_WEIGHT)
			return -1;
	}
	*w = (unsigned)v;
	*pp = skip_blanks(p);
	return 0;
}

static int syntax_error(const char *text, char *err, size_t errlen)
{
	dura_errbuf(err, errlen,
	            "bad mix '%.80s' (expected NAME:WEIGHT pairs with weights >= 1, "
	            "e.g. fanout:60, timers:20, suborch:20)", text);
	return -1;
}

int dura_workload_parse_mix(const char *text, struct dura_workload_mix *out, char *err,
                            size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!text)
		text = DURA_WORKLOAD_DEFAULT_MIX;
	const char *p = text;
	if (!*skip_blanks(p))
		return syntax_error(text, err, errlen);
	for (;;) {
		char name[32];
		if (read_name(&p, name, sizeof name) != 0 || *p != ':')
			return syntax_error(text, err, errlen);
		p++;
		const struct dura_wl_kind *k = dura_wl_find_kind(name, 1);
		if (!k) {
			char names[256];
			dura_workload_names(1, names, sizeof names);
			dura_errbuf(err, errlen, "unknown scenario '%s' (expected %s)", name, names);
			return -1;
		}
		for (unsigned i = 0; i < out->n; i++)
			if (out->kind[i] == k) {
				dura_errbuf(err, errlen, "'%s' is listed twice", name);
				return -1;
			}
		unsigned w;
		if (read_weight(&p, &w) != 0)
			return syntax_error(text, err, errlen);
		if (w == 0) {
			dura_errbuf(err, errlen,
			            "'%s' has weight 0 (it would never run: leave it out of the mix)",
			            name);
			return -1;
		}
		/* every workload at most once, so the catalogue bounds n */
		out->kind[out->n] = k;
		out->weight[out->n] = w;
		out->n++;
		out->total += w;
		if (*p == '\0')
			return 0;
		if (*p != ',' || out->n == DURA_WORKLOAD_MAX_MIX)
			return syntax_error(text, err, errlen);
		p++;
	}
}
