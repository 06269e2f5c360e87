/*
 * Inside the workloads: the per-scenario table (one file each) and the
 * helpers they share (workload_common.c).  Not used outside core/workload*.c.
 */
#ifndef DURA_WORKLOAD_KINDS_H
#define DURA_WORKLOAD_KINDS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

#include "engine/orchestration.h"
#include "workload.h"
#include "base/util.h"

/* State shared by every orchestration and activity of one workload (their
 * registry user pointer).  Lives in struct dura_workload. */
struct dura_wl_env {
	struct dura_workload_def def; /* copy; scenario/mix pointers not used */
	_Atomic uint64_t activities;  /* activity functions run */
	struct dura_workload_mix mix; /* mixed: the workloads drawn from */
};

/* Provider access for verification. */
struct dura_wl_reader {
	const struct dura_provider_ops *ops;
	dura_store *store;
	int *unreadable; /* set to 1 when a read itself failed (RETRY, lost
	                    connection...): nothing was compared */
	int *corrupt;    /* set to 1 when what was read cannot be decoded
	                    (DURA_CORRUPT, an undecodable history event) */
};

/* One workload of the catalogue (workload_catalogue.c): each file
 * workload_NAME.c defines `const struct dura_wl_kind dura_wl_NAME`. */
struct dura_wl_kind {
	const char *scenario;
	int draws_from_mix;  /* mixed: instances drawn from `mix` (env->mix) */
	void (*register_fns)(struct dura_registry *reg, struct dura_wl_env *env);
	/* input of instance seq (in already reset); returns orchestration name */
	const char *(*input)(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *in);
	void (*expected_output)(const struct dura_wl_env *env, uint64_t seq, struct dura_buf *out);
	int (*verify)(const struct dura_wl_env *env, uint64_t seq, const char *instance,
	              const struct dura_wl_reader *rd, char *err, size_t errlen);
	double (*activities_per_instance)(const struct dura_workload_def *def);
	double (*min_latency_us)(const struct dura_workload_def *def);
};

/* Name -> kind of the catalogue; NULL if unknown (or, with mixable_only,
 * if it draws from a mix itself). */
const struct dura_wl_kind *dura_wl_find_kind(const char *name, int mixable_only);

/* ---- encoding ---- */
uint64_t dura_wl_mix64(uint64_t x);
void dura_wl_put_u64(struct dura_buf *b, uint64_t v);
void dura_wl_put_u32(struct dura_buf *b, uint32_t v);
/* Read from *p (len bytes left) and advance both; -1 when too short. */
int dura_wl_get_u64(const uint8_t **p, size_t *len, uint64_t *v);
int dura_wl_get_u32(const uint8_t **p, size_t *len, uint32_t *v);

/* ---- the work activity every scenario uses ----
 * Input: seq, salt, index, payload (deterministic bytes).  It sleeps
 * activity_delay and returns an 8-byte check value and the payload with
 * every byte flipped, so results prove that both directions carried the
 * right bytes.  Register it under a scenario-specific name with env as
 * user. */
int dura_wl_work_activity(const uint8_t *input, size_t len, struct dura_buf *out, void *user);
void dura_wl_work_input(struct dura_buf *in, uint64_t seq, uint32_t salt, uint32_t idx,
                        size_t payload);
/* The result the activity must return for that input (out reset first). */
void dura_wl_work_result(struct dura_buf *out, uint64_t seq, uint32_t salt, uint32_t idx,
                         size_t payload);
int dura_wl_work_result_ok(const uint8_t *data, size_t len, uint64_t seq, uint32_t salt,
                           uint32_t idx, size_t payload);

enum dura_wl_step { DURA_WL_PENDING, DURA_WL_DONE, DURA_WL_FAILED };

/* Calls n work activities at once (every turn: replay re-issues the calls),
 * and once all completed checks each result.  DONE: *digest summarises the
 * results.  FAILED: why says what went wrong. */
enum dura_wl_step dura_wl_fanout_step(dura_orch_ctx *ctx, const char *activity, uint64_t seq,
                                      uint32_t salt, unsigned n, size_t payload,
                                      uint64_t *digest, char *why, size_t whylen);
/* dura_wl_fanout_step where the orchestration returns as soon as the
 * fan-out is not done: returns 1 when DONE (*digest set), else 0 with *rc
 * what the orchestration returns (PENDING, or failed with the reason). */
int dura_wl_fanout_await(dura_orch_ctx *ctx, const char *activity, uint64_t seq, uint32_t salt,
                         unsigned n, size_t payload, uint64_t *digest, enum dura_orch_rc *rc);
/* Completes the orchestration with out's bytes; frees out. */
enum dura_orch_rc dura_wl_complete_buf(dura_orch_ctx *ctx, struct dura_buf *out);
/* What dura_wl_fanout_step's digest must be. */
uint64_t dura_wl_fanout_digest(uint64_t seq, uint32_t salt, unsigned n);

/* Sleeps us microseconds (activities). */
void dura_wl_sleep_us(uint64_t us);

/* ---- verification ---- */
/* Reads instance's metadata: must exist, be COMPLETED and hold exactly the
 * expected output; *execution gets its current execution. */
int dura_wl_check_completed(const struct dura_wl_reader *rd, const char *instance,
                            const void *expected, size_t expected_len,
                            uint64_t *execution, char *err, size_t errlen);
/* Decodes one execution's stored history into shape. */
int dura_wl_read_shape(const struct dura_wl_reader *rd, const char *instance, uint64_t execution,
                       struct dura_history_shape *shape, char *err, size_t errlen);
/* Compares every count but `events` (engine-specific); message names the
 * instance, execution and field. */
int dura_wl_expect_shape(const char *instance, uint64_t execution,
                         const struct dura_history_shape *got,
                         const struct dura_history_shape *want, char *err, size_t errlen);
/* check_completed + read_shape + expect_shape of the final execution. */
int dura_wl_verify_simple(const struct dura_wl_reader *rd, const char *instance,
                          const struct dura_buf *expected,
                          const struct dura_history_shape *want, char *err, size_t errlen);

#endif
