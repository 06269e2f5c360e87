/*
 * One provider call = one prepared statement executed with bound parameters
 * (binary protocol: bodies are bytes, never SQL text), then every result
 * set the procedure produced read back into memory.  A CALL's results and
 * its final status arrive together after the execute, so the whole call is
 * one round trip.
 *
 * Internal retries: a deadlock or lock wait timeout (the transaction rolled
 * back, connection fine) is retried at once (stats.lock_conflicts); a
 * broken connection is closed and the call retried on a fresh one when the
 * policy allows (reads, fetches, keyed enqueues; a write whose reply was
 * lost may have committed, so it returns DURA_RETRY to the caller instead).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdb_internal.h"

#define MAX_ATTEMPTS 5
#define SERVER_WAIT_STEP_MS 100 /* between connection attempts to a server that is down */
#define CELL_START 256 /* first buffer per column; longer values re-fetched */

void dura_mdb_params_init(struct dura_mdb_params *p)
{
	memset(p, 0, sizeof *p);
}

static MYSQL_BIND *next_bind(struct dura_mdb_params *p)
{
	if (p->n >= MDB_MAX_PARAMS)
		abort(); /* a programming error: statements have fixed arity */
	return &p->bind[p->n++];
}

void dura_mdb_param_int(struct dura_mdb_params *p, long long v)
{
	int i = p->n;
	MYSQL_BIND *b = next_bind(p);
	p->ints[i] = v;
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = &p->ints[i];
}

void dura_mdb_param_bytes(struct dura_mdb_params *p, const void *data, size_t len)
{
	int i = p->n;
	MYSQL_BIND *b = next_bind(p);
	static const char empty[1] = "";
	p->lengths[i] = (unsigned long)len;
	b->buffer_type = MYSQL_TYPE_BLOB;
	b->buffer = (void *)(data ? data : empty);
	b->buffer_length = (unsigned long)len;
	b->length = &p->lengths[i];
}

void dura_mdb_param_null(struct dura_mdb_params *p)
{
	int i = p->n;
	MYSQL_BIND *b = next_bind(p);
	p->nulls[i] = 1;
	b->buffer_type = MYSQL_TYPE_NULL;
	b->is_null = &p->nulls[i];
}

void dura_mdb_param_text(struct dura_mdb_params *p, const char *s)
{
	if (s)
		dura_mdb_param_bytes(p, s, strlen(s));
	else
		dura_mdb_param_null(p);
}

void dura_mdb_result_free(struct dura_mdb_result *r)
{
	if (!r)
		return;
	for (size_t s = 0; s < r->n_sets; s++) {
		struct dura_mdb_set *set = &r->sets[s];
		for (size_t i = 0; i < set->n_rows * set->n_cols; i++)
			free(set->cells[i].data);
		free(set->cells);
	}
	free(r->sets);
	memset(r, 0, sizeof *r);
}

const struct dura_mdb_cell *dura_mdb_cell(const struct dura_mdb_result *r, size_t set,
                                          size_t row, size_t col)
{
	if (set >= r->n_sets)
		return NULL;
	const struct dura_mdb_set *s = &r->sets[set];
	if (row >= s->n_rows || col >= s->n_cols)
		return NULL;
	return &s->cells[row * s->n_cols + col];
}

long long dura_mdb_int(const struct dura_mdb_result *r, size_t set, size_t row, size_t col,
                       long long if_null)
{
	const struct dura_mdb_cell *c = dura_mdb_cell(r, set, row, col);
	if (!c || c->is_null || !c->data)
		return if_null;
	return strtoll((const char *)c->data, NULL, 10);
}

long long dura_mdb_result_pop_int(struct dura_mdb_result *r, long long if_none)
{
	if (r->n_sets == 0)
		return if_none;
	long long v = dura_mdb_int(r, 0, 0, 0, if_none);
	struct dura_mdb_set *first = &r->sets[0];
	for (size_t i = 0; i < first->n_rows * first->n_cols; i++)
		free(first->cells[i].data);
	free(first->cells);
	memmove(&r->sets[0], &r->sets[1], (r->n_sets - 1) * sizeof r->sets[0]);
	r->n_sets--;
	return v;
}

/* Reads the current result set of stmt (every column fetched as bytes:
 * the client converts numbers to text).  0, or -1 (error on stmt, or
 * memory: *oom set). */
static int read_set(MYSQL_STMT *stmt, struct dura_mdb_set *set, int *oom)
{
	unsigned n_cols = mysql_stmt_field_count(stmt);
	MYSQL_BIND *bind = calloc(n_cols, sizeof *bind);
	unsigned long *lens = calloc(n_cols, sizeof *lens);
	my_bool *nulls = calloc(n_cols, sizeof *nulls);
	char *bufs = malloc((size_t)n_cols * CELL_START);
	size_t cap = 0;
	int rc = -1;
	set->n_cols = n_cols;
	if (!bind || !lens || !nulls || !bufs)
		goto oom;
	for (unsigned c = 0; c < n_cols; c++) {
		bind[c].buffer_type = MYSQL_TYPE_BLOB;
		bind[c].buffer = bufs + (size_t)c * CELL_START;
		bind[c].buffer_length = CELL_START;
		bind[c].length = &lens[c];
		bind[c].is_null = &nulls[c];
	}
	if (mysql_stmt_bind_result(stmt, bind) != 0)
		goto out;
	for (;;) {
		int f = mysql_stmt_fetch(stmt);
		if (f == MYSQL_NO_DATA)
			break;
		if (f != 0 && f != MYSQL_DATA_TRUNCATED)
			goto out;
		if (set->n_rows == cap) {
			cap = cap ? cap * 2 : 8;
			struct dura_mdb_cell *cells = realloc(set->cells, cap * n_cols * sizeof *cells);
			if (!cells)
				goto oom;
			set->cells = cells;
		}
		struct dura_mdb_cell *row = &set->cells[set->n_rows * n_cols];
		memset(row, 0, n_cols * sizeof *row);
		set->n_rows++;
		for (unsigned c = 0; c < n_cols; c++) {
			row[c].is_null = nulls[c] != 0;
			if (row[c].is_null)
				continue;
			row[c].len = lens[c];
			row[c].data = malloc(lens[c] + 1);
			if (!row[c].data)
				goto oom;
			if (lens[c] <= CELL_START) {
				memcpy(row[c].data, bind[c].buffer, lens[c]);
			} else {
				MYSQL_BIND big = { 0 };
				unsigned long got = 0;
				big.buffer_type = MYSQL_TYPE_BLOB;
				big.buffer = row[c].data;
				big.buffer_length = lens[c];
				big.length = &got;
				if (mysql_stmt_fetch_column(stmt, &big, c, 0) != 0)
					goto out;
			}
			row[c].data[lens[c]] = '\0';
		}
	}
	rc = 0;
	goto out;
oom:
	*oom = 1;
out:
	free(bind);
	free(lens);
	free(nulls);
	free(bufs);
	return rc;
}

/* Executes stmt and reads all its results.  0, or the error number (and
 * err filled).  The statement is left ready for the next execute. */
static unsigned execute(MYSQL_STMT *stmt, struct dura_mdb_params *p,
                        struct dura_mdb_result *res, struct dura_err *err)
{
	int oom = 0;
	if (p->n && mysql_stmt_bind_param(stmt, p->bind) != 0)
		goto fail;
	if (mysql_stmt_execute(stmt) != 0)
		goto fail;
	for (;;) {
		if (mysql_stmt_field_count(stmt) > 0) {
			struct dura_mdb_set *sets =
				realloc(res->sets, (res->n_sets + 1) * sizeof *sets);
			if (!sets) {
				oom = 1;
				goto fail;
			}
			res->sets = sets;
			memset(&sets[res->n_sets], 0, sizeof *sets);
			res->n_sets++;
			if (read_set(stmt, &sets[res->n_sets - 1], &oom) != 0)
				goto fail;
			mysql_stmt_free_result(stmt);
		}
		int more = mysql_stmt_next_result(stmt);
		if (more < 0)
			break;
		if (more > 0)
			goto fail;
	}
	return 0;
fail:;
	unsigned e = oom ? 0 : mysql_stmt_errno(stmt);
	if (oom)
		dura_mdb_err(err, "out of memory reading a MariaDB result");
	else
		dura_mdb_err(err, "MariaDB error %u (%s): %s", e, mysql_stmt_sqlstate(stmt),
		             mysql_stmt_error(stmt));
	/* whatever is left unread would poison the next call on this
	 * connection; reset drops it (or the connection is reset anyway) */
	mysql_stmt_reset(stmt);
	return oom ? 2008 /* CR_OUT_OF_MEMORY */ : (e ? e : 2000);
}

static void pause_before_retry(int attempt)
{
	struct timespec ts = { 0, (long)attempt * 2000000L }; /* 2, 4, 6 ... ms */
	nanosleep(&ts, NULL);
}

/* 1 after a pause if the server may still come back (before *reach_by,
 * set to now + connect_timeout at the first failure), else 0. */
static int wait_for_server(struct dura_store *st, uint64_t *reach_by)
{
	uint64_t now = dura_mdb_now_ns();
	if (*reach_by == 0)
		*reach_by = now + (uint64_t)st->opt.connect_timeout_ms * 1000000ull;
	if (now >= *reach_by)
		return 0;
	struct timespec ts = { 0, SERVER_WAIT_STEP_MS * 1000000L };
	nanosleep(&ts, NULL);
	return 1;
}

dura_rc dura_mdb_call(struct dura_store *st, enum dura_mdb_stmt s, struct dura_mdb_params *p,
                      enum dura_mdb_retry policy, struct dura_mdb_result *out,
                      struct dura_err *err)
{
	struct dura_mdb_result tmp = { 0 };
	struct dura_mdb_result *res = out ? out : &tmp;
	memset(res, 0, sizeof *res);
	dura_rc rc = DURA_RETRY;
	uint64_t reach_by = 0;
	for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
		if (attempt > 1) {
			atomic_fetch_add(&st->stats.retries, 1);
			pause_before_retry(attempt - 1);
		}
		struct dura_mdb_conn *c;
		int unreachable;
		rc = dura_mdb_pool_acquire(st, &c, &unreachable, err);
		if (rc != DURA_OK) {
			/* nothing was sent: always safe to retry.  A server that
			 * refuses connections may be restarting: wait for it up
			 * to connect_timeout before handing the caller RETRY */
			if (unreachable && wait_for_server(st, &reach_by))
				attempt--;
			continue;
		}
		MYSQL_STMT *stmt;
		rc = dura_mdb_stmt(st, c, s, &stmt, err);
		if (rc != DURA_OK) {
			dura_mdb_pool_release(st, c);
			if (rc == DURA_RETRY)
				continue; /* nothing was executed */
			break;
		}
		atomic_fetch_add(&st->stats.round_trips, 1);
		unsigned e = execute(stmt, p, res, err);
		if (e == 0) {
			dura_mdb_pool_release(st, c);
			dura_mdb_result_free(&tmp);
			return DURA_OK;
		}
		dura_mdb_result_free(res);
		if (dura_mdb_errno_broken(e))
			c->broken = 1; /* reconnected on its next acquire */
		dura_mdb_pool_release(st, c);
		rc = dura_mdb_errno_rc(e);
		if (rc != DURA_RETRY)
			break;
		if (dura_mdb_errno_rolled_back(e)) {
			atomic_fetch_add(&st->stats.lock_conflicts, 1);
			continue;
		}
		if (policy != MDB_RETRY_ALWAYS)
			break;
	}
	return rc;
}
