/*
 * Parsing of values with units, shared by scenario files, command-line flags
 * and core-handled provider options.  Every parser returns 0 on success and
 * -1 with a message in err (which names what was expected) on failure; a
 * value is never silently clamped.
 */
#ifndef DURA_UNITS_H
#define DURA_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Durations: "250us", "10ms", "1.5s", "2m", "1h"; a bare "0" is allowed,
 * any other number needs a unit.  Result in microseconds. */
int dura_parse_duration_us(const char *s, uint64_t *out_us, char *err, size_t errlen);
/* Same, in milliseconds; sub-millisecond non-zero values are an error. */
int dura_parse_duration_ms(const char *s, uint64_t *out_ms, char *err, size_t errlen);

/* Sizes: "512", "512B", "10KB"/"10K"/"10KiB" (x1024), "1MB"/"1M"/"1MiB",
 * "1GB".  A bare number is bytes. */
int dura_parse_size(const char *s, uint64_t *out_bytes, char *err, size_t errlen);

/* Bandwidth: "100Mbit", "1Gbit", "500kbit", "10MB/s", "512KB/s" (decimal
 * bit units, binary byte units).  Result in bytes per second. */
int dura_parse_bandwidth(const char *s, uint64_t *out_bytes_per_s, char *err, size_t errlen);

/* Unsigned integer within [min, max]. */
int dura_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                    char *err, size_t errlen);

/* "true/false/yes/no/on/off/1/0". */
int dura_parse_bool(const char *s, int *out, char *err, size_t errlen);

/* Formats a duration in a short human form ("850us", "12.3ms", "10s"). */
void dura_format_duration_us(uint64_t us, char *buf, size_t len);

#endif
