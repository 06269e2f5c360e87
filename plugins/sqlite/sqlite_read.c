/* SQLite provider: reads for verification and tooling (history, status). */

#include "sqlite_store.h"

#include <stdlib.h>
#include <string.h>

dura_rc dura_sqlite_read_history(dura_store *s, const char *instance,
                                 uint64_t execution, struct dura_history **out,
                                 struct dura_err *err)
{
	*out = NULL;
	if (!instance) {
		dura_sqlite_err(err, "sqlite: read_history: instance id is NULL");
		return DURA_PERMANENT;
	}
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	s->scratch.len = 0;
	dura_rc rc = dura_sqlite_collect_history(s, instance, execution, err);
	if (rc == DURA_OK) {
		/* One block: struct, event array, bodies.  Freed by release_history. */
		size_t n = s->spans.n;
		uint8_t *block = malloc(sizeof(struct dura_history) +
		                        n * sizeof(struct dura_event) + s->scratch.len);
		if (block) {
			struct dura_history *h = (struct dura_history *)block;
			struct dura_event *ev = (struct dura_event *)(block + sizeof *h);
			uint8_t *bytes = (uint8_t *)(ev + n);
			if (s->scratch.len)
				memcpy(bytes, s->scratch.data, s->scratch.len);
			for (size_t i = 0; i < n; i++) {
				ev[i].event_id = s->spans.v[i].id;
				ev[i].body.data = bytes + s->spans.v[i].off;
				ev[i].body.len = s->spans.v[i].len;
			}
			h->events = ev;
			h->n_events = n;
			*out = h;
		} else {
			dura_sqlite_err(err, "sqlite: out of memory reading history");
			rc = DURA_RETRY;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void dura_sqlite_release_history(dura_store *s, struct dura_history *h)
{
	(void)s;
	free(h);
}

/* 1 when an instances row (name, status, output, parent, execution) holds
 * what an ack writes: a text name, an integer status an ack can store and
 * an integer execution >= 1. */
static int meta_row_decodable(sqlite3_stmt *st)
{
	return sqlite3_column_type(st, 0) == SQLITE_TEXT &&
	       sqlite3_column_type(st, 1) == SQLITE_INTEGER &&
	       DURA_STATUS_STORABLE(sqlite3_column_int64(st, 1)) &&
	       sqlite3_column_type(st, 4) == SQLITE_INTEGER && sqlite3_column_int64(st, 4) >= 1;
}

dura_rc dura_sqlite_instance_status(dura_store *s, const char *instance,
                                    struct dura_instance_meta **out,
                                    struct dura_err *err)
{
	*out = NULL;
	if (!instance) {
		dura_sqlite_err(err, "sqlite: instance_status: instance id is NULL");
		return DURA_PERMANENT;
	}
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_INSTANCE_GET);
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	dura_rc rc = DURA_OK;
	if (src == SQLITE_DONE) {
		rc = DURA_EMPTY;
	} else if (src != SQLITE_ROW) {
		rc = dura_sqlite_fail(s, src, "reading instance metadata", err);
	} else if (!meta_row_decodable(st)) {
		/* a dynamically typed column can hold anything someone wrote */
		dura_sqlite_err(err, "sqlite: instances row of instance %.200s cannot be decoded: "
		                "name of type %d, status of type %d (%lld), execution of type %d (%lld)",
		                instance, sqlite3_column_type(st, 0), sqlite3_column_type(st, 1),
		                (long long)sqlite3_column_int64(st, 1), sqlite3_column_type(st, 4),
		                (long long)sqlite3_column_int64(st, 4));
		rc = DURA_CORRUPT;
	} else {
		/* name, status, output, parent, execution */
		const char *name = (const char *)sqlite3_column_text(st, 0);
		size_t name_len = (size_t)sqlite3_column_bytes(st, 0);
		const void *output = sqlite3_column_blob(st, 2);
		size_t output_len = (size_t)sqlite3_column_bytes(st, 2);
		int has_parent = sqlite3_column_type(st, 3) != SQLITE_NULL;
		const char *parent = (const char *)sqlite3_column_text(st, 3);
		size_t parent_len = (size_t)sqlite3_column_bytes(st, 3);
		/* One block: struct, output, name, parent.  Freed by
		 * release_instance_status. */
		uint8_t *block = malloc(sizeof(struct dura_instance_meta) + output_len +
		                        name_len + 1 + parent_len + 1);
		if (!block) {
			dura_sqlite_err(err, "sqlite: out of memory reading instance metadata");
			rc = DURA_RETRY;
		} else {
			struct dura_instance_meta *m = (struct dura_instance_meta *)block;
			uint8_t *bytes = block + sizeof *m;
			char *name_copy = (char *)(bytes + output_len);
			char *parent_copy = name_copy + name_len + 1;
			if (output_len)
				memcpy(bytes, output, output_len);
			if (name_len)
				memcpy(name_copy, name, name_len);
			name_copy[name_len] = '\0';
			if (parent_len)
				memcpy(parent_copy, parent, parent_len);
			parent_copy[parent_len] = '\0';
			m->name = name_copy;
			m->status = sqlite3_column_int(st, 1);
			m->output.data = bytes;
			m->output.len = output_len;
			m->parent = has_parent ? parent_copy : NULL;
			m->execution = (uint64_t)sqlite3_column_int64(st, 4);
			*out = m;
		}
	}
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void dura_sqlite_release_instance_status(dura_store *s,
                                         struct dura_instance_meta *meta)
{
	(void)s;
	free(meta);
}
