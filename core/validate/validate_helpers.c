/* Helpers shared by the conformance tests: operation wrappers that check
 * return codes and write precise failure reasons. */
#include "config.h"

#include "base/util.h"
#include "validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How often a DURA_RETRY ("nothing changed, safe to retry") is retried
 * before the helper reports it as the result. */
#define RETRIES 20

static void prefix_reason(struct dura_vctx *t, const char *why);

int dura_vfail(struct dura_vctx *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof t->reason, fmt, ap);
	va_end(ap);
	return DURA_VFAIL;
}

int dura_vskip(struct dura_vctx *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof t->reason, fmt, ap);
	va_end(ap);
	return DURA_VSKIP;
}

const char *dura_vrc_name(dura_rc rc)
{
	switch (rc) {
	case DURA_OK: return "OK";
	case DURA_EMPTY: return "EMPTY";
	case DURA_RETRY: return "RETRY";
	case DURA_LOCK_LOST: return "LOCK_LOST";
	case DURA_PERMANENT: return "PERMANENT";
	case DURA_CONFIG: return "CONFIG";
	case DURA_CORRUPT: return "CORRUPT";
	}
	return "(invalid return code)";
}

struct dura_bytes dura_vstr(const char *s)
{
	return (struct dura_bytes){ (const uint8_t *)s, strlen(s) };
}

int dura_vbytes_eq(struct dura_bytes a, struct dura_bytes b)
{
	if (a.len != b.len)
		return 0;
	if (a.len == 0)
		return 1;
	return a.data && b.data && memcmp(a.data, b.data, a.len) == 0;
}

int dura_vbytes_is(struct dura_bytes a, const char *s)
{
	return dura_vbytes_eq(a, dura_vstr(s));
}

const char *dura_vbytes_show(struct dura_bytes b, char *buf, size_t len)
{
	if (b.len > 40 || (b.len && !b.data)) {
		snprintf(buf, len, "<%zu bytes>", b.len);
		return buf;
	}
	size_t w = 0;
	if (len < 4) {
		if (len)
			buf[0] = 0;
		return buf;
	}
	buf[w++] = '"';
	for (size_t i = 0; i < b.len && w + 6 < len; i++) {
		uint8_t c = b.data[i];
		if (c >= 32 && c < 127 && c != '"' && c != '\\')
			buf[w++] = (char)c;
		else
			w += (size_t)snprintf(buf + w, len - w, "\\x%02x", c);
	}
	buf[w++] = '"';
	buf[w] = 0;
	return buf;
}

int dura_vexpect(struct dura_vctx *t, const char *op, dura_rc rc, dura_rc want,
                 const struct dura_err *err)
{
	int is_error = rc != DURA_OK && rc != DURA_EMPTY;
	if (rc != want) {
		dura_vfail(t, "%s: returned %s, expected %s%s%.*s%s", op, dura_vrc_name(rc),
		           dura_vrc_name(want), is_error ? " (" : "",
		           is_error ? (int)strnlen(err->msg, sizeof err->msg) : 0,
		           is_error ? err->msg : "", is_error ? ")" : "");
		return -1;
	}
	if (is_error && (strnlen(err->msg, sizeof err->msg) == 0 ||
	                 strnlen(err->msg, sizeof err->msg) == sizeof err->msg)) {
		dura_vfail(t, "%s: returned %s without a NUL-terminated error message", op,
		           dura_vrc_name(rc));
		return -1;
	}
	return 0;
}

/* Runs `call` (which assigns rc) again while it returns RETRY and the
 * caller did not expect RETRY. */
#define WITH_RETRY(call) \
	do { \
		for (int attempt_ = 0;; attempt_++) { \
			memset(&err, 0, sizeof err); \
			call; \
			if (rc != DURA_RETRY || want == DURA_RETRY || attempt_ >= RETRIES) \
				break; \
			dura_sleep_ms(10); \
		} \
	} while (0)

int dura_venqueue_msgs(struct dura_vctx *t, const struct dura_message *msgs, size_t n)
{
	struct dura_err err;
	dura_rc rc, want = DURA_OK;
	WITH_RETRY(rc = t->ops->enqueue_orchestrator(t->store, msgs, n, &err));
	return dura_vexpect(t, "enqueue_orchestrator", rc, want, &err);
}

int dura_venqueue(struct dura_vctx *t, const char *instance, const char *body, int64_t delay_ms)
{
	struct dura_message m = { instance, dura_vstr(body), delay_ms };
	return dura_venqueue_msgs(t, &m, 1);
}

int dura_vfetch(struct dura_vctx *t, uint32_t lock_ms, uint32_t wait_ms, dura_rc want,
                struct dura_orch_item **out)
{
	struct dura_err err;
	struct dura_orch_item *item = NULL;
	dura_rc rc;
	WITH_RETRY(item = NULL; rc = t->ops->fetch_orchestration_item(t->store, lock_ms, wait_ms, &item, &err));
	if (rc == DURA_OK && !item)
		return dura_vfail(t, "fetch_orchestration_item: returned OK but no item");
	if (rc == DURA_OK && (item->token == 0 || !item->instance || item->n_messages == 0 ||
	                      !item->messages || (item->n_history && !item->history))) {
		dura_vfail(t, "fetch_orchestration_item: malformed item (token %llu, instance %s, %zu messages, %zu history events)",
		           (unsigned long long)item->token, item->instance ? item->instance : "NULL",
		           item->n_messages, item->n_history);
		t->ops->release_orchestration_item(t->store, item);
		return -1;
	}
	if (dura_vexpect(t, "fetch_orchestration_item", rc, want, &err) != 0) {
		if (rc == DURA_OK) {
			char extra[256];
			snprintf(extra, sizeof extra, " [it returned instance '%s' with %zu message(s)]",
			         item->instance, item->n_messages);
			strncat(t->reason, extra, sizeof t->reason - strlen(t->reason) - 1);
			t->ops->release_orchestration_item(t->store, item);
		}
		return -1;
	}
	if (out)
		*out = rc == DURA_OK ? item : NULL;
	else if (item)
		t->ops->release_orchestration_item(t->store, item);
	return 0;
}

int dura_vfetch_instance(struct dura_vctx *t, uint32_t lock_ms, const char *instance,
                         size_t n_messages, struct dura_orch_item **out)
{
	struct dura_orch_item *it;
	if (dura_vfetch(t, lock_ms, 0, DURA_OK, &it) != 0)
		return -1;
	if (strcmp(it->instance, instance) != 0) {
		dura_vfail(t, "fetch_orchestration_item: returned instance '%s', expected '%s'",
		           it->instance, instance);
		t->ops->release_orchestration_item(t->store, it);
		return -1;
	}
	if (n_messages != (size_t)-1 && it->n_messages != n_messages) {
		dura_vfail(t, "fetch_orchestration_item: instance '%s' came with %zu message(s), expected %zu",
		           instance, it->n_messages, n_messages);
		t->ops->release_orchestration_item(t->store, it);
		return -1;
	}
	if (out)
		*out = it;
	else
		t->ops->release_orchestration_item(t->store, it);
	return 0;
}

int dura_vack(struct dura_vctx *t, uint64_t token, const struct dura_orch_ack *ack, dura_rc want)
{
	struct dura_err err;
	dura_rc rc;
	WITH_RETRY(rc = t->ops->ack_orchestration_item(t->store, token, ack, &err));
	return dura_vexpect(t, "ack_orchestration_item", rc, want, &err);
}

int dura_vack_empty(struct dura_vctx *t, uint64_t token, dura_rc want)
{
	struct dura_orch_ack ack = { .execution = 1 };
	return dura_vack(t, token, &ack, want);
}

int dura_vabandon(struct dura_vctx *t, uint64_t token, uint32_t delay_ms, dura_rc want)
{
	struct dura_err err;
	dura_rc rc;
	WITH_RETRY(rc = t->ops->abandon_orchestration_item(t->store, token, delay_ms, &err));
	return dura_vexpect(t, "abandon_orchestration_item", rc, want, &err);
}

int dura_vrenew(struct dura_vctx *t, uint64_t token, uint32_t extend_ms, dura_rc want)
{
	struct dura_err err;
	dura_rc rc;
	WITH_RETRY(rc = t->ops->renew_orchestration_lock(t->store, token, extend_ms, &err));
	return dura_vexpect(t, "renew_orchestration_lock", rc, want, &err);
}

void dura_vrelease(struct dura_vctx *t, struct dura_orch_item *item)
{
	t->ops->release_orchestration_item(t->store, item);
}

int dura_vfetch_work(struct dura_vctx *t, uint32_t lock_ms, uint32_t wait_ms, dura_rc want,
                     struct dura_work_item **out)
{
	struct dura_err err;
	struct dura_work_item *item = NULL;
	dura_rc rc;
	WITH_RETRY(item = NULL; rc = t->ops->fetch_work_item(t->store, lock_ms, wait_ms, &item, &err));
	if (rc == DURA_OK && !item)
		return dura_vfail(t, "fetch_work_item: returned OK but no item");
	if (rc == DURA_OK && (item->token == 0 || !item->instance || (item->body.len && !item->body.data))) {
		dura_vfail(t, "fetch_work_item: malformed item (token %llu, instance %s)",
		           (unsigned long long)item->token, item->instance ? item->instance : "NULL");
		t->ops->release_work_item(t->store, item);
		return -1;
	}
	if (dura_vexpect(t, "fetch_work_item", rc, want, &err) != 0) {
		if (rc == DURA_OK) {
			char extra[256], shown[128];
			snprintf(extra, sizeof extra, " [it returned a work item with body %s]",
			         dura_vbytes_show(item->body, shown, sizeof shown));
			strncat(t->reason, extra, sizeof t->reason - strlen(t->reason) - 1);
			t->ops->release_work_item(t->store, item);
		}
		return -1;
	}
	if (out)
		*out = rc == DURA_OK ? item : NULL;
	else if (item)
		t->ops->release_work_item(t->store, item);
	return 0;
}

int dura_vack_work(struct dura_vctx *t, uint64_t token, const struct dura_message *completion,
                   dura_rc want)
{
	struct dura_err err;
	dura_rc rc;
	WITH_RETRY(rc = t->ops->ack_work_item(t->store, token, completion, &err));
	return dura_vexpect(t, "ack_work_item", rc, want, &err);
}

int dura_vabandon_work(struct dura_vctx *t, uint64_t token, uint32_t delay_ms, dura_rc want)
{
	struct dura_err err;
	dura_rc rc;
	WITH_RETRY(rc = t->ops->abandon_work_item(t->store, token, delay_ms, &err));
	return dura_vexpect(t, "abandon_work_item", rc, want, &err);
}

int dura_vrenew_work(struct dura_vctx *t, uint64_t token, uint32_t extend_ms, dura_rc want)
{
	struct dura_err err;
	dura_rc rc;
	WITH_RETRY(rc = t->ops->renew_work_lock(t->store, token, extend_ms, &err));
	return dura_vexpect(t, "renew_work_lock", rc, want, &err);
}

int dura_vshorten_lock(struct dura_vctx *t, int work, uint64_t token)
{
	int r = work ? dura_vrenew_work(t, token, DURA_VSHORT_LOCK_MS, DURA_OK)
	             : dura_vrenew(t, token, DURA_VSHORT_LOCK_MS, DURA_OK);
	return r == 0 ? 0 : dura_vprefix(t, "cutting a lock to %u ms", DURA_VSHORT_LOCK_MS);
}

void dura_vrelease_work(struct dura_vctx *t, struct dura_work_item *item)
{
	t->ops->release_work_item(t->store, item);
}

int dura_vseed_work(struct dura_vctx *t, const char *instance, const char *const *bodies,
                    size_t n, int64_t delay_ms)
{
	if (dura_venqueue(t, instance, "seed", 0) != 0)
		return -1;
	struct dura_orch_item *it;
	if (dura_vfetch_instance(t, DURA_VLOCK_MS, instance, (size_t)-1, &it) != 0)
		return -1;
	struct dura_message *w = dura_xcalloc(n ? n : 1, sizeof *w);
	for (size_t i = 0; i < n; i++)
		w[i] = (struct dura_message){ instance, dura_vstr(bodies[i]), delay_ms };
	struct dura_orch_ack ack = { .execution = 1, .work_items = w, .n_work_items = n };
	int r = dura_vack(t, it->token, &ack, DURA_OK);
	free(w);
	dura_vrelease(t, it);
	return r;
}

int dura_vread_history(struct dura_vctx *t, const char *instance, uint64_t execution,
                       struct dura_history **out)
{
	struct dura_err err;
	struct dura_history *h = NULL;
	dura_rc rc, want = DURA_OK;
	WITH_RETRY(h = NULL; rc = t->ops->read_history(t->store, instance, execution, &h, &err));
	if (dura_vexpect(t, "read_history", rc, want, &err) != 0)
		return -1;
	if (!h)
		return dura_vfail(t, "read_history: returned OK but no history object");
	if (h->n_events && !h->events) {
		t->ops->release_history(t->store, h);
		return dura_vfail(t, "read_history: %zu events but events is NULL", h->n_events);
	}
	*out = h;
	return 0;
}

void dura_vrelease_history(struct dura_vctx *t, struct dura_history *h)
{
	t->ops->release_history(t->store, h);
}

int dura_vexpect_history(struct dura_vctx *t, const char *instance, uint64_t execution,
                         const uint64_t *ids, const char *const *bodies, size_t n)
{
	struct dura_history *h;
	if (dura_vread_history(t, instance, execution, &h) != 0)
		return -1;
	int r = 0;
	char shown[128];
	if (h->n_events != n) {
		struct dura_buf b = { 0 };
		for (size_t i = 0; i < h->n_events && i < 12; i++)
			dura_buf_printf(&b, "%s%llu", i ? "," : "", (unsigned long long)h->events[i].event_id);
		dura_buf_append(&b, "", 1);
		r = dura_vfail(t, "read_history('%s', %llu): %zu events [ids %s], expected %zu", instance,
		               (unsigned long long)execution, h->n_events, (const char *)b.data, n);
		dura_buf_free(&b);
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (h->events[i].event_id != ids[i])
			r = dura_vfail(t, "read_history('%s', %llu): event %zu has id %llu, expected %llu",
			               instance, (unsigned long long)execution, i,
			               (unsigned long long)h->events[i].event_id, (unsigned long long)ids[i]);
		else if (bodies && !dura_vbytes_is(h->events[i].body, bodies[i]))
			r = dura_vfail(t, "read_history('%s', %llu): event %llu has body %s, expected \"%s\"",
			               instance, (unsigned long long)execution,
			               (unsigned long long)ids[i],
			               dura_vbytes_show(h->events[i].body, shown, sizeof shown), bodies[i]);
	}
	dura_vrelease_history(t, h);
	return r == 0 ? 0 : -1;
}

int dura_vstatus(struct dura_vctx *t, const char *instance, dura_rc want,
                 struct dura_instance_meta **out)
{
	struct dura_err err;
	struct dura_instance_meta *m = NULL;
	dura_rc rc;
	WITH_RETRY(m = NULL; rc = t->ops->instance_status(t->store, instance, &m, &err));
	if (dura_vexpect(t, "instance_status", rc, want, &err) != 0) {
		if (rc == DURA_OK)
			t->ops->release_instance_status(t->store, m);
		return -1;
	}
	if (rc == DURA_OK && !m)
		return dura_vfail(t, "instance_status('%s'): returned OK but no metadata", instance);
	if (rc == DURA_EMPTY && m) {
		t->ops->release_instance_status(t->store, m);
		return dura_vfail(t, "instance_status('%s'): returned EMPTY but *out is not NULL", instance);
	}
	if (out)
		*out = m;
	else
		t->ops->release_instance_status(t->store, m);
	return 0;
}

void dura_vrelease_status(struct dura_vctx *t, struct dura_instance_meta *m)
{
	t->ops->release_instance_status(t->store, m);
}

int dura_vprefix(struct dura_vctx *t, const char *fmt, ...)
{
	char why[DURA_VREASON_MAX / 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	prefix_reason(t, why);
	return DURA_VFAIL;
}

/* Turns the reason R into "why: R" (truncating R if needed). */
static void prefix_reason(struct dura_vctx *t, const char *why)
{
	char old[DURA_VREASON_MAX];
	memcpy(old, t->reason, sizeof old);
	size_t n = strlen(why);
	if (n > sizeof t->reason - 3)
		n = sizeof t->reason - 3;
	memcpy(t->reason, why, n);
	t->reason[n] = ':';
	t->reason[n + 1] = ' ';
	size_t r = strnlen(old, sizeof t->reason - n - 3);
	memcpy(t->reason + n + 2, old, r);
	t->reason[n + 2 + r] = 0;
}

int dura_vexpect_no_orch(struct dura_vctx *t, const char *why)
{
	if (dura_vfetch(t, DURA_VLOCK_MS, 0, DURA_EMPTY, NULL) != 0) {
		prefix_reason(t, why);
		return -1;
	}
	return 0;
}

int dura_vexpect_no_work(struct dura_vctx *t, const char *why)
{
	if (dura_vfetch_work(t, DURA_VLOCK_MS, 0, DURA_EMPTY, NULL) != 0) {
		prefix_reason(t, why);
		return -1;
	}
	return 0;
}

int dura_vfetch_expired(struct dura_vctx *t, const char *instance, uint64_t *token)
{
	struct dura_orch_item *it;
	if (dura_vfetch_instance(t, DURA_VSHORT_LOCK_MS, instance, 1, &it) != 0)
		return -1;
	*token = it->token;
	dura_vrelease(t, it);
	dura_sleep_ms(DURA_VPAST_SHORT_LOCK_MS);
	return 0;
}

int dura_vfetch_work_expired(struct dura_vctx *t, uint64_t *token)
{
	struct dura_work_item *w;
	if (dura_vfetch_work(t, DURA_VSHORT_LOCK_MS, 0, DURA_OK, &w) != 0)
		return -1;
	*token = w->token;
	dura_vrelease_work(t, w);
	dura_sleep_ms(DURA_VPAST_SHORT_LOCK_MS);
	return 0;
}
