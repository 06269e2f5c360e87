/* The regression gate (see report_baseline.h): reading a previous result
 * back, comparing it with this run, printing the comparison. */
#include "config.h"

#include "report_baseline.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "report_stats.h"
#include "base/util.h"



void dura_baseline_free(struct dura_baseline *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->entries[i].provider);
		free(b->entries[i].config);
		free(b->entries[i].orch_values);
	}
	free(b->entries);
	free(b->source);
	free(b->date);
	free(b->commit);
	free(b->warning);
	memset(b, 0, sizeof *b);
}

/* Adds a run to the entry of its pair (averaged later).  orch NaN: the run
 * gives no figure (did not run, was interrupted). */
static void add_run(struct dura_baseline *b, size_t *cap, const char *prov, const char *cfg,
                    double orch, double p99, unsigned *p99_count, size_t max_runs)
{
	size_t k;
	for (k = 0; k < b->n; k++)
		if (strcmp(b->entries[k].provider, prov) == 0 && strcmp(b->entries[k].config, cfg) == 0)
			break;
	if (k == b->n) {
		if (b->n == *cap) {
			*cap = *cap ? *cap * 2 : 8;
			b->entries = dura_xrealloc(b->entries, *cap * sizeof *b->entries);
		}
		struct dura_baseline_entry *e = &b->entries[b->n++];
		memset(e, 0, sizeof *e);
		e->provider = dura_xstrdup(prov);
		e->config = dura_xstrdup(cfg);
		e->orch_values = dura_xcalloc(max_runs, sizeof *e->orch_values);
		p99_count[k] = 0;
	}
	struct dura_baseline_entry *e = &b->entries[k];
	if (isfinite(orch)) {
		e->orch_per_sec += orch;
		e->orch_values[e->runs++] = orch;
		if (isfinite(p99)) {
			e->p99_ms += p99;
			p99_count[k]++;
		}
	}
}

/* A figure: a number >= 0, or null (NaN).  Anything else (a string, a
 * negative throughput or latency) is an error: no run of ours writes it. */
static int figure(const json_t *v, double *out)
{
	if (!v || json_is_null(v)) {
		*out = NAN;
		return 0;
	}
	return dura_json_number_of(v, out) == 0 && *out >= 0 ? 0 : -1;
}

/* Reads one element of "runs" into b. */
static int read_run(const json_t *run, size_t i, int track, const char *name,
                    struct dura_baseline *b, size_t *cap, unsigned *p99_count, size_t max_runs,
                    char *err, size_t errlen)
{
	const char *prov = json_string_value(json_object_get(run, "provider"));
	const char *cfg = json_string_value(json_object_get(run, "config"));
	if (!prov || !cfg) {
		dura_errbuf(err, errlen, "%s: runs[%zu] lacks a \"provider\" or \"config\" string",
		            name, i);
		return -1;
	}
	double orch, p99;
	const json_t *p99v = track ? json_object_get(run, "latency_p99_ms")
	                           : json_object_get(json_object_get(run, "latency_ms"), "p99");
	if (figure(json_object_get(run, "orch_per_sec"), &orch) != 0 || figure(p99v, &p99) != 0) {
		dura_errbuf(err, errlen, "%s: runs[%zu] (%s %s): \"orch_per_sec\" or p99 latency "
		            "is not a number >= 0", name, i, prov, cfg);
		return -1;
	}
	if (json_is_false(json_object_get(run, "ran")) ||
	    json_is_true(json_object_get(run, "interrupted")))
		orch = NAN; /* a run that did not run, or was cut short, is no baseline */
	add_run(b, cap, prov, cfg, orch, p99, p99_count, max_runs);
	return 0;
}

/* Reads the "runs" array of a report (track = 0) or track entry (track = 1). */
static int read_runs(const json_t *root, int track, const char *name,
                     struct dura_baseline *b, char *err, size_t errlen)
{
	const json_t *runs = json_object_get(root, "runs");
	if (!json_is_array(runs)) {
		dura_errbuf(err, errlen, "%s: no \"runs\" array: not a durabench report", name);
		return -1;
	}
	size_t n = json_array_size(runs), cap = 0;
	/* p99 averages count only runs that have a p99 */
	unsigned *p99_count = dura_xcalloc(n ? n : 1, sizeof *p99_count);
	for (size_t i = 0; i < n; i++) {
		if (read_run(json_array_get(runs, i), i, track, name, b, &cap, p99_count, n, err,
		             errlen) != 0) {
			free(p99_count);
			return -1;
		}
	}
	for (size_t k = 0; k < b->n; k++) {
		struct dura_baseline_entry *e = &b->entries[k];
		e->p99_ms = p99_count[k] ? e->p99_ms / p99_count[k] : NAN;
		e->orch_per_sec = e->runs ? e->orch_per_sec / e->runs : NAN;
	}
	free(p99_count);
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? dura_xstrdup(s) : NULL;
}

/* Fills b from a parsed document.  entry_line > 0: a track entry. */
static int from_document(const json_t *root, size_t entry_line, const char *name,
                         struct dura_baseline *b, char *err, size_t errlen)
{
	if (!json_is_object(root)) {
		dura_errbuf(err, errlen, "%s: not a durabench report (top level is not an object)", name);
		return -1;
	}
	/* reports written before the "format" key have none */
	const char *format = json_string_value(json_object_get(root, "format"));
	int report = format ? strcmp(format, DURA_REPORT_FORMAT) == 0
	                    : json_object_get(root, "durabench") != NULL;
	int track = format && strcmp(format, DURA_TRACK_FORMAT) == 0;
	if (format && !track && !report) {
		dura_errbuf(err, errlen, "%s: unsupported format \"%s\" (expected \"%s\" or \"%s\")",
		            name, format, DURA_TRACK_FORMAT, DURA_REPORT_FORMAT);
		return -1;
	}
	if (entry_line > 0 && !track) {
		dura_errbuf(err, errlen, "%s: line %zu is not a --track entry (no \"format\": \"%s\")",
		            name, entry_line, DURA_TRACK_FORMAT);
		return -1;
	}
	if (!track && !report) {
		dura_errbuf(err, errlen, "%s: not a durabench --json report or --track history", name);
		return -1;
	}
	if (read_runs(root, track, name, b, err, errlen) != 0)
		return -1;
	if (track) {
		b->source = dura_xasprintf("track history, last valid entry (line %zu)",
		                           entry_line ? entry_line : 1);
		b->date = dup_or_null(json_string_value(json_object_get(root, "date")));
		b->commit = dup_or_null(json_string_value(json_object_get(root, "commit")));
	} else {
		const json_t *env = json_object_get(root, "environment");
		b->source = dura_xstrdup("JSON report");
		b->date = dup_or_null(json_string_value(json_object_get(env, "date")));
		b->commit = dup_or_null(json_string_value(json_object_get(env, "commit")));
	}
	return 0;
}

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* JSON Lines: the newest entry is the last non-blank line that is a valid
 * --track entry; damaged lines after it (a write cut short by a full disk
 * or a kill) are skipped with a warning in b->warning.  Lines before it are
 * not read.  On error, err names the last line and what is wrong with it. */
static int from_lines(const char *text, size_t len, const char *name, const char *whole_err,
                      struct dura_baseline *b, char *err, size_t errlen)
{
	size_t end = len, skipped = 0, last_line = 0;
	size_t newlines = 0; /* in text[0..end): the line number, walking back */
	for (size_t k = 0; k < len; k++)
		newlines += text[k] == '\n';
	char first_err[256] = "";
	while (end > 0) {
		while (end > 0 && blank(text[end - 1]))
			newlines -= text[--end] == '\n';
		if (end == 0)
			break;
		size_t start = end;
		while (start > 0 && text[start - 1] != '\n')
			start--;
		size_t line = newlines + 1;
		json_t *root = NULL;
		char lerr[256];
		if (dura_json_parse(text + start, end - start, &root, lerr, sizeof lerr) == 0 &&
		    !json_string_value(json_object_get(root, "format"))) {
			/* a truncated pretty report can end in a line that is valid
			 * JSON on its own ("3.40.1",): it is still no history */
			dura_errbuf(lerr, sizeof lerr, "not a --track entry");
			json_decref(root);
			root = NULL;
		}
		if (root) {
			int rc = from_document(root, line, name, b, err, errlen);
			json_decref(root);
			if (rc == 0 && skipped)
				b->warning = dura_xasprintf("%s: the last %zu line(s) after line %zu are "
				                            "damaged (line %zu: %s); using line %zu",
				                            name, skipped, line, last_line, first_err, line);
			return rc;
		}
		if (!skipped) {
			last_line = line;
			snprintf(first_err, sizeof first_err, "%s", lerr);
		}
		skipped++;
		if (start == 0)
			break;
		end = start - 1;
		newlines--;
	}
	if (last_line == 1)
		dura_errbuf(err, errlen, "%s: not valid JSON: %s", name, whole_err);
	else
		dura_errbuf(err, errlen, "%s: neither a JSON report (%s) nor a --track history "
		            "(last entry, line %zu: %s)", name, whole_err, last_line, first_err);
	return -1;
}

int dura_baseline_parse(const char *text, size_t len, const char *name,
                        struct dura_baseline *b, char *err, size_t errlen)
{
	memset(b, 0, sizeof *b);
	size_t i = 0;
	while (i < len && blank(text[i]))
		i++;
	if (i == len) {
		dura_errbuf(err, errlen, "%s: empty file", name);
		return -1;
	}
	json_t *root = NULL;
	char perr[256];
	int rc;
	if (dura_json_parse(text, len, &root, perr, sizeof perr) == 0) {
		/* one JSON document: a report, or a history of a single entry */
		rc = from_document(root, 0, name, b, err, errlen);
		json_decref(root);
	} else {
		rc = from_lines(text, len, name, perr, b, err, errlen);
	}
	if (rc != 0)
		dura_baseline_free(b);
	return rc;
}

int dura_baseline_load(const char *path, struct dura_baseline *b, char *err, size_t errlen)
{
	memset(b, 0, sizeof *b);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		dura_errbuf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		dura_errbuf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > DURA_BASELINE_MAX_BYTES) {
		dura_errbuf(err, errlen, "%s: larger than %zu MiB: not a durabench report", path,
		            DURA_BASELINE_MAX_BYTES >> 20);
		close(fd);
		return -1;
	}
	/* read to EOF (the size may change under us; never beyond the limit) */
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *text = dura_xmalloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap > DURA_BASELINE_MAX_BYTES) {
				dura_errbuf(err, errlen, "%s: grew beyond %zu MiB while reading", path,
				            DURA_BASELINE_MAX_BYTES >> 20);
				free(text);
				close(fd);
				return -1;
			}
			cap *= 2;
			text = dura_xrealloc(text, cap);
		}
		ssize_t r = read(fd, text + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			dura_errbuf(err, errlen, "%s: %s", path, strerror(errno));
			free(text);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	int rc = dura_baseline_parse(text, len, path, b, err, errlen);
	free(text);
	return rc;
}

static const struct dura_baseline_entry *find_entry(const struct dura_baseline *b,
                                                    const char *prov, const char *cfg)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->entries[i].provider, prov) == 0 && strcmp(b->entries[i].config, cfg) == 0)
			return &b->entries[i];
	return NULL;
}

static double change_pct(double cur, double base)
{
	return base > 0 && isfinite(cur) ? (cur / base - 1.0) * 100.0 : NAN;
}

size_t dura_baseline_compare(const struct dura_report *r, const struct dura_baseline *b,
                             const struct dura_gate *g, struct dura_baseline_row **rows)
{
	size_t n = 0;
	*rows = dura_xcalloc(r->n_runs ? r->n_runs : 1, sizeof **rows);
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		if (!run->provider)
			continue;
		char cfg[32];
		dura_report_config_string(cfg, sizeof cfg, run->orch_workers, run->activity_workers);
		size_t k;
		for (k = 0; k < n; k++)
			if (strcmp((*rows)[k].provider, run->provider) == 0 &&
			    strcmp((*rows)[k].config, cfg) == 0)
				break;
		if (k < n)
			continue; /* pair already done */
		const struct dura_baseline_entry *e = find_entry(b, run->provider, cfg);
		if (!e || !isfinite(e->orch_per_sec))
			continue;
		double p99 = 0;
		double *orch = dura_xcalloc(r->n_runs, sizeof *orch);
		unsigned n_orch = 0, n_p99 = 0;
		for (size_t j = i; j < r->n_runs; j++) {
			const struct dura_report_run *o = &r->runs[j];
			if (!o->ran || !o->provider || strcmp(o->provider, run->provider) != 0 ||
			    o->orch_workers != run->orch_workers ||
			    o->activity_workers != run->activity_workers)
				continue;
			orch[n_orch++] = o->result.orch_per_sec;
			if (o->result.latency.count > 0) {
				p99 += o->result.latency.p99_ms;
				n_p99++;
			}
		}
		if (n_orch == 0) {
			free(orch);
			continue; /* nothing measured: the run already failed the command */
		}
		struct dura_baseline_row *w = &(*rows)[n++];
		w->provider = run->provider;
		snprintf(w->config, sizeof w->config, "%s", cfg);
		w->base_orch = e->orch_per_sec;
		w->cur_orch = 0;
		for (unsigned k2 = 0; k2 < n_orch; k2++)
			w->cur_orch += orch[k2] / n_orch;
		w->base_runs = e->runs;
		w->cur_runs = n_orch;
		dura_stats_ratio_ci(orch, n_orch, e->orch_values, e->runs, w->ratio_ci);
		free(orch);
		w->orch_change_pct = change_pct(w->cur_orch, w->base_orch);
		w->base_p99 = e->p99_ms;
		w->cur_p99 = n_p99 ? p99 / n_p99 : NAN;
		w->p99_change_pct = change_pct(w->cur_p99, w->base_p99);
		int dropped = w->cur_orch < w->base_orch * (1.0 - g->max_drop_pct / 100.0);
		w->within_noise = dropped && isfinite(w->ratio_ci[1]) && w->ratio_ci[1] >= 1.0;
		w->throughput_regressed = dropped && !w->within_noise;
		w->latency_regressed = g->max_latency_rise_pct >= 0 && isfinite(w->cur_p99) &&
		                       isfinite(w->base_p99) && w->base_p99 > 0 &&
		                       w->cur_p99 > w->base_p99 * (1.0 + g->max_latency_rise_pct / 100.0);
	}
	return n;
}


void dura_baseline_markdown(FILE *f, const struct dura_report *r, const char *path,
                            const struct dura_baseline *b, const struct dura_gate *g,
                            const struct dura_baseline_row *rows, size_t n)
{
	int lat = g->max_latency_rise_pct >= 0;
	fprintf(f, "\n### Baseline comparison\n\nBaseline: ");
	dura_report_md_cell(f, path);
	fprintf(f, " (");
	dura_report_md_cell(f, b->source);
	if (b->date) {
		fputs(", ", f);
		dura_report_md_cell(f, b->date);
	}
	if (b->commit) {
		fputs(", commit ", f);
		dura_report_md_cell(f, b->commit);
	}
	fprintf(f, "). Gate: throughput may drop at most %g %%", g->max_drop_pct);
	if (lat)
		fprintf(f, ", p99 latency may rise at most %g %%", g->max_latency_rise_pct);
	fprintf(f, ".\n\n| Provider | Config | Baseline orch/s | Current orch/s | Change %% "
	           "| Ratio 95 %% CI |%s Result |\n",
	        lat ? " Baseline p99 | Current p99 | p99 change % |" : "");
	fprintf(f, "|---|---|---:|---:|---:|---:|%s---|\n", lat ? "---:|---:|---:|" : "");
	for (size_t i = 0; i < n; i++) {
		const struct dura_baseline_row *w = &rows[i];
		char bo[32], co[32], ch[32], ci[64];
		dura_report_fmt_interval(ci, sizeof ci, w->ratio_ci);
		dura_report_fmt_number(bo, sizeof bo, w->base_orch, 1, 0, "");
		dura_report_fmt_number(co, sizeof co, w->cur_orch, 1, 0, "");
		dura_report_fmt_number(ch, sizeof ch, w->orch_change_pct, 1, 1, " %");
		fputs("| ", f);
		dura_report_md_cell(f, w->provider);
		fprintf(f, " | %s | %s | %s | %s | %s |", w->config, bo, co, ch, ci);
		if (lat) {
			char bp[32], cp[32], pc[32];
			dura_report_fmt_number(bp, sizeof bp, w->base_p99, 2, 0, " ms");
			dura_report_fmt_number(cp, sizeof cp, w->cur_p99, 2, 0, " ms");
			dura_report_fmt_number(pc, sizeof pc, w->p99_change_pct, 1, 1, " %");
			fprintf(f, " %s | %s | %s |", bp, cp, pc);
		}
		const char *result = w->throughput_regressed && w->latency_regressed
		                             ? "REGRESSION (throughput, p99)"
		                     : w->throughput_regressed ? "REGRESSION (throughput)"
		                     : w->latency_regressed    ? "REGRESSION (p99)"
		                     : w->within_noise ? "ok (drop within noise)"
		                                       : "ok";
		fprintf(f, " %s |\n", result);
	}
	if (n == 0)
		fprintf(f, "| (no run in common) | | | | | |%s |\n", lat ? " | | |" : "");
	/* Say what was not gated, so a shrinking overlap does not go unnoticed. */
	int header = 0;
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		if (!run->provider || run->repeat_index != 0)
			continue;
		char cfg[32];
		dura_report_config_string(cfg, sizeof cfg, run->orch_workers, run->activity_workers);
		int compared = 0;
		for (size_t k = 0; k < n && !compared; k++)
			compared = strcmp(rows[k].provider, run->provider) == 0 &&
			           strcmp(rows[k].config, cfg) == 0;
		if (compared)
			continue;
		fputs(header ? ", " : "\nNot compared (not in the baseline or no figure): ", f);
		header = 1;
		dura_report_md_cell(f, run->provider);
		fprintf(f, " %s", cfg);
	}
	if (header)
		fputs("\n", f);
}

int dura_parse_percent(const char *s, double max, double *out, char *err, size_t errlen)
{
	/* strtod alone would accept " 1", "inf", "nan", "0x10", "1e2": require a
	 * plain decimal (digits and one optional point) */
	size_t digits = s ? strspn(s, "0123456789.") : 0;
	if (!s || digits == 0 || memchr(s, '.', digits) != memrchr(s, '.', digits)) {
		dura_errbuf(err, errlen, "'%s' is not a percentage (e.g. 20 or 20%%)", s ? s : "");
		return -1;
	}
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end != s + digits || errno == ERANGE) {
		dura_errbuf(err, errlen, "'%s' is not a percentage (e.g. 20 or 20%%)", s);
		return -1;
	}
	while (*end == ' ')
		end++;
	if (*end == '%')
		end++;
	if (*end != '\0' || !isfinite(v)) {
		dura_errbuf(err, errlen, "'%s' is not a percentage (e.g. 20 or 20%%)", s);
		return -1;
	}
	if (v < 0 || (max >= 0 && v > max)) {
		dura_errbuf(err, errlen, "%s is out of range (0 to %g)", s, max);
		return -1;
	}
	*out = v;
	return 0;
}
