/*
 * The notes of a scale-out run (see run_notes.h): the contract, the run
 * state and the workers' counters, as short "key=value" lines.
 */
#include "run_notes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

int dura_scaleout_supported(const struct dura_provider_ops *ops)
{
	return DURA_OPT_OP(ops, attach) && DURA_OPT_OP(ops, store_name) &&
	       DURA_OPT_OP(ops, start_instances) && DURA_OPT_OP(ops, take_completions) &&
	       DURA_OPT_OP(ops, release_completions) && DURA_OPT_OP(ops, put_note) &&
	       DURA_OPT_OP(ops, read_notes) && DURA_OPT_OP(ops, release_notes);
}

/* FNV-1a over the file's bytes: a digest to compare, not a security
 * measure (the store is trusted by every process that can reach it). */
static int file_digest(const char *path, uint64_t *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		dura_errbuf(err, errlen, "cannot read %s to digest it", path);
		return -1;
	}
	uint64_t h = UINT64_C(14695981039346656037);
	int c;
	while ((c = getc(f)) != EOF) {
		h ^= (uint64_t)(unsigned char)c;
		h *= UINT64_C(1099511628211);
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		dura_errbuf(err, errlen, "error reading %s", path);
		return -1;
	}
	*out = h;
	return 0;
}

int dura_contract_make(const struct dura_scenario *sc, const char *build, unsigned orch_workers,
                       unsigned activity_workers, char *buf, size_t len, char *err,
                       size_t errlen)
{
	uint64_t digest;
	if (file_digest(sc->path, &digest, err, errlen) != 0)
		return -1;
	const struct dura_workload_def *w = &sc->workload;
	snprintf(buf, len,
	         "scenario=%016" PRIx64 "\n"
	         "workload=%s max_concurrent=%u rate=%g tasks=%u activity_delay_us=%" PRIu64
	         " payload=%" PRIu64 " timers=%u timer_delay_us=%" PRIu64
	         " children=%u iterations=%u mix=%s\n"
	         "build=%s\n"
	         "config=%u:%u\n",
	         digest, w->scenario ? w->scenario : "fanout", w->max_concurrent, w->rate,
	         w->tasks_per_instance, w->activity_delay_us, w->payload_bytes, w->timers,
	         w->timer_delay_us, w->children, w->iterations, w->mix ? w->mix : "-", build,
	         orch_workers, activity_workers);
	return 0;
}

/* The value of line "key=..." in a contract, into out. */
static int field(const char *text, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			size_t v = n - kl - 1;
			if (v >= len)
				v = len - 1;
			memcpy(out, p + kl + 1, v);
			out[v] = '\0';
			return 0;
		}
		p = eol ? eol + 1 : NULL;
	}
	out[0] = '\0';
	return -1;
}

int dura_contract_check(const char *run, const char *mine, unsigned *orch_workers,
                        unsigned *activity_workers, char *err, size_t errlen)
{
	static const char *const what[][2] = {
		{ "scenario", "the scenario file differs (digest" },
		{ "workload", "the workload differs (" },
		{ "build", "the build differs (" },
	};
	for (size_t i = 0; i < sizeof what / sizeof what[0]; i++) {
		char a[512], b[512];
		field(run, what[i][0], a, sizeof a);
		field(mine, what[i][0], b, sizeof b);
		if (strcmp(a, b) != 0) {
			dura_errbuf(err, errlen, "%s run: %s, this worker: %s)", what[i][1],
			            a[0] ? a : "none", b);
			return -1;
		}
	}
	char cfg[64];
	if (field(run, "config", cfg, sizeof cfg) != 0 ||
	    sscanf(cfg, "%u:%u", orch_workers, activity_workers) != 2 || *orch_workers < 1 ||
	    *activity_workers < 1) {
		dura_errbuf(err, errlen, "the run's contract names no O:W config ('%s')", cfg);
		return -1;
	}
	return 0;
}

int dura_note_put(const struct dura_provider_ops *ops, dura_store *store, const char *key,
                  const char *text, char *err, size_t errlen)
{
	dura_put_note_fn *put = DURA_OPT_OP(ops, put_note);
	struct dura_err e = { .msg = "" };
	struct dura_bytes v = { (const uint8_t *)text, strlen(text) };
	if (!put || put(store, key, v, &e) != DURA_OK) {
		dura_errbuf(err, errlen, "writing note %s: %s", key,
		            put ? e.msg : "the plugin has no put_note");
		return -1;
	}
	return 0;
}

int dura_note_get(const struct dura_provider_ops *ops, dura_store *store, const char *key,
                  char *buf, size_t len, char *err, size_t errlen)
{
	dura_read_notes_fn *read = DURA_OPT_OP(ops, read_notes);
	dura_release_notes_fn *release = DURA_OPT_OP(ops, release_notes);
	struct dura_err e = { .msg = "" };
	struct dura_notes *notes = NULL;
	if (!read || !release || read(store, key, &notes, &e) != DURA_OK) {
		dura_errbuf(err, errlen, "reading note %s: %s", key,
		            read ? e.msg : "the plugin has no read_notes");
		return -1;
	}
	int rc = 1;
	for (size_t i = 0; notes && i < notes->n; i++) {
		if (strcmp(notes->items[i].key, key) != 0)
			continue; /* a longer key with this prefix */
		size_t n = notes->items[i].value.len < len ? notes->items[i].value.len : len - 1;
		memcpy(buf, notes->items[i].value.data, n);
		buf[n] = '\0';
		rc = 0;
	}
	release(store, notes);
	return rc;
}

/* Every counter of a note: X(name in the note, field of the struct). */
#define COUNTS(X) \
	X(activities, activities) X(turns, turns) X(infra_errors, infra_errors) \
	X(round_trips, stats.round_trips) X(commits, stats.commits) \
	X(empty_fetches, stats.empty_fetches) X(lock_conflicts, stats.lock_conflicts) \
	X(retries, stats.retries) X(reconnects, stats.reconnects)

void dura_worker_counts_format(const struct dura_worker_counts *c, char *buf, size_t len)
{
	size_t o = 0;
#define FMT(name, v) \
	if (o < len) \
		o += (size_t)snprintf(buf + o, len - o, "%s=%" PRIu64 " ", #name, (uint64_t)c->v);
	COUNTS(FMT)
#undef FMT
	if (o < len)
		snprintf(buf + o, len - o, "done=%d", c->done);
}

/* Adds the counters of one note (unknown keys are skipped: a newer
 * worker may say more). */
static void counts_add(struct dura_worker_counts *sum, const char *text, size_t len)
{
	char tmp[1024];
	size_t n = len < sizeof tmp ? len : sizeof tmp - 1;
	memcpy(tmp, text, n);
	tmp[n] = '\0';
	struct dura_worker_counts one;
	memset(&one, 0, sizeof one);
	char *save = NULL;
	for (char *tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = '\0';
		uint64_t v = strtoull(eq + 1, NULL, 10);
#define PARSE(name, f) \
		if (strcmp(tok, #name) == 0) \
			one.f = v;
		COUNTS(PARSE)
#undef PARSE
		if (strcmp(tok, "done") == 0)
			one.done = v != 0;
	}
#define ADD(name, f) sum->f += one.f;
	COUNTS(ADD)
#undef ADD
	sum->done += one.done;
}

int dura_worker_counts_sum(const struct dura_provider_ops *ops, dura_store *store,
                           struct dura_worker_counts *sum, size_t *n_workers, char *err,
                           size_t errlen)
{
	memset(sum, 0, sizeof *sum);
	*n_workers = 0;
	dura_read_notes_fn *read = DURA_OPT_OP(ops, read_notes);
	dura_release_notes_fn *release = DURA_OPT_OP(ops, release_notes);
	struct dura_err e = { .msg = "" };
	struct dura_notes *notes = NULL;
	if (!read || !release || read(store, DURA_NOTE_WORKER_PREFIX, &notes, &e) != DURA_OK) {
		dura_errbuf(err, errlen, "reading the workers' notes: %s",
		            read ? e.msg : "the plugin has no read_notes");
		return -1;
	}
	for (size_t i = 0; notes && i < notes->n; i++)
		counts_add(sum, (const char *)notes->items[i].value.data, notes->items[i].value.len);
	*n_workers = notes ? notes->n : 0;
	release(store, notes);
	return 0;
}
