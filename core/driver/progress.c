/* Live progress line on a terminal (see progress.h). */
#include "config.h"

#include "progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/util.h"

struct dura_progress {
	char *label;
	int active;
	uint64_t last_draw_ns;
	int drawn_len;
};

struct dura_progress *dura_progress_new(const char *label, int enabled)
{
	struct dura_progress *p = dura_xcalloc(1, sizeof *p);
	p->label = dura_xstrdup(label ? label : "");
	p->active = enabled && isatty(STDERR_FILENO);
	return p;
}

void dura_progress_update(struct dura_progress *p, const char *phase, double elapsed_s,
                          double total_s, uint64_t launched, uint64_t completed,
                          uint64_t failed, uint64_t in_flight, int force)
{
	if (!p || !p->active)
		return;
	uint64_t now = dura_now_ns();
	if (!force && now - p->last_draw_ns < 200000000u)
		return;
	p->last_draw_ns = now;
	double rate = elapsed_s > 0 ? (double)completed / elapsed_s : 0;
	char line[256];
	int n = snprintf(line, sizeof line,
	                 "%s  %s %5.1f/%.0fs  launched %" PRIu64 "  done %" PRIu64
	                 "  failed %" PRIu64 "  in flight %" PRIu64 "  %.0f orch/s",
	                 p->label, phase, elapsed_s, total_s, launched, completed, failed,
	                 in_flight, rate);
	if (n < 0)
		return;
	if (n >= (int)sizeof line)
		n = (int)sizeof line - 1;
	/* pad with spaces over what a longer previous line left behind */
	fprintf(stderr, "\r%s%*s", line, p->drawn_len > n ? p->drawn_len - n : 0, "");
	fflush(stderr);
	p->drawn_len = n;
}

void dura_progress_done(struct dura_progress *p)
{
	if (!p)
		return;
	if (p->active && p->drawn_len > 0) {
		fprintf(stderr, "\r%*s\r", p->drawn_len, "");
		fflush(stderr);
	}
	free(p->label);
	free(p);
}
