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

#include "base/json_writer.h"
#include "base/util.h"

static void write_entry(struct dura_json *j, const struct dura_report *r)
{
	char date[64];
	dura_report_date(r, DURA_DATE_ISO, date, sizeof date);
	dura_json_begin_object(j);
	dura_json_kv_string(j, "format", "durabench-track/1");
	dura_json_kv_string(j, "date", date[0] ? date : NULL);
	dura_json_kv_int(j, "started_at", r->started_at);
	dura_json_kv_string(j, "durabench", r->version);
	dura_json_kv_string(j, "commit", r->commit);
	dura_json_kv_string(j, "hostname", r->hostname);
	dura_json_kv_int(j, "cpus", r->cpus);
	dura_json_kv_string(j, "sqlite_version", r->sqlite_version);
	dura_report_json_write_scenario(j, r->scenario);
	dura_json_key(j, "providers");
	dura_json_begin_array(j);
	for (size_t i = 0; i < r->n_providers; i++)
		dura_report_json_write_provider(j, &r->providers[i], 0);
	dura_json_end_array(j);
	dura_json_key(j, "runs");
	dura_json_begin_array(j);
	for (size_t i = 0; i < r->n_runs; i++) {
		const struct dura_report_run *run = &r->runs[i];
		struct dura_report_figures v;
		dura_report_run_figures(run, &v);
		dura_report_json_begin_run(j, run);
		dura_json_kv_uint(j, "repeat", run->repeat_index);
		dura_json_kv_bool(j, "ran", run->ran);
		dura_json_kv_number(j, "orch_per_sec", v.orch_per_sec);
		dura_json_kv_number(j, "latency_p50_ms", v.p50_ms);
		dura_json_kv_number(j, "latency_p99_ms", v.p99_ms);
		dura_json_kv_number(j, "success_pct", v.success_pct);
		dura_json_kv_number(j, "bound_fraction", v.bound_fraction);
		dura_json_end_object(j);
	}
	dura_json_end_array(j);
	dura_json_end_object(j);
}

char *dura_report_track_line(const struct dura_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		fprintf(stderr, "durabench: out of memory\n");
		abort(); /* same policy as dura_xmalloc */
	}
	struct dura_json j;
	dura_json_init(&j, f, 0); /* compact: the writer emits no newline */
	write_entry(&j, r);
	if (fclose(f) != 0 || !buf) {
		fprintf(stderr, "durabench: out of memory\n");
		abort();
	}
	return buf;
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
	char *line = dura_report_track_line(r);
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
