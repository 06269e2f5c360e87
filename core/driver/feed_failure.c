/* The category of a failure reported by the completion feed (feed_failure.h). */
#include "config.h"

#include "feed_failure.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/util.h"

#define READ_TRIES 3
#define RETRY_MS 50

/* One attempt: 0 with *out and text filled, or -1 with text = the reason. */
static int read_once(const struct dura_provider_ops *ops, dura_store *store,
                     const char *instance, enum dura_outcome *out, char *text, size_t textlen)
{
	struct dura_instance_meta *meta = NULL;
	struct dura_err e = { .msg = "" };
	dura_rc rc = ops->instance_status(store, instance, &meta, &e);
	if (rc != DURA_OK || !meta) {
		dura_errbuf(text, textlen, "reading its status: %s",
		            rc == DURA_OK || rc == DURA_EMPTY ? "no such instance" : e.msg);
		if (meta)
			ops->release_instance_status(store, meta);
		return -1;
	}
	uint64_t execution = meta->execution;
	char reason[512]; /* the stored failure text */
	size_t len = meta->output.len < sizeof reason ? meta->output.len : sizeof reason - 1;
	snprintf(reason, sizeof reason, "%.*s", (int)len, (const char *)meta->output.data);
	ops->release_instance_status(store, meta);

	struct dura_history *h = NULL;
	if (ops->read_history(store, instance, execution, &h, &e) != DURA_OK) {
		dura_errbuf(text, textlen, "reading its history: %s", e.msg);
		ops->release_history(store, h);
		return -1;
	}
	struct dura_history_shape shape;
	char why[256];
	int bad = dura_history_shape(h ? h->events : NULL, h ? h->n_events : 0, &shape, why,
	                             sizeof why);
	ops->release_history(store, h);
	if (bad || shape.terminal_status != DURA_STATUS_FAILED) {
		dura_errbuf(text, textlen, "its history has no failure event%s%s",
		            bad ? ": " : "", bad ? why : "");
		return -1;
	}
	*out = shape.terminal_category == DURA_OUTCOME_FAILED_CONFIG ? DURA_OUTCOME_FAILED_CONFIG
	       : shape.terminal_category == DURA_OUTCOME_FAILED_INFRA ? DURA_OUTCOME_FAILED_INFRA
	       : DURA_OUTCOME_FAILED_APP;
	snprintf(text, textlen, "%s", reason);
	return 0;
}

enum dura_outcome dura_feed_failure(const struct dura_provider_ops *ops, dura_store *store,
                                    const char *instance, char *text, size_t textlen)
{
	enum dura_outcome o = DURA_OUTCOME_FAILED_INFRA;
	for (int i = 0; i < READ_TRIES; i++) {
		if (read_once(ops, store, instance, &o, text, textlen) == 0)
			return o;
		struct timespec ts = { 0, RETRY_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	char why[256];
	snprintf(why, sizeof why, "%s", text);
	dura_errbuf(text, textlen, "failed; its category could not be read back from the store "
	            "(%s)", why);
	return DURA_OUTCOME_FAILED_INFRA;
}
