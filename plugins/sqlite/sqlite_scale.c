/*
 * SQLite provider: scale-out operations (ABI 1.3).  A file database opened
 * with shared = true can be attached to by worker processes on the same
 * machine; an in-memory one cannot.  Starts and terminal acks are stamped
 * with this machine's wall clock, which all those processes share.
 */
#include "sqlite_store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t dura_sqlite_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

dura_rc dura_sqlite_start_instances(dura_store *s, const struct dura_message *msgs, size_t n,
                                    struct dura_err *err)
{
	return dura_sqlite_enqueue(s, msgs, n, 1, err);
}

dura_rc dura_sqlite_feed_terminal(struct dura_store *s, const char *instance, int32_t status,
                                  struct dura_err *err)
{
	/* Only start_instances stamps starts: a store no other process can
	 * open that never stamped one has no start to move to the feed. */
	if (!s->cfg.shared && !s->stamped)
		return DURA_OK;
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_FEED_APPEND);
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, status);
	sqlite3_bind_int64(st, 3, dura_sqlite_now_us());
	dura_rc rc = dura_sqlite_exec(s, st, "appending to the completion feed", err);
	if (rc != DURA_OK)
		return rc;
	st = dura_sqlite_stmt(s, SQ_STARTED_DELETE);
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	return dura_sqlite_exec(s, st, "removing a started instance", err);
}

/* A feed batch in one allocation: the struct, the entries, the ids. */
struct sq_completions {
	struct dura_completions pub; /* first */
	struct dura_completion *items;
	char *ids;
};

/* Reads up to max entries into a new batch (under mu, in a transaction);
 * *last receives the last seq. */
static dura_rc read_feed(struct dura_store *s, size_t max, struct sq_completions **out,
                         int64_t *last, struct dura_err *err)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_FEED_READ);
	sqlite3_bind_int64(st, 1, max > INT_MAX ? INT_MAX : (int64_t)max);
	struct sq_completions *c = calloc(1, sizeof *c);
	size_t cap = 0, ids_len = 0, ids_cap = 0;
	int src;
	dura_rc rc = DURA_OK;
	while (c && (src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *inst = (const char *)sqlite3_column_text(st, 1);
		size_t len = inst ? strlen(inst) + 1 : 1;
		if (c->pub.n == cap) {
			cap = cap ? cap * 2 : 64;
			void *p = realloc(c->items, cap * sizeof *c->items);
			if (!p)
				goto oom;
			c->items = p;
		}
		if (ids_len + len > ids_cap) {
			ids_cap = (ids_len + len) * 2 + 256;
			void *p = realloc(c->ids, ids_cap);
			if (!p)
				goto oom;
			c->ids = p;
		}
		memcpy(c->ids + ids_len, inst ? inst : "", len);
		struct dura_completion *x = &c->items[c->pub.n++];
		x->instance = (const char *)(uintptr_t)ids_len; /* an offset until the end */
		x->status = sqlite3_column_int(st, 2);
		x->started_us = sqlite3_column_int64(st, 3);
		x->completed_us = sqlite3_column_int64(st, 4);
		*last = sqlite3_column_int64(st, 0);
		ids_len += len;
	}
	if (!c)
		goto oom;
	if (src != SQLITE_DONE)
		rc = dura_sqlite_fail(s, src, "reading the completion feed", err);
	sqlite3_reset(st);
	for (size_t i = 0; i < c->pub.n; i++)
		c->items[i].instance = c->ids + (uintptr_t)c->items[i].instance;
	c->pub.items = c->items;
	*out = c;
	return rc;
oom:
	sqlite3_reset(st);
	if (c) {
		free(c->items);
		free(c->ids);
		free(c);
	}
	dura_sqlite_err(err, "sqlite: out of memory");
	return DURA_RETRY;
}

/* Runs statement `which` with ?1 = a (and ?2 = b when it has two). */
static dura_rc feed_exec(struct dura_store *s, enum dura_sqlite_stmt which, int64_t a, int64_t b,
                         struct dura_err *err)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, which);
	sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) > 1)
		sqlite3_bind_int64(st, 2, b);
	return dura_sqlite_exec(s, st, "updating the completion feed", err);
}

/* take_completions (acked = 0: what is handed out is removed) and
 * take_completions_acked (acked = 1: what calls up to ack handed out is
 * removed, the rest is handed out again as call ack + 1). */
static dura_rc take(dura_store *s, int acked, uint64_t ack, size_t max,
                    struct dura_completions **out, struct dura_err *err)
{
	*out = NULL;
	if (acked && ack >= (uint64_t)INT64_MAX) {
		dura_sqlite_err(err, "take_completions_acked: ack %llu is out of range",
		                (unsigned long long)ack);
		return DURA_PERMANENT;
	}
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	struct sq_completions *c = NULL;
	int64_t last = 0;
	dura_rc rc = dura_sqlite_begin(s, err);
	if (rc == DURA_OK && acked)
		rc = feed_exec(s, SQ_FEED_ACK, (int64_t)ack, 0, err);
	if (rc == DURA_OK && acked)
		rc = feed_exec(s, SQ_FEED_UNTAKE, (int64_t)ack, 0, err);
	if (rc == DURA_OK)
		rc = read_feed(s, max, &c, &last, err);
	if (rc == DURA_OK && c->pub.n)
		rc = acked ? feed_exec(s, SQ_FEED_MARK, last, (int64_t)ack + 1, err)
		           : feed_exec(s, SQ_FEED_DELETE, last, 0, err);
	if (rc == DURA_OK)
		rc = dura_sqlite_commit(s, err); /* nothing is handed out unless removed or marked */
	else
		dura_sqlite_rollback(s);
	pthread_mutex_unlock(&s->mu);
	if (rc == DURA_OK && c->pub.n) {
		*out = &c->pub;
		return DURA_OK;
	}
	dura_sqlite_release_completions(s, c ? &c->pub : NULL);
	return rc == DURA_OK ? DURA_EMPTY : rc;
}

dura_rc dura_sqlite_take_completions(dura_store *s, size_t max, struct dura_completions **out,
                                     struct dura_err *err)
{
	return take(s, 0, 0, max, out, err);
}

dura_rc dura_sqlite_take_completions_acked(dura_store *s, uint64_t ack, size_t max,
                                           struct dura_completions **out, struct dura_err *err)
{
	return take(s, 1, ack, max, out, err);
}

void dura_sqlite_release_completions(dura_store *s, struct dura_completions *completions)
{
	(void)s;
	if (!completions)
		return;
	struct sq_completions *c = (struct sq_completions *)completions;
	free(c->items);
	free(c->ids);
	free(c);
}

dura_rc dura_sqlite_put_note(dura_store *s, const char *key, struct dura_bytes value,
                             struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_NOTE_PUT);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	dura_sqlite_bind_bytes(st, 2, value);
	dura_rc rc = dura_sqlite_exec(s, st, "writing a note", err);
	if (rc == DURA_OK)
		s->n_commits++;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Notes in one allocation each: the struct and entries, then the bytes. */
struct sq_notes {
	struct dura_notes pub; /* first */
	struct dura_note *items;
	uint8_t *bytes;
};

dura_rc dura_sqlite_read_notes(dura_store *s, const char *prefix, struct dura_notes **out,
                               struct dura_err *err)
{
	*out = NULL;
	struct sq_notes *c = calloc(1, sizeof *c);
	if (!c) {
		dura_sqlite_err(err, "sqlite: out of memory");
		return DURA_RETRY;
	}
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_NOTE_READ);
	sqlite3_bind_text(st, 1, prefix ? prefix : "", -1, SQLITE_STATIC);
	size_t cap = 0, len = 0, bcap = 0;
	int src;
	dura_rc rc = DURA_OK;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const void *val = sqlite3_column_blob(st, 1);
		size_t kl = strlen(key ? key : "") + 1, vl = (size_t)sqlite3_column_bytes(st, 1);
		if (c->pub.n == cap) {
			cap = cap ? cap * 2 : 16;
			void *p = realloc(c->items, cap * sizeof *c->items);
			if (!p)
				break;
			c->items = p;
		}
		if (len + kl + vl > bcap) {
			bcap = (len + kl + vl) * 2 + 256;
			void *p = realloc(c->bytes, bcap);
			if (!p)
				break;
			c->bytes = p;
		}
		memcpy(c->bytes + len, key ? key : "", kl);
		if (vl)
			memcpy(c->bytes + len + kl, val, vl);
		/* offsets until the buffer stops moving */
		c->items[c->pub.n].key = (const char *)(uintptr_t)len;
		c->items[c->pub.n].value.data = (const uint8_t *)(uintptr_t)(len + kl);
		c->items[c->pub.n].value.len = vl;
		c->pub.n++;
		len += kl + vl;
	}
	if (src != SQLITE_DONE)
		rc = src == SQLITE_ROW ? (dura_sqlite_err(err, "sqlite: out of memory"), DURA_RETRY)
		                       : dura_sqlite_fail(s, src, "reading notes", err);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < c->pub.n; i++) {
		c->items[i].key = (const char *)c->bytes + (uintptr_t)c->items[i].key;
		c->items[i].value.data = c->bytes + (uintptr_t)c->items[i].value.data;
	}
	c->pub.items = c->items;
	if (rc != DURA_OK) {
		dura_sqlite_release_notes(s, &c->pub);
		return rc;
	}
	*out = &c->pub;
	return DURA_OK;
}

void dura_sqlite_release_notes(dura_store *s, struct dura_notes *notes)
{
	(void)s;
	if (!notes)
		return;
	struct sq_notes *c = (struct sq_notes *)notes;
	free(c->items);
	free(c->bytes);
	free(c);
}

/* The section's options with database = name and shared = true. */
dura_rc dura_sqlite_attach(const struct dura_option *options, size_t n_options, const char *name,
                           dura_store **out, struct dura_err *err)
{
	*out = NULL;
	struct dura_option *opts = calloc(n_options + 2, sizeof *opts);
	if (!opts) {
		dura_sqlite_err(err, "sqlite: out of memory");
		return DURA_CONFIG;
	}
	size_t n = 0;
	for (size_t i = 0; i < n_options; i++)
		if (!options[i].key || (strcmp(options[i].key, "database") != 0 &&
		                        strcmp(options[i].key, "shared") != 0))
			opts[n++] = options[i];
	opts[n].key = "database";
	opts[n++].value = name ? name : "";
	opts[n].key = "shared";
	opts[n++].value = "true";
	dura_rc rc = dura_sqlite_open_store(opts, n, 1, out, err);
	free(opts);
	return rc;
}

dura_rc dura_sqlite_store_name(dura_store *s, char *buf, size_t len)
{
	if (s->cfg.in_memory) {
		snprintf(buf, len, "sqlite: an in-memory database (:memory:) cannot be shared "
		         "between processes: use a file (database = /path/run.db, shared = true)");
		return DURA_CONFIG;
	}
	if (!s->cfg.shared) {
		snprintf(buf, len, "sqlite: %s is opened for this process alone: set shared = true "
		         "in its [provider] section to run worker processes on it", s->cfg.database);
		return DURA_CONFIG;
	}
	/* an absolute path: a worker may start in another directory */
	char *abs = realpath(s->cfg.database, NULL);
	int fits = (size_t)snprintf(buf, len, "%s", abs ? abs : s->cfg.database) < len;
	free(abs);
	return fits ? DURA_OK : DURA_CONFIG;
}
