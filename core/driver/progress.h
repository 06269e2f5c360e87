/*
 * Live one-line progress display on stderr, redrawn in place with '\r'.
 * Only active when asked for and stderr is a terminal; otherwise every call
 * is a no-op, so callers need no checks of their own.
 */
#ifndef DURA_PROGRESS_H
#define DURA_PROGRESS_H

#include <stdint.h>

struct dura_progress;

/* label is copied.  Free with dura_progress_done. */
struct dura_progress *dura_progress_new(const char *label, int enabled);

/* Redraws the line at most every 200 ms (force != 0: now). */
void dura_progress_update(struct dura_progress *p, const char *phase, double elapsed_s,
                          double total_s, uint64_t launched, uint64_t completed,
                          uint64_t failed, uint64_t in_flight, int force);

/* Clears the line and frees p (NULL ok). */
void dura_progress_done(struct dura_progress *p);

#endif
