/*
 * SQLite provider: the worker queue (peek-lock per item; batch fetches lock
 * each item under its own token, and batch acks commit together).
 *
 * A locked item carries its token and locked_until; an item whose lock
 * expired is simply eligible again and the next fetch overwrites the token,
 * so the old holder's ack finds nothing and gets LOCK_LOST.  Operations that
 * are a single statement run without an explicit transaction (SQLite makes
 * each statement atomic); the pick and the lock of a fetch cannot be split
 * by anyone because the whole operation holds s->mu.
 */

#include "sqlite_store.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

dura_rc dura_sqlite_insert_work_item(struct dura_store *s,
                                     const struct dura_message *m,
                                     int64_t now, struct dura_err *err)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_WORK_INSERT);
	dura_sqlite_bind_text(st, 1, m->instance);
	/* A negative delay (a timer already due) means now, never earlier. */
	sqlite3_bind_int64(st, 2, dura_sqlite_after(now, m->delay_ms > 0 ? m->delay_ms : 0));
	dura_sqlite_bind_bytes(st, 3, m->body);
	return dura_sqlite_exec(s, st, "inserting a work item", err);
}

/* Copies the current row of SQ_WORK_PICK into one malloc block (struct,
 * body, NUL-terminated instance id) that release_work_item frees.  The row's
 * seq is parked in ->token until the item is locked.  NULL when out of
 * memory. */
static struct dura_work_item *item_from_row(sqlite3_stmt *st)
{
	const char *inst = (const char *)sqlite3_column_text(st, 1);
	size_t inst_len = (size_t)sqlite3_column_bytes(st, 1);
	const void *body = sqlite3_column_blob(st, 2);
	size_t body_len = (size_t)sqlite3_column_bytes(st, 2);

	uint8_t *block = malloc(sizeof(struct dura_work_item) + body_len + inst_len + 1);
	if (!block)
		return NULL;
	struct dura_work_item *item = (struct dura_work_item *)block;
	uint8_t *bytes = block + sizeof *item;
	char *inst_copy = (char *)(bytes + body_len);
	if (body_len)
		memcpy(bytes, body, body_len);
	if (inst_len)
		memcpy(inst_copy, inst, inst_len);
	inst_copy[inst_len] = '\0';
	item->token = (uint64_t)sqlite3_column_int64(st, 0);
	item->instance = inst_copy;
	item->body.data = bytes;
	item->body.len = body_len;
	item->attempts = (uint32_t)sqlite3_column_int64(st, 3) + 1;
	return item;
}

static void free_items(struct dura_work_item **items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i]);
		items[i] = NULL;
	}
}

/* Picks up to max visible unlocked items, oldest first, and locks each
 * under its own token, exactly as a single fetch does (attempts + 1,
 * locked until now + lock_ms), under s->mu.  in_txn: the caller holds a
 * transaction and commits it; otherwise several items are locked in a
 * transaction of their own (one commit) and a single item needs none.  On
 * DURA_OK items[0..*n) are set; on anything else nothing is locked (the
 * caller rolls its transaction back) and *n is 0. */
static dura_rc take_items(struct dura_store *s, uint32_t lock_ms, size_t max, int in_txn,
                          struct dura_work_item **items, size_t *n, struct dura_err *err)
{
	*n = 0;
	if (max == 0)
		return DURA_EMPTY;
	int64_t now = dura_sqlite_now(s);
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_WORK_PICK);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	/* Collect first, lock afterwards: updating rows of the table a SELECT
	 * is still stepping through is best avoided. */
	size_t got = 0;
	int src = SQLITE_DONE;
	while (got < max && (src = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(items[got] = item_from_row(st))) {
			sqlite3_reset(st);
			free_items(items, got);
			dura_sqlite_err(err, "sqlite: out of memory building a work item");
			return DURA_RETRY;
		}
		got++;
	}
	if (got < max && src != SQLITE_DONE) {
		dura_rc rc = dura_sqlite_fail(s, src, "picking work items", err);
		sqlite3_reset(st);
		free_items(items, got);
		return rc;
	}
	sqlite3_reset(st);
	if (got == 0)
		return DURA_EMPTY;

	int own_txn = !in_txn && got > 1;
	dura_rc rc = DURA_OK;
	if (own_txn && (rc = dura_sqlite_begin(s, err)) != DURA_OK) {
		free_items(items, got);
		return rc;
	}
	int64_t until = dura_sqlite_after(now, lock_ms);
	for (size_t i = 0; i < got && rc == DURA_OK; i++) {
		int64_t seq = (int64_t)items[i]->token;
		items[i]->token = dura_sqlite_new_token(s);
		st = dura_sqlite_stmt(s, SQ_WORK_LOCK);
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_bind_int64(st, 2, (int64_t)items[i]->token);
		sqlite3_bind_int64(st, 3, until);
		rc = dura_sqlite_exec(s, st, "locking a work item", err);
	}
	if (rc == DURA_OK && own_txn)
		rc = dura_sqlite_commit(s, err); /* counts the commit */
	else if (rc == DURA_OK && !in_txn)
		s->n_commits++;
	if (rc != DURA_OK) {
		if (!in_txn)
			dura_sqlite_rollback(s);
		free_items(items, got);
		return rc;
	}
	*n = got;
	return DURA_OK;
}

static dura_rc try_fetch(struct dura_store *s, uint32_t lock_ms, size_t max,
                         struct dura_work_item **items, size_t *n,
                         struct dura_err *err)
{
	return take_items(s, lock_ms, max, 0, items, n, err);
}

/* Fetch with long poll (takes s->mu). */
static dura_rc fetch_wait(dura_store *s, uint32_t lock_ms, uint32_t wait_ms,
                          size_t max, struct dura_work_item **items, size_t *n,
                          struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	uint64_t deadline = dura_sqlite_mono_ns() + (uint64_t)wait_ms * 1000000u;
	dura_rc rc;
	for (;;) {
		rc = try_fetch(s, lock_ms, max, items, n, err);
		if (rc != DURA_EMPTY || wait_ms == 0 || dura_sqlite_mono_ns() >= deadline)
			break;
		dura_sqlite_wait(s, &s->work_cond, &s->work_waiters, deadline,
		                 dura_sqlite_next_due(s, SQ_WORK_NEXT_VISIBLE,
		                                      SQ_WORK_NEXT_EXPIRY));
	}
	if (rc == DURA_EMPTY)
		s->n_empty_fetches++;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

dura_rc dura_sqlite_fetch_work_item(dura_store *s, uint32_t lock_ms,
                                    uint32_t wait_ms,
                                    struct dura_work_item **out,
                                    struct dura_err *err)
{
	size_t n;
	*out = NULL;
	return fetch_wait(s, lock_ms, wait_ms, 1, out, &n, err);
}

dura_rc dura_sqlite_fetch_work_items(dura_store *s, uint32_t lock_ms,
                                     uint32_t wait_ms, size_t max_items,
                                     struct dura_work_item **items,
                                     size_t *n_items, struct dura_err *err)
{
	*n_items = 0;
	if (max_items == 0) {
		dura_sqlite_err(err, "sqlite: fetch_work_items: max_items is 0");
		return DURA_PERMANENT;
	}
	return fetch_wait(s, lock_ms, wait_ms, max_items, items, n_items, err);
}

static dura_rc lock_lost(struct dura_err *err, uint64_t token)
{
	dura_sqlite_err(err, "sqlite: token %" PRIu64 " holds no work item "
	                "(unknown, expired or already used)", token);
	return DURA_LOCK_LOST;
}

/* Deletes the item token holds and enqueues its completion, if any
 * (inside a transaction, or alone as one autocommit statement when there
 * is no completion; under s->mu).  Returns the number of completions
 * enqueued through *enqueued. */
static dura_rc ack_one(struct dura_store *s, uint64_t token,
                       const struct dura_message *completion, int64_t now,
                       size_t *enqueued, struct dura_err *err)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_WORK_DELETE);
	sqlite3_bind_int64(st, 1, (int64_t)token);
	sqlite3_bind_int64(st, 2, now);
	dura_rc rc = dura_sqlite_exec(s, st, "deleting a work item", err);
	if (rc == DURA_OK && sqlite3_changes(s->db) == 0)
		return lock_lost(err, token);
	if (rc == DURA_OK && DURA_HAS_COMPLETION(completion)) {
		rc = dura_sqlite_insert_orch_message(s, completion, now, err);
		++*enqueued;
	}
	return rc;
}

/* The acks of ack_work_items_and_fetch (inside a transaction, under
 * s->mu): a lost token gets DURA_LOCK_LOST in results[i] and the others go
 * on; any other failure is the call's. */
static dura_rc ack_many(struct dura_store *s, size_t n, const uint64_t *tokens,
                        const struct dura_message *completions, dura_rc *results,
                        int64_t now, size_t *enqueued, struct dura_err *err)
{
	for (size_t i = 0; i < n; i++) {
		dura_rc rc = ack_one(s, tokens[i], completions ? &completions[i] : NULL, now,
		                     enqueued, err);
		if (rc != DURA_OK && rc != DURA_LOCK_LOST)
			return rc;
		results[i] = rc;
	}
	return DURA_OK;
}

/* Opens a transaction and applies the acks (one, or many when results is
 * set); on failure rolls it back.  On DURA_OK the caller commits. */
static dura_rc begin_acks(struct dura_store *s, size_t n, const uint64_t *tokens,
                          const struct dura_message *completions, dura_rc *results,
                          int64_t now, size_t *enqueued, struct dura_err *err)
{
	dura_rc rc = dura_sqlite_begin(s, err);
	if (rc != DURA_OK)
		return rc;
	rc = results ? ack_many(s, n, tokens, completions, results, now, enqueued, err)
	             : ack_one(s, tokens[0], completions, now, enqueued, err);
	if (rc != DURA_OK)
		dura_sqlite_rollback(s);
	return rc;
}

/* One or many acks in their own transaction (under s->mu); n_tokens == 0
 * with tokens == &token: a single ack (no results array).  A single ack
 * without completion is one statement and needs no transaction.  Wakes
 * orchestration fetchers for the completions it enqueued. */
static dura_rc ack_alone(struct dura_store *s, size_t n, const uint64_t *tokens,
                         const struct dura_message *completions, dura_rc *results,
                         struct dura_err *err)
{
	int64_t now = dura_sqlite_now(s);
	size_t enqueued = 0;
	dura_rc rc;
	if (!results && !DURA_HAS_COMPLETION(completions)) {
		if ((rc = ack_one(s, tokens[0], NULL, now, &enqueued, err)) == DURA_OK)
			s->n_commits++; /* a single statement commits by itself */
		return rc;
	}
	if ((rc = begin_acks(s, n, tokens, completions, results, now, &enqueued, err)) != DURA_OK)
		return rc;
	if ((rc = dura_sqlite_commit(s, err)) != DURA_OK)
		return rc;
	dura_sqlite_wake(&s->orch_cond, s->orch_waiters, enqueued);
	return DURA_OK;
}

/* Acks (one, or many when results is set) and fetches up to max_next
 * items in one transaction: one BEGIN/COMMIT, and the queue pages both
 * touch are journaled once.  If the fetch part fails, everything is rolled
 * back and the acks are redone alone, so they stand whatever the fetch
 * does.  Under s->mu. */
static dura_rc ack_and_take(struct dura_store *s, size_t n, const uint64_t *tokens,
                            const struct dura_message *completions, dura_rc *results,
                            uint32_t lock_ms, size_t max_next,
                            struct dura_work_item **next, size_t *n_next,
                            struct dura_err *err)
{
	int64_t now = dura_sqlite_now(s);
	size_t enqueued = 0;
	dura_rc rc = begin_acks(s, n, tokens, completions, results, now, &enqueued, err);
	if (rc != DURA_OK)
		return rc;
	struct dura_err ferr;
	dura_rc frc = take_items(s, lock_ms, max_next, 1, next, n_next, &ferr);
	if (frc != DURA_OK && frc != DURA_EMPTY) {
		dura_sqlite_rollback(s);
		return ack_alone(s, n, tokens, completions, results, err);
	}
	if ((rc = dura_sqlite_commit(s, err)) != DURA_OK) {
		free_items(next, *n_next);
		*n_next = 0;
		return rc;
	}
	if (frc == DURA_EMPTY && max_next > 0)
		s->n_empty_fetches++;
	dura_sqlite_wake(&s->orch_cond, s->orch_waiters, enqueued);
	return DURA_OK;
}

static dura_rc check_completion(const struct dura_message *completion, struct dura_err *err)
{
	if (completion && !completion->instance) {
		dura_sqlite_err(err, "sqlite: ack_work_item: completion has no instance id");
		return DURA_PERMANENT;
	}
	return DURA_OK;
}

dura_rc dura_sqlite_ack_work_item(dura_store *s, uint64_t token,
                                  const struct dura_message *completion,
                                  struct dura_err *err)
{
	dura_rc rc = check_completion(completion, err);
	if (rc != DURA_OK)
		return rc;
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	rc = ack_alone(s, 1, &token, completion, NULL, err);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

dura_rc dura_sqlite_ack_work_item_and_fetch(dura_store *s, uint64_t token,
                                            const struct dura_message *completion,
                                            uint32_t lock_ms,
                                            struct dura_work_item **next,
                                            struct dura_err *err)
{
	*next = NULL;
	dura_rc rc = check_completion(completion, err);
	if (rc != DURA_OK)
		return rc;
	size_t n_next = 0;
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	rc = ack_and_take(s, 1, &token, completion, NULL, lock_ms, 1, next, &n_next, err);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

dura_rc dura_sqlite_ack_work_items_and_fetch(dura_store *s, size_t n,
                                             const uint64_t *tokens,
                                             const struct dura_message *completions,
                                             dura_rc *results, uint32_t lock_ms,
                                             size_t max_next,
                                             struct dura_work_item **next,
                                             size_t *n_next, struct dura_err *err)
{
	*n_next = 0;
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	dura_rc rc = DURA_OK;
	if (n == 0) {
		struct dura_err ignored; /* a failed fetch just returns nothing */
		if (max_next > 0 &&
		    try_fetch(s, lock_ms, max_next, next, n_next, &ignored) == DURA_EMPTY)
			s->n_empty_fetches++;
	} else {
		rc = ack_and_take(s, n, tokens, completions, results, lock_ms, max_next, next,
		                  n_next, err);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Runs a token-guarded single-statement update (?1 token, ?2 now, ?3 time). */
static dura_rc token_update(dura_store *s, enum dura_sqlite_stmt id,
                            uint64_t token, uint32_t ms, const char *what,
                            struct dura_err *err)
{
	pthread_mutex_lock(&s->mu);
	s->n_ops++;
	int64_t now = dura_sqlite_now(s);
	sqlite3_stmt *st = dura_sqlite_stmt(s, id);
	sqlite3_bind_int64(st, 1, (int64_t)token);
	sqlite3_bind_int64(st, 2, now);
	/* An abandon without delay binds 0 so that max(visible_at, ?3) keeps
	 * the item's place in line; a renewal always extends from now. */
	sqlite3_bind_int64(st, 3, id == SQ_WORK_RELEASE && ms == 0 ? 0 :
	                          dura_sqlite_after(now, ms));
	dura_rc rc = dura_sqlite_exec(s, st, what, err);
	if (rc == DURA_OK && sqlite3_changes(s->db) == 0) {
		rc = lock_lost(err, token);
	} else if (rc == DURA_OK) {
		s->n_commits++;
		if (id == SQ_WORK_RELEASE)
			dura_sqlite_wake(&s->work_cond, s->work_waiters, 1);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

dura_rc dura_sqlite_abandon_work_item(dura_store *s, uint64_t token,
                                      uint32_t delay_ms, struct dura_err *err)
{
	return token_update(s, SQ_WORK_RELEASE, token, delay_ms,
	                    "abandoning a work item", err);
}

dura_rc dura_sqlite_renew_work_lock(dura_store *s, uint64_t token,
                                    uint32_t extend_ms, struct dura_err *err)
{
	return token_update(s, SQ_WORK_RENEW, token, extend_ms,
	                    "renewing a work item lock", err);
}

void dura_sqlite_release_work_item(dura_store *s, struct dura_work_item *item)
{
	(void)s;
	free(item);
}
