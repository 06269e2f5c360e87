/*
 * Workloads: the orchestrations a run drives.  A workload
 * registers its orchestrations and activities, produces the start input of
 * instance number `seq`, and afterwards checks that instance against storage
 * (status, output, history shape of the final execution, children).
 *
 *   fanout           N activities at once, wait for all, check each result
 *   timers           `timers` durable timers one after another, then fanout
 *   suborch          `children` sub-orchestrations, each a fanout
 *   continue_as_new  fanout, then continue-as-new, `iterations` times
 *   payload          fanout and one child carrying payload_bytes each way
 *                    (16 KiB when payload_bytes is 0)
 *   mixed            each instance one of the above, weighted by `mix`
 *                    ("fanout:60,timers:20,..."; default an even-ish mix)
 *
 * Everything an instance does is a pure function of its seq and the
 * workload parameters, so the expected output can be recomputed at
 * verification time without keeping per-instance state.
 */
#ifndef DURA_WORKLOAD_H
#define DURA_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

#include "engine/orchestration.h"
#include "base/util.h"

/* The workload a scenario that names none runs, and the mix of a mixed
 * workload without `mix`. */
#define DURA_WORKLOAD_DEFAULT "fanout"
#define DURA_WORKLOAD_DEFAULT_MIX "fanout:40,timers:20,suborch:20,continue_as_new:10,payload:10"

/* What a scenario file's [workload] section asks for. */
struct dura_workload_def {
	char *scenario;              /* a name of the catalogue (NULL: the
	                                default) */
	unsigned max_concurrent;     /* instances in flight (closed loop) */
	double rate;                 /* > 0: open loop, instances started per s */
	unsigned tasks_per_instance; /* fan-out width / activities per instance */
	uint64_t activity_delay_us;  /* time one activity takes */
	uint64_t payload_bytes;      /* bytes carried in/out of each activity */
	unsigned timers;             /* timers per instance (timers, mixed) */
	uint64_t timer_delay_us;
	unsigned children;           /* sub-orchestrations (suborch, mixed) */
	unsigned iterations;         /* continue-as-new count */
	char *mix;                   /* mixed: "fanout:60,timers:20,..." or NULL */
};

struct dura_workload;

/* ---- the catalogue (workload_catalogue.c) ---- */

/* The name def asks for: def->scenario, or DURA_WORKLOAD_DEFAULT. */
const char *dura_workload_name(const struct dura_workload_def *def);

/* 1 when name is in the catalogue; mixable_only: and may appear in a mix
 * (every workload but mixed itself). */
int dura_workload_known(const char *name, int mixable_only);

/* The catalogue's names for messages, "fanout, timers, ... or mixed"
 * (mixable_only: without mixed), into buf. */
void dura_workload_names(int mixable_only, char *buf, size_t len);

/* A parsed `mix`: which workloads an instance is drawn from, by weight. */
struct dura_wl_kind;
#define DURA_WORKLOAD_MAX_MIX 16 /* at least the catalogue's size */
struct dura_workload_mix {
	const struct dura_wl_kind *kind[DURA_WORKLOAD_MAX_MIX];
	unsigned weight[DURA_WORKLOAD_MAX_MIX];
	unsigned n;
	unsigned total;
};

/* Parses `mix` ("fanout:60, timers:20"; NULL: DURA_WORKLOAD_DEFAULT_MIX)
 * under the rules listed in workload_mix.c.  0, or -1 with the reason in
 * err. */
int dura_workload_parse_mix(const char *text, struct dura_workload_mix *out, char *err,
                            size_t errlen);

/* ---- workload objects ---- */

/* Builds the workload named by def->scenario.  -1 with err for an unknown
 * scenario or a bad mix.  def is copied (its strings are not needed after
 * the call).  Free with dura_workload_free. */
int dura_workload_new(const struct dura_workload_def *def, struct dura_workload **out,
                      char *err, size_t errlen);
void dura_workload_free(struct dura_workload *wl);

/* Checks scenario name and mix without building anything (for the loader). */
int dura_workload_check(const struct dura_workload_def *def, char *err, size_t errlen);

/* Registers every orchestration and activity the workload uses.  wl must
 * outlive any runtime using reg. */
void dura_workload_register(struct dura_workload *wl, struct dura_registry *reg);

/* Fills in (reset first) with the start input of instance seq and returns
 * the orchestration to start (a static string). */
const char *dura_workload_input(const struct dura_workload *wl, uint64_t seq,
                                struct dura_buf *in);

/* Expected output of instance seq (out reset first). */
void dura_workload_expected_output(const struct dura_workload *wl, uint64_t seq,
                                   struct dura_buf *out);

/* Checks completed instance seq (stored under `instance`) through the
 * provider: status COMPLETED, output as expected, history shape of the final
 * execution (and of children / earlier executions where the workload has
 * them).  Returns DURA_VERIFY_OK; DURA_VERIFY_MISMATCH (what was read is
 * wrong), DURA_VERIFY_UNREADABLE (a read failed, nothing was judged; worth
 * retrying) or DURA_VERIFY_CORRUPT (stored data cannot be decoded), each
 * with a message naming the instance.  Thread-safe. */
enum {
	DURA_VERIFY_OK = 0,
	DURA_VERIFY_MISMATCH = -1,
	DURA_VERIFY_UNREADABLE = -2,
	DURA_VERIFY_CORRUPT = -3
};
int dura_workload_verify(const struct dura_workload *wl, uint64_t seq, const char *instance,
                         const struct dura_provider_ops *ops, dura_store *store,
                         char *err, size_t errlen);

/* Activity functions run so far (all threads). */
uint64_t dura_workload_activities_run(const struct dura_workload *wl);

/* Activities one instance runs on average; -1 for an unknown scenario. */
double dura_workload_activities_per_instance(const struct dura_workload_def *def);

/* Shortest possible instance latency in microseconds (the delays it must
 * wait in sequence), used for the closed-loop bound. */
double dura_workload_min_latency_us(const struct dura_workload_def *def);

/* Theoretical throughput bound of a workload with W activity workers
 * (orch/s), 0 when it has none (e.g. activity_delay 0). */
double dura_workload_bound(const struct dura_workload_def *def, unsigned activity_workers);

#endif
