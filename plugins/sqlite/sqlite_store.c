/*
 * SQLite provider: store lifecycle (open/close/stats/describe) and the
 * helpers every operation uses: clock, tokens, statements, transactions,
 * error mapping, scratch buffers and the long-poll wait.
 */

#include "sqlite_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void dura_sqlite_err(struct dura_err *err, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

dura_rc dura_sqlite_fail(struct dura_store *s, int src, const char *what,
                         struct dura_err *err)
{
	dura_sqlite_err(err, "sqlite: %s: %s", what,
	                s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(src));
	switch (src & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DURA_RETRY;
	case SQLITE_CORRUPT: /* the file's pages cannot be decoded */
		return DURA_CORRUPT;
	case SQLITE_NOTADB:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_SCHEMA:
	case SQLITE_ERROR:
		return DURA_CONFIG;
	default: /* CONSTRAINT, FULL, IOERR, NOMEM, TOOBIG, MISMATCH, ... */
		return DURA_PERMANENT;
	}
}

/* ---- clock and tokens ---- */

int64_t dura_sqlite_now(struct dura_store *s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	/* A wall clock may step back; lock and visibility arithmetic must not. */
	if (ms < s->last_ms)
		ms = s->last_ms;
	s->last_ms = ms;
	return ms;
}

int64_t dura_sqlite_after(int64_t now, int64_t ms)
{
	if (ms <= 0)
		return now;
	if (ms > INT64_MAX - now)
		return INT64_MAX;
	return now + ms;
}

uint64_t dura_sqlite_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Tokens: a random base below 2^61 plus a counter, so they stay positive in
 * SQLite's signed 64-bit integers, are never 0, never repeat within a store
 * and are unlikely to be mistaken for another store's. */
uint64_t dura_sqlite_new_token(struct dura_store *s)
{
	return s->next_token++;
}

static uint64_t random_base(void)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = dura_sqlite_mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&r;
	r &= (UINT64_C(1) << 61) - 1;
	return r ? r : 1;
}

/* ---- statements and transactions ---- */

sqlite3_stmt *dura_sqlite_stmt(struct dura_store *s, enum dura_sqlite_stmt id)
{
	sqlite3_stmt *st = s->stmt[id];
	sqlite3_reset(st);
	return st;
}

void dura_sqlite_bind_bytes(sqlite3_stmt *st, int idx, struct dura_bytes b)
{
	/* A NULL pointer would bind SQL NULL; bodies are never NULL. */
	if (!b.data || b.len == 0)
		sqlite3_bind_zeroblob(st, idx, 0);
	else
		sqlite3_bind_blob64(st, idx, b.data, b.len, SQLITE_STATIC);
}

void dura_sqlite_bind_text(sqlite3_stmt *st, int idx, const char *text)
{
	if (text)
		sqlite3_bind_text(st, idx, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, idx);
}

static dura_rc broken(struct dura_store *s, struct dura_err *err)
{
	dura_sqlite_err(err, "sqlite: the in-memory store %s is unusable: a write failed or was "
	                "rolled back, and it keeps no rollback journal", s->cfg.database);
	return DURA_CONFIG;
}

dura_rc dura_sqlite_exec(struct dura_store *s, sqlite3_stmt *st,
                         const char *what, struct dura_err *err)
{
	if (s->broken) {
		sqlite3_reset(st);
		return broken(s, err);
	}
	int src = sqlite3_step(st);
	if (src == SQLITE_DONE || src == SQLITE_ROW) {
		sqlite3_reset(st);
		return DURA_OK;
	}
	dura_rc rc = dura_sqlite_fail(s, src, what, err);
	sqlite3_reset(st);
	if (s->no_journal && !s->journal_lent)
		s->broken = 1; /* it may have written part of its rows */
	return rc;
}

dura_rc dura_sqlite_begin(struct dura_store *s, struct dura_err *err)
{
	s->changes_at_begin = sqlite3_total_changes64(s->db);
	return dura_sqlite_exec(s, dura_sqlite_stmt(s, SQ_BEGIN), "begin", err);
}

dura_rc dura_sqlite_journal(struct dura_store *s, int on, struct dura_err *err)
{
	if (!s->no_journal)
		return DURA_OK;
	int src = sqlite3_exec(s->db, on ? "PRAGMA journal_mode = MEMORY" : "PRAGMA journal_mode = OFF",
	                       NULL, NULL, NULL);
	if (src != SQLITE_OK)
		return dura_sqlite_fail(s, src, "switching the journal", err);
	s->journal_lent = on;
	return DURA_OK;
}

dura_rc dura_sqlite_commit(struct dura_store *s, struct dura_err *err)
{
	dura_rc rc = dura_sqlite_exec(s, dura_sqlite_stmt(s, SQ_COMMIT), "commit", err);
	if (rc == DURA_OK)
		s->n_commits++;
	else
		dura_sqlite_rollback(s);
	return rc;
}

void dura_sqlite_rollback(struct dura_store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return;
	if (s->no_journal && !s->journal_lent &&
	    sqlite3_total_changes64(s->db) != s->changes_at_begin)
		s->broken = 1; /* nothing can undo what the transaction wrote */
	sqlite3_stmt *st = dura_sqlite_stmt(s, SQ_ROLLBACK);
	sqlite3_step(st);
	sqlite3_reset(st);
}

/* ---- scratch buffers ---- */

int dura_sqlite_buf_append(struct dura_sqlite_buf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->len < n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int dura_sqlite_spans_push(struct dura_sqlite_spans *sp,
                           const struct dura_sqlite_span *v)
{
	if (sp->n == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 64;
		struct dura_sqlite_span *nv = realloc(sp->v, cap * sizeof *nv);
		if (!nv)
			return -1;
		sp->v = nv;
		sp->cap = cap;
	}
	sp->v[sp->n++] = *v;
	return 0;
}

dura_rc dura_sqlite_collect_spans(struct dura_store *s, sqlite3_stmt *st,
                                  int body_col, int id_col, int attempts_col,
                                  struct dura_sqlite_spans *out,
                                  const char *what, struct dura_err *err)
{
	out->n = 0;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const void *body = sqlite3_column_blob(st, body_col);
		struct dura_sqlite_span sp = {
			.off = s->scratch.len,
			.len = (size_t)sqlite3_column_bytes(st, body_col),
			.id = id_col < 0 ? 0 : (uint64_t)sqlite3_column_int64(st, id_col),
			.attempts = attempts_col < 0 ? 0 :
			            (uint32_t)sqlite3_column_int64(st, attempts_col),
		};
		if (dura_sqlite_buf_append(&s->scratch, body, sp.len) != 0 ||
		    dura_sqlite_spans_push(out, &sp) != 0) {
			sqlite3_reset(st);
			dura_sqlite_err(err, "sqlite: out of memory %s", what);
			return DURA_RETRY;
		}
	}
	dura_rc rc = DURA_OK;
	if (src != SQLITE_DONE)
		rc = dura_sqlite_fail(s, src, what, err);
	sqlite3_reset(st);
	return rc;
}

/* ---- long poll ---- */

/* Reads a single nullable int64 (NULL -> 0) from a one-row query bound
 * with ?1; -1 when the query fails. */
static int64_t query_min(struct dura_store *s, enum dura_sqlite_stmt id, int64_t arg)
{
	sqlite3_stmt *st = dura_sqlite_stmt(s, id);
	sqlite3_bind_int64(st, 1, arg);
	int64_t v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

int64_t dura_sqlite_next_due(struct dura_store *s, enum dura_sqlite_stmt visible,
                             enum dura_sqlite_stmt expiry)
{
	int64_t now = dura_sqlite_now(s);
	int64_t a = query_min(s, visible, now);
	int64_t b = query_min(s, expiry, now);
	if (a < 0 || b < 0)
		return now + 10; /* cannot tell: look again soon */
	if (a == 0 || (b != 0 && b < a))
		a = b;
	return a;
}

void dura_sqlite_wait(struct dura_store *s, pthread_cond_t *cond,
                      unsigned *waiters, uint64_t deadline_ns,
                      int64_t wake_wall_ms)
{
	uint64_t until = deadline_ns;
	if (wake_wall_ms > 0) {
		int64_t delta_ms = wake_wall_ms - dura_sqlite_now(s);
		if (delta_ms < 0)
			delta_ms = 0;
		/* +1 ms: visibility is decided at ms granularity; waking a little
		 * late beats spinning through a premature wake-up. */
		uint64_t wake = dura_sqlite_mono_ns() + ((uint64_t)delta_ms + 1) * 1000000u;
		if (wake < until)
			until = wake;
	}
	struct timespec ts = {
		.tv_sec = (time_t)(until / 1000000000u),
		.tv_nsec = (long)(until % 1000000000u),
	};
	if (s->cfg.shared) {
		/* other processes' writes wake nobody here: look every 10 ms */
		uint64_t slice = dura_sqlite_mono_ns() + 10000000u;
		if (slice < until) {
			ts.tv_sec = (time_t)(slice / 1000000000u);
			ts.tv_nsec = (long)(slice % 1000000000u);
		}
	}
	(*waiters)++;
	pthread_cond_timedwait(cond, &s->mu, &ts);
	(*waiters)--;
}

void dura_sqlite_wake(pthread_cond_t *cond, unsigned waiters, size_t n)
{
	if (!waiters || !n)
		return;
	if (n >= waiters) {
		pthread_cond_broadcast(cond);
		return;
	}
	/* Each signal releases a different blocked waiter. */
	for (size_t i = 0; i < n; i++)
		pthread_cond_signal(cond);
}

int dura_sqlite_set_instance(struct dura_store *s, const char *text, size_t len)
{
	s->inst.len = 0;
	if (dura_sqlite_buf_append(&s->inst, text, len) != 0 ||
	    dura_sqlite_buf_append(&s->inst, "", 1) != 0)
		return -1;
	return 0;
}

/* ---- lifecycle ---- */

/* A private (no leading '/') memdb database: gone when the connection
 * closes, invisible to every other connection. */
#define MEMDB_URI "file:durabench-memory?vfs=memdb"

static dura_rc pragma(struct dura_store *s, const char *sql, struct dura_err *err)
{
	char *msg = NULL;
	int src = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (src == SQLITE_OK)
		return DURA_OK;
	int prim = src & 0xff;
	if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
		dura_sqlite_err(err, "sqlite: cannot use %s: it is locked by another "
		                "store or process", s->cfg.database);
	else
		dura_sqlite_err(err, "sqlite: cannot use %s: %s (%s)", s->cfg.database,
		                msg ? msg : sqlite3_errstr(src), sql);
	sqlite3_free(msg);
	return prim == SQLITE_BUSY || prim == SQLITE_LOCKED ? DURA_RETRY : DURA_CONFIG;
}

/* max_size as a page count, set once the schema exists (SQLite never
 * lowers the bound below the pages already in use).  The count is a number
 * we computed, so printing it into the pragma builds no SQL from input. */
static dura_rc bound_size(struct dura_store *s, struct dura_err *err)
{
	if (s->cfg.max_size == 0)
		return DURA_OK;
	sqlite3_stmt *st = NULL;
	int64_t page = 0;
	if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		page = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (page <= 0)
		return dura_sqlite_fail(s, sqlite3_errcode(s->db), "reading the page size", err);
	char sql[64];
	uint64_t pages = s->cfg.max_size / (uint64_t)page;
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %llu",
	         (unsigned long long)(pages ? pages : 1));
	return pragma(s, sql, err);
}

static dura_rc configure_db(struct dura_store *s, struct dura_err *err)
{
	dura_rc rc;
	sqlite3_busy_timeout(s->db, (int)s->cfg.busy_timeout_ms);
	if (s->cfg.in_memory) {
		/* No rollback journal: every page a transaction first writes
		 * would otherwise be copied into it (callgrind, bench/ceiling:
		 * 19 % of the instructions per orchestration).  Nothing needs
		 * it: every refusal (lost lock, duplicate event id) is found
		 * before the first write, and a write that fails anyway marks
		 * the store broken (see no_journal in sqlite_store.h).  2 KiB
		 * pages keep the B-trees shallow and the page copies to the
		 * memdb VFS small (14 % fewer instructions than 4 KiB with a
		 * journal; 1 KiB gives the same, 512 B more).  Set before the
		 * schema exists; a file keeps its own page size. */
		s->no_journal = 1;
		rc = pragma(s, "PRAGMA journal_mode = OFF", err);
		/* Debian builds SQLite with SECURE_DELETE: every deleted
		 * row would be zeroed in its page, for a store that lives
		 * only in this process (callgrind, bench/ceiling: 0.7 %
		 * fewer instructions per orchestration). */
		if (rc == DURA_OK)
			rc = pragma(s, "PRAGMA secure_delete = OFF", err);
		/* One private connection: exclusive locking spares every
		 * transaction the VFS lock calls and the check that another
		 * connection changed the database (callgrind: 2 % fewer
		 * instructions per orchestration). */
		if (rc == DURA_OK)
			rc = pragma(s, "PRAGMA locking_mode = EXCLUSIVE", err);
		return rc == DURA_OK ? pragma(s, "PRAGMA page_size = 2048", err) : rc;
	}
	/* Exclusive locking before WAL: no shared-memory index (-shm) and no
	 * lock traffic per transaction; it also keeps a second store from
	 * opening (and resetting) a file that is in use.  A shared store
	 * (scale-out) keeps normal locking so worker processes can attach. */
	if (!s->cfg.shared && (rc = pragma(s, "PRAGMA locking_mode = EXCLUSIVE", err)) != DURA_OK)
		return rc;
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA synchronous = %s", s->cfg.synchronous);
	if ((rc = pragma(s, sql, err)) != DURA_OK)
		return rc;
	sqlite3_stmt *st = NULL;
	int src = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = dura_sqlite_fail(s, src, "PRAGMA journal_mode = WAL", err);
		sqlite3_finalize(st);
		return rc == DURA_RETRY ? rc : DURA_CONFIG;
	}
	const char *mode = (const char *)sqlite3_column_text(st, 0);
	if (!mode || strcmp(mode, "wal") != 0) {
		dura_sqlite_err(err, "sqlite: %s: cannot switch to WAL (journal_mode %s)",
		                s->cfg.database, mode ? mode : "?");
		sqlite3_finalize(st);
		return DURA_CONFIG;
	}
	sqlite3_finalize(st);
	return DURA_OK;
}

/* "<database>.owner" beside a shared file database. */
static int owner_path(const struct dura_store *s, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "%s.owner", s->cfg.database) < len ? 0 : -1;
}

/* A shared file database (scale-out) keeps normal locking so that worker
 * processes can attach, so SQLite's exclusive lock no longer keeps a second
 * store from opening -- and resetting -- a file that is in use.  The store
 * that opens it holds an flock on "<database>.owner" instead; attaching
 * workers do not take it.  flock locks belong to the open file, so a second
 * open in the same process is refused too. */
static dura_rc take_owner_lock(struct dura_store *s, struct dura_err *err)
{
	char path[4096];
	if (owner_path(s, path, sizeof path) != 0) {
		dura_sqlite_err(err, "sqlite: database path too long");
		return DURA_CONFIG;
	}
	s->owner_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->owner_fd < 0) {
		dura_sqlite_err(err, "sqlite: cannot create %s: %s", path, strerror(errno));
		return DURA_CONFIG;
	}
	if (flock(s->owner_fd, LOCK_EX | LOCK_NB) != 0) {
		dura_sqlite_err(err, "sqlite: %s is in use by another store (a shared database "
		                "is opened by one store; workers attach to it)", s->cfg.database);
		close(s->owner_fd);
		s->owner_fd = -1;
		return DURA_CONFIG;
	}
	return DURA_OK;
}

static void release_owner_lock(struct dura_store *s)
{
	char path[4096];
	if (s->owner_fd < 0)
		return;
	if (owner_path(s, path, sizeof path) == 0)
		unlink(path); /* while still holding the lock: no other owner yet */
	close(s->owner_fd);
	s->owner_fd = -1;
}

static void store_free(struct dura_store *s)
{
	release_owner_lock(s);
	dura_sqlite_finalize_all(s);
	if (s->db)
		sqlite3_close_v2(s->db);
	pthread_cond_destroy(&s->orch_cond);
	pthread_cond_destroy(&s->work_cond);
	pthread_mutex_destroy(&s->mu);
	free(s->scratch.data);
	free(s->inst.data);
	free(s->spans.v);
	free(s->spans2.v);
	free(s->pack.data);
	dura_sqlite_config_free(&s->cfg);
	free(s);
}

static void remove_files(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal", NULL };
	for (size_t i = 0; suffix[i]; i++) {
		char name[4096];
		if ((size_t)snprintf(name, sizeof name, "%s%s", path, suffix[i]) < sizeof name)
			unlink(name);
	}
}

dura_rc dura_sqlite_open(const struct dura_option *options, size_t n_options,
                         dura_store **out, struct dura_err *err)
{
	return dura_sqlite_open_store(options, n_options, 0, out, err);
}

dura_rc dura_sqlite_open_store(const struct dura_option *options, size_t n_options, int attach,
                               dura_store **out, struct dura_err *err)
{
	*out = NULL;
	struct dura_store *s = calloc(1, sizeof *s);
	if (!s) {
		dura_sqlite_err(err, "sqlite: out of memory");
		return DURA_CONFIG;
	}
	dura_rc rc = dura_sqlite_config_parse(options, n_options, &s->cfg, err);
	if (rc != DURA_OK) {
		free(s);
		return rc;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->orch_cond, &ca);
	pthread_cond_init(&s->work_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->mu, NULL);
	s->next_token = random_base();
	s->owner_fd = -1;
	if (!attach && s->cfg.shared && !s->cfg.in_memory &&
	    (rc = take_owner_lock(s, err)) != DURA_OK) {
		store_free(s);
		return rc;
	}

	/* NOMUTEX: s->mu already serialises every use of the connection. */
	int flags = SQLITE_OPEN_READWRITE | (attach ? 0 : SQLITE_OPEN_CREATE) |
	            SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
	/* ":memory:" is opened as a private database of the memdb VFS instead
	 * of SQLite's built-in in-memory pager.  The built-in one keeps every
	 * page in its page cache, and a B-tree balance parks a page under a
	 * number past the end of the database (the lock-byte page); every
	 * commit then truncates the cache by walking its whole hash table, so
	 * each commit costs time proportional to the store's size (measured:
	 * 4.7 times the CPU per orchestration with a million instances).  On
	 * memdb the page cache is an ordinary bounded one (cache_size) over
	 * the VFS's memory, so that walk stays small. */
	const char *name = s->cfg.in_memory ? MEMDB_URI : s->cfg.database;
	if (s->cfg.in_memory)
		flags |= SQLITE_OPEN_URI;
	int src = sqlite3_open_v2(name, &s->db, flags, NULL);
	if (src != SQLITE_OK) {
		dura_sqlite_err(err, "sqlite: cannot open %s: %s", s->cfg.database,
		                s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(src));
		store_free(s);
		return DURA_CONFIG;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* More and larger lookaside slots: most of SQLite's small allocations
	 * per statement then never reach malloc.  (A no-op where SQLite is
	 * built with SQLITE_OMIT_LOOKASIDE, as Debian's is: there the
	 * allocator of sqlite_alloc.c takes those allocations.) */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 512, 1024);
	if ((rc = configure_db(s, err)) == DURA_OK &&
	    (rc = attach ? dura_sqlite_schema_check(s, err) : dura_sqlite_schema_reset(s, err)) ==
	            DURA_OK &&
	    (rc = bound_size(s, err)) == DURA_OK &&
	    (rc = dura_sqlite_prepare_all(s, err)) == DURA_OK) {
		*out = s;
		return DURA_OK;
	}
	store_free(s);
	return rc;
}

dura_rc dura_sqlite_close(dura_store *s, int drop, struct dura_err *err)
{
	if (!s)
		return DURA_OK;
	dura_rc rc = DURA_OK;
	dura_sqlite_finalize_all(s);
	int src = sqlite3_close(s->db);
	if (src != SQLITE_OK) {
		dura_sqlite_err(err, "sqlite: closing %s: %s", s->cfg.database,
		                sqlite3_errmsg(s->db));
		rc = DURA_PERMANENT;
		sqlite3_close_v2(s->db); /* closes once the last user is gone */
	}
	s->db = NULL;
	if (drop && !s->cfg.in_memory)
		remove_files(s->cfg.database);
	store_free(s);
	return rc;
}

#define STATS_SET(out, field, v) \
	do { \
		if ((out)->struct_size >= offsetof(struct dura_stats, field) + sizeof((out)->field)) \
			(out)->field = (v); \
	} while (0)

dura_rc dura_sqlite_stats(dura_store *s, struct dura_stats *out)
{
	if (!s || !out)
		return DURA_PERMANENT;
	pthread_mutex_lock(&s->mu);
	/* An embedded database has no server: a "round trip" is one provider
	 * operation.  One connection behind one mutex never loses a race. */
	STATS_SET(out, round_trips, s->n_ops);
	STATS_SET(out, commits, s->n_commits);
	STATS_SET(out, empty_fetches, s->n_empty_fetches);
	STATS_SET(out, lock_conflicts, 0);
	STATS_SET(out, retries, s->n_retries);
	STATS_SET(out, reconnects, 0);
	pthread_mutex_unlock(&s->mu);
	return DURA_OK;
}

void dura_sqlite_describe(dura_store *s, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	if (!s) {
		snprintf(buf, len, "SQLite %s", sqlite3_libversion());
		return;
	}
	if (s->cfg.in_memory)
		snprintf(buf, len, "SQLite %s, :memory:", sqlite3_libversion());
	else
		snprintf(buf, len, "SQLite %s, %s (WAL, synchronous %s%s)",
		         sqlite3_libversion(), s->cfg.database, s->cfg.synchronous,
		         s->cfg.shared ? ", shared" : "");
}
