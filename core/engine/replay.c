/*
 * The replay engine: registry, the context API orchestrations call, the turn
 * that turns a fetched orchestration item into one atomic ack, and
 * dura_history_shape.
 *
 * How instances, executions, event ids and messages relate
 * ---------------------------------------------------------
 * - An instance runs as a chain of executions 1, 2, 3, ... (a new execution
 *   only through continue-as-new).  The instance metadata records the
 *   current execution; the provider reports 0 for an instance that has no
 *   metadata yet.
 * - Everything starts with a StartExecution message carrying the execution
 *   it starts (1 from dura_runtime_start_orchestration and for children,
 *   N+1 for continue-as-new).  It is accepted only when it starts exactly
 *   the execution after the current one and the current one is absent or
 *   ended with ContinuedAsNew; otherwise it is a duplicate and ignored.  So
 *   a brand new instance is fetched with execution 0 and a start message,
 *   and its first turn writes history of execution 1 and metadata with
 *   execution 1.
 * - Event ids are per execution, dense and equal to the position in the
 *   history: ExecutionStarted is event 1, every later event takes the next
 *   id.  The engine checks this on every turn (anything else is corrupt
 *   history).
 * - A turn appends, in this order: ExecutionStarted (first turn of an
 *   execution), one completion event per new message that completes a task
 *   (new ids), the scheduling events of new calls the function made (new
 *   ids), and a terminal event if the execution ended.
 * - A task is identified by the id of its scheduling event (TaskScheduled,
 *   TimerCreated, SubOrchestrationScheduled).  The k-th call an
 *   orchestration makes is matched against the k-th scheduling event of the
 *   history (same kind; same name for activities and sub-orchestrations),
 *   else the turn fails the instance with a nondeterminism error
 *   (category config).  Making fewer calls than history records is
 *   nondeterminism too.
 * - Completion messages name (execution, scheduled event id).  One whose
 *   execution is not the current one, whose id is not a scheduling event
 *   of the matching kind, or whose task is already complete is stale or a
 *   duplicate: it is consumed by the ack, counted in ignored_messages and
 *   otherwise ignored.  An undecodable message fails the instance (corrupt).
 * - Messages a turn sends: a work item per new activity (worker queue); a
 *   TimerFired to itself per new timer, visible after the timer's delay
 *   (fire time - now, as now is the moment the ack commits); a
 *   StartExecution (execution 1, parent instance/execution/event id) per
 *   new sub-orchestration; a Sub-orchestration Completed/Failed message to
 *   the parent (naming the parent's execution and scheduling event id) when
 *   a child ends; a StartExecution of execution N+1 to itself on
 *   continue-as-new (parent info carried over, so the last execution of a
 *   child notifies its parent).
 * - A child's default instance id is "<parent>/<event id>" in the parent's
 *   execution 1 and "<parent>/<execution>.<event id>" in later executions,
 *   so children of different executions never collide.
 * - Failure categories: dura_fail is an application failure; an
 *   unregistered orchestration or activity, nondeterminism or a terminal
 *   return without the matching call is config; poison messages are infra;
 *   an undecodable history event, queue message or work item is corrupt
 *   and fails its instance at once (a work item through a
 *   CorruptWorkItemMessage the worker sends in place of its completion).
 *   A task that failed with category config, infra or corrupt (an
 *   activity a worker could not find, a child that failed for such a
 *   reason) fails the instance with the same category before the
 *   function runs, so root causes propagate to the top.
 *
 * Performance: one context per dispatcher thread is reused turn after turn;
 * the history is decoded once per turn into a reused array; all new bodies
 * are encoded into one reused arena; nothing is allocated per event once the
 * buffers have grown to the workload's size.
 */
#include "config.h"

#include "orchestration.h"

#include "codec.h"
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ turn state */

struct task {
	uint8_t kind;     /* scheduling event kind */
	uint8_t state;    /* enum dura_task_state */
	uint8_t category; /* failure category when failed */
	uint64_t event_id;
	struct dura_slice name;   /* history tasks only (for matching) */
	struct dura_slice result; /* borrows history or message bodies */
};

/* A new event or message whose bytes sit in the arena (offsets, because the
 * arena may move while it grows; pointers are fixed up at the end). */
struct pend_event {
	uint64_t id;
	size_t off, len;
};

struct pend_msg {
	const char *instance; /* borrowed C string, or NULL: inst_off */
	size_t inst_off;
	size_t off, len;
	int64_t delay_ms;
};

enum hist_state {
	HS_NONE,      /* no history for the current execution */
	HS_RUNNING,   /* started, not ended */
	HS_ENDED,     /* completed or failed */
	HS_CONTINUED, /* ended with ContinuedAsNew */
	HS_CORRUPT
};

#define ARRAY(type, name) type *name; size_t n_##name, cap_##name

struct dura_orch_ctx {
	const struct dura_registry *reg;
	const struct dura_orch_item *item;
	struct dura_replay_result *res;

	uint64_t execution;  /* the execution this turn works on */
	int new_execution;   /* this turn starts it */
	enum hist_state state;
	size_t n_hist;       /* history events of `execution` already stored */

	/* From ExecutionStarted (borrowed). */
	struct dura_slice name, input, parent;
	uint64_t parent_event_id, parent_execution;

	ARRAY(struct dura_rec, recs);   /* decoded history */
	ARRAY(struct dura_rec, mrecs);  /* decoded messages (kind 0: corrupt) */
	ARRAY(struct task, tasks);
	ARRAY(int32_t, ev2task);        /* scheduling event id -> task index */
	size_t n_hist_tasks;            /* tasks recorded before this turn */
	size_t next_call;               /* index of the function's next call */
	uint64_t next_event_id;
	uint8_t inherited_category;     /* config/infra failure of a task */
	uint64_t inherited_event;

	struct dura_buf arena;
	ARRAY(struct pend_event, pev);
	ARRAY(struct pend_msg, pwork);
	ARRAY(struct pend_msg, porch);
	ARRAY(struct dura_event, events);
	ARRAY(struct dura_message, work);
	ARRAY(struct dura_message, orch);

	/* How the execution ends this turn. */
	int action;            /* 0 or enum dura_orch_rc */
	uint8_t fail_category; /* when action == DURA_ORCH_FAILED */
	size_t out_off, out_len;
	int config_failed;     /* nondeterminism / unregistered during the run */
	char error[256];
	/* The first message of this turn that could not be decoded (or a
	 * worker's report of a work item it could not decode): "" when none.
	 * Such an instance fails at once as corrupt. */
	char corrupt[256];
};

static void grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	*p = dura_xrealloc(*p, c * elem);
	*cap = c;
}

#define RESERVE(ctx, name, need) \
	grow((void **)&(ctx)->name, &(ctx)->cap_##name, (need), sizeof *(ctx)->name)

dura_orch_ctx *dura_replay_new(void)
{
	return dura_xcalloc(1, sizeof(struct dura_orch_ctx));
}

void dura_replay_free(dura_orch_ctx *ctx)
{
	if (!ctx)
		return;
	free(ctx->recs);
	free(ctx->mrecs);
	free(ctx->tasks);
	free(ctx->ev2task);
	dura_buf_free(&ctx->arena);
	free(ctx->pev);
	free(ctx->pwork);
	free(ctx->porch);
	free(ctx->events);
	free(ctx->work);
	free(ctx->orch);
	free(ctx);
}

/* ---------------------------------------------------------- emitting */

/* Encodes r into the arena; returns its offset. */
static size_t arena_encode(dura_orch_ctx *ctx, const struct dura_rec *r, size_t *len)
{
	size_t off = ctx->arena.len;
	dura_codec_encode(&ctx->arena, r);
	*len = ctx->arena.len - off;
	return off;
}

/* Copies a slice into the arena as a C string; returns its offset. */
static size_t arena_cstr(dura_orch_ctx *ctx, struct dura_slice s)
{
	size_t off = ctx->arena.len;
	dura_buf_append(&ctx->arena, s.data, s.len);
	dura_buf_append(&ctx->arena, "", 1);
	return off;
}

static void emit_event(dura_orch_ctx *ctx, const struct dura_rec *r)
{
	RESERVE(ctx, pev, ctx->n_pev + 1);
	struct pend_event *e = &ctx->pev[ctx->n_pev++];
	e->id = ctx->next_event_id++;
	e->off = arena_encode(ctx, r, &e->len);
}

/* instance: borrowed C string valid for the turn, or NULL with inst_off. */
static void emit_msg(dura_orch_ctx *ctx, int to_worker, const char *instance,
                     size_t inst_off, const struct dura_rec *r, int64_t delay_ms)
{
	struct pend_msg *m;
	if (to_worker) {
		RESERVE(ctx, pwork, ctx->n_pwork + 1);
		m = &ctx->pwork[ctx->n_pwork++];
	} else {
		RESERVE(ctx, porch, ctx->n_porch + 1);
		m = &ctx->porch[ctx->n_porch++];
	}
	m->instance = instance;
	m->inst_off = inst_off;
	m->delay_ms = delay_ms;
	m->off = arena_encode(ctx, r, &m->len);
}

/* Appends the terminal event and records the output; the data field is the
 * last one of a terminal event, so the output sits at the end of it. */
static void emit_terminal(dura_orch_ctx *ctx, int action, uint8_t category,
                          const void *data, size_t len)
{
	struct dura_rec r = { 0 };
	r.data.data = data;
	r.data.len = len;
	r.category = category;
	r.kind = action == DURA_ORCH_COMPLETED ? DURA_EV_EXECUTION_COMPLETED
	       : action == DURA_ORCH_FAILED ? DURA_EV_EXECUTION_FAILED
	       : DURA_EV_CONTINUED_AS_NEW;
	emit_event(ctx, &r);
	ctx->action = action;
	ctx->fail_category = category;
	ctx->out_len = len;
	ctx->out_off = ctx->arena.len - len;
}

static void set_config_error(dura_orch_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_config_error(dura_orch_ctx *ctx, const char *fmt, ...)
{
	if (ctx->config_failed)
		return; /* keep the first cause */
	ctx->config_failed = 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------- preparing */

static void begin(dura_orch_ctx *ctx, const struct dura_registry *reg,
                  const struct dura_orch_item *item, struct dura_replay_result *res)
{
	memset(res, 0, sizeof *res);
	ctx->reg = reg;
	ctx->item = item;
	ctx->res = res;
	ctx->execution = item->execution;
	ctx->new_execution = 0;
	ctx->state = HS_NONE;
	ctx->n_hist = 0;
	ctx->name = ctx->input = ctx->parent = (struct dura_slice){ NULL, 0 };
	ctx->parent_event_id = ctx->parent_execution = 0;
	ctx->n_recs = ctx->n_mrecs = ctx->n_tasks = ctx->n_ev2task = 0;
	ctx->n_hist_tasks = ctx->next_call = 0;
	ctx->next_event_id = 1;
	ctx->inherited_category = 0;
	ctx->inherited_event = 0;
	dura_buf_reset(&ctx->arena);
	ctx->n_pev = ctx->n_pwork = ctx->n_porch = 0;
	ctx->action = 0;
	ctx->fail_category = 0;
	ctx->out_off = ctx->out_len = 0;
	ctx->config_failed = 0;
	ctx->error[0] = '\0';
	ctx->corrupt[0] = '\0';
}

static int is_scheduling(int kind)
{
	return kind == DURA_EV_TASK_SCHEDULED || kind == DURA_EV_TIMER_CREATED ||
	       kind == DURA_EV_SUBORCH_SCHEDULED;
}

/* The scheduling kind a completion (event or message) refers to, and the
 * task state it leads to; 0 if r is no completion. */
static int completion_target(int kind, uint8_t *state)
{
	*state = DURA_TASK_COMPLETED;
	switch (kind) {
	case DURA_EV_TASK_FAILED:
	case DURA_MSG_TASK_FAILED:
		*state = DURA_TASK_FAILED;
		/* fall through */
	case DURA_EV_TASK_COMPLETED:
	case DURA_MSG_TASK_COMPLETED:
		return DURA_EV_TASK_SCHEDULED;
	case DURA_EV_TIMER_FIRED:
	case DURA_MSG_TIMER_FIRED:
		return DURA_EV_TIMER_CREATED;
	case DURA_EV_SUBORCH_FAILED:
	case DURA_MSG_SUBORCH_FAILED:
		*state = DURA_TASK_FAILED;
		/* fall through */
	case DURA_EV_SUBORCH_COMPLETED:
	case DURA_MSG_SUBORCH_COMPLETED:
		return DURA_EV_SUBORCH_SCHEDULED;
	default:
		return 0;
	}
}

/* The history event kind recording a completion message. */
static uint8_t completion_event_kind(int msg_kind)
{
	switch (msg_kind) {
	case DURA_MSG_TASK_COMPLETED: return DURA_EV_TASK_COMPLETED;
	case DURA_MSG_TASK_FAILED: return DURA_EV_TASK_FAILED;
	case DURA_MSG_TIMER_FIRED: return DURA_EV_TIMER_FIRED;
	case DURA_MSG_SUBORCH_COMPLETED: return DURA_EV_SUBORCH_COMPLETED;
	default: return DURA_EV_SUBORCH_FAILED;
	}
}

/* The task a completion refers to, or NULL if stale / already complete. */
static struct task *completion_task(dura_orch_ctx *ctx, int want_kind, uint64_t id)
{
	if (id == 0 || id >= ctx->n_ev2task)
		return NULL;
	int32_t idx = ctx->ev2task[id];
	if (idx < 0)
		return NULL;
	struct task *t = &ctx->tasks[idx];
	if (t->kind != want_kind || t->state != DURA_TASK_PENDING)
		return NULL;
	return t;
}

static void complete_task(dura_orch_ctx *ctx, struct task *t, uint8_t state,
                          const struct dura_rec *r)
{
	t->state = state;
	t->result = r->data;
	t->category = r->category;
	if (state == DURA_TASK_FAILED && r->category != DURA_OUTCOME_FAILED_APP &&
	    !ctx->inherited_category) {
		ctx->inherited_category = r->category;
		ctx->inherited_event = t->event_id;
	}
}

/* The state of an execution whose history holds an undecodable event,
 * judged by its last event alone: an execution that had already ended
 * (its instance was reported then) is not failed a second time. */
static enum hist_state ended_state(const struct dura_event *last)
{
	struct dura_rec r;
	if (dura_codec_decode(last->body.data, last->body.len, &r, NULL) == 0) {
		if (r.kind == DURA_EV_EXECUTION_COMPLETED || r.kind == DURA_EV_EXECUTION_FAILED)
			return HS_ENDED;
		if (r.kind == DURA_EV_CONTINUED_AS_NEW)
			return HS_CONTINUED;
	}
	return HS_CORRUPT;
}

/* Decodes the stored history once and rebuilds the task table.  Sets
 * ctx->state; on corruption HS_CORRUPT with the reason in ctx->error
 * (HS_ENDED or HS_CONTINUED when the last event shows that the execution
 * had ended anyway: then only ctx->error tells, and nothing is failed). */
static void load_history(dura_orch_ctx *ctx)
{
	const struct dura_orch_item *item = ctx->item;
	size_t n = item->n_history;
	ctx->n_hist = n;
	if (n == 0) {
		ctx->state = HS_NONE;
		return;
	}
	RESERVE(ctx, recs, n);
	RESERVE(ctx, ev2task, n + 1);
	ctx->n_ev2task = n + 1;
	for (size_t i = 0; i <= n; i++)
		ctx->ev2task[i] = -1;
	for (size_t i = 0; i < n; i++) {
		const struct dura_event *ev = &item->history[i];
		struct dura_rec *r = &ctx->recs[i];
		const char *why = NULL;
		if (ev->event_id != i + 1) {
			snprintf(ctx->error, sizeof ctx->error,
			         "corrupt history of instance %s, execution %llu: event id %llu "
			         "at position %zu",
			         item->instance, (unsigned long long)item->execution,
			         (unsigned long long)ev->event_id, i + 1);
			ctx->state = HS_CORRUPT;
			return;
		}
		if (dura_codec_decode(ev->body.data, ev->body.len, r, &why) != 0 ||
		    !dura_codec_is_event(r->kind) ||
		    (i == 0) != (r->kind == DURA_EV_EXECUTION_STARTED)) {
			snprintf(ctx->error, sizeof ctx->error,
			         "corrupt history of instance %s, execution %llu: event %zu "
			         "cannot be decoded: %s",
			         item->instance, (unsigned long long)item->execution, i + 1,
			         why ? why : "unexpected event kind");
			ctx->state = ended_state(&item->history[n - 1]);
			return;
		}
	}
	ctx->n_recs = n;
	const struct dura_rec *st = &ctx->recs[0];
	ctx->name = st->name;
	ctx->input = st->data;
	ctx->parent = st->instance;
	ctx->parent_event_id = st->id;
	ctx->parent_execution = st->number;
	ctx->state = HS_RUNNING;

	for (size_t i = 1; i < n; i++) {
		const struct dura_rec *r = &ctx->recs[i];
		uint8_t state;
		int want;
		if (is_scheduling(r->kind)) {
			RESERVE(ctx, tasks, ctx->n_tasks + 1);
			struct task *t = &ctx->tasks[ctx->n_tasks];
			memset(t, 0, sizeof *t);
			t->kind = r->kind;
			t->event_id = i + 1;
			t->name = r->name;
			ctx->ev2task[i + 1] = (int32_t)ctx->n_tasks++;
		} else if ((want = completion_target(r->kind, &state)) != 0) {
			struct task *t = completion_task(ctx, want, r->id);
			if (t)
				complete_task(ctx, t, state, r);
		} else if (r->kind == DURA_EV_CONTINUED_AS_NEW) {
			ctx->state = HS_CONTINUED;
		} else if (r->kind == DURA_EV_EXECUTION_COMPLETED ||
		           r->kind == DURA_EV_EXECUTION_FAILED) {
			ctx->state = HS_ENDED;
		}
	}
	ctx->n_hist_tasks = ctx->n_tasks;
	ctx->next_event_id = n + 1;
}

/* Decodes the messages; accepts a start message that begins the next
 * execution. */
static void load_messages(dura_orch_ctx *ctx)
{
	const struct dura_orch_item *item = ctx->item;
	RESERVE(ctx, mrecs, item->n_messages);
	ctx->n_mrecs = item->n_messages;
	/* Every message counts as ignored until it changes something. */
	ctx->res->ignored_messages = (uint32_t)item->n_messages;
	for (size_t i = 0; i < item->n_messages; i++) {
		struct dura_rec *m = &ctx->mrecs[i];
		const struct dura_bytes *b = &item->messages[i].body;
		const char *why = NULL;
		if (dura_codec_decode(b->data, b->len, m, &why) != 0 ||
		    !dura_codec_is_message(m->kind)) {
			m->kind = 0;
			if (!ctx->corrupt[0])
				snprintf(ctx->corrupt, sizeof ctx->corrupt,
				         "corrupt orchestrator queue message %zu of %zu for instance %s "
				         "(delivery %u) cannot be decoded: %s",
				         i + 1, item->n_messages, item->instance,
				         item->messages[i].attempts, why ? why : "not a message kind");
			continue;
		}
		if (m->kind == DURA_MSG_CORRUPT_WORK_ITEM) {
			if (!ctx->corrupt[0])
				snprintf(ctx->corrupt, sizeof ctx->corrupt, "%.*s",
				         (int)(m->data.len > 255 ? 255 : m->data.len),
				         (const char *)m->data.data);
			m->kind = 0;
			continue;
		}
		if (m->kind != DURA_MSG_START || ctx->new_execution)
			continue;
		if ((ctx->state == HS_NONE || ctx->state == HS_CONTINUED) &&
		    m->execution == item->execution + 1) {
			/* A new execution: the fetched history (of the previous
			 * one) no longer matters. */
			ctx->new_execution = 1;
			ctx->execution = m->execution;
			ctx->state = HS_RUNNING;
			ctx->n_hist = ctx->n_recs = ctx->n_tasks = 0;
			ctx->n_hist_tasks = 0;
			ctx->n_ev2task = 0;
			ctx->inherited_category = 0;
			ctx->next_event_id = 1;
			ctx->name = m->name;
			ctx->input = m->data;
			ctx->parent = m->instance;
			ctx->parent_event_id = m->id;
			ctx->parent_execution = m->number;
			struct dura_rec st = { 0 };
			st.kind = DURA_EV_EXECUTION_STARTED;
			st.name = m->name;
			st.data = m->data;
			st.instance = m->instance;
			st.id = m->id;
			st.number = m->number;
			emit_event(ctx, &st);
			m->kind = 0; /* consumed */
			ctx->res->ignored_messages--;
		}
	}
}

/* Applies the completion messages of this turn (execution running). */
static void apply_messages(dura_orch_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_mrecs; i++) {
		const struct dura_rec *m = &ctx->mrecs[i];
		uint8_t state;
		int want = completion_target(m->kind, &state);
		if (!want || m->execution != ctx->execution)
			continue;
		struct task *t = completion_task(ctx, want, m->id);
		if (!t)
			continue;
		complete_task(ctx, t, state, m);
		struct dura_rec ev = { 0 };
		ev.kind = completion_event_kind(m->kind);
		ev.id = m->id;
		ev.category = m->category;
		ev.data = m->data;
		emit_event(ctx, &ev);
		ctx->res->ignored_messages--;
	}
}

/* ---------------------------------------------------------- finishing */

static int outcome_of_category(uint8_t category)
{
	return category == DURA_OUTCOME_FAILED_CONFIG ? DURA_OUTCOME_FAILED_CONFIG
	     : category == DURA_OUTCOME_FAILED_INFRA ? DURA_OUTCOME_FAILED_INFRA
	     : category == DURA_OUTCOME_FAILED_CORRUPT ? DURA_OUTCOME_FAILED_CORRUPT
	     : DURA_OUTCOME_FAILED_APP;
}

/* Ends the execution with a failure this turn (no function output kept). */
static void fail_execution(dura_orch_ctx *ctx, uint8_t category, const char *text)
{
	snprintf(ctx->res->error, sizeof ctx->res->error, "%s", text);
	emit_terminal(ctx, DURA_ORCH_FAILED, category, text, strlen(text));
}

/* Notifies the parent and the continued execution; builds the ack. */
static void finish(dura_orch_ctx *ctx)
{
	struct dura_replay_result *res = ctx->res;
	size_t name_off = 0, parent_off = 0;
	int have_meta = ctx->new_execution || ctx->action;

	if ((ctx->action == DURA_ORCH_COMPLETED || ctx->action == DURA_ORCH_FAILED) &&
	    ctx->parent.len) {
		struct dura_rec m = { 0 };
		m.kind = ctx->action == DURA_ORCH_COMPLETED ? DURA_MSG_SUBORCH_COMPLETED
		                                            : DURA_MSG_SUBORCH_FAILED;
		m.execution = ctx->parent_execution;
		m.id = ctx->parent_event_id;
		m.category = ctx->fail_category;
		size_t inst_off = arena_cstr(ctx, ctx->parent);
		/* The output already sits in the arena: reserve room first so
		 * encoding from it cannot move it. */
		m.data.len = ctx->out_len;
		dura_buf_reserve(&ctx->arena, dura_codec_encoded_size(&m));
		m.data.data = ctx->arena.data + ctx->out_off;
		emit_msg(ctx, 0, NULL, inst_off, &m, 0);
	}
	if (have_meta) {
		name_off = arena_cstr(ctx, ctx->name);
		if (ctx->parent.len)
			parent_off = arena_cstr(ctx, ctx->parent);
	}

	/* Fix up pointers now that the arena no longer moves. */
	/* An empty turn never touched the arena: keep base non-NULL so offset
	 * arithmetic stays defined. */
	const uint8_t *base = ctx->arena.data ? ctx->arena.data : (const uint8_t *)"";
	RESERVE(ctx, events, ctx->n_pev);
	RESERVE(ctx, work, ctx->n_pwork);
	RESERVE(ctx, orch, ctx->n_porch);
	for (size_t i = 0; i < ctx->n_pev; i++) {
		ctx->events[i].event_id = ctx->pev[i].id;
		ctx->events[i].body.data = base + ctx->pev[i].off;
		ctx->events[i].body.len = ctx->pev[i].len;
	}
	for (size_t i = 0; i < ctx->n_pwork + ctx->n_porch; i++) {
		int w = i < ctx->n_pwork;
		const struct pend_msg *p = w ? &ctx->pwork[i] : &ctx->porch[i - ctx->n_pwork];
		struct dura_message *m = w ? &ctx->work[i] : &ctx->orch[i - ctx->n_pwork];
		m->instance = p->instance ? p->instance : (const char *)base + p->inst_off;
		m->body.data = base + p->off;
		m->body.len = p->len;
		m->delay_ms = p->delay_ms;
	}

	res->ack.execution = ctx->execution;
	res->ack.history = ctx->events;
	res->ack.n_history = ctx->n_pev;
	res->ack.work_items = ctx->work;
	res->ack.n_work_items = ctx->n_pwork;
	res->ack.orch_items = ctx->orch;
	res->ack.n_orch_items = ctx->n_porch;
	res->ack.meta = NULL;
	if (have_meta) {
		res->meta.name = (const char *)base + name_off;
		res->meta.parent = ctx->parent.len ? (const char *)base + parent_off : NULL;
		res->meta.execution = ctx->execution;
		res->meta.output.data = base + ctx->out_off;
		res->meta.output.len = ctx->out_len;
		res->meta.status = ctx->action == DURA_ORCH_COMPLETED ? DURA_STATUS_COMPLETED
		                 : ctx->action == DURA_ORCH_FAILED ? DURA_STATUS_FAILED
		                 : ctx->action == DURA_ORCH_CONTINUED ? DURA_STATUS_CONTINUED_AS_NEW
		                 : DURA_STATUS_RUNNING;
		res->ack.meta = &res->meta;
	}
	if (ctx->action == DURA_ORCH_COMPLETED || ctx->action == DURA_ORCH_FAILED) {
		res->terminal = 1;
		res->outcome = ctx->action == DURA_ORCH_COMPLETED
		                       ? DURA_OUTCOME_COMPLETED
		                       : outcome_of_category(ctx->fail_category);
		res->output = base + ctx->out_off;
		res->output_len = ctx->out_len;
	}
	ctx->item = NULL;
}

/* -------------------------------------------------------------- the turn */

/* A message of this turn could not be decoded (ctx->corrupt): the
 * instance fails at once as corrupt, and its messages are consumed.
 * Without a running execution the undecodable message was most likely
 * the start of the next one: a placeholder execution ("(corrupt)") is
 * started and failed, so the instance still ends.  Returns 0 when the
 * instance had ended before (nothing to fail). */
static int fail_corrupt(dura_orch_ctx *ctx)
{
	if (ctx->state == HS_ENDED)
		return 0;
	if (ctx->state != HS_RUNNING) {
		ctx->new_execution = 1;
		ctx->execution = ctx->item->execution + 1;
		ctx->state = HS_RUNNING;
		ctx->n_hist = ctx->n_recs = ctx->n_tasks = ctx->n_hist_tasks = 0;
		ctx->next_event_id = 1;
		ctx->name = dura_slice_str("(corrupt)");
		ctx->input = ctx->parent = dura_slice_str(NULL);
		struct dura_rec st = { 0 };
		st.kind = DURA_EV_EXECUTION_STARTED;
		st.name = ctx->name;
		emit_event(ctx, &st);
	}
	char text[sizeof ctx->corrupt];
	snprintf(text, sizeof text, "%s", ctx->corrupt);
	fail_execution(ctx, DURA_OUTCOME_FAILED_CORRUPT, text);
	finish(ctx);
	return 1;
}

void dura_replay_run(dura_orch_ctx *ctx, const struct dura_registry *reg,
                     const struct dura_orch_item *item,
                     struct dura_replay_result *res)
{
	begin(ctx, reg, item, res);
	load_history(ctx);
	if (ctx->state == HS_CORRUPT) {
		char reason[256];
		snprintf(reason, sizeof reason, "%s", ctx->error);
		dura_replay_fail(ctx, item, DURA_OUTCOME_FAILED_CORRUPT, reason, res);
		return;
	}
	load_messages(ctx);
	if (ctx->corrupt[0] && fail_corrupt(ctx))
		return;
	if (ctx->state != HS_RUNNING) {
		finish(ctx); /* nothing runs: the ack only consumes the messages */
		return;
	}
	apply_messages(ctx);

	char text[sizeof ctx->error + 64];
	if (ctx->inherited_category) {
		const struct task *t = NULL;
		for (size_t i = 0; i < ctx->n_tasks; i++)
			if (ctx->tasks[i].event_id == ctx->inherited_event)
				t = &ctx->tasks[i];
		snprintf(text, sizeof text, "%s at event %llu failed (%s): %.*s",
		         t && t->kind == DURA_EV_SUBORCH_SCHEDULED ? "sub-orchestration" : "activity",
		         (unsigned long long)ctx->inherited_event,
		         ctx->inherited_category == DURA_OUTCOME_FAILED_CONFIG    ? "config"
		         : ctx->inherited_category == DURA_OUTCOME_FAILED_CORRUPT ? "corrupt"
		                                                                  : "infra",
		         t ? (int)(t->result.len > 160 ? 160 : t->result.len) : 0,
		         t ? (const char *)t->result.data : "");
		fail_execution(ctx, ctx->inherited_category, text);
		finish(ctx);
		return;
	}

	void *user = NULL;
	dura_orchestration_fn fn = dura_registry_find_orchestration(reg, ctx->name.data,
	                                                            ctx->name.len, &user);
	if (!fn) {
		snprintf(text, sizeof text, "orchestration '%.*s' is not registered",
		         (int)(ctx->name.len > 100 ? 100 : ctx->name.len),
		         (const char *)ctx->name.data);
		fail_execution(ctx, DURA_OUTCOME_FAILED_CONFIG, text);
		finish(ctx);
		return;
	}

	size_t mark_ev = ctx->n_pev, mark_work = ctx->n_pwork, mark_orch = ctx->n_porch;
	size_t mark_arena = ctx->arena.len;
	uint64_t mark_id = ctx->next_event_id;
	res->ran = 1;
	enum dura_orch_rc rc = fn(ctx, ctx->input.data, ctx->input.len, user);

	if (!ctx->config_failed && ctx->next_call < ctx->n_hist_tasks)
		set_config_error(ctx, "nondeterminism: the orchestration made %zu calls, "
		                 "history records %zu", ctx->next_call, ctx->n_hist_tasks);
	if (!ctx->config_failed && !ctx->action) {
		if (rc == DURA_ORCH_COMPLETED)
			dura_complete(ctx, NULL, 0);
		else if (rc == DURA_ORCH_FAILED)
			dura_fail(ctx, "orchestration failed without a reason");
		else if (rc != DURA_ORCH_PENDING)
			set_config_error(ctx, "orchestration returned %d without calling "
			                 "the matching dura_* function", (int)rc);
	}
	if (ctx->config_failed) {
		/* Drop everything the function did; keep applied completions. */
		ctx->n_pev = mark_ev;
		ctx->n_pwork = mark_work;
		ctx->n_porch = mark_orch;
		ctx->arena.len = mark_arena;
		ctx->next_event_id = mark_id;
		ctx->action = 0;
		snprintf(text, sizeof text, "%s", ctx->error);
		fail_execution(ctx, DURA_OUTCOME_FAILED_CONFIG, text);
	}
	finish(ctx);
}

void dura_replay_fail(dura_orch_ctx *ctx, const struct dura_orch_item *item,
                      enum dura_outcome category, const char *reason,
                      struct dura_replay_result *res)
{
	const struct dura_registry *reg = ctx->reg;
	begin(ctx, reg, item, res);
	load_history(ctx);
	int corrupt = ctx->state == HS_CORRUPT;
	if (!corrupt)
		load_messages(ctx);
	else
		res->ignored_messages = (uint32_t)item->n_messages;
	if (corrupt && item->execution > 0) {
		/* Nothing trustworthy about this execution but its position: end
		 * it after the last stored event. */
		ctx->next_event_id = item->n_history + 1;
		ctx->name = dura_slice_str("");
		ctx->parent = dura_slice_str(NULL);
		ctx->new_execution = 0;
		fail_execution(ctx, (uint8_t)category, reason);
	} else if (!corrupt && ctx->state == HS_RUNNING) {
		fail_execution(ctx, (uint8_t)category, reason);
	}
	finish(ctx);
}

/* ----------------------------------------------- the orchestration API */

/* The next call of the function: matched against history or new.  Returns
 * the task index, or -1 (config error set / execution already ended). */
static dura_task next_call(dura_orch_ctx *ctx, uint8_t kind, const char *name,
                           const char *what)
{
	if (ctx->config_failed || ctx->action || !ctx->item)
		return -1;
	if (ctx->next_call < ctx->n_hist_tasks) {
		const struct task *t = &ctx->tasks[ctx->next_call];
		if (t->kind != kind || (name && !dura_slice_eq_str(t->name, name))) {
			set_config_error(ctx, "nondeterminism at event %llu: history has %s%s%.*s%s, "
			                 "the orchestration called %s%s%s%s",
			                 (unsigned long long)t->event_id,
			                 dura_codec_kind_name(t->kind),
			                 t->name.len ? " '" : "",
			                 (int)(t->name.len > 80 ? 80 : t->name.len),
			                 t->name.len ? (const char *)t->name.data : "",
			                 t->name.len ? "'" : "",
			                 what, name ? " '" : "", name ? name : "", name ? "'" : "");
			return -1;
		}
		return (dura_task)ctx->next_call++;
	}
	RESERVE(ctx, tasks, ctx->n_tasks + 1);
	struct task *t = &ctx->tasks[ctx->n_tasks];
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->event_id = ctx->next_event_id; /* emit_event will use this id */
	ctx->n_tasks++;
	return (dura_task)ctx->next_call++;
}

dura_task dura_call_activity(dura_orch_ctx *ctx, const char *name,
                             const void *input, size_t len)
{
	if (!ctx || !name)
		return -1;
	size_t before = ctx->n_tasks;
	dura_task t = next_call(ctx, DURA_EV_TASK_SCHEDULED, name, "activity");
	if (t < 0 || ctx->n_tasks == before)
		return t; /* failed, or replayed from history */
	if (!dura_registry_find_activity(ctx->reg, (const uint8_t *)name, strlen(name), NULL)) {
		set_config_error(ctx, "activity '%.100s' is not registered", name);
		return -1;
	}
	struct dura_rec r = { 0 };
	r.kind = DURA_EV_TASK_SCHEDULED;
	r.name = dura_slice_str(name);
	r.data.data = input;
	r.data.len = input ? len : 0;
	uint64_t id = ctx->next_event_id;
	emit_event(ctx, &r);
	struct dura_rec w = r;
	w.kind = DURA_WORK_ITEM;
	w.instance = dura_slice_str(ctx->item->instance);
	w.execution = ctx->execution;
	w.id = id;
	emit_msg(ctx, 1, ctx->item->instance, 0, &w, 0);
	return t;
}

dura_task dura_create_timer(dura_orch_ctx *ctx, uint64_t delay_ms)
{
	if (!ctx)
		return -1;
	size_t before = ctx->n_tasks;
	dura_task t = next_call(ctx, DURA_EV_TIMER_CREATED, NULL, "timer");
	if (t < 0 || ctx->n_tasks == before)
		return t;
	struct dura_rec r = { 0 };
	r.kind = DURA_EV_TIMER_CREATED;
	r.number = delay_ms;
	uint64_t id = ctx->next_event_id;
	emit_event(ctx, &r);
	struct dura_rec m = { 0 };
	m.kind = DURA_MSG_TIMER_FIRED;
	m.execution = ctx->execution;
	m.id = id;
	emit_msg(ctx, 0, ctx->item->instance, 0, &m,
	         delay_ms > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)delay_ms);
	return t;
}

dura_task dura_call_sub_orchestration(dura_orch_ctx *ctx, const char *name,
                                      const char *instance_id,
                                      const void *input, size_t len)
{
	if (!ctx || !name)
		return -1;
	size_t before = ctx->n_tasks;
	dura_task t = next_call(ctx, DURA_EV_SUBORCH_SCHEDULED, name, "sub-orchestration");
	if (t < 0 || ctx->n_tasks == before)
		return t;
	if (!*name) {
		set_config_error(ctx, "sub-orchestration with an empty name");
		return -1;
	}
	uint64_t id = ctx->next_event_id;
	char *generated = NULL; /* owned here */
	const char *child = instance_id;
	if (!child || !*child)
		child = generated = ctx->execution <= 1
			? dura_xasprintf("%s/%llu", ctx->item->instance, (unsigned long long)id)
			: dura_xasprintf("%s/%llu.%llu", ctx->item->instance,
			                 (unsigned long long)ctx->execution,
			                 (unsigned long long)id);
	struct dura_rec r = { 0 };
	r.kind = DURA_EV_SUBORCH_SCHEDULED;
	r.name = dura_slice_str(name);
	r.instance = dura_slice_str(child);
	r.data.data = input;
	r.data.len = input ? len : 0;
	emit_event(ctx, &r);
	struct dura_rec m = { 0 };
	m.kind = DURA_MSG_START;
	m.execution = 1;
	m.name = r.name;
	m.data = r.data;
	m.instance = dura_slice_str(ctx->item->instance);
	m.id = id;
	m.number = ctx->execution;
	emit_msg(ctx, 0, NULL, arena_cstr(ctx, r.instance), &m, 0);
	free(generated);
	return t;
}

enum dura_task_state dura_task_state(dura_orch_ctx *ctx, dura_task t)
{
	if (!ctx || t < 0 || (size_t)t >= ctx->n_tasks)
		return DURA_TASK_FAILED;
	return (enum dura_task_state)ctx->tasks[t].state;
}

int dura_task_result(dura_orch_ctx *ctx, dura_task t, const uint8_t **data,
                     size_t *len)
{
	static const uint8_t empty[1];
	/* Outputs are always set (empty on failure) so a caller that forgets
	 * the return value reads an empty string, not garbage. */
	if (data)
		*data = empty;
	if (len)
		*len = 0;
	if (!ctx || t < 0 || (size_t)t >= ctx->n_tasks ||
	    ctx->tasks[t].state == DURA_TASK_PENDING)
		return -1;
	const struct task *k = &ctx->tasks[t];
	if (data)
		*data = k->result.data ? k->result.data : empty;
	if (len)
		*len = k->result.len;
	return 0;
}

enum dura_orch_rc dura_complete(dura_orch_ctx *ctx, const void *output, size_t len)
{
	if (ctx && ctx->item && !ctx->action && !ctx->config_failed)
		emit_terminal(ctx, DURA_ORCH_COMPLETED, 0, output, output ? len : 0);
	return DURA_ORCH_COMPLETED;
}

enum dura_orch_rc dura_fail(dura_orch_ctx *ctx, const char *reason)
{
	if (!reason || !*reason)
		reason = "orchestration failed";
	if (ctx && ctx->item && !ctx->action && !ctx->config_failed)
		emit_terminal(ctx, DURA_ORCH_FAILED, DURA_OUTCOME_FAILED_APP, reason,
		              strlen(reason));
	return DURA_ORCH_FAILED;
}

enum dura_orch_rc dura_continue_as_new(dura_orch_ctx *ctx, const void *input,
                                       size_t len)
{
	if (!ctx || !ctx->item || ctx->action || ctx->config_failed)
		return DURA_ORCH_CONTINUED;
	len = input ? len : 0;
	emit_terminal(ctx, DURA_ORCH_CONTINUED, 0, input, len);
	struct dura_rec m = { 0 };
	m.kind = DURA_MSG_START;
	m.execution = ctx->execution + 1;
	m.name = ctx->name;
	m.data.len = len;
	m.instance = ctx->parent;
	m.id = ctx->parent_event_id;
	m.number = ctx->parent_execution;
	/* The new input now lives in the arena: reserve room first so encoding
	 * from it cannot move it. */
	dura_buf_reserve(&ctx->arena, dura_codec_encoded_size(&m));
	m.data.data = ctx->arena.data + ctx->out_off;
	emit_msg(ctx, 0, ctx->item->instance, 0, &m, 0);
	return DURA_ORCH_CONTINUED;
}

const char *dura_instance_id(const dura_orch_ctx *ctx)
{
	return ctx && ctx->item ? ctx->item->instance : "";
}

uint64_t dura_execution_id(const dura_orch_ctx *ctx)
{
	return ctx ? ctx->execution : 0;
}

int dura_is_replaying(const dura_orch_ctx *ctx)
{
	return ctx && ctx->next_call < ctx->n_hist_tasks;
}
