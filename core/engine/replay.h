/*
 * The replay engine's interface to the runtime (and to unit tests): one
 * call turns a fetched orchestration item into the ack of one turn.  The
 * programming model seen by orchestration functions is in orchestration.h;
 * how execution ids, event ids and messages relate is documented at the top
 * of orchestration.c.
 */
#ifndef DURA_REPLAY_H
#define DURA_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

#include "orchestration.h"

/* What a turn produced.  ack (and everything it points to) lives in the
 * context's reusable buffers and in the fetched item: valid until the next
 * dura_replay_run/_fail on the same context or until the item is released,
 * whichever comes first. */
struct dura_replay_result {
	struct dura_orch_ack ack;
	struct dura_instance_meta meta; /* ack.meta points here when set */
	int terminal;                   /* this ack ends the instance */
	enum dura_outcome outcome;      /* when terminal */
	const uint8_t *output;          /* stored output / failure text */
	size_t output_len;
	uint32_t ignored_messages;      /* duplicate, stale or corrupt */
	int ran;                        /* the orchestration function ran */
	char error[256];                /* config/infra failure text, or "" */
};

/* A reusable per-thread turn context (one per dispatcher thread; not
 * thread-safe).  Free with dura_replay_free. */
dura_orch_ctx *dura_replay_new(void);
void dura_replay_free(dura_orch_ctx *ctx);

/* Runs one turn of item->instance against its history and messages. */
void dura_replay_run(dura_orch_ctx *ctx, const struct dura_registry *reg,
                     const struct dura_orch_item *item,
                     struct dura_replay_result *res);

/* Builds an ack that ends the instance with the given failure category
 * (DURA_OUTCOME_FAILED_INFRA for poison messages) without running the
 * orchestration: ExecutionFailed appended when an execution is running (or
 * starting), metadata FAILED, the parent notified.  If the instance has
 * already ended, the ack only consumes the messages (res->terminal = 0). */
void dura_replay_fail(dura_orch_ctx *ctx, const struct dura_orch_item *item,
                      enum dura_outcome category, const char *reason,
                      struct dura_replay_result *res);

/* Registry lookups for the activity workers (registry is read-only once the
 * runtime runs).  NULL when not registered. */
dura_activity_fn dura_registry_find_activity(const struct dura_registry *reg,
                                             const uint8_t *name, size_t len,
                                             void **user);
dura_orchestration_fn dura_registry_find_orchestration(const struct dura_registry *reg,
                                                       const uint8_t *name,
                                                       size_t len, void **user);

#endif
