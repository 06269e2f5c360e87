/*
 * The verification phase: after the drain, every completed instance is
 * checked against storage by a few threads (status, output, history shape:
 * dura_workload_verify), and the first failure is kept for the report.
 */
#include "config.h"

#include "driver_int.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define VERIFY_THREADS 4

struct verifier {
	const struct driver *d;
	const struct dura_workload *wl;
	const struct dura_provider_ops *ops;
	dura_store *store;
	_Atomic uint64_t next;
	_Atomic uint64_t verified;
	_Atomic uint64_t failures;
	pthread_mutex_t mu;
	char first_error[512];
};

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
		snprintf(id, sizeof id, "%s%" PRIu64, v->d->prefix, seq);
		err[0] = '\0';
		if (dura_workload_verify(v->wl, seq, id, v->ops, v->store, err, sizeof err) == 0) {
			atomic_fetch_add(&v->verified, 1);
			continue;
		}
		atomic_fetch_add(&v->failures, 1);
		pthread_mutex_lock(&v->mu);
		if (!v->first_error[0])
			snprintf(v->first_error, sizeof v->first_error, "%s",
			         err[0] ? err : "verification failed");
		pthread_mutex_unlock(&v->mu);
	}
	return NULL;
}

void dura_drv_verify_all(const struct driver *d, const struct dura_workload *wl,
                         const struct dura_provider_ops *ops, dura_store *store,
                         struct dura_run_result *out)
{
	struct verifier v;
	memset(&v, 0, sizeof v);
	v.d = d;
	v.wl = wl;
	v.ops = ops;
	v.store = store;
	atomic_init(&v.next, 0);
	atomic_init(&v.verified, 0);
	atomic_init(&v.failures, 0);
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
	if (!out->verify_error[0] && v.first_error[0])
		snprintf(out->verify_error, sizeof out->verify_error, "%s", v.first_error);
}
