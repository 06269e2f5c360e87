/*
 * The verification phase: after the drain, every completed instance is
 * checked against storage by a few threads (status, output, history shape:
 * dura_workload_verify), and the first failure is kept for the report.
 *
 * Only a real mismatch is a verification failure.  A read that fails (a
 * lost connection, no free slot, a stalled server) is retried with backoff;
 * the phase has a deadline of its own (verify_timeout), and an instance not
 * read by then is reported as unverified, with the reason.  An instance
 * whose stored data cannot be decoded (DURA_CORRUPT, an undecodable
 * history event) did not durably complete: it moves from completed to the
 * corrupt failure category.
 */
#include "config.h"

#include "driver_int.h"

#include "base/util.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define VERIFY_THREADS 4
#define RETRY_FIRST_MS 10u  /* backoff of an unreadable instance, doubled */
#define RETRY_MAX_MS 1000u

struct verifier {
	struct driver *d;  /* inst[].lost set by the thread that took seq */
	const struct dura_workload *wl;
	const struct dura_provider_ops *ops;
	dura_store *store;
	uint64_t deadline_ms;   /* dura_now_ms() after which nothing is read */
	_Atomic uint64_t next;
	_Atomic uint64_t verified;
	_Atomic uint64_t failures;
	_Atomic uint64_t unverified;
	_Atomic uint64_t corrupt;
	pthread_mutex_t mu;
	char first_error[512];
	char first_corrupt[480];
	char first_unreadable[256];
};

static void keep_first(struct verifier *v, char *slot, size_t len, const char *text)
{
	pthread_mutex_lock(&v->mu);
	if (!slot[0])
		snprintf(slot, len, "%s", text);
	pthread_mutex_unlock(&v->mu);
}

/* Verifies one instance, retrying reads that fail until the deadline.
 * Returns DURA_VERIFY_* (UNREADABLE: the deadline passed first). */
static int verify_one(struct verifier *v, uint64_t seq, const char *id, char *err, size_t errlen)
{
	uint32_t pause = RETRY_FIRST_MS;
	for (;;) {
		err[0] = '\0';
		int r = dura_workload_verify(v->wl, seq, id, v->ops, v->store, err, errlen);
		if (r != DURA_VERIFY_UNREADABLE)
			return r;
		uint64_t now = dura_now_ms();
		if (now >= v->deadline_ms)
			return r;
		uint64_t left = v->deadline_ms - now;
		dura_sleep_ms(pause < left ? pause : (uint32_t)left);
		pause = pause * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : pause * 2;
	}
}

static void *verify_thread(void *arg)
{
	struct verifier *v = arg;
	char id[512], err[512];
	for (;;) {
		uint64_t seq = atomic_fetch_add(&v->next, 1);
		if (seq >= v->d->launched)
			break;
		if (v->d->inst[seq].outcome != DURA_OUTCOME_COMPLETED)
			continue;
		if (dura_now_ms() >= v->deadline_ms) {
			atomic_fetch_add(&v->unverified, 1);
			keep_first(v, v->first_unreadable, sizeof v->first_unreadable,
			           "verification deadline (verify_timeout) passed before it was read");
			continue;
		}
		snprintf(id, sizeof id, "%s%" PRIu64, v->d->prefix, seq);
		int r = verify_one(v, seq, id, err, sizeof err);
		if (r == DURA_VERIFY_OK) {
			atomic_fetch_add(&v->verified, 1);
		} else if (r == DURA_VERIFY_CORRUPT) {
			atomic_fetch_add(&v->corrupt, 1);
			v->d->inst[seq].outcome = DURA_OUTCOME_FAILED_CORRUPT;
			keep_first(v, v->first_corrupt, sizeof v->first_corrupt, err);
		} else if (r == DURA_VERIFY_UNREADABLE) {
			atomic_fetch_add(&v->unverified, 1);
			keep_first(v, v->first_unreadable, sizeof v->first_unreadable, err);
		} else {
			atomic_fetch_add(&v->failures, 1);
			v->d->inst[seq].lost = 1;
			keep_first(v, v->first_error, sizeof v->first_error,
			           err[0] ? err : "verification failed");
		}
	}
	return NULL;
}

void dura_drv_verify_all(struct driver *d, const struct dura_workload *wl,
                         const struct dura_provider_ops *ops, dura_store *store,
                         uint64_t timeout_ms, struct dura_run_result *out)
{
	struct verifier v;
	memset(&v, 0, sizeof v);
	v.d = d;
	v.wl = wl;
	v.ops = ops;
	v.store = store;
	v.deadline_ms = dura_now_ms() + timeout_ms;
	atomic_init(&v.next, 0);
	atomic_init(&v.verified, 0);
	atomic_init(&v.failures, 0);
	atomic_init(&v.unverified, 0);
	atomic_init(&v.corrupt, 0);
	pthread_mutex_init(&v.mu, NULL);
	pthread_t th[VERIFY_THREADS];
	int started = 0;
	sigset_t old;
	dura_drv_block_interrupts(&old);
	for (int i = 0; i < VERIFY_THREADS; i++) {
		if (pthread_create(&th[i], NULL, verify_thread, &v) != 0)
			break;
		started++;
	}
	dura_drv_restore_mask(&old);
	if (started == 0)
		verify_thread(&v);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&v.mu);
	out->verified = atomic_load(&v.verified);
	out->verify_failures += atomic_load(&v.failures);
	out->unverified = atomic_load(&v.unverified);
	snprintf(out->unverified_reason, sizeof out->unverified_reason, "%s", v.first_unreadable);
	if (!out->verify_error[0] && v.first_error[0])
		snprintf(out->verify_error, sizeof out->verify_error, "%s", v.first_error);
	uint64_t corrupt = atomic_load(&v.corrupt);
	if (corrupt) {
		out->completed -= corrupt;
		out->failed_corrupt += corrupt;
		out->success_pct = out->launched
			? 100.0 * (double)out->completed / (double)out->launched : 0;
		if (!out->first_failure[0]) {
			snprintf(out->first_failure, sizeof out->first_failure,
			         "found by verification: %s", v.first_corrupt);
			snprintf(out->first_failure_category, sizeof out->first_failure_category,
			         "corrupt");
		}
	}
}
