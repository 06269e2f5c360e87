/*
 * The worker processes a scale-out run starts on this machine
 * (processes = N): `durabench worker FILE --provider NAME --join STORE`
 * children that attach to the run's store and run its O:W dispatchers.
 * The driver starts them, watches them, kills one for the kill-worker fault
 * (and restarts it), and stops them all at the end.  Nothing but the store
 * connects them to the driver: they learn the end of the run from its
 * state note and stop on SIGTERM too; they also die with the driver
 * (PR_SET_PDEATHSIG), so no worker outlives its run.  Thread-safe: a fault
 * thread may kill and restart while the launching thread watches.
 */
#ifndef DURA_WORKER_PROCS_H
#define DURA_WORKER_PROCS_H

#include <stddef.h>
#include <stdint.h>

struct dura_worker_spawn {
	const char *exe;        /* the durabench binary (NULL: /proc/self/exe) */
	const char *file;       /* scenario file */
	const char *provider;   /* [provider NAME] */
	const char *plugin_dir; /* --plugin-dir, or NULL */
	const char *join;       /* store name (store_name) */
	const char *options;    /* the provider's prepared options as
	                           "key=value" lines (url = auto and the delay
	                           proxy resolved), handed over on a pipe
	                           (descriptor DURABENCH_WORKER_OPTIONS_FD),
	                           never on the command line or in the
	                           environment, where /proc shows them */
};

struct dura_workers;

/* Starts n workers.  0, or -1 with err (those started are stopped).  The
 * spawn strings are copied.  Free with dura_workers_stop. */
int dura_workers_start(const struct dura_worker_spawn *sp, unsigned n,
                       struct dura_workers **out, char *err, size_t errlen);
/* Workers still running (reaps those that exited; the first unexpected
 * exit is kept for dura_workers_failure). */
unsigned dura_workers_alive(struct dura_workers *w);
unsigned dura_workers_count(const struct dura_workers *w);
/* kill -9 of worker index (the kill-worker fault).  0, or -1 if it was not
 * running. */
int dura_workers_kill(struct dura_workers *w, unsigned index);
/* Starts worker index again (after a kill).  0, or -1 with err. */
int dura_workers_restart(struct dura_workers *w, unsigned index, char *err, size_t errlen);
/* Into buf: "worker 2 (pid 1234) exited with status 3" for the first
 * worker that ended on its own before the stop, "" if none did. */
void dura_workers_failure(struct dura_workers *w, char *buf, size_t len);
/* Waits up to grace_ms for the workers to exit on their own (they read
 * the done state), then SIGTERM, then SIGKILL after another grace_ms;
 * reaps all and frees w.  Safe with NULL. */
void dura_workers_stop(struct dura_workers *w, uint64_t grace_ms);

#endif
