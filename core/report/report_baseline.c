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

#include "base/json_reader.h"
#include "base/util.h"

#define TRACK_FORMAT "durabench-track/1"

void dura_baseline_free(struct dura_baseline *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->entries[i].provider);
		free(b->entries[i].config);
	}
	free(b->entries);
	free(b->source);
	free(b->date);
	free(b->commit);
	memset(b, 0, sizeof *b);
}

/* Sums a run into the entry of its pair (averaged later). */
static void add_run(struct dura_baseline *b, size_t *cap, const char *prov, const char *cfg,
                    double orch, double p99, unsigned *p99_count)
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
		p99_count[k] = 0;
	}
	struct dura_baseline_entry *e = &b->entries[k];
	if (isfinite(orch)) {
		e->orch_per_sec += orch;
		e->runs++;
		if (isfinite(p99)) {
			e->p99_ms += p99;
			p99_count[k]++;
		}
	}
}

/* A number or null (NaN); anything else is an error. */
static int number_or_null(const struct dura_jval *v, double *out)
{
	if (!v || v->type == DURA_JNULL) {
		*out = NAN;
		return 0;
	}
	return dura_jval_number(v, out);
}

/* Reads the "runs" array of a report (track = 0) or track entry (track = 1). */
static int read_runs(const struct dura_jval *root, int track, const char *name,
                     struct dura_baseline *b, char *err, size_t errlen)
{
	const struct dura_jval *runs = dura_jval_get(root, "runs");
	if (!runs || runs->type != DURA_JARRAY) {
		dura_errbuf(err, errlen, "%s: no \"runs\" array: not a durabench report", name);
		return -1;
	}
	size_t n = dura_jval_count(runs), cap = 0;
	/* p99 averages count only runs that have a p99 */
	unsigned *p99_count = dura_xcalloc(n ? n : 1, sizeof *p99_count);
	for (size_t i = 0; i < n; i++) {
		const struct dura_jval *run = dura_jval_at(runs, i);
		const char *prov = dura_jval_string(dura_jval_get(run, "provider"));
		const char *cfg = dura_jval_string(dura_jval_get(run, "config"));
		if (!prov || !cfg) {
			dura_errbuf(err, errlen, "%s: runs[%zu] lacks a \"provider\" or \"config\" string",
			            name, i);
			free(p99_count);
			return -1;
		}
		const struct dura_jval *ran = dura_jval_get(run, "ran");
		double orch, p99;
		const struct dura_jval *p99v = track ? dura_jval_get(run, "latency_p99_ms")
		                                     : dura_jval_get(dura_jval_get(run, "latency_ms"), "p99");
		if (number_or_null(dura_jval_get(run, "orch_per_sec"), &orch) != 0 ||
		    number_or_null(p99v, &p99) != 0) {
			dura_errbuf(err, errlen, "%s: runs[%zu] (%s %s): \"orch_per_sec\" or p99 latency "
			            "is not a number", name, i, prov, cfg);
			free(p99_count);
			return -1;
		}
		const struct dura_jval *cut = dura_jval_get(run, "interrupted");
		if ((ran && ran->type == DURA_JBOOL && !ran->u.boolean) ||
		    (cut && cut->type == DURA_JBOOL && cut->u.boolean))
			orch = NAN; /* a run that did not run, or was cut short, is no baseline */
		add_run(b, &cap, prov, cfg, orch, p99, p99_count);
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
static int from_document(const struct dura_jval *root, size_t entry_line, const char *name,
                         struct dura_baseline *b, char *err, size_t errlen)
{
	if (root->type != DURA_JOBJECT) {
		dura_errbuf(err, errlen, "%s: not a durabench report (top level is not an object)", name);
		return -1;
	}
	const char *format = dura_jval_string(dura_jval_get(root, "format"));
	int track = format != NULL;
	if (track && strcmp(format, TRACK_FORMAT) != 0) {
		dura_errbuf(err, errlen, "%s: unsupported history format \"%s\" (expected \"%s\")",
		            name, format, TRACK_FORMAT);
		return -1;
	}
	if (entry_line > 0 && !track) {
		dura_errbuf(err, errlen, "%s: line %zu is not a --track entry (no \"format\": \"%s\")",
		            name, entry_line, TRACK_FORMAT);
		return -1;
	}
	if (!track && !dura_jval_get(root, "durabench")) {
		dura_errbuf(err, errlen, "%s: not a durabench --json report or --track history", name);
		return -1;
	}
	if (read_runs(root, track, name, b, err, errlen) != 0)
		return -1;
	if (track) {
		b->source = dura_xasprintf("track history, last entry (line %zu)",
		                           entry_line ? entry_line : 1);
		b->date = dup_or_null(dura_jval_string(dura_jval_get(root, "date")));
		b->commit = dup_or_null(dura_jval_string(dura_jval_get(root, "commit")));
	} else {
		const struct dura_jval *env = dura_jval_get(root, "environment");
		b->source = dura_xstrdup("JSON report");
		b->date = dup_or_null(dura_jval_string(dura_jval_get(env, "date")));
		b->commit = dup_or_null(dura_jval_string(dura_jval_get(env, "commit")));
	}
	return 0;
}

int dura_baseline_parse(const char *text, size_t len, const char *name,
                        struct dura_baseline *b, char *err, size_t errlen)
{
	memset(b, 0, sizeof *b);
	size_t i = 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	if (i == len) {
		dura_errbuf(err, errlen, "%s: empty file", name);
		return -1;
	}
	struct dura_jval *root = NULL;
	char perr[256], lerr[256];
	int rc;
	if (dura_jval_parse(text, len, NULL, &root, perr, sizeof perr) == 0) {
		/* one JSON document: a report, or a history of a single entry */
		rc = from_document(root, 0, name, b, err, errlen);
	} else {
		/* JSON Lines: the last non-blank line is the newest entry */
		size_t end = len;
		while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' ||
		                   text[end - 1] == ' ' || text[end - 1] == '\t'))
			end--;
		size_t start = end;
		while (start > 0 && text[start - 1] != '\n')
			start--;
		size_t line = 1;
		for (size_t k = 0; k < start; k++)
			line += text[k] == '\n';
		if (start == 0) {
			/* a single line (or pretty JSON) that does not parse */
			dura_errbuf(err, errlen, "%s: not valid JSON: %s", name, perr);
			return -1;
		}
		if (dura_jval_parse(text + start, end - start, NULL, &root, lerr, sizeof lerr) != 0 ||
		    !dura_jval_string(dura_jval_get(root, "format"))) {
			/* a truncated pretty report can end in a line that is valid
			 * JSON on its own ("3.40.1",): it is still no history */
			if (root)
				dura_errbuf(lerr, sizeof lerr, "not a --track entry");
			dura_errbuf(err, errlen, "%s: neither a JSON report (%s) nor a --track history "
			            "(last entry, line %zu: %s)", name, perr, line, lerr);
			dura_jval_free(root);
			return -1;
		}
		rc = from_document(root, line, name, b, err, errlen);
	}
	dura_jval_free(root);
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
		double orch = 0, p99 = 0;
		unsigned n_orch = 0, n_p99 = 0;
		for (size_t j = i; j < r->n_runs; j++) {
			const struct dura_report_run *o = &r->runs[j];
			if (!o->ran || !o->provider || strcmp(o->provider, run->provider) != 0 ||
			    o->orch_workers != run->orch_workers ||
			    o->activity_workers != run->activity_workers)
				continue;
			orch += o->result.orch_per_sec;
			n_orch++;
			if (o->result.latency.count > 0) {
				p99 += o->result.latency.p99_ms;
				n_p99++;
			}
		}
		if (n_orch == 0)
			continue; /* nothing measured: the run already failed the command */
		struct dura_baseline_row *w = &(*rows)[n++];
		w->provider = run->provider;
		snprintf(w->config, sizeof w->config, "%s", cfg);
		w->base_orch = e->orch_per_sec;
		w->cur_orch = orch / n_orch;
		w->orch_change_pct = change_pct(w->cur_orch, w->base_orch);
		w->base_p99 = e->p99_ms;
		w->cur_p99 = n_p99 ? p99 / n_p99 : NAN;
		w->p99_change_pct = change_pct(w->cur_p99, w->base_p99);
		w->throughput_regressed = w->cur_orch < w->base_orch * (1.0 - g->max_drop_pct / 100.0);
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
	fprintf(f, ".\n\n| Provider | Config | Baseline orch/s | Current orch/s | Change %% |%s Result |\n",
	        lat ? " Baseline p99 | Current p99 | p99 change % |" : "");
	fprintf(f, "|---|---|---:|---:|---:|%s---|\n", lat ? "---:|---:|---:|" : "");
	for (size_t i = 0; i < n; i++) {
		const struct dura_baseline_row *w = &rows[i];
		char bo[32], co[32], ch[32];
		dura_report_fmt_number(bo, sizeof bo, w->base_orch, 1, 0, "");
		dura_report_fmt_number(co, sizeof co, w->cur_orch, 1, 0, "");
		dura_report_fmt_number(ch, sizeof ch, w->orch_change_pct, 1, 1, " %");
		fputs("| ", f);
		dura_report_md_cell(f, w->provider);
		fprintf(f, " | %s | %s | %s | %s |", w->config, bo, co, ch);
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
		                                               : "ok";
		fprintf(f, " %s |\n", result);
	}
	if (n == 0)
		fprintf(f, "| (no run in common) | | | | |%s |\n", lat ? " | | |" : "");
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
