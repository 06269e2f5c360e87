/*
 * SQLite provider: the orchestrator queue and instance locks
 * (enqueue, fetch, ack, abandon, renew).
 *
 * Every operation runs under s->mu from start to end, so "pick an instance,
 * lock it, tag its messages" can never race with another fetcher: there are
 * no lost races to retry, and a fetch returns EMPTY only when nothing is
 * eligible.
 */

#include "sqlite_store.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static dura_rc check_messages(const struct dura_message *msgs, size_t n,
                              const char *what, struct dura_err *err)
{
	if (n && !msgs) {
		dura_sqlite_err(err, "sqlite: %s: message array is NULL", what);
		return DURA_PERMANENT;
	}
	for (size_t i = 0; i < n; i++) {
		if (!msgs[i].instance) {
			dura_sqlite_err(err, "sqlite: %s: message %zu has no instance id",
			                what, i);
			return DURA_PERMANENT;
		}
	}
	return DURA_OK;
}

dura_rc dura_sqlite_insert_orch_message(struct dura_store *s,
                                        const struct dura_message *m,
                                        int64_t now, struct dura_err *err)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_ORCH_INSERT);
	dura_sqlite_bind_text(st, 1, m->instance);
	/* A negative delay (a timer already due) means now, never earlier. */
	sqlite3_bind_int64(st, 2, dura_sqlite_after(now, m->delay_ms > 0 ? m->delay_ms : 0));
	dura_sqlite_bind_bytes(st, 3, m->body);
	return dura_sqlite_exec(s, st, "inserting an orchestrator message", err);
}

dura_rc dura_sqlite_enqueue_orchestrator(dura_store *s,
                                         const struct dura_message *msgs,
                                         size_t n, struct dura_err *err)
{
	return dura_sqlite_enqueue(s, msgs, n, 0, err);
}

dura_rc dura_sqlite_enqueue(struct dura_store *s, const struct dura_message *msgs, size_t n,
                            int started, struct dura_err *err)
{
	dura_rc rc = check_messages(msgs, n, "enqueue_orchestrator", err);
	if (rc != DURA_OK || n == 0)
		return rc;
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	int64_t now = dura_sqlite_now(s);
	rc = dura_sqlite_begin(s, err);
	for (size_t i = 0; rc == DURA_OK && i < n; i++)
		rc = dura_sqlite_insert_orch_message(s, &msgs[i], now, err);
	int64_t now_us = dura_sqlite_now_us();
	if (started)
		s->stamped = 1;
	for (size_t i = 0; started && rc == DURA_OK && i < n; i++) {
		sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_STARTED_INSERT);
		sqlite3_bind_text(st, 1, msgs[i].instance, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now_us);
		rc = dura_sqlite_exec(s, st, "stamping a start", err);
	}
	if (rc == DURA_OK)
		rc = dura_sqlite_commit(s, err);
	else
		dura_sqlite_rollback(s);
	if (rc == DURA_OK)
		dura_sqlite_wake(&s->orch_cond, s->orch_waiters, n);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Copies the tagged messages (body, attempts) into s->spans2 / s->scratch. */
static dura_rc collect_tagged(struct dura_store *s, uint64_t token,
                              struct dura_err *err)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_ORCH_TAGGED);
	sqlite3_bind_text(st, 1, (const char *)s->inst.data, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)token);
	return dura_sqlite_collect_spans(s, st, 0, -1, 1, &s->spans2,
	                                 "reading tagged messages", err);
}

/* Builds the returned item as one malloc block: the struct, the message and
 * event arrays, the body bytes, the instance id.  Caller frees with
 * release_orchestration_item (free). */
static struct dura_orch_item *build_item(struct dura_store *s, uint64_t token,
                                         uint64_t execution)
{
	size_t nm = s->spans2.n, nh = s->spans.n, inst_len = s->inst.len; /* incl. NUL */
	size_t size = sizeof(struct dura_orch_item) +
	              nm * sizeof(struct dura_fetched_message) +
	              nh * sizeof(struct dura_event) + s->scratch.len + inst_len;
	uint8_t *block = malloc(size);
	if (!block)
		return NULL;
	struct dura_orch_item *item = (struct dura_orch_item *)block;
	struct dura_fetched_message *msgs =
		(struct dura_fetched_message *)(block + sizeof *item);
	struct dura_event *events = (struct dura_event *)(msgs + nm);
	uint8_t *bytes = (uint8_t *)(events + nh);
	char *inst = (char *)(bytes + s->scratch.len);
	if (s->scratch.len)
		memcpy(bytes, s->scratch.data, s->scratch.len);
	memcpy(inst, s->inst.data, inst_len);
	uint32_t max_attempts = 0;
	for (size_t i = 0; i < nm; i++) {
		const struct dura_sqlite_span *sp = &s->spans2.v[i];
		msgs[i].body.data = bytes + sp->off;
		msgs[i].body.len = sp->len;
		msgs[i].attempts = sp->attempts;
		if (sp->attempts > max_attempts)
			max_attempts = sp->attempts;
	}
	for (size_t i = 0; i < nh; i++) {
		const struct dura_sqlite_span *sp = &s->spans.v[i];
		events[i].event_id = sp->id;
		events[i].body.data = bytes + sp->off;
		events[i].body.len = sp->len;
	}
	item->token = token;
	item->instance = inst;
	item->execution = execution;
	item->messages = msgs;
	item->n_messages = nm;
	item->history = events;
	item->n_history = nh;
	item->attempts = max_attempts;
	return item;
}

/* Picks the instance of the oldest visible message that no live lock
 * holds into s->inst (under s->mu, inside or outside a transaction: nobody
 * else can use the connection until we unlock, so what it finds stays
 * true).  DURA_EMPTY when there is none. */
static dura_rc pick_instance(struct dura_store *s, int64_t now, struct dura_err *err)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_ORCH_PICK);
	sqlite3_bind_int64(st, 1, now);
	int src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		sqlite3_reset(st);
		return DURA_EMPTY;
	}
	if (src != SQLITE_ROW) {
		dura_rc rc = dura_sqlite_fail(s, src, "picking an instance", err);
		sqlite3_reset(st);
		return rc;
	}
	int oom = dura_sqlite_set_instance(s, (const char *)sqlite3_column_text(st, 0),
	                                   (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_reset(st);
	if (oom) {
		dura_sqlite_err(err, "sqlite: out of memory");
		return DURA_RETRY;
	}
	return DURA_OK;
}

/* Locks the picked instance s->inst, tags its visible messages and builds
 * the item (inside a transaction the caller commits or rolls back).  On
 * DURA_OK *out is set; the caller frees it if the commit fails. */
static dura_rc take_instance(struct dura_store *s, uint32_t lock_ms, int64_t now,
                             struct dura_orch_item **out, struct dura_err *err)
{
	const char *inst = (const char *)s->inst.data;
	uint64_t token = dura_sqlite_new_token(s);
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_LOCK_UPSERT);
	sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)token);
	sqlite3_bind_int64(st, 3, dura_sqlite_after(now, lock_ms));
	dura_rc rc;
	if ((rc = dura_sqlite_exec(s, st, "locking an instance", err)) != DURA_OK)
		return rc;
	st = dura_sqlite_stmt(s, SQ_ORCH_TAG);
	sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)token);
	sqlite3_bind_int64(st, 3, now);
	if ((rc = dura_sqlite_exec(s, st, "tagging messages", err)) != DURA_OK)
		return rc;
	s->scratch.len = 0;
	if ((rc = collect_tagged(s, token, err)) != DURA_OK)
		return rc;

	uint64_t execution = 0;
	st = dura_sqlite_stmt(s, SQ_INSTANCE_EXECUTION);
	sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		execution = (uint64_t)sqlite3_column_int64(st, 0);
	else if (src != SQLITE_DONE)
		rc = dura_sqlite_fail(s, src, "reading the instance execution", err);
	sqlite3_reset(st);
	if (rc != DURA_OK)
		return rc;
	s->spans.n = 0;
	if (execution && (rc = dura_sqlite_collect_history(s, inst, execution, err)) != DURA_OK)
		return rc;
	if (!(*out = build_item(s, token, execution))) {
		dura_sqlite_err(err, "sqlite: out of memory building the work item");
		return DURA_RETRY;
	}
	return DURA_OK;
}

/* Commits the transaction that took *out; on failure frees it. */
static dura_rc commit_taken(struct dura_store *s, struct dura_orch_item **out,
                            struct dura_err *err)
{
	dura_rc rc = dura_sqlite_commit(s, err);
	if (rc != DURA_OK) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* One fetch attempt without waiting (under s->mu).  The pick runs before
 * the transaction, so an empty queue costs no BEGIN/COMMIT. */
static dura_rc try_fetch(struct dura_store *s, uint32_t lock_ms,
                         struct dura_orch_item **out, struct dura_err *err)
{
	int64_t now = dura_sqlite_now(s);
	dura_rc rc = pick_instance(s, now, err);
	if (rc != DURA_OK)
		return rc;
	if ((rc = dura_sqlite_begin(s, err)) != DURA_OK)
		return rc;
	if ((rc = take_instance(s, lock_ms, now, out, err)) != DURA_OK) {
		dura_sqlite_rollback(s);
		return rc;
	}
	return commit_taken(s, out, err);
}

dura_rc dura_sqlite_fetch_orchestration_item(dura_store *s, uint32_t lock_ms,
                                             uint32_t wait_ms,
                                             struct dura_orch_item **out,
                                             struct dura_err *err)
{
	*out = NULL;
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	uint64_t deadline = dura_sqlite_mono_ns() + (uint64_t)wait_ms * 1000000u;
	dura_rc rc;
	for (;;) {
		rc = try_fetch(s, lock_ms, out, err);
		if (rc != DURA_EMPTY || wait_ms == 0 || dura_sqlite_mono_ns() >= deadline)
			break;
		dura_sqlite_wait(s, &s->orch_cond, &s->orch_waiters, deadline,
		                 dura_sqlite_next_due(s, SQ_ORCH_NEXT_VISIBLE,
		                                      SQ_LOCK_NEXT_EXPIRY));
	}
	if (rc == DURA_EMPTY)
		s->n_empty_fetches++;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static dura_rc instance_lock_lost(struct dura_err *err, uint64_t token)
{
	dura_sqlite_err(err, "sqlite: token %" PRIu64 " holds no instance lock "
	                "(unknown, expired or already used)", token);
	return DURA_LOCK_LOST;
}

/* Finds the live lock held by token and copies its instance to s->inst
 * (through the token index; it writes nothing, so a lost lock refuses the
 * call before any write). */
static dura_rc find_lock(struct dura_store *s, uint64_t token, int64_t now,
                         struct dura_err *err)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_LOCK_BY_TOKEN);
	sqlite3_bind_int64(st, 1, (int64_t)token);
	sqlite3_bind_int64(st, 2, now);
	int src = sqlite3_step(st);
	dura_rc rc = DURA_OK;
	if (src == SQLITE_ROW) {
		if (dura_sqlite_set_instance(s, (const char *)sqlite3_column_text(st, 0),
		                             (size_t)sqlite3_column_bytes(st, 0)) != 0) {
			dura_sqlite_err(err, "sqlite: out of memory");
			rc = DURA_RETRY;
		}
	} else if (src == SQLITE_DONE) {
		rc = instance_lock_lost(err, token);
	} else {
		rc = dura_sqlite_fail(s, src, "looking up an instance lock", err);
	}
	sqlite3_reset(st);
	return rc;
}

/* Ends the lock found by find_lock: a delete by primary key (callgrind: 5 %
 * fewer instructions per orchestration than one DELETE ... RETURNING, which
 * fills an ephemeral table on every call). */
static dura_rc end_lock(struct dura_store *s, struct dura_err *err)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_LOCK_DELETE);
	sqlite3_bind_text(st, 1, (const char *)s->inst.data, -1, SQLITE_STATIC);
	return dura_sqlite_exec(s, st, "releasing the instance lock", err);
}

static dura_rc upsert_meta(struct dura_store *s, const char *inst,
                           const struct dura_instance_meta *m,
                           struct dura_err *err)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_INSTANCE_UPSERT);
	sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->name ? m->name : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, m->status);
	dura_sqlite_bind_bytes(st, 4, m->output);
	dura_sqlite_bind_text(st, 5, m->parent);
	sqlite3_bind_int64(st, 6, (int64_t)m->execution);
	dura_rc rc = dura_sqlite_exec(s, st, "writing instance metadata", err);
	if (rc == DURA_OK && (m->status == DURA_STATUS_COMPLETED || m->status == DURA_STATUS_FAILED ||
	                      m->status == DURA_STATUS_TERMINATED))
		rc = dura_sqlite_feed_terminal(s, inst, m->status, err);
	return rc;
}

/* The ack's statements, inside a transaction the caller commits or rolls
 * back (under s->mu). */
static dura_rc ack_body(struct dura_store *s, uint64_t token,
                        const struct dura_orch_ack *ack, int64_t now, struct dura_err *err)
{
	/* every check that can refuse the ack comes before its first write */
	dura_rc rc;
	if ((rc = find_lock(s, token, now, err)) != DURA_OK)
		return rc;
	const char *inst = (const char *)s->inst.data;
	if ((rc = dura_sqlite_history_check(s, inst, ack->execution, ack->history,
	                                    ack->n_history, err)) != DURA_OK ||
	    (rc = end_lock(s, err)) != DURA_OK)
		return rc;
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_ORCH_DELETE_TAGGED);
	sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)token);
	if ((rc = dura_sqlite_exec(s, st, "deleting processed messages", err)) != DURA_OK)
		return rc;
	if ((rc = dura_sqlite_history_insert(s, inst, ack->execution, err)) != DURA_OK)
		return rc;
	for (size_t i = 0; i < ack->n_work_items; i++)
		if ((rc = dura_sqlite_insert_work_item(s, &ack->work_items[i], now, err)) != DURA_OK)
			return rc;
	for (size_t i = 0; i < ack->n_orch_items; i++)
		if ((rc = dura_sqlite_insert_orch_message(s, &ack->orch_items[i], now, err)) != DURA_OK)
			return rc;
	if (ack->meta && (rc = upsert_meta(s, inst, ack->meta, err)) != DURA_OK)
		return rc;
	return DURA_OK;
}

static dura_rc check_ack(const struct dura_orch_ack *ack, struct dura_err *err)
{
	if (!ack) {
		dura_sqlite_err(err, "sqlite: ack_orchestration_item: ack is NULL");
		return DURA_PERMANENT;
	}
	if (ack->n_history && !ack->history) {
		dura_sqlite_err(err, "sqlite: ack_orchestration_item: history array is NULL");
		return DURA_PERMANENT;
	}
	dura_rc rc;
	if ((rc = check_messages(ack->work_items, ack->n_work_items,
	                         "ack_orchestration_item work items", err)) != DURA_OK ||
	    (rc = check_messages(ack->orch_items, ack->n_orch_items,
	                         "ack_orchestration_item orchestrator items", err)) != DURA_OK)
		return rc;
	return DURA_OK;
}

/* Wakes fetchers after an ack committed.  The released instance may still
 * have messages that arrived during the turn: one more candidate besides
 * the new orchestrator items, unless the same call took one already. */
static void wake_after_ack(struct dura_store *s, const struct dura_orch_ack *ack, int took)
{
	dura_sqlite_wake(&s->orch_cond, s->orch_waiters, ack->n_orch_items + (took ? 0 : 1));
	dura_sqlite_wake(&s->work_cond, s->work_waiters, ack->n_work_items);
}

/* The ack alone in its own transaction (under s->mu). */
static dura_rc do_ack(struct dura_store *s, uint64_t token,
                      const struct dura_orch_ack *ack, struct dura_err *err)
{
	dura_rc rc = check_ack(ack, err);
	if (rc != DURA_OK)
		return rc;
	int64_t now = dura_sqlite_now(s);
	if ((rc = dura_sqlite_begin(s, err)) != DURA_OK)
		return rc;
	if ((rc = ack_body(s, token, ack, now, err)) != DURA_OK) {
		dura_sqlite_rollback(s);
		return rc;
	}
	if ((rc = dura_sqlite_commit(s, err)) != DURA_OK)
		return rc;
	wake_after_ack(s, ack, 0);
	return DURA_OK;
}

dura_rc dura_sqlite_ack_orchestration_item(dura_store *s, uint64_t token,
                                           const struct dura_orch_ack *ack,
                                           struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	dura_rc rc = do_ack(s, token, ack, err);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* The ack and the next fetch share one transaction: one BEGIN/COMMIT per
 * turn, and the pages both touch (queue, lock table) are journaled once.
 * If the fetch part fails, everything is rolled back and the ack is
 * redone alone, so that the ack stands whatever the fetch does. */
dura_rc dura_sqlite_ack_orchestration_item_and_fetch(
	dura_store *s, uint64_t token, const struct dura_orch_ack *ack,
	uint32_t lock_ms, struct dura_orch_item **next, struct dura_err *err)
{
	*next = NULL;
	dura_rc rc = check_ack(ack, err);
	if (rc != DURA_OK)
		return rc;
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	int64_t now = dura_sqlite_now(s);
	if ((rc = dura_sqlite_begin(s, err)) != DURA_OK)
		goto out;
	if ((rc = ack_body(s, token, ack, now, err)) != DURA_OK) {
		dura_sqlite_rollback(s);
		goto out;
	}
	struct dura_err ferr;
	dura_rc frc = pick_instance(s, now, &ferr);
	if (frc == DURA_OK)
		frc = take_instance(s, lock_ms, now, next, &ferr);
	if (frc == DURA_OK || frc == DURA_EMPTY) {
		if ((rc = dura_sqlite_commit(s, err)) != DURA_OK) {
			free(*next);
			*next = NULL;
			goto out;
		}
		if (frc == DURA_EMPTY)
			s->n_empty_fetches++;
		wake_after_ack(s, ack, *next != NULL);
		goto out;
	}
	/* The fetch part failed: nothing of this call stands; the ack alone. */
	free(*next);
	*next = NULL;
	dura_sqlite_rollback(s);
	rc = do_ack(s, token, ack, err);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

dura_rc dura_sqlite_abandon_orchestration_item(dura_store *s, uint64_t token,
                                               uint32_t delay_ms,
                                               struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	int64_t now = dura_sqlite_now(s);
	dura_rc rc = dura_sqlite_begin(s, err);
	if (rc != DURA_OK)
		goto out;
	if ((rc = find_lock(s, token, now, err)) != DURA_OK || (rc = end_lock(s, err)) != DURA_OK)
		goto fail;
	const char *inst = (const char *)s->inst.data;
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_ORCH_RELEASE_TAGGED);
	sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)token);
	/* delay 0 binds 0: max(visible_at, 0) keeps the messages' place */
	sqlite3_bind_int64(st, 3, delay_ms ? dura_sqlite_after(now, delay_ms) : 0);
	if ((rc = dura_sqlite_exec(s, st, "releasing tagged messages", err)) != DURA_OK)
		goto fail;
	if ((rc = dura_sqlite_commit(s, err)) == DURA_OK)
		dura_sqlite_wake(&s->orch_cond, s->orch_waiters, 1);
	goto out;
fail:
	dura_sqlite_rollback(s);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

dura_rc dura_sqlite_renew_orchestration_lock(dura_store *s, uint64_t token,
                                             uint32_t extend_ms,
                                             struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	int64_t now = dura_sqlite_now(s);
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_LOCK_RENEW);
	sqlite3_bind_int64(st, 1, (int64_t)token);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, dura_sqlite_after(now, extend_ms));
	dura_rc rc = dura_sqlite_exec(s, st, "renewing an instance lock", err);
	if (rc == DURA_OK && sqlite3_changes(s->db) == 0) {
		rc = instance_lock_lost(err, token);
	} else if (rc == DURA_OK) {
		s->n_commits++; /* a single statement commits by itself */
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void dura_sqlite_release_orchestration_item(dura_store *s,
                                            struct dura_orch_item *item)
{
	(void)s;
	free(item);
}
