/*
 * The orchestration programming model (replay).
 *
 * An orchestration is a C function that the runtime re-runs from the start
 * on every turn.  Each call to dura_call_activity / dura_create_timer /
 * dura_call_sub_orchestration creates a task with the next sequential event
 * id of the execution; on replay the call is matched against the history
 * (same kind and name at the same event id, else the turn fails with a
 * nondeterminism error).  A task is complete once its completion event is in
 * history; the function returns DURA_ORCH_PENDING while it waits for
 * anything.  Duplicate or stale completions (unknown event id, wrong
 * execution, already completed) are ignored by the engine.
 *
 * Pointers handed to an orchestration (input, task results) stay valid until
 * the function returns.
 */
#ifndef DURA_ORCHESTRATION_H
#define DURA_ORCHESTRATION_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* How an instance ended, as its terminal ack records it (the replay engine
 * decides it; the runtime reports it when the ack commits). */
enum dura_outcome {
	DURA_OUTCOME_COMPLETED = 0,
	DURA_OUTCOME_FAILED_APP = 1,    /* the orchestration called dura_fail */
	DURA_OUTCOME_FAILED_CONFIG = 2, /* nondeterminism, unregistered name */
	DURA_OUTCOME_FAILED_INFRA = 3,  /* provider errors after all retries,
	                                   poison message */
	DURA_OUTCOME_FAILED_CORRUPT = 4 /* stored data (a history event, a
	                                   queue message, a work item) could
	                                   not be decoded */
};

typedef struct dura_orch_ctx dura_orch_ctx;
typedef int32_t dura_task; /* a handle; < 0 means the call itself failed */

enum dura_orch_rc {
	DURA_ORCH_PENDING = 0,   /* waiting for tasks; turn ends, state kept */
	DURA_ORCH_COMPLETED = 1, /* after dura_complete */
	DURA_ORCH_FAILED = 2,    /* after dura_fail */
	DURA_ORCH_CONTINUED = 3  /* after dura_continue_as_new */
};

enum dura_task_state {
	DURA_TASK_PENDING = 0,
	DURA_TASK_COMPLETED = 1,
	DURA_TASK_FAILED = 2
};

typedef enum dura_orch_rc (*dura_orchestration_fn)(dura_orch_ctx *ctx,
                                                   const uint8_t *input,
                                                   size_t input_len,
                                                   void *user);

/* An activity runs on a worker thread.  It writes its result (or, on
 * failure, a failure message) into out and returns 0 for success, non-zero
 * for an application failure. */
typedef int (*dura_activity_fn)(const uint8_t *input, size_t input_len,
                                struct dura_buf *out, void *user);

/* ---- inside an orchestration ---- */
dura_task dura_call_activity(dura_orch_ctx *ctx, const char *name,
                             const void *input, size_t len);
dura_task dura_create_timer(dura_orch_ctx *ctx, uint64_t delay_ms);
/* Child instance id: "<parent instance>/<event id>" unless instance_id is
 * given. */
dura_task dura_call_sub_orchestration(dura_orch_ctx *ctx, const char *name,
                                      const char *instance_id,
                                      const void *input, size_t len);
enum dura_task_state dura_task_state(dura_orch_ctx *ctx, dura_task t);
/* Result bytes of a completed task, or failure text of a failed one. */
int dura_task_result(dura_orch_ctx *ctx, dura_task t, const uint8_t **data,
                     size_t *len);
enum dura_orch_rc dura_complete(dura_orch_ctx *ctx, const void *output, size_t len);
enum dura_orch_rc dura_fail(dura_orch_ctx *ctx, const char *reason);
enum dura_orch_rc dura_continue_as_new(dura_orch_ctx *ctx, const void *input,
                                       size_t len);
const char *dura_instance_id(const dura_orch_ctx *ctx);
uint64_t dura_execution_id(const dura_orch_ctx *ctx);
int dura_is_replaying(const dura_orch_ctx *ctx);

/* ---- registry of orchestrations and activities (by name) ---- */
struct dura_registry;
struct dura_registry *dura_registry_new(void);        /* free with _free */
void dura_registry_free(struct dura_registry *reg);
void dura_registry_add_orchestration(struct dura_registry *reg, const char *name,
                                     dura_orchestration_fn fn, void *user);
void dura_registry_add_activity(struct dura_registry *reg, const char *name,
                                dura_activity_fn fn, void *user);

/* ---- reading a stored history back (verification, tooling) ----
 * Counts of decoded events in one execution's history. */
struct dura_history_shape {
	uint32_t events;
	uint32_t started;              /* ExecutionStarted */
	uint32_t activities_scheduled;
	uint32_t activities_completed; /* completed + failed */
	uint32_t timers_created;
	uint32_t timers_fired;
	uint32_t suborchs_scheduled;
	uint32_t suborchs_completed;   /* completed + failed */
	uint32_t terminal;             /* Completed / Failed / ContinuedAsNew */
	int32_t terminal_status;       /* enum dura_status of the terminal event */
	uint8_t terminal_category;     /* a failed terminal event's category
	                                  (enum dura_outcome 1-3), else 0 */
};
/* Decodes every event; -1 with a message naming the event on corrupt data. */
int dura_history_shape(const struct dura_event *events, size_t n,
                       struct dura_history_shape *out, char *err, size_t errlen);

#endif
