/*
 * The prefill of a run's store: one template of a completed fan-out
 * instance (its history encoded by the codec, its metadata), written N
 * times by the provider's bulk operation and read back after the run.
 */
#include "config.h"

#include "prefill.h"

#include "base/util.h"
#include "engine/codec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#define ORCH "fanout"
#define ACTIVITY "fanout.work"
#define OUTPUT "fanout:prefilled"

/* A completed fan-out instance: its events (bodies in bytes) and
 * metadata.  Owned by the caller; free with template_free. */
struct template {
	struct dura_buf bytes;
	struct dura_event *events;
	size_t n;
	struct dura_instance_meta meta;
};

static void encode(struct template *t, size_t *offs, const struct dura_rec *r)
{
	offs[t->n] = t->bytes.len;
	dura_codec_encode(&t->bytes, r);
	t->events[t->n].event_id = t->n + 1;
	t->n++;
}

/* started, k scheduled, k completed, completed: the shape fanout_verify
 * expects of a finished instance. */
static void template_build(const struct dura_workload_def *def, struct template *t)
{
	unsigned k = def->tasks_per_instance;
	size_t cap = 2 * (size_t)k + 2;
	memset(t, 0, sizeof *t);
	t->events = dura_xcalloc(cap, sizeof *t->events);
	size_t *offs = dura_xcalloc(cap + 1, sizeof *offs);
	uint8_t input[8] = { 0 };
	encode(t, offs, &(struct dura_rec){ .kind = DURA_EV_EXECUTION_STARTED,
	                                    .name = dura_slice_str(ORCH),
	                                    .data = { input, sizeof input } });
	for (unsigned i = 0; i < k; i++)
		encode(t, offs, &(struct dura_rec){ .kind = DURA_EV_TASK_SCHEDULED,
		                                    .name = dura_slice_str(ACTIVITY),
		                                    .data = { input, sizeof input } });
	for (unsigned i = 0; i < k; i++)
		encode(t, offs, &(struct dura_rec){ .kind = DURA_EV_TASK_COMPLETED,
		                                    .id = 2 + (uint64_t)i,
		                                    .data = { input, sizeof input } });
	encode(t, offs, &(struct dura_rec){ .kind = DURA_EV_EXECUTION_COMPLETED,
	                                    .data = dura_slice_str(OUTPUT) });
	offs[t->n] = t->bytes.len;
	for (size_t i = 0; i < t->n; i++) /* the buffer has stopped moving */
		t->events[i].body = (struct dura_bytes){ t->bytes.data + offs[i], offs[i + 1] - offs[i] };
	free(offs);
	t->meta = (struct dura_instance_meta){ ORCH, DURA_STATUS_COMPLETED,
	                                       { (const uint8_t *)OUTPUT, sizeof OUTPUT - 1 },
	                                       NULL, 1 };
}

static double process_cpu_seconds(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void template_free(struct template *t)
{
	dura_buf_free(&t->bytes);
	free(t->events);
}

int dura_prefill_fill(const struct dura_provider_ops *ops, dura_store *store, uint64_t n,
                      const struct dura_workload_def *def, struct dura_prefill_result *out,
                      char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (n == 0)
		return 0;
	dura_prefill_fn *prefill = DURA_OPT_OP(ops, prefill);
	if (!prefill) {
		dura_errbuf(err, errlen, "plugin '%s' has no prefill operation (ABI 1.4)", ops->name);
		return -1;
	}
	struct template t;
	template_build(def, &t);
	struct dura_err perr = { .msg = "" };
	uint64_t t0 = dura_now_ns();
	double cpu0 = process_cpu_seconds();
	dura_rc rc = prefill(store, DURA_PREFILL_PREFIX, 0, n, &t.meta, t.events, t.n, &perr);
	out->seconds = (double)(dura_now_ns() - t0) / 1e9;
	out->cpu_seconds = process_cpu_seconds() - cpu0;
	template_free(&t);
	if (rc != DURA_OK) {
		dura_errbuf(err, errlen, "prefill of %" PRIu64 " instances: %s", n, perr.msg);
		return -1;
	}
	out->instances = n;
	/* A bulk load leaves the page cache full of dirty pages (a file store's,
	 * a local server's data files: 260-350 MB after 1,000,000 instances on
	 * the url = auto server, which runs without fsync).  The kernel would
	 * write them back during the measured run, charging the load's I/O to
	 * it; writing them out now keeps the run's figure its own.  Outside
	 * the prefill's timing. */
	sync();
	return 0;
}

/* Instance i (of the n prefilled) read back equal to the template. */
static int check_one(const struct dura_provider_ops *ops, dura_store *store, uint64_t i,
                     const struct template *t, char *err, size_t errlen)
{
	char id[64];
	snprintf(id, sizeof id, DURA_PREFILL_PREFIX "%" PRIu64, i);
	struct dura_err perr = { .msg = "" };
	struct dura_instance_meta *m = NULL;
	dura_rc rc = ops->instance_status(store, id, &m, &perr);
	int ok = rc == DURA_OK && m->status == DURA_STATUS_COMPLETED && m->execution == 1 &&
	         m->name && strcmp(m->name, ORCH) == 0 && m->output.len == t->meta.output.len &&
	         memcmp(m->output.data, t->meta.output.data, m->output.len) == 0;
	ops->release_instance_status(store, m);
	if (!ok) {
		dura_errbuf(err, errlen, "prefilled instance '%s': metadata %s", id,
		            rc == DURA_OK ? "differs" : rc == DURA_EMPTY ? "missing" : perr.msg);
		return -1;
	}
	struct dura_history *h = NULL;
	rc = ops->read_history(store, id, 1, &h, &perr);
	ok = rc == DURA_OK && h->n_events == t->n;
	for (size_t k = 0; ok && k < t->n; k++)
		ok = h->events[k].event_id == t->events[k].event_id &&
		     h->events[k].body.len == t->events[k].body.len &&
		     memcmp(h->events[k].body.data, t->events[k].body.data, t->events[k].body.len) == 0;
	ops->release_history(store, h);
	if (!ok) {
		dura_errbuf(err, errlen, "prefilled instance '%s': history %s", id,
		            rc == DURA_OK ? "differs" : perr.msg);
		return -1;
	}
	return 0;
}

int dura_prefill_verify(const struct dura_provider_ops *ops, dura_store *store, uint64_t n,
                        const struct dura_workload_def *def, struct dura_prefill_result *out,
                        char *err, size_t errlen)
{
	out->verified = 0;
	if (n == 0)
		return 0;
	struct template t;
	template_build(def, &t);
	uint64_t checks = n < DURA_PREFILL_VERIFY_MAX ? n : DURA_PREFILL_VERIFY_MAX;
	int rc = 0;
	for (uint64_t c = 0; c < checks && rc == 0; c++) {
		/* evenly spread, the first and the last included */
		uint64_t i = checks > 1 ? (uint64_t)((double)c * (double)(n - 1) / (double)(checks - 1)) : 0;
		rc = check_one(ops, store, i, &t, err, errlen);
		if (rc == 0)
			out->verified++;
	}
	template_free(&t);
	return rc;
}
