/*
 * Replay engine tests without a provider: a tiny simulated store in this
 * file keeps each instance's current history and the queues, builds fetched
 * items for dura_replay_run and commits its acks.
 */
#include "config.h"

#include "engine/codec.h"
#include "engine/orchestration.h"
#include "engine/replay.h"
#include "tap.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ simulated store */

struct sim_msg {
	char *instance;
	uint8_t *body;
	size_t len;
	int64_t delay_ms;
};

struct sim_inst {
	char *id;
	uint64_t execution;
	struct dura_event *hist; /* bodies owned */
	size_t n_hist;
	int32_t status;
	char output[256];
};

#define MAXQ 512
struct sim {
	struct sim_inst inst[16];
	size_t n_inst;
	struct sim_msg orchq[MAXQ];
	size_t n_orchq;
	struct sim_msg workq[MAXQ];
	size_t n_workq;
	dura_orch_ctx *ctx;
	struct dura_registry *reg;
};

static uint8_t *dup_bytes(const void *p, size_t n)
{
	uint8_t *q = dura_xmalloc(n ? n : 1);
	if (n)
		memcpy(q, p, n);
	return q;
}

static struct sim_inst *sim_inst(struct sim *s, const char *id)
{
	for (size_t i = 0; i < s->n_inst; i++)
		if (strcmp(s->inst[i].id, id) == 0)
			return &s->inst[i];
	struct sim_inst *in = &s->inst[s->n_inst++];
	memset(in, 0, sizeof *in);
	in->id = dura_xstrdup(id);
	return in;
}

static void push(struct sim_msg *q, size_t *n, const char *instance,
                 const void *body, size_t len, int64_t delay)
{
	if (*n >= MAXQ)
		abort();
	q[*n].instance = dura_xstrdup(instance);
	q[*n].body = dup_bytes(body, len);
	q[*n].len = len;
	q[*n].delay_ms = delay;
	(*n)++;
}

static void msg_free(struct sim_msg *m)
{
	free(m->instance);
	free(m->body);
}

static void sim_free(struct sim *s)
{
	for (size_t i = 0; i < s->n_inst; i++) {
		for (size_t j = 0; j < s->inst[i].n_hist; j++)
			free((void *)s->inst[i].hist[j].body.data);
		free(s->inst[i].hist);
		free(s->inst[i].id);
	}
	for (size_t i = 0; i < s->n_orchq; i++)
		msg_free(&s->orchq[i]);
	for (size_t i = 0; i < s->n_workq; i++)
		msg_free(&s->workq[i]);
	dura_replay_free(s->ctx);
	dura_registry_free(s->reg);
}

/* Enqueue raw records. */
static void send_rec(struct sim *s, const char *instance, const struct dura_rec *r)
{
	struct dura_buf b = { 0 };
	dura_codec_encode(&b, r);
	push(s->orchq, &s->n_orchq, instance, b.data, b.len, 0);
	dura_buf_free(&b);
}

static void start(struct sim *s, const char *instance, const char *name, const char *input)
{
	struct dura_rec r = { 0 };
	r.kind = DURA_MSG_START;
	r.execution = 1;
	r.name = dura_slice_str(name);
	r.data = dura_slice_str(input);
	send_rec(s, instance, &r);
}

/* What one turn did, decoded. */
struct turn {
	uint64_t item_execution, ack_execution;
	size_t n_events;
	int kinds[64];
	uint64_t ids[64];
	uint64_t ref_ids[64]; /* id field of each new event */
	size_t n_work, n_orch;
	struct dura_rec orch[16]; /* decoded orch messages (slices invalid after) */
	char orch_to[16][64];
	int64_t orch_delay[16];
	int meta_status; /* -1: no metadata written */
	uint64_t meta_execution;
	char meta_name[64], meta_parent[64];
	int terminal, outcome, ran;
	char output[256];
	uint32_t ignored;
	char error[256];
};

static void copy_str(char *dst, size_t cap, const void *p, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, p, n);
	dst[n] = '\0';
}

/* Commits an ack the way a provider would. */
static void commit(struct sim *s, struct sim_inst *in, const struct dura_replay_result *res)
{
	const struct dura_orch_ack *a = &res->ack;
	if (a->n_history && a->execution != in->execution) {
		for (size_t j = 0; j < in->n_hist; j++)
			free((void *)in->hist[j].body.data);
		in->n_hist = 0;
	}
	if (a->n_history) {
		in->hist = dura_xrealloc(in->hist, (in->n_hist + a->n_history) * sizeof *in->hist);
		for (size_t i = 0; i < a->n_history; i++) {
			struct dura_event *e = &in->hist[in->n_hist++];
			e->event_id = a->history[i].event_id;
			e->body.data = dup_bytes(a->history[i].body.data, a->history[i].body.len);
			e->body.len = a->history[i].body.len;
		}
	}
	for (size_t i = 0; i < a->n_work_items; i++)
		push(s->workq, &s->n_workq, a->work_items[i].instance,
		     a->work_items[i].body.data, a->work_items[i].body.len, 0);
	for (size_t i = 0; i < a->n_orch_items; i++)
		push(s->orchq, &s->n_orchq, a->orch_items[i].instance,
		     a->orch_items[i].body.data, a->orch_items[i].body.len,
		     a->orch_items[i].delay_ms);
	if (a->meta) {
		in->execution = a->meta->execution;
		in->status = a->meta->status;
		copy_str(in->output, sizeof in->output, a->meta->output.data, a->meta->output.len);
	}
}

/* Runs one turn of `instance` with all its queued messages (poison: use
 * dura_replay_fail instead). */
static void run_turn(struct sim *s, const char *instance, struct turn *t, int poison)
{
	struct sim_inst *in = sim_inst(s, instance);
	struct dura_fetched_message msgs[MAXQ];
	struct sim_msg taken[MAXQ];
	size_t n = 0, keep = 0;
	for (size_t i = 0; i < s->n_orchq; i++) {
		if (strcmp(s->orchq[i].instance, instance) == 0) {
			taken[n] = s->orchq[i];
			msgs[n].body.data = taken[n].body;
			msgs[n].body.len = taken[n].len;
			msgs[n].attempts = 1;
			n++;
		} else {
			s->orchq[keep++] = s->orchq[i];
		}
	}
	s->n_orchq = keep;
	struct dura_orch_item item = {
		.token = 1, .instance = in->id, .execution = in->execution,
		.messages = msgs, .n_messages = n, .history = in->hist,
		.n_history = in->n_hist, .attempts = 1,
	};
	struct dura_replay_result res;
	if (poison)
		dura_replay_fail(s->ctx, &item, DURA_OUTCOME_FAILED_INFRA, "poison message", &res);
	else
		dura_replay_run(s->ctx, s->reg, &item, &res);

	memset(t, 0, sizeof *t);
	t->item_execution = in->execution;
	t->ack_execution = res.ack.execution;
	t->n_events = res.ack.n_history;
	for (size_t i = 0; i < res.ack.n_history && i < 64; i++) {
		struct dura_rec r;
		if (dura_codec_decode(res.ack.history[i].body.data, res.ack.history[i].body.len,
		                      &r, NULL) != 0)
			r.kind = -1;
		t->kinds[i] = r.kind;
		t->ids[i] = res.ack.history[i].event_id;
		t->ref_ids[i] = r.id;
	}
	t->n_work = res.ack.n_work_items;
	t->n_orch = res.ack.n_orch_items;
	for (size_t i = 0; i < res.ack.n_orch_items && i < 16; i++) {
		dura_codec_decode(res.ack.orch_items[i].body.data, res.ack.orch_items[i].body.len,
		                  &t->orch[i], NULL);
		copy_str(t->orch_to[i], 64, res.ack.orch_items[i].instance,
		         strlen(res.ack.orch_items[i].instance));
		t->orch_delay[i] = res.ack.orch_items[i].delay_ms;
	}
	t->meta_status = res.ack.meta ? res.ack.meta->status : -1;
	if (res.ack.meta) {
		t->meta_execution = res.ack.meta->execution;
		copy_str(t->meta_name, 64, res.ack.meta->name, strlen(res.ack.meta->name));
		if (res.ack.meta->parent)
			copy_str(t->meta_parent, 64, res.ack.meta->parent, strlen(res.ack.meta->parent));
	}
	t->terminal = res.terminal;
	t->outcome = res.outcome;
	t->ran = res.ran;
	copy_str(t->output, sizeof t->output, res.output, res.output_len);
	t->ignored = res.ignored_messages;
	snprintf(t->error, sizeof t->error, "%s", res.error);
	commit(s, in, &res);
	for (size_t i = 0; i < n; i++)
		msg_free(&taken[i]);
}

/* Runs work item `idx` of the worker queue (removing it): the activity's
 * result, or failure when fail != 0. */
static void run_work(struct sim *s, size_t idx, int fail)
{
	struct sim_msg w = s->workq[idx];
	memmove(&s->workq[idx], &s->workq[idx + 1], (s->n_workq - idx - 1) * sizeof w);
	s->n_workq--;
	struct dura_rec r;
	if (dura_codec_decode(w.body, w.len, &r, NULL) != 0 || r.kind != DURA_WORK_ITEM)
		abort();
	struct dura_buf out = { 0 };
	void *user;
	dura_activity_fn fn = dura_registry_find_activity(s->reg, r.name.data, r.name.len, &user);
	int rc = fn ? fn(r.data.data, r.data.len, &out, user) : 1;
	struct dura_rec c = { 0 };
	c.kind = (fail || rc) ? DURA_MSG_TASK_FAILED : DURA_MSG_TASK_COMPLETED;
	c.execution = r.execution;
	c.id = r.id;
	c.category = DURA_OUTCOME_FAILED_APP;
	if (fail) {
		dura_buf_reset(&out);
		dura_buf_printf(&out, "boom");
	}
	c.data.data = out.data;
	c.data.len = out.len;
	send_rec(s, w.instance, &c);
	dura_buf_free(&out);
	msg_free(&w);
}

/* ------------------------------------------------------ orchestrations */

static int act_upper(const uint8_t *in, size_t len, struct dura_buf *out, void *user)
{
	for (size_t i = 0; i < len; i++) {
		char c = (char)in[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		dura_buf_append(out, &c, 1);
	}
	return 0;
}

static int replay_seen; /* how often fan ran while replaying (turn-local) */

/* Calls upper(input + i) for i < 3, completes with the results joined. */
static enum dura_orch_rc orch_fan(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                  void *user)
{
	dura_task t[3];
	char buf[64];
	for (int i = 0; i < 3; i++) {
		int n = snprintf(buf, sizeof buf, "%.*s%d", (int)len, (const char *)input, i);
		if (dura_is_replaying(ctx))
			replay_seen++;
		t[i] = dura_call_activity(ctx, "upper", buf, (size_t)n);
	}
	struct dura_buf out = { 0 };
	for (int i = 0; i < 3; i++) {
		const uint8_t *d;
		size_t dl;
		if (dura_task_state(ctx, t[i]) == DURA_TASK_PENDING) {
			dura_buf_free(&out);
			return DURA_ORCH_PENDING;
		}
		if (dura_task_state(ctx, t[i]) == DURA_TASK_FAILED) {
			dura_task_result(ctx, t[i], &d, &dl);
			char why[128];
			snprintf(why, sizeof why, "activity %d failed: %.*s", i, (int)dl, (const char *)d);
			dura_buf_free(&out);
			return dura_fail(ctx, why);
		}
		dura_task_result(ctx, t[i], &d, &dl);
		if (i)
			dura_buf_append(&out, ",", 1);
		dura_buf_append(&out, d, dl);
	}
	enum dura_orch_rc rc = dura_complete(ctx, out.data, out.len);
	dura_buf_free(&out); /* dura_complete copied it */
	return rc;
}

/* Same as orch_fan but its second call has another name. */
static enum dura_orch_rc orch_fan_changed(dura_orch_ctx *ctx, const uint8_t *input,
                                          size_t len, void *user)
{
	dura_call_activity(ctx, "upper", "a", 1);
	dura_call_activity(ctx, "lower", "b", 1);
	return DURA_ORCH_PENDING;
}

static enum dura_orch_rc orch_timer(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                    void *user)
{
	dura_task t = dura_create_timer(ctx, 500);
	if (dura_task_state(ctx, t) != DURA_TASK_COMPLETED)
		return DURA_ORCH_PENDING;
	return dura_complete(ctx, "rang", 4);
}

static enum dura_orch_rc orch_parent(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                     void *user)
{
	dura_task t = dura_call_sub_orchestration(ctx, "fan", NULL, "k", 1);
	enum dura_task_state st = dura_task_state(ctx, t);
	if (st == DURA_TASK_PENDING)
		return DURA_ORCH_PENDING;
	const uint8_t *d;
	size_t dl;
	dura_task_result(ctx, t, &d, &dl);
	if (st == DURA_TASK_FAILED) {
		char why[200];
		snprintf(why, sizeof why, "child: %.*s", (int)dl, (const char *)d);
		return dura_fail(ctx, why);
	}
	return dura_complete(ctx, d, dl);
}

/* Input is a decimal counter; continues as new until it reaches 3. */
static enum dura_orch_rc orch_counter(dura_orch_ctx *ctx, const uint8_t *input, size_t len,
                                      void *user)
{
	char buf[32];
	copy_str(buf, sizeof buf, input, len);
	int n = atoi(buf);
	dura_task t = dura_call_activity(ctx, "upper", "x", 1);
	if (dura_task_state(ctx, t) == DURA_TASK_PENDING)
		return DURA_ORCH_PENDING;
	if (n >= 3)
		return dura_complete(ctx, buf, strlen(buf));
	int k = snprintf(buf, sizeof buf, "%d", n + 1);
	return dura_continue_as_new(ctx, buf, (size_t)k);
}

static enum dura_orch_rc orch_bad_activity(dura_orch_ctx *ctx, const uint8_t *input,
                                           size_t len, void *user)
{
	dura_task t = dura_call_activity(ctx, "nope", "", 0);
	if (t >= 0)
		return dura_complete(ctx, "unexpected", 10);
	return DURA_ORCH_PENDING;
}

static void sim_init(struct sim *s)
{
	memset(s, 0, sizeof *s);
	s->ctx = dura_replay_new();
	s->reg = dura_registry_new();
	dura_registry_add_activity(s->reg, "upper", act_upper, NULL);
	dura_registry_add_orchestration(s->reg, "fan", orch_fan, NULL);
	dura_registry_add_orchestration(s->reg, "timer", orch_timer, NULL);
	dura_registry_add_orchestration(s->reg, "parent", orch_parent, NULL);
	dura_registry_add_orchestration(s->reg, "counter", orch_counter, NULL);
	dura_registry_add_orchestration(s->reg, "badact", orch_bad_activity, NULL);
}

static struct dura_history_shape shape_of(struct sim *s, const char *instance)
{
	struct sim_inst *in = sim_inst(s, instance);
	struct dura_history_shape sh;
	char err[128];
	if (dura_history_shape(in->hist, in->n_hist, &sh, err, sizeof err) != 0)
		memset(&sh, 0xff, sizeof sh);
	return sh;
}

/* ------------------------------------------------------------- tests */

static void test_fan_lifecycle(void)
{
	struct sim s;
	struct turn t;
	sim_init(&s);
	start(&s, "i1", "fan", "ab");

	run_turn(&s, "i1", &t, 0);
	tap_ok(t.item_execution == 0 && t.ack_execution == 1,
	       "fresh start: fetched as execution 0, first turn writes execution 1");
	tap_ok(t.n_events == 4 && t.kinds[0] == DURA_EV_EXECUTION_STARTED &&
	       t.kinds[1] == DURA_EV_TASK_SCHEDULED && t.kinds[3] == DURA_EV_TASK_SCHEDULED &&
	       t.ids[0] == 1 && t.ids[3] == 4,
	       "fresh start: ExecutionStarted(1) + 3 TaskScheduled(2..4)");
	tap_ok(t.n_work == 3 && s.n_workq == 3 && t.n_orch == 0 && !t.terminal,
	       "fresh start: 3 work items, not terminal");
	tap_ok(t.meta_status == DURA_STATUS_RUNNING && t.meta_execution == 1 &&
	       strcmp(t.meta_name, "fan") == 0, "fresh start: metadata RUNNING, execution 1, name");
	struct dura_rec w;
	dura_codec_decode(s.workq[1].body, s.workq[1].len, &w, NULL);
	tap_ok(w.kind == DURA_WORK_ITEM && w.execution == 1 && w.id == 3 &&
	       dura_slice_eq_str(w.name, "upper") && dura_slice_eq_str(w.data, "ab1") &&
	       dura_slice_eq_str(w.instance, "i1") && strcmp(s.workq[1].instance, "i1") == 0,
	       "work item carries instance, execution, scheduled id, name, input");

	/* partial: complete the 2nd and 1st activity */
	run_work(&s, 1, 0);
	run_work(&s, 0, 0);
	replay_seen = 0;
	run_turn(&s, "i1", &t, 0);
	tap_ok(t.n_events == 2 && t.kinds[0] == DURA_EV_TASK_COMPLETED && t.ref_ids[0] == 3 &&
	       t.ids[0] == 5 && t.ids[1] == 6 && t.ref_ids[1] == 2,
	       "partial: two TaskCompleted with new ids 5,6 naming scheduled ids 3,2");
	tap_ok(t.n_work == 0 && t.meta_status == -1 && !t.terminal && t.ran && t.ignored == 0,
	       "partial: no new work, metadata unchanged, still running");
	tap_ok(replay_seen == 3, "partial: all three calls were replays (%d)", replay_seen);

	/* duplicate: re-deliver the completion of id 2 along with the last one */
	struct dura_rec dup = { 0 };
	dup.kind = DURA_MSG_TASK_COMPLETED;
	dup.execution = 1;
	dup.id = 2;
	dup.data = dura_slice_str("OTHER");
	send_rec(&s, "i1", &dup);
	run_work(&s, 0, 0);
	send_rec(&s, "i1", &dup);
	run_turn(&s, "i1", &t, 0);
	tap_ok(t.ignored == 2, "duplicate completions ignored and counted (%u)", t.ignored);
	tap_ok(t.n_events == 2 && t.kinds[0] == DURA_EV_TASK_COMPLETED && t.ref_ids[0] == 4 &&
	       t.kinds[1] == DURA_EV_EXECUTION_COMPLETED && t.ids[1] == 8,
	       "all complete: TaskCompleted(7) + ExecutionCompleted(8)");
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_COMPLETED &&
	       strcmp(t.output, "AB0,AB1,AB2") == 0 && t.meta_status == DURA_STATUS_COMPLETED,
	       "all complete: output '%s', metadata COMPLETED", t.output);

	/* after the end: further messages are consumed, nothing else */
	send_rec(&s, "i1", &dup);
	start(&s, "i1", "fan", "zz");
	run_turn(&s, "i1", &t, 0);
	tap_ok(t.n_events == 0 && t.ignored == 2 && !t.ran && !t.terminal && t.meta_status == -1,
	       "messages to an ended instance (incl. a duplicate start) are ignored");
	struct dura_history_shape sh = shape_of(&s, "i1");
	tap_ok(sh.events == 8 && sh.started == 1 && sh.activities_scheduled == 3 &&
	       sh.activities_completed == 3 && sh.terminal == 1 &&
	       sh.terminal_status == DURA_STATUS_COMPLETED, "history shape of the finished fan");
	sim_free(&s);
}

static void test_stale(void)
{
	struct sim s;
	struct turn t;
	sim_init(&s);
	start(&s, "i2", "fan", "q");
	start(&s, "i2", "fan", "q"); /* duplicate start in the same batch */
	run_turn(&s, "i2", &t, 0);
	tap_ok(t.ignored == 1 && t.n_work == 3, "second start in one batch ignored");
	start(&s, "i2", "fan", "q");
	struct dura_rec r = { 0 };
	r.kind = DURA_MSG_TASK_COMPLETED;
	r.execution = 2; /* wrong execution */
	r.id = 2;
	send_rec(&s, "i2", &r);
	r.execution = 1;
	r.id = 99; /* unknown id */
	send_rec(&s, "i2", &r);
	r.id = 1; /* ExecutionStarted is no task */
	send_rec(&s, "i2", &r);
	r.kind = DURA_MSG_TIMER_FIRED; /* wrong kind for a TaskScheduled */
	r.id = 2;
	send_rec(&s, "i2", &r);
	run_turn(&s, "i2", &t, 0);
	tap_ok(t.ignored == 5 && t.n_events == 0 && t.n_work == 0 && !t.terminal,
	       "stale completions (execution, id, kind) and duplicate start ignored (%u)",
	       t.ignored);
	sim_free(&s);
}

static void test_nondeterminism(void)
{
	struct sim s;
	struct turn t;
	sim_init(&s);
	start(&s, "i3", "fan", "x");
	run_turn(&s, "i3", &t, 0);
	run_work(&s, 0, 0);
	dura_registry_add_orchestration(s.reg, "fan", orch_fan_changed, NULL);
	run_turn(&s, "i3", &t, 0);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_FAILED_CONFIG &&
	       t.meta_status == DURA_STATUS_FAILED, "nondeterminism fails the instance (config)");
	tap_ok(strstr(t.output, "nondeterminism") != NULL && strstr(t.output, "lower") != NULL,
	       "nondeterminism message names the call: %s", t.output);
	tap_ok(t.n_events == 2 && t.kinds[0] == DURA_EV_TASK_COMPLETED &&
	       t.kinds[1] == DURA_EV_EXECUTION_FAILED && t.n_work == 0,
	       "nondeterminism: completion kept, ExecutionFailed appended, no new work");
	sim_free(&s);
}

static void test_timer(void)
{
	struct sim s;
	struct turn t;
	sim_init(&s);
	start(&s, "t1", "timer", "");
	run_turn(&s, "t1", &t, 0);
	tap_ok(t.n_events == 2 && t.kinds[1] == DURA_EV_TIMER_CREATED && t.n_orch == 1 &&
	       t.orch[0].kind == DURA_MSG_TIMER_FIRED && t.orch[0].id == 2 &&
	       t.orch[0].execution == 1 && t.orch_delay[0] == 500 &&
	       strcmp(t.orch_to[0], "t1") == 0,
	       "timer: TimerCreated + TimerFired to itself with delay 500");
	run_turn(&s, "t1", &t, 0);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_COMPLETED && strcmp(t.output, "rang") == 0 &&
	       t.kinds[0] == DURA_EV_TIMER_FIRED && t.ref_ids[0] == 2,
	       "timer fired: completes");
	struct dura_history_shape sh = shape_of(&s, "t1");
	tap_ok(sh.timers_created == 1 && sh.timers_fired == 1, "history shape counts the timer");
	sim_free(&s);
}

static void test_suborchestration(void)
{
	struct sim s;
	struct turn t;
	sim_init(&s);
	start(&s, "p", "parent", "");
	run_turn(&s, "p", &t, 0);
	tap_ok(t.n_orch == 1 && t.orch[0].kind == DURA_MSG_START && strcmp(t.orch_to[0], "p/2") == 0 &&
	       t.orch[0].execution == 1 && t.orch[0].id == 2 && t.orch[0].number == 1 &&
	       dura_slice_eq_str(t.orch[0].instance, "p") && dura_slice_eq_str(t.orch[0].name, "fan"),
	       "sub-orchestration: start of 'p/2' with parent p, execution 1, event 2");
	run_turn(&s, "p/2", &t, 0);
	tap_ok(t.n_work == 3 && strcmp(t.meta_parent, "p") == 0, "child runs, metadata names its parent");
	while (s.n_workq)
		run_work(&s, 0, 0);
	run_turn(&s, "p/2", &t, 0);
	tap_ok(t.terminal && t.n_orch == 1 && t.orch[0].kind == DURA_MSG_SUBORCH_COMPLETED &&
	       strcmp(t.orch_to[0], "p") == 0 && t.orch[0].id == 2 && t.orch[0].execution == 1 &&
	       dura_slice_eq_str(t.orch[0].data, "K0,K1,K2"),
	       "child completion notifies the parent with its output");
	run_turn(&s, "p", &t, 0);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_COMPLETED && strcmp(t.output, "K0,K1,K2") == 0,
	       "parent completes with the child's output");
	struct dura_history_shape sh = shape_of(&s, "p");
	tap_ok(sh.suborchs_scheduled == 1 && sh.suborchs_completed == 1, "history shape counts the child");
	sim_free(&s);
}

static void test_continue_as_new(void)
{
	struct sim s;
	struct turn t;
	sim_init(&s);
	start(&s, "c", "counter", "1");
	int ok = 1;
	for (int exec = 1; exec <= 3; exec++) {
		run_turn(&s, "c", &t, 0);
		if (t.ack_execution != (uint64_t)exec || t.kinds[0] != DURA_EV_EXECUTION_STARTED ||
		    t.ids[0] != 1 || t.item_execution != (uint64_t)exec - 1)
			ok = 0;
		run_work(&s, 0, 0);
		/* a stale completion from this execution arrives late */
		struct dura_rec r = { 0 };
		r.kind = DURA_MSG_TASK_COMPLETED;
		r.execution = (uint64_t)exec;
		r.id = 2;
		send_rec(&s, "c", &r);
		run_turn(&s, "c", &t, 0);
		if (exec < 3) {
			if (t.terminal || t.meta_status != DURA_STATUS_CONTINUED_AS_NEW ||
			    t.n_orch != 1 || t.orch[0].kind != DURA_MSG_START ||
			    t.orch[0].execution != (uint64_t)exec + 1 || strcmp(t.orch_to[0], "c") != 0 ||
			    t.kinds[t.n_events - 1] != DURA_EV_CONTINUED_AS_NEW || t.ignored != 1)
				ok = 0;
			struct dura_history_shape sh = shape_of(&s, "c");
			if (sh.terminal_status != DURA_STATUS_CONTINUED_AS_NEW)
				ok = 0;
		}
	}
	tap_ok(ok, "continue-as-new: each execution starts fresh at event 1 (execution N+1)");
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_COMPLETED && strcmp(t.output, "3") == 0 &&
	       t.meta_execution == 3, "continue-as-new: third execution completes with '3'");
	struct dura_history_shape sh = shape_of(&s, "c");
	tap_ok(sh.events == 4 && sh.started == 1 && sh.activities_scheduled == 1, "history was reset: only the last execution's events");
	sim_free(&s);
}

static void test_failures(void)
{
	struct sim s;
	struct turn t;
	sim_init(&s);
	/* activity failure -> the orchestration fails (app) -> parent sees it */
	start(&s, "pf", "parent", "");
	run_turn(&s, "pf", &t, 0);
	run_turn(&s, "pf/2", &t, 0);
	run_work(&s, 0, 0);
	run_work(&s, 0, 1); /* the second activity fails */
	run_work(&s, 0, 0);
	run_turn(&s, "pf/2", &t, 0);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_FAILED_APP &&
	       strcmp(t.output, "activity 1 failed: boom") == 0 && t.meta_status == DURA_STATUS_FAILED,
	       "activity failure seen by the orchestration, which fails (app): %s", t.output);
	tap_ok(t.n_orch == 1 && t.orch[0].kind == DURA_MSG_SUBORCH_FAILED &&
	       t.orch[0].category == DURA_OUTCOME_FAILED_APP, "parent notified of the failure");
	run_turn(&s, "pf", &t, 0);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_FAILED_APP &&
	       strcmp(t.output, "child: activity 1 failed: boom") == 0,
	       "failure propagates to the parent: %s", t.output);

	/* unregistered orchestration and activity: config */
	start(&s, "u1", "missing", "");
	run_turn(&s, "u1", &t, 0);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_FAILED_CONFIG && !t.ran &&
	       strstr(t.output, "missing") && t.kinds[0] == DURA_EV_EXECUTION_STARTED &&
	       t.kinds[1] == DURA_EV_EXECUTION_FAILED, "unregistered orchestration: config failure");
	start(&s, "u2", "badact", "");
	run_turn(&s, "u2", &t, 0);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_FAILED_CONFIG && t.n_work == 0 &&
	       strstr(t.output, "nope") != NULL, "unregistered activity: config failure: %s", t.output);

	/* a child failing for config reasons fails its parent with config */
	dura_registry_add_orchestration(s.reg, "fan", orch_bad_activity, NULL);
	start(&s, "pc", "parent", "");
	run_turn(&s, "pc", &t, 0);
	run_turn(&s, "pc/2", &t, 0);
	run_turn(&s, "pc", &t, 0);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_FAILED_CONFIG,
	       "config failure of a child propagates as config: %s", t.output);

	/* poison: runtime gives up -> infra */
	start(&s, "x", "timer", "");
	run_turn(&s, "x", &t, 0);
	run_turn(&s, "x", &t, 1);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_FAILED_INFRA &&
	       t.kinds[0] == DURA_EV_EXECUTION_FAILED && t.ids[0] == 3 &&
	       strcmp(t.output, "poison message") == 0, "poisoned turn fails the instance (infra)");
	start(&s, "y", "timer", "");
	run_turn(&s, "y", &t, 1);
	tap_ok(t.terminal && t.n_events == 2 && t.meta_execution == 1,
	       "poisoned start still records the execution and its failure");
	sim_free(&s);
}

static void test_corrupt_history(void)
{
	struct sim s;
	struct turn t;
	sim_init(&s);
	start(&s, "h", "timer", "");
	run_turn(&s, "h", &t, 0);
	struct sim_inst *in = sim_inst(&s, "h");
	((uint8_t *)in->hist[1].body.data)[1] = 0xee; /* unknown kind */
	run_turn(&s, "h", &t, 0);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_FAILED_CORRUPT && !t.ran &&
	       strstr(t.output, "corrupt history of instance h, execution 1: event 2") != NULL &&
	       t.ids[0] == 3,
	       "corrupt history: instance fails (corrupt) without running: %s", t.output);
	struct dura_history_shape sh;
	char err[128] = "";
	tap_ok(dura_history_shape(in->hist, in->n_hist, &sh, err, sizeof err) == -1 &&
	       strstr(err, "event 2") != NULL, "history shape names the corrupt event: %s", err);
	sim_free(&s);
}

/* A queue message or work item that cannot be decoded fails its instance
 * at once as corrupt; after the end nothing is failed twice. */
static void test_corrupt_messages(void)
{
	struct sim s;
	struct turn t;
	sim_init(&s);
	start(&s, "m", "fan", "q");
	run_turn(&s, "m", &t, 0);
	push(s.orchq, &s.n_orchq, "m", "\x01\x21\x05", 3, 0);
	run_turn(&s, "m", &t, 0);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_FAILED_CORRUPT && !t.ran &&
	       t.kinds[t.n_events - 1] == DURA_EV_EXECUTION_FAILED &&
	       strstr(t.output, "orchestrator queue message 1 of 1 for instance m") != NULL,
	       "corrupt queue message: the running instance fails (corrupt): %s", t.output);
	push(s.orchq, &s.n_orchq, "m", "\x01\x21\x05", 3, 0);
	run_turn(&s, "m", &t, 0);
	tap_ok(!t.terminal && t.n_events == 0, "a corrupt message to an ended instance fails nothing");

	push(s.orchq, &s.n_orchq, "n", "\x01\x20", 2, 0); /* a mangled start */
	run_turn(&s, "n", &t, 0);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_FAILED_CORRUPT && t.meta_execution == 1 &&
	       strcmp(t.meta_name, "(corrupt)") == 0 && t.n_events == 2 &&
	       t.kinds[0] == DURA_EV_EXECUTION_STARTED,
	       "corrupt start: a placeholder execution 1 is started and failed (corrupt)");

	start(&s, "w", "fan", "q");
	run_turn(&s, "w", &t, 0);
	struct dura_rec r = { 0 };
	r.kind = DURA_MSG_CORRUPT_WORK_ITEM;
	r.data = dura_slice_str("corrupt work item for instance w in the worker queue");
	send_rec(&s, "w", &r);
	run_turn(&s, "w", &t, 0);
	tap_ok(t.terminal && t.outcome == DURA_OUTCOME_FAILED_CORRUPT &&
	       strcmp(t.output, "corrupt work item for instance w in the worker queue") == 0,
	       "a worker's corrupt work item report fails the instance with its text");

	struct sim_inst *in = sim_inst(&s, "w");
	((uint8_t *)in->hist[1].body.data)[1] = 0xee; /* history now corrupt, but ended */
	start(&s, "w", "fan", "q");
	run_turn(&s, "w", &t, 0);
	tap_ok(!t.terminal && t.n_events == 0,
	       "corrupt history of an ended instance: messages consumed, not failed twice");
	sim_free(&s);
}

int main(void)
{
	test_corrupt_messages();
	test_fan_lifecycle();
	test_stale();
	test_nondeterminism();
	test_timer();
	test_suborchestration();
	test_continue_as_new();
	test_failures();
	test_corrupt_history();
	return tap_done();
}
