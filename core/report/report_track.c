/* `--track FILE`: the results history, JSON Lines (one compact JSON object
 * per invocation, newest last).  Each entry is self-describing ("format":
 * "durabench-track/1") so the baseline gate can tell a history from a
 * `--json` report.
 *
 * Concurrency: CI jobs on one runner may append to the same history at
 * once.  The entry is built in memory and written with a single write() on
 * an O_APPEND descriptor while holding an exclusive flock(): O_APPEND alone
 * makes each write land at the end, the lock additionally keeps a partial
 * write (signal, full disk) and our newline repair from interleaving with
 * another process's line. */
#include "config.h"

#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "base/mask.h"
#include "base/util.h"

static json_t *entry(const struct dura_report *r)
{
	char date[64];
	dura_report_date(r, DURA_DATE_ISO, date, sizeof date);
	json_t *o = dura_jobject();
	dura_jset(o, "format", dura_jstring(DURA_TRACK_FORMAT));
	dura_jset(o, "date", dura_jstring(date[0] ? date : NULL));
	dura_jset(o, "started_at", dura_jint(r->started_at));
	dura_jset(o, "durabench", dura_jstring(r->version));
	dura_jset(o, "commit", dura_jstring(r->commit));
	dura_jset(o, "hostname", dura_jstring(r->hostname));
	dura_jset(o, "cpus", dura_jint(r->cpus));
	dura_jset(o, "sqlite_version", dura_jstring(r->sqlite_version));
	dura_jset(o, "scenario", dura_report_json_scenario(r->scenario));
	json_t *providers = dura_jarray();
	for (size_t i = 0; i < r->n_providers; i++)
		dura_jpush(providers, dura_report_json_provider(&r->providers[i], 0));
	dura_jset(o, "providers", providers);
	json_t *runs = dura_jarray();
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		struct dura_report_figures v;
		dura_report_run_figures(run, &v);
		json_t *ro = dura_report_json_run_head(run);
		dura_jset(ro, "repeat", dura_juint(run->repeat_index));
		dura_jset(ro, "ran", dura_jbool(run->ran));
		dura_jset(ro, "orch_per_sec", dura_jnumber(v.orch_per_sec));
		dura_jset(ro, "latency_p50_ms", dura_jnumber(v.p50_ms));
		dura_jset(ro, "latency_p99_ms", dura_jnumber(v.p99_ms));
		dura_jset(ro, "success_pct", dura_jnumber(v.success_pct));
		dura_jset(ro, "bound_fraction", dura_jnumber(v.bound_fraction));
		dura_jpush(runs, ro);
	}
	dura_jset(o, "runs", runs);
	return o;
}

char *dura_report_track_line(const struct dura_report *r)
{
	json_t *doc = entry(r);
	char *line = dura_json_text(doc, 0); /* compact: one line, no newline */
	json_decref(doc);
	return line;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* 1 when the regular file fd is non-empty and does not end in '\n'. */
static int lacks_final_newline(int fd)
{
	struct stat st;
	char last;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return 0;
	return pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n';
}

int dura_report_track(const struct dura_report *r, const char *path, char *err, size_t errlen)
{
	char *entry = dura_report_track_line(r);
	char *line = dura_text_mask(entry); /* the history file is output too */
	free(entry);
	size_t n = strlen(line);
	/* one buffer: optional repair newline + entry + newline */
	char *out = dura_xmalloc(n + 3);
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		dura_errbuf(err, errlen, "%s: %s", path, strerror(errno));
		free(line);
		free(out);
		return -1;
	}
	/* flock can be unsupported (some network file systems): O_APPEND still
	 * keeps single writes whole, so carry on without the lock. */
	int locked;
	while ((locked = flock(fd, LOCK_EX) == 0) == 0 && errno == EINTR)
		;
	size_t k = 0;
	if (lacks_final_newline(fd))
		out[k++] = '\n'; /* an earlier entry was cut short: keep ours on its own line */
	memcpy(out + k, line, n);
	k += n;
	out[k++] = '\n';
	int rc = write_all(fd, out, k);
	int saved = errno;
	if (locked)
		flock(fd, LOCK_UN);
	if (close(fd) != 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc != 0)
		dura_errbuf(err, errlen, "%s: append failed: %s", path, strerror(saved));
	free(line);
	free(out);
	return rc;
}
