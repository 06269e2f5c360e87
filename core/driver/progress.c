/* Progress display on stderr (see progress.h). */
#include "config.h"

#include "progress.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/util.h"

#define LIVE_REDRAW_NS 200000000u

struct dura_progress {
	enum dura_progress_mode mode;
	uint64_t period_ns;
	size_t n_runs;
	size_t run_k;
	char *label;
	double planned_s;
	uint64_t run_start_ns;
	double finished_wall_s;      /* sum over finished runs */
	double finished_planned_s;   /* their planned durations */
	size_t finished;
	uint64_t last_ns;            /* last line shown (or run start) */
	uint64_t last_completed;
	int drawn_len;               /* live: characters on the line now */
	char last_phase[16];         /* phase of the last line shown */
};

struct dura_progress *dura_progress_new(enum dura_progress_mode mode, uint64_t period_ms,
                                        size_t n_runs)
{
	struct dura_progress *p = dura_xcalloc(1, sizeof *p);
	p->mode = mode;
	p->period_ns = (period_ms ? period_ms : 5000) * 1000000u;
	p->n_runs = n_runs;
	p->label = dura_xstrdup("");
	return p;
}

void dura_progress_free(struct dura_progress *p)
{
	if (!p)
		return;
	free(p->label);
	free(p);
}

void dura_progress_begin_run(struct dura_progress *p, size_t k, const char *label,
                             double planned_s)
{
	if (!p)
		return;
	free(p->label);
	p->label = dura_xstrdup(label ? label : "");
	p->run_k = k;
	p->planned_s = planned_s;
	p->run_start_ns = p->last_ns = dura_now_ns();
	p->last_completed = 0;
	p->last_phase[0] = '\0';
}

static void clear_live(struct dura_progress *p)
{
	if (p->mode == DURA_PROGRESS_LIVE && p->drawn_len > 0) {
		fprintf(stderr, "\r%*s\r", p->drawn_len, "");
		fflush(stderr);
	}
	p->drawn_len = 0;
}

void dura_progress_end_run(struct dura_progress *p)
{
	if (!p)
		return;
	clear_live(p);
	p->finished++;
	p->finished_wall_s += (double)(dura_now_ns() - p->run_start_ns) / 1e9;
	p->finished_planned_s += p->planned_s;
}

int dura_progress_due(const struct dura_progress *p)
{
	if (!p || p->mode == DURA_PROGRESS_OFF)
		return 0;
	uint64_t every = p->mode == DURA_PROGRESS_LIVE ? LIVE_REDRAW_NS : p->period_ns;
	return dura_now_ns() - p->last_ns >= every;
}

/* Seconds left for the whole invocation: what remains of this run's
 * launching plus the overhead per run seen so far (drain, verification,
 * store setup), and the runs still to come at the same pace. */
static double eta_s(const struct dura_progress *p)
{
	double overhead = p->finished ? (p->finished_wall_s - p->finished_planned_s) /
	                                (double)p->finished : 0;
	if (overhead < 0)
		overhead = 0;
	double in_run = (double)(dura_now_ns() - p->run_start_ns) / 1e9;
	double left = p->planned_s + overhead - in_run;
	if (left < 0)
		left = 0;
	size_t after = p->n_runs > p->run_k + 1 ? p->n_runs - p->run_k - 1 : 0;
	return left + (double)after * (p->planned_s + overhead);
}

static void fmt_duration(char *buf, size_t len, double s)
{
	if (s < 0 || !isfinite(s))
		snprintf(buf, len, "?");
	else if (s < 60)
		snprintf(buf, len, "%.0fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
	else
		snprintf(buf, len, "%dh%02dm", (int)(s / 3600), ((int)s % 3600) / 60);
}

/* A field of the line and how much it matters when the width is short. */
struct field {
	char text[96];
	int priority;   /* 0 always kept; larger ones go first */
};

void dura_progress_format(char *buf, size_t len, int width, size_t run_k, size_t n_runs,
                          const char *label, const struct dura_progress_figures *f,
                          double rate, double eta)
{
	struct field fl[9];
	size_t n = 0;
	char t[32];
	snprintf(fl[n].text, sizeof fl[n].text, "run %zu/%zu", run_k + 1, n_runs);
	fl[n++].priority = 0;
	snprintf(fl[n].text, sizeof fl[n].text, "%s", label ? label : "");
	fl[n++].priority = 3;
	if (f->phase_total_s > 0)
		snprintf(fl[n].text, sizeof fl[n].text, "%s %.1f/%.0fs", f->phase, f->phase_elapsed_s,
		         f->phase_total_s);
	else
		snprintf(fl[n].text, sizeof fl[n].text, "%s", f->phase);
	fl[n++].priority = 0;
	/* verification completes nothing: no rate, no latency */
	int measuring = strcmp(f->phase, "verify") != 0;
	snprintf(fl[n].text, sizeof fl[n].text, "%.0f orch/s", rate);
	fl[n++].priority = measuring ? 1 : 99;
	if (isfinite(f->p50_ms) && isfinite(f->p99_ms))
		snprintf(fl[n].text, sizeof fl[n].text, "p50 %.1f p99 %.1f ms", f->p50_ms, f->p99_ms);
	else
		snprintf(fl[n].text, sizeof fl[n].text, "p50 - p99 -");
	fl[n++].priority = measuring ? 2 : 99;
	snprintf(fl[n].text, sizeof fl[n].text, "done %" PRIu64, f->completed);
	fl[n++].priority = 5;
	snprintf(fl[n].text, sizeof fl[n].text, "failed %" PRIu64, f->failed);
	fl[n++].priority = 4;
	snprintf(fl[n].text, sizeof fl[n].text, "in flight %" PRIu64, f->in_flight);
	fl[n++].priority = 6;
	fmt_duration(t, sizeof t, eta);
	snprintf(fl[n].text, sizeof fl[n].text, "ETA %s", t);
	fl[n++].priority = 1;

	/* drop the least important fields until the line fits */
	int keep_above = 7;
	for (;;) {
		size_t total = 0, shown = 0;
		for (size_t i = 0; i < n; i++)
			if (fl[i].priority < keep_above && fl[i].text[0]) {
				total += strlen(fl[i].text) + (shown ? 2 : 0);
				shown++;
			}
		if (width <= 0 || (int)total < width || keep_above == 1)
			break;
		keep_above--;
	}
	size_t k = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (fl[i].priority >= keep_above || !fl[i].text[0])
			continue;
		int w = snprintf(buf + k, len - k, "%s%s", k ? "  " : "", fl[i].text);
		if (w < 0 || (size_t)w >= len - k)
			break;
		k += (size_t)w;
	}
	/* even the essentials are too wide: cut (the cursor must never wrap) */
	if (width > 0 && (int)strlen(buf) >= width)
		buf[width - 1 > 0 ? width - 1 : 0] = '\0';
}

static int terminal_width(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

int dura_progress_show(struct dura_progress *p, const struct dura_progress_figures *f,
                       int force)
{
	/* forcing is for the live line (the drain's last state, the start of
	 * the verification); a log gets its lines at the period, and one
	 * forced line when a new phase starts (so it shows when verification
	 * began, however short it is) */
	if (!p || p->mode == DURA_PROGRESS_OFF)
		return 0;
	int new_phase = force && strcmp(p->last_phase, f->phase) != 0;
	if ((!force || (p->mode == DURA_PROGRESS_PERIODIC && !new_phase)) && !dura_progress_due(p))
		return 0;
	snprintf(p->last_phase, sizeof p->last_phase, "%s", f->phase);
	uint64_t now = dura_now_ns();
	double dt = (double)(now - p->last_ns) / 1e9;
	uint64_t done = f->completed >= p->last_completed ? f->completed - p->last_completed : 0;
	double rate = dt > 0 ? (double)done / dt : 0;
	p->last_ns = now;
	p->last_completed = f->completed;
	char line[512];
	if (p->mode == DURA_PROGRESS_PERIODIC) {
		dura_progress_format(line, sizeof line, 0, p->run_k, p->n_runs, p->label, f, rate,
		                     eta_s(p));
		fprintf(stderr, "durabench: %s\n", line);
		fflush(stderr);
		return 1;
	}
	int width = terminal_width();
	dura_progress_format(line, sizeof line, width, p->run_k, p->n_runs, p->label, f, rate,
	                     eta_s(p));
	int n = (int)strlen(line);
	/* pad with spaces over what a longer previous line left behind, never
	 * past the last column (a wrapped line could not be redrawn) */
	int old = p->drawn_len < width - 1 ? p->drawn_len : width - 1;
	int pad = old > n ? old - n : 0;
	fprintf(stderr, "\r%s%*s", line, pad, "");
	fflush(stderr);
	p->drawn_len = n + pad;
	return 1;
}
