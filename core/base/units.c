/* Values with units: durations, sizes, bandwidths, integers, booleans. */
#include "config.h"

#include "units.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Splits "  12.5ms " into a non-negative number and a unit suffix.  Returns
 * -1 if there is no number or it is negative / not finite. */
static int split_number(const char *s, double *num, const char **unit)
{
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s) && *s != '.')
		return -1;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v) || v < 0)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	*num = v;
	*unit = end;
	return 0;
}

/* Unit comparison that ignores trailing blanks. */
static int unit_is(const char *unit, const char *want)
{
	size_t n = strlen(unit);
	while (n && isspace((unsigned char)unit[n - 1]))
		n--;
	return n == strlen(want) && strncasecmp(unit, want, n) == 0;
}

int dura_parse_duration_us(const char *s, uint64_t *out_us, char *err, size_t errlen)
{
	static const struct { const char *unit; double us; } units[] = {
		{ "us", 1 }, { "ms", 1e3 }, { "s", 1e6 }, { "sec", 1e6 },
		{ "m", 60e6 }, { "min", 60e6 }, { "h", 3600e6 },
	};
	double v;
	const char *unit;
	if (!s || split_number(s, &v, &unit) != 0)
		goto bad;
	if (*unit == '\0') {
		if (v == 0) {
			*out_us = 0;
			return 0;
		}
		dura_errbuf(err, errlen, "duration '%s' needs a unit (us, ms, s, m, h), e.g. 10s", s);
		return -1;
	}
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (unit_is(unit, units[i].unit)) {
			double us = v * units[i].us;
			if (us > 1e15)
				goto bad;
			*out_us = (uint64_t)llround(us);
			return 0;
		}
	}
bad:
	dura_errbuf(err, errlen, "bad duration '%s' (expected a number and a unit: us, ms, s, m, h)",
	            s ? s : "");
	return -1;
}

int dura_parse_duration_ms(const char *s, uint64_t *out_ms, char *err, size_t errlen)
{
	uint64_t us;
	if (dura_parse_duration_us(s, &us, err, errlen) != 0)
		return -1;
	if (us % 1000 != 0) {
		dura_errbuf(err, errlen, "duration '%s' must be a whole number of milliseconds", s);
		return -1;
	}
	*out_ms = us / 1000;
	return 0;
}

int dura_parse_size(const char *s, uint64_t *out_bytes, char *err, size_t errlen)
{
	static const struct { const char *unit; double mult; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1024.0 }, { "kb", 1024.0 }, { "kib", 1024.0 },
		{ "m", 1048576.0 }, { "mb", 1048576.0 }, { "mib", 1048576.0 },
		{ "g", 1073741824.0 }, { "gb", 1073741824.0 }, { "gib", 1073741824.0 },
	};
	double v;
	const char *unit;
	if (!s || split_number(s, &v, &unit) != 0)
		goto bad;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (unit_is(unit, units[i].unit)) {
			double b = v * units[i].mult;
			if (b > 1e15 || b != floor(b))
				goto bad;
			*out_bytes = (uint64_t)b;
			return 0;
		}
	}
bad:
	dura_errbuf(err, errlen, "bad size '%s' (expected bytes or a number with B, KB, MB, GB)",
	            s ? s : "");
	return -1;
}

int dura_parse_bandwidth(const char *s, uint64_t *out_bytes_per_s, char *err, size_t errlen)
{
	static const struct { const char *unit; double bytes; } units[] = {
		{ "bit", 1 / 8.0 }, { "kbit", 1e3 / 8 }, { "mbit", 1e6 / 8 }, { "gbit", 1e9 / 8 },
		{ "bps", 1 / 8.0 }, { "kbps", 1e3 / 8 }, { "mbps", 1e6 / 8 }, { "gbps", 1e9 / 8 },
		{ "b/s", 1 }, { "kb/s", 1024.0 }, { "mb/s", 1048576.0 }, { "gb/s", 1073741824.0 },
	};
	double v;
	const char *unit;
	if (!s || split_number(s, &v, &unit) != 0 || *unit == '\0')
		goto bad;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (unit_is(unit, units[i].unit)) {
			double b = v * units[i].bytes;
			if (b < 1 || b > 1e13)
				goto bad;
			*out_bytes_per_s = (uint64_t)llround(b);
			return 0;
		}
	}
bad:
	dura_errbuf(err, errlen,
	            "bad bandwidth '%s' (expected e.g. 100Mbit, 1Gbit, 500kbit or 10MB/s)",
	            s ? s : "");
	return -1;
}

int dura_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                    char *err, size_t errlen)
{
	const char *p = s;
	if (!p)
		goto bad;
	while (isspace((unsigned char)*p))
		p++;
	if (!isdigit((unsigned char)*p))
		goto bad;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (errno != 0 || *end != '\0')
		goto bad;
	if (v < min || v > max) {
		dura_errbuf(err, errlen, "value %llu out of range [%llu, %llu]", v,
		            (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
bad:
	dura_errbuf(err, errlen, "bad number '%s' (expected a whole number)", s ? s : "");
	return -1;
}

int dura_parse_bool(const char *s, int *out, char *err, size_t errlen)
{
	static const char *yes[] = { "1", "true", "yes", "on" };
	static const char *no[] = { "0", "false", "no", "off" };
	for (size_t i = 0; s && i < 4; i++) {
		if (unit_is(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (unit_is(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	dura_errbuf(err, errlen, "bad boolean '%s' (expected true or false)", s ? s : "");
	return -1;
}

void dura_format_duration_us(uint64_t us, char *buf, size_t len)
{
	if (us < 1000)
		snprintf(buf, len, "%lluus", (unsigned long long)us);
	else if (us < 1000000)
		snprintf(buf, len, "%.3gms", (double)us / 1e3);
	else
		snprintf(buf, len, "%.3gs", (double)us / 1e6);
}
