
/*
 * Long polling: idle fetchers wait on a condition variable instead of
 * querying the server in a loop.
 *
 * Wake-ups come from two places:
 *   - this store's own calls that create work (enqueue, acks, abandons)
 *     bump the queue's generation as soon as they return: immediate, no
 *     server involvement, and through an emulated long link it saves the
 *     notification's half round trip;
 *   - one listener connection per store LISTENs on the schema's channel;
 *     the store's functions NOTIFY it ('o' / 'w') when they create visible
 *     work while fetchers are waiting.  Notifications sent by our own pool
 *     backends were already handled locally and are ignored (be_pid), so a
 *     waiter is not woken twice for one event; others (another client of
 *     the schema) wake the waiters.
 * Delayed messages and lock expiries: an empty fetch returns the time until
 * the next message becomes visible or the next lock expires, and a waiter
 * wakes up then.  Until that time, and as long as the generation has not
 * moved, the queue is "known empty" and a long poll skips the round trip
 * entirely (re-checked at least once a second as a safety net).
 *
 * No wake-up may be lost, since a lost one costs that safety second.  The
 * rule that guarantees it: a fetcher reads the generation (under mu) before
 * its server fetch; whatever can make work fetchable bumps the generation
 * (under mu) after its commit; an empty result is noted, and a waiter goes
 * to sleep, only if the generation is still the one read before the fetch.
 * The events that make work fetchable are enqueues, acks that create items,
 * abandons, the passing of a visibility or lock-expiry time (next_ms) and
 * the release of an instance lock by an ack: the last creates nothing, but
 * frees messages that arrived while the lock was held
 * (dura_pg_lock_released).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg_internal.h"

#define KNOWN_EMPTY_MAX_NS (1000ull * 1000000ull)
#define LISTENER_RETRY_MS 500

uint64_t dura_pg_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

dura_rc dura_pg_waitq_init(struct dura_pg_waitq *w)
{
	memset(w, 0, sizeof *w);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&w->total_waiters, 0);
	atomic_init(&w->peers, 0);
	return DURA_OK;
}

void dura_pg_waitq_destroy(struct dura_pg_waitq *w)
{
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}

/* n items may have appeared: owes up to n waiters a wake-up.  Under w->mu. */
static void give_tickets(struct dura_pg_waitq *w, enum dura_pg_queue q, unsigned n)
{
	if (n == 0 || w->waiters[q] == 0)
		return;
	unsigned t = w->tickets[q] + (n > w->waiters[q] ? w->waiters[q] : n);
	w->tickets[q] = t > w->waiters[q] ? w->waiters[q] : t;
	pthread_cond_broadcast(&w->cv);
}

void dura_pg_wake(struct dura_store *st, enum dura_pg_queue q, unsigned n)
{
	struct dura_pg_waitq *w = &st->waitq;
	if (n == 0)
		return;
	pthread_mutex_lock(&w->mu);
	w->gen[q]++;
	w->empty_valid[q] = 0;
	give_tickets(w, q, n);
	pthread_mutex_unlock(&w->mu);
}

void dura_pg_wake_uncertain(struct dura_store *st)
{
	dura_pg_wake(st, PG_Q_ORCH, PG_WAKE_ALL);
	dura_pg_wake(st, PG_Q_WORK, PG_WAKE_ALL);
}

int dura_pg_notify_wanted(struct dura_store *st)
{
	return atomic_load_explicit(&st->waitq.peers, memory_order_relaxed) &&
	       atomic_load_explicit(&st->waitq.total_waiters, memory_order_relaxed) != 0;
}

uint64_t dura_pg_gen(struct dura_store *st, enum dura_pg_queue q)
{
	struct dura_pg_waitq *w = &st->waitq;
	pthread_mutex_lock(&w->mu);
	uint64_t g = w->gen[q];
	pthread_mutex_unlock(&w->mu);
	return g;
}

/* Records "known empty" at generation gen.  Under w->mu. */
static void set_empty(struct dura_pg_waitq *w, enum dura_pg_queue q, uint64_t gen,
                      const struct dura_pg_empty *e, uint64_t now)
{
	uint64_t until = now + KNOWN_EMPTY_MAX_NS;
	if (e->next_ms >= 0 && (uint64_t)e->next_ms * 1000000ull < KNOWN_EMPTY_MAX_NS)
		until = now + (uint64_t)e->next_ms * 1000000ull;
	w->empty_valid[q] = 1;
	w->empty_gen[q] = gen;
	w->empty_until[q] = until;
	w->blocked[q] = e->blocked;
	if (w->waiters[q]) /* they may be sleeping past `until` */
		pthread_cond_broadcast(&w->cv);
}

void dura_pg_note_empty(struct dura_store *st, enum dura_pg_queue q,
                        uint64_t gen, const struct dura_pg_empty *e)
{
	struct dura_pg_waitq *w = &st->waitq;
	uint64_t now = dura_pg_now_ns();
	pthread_mutex_lock(&w->mu);
	if (w->gen[q] == gen)
		set_empty(w, q, gen, e, now);
	else if (e->blocked)
		w->blocked[q] = 1; /* stale as "empty", still news about locks */
	pthread_mutex_unlock(&w->mu);
}

/*
 * Why a lock release may have to wake someone even when the call created
 * nothing: the ack checks for messages that arrived for its instance during
 * the turn (v_more), but a message that commits after that check and before
 * the ack commits is seen by neither.  Its producer's wake-up came while the
 * instance was still locked, so the fetcher it woke found the message
 * blocked and noted the queue empty: without a wake-up here the message
 * waited for the safety re-check (up to a second).
 *
 * Such a message always moves the generation during the call: it committed
 * after the ack's check, so after gen was read, and its producer bumps the
 * generation after its commit.  If that bump has not happened yet, it will
 * wake a fetcher once the lock is gone.  So a call during which the
 * generation did not move needs nothing beyond wake-ups for what it
 * created (and leaves a "known empty" state alone: idle pollers keep
 * skipping their round trips).  One during which it moved invalidates
 * "known empty" and, if a fetch saw messages blocked by locks, wakes one
 * waiter more.
 */
void dura_pg_lock_released(struct dura_store *st, enum dura_pg_queue q, unsigned n,
                           uint64_t gen, const struct dura_pg_empty *fetched)
{
	struct dura_pg_waitq *w = &st->waitq;
	uint64_t now = dura_pg_now_ns();
	pthread_mutex_lock(&w->mu);
	int moved = w->gen[q] != gen;
	if (!moved && n == 0) {
		/* our fetch part ran after the release, in the same transaction:
		 * the freshest view there is at this generation */
		if (fetched)
			set_empty(w, q, gen, fetched, now);
	} else {
		unsigned extra = moved && w->blocked[q] ? 1 : 0;
		w->gen[q]++;
		w->empty_valid[q] = 0;
		/* what our own fetch part saw blocked waits for other locks */
		if (fetched && fetched->blocked)
			w->blocked[q] = 1;
		give_tickets(w, q, n > PG_WAKE_ALL - extra ? PG_WAKE_ALL : n + extra);
	}
	pthread_mutex_unlock(&w->mu);
}

int dura_pg_known_empty(struct dura_store *st, enum dura_pg_queue q)
{
	struct dura_pg_waitq *w = &st->waitq;
	uint64_t now = dura_pg_now_ns();
	pthread_mutex_lock(&w->mu);
	int r = w->empty_valid[q] && w->empty_gen[q] == w->gen[q] &&
	        now < w->empty_until[q];
	pthread_mutex_unlock(&w->mu);
	return r;
}

int dura_pg_wait(struct dura_store *st, enum dura_pg_queue q, uint64_t gen,
                 uint64_t deadline_ns)
{
	struct dura_pg_waitq *w = &st->waitq;
	int again = 0;
	pthread_mutex_lock(&w->mu);
	if (w->gen[q] != gen) {
		/* something appeared while our fetch ran: look again */
		pthread_mutex_unlock(&w->mu);
		return dura_pg_now_ns() < deadline_ns;
	}
	w->waiters[q]++;
	atomic_fetch_add(&w->total_waiters, 1);
	for (;;) {
		if (w->tickets[q] > 0) {
			w->tickets[q]--;
			again = 1;
			break;
		}
		uint64_t now = dura_pg_now_ns();
		if (now >= deadline_ns)
			break;
		uint64_t wake = deadline_ns;
		int known = w->empty_valid[q] && w->empty_gen[q] == w->gen[q];
		if (known) {
			if (now >= w->empty_until[q]) {
				again = 1; /* something becomes visible now */
				break;
			}
			if (w->empty_until[q] < wake)
				wake = w->empty_until[q];
		} else if (now + KNOWN_EMPTY_MAX_NS < wake) {
			/* nobody knows when to look again: not past the safety
			 * interval */
			wake = now + KNOWN_EMPTY_MAX_NS;
		}
		struct timespec ts = { (time_t)(wake / 1000000000ull),
		                       (long)(wake % 1000000000ull) };
		int r = pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		if (r == ETIMEDOUT && !known && wake < deadline_ns) {
			again = 1;
			break;
		}
	}
	w->waiters[q]--;
	if (w->tickets[q] > w->waiters[q])
		w->tickets[q] = w->waiters[q];
	atomic_fetch_sub(&w->total_waiters, 1);
	pthread_mutex_unlock(&w->mu);
	return again;
}

/* ---- the listener ---- */

/* Sleeps up to ms; returns 1 if asked to stop. */
static int sleep_or_stop(struct dura_store *st, int ms)
{
	struct pollfd pfd = { .fd = st->listener.stop_pipe[0], .events = POLLIN };
	return poll(&pfd, 1, ms) > 0;
}

static PGconn *listen_connect(struct dura_store *st)
{
	char msg[DURA_ERR_MAX];
	PGconn *conn = dura_pg_connect(st, msg, sizeof msg);
	if (!conn)
		return NULL;
	/* A store that knows of others announces itself ('h', which wakes
	 * nobody): a store alone on its schema sends no NOTIFY (every commit
	 * with one takes the server's global notify lock), so the store that
	 * created the schema learns here that NOTIFYs are now worth it. */
	char sql[320];
	if (atomic_load(&st->waitq.peers))
		snprintf(sql, sizeof sql, "LISTEN %s; NOTIFY %s, 'h'", st->quoted_schema,
		         st->quoted_schema);
	else
		snprintf(sql, sizeof sql, "LISTEN %s", st->quoted_schema);
	atomic_fetch_add(&st->stats.round_trips, 1);
	int timed_out;
	PGresult *res = dura_pg_exec(conn, sql, st->opt.call_timeout_ms, &timed_out);
	int ok = !timed_out && PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok) {
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static void *listener_main(void *arg)
{
	struct dura_store *st = arg;
	PGconn *conn = st->listener.conn; /* connected by start */
	for (;;) {
		if (!conn) {
			if (sleep_or_stop(st, LISTENER_RETRY_MS))
				break;
			conn = listen_connect(st);
			if (!conn)
				continue;
			atomic_fetch_add(&st->stats.reconnects, 1);
			/* notifications may have been missed while we were away */
			dura_pg_wake(st, PG_Q_ORCH, PG_WAKE_ALL);
			dura_pg_wake(st, PG_Q_WORK, PG_WAKE_ALL);
		}
		struct pollfd pfd[2] = {
			{ .fd = PQsocket(conn), .events = POLLIN },
			{ .fd = st->listener.stop_pipe[0], .events = POLLIN },
		};
		int r = poll(pfd, 2, -1);
		if (r < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!pfd[0].revents)
			continue;
		if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
			PQfinish(conn);
			conn = NULL;
			continue;
		}
		unsigned count[2] = { 0, 0 };
		PGnotify *n;
		while ((n = PQnotifies(conn))) {
			/* one notification per transaction and payload: we do not
			 * know how many items it stands for, so wake everyone */
			if (!dura_pg_pool_owns_pid(st, n->be_pid)) {
				atomic_store(&st->waitq.peers, 1);
				if (n->extra && n->extra[0] != 'h')
					count[n->extra[0] == 'w' ? PG_Q_WORK : PG_Q_ORCH] = PG_WAKE_ALL;
			}
			PQfreemem(n);
		}
		dura_pg_wake(st, PG_Q_ORCH, count[PG_Q_ORCH]);
		dura_pg_wake(st, PG_Q_WORK, count[PG_Q_WORK]);
	}
	PQfinish(conn);
	return NULL;
}

dura_rc dura_pg_listener_start(struct dura_store *st, struct dura_err *err)
{
	struct dura_pg_listener *l = &st->listener;
	if (pipe2(l->stop_pipe, O_CLOEXEC) != 0) {
		dura_pg_err(err, "cannot create a pipe: %s", strerror(errno));
		return DURA_CONFIG;
	}
	l->conn = listen_connect(st);
	if (!l->conn) {
		char msg[DURA_ERR_MAX];
		PGconn *c = dura_pg_connect(st, msg, sizeof msg);
		if (c) {
			PQfinish(c);
			dura_pg_err(err, "cannot LISTEN on the notification channel of schema %s",
			            st->opt.schema);
		} else {
			dura_pg_err(err, "%s", msg);
		}
		close(l->stop_pipe[0]);
		close(l->stop_pipe[1]);
		return DURA_CONFIG;
	}
	int r = pthread_create(&l->thread, NULL, listener_main, st);
	if (r != 0) {
		PQfinish(l->conn);
		l->conn = NULL;
		close(l->stop_pipe[0]);
		close(l->stop_pipe[1]);
		dura_pg_err(err, "cannot start the listener thread: %s", strerror(r));
		return DURA_CONFIG;
	}
	l->started = 1;
	return DURA_OK;
}

void dura_pg_listener_stop(struct dura_store *st)
{
	struct dura_pg_listener *l = &st->listener;
	if (!l->started)
		return;
	char b = 1;
	ssize_t w = write(l->stop_pipe[1], &b, 1);
	(void)w;
	pthread_join(l->thread, NULL);
	close(l->stop_pipe[0]);
	close(l->stop_pipe[1]);
	l->started = 0;
	l->conn = NULL; /* finished by the thread */
}
