/* Helpers shared by the workloads: encoding, the work activity, the fan-out
 * step and verification against storage (see workload_kinds.h). */
#include "config.h"

#include "workload_kinds.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t dura_wl_mix64(uint64_t x)
{
	/* splitmix64 finaliser: cheap, well mixed, deterministic */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void dura_wl_put_u64(struct dura_buf *b, uint64_t v)
{
	uint8_t x[8];
	for (int i = 0; i < 8; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	dura_buf_append(b, x, sizeof x);
}

void dura_wl_put_u32(struct dura_buf *b, uint32_t v)
{
	uint8_t x[4];
	for (int i = 0; i < 4; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	dura_buf_append(b, x, sizeof x);
}

int dura_wl_get_u64(const uint8_t **p, size_t *len, uint64_t *v)
{
	if (*len < 8)
		return -1;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v |= (uint64_t)(*p)[i] << (8 * i);
	*p += 8;
	*len -= 8;
	return 0;
}

int dura_wl_get_u32(const uint8_t **p, size_t *len, uint32_t *v)
{
	if (*len < 4)
		return -1;
	*v = 0;
	for (int i = 0; i < 4; i++)
		*v |= (uint32_t)(*p)[i] << (8 * i);
	*p += 4;
	*len -= 4;
	return 0;
}

void dura_wl_sleep_us(uint64_t us)
{
	if (us == 0)
		return;
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000u),
	                       .tv_nsec = (long)(us % 1000000u) * 1000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static uint64_t work_seed(uint64_t seq, uint32_t salt, uint32_t idx)
{
	return dura_wl_mix64(dura_wl_mix64(seq) + (uint64_t)salt * 0x100000001b3ull +
	                     (uint64_t)idx * 0xc2b2ae3d27d4eb4full);
}

/* Deterministic payload bytes for one activity call. */
static void append_payload(struct dura_buf *b, uint64_t seed, size_t n, uint8_t flip)
{
	dura_buf_reserve(b, n);
	uint8_t *p = b->data + b->len;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = dura_wl_mix64(seed + i);
		for (size_t k = 0; k < 8 && i + k < n; k++)
			p[i + k] = (uint8_t)(r >> (8 * k)) ^ flip;
	}
	b->len += n;
}

void dura_wl_work_input(struct dura_buf *in, uint64_t seq, uint32_t salt, uint32_t idx,
                        size_t payload)
{
	dura_buf_reset(in);
	dura_wl_put_u64(in, seq);
	dura_wl_put_u32(in, salt);
	dura_wl_put_u32(in, idx);
	append_payload(in, work_seed(seq, salt, idx), payload, 0);
}

void dura_wl_work_result(struct dura_buf *out, uint64_t seq, uint32_t salt, uint32_t idx,
                         size_t payload)
{
	uint64_t seed = work_seed(seq, salt, idx);
	dura_buf_reset(out);
	dura_wl_put_u64(out, dura_wl_mix64(seed ^ 0x5bd1e995u));
	append_payload(out, seed, payload, 0xa5);
}

int dura_wl_work_result_ok(const uint8_t *data, size_t len, uint64_t seq, uint32_t salt,
                           uint32_t idx, size_t payload)
{
	struct dura_buf want = { 0 };
	dura_wl_work_result(&want, seq, salt, idx, payload);
	int ok = len == want.len && (len == 0 || memcmp(data, want.data, len) == 0);
	dura_buf_free(&want);
	return ok;
}

int dura_wl_work_activity(const uint8_t *input, size_t len, struct dura_buf *out, void *user)
{
	struct dura_wl_env *env = user;
	const uint8_t *p = input;
	uint64_t seq;
	uint32_t salt, idx;
	if (dura_wl_get_u64(&p, &len, &seq) || dura_wl_get_u32(&p, &len, &salt) ||
	    dura_wl_get_u32(&p, &len, &idx)) {
		dura_buf_printf(out, "work activity: truncated input");
		return 1;
	}
	dura_wl_sleep_us(env->def.activity_delay_us);
	uint64_t seed = work_seed(seq, salt, idx);
	dura_wl_put_u64(out, dura_wl_mix64(seed ^ 0x5bd1e995u));
	/* echo the payload flipped: the orchestration compares it with what it
	 * sent, so a corrupted byte in either direction is caught */
	dura_buf_reserve(out, len);
	for (size_t i = 0; i < len; i++)
		out->data[out->len + i] = p[i] ^ 0xa5;
	out->len += len;
	atomic_fetch_add_explicit(&env->activities, 1, memory_order_relaxed);
	return 0;
}

uint64_t dura_wl_fanout_digest(uint64_t seq, uint32_t salt, unsigned n)
{
	uint64_t d = dura_wl_mix64(seq * 31u + salt);
	for (unsigned i = 0; i < n; i++)
		d = dura_wl_mix64(d ^ dura_wl_mix64(work_seed(seq, salt, i) ^ 0x5bd1e995u));
	return d;
}

enum dura_wl_step dura_wl_fanout_step(dura_orch_ctx *ctx, const char *activity, uint64_t seq,
                                      uint32_t salt, unsigned n, size_t payload,
                                      uint64_t *digest, char *why, size_t whylen)
{
	enum dura_wl_step step = DURA_WL_DONE;
	struct dura_buf b = { 0 };
	dura_task *t = dura_xcalloc(n ? n : 1, sizeof *t);
	for (unsigned i = 0; i < n; i++) {
		dura_wl_work_input(&b, seq, salt, i, payload);
		t[i] = dura_call_activity(ctx, activity, b.data, b.len);
		if (t[i] < 0) {
			dura_errbuf(why, whylen, "scheduling activity %s #%u failed", activity, i);
			step = DURA_WL_FAILED;
			goto out;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		enum dura_task_state st = dura_task_state(ctx, t[i]);
		if (st == DURA_TASK_PENDING) {
			step = DURA_WL_PENDING;
		} else if (st == DURA_TASK_FAILED) {
			const uint8_t *d = NULL;
			size_t l = 0;
			dura_task_result(ctx, t[i], &d, &l);
			dura_errbuf(why, whylen, "activity %s #%u failed: %.*s", activity, i,
			            (int)(l > 200 ? 200 : l), d ? (const char *)d : "");
			step = DURA_WL_FAILED;
			goto out;
		}
	}
	if (step == DURA_WL_PENDING)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *d = NULL;
		size_t l = 0;
		if (dura_task_result(ctx, t[i], &d, &l) != 0 ||
		    !dura_wl_work_result_ok(d, l, seq, salt, i, payload)) {
			dura_errbuf(why, whylen, "activity %s #%u returned a wrong result (%zu bytes)",
			            activity, i, l);
			step = DURA_WL_FAILED;
			goto out;
		}
	}
	*digest = dura_wl_fanout_digest(seq, salt, n);
out:
	free(t);
	dura_buf_free(&b);
	return step;
}

int dura_wl_fanout_await(dura_orch_ctx *ctx, const char *activity, uint64_t seq, uint32_t salt,
                         unsigned n, size_t payload, uint64_t *digest, enum dura_orch_rc *rc)
{
	char why[300];
	switch (dura_wl_fanout_step(ctx, activity, seq, salt, n, payload, digest, why,
	                            sizeof why)) {
	case DURA_WL_PENDING:
		*rc = DURA_ORCH_PENDING;
		return 0;
	case DURA_WL_FAILED:
		*rc = dura_fail(ctx, why);
		return 0;
	case DURA_WL_DONE:
		break;
	}
	return 1;
}

enum dura_orch_rc dura_wl_complete_buf(dura_orch_ctx *ctx, struct dura_buf *out)
{
	enum dura_orch_rc rc = dura_complete(ctx, out->data, out->len);
	dura_buf_free(out);
	return rc;
}

/* Printable excerpt of bytes for messages. */
static void excerpt(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 5 < cap; i++)
		dst[k++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '.';
	if (k + 4 < cap && k < n) {
		memcpy(dst + k, "...", 3);
		k += 3;
	}
	dst[k] = '\0';
}

int dura_wl_check_completed(const struct dura_wl_reader *rd, const char *instance,
                            const void *expected, size_t expected_len,
                            uint64_t *execution, char *err, size_t errlen)
{
	struct dura_instance_meta *meta = NULL;
	struct dura_err e;
	e.msg[0] = '\0';
	dura_rc rc = rd->ops->instance_status(rd->store, instance, &meta, &e);
	if (rc == DURA_EMPTY || (rc == DURA_OK && !meta)) {
		dura_errbuf(err, errlen, "instance %s: not found in storage", instance);
		return -1;
	}
	if (rc != DURA_OK) {
		dura_errbuf(err, errlen, "instance %s: instance_status %s: %s", instance,
		            rc == DURA_CORRUPT ? "found corrupt data" : "failed", e.msg);
		*(rc == DURA_CORRUPT ? rd->corrupt : rd->unreadable) = 1;
		return -1;
	}
	int ret = 0;
	if (meta->status != DURA_STATUS_COMPLETED) {
		dura_errbuf(err, errlen, "instance %s: stored status %d, expected COMPLETED (%d)",
		            instance, (int)meta->status, DURA_STATUS_COMPLETED);
		ret = -1;
	} else if (meta->output.len != expected_len ||
	           (expected_len && memcmp(meta->output.data, expected, expected_len) != 0)) {
		char got[80], want[80];
		excerpt(got, sizeof got, meta->output.data, meta->output.len);
		excerpt(want, sizeof want, expected, expected_len);
		dura_errbuf(err, errlen, "instance %s: stored output '%s' (%zu bytes), expected '%s' (%zu bytes)",
		            instance, got, meta->output.len, want, expected_len);
		ret = -1;
	}
	if (execution)
		*execution = meta->execution;
	rd->ops->release_instance_status(rd->store, meta);
	return ret;
}

int dura_wl_read_shape(const struct dura_wl_reader *rd, const char *instance, uint64_t execution,
                       struct dura_history_shape *shape, char *err, size_t errlen)
{
	struct dura_history *h = NULL;
	struct dura_err e;
	e.msg[0] = '\0';
	dura_rc rc = rd->ops->read_history(rd->store, instance, execution, &h, &e);
	if (rc != DURA_OK) {
		dura_errbuf(err, errlen, "instance %s: read_history(execution %" PRIu64 ") %s: %s",
		            instance, execution,
		            rc == DURA_CORRUPT ? "found corrupt data" : "failed", e.msg);
		*(rc == DURA_CORRUPT ? rd->corrupt : rd->unreadable) = 1;
		rd->ops->release_history(rd->store, h);
		return -1;
	}
	char why[256];
	int ret = 0;
	if (dura_history_shape(h ? h->events : NULL, h ? h->n_events : 0, shape, why,
	                       sizeof why) != 0) {
		dura_errbuf(err, errlen, "instance %s: history of execution %" PRIu64 " is corrupt: %s",
		            instance, execution, why);
		*rd->corrupt = 1;
		ret = -1;
	}
	rd->ops->release_history(rd->store, h);
	return ret;
}

int dura_wl_expect_shape(const char *instance, uint64_t execution,
                         const struct dura_history_shape *got,
                         const struct dura_history_shape *want, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
#define F(x) { #x, offsetof(struct dura_history_shape, x) }
		F(started), F(activities_scheduled), F(activities_completed), F(timers_created),
		F(timers_fired), F(suborchs_scheduled), F(suborchs_completed), F(terminal),
#undef F
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		uint32_t g, w;
		memcpy(&g, (const char *)got + fields[i].off, sizeof g);
		memcpy(&w, (const char *)want + fields[i].off, sizeof w);
		if (g != w) {
			dura_errbuf(err, errlen,
			            "instance %s: history of execution %" PRIu64 " has %s = %u, expected %u",
			            instance, execution, fields[i].name, g, w);
			return -1;
		}
	}
	if (got->terminal_status != want->terminal_status) {
		dura_errbuf(err, errlen,
		            "instance %s: history of execution %" PRIu64 " ends with status %d, expected %d",
		            instance, execution, (int)got->terminal_status, (int)want->terminal_status);
		return -1;
	}
	return 0;
}

int dura_wl_verify_simple(const struct dura_wl_reader *rd, const char *instance,
                          const struct dura_buf *expected,
                          const struct dura_history_shape *want, char *err, size_t errlen)
{
	uint64_t exec = 0;
	struct dura_history_shape got;
	if (dura_wl_check_completed(rd, instance, expected->data, expected->len, &exec, err,
	                            errlen) != 0 ||
	    dura_wl_read_shape(rd, instance, exec, &got, err, errlen) != 0 ||
	    dura_wl_expect_shape(instance, exec, &got, want, err, errlen) != 0)
		return -1;
	return 0;
}
